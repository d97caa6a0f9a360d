//! kea-legal: ISC Kea forensic ("legal") log files written by the `libdhcp_legal_log.so` hook
//! (`<path>/<base-name>.CCYYMMDD.txt` or `.T<epoch>.txt`; writer
//! `RotatingFile::writelnInternal`, bodies from `genLease4Entry` / `genLease6Entry`).
//!
//! Line grammar: `timestamp (" " | "-") text`. Kea ≥ 3.3.0 (`mark-continuation-lines`) writes
//! `-` after the timestamp on every physical line of a multi-line entry but the last; such
//! lines are held here (bounded, [`MAX_ENTRY`]) and joined to the entry's final line with a
//! single space (the default bodies are one line, so a joined entry is parsed like one; a
//! custom format that breaks a default-looking body across lines at a space parses as well).
//!
//! Time semantics: the timestamp is when the entry was written, in the server's local time
//! (`ctx.tz`), printed with the hook's `timestamp-format` (`ctx.timestamp_format`, strftime plus
//! Kea's `%Q`; default `%Y-%m-%d %H:%M:%S %Z`). A zone abbreviation (`%Z`, e.g. CET/CEST)
//! resolves a DST fold and must match `ctx.tz`; a numeric offset (`%z`) is used as is; `%s` is
//! the epoch. The event time is that timestamp; `expires` = time + the logged lifetime.
//!
//! Events: `Address: <ipv4> has been assigned|renewed for <dur> to a device with hardware
//! address: …` → lease assign|renew; `… released from …` (also written for a decline) →
//! release; `Address: <ipv6>` / `Prefix: <ipv6>/<len>` with `DUID:` likewise (prefix → a
//! prefix target). `expires` is absent for `infinite duration`; a custom format that logs no
//! lifetime gets `ctx.lease_time` if set, else no expiry. Subscriber: the MAC when `hwtype=1`
//! with 6 octets (not all zero), else `id:<client-id>` (v4); `duid:<duid>` (v6).
//!
//! Administrator lines (the `lease_cmds` hook's commands, written by the forensic log hook's
//! `command_processed` callout; grammar at `admin_body`): `Administrator added a lease of
//! address|prefix: …` → lease assign, `… updated information on the lease of …` → lease renew,
//! both with `admin` set (evidence that a person, not the client's DHCP exchange, made it),
//! target the address or prefix, subscriber normalised as above (v4: the hardware address when
//! it is a 6-octet MAC, else `id:<client-id>`; v6: `duid:<duid>`; the administrator's text of
//! an identifier, plain or colon hex, is decoded as Kea decodes it), `expires` = time + the
//! logged lifetime (Kea logs the `valid-lft` given, or the `expire` given as the time left);
//! when the line logs none (Kea applied the subnet's lifetime), `ctx.lease_time` if set, else
//! none, as for a custom format without lifetime. `Administrator deleted the lease for address: <ip>`
//! names no client: it is a `Release` with an empty subscriber (the store ends whichever lease
//! holds the address); `… deleted a lease for a device identified by: <type> of <id>` names no
//! address, so no lease can be ended from it alone: it is checked and yields a `Seen`.
//! A malformed administrator line is an error (`parse.kea_legal.bad_admin`, or the address
//! and identifier codes above).
//!
//! Coverage: an entry without a binding, i.e. an `HA partner …` line (the partner server's
//! synchronised updates; that server logs the client's own exchange) or an administrator's
//! delete, yields one `Seen` (domain address) at its timestamp. Its timestamp must resolve
//! like any other entry's (it always had to).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use chrono_tz::{OffsetName, Tz};
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1, take_while_m_n};
use nom::character::complete::digit1;
use nom::combinator::opt;
use nom::sequence::preceded;
use nom::IResult;

use crate::common::ident::{check_subscriber_len, device_mac, format_hex, prefixed_hex_id};
use crate::common::localtime;
use crate::model::{Domain, Event, LeaseOp, Origin, Target, UnixSecs};
use crate::{Context, ParseError, Parser, SetupError};

/// Longest entry (continuation lines joined) held, in bytes.
pub const MAX_ENTRY: usize = 64 * 1024;

/// Kea's default `timestamp-format`.
pub const DEFAULT_TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S %Z";

const C_TS: &str = "parse.kea_legal.bad_timestamp";
const C_ZONE: &str = "parse.kea_legal.zone_mismatch";
const C_UNKNOWN: &str = "parse.kea_legal.unknown_body";
const C_BODY: &str = "parse.kea_legal.bad_body";
const C_ADDR: &str = "parse.kea_legal.bad_address";
const C_NOID: &str = "parse.kea_legal.no_identifier";
const C_IDLEN: &str = "parse.kea_legal.id_too_long";
const C_LONG: &str = "parse.kea_legal.entry_too_long";
const C_BROKEN: &str = "parse.kea_legal.broken_continuation";
const C_ADMIN: &str = "parse.kea_legal.bad_admin";

type Res<'a, T> = IResult<&'a [u8], T>;

// ---------------------------------------------------------------------------------------------
// Timestamp format

/// One element of a compiled `timestamp-format`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(Vec<u8>),
    /// `%Y`
    Year,
    /// `%y`
    Year2,
    /// `%m`
    Month,
    /// `%b`, `%h`
    MonName,
    /// `%d`
    Day,
    /// `%e`
    DaySp,
    /// `%j`
    Yday,
    /// `%H`
    Hour,
    /// `%M`
    Minute,
    /// `%S`
    Second,
    /// `%Q` (Kea: microseconds, printed `mmm.uuu`)
    Micro,
    /// `%Z`
    ZoneName,
    /// `%z`
    ZoneNum,
    /// `%a`
    WdayName,
    /// `%w` (0 = Sunday)
    WdayNum,
    /// `%u` (7 = Sunday)
    WdayNum1,
    /// `%s`
    Epoch,
}

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
const WDAYS: [&[u8]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];

/// Compiles a strftime format (the directives Kea users use) into tokens.
fn compile(fmt: &str) -> Result<Vec<Tok>, SetupError> {
    let bad = |what: String| SetupError::Invalid(format!("kea-legal timestamp format: {what}"));
    let mut toks: Vec<Tok> = Vec::new();
    let push_lit = |toks: &mut Vec<Tok>, b: &[u8]| {
        if let Some(Tok::Lit(l)) = toks.last_mut() {
            l.extend_from_slice(b);
        } else {
            toks.push(Tok::Lit(b.to_vec()));
        }
    };
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            if c == '\n' || c == '\r' {
                return Err(bad(
                    "a line break cannot be part of a line's timestamp".into()
                ));
            }
            let mut buf = [0u8; 4];
            push_lit(&mut toks, c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some(d) = chars.next() else {
            return Err(bad("it ends with a lone '%'".into()));
        };
        match d {
            'Y' => toks.push(Tok::Year),
            'y' => toks.push(Tok::Year2),
            'm' => toks.push(Tok::Month),
            'b' | 'h' => toks.push(Tok::MonName),
            'd' => toks.push(Tok::Day),
            'e' => toks.push(Tok::DaySp),
            'j' => toks.push(Tok::Yday),
            'H' => toks.push(Tok::Hour),
            'M' => toks.push(Tok::Minute),
            'S' => toks.push(Tok::Second),
            'Q' => toks.push(Tok::Micro),
            'Z' => toks.push(Tok::ZoneName),
            'z' => toks.push(Tok::ZoneNum),
            'a' => toks.push(Tok::WdayName),
            'w' => toks.push(Tok::WdayNum),
            'u' => toks.push(Tok::WdayNum1),
            's' => toks.push(Tok::Epoch),
            'T' => {
                toks.push(Tok::Hour);
                push_lit(&mut toks, b":");
                toks.push(Tok::Minute);
                push_lit(&mut toks, b":");
                toks.push(Tok::Second);
            }
            'R' => {
                toks.push(Tok::Hour);
                push_lit(&mut toks, b":");
                toks.push(Tok::Minute);
            }
            'F' => {
                toks.push(Tok::Year);
                push_lit(&mut toks, b"-");
                toks.push(Tok::Month);
                push_lit(&mut toks, b"-");
                toks.push(Tok::Day);
            }
            'D' => {
                toks.push(Tok::Month);
                push_lit(&mut toks, b"/");
                toks.push(Tok::Day);
                push_lit(&mut toks, b"/");
                toks.push(Tok::Year2);
            }
            't' => push_lit(&mut toks, b"\t"),
            '%' => push_lit(&mut toks, b"%"),
            other => {
                return Err(bad(format!(
                    "unsupported strftime directive %{other} (supported: %Y %y %m %b %h %d %e %j \
                     %H %M %S %Q %Z %z %a %w %u %s %T %R %F %D %t %%)"
                )))
            }
        }
    }
    let has = |t: &Tok| toks.contains(t);
    if !has(&Tok::Epoch) {
        let date = ((has(&Tok::Month) || has(&Tok::MonName))
            && (has(&Tok::Day) || has(&Tok::DaySp)))
            || has(&Tok::Yday);
        if !date || !has(&Tok::Hour) || !has(&Tok::Minute) {
            return Err(bad(
                "it must give the date (%m/%b and %d/%e, or %j), the hour and the minute, or %s"
                    .into(),
            ));
        }
    }
    Ok(toks)
}

/// What a timestamp said.
#[derive(Debug, Default, Clone, Copy)]
struct Fields<'a> {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    yday: Option<u32>,
    hour: u32,
    minute: u32,
    second: u32,
    zone: Option<&'a [u8]>,
    offset: Option<i32>,
    /// 0 = Sunday.
    wday: Option<u32>,
    epoch: Option<i64>,
}

