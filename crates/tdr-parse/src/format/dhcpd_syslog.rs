//! dhcpd-syslog: ISC dhcpd (DHCPv4) log lines, one per line, as syslogd, rsyslog or journald
//! write them: `[<PRI>]Mmm dd hh:mm:ss host dhcpd[pid]: <message>`, an RFC 5424 header, an
//! rsyslog RFC 3339 file header, or no header (see [`crate::common::syslog::split`]).
//!
//! Producer: isc-projects/dhcp `server/dhcp.c` (`dhcpdiscover`, `dhcprequest`, `dhcprelease`,
//! `dhcpdecline`, `dhcpinform`, `nak_lease`, `dhcp_reply`) and `server/bootp.c`:
//!
//! ```text
//! DHCPDISCOVER from <hw> [(<hostname>) ]via <iface|giaddr>[: <reason>]
//! DHCPOFFER on <ip> to <hw> [(<hostname>) ]via <iface|giaddr>
//! DHCPREQUEST for <ip>[ (<server-id>)] from <hw> [(<hostname>) ]via <iface|giaddr>[: <reason>]
//! DHCPACK on <ip> to <hw> [(<hostname>) ]via <iface|giaddr>
//! DHCPNAK on <ip> to <hw> via <iface|giaddr>
//! DHCPRELEASE of <ip> from <hw> [(<hostname>) ]via <iface|giaddr> (found|not found)
//! DHCPDECLINE of <ip> from <hw> [(<hostname>) ]via <iface|giaddr>: <status>
//! DHCPINFORM from <ip> via <iface|giaddr>   /   DHCPACK to <ip> (<hw>) via <iface>
//! BOOTREQUEST from <hw> via <x>   /   BOOTREPLY on <ip> to <hw> via <x>
//! DHCP4o6 <any of the above>            (via = the client's IPv6 address)
//! ```
//!
//! `<hw>` is `print_hw_addr()` (hex octets, zero-padded since 3.x, unpadded `0:1b:…` before),
//! or, for clients without a hardware address, the client identifier as `print_hex_1()` prints
//! it: colon hex, or the bytes in double quotes when all are printable (truncated to 57 bytes,
//! 58 in old versions; 4.4 prints nothing for ids over 20 bytes, older versions cut them at 20),
//! or `<no identifier>`. The hostname is any printable text (spaces and parentheses included):
//! it is skipped up to the `) via ` that ends it, never split on spaces. Infoblox prefixes the
//! message with its severity (`info `) and rsyslog may add a facility token before the host.
//!
//! Time: the syslog header's time. RFC 3164 headers carry neither year nor zone: the stream's
//! zone (`--tz`) applies and the year is the latest one that puts the line at or before the
//! stream's reference time (a December line read in January is last year's). RFC 5424 and
//! RFC 3339 headers carry their offset.
//!
//! Events: `DHCPACK on` → `Lease` with `expires = time + lease time` (the log does not say the
//! lease time: `ctx.lease_time`, default dhcpd's 43 200 s). The op is `Assign` when the ACK
//! answers a client in SELECTING state, i.e. a new lease (RFC 2131 §4.3.2): a
//! `DHCPREQUEST … (<server-id>)` or a `DHCPOFFER` for the same address and identifier no more
//! than 60 s before; otherwise (renewing, rebinding, INIT-REBOOT) `Renew`. That needs a little
//! per-stream state: address → (identifier, time) of the last OFFER or SELECTING REQUEST,
//! bounded to 65 536 entries (oldest evicted); an ACK, NAK, DECLINE, RELEASE or non-selecting
//! REQUEST for the address clears it. `DHCPRELEASE … (found)` → `Release`; `(not found)`
//! changed nothing in dhcpd and yields only coverage (below). Subscriber: the MAC normalised
//! (`aa:bb:cc:dd:ee:ff`); a client identifier as `id:` + its octets in colon hex (the form the
//! dhcpd-leases parser gives a `uid`). A six-octet client identifier printed in hex cannot be
//! told from a MAC and is taken as one.
//!
//! `DHCPDECLINE` of a named client → `Release` (the decliner's lease ends).
//!
//! Coverage: every other dhcpd message (DISCOVER, OFFER, REQUEST, NAK, INFORM, a DECLINE
//! without identifier, `RELEASE … (not found)`, BOOTP, DDNS, start-up and failover chatter,
//! `Abandoning IP address`, `no free leases`, `Wrote N leases`, `last message repeated`,
//! DHCPv6 exchanges of `dhcpd -6`) carries no binding but shows that dhcpd was logging at the
//! header's time: it yields one `Seen` (domain address), so a lookup near it is answered from
//! the data instead of `no_coverage`. It must still parse as what it is: an unknown or
//! malformed dhcpd message is an error, not a `Seen`. A header time that does not resolve (a
//! DST fold) gives such a line no `Seen` and no error (it used to be accepted). Lines of
//! other programs (another TAG) yield nothing: they say nothing about dhcpd.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_while1};
use nom::combinator::{map, map_opt, opt, value};
use nom::sequence::{delimited, tuple};
use nom::IResult;

use crate::common::bytes::find;
use crate::common::ident::{format_hex, normalize_hex_id, normalize_mac};
use crate::common::syslog::{self, HeaderTime};
use crate::model::{Domain, Event, LeaseOp, Origin, Target, UnixSecs};
use crate::{Context, ParseError, Parser};

/// dhcpd's `default-lease-time` when none is configured.
const DEFAULT_LEASE_TIME: u32 = 43_200;
/// Bound on the per-stream OFFER/REQUEST memory.
const PENDING_CAP: usize = 65_536;
/// How long before its ACK a SELECTING REQUEST or OFFER makes the ACK a new lease.
const SELECTING_WINDOW: i64 = 60;
/// `print_hex_1()` quotes at most 57 (58 before 4.x) bytes of a printable client id: a quoted
/// id this long may have been cut.
const QUOTED_ID_LIMIT: usize = 57;
/// `print_hex_1()` of old versions cut hex ids at 20 octets (4.4 prints none over 20).
const HEX_ID_LIMIT: usize = 20;

pub struct DhcpdSyslog {
    ctx: Context,
    origin: Origin,
    lease_time: i64,
    pending: Pending,
    /// The last header time resolved and its result (lines come in bursts per second).
    time_cache: Option<(HeaderTime, Result<UnixSecs, ParseError>)>,
    /// The last RFC 3164 (month, day, hour) looked at, and `base` when every second of it
    /// maps to `base + mm * 60 + ss` (the same year and UTC offset throughout).
    hour_cache: Option<((u32, u32, u32), Option<UnixSecs>)>,
}

impl DhcpdSyslog {
    pub fn new(ctx: &Context) -> Self {
        DhcpdSyslog {
            ctx: ctx.clone(),
            origin: ctx.origin(),
            lease_time: i64::from(ctx.lease_time.unwrap_or(DEFAULT_LEASE_TIME)),
            pending: Pending::default(),
            time_cache: None,
            hour_cache: None,
        }
    }

