//! accel-ppp: the accel-ppp BRAS's own log (`accel-pppd`, PPPoE/PPTP/L2TP/SSTP/IPoE), read
//! from its RADIUS accounting lines, the lines that carry user, address and session id
//! together (so no state is kept between lines: a checkpoint can fall anywhere).
//!
//! Writers (accel-ppp/accel-ppp, `accel-pppd/`):
//!
//! ```text
//! logs/log_file.c set_hdr   [<YYYY-MM-DD HH:MM:SS>]: <level>: [<ifname>: ]<message>       [log] log-file=
//! log.c write_msg           [<YYYY-MM-DD HH:MM:SS.mmm>] [<ifname>: <session-id>: ]<message>   log-debug / per-session files
//! logs/log_syslog.c         <syslog header> accel-pppd: [<ifname>:<username>: ]<message>   [log] log-syslog=
//! ```
//!
//! `<level>` is `  msg`, `error`, ` warn`, ` info` or `debug`; with `color=1` the file header is
//! wrapped in ANSI colour codes (stripped here). The RADIUS module with `[radius] verbose=1`
//! logs every packet it sends and receives (`radius/req.c`, printer `radius/packet.c`
//! `rad_packet_print`), accounting Start and Stop at info level, Interim-Update with
//! `interim-verbose=1`:
//!
//! ```text
//! send [RADIUS(<server>) Accounting-Request id=<hex> <User-Name "<user>"> … <Acct-Status-Type Start> … <Acct-Session-Id "<id>"> … <Framed-IP-Address <v4>>]
//! ```
//!
//! Attributes print as `<Name value>`: strings in double quotes (not escaped), integers by
//! their dictionary name or number, `a.b.c.d`, IPv6 `inet_ntop`, prefixes `addr/len`, octets
//! `0x…`. The parser finds the `send [RADIUS` / `recv [RADIUS` packet in the message and reads
//! its attributes; a packet line cut before its closing `]` (a syslog size limit) is an error
//! when it is an Accounting-Request, whose address comes last.
//!
//! Time: the line's own timestamp (`[…]`, the BRAS's local time, `ctx.tz`), else the syslog
//! header's (RFC 3164 local with the year inferred from the reference time, RFC 5424 / RFC 3339
//! with offset).
//!
//! Events, as `radius-detail` reads the same packet in a RADIUS server's detail file (so both
//! sources name a session alike): an Accounting-Request with `Acct-Status-Type` Start,
//! Interim-Update or Stop → one `Session` (Start/Interim/Stop) per address it carries
//! (`Framed-IP-Address`, `Framed-IPv6-Address`, `Framed-IPv6-Prefix`,
//! `Delegated-IPv6-Prefix`, in packet order, duplicates once; 0.0.0.0,
//! 255.255.255.254/255, `::` and `/0` are no address); subscriber `User-Name`, session
//! `Acct-Session-Id`, NAS `NAS-IP-Address`, else `NAS-IPv6-Address`, else `NAS-Identifier`.
//! Accounting-On/Off → `NasReboot`. An accounting packet without an address, with another
//! status type, and every other RADIUS packet (Access-*, Accounting-Response, CoA, DM) yield
//! one `Seen` (domain address): RADIUS verbose logging, which logs the accounting, was on.
//!
//! Lines that are no RADIUS packet (PPP negotiation, `authentication succeeded`,
//! `ipoe: session started`, start-up) yield nothing: they show accel-ppp running but not that
//! its accounting is logged, so they cannot vouch for the absence of a binding. A
//! `Seen` whose time does not resolve (a DST fold) is dropped silently.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use chrono::NaiveDate;
use chrono_tz::Tz;
use memchr::memmem::Finder;

use crate::common::bytes::find_byte;
use crate::common::headertime::HeaderClock;
use crate::common::localtime;
use crate::common::syslog::{self, HeaderTime};
use crate::model::{Domain, Event, Origin, SessionOp, Target, UnixSecs};
use crate::{Context, ParseError, Parser};

const C_NO_TIME: &str = "parse.accel_ppp.no_time";
const C_TS: &str = "parse.accel_ppp.bad_timestamp";
const C_PACKET: &str = "parse.accel_ppp.bad_packet";
const C_TRUNC: &str = "parse.accel_ppp.truncated";
const C_ADDR: &str = "parse.accel_ppp.bad_address";
const C_DUP: &str = "parse.accel_ppp.duplicate_attribute";
const C_USER: &str = "parse.accel_ppp.missing_user_name";
const C_SESSION: &str = "parse.accel_ppp.missing_session_id";
const C_NAS: &str = "parse.accel_ppp.missing_nas";
const C_LONG: &str = "parse.accel_ppp.too_many_addresses";

/// No session carries this many addresses; a packet that does is refused.
const MAX_ADDRESSES: usize = 64;

