//! One module per subcommand.

pub(crate) mod bench;
pub(crate) mod chaos;
pub(crate) mod demo;
pub(crate) mod emulate;
pub(crate) mod listen;
