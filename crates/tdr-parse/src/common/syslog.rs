//! Syslog headers, so the same message body parses whether the line was written with an
//! RFC 3164 header (with or without `<PRI>`, as syslogd writes files), an RFC 5424 header, an
//! rsyslog RFC 3339 file header, or none. [`split`] never fails: a line without a
//! recognisable header is all message.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::common::localtime;
use crate::model::UnixSecs;
use crate::{Context, ParseError};

/// The header's time, as precise as the header made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderTime {
    /// RFC 5424 / RFC 3339 with an offset.
    Utc(UnixSecs),
    /// A full local date and time without zone (`May  2 11:43:37 2020`).
    Local(NaiveDateTime),
    /// RFC 3164: month, day and time, no year, no zone.
    NoYear {
        month: u32,
        day: u32,
        hms: (u32, u32, u32),
    },
}

impl HeaderTime {
    /// In UTC: local times take the stream's zone, a missing year is inferred from the
    /// stream's reference time.
    pub fn resolve(&self, ctx: &Context) -> Result<UnixSecs, ParseError> {
        match *self {
            HeaderTime::Utc(t) => Ok(t),
            HeaderTime::Local(n) => localtime::to_utc(need_tz(ctx)?, n),
            HeaderTime::NoYear { month, day, hms } => {
                localtime::infer_year(need_tz(ctx)?, month, day, hms, ctx.reference)
            }
        }
    }
}

fn need_tz(ctx: &Context) -> Result<chrono_tz::Tz, ParseError> {
    ctx.tz.ok_or_else(|| {
        ParseError::new(
            "time.no_zone",
            "the syslog header has a local time and no time zone was given",
        )
    })
}

/// One syslog line taken apart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Syslog<'a> {
    pub pri: Option<u8>,
    pub time: Option<HeaderTime>,
    pub host: Option<&'a str>,
    /// RFC 3164 TAG without its `[pid]`, or RFC 5424 APP-NAME.
    pub app: Option<&'a str>,
    pub procid: Option<&'a str>,
    /// RFC 5424 MSGID.
    pub msgid: Option<&'a str>,
    /// RFC 5424 STRUCTURED-DATA as written (`[id k="v"]…`), `None` for `-`.
    pub sd: Option<&'a str>,
    /// The message, with a leading UTF-8 BOM removed.
    pub msg: &'a [u8],
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Takes a syslog line apart. Tolerant by design: whatever is not a header stays message.
pub fn split(line: &[u8]) -> Syslog<'_> {
    let mut rest = line;
    let mut out = Syslog::default();
    if let Some((pri, r)) = pri(rest) {
        out.pri = Some(pri);
        rest = r;
        if let Some(r) = rest.strip_prefix(b"1 ") {
            if let Some(s) = rfc5424(r, pri) {
                return s;
            }
        }
    }
    // Cisco IOS prefixes: "94103: 51w2d: " sequence number and uptime.
    rest = strip_cisco_prefix(rest);
    let Some((time, r)) = timestamp(rest) else {
        out.msg = strip_bom(rest);
        return out;
    };
    out.time = Some(time);
    rest = r;
    // HOSTNAME, unless the next token is already the TAG ("snmpd[9816]: ...").
    let (tok, after) = token(rest);
    if tok.is_empty() {
        out.msg = after;
        return out;
    }
    let (host, rest2) = if is_tag(tok) {
        (None, rest)
    } else if is_facility(tok) && !is_tag(token(after).0) && is_tag(token(token(after).1).0) {
        // "local6 host tag:": a facility token some collectors (Infoblox) write first.
        let (h, a) = token(after);
        (std::str::from_utf8(h).ok(), a)
    } else {
        (std::str::from_utf8(tok).ok(), after)
    };
    out.host = host;
    rest = rest2;
    let (tok, after) = token(rest);
    if is_tag(tok) {
        let tag = &tok[..tok.len() - 1];
        let (app, pid) = match tag.iter().position(|&b| b == b'[') {
            Some(i) if tag.ends_with(b"]") => (&tag[..i], Some(&tag[i + 1..tag.len() - 1])),
            _ => (tag, None),
        };
        out.app = std::str::from_utf8(app).ok();
        out.procid = pid.and_then(|p| std::str::from_utf8(p).ok());
        rest = after;
    }
    out.msg = strip_bom(rest);
    out
}

/// `<PRI>`: 1 to 3 digits, at most 191.
fn pri(b: &[u8]) -> Option<(u8, &[u8])> {
    let r = b.strip_prefix(b"<")?;
    let end = r.iter().position(|&c| c == b'>')?;
    if end == 0 || end > 3 || !r[..end].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: u16 = std::str::from_utf8(&r[..end]).ok()?.parse().ok()?;
    (v <= 191).then_some((v as u8, &r[end + 1..]))
}