fn num(i: &[u8], n: usize) -> Res<'_, u32> {
    let (i, d) = take_while_m_n(n, n, |c: u8| c.is_ascii_digit())(i)?;
    Ok((i, d.iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0'))))
}

fn ts_err(what: &str) -> ParseError {
    ParseError::new(
        C_TS,
        format!("the timestamp does not match the timestamp format ({what})"),
    )
}

/// Matches `line` against the compiled format; returns the timestamp's length and fields.
fn match_ts<'a>(toks: &[Tok], line: &'a [u8]) -> Result<(usize, Fields<'a>), ParseError> {
    let mut f = Fields::default();
    let mut i = line;
    let fail = |what: &str| ts_err(what);
    for t in toks {
        let r: Res<'a, ()> = (|| -> Res<'a, ()> {
            match t {
                Tok::Lit(l) => {
                    let (r, _) = tag(l.as_slice())(i)?;
                    Ok((r, ()))
                }
                Tok::Year => {
                    let (r, v) = num(i, 4)?;
                    f.year = Some(v as i32);
                    Ok((r, ()))
                }
                Tok::Year2 => {
                    let (r, v) = num(i, 2)?;
                    f.year = Some(if v < 69 {
                        2000 + v as i32
                    } else {
                        1900 + v as i32
                    });
                    Ok((r, ()))
                }
                Tok::Month => {
                    let (r, v) = num(i, 2)?;
                    f.month = Some(v);
                    Ok((r, ()))
                }
                Tok::MonName => {
                    let (r, name) = take_while_m_n(3, 3, |c: u8| c.is_ascii_alphabetic())(i)?;
                    let m = MONTHS.iter().position(|m| *m == name).ok_or_else(|| {
                        nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Tag))
                    })?;
                    f.month = Some(m as u32 + 1);
                    Ok((r, ()))
                }
                Tok::Day => {
                    let (r, v) = num(i, 2)?;
                    f.day = Some(v);
                    Ok((r, ()))
                }
                Tok::DaySp => {
                    let (r, v) = alt((preceded(tag(" "), |x| num(x, 1)), |x| num(x, 2)))(i)?;
                    f.day = Some(v);
                    Ok((r, ()))
                }
                Tok::Yday => {
                    let (r, v) = num(i, 3)?;
                    f.yday = Some(v);
                    Ok((r, ()))
                }
                Tok::Hour => {
                    let (r, v) = num(i, 2)?;
                    f.hour = v;
                    Ok((r, ()))
                }
                Tok::Minute => {
                    let (r, v) = num(i, 2)?;
                    f.minute = v;
                    Ok((r, ()))
                }
                Tok::Second => {
                    let (r, v) = num(i, 2)?;
                    f.second = v;
                    Ok((r, ()))
                }
                Tok::Micro => {
                    // Kea renders six digits with a dot after the third (`123.456`).
                    let (r, _) = take_while_m_n(1, 6, |c: u8| c.is_ascii_digit())(i)?;
                    let (r, _) = opt(preceded(
                        tag("."),
                        take_while_m_n(1, 6, |c: u8| c.is_ascii_digit()),
                    ))(r)?;
                    Ok((r, ()))
                }
                Tok::ZoneName => {
                    let (r, z) = alt((
                        |x: &'a [u8]| -> Res<'a, &'a [u8]> {
                            let (r2, _) = alt((tag("+"), tag("-")))(x)?;
                            let (r2, _) = take_while_m_n(1, 4, |c: u8| c.is_ascii_digit())(r2)?;
                            let n = x.len() - r2.len();
                            Ok((r2, &x[..n]))
                        },
                        take_while_m_n(1, 16, |c: u8| c.is_ascii_alphabetic()),
                    ))(i)?;
                    f.zone = Some(z);
                    Ok((r, ()))
                }
                Tok::ZoneNum => {
                    let (r, sign) = alt((tag("+"), tag("-")))(i)?;
                    let (r, hh) = num(r, 2)?;
                    let (r, mm) = num(r, 2)?;
                    let secs = (hh * 3600 + mm * 60) as i32;
                    f.offset = Some(if sign == b"-" { -secs } else { secs });
                    Ok((r, ()))
                }
                Tok::WdayName => {
                    let (r, name) = take_while_m_n(3, 3, |c: u8| c.is_ascii_alphabetic())(i)?;
                    let w = WDAYS.iter().position(|w| *w == name).ok_or_else(|| {
                        nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Tag))
                    })?;
                    f.wday = Some(w as u32);
                    Ok((r, ()))
                }
                Tok::WdayNum => {
                    let (r, v) = num(i, 1)?;
                    f.wday = Some(v);
                    Ok((r, ()))
                }
                Tok::WdayNum1 => {
                    let (r, v) = num(i, 1)?;
                    f.wday = Some(v % 7);
                    Ok((r, ()))
                }
                Tok::Epoch => {
                    let (r, neg) = opt(tag("-"))(i)?;
                    let (r, d) = take_while_m_n(1, 18, |c: u8| c.is_ascii_digit())(r)?;
                    let v = d.iter().fold(0i64, |a, &c| a * 10 + i64::from(c - b'0'));
                    f.epoch = Some(if neg.is_some() { -v } else { v });
                    Ok((r, ()))
                }
            }
        })();
        match r {
            Ok((rest, ())) => i = rest,
            Err(_) => return Err(fail(tok_name(t))),
        }
    }
    Ok((line.len() - i.len(), f))
}

fn tok_name(t: &Tok) -> &'static str {
    match t {
        Tok::Lit(_) => "literal text",
        Tok::Year | Tok::Year2 => "year",
        Tok::Month | Tok::MonName => "month",
        Tok::Day | Tok::DaySp => "day",
        Tok::Yday => "day of year",
        Tok::Hour => "hour",
        Tok::Minute => "minute",
        Tok::Second => "second",
        Tok::Micro => "microseconds",
        Tok::ZoneName => "zone name",
        Tok::ZoneNum => "zone offset",
        Tok::WdayName | Tok::WdayNum | Tok::WdayNum1 => "weekday",
        Tok::Epoch => "epoch seconds",
    }
}

// ---------------------------------------------------------------------------------------------
// The parser

/// A multi-line entry being assembled.
struct Held {
    ts: Vec<u8>,
    text: Vec<u8>,
    /// Set when a piece of the entry was lost or it grew too long: the entry's final line
    /// reports this instead of parsing a partial entry.
    broken: Option<(&'static str, &'static str)>,
}

pub struct KeaLegal {
    origin: Origin,
    tz: Tz,
    reference: UnixSecs,
    lease_time: Option<u32>,
    toks: Vec<Tok>,
    held: Option<Held>,
    /// The last timestamp text resolved and its time (lines of one second share it).
    cache_ts: Vec<u8>,
    cache_time: Option<UnixSecs>,
}

impl KeaLegal {
    pub fn new(ctx: &Context) -> Result<Self, SetupError> {
        let tz = ctx.tz.ok_or(SetupError::NeedsTz("kea-legal"))?;
        let fmt = ctx
            .timestamp_format
            .as_deref()
            .filter(|f| !f.is_empty())
            .unwrap_or(DEFAULT_TIMESTAMP_FORMAT);
        Ok(KeaLegal {
            origin: ctx.origin(),
            tz,
            reference: ctx.reference,
            lease_time: ctx.lease_time,
            toks: compile(fmt)?,
            held: None,
            cache_ts: Vec::new(),
            cache_time: None,
        })
    }

    /// The UTC time of a matched timestamp.
    fn resolve(&mut self, ts: &[u8], f: &Fields<'_>) -> Result<UnixSecs, ParseError> {
        if let Some(t) = self.cache_time {
            if self.cache_ts == ts {
                return Ok(t);
            }
        }
        let t = self.resolve_uncached(f)?;
        self.cache_ts.clear();
        self.cache_ts.extend_from_slice(ts);
        self.cache_time = Some(t);
        Ok(t)
    }

