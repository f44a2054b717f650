#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| discordgateway_fuzz::close::check(data));
