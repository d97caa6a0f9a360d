//! juniper-nat: Juniper MX / M Series CGNAT port block allocation (PBA) syslog.
//!
//! Producers: the service PIC / card of Junos routers (MS-DPC and MS-PIC "ASP", MS-MPC /
//! MS-MIC "JSERVICES"), through any syslog header (`crate::common::syslog::split`). Bodies seen in
//! public material (sources in `tests/data/juniper-nat/SOURCE.md`):
//!
//! ```text
//! [host ](FPC Slot f, PIC Slot p) YYYY-MM-DD HH:MM:SS [{sset}][FWNAT]:ASP_NAT_PORT_BLOCK_ALLOC: <private> -> <public>:<first>-<last>
//! YYYY-MM-DD HH:MM:SS: host{sset}[jservices-nat]: JSERVICES_NAT_PORT_BLOCK_ALLOC: <private> -> <public>:<first>-<last>[ <more>]
//! <14>1 <RFC 3339> host <app> - JSERVICES_NAT_PORT_BLOCK_ALLOC [junos@2636.1.1.1.2.x …] <private> -> <public>:<first>-<last>
//! ```
//!
//! with `…_RELEASE` and (interim logging) `…_ACTIVE`. `<private>` is IPv4 or IPv6 (NAT64),
//! IPv6 fully expanded (`3002:0:0:0:0:0:0:1`) or compressed; `<public>` is always IPv4 (the
//! tail's `:` port separator could not be told apart from an IPv6 address otherwise).
//!
//! Events: `ALLOC` → `NatBlock Alloc`; `ACTIVE` (interim "still allocated") → `Alloc` (the
//! store merges a repeat of the same block); `RELEASE` → `Release`.
//!
//! Time: the device time embedded before the message tag (`YYYY-MM-DD HH:MM:SS`, the last one
//! before the tag), in the stream's zone `ctx.tz` — the service PIC's clock, which on the
//! cards seen is UTC even when the syslog header is in the routing engine's or collector's
//! local zone: give `--tz UTC` for those. The syslog header time is ignored when the embedded
//! time is present (it is when the message reached a collector, not the allocation). In the
//! structured form (the tag is the RFC 5424 MSGID) the header time is used: it carries an
//! offset. A line with neither falls back to the syslog header time (year inferred, zone
//! `ctx.tz`).
//!
//! The structured form's SD parameter names for this message could not be verified in public
//! material, so the block is read from the human-readable MSG text after the SD, which Junos
//! structured syslog keeps; the SD is only checked to be well-formed.
//!
//! Coverage: other messages of the NAT services (a tag starting `ASP_`, `JSERVICES_` or
//! `RT_FLOW_`: `JSERVICES_NAT_RULE_MATCH`, `ASP_SFW_RULE_ACCEPT`, `RT_FLOW_SESSION_CREATE`, …)
//! carry no block but show that the NAT device was logging: each yields one `Seen` (domain
//! nat) at its time, found as for a port-block line (structured: the header time; plain: the
//! last device time before the tag in `ctx.tz`, else the syslog header time). If that time
//! cannot be worked out (no zone, a DST fold, no time at all) the line yields nothing, as it
//! did before. Lines of other programs (the routing engine's `mgd`, `UI_COMMIT`, …) yield
//! nothing: they do not show the NAT logging is alive (the services card may log on its own
//! path). A port-block line whose tail does not parse is an error.

use std::net::{IpAddr, Ipv4Addr};

use chrono::NaiveDate;
use nom::bytes::complete::{tag, take_till1, take_while1, take_while_m_n};
use nom::character::complete::{char, space0, space1};
use nom::combinator::{all_consuming, map_res};
use nom::sequence::{separated_pair, tuple};
use nom::IResult;

use crate::common::bytes::find;
use crate::common::localtime;
use crate::common::syslog::{self, HeaderTime};
use crate::model::{Domain, Event, NatOp, Origin, UnixSecs};
use crate::{Context, ParseError, Parser};

