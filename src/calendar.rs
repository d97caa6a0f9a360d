//! The Swedish calendar the law's clocks run on: public holidays computed for any year (not a
//! hand-kept list), working days, and spans like "2 working days" or "1 month" counted the way
//! Swedish and EU law count time limits. Pure: no clock, no IO.
//!
//! Public holidays are those of Lag (1989:253) om allmänna helgdagar: nyårsdagen (1 January),
//! trettondedag jul (6 January), långfredagen, påskdagen, annandag påsk, Kristi himmelsfärds
//! dag (the sixth Thursday after Easter), första maj, pingstdagen (the seventh Sunday after
//! Easter), Sveriges nationaldag (6 June), midsommardagen (the Saturday in 20–26 June), alla
//! helgons dag (the Saturday in 31 October – 6 November), juldagen and annandag jul. Lag
//! (1930:173) om beräkning av lagstadgad tid treats Saturdays, midsommarafton, julafton and
//! nyårsafton like holidays when a time limit ends: a limit that ends on any of these days, or
//! on a Sunday or a public holiday, runs to the next working day (as does Regulation (EEC,
//! Euratom) No 1182/71 art. 3(4) for the GDPR's one month).

use std::fmt;

use chrono::{Datelike, Days, Months, NaiveDate, TimeZone, Weekday};
use chrono_tz::Europe::Stockholm;

use crate::model::UnixSecs;

/// The Swedish day an instant falls on.
pub fn stockholm_day(t: UnixSecs) -> NaiveDate {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .with_timezone(&Stockholm)
        .date_naive()
}

/// The instant a day starts in Stockholm (midnight always exists there: the clocks change at
/// 02:00 and 03:00).
pub fn day_start(d: NaiveDate) -> Option<UnixSecs> {
    Stockholm
        .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|t| t.timestamp())
}

/// The instant after a day ends in Stockholm: the `to` of a range that includes the day.
pub fn day_end(d: NaiveDate) -> Option<UnixSecs> {
    day_start(d.succ_opt()?)
}

/// Easter Sunday of `year` in the Gregorian calendar (the anonymous Gregorian algorithm,
/// Meeus/Jones/Butcher).
pub fn easter(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    NaiveDate::from_ymd_opt(year, (n / 31) as u32, (n % 31 + 1) as u32)
        .expect("the computus gives a day in March or April")
}

/// The Saturday in `from..=from+6` (midsommardagen, alla helgons dag).
fn saturday_from(year: i32, month: u32, day: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, month, day).expect("a fixed calendar day");
    let ahead =
        (Weekday::Sat.num_days_from_monday() + 7 - first.weekday().num_days_from_monday()) % 7;
    first + Days::new(u64::from(ahead))
}

/// The public holidays of `year` (Lag (1989:253)), with their Swedish names, in date order.
pub fn public_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d).expect("a fixed calendar day");
    let e = easter(year);
    let mut v = vec![
        (ymd(1, 1), "nyårsdagen"),
        (ymd(1, 6), "trettondedag jul"),
        (e - Days::new(2), "långfredagen"),
        (e, "påskdagen"),
        (e + Days::new(1), "annandag påsk"),
        (e + Days::new(39), "Kristi himmelsfärds dag"),
        (ymd(5, 1), "första maj"),
        (e + Days::new(49), "pingstdagen"),
        (ymd(6, 6), "Sveriges nationaldag"),
        (saturday_from(year, 6, 20), "midsommardagen"),
        (saturday_from(year, 10, 31), "alla helgons dag"),
        (ymd(12, 25), "juldagen"),
        (ymd(12, 26), "annandag jul"),
    ];
    v.sort_by_key(|(d, _)| *d);
    v
}

/// Why `day` is not a working day, or `None` when it is one.
pub fn day_off(day: NaiveDate) -> Option<&'static str> {
    if let Some((_, name)) = public_holidays(day.year())
        .into_iter()
        .find(|(d, _)| *d == day)
    {
        return Some(name);
    }
    let (m, d) = (day.month(), day.day());
    if m == 12 && d == 24 {
        return Some("julafton");
    }
    if m == 12 && d == 31 {
        return Some("nyårsafton");
    }
    if m == 6 && (19..=25).contains(&d) && day.weekday() == Weekday::Fri {
        return Some("midsommarafton");
    }
    match day.weekday() {
        Weekday::Sat => Some("lördag"),
        Weekday::Sun => Some("söndag"),
        _ => None,
    }
}

pub fn is_working_day(day: NaiveDate) -> bool {
    day_off(day).is_none()
}

/// `day` itself when it is a working day, otherwise the next one.
pub fn this_or_next_working_day(mut day: NaiveDate) -> NaiveDate {
    while !is_working_day(day) {
        day = day.succ_opt().expect("a date far inside chrono's range");
    }
    day
}

/// The `n`th working day after `day` (`day` itself does not count).
pub fn add_working_days(mut day: NaiveDate, n: u32) -> NaiveDate {
    for _ in 0..n {
        day = this_or_next_working_day(day.succ_opt().expect("a date inside chrono's range"));
    }
    day
}

/// A time limit as configured: "2 working days", "10 days", "1 month".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    WorkingDays(u32),
    Days(u32),
    Months(u32),
}

