#![no_main]
use discordgateway_fuzz::script::{Script, run};
libfuzzer_sys::fuzz_target!(|script: Script| {
    run(script);
});
