//! A faithful fake Discord gateway for offline tests, demos, load and fault testing.