impl Span {
    /// Reads "N working day(s)", "N day(s)" or "N month(s)" (N from 1 to 120 months, 3650 days).
    pub fn parse(s: &str) -> Option<Span> {
        let s = s.trim();
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
        let n: u32 = num.parse().ok()?;
        let span = match unit.trim() {
            "working day" | "working days" => Span::WorkingDays(n),
            "day" | "days" => Span::Days(n),
            "month" | "months" => Span::Months(n),
            _ => return None,
        };
        let max = match span {
            Span::Months(_) => 120,
            _ => 3650,
        };
        (1..=max).contains(&n).then_some(span)
    }

    /// The day a limit of this span that starts on `day` ends: working days are counted from
    /// the day after `day`; days and months are added, and a limit ending on a day off runs to
    /// the next working day (1930:173, 1182/71 art. 3(4)). A month from 31 January ends on the
    /// last day of February.
    pub fn after(self, day: NaiveDate) -> NaiveDate {
        match self {
            Span::WorkingDays(n) => add_working_days(day, n),
            Span::Days(n) => this_or_next_working_day(day + Days::new(u64::from(n))),
            Span::Months(n) => this_or_next_working_day(
                day.checked_add_months(Months::new(n))
                    .expect("a date inside chrono's range"),
            ),
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, unit) = match *self {
            Span::WorkingDays(n) => (n, "working day"),
            Span::Days(n) => (n, "day"),
            Span::Months(n) => (n, "month"),
        };
        write!(f, "{n} {unit}{}", if n == 1 { "" } else { "s" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn easter_matches_published_dates() {
        for (year, day) in [
            (1818, "1818-03-22"),
            (1943, "1943-04-25"),
            (2019, "2019-04-21"),
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2038, "2038-04-25"),
            (2285, "2285-03-22"),
        ] {
            assert_eq!(easter(year), d(day), "{year}");
        }
    }

    #[test]
    fn the_2026_holidays_are_those_of_the_almanac() {
        let got: Vec<String> = public_holidays(2026)
            .iter()
            .map(|(d, _)| d.to_string())
            .collect();
        assert_eq!(
            got,
            [
                "2026-01-01",
                "2026-01-06",
                "2026-04-03",
                "2026-04-05",
                "2026-04-06",
                "2026-05-01",
                "2026-05-14",
                "2026-05-24",
                "2026-06-06",
                "2026-06-20",
                "2026-10-31",
                "2026-12-25",
                "2026-12-26",
            ]
        );
        assert_eq!(day_off(d("2026-06-19")), Some("midsommarafton"));
        assert_eq!(day_off(d("2027-06-25")), Some("midsommarafton"));
        assert_eq!(day_off(d("2027-06-26")), Some("midsommardagen"));
        assert_eq!(day_off(d("2027-11-06")), Some("alla helgons dag"));
        assert_eq!(day_off(d("2026-12-24")), Some("julafton"));
        assert_eq!(day_off(d("2026-12-31")), Some("nyårsafton"));
        assert_eq!(day_off(d("2026-12-23")), None);
        assert_eq!(day_off(d("2026-12-05")), Some("lördag"));
    }

    #[test]
    fn working_days_skip_weekends_and_the_christmas_week() {
        // Wednesday 23 December 2026: 24, 25, 26, 27 are off; Monday 28 is the first.
        assert_eq!(add_working_days(d("2026-12-23"), 1), d("2026-12-28"));
        assert_eq!(add_working_days(d("2026-12-23"), 2), d("2026-12-29"));
        // Through nyårsafton, nyårsdagen, the weekend and trettondedagen (a Wednesday in 2027).
        assert_eq!(add_working_days(d("2026-12-30"), 1), d("2027-01-04"));
        assert_eq!(add_working_days(d("2027-01-05"), 1), d("2027-01-07"));
        // Easter 2027: Thursday 25 March, then Good Friday, the weekend and Easter Monday.
        assert_eq!(add_working_days(d("2027-03-25"), 1), d("2027-03-30"));
        // Received on a Saturday: Monday is the first working day after it.
        assert_eq!(add_working_days(d("2026-12-05"), 2), d("2026-12-08"));
    }

    #[test]
    fn a_month_that_ends_on_a_day_off_runs_to_the_next_working_day() {
        // 2026-11-24 + 1 month = Thursday 24 December (julafton) → Monday 28 December.
        assert_eq!(Span::Months(1).after(d("2026-11-24")), d("2026-12-28"));
        // 31 January + 1 month = 28 February 2027, a Sunday → Monday 1 March.
        assert_eq!(Span::Months(1).after(d("2027-01-31")), d("2027-03-01"));
        assert_eq!(Span::Months(1).after(d("2026-11-03")), d("2026-12-03"));
        assert_eq!(Span::Days(10).after(d("2026-11-23")), d("2026-12-03"));
    }

    #[test]
    fn spans_read_what_an_operator_writes_and_nothing_else() {
        assert_eq!(Span::parse("2 working days"), Some(Span::WorkingDays(2)));
        assert_eq!(Span::parse("1 working day"), Some(Span::WorkingDays(1)));
        assert_eq!(Span::parse(" 4 months "), Some(Span::Months(4)));
        assert_eq!(Span::parse("30 days"), Some(Span::Days(30)));
        for bad in [
            "",
            "2",
            "two days",
            "0 days",
            "2 weeks",
            "121 months",
            "-1 days",
        ] {
            assert_eq!(Span::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Span::WorkingDays(2).to_string(), "2 working days");
        assert_eq!(Span::Months(1).to_string(), "1 month");
    }
}
