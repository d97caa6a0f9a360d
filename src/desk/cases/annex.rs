//! The scope as pasted from an order's annex: one item a line, read into the same
//! [`ScopeItem`]s the API takes, with what is wrong (or worth a second look) on each line said
//! in plain words. Pure: no IO, no clock; the address plan comes in as two predicates.
//!
//! A line is a target and one or two times: `ADDR TIME`, `ADDR:PORT TIME`, `[IPv6]:PORT TIME`,
//! `ADDR PORT TIME`, `ADDR FROM TO`, `NUMBER FROM TO`, or (an access request) `subscriber ID`;
//! separated by spaces, tabs, `;` or `,`, optionally numbered (`1.`, `1)`, `(1)`). A time is
//! RFC 3339 or `YYYY-MM-DD HH:MM[:SS]`, followed by its zone (`Z`, `UTC`, `+01:00`, `CET`,
//! `CEST`). A time without a zone is refused: the hour would have to be guessed.

use std::net::{IpAddr, Ipv4Addr};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};

use crate::desk::i18n::Lang;
use crate::legal::case::{Parsed, RequestType, ScopeItem, MAX_WINDOW_SECS};
use crate::model::UnixSecs;

/// Why a line cannot be an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wrong {
    /// A time without its zone (the local time as written).
    NoZone(NaiveDateTime),
    NotATime(String),
    DateWithoutClock(String),
    NoTime,
    TooManyTimes,
    NotATarget(String),
    BadPort(String),
    ToBeforeFrom,
    WindowTooLong(i64),
    NumberNeedsWindow,
    IpredNumber,
    AccessNeedsSubscriber,
    SubscriberOutsideAccess,
    BadSubscriber,
    /// What the scope rules said otherwise (English, from `ScopeItem::parse`).
    Other(String),
}

/// What is allowed but worth a second look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warn {
    /// A shared (CGNAT) public address without the source port.
    CgnatNoPort,
    /// An address outside the operator's address space.
    NotOurAddress,
    /// `CET` written for a summer date or `CEST` for a winter one: taken as written.
    ZoneSeason { given: &'static str, usual: String },
    /// The same item as line `n`.
    Duplicate(usize),
}

/// One line's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// 1-based, as in the pasted text.
    pub n: usize,
    /// The line as pasted (trimmed).
    pub raw: String,
    pub item: Result<(ScopeItem, String), Wrong>,
    pub warnings: Vec<Warn>,
}

/// The operator's address plan, as the check needs it.
pub struct Plan<'a> {
    pub is_ours: &'a dyn Fn(IpAddr) -> bool,
    pub is_cgnat: &'a dyn Fn(IpAddr) -> bool,
}

/// Reads every non-blank line (a line starting with `#` is a comment).
pub fn read(kind: Option<RequestType>, text: &str, plan: &Plan) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let mut warnings = Vec::new();
        let item = line(kind, raw, plan, &mut warnings);
        if let Ok((it, _)) = &item {
            let same = |p: &ScopeItem| p.parse().ok() == it.parse().ok();
            if let Some(prev) = out
                .iter()
                .find(|l| matches!(&l.item, Ok((p, _)) if same(p)))
            {
                warnings.push(Warn::Duplicate(prev.n));
            }
        }
        out.push(Line {
            n: i + 1,
            raw: raw.to_string(),
            item,
            warnings,
        });
    }
    out
}

fn tokens(raw: &str) -> Vec<&str> {
    raw.split(|c: char| c.is_whitespace() || c == ';' || c == ',')
        .filter(|t| !t.is_empty())
        .collect()
}

fn is_item_number(t: &str) -> bool {
    let t = t.strip_prefix('(').unwrap_or(t);
    let Some(d) = t.strip_suffix('.').or_else(|| t.strip_suffix(')')) else {
        return false;
    };
    !d.is_empty() && d.len() <= 4 && d.bytes().all(|b| b.is_ascii_digit())
}

fn is_date(t: &str) -> bool {
    t.len() >= 10 && NaiveDate::parse_from_str(&t[..10], "%Y-%m-%d").is_ok()
}

/// `ADDR`, `v4:PORT` or `[v6]:PORT`.
fn target(t: &str) -> Option<Result<(IpAddr, Option<u16>), Wrong>> {
    if let Some(rest) = t.strip_prefix('[') {
        let (a, p) = rest.split_once("]:")?;
        let ip = a.parse::<std::net::Ipv6Addr>().ok()?;
        return Some(port(p).map(|p| (IpAddr::V6(ip), Some(p))));
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(Ok((ip, None)));
    }
    let (a, p) = t.split_once(':')?;
    let ip = a.parse::<Ipv4Addr>().ok()?;
    Some(port(p).map(|p| (IpAddr::V4(ip), Some(p))))
}