pub struct AccelPpp {
    ctx: Context,
    origin: Origin,
    tz: Option<Tz>,
    clock: HeaderClock,
    /// The last own timestamp (to the second) resolved and its result.
    ts_cache: Option<([u8; 19], Result<UnixSecs, ParseError>)>,
    /// The last own `YYYY-MM-DD HH` looked at, and the UTC time of its `HH:00:00` when every
    /// second of that hour maps to `base + mm * 60 + ss` (as [`HeaderClock`] does for syslog
    /// headers): lines of the same hour then need no zone lookup.
    hour: Option<([u8; 13], Option<UnixSecs>)>,
    /// The last NAS address read (IPv6 or not, as written) and its canonical text: a BRAS
    /// names itself alike in every packet, and parsing and printing the address again cost
    /// more than the rest of the line.
    nas_cache: Option<(bool, Vec<u8>, String)>,
    /// `[RADIUS`, its searcher built once rather than per line.
    radius: Finder<'static>,
    /// Where the address attributes of the packet being read are (reused, so that a packet
    /// costs no allocation of its own).
    addrs: Vec<(AddrAttr, Range<usize>)>,
    targets: Vec<Target>,
}

impl AccelPpp {
    pub fn new(ctx: &Context) -> Self {
        AccelPpp {
            ctx: ctx.clone(),
            origin: ctx.origin(),
            tz: ctx.tz,
            clock: HeaderClock::default(),
            ts_cache: None,
            hour: None,
            nas_cache: None,
            radius: Finder::new(b"[RADIUS").into_owned(),
            addrs: Vec::new(),
            targets: Vec::new(),
        }
    }

    fn time(&mut self, when: When) -> Result<UnixSecs, ParseError> {
        match when {
            When::Own(ts) => {
                let n = |a: usize| u32::from(ts[a] - b'0') * 10 + u32::from(ts[a + 1] - b'0');
                let (mm, ss) = (n(14), n(17));
                if mm < 60 && ss < 60 {
                    if let Some(base) = self.hour_base(&ts) {
                        return Ok(base + i64::from(mm * 60 + ss));
                    }
                }
                if let Some((k, r)) = &self.ts_cache {
                    if *k == ts {
                        return r.clone();
                    }
                }
                let r = own_time(self.tz, &ts);
                self.ts_cache = Some((ts, r.clone()));
                r
            }
            When::Header(ht) => self.clock.resolve(ht, &self.ctx),
            When::None => Err(ParseError::new(
                C_NO_TIME,
                "the line has neither accel-ppp's timestamp nor a syslog header time",
            )),
        }
    }

    /// The UTC time of `ts`'s `HH:00:00` when all of that hour resolves with one offset (its
    /// first and last second are exactly 3599 s apart); `None` for an hour with a DST change,
    /// a bad date or no zone, whose seconds [`own_time`] resolves one by one.
    fn hour_base(&mut self, ts: &[u8; 19]) -> Option<UnixSecs> {
        let mut key = [0u8; 13];
        key.copy_from_slice(&ts[..13]);
        if let Some((k, base)) = self.hour {
            if k == key {
                return base;
            }
        }
        let at = |mm_ss: &[u8; 5]| {
            let mut t = *ts;
            t[14..].copy_from_slice(mm_ss);
            own_time(self.tz, &t)
        };
        let base = match (at(b"00:00"), at(b"59:59")) {
            (Ok(first), Ok(last)) if last - first == 3599 => Some(first),
            _ => None,
        };
        self.hour = Some((key, base));
        base
    }

    /// The NAS the packet names (see [`nas_of`]), from the cache when it names the last
    /// address again.
    fn nas(&mut self, p: &Packet<'_>) -> Result<String, ParseError> {
        let addr = match (p.nas_ip, p.nas_ipv6) {
            (Some(v), _) => Some((false, v)),
            (None, Some(v)) => Some((true, v)),
            (None, None) => None,
        };
        if let (Some((v6, v)), Some((c6, cv, nas))) = (addr, &self.nas_cache) {
            if v6 == *c6 && v == cv.as_slice() {
                return Ok(nas.clone());
            }
        }
        let nas = nas_of(p)?;
        if let Some((v6, v)) = addr {
            self.nas_cache = Some((v6, v.to_vec(), nas.clone()));
        }
        Ok(nas)
    }
}

#[derive(Debug, Clone, Copy)]
enum When {
    /// `YYYY-MM-DD HH:MM:SS` (a fraction dropped).
    Own([u8; 19]),
    Header(HeaderTime),
    None,
}

fn own_time(tz: Option<Tz>, ts: &[u8; 19]) -> Result<UnixSecs, ParseError> {
    let tz = tz.ok_or_else(|| {
        ParseError::new(
            "time.no_zone",
            "accel-ppp writes local times and no time zone was given",
        )
    })?;
    let n = |a: usize, b: usize| -> u32 {
        ts[a..b]
            .iter()
            .fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'))
    };
    let naive = NaiveDate::from_ymd_opt(n(0, 4) as i32, n(5, 7), n(8, 10))
        .and_then(|d| d.and_hms_opt(n(11, 13), n(14, 16), n(17, 19)))
        .ok_or_else(|| ParseError::new(C_TS, "the timestamp is not a valid date and time"))?;
    localtime::to_utc(tz, naive)
}