    fn time(&mut self, ht: HeaderTime) -> Result<UnixSecs, ParseError> {
        if let Some((k, r)) = &self.time_cache {
            if *k == ht {
                return r.clone();
            }
        }
        if let HeaderTime::NoYear {
            month,
            day,
            hms: (h, m, s),
        } = ht
        {
            if s < 60 {
                if let Some(base) = self.hour_base(month, day, h) {
                    return Ok(base + i64::from(m * 60 + s));
                }
            }
        }
        let r = ht.resolve(&self.ctx);
        self.time_cache = Some((ht, r.clone()));
        r
    }

    /// The UTC time of `hh:00:00` on that day when all of the hour resolves with one year and
    /// one offset (its first and last second are exactly 3599 s apart, and the same hour a
    /// year later is past the reference, so no second of it could pick a later year).
    fn hour_base(&mut self, month: u32, day: u32, hour: u32) -> Option<UnixSecs> {
        if let Some((k, base)) = self.hour_cache {
            if k == (month, day, hour) {
                return base;
            }
        }
        let at = |m, s| {
            HeaderTime::NoYear {
                month,
                day,
                hms: (hour, m, s),
            }
            .resolve(&self.ctx)
            .ok()
        };
        let limit = self.ctx.reference.saturating_add(86_400);
        let base = match (at(0, 0), at(59, 59)) {
            (Some(t0), Some(t1)) if t1 - t0 == 3599 && t0 + 364 * 86_400 > limit => Some(t0),
            _ => None,
        };
        self.hour_cache = Some(((month, day, hour), base));
        base
    }

    fn lease(&self, op: LeaseOp, time: UnixSecs, subscriber: String, ip: Ipv4Addr) -> Event {
        let expires = matches!(op, LeaseOp::Assign | LeaseOp::Renew)
            .then(|| time.saturating_add(self.lease_time));
        let target = Target::host(IpAddr::V4(ip));
        Event::lease(&self.origin, op, time, subscriber, target, expires)
    }
}

/// Address → the identifier and time of its last OFFER or SELECTING REQUEST.
#[derive(Default)]
struct Pending {
    map: HashMap<u32, (HwKey, UnixSecs, u64)>,
    /// Insertion order, for eviction; may hold stale (overwritten) entries, bounded too.
    order: VecDeque<(u32, u64)>,
    seq: u64,
}

impl Pending {
    fn insert(&mut self, ip: Ipv4Addr, hw: HwKey, time: UnixSecs) {
        let key = u32::from(ip);
        self.seq += 1;
        self.map.insert(key, (hw, time, self.seq));
        self.order.push_back((key, self.seq));
        while self.map.len() > PENDING_CAP || self.order.len() > 2 * PENDING_CAP {
            let Some((k, s)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&k).is_some_and(|e| e.2 == s) {
                self.map.remove(&k);
            }
        }
    }

    fn take(&mut self, ip: Ipv4Addr) -> Option<(HwKey, UnixSecs)> {
        self.map.remove(&u32::from(ip)).map(|(hw, t, _)| (hw, t))
    }

    fn remove(&mut self, ip: Ipv4Addr) {
        self.map.remove(&u32::from(ip));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

/// How a message names the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hw<'a> {
    /// Hex octets (a hardware address or a hex client id); empty when dhcpd printed nothing.
    Text(&'a [u8]),
    /// A printable client id, without its quotes.
    Quoted(&'a [u8]),
    /// `<no identifier>` (or `<null>` of old versions).
    None,
}

/// An identifier as written (kind and bytes), to compare an ACK with the OFFER/REQUEST
/// before it without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HwKey {
    len: u8,
    buf: [u8; 63],
}

impl Hw<'_> {
    /// `None` for no identifier or one too long to remember (its ACK is then a `Renew`).
    fn key(&self) -> Option<HwKey> {
        let (kind, bytes) = match self {
            Hw::Text(t) => (b't', *t),
            Hw::Quoted(q) => (b'q', *q),
            Hw::None => return None,
        };
        let mut k = HwKey {
            len: 0,
            buf: [0; 63],
        };
        let n = bytes.len() + 1;
        if n > k.buf.len() {
            return None;
        }
        k.buf[0] = kind;
        k.buf[1..n].copy_from_slice(bytes);
        k.len = n as u8;
        Some(k)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Msg<'a> {
    Ack {
        ip: Ipv4Addr,
        hw: Hw<'a>,
    },
    Offer {
        ip: Ipv4Addr,
        hw: Hw<'a>,
    },
    Request {
        ip: Ipv4Addr,
        selecting: bool,
        hw: Hw<'a>,
    },
    Release {
        ip: Ipv4Addr,
        hw: Hw<'a>,
        found: bool,
    },
    /// NAK: the address is not being handed out.
    Forget {
        ip: Ipv4Addr,
    },
    /// The client refused the address it was just given (another device answers on it): its
    /// lease ends here, or a lookup in the next hours would name a client that never used
    /// the address.
    Decline {
        ip: Ipv4Addr,
        hw: Hw<'a>,
    },
    /// A well-formed message without a binding.
    Nothing,
}

type Res<'a, T> = IResult<&'a [u8], T>;

fn fail<T>(i: &[u8]) -> Res<'_, T> {
    Err(nom::Err::Error(nom::error::Error::new(
        i,
        nom::error::ErrorKind::Verify,
    )))
}

/// A dotted quad as `inet_ntoa()`/`piaddr()` print it.
fn ipv4(i: &[u8]) -> Res<'_, Ipv4Addr> {
    map_opt(
        take_while1(|c: u8| c.is_ascii_digit() || c == b'.'),
        |s: &[u8]| std::str::from_utf8(s).ok()?.parse().ok(),
    )(i)
}

/// A quoted client id: up to the quote that is followed by the rest of the message.
fn quoted_hw(i: &[u8]) -> Res<'_, Hw<'_>> {
    let (body, _) = tag("\"")(i)?;
    let mut from = 0;
    while let Some(q) = body[from..].iter().position(|&c| c == b'"') {
        let at = from + q;
        let after = &body[at + 1..];
        if after.starts_with(b" via ") || after.starts_with(b" (") {
            return Ok((after, Hw::Quoted(&body[..at])));
        }
        from = at + 1;
    }
    fail(i)
}

fn hw(i: &[u8]) -> Res<'_, Hw<'_>> {
    alt((
        value(Hw::None, tag("<no identifier>")),
        value(Hw::None, tag("<null>")),
        quoted_hw,
        map(take_till(|c| c == b' '), Hw::Text),
    ))(i)
}

/// ` [(<hostname>) ]via ` after the identifier; returns what follows `via `. The hostname is
/// any printable text, so it ends at the first `) via `.
fn via(i: &[u8]) -> Res<'_, ()> {
    let (r, _) = tag(" ")(i)?;
    if let Some(rest) = r.strip_prefix(b"via ") {
        return Ok((rest, ()));
    }
    if r.starts_with(b"(") {
        if let Some(p) = find(r, b") via ") {
            return Ok((&r[p + 6..], ()));
        }
    }
    fail(i)
}