fn port(p: &str) -> Result<u16, Wrong> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(Wrong::BadPort(p.to_string())),
    }
}

fn line(
    kind: Option<RequestType>,
    raw: &str,
    plan: &Plan,
    warnings: &mut Vec<Warn>,
) -> Result<(ScopeItem, String), Wrong> {
    let mut t = tokens(raw);
    if t.first().is_some_and(|f| is_item_number(f)) {
        t.remove(0);
    }
    // A data subject's request (access, restriction, erasure, rectification) names the person.
    let access = kind.is_some_and(RequestType::subject_right);
    let first = t.first().copied().unwrap_or("");
    if first.eq_ignore_ascii_case("subscriber") || first.eq_ignore_ascii_case("abonnent") {
        if !access {
            return Err(Wrong::SubscriberOutsideAccess);
        }
        let id = t[1..].join(" ");
        let item = ScopeItem {
            subscriber: Some(id.clone()),
            ..ScopeItem::default()
        };
        return match item.parse() {
            Ok(_) => Ok((item, format!("subscriber {id}"))),
            Err(_) => Err(Wrong::BadSubscriber),
        };
    }
    if access {
        return Err(Wrong::AccessNeedsSubscriber);
    }
    let (addr, mut rest) = match target(first) {
        Some(r) => (Some(r?), &t[1..]),
        None => (None, &t[..]),
    };
    let mut item = ScopeItem::default();
    let mut understood: String;
    match addr {
        Some((ip, p)) => {
            let mut p = p;
            if p.is_none()
                && rest
                    .first()
                    .is_some_and(|x| x.bytes().all(|b| b.is_ascii_digit()))
            {
                p = Some(port(rest[0])?);
                rest = &rest[1..];
            }
            item.addr = Some(ip.to_string());
            item.port = p;
            understood = match (ip, p) {
                (IpAddr::V6(_), Some(p)) => format!("[{ip}]:{p}"),
                (_, Some(p)) => format!("{ip}:{p}"),
                (_, None) => ip.to_string(),
            };
            if !(plan.is_ours)(ip) {
                warnings.push(Warn::NotOurAddress);
            }
            if p.is_none() && (plan.is_cgnat)(ip) {
                warnings.push(Warn::CgnatNoPort);
            }
        }
        None => {
            // A telephone number: everything up to the first date (it may hold spaces).
            let end = t.iter().position(|x| is_date(x)).unwrap_or(t.len());
            let number = t[..end].join(" ");
            let phoneish = !number.is_empty()
                && number.chars().any(|c| c.is_ascii_digit())
                && number
                    .chars()
                    .all(|c| c.is_ascii_digit() || "+ -()".contains(c));
            if !phoneish {
                return Err(Wrong::NotATarget(first.to_string()));
            }
            if kind == Some(RequestType::Ipred) {
                return Err(Wrong::IpredNumber);
            }
            item.number = Some(number.clone());
            understood = number;
            rest = &t[end..];
        }
    }
    let times = times(rest, warnings)?;
    match (times.as_slice(), item.number.is_some()) {
        ([], _) => return Err(Wrong::NoTime),
        ([_], true) => return Err(Wrong::NumberNeedsWindow),
        ([(at, secs)], false) => {
            item.at = Some(at.clone());
            understood.push_str(&format!(" @ {}", both(*secs)));
        }
        ([(from, f), (to, t)], _) => {
            if t < f {
                return Err(Wrong::ToBeforeFrom);
            }
            if t - f > MAX_WINDOW_SECS {
                return Err(Wrong::WindowTooLong((t - f + 86_399) / 86_400));
            }
            item.from = Some(from.clone());
            item.to = Some(to.clone());
            understood.push_str(&format!(" {} – {}", both(*f), both(*t)));
        }
        _ => return Err(Wrong::TooManyTimes),
    }
    match item.parse() {
        Ok(Parsed::Calls { .. } | Parsed::Address(_)) => Ok((item, understood)),
        Ok(Parsed::Subscriber(_)) => Err(Wrong::SubscriberOutsideAccess),
        Err(e) => Err(Wrong::Other(e)),
    }
}

/// Stockholm time with UTC beside it.
fn both(t: UnixSecs) -> String {
    format!(
        "{} = {}",
        crate::report::html::stockholm_text(t),
        crate::report::html::utc_text(t)
    )
}