/// Whether `b` starts like accel-ppp's timestamp (`[YYYY-MM-DD `).
fn dated(b: &[u8]) -> bool {
    b.len() > 11
        && b[0] == b'['
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b'-'
        && b[8] == b'-'
        && b[11] == b' '
}

/// `[YYYY-MM-DD HH:MM:SS[.mmm]]` then `: ` (log-file) or ` ` (debug and session files); the
/// text after it.
fn own_ts(b: &[u8]) -> Result<([u8; 19], &[u8]), ParseError> {
    let bad = || ParseError::new(C_TS, "the timestamp is not [YYYY-MM-DD HH:MM:SS]");
    let head = b.get(1..20).ok_or_else(bad)?;
    let shape = head.iter().enumerate().all(|(i, &c)| match i {
        4 | 7 => c == b'-',
        10 => c == b' ',
        13 | 16 => c == b':',
        _ => c.is_ascii_digit(),
    });
    if !shape {
        return Err(bad());
    }
    let mut r = &b[20..];
    if let Some(f) = r.strip_prefix(b".") {
        let n = f.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return Err(bad());
        }
        r = &f[n..];
    }
    let r = r.strip_prefix(b"]").ok_or_else(bad)?;
    let r = r.strip_prefix(b":").unwrap_or(r);
    let mut ts = [0u8; 19];
    ts.copy_from_slice(head);
    Ok((ts, r))
}

/// `frame` without ANSI colour sequences (`ESC [ … m`), borrowed when it has none.
fn without_colour(frame: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if find_byte(0x1b, frame).is_none() {
        return std::borrow::Cow::Borrowed(frame);
    }
    let mut out = Vec::with_capacity(frame.len());
    let mut i = 0;
    while i < frame.len() {
        if frame[i] == 0x1b && frame.get(i + 1) == Some(&b'[') {
            let mut j = i + 2;
            while j < frame.len() && (frame[j].is_ascii_digit() || frame[j] == b';') {
                j += 1;
            }
            if frame.get(j) == Some(&b'm') {
                i = j + 1;
                continue;
            }
        }
        out.push(frame[i]);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// The RADIUS packet `[RADIUS…]` after `send ` or `recv ` in the message, if there is one
/// (`radius` finds `[RADIUS`).
fn packet_start<'a>(radius: &Finder<'_>, msg: &'a [u8]) -> Option<&'a [u8]> {
    let p = radius.find(msg)?;
    let head = &msg[..p];
    let verb = head
        .strip_suffix(b"send ")
        .or_else(|| head.strip_suffix(b"recv "))?;
    // At the start of the message or after a `: ` prefix (interface, user, session).
    (verb.is_empty() || verb.ends_with(b" ")).then_some(&msg[p..])
}

/// The attributes tdr reads; the others are skipped.
#[derive(Default)]
struct Packet<'a> {
    accounting_request: bool,
    closed: bool,
    status: Option<&'a [u8]>,
    user: Option<&'a [u8]>,
    session: Option<&'a [u8]>,
    nas_ip: Option<&'a [u8]>,
    nas_ipv6: Option<&'a [u8]>,
    nas_id: Option<&'a [u8]>,
}

/// The attributes that carry an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddrAttr {
    FramedIp,
    FramedIpv6,
    FramedIpv6Prefix,
    DelegatedIpv6Prefix,
}

impl AddrAttr {
    fn name(self) -> &'static [u8] {
        match self {
            AddrAttr::FramedIp => b"Framed-IP-Address",
            AddrAttr::FramedIpv6 => b"Framed-IPv6-Address",
            AddrAttr::FramedIpv6Prefix => b"Framed-IPv6-Prefix",
            AddrAttr::DelegatedIpv6Prefix => b"Delegated-IPv6-Prefix",
        }
    }
}

/// Where `part`, a subslice of `whole`, lies in it.
fn span(whole: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - whole.as_ptr() as usize;
    start..start + part.len()
}

fn set_once<'a>(
    slot: &mut Option<&'a [u8]>,
    v: &'a [u8],
    name: &'static str,
) -> Result<(), ParseError> {
    match slot {
        Some(old) if *old != v => Err(ParseError::new(
            C_DUP,
            format!("{name} appears twice with different values"),
        )),
        _ => {
            *slot = Some(v);
            Ok(())
        }
    }
}