fn ack(i: &[u8]) -> Res<'_, Msg<'_>> {
    map(
        tuple((tag("DHCPACK on "), ipv4, tag(" to "), hw, via)),
        |(_, ip, _, hw, _)| Msg::Ack { ip, hw },
    )(i)
}

fn inform_ack(i: &[u8]) -> Res<'_, Msg<'_>> {
    value(Msg::Nothing, tuple((tag("DHCPACK to "), ipv4, tag(" ("))))(i)
}

fn offer(i: &[u8]) -> Res<'_, Msg<'_>> {
    map(
        tuple((tag("DHCPOFFER on "), ipv4, tag(" to "), hw, via)),
        |(_, ip, _, hw, _)| Msg::Offer { ip, hw },
    )(i)
}

fn request(i: &[u8]) -> Res<'_, Msg<'_>> {
    map(
        tuple((
            tag("DHCPREQUEST for "),
            ipv4,
            opt(delimited(tag(" ("), ipv4, tag(")"))),
            tag(" from "),
            hw,
            via,
        )),
        |(_, ip, sid, _, hw, _)| Msg::Request {
            ip,
            selecting: sid.is_some(),
            hw,
        },
    )(i)
}

fn release(i: &[u8]) -> Res<'_, Msg<'_>> {
    let (rest, (_, ip, _, hw, _)) =
        tuple((tag("DHCPRELEASE of "), ipv4, tag(" from "), hw, via))(i)?;
    let found = if rest.ends_with(b" (found)") {
        true
    } else if rest.ends_with(b" (not found)") {
        false
    } else {
        return fail(rest);
    };
    Ok((&rest[rest.len()..], Msg::Release { ip, hw, found }))
}

fn nak(i: &[u8]) -> Res<'_, Msg<'_>> {
    map(
        tuple((tag("DHCPNAK on "), ipv4, tag(" to "), hw, via)),
        |(_, ip, _, _, _)| Msg::Forget { ip },
    )(i)
}

fn decline(i: &[u8]) -> Res<'_, Msg<'_>> {
    map(
        tuple((tag("DHCPDECLINE of "), ipv4, tag(" from "), hw, via)),
        |(_, ip, _, hw, _)| Msg::Decline { ip, hw },
    )(i)
}

fn discover(i: &[u8]) -> Res<'_, Msg<'_>> {
    value(Msg::Nothing, tuple((tag("DHCPDISCOVER from "), hw, via)))(i)
}

fn inform(i: &[u8]) -> Res<'_, Msg<'_>> {
    value(
        Msg::Nothing,
        tuple((tag("DHCPINFORM from "), ipv4, tag(" via "))),
    )(i)
}

fn bootp(i: &[u8]) -> Res<'_, Msg<'_>> {
    alt((
        value(Msg::Nothing, tuple((tag("BOOTREQUEST from "), hw, via))),
        value(
            Msg::Nothing,
            tuple((tag("BOOTREPLY on "), ipv4, tag(" to "), hw, via)),
        ),
    ))(i)
}

/// `<TYPE> from <hw> via <x>: <why>` (a packet dhcpd refused before looking at it, e.g.
/// `unknown network segment`), `DHCPRELEASE from <hw> specified requested-address.`, and the
/// leasequery family.
fn other_dhcp(i: &[u8]) -> Res<'_, Msg<'_>> {
    alt((
        value(
            Msg::Nothing,
            tuple((
                alt((tag("DHCP"), tag("type "))),
                take_while1(|c: u8| c.is_ascii_alphanumeric()),
                tag(" from "),
            )),
        ),
        value(Msg::Nothing, tag("DHCPLEASE")),
    ))(i)
}

fn dhcp_message(i: &[u8]) -> Res<'_, Msg<'_>> {
    alt((
        ack, inform_ack, offer, request, release, nak, decline, discover, inform, bootp, other_dhcp,
    ))(i)
}

/// Informational dhcpd messages without a binding (start-up, DDNS, failover, lease file,
/// pool and configuration warnings, DHCPv6 exchanges).
const INFO_PREFIXES: &[&[u8]] = &[
    b"Abandoning IP address ",
    b"Wrote ",
    b"Added new forward map ",
    b"Added reverse map ",
    b"Removed forward map ",
    b"Removed reverse map ",
    b"Forward map from ",
    b"Reverse map from ",
    b"DDNS",
    b"ddns",
    b"last message repeated ",
    b"message repeated ",
    b"Internet Systems Consortium DHCP Server",
    b"Internet Software Consortium DHCP Server",
    b"Copyright ",
    b"All rights reserved.",
    b"For info, please visit ",
    b"Config file: ",
    b"Database file: ",
    b"PID file: ",
    b"Listening on ",
    b"Sending on ",
    b"Server starting service.",
    b"Server shutting down",
    b"Received signal ",
    b"Source compiled to use binary-leases",
    b"Not searching LDAP",
    b"No subnet declaration for ",
    b"No subnet6 declaration for ",
    b"** Ignoring requests on ",
    b"Ignoring requests on ",
    b"you want, please write a subnet",
    b"in your dhcpd.conf file for the network segment",
    b"to which interface ",
    b"Not configured to listen on any interfaces",
    b"Multiple interfaces match ",
    b"uid lease ",
    b"client ",
    b"ICMP Echo reply while lease ",
    b"Dynamic and static leases present for ",
    b"Remove host declaration ",
    b"from the dynamic address pool for ",
    b"reuse_lease: ",
    b"Packet from unknown subnet",
    b"DHCP4o6 packet from unknown subnet",
    b"delayed ack for ",
    b"balancing pool ",
    b"balanced pool ",
    b"pool ",
    b"failover peer ",
    b"peer ",
    b"bind update on ",
    b"Sent update",
    b"Update request ",
    b"Failover ",
    b"failover: ",
    b"execute_statement ",
    b"execute: ",
    b"write_lease: ",
    b"write_ia: ",
    b"commit_leases: ",
    b"Can't ",
    b"Unable to ",
    b"Solicit message from ",
    b"Request message from ",
    b"Renew message from ",
    b"Rebind message from ",
    b"Release message from ",
    b"Confirm message from ",
    b"Decline message from ",
    b"Information-request message from ",
    b"Relay-forward message from ",
    b"Advertise ",
    b"Reply ",
    b"Sending ",
    b"Picking pool address ",
    b"Reuse lease ",
    b"Discarding ",
];

/// Syslog severity words some appliances put before the message (`info DHCPACK …`).
const SEVERITIES: &[&[u8]] = &[b"info", b"notice", b"warning", b"err", b"debug", b"crit"];

