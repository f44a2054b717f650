#![no_main]
use discordgateway_fuzz::commands::{Input, check};
libfuzzer_sys::fuzz_target!(|input: Input| {
    check(input);
});
