#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| player_core::fuzz::subtitles(data));