fn strip_prefixes(mut m: &[u8]) -> &[u8] {
    for sev in SEVERITIES {
        if let Some(r) = m.strip_prefix(*sev) {
            if let Some(r) = r.strip_prefix(b": ").or_else(|| r.strip_prefix(b" ")) {
                m = r;
                break;
            }
        }
    }
    m.strip_prefix(b"DHCP4o6 ").unwrap_or(m)
}

fn classify(body: &[u8]) -> Result<Msg<'_>, ParseError> {
    if body.starts_with(b"DHCP") || body.starts_with(b"BOOT") || body.starts_with(b"type ") {
        return match dhcp_message(body) {
            Ok((_, m)) => Ok(m),
            Err(_) if INFO_PREFIXES.iter().any(|p| body.starts_with(p)) => Ok(Msg::Nothing),
            Err(_) => Err(ParseError::new(
                "parse.dhcpd_syslog.bad_message",
                "malformed dhcpd message (address, identifier or `via` not where expected)",
            )),
        };
    }
    if INFO_PREFIXES.iter().any(|p| body.starts_with(p)) {
        return Ok(Msg::Nothing);
    }
    Err(ParseError::new(
        "parse.dhcpd_syslog.unknown_message",
        "not a message dhcpd is known to log",
    ))
}

/// A TAG token: `name:` or `name[pid]:`.
fn tag_token(tok: &[u8]) -> Option<&str> {
    let t = tok.strip_suffix(b":")?;
    if t.is_empty() || !t.iter().all(|&c| c.is_ascii_graphic() && c != b':') {
        return None;
    }
    let app = match t.iter().position(|&c| c == b'[') {
        Some(i) if t.ends_with(b"]") => &t[..i],
        _ => t,
    };
    std::str::from_utf8(app).ok()
}

/// The program and message, also for rsyslog lines with a facility before the host
/// (`2016-06-27T00:32:22-07:00 local6 host dhcpd[1]: …`), which the generic header split
/// leaves as message.
fn program<'a>(s: &syslog::Syslog<'a>) -> (Option<&'a str>, &'a [u8]) {
    if s.app.is_none() && s.host.is_some() {
        let m = s.msg;
        if let Some(sp) = m.iter().position(|&c| c == b' ') {
            let rest = &m[sp + 1..];
            let end = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
            if tag_token(&m[..sp]).is_none() {
                if let Some(app) = tag_token(&rest[..end]) {
                    let msg = &rest[end..];
                    let msg = msg.strip_prefix(b" ").unwrap_or(msg);
                    return (Some(app), msg);
                }
            }
        }
    }
    (s.app, s.msg)
}

/// `aa:bb:cc:dd:ee:ff` (also unpadded, any case) normalised without intermediate strings.
fn mac_fast(t: &[u8]) -> Option<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(17);
    let mut groups = 0;
    for part in t.split(|&c| c == b':') {
        if part.is_empty() || part.len() > 2 || groups == 6 {
            return None;
        }
        let mut v = 0u8;
        for &c in part {
            v = v * 16 + (c as char).to_digit(16)? as u8;
        }
        if groups > 0 {
            out.push(':');
        }
        out.push(HEX[usize::from(v >> 4)] as char);
        out.push(HEX[usize::from(v & 15)] as char);
        groups += 1;
    }
    (groups == 6).then_some(out)
}

fn subscriber(hw: Hw<'_>) -> Result<String, ParseError> {
    let none = || {
        ParseError::new(
            "parse.dhcpd_syslog.no_identifier",
            "the message names no client identifier",
        )
    };
    let cut = || {
        ParseError::new(
            "parse.dhcpd_syslog.truncated_identifier",
            "the client identifier is as long as dhcpd's print limit and may be cut",
        )
    };
    let bad = || {
        ParseError::new(
            "parse.dhcpd_syslog.bad_identifier",
            "the client identifier is neither hex octets nor a quoted string",
        )
    };
    match hw {
        Hw::None | Hw::Text(b"") | Hw::Quoted(b"") => Err(none()),
        Hw::Quoted(q) if q.len() >= QUOTED_ID_LIMIT => Err(cut()),
        Hw::Quoted(q) => Ok(format!("id:{}", format_hex(q, ':'))),
        Hw::Text(t) => {
            if let Some(m) = mac_fast(t) {
                return Ok(m);
            }
            let s = std::str::from_utf8(t).map_err(|_| bad())?;
            let groups = s.split(':').count();
            if let Some(m) = normalize_mac(s) {
                Ok(m)
            } else if groups >= HEX_ID_LIMIT {
                if normalize_hex_id(s).is_some() {
                    Err(cut())
                } else {
                    Err(bad())
                }
            } else {
                normalize_hex_id(s)
                    .map(|h| format!("id:{h}"))
                    .ok_or_else(bad)
            }
        }
    }
}

impl Parser for DhcpdSyslog {
    fn set_reference(&mut self, reference: UnixSecs) {
        self.ctx.reference = reference;
    }

    fn parse(&mut self, frame: &[u8], out: &mut Vec<Event>) -> Result<(), ParseError> {
        let start = frame
            .iter()
            .position(|&c| c != b' ' && c != b'\t')
            .unwrap_or(frame.len());
        let line = &frame[start..];
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let s = syslog::split(line);
        let (app, msg) = program(&s);
        if app.is_some_and(|a| a != "dhcpd") {
            return Ok(());
        }
        let Some(ht) = s.time else {
            return Err(ParseError::new(
                "parse.dhcpd_syslog.no_time",
                "the line has no syslog header time",
            ));
        };
        match classify(strip_prefixes(msg))? {
            Msg::Ack { ip, hw } => {
                let sub = subscriber(hw)?;
                let time = self.time(ht)?;
                let op = match self.pending.take(ip) {
                    Some((phw, pt))
                        if Some(phw) == hw.key()
                            && (0..=SELECTING_WINDOW).contains(&(time - pt)) =>
                    {
                        LeaseOp::Assign
                    }
                    _ => LeaseOp::Renew,
                };
                out.push(self.lease(op, time, sub, ip));
            }
            Msg::Decline { ip, hw } => {
                self.pending.remove(ip);
                match subscriber(hw) {
                    Ok(sub) => {
                        let time = self.time(ht)?;
                        out.push(self.lease(LeaseOp::Release, time, sub, ip));
                    }
                    Err(_) => self.seen(ht, out),
                }
            }
            Msg::Release { ip, hw, found } => {
                self.pending.remove(ip);
                if found {
                    let sub = subscriber(hw)?;
                    let time = self.time(ht)?;
                    out.push(self.lease(LeaseOp::Release, time, sub, ip));
                } else {
                    self.seen(ht, out);
                }
            }
            Msg::Offer { ip, hw }
            | Msg::Request {
                ip,
                selecting: true,
                hw,
            } => {
                // Without a usable time (a DST fold) the message cannot mark a new lease; it
                // carries no binding itself, so it is not an error.
                match (hw.key(), self.time(ht)) {
                    (Some(k), Ok(t)) => self.pending.insert(ip, k, t),
                    _ => self.pending.remove(ip),
                }
                self.seen(ht, out);
            }
            Msg::Request {
                ip,
                selecting: false,
                ..
            }
            | Msg::Forget { ip } => {
                self.pending.remove(ip);
                self.seen(ht, out);
            }
            Msg::Nothing => self.seen(ht, out),
        }
        Ok(())
    }
}

