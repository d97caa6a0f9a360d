//! Local times without an offset, as many producers write them, turned into UTC with the
//! producer's zone. A local time that falls in a DST fold (it happened twice) or gap (it never
//! happened) is refused with its own code rather than guessed: a wrong hour can name the wrong
//! subscriber.

use chrono::{Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::model::UnixSecs;
use crate::ParseError;

/// `naive` in zone `tz`, as Unix seconds.
pub fn to_utc(tz: Tz, naive: NaiveDateTime) -> Result<UnixSecs, ParseError> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.timestamp()),
        LocalResult::Ambiguous(..) => Err(ParseError::new(
            "time.ambiguous_local",
            format!(
                "local time {naive} happened twice in {tz} (DST ends); log in UTC to avoid this"
            ),
        )),
        LocalResult::None => Err(ParseError::new(
            "time.nonexistent_local",
            format!("local time {naive} does not exist in {tz} (DST starts)"),
        )),
    }
}

/// A time without a year (RFC 3164 syslog): the latest year that puts it no more than a day
/// after `reference` (a time known to be after every record of the stream, such as the file's
/// modification time). Handles December lines read in January.
pub fn infer_year(
    tz: Tz,
    month: u32,
    day: u32,
    hms: (u32, u32, u32),
    reference: UnixSecs,
) -> Result<UnixSecs, ParseError> {
    let bad = || ParseError::new("time.bad_date", "no such date");
    let ref_year = chrono::DateTime::from_timestamp(reference, 0)
        .map(|d| d.with_timezone(&tz).year())
        .ok_or_else(bad)?;
    // The local date and time a day after the reference: nothing of the stream is later.
    let limit = chrono::DateTime::from_timestamp(reference + 86_400, 0)
        .map(|d| d.with_timezone(&tz).naive_local())
        .ok_or_else(bad)?;
    // 29 February only exists in leap years: look back up to 8 years for one.
    for year in (ref_year - 8..=ref_year + 1).rev() {
        let Some(naive) = NaiveDate::from_ymd_opt(year, month, day)
            .and_then(|d| d.and_hms_opt(hms.0, hms.1, hms.2))
        else {
            continue;
        };
        if naive > limit {
            continue;
        }
        // The year is settled by the calendar; a DST fold or gap in it is an error, not a
        // reason to try another year.
        return to_utc(tz, naive);
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn stockholm_times_and_their_folds() {
        let tz: Tz = "Europe/Stockholm".parse().unwrap();
        assert_eq!(to_utc(tz, naive("2026-11-21 11:00:00")), Ok(1_795_255_200));
        assert_eq!(
            to_utc(tz, naive("2026-10-25 02:30:00")).unwrap_err().code,
            "time.ambiguous_local"
        );
        assert_eq!(
            to_utc(tz, naive("2026-03-29 02:30:00")).unwrap_err().code,
            "time.nonexistent_local"
        );
    }

    #[test]
    fn the_year_is_the_latest_one_not_after_the_reference() {
        let tz = Tz::UTC;
        let jan2_2027 = 1_798_848_000; // 2027-01-02T00:00:00Z
                                       // 31 December read on 2 January: last year.
        assert_eq!(
            infer_year(tz, 12, 31, (23, 0, 0), jan2_2027),
            Ok(1_798_758_000) // 2026-12-31T23:00:00Z
        );
        // 1 January: this year.
        assert_eq!(
            infer_year(tz, 1, 1, (10, 0, 0), jan2_2027),
            Ok(1_798_797_600)
        );
        // 29 February goes back to the last leap year (2024).
        assert_eq!(
            infer_year(tz, 2, 29, (0, 0, 0), jan2_2027),
            Ok(1_709_164_800)
        );
        assert_eq!(
            infer_year(tz, 2, 30, (0, 0, 0), jan2_2027)
                .unwrap_err()
                .code,
            "time.bad_date"
        );
        // A time in the October fold is an error in its year, never moved to another year.
        let sthlm: Tz = "Europe/Stockholm".parse().unwrap();
        assert_eq!(
            infer_year(sthlm, 10, 25, (2, 30, 0), jan2_2027)
                .unwrap_err()
                .code,
            "time.ambiguous_local"
        );
    }
}
