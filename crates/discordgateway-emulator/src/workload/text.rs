//! Word lists and the seeded pools of text the workload draws from: names, message contents,
//! embeds and activities. All pools are generated once per world.

use super::json::{push_key, push_next_key, push_str, push_u64};
use super::rng::SplitMix64;

/// Common words for names and message text.
const WORDS: &[&str] = &[
    "apple", "river", "stone", "cloud", "pixel", "ember", "frost", "maple", "orbit", "quartz",
    "raven", "shadow", "tiger", "velvet", "willow", "zephyr", "amber", "blaze", "cedar", "delta",
    "echo", "falcon", "galaxy", "harbor", "indigo", "jade", "karma", "lunar", "meadow", "nova",
    "ocean", "prism", "quest", "ripple", "solar", "thunder", "umbra", "vortex", "whisper",
    "yonder", "the", "a", "is", "was", "and", "but", "so", "really", "just", "maybe", "today",
    "tonight", "game", "raid", "patch", "server", "update", "stream", "music", "movie", "build",
    "code", "bug", "fix", "meeting", "lunch", "coffee", "weekend", "ranked", "match", "team",
    "event", "anyone", "want", "play", "later", "lol", "nice", "good", "great", "cool", "wait",
    "think", "know", "look", "new", "old", "best", "first", "last", "next", "again",
];

/// Adjectives for display names and guild names.
const ADJECTIVES: &[&str] = &[
    "Cozy", "Silent", "Golden", "Crimson", "Lucky", "Brave", "Sleepy", "Cosmic", "Hidden",
    "Mighty", "Electric", "Frozen", "Wild", "Clever", "Ancient", "Neon",
];

/// Nouns for display names and guild names.
const NOUNS: &[&str] = &[
    "Gamers", "Coders", "Artists", "Wizards", "Pirates", "Knights", "Foxes", "Owls", "Dragons",
    "Readers", "Builders", "Dreamers", "Rangers", "Otters", "Pilots", "Bakers",
];

/// Game names for activities.
pub(crate) const GAMES: &[&str] = &[
    "Minecraft",
    "Rocket League",
    "Stardew Valley",
    "Factorio",
    "Terraria",
    "Celeste",
    "Hades",
    "Portal 2",
    "Dota 2",
    "Chess",
    "Tetris",
    "Among Us",
];

/// Unicode emoji names for reactions.
pub(crate) const EMOJIS: &[&str] = &["👍", "😂", "❤️", "🔥", "🎉", "👀", "😭", "✅", "🙏", "💯"];

/// Channel name stems.
pub(crate) const CHANNEL_NAMES: &[&str] = &[
    "general",
    "off-topic",
    "memes",
    "help",
    "announcements",
    "dev",
    "music",
    "art",
    "random",
    "introductions",
    "gaming",
    "bots",
    "support",
    "feedback",
    "media",
    "lounge",
];

/// Role names.
pub(crate) const ROLE_NAMES: &[&str] = &[
    "Moderator",
    "Admin",
    "Member",
    "Regular",
    "VIP",
    "Helper",
    "Booster",
    "Artist",
    "Developer",
    "Muted",
    "Event Host",
    "Veteran",
    "Newcomer",
    "Bot",
    "Contributor",
];

/// Picks one item of a non-empty list.
pub(crate) fn pick<'a>(rng: &mut SplitMix64, list: &[&'a str]) -> &'a str {
    list.get(rng.index(list.len())).copied().unwrap_or("")
}

/// A lowercase username such as `emberfalcon42`.
pub(crate) fn username(rng: &mut SplitMix64) -> String {
    let mut name = String::with_capacity(24);
    name.push_str(pick(rng, &WORDS[..40]));
    name.push_str(pick(rng, &WORDS[..40]));
    if rng.chance(0.6) {
        name.push_str(&rng.below(1000).to_string());
    }
    name
}

/// A display name such as `Sleepy Owls`.
pub(crate) fn display_name(rng: &mut SplitMix64) -> String {
    format!("{} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS))
}

/// A guild name such as `The Cosmic Pirates`.
pub(crate) fn guild_name(rng: &mut SplitMix64) -> String {
    let name = display_name(rng);
    if rng.chance(0.3) {
        format!("The {name}")
    } else {
        name
    }
}

/// A sentence of random words, about `len` bytes long.
pub(crate) fn sentence(rng: &mut SplitMix64, len: usize) -> String {
    let mut out = String::with_capacity(len + 12);
    while out.len() < len {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(pick(rng, WORDS));
    }
    if rng.chance(0.2) {
        out.push_str(" \"quoted\"\n:)");
    }
    out
}

/// Message contents of varied length: mostly short chat lines, some paragraphs.
pub(crate) fn content_pool(rng: &mut SplitMix64, count: usize) -> Vec<Box<str>> {
    (0..count)
        .map(|_| {
            let roll = rng.unit();
            let len = if roll < 0.7 {
                rng.range(5, 120)
            } else if roll < 0.95 {
                rng.range(120, 400)
            } else {
                rng.range(400, 700)
            };
            sentence(rng, len as usize).into_boxed_str()
        })
        .collect()
}

/// Pre-serialized rich and link embeds, 200–500 bytes each.
pub(crate) fn embed_pool(rng: &mut SplitMix64, count: usize) -> Vec<Box<[u8]>> {
    (0..count)
        .map(|i| {
            let mut out = Vec::with_capacity(512);
            out.push(b'{');
            push_key(&mut out, "type");
            push_str(&mut out, if i % 2 == 0 { "rich" } else { "link" });
            push_next_key(&mut out, "title");
            push_str(&mut out, &sentence(rng, 30));
            push_next_key(&mut out, "description");
            let len = rng.range(60, 200) as usize;
            push_str(&mut out, &sentence(rng, len));
            push_next_key(&mut out, "url");
            push_str(
                &mut out,
                &format!("https://example.com/{}", rng.below(1_000_000)),
            );
            push_next_key(&mut out, "color");
            push_u64(&mut out, rng.below(0x00ff_ffff));
            push_next_key(&mut out, "footer");
            out.push(b'{');
            push_key(&mut out, "text");
            push_str(&mut out, pick(rng, NOUNS));
            out.extend_from_slice(b"},");
            push_key(&mut out, "fields");
            out.extend_from_slice(b"[{\"name\":");
            push_str(&mut out, pick(rng, WORDS));
            out.extend_from_slice(b",\"value\":");
            push_str(&mut out, &sentence(rng, 20));
            out.extend_from_slice(b",\"inline\":true}]}");
            out.into_boxed_slice()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_are_valid_and_varied() {
        let mut rng = SplitMix64::new(3);
        let contents = content_pool(&mut rng, 200);
        assert!(contents.iter().any(|c| c.len() < 120));
        assert!(contents.iter().any(|c| c.len() > 300));
        for embed in embed_pool(&mut rng, 20) {
            let v: serde_json::Value = serde_json::from_slice(&embed).unwrap();
            assert!(v["title"].is_string(), "embed {v}");
            assert!(
                (150..600).contains(&embed.len()),
                "embed size {}",
                embed.len()
            );
        }
        assert!(!username(&mut rng).is_empty());
    }
}
