//! junos-ngs-nat: Junos Next Gen Services (MX-SPC3, SRX, vSRX) source-NAT port block
//! allocation (PBA) syslog.
//!
//! Producer: the `RT_NAT` process of Junos security flow / Next Gen Services, through any
//! syslog header (`crate::common::syslog::split`) or none. Two line forms, both seen in public
//! material (sources and the lines in `tests/data/junos-ngs-nat/SOURCE.md`):
//!
//! ```text
//! [hdr ]RT_NAT: RT_SRC_NAT_PBA_ALLOC: Subscriber <internal> used/maximum [<u>/<m>] blocks, allocates port block [<lo>-<hi>] from <reflexive> in source pool <pool>[ lsys_id: <n>][ epoch 0x<hex>]
//! [<PRI>1 <RFC 3339> host ]RT_NAT - RT_SRC_NAT_PBA_ALLOC [[junos@2636.1.1.1.2.x ]internal-ip="…" block-used="…" block-max-per-host="…" block-port-low="…" block-port-high="…" reflexive-ip="…" nat-pool-name="…" logical-system-id="…" epoch-time-64="<hex>"][ text]
//! ```
//!
//! with `_RELEASE` ("releases port block") and `_INTERIM` (interim logging: the block is still
//! allocated). The text form's words are the structured form's parameters in the same order.
//! The message tag is found in the line, whatever precedes it; what follows it decides the
//! form: `: ` text, `[` structured data (the `junos@…` SD-ID may be missing, as in the copies
//! seen: parameters are read by name, whatever the element's id), `- ` (nil SD) text.
//! In the text form the words between `blocks, ` and `port block [` (the verb) are not read:
//! the tag says what happened. `<internal>` is IPv4 or IPv6 (NAT64); `<reflexive>` (the public
//! address) is an IP address.
//!
//! Events: `ALLOC` → `NatBlock Alloc`; `INTERIM` (still allocated) → `Alloc` (the store merges
//! a repeat of the same block); `RELEASE` → `Release`; inside = internal, public = reflexive,
//! ports = (low, high).
//!
//! Time: the epoch the device writes (`epoch-time-64="<hex>"`, text `epoch 0x<hex>`): Unix
//! seconds in hexadecimal, UTC by definition, so no zone is needed. It is the event's time on
//! the device (the samples' RELEASE carries a later epoch than their ALLOC, and the text
//! sample's epoch is its syslog header's local time less the device's offset); the samples'
//! INTERIM carries its ALLOC's epoch, i.e. the block's allocation time, which is when the block
//! was bound either way. Without an epoch the syslog header's time is used: RFC 5424 / RFC
//! 3339 with its offset, or an RFC 3164 time in the stream's zone `ctx.tz` (year inferred): a
//! line of that kind without `--tz` is `time.no_zone`. The format therefore does not require a
//! zone up front (`needs_tz` false): the forms the devices write carry one.
//!
//! Coverage: other messages of the NAT and flow services (a tag starting `RT_SRC_NAT_`,
//! `RT_NAT_` or `RT_FLOW_`: `RT_NAT_RULE_MATCH`, `RT_SRC_NAT_SUBS_POOL_ALARM_RAISE`,
//! `RT_FLOW_SESSION_CREATE`, an unknown `RT_SRC_NAT_PBA_…`) carry no block but show the NAT
//! device was logging: each yields one `Seen` (domain nat) at its time (epoch, else header
//! time as above). If that time cannot be worked out the line yields nothing. Lines of other
//! programs yield nothing. A port-block line whose block or time cannot be read is an error.

use std::net::IpAddr;

use crate::common::bytes::find;
use crate::common::syslog;
use crate::model::{Domain, Event, NatOp, Origin, UnixSecs};
use crate::{Context, ParseError, Parser};

pub struct JunosNgsNat {
    ctx: Context,
    origin: Origin,
}

impl JunosNgsNat {
    pub fn new(ctx: &Context) -> Self {
        JunosNgsNat {
            ctx: ctx.clone(),
            origin: ctx.origin(),
        }
    }
}

fn err(code: &'static str, reason: impl Into<String>) -> ParseError {
    ParseError::new(code, reason)
}