/// `[RADIUS(<n>) <Code> id=<hex> <Attr value>…]`. The address attributes go to `addrs`, as
/// (attribute, where its value is in `b`), in packet order.
fn packet<'a>(
    b: &'a [u8],
    addrs: &mut Vec<(AddrAttr, Range<usize>)>,
) -> Result<Packet<'a>, ParseError> {
    addrs.clear();
    let bad = |why: &str| ParseError::new(C_PACKET, format!("RADIUS packet line: {why}"));
    let mut r = b
        .strip_prefix(b"[RADIUS")
        .ok_or_else(|| bad("no [RADIUS"))?;
    if let Some(s) = r.strip_prefix(b"(") {
        let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
        r = s[n..]
            .strip_prefix(b")")
            .ok_or_else(|| bad("server number not closed"))?;
    }
    let r = r.strip_prefix(b" ").ok_or_else(|| bad("no packet code"))?;
    let code_end = r
        .iter()
        .position(|&c| c == b' ' || c == b']')
        .unwrap_or(r.len());
    let mut p = Packet {
        accounting_request: &r[..code_end] == b"Accounting-Request",
        ..Packet::default()
    };
    let mut r = &r[code_end..];
    if let Some(s) = r.strip_prefix(b" id=") {
        let n = s.iter().take_while(|c| c.is_ascii_hexdigit()).count();
        r = &s[n..];
    }
    loop {
        if r.starts_with(b"]") {
            p.closed = true;
            return Ok(p);
        }
        let Some(s) = r.strip_prefix(b" <") else {
            if r.iter().all(u8::is_ascii_whitespace) {
                return Ok(p); // cut before the closing bracket
            }
            return Err(bad("attribute not in <Name value> form"));
        };
        let name_end = s.iter().position(|&c| c == b' ' || c == b'>');
        let Some(name_end) = name_end else {
            return Ok(p); // cut inside an attribute name
        };
        let name = &s[..name_end];
        let s = &s[name_end..];
        let (value, rest) = if let Some(v) = s.strip_prefix(b" \"") {
            // An unescaped string: it ends at the `">` followed by the next attribute or the
            // end of the packet.
            let mut from = 0;
            let mut end = None;
            while let Some(q) = find_byte(b'"', &v[from..]) {
                let at = from + q;
                let after = &v[at + 1..];
                if after.starts_with(b"> <") || after.starts_with(b">]") {
                    end = Some(at);
                    break;
                }
                from = at + 1;
            }
            match end {
                Some(e) => (&v[..e], &v[e + 2..]),
                None => return Ok(p), // cut inside a string
            }
        } else if let Some(v) = s.strip_prefix(b" ") {
            match find_byte(b'>', v) {
                Some(e) => (&v[..e], &v[e + 1..]),
                None => return Ok(p),
            }
        } else {
            (&s[..0], &s[1..]) // `<Name>`: an empty value
        };
        match name {
            b"Acct-Status-Type" => set_once(&mut p.status, value, "Acct-Status-Type")?,
            b"User-Name" => set_once(&mut p.user, value, "User-Name")?,
            b"Acct-Session-Id" => set_once(&mut p.session, value, "Acct-Session-Id")?,
            b"NAS-IP-Address" => set_once(&mut p.nas_ip, value, "NAS-IP-Address")?,
            b"NAS-IPv6-Address" => set_once(&mut p.nas_ipv6, value, "NAS-IPv6-Address")?,
            b"NAS-Identifier" => set_once(&mut p.nas_id, value, "NAS-Identifier")?,
            b"Framed-IP-Address" => addrs.push((AddrAttr::FramedIp, span(b, value))),
            b"Framed-IPv6-Address" => addrs.push((AddrAttr::FramedIpv6, span(b, value))),
            b"Framed-IPv6-Prefix" => addrs.push((AddrAttr::FramedIpv6Prefix, span(b, value))),
            b"Delegated-IPv6-Prefix" => addrs.push((AddrAttr::DelegatedIpv6Prefix, span(b, value))),
            _ => {}
        }
        r = rest;
    }
}

fn bad_address(name: &[u8]) -> ParseError {
    ParseError::new(
        C_ADDR,
        format!(
            "{} is not a valid address of its kind",
            String::from_utf8_lossy(name)
        ),
    )
}

fn text<'a>(v: &'a [u8], name: &'static str) -> Result<&'a str, ParseError> {
    std::str::from_utf8(v)
        .map_err(|_| ParseError::new(C_PACKET, format!("{name} is not UTF-8 text")))
}

/// RFC 2865: 0.0.0.0, 255.255.255.254 and 255.255.255.255 are no address anyone was given.
fn usable_v4(a: Ipv4Addr) -> bool {
    !a.is_unspecified()
        && a != Ipv4Addr::new(255, 255, 255, 255)
        && a != Ipv4Addr::new(255, 255, 255, 254)
}

fn target(attr: AddrAttr, v: &[u8]) -> Result<Option<Target>, ParseError> {
    let name = attr.name();
    let s = std::str::from_utf8(v).map_err(|_| bad_address(name))?;
    match attr {
        AddrAttr::FramedIp => {
            let a: Ipv4Addr = s.parse().map_err(|_| bad_address(name))?;
            Ok(usable_v4(a).then(|| Target::host(IpAddr::V4(a))))
        }
        AddrAttr::FramedIpv6 => {
            let a: Ipv6Addr = s.parse().map_err(|_| bad_address(name))?;
            Ok((!a.is_unspecified()).then(|| Target::host(IpAddr::V6(a))))
        }
        AddrAttr::FramedIpv6Prefix | AddrAttr::DelegatedIpv6Prefix => {
            let net: ipnet::Ipv6Net = s.parse().map_err(|_| bad_address(name))?;
            let t = Target::prefix(net);
            Ok((t.plen != 0 && !t.addr.is_unspecified()).then_some(t))
        }
    }
}

