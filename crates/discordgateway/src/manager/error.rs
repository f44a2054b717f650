//! Errors of the shard manager: [`ManagerError`] (struct + kind) and [`ShardFailure`], a
//! shard's error tagged with the shard.

use std::error::Error;
use std::fmt;

use crate::error::{BoxError, ShardError};
use crate::proto::shard::ShardId;

/// What went wrong in the manager.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerErrorKind {
    /// The shard selection is empty or outside `0..total`.
    #[error(
        "shards {start}..{end} of {total} is not a valid selection: use a non-empty range within 0..{total} (and total ≥ 1)"
    )]
    InvalidShards {
        /// First shard.
        start: u32,
        /// One past the last shard.
        end: u32,
        /// Shard count.
        total: u32,
    },
    /// A shard's configuration was rejected (the source says which field).
    #[error("the configuration of shard {shard} is invalid; fix the field the source names")]
    Config {
        /// The shard.
        shard: ShardId,
    },
    /// The shard number is not run by this manager.
    #[error("shard {number} is not run by this manager: use a number from its range")]
    UnknownShard {
        /// The number asked for.
        number: u32,
    },
    /// A resharding is already under way.
    #[error("a resharding to {total} shards is already under way: wait for it to finish")]
    Resharding {
        /// The total being switched to.
        total: u32,
    },
    /// Resharding to the current total, or a manager running a range.
    #[error(
        "cannot reshard from {from} to {to} shards: give a different total, and run all shards of the bot in this manager"
    )]
    InvalidReshard {
        /// The current total.
        from: u32,
        /// The requested total.
        to: u32,
    },
    /// The session store failed while saving (the source says why); the next start identifies.
    #[error("could not save the sessions; the next start will identify every shard")]
    Store,
}

driver_error! {
    /// An error of the [`ShardManager`](super::ShardManager): a kind and the underlying error.
    #[derive(Debug)]
    ManagerError => ManagerErrorKind
}

/// A shard's `next_event` failed; the manager keeps running the other shards.
///
/// Fatal ones (e.g. 4004, 4014) stop that shard; the message names the fix.
#[derive(Debug)]
pub struct ShardFailure {
    /// The shard.
    pub shard: ShardId,
    /// Its error.
    pub error: ShardError,
}

impl fmt::Display for ShardFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard {}: {}", self.shard, self.error)
    }
}

impl Error for ShardFailure {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn into_parts_keeps_the_source_and_messages_say_what_to_do() {
        let source = std::io::Error::other("disk full");
        let err = ManagerError::with_source(ManagerErrorKind::Store, source);
        assert!(
            err.to_string().contains("next start will identify"),
            "{err}"
        );
        let (kind, source) = err.into_parts();
        assert_eq!(kind, ManagerErrorKind::Store);
        assert_eq!(source.map(|s| s.to_string()).as_deref(), Some("disk full"));
        const CASES: &[(&str, ManagerErrorKind, &str)] = &[
            (
                "range",
                ManagerErrorKind::InvalidShards {
                    start: 4,
                    end: 2,
                    total: 8,
                },
                "use a non-empty range within 0..8",
            ),
            (
                "unknown",
                ManagerErrorKind::UnknownShard { number: 9 },
                "use a number from its range",
            ),
            (
                "reshard",
                ManagerErrorKind::InvalidReshard { from: 4, to: 4 },
                "give a different total",
            ),
        ];
        for (name, kind, fix) in CASES {
            assert!(kind.to_string().contains(fix), "{name}: {kind}");
        }
    }
}
