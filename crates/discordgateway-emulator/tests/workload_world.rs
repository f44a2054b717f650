//! The generated world: guild sizes, ids and routing, READY and GUILD_CREATE payloads.

use std::collections::HashSet;

use discordgateway_emulator::workload::{
    ChannelKind, GuildCreateOptions, Status, WorkloadConfig, World,
};
use serde_json::Value;

fn config(seed: u64, guilds: u32) -> WorkloadConfig {
    WorkloadConfig {
        seed,
        guilds,
        large_fraction: 0.0,
        ..WorkloadConfig::default()
    }
}

fn parse(data: &[u8]) -> Value {
    serde_json::from_slice(data).expect("valid JSON")
}

fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| {
            x["id"]
                .as_str()
                .or(x["user"]["id"].as_str())
                .expect("id")
                .parse()
                .expect("snowflake")
        })
        .collect()
}

#[test]
fn worlds_from_one_seed_are_identical_and_other_seeds_differ() {
    let cfg = config(42, 30);
    let (a, b) = (
        World::generate(&cfg).unwrap(),
        World::generate(&cfg).unwrap(),
    );
    let opts = GuildCreateOptions::new(true, 50);
    for (ga, gb) in a.guilds().iter().zip(b.guilds()) {
        assert_eq!(
            a.guild_create_data(ga, opts),
            b.guild_create_data(gb, opts),
            "guild {}",
            ga.id()
        );
    }
    let ready =
        |w: &World| w.ready_data(10, "s", "ws://x", None, w.guilds().iter().map(|g| g.id()));
    assert_eq!(ready(&a), ready(&b));
    let c = World::generate(&config(43, 30)).unwrap();
    assert_ne!(a.guilds()[0].id(), c.guilds()[0].id());
}

#[test]
fn guilds_have_the_documented_shape() {
    let w = World::generate(&config(1, 200)).unwrap();
    assert_eq!(w.guilds().len(), 200);
    let mut all_ids = HashSet::new();
    for g in w.guilds() {
        assert!(
            (10..=200).contains(&g.member_count()),
            "{} members",
            g.member_count()
        );
        assert!(
            (5..=50).contains(&g.channels().len()),
            "{} channels",
            g.channels().len()
        );
        assert!(
            (3..=30).contains(&g.roles().len()),
            "{} roles",
            g.roles().len()
        );
        assert_eq!(g.roles()[0].id, g.id(), "@everyone has the guild's id");
        for kind in [ChannelKind::Text, ChannelKind::Voice, ChannelKind::Category] {
            assert!(
                g.channels().iter().any(|c| c.kind == kind),
                "guild lacks {kind:?}"
            );
        }
        let members = g.members();
        assert_eq!(
            members[0].user_id(),
            w.bot().id(),
            "the bot is the first member"
        );
        assert!(members[0].is_bot());
        assert!(
            members.windows(2).all(|p| p[0].user_id() < p[1].user_id()),
            "sorted by id"
        );
        let last = members.last().unwrap();
        assert_eq!(
            g.member(last.user_id()).map(|m| m.username()),
            Some(last.username())
        );
        assert!(g.member(1).is_none());
        let snowflakes = std::iter::once(g.id())
            .chain(g.channels().iter().map(|c| c.id))
            .chain(g.roles().iter().skip(1).map(|r| r.id))
            .chain(members.iter().skip(1).map(|m| m.user_id()));
        for id in snowflakes {
            assert!(all_ids.insert(id), "duplicate snowflake {id}");
        }
    }
    let sizes: Vec<usize> = w.guilds().iter().map(|g| g.member_count()).collect();
    let small = sizes.iter().filter(|&&n| n < 60).count();
    assert!(
        small > 100,
        "most guilds are small (log-uniform): {small} of 200 under 60"
    );
}

#[test]
fn guilds_spread_evenly_over_shards() {
    let w = World::generate(&config(7, 2_000)).unwrap();
    let total = 8;
    let mut seen = 0;
    for shard in 0..total {
        let n = w
            .guilds_for_shard(shard, total)
            .inspect(|g| assert_eq!((g.id() >> 22) % 8, u64::from(shard)))
            .count();
        assert!((150..=350).contains(&n), "shard {shard} has {n} guilds");
        seen += n;
    }
    assert_eq!(seen, 2_000, "every guild is on exactly one shard");
}

