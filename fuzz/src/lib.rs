//! Checks behind the cargo-fuzz targets of discordgateway (issue 8, point 4).
//!
//! Each module holds the body of one target in `fuzz_targets/`, so a target is a one-line
//! call and the seed generator (`examples/gen_seeds.rs`) can reuse the input formats. Every
//! check panics (that is how libFuzzer learns of a failure) when the code under test panics
//! or breaks one of its documented promises. See RELIABILITY.md for how to run them.

pub mod close;
pub mod commands;
pub mod envelope;
pub mod inflate;
pub mod script;