impl DhcpdSyslog {
    /// Coverage for a dhcpd message without a binding: dhcpd was logging at the header's
    /// time. A time that does not resolve (a DST fold, no zone) yields nothing rather than
    /// refusing a line that carries no binding.
    fn seen(&mut self, ht: HeaderTime, out: &mut Vec<Event>) {
        if let Ok(time) = self.time(ht) {
            out.push(Event::seen(&self.origin, time, Domain::Address));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fmt_time;
    use proptest::prelude::*;

    const REF_2027_01_05: UnixSecs = 1_799_107_200; // 2027-01-05T00:00:00Z

    fn ctx() -> Context {
        let mut c = Context::new("test", REF_2027_01_05);
        c.tz = Some("Europe/Stockholm".parse().unwrap());
        c
    }

    fn run_with(p: &mut DhcpdSyslog, line: &str) -> Result<Vec<String>, &'static str> {
        let mut out = Vec::new();
        p.parse(line.as_bytes(), &mut out).map_err(|e| e.code)?;
        Ok(out
            .iter()
            .map(|e| match e {
                Event::Lease {
                    op,
                    time,
                    subscriber,
                    target,
                    expires,
                    ..
                } => format!(
                    "{op:?} {} {subscriber} {target} {}",
                    fmt_time(*time),
                    expires.map(fmt_time).unwrap_or_default()
                ),
                Event::Seen {
                    time,
                    domain: Domain::Address,
                    source,
                } if source == "test" => format!("Seen {}", fmt_time(*time)),
                other => format!("{other:?}"),
            })
            .collect())
    }

    fn run(line: &str) -> Result<Vec<String>, &'static str> {
        run_with(&mut DhcpdSyslog::new(&ctx()), line)
    }

    #[test]
    fn a_selecting_exchange_is_an_assign_and_a_renewal_a_renew() {
        let mut p = DhcpdSyslog::new(&ctx());
        for l in [
            "Jan  3 10:00:00 gw dhcpd[7]: DHCPDISCOVER from 00:1b:2c:3d:4e:5f (pc one) via eth0",
            "Jan  3 10:00:00 gw dhcpd[7]: DHCPOFFER on 192.0.2.10 to 00:1b:2c:3d:4e:5f (pc one) via eth0",
            "Jan  3 10:00:01 gw dhcpd[7]: DHCPREQUEST for 192.0.2.10 (192.0.2.1) from 00:1b:2c:3d:4e:5f (pc one) via eth0",
        ] {
            let seen = format!("Seen 2027-01-03T09:00:0{}Z", &l[14..15]);
            assert_eq!(run_with(&mut p, l), Ok(vec![seen]), "{l}");
        }
        assert_eq!(
            run_with(&mut p, "Jan  3 10:00:01 gw dhcpd[7]: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f (pc one) via eth0"),
            Ok(vec!["Assign 2027-01-03T09:00:01Z 00:1b:2c:3d:4e:5f 192.0.2.10 2027-01-03T21:00:01Z".into()])
        );
        // A second ACK without its own SELECTING REQUEST is a renewal.
        assert_eq!(
            run_with(
                &mut p,
                "Jan  3 10:00:02 gw dhcpd[7]: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0"
            )
            .unwrap()[0]
                .split(' ')
                .next(),
            Some("Renew")
        );
        run_with(&mut p, "Jan  3 16:00:00 gw dhcpd[7]: DHCPREQUEST for 192.0.2.10 from 00:1b:2c:3d:4e:5f via eth0").unwrap();
        assert!(run_with(
            &mut p,
            "Jan  3 16:00:00 gw dhcpd[7]: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0"
        )
        .unwrap()[0]
            .starts_with("Renew 2027-01-03T15:00:00Z"));
    }

    #[test]
    fn assign_needs_the_same_client_and_a_recent_request() {
        let mut p = DhcpdSyslog::new(&ctx());
        run_with(
            &mut p,
            "Jan  3 10:00:00 gw dhcpd: DHCPOFFER on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0",
        )
        .unwrap();
        let other = run_with(
            &mut p,
            "Jan  3 10:00:01 gw dhcpd: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:60 via eth0",
        )
        .unwrap();
        assert!(other[0].starts_with("Renew"), "{other:?}");
        run_with(
            &mut p,
            "Jan  3 10:00:00 gw dhcpd: DHCPOFFER on 192.0.2.11 to 00:1b:2c:3d:4e:5f via eth0",
        )
        .unwrap();
        let late = run_with(
            &mut p,
            "Jan  3 10:01:01 gw dhcpd: DHCPACK on 192.0.2.11 to 00:1b:2c:3d:4e:5f via eth0",
        )
        .unwrap();
        assert!(late[0].starts_with("Renew"), "{late:?}");
        run_with(
            &mut p,
            "Jan  3 10:00:00 gw dhcpd: DHCPOFFER on 192.0.2.12 to 00:1b:2c:3d:4e:5f via eth0",
        )
        .unwrap();
        run_with(
            &mut p,
            "Jan  3 10:00:00 gw dhcpd: DHCPNAK on 192.0.2.12 to 00:1b:2c:3d:4e:5f via eth0",
        )
        .unwrap();
        let nak = run_with(
            &mut p,
            "Jan  3 10:00:01 gw dhcpd: DHCPACK on 192.0.2.12 to 00:1b:2c:3d:4e:5f via eth0",
        )
        .unwrap();
        assert!(nak[0].starts_with("Renew"), "{nak:?}");
        run_with(
            &mut p,
            "Jan  3 10:00:00 gw dhcpd: DHCPOFFER on 192.0.2.13 to 00:1b:2c:3d:4e:5f via eth0",
        )
        .unwrap();
        let ok = run_with(
            &mut p,
            "Jan  3 10:01:00 gw dhcpd: DHCPACK on 192.0.2.13 to 00:1b:2c:3d:4e:5f via eth0",
        )
        .unwrap();
        assert!(ok[0].starts_with("Assign"), "{ok:?}");
    }

    #[test]
    fn the_pending_map_is_bounded() {
        let mut p = DhcpdSyslog::new(&ctx());
        let key = Hw::Text(b"00:11:22:33:44:55").key().unwrap();
        for i in 0..(PENDING_CAP as u32 + 1000) {
            p.pending.insert(Ipv4Addr::from(i), key, 0);
        }
        assert_eq!(p.pending.len(), PENDING_CAP);
        assert!(p.pending.order.len() <= 2 * PENDING_CAP);
        for _ in 0..(3 * PENDING_CAP) {
            p.pending.insert(Ipv4Addr::from(7), key, 0);
        }
        assert!(p.pending.order.len() <= 2 * PENDING_CAP);
        assert!(
            p.pending.take(Ipv4Addr::from(7)).is_some(),
            "the newest entry survives"
        );
    }