#[test]
fn ready_has_the_documented_fields() {
    let w = World::generate(&config(3, 5)).unwrap();
    let guild_ids: Vec<u64> = w.guilds_for_shard(1, 2).map(|g| g.id()).collect();
    let cases: &[(&str, Option<[u32; 2]>)] = &[("sharded", Some([1, 2])), ("unsharded", None)];
    for &(name, shard) in cases {
        let v = parse(&w.ready_data(
            10,
            "abc\"def",
            "ws://127.0.0.1:1/",
            shard,
            guild_ids.iter().copied(),
        ));
        assert_eq!(v["v"], 10, "case {name}");
        assert_eq!(v["user"]["id"], w.bot().id().to_string(), "case {name}");
        assert_eq!(v["user"]["bot"], true, "case {name}");
        assert_eq!(v["session_id"], "abc\"def", "case {name}");
        assert_eq!(v["resume_gateway_url"], "ws://127.0.0.1:1/", "case {name}");
        assert_eq!(
            v["application"]["id"],
            w.application_id().to_string(),
            "case {name}"
        );
        assert!(v["application"]["flags"].is_u64(), "case {name}");
        assert_eq!(ids(&v["guilds"]), guild_ids, "case {name}");
        assert!(
            v["guilds"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g["unavailable"] == true)
        );
        match shard {
            Some(s) => assert_eq!(v["shard"], serde_json::json!(s), "case {name}"),
            None => assert!(v.get("shard").is_none(), "case {name}"),
        }
    }
}

#[test]
fn guild_create_lists_members_and_presences_as_documented() {
    let mut cfg = config(9, 1);
    cfg.small_members = [100, 100];
    let w = World::generate(&cfg).unwrap();
    let g = &w.guilds()[0];
    let bot = w.bot().id();
    let online = g
        .members()
        .iter()
        .filter(|m| m.status() != Status::Offline)
        .count();
    let listed_large = g
        .members()
        .iter()
        .filter(|m| {
            m.is_bot()
                || m.status() != Status::Offline
                || !m.roles().is_empty()
                || m.nick().is_some()
        })
        .count();
    // (name, presences intent, large_threshold, large, members, presences)
    let cases: &[(&str, bool, u32, bool, usize, usize)] = &[
        ("no presence intent", false, 250, false, 1, 1),
        ("no presence intent, large", false, 50, true, 1, 1),
        ("small guild", true, 250, false, 100, 100),
        ("large guild", true, 50, true, listed_large, online),
    ];
    for &(name, intent, threshold, large, members, presences) in cases {
        let v = parse(&g.create_data(w.bot(), GuildCreateOptions::new(intent, threshold)));
        assert_eq!(v["id"], g.id().to_string(), "case {name}");
        assert_eq!(v["member_count"], 100, "case {name}");
        assert_eq!(v["large"], large, "case {name}");
        assert_eq!(v["unavailable"], false, "case {name}");
        assert_eq!(
            v["members"].as_array().unwrap().len(),
            members,
            "case {name} members"
        );
        assert_eq!(
            v["presences"].as_array().unwrap().len(),
            presences,
            "case {name} presences"
        );
        assert!(
            ids(&v["members"]).contains(&bot),
            "case {name}: the bot is listed"
        );
        assert_eq!(ids(&v["channels"]).len(), g.channels().len(), "case {name}");
        assert_eq!(ids(&v["roles"]).len(), g.roles().len(), "case {name}");
        if large && intent {
            assert!(
                v["presences"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|p| p["status"] != "offline"),
                "case {name}"
            );
        }
    }
    let opts = GuildCreateOptions::new(true, 50);
    let (first, second) = (g.create_data(w.bot(), opts), g.create_data(w.bot(), opts));
    assert_eq!(
        first.as_ptr(),
        second.as_ptr(),
        "variants are serialized once and shared"
    );
}

#[test]
fn large_guilds_make_multi_megabyte_guild_creates() {
    let mut cfg = config(5, 1);
    cfg.large_fraction = 1.0;
    cfg.large_members = [20_000, 20_000];
    let w = World::generate(&cfg).unwrap();
    let g = &w.guilds()[0];
    assert_eq!(g.member_count(), 20_000);
    let data = w.guild_create_data(g, GuildCreateOptions::new(true, 250));
    assert!(
        data.len() > 2_000_000,
        "GUILD_CREATE of {} bytes",
        data.len()
    );
    let v = parse(&data);
    assert_eq!(v["large"], true);
    let without = w.guild_create_data(g, GuildCreateOptions::new(false, 250));
    assert!(
        without.len() < 30_000,
        "only the bot without presences: {} bytes",
        without.len()
    );
}

#[test]
fn member_json_is_what_chunks_need() {
    let w = World::generate(&config(2, 1)).unwrap();
    let g = &w.guilds()[0];
    let m = &g.members()[1];
    let mut out = Vec::new();
    m.write_json(&mut out);
    let v = parse(&out);
    assert_eq!(v["user"]["id"], m.user_id().to_string());
    assert_eq!(v["user"]["username"], m.username());
    let roles: Vec<String> = m.roles().iter().map(u64::to_string).collect();
    assert_eq!(v["roles"], serde_json::json!(roles));
    assert!(v["joined_at"].as_str().unwrap().ends_with("+00:00"));
    out.clear();
    m.write_presence_json(&mut out);
    let p = parse(&out);
    assert_eq!(p["user"]["id"], m.user_id().to_string());
    assert_eq!(p["status"], m.status().as_str());
}
