//! Sans-IO core of **discordgateway**: the vocabulary of Discord's gateway, its codecs,
//! and the `GatewayState` machine that any WebSocket implementation can drive.
//!
//! This crate never opens a socket, spawns a task or reads a clock. Time is always an
//! argument, and bytes go in and out as plain slices, so the same logic runs under tokio,
//! on a blocking thread, in a fuzzer or in a deterministic test with a fake clock.
//!
//! # What is here
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`opcode`] | gateway and voice opcodes, with their direction |
//! | [`close_code`] | gateway and voice close codes and the action each implies |
//! | [`event_type`] | every dispatch event, with CRUD names and wire names |
//! | [`intents`] | intent bits and their derivation from declared events |
//! | [`payload`] | Hello, Identify, Resume, READY, Invalid Session and the send commands, validated |
//! | [`envelope`] | the one-pass, allocation-free scanner of a JSON gateway message |
//! | [`token`], [`url`], [`shard`], [`snowflake`] | the redacted bot token, gateway URLs, shard routing, IDs |
//! | [`state`] | [`state::GatewayState`], one connection's sans-IO state machine |
//! | [`config`], [`event`] | its configuration, and the events and notices it yields |
//! | [`inflate`], [`ratelimit`], [`timer`] | zlib-stream/zstd-stream inflaters, the 120/60 s limiter, the timer table |
#![forbid(unsafe_code)]

// -- vocabulary --------------------------------------------------------------------------
pub mod close_code;
pub mod event_type;
pub mod intents;
pub mod opcode;

pub use close_code::{ClientClose, CloseAction, CloseCode, VoiceCloseAction, VoiceCloseCode};
pub use event_type::{EventSet, EventType, ParseEventTypeError};
pub use intents::{DeclaredEvents, IntentWarning, Intents};
pub use opcode::{Direction, OpCode, VoiceOpCode};

// -- payloads and helpers ----------------------------------------------------------------
pub mod payload;
pub mod shard;
pub mod snowflake;
pub mod token;
pub mod url;

pub use payload::{
    Command, CommandError, Heartbeat, Hello, Identify, InvalidSession, MAX_PAYLOAD_LEN, Outgoing,
    Ready, Resume,
};
pub use shard::ShardId;
pub use snowflake::Snowflake;
pub use token::Token;
pub use url::{ApiVersion, Compression, Encoding, GatewayParams, GatewayUrl};

// -- codecs ------------------------------------------------------------------------------
pub mod envelope;
pub use envelope::{Envelope, EnvelopeError};

// -- the sans-IO core --------------------------------------------------------------------
pub mod config;
pub mod event;
pub mod inflate;
pub mod ratelimit;
pub mod state;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod timer;