const PBA: &[u8] = b"RT_SRC_NAT_PBA_";

/// Tag prefixes of the NAT and flow services' other messages (coverage only).
const SERVICE_TAGS: [&[u8]; 3] = [b"RT_SRC_NAT_", b"RT_NAT_", b"RT_FLOW_"];

/// The latest epoch accepted (9999-12-31T23:59:59Z): anything later is not a time.
const MAX_EPOCH: u64 = 253_402_300_799;

fn is_tag_byte(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_'
}

/// The first tag in `b` starting with one of `prefixes`, not part of a longer word on the
/// left and named (an uppercase letter after the prefix): its start and its text.
fn find_tag<'a>(b: &'a [u8], prefixes: &[&[u8]]) -> Option<(usize, &'a [u8])> {
    prefixes
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

/// SD parameters as written: (name, value).
type Params<'a> = Vec<(&'a [u8], &'a [u8])>;

/// `name="value"` parameters of the first SD element at the start of `sd` (`[…]`), values
/// as written (escapes kept: the values read here never contain any), and the rest after the
/// element. An SD-ID (a first token without `=`) is skipped; the copies seen have none.
fn sd_params(sd: &[u8]) -> Result<(Params<'_>, &[u8]), ParseError> {
    let bad = |why: &str| {
        err(
            "parse.junos_ngs_nat.bad_sd",
            format!("structured data: {why}"),
        )
    };
    let mut r = sd
        .strip_prefix(b"[")
        .ok_or_else(|| bad("no opening bracket"))?;
    let mut params = Vec::with_capacity(12);
    // An SD-ID: a first token without '='.
    let first_end = r
        .iter()
        .position(|&c| c == b' ' || c == b']' || c == b'=')
        .ok_or_else(|| bad("unterminated element"))?;
    if r[first_end] != b'=' {
        r = &r[first_end..];
    }
    loop {
        while let Some(x) = r.strip_prefix(b" ") {
            r = x;
        }
        if let Some(rest) = r.strip_prefix(b"]") {
            return Ok((params, rest));
        }
        let eq = r
            .iter()
            .position(|&c| c == b'=' || c == b' ' || c == b']' || c == b'"')
            .ok_or_else(|| bad("unterminated element"))?;
        if r[eq] != b'=' || eq == 0 {
            return Err(bad("parameter without a name or ="));
        }
        let name = &r[..eq];
        let v = r[eq + 1..]
            .strip_prefix(b"\"")
            .ok_or_else(|| bad("parameter value not quoted"))?;
        let mut i = 0;
        loop {
            match v.get(i) {
                None => return Err(bad("unterminated value")),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let value = v.get(..i).ok_or_else(|| bad("unterminated value"))?;
        params.push((name, value));
        r = &v[i + 1..];
    }
}

fn get<'a>(params: &[(&[u8], &'a [u8])], name: &str) -> Option<&'a [u8]> {
    params
        .iter()
        .find(|(k, _)| *k == name.as_bytes())
        .map(|(_, v)| *v)
}

fn param<'a>(params: &[(&[u8], &'a [u8])], name: &'static str) -> Result<&'a [u8], ParseError> {
    get(params, name).ok_or_else(|| {
        err(
            "parse.junos_ngs_nat.missing_param",
            format!("SD parameter {name} missing"),
        )
    })
}

fn ip(v: &[u8], what: &str) -> Result<IpAddr, ParseError> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            err(
                "parse.junos_ngs_nat.bad_address",
                format!("{what} is not an IP address"),
            )
        })
}

fn port(v: &[u8], what: &str) -> Result<u16, ParseError> {
    let bad = || {
        err(
            "parse.junos_ngs_nat.bad_port",
            format!("{what} is not a port"),
        )
    };
    if v.is_empty() || v.len() > 5 || !v.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)
}

fn range(lo: u16, hi: u16) -> Result<(u16, u16), ParseError> {
    if lo > hi {
        return Err(err(
            "parse.junos_ngs_nat.bad_range",
            "first port of the block is above its last",
        ));
    }
    Ok((lo, hi))
}