enum Status {
    Session(SessionOp),
    Reboot,
    Other,
}

fn status_of(v: &[u8]) -> Status {
    match v {
        b"Start" | b"1" => Status::Session(SessionOp::Start),
        b"Stop" | b"2" => Status::Session(SessionOp::Stop),
        b"Interim-Update" | b"Alive" | b"3" => Status::Session(SessionOp::Interim),
        b"Accounting-On" | b"Accounting-Off" | b"7" | b"8" => Status::Reboot,
        _ => Status::Other,
    }
}

fn nas_of(p: &Packet<'_>) -> Result<String, ParseError> {
    if let Some(v) = p.nas_ip {
        let a: Ipv4Addr = text(v, "NAS-IP-Address")?
            .parse()
            .map_err(|_| bad_address(b"NAS-IP-Address"))?;
        return Ok(a.to_string());
    }
    if let Some(v) = p.nas_ipv6 {
        let a: Ipv6Addr = text(v, "NAS-IPv6-Address")?
            .parse()
            .map_err(|_| bad_address(b"NAS-IPv6-Address"))?;
        return Ok(a.to_string());
    }
    match p.nas_id {
        Some(v) if !v.is_empty() => Ok(text(v, "NAS-Identifier")?.to_string()),
        _ => Err(ParseError::new(
            C_NAS,
            "the packet names no NAS (NAS-IP-Address, NAS-IPv6-Address, NAS-Identifier)",
        )),
    }
}

impl Parser for AccelPpp {
    fn set_reference(&mut self, reference: UnixSecs) {
        self.ctx.reference = reference;
        self.clock.reset();
    }