    #[test]
    fn every_header_form_gives_the_same_time() {
        let want = "Renew 2027-01-03T09:00:01Z 00:1b:2c:3d:4e:5f 192.0.2.10 2027-01-03T21:00:01Z";
        for l in [
            "<30>Jan  3 10:00:01 gw dhcpd[7]: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0",
            "Jan  3 10:00:01 gw dhcpd[7]: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0",
            "Jan 03 10:00:01 dhcpd: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0",
            "<30>1 2027-01-03T09:00:01.123Z gw dhcpd 7 - - DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0",
            "2027-01-03T10:00:01+01:00 gw dhcpd[7]: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0",
            "2027-01-03T10:00:01+01:00 local6 gw dhcpd[7]: info DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0",
            "   Jan  3 10:00:01 gw dhcpd: DHCP4o6 DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via fe80::1",
            "Jan  3 10:00:01 gw DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0",
        ] {
            assert_eq!(run(l), Ok(vec![want.to_string()]), "{l}");
        }
    }

    #[test]
    fn december_read_in_january_is_last_year() {
        assert_eq!(
            run("Dec 31 23:59:30 gw dhcpd[7]: DHCPACK on 192.0.2.20 to 0:1b:2c:3d:4e:60 via 192.0.2.1"),
            Ok(vec!["Renew 2026-12-31T22:59:30Z 00:1b:2c:3d:4e:60 192.0.2.20 2027-01-01T10:59:30Z".into()])
        );
    }

    #[test]
    fn hostnames_with_spaces_parentheses_and_via() {
        let r = run("Jan  3 10:00:01 gw dhcpd: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f (my (odd) host) via x) via 10.0.0.1").unwrap();
        assert!(r[0].contains("00:1b:2c:3d:4e:5f 192.0.2.10"), "{r:?}");
        let r = run("Jan  3 10:00:01 gw dhcpd: DHCPRELEASE of 192.0.2.10 from 00:1b:2c:3d:4e:5f (Hostname Unsuitable for Printing) via eth0 (found)").unwrap();
        assert_eq!(
            r,
            vec!["Release 2027-01-03T09:00:01Z 00:1b:2c:3d:4e:5f 192.0.2.10 ".to_string()]
        );
        assert_eq!(
            run("Jan  3 10:00:01 gw dhcpd: DHCPRELEASE of 192.0.2.10 from 00:1b:2c:3d:4e:5f (x) via eth0 (not found)"),
            Ok(vec!["Seen 2027-01-03T09:00:01Z".into()])
        );
    }

    #[test]
    fn client_identifiers() {
        let id = |l: &str| run(l).map(|v| v[0].split(' ').nth(2).unwrap().to_string());
        assert_eq!(
            id("Jan  3 10:00:01 gw dhcpd: DHCPACK on 192.0.2.10 to 1:0:1b:2C:3d:4e:62 via eth0"),
            Ok("id:01:00:1b:2c:3d:4e:62".into())
        );
        assert_eq!(
            id("Jan  3 10:00:01 gw dhcpd: DHCPRELEASE of 192.0.2.10 from \"cl \"one\" via eth0 (found)"),
            Ok("id:63:6c:20:22:6f:6e:65".into())
        );
        assert_eq!(
            id("Jan  3 10:00:01 gw dhcpd: DHCPACK on 192.0.2.10 to 00-1B-2C-3D-4E-5F via eth0"),
            Ok("00:1b:2c:3d:4e:5f".into())
        );
        let long_q = format!(
            "Jan  3 10:00:01 gw dhcpd: DHCPRELEASE of 192.0.2.10 from \"{}\" via eth0 (found)",
            "a".repeat(57)
        );
        assert_eq!(run(&long_q), Err("parse.dhcpd_syslog.truncated_identifier"));
        let long_h = format!(
            "Jan  3 10:00:01 gw dhcpd: DHCPACK on 192.0.2.10 to {} via eth0",
            vec!["01"; 20].join(":")
        );
        assert_eq!(run(&long_h), Err("parse.dhcpd_syslog.truncated_identifier"));
        assert_eq!(
            run("Jan  3 10:00:01 gw dhcpd: DHCPRELEASE of 192.0.2.10 from <no identifier> via eth0 (found)"),
            Err("parse.dhcpd_syslog.no_identifier")
        );
        assert_eq!(
            run("Jan  3 10:00:01 gw dhcpd: DHCPACK on 192.0.2.10 to  via eth0"),
            Err("parse.dhcpd_syslog.no_identifier")
        );
        assert_eq!(
            run("Jan  3 10:00:01 gw dhcpd: DHCPACK on 192.0.2.10 to zz:yy via eth0"),
            Err("parse.dhcpd_syslog.bad_identifier")
        );
    }

    #[test]
    fn a_decline_ends_the_decliners_lease() {
        assert_eq!(
            run("Jan  3 10:00:01 gw dhcpd[7]: DHCPDECLINE of 192.0.2.10 from 00:1b:2c:3d:4e:5f via eth0: abandoned"),
            Ok(vec!["Release 2027-01-03T09:00:01Z 00:1b:2c:3d:4e:5f 192.0.2.10 ".to_string()])
        );
        // Without an identifier there is no lease to end: the line marks coverage only.
        assert_eq!(
            run("Jan  3 10:00:01 gw dhcpd[7]: DHCPDECLINE of 192.0.2.10 from <no identifier> via eth0"),
            Ok(vec!["Seen 2027-01-03T09:00:01Z".into()])
        );
    }

    #[test]
    fn messages_without_a_binding_mark_coverage() {
        for m in [
            "DHCPDISCOVER from 00:1b:2c:3d:4e:5f via eth0: network lan: no free leases",
            "DHCPREQUEST for 192.0.2.10 (192.0.2.1) from 00:1b:2c:3d:4e:5f via eth0: wrong network.",
            "DHCPREQUEST for 192.0.2.10 from 00:1b:2c:3d:4e:5f via 10.1.1.1: lease 192.0.2.10 unavailable.",
            "DHCPNAK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0",
            "DHCPINFORM from 192.0.2.10 via eth0",
            "DHCPACK to 192.0.2.10 (00:1b:2c:3d:4e:5f) via eth0",
            "BOOTREQUEST from 00:1b:2c:3d:4e:5f via eth0: BOOTP from dynamic client and no dynamic leases",
            "BOOTREPLY on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0",
            "DHCPREQUEST from 00:1b:2c:3d:4e:5f via eth9: unknown network segment",
            "DHCPRELEASE from 00:1b:2c:3d:4e:5f specified requested-address.",
            "Abandoning IP address 192.0.2.10: declined.",
            "Wrote 12 leases to leases file.",
            "Added new forward map from pc.example. to 192.0.2.10",
            "last message repeated 3 times",
            "Listening on LPF/eth0/00:1b:2c:3d:4e:5f/192.0.2.0/24",
            "Solicit message from fe80::1 port 546, transaction ID 0x1",
            "info DHCPDISCOVER from 00:1b:2c:3d:4e:5f via eth0",
        ] {
            assert_eq!(
                run(&format!("Jan  3 10:00:01 gw dhcpd[7]: {m}")),
                Ok(vec!["Seen 2027-01-03T09:00:01Z".to_string()]),
                "{m}"
            );
        }
        // Other programs, whatever they say: they tell nothing about dhcpd.
        assert_eq!(
            run("Jan  3 10:00:01 gw named[7]: DHCPACK on nonsense"),
            Ok(vec![])
        );
        assert_eq!(run("Jan  3 10:00:01 gw DHCPD: whatever"), Ok(vec![]));
    }

