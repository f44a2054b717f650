#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| discordgateway_fuzz::inflate::check_zstd(data));
