//! The CRM export of the simulated ISP: `identity.csv` in the columns `tdr identity import`
//! reads, one row per subscriber identifier the logs carry (the RADIUS user name, or the MAC
//! of a DHCP subscriber's device). Names, streets and personal numbers are synthetic (the
//! personal numbers carry a valid Luhn check digit but birth dates in 1900–1999 drawn at
//! random); one subscriber in 500 has a protected identity.

use crate::emit::Names;
use crate::error::{GenError, Result};
use crate::timefmt::{self, DAY};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::{BufWriter, Write};
use std::path::Path;

const FIRST: [&str; 16] = [
    "Anna", "Erik", "Maria", "Lars", "Karin", "Anders", "Eva", "Johan", "Sara", "Per", "Lena",
    "Mikael", "Emma", "Nils", "Ingrid", "Oskar",
];
const LAST: [&str; 16] = [
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Jansson",
    "Hansson",
    "Bengtsson",
    "Lindberg",
];
const STREET: [&str; 8] = [
    "Storgatan",
    "Kyrkogatan",
    "Skolgatan",
    "Järnvägsgatan",
    "Parkvägen",
    "Björkvägen",
    "Åsgatan",
    "Ringvägen",
];
const CITY: [(&str, u32); 6] = [
    ("Stockholm", 11),
    ("Göteborg", 41),
    ("Malmö", 21),
    ("Uppsala", 75),
    ("Västerås", 72),
    ("Örebro", 70),
];

/// The Luhn check digit of the nine digits YYMMDDNNN.
fn luhn(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let v = u32::from(d) * if i % 2 == 0 { 2 } else { 1 };
            v / 10 + v % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn personal_number(rng: &mut StdRng) -> String {
    let (y, m, d) = (
        rng.gen_range(1900..2000u32),
        rng.gen_range(1..=12u32),
        rng.gen_range(1..=28u32),
    );
    let n = rng.gen_range(0..1000u32);
    let nine = format!("{:02}{m:02}{d:02}{n:03}", y % 100);
    let digits: Vec<u8> = nine.bytes().map(|b| b - b'0').collect();
    format!("{y}{m:02}{d:02}-{n:03}{}", luhn(&digits))
}

/// Writes `path`: one row per subscriber of `names`, valid from a year before `t0`.
pub fn write(path: &Path, names: &Names, t0: i64, seed: u64) -> Result<()> {
    let io = |e| GenError::io(path, e);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x1D3_7717);
    let mut w = BufWriter::new(std::fs::File::create(path).map_err(io)?);
    writeln!(w, "subscriber,customer_id,name,street,postal_code,city,personal_number,protected_identity,valid_from,valid_to").map_err(io)?;
    let from = timefmt::rfc3339_string(t0 - 365 * DAY);
    for (i, sub) in names.subscribers.iter().enumerate() {
        let (city, zip) = CITY[rng.gen_range(0..CITY.len())];
        writeln!(
            w,
            "{sub},C{:08},{} {},{} {},{zip}{} {:02},{city},{},{},{from},",
            i + 1,
            FIRST[rng.gen_range(0..FIRST.len())],
            LAST[rng.gen_range(0..LAST.len())],
            STREET[rng.gen_range(0..STREET.len())],
            rng.gen_range(1..120),
            rng.gen_range(1..10),
            rng.gen_range(0..100),
            personal_number(&mut rng),
            rng.gen_ratio(1, 500),
        )
        .map_err(io)?;
    }
    w.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_matches_a_known_personal_number() {
        // Skatteverket's example 811218-9876.
        assert_eq!(luhn(&[8, 1, 1, 2, 1, 8, 9, 8, 7]), 6);
    }
}