pub struct JuniperNat {
    ctx: Context,
    origin: Origin,
}

impl JuniperNat {
    pub fn new(ctx: &Context) -> Self {
        JuniperNat {
            ctx: ctx.clone(),
            origin: ctx.origin(),
        }
    }
}

const KEY: &[u8] = b"NAT_PORT_BLOCK_";

fn err(code: &'static str, reason: &str) -> ParseError {
    ParseError::new(code, reason.to_string())
}

/// The last `YYYY-MM-DD HH:MM:SS` in `b`, as its 19 bytes.
fn last_device_time(b: &[u8]) -> Option<&[u8]> {
    const SHAPE: &[u8; 19] = b"0000-00-00 00:00:00";
    if b.len() < SHAPE.len() {
        return None;
    }
    (0..=b.len() - SHAPE.len()).rev().find_map(|i| {
        let w = &b[i..i + SHAPE.len()];
        let fits = w.iter().zip(SHAPE).all(|(&c, &s)| {
            if s == b'0' {
                c.is_ascii_digit()
            } else {
                c == s
            }
        });
        // Not part of a longer number on the left.
        let clean_left = i == 0 || !b[i - 1].is_ascii_digit();
        (fits && clean_left).then_some(w)
    })
}

fn digits_n(n: usize) -> impl FnMut(&str) -> IResult<&str, u32> {
    move |i| {
        map_res(
            take_while_m_n(n, n, |c: char| c.is_ascii_digit()),
            str::parse::<u32>,
        )(i)
    }
}

/// `YYYY-MM-DD HH:MM:SS` (already known to have that shape) as a naive date-time.
fn device_time(b: &[u8]) -> Result<chrono::NaiveDateTime, ParseError> {
    let bad = || {
        err(
            "parse.juniper_nat.bad_time",
            "device time is not a valid date and time",
        )
    };
    let s = std::str::from_utf8(b).map_err(|_| bad())?;
    let (_, (y, _, mo, _, d, _, h, _, mi, _, sec)) = all_consuming(tuple((
        digits_n(4),
        char('-'),
        digits_n(2),
        char('-'),
        digits_n(2),
        char(' '),
        digits_n(2),
        char(':'),
        digits_n(2),
        char(':'),
        digits_n(2),
    )))(s)
    .map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(y as i32, mo, d)
        .and_then(|d| d.and_hms_opt(h, mi, sec))
        .ok_or_else(bad)
}

fn is_addr_char(c: char) -> bool {
    c.is_ascii_hexdigit() || c == ':' || c == '.'
}

/// `<private> -> <public>:<first>-<last>` and what follows it, as text.
fn tail(i: &str) -> IResult<&str, (&str, &str)> {
    let (i, (_, private, _, _, _, public)) = tuple((
        space0,
        take_while1(is_addr_char),
        space1,
        tag("->"),
        space1,
        take_till1(|c: char| c == ' '),
    ))(i)?;
    Ok((i, (private, public)))
}

fn port_range(i: &str) -> IResult<&str, (&str, &str)> {
    let digits = || take_while_m_n(1, 5, |c: char| c.is_ascii_digit());
    all_consuming(separated_pair(digits(), char('-'), digits()))(i)
}