/// Unix seconds written in hexadecimal (without `0x`).
fn epoch(v: &[u8]) -> Result<UnixSecs, ParseError> {
    let bad = || {
        err(
            "parse.junos_ngs_nat.bad_epoch",
            "epoch is not a hexadecimal Unix time",
        )
    };
    if v.is_empty() || v.len() > 16 || !v.iter().all(u8::is_ascii_hexdigit) {
        return Err(bad());
    }
    let n = v.iter().fold(0u64, |n, &c| {
        let d = (c as char).to_digit(16).unwrap_or(0) as u64;
        (n << 4) | d
    });
    if n > MAX_EPOCH {
        return Err(bad());
    }
    Ok(n as UnixSecs)
}

/// What a port-block line says.
struct Block {
    inside: IpAddr,
    public: IpAddr,
    ports: (u16, u16),
    epoch: Option<UnixSecs>,
}

fn block_from_sd(params: &[(&[u8], &[u8])]) -> Result<Block, ParseError> {
    let inside = ip(param(params, "internal-ip")?, "internal-ip")?;
    let public = ip(param(params, "reflexive-ip")?, "reflexive-ip")?;
    let lo = port(param(params, "block-port-low")?, "block-port-low")?;
    let hi = port(param(params, "block-port-high")?, "block-port-high")?;
    let epoch = get(params, "epoch-time-64").map(epoch).transpose()?;
    Ok(Block {
        inside,
        public,
        ports: range(lo, hi)?,
        epoch,
    })
}

/// The next space-delimited token of `b` and the rest after it.
fn token(b: &[u8]) -> (&[u8], &[u8]) {
    let end = b.iter().position(|&c| c == b' ').unwrap_or(b.len());
    (&b[..end], &b[end..])
}

/// `Subscriber <internal> used/maximum [u/m] blocks, <verb> port block [<lo>-<hi>] from
/// <reflexive> in source pool <pool>[ lsys_id: <n>][ epoch 0x<hex>]`.
fn block_from_text(text: &[u8]) -> Result<Block, ParseError> {
    let bad = |why: &str| err("parse.junos_ngs_nat.bad_text", why.to_string());
    let t = text.trim_ascii();
    let t = t
        .strip_prefix(b"Subscriber ")
        .ok_or_else(|| bad("message text does not start with Subscriber"))?;
    let (inside, t) = token(t);
    let inside = ip(inside, "subscriber address")?;
    let t = t
        .strip_prefix(b" used/maximum [")
        .ok_or_else(|| bad("no used/maximum block count after the subscriber"))?;
    let at = find(t, b"] blocks, ").ok_or_else(|| bad("no blocks count"))?;
    let counts = &t[..at];
    if !counts.iter().all(|&c| c.is_ascii_digit() || c == b'/') {
        return Err(bad("block count is not <used>/<maximum>"));
    }
    let t = &t[at + 10..];
    let at = find(t, b"port block [").ok_or_else(|| bad("no port block [<first>-<last>]"))?;
    let t = &t[at + 12..];
    let close = t
        .iter()
        .position(|&c| c == b']')
        .ok_or_else(|| bad("port block is not closed"))?;
    let (lo, hi) = t[..close]
        .iter()
        .position(|&c| c == b'-')
        .map(|d| (&t[..d], &t[d + 1..close]))
        .ok_or_else(|| {
            err(
                "parse.junos_ngs_nat.bad_port",
                "port block is not <first>-<last>",
            )
        })?;
    let ports = range(port(lo, "first port")?, port(hi, "last port")?)?;
    let t = t[close + 1..]
        .strip_prefix(b" from ")
        .ok_or_else(|| bad("no from <address> after the port block"))?;
    let (public, t) = token(t);
    let public = ip(public, "public address")?;
    let t = t
        .strip_prefix(b" in source pool ")
        .ok_or_else(|| bad("no source pool after the public address"))?;
    let (pool, t) = token(t);
    if pool.is_empty() {
        return Err(bad("empty source pool name"));
    }
    let epoch = match find(t, b" epoch 0x") {
        Some(i) => Some(epoch(token(&t[i + 9..]).0)?),
        None => None,
    };
    Ok(Block {
        inside,
        public,
        ports,
        epoch,
    })
}