    fn parse(&mut self, frame: &[u8], out: &mut Vec<Event>) -> Result<(), ParseError> {
        let frame = without_colour(frame);
        let start = frame
            .iter()
            .position(|&c| c != b' ' && c != b'\t')
            .unwrap_or(frame.len());
        let line = &frame[start..];
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let (when, msg) = if dated(line) {
            let (ts, rest) = own_ts(line)?;
            (When::Own(ts), rest)
        } else {
            let s = syslog::split(line);
            if dated(s.msg) {
                let (ts, rest) = own_ts(s.msg)?;
                (When::Own(ts), rest)
            } else {
                (s.time.map_or(When::None, When::Header), s.msg)
            }
        };
        let Some(pk) = packet_start(&self.radius, msg) else {
            return Ok(()); // not a RADIUS packet line: no binding, no proof of logging
        };
        let p = packet(pk, &mut self.addrs)?;
        // Coverage for a packet without binding; a local time in a DST fold or gap drops it,
        // a missing or malformed time is an error.
        let seen = |this: &mut Self, out: &mut Vec<Event>| -> Result<(), ParseError> {
            match this.time(when) {
                Ok(t) => out.push(Event::seen(&this.origin, t, Domain::Address)),
                Err(e) if e.code.starts_with("time.") => {}
                Err(e) => return Err(e),
            }
            Ok(())
        };
        if !p.accounting_request {
            return seen(self, out);
        }
        if !p.closed {
            return Err(ParseError::new(
                C_TRUNC,
                "the Accounting-Request line was cut before its closing bracket (its addresses \
                 come last)",
            ));
        }
        let op = match p.status.map(status_of) {
            Some(Status::Session(op)) => op,
            Some(Status::Reboot) => {
                let nas = self.nas(&p)?;
                let time = self.time(when)?;
                out.push(Event::nas_reboot(&self.origin, time, nas));
                return Ok(());
            }
            Some(Status::Other) | None => return seen(self, out),
        };
        self.targets.clear();
        for (attr, at) in &self.addrs {
            if let Some(t) = target(*attr, &pk[at.clone()])? {
                if !self.targets.contains(&t) {
                    if self.targets.len() >= MAX_ADDRESSES {
                        return Err(ParseError::new(
                            C_LONG,
                            format!("the packet carries more than {MAX_ADDRESSES} addresses"),
                        ));
                    }
                    self.targets.push(t);
                }
            }
        }
        if self.targets.is_empty() {
            return seen(self, out); // no address assigned (yet)
        }
        let subscriber = match p.user {
            Some(v) if !v.is_empty() => text(v, "User-Name")?.to_string(),
            _ => {
                return Err(ParseError::new(
                    C_USER,
                    "an accounting packet with an address has no User-Name",
                ))
            }
        };
        let session = match p.session {
            Some(v) if !v.is_empty() => text(v, "Acct-Session-Id")?.to_string(),
            _ => {
                return Err(ParseError::new(
                    C_SESSION,
                    "an accounting packet with an address has no Acct-Session-Id",
                ))
            }
        };
        let nas = self.nas(&p)?;
        let time = self.time(when)?;
        // The last event takes the strings, the others copies (most packets have one address).
        let (&last, rest) = self.targets.split_last().expect("not empty");
        for &t in rest {
            out.push(Event::session(
                &self.origin,
                op,
                time,
                subscriber.clone(),
                session.clone(),
                t,
                nas.clone(),
            ));
        }
        out.push(Event::session(
            &self.origin,
            op,
            time,
            subscriber,
            session,
            last,
            nas,
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::events::to_line;
    use proptest::prelude::*;

    fn ctx() -> Context {
        let mut c = Context::new("test", 1_798_848_000); // 2027-01-02T00:00:00Z
        c.tz = Some("Europe/Stockholm".parse().unwrap());
        c
    }

    fn one(line: &str) -> Result<Vec<String>, &'static str> {
        let mut p = AccelPpp::new(&ctx());
        let mut out = Vec::new();
        p.parse(line.as_bytes(), &mut out)
            .map(|_| out.iter().map(to_line).collect())
            .map_err(|e| e.code)
    }

    fn code(line: &str) -> &'static str {
        one(line).unwrap_err()
    }

    /// The Start of openwrt/luci#8817's accel-ppp.log, then the same packet as the syslog and
    /// the debug-file writers frame it.
    const START: &str = r#"send [RADIUS(1) Accounting-Request id=1 <User-Name "user1"> <NAS-Identifier "accel-ppp"> <NAS-Port 1> <NAS-Port-Id "ppp1"> <NAS-Port-Type Virtual> <Service-Type Framed-User> <Framed-Protocol PPP> <Calling-Station-Id "d4:01:c3:1c:3b:ec"> <Called-Station-Id "4a:79:d4:82:6e:5b"> <Acct-Status-Type Start> <Acct-Authentic RADIUS> <Acct-Session-Id "4d469f0130004acd"> <Acct-Session-Time 0> <Acct-Input-Octets 0> <Acct-Output-Octets 0> <Acct-Input-Packets 0> <Acct-Output-Packets 0> <Acct-Input-Gigawords 0> <Acct-Output-Gigawords 0> <Framed-IP-Address 10.99.0.2>]"#;

    #[test]
    fn an_accounting_start_in_every_framing() {
        let want = r#"{"kind":"session","op":"start","time":"2026-07-10T18:44:36Z","subscriber":"user1","session":"4d469f0130004acd","addr":"10.99.0.2","nas":"accel-ppp","source":"test"}"#;
        for l in [
            format!("[2026-07-10 20:44:36]:  info: ppp1: {START}"),
            format!("\x1b[1;32m[2026-07-10 20:44:36]:  info: ppp1: \x1b[0m{START}"),
            format!("[2026-07-10 20:44:36.120] ppp1: 4d469f0130004acd: {START}"),
            format!("Jul 10 20:44:36 bras accel-pppd: ppp1:user1: {START}"),
            format!("<30>1 2026-07-10T18:44:36Z bras accel-pppd - - - ppp1:user1: {START}"),
        ] {
            assert_eq!(one(&l), Ok(vec![want.to_string()]), "{l}");
        }
    }

    #[test]
    fn stop_interim_ipv6_and_reboot() {
        let t = "[2026-11-21 11:00:00]:  info: ppp9: ";
        let stop = r#"send [RADIUS(1) Accounting-Request id=2 <User-Name "alice"> <NAS-IP-Address 192.0.2.1> <Acct-Status-Type Stop> <Acct-Session-Id "a1"> <Framed-IP-Address 100.64.0.9> <Framed-IPv6-Prefix 2001:db8:1:2::/64> <Delegated-IPv6-Prefix 2001:db8:100::/56> <Delegated-IPv6-Prefix 2001:db8:100::/56> <Acct-Terminate-Cause User-Request>]"#;
        let got = one(&format!("{t}{stop}")).unwrap();
        let base = r#""time":"2026-11-21T10:00:00Z","subscriber":"alice","session":"a1""#;
        assert_eq!(
            got,
            vec![
                format!(
                    r#"{{"kind":"session","op":"stop",{base},"addr":"100.64.0.9","nas":"192.0.2.1","source":"test"}}"#
                ),
                format!(
                    r#"{{"kind":"session","op":"stop",{base},"addr":"2001:db8:1:2::/64","nas":"192.0.2.1","source":"test"}}"#
                ),
                format!(
                    r#"{{"kind":"session","op":"stop",{base},"addr":"2001:db8:100::/56","nas":"192.0.2.1","source":"test"}}"#
                ),
            ]
        );
        let interim = r#"send [RADIUS(1) Accounting-Request id=3 <User-Name "alice"> <NAS-Identifier "bng1"> <Acct-Status-Type Interim-Update> <Acct-Session-Id "a1"> <Framed-IP-Address 100.64.0.9>]"#;
        assert!(one(&format!("{t}{interim}")).unwrap()[0].contains(r#""op":"interim""#));
        let on = r#"send [RADIUS(1) Accounting-Request id=4 <NAS-IP-Address 192.0.2.1> <Acct-Status-Type Accounting-On> <Acct-Session-Id "x">]"#;
        assert_eq!(
            one(&format!("[2026-11-21 11:00:00]:  info: {on}")),
            Ok(vec![r#"{"kind":"nas_reboot","time":"2026-11-21T10:00:00Z","nas":"192.0.2.1","source":"test"}"#.to_string()])
        );
    }

    #[test]
    fn other_packets_mark_coverage_and_other_lines_yield_nothing() {
        let seen =
            r#"{"kind":"seen","time":"2026-07-10T18:44:36Z","domain":"address","source":"test"}"#;
        for l in [
            "[2026-07-10 20:44:36]:  info: ppp1: recv [RADIUS(1) Accounting-Response id=1]",
            "[2026-07-10 20:44:36]:  info: recv [RADIUS(1) Accounting-Response id=2]",
            r#"[2026-07-10 20:44:36]:  info: lan1: send [RADIUS(1) Access-Request id=1 <Message-Authenticator 0x00000000000000000000000000000000> <User-Name "user1"> <NAS-Identifier "accel-ppp"> <NAS-Port-Type Virtual>]"#,
            // Start before an address was assigned; a status tdr does not bind.
            r#"[2026-07-10 20:44:36]:  info: ppp1: send [RADIUS(1) Accounting-Request id=1 <User-Name "u"> <Acct-Status-Type Start> <Acct-Session-Id "s"> <NAS-Identifier "n">]"#,
            r#"[2026-07-10 20:44:36]:  info: ppp1: send [RADIUS(1) Accounting-Request id=1 <User-Name "u"> <Acct-Status-Type Failed> <Acct-Session-Id "s"> <Framed-IP-Address 10.0.0.1>]"#,
            // A cut Access-Request still shows verbose logging.
            r#"[2026-07-10 20:44:36]:  info: lan1: send [RADIUS(1) Access-Request id=1 <User-Name "us"#,
        ] {
            assert_eq!(one(l), Ok(vec![seen.to_string()]), "{l}");
        }
        for l in [
            "",
            "[2026-07-10 20:37:00]:  warn: failed to load vlan_mon module",
            "[2026-07-10 20:37:00]: error: genl: error talking to kernel",
            "[2022-10-06 16:51:26]:  info: ppp79: alice@example.net: authentication succeeded",
            "[2022-10-06 16:51:26]:  info: ppp79: disconnected",
            "Jul 10 20:44:36 bras accel-pppd: ppp1:user1: connect: ppp1 <--> pppoe(d4:01:c3:1c:3b:ec)",
            // An Access-Accept in a DST fold: its coverage is dropped.
            "[2026-10-25 02:30:00]:  info: ppp1: recv [RADIUS(1) Access-Accept id=1]",
        ] {
            assert_eq!(one(l), Ok(vec![]), "{l}");
        }
    }

    #[test]
    fn strings_may_hold_quotes_and_brackets() {
        let l = r#"[2026-11-21 11:00:00]:  info: ppp1: send [RADIUS(1) Accounting-Request id=1 <User-Name "we"ird> <x"> <NAS-Identifier "n"> <Acct-Status-Type Start> <Acct-Session-Id "s"> <Framed-IP-Address 10.0.0.1>]"#;
        let got = one(l).unwrap();
        assert!(got[0].contains(r#""subscriber":"we\"ird> <x""#), "{got:?}");
    }

    #[test]
    fn each_error_code() {
        let t = "[2026-11-21 11:00:00]:  info: ppp1: ";
        let acct = |attrs: &str| format!("{t}send [RADIUS(1) Accounting-Request id=1 {attrs}]");
        assert_eq!(
            code(&acct(
                r#"<NAS-Identifier "n"> <Acct-Status-Type Start> <Acct-Session-Id "s"> <Framed-IP-Address 10.0.0.1>"#
            )),
            C_USER
        );
        assert_eq!(
            code(&acct(
                r#"<User-Name "u"> <NAS-Identifier "n"> <Acct-Status-Type Start> <Framed-IP-Address 10.0.0.1>"#
            )),
            C_SESSION
        );
        assert_eq!(
            code(&acct(
                r#"<User-Name "u"> <Acct-Status-Type Start> <Acct-Session-Id "s"> <Framed-IP-Address 10.0.0.1>"#
            )),
            C_NAS
        );
        assert_eq!(
            code(&acct(
                r#"<User-Name "u"> <NAS-Identifier "n"> <Acct-Status-Type Start> <Acct-Session-Id "s"> <Framed-IP-Address 10.0.0.300>"#
            )),
            C_ADDR
        );
        assert_eq!(
            code(&acct(
                r#"<User-Name "u"> <User-Name "v"> <Acct-Status-Type Start>"#
            )),
            C_DUP
        );
        assert_eq!(
            code(&format!(
                r#"{t}send [RADIUS(1) Accounting-Request id=1 <User-Name "u"> <Acct-Status-Type Start> <Acct-Sess"#
            )),
            C_TRUNC
        );
        assert_eq!(
            code(&format!("{t}send [RADIUS(1) Accounting-Request id=1 junk]")),
            C_PACKET
        );
        assert_eq!(code(&format!("{t}send [RADIUSx")), C_PACKET);
        assert_eq!(
            code("[2026-13-21 11:00:00]:  info: ppp1: recv [RADIUS(1) Accounting-Response id=1]"),
            C_TS
        );
        assert_eq!(code("[2026-11-21 11:00]:  info: ppp1: x"), C_TS);
        assert_eq!(
            code("ppp1:user1: recv [RADIUS(1) Accounting-Response id=1]"),
            C_NO_TIME
        );
        assert_eq!(
            code(&format!(r#"[2026-03-29 02:30:00]:  info: ppp1: {START}"#)),
            "time.nonexistent_local"
        );
        // Reasons never carry the line's data.
        let mut p = AccelPpp::new(&ctx());
        let e = p
            .parse(acct(r#"<User-Name "secret-user"> <NAS-Identifier "n"> <Acct-Status-Type Start> <Acct-Session-Id "s"> <Framed-IP-Address 10.0.0.300>"#).as_bytes(), &mut Vec::new())
            .unwrap_err();
        assert!(
            !e.reason.contains("secret") && !e.reason.contains("10.0.0"),
            "{e}"
        );
    }

    /// Resolving a timestamp through the hour cache gives what resolving it alone gives, in
    /// hours with a DST change (whole, half-hour, southern) and around them.
    #[test]
    fn the_hour_cache_agrees_with_each_second_resolved_alone() {
        for (zone, days) in [
            ("Europe/Stockholm", ["2026-03-29", "2026-10-25"]),
            ("Australia/Lord_Howe", ["2026-04-05", "2026-10-04"]),
            ("America/St_Johns", ["2026-03-08", "2026-11-01"]),
        ] {
            let tz: Tz = zone.parse().unwrap();
            let mut c = ctx();
            c.tz = Some(tz);
            let mut p = AccelPpp::new(&c);
            for day in days {
                for h in 0..24 {
                    for m in (0..60).step_by(7).chain([59]) {
                        for s in [0, 31, 59, 60] {
                            let text = format!("{day} {h:02}:{m:02}:{s:02}");
                            let ts: [u8; 19] = text.as_bytes().try_into().unwrap();
                            assert_eq!(
                                p.time(When::Own(ts)),
                                own_time(Some(tz), &ts),
                                "{zone} {text}"
                            );
                        }
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut p = AccelPpp::new(&ctx());
            let _ = p.parse(&bytes, &mut Vec::new());
        }

        #[test]
        fn packet_soup_never_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec!["[2026-11-21 11:00:00]:  info: ", "ppp1: ", "send ", "[RADIUS(1) ",
                "Accounting-Request", " id=1", " <User-Name ", "\"u\"", ">", " <Acct-Status-Type Start>",
                " <Framed-IP-Address 10.0.0.1>", " <Acct-Session-Id \"s\">", "]", "\"", "\x1b[0m", "\u{e9}", " "]), 0..20)) {
            let mut p = AccelPpp::new(&ctx());
            let _ = p.parse(parts.concat().as_bytes(), &mut Vec::new());
        }

        /// A Start printed the way rad_packet_print prints it, parsed back.
        #[test]
        fn start_round_trip(ip in 1u32..0xffff_fffe, user in "[a-z0-9@.]{1,30}", sid in "[0-9a-f]{16}",
                            secs in 1_700_000_000i64..1_798_000_000) {
            let t = chrono::DateTime::from_timestamp(secs, 0).unwrap();
            let line = format!(
                "[{}]:  info: ppp3: send [RADIUS(1) Accounting-Request id=7 <User-Name \"{user}\"> <NAS-Identifier \"accel-ppp\"> <Acct-Status-Type Start> <Acct-Session-Id \"{sid}\"> <Framed-IP-Address {}>]",
                t.format("%Y-%m-%d %H:%M:%S"), Ipv4Addr::from(ip)
            );
            let mut c = ctx();
            c.tz = Some(Tz::UTC);
            let mut p = AccelPpp::new(&c);
            let mut out = Vec::new();
            p.parse(line.as_bytes(), &mut out).unwrap();
            match out.as_slice() {
                [Event::Session { op, time, subscriber, session, target, nas, .. }] => {
                    prop_assert_eq!(*op, SessionOp::Start);
                    prop_assert_eq!(*time, secs);
                    prop_assert_eq!(subscriber, &user);
                    prop_assert_eq!(session, &sid);
                    prop_assert_eq!(target.ip(), IpAddr::V4(Ipv4Addr::from(ip)));
                    prop_assert_eq!(nas, "accel-ppp");
                }
                [] => prop_assert!(!usable_v4(Ipv4Addr::from(ip))),
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
