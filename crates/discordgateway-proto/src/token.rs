//! The bot token, redacted everywhere except on the wire.
//!
//! Identify and Resume carry the token **without** the `Bot ` prefix that REST's
//! `Authorization` header uses (GATEWAY.md §3.4). [`Token::new`] therefore trims surrounding
//! whitespace and strips one leading `Bot ` (any case), so a token copied from an
//! `Authorization` header or from a file with a trailing newline works as is.
//!
//! `Debug` and `Display` print `<redacted>`. The secret leaves the value in exactly two ways:
//! [`Token::expose_secret`], and `Serialize`, which writes the real token because it goes
//! inside Identify and Resume.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What `Debug` and `Display` print instead of the token.
const REDACTED: &str = "<redacted>";

/// A bot token that never shows up in `Debug`, `Display`, logs or errors.
///
/// # Examples
///
/// ```
/// use discordgateway_proto::token::Token;
///
/// let token = Token::new("Bot MTAx.fake.token\n")?;
/// assert_eq!(token.expose_secret(), "MTAx.fake.token");
/// assert_eq!(format!("{token:?}"), "Token(<redacted>)");
/// assert_eq!(token.to_string(), "<redacted>");
/// # Ok::<(), discordgateway_proto::token::TokenError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Box<str>);

/// Why a token was rejected. Never contains any part of the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Nothing was left after trimming whitespace and the `Bot ` prefix.
    #[error("the bot token is empty: set it to the token from the developer portal's bot page")]
    Empty,
    /// The token contains whitespace or a control character inside it.
    #[error(
        "the bot token contains whitespace or a control character at byte {index}: \
         copy the token again without line breaks or spaces"
    )]
    InvalidCharacter {
        /// Byte offset of the character in the token (after trimming and prefix removal).
        index: usize,
    },
}

impl Token {
    /// Validates and stores a bot token.
    ///
    /// Surrounding whitespace is trimmed, then one leading `Bot ` (case-insensitive) is
    /// removed, because the gateway wants the bare token.
    ///
    /// # Errors
    ///
    /// [`TokenError::Empty`] if nothing (or only a bare `Bot`) is left, [`TokenError::InvalidCharacter`] if the
    /// token has inner whitespace or control characters.
    pub fn new(token: impl AsRef<str>) -> Result<Self, TokenError> {
        let trimmed = token.as_ref().trim();
        let bare = match trimmed.get(..4) {
            Some(prefix) if prefix.eq_ignore_ascii_case("bot ") => trimmed[4..].trim_start(),
            _ => trimmed,
        };
        // A lone `Bot` is the prefix with its token missing, never a token (real tokens
        // are dozens of characters).
        if bare.is_empty() || bare.eq_ignore_ascii_case("bot") {
            return Err(TokenError::Empty);
        }
        if let Some((index, _)) = bare
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || c.is_control())
        {
            return Err(TokenError::InvalidCharacter { index });
        }
        Ok(Self(bare.into()))
    }

    /// The bare token, for the wire. Keep the result out of logs.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Token")
            .field(&format_args!("{REDACTED}"))
            .finish()
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Token {
    /// Writes the **real** token: this is how it gets into Identify and Resume, and the only
    /// way besides [`Token::expose_secret`] that it leaves this type.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Token {
    /// Reads a token string through [`Token::new`] (so the same trimming and checks apply).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::new(raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "MTAx.fake.token";

    #[test]
    fn normalises_or_rejects() {
        const CASES: &[(&str, &str, Result<&str, TokenError>)] = &[
            ("bare", "MTAx.fake.token", Ok(SECRET)),
            ("bot prefix", "Bot MTAx.fake.token", Ok(SECRET)),
            ("lowercase prefix", "bot MTAx.fake.token", Ok(SECRET)),
            ("prefix, extra spaces", "Bot   MTAx.fake.token", Ok(SECRET)),
            ("trailing newline", "MTAx.fake.token\n", Ok(SECRET)),
            ("surrounding spaces", "  MTAx.fake.token  ", Ok(SECRET)),
            ("prefix-like start kept", "Bottoken", Ok("Bottoken")),
            ("empty", "", Err(TokenError::Empty)),
            ("only spaces", "  \n", Err(TokenError::Empty)),
            ("only prefix", "Bot ", Err(TokenError::Empty)),
            (
                "inner space",
                "MTAx fake",
                Err(TokenError::InvalidCharacter { index: 4 }),
            ),
            (
                "inner newline",
                "MTAx\nfake",
                Err(TokenError::InvalidCharacter { index: 4 }),
            ),
            (
                "control",
                "MT\u{7}Ax",
                Err(TokenError::InvalidCharacter { index: 2 }),
            ),
        ];
        for (name, input, want) in CASES {
            let got = Token::new(input);
            let got = got.as_ref().map(Token::expose_secret).map_err(Clone::clone);
            assert_eq!(got, want.clone(), "case {name}");
        }
    }

    #[test]
    fn debug_and_display_hide_the_token() {
        let token = Token::new(SECRET).expect("valid");
        for shown in [
            format!("{token:?}"),
            format!("{token:#?}"),
            token.to_string(),
        ] {
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(!shown.contains("MTAx"), "{shown}");
            assert!(shown.contains(REDACTED), "{shown}");
        }
    }

    #[test]
    fn errors_never_contain_the_token() {
        let err = Token::new("MTAx secret").expect_err("inner space");
        assert!(!err.to_string().contains("MTAx"), "{err}");
        assert!(!format!("{err:?}").contains("MTAx"), "{err:?}");
    }

    #[test]
    fn serde_writes_and_reads_the_real_token() {
        let token = Token::new(SECRET).expect("valid");
        let json = serde_json::to_string(&token).expect("serialize");
        assert_eq!(json, format!("\"{SECRET}\""));
        let back: Token = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, token);
        assert!(serde_json::from_str::<Token>(r#""  ""#).is_err());
    }
}