fn strip_cisco_prefix(mut b: &[u8]) -> &[u8] {
    // Up to two "<token>: " prefixes made of digits, or of digits and w/d/h/m/s/: (uptime).
    for _ in 0..2 {
        let n = b
            .iter()
            .take_while(|c| c.is_ascii_digit() || matches!(c, b'w' | b'd' | b'h' | b'm' | b's'))
            .count();
        if n > 0 && b[0].is_ascii_digit() && b[n..].starts_with(b": ") {
            // Not a time like "12:34:56": those have a digit after the colon.
            b = &b[n + 2..];
        } else {
            break;
        }
    }
    b
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

/// Next space-delimited token and the rest after the single space (or spaces) following it.
fn token(b: &[u8]) -> (&[u8], &[u8]) {
    let end = b.iter().position(|&c| c == b' ').unwrap_or(b.len());
    let mut rest = &b[end..];
    while let Some(r) = rest.strip_prefix(b" ") {
        rest = r;
    }
    (&b[..end], rest)
}

/// A syslog facility name, optionally with `.severity` (`local6`, `daemon.info`).
fn is_facility(tok: &[u8]) -> bool {
    const FACILITIES: [&[u8]; 20] = [
        b"kern",
        b"user",
        b"mail",
        b"daemon",
        b"auth",
        b"syslog",
        b"lpr",
        b"news",
        b"uucp",
        b"cron",
        b"authpriv",
        b"ftp",
        b"local0",
        b"local1",
        b"local2",
        b"local3",
        b"local4",
        b"local5",
        b"local6",
        b"local7",
    ];
    let name = tok.split(|&b| b == b'.').next().unwrap_or(tok);
    FACILITIES.contains(&name)
}

/// A TAG token: `name:` or `name[pid]:`.
fn is_tag(tok: &[u8]) -> bool {
    tok.len() >= 2
        && tok.ends_with(b":")
        && tok[..tok.len() - 1]
            .iter()
            .all(|&c| c.is_ascii_graphic() && c != b':')
}

fn digits<const N: usize>(b: &[u8]) -> Option<u32> {
    if b.len() < N || !b[..N].iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(&b[..N]).ok()?.parse().ok()
}

/// `HH:MM:SS` at the start of `b`.
fn hms(b: &[u8]) -> Option<(u32, u32, u32)> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (
        digits::<2>(b)?,
        digits::<2>(&b[3..])?,
        digits::<2>(&b[6..])?,
    );
    (h < 24 && m < 60 && s < 61).then_some((h, m, s))
}

/// One of the header timestamps seen in files and on the wire, and the rest after it and the
/// space(s) that follow.
fn timestamp(b: &[u8]) -> Option<(HeaderTime, &[u8])> {
    if b.first().is_some_and(u8::is_ascii_digit) {
        // RFC 3339 (rsyslog file output): up to the next space.
        let (tok, rest) = token(b);
        let s = std::str::from_utf8(tok).ok()?;
        let t = DateTime::parse_from_rfc3339(s).ok()?;
        return Some((HeaderTime::Utc(t.timestamp()), rest));
    }
    let month = MONTHS.iter().position(|m| b.starts_with(m.as_bytes()))? as u32 + 1;
    let r = b.get(3..)?.strip_prefix(b" ")?;
    // Day: " 5", "05" or "5".
    let r = r.strip_prefix(b" ").unwrap_or(r);
    let dlen = r.iter().take_while(|c| c.is_ascii_digit()).count();
    if dlen == 0 || dlen > 2 {
        return None;
    }
    let day: u32 = std::str::from_utf8(&r[..dlen]).ok()?.parse().ok()?;
    let mut r = r[dlen..].strip_prefix(b" ")?;
    // "Mar 05 2011 22:21:02:" — a year before the time.
    let mut year = None;
    if let Some(y) = digits::<4>(r) {
        if r.get(4) == Some(&b' ') {
            year = Some(y as i32);
            r = &r[5..];
        }
    }
    let t = hms(r)?;
    r = &r[8..];
    // Optional fraction, trailing colon.
    if r.first() == Some(&b'.') {
        let n = r[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        r = &r[1 + n..];
    }
    r = r.strip_prefix(b":").unwrap_or(r);
    // "May  2 11:43:37 2020 host" — a year after the time.
    if year.is_none() {
        if let Some(y) = digits::<4>(r.strip_prefix(b" ").unwrap_or(b"")) {
            let after = &r[5..];
            if after.is_empty() || after[0] == b' ' {
                year = Some(y as i32);
                r = after;
            }
        }
    }
    let (_, rest) = token(r); // skips the spaces after the time
    let time = match year {
        Some(y) => {
            HeaderTime::Local(NaiveDate::from_ymd_opt(y, month, day)?.and_hms_opt(t.0, t.1, t.2)?)
        }
        None => {
            if !(1..=31).contains(&day) {
                return None;
            }
            HeaderTime::NoYear { month, day, hms: t }
        }
    };
    Some((time, rest))
}

/// RFC 5424 after `<PRI>1 `.
fn rfc5424(b: &[u8], pri: u8) -> Option<Syslog<'_>> {
    let (ts, r) = field(b)?;
    let time = match ts {
        Some(ts) => Some(HeaderTime::Utc(
            DateTime::parse_from_rfc3339(ts).ok()?.timestamp(),
        )),
        None => None,
    };
    let (host, r) = field(r)?;
    let (app, r) = field(r)?;
    let (procid, r) = field(r)?;
    let (msgid, r) = field(r)?;
    let (sd, r) = if let Some(rest) = r.strip_prefix(b"-") {
        (None, rest)
    } else {
        let end = sd_end(r)?;
        (Some(std::str::from_utf8(&r[..end]).ok()?), &r[end..])
    };
    let msg = match r {
        [] => &[][..],
        [b' ', m @ ..] => m,
        _ => return None,
    };
    Some(Syslog {
        pri: Some(pri),
        time,
        host,
        app,
        procid,
        msgid,
        sd,
        msg: strip_bom(msg),
    })
}

