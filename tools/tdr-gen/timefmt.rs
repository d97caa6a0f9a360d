//! Time as whole UTC seconds since the epoch (`i64`), formatted as RFC 3339 with a `Z` offset
//! ("2026-11-03T10:00:00Z") by hand, because the generator formats tens of millions of them;
//! parsing goes through chrono and accepts any offset.

use chrono::{DateTime, NaiveDate};

pub const DAY: i64 = 86_400;

/// (year, month, day) of a day number counted from 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn two(out: &mut [u8], at: usize, v: u32) {
    out[at] = b'0' + (v / 10) as u8;
    out[at + 1] = b'0' + (v % 10) as u8;
}

/// `t` as "YYYY-MM-DDTHH:MM:SSZ" (years 0..=9999).
pub fn rfc3339(t: i64) -> [u8; 20] {
    let days = t.div_euclid(DAY);
    let secs = t.rem_euclid(DAY) as u32;
    let (y, m, d) = civil_from_days(days);
    let y = y.clamp(0, 9999) as u32;
    let mut out = *b"0000-00-00T00:00:00Z";
    two(&mut out, 0, y / 100);
    two(&mut out, 2, y % 100);
    two(&mut out, 5, m);
    two(&mut out, 8, d);
    two(&mut out, 11, secs / 3600);
    two(&mut out, 14, secs / 60 % 60);
    two(&mut out, 17, secs % 60);
    out
}

/// `t` as an owned RFC 3339 string.
pub fn rfc3339_string(t: i64) -> String {
    String::from_utf8_lossy(&rfc3339(t)).into_owned()
}

/// "YYYYMMDD" of the UTC day containing `t` (for per-day file names).
pub fn day_stamp(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(DAY));
    format!("{y:04}{m:02}{d:02}")
}

/// Parses an RFC 3339 time with an offset into epoch seconds (fractions are truncated).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp())
}

/// Parses "YYYY-MM-DD" into the epoch second of its UTC midnight.
pub fn parse_date(s: &str) -> Option<i64> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_chrono() {
        for t in [
            0i64,
            86_399,
            951_782_400, // 2000-02-29
            1_793_700_000,
            4_102_444_800,
            -1,
        ] {
            let ours = rfc3339_string(t);
            let theirs = DateTime::from_timestamp(t, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(ours, theirs);
            assert_eq!(parse_rfc3339(&ours), Some(t));
        }
    }

    #[test]
    fn parses_offsets_and_dates() {
        assert_eq!(
            parse_rfc3339("2026-11-03T11:00:00+01:00"),
            parse_rfc3339("2026-11-03T10:00:00Z")
        );
        assert_eq!(parse_rfc3339("2026-11-03T10:00:00"), None);
        let d = parse_date("2026-11-03").unwrap();
        assert_eq!(rfc3339_string(d), "2026-11-03T00:00:00Z");
        assert_eq!(day_stamp(d + 5), "20261103");
    }
}
