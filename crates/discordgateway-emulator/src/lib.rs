//! A faithful fake Discord gateway for offline tests, demos, load and fault testing.
//!
//! The emulator behaves like Discord's gateway as documented (Hello, heartbeats, Identify
//! validation with the real close codes, READY, GUILD_CREATE bursts, Resume with replay,
//! op 7, op 9, rate limits, intents, compression) and serves the REST routes clients call
//! before connecting, all on one port. It is liberal in what it accepts, so any conforming
//! client library, in any language, works against it unmodified.

pub mod faults;
pub mod scenario;
pub mod workload;