/// The block from a tail: (private, public, (first, last)).
fn block(text: &str) -> Result<(IpAddr, Ipv4Addr, (u16, u16)), ParseError> {
    let (rest, (private, public)) = tail(text).map_err(|_| {
        err(
            "parse.juniper_nat.bad_tail",
            "port block message is not <private> -> <public>:<first>-<last>",
        )
    })?;
    // Whatever follows the block (MS-MPC adds a token) must be separated by a space.
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return Err(err(
            "parse.juniper_nat.bad_tail",
            "text glued to the port range",
        ));
    }
    let private: IpAddr = private.parse().map_err(|_| {
        err(
            "parse.juniper_nat.bad_address",
            "private address is not an IP address",
        )
    })?;
    let (addr, range) = public.rsplit_once(':').ok_or_else(|| {
        err(
            "parse.juniper_nat.bad_tail",
            "public address has no :<first>-<last>",
        )
    })?;
    if addr.contains(':') {
        return Err(err(
            "parse.juniper_nat.public_not_ipv4",
            "public address is not IPv4",
        ));
    }
    let public: Ipv4Addr = addr.parse().map_err(|_| {
        err(
            "parse.juniper_nat.bad_address",
            "public address is not an IPv4 address",
        )
    })?;
    let (_, (lo, hi)) = port_range(range).map_err(|_| {
        err(
            "parse.juniper_nat.bad_port",
            "port range is not <first>-<last>",
        )
    })?;
    let port = |s: &str| {
        s.parse::<u16>()
            .map_err(|_| err("parse.juniper_nat.bad_port", "port out of range"))
    };
    let (lo, hi) = (port(lo)?, port(hi)?);
    if lo > hi {
        return Err(err(
            "parse.juniper_nat.bad_range",
            "first port of the block is above its last",
        ));
    }
    Ok((private, public, (lo, hi)))
}

impl JuniperNat {
    fn header_time(&self, hdr: &syslog::Syslog<'_>) -> Result<UnixSecs, ParseError> {
        match hdr.time {
            Some(t) => t.resolve(&self.ctx),
            None => Err(err(
                "parse.juniper_nat.no_time",
                "no device time and no syslog header time",
            )),
        }
    }

    fn push(
        &self,
        out: &mut Vec<Event>,
        op: NatOp,
        time: UnixSecs,
        inside: IpAddr,
        public: Ipv4Addr,
        ports: (u16, u16),
    ) {
        let public = IpAddr::V4(public);
        out.push(Event::nat_block(
            &self.origin,
            op,
            time,
            inside,
            public,
            ports,
        ));
    }
}

/// Tag prefixes of the NAT services' messages (service PIC / card, SRX flow).
const SERVICE_TAGS: [&[u8]; 3] = [b"JSERVICES_", b"ASP_", b"RT_FLOW_"];

/// The first services message tag in `b`: its start and its text (`[A-Z0-9_]+`), not part of
/// a longer word on the left.
fn service_tag(b: &[u8]) -> Option<(usize, &[u8])> {
    let is_tag_byte = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_';
    SERVICE_TAGS
        .iter()
        .filter_map(|p| {
            let mut from = 0;
            while let Some(i) = find(&b[from..], p) {
                let at = from + i;
                let clean_left =
                    at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_');
                let named = b.get(at + p.len()).is_some_and(|c| c.is_ascii_uppercase());
                if clean_left && named {
                    let len = b[at..].iter().take_while(|&&c| is_tag_byte(c)).count();
                    return Some((at, &b[at..at + len]));
                }
                from = at + 1;
            }
            None
        })
        .min_by_key(|(at, _)| *at)
}

impl JuniperNat {
    /// Coverage for a services message without a port block (module doc). Never an error.
    fn seen_service_line(&self, frame: &[u8], out: &mut Vec<Event>) {
        let Some((at, tag)) = service_tag(frame) else {
            return;
        };
        let hdr = (frame.first() == Some(&b'<')).then(|| syslog::split(frame));
        let time = match hdr
            .as_ref()
            .filter(|h| h.msgid.map(str::as_bytes) == Some(tag))
        {
            Some(h) => match h.time {
                Some(HeaderTime::Utc(t)) => Some(t),
                _ => None,
            },
            None => match last_device_time(&frame[..at]) {
                Some(t) => device_time(t)
                    .ok()
                    .zip(self.ctx.tz)
                    .and_then(|(naive, tz)| localtime::to_utc(tz, naive).ok()),
                None => self
                    .header_time(hdr.as_ref().unwrap_or(&syslog::split(frame)))
                    .ok(),
            },
        };
        if let Some(time) = time {
            out.push(Event::seen(&self.origin, time, Domain::Nat));
        }
    }
}

