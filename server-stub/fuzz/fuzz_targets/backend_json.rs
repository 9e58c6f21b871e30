#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reel_stub::fuzz::backend_json(data));