/// One RFC 5424 header field and the rest after its space; `-` is nil. A run of spaces counts
/// as one separator (copies of OPNsense's Kea lines double the one after the timestamp): a
/// header field is never empty in RFC 5424, so this reads no valid header differently.
fn field(b: &[u8]) -> Option<(Option<&str>, &[u8])> {
    let end = b.iter().position(|&c| c == b' ')?;
    let v = std::str::from_utf8(&b[..end]).ok()?;
    let mut rest = &b[end + 1..];
    while let Some(r) = rest.strip_prefix(b" ") {
        rest = r;
    }
    Some(((v != "-").then_some(v), rest))
}

/// Length of the STRUCTURED-DATA at the start of `b` (one or more `[...]`).
fn sd_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        let mut in_str = false;
        let mut esc = false;
        i += 1;
        loop {
            let c = *b.get(i)?;
            i += 1;
            if esc {
                esc = false;
            } else if in_str && c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = !in_str;
            } else if c == b']' && !in_str {
                break;
            }
        }
    }
    (i > 0).then_some(i)
}

/// One SD-ELEMENT: its id and its parameters, values unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement<'a> {
    pub id: &'a str,
    pub params: Vec<(&'a str, Cow<'a, str>)>,
}

impl SdElement<'_> {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_ref())
    }
}