    #[test]
    fn each_error_code() {
        assert_eq!(
            run("DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0"),
            Err("parse.dhcpd_syslog.no_time")
        );
        assert_eq!(
            run("Jan  3 10:00:01 gw dhcpd[7]: something odd happened"),
            Err("parse.dhcpd_syslog.unknown_message")
        );
        assert_eq!(
            run("Jan  3 10:00:01 gw dhcpd[7]: DHCPACK on 192.0.2 to 00:1b:2c:3d:4e:5f via eth0"),
            Err("parse.dhcpd_syslog.bad_message")
        );
        assert_eq!(
            run("Jan  3 10:00:01 gw dhcpd[7]: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f"),
            Err("parse.dhcpd_syslog.bad_message")
        );
        assert_eq!(
            run("Jan  3 10:00:01 gw dhcpd[7]: DHCPRELEASE of 192.0.2.10 from 00:1b:2c:3d:4e:5f via eth0"),
            Err("parse.dhcpd_syslog.bad_message")
        );
        assert_eq!(
            run("Oct 25 02:30:00 gw dhcpd[7]: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0"),
            Err("time.ambiguous_local")
        );
        assert_eq!(
            run("Mar 29 02:30:00 gw dhcpd[7]: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0"),
            Err("time.nonexistent_local")
        );
        // Reasons never carry the line's data.
        let mut p = DhcpdSyslog::new(&ctx());
        let e = p
            .parse(
                b"Jan  3 10:00:01 gw dhcpd[7]: DHCPACK on 192.0.2.10 to zz:1b via eth0",
                &mut Vec::new(),
            )
            .unwrap_err();
        assert!(
            !e.reason.contains("zz") && !e.reason.contains("192.0.2"),
            "{e}"
        );
    }

    /// The real capture in /work/shared/samples/isc-dhcpd-syslog (Ubuntu, with hostname and
    /// pid): the DISCOVER carries no binding but shows dhcpd logging at 18:18:06.
    #[test]
    fn a_dhcpdiscover_marks_coverage() {
        assert_eq!(
            run("Nov 19 18:18:06 dhcp dhcpd[384]: DHCPDISCOVER from 08:00:27:24:2a:56 via eth1"),
            Ok(vec!["Seen 2026-11-19T17:18:06Z".into()])
        );
        let mut p = DhcpdSyslog::new(&ctx());
        let mut out = Vec::new();
        p.parse(
            b"Nov 19 18:18:06 dhcp dhcpd[384]: DHCPDISCOVER from 08:00:27:24:2a:56 via eth1",
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            vec![Event::Seen {
                time: 1_795_108_686,
                domain: Domain::Address,
                source: "test".into(),
            }]
        );
    }

    /// The same capture's OFFER and selecting REQUEST: coverage, and the ACK after them is
    /// still a new lease; the ACK itself yields only its lease.
    #[test]
    fn an_offer_and_a_request_mark_coverage_and_still_make_the_ack_an_assign() {
        let mut p = DhcpdSyslog::new(&ctx());
        for l in [
            "Nov 19 18:18:07 dhcp dhcpd[384]: DHCPOFFER on 192.168.58.100 to 08:00:27:24:2a:56 (c1) via eth1",
            "Nov 19 18:18:07 dhcp dhcpd[384]: DHCPREQUEST for 192.168.58.100 (192.168.58.30) from 08:00:27:24:2a:56 (c1) via eth1",
            "Nov 19 18:18:07 dhcp dhcpd[384]: Added new forward map from c1.serafin.test. to 192.168.58.100",
        ] {
            assert_eq!(
                run_with(&mut p, l),
                Ok(vec!["Seen 2026-11-19T17:18:07Z".into()]),
                "{l}"
            );
        }
        assert_eq!(
            run_with(&mut p, "Nov 19 18:18:07 dhcp dhcpd[384]: DHCPACK on 192.168.58.100 to 08:00:27:24:2a:56 (c1) via eth1"),
            Ok(vec!["Assign 2026-11-19T17:18:07Z 08:00:27:24:2a:56 192.168.58.100 2026-11-20T05:18:07Z".into()])
        );
    }

    /// The xcat capture's decline loop: a DECLINE of a named client ends its lease (no Seen
    /// beside it), a NAK and an INFORM mark coverage.
    #[test]
    fn a_decline_nak_and_inform_mark_coverage_or_end_the_lease() {
        let mut c = ctx();
        c.tz = Some("America/New_York".parse().unwrap());
        let mut p = DhcpdSyslog::new(&c);
        assert_eq!(
            run_with(&mut p, "   Mar  2 01:59:10 c656ems2 dhcpd: DHCPDECLINE of 9.114.39.101 from 00:0a:f7:73:7d:d0 via eth0: not found"),
            Ok(vec!["Release 2026-03-02T06:59:10Z 00:0a:f7:73:7d:d0 9.114.39.101 ".into()])
        );
        for m in [
            "DHCPNAK on 9.114.39.101 to 00:0a:f7:73:7d:d0 via eth0",
            "DHCPINFORM from 9.114.39.101 via eth0",
        ] {
            assert_eq!(
                run_with(&mut p, &format!("Mar  2 01:59:10 c656ems2 dhcpd: {m}")),
                Ok(vec!["Seen 2026-03-02T06:59:10Z".into()]),
                "{m}"
            );
        }
    }

    #[test]
    fn a_message_without_binding_in_a_dst_fold_yields_nothing_and_no_error() {
        // 02:30 on 25 October 2026 happened twice in Stockholm: a DISCOVER then cannot be
        // placed, but it used to be accepted and carries no binding.
        assert_eq!(
            run("Oct 25 02:30:00 gw dhcpd[7]: DHCPDISCOVER from 00:1b:2c:3d:4e:5f via eth0"),
            Ok(vec![])
        );
        assert_eq!(
            run("Oct 25 02:30:00 gw dhcpd[7]: Wrote 12 leases to leases file."),
            Ok(vec![])
        );
        // An ACK at that time still is an error (it was before).
        assert_eq!(
            run("Oct 25 02:30:00 gw dhcpd[7]: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0"),
            Err("time.ambiguous_local")
        );
    }