impl JunosNgsNat {
    /// The syslog header's time, resolved in the stream's zone when it has none.
    fn header_time(&self, frame: &[u8]) -> Result<UnixSecs, ParseError> {
        match syslog::split(frame).time {
            Some(t) => t.resolve(&self.ctx),
            None => Err(err(
                "parse.junos_ngs_nat.no_time",
                "no epoch and no syslog header time",
            )),
        }
    }

    /// Coverage for a services message without a port block (module doc). Never an error.
    fn seen(&self, frame: &[u8], after_tag: &[u8], out: &mut Vec<Event>) {
        let epoch = after_tag
            .strip_prefix(b" ")
            .filter(|r| r.starts_with(b"["))
            .and_then(|r| sd_params(r).ok())
            .and_then(|(p, _)| get(&p, "epoch-time-64").and_then(|v| epoch(v).ok()));
        let time = match epoch {
            Some(t) => Some(t),
            None => self.header_time(frame).ok(),
        };
        if let Some(time) = time {
            out.push(Event::seen(&self.origin, time, Domain::Nat));
        }
    }
}

impl Parser for JunosNgsNat {
    fn set_reference(&mut self, reference: UnixSecs) {
        self.ctx.reference = reference;
    }

    fn parse(&mut self, frame: &[u8], out: &mut Vec<Event>) -> Result<(), ParseError> {
        let Some((at, tag)) = find_tag(frame, &[PBA]) else {
            if let Some((at, tag)) = find_tag(frame, &SERVICE_TAGS) {
                self.seen(frame, &frame[at + tag.len()..], out);
            }
            return Ok(());
        };
        let after = &frame[at + tag.len()..];
        let op = match &tag[PBA.len()..] {
            b"ALLOC" | b"INTERIM" => NatOp::Alloc,
            b"RELEASE" => NatOp::Release,
            _ => {
                self.seen(frame, after, out);
                return Ok(());
            }
        };
        let block = if let Some(text) = after.strip_prefix(b":") {
            block_from_text(text)?
        } else if let Some(r) = after.strip_prefix(b" ") {
            if r.starts_with(b"[") {
                block_from_sd(&sd_params(r)?.0)?
            } else if let Some(text) = r.strip_prefix(b"- ") {
                block_from_text(text)?
            } else {
                return Err(err(
                    "parse.junos_ngs_nat.bad_text",
                    "port block tag followed by neither text nor structured data",
                ));
            }
        } else {
            return Err(err(
                "parse.junos_ngs_nat.bad_text",
                "port block tag followed by neither text nor structured data",
            ));
        };
        let time = match block.epoch {
            Some(t) => t,
            None => self.header_time(frame)?,
        };
        out.push(Event::nat_block(
            &self.origin,
            op,
            time,
            block.inside,
            block.public,
            block.ports,
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Tz;
    use proptest::prelude::*;

    use crate::testing::{nat_block, NatParts as Got};

    fn ctx(tz: Option<Tz>) -> Context {
        let mut c = Context::new("test", 1_795_341_600); // 2026-11-22T10:00:00Z
        c.tz = tz;
        c
    }

    fn run_tz(tz: Option<Tz>, line: &str) -> Result<Vec<Event>, ParseError> {
        let mut p = JunosNgsNat::new(&ctx(tz));
        let mut out = Vec::new();
        p.parse(line.as_bytes(), &mut out)?;
        Ok(out)
    }

    fn one(line: &str) -> Got {
        let v = run_tz(None, line).unwrap();
        assert_eq!(v.len(), 1, "{line}");
        nat_block(&v[0])
    }

    fn code(line: &str) -> &'static str {
        run_tz(Some(Tz::UTC), line).unwrap_err().code
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const SD: &str = "internal-ip=\"10.0.10.10\" block-used=\"1\" block-max-per-host=\"4\" block-port-low=\"48640\" block-port-high=\"48895\" reflexive-ip=\"1.2.84.172\" nat-pool-name=\"guest\" logical-system-id=\"0\"";

    /// The three lines of the Juniper TechPost (tests/data/junos-ngs-nat/SOURCE.md).
    #[test]
    fn techpost_structured_lines() {
        let want = |op, t| (op, t, ip("10.0.10.10"), ip("1.2.84.172"), (48640, 48895));
        assert_eq!(
            one(&format!(
                "RT_NAT - RT_SRC_NAT_PBA_ALLOC [{SD} epoch-time-64=\"624b0492\"]"
            )),
            want(NatOp::Alloc, 1_649_083_538)
        );
        assert_eq!(
            one(&format!(
                "RT_NAT - RT_SRC_NAT_PBA_INTERIM [{SD} epoch-time-64=\"624b0492\"]   "
            )),
            want(NatOp::Alloc, 1_649_083_538)
        );
        assert_eq!(
            one(&format!(
                "RT_NAT - RT_SRC_NAT_PBA_RELEASE [{SD} epoch-time-64=\"624b0cc7\"]"
            )),
            want(NatOp::Release, 1_649_085_639)
        );
    }

    #[test]
    fn full_rfc5424_lines_with_and_without_the_sd_id() {
        let want = (
            NatOp::Alloc,
            1_795_255_200,
            ip("10.0.10.10"),
            ip("1.2.84.172"),
            (48640, 48895),
        );
        // The header time (with its offset) when there is no epoch.
        assert_eq!(
            one(&format!("<14>1 2026-11-21T11:00:00.123+01:00 srx1 RT_NAT - RT_SRC_NAT_PBA_ALLOC [junos@2636.1.1.1.2.137 {SD}] Subscriber 10.0.10.10 used/maximum [1/4] blocks")),
            want
        );
        // The epoch beats the header time.
        assert_eq!(
            one(&format!("<14>1 2026-11-21T11:00:05+01:00 srx1 RT_NAT - RT_SRC_NAT_PBA_ALLOC [junos@2636.1.1.1.2.137 {SD} epoch-time-64=\"{:x}\"]", 1_795_255_200)),
            want
        );
        // NAT64: an IPv6 subscriber.
        assert_eq!(
            one("<14>1 2026-11-21T10:00:00Z mx1 RT_NAT - RT_SRC_NAT_PBA_RELEASE [junos@2636.1.1.1.2.40 internal-ip=\"2001:db8::7\" block-port-low=\"1024\" block-port-high=\"2047\" reflexive-ip=\"203.0.113.9\"]"),
            (NatOp::Release, 1_795_255_200, ip("2001:db8::7"), ip("203.0.113.9"), (1024, 2047))
        );
    }

    #[test]
    fn text_form() {
        // The nat_parser.py sample (SOURCE.md), its epoch 2026-06-30T17:44:26Z.
        assert_eq!(
            one("<14>Jun 30 22:44:25 SITE-B-BNG-01 RT_NAT: RT_SRC_NAT_PBA_ALLOC: Subscriber 100.64.60.74 used/maximum [10/15] blocks, allocates port block [24064-24191] from 203.0.113.100 in source pool EXAMPLE_POOL lsys_id: 0 epoch 0x6a44007a"),
            (NatOp::Alloc, 1_782_841_466, ip("100.64.60.74"), ip("203.0.113.100"), (24064, 24191))
        );
        // Without an epoch: the RFC 3164 header time in the stream's zone.
        let v = run_tz(Some(Tz::Europe__Stockholm), "Nov 21 11:00:00 srx1 RT_NAT: RT_SRC_NAT_PBA_RELEASE: Subscriber 100.64.0.9 used/maximum [0/4] blocks, releases port block [1024-2047] from 203.0.113.5 in source pool p1 lsys_id: 0").unwrap();
        assert_eq!(
            nat_block(&v[0]),
            (
                NatOp::Release,
                1_795_255_200,
                ip("100.64.0.9"),
                ip("203.0.113.5"),
                (1024, 2047)
            )
        );
        // ... and without a zone that is an error.
        assert_eq!(
            run_tz(None, "Nov 21 11:00:00 srx1 RT_NAT: RT_SRC_NAT_PBA_RELEASE: Subscriber 100.64.0.9 used/maximum [0/4] blocks, releases port block [1024-2047] from 203.0.113.5 in source pool p1").unwrap_err().code,
            "time.no_zone"
        );
    }

    fn seen(tz: Option<Tz>, line: &str) -> Vec<UnixSecs> {
        run_tz(tz, line)
            .unwrap()
            .into_iter()
            .map(|e| match e {
                Event::Seen {
                    time,
                    domain: Domain::Nat,
                    ..
                } => time,
                e => panic!("not a nat Seen: {e:?}"),
            })
            .collect()
    }

    #[test]
    fn other_service_messages_mark_coverage_when_their_time_is_known() {
        // Juniper's structured-syslog sample: header time with its offset.
        assert_eq!(
            seen(None, "<14>1 2018-06-26T17:23:06.269-07:00 booklet RT_FLOW - RT_FLOW_SESSION_CREATE_USF [junos@2636.1.1.1.2.25 source-address=\"50.0.0.10\"] session created"),
            vec![1_530_058_986]
        );
        assert_eq!(
            seen(Some(Tz::UTC), "Nov 21 10:00:00 srx1 RT_NAT: RT_SRC_NAT_SUBS_POOL_ALARM_RAISE: Subscriber ip: 10.0.0.1, Source NAT pool: pool-name, Pool type: PBA, threshold: 90%, current: 100%"),
            vec![1_795_255_200]
        );
        // An unknown PBA message with an epoch.
        assert_eq!(
            seen(
                None,
                "RT_NAT - RT_SRC_NAT_PBA_FOO [internal-ip=\"10.0.0.1\" epoch-time-64=\"624b0492\"]"
            ),
            vec![1_649_083_538]
        );
        // No time: nothing. Other programs: nothing.
        for line in [
            "RT_NAT: RT_NAT_RULE_MATCH: protocol-id 6 protocol-name tcp",
            "Nov 21 10:00:00 srx1 RT_FLOW: RT_FLOW_SESSION_CREATE: session created",
            "Nov 21 10:00:00 srx1 mgd[1]: UI_COMMIT: User 'noc' requested 'commit' operation",
            "",
            "XRT_NAT_RULE_MATCH: x",
        ] {
            assert_eq!(seen(None, line), Vec::<UnixSecs>::new(), "{line}");
        }
    }

    #[test]
    fn each_error_code() {
        let p = "RT_NAT - RT_SRC_NAT_PBA_ALLOC";
        let e = "epoch-time-64=\"624b0492\"";
        assert_eq!(
            code(&format!("{p} [internal-ip=\"10.0.0.1\" {e}]")),
            "parse.junos_ngs_nat.missing_param"
        );
        assert_eq!(code(&format!("{p} [internal-ip=\"10.0.0\" reflexive-ip=\"1.2.3.4\" block-port-low=\"1\" block-port-high=\"2\" {e}]")), "parse.junos_ngs_nat.bad_address");
        assert_eq!(code(&format!("{p} [internal-ip=\"10.0.0.1\" reflexive-ip=\"1.2.3.4\" block-port-low=\"1\" block-port-high=\"65536\" {e}]")), "parse.junos_ngs_nat.bad_port");
        assert_eq!(code(&format!("{p} [internal-ip=\"10.0.0.1\" reflexive-ip=\"1.2.3.4\" block-port-low=\"3\" block-port-high=\"2\" {e}]")), "parse.junos_ngs_nat.bad_range");
        assert_eq!(code(&format!("{p} [internal-ip=\"10.0.0.1\" reflexive-ip=\"1.2.3.4\" block-port-low=\"1\" block-port-high=\"2\" epoch-time-64=\"0x62\"]")), "parse.junos_ngs_nat.bad_epoch");
        assert_eq!(code(&format!("{p} [internal-ip=\"10.0.0.1\" reflexive-ip=\"1.2.3.4\" block-port-low=\"1\" block-port-high=\"2\" epoch-time-64=\"ffffffffffff\"]")), "parse.junos_ngs_nat.bad_epoch");
        assert_eq!(
            code(&format!("{p} [internal-ip=\"10.0.0.1]")),
            "parse.junos_ngs_nat.bad_sd"
        );
        assert_eq!(
            code(&format!("{p} [internal-ip=10.0.0.1]")),
            "parse.junos_ngs_nat.bad_sd"
        );
        assert_eq!(code(&format!("{p} [internal-ip=\"10.0.0.1\" reflexive-ip=\"1.2.3.4\" block-port-low=\"1\" block-port-high=\"2\"]")), "parse.junos_ngs_nat.no_time");
        assert_eq!(code(&format!("{p} x")), "parse.junos_ngs_nat.bad_text");
        assert_eq!(code("RT_SRC_NAT_PBA_ALLOC: Subscriber 10.0.0.1 used/maximum [1/4] blocks, allocates port block [1024-2047] from 1.2.3.4"), "parse.junos_ngs_nat.bad_text");
        assert_eq!(code("RT_SRC_NAT_PBA_ALLOC: Subscriber 10.0.0.1 used/maximum [1/4] blocks, allocates port block [1024] from 1.2.3.4 in source pool p"), "parse.junos_ngs_nat.bad_port");
        assert_eq!(code("RT_SRC_NAT_PBA_ALLOC: Subscriber 100.64.x.x used/maximum [1/4] blocks, allocates port block [1024-2047] from 1.2.3.4 in source pool p"), "parse.junos_ngs_nat.bad_address");
        assert_eq!(code("RT_SRC_NAT_PBA_ALLOC: Subscriber 10.0.0.1 used/maximum [1/4] blocks, allocates port block [1024-2047] from 1.2.3.4 in source pool p epoch 0xzz"), "parse.junos_ngs_nat.bad_epoch");
        // A local time in the autumn DST fold.
        let e = run_tz(Some(Tz::Europe__Stockholm), "Oct 25 02:30:00 srx1 RT_NAT: RT_SRC_NAT_PBA_ALLOC: Subscriber 10.0.0.1 used/maximum [1/4] blocks, allocates port block [1024-2047] from 1.2.3.4 in source pool p").unwrap_err();
        assert_eq!(e.code, "time.ambiguous_local");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut p = JunosNgsNat::new(&ctx(Some(Tz::Europe__Stockholm)));
            let _ = p.parse(&bytes, &mut Vec::new());
        }

        #[test]
        fn token_soup_never_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec!["<14>1 ", "2026-11-21T10:00:00Z", "Nov 21 10:00:00 ", " ", "RT_SRC_NAT_PBA_", "ALLOC", "RELEASE", "RT_NAT_", ": ", "Subscriber ", " used/maximum [", "] blocks, ", "port block [", "] from ", " in source pool ", " epoch 0x", "[", "]", "=\"", "\"", "internal-ip", "1.2.3.4", "::1", "-", "1024", "\\", "\u{e9}"]), 0..24)) {
            let mut p = JunosNgsNat::new(&ctx(Some(Tz::UTC)));
            let _ = p.parse(parts.concat().as_bytes(), &mut Vec::new());
        }