    fn resolve_uncached(&self, f: &Fields<'_>) -> Result<UnixSecs, ParseError> {
        if let Some(e) = f.epoch {
            return Ok(e);
        }
        let time = NaiveTime::from_hms_opt(f.hour, f.minute, f.second)
            .ok_or_else(|| ParseError::new(C_TS, "the timestamp's time of day is out of range"))?;
        match f.year {
            Some(y) => {
                let date = date_of(y, f)?;
                self.local_to_utc(date.and_time(time), f)
            }
            None => {
                // No year in the format: the latest year that puts the time no more than a day
                // after the reference (as for syslog headers).
                let ref_year = chrono::DateTime::from_timestamp(self.reference, 0)
                    .map(|d| d.with_timezone(&self.tz).year())
                    .ok_or_else(|| ParseError::new(C_TS, "reference time out of range"))?;
                let mut last = ParseError::new(C_TS, "no year makes this date valid");
                for y in (ref_year - 8..=ref_year + 1).rev() {
                    let Ok(date) = date_of(y, f) else { continue };
                    match self.local_to_utc(date.and_time(time), f) {
                        Ok(t) if t <= self.reference.saturating_add(86_400) => return Ok(t),
                        Ok(_) => continue,
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
        }
    }

    fn local_to_utc(&self, naive: NaiveDateTime, f: &Fields<'_>) -> Result<UnixSecs, ParseError> {
        if let Some(off) = f.offset {
            return Ok(naive.and_utc().timestamp() - i64::from(off));
        }
        let Some(zone) = f.zone else {
            return localtime::to_utc(self.tz, naive);
        };
        let is = |t: &chrono::DateTime<Tz>| abbreviation_is(t, zone);
        let mismatch = || {
            ParseError::new(
                C_ZONE,
                format!(
                    "the timestamp's zone abbreviation is not one {} uses at that time",
                    self.tz
                ),
            )
        };
        match self.tz.from_local_datetime(&naive) {
            LocalResult::Single(t) if is(&t) => Ok(t.timestamp()),
            LocalResult::Single(_) => Err(mismatch()),
            LocalResult::Ambiguous(a, b) => match (is(&a), is(&b)) {
                (true, false) => Ok(a.timestamp()),
                (false, true) => Ok(b.timestamp()),
                (true, true) => localtime::to_utc(self.tz, naive),
                (false, false) => Err(mismatch()),
            },
            LocalResult::None => localtime::to_utc(self.tz, naive),
        }
    }

    /// Parses one complete entry's text.
    fn entry(&self, text: &[u8], time: UnixSecs, out: &mut Vec<Event>) -> Result<(), ParseError> {
        let l = match parse_body(text)? {
            Body::Lease(l) => l,
            Body::Coverage => {
                out.push(Event::seen(&self.origin, time, Domain::Address));
                return Ok(());
            }
        };
        let expires = match (l.op, l.dur) {
            (LeaseOp::Release, _) | (_, Dur::Infinite) => None,
            // A custom format that logged no lifetime, or an administrator's command that
            // gave none (Kea then applied the subnet's valid lifetime, which the line does
            // not say): the operator's `lease_time` if given, else open-ended (the next
            // holder's assignment ends it).
            (_, Dur::Unknown) => self.lease_time.map(|l| time.saturating_add(i64::from(l))),
            (_, Dur::Secs(s)) => Some(
                time.checked_add(s)
                    .ok_or_else(|| ParseError::new(C_BODY, "lease lifetime out of range"))?,
            ),
        };
        let lease = Event::lease(&self.origin, l.op, time, l.subscriber, l.target, expires);
        out.push(lease.by_admin(l.admin));
        Ok(())
    }
}

impl Parser for KeaLegal {
    fn set_reference(&mut self, reference: UnixSecs) {
        self.reference = reference;
    }

    fn parse(&mut self, frame: &[u8], out: &mut Vec<Event>) -> Result<(), ParseError> {
        if frame.is_empty() {
            return Ok(());
        }
        let (n, fields) = match match_ts(&self.toks, frame) {
            Ok(v) => v,
            Err(e) => {
                if let Some(h) = &mut self.held {
                    h.broken
                        .get_or_insert((C_BROKEN, "a line of this entry was unreadable"));
                }
                return Err(e);
            }
        };
        let (ts, marker, text) = match (frame.get(..n), frame.get(n), frame.get(n + 1..)) {
            (Some(ts), Some(&m @ (b' ' | b'-')), Some(text)) => (ts, m, text),
            _ => {
                if let Some(h) = &mut self.held {
                    h.broken
                        .get_or_insert((C_BROKEN, "a line of this entry was unreadable"));
                }
                return Err(ParseError::new(
                    C_TS,
                    "the timestamp is not followed by ' ' or the continuation marker '-'",
                ));
            }
        };
        let broken_ts = || {
            ParseError::new(
                C_BROKEN,
                "a continued entry was interrupted by a line with another timestamp",
            )
        };
        if marker == b'-' {
            match &mut self.held {
                Some(h) if h.ts != ts => {
                    self.held = None;
                    return Err(broken_ts());
                }
                Some(h) => {
                    if h.broken.is_none() {
                        if h.text.len() + 1 + text.len() > MAX_ENTRY {
                            h.broken = Some((C_LONG, "a continued entry exceeds 64 KiB"));
                            h.text = Vec::new();
                        } else {
                            h.text.push(b' ');
                            h.text.extend_from_slice(text);
                        }
                    }
                }
                None => {
                    self.held = Some(Held {
                        ts: ts.to_vec(),
                        text: text.to_vec(),
                        broken: None,
                    });
                }
            }
            return Ok(());
        }
        match self.held.take() {
            None => {
                let time = self.resolve(ts, &fields)?;
                self.entry(text, time, out)
            }
            Some(h) => {
                if h.ts != ts {
                    return Err(broken_ts());
                }
                if let Some((code, why)) = h.broken {
                    return Err(ParseError::new(code, why));
                }
                if h.text.len() + 1 + text.len() > MAX_ENTRY {
                    return Err(ParseError::new(C_LONG, "a continued entry exceeds 64 KiB"));
                }
                let mut joined = h.text;
                joined.push(b' ');
                joined.extend_from_slice(text);
                let time = self.resolve(ts, &fields)?;
                self.entry(&joined, time, out)
            }
        }
    }

    fn pending(&self) -> bool {
        self.held.is_some()
    }
}

/// Whether `zone` is how glibc's `%Z` names the offset in effect at `t`: the zone's
/// abbreviation (CET, CEST), or for zones without one the numeric form tzdata uses (`+04`,
/// `+0530`).
fn abbreviation_is(t: &chrono::DateTime<Tz>, zone: &[u8]) -> bool {
    if let Some(a) = t.offset().abbreviation() {
        if a.as_bytes() == zone {
            return true;
        }
        if !a.starts_with(['+', '-']) {
            return false;
        }
    }
    let off = t.offset().fix().local_minus_utc();
    let (sign, abs) = if off < 0 { ('-', -off) } else { ('+', off) };
    let (h, m) = (abs / 3600, abs / 60 % 60);
    let numeric = if m == 0 {
        format!("{sign}{h:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    };
    numeric.as_bytes() == zone
}

fn date_of(year: i32, f: &Fields<'_>) -> Result<NaiveDate, ParseError> {
    let date = match (f.month, f.day, f.yday) {
        (Some(m), Some(d), _) => NaiveDate::from_ymd_opt(year, m, d),
        (_, _, Some(j)) => NaiveDate::from_yo_opt(year, j),
        _ => None,
    }
    .ok_or_else(|| ParseError::new("time.bad_date", "no such date"))?;
    if let Some(j) = f.yday {
        if date.ordinal() != j {
            return Err(ParseError::new(
                C_TS,
                "the day of year does not match the date",
            ));
        }
    }
    if let Some(w) = f.wday {
        if date.weekday().num_days_from_sunday() != w {
            return Err(ParseError::new(C_TS, "the weekday does not match the date"));
        }
    }
    Ok(date)
}

// ---------------------------------------------------------------------------------------------
// Bodies

/// A lease lifetime as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dur {
    /// Not logged (releases; custom formats without option 51).
    Unknown,
    Infinite,
    Secs(i64),
}

#[derive(Debug)]
struct LeaseLine {
    op: LeaseOp,
    dur: Dur,
    target: Target,
    subscriber: String,
    /// An administrator's `lease_cmds` command, not the client's exchange.
    admin: bool,
}

/// What one entry says.
#[derive(Debug)]
enum Body {
    Lease(LeaseLine),
    /// A well-formed entry without a binding (an `HA partner` line, an administrator's
    /// delete): it only shows the server was logging.
    Coverage,
}

fn is_hexc(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':'
}

fn dec(d: &[u8]) -> Option<i64> {
    if d.is_empty() || d.len() > 12 {
        return None;
    }
    Some(d.iter().fold(0i64, |a, &c| a * 10 + i64::from(c - b'0')))
}

fn number(i: &[u8]) -> Res<'_, i64> {
    let (r, d) = digit1(i)?;
    match dec(d) {
        Some(v) => Ok((r, v)),
        None => Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Digit,
        ))),
    }
}

/// `infinite duration` | `<n> seconds` | `[<d> days ]<h> hrs <m> mins <s> secs`.
fn duration(i: &[u8]) -> Res<'_, Dur> {
    if let Some(r) = i.strip_prefix(b"infinite duration") {
        return Ok((r, Dur::Infinite));
    }
    let (r, n) = number(i)?;
    if let Some(r) = r.strip_prefix(b" seconds") {
        return Ok((r, Dur::Secs(n)));
    }
    let (i, days, h) = match alt((tag(" days "), tag(" day ")))(r) {
        Ok((r, _)) => {
            let (r, h) = number(r)?;
            (r, n, h)
        }
        Err(nom::Err::Error(_)) => (r, 0, n),
        Err(e) => return Err(e),
    };
    let (i, _) = tag(" hrs ")(i)?;
    let (i, m) = number(i)?;
    let (i, _) = alt((tag(" mins "), tag(" min ")))(i)?;
    let (i, s) = number(i)?;
    let (i, _) = tag(" secs")(i)?;
    Ok((i, Dur::Secs(days * 86_400 + h * 3600 + m * 60 + s)))
}

/// After an identifier's hex, Kea prints ` (<bytes>)` when every byte is printable ASCII:
/// consumes exactly that (the text in parentheses may contain anything printable, so it is
/// matched against the decoded hex, not searched for).
fn skip_printable<'a>(hex: &[u8], rest: &'a [u8]) -> &'a [u8] {
    let Some(after) = rest.strip_prefix(b" (") else {
        return rest;
    };
    let mut n = 0;
    for oct in hex.split(|&c| c == b':') {
        let v = match oct {
            [a] => hexval(*a),
            [a, b] => hexval(*a).zip(hexval(*b)).map(|(a, b)| a * 16 + b),
            _ => None,
        };
        match (v, after.get(n)) {
            (Some(v), Some(&c)) if v == c && (0x20..=0x7e).contains(&v) => n += 1,
            _ => return rest,
        }
    }
    match after.get(n) {
        Some(b')') => after.get(n + 1..).unwrap_or(rest),
        _ => rest,
    }
}

fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A hex id (`xx:xx:…`) and its optional printable rendering.
fn hex_id(i: &[u8]) -> Res<'_, &[u8]> {
    let (r, h) = take_while1(is_hexc)(i)?;
    Ok((skip_printable(h, r), h))
}

/// A dotted-quad IPv4 address exactly as `Ipv4Addr::from_str` accepts it (four decimal
/// octets, no leading zeros), without its generic parser's cost.
fn ipv4(s: &[u8]) -> Option<Ipv4Addr> {
    let mut o = [0u8; 4];
    let mut parts = s.split(|&c| c == b'.');
    for slot in o.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || (p.len() > 1 && p.first() == Some(&b'0')) {
            return None;
        }
        let mut v: u16 = 0;
        for &c in p {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u16::from(c - b'0');
        }
        *slot = u8::try_from(v).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(o))
}

fn ip_tok(i: &[u8]) -> Res<'_, IpAddr> {
    let (r, t) = take_while1(|c: u8| c.is_ascii_hexdigit() || c == b':' || c == b'.')(i)?;
    let ip = match ipv4(t) {
        Some(a) => Some(IpAddr::V4(a)),
        None => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse::<IpAddr>().ok()),
    };
    match ip {
        Some(a) => Ok((r, a)),
        None => Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        ))),
    }
}

/// `hwtype=<n> <hex>` as `HWAddr::toText` prints it (the hex may be empty).
fn hwaddr(i: &[u8]) -> Res<'_, (i64, &[u8])> {
    let (i, _) = tag("hwtype=")(i)?;
    let (i, t) = number(i)?;
    let (i, _) = tag(" ")(i)?;
    let (i, h) = take_while(is_hexc)(i)?;
    Ok((i, (t, h)))
}

/// The relay part: v4 ` connected via relay at address: <giaddr>[, identified by …]`, v6 adds
/// ` for client on link address: <ip>, hop count: <n>` and `, connected at location
/// interface-id: …`; the documented custom formats list items as `, circuit-id: …`.
fn relay(i: &[u8]) -> Res<'_, ()> {
    let (i, _) = tag(" connected via relay at address: ")(i)?;
    let (i, _) = ip_tok(i)?;
    let (i, _) = opt(preceded(tag(" for client on link address: "), ip_tok))(i)?;
    let (mut i, _) = opt(preceded(tag(", hop count: "), digit1))(i)?;
    loop {
        if i.starts_with(b", context: ") {
            break;
        }
        let sep: Res<'_, &[u8]> = alt((
            tag(", identified by "),
            tag(", connected at location "),
            tag(" and "),
            tag(", "),
        ))(i);
        let Ok((r, _)) = sep else { break };
        let (r, _) = alt((
            tag("circuit-id: "),
            tag("remote-id: "),
            tag("subscriber-id: "),
            tag("interface-id: "),
        ))(r)?;
        let (r, _) = hex_id(r)?;
        i = r;
    }
    Ok((i, ()))
}

fn body_err(what: &str) -> ParseError {
    ParseError::new(C_BODY, format!("malformed lease entry: {what}"))
}

fn check_len(s: String) -> Result<String, ParseError> {
    check_subscriber_len(s, C_IDLEN)
}

