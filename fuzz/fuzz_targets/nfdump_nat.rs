#![no_main]
//! Fuzzes the nfdump-nat framer and parser: no input may panic, hang or allocate without bound.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tdr_parse::fuzz_one(tdr_parse::Format::NfdumpNat, data);
});