        /// Printed the way the device prints (both forms), parsed back.
        #[test]
        fn round_trip(
            v4 in any::<bool>(), a4 in any::<u32>(), a6 in any::<u128>(), public in any::<u32>(),
            lo in any::<u16>(), len in any::<u16>(), secs in 0i64..4_102_444_800, kind in 0usize..3,
            text in any::<bool>(),
        ) {
            let hi = lo.saturating_add(len);
            let inside = if v4 { IpAddr::V4(a4.into()) } else { IpAddr::V6(a6.into()) };
            let public = IpAddr::V4(public.into());
            let tag = ["ALLOC", "RELEASE", "INTERIM"][kind];
            let line = if text {
                format!("<14>Nov 21 10:00:00 srx1 RT_NAT: RT_SRC_NAT_PBA_{tag}: Subscriber {inside} used/maximum [1/8] blocks, allocates port block [{lo}-{hi}] from {public} in source pool POOL lsys_id: 0 epoch 0x{secs:x}")
            } else {
                format!("<14>1 2026-11-21T10:00:00Z srx1 RT_NAT - RT_SRC_NAT_PBA_{tag} [junos@2636.1.1.1.2.137 internal-ip=\"{inside}\" block-used=\"1\" block-max-per-host=\"8\" block-port-low=\"{lo}\" block-port-high=\"{hi}\" reflexive-ip=\"{public}\" nat-pool-name=\"POOL\" logical-system-id=\"0\" epoch-time-64=\"{secs:x}\"]")
            };
            let op = if kind == 1 { NatOp::Release } else { NatOp::Alloc };
            prop_assert_eq!(one(&line), (op, secs, inside, public, (lo, hi)));
        }
    }
}
