//! The sans-IO session state machine (work in progress: its building blocks come first).
#![allow(dead_code)]

mod heartbeat;
mod reconnect;
mod rng;
