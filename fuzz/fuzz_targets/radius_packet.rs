#![no_main]
//! Fuzzes the RADIUS accounting packet decoder (the `[[radius]]` server's input): any datagram
//! is decoded, checked, answered and written out as a detail record that the radius-detail
//! parser reads; nothing may panic, hang or allocate without bound.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tdr_parse::radius::fuzz_one(data);
});
