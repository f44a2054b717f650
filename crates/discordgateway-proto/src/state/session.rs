//! The resumable part of a gateway session, exportable across restarts (GATEWAY.md §3.6).

use serde::{Deserialize, Serialize};

use crate::shard::ShardId;

/// What a client needs to resume a session: its ID, the last sequence number, the resume URL
/// from READY and the shard it belongs to.
///
/// Serde round-trips it, so it can be saved on shutdown (after closing with
/// [`ClientClose::KeepSession`](crate::close_code::ClientClose::KeepSession)) and given to
/// [`GatewayState::from_session`](super::GatewayState::from_session) on start.
///
/// # Examples
///
/// ```
/// use discordgateway_proto::shard::ShardId;
/// use discordgateway_proto::state::Session;
///
/// let session = Session {
///     id: "9f2c4d0e".into(),
///     sequence: 1337,
///     resume_url: "wss://gateway-us-east1-b.discord.gg".into(),
///     shard: ShardId::ONE,
/// };
/// let json = serde_json::to_string(&session)?;
/// assert_eq!(serde_json::from_str::<Session>(&json)?, session);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Session {
    /// `session_id` from READY.
    pub id: String,
    /// The last sequence number received (`s` of the last dispatch).
    pub sequence: u64,
    /// `resume_gateway_url` from READY, without query parameters.
    pub resume_url: String,
    /// The shard the session was identified as.
    pub shard: ShardId,
}
