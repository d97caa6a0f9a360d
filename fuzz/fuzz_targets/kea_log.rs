#![no_main]
//! Fuzzes the kea-log framer and parser: no input may panic, hang or allocate without bound.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tdr_parse::fuzz_one(tdr_parse::Format::KeaLog, data);
});