/// Parses STRUCTURED-DATA (`[id k="v" …][id2 …]`). Tolerates a space after `=` (seen in
/// copies of Juniper logs).
pub fn structured_data(sd: &str) -> Result<Vec<SdElement<'_>>, ParseError> {
    let bad = |why: &str| ParseError::new("syslog.bad_sd", format!("structured data: {why}"));
    let mut out = Vec::new();
    let mut r = sd.trim_start();
    while let Some(body) = r.strip_prefix('[') {
        let id_end = body
            .find([' ', ']'])
            .ok_or_else(|| bad("unterminated element"))?;
        let id = &body[..id_end];
        if id.is_empty() {
            return Err(bad("empty SD-ID"));
        }
        let mut p = &body[id_end..];
        let mut params = Vec::new();
        loop {
            p = p.trim_start_matches(' ');
            if let Some(after) = p.strip_prefix(']') {
                r = after.trim_start_matches(' ');
                break;
            }
            let eq = p.find('=').ok_or_else(|| bad("parameter without ="))?;
            let name = p[..eq].trim();
            if name.is_empty() || name.contains([' ', ']', '"']) {
                return Err(bad("bad parameter name"));
            }
            p = p[eq + 1..].trim_start_matches(' ');
            p = p
                .strip_prefix('"')
                .ok_or_else(|| bad("parameter value not quoted"))?;
            let mut value = String::new();
            let mut escaped = false;
            let mut end = None;
            let mut chars = p.char_indices().peekable();
            while let Some((i, c)) = chars.next() {
                match c {
                    // Only \" \\ \] are escapes; any other backslash is literal.
                    '\\' => match chars.peek() {
                        Some(&(_, n @ ('"' | '\\' | ']'))) => {
                            escaped = true;
                            value.push(n);
                            chars.next();
                        }
                        _ => value.push('\\'),
                    },
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    _ => value.push(c),
                }
            }
            let end = end.ok_or_else(|| bad("unterminated value"))?;
            let v = if escaped {
                Cow::Owned(value)
            } else {
                Cow::Borrowed(&p[..end])
            };
            params.push((name, v));
            p = &p[end + 1..];
        }
        out.push(SdElement { id, params });
    }
    if !r.is_empty() {
        return Err(bad("text after the last element"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg<'a>(s: &Syslog<'a>) -> &'a str {
        std::str::from_utf8(s.msg).unwrap()
    }

    #[test]
    fn rfc3164_with_and_without_pri_pid_and_host() {
        let s =
            split(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
        assert_eq!(s.pri, Some(34));
        assert_eq!(
            s.time,
            Some(HeaderTime::NoYear {
                month: 10,
                day: 11,
                hms: (22, 14, 15)
            })
        );
        assert_eq!(s.host, Some("mymachine"));
        assert_eq!(s.app, Some("su"));
        assert_eq!(msg(&s), "'su root' failed for lonvick on /dev/pts/8");

        let s = split(b"Feb  5 17:32:18 10.0.0.99 dhcpd[1234]: DHCPACK on 10.0.0.5 to 00:11:22:33:44:55 via eth0");
        assert_eq!(s.host, Some("10.0.0.99"));
        assert_eq!((s.app, s.procid), (Some("dhcpd"), Some("1234")));
        assert!(msg(&s).starts_with("DHCPACK on"));

        let s = split(b"Feb 12 12:57:14 snmpd[9816]: last message repeated 2 times");
        assert_eq!((s.host, s.app), (None, Some("snmpd")));
        assert_eq!(msg(&s), "last message repeated 2 times");
    }

    #[test]
    fn years_rfc3339_and_cisco_prefixes() {
        let s = split(b"May  2 11:43:37 2020 host dhcpd: x");
        assert!(
            matches!(s.time, Some(HeaderTime::Local(n)) if n.to_string() == "2020-05-02 11:43:37")
        );
        assert_eq!((s.host, s.app, msg(&s)), (Some("host"), Some("dhcpd"), "x"));
        let s = split(b"Mar 05 2011 22:21:02: host x: y");
        assert!(
            matches!(s.time, Some(HeaderTime::Local(n)) if n.to_string() == "2011-03-05 22:21:02")
        );
        let s =
            split(b"2016-06-27T00:32:22-07:00 local6 m1.infoblox.com dhcpd[26673]: info DHCPACK");
        assert_eq!(s.time, Some(HeaderTime::Utc(1_467_012_742)));
        assert_eq!(
            (s.host, s.app, msg(&s)),
            (Some("m1.infoblox.com"), Some("dhcpd"), "info DHCPACK")
        );
        let s = split(b"<191>94103: 51w2d: Jan  3 10:00:00 r1 DHCPD: m");
        assert!(matches!(
            s.time,
            Some(HeaderTime::NoYear {
                month: 1,
                day: 3,
                ..
            })
        ));
        assert_eq!(msg(&s), "m");
        let s = split(b"no header here");
        assert_eq!((s.time, msg(&s)), (None, "no header here"));
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let s = split(b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \xEF\xBB\xBFAn application event log entry...");
        assert_eq!(s.time, Some(HeaderTime::Utc(1_065_910_455)));
        assert_eq!(
            (s.host, s.app, s.procid, s.msgid),
            (
                Some("mymachine.example.com"),
                Some("evntslog"),
                None,
                Some("ID47")
            )
        );
        assert_eq!(msg(&s), "An application event log entry...");
        let sd = structured_data(s.sd.unwrap()).unwrap();
        assert_eq!(sd[0].id, "exampleSDID@32473");
        assert_eq!(sd[0].get("eventID"), Some("1011"));

        let s = split(b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.");
        assert_eq!(s.sd, None);
        assert_eq!(msg(&s), "%% It's time to make the do-nuts.");

        // A doubled space after the timestamp (a copy's, pfelk/pfelk#531) is one separator.
        let s = split(b"<134>1 2024-04-05T21:44:27+00:00  fw.example kea-dhcp4 91064 - [meta sequenceId=\"17351\"] INFO  x");
        assert_eq!(
            (s.host, s.app, s.procid, msg(&s)),
            (
                Some("fw.example"),
                Some("kea-dhcp4"),
                Some("91064"),
                "INFO  x"
            )
        );

        let sd = structured_data(r#"[a x="q\"uo\]te\\" y= "sp" z="back\slash"][b]"#).unwrap();
        assert_eq!(sd[0].get("x"), Some(r#"q"uo]te\"#));
        assert_eq!(sd[0].get("y"), Some("sp"));
        assert_eq!(sd[0].get("z"), Some(r"back\slash"));
        assert_eq!(sd[1].id, "b");
        assert!(structured_data("[a x=\"open").is_err());
    }

    proptest::proptest! {
        #[test]
        fn split_and_sd_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let s = split(&bytes);
            if let Some(sd) = s.sd { let _ = structured_data(sd); }
            if let Ok(t) = std::str::from_utf8(&bytes) { let _ = structured_data(t); }
        }
    }
}