/// Parses one entry's text.
fn parse_body(text: &[u8]) -> Result<Body, ParseError> {
    if let Some(r) = text.strip_prefix(b"Administrator ") {
        return admin_body(r);
    }
    if text.starts_with(b"HA partner ") {
        // The partner server's lease updates, synchronised: that server logs the client's
        // own exchange. Coverage only, as before unchecked.
        return Ok(Body::Coverage);
    }
    let head: Res<'_, &[u8]> = alt((tag("Address:"), tag("Prefix:")))(text);
    let Ok((i, kind)) = head else {
        return Err(ParseError::new(
            C_UNKNOWN,
            "not a Kea forensic lease entry (expected Address:, Prefix:, Administrator or HA partner)",
        ));
    };
    let prefix = kind == b"Prefix:";
    // The documentation prints `Address:2001:db8:1::` without the space; the code with it.
    let i = i.strip_prefix(b" ").unwrap_or(i);
    let (i, addr) = take_while1::<_, _, nom::error::Error<&[u8]>>(|c| c != b' ')(i)
        .map_err(|_| body_err("address missing"))?;
    let (i, verb) = preceded(
        tag::<_, _, nom::error::Error<&[u8]>>(" has been "),
        alt((tag("assigned"), tag("renewed"), tag("released"))),
    )(i)
    .map_err(|_| body_err("expected 'has been assigned|renewed|released'"))?;
    let op = match verb {
        b"assigned" => LeaseOp::Assign,
        b"renewed" => LeaseOp::Renew,
        _ => LeaseOp::Release,
    };
    let (i, dur) = match i.strip_prefix(b" for ") {
        Some(r) => {
            let (r, d) = duration(r).map_err(|_| body_err("unreadable lease duration"))?;
            (r, d)
        }
        None => (i, Dur::Unknown),
    };
    let (i, _) = alt((
        tag::<_, _, nom::error::Error<&[u8]>>(" to a device with "),
        tag(" from a device with "),
    ))(i)
    .map_err(|_| body_err("expected 'to|from a device with'"))?;

    let (i, subscriber, v6) = if let Some(r) = i.strip_prefix(b"hardware address: ") {
        let (r, (htype, hw)) = hwaddr(r).map_err(|_| body_err("unreadable hardware address"))?;
        let (r, cid) = opt(preceded(tag(", client-id: "), hex_id))(r)
            .map_err(|_: nom::Err<nom::error::Error<&[u8]>>| body_err("unreadable client-id"))?;
        let mac = if htype == 1 { device_mac(hw) } else { None };
        let sub = match (mac, cid) {
            (Some(m), _) => m,
            (None, Some(c)) => {
                prefixed_hex_id("id:", c).ok_or_else(|| body_err("client-id is not hex octets"))?
            }
            (None, None) => {
                return Err(ParseError::new(
                    C_NOID,
                    "no Ethernet hardware address and no client-id to name the client",
                ))
            }
        };
        (r, sub, false)
    } else if let Some(r) = i.strip_prefix(b"DUID: ") {
        let (r, duid) = hex_id(r).map_err(|_| body_err("unreadable DUID"))?;
        let sub =
            prefixed_hex_id("duid:", duid).ok_or_else(|| body_err("DUID is not hex octets"))?;
        let (r, _) = opt(|x| {
            let (x, _) = tag(" and hardware address: ")(x)?;
            let (x, _) = hwaddr(x)?;
            let (x, _) = opt(|y| {
                let (y, _) = tag(" (from ")(y)?;
                let (y, _) = take_while(|c| c != b')')(y)?;
                tag(")")(y)
            })(x)?;
            Ok((x, ()))
        })(r)
        .map_err(|_: nom::Err<nom::error::Error<&[u8]>>| body_err("unreadable hardware address"))?;
        (r, sub, true)
    } else {
        return Err(body_err("expected 'hardware address:' or 'DUID:'"));
    };
    let (i, _) = opt(relay)(i).map_err(|_| body_err("unreadable relay information"))?;
    if !(i.is_empty() || i.starts_with(b", context: ")) {
        return Err(body_err(
            "unexpected text after the device and relay information",
        ));
    }
    let subscriber = check_len(subscriber)?;

    let addr =
        std::str::from_utf8(addr).map_err(|_| ParseError::new(C_ADDR, "address is not text"))?;
    let target = match (v6, prefix) {
        (false, false) => {
            let a = ipv4(addr.as_bytes()).ok_or_else(|| {
                ParseError::new(
                    C_ADDR,
                    "the address of a hardware-address entry is not IPv4",
                )
            })?;
            Target::host(IpAddr::V4(a))
        }
        (true, false) => {
            let a: Ipv6Addr = addr
                .parse()
                .map_err(|_| ParseError::new(C_ADDR, "the address of a DUID entry is not IPv6"))?;
            Target::host(IpAddr::V6(a))
        }
        (true, true) => {
            let n: ipnet::Ipv6Net = addr.parse().map_err(|_| {
                ParseError::new(C_ADDR, "the prefix is not IPv6 <address>/<length>")
            })?;
            Target::prefix(n)
        }
        (false, true) => {
            return Err(ParseError::new(
                C_ADDR,
                "a prefix entry must name the client by DUID",
            ))
        }
    };
    Ok(Body::Lease(LeaseLine {
        op,
        dur,
        target,
        subscriber,
        admin: false,
    }))
}

// ---------------------------------------------------------------------------------------------
// Administrator lines (lease_cmds)

fn admin_err(what: &str) -> ParseError {
    ParseError::new(C_ADMIN, format!("malformed administrator entry: {what}"))
}

/// The text up to the first of `delims` (or all of it), and the rest from that delimiter.
fn until_first<'a>(i: &'a [u8], delims: &[&[u8]]) -> (&'a [u8], &'a [u8]) {
    let end = delims
        .iter()
        .filter_map(|d| crate::common::bytes::find(i, d))
        .min()
        .unwrap_or(i.len());
    i.split_at(end)
}

/// An identifier as Kea's `IdentifierType::fromText` (`util::str::decodeFormattedHexString`)
/// reads what the administrator typed: octets of one or two hex digits separated by `:`, or
/// by spaces, or a plain hex string (optionally `0x`-prefixed; an odd length gets a leading
/// 0). `None` if it is not that, or empty.
fn formatted_hex(t: &[u8]) -> Option<Vec<u8>> {
    let sep = if t.contains(&b':') {
        Some(b':')
    } else if t.contains(&b' ') {
        Some(b' ')
    } else {
        None
    };
    let out = match sep {
        Some(sep) => {
            let mut out = Vec::new();
            for part in t.split(|&c| c == sep) {
                let v = match part {
                    [a] => hexval(*a)?,
                    [a, b] => hexval(*a)? * 16 + hexval(*b)?,
                    _ => return None,
                };
                out.push(v);
            }
            out
        }
        None => {
            let body = match t.strip_prefix(b"0x") {
                Some(b) if t.len() > 2 => b,
                _ => t,
            };
            let mut digits = Vec::with_capacity(body.len() + 1);
            if !t.len().is_multiple_of(2) {
                digits.push(0);
            }
            for &c in body {
                digits.push(hexval(c)?);
            }
            if !digits.len().is_multiple_of(2) {
                return None;
            }
            digits.chunks(2).map(|d| d[0] * 16 + d[1]).collect()
        }
    };
    (!out.is_empty()).then_some(out)
}

/// ` for <duration>` and `, context: <json>`, both optional, and nothing else.
fn admin_tail(i: &[u8]) -> Result<Dur, ParseError> {
    let (i, dur) = match i.strip_prefix(b" for ") {
        Some(r) => duration(r).map_err(|_| admin_err("unreadable lease duration"))?,
        None => (i, Dur::Unknown),
    };
    if !(i.is_empty() || i.starts_with(b", context: ")) {
        return Err(admin_err("unexpected text after the device"));
    }
    Ok(dur)
}