/// A zone: its offset from UTC in seconds, and its name if it is one of Sweden's.
type Zone = (i32, Option<&'static str>);

/// A zone as written after a time: its offset in seconds, and its name if it is one of
/// Sweden's.
fn zone(t: &str) -> Option<Zone> {
    let up = t.to_ascii_uppercase();
    match up.as_str() {
        "Z" | "UTC" | "GMT" => return Some((0, None)),
        "CET" => return Some((3600, Some("CET"))),
        "CEST" => return Some((7200, Some("CEST"))),
        _ => {}
    }
    let off = up
        .strip_prefix("UTC")
        .or_else(|| up.strip_prefix("GMT"))
        .unwrap_or(&up);
    offset(off)
}

/// `+01:00`, `+0100`, `+01`, `-05:00`.
fn offset(s: &str) -> Option<Zone> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 1 | 2 | 4) {
        return None;
    }
    let (h, m) = if digits.len() == 4 {
        (&digits[..2], &digits[2..])
    } else {
        (&digits[..], "0")
    };
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some((sign * (h * 3600 + m * 60), None))
}

/// A clock time with whatever is glued to it (`10:15:00Z`, `10:15+01:00`).
fn clock(s: &str) -> Option<(NaiveTime, Option<Zone>)> {
    let cut = s
        .char_indices()
        .skip(1)
        .find(|(_, c)| matches!(c, 'Z' | 'z' | '+' | '-'))
        .map(|(i, _)| i);
    let (time, glued) = match cut {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    let time = time.split('.').next().unwrap_or(time);
    let t = NaiveTime::parse_from_str(time, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M"))
        .ok()?;
    match glued {
        None => Some((t, None)),
        Some(z) => Some((t, Some(zone(z)?))),
    }
}

/// The times of a line: each as RFC 3339 (with its offset) and as Unix seconds.
fn times(mut t: &[&str], warnings: &mut Vec<Warn>) -> Result<Vec<(String, UnixSecs)>, Wrong> {
    let mut out = Vec::new();
    while let Some(first) = t.first() {
        if !is_date(first) {
            return Err(Wrong::NotATime(first.to_string()));
        }
        let day = NaiveDate::parse_from_str(&first[..10], "%Y-%m-%d")
            .map_err(|_| Wrong::NotATime(first.to_string()))?;
        let (clock_text, used) = match first[10..].chars().next() {
            Some('T' | 't') => (&first[11..], 1),
            None => match t.get(1) {
                Some(c) => (*c, 2),
                None => return Err(Wrong::DateWithoutClock(first.to_string())),
            },
            Some(_) => return Err(Wrong::NotATime(first.to_string())),
        };
        let (time, glued) = clock(clock_text).ok_or_else(|| {
            if used == 2 {
                Wrong::DateWithoutClock(first.to_string())
            } else {
                Wrong::NotATime(first.to_string())
            }
        })?;
        t = &t[used..];
        let local = day.and_time(time);
        let zone = match glued {
            Some(z) => Some(z),
            None => match t.first().and_then(|z| zone(z)) {
                Some(z) => {
                    t = &t[1..];
                    Some(z)
                }
                None => None,
            },
        };
        let Some((secs, name)) = zone else {
            return Err(Wrong::NoZone(local));
        };
        let tz = chrono::FixedOffset::east_opt(secs).ok_or(Wrong::NotATime(first.to_string()))?;
        let at = tz
            .from_local_datetime(&local)
            .single()
            .ok_or(Wrong::NotATime(first.to_string()))?;
        if let Some(given) = name {
            let usual = chrono_tz::Europe::Stockholm
                .offset_from_utc_datetime(&at.naive_utc())
                .fix()
                .local_minus_utc();
            if usual != secs {
                let usual = if usual == 7200 { "CEST" } else { "CET" };
                warnings.push(Warn::ZoneSeason {
                    given,
                    usual: usual.into(),
                });
            }
        }
        let text = if secs == 0 {
            local.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        } else {
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        };
        out.push((text, at.timestamp()));
    }
    Ok(out)
}

impl Wrong {
    /// What is wrong and why it matters, in `l`.
    pub fn explain(&self, l: Lang) -> String {
        match self {
            Wrong::NoZone(local) => {
                let hm = |h: i64| {
                    (*local - chrono::Duration::hours(h))
                        .format("%H:%M")
                        .to_string()
                };
                l.t("annex.no_zone")
                    .replace("{local}", &local.format("%H:%M").to_string())
                    .replace("{winter}", &hm(1))
                    .replace("{summer}", &hm(2))
            }
            Wrong::NotATime(t) => l.t("annex.not_a_time").replace("{t}", t),
            Wrong::DateWithoutClock(t) => l.t("annex.date_without_clock").replace("{t}", t),
            Wrong::NoTime => l.t("annex.no_time").into(),
            Wrong::TooManyTimes => l.t("annex.too_many_times").into(),
            Wrong::NotATarget(t) => l.t("annex.not_a_target").replace("{t}", t),
            Wrong::BadPort(p) => l.t("annex.bad_port").replace("{t}", p),
            Wrong::ToBeforeFrom => l.t("annex.to_before_from").into(),
            Wrong::WindowTooLong(d) => l
                .t("annex.window_too_long")
                .replace("{days}", &d.to_string())
                .replace("{max}", &(MAX_WINDOW_SECS / 86_400).to_string()),
            Wrong::NumberNeedsWindow => l.t("annex.number_needs_window").into(),
            Wrong::IpredNumber => l.t("annex.ipred_number").into(),
            Wrong::AccessNeedsSubscriber => l.t("annex.access_needs_subscriber").into(),
            Wrong::SubscriberOutsideAccess => l.t("annex.subscriber_outside_access").into(),
            Wrong::BadSubscriber => l.t("annex.bad_subscriber").into(),
            Wrong::Other(e) => e.clone(),
        }
    }
}

impl Warn {
    pub fn explain(&self, l: Lang) -> String {
        match self {
            Warn::CgnatNoPort => l.t("annex.cgnat_no_port").into(),
            Warn::NotOurAddress => l.t("annex.not_our_address").into(),
            Warn::ZoneSeason { given, usual } => l
                .t("annex.zone_season")
                .replace("{given}", given)
                .replace("{usual}", usual),
            Warn::Duplicate(n) => l.t("annex.duplicate").replace("{n}", &n.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: RequestType, text: &str) -> Vec<Line> {
        let ours = |ip: IpAddr| !ip.to_string().starts_with("8.");
        let cgnat = |ip: IpAddr| ip.to_string().starts_with("203.0.113.");
        read(
            Some(kind),
            text,
            &Plan {
                is_ours: &ours,
                is_cgnat: &cgnat,
            },
        )
    }

    fn one(kind: RequestType, text: &str) -> Result<ScopeItem, Wrong> {
        let mut v = check(kind, text);
        assert_eq!(v.len(), 1, "{text}");
        v.remove(0).item.map(|(i, _)| i)
    }

    fn item(addr: &str, port: Option<u16>, at: &str) -> ScopeItem {
        ScopeItem {
            addr: Some(addr.into()),
            port,
            at: Some(at.into()),
            ..ScopeItem::default()
        }
    }

    use RequestType::{Access, Ipred, LawEnforcement};

    #[test]
    fn every_accepted_form_reads_into_the_items_the_api_takes() {
        let at = "2026-11-20T10:15:00+01:00";
        for (text, want) in [
            (
                "203.0.113.7 2026-11-20T10:15:00+01:00",
                item("203.0.113.7", None, at),
            ),
            (
                "203.0.113.7:40000 2026-11-20 10:15 CET",
                item("203.0.113.7", Some(40000), at),
            ),
            (
                "1.\t203.0.113.7;40000;2026-11-20 10:15:00;+01:00",
                item("203.0.113.7", Some(40000), at),
            ),
            (
                "[2001:db8::1]:443, 2026-11-20 09:15:00 UTC",
                item("2001:db8::1", Some(443), "2026-11-20T09:15:00Z"),
            ),
            (
                "2001:db8::1 2026-07-01 10:15 CEST",
                item("2001:db8::1", None, "2026-07-01T10:15:00+02:00"),
            ),
            (
                "(3) 192.0.2.10 2026-11-20T09:15:00Z",
                item("192.0.2.10", None, "2026-11-20T09:15:00Z"),
            ),
        ] {
            let got = one(Ipred, text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(got, want, "{text}");
            assert!(got.parse().is_ok(), "{text}: the scope rules accept it too");
        }
        let w = one(
            LawEnforcement,
            "192.0.2.10 2026-11-20 10:00 CET 2026-11-20 11:00 CET",
        )
        .unwrap();
        assert_eq!(
            (w.from.as_deref(), w.to.as_deref()),
            (
                Some("2026-11-20T10:00:00+01:00"),
                Some("2026-11-20T11:00:00+01:00")
            )
        );
        let n = one(
            LawEnforcement,
            "070-123 45 67, 2026-11-20T10:00:00Z, 2026-11-20T11:00:00Z",
        )
        .unwrap();
        assert_eq!(n.number.as_deref(), Some("070-123 45 67"));
        assert!(matches!(n.parse(), Ok(Parsed::Calls { .. })));
        let s = one(Access, "subscriber alice@example.net").unwrap();
        assert_eq!(s.subscriber.as_deref(), Some("alice@example.net"));
    }

    #[test]
    fn each_refusal_says_why() {
        for (kind, text, want) in [
            (
                Ipred,
                "203.0.113.7 2026-11-20 10:15",
                Wrong::NoZone(
                    NaiveDate::from_ymd_opt(2026, 11, 20)
                        .unwrap()
                        .and_hms_opt(10, 15, 0)
                        .unwrap(),
                ),
            ),
            (
                Ipred,
                "203.0.113.7 yesterday",
                Wrong::NotATime("yesterday".into()),
            ),
            (Ipred, "203.0.113.7", Wrong::NoTime),
            (
                Ipred,
                "203.0.113.7:70000 2026-11-20T10:15:00Z",
                Wrong::BadPort("70000".into()),
            ),
            (
                Ipred,
                "203.0.113.7 2026-11-20",
                Wrong::DateWithoutClock("2026-11-20".into()),
            ),
            (
                Ipred,
                "example.org 2026-11-20T10:15:00Z",
                Wrong::NotATarget("example.org".into()),
            ),
            (
                Ipred,
                "192.0.2.1 2026-11-20T11:00:00Z 2026-11-20T10:00:00Z",
                Wrong::ToBeforeFrom,
            ),
            (
                LawEnforcement,
                "192.0.2.1 2026-10-01T00:00:00Z 2026-11-20T00:00:00Z",
                Wrong::WindowTooLong(50),
            ),
            (
                Ipred,
                "192.0.2.1 2026-11-20T10:00:00Z 2026-11-20T10:01:00Z 2026-11-20T10:02:00Z",
                Wrong::TooManyTimes,
            ),
            (
                Ipred,
                "+46701234567 2026-11-20T10:00:00Z 2026-11-20T11:00:00Z",
                Wrong::IpredNumber,
            ),
            (
                LawEnforcement,
                "+46701234567 2026-11-20T10:00:00Z",
                Wrong::NumberNeedsWindow,
            ),
            (
                Access,
                "192.0.2.1 2026-11-20T10:00:00Z",
                Wrong::AccessNeedsSubscriber,
            ),
            (
                LawEnforcement,
                "subscriber alice",
                Wrong::SubscriberOutsideAccess,
            ),
        ] {
            assert_eq!(one(kind, text), Err(want.clone()), "{text}");
            for l in [Lang::Sv, Lang::En] {
                let why = want.explain(l);
                assert!(!why.starts_with("annex."), "{why}: a catalogue text");
            }
        }
        // A time without a zone is refused: the reason says which hours it could be.
        let why = Wrong::NoZone(
            NaiveDate::from_ymd_opt(2026, 11, 20)
                .unwrap()
                .and_hms_opt(10, 15, 0)
                .unwrap(),
        )
        .explain(Lang::En);
        assert!(
            why.contains("10:15") && why.contains("09:15") && why.contains("08:15"),
            "{why}"
        );
    }

    #[test]
    fn a_shared_address_without_port_a_foreign_address_a_wrong_season_and_a_repeat_are_warned() {
        let v = check(
            Ipred,
            "203.0.113.7 2026-11-20T10:15:00Z\n\n# a comment\n8.8.8.8 2026-11-20T10:15:00Z\n\
             192.0.2.1 2026-07-01 10:15 CET\n203.0.113.7 2026-11-20 11:15 CET\n\
             203.0.113.7:4000 2026-11-20T10:15:00Z",
        );
        let warns: Vec<(usize, Vec<Warn>)> = v.iter().map(|l| (l.n, l.warnings.clone())).collect();
        assert_eq!(
            warns,
            vec![
                (1, vec![Warn::CgnatNoPort]),
                (4, vec![Warn::NotOurAddress]),
                (
                    5,
                    vec![Warn::ZoneSeason {
                        given: "CET",
                        usual: "CEST".into()
                    }]
                ),
                (6, vec![Warn::CgnatNoPort, Warn::Duplicate(1)]),
                (7, vec![]),
            ]
        );
        assert!(v.iter().all(|l| l.item.is_ok()), "warnings do not refuse");
        // The season's zone is taken as written (10:15 CET is 09:15 UTC even in July).
        assert_eq!(
            v[2].item.as_ref().unwrap().0.at.as_deref(),
            Some("2026-07-01T10:15:00+01:00")
        );
    }
}