impl Parser for JuniperNat {
    fn set_reference(&mut self, reference: UnixSecs) {
        self.ctx.reference = reference;
    }

    fn parse(&mut self, frame: &[u8], out: &mut Vec<Event>) -> Result<(), ParseError> {
        let Some(k) = find(frame, KEY) else {
            self.seen_service_line(frame, out);
            return Ok(());
        };
        let unknown = || {
            err(
                "parse.juniper_nat.unknown_tag",
                "a NAT_PORT_BLOCK message other than ASP_/JSERVICES_ ALLOC, RELEASE or ACTIVE",
            )
        };
        let before = &frame[..k];
        let tag_start = if before.ends_with(b"JSERVICES_") {
            k - 10
        } else if before.ends_with(b"ASP_") {
            k - 4
        } else {
            return Err(unknown());
        };
        let after_key = &frame[k + KEY.len()..];
        let (op, after_tag) = if let Some(r) = after_key.strip_prefix(b"ALLOC") {
            (NatOp::Alloc, r)
        } else if let Some(r) = after_key.strip_prefix(b"RELEASE") {
            (NatOp::Release, r)
        } else if let Some(r) = after_key.strip_prefix(b"ACTIVE") {
            (NatOp::Alloc, r)
        } else {
            return Err(unknown());
        };
        if !matches!(after_tag.first(), None | Some(b':') | Some(b' ')) {
            return Err(unknown());
        }
        let tag_text = &frame[tag_start..frame.len() - after_tag.len()];

        // Structured form: the tag is the RFC 5424 MSGID.
        let hdr = (frame.first() == Some(&b'<')).then(|| syslog::split(frame));
        if let Some(h) = hdr
            .as_ref()
            .filter(|h| h.msgid.map(str::as_bytes) == Some(tag_text))
        {
            if let Some(sd) = h.sd {
                syslog::structured_data(sd)?;
            }
            let time = match h.time {
                Some(HeaderTime::Utc(t)) => t,
                _ => {
                    return Err(err(
                        "parse.juniper_nat.no_time",
                        "structured message without a header time",
                    ))
                }
            };
            let msg = std::str::from_utf8(h.msg)
                .map_err(|_| err("parse.juniper_nat.bad_tail", "message text is not UTF-8"))?;
            if msg.trim().is_empty() {
                return Err(err(
                    "parse.juniper_nat.bad_tail",
                    "structured message without its text (SD parameter names are not verified)",
                ));
            }
            let (inside, public, ports) = block(msg.trim_end())?;
            self.push(out, op, time, inside, public, ports);
            return Ok(());
        }

        // Plain form: "<TAG>: <tail>".
        let text = after_tag.strip_prefix(b":").ok_or_else(|| {
            err(
                "parse.juniper_nat.bad_tail",
                "message tag is not followed by a colon",
            )
        })?;
        let text = std::str::from_utf8(text)
            .map_err(|_| err("parse.juniper_nat.bad_tail", "message text is not UTF-8"))?;
        let (inside, public, ports) = block(text.trim_end())?;
        let time = match last_device_time(&frame[..tag_start]) {
            Some(t) => {
                let naive = device_time(t)?;
                let tz = self.ctx.tz.ok_or_else(|| {
                    err(
                        "time.no_zone",
                        "device time without a zone and no time zone was given",
                    )
                })?;
                localtime::to_utc(tz, naive)?
            }
            None => match &hdr {
                Some(h) => self.header_time(h)?,
                None => self.header_time(&syslog::split(frame))?,
            },
        };
        self.push(out, op, time, inside, public, ports);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Tz;
    use proptest::prelude::*;
    use std::net::Ipv6Addr;

    use crate::testing::{nat_block, NatParts as Got};

    fn ctx(tz: Tz) -> Context {
        let mut c = Context::new("test", 1_795_341_600); // 2026-11-22T10:00:00Z
        c.tz = Some(tz);
        c
    }

    fn run_tz(tz: Tz, line: &str) -> Result<Vec<Got>, ParseError> {
        let mut p = JuniperNat::new(&ctx(tz));
        let mut out = Vec::new();
        p.parse(line.as_bytes(), &mut out)?;
        Ok(out.iter().map(nat_block).collect())
    }

    fn one(line: &str) -> Got {
        let v = run_tz(Tz::UTC, line).unwrap();
        assert_eq!(v.len(), 1, "{line}");
        v[0]
    }

    fn code(line: &str) -> &'static str {
        run_tz(Tz::UTC, line).unwrap_err().code
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn asp_lines_from_the_juniper_test_library() {
        // 2011-10-31T04:46:04Z; the header is in the collector's zone (PDT) and is ignored.
        assert_eq!(
            one("Oct 30 21:46:04  graphite (FPC Slot 2, PIC Slot 0) 2011-10-31 04:46:04 [FWNAT]:ASP_NAT_PORT_BLOCK_ALLOC: 3002:0:0:0:0:0:0:1 -> 33.33.0.3:1050-1099"),
            (NatOp::Alloc, 1_320_036_364, ip("3002::1"), ip("33.33.0.3"), (1050, 1099))
        );
        assert_eq!(
            one("Oct 30 21:48:35  graphite (FPC Slot 2, PIC Slot 0) 2011-10-31 04:48:34 [FWNAT]:ASP_NAT_PORT_BLOCK_RELEASE: 3002:0:0:0:0:0:0:1 -> 33.33.0.3:1050-1099").0,
            NatOp::Release
        );
        // The device zone applies to the embedded time.
        let v = run_tz(Tz::Europe__Stockholm, "<158>Nov 21 10:00:00 mx1 (FPC Slot 1, PIC Slot 0) 2026-11-21 11:00:00 {cgn}[FWNAT]:ASP_NAT_PORT_BLOCK_ALLOC: 100.64.0.9 -> 203.0.113.5:1024-2047").unwrap();
        assert_eq!(
            v,
            vec![(
                NatOp::Alloc,
                1_795_255_200,
                ip("100.64.0.9"),
                ip("203.0.113.5"),
                (1024, 2047)
            )]
        );
    }

    #[test]
    fn jservices_forms() {
        let want = (
            NatOp::Alloc,
            1_795_255_200,
            ip("100.64.0.9"),
            ip("203.0.113.5"),
            (1024, 2047),
        );
        for line in [
            "<158>2026-11-21 10:00:00: CGN-1{CGN_SSET}[jservices-nat]: JSERVICES_NAT_PORT_BLOCK_ALLOC: 100.64.0.9 -> 203.0.113.5:1024-2047",
            "2026-11-21T10:00:07+00:00 10.1.1.1 <158>2026-11-21 10:00:00: CGN-1{CGN_SSET}[jservices-nat]: JSERVICES_NAT_PORT_BLOCK_ALLOC: 100.64.0.9 -> 203.0.113.5:1024-2047 0x5c2b7f10",
            "Nov 21 11:00:05 mx1 2026-11-21 10:00:00: CGN-1{CGN_SSET}[jservices-nat]: JSERVICES_NAT_PORT_BLOCK_ACTIVE: 100.64.0.9 -> 203.0.113.5:1024-2047",
            "<14>1 2026-11-21T11:00:00+01:00 mx1 jservices-nat - JSERVICES_NAT_PORT_BLOCK_ALLOC [junos@2636.1.1.1.2.135 x=\"y\"] 100.64.0.9 -> 203.0.113.5:1024-2047",
        ] {
            assert_eq!(one(line), want, "{line}");
        }
        assert_eq!(
            one("<14>1 2026-11-21T10:00:00Z mx1 - - JSERVICES_NAT_PORT_BLOCK_RELEASE - 2001:db8:0:0:0:0:0:9 -> 203.0.113.5:1024-2047").2,
            ip("2001:db8::9")
        );
        // Without an embedded time the header time is used (year from the reference).
        assert_eq!(
            one("Nov 21 10:00:00 mx1 JSERVICES_NAT_PORT_BLOCK_RELEASE: 100.64.0.9 -> 203.0.113.5:1024-2047").1,
            1_795_255_200
        );
    }

    /// The times of the `Seen` events a line yields (and nothing else).
    fn seen_tz(tz: Tz, line: &str) -> Result<Vec<UnixSecs>, ParseError> {
        let mut p = JuniperNat::new(&ctx(tz));
        let mut out = Vec::new();
        p.parse(line.as_bytes(), &mut out)?;
        Ok(out
            .into_iter()
            .map(|e| match e {
                Event::Seen {
                    time,
                    domain: Domain::Nat,
                    source,
                } if source == "test" => time,
                e => panic!("not a nat Seen: {e:?}"),
            })
            .collect())
    }

    /// Real lines from public material (tests/data/juniper-nat/SOURCE.md): an SRX flow
    /// session (Juniper's structured-syslog documentation), a CGNAT rule match and a service
    /// PIC firewall accept. They carry no port block but show the NAT device logging.
    #[test]
    fn a_nat_service_line_without_a_block_marks_coverage() {
        for (line, want) in [
            // Header time with its offset: 2018-06-27T00:23:06Z.
            ("<14>1 2018-06-26T17:23:06.269-07:00 booklet RT_FLOW - RT_FLOW_SESSION_CREATE_USF [junos@2636.1.1.1.2.25 source-address=\"50.0.0.10\"] session created", 1_530_058_986),
            // The device time before the tag, in ctx.tz (UTC here).
            ("2026-07-19T16:13:02.123456+00:00 <158>2026-07-19 16:13:02: CGN-KTA{CGN_VRF0_LOG}[jservices-nat]: JSERVICES_NAT_RULE_MATCH: proto 17 (UDP) application: any, xe-2/0/0.32767:10.20.0.5:28760 -> 162.4.32.33:53, Match NAT rule-set: (null), rule: CGN_PLUS_0, term: 1", 1_784_477_582),
            // Only the syslog header's time (no year: the reference's, 2026).
            ("Oct 25 16:11:37 (FPC Slot 3, PIC Slot 2) {svc_set}[FWNAT]: ASP_SFW_RULE_ACCEPT: proto 6 (TCP) application: rtsp, ge-2/0/1.0:1.1.1.2:35595 -> 2.2.2.2:554, Match SFW accept rule-set: , rule: allow_rtsp, term: 0", 1_792_944_697),
        ] {
            assert_eq!(seen_tz(Tz::UTC, line).unwrap(), vec![want], "{line}");
        }
    }

    #[test]
    fn lines_of_other_programs_and_untimed_lines_yield_nothing() {
        for line in [
            "",
            "Nov 21 11:57:00 mx960-cgn1 mgd[4711]: UI_COMMIT: User 'noc' requested 'commit' operation",
            "Nov 21 11:57:00 mx960-cgn1 kernel: WASP_THING happened",
            // A services line whose time cannot be worked out: nothing, no error.
            "JSERVICES_NAT_RULE_MATCH: proto 17 (UDP) application: any",
            "x (FPC Slot 1, PIC Slot 0) 2026-10-25 02:30:00 [FWNAT]:ASP_SFW_RULE_ACCEPT: proto 6",
            "x (FPC Slot 1, PIC Slot 0) 2026-02-30 10:00:00 [FWNAT]:ASP_SFW_RULE_ACCEPT: proto 6",
        ] {
            assert_eq!(seen_tz(Tz::Europe__Stockholm, line).unwrap(), Vec::<UnixSecs>::new(), "{line}");
        }
    }

    #[test]
    fn each_error_code() {
        let p = "Nov 21 10:00:00 mx1 (FPC Slot 1, PIC Slot 0) 2026-11-21 10:00:00 [FWNAT]:ASP_NAT_PORT_BLOCK_";
        assert_eq!(
            code(&format!("{p}ALLOC: 100.64.0.9 -> 203.0.113.5:2047-1024")),
            "parse.juniper_nat.bad_range"
        );
        assert_eq!(
            code(&format!("{p}ALLOC: 100.64.0.9 -> 2001:db8::5:1024-2047")),
            "parse.juniper_nat.public_not_ipv4"
        );
        assert_eq!(
            code(&format!("{p}ALLOC: 100.64.0.9 -> 203.0.113.5:1024-70000")),
            "parse.juniper_nat.bad_port"
        );
        assert_eq!(
            code(&format!("{p}ALLOC: 100.64.0.9 -> 203.0.113.5:1024")),
            "parse.juniper_nat.bad_port"
        );
        assert_eq!(
            code(&format!("{p}ALLOC: 100.64.0.9 -> 203.0.113.5")),
            "parse.juniper_nat.bad_tail"
        );
        assert_eq!(
            code(&format!("{p}ALLOC: 100.64.0.9 -> 203.0.113.5:1024-2047,")),
            "parse.juniper_nat.bad_port"
        );
        assert_eq!(
            code(&format!("{p}ALLOC: 100.64.0.9")),
            "parse.juniper_nat.bad_tail"
        );
        assert_eq!(
            code(&format!("{p}ALLOC 100.64.0.9 -> 203.0.113.5:1024-2047")),
            "parse.juniper_nat.bad_tail"
        );
        assert_eq!(
            code(&format!("{p}ALLOC: 100.64.0 -> 203.0.113.5:1024-2047")),
            "parse.juniper_nat.bad_address"
        );
        assert_eq!(
            code(&format!("{p}ALLOC: 100.64.0.9 -> 203.0.113.500:1024-2047")),
            "parse.juniper_nat.bad_address"
        );
        assert_eq!(
            code(&format!(
                "{p}ALLOCATED: 100.64.0.9 -> 203.0.113.5:1024-2047"
            )),
            "parse.juniper_nat.unknown_tag"
        );
        assert_eq!(
            code(&format!("{p}FREE: 100.64.0.9 -> 203.0.113.5:1024-2047")),
            "parse.juniper_nat.unknown_tag"
        );
        assert_eq!(
            code("RT_NAT_PORT_BLOCK_ALLOC: 100.64.0.9 -> 203.0.113.5:1024-2047"),
            "parse.juniper_nat.unknown_tag"
        );
        assert_eq!(
            code("x (FPC Slot 1, PIC Slot 0) 2026-02-30 10:00:00 [FWNAT]:ASP_NAT_PORT_BLOCK_ALLOC: 100.64.0.9 -> 203.0.113.5:1024-2047"),
            "parse.juniper_nat.bad_time"
        );
        assert_eq!(
            code("ASP_NAT_PORT_BLOCK_ALLOC: 100.64.0.9 -> 203.0.113.5:1024-2047"),
            "parse.juniper_nat.no_time"
        );
        assert_eq!(code("<14>1 - mx1 - - JSERVICES_NAT_PORT_BLOCK_ALLOC - 100.64.0.9 -> 203.0.113.5:1024-2047"), "parse.juniper_nat.no_time");
        assert_eq!(code("<14>1 2026-11-21T10:00:00Z mx1 - - JSERVICES_NAT_PORT_BLOCK_ALLOC [junos@2636.1.1.1.2.135 source-address=\"100.64.0.9\"]"), "parse.juniper_nat.bad_tail");
        assert_eq!(code("<14>1 2026-11-21T10:00:00Z mx1 - - JSERVICES_NAT_PORT_BLOCK_ALLOC [junos@2636 a=b] 100.64.0.9 -> 203.0.113.5:1024-2047"), "syslog.bad_sd");
        // A local time that happened twice (DST ends in Stockholm).
        let e = run_tz(Tz::Europe__Stockholm, "x (FPC Slot 1, PIC Slot 0) 2026-10-25 02:30:00 [FWNAT]:ASP_NAT_PORT_BLOCK_ALLOC: 100.64.0.9 -> 203.0.113.5:1024-2047").unwrap_err();
        assert_eq!(e.code, "time.ambiguous_local");
    }

    #[test]
    fn device_time_scan_takes_the_last_and_whole_one() {
        assert_eq!(
            last_device_time(b"2011-10-31 04:46:04 x 2012-01-02 03:04:05 ["),
            Some(&b"2012-01-02 03:04:05"[..])
        );
        assert_eq!(last_device_time(b"12011-10-31 04:46:04"), None);
        assert_eq!(last_device_time(b"2011-10-31T04:46:04"), None);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut p = JuniperNat::new(&ctx(Tz::Europe__Stockholm));
            let _ = p.parse(&bytes, &mut Vec::new());
        }

        #[test]
        fn token_soup_never_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec!["<14>1 ", "2026-11-21 10:00:00", "2026-11-21T10:00:00Z", " ", "ASP_", "JSERVICES_", "NAT_PORT_BLOCK_", "ALLOC", "RELEASE", ": ", " -> ", "1.2.3.4", "::1", ":", "-", "1024", "[a b=\"c\"]", "\u{e9}"]), 0..24)) {
            let mut p = JuniperNat::new(&ctx(Tz::UTC));
            let _ = p.parse(parts.concat().as_bytes(), &mut Vec::new());
        }

        /// Printed the way the service PIC prints (ASP and JSERVICES), parsed back.
        #[test]
        fn round_trip(
            v4_inside in any::<bool>(), a4 in any::<u32>(), a6 in any::<u128>(), expanded in any::<bool>(),
            public in any::<u32>(), lo in any::<u16>(), len in any::<u16>(),
            secs in 0i64..4_102_444_800, kind in 0usize..3, asp in any::<bool>(),
        ) {
            let hi = lo.saturating_add(len);
            let inside = if v4_inside { IpAddr::V4(Ipv4Addr::from(a4)) } else { IpAddr::V6(Ipv6Addr::from(a6)) };
            let inside_text = match inside {
                IpAddr::V6(a) if expanded => {
                    let s = a.segments();
                    s.iter().map(|g| format!("{g:x}")).collect::<Vec<_>>().join(":")
                }
                a => a.to_string(),
            };
            let public = Ipv4Addr::from(public);
            let t = chrono::DateTime::from_timestamp(secs, 0).unwrap().format("%Y-%m-%d %H:%M:%S");
            let op = ["ALLOC", "RELEASE", "ACTIVE"][kind];
            let line = if asp {
                format!("Oct 30 21:46:04  mx1 (FPC Slot 2, PIC Slot 0) {t} [FWNAT]:ASP_NAT_PORT_BLOCK_{op}: {inside_text} -> {public}:{lo}-{hi}")
            } else {
                format!("<158>{t}: mx1{{sset}}[jservices-nat]: JSERVICES_NAT_PORT_BLOCK_{op}: {inside_text} -> {public}:{lo}-{hi}")
            };
            let want_op = if kind == 1 { NatOp::Release } else { NatOp::Alloc };
            prop_assert_eq!(one(&line), (want_op, secs, inside, IpAddr::V4(public), (lo, hi)));
        }
    }
}