    #[test]
    fn a_malformed_or_unknown_dhcpd_message_is_an_error_not_coverage() {
        assert_eq!(
            run("Jan  3 10:00:01 gw dhcpd[7]: DHCPNAK on 192.0.2.10 to 00:1b:2c:3d:4e:5f"),
            Err("parse.dhcpd_syslog.bad_message")
        );
        assert_eq!(
            run("Jan  3 10:00:01 gw dhcpd[7]: DHCPOFFER on 192.0.2 to 00:1b:2c:3d:4e:5f via eth0"),
            Err("parse.dhcpd_syslog.bad_message")
        );
        assert_eq!(
            run("Jan  3 10:00:01 gw dhcpd[7]: something odd happened"),
            Err("parse.dhcpd_syslog.unknown_message")
        );
        assert_eq!(
            run("DHCPDISCOVER from 00:1b:2c:3d:4e:5f via eth0"),
            Err("parse.dhcpd_syslog.no_time")
        );
    }

    #[test]
    fn lease_time_comes_from_the_context() {
        let mut c = ctx();
        c.lease_time = Some(600);
        let mut p = DhcpdSyslog::new(&c);
        assert_eq!(
            run_with(
                &mut p,
                "Jan  3 10:00:01 gw dhcpd: DHCPACK on 192.0.2.10 to 00:1b:2c:3d:4e:5f via eth0"
            ),
            Ok(vec![
                "Renew 2027-01-03T09:00:01Z 00:1b:2c:3d:4e:5f 192.0.2.10 2027-01-03T09:10:01Z"
                    .into()
            ])
        );
    }

    fn mac_strategy() -> impl Strategy<Value = [u8; 6]> {
        any::<[u8; 6]>()
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut p = DhcpdSyslog::new(&ctx());
            let _ = p.parse(&bytes, &mut Vec::new());
        }

        #[test]
        fn message_soup_never_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec!["Jan  3 10:00:01 gw dhcpd: ", "DHCPACK on ", "DHCPRELEASE of ",
                "DHCPREQUEST for ", "DHCPOFFER on ", " to ", " from ", " via ", "(", ")", ") via ", "\"",
                "192.0.2.1", "00:1b:2c:3d:4e:5f", " (found)", " (not found)", "<no identifier>", " ", "\u{e9}"]), 0..16)) {
            let mut p = DhcpdSyslog::new(&ctx());
            let _ = p.parse(parts.concat().as_bytes(), &mut Vec::new());
        }

        /// The per-hour shortcut answers exactly what the full year inference answers, also
        /// around DST changes, year ends and the reference time.
        #[test]
        fn hour_cache_agrees_with_resolve(
            times in proptest::collection::vec(
                (prop_oneof![Just(3u32), Just(10), Just(12), Just(1), Just(2)], 1u32..32, 0u32..24, 0u32..60, 0u32..61),
                1..40),
            reference in 1_790_000_000i64..1_830_000_000,
        ) {
            let mut c = ctx();
            c.reference = reference;
            let mut p = DhcpdSyslog::new(&c);
            for (month, day, h, m, s) in times {
                let ht = HeaderTime::NoYear { month, day, hms: (h, m, s) };
                prop_assert_eq!(p.time(ht), ht.resolve(&c), "{:?}", ht);
            }
        }

        /// A DHCPACK printed the way dhcp_reply() prints it (any printable hostname, zero
        /// padded or not), parsed back.
        #[test]
        fn ack_round_trip(
            ip in any::<u32>(), mac in mac_strategy(), padded in any::<bool>(),
            host in proptest::option::of("[ -~]{1,64}"), via in "[a-z]{1,5}[0-9]{0,2}",
            secs in 1_700_000_000i64..1_798_000_000,
        ) {
            let t = chrono::DateTime::from_timestamp(secs, 0).unwrap();
            let hw: Vec<String> = mac.iter().map(|b| if padded { format!("{b:02x}") } else { format!("{b:x}") }).collect();
            let host = host.map(|h| format!("({h}) ")).unwrap_or_default();
            let line = format!(
                "{} gw dhcpd[1]: DHCPACK on {} to {} {host}via {via}",
                t.format("%b %e %H:%M:%S"), Ipv4Addr::from(ip), hw.join(":")
            );
            let mut c = ctx();
            c.tz = Some(chrono_tz::Tz::UTC);
            c.reference = secs;
            let mut p = DhcpdSyslog::new(&c);
            let mut out = Vec::new();
            p.parse(line.as_bytes(), &mut out).unwrap();
            prop_assert_eq!(out.len(), 1);
            match &out[0] {
                Event::Lease { op, time, subscriber, target, expires, .. } => {
                    prop_assert_eq!(*op, LeaseOp::Renew);
                    prop_assert_eq!(*time, secs);
                    prop_assert_eq!(subscriber, &format_hex(&mac, ':'));
                    prop_assert_eq!(target.ip(), IpAddr::V4(Ipv4Addr::from(ip)));
                    prop_assert_eq!(*expires, Some(secs + 43_200));
                }
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }
}

#[cfg(test)]
mod perf {
    use super::*;

    /// Throughput on a realistic mix (run with `--ignored --nocapture`, release).
    #[test]
    #[ignore]
    fn throughput() {
        let mut c = Context::new("test", 1_799_107_200);
        c.tz = Some("Europe/Stockholm".parse().unwrap());
        let mut lines = Vec::new();
        for i in 0..10_000u32 {
            let ip = Ipv4Addr::from(0xC000_0200 + (i % 250));
            let mac = format!("52:54:00:12:{:02x}:{:02x}", (i >> 8) & 0xff, i & 0xff);
            let t = format!("Jan  3 10:{:02}:{:02}", (i / 60) % 60, i % 60);
            lines.push(format!(
                "{t} gw dhcpd[77]: DHCPDISCOVER from {mac} (pc {i}) via eth0"
            ));
            lines.push(format!(
                "{t} gw dhcpd[77]: DHCPOFFER on {ip} to {mac} (pc {i}) via eth0"
            ));
            lines.push(format!(
                "{t} gw dhcpd[77]: DHCPREQUEST for {ip} (192.0.2.1) from {mac} (pc {i}) via eth0"
            ));
            lines.push(format!(
                "{t} gw dhcpd[77]: DHCPACK on {ip} to {mac} (pc {i}) via eth0"
            ));
        }
        let mut p = DhcpdSyslog::new(&c);
        let mut out = Vec::with_capacity(1 << 16);
        let start = std::time::Instant::now();
        let rounds = 20;
        for _ in 0..rounds {
            for l in &lines {
                p.parse(l.as_bytes(), &mut out).unwrap();
            }
            out.clear();
        }
        let n = (rounds * lines.len()) as f64;
        eprintln!("{:.0} lines/s", n / start.elapsed().as_secs_f64());
    }
}