/// An administrator's (or, with `origin: ha-partner`, the HA partner's) lease command as the
/// forensic log hook writes it (isc-projects/kea
/// `src/hooks/dhcp/forensic_log/command_callouts.cc`, `handleLease4Cmds` /
/// `handleLease6Cmds`), after `Administrator `. Every value is the command's argument text as
/// given (Kea refused the command, and logged nothing, unless it parsed):
///
/// ```text
/// (added a lease of | updated information on the lease of) address: <ip> to a device with hardware address: <hw>[, client-id: <id>[ (<printable>)]][ for <dur>][, context: <json>]
/// (added a lease of | updated information on the lease of) (address: <ip6> | prefix: <ip6>/<len>) to a device with DUID: <duid>[, hardware address: <hw>][ for <dur>][, context: <json>]
/// deleted the lease for address: <ip>
/// deleted a lease for a device identified by: (hw-address | client-id | duid) of <id>
/// ```
///
/// `<dur>` (`genDurationString`) is the `valid-lft` given, else the `expire` given minus the
/// time of the command, and is omitted when neither was given (or it is not positive).
fn admin_body(i: &[u8]) -> Result<Body, ParseError> {
    if let Some(a) = i.strip_prefix(b"deleted the lease for address: ") {
        // Names no client: a release of whatever lease holds the address (an empty
        // subscriber; the store ends the holder's lease, and creates nothing if none).
        let Some(ip) = std::str::from_utf8(a)
            .ok()
            .and_then(|a| a.parse::<IpAddr>().ok())
        else {
            return Err(ParseError::new(
                C_ADDR,
                "the deleted lease's address is not an IP address",
            ));
        };
        return Ok(Body::Lease(LeaseLine {
            op: LeaseOp::Release,
            subscriber: String::new(),
            target: Target::host(ip),
            dur: Dur::Unknown,
            admin: true,
        }));
    }
    if let Some(r) = i.strip_prefix(b"deleted a lease for a device identified by: ") {
        // Names no address: which binding it ended is not known from the line (coverage).
        let ok = if let Some(id) = r.strip_prefix(b"hw-address of ") {
            !id.is_empty() && id.iter().all(|&c| is_hexc(c)) && formatted_hex(id).is_some()
        } else if let Some(id) = r
            .strip_prefix(b"client-id of ")
            .or_else(|| r.strip_prefix(b"duid of "))
        {
            formatted_hex(id).is_some()
        } else {
            false
        };
        if !ok {
            return Err(admin_err(
                "expected '<hw-address|client-id|duid> of <hex identifier>'",
            ));
        }
        return Ok(Body::Coverage);
    }
    let (r, op) = if let Some(r) = i.strip_prefix(b"added a lease of ") {
        (r, LeaseOp::Assign)
    } else if let Some(r) = i.strip_prefix(b"updated information on the lease of ") {
        (r, LeaseOp::Renew)
    } else {
        return Err(admin_err(
            "expected 'added a lease of', 'updated information on the lease of' or 'deleted'",
        ));
    };
    let (r, prefix) = if let Some(r) = r.strip_prefix(b"address: ") {
        (r, false)
    } else if let Some(r) = r.strip_prefix(b"prefix: ") {
        (r, true)
    } else {
        return Err(admin_err("expected 'address:' or 'prefix:'"));
    };
    let sp = r.iter().position(|&c| c == b' ').unwrap_or(r.len());
    let (addr, r) = r.split_at(sp);
    let r = r
        .strip_prefix(b" to a device with ")
        .ok_or_else(|| admin_err("expected 'to a device with'"))?;
    let addr = std::str::from_utf8(addr).unwrap_or("");

    if let Some(r) = r.strip_prefix(b"hardware address: ") {
        // DHCPv4: `hw-address` (colon hex, Ethernet) and the optional `client-id`.
        let n = r.iter().take_while(|&&c| is_hexc(c)).count();
        let (hw, mut r) = r.split_at(n);
        let mut cid = None;
        if let Some(c) = r.strip_prefix(b", client-id: ") {
            let (text, rest) = until_first(c, &[b" (", b" for ", b", context: "]);
            let bytes = formatted_hex(text).ok_or_else(|| admin_err("client-id is not hex"))?;
            r = rest;
            // Its rendering when every byte is printable (`LegalLogMgr::vectorDump`).
            if let Some(after) = r.strip_prefix(b" (") {
                if bytes.iter().all(|b| (0x20..=0x7e).contains(b))
                    && after.starts_with(&bytes)
                    && after.get(bytes.len()) == Some(&b')')
                {
                    r = &after[bytes.len() + 1..];
                }
            }
            cid = Some(bytes);
        }
        let dur = admin_tail(r)?;
        if prefix {
            return Err(ParseError::new(
                C_ADDR,
                "a prefix entry must name the client by DUID",
            ));
        }
        let a = ipv4(addr.as_bytes()).ok_or_else(|| {
            ParseError::new(
                C_ADDR,
                "the address of a hardware-address entry is not IPv4",
            )
        })?;
        if !hw.is_empty() && formatted_hex(hw).is_none() {
            return Err(admin_err("hardware address is not hex octets"));
        }
        let subscriber = match (device_mac(hw), cid) {
            (Some(m), _) => m,
            (None, Some(c)) => format!("id:{}", format_hex(&c, ':')),
            (None, None) => {
                return Err(ParseError::new(
                    C_NOID,
                    "no Ethernet hardware address and no client-id to name the client",
                ))
            }
        };
        return Ok(Body::Lease(LeaseLine {
            op,
            dur,
            target: Target::host(IpAddr::V4(a)),
            subscriber: check_len(subscriber)?,
            admin: true,
        }));
    }
    let Some(r) = r.strip_prefix(b"DUID: ") else {
        return Err(admin_err("expected 'hardware address:' or 'DUID:'"));
    };
    // DHCPv6: `duid` and the optional `hw-address`.
    let (text, mut r) = until_first(r, &[b", hardware address: ", b" for ", b", context: "]);
    let duid = formatted_hex(text).ok_or_else(|| admin_err("DUID is not hex"))?;
    if let Some(h) = r.strip_prefix(b", hardware address: ") {
        let n = h.iter().take_while(|&&c| is_hexc(c)).count();
        r = &h[n..];
    }
    let dur = admin_tail(r)?;
    let target = if prefix {
        let n: ipnet::Ipv6Net = addr
            .parse()
            .map_err(|_| ParseError::new(C_ADDR, "the prefix is not IPv6 <address>/<length>"))?;
        Target::prefix(n)
    } else {
        let a: Ipv6Addr = addr
            .parse()
            .map_err(|_| ParseError::new(C_ADDR, "the address of a DUID entry is not IPv6"))?;
        Target::host(IpAddr::V6(a))
    };
    Ok(Body::Lease(LeaseLine {
        op,
        dur,
        target,
        subscriber: check_len(format!("duid:{}", format_hex(&duid, ':')))?,
        admin: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STHLM: &str = "Europe/Stockholm";

    fn ctx_with(tz: &str, fmt: Option<&str>) -> Context {
        let mut c = Context::new("test", 1_900_000_000);
        c.tz = Some(tz.parse().unwrap());
        c.timestamp_format = fmt.map(str::to_string);
        c
    }

    fn run(ctx: &Context, lines: &[&str]) -> (Vec<Event>, Vec<Result<(), ParseError>>) {
        crate::testing::run_lines(&mut KeaLegal::new(ctx).unwrap(), lines)
    }

    fn one(ctx: &Context, line: &str) -> Result<Vec<Event>, ParseError> {
        let (ev, mut res) = run(ctx, &[line]);
        res.pop().unwrap().map(|_| ev)
    }

    fn code(ctx: &Context, line: &str) -> &'static str {
        one(ctx, line).unwrap_err().code
    }

    fn lease(ev: &Event) -> (LeaseOp, i64, &str, String, Option<i64>) {
        match ev {
            Event::Lease {
                op,
                time,
                subscriber,
                target,
                expires,
                ..
            } => (
                *op,
                *time,
                subscriber.as_str(),
                target.to_string(),
                *expires,
            ),
            other => panic!("not a lease: {other:?}"),
        }
    }

    // 2018-01-06 01:02:03 CET = 2018-01-06T00:02:03Z
    const T0: i64 = 1_515_196_923;

    #[test]
    fn v4_assign_with_everything() {
        let c = ctx_with(STHLM, None);
        let ev = one(&c, "2018-01-06 01:02:03 CET Address: 192.2.1.100 has been assigned for 1 hrs 52 mins 15 secs to a device with hardware address: hwtype=1 08:00:2B:02:3f:4e, client-id: 17:34:e2:ff:09:92:54 connected via relay at address: 192.2.16.33, identified by circuit-id: 68:6f:77:64:79 (howdy) and remote-id: 87:f6:79:77:ef and subscriber-id: 1a:2b:3c:4d:5e:6f, context: { \"foo\": true }").unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(
            lease(&ev[0]),
            (
                LeaseOp::Assign,
                T0,
                "08:00:2b:02:3f:4e",
                "192.2.1.100".to_string(),
                Some(T0 + 6735)
            )
        );
    }

    #[test]
    fn v4_variants() {
        let c = ctx_with(STHLM, None);
        let base = "2018-01-06 01:02:03 CET Address: 192.2.1.100 has been";
        // renewed, doc's `min`, days
        let ev = one(&c, &format!("{base} renewed for 2 days 1 hrs 52 min 15 secs to a device with hardware address: hwtype=1 08:00:2b:02:3f:4e")).unwrap();
        assert_eq!(lease(&ev[0]).0, LeaseOp::Renew);
        assert_eq!(lease(&ev[0]).4, Some(T0 + 2 * 86_400 + 6735));
        // infinite
        let ev = one(&c, &format!("{base} assigned for infinite duration to a device with hardware address: hwtype=1 08:00:2b:02:3f:4e")).unwrap();
        assert_eq!(lease(&ev[0]).4, None);
        // custom `<n> seconds` with custom relay items
        let ev = one(&c, &format!("{base} assigned for 6735 seconds to a device with hardware address: hwtype=1 08:00:2b:02:3f:4e, client-id: 17:34:e2:ff:09:92:54 connected via relay at address: 192.2.16.33, circuit-id: 68:6f:77:64:79, remote-id: 87:f6:79:77:ef, subscriber-id: 1a:2b:3c:4d:5e:6f")).unwrap();
        assert_eq!(lease(&ev[0]).4, Some(T0 + 6735));
        // custom format without a lifetime: open-ended, or the configured lease time
        let line = format!(
            "{base} assigned to a device with hardware address: hwtype=1 08:00:2b:02:3f:4e"
        );
        let ev = one(&c, &line).unwrap();
        assert_eq!(lease(&ev[0]).4, None);
        let mut c2 = c.clone();
        c2.lease_time = Some(600);
        let ev = one(&c2, &line).unwrap();
        assert_eq!(lease(&ev[0]).4, Some(T0 + 600));
        // release
        let ev = one(&c, &format!("{base} released from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e, client-id: 66:6f:6f (foo)")).unwrap();
        assert_eq!(
            lease(&ev[0]),
            (
                LeaseOp::Release,
                T0,
                "08:00:2b:02:3f:4e",
                "192.2.1.100".to_string(),
                None
            )
        );
        // Not Ethernet: the client-id names the client.
        let ev = one(&c, &format!("{base} assigned for 0 hrs 1 mins 0 secs to a device with hardware address: hwtype=32 01:02:03:04:05:06:07:08, client-id: FF:0:1")).unwrap();
        assert_eq!(lease(&ev[0]).2, "id:ff:00:01");
        // An all-zero hardware address names no device: the client-id does.
        let ev = one(&c, &format!("{base} released from a device with hardware address: hwtype=1 00:00:00:00:00:00, client-id: 01:02")).unwrap();
        assert_eq!(lease(&ev[0]).2, "id:01:02");
        assert_eq!(
            code(&c, &format!("{base} released from a device with hardware address: hwtype=1 00:00:00:00:00:00")),
            C_NOID
        );
        // Empty hardware address with a client-id.
        let ev = one(
            &c,
            &format!(
                "{base} released from a device with hardware address: hwtype=1 , client-id: 01:02"
            ),
        )
        .unwrap();
        assert_eq!(lease(&ev[0]).2, "id:01:02");
    }

    #[test]
    fn printable_text_may_contain_anything() {
        let c = ctx_with(STHLM, None);
        // client-id "a) connected via relay at address: 1.2.3.4"
        let text = "a) connected via relay at address: 1.2.3.4";
        let hex: Vec<String> = text.bytes().map(|b| format!("{b:02x}")).collect();
        let line = format!("2018-01-06 01:02:03 CET Address: 10.0.0.1 has been assigned for 0 hrs 0 mins 5 secs to a device with hardware address: hwtype=6 , client-id: {} ({text}), context: {{ \"x\": \"), whatever\" }}", hex.join(":"));
        let ev = one(&c, &line).unwrap();
        assert_eq!(lease(&ev[0]).2, format!("id:{}", hex.join(":")));
        // A parenthesised text that is not the id's rendering is not skipped: malformed.
        let bad = "2018-01-06 01:02:03 CET Address: 10.0.0.1 has been assigned for 0 hrs 0 mins 5 secs to a device with hardware address: hwtype=6 , client-id: 61:62 (ax)";
        assert_eq!(code(&c, bad), C_BODY);
    }

    #[test]
    fn v6_address_and_prefix() {
        let c = ctx_with("America/Los_Angeles", None);
        // 2018-01-06 01:02:03 PST = 09:02:03Z
        let t = 1_515_229_323;
        let ev = one(&c, "2018-01-06 01:02:03 PST Address:2001:db8:1:: has been assigned for 0 hrs 11 mins 53 secs to a device with DUID: 17:34:e2:ff:09:92:54 and hardware address: hwtype=1 08:00:2b:02:3f:4e (from Raw Socket) connected via relay at address: fe80::abcd for client on link address: 3001::1, hop count: 1, identified by remote-id: 01:02:03:04:0a:0b:0c:0d:0e:0f and subscriber-id: 1a:2b:3c:4d:5e:6f, connected at location interface-id: 65:74:68:30 (eth0)").unwrap();
        assert_eq!(
            lease(&ev[0]),
            (
                LeaseOp::Assign,
                t,
                "duid:17:34:e2:ff:09:92:54",
                "2001:db8:1::".to_string(),
                Some(t + 713)
            )
        );
        let ev = one(&c, "2018-01-06 01:02:03 PST Prefix: 2001:db8:1::/64 has been released from a device with DUID: 17:34:e2:ff:09:92:54 connected via relay at address: fe80::abcd for client on link address: 3001::1, remote-id: 01:02, subscriber-id: 1a:2b, connected at location interface-id: 72:65").unwrap();
        assert_eq!(
            lease(&ev[0]),
            (
                LeaseOp::Release,
                t,
                "duid:17:34:e2:ff:09:92:54",
                "2001:db8:1::/64".to_string(),
                None
            )
        );
    }

    /// An administrator's lease: (op, time, subscriber, target, expires, admin).
    fn admin_lease(ev: &Event) -> (LeaseOp, i64, &str, String, Option<i64>, bool) {
        match ev {
            Event::Lease {
                op,
                time,
                subscriber,
                target,
                expires,
                admin,
                ..
            } => (
                *op,
                *time,
                subscriber.as_str(),
                target.to_string(),
                *expires,
                *admin,
            ),
            other => panic!("not a lease: {other:?}"),
        }
    }

    fn seen_at(t: i64) -> Vec<Event> {
        vec![Event::Seen {
            time: t,
            domain: Domain::Address,
            source: "test".into(),
        }]
    }

    /// The Kea ARM's example (doc/sphinx/arm/hooks-legal-log.rst, isc-projects/kea
    /// d179a1e3), also in command_log_unittests.cc.
    #[test]
    fn kea_admin_added_lease_is_an_assignment_with_admin_origin() {
        let c = ctx_with(STHLM, None);
        let ev = one(&c, "2018-01-06 01:02:03 CET Administrator added a lease of address: 192.0.2.202 to a device with hardware address: 1a:1b:1c:1d:1e:1f for 1 days 0 hrs 0 mins 0 secs").unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(
            admin_lease(&ev[0]),
            (
                LeaseOp::Assign,
                T0,
                "1a:1b:1c:1d:1e:1f",
                "192.0.2.202".to_string(),
                Some(T0 + 86_400),
                true
            )
        );
        // v6, address and delegated prefix (the ARM's and the unit tests' lines).
        let c6 = ctx_with("America/Los_Angeles", None);
        let t = 1_515_229_323; // 2018-01-06 01:02:03 PST
        let ev = one(&c6, "2018-01-06 01:02:03 PST Administrator added a lease of address: 2001:db8::3 to a device with DUID: 1a:1b:1c:1d:1e:1f:20:21:22:23:24 for 1 days 0 hrs 0 mins 0 secs").unwrap();
        assert_eq!(
            admin_lease(&ev[0]),
            (
                LeaseOp::Assign,
                t,
                "duid:1a:1b:1c:1d:1e:1f:20:21:22:23:24",
                "2001:db8::3".to_string(),
                Some(t + 86_400),
                true
            )
        );
        let ev = one(&c6, "2018-01-06 01:02:03 PST Administrator added a lease of prefix: 2001:db8:abcd::/48 to a device with DUID: 1a:1b:1c:1d:1e:1f:20:21:22:23:24").unwrap();
        assert_eq!(
            admin_lease(&ev[0]),
            (
                LeaseOp::Assign,
                t,
                "duid:1a:1b:1c:1d:1e:1f:20:21:22:23:24",
                "2001:db8:abcd::/48".to_string(),
                None,
                true
            )
        );
    }

    /// The ARM's update example: the client-id as the administrator typed it (plain hex),
    /// no lifetime logged.
    #[test]
    fn kea_admin_updated_lease_is_a_renewal_with_admin_origin() {
        let c = ctx_with(STHLM, None);
        let line = "2018-01-06 01:02:03 CET Administrator updated information on the lease of address: 192.0.2.202 to a device with hardware address: 1a:1b:1c:1d:1e:1f, client-id: 1234567890";
        let ev = one(&c, line).unwrap();
        assert_eq!(
            admin_lease(&ev[0]),
            (
                LeaseOp::Renew,
                T0,
                "1a:1b:1c:1d:1e:1f",
                "192.0.2.202".to_string(),
                None,
                true
            )
        );
        // With the operator's lease time, as for custom formats without a lifetime.
        let mut c2 = c.clone();
        c2.lease_time = Some(600);
        assert_eq!(admin_lease(&one(&c2, line).unwrap()[0]).4, Some(T0 + 600));
        // v6 with the optional hardware address (unit test line).
        let ev = one(&c, "2018-01-06 01:02:03 CET Administrator updated information on the lease of address: 2001:db8::3 to a device with DUID: 68:6f:77:64:79 for 1 days 0 hrs 0 mins 0 secs").unwrap();
        assert_eq!(
            admin_lease(&ev[0]),
            (
                LeaseOp::Renew,
                T0,
                "duid:68:6f:77:64:79",
                "2001:db8::3".to_string(),
                Some(T0 + 86_400),
                true
            )
        );
        let ev = one(&c, "2018-01-06 01:02:03 CET Administrator updated information on the lease of address: 2001:db8::3 to a device with DUID: 1a:1b:1c:1d:1e:1f:20:21:22:23:24, hardware address: 1a:1b:1c:1d:1e:1f, context: { \"comment\": \"Fred's box\" }").unwrap();
        assert_eq!(
            admin_lease(&ev[0]).2,
            "duid:1a:1b:1c:1d:1e:1f:20:21:22:23:24"
        );
    }

    #[test]
    fn kea_admin_client_ids_are_normalised_like_the_clients_own() {
        let c = ctx_with(STHLM, None);
        let head = "2018-01-06 01:02:03 CET Administrator added a lease of address: 192.0.2.202 to a device with hardware address:";
        // Not a 6-octet MAC: the client-id names the client, in whatever form it was typed,
        // with its printable rendering skipped (unit test: `686f776479 (howdy)`).
        for (hw_cid, want) in [
            (
                " 01:02:03:04:05:06:07:08, client-id: 686f776479 (howdy)",
                "id:68:6f:77:64:79",
            ),
            (
                " 00:00:00:00:00:00, client-id: 68:6F:77:64:79 (howdy) for 0 hrs 1 mins 0 secs",
                "id:68:6f:77:64:79",
            ),
            (" , client-id: 0x123", "id:01:23"),
            (" , client-id: 1 2 a", "id:01:02:0a"),
        ] {
            let ev =
                one(&c, &format!("{head}{hw_cid}")).unwrap_or_else(|e| panic!("{hw_cid}: {e}"));
            assert_eq!(admin_lease(&ev[0]).2, want, "{hw_cid}");
        }
        // A MAC in any case or padding is the MAC.
        let ev = one(&c, &format!("{head} 1A:B:1c:1d:1e:1f")).unwrap();
        assert_eq!(admin_lease(&ev[0]).2, "1a:0b:1c:1d:1e:1f");
        // The same client through its own DHCP exchange gets the same subscriber.
        let own = one(&c, "2018-01-06 01:02:03 CET Address: 192.0.2.202 has been assigned for 0 hrs 1 mins 0 secs to a device with hardware address: hwtype=1 01:02:03:04:05:06:07:08, client-id: 68:6f:77:64:79 (howdy)").unwrap();
        assert_eq!(lease(&own[0]).2, "id:68:6f:77:64:79");
    }

    /// The ARM's delete examples. The delete by address names no client: it releases whatever
    /// lease holds the address (an empty subscriber). The delete by device names no address:
    /// it only shows the server was logging.
    #[test]
    fn kea_admin_deleted_lease_is_a_release_of_the_address() {
        let c = ctx_with(STHLM, None);
        let ev = one(
            &c,
            "2018-01-06 01:02:03 CET Administrator deleted the lease for address: 192.0.2.202",
        )
        .unwrap();
        assert!(
            matches!(&ev[..], [Event::Lease { op: LeaseOp::Release, subscriber, admin: true, target, time, .. }
                ] if subscriber.is_empty() && *time == T0 && target.to_string() == "192.0.2.202"),
            "{ev:?}"
        );
        assert_eq!(
            one(&c, "2018-01-06 01:02:12 CET Administrator deleted a lease for a device identified by: hw-address of 1a:1b:1c:1d:1e:1f").unwrap(),
            seen_at(T0 + 9)
        );
        assert_eq!(
            one(&c, "2018-01-06 01:02:12 CET Administrator deleted a lease for a device identified by: duid of 1a:1b:1c:1d:1e:1f:20:21:22:23:24").unwrap(),
            seen_at(T0 + 9)
        );
        let v6 = one(
            &c,
            "2018-01-06 01:02:03 CET Administrator deleted the lease for address: 2001:db8:1::3",
        )
        .unwrap();
        assert!(
            matches!(
                &v6[..],
                [Event::Lease {
                    op: LeaseOp::Release,
                    admin: true,
                    ..
                }]
            ),
            "{v6:?}"
        );
    }

    #[test]
    fn ha_partner_lines_mark_coverage() {
        let c = ctx_with(STHLM, None);
        for l in [
            "2018-01-06 01:02:03 CET HA partner updated information on the lease of address: 192.0.2.202 to a device with hardware address: 1a:1b:1c:1d:1e:1f",
            "2018-01-06 01:02:03 CET HA partner added a lease of prefix: 2001:db8:abcd::/48 to a device with DUID: 1a:1b:1c:1d:1e:1f:20:21:22:23:24",
            "2018-01-06 01:02:03 CET HA partner deleted the lease for address: 192.0.2.202",
        ] {
            assert_eq!(one(&c, l).unwrap(), seen_at(T0), "{l}");
        }
        // Their timestamp must resolve like any entry's (it always had to).
        assert_eq!(
            code(
                &c,
                "2026-03-29 02:30:00 CET HA partner deleted the lease for address: 192.0.2.202"
            ),
            "time.nonexistent_local"
        );
    }

    #[test]
    fn malformed_admin_lines_are_errors() {
        let c = ctx_with(STHLM, None);
        let ts = "2018-01-06 01:02:03 CET Administrator";
        for (body, want) in [
            ("renamed a lease", C_ADMIN),
            ("added a lease of subnet: 192.0.2.0/24 to a device with hardware address: 1a:1b:1c:1d:1e:1f", C_ADMIN),
            ("added a lease of address: 192.0.2.202 for a device with hardware address: 1a:1b:1c:1d:1e:1f", C_ADMIN),
            ("added a lease of address: 192.0.2.202 to a device with flex-id: 01", C_ADMIN),
            ("added a lease of address: 192.0.2.202 to a device with hardware address: 1a:1b:1c:1d:1e:1f for ever", C_ADMIN),
            ("added a lease of address: 192.0.2.202 to a device with hardware address: 1a:1b:1c:1d:1e:1f trailing", C_ADMIN),
            ("added a lease of address: 192.0.2.202 to a device with hardware address: 1a:1b:1c:1d:1e:1f, client-id: xyz", C_ADMIN),
            ("added a lease of address: 192.0.2.202 to a device with hardware address: 1a:1b:1c, client-id: 01:0203", C_ADMIN),
            ("added a lease of address: 192.0.2.202 to a device with DUID: 1a:1b:1c:1d:1e:1f:20:21:22:23:2", C_ADDR),
            ("added a lease of address: 192.0.2.202 to a device with DUID: zz", C_ADMIN),
            ("added a lease of address: 192.0.2.2020 to a device with hardware address: 1a:1b:1c:1d:1e:1f", C_ADDR),
            ("added a lease of prefix: 2001:db8::/48 to a device with hardware address: 1a:1b:1c:1d:1e:1f", C_ADDR),
            ("added a lease of prefix: 2001:db8::/129 to a device with DUID: 01:02:03", C_ADDR),
            ("added a lease of address: 192.0.2.202 to a device with hardware address: 1a:1b:1c", C_NOID),
            ("deleted the lease for address: 192.0.2", C_ADDR),
            ("deleted a lease for a device identified by: flex-id of 01:02", C_ADMIN),
            ("deleted a lease for a device identified by: hw-address of 1a-1b-1c", C_ADMIN),
            ("deleted a lease for a device identified by: duid of ", C_ADMIN),
        ] {
            assert_eq!(code(&c, &format!("{ts} {body}")), want, "{body}");
        }
        // Reasons carry no personal data.
        let e = one(&c, &format!("{ts} added a lease of address: 10.9.8.7 to a device with hardware address: 0a:0b:0c:0d:0e:0f, client-id: xyz")).unwrap_err();
        assert!(
            !e.reason.contains("10.9.8.7") && !e.reason.contains("0a:0b"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn formatted_hex_reads_ids_as_kea_does() {
        assert_eq!(
            formatted_hex(b"1234567890"),
            Some(vec![0x12, 0x34, 0x56, 0x78, 0x90])
        );
        assert_eq!(formatted_hex(b"1:a:FF"), Some(vec![1, 10, 255]));
        assert_eq!(formatted_hex(b"1 a FF"), Some(vec![1, 10, 255]));
        assert_eq!(formatted_hex(b"0x0102"), Some(vec![1, 2]));
        assert_eq!(formatted_hex(b"123"), Some(vec![1, 0x23]));
        for bad in [&b""[..], b"1::2", b"123:4", b"zz", b"0x", b"1  2"] {
            assert_eq!(
                formatted_hex(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn error_codes() {
        let c = ctx_with(STHLM, None);
        let ts = "2018-01-06 01:02:03 CET";
        assert_eq!(code(&c, &format!("{ts} hello")), C_UNKNOWN);
        assert_eq!(code(&c, "2018-01-06 01:02 CET Address: x"), C_TS);
        assert_eq!(code(&c, "2018-01-06 01:02:03 CETAddress"), C_TS);
        assert_eq!(code(&c, "2018-01-06 01:02:03 CEST Address: 10.0.0.1 has been released from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e"), C_ZONE);
        assert_eq!(
            code(&c, &format!("{ts} Address: 10.0.0.1 has been eaten")),
            C_BODY
        );
        assert_eq!(code(&c, &format!("{ts} Address: 10.0.0.1 has been assigned for 5 weeks to a device with hardware address: hwtype=1 08:00:2b:02:3f:4e")), C_BODY);
        assert_eq!(code(&c, &format!("{ts} Address: 10.0.0.1 has been released from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e trailing")), C_BODY);
        assert_eq!(code(&c, &format!("{ts} Address: 10.0.0.1 has been released from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e connected via relay at address: nowhere")), C_BODY);
        assert_eq!(
            code(
                &c,
                &format!("{ts} Address: 10.0.0.1 has been released from a device with DUID: 01:02")
            ),
            C_ADDR
        );
        assert_eq!(code(&c, &format!("{ts} Address: 2001:db8::1 has been released from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e")), C_ADDR);
        assert_eq!(code(&c, &format!("{ts} Prefix: 2001:db8::/56 has been released from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e")), C_ADDR);
        assert_eq!(
            code(
                &c,
                &format!(
                    "{ts} Prefix: 2001:db8:: has been released from a device with DUID: 01:02"
                )
            ),
            C_ADDR
        );
        assert_eq!(code(&c, &format!("{ts} Address: 10.0.0.1 has been released from a device with hardware address: hwtype=1 08:00:2b")), C_NOID);
        let long = vec!["ab"; 100].join(":");
        assert_eq!(code(&c, &format!("{ts} Address: 10.0.0.1 has been released from a device with hardware address: hwtype=1 , client-id: {long}")), C_IDLEN);
        // DST gap (last Sunday of March 2026, 02:30 does not exist).
        assert_eq!(code(&c, "2026-03-29 02:30:00 CET Address: 10.0.0.1 has been released from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e"), "time.nonexistent_local");
        assert_eq!(code(&c, "2026-02-30 02:30:00 CET Address: 10.0.0.1 has been released from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e"), "time.bad_date");
    }

    #[test]
    fn dst_fold_is_resolved_by_the_abbreviation() {
        let c = ctx_with(STHLM, None);
        let body = "Address: 10.0.0.1 has been released from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e";
        // 2026-10-25 02:30 CEST = 00:30Z, CET = 01:30Z
        let a = one(&c, &format!("2026-10-25 02:30:00 CEST {body}")).unwrap();
        let b = one(&c, &format!("2026-10-25 02:30:00 CET {body}")).unwrap();
        assert_eq!(a[0].time(), 1_792_888_200);
        assert_eq!(b[0].time(), 1_792_891_800);
        // Without %Z the fold is refused.
        let c2 = ctx_with(STHLM, Some("%Y-%m-%d %H:%M:%S"));
        assert_eq!(
            code(&c2, &format!("2026-10-25 02:30:00 {body}")),
            "time.ambiguous_local"
        );
        // %z is used as is.
        let c3 = ctx_with(STHLM, Some("%FT%T%z"));
        let e = one(&c3, &format!("2026-10-25T02:30:00+0100 {body}")).unwrap();
        assert_eq!(e[0].time(), 1_792_891_800);
    }

    #[test]
    fn ipv4_matches_std() {
        for s in [
            "0.0.0.0",
            "1.2.3.4",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            "a.b.c.d",
            "1.2.3.4 ",
            "",
            "1.2.3.0400",
            "10.0.0.1",
        ] {
            assert_eq!(ipv4(s.as_bytes()), s.parse::<Ipv4Addr>().ok(), "{s}");
        }
    }

    #[test]
    fn numeric_zone_names() {
        let body = "Address: 10.0.0.1 has been released from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e";
        // 2026-11-21 14:00 in Dubai (+04) and 15:45 in Kathmandu (+0545) = 10:00Z
        let ev = one(
            &ctx_with("Asia/Dubai", None),
            &format!("2026-11-21 14:00:00 +04 {body}"),
        )
        .unwrap();
        assert_eq!(ev[0].time(), 1_795_255_200);
        let ev = one(
            &ctx_with("Asia/Kathmandu", None),
            &format!("2026-11-21 15:45:00 +0545 {body}"),
        )
        .unwrap();
        assert_eq!(ev[0].time(), 1_795_255_200);
        let c = ctx_with("Asia/Dubai", None);
        assert_eq!(code(&c, &format!("2026-11-21 14:00:00 +05 {body}")), C_ZONE);
        // A continuation marker right after a numeric zone.
        let (ev, res) = run(&c, &[
            "2026-11-21 14:00:00 +04-Address: 10.0.0.1 has been released",
            "2026-11-21 14:00:00 +04 from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e",
        ]);
        assert!(res.iter().all(Result::is_ok), "{res:?}");
        assert_eq!(ev.len(), 1);
        let ev = one(
            &ctx_with("UTC", None),
            &format!("2026-11-21 10:00:00 UTC {body}"),
        )
        .unwrap();
        assert_eq!(ev[0].time(), 1_795_255_200);
    }

    #[test]
    fn custom_formats() {
        let body = "Address: 10.0.0.1 has been released from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e";
        // 2026-11-21 11:00:00 Stockholm = 10:00:00Z
        let t = 1_795_255_200;
        for (fmt, ts) in [
            ("%Y-%m-%d %H:%M:%S.%Q %Z", "2026-11-21 11:00:00.123.456 CET"),
            ("%d/%b/%Y:%T", "21/Nov/2026:11:00:00"),
            ("%a %b %e %T %Y", "Sat Nov 21 11:00:00 2026"),
            ("%y%j %R:%S", "26325 11:00:00"),
            ("%D %T %z", "11/21/26 11:00:00 +0100"),
            ("[%s]", "[1795255200]"),
            ("%F%t%T %%", "2026-11-21\t11:00:00 %"),
            ("%b %e %T", "Nov 21 11:00:00"),
        ] {
            let mut c = ctx_with(STHLM, Some(fmt));
            c.reference = t + 10 * 86_400; // for the format without a year
            let ev = one(&c, &format!("{ts} {body}")).unwrap_or_else(|e| panic!("{fmt}: {e}"));
            assert_eq!(ev[0].time(), t, "{fmt}");
        }
        // Weekday must agree with the date.
        let c = ctx_with(STHLM, Some("%a %b %e %T %Y"));
        assert_eq!(code(&c, &format!("Sun Nov 21 11:00:00 2026 {body}")), C_TS);
        // %e with a one-digit day.
        let ev = one(&c, &format!("Sat Nov  7 11:00:00 2026 {body}")).unwrap();
        assert_eq!(ev[0].time(), t - 14 * 86_400);
    }

    #[test]
    fn bad_formats_are_refused_at_setup() {
        for f in [
            "%Y-%m-%d %H:%M:%S %c",
            "%Y-%m-%d %H:%M:%S %",
            "%H:%M:%S",
            "%Y-%m-%d",
            "%Ex",
        ] {
            let c = ctx_with(STHLM, Some(f));
            assert!(
                matches!(KeaLegal::new(&c), Err(SetupError::Invalid(_))),
                "{f}"
            );
        }
        let c = ctx_with(STHLM, Some("%Y-%m-%d %H:%M:%S %c"));
        let Err(SetupError::Invalid(msg)) = KeaLegal::new(&c) else {
            panic!()
        };
        assert!(msg.contains("%c"), "{msg}");
        let mut c = ctx_with(STHLM, None);
        c.tz = None;
        assert!(matches!(KeaLegal::new(&c), Err(SetupError::NeedsTz(_))));
    }

    #[test]
    fn continuation_lines_are_joined_with_a_space() {
        let c = ctx_with(STHLM, None);
        let mut p = KeaLegal::new(&c).unwrap();
        let mut out = Vec::new();
        p.parse(b"2018-01-06 01:02:03 CET-Address: 192.2.1.100 has been renewed for 1 hrs 52 mins 15 secs to a device with hardware address:", &mut out).unwrap();
        assert!(p.pending());
        p.parse(b"2018-01-06 01:02:03 CET-hwtype=1 08:00:2b:02:3f:4e, client-id: 17:34:e2:ff:09:92:54 connected via relay at address: 192.2.16.33,", &mut out).unwrap();
        assert!(p.pending());
        assert!(out.is_empty());
        p.parse(b"2018-01-06 01:02:03 CET identified by circuit-id: 68:6f:77:64:79 (howdy) and remote-id: 87:f6:79:77:ef", &mut out).unwrap();
        assert!(!p.pending());
        assert_eq!(
            lease(&out[0]),
            (
                LeaseOp::Renew,
                T0,
                "08:00:2b:02:3f:4e",
                "192.2.1.100".to_string(),
                Some(T0 + 6735)
            )
        );
    }

    #[test]
    fn broken_and_overlong_continuations() {
        let c = ctx_with(STHLM, None);
        let body = "Address: 10.0.0.1 has been released from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e";
        // Another timestamp interrupts a held entry.
        let (ev, res) = run(
            &c,
            &[
                "2018-01-06 01:02:03 CET-Address: 10.0.0.1 has been",
                &format!("2018-01-06 01:02:04 CET {body}"),
                &format!("2018-01-06 01:02:05 CET {body}"),
            ],
        );
        assert!(res[0].is_ok());
        assert_eq!(res[1].as_ref().unwrap_err().code, C_BROKEN);
        assert!(res[2].is_ok());
        assert_eq!(ev.len(), 1);
        // An unreadable line inside an entry breaks it.
        let (_, res) = run(&c, &[
            "2018-01-06 01:02:03 CET-Address: 10.0.0.1 has been",
            "garbage",
            "2018-01-06 01:02:03 CET released from a device with hardware address: hwtype=1 08:00:2b:02:3f:4e",
        ]);
        assert_eq!(res[1].as_ref().unwrap_err().code, C_TS);
        assert_eq!(res[2].as_ref().unwrap_err().code, C_BROKEN);
        // Over 64 KiB.
        let big = format!("2018-01-06 01:02:03 CET-{}", "x".repeat(40_000));
        let mut p = KeaLegal::new(&c).unwrap();
        let mut out = Vec::new();
        assert!(p.parse(big.as_bytes(), &mut out).is_ok());
        assert!(p.parse(big.as_bytes(), &mut out).is_ok());
        assert!(p.pending());
        let e = p
            .parse(
                format!("2018-01-06 01:02:03 CET {body}").as_bytes(),
                &mut out,
            )
            .unwrap_err();
        assert_eq!(e.code, C_LONG);
        assert!(!p.pending());
        assert!(out.is_empty());
    }

    #[test]
    fn reasons_carry_no_personal_data() {
        let c = ctx_with(STHLM, None);
        let lines = [
            "2018-01-06 01:02:03 CET Address: 10.9.8.7 has been released from a device with DUID: 0a:0b:0c",
            "2018-01-06 01:02:03 CET Address: 10.9.8.7 has been released from a device with hardware address: hwtype=1 0a:0b:0c zzz",
            "2018-01-06 01:02:03 CEST Address: 10.9.8.7 has been released from a device with hardware address: hwtype=1 0a:0b:0c",
        ];
        for l in lines {
            let e = one(&c, l).unwrap_err();
            assert!(
                !e.reason.contains("10.9.8.7") && !e.reason.contains("0a:0b"),
                "{}",
                e.reason
            );
        }
    }

    /// Prints a v4 lease entry the way `genLease4Entry` / `genDurationString` do.
    fn kea_duration(secs: u32) -> String {
        if secs == u32::MAX {
            return "infinite duration".into();
        }
        let (s, r) = (secs % 60, secs / 60);
        let (m, r) = (r % 60, r / 60);
        let (h, d) = (r % 24, r / 24);
        let mut o = String::new();
        if d > 0 {
            o.push_str(&format!("{d} days "));
        }
        o.push_str(&format!("{h} hrs {m} mins {s} secs"));
        o
    }

    fn hexdump(b: &[u8]) -> String {
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    fn with_printable(b: &[u8]) -> String {
        let mut s = hexdump(b);
        if b.iter().all(|c| (0x20..=0x7e).contains(c)) {
            s.push_str(" (");
            s.push_str(std::str::from_utf8(b).unwrap());
            s.push(')');
        }
        s
    }

    #[test]
    #[ignore = "benchmark: cargo test --release -- --ignored kea_legal_speed --nocapture"]
    fn kea_legal_speed() {
        let c = ctx_with(STHLM, None);
        let mut p = KeaLegal::new(&c).unwrap();
        let mut out = Vec::with_capacity(1024);
        let lines: Vec<String> = (0..60)
            .map(|s| format!("2026-11-21 11:00:{s:02} CET Address: 192.2.1.100 has been assigned for 1 hrs 52 mins 15 secs to a device with hardware address: hwtype=1 08:00:2b:02:3f:4e, client-id: 17:34:e2:ff:09:92:54 connected via relay at address: 192.2.16.33, identified by circuit-id: 68:6f:77:64:79 (howdy) and remote-id: 87:f6:79:77:ef"))
            .collect();
        let n = 1_200_000;
        let t = std::time::Instant::now();
        for i in 0..n {
            // A new second every 20 lines, as in a busy server's log.
            p.parse(lines[(i / 20) % 60].as_bytes(), &mut out).unwrap();
            out.clear();
        }
        let rate = n as f64 / t.elapsed().as_secs_f64();
        println!("kea-legal: {rate:.0} records/s");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let c = ctx_with(STHLM, None);
            let mut p = KeaLegal::new(&c).unwrap();
            let mut out = Vec::new();
            let _ = p.parse(&data, &mut out);
            let mut line = b"2018-01-06 01:02:03 CET Address: 10.0.0.1 has been ".to_vec();
            line.extend_from_slice(&data);
            let _ = p.parse(&line, &mut out);
            let mut cont = b"2018-01-06 01:02:03 CET-".to_vec();
            cont.extend_from_slice(&data);
            let _ = p.parse(&cont, &mut out);
        }

        #[test]
        fn ipv4_agrees_with_std(s in "[0-9.]{0,17}") {
            prop_assert_eq!(ipv4(s.as_bytes()), s.parse::<Ipv4Addr>().ok());
        }

        #[test]
        fn v4_round_trip(
            ip in any::<u32>(),
            op in 0u8..3,
            secs in prop_oneof![Just(u32::MAX), 0u32..10_000_000],
            mac in proptest::array::uniform6(any::<u8>()),
            cid in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..20)),
            relay in proptest::option::of((any::<u32>(),
                proptest::option::of(proptest::collection::vec(0x20u8..0x7f, 1..12)),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 1..12)))),
            ctx_json in proptest::option::of("[ -~]{0,30}"),
            sec_of_day in 0u32..86_400,
        ) {
            let c = ctx_with(STHLM, None);
            let addr = Ipv4Addr::from(ip);
            let verb = ["assigned", "renewed", "released"][op as usize];
            let mut body = format!("Address: {addr} has been {verb}");
            if op < 2 {
                body.push_str(&format!(" for {} to", kea_duration(secs)));
            } else {
                body.push_str(" from");
            }
            body.push_str(&format!(" a device with hardware address: hwtype=1 {}", hexdump(&mac)));
            if let Some(cid) = &cid {
                body.push_str(&format!(", client-id: {}", with_printable(cid)));
            }
            if let Some((gi, circuit, remote)) = &relay {
                body.push_str(&format!(" connected via relay at address: {}", Ipv4Addr::from(*gi)));
                let mut ids = Vec::new();
                if let Some(x) = circuit { ids.push(format!("circuit-id: {}", with_printable(x))); }
                if let Some(x) = remote { ids.push(format!("remote-id: {}", with_printable(x))); }
                if !ids.is_empty() {
                    body.push_str(&format!(", identified by {}", ids.join(" and ")));
                }
            }
            if let Some(j) = &ctx_json {
                body.push_str(&format!(", context: {j}"));
            }
            // 2026-01-15 in CET (no DST questions).
            let (h, m, s) = (sec_of_day / 3600, sec_of_day / 60 % 60, sec_of_day % 60);
            let line = format!("2026-01-15 {h:02}:{m:02}:{s:02} CET {body}");
            let t = 1_768_431_600 + i64::from(sec_of_day); // 2026-01-15T00:00:00+01:00
            let ev = one(&c, &line).unwrap();
            let exp_op = [LeaseOp::Assign, LeaseOp::Renew, LeaseOp::Release][op as usize];
            let expires = if op < 2 && secs != u32::MAX { Some(t + i64::from(secs)) } else { None };
            let target = Target::host(IpAddr::V4(addr));
            prop_assert_eq!(ev, vec![Event::lease(&c.origin(), exp_op, t, hexdump(&mac), target, expires)]);
        }

        #[test]
        fn v6_round_trip(
            addr in any::<u128>(),
            plen in proptest::option::of(1u8..=128),
            released in any::<bool>(),
            secs in 0u32..10_000_000,
            duid in proptest::collection::vec(any::<u8>(), 1..30),
        ) {
            let c = ctx_with(STHLM, None);
            let a = Ipv6Addr::from(addr);
            let (head, target) = match plen {
                Some(l) => {
                    let n = ipnet::Ipv6Net::new(a, l).unwrap().trunc();
                    (format!("Prefix: {}/{}", n.addr(), l), Target::prefix(n))
                }
                None => (format!("Address: {a}"), Target::host(IpAddr::V6(a))),
            };
            let mid = if released { " has been released from".to_string() } else { format!(" has been assigned for {} to", kea_duration(secs)) };
            let line = format!("2026-01-15 00:00:00 CET {head}{mid} a device with DUID: {}", hexdump(&duid));
            let t = 1_768_431_600;
            let ev = one(&c, &line).unwrap();
            let op = if released { LeaseOp::Release } else { LeaseOp::Assign };
            let sub = format!("duid:{}", hexdump(&duid));
            let expires = if released { None } else { Some(t + i64::from(secs)) };
            prop_assert_eq!(ev, vec![Event::lease(&c.origin(), op, t, sub, target, expires)]);
        }
    }
}
