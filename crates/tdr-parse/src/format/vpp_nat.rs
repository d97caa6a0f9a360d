//! vpp-nat: FD.io VPP NAT plugin syslog (draft-ietf-behave-syslog-nat-logging), RFC 5424.
//!
//! Producer: FDio/vpp `src/plugins/nat/lib/nat_syslog.c` over `src/vnet/syslog/syslog.c`,
//! one message per UDP datagram, as a collector stores it (one line, PRI kept):
//!
//! ```text
//! <134>1 2018-11-07T11:36:41.231759Z 172.16.2.2 NAT 10484 APMADD [napmap SSUBIX="0" SVLAN="0" IATYP="IPv4" ISADDR="10.0.0.3" ISPORT="6303" XATYP="IPv4" XSADDR="198.51.100.3" XSPORT="16253" PROTO="6"]
//! <134>1 … NAT 10484 SADD [nsess SSUBIX="0" SVLAN="0" IATYP="IPv4" ISADDR=… ISPORT=… XATYP="IPv4" XSADDR=… XSPORT=… PROTO=… XDADDR=… XDPORT=…[ IDADDR=… IDPORT=…]]
//! ```
//!
//! APP-NAME `NAT`; MSGID `APMADD`/`APMDEL` (address and port mapping, SD-ID `napmap`) or
//! `SADD`/`SDEL` (session, SD-ID `nsess`). NAT44 writes `IATYP="IPv4"`; NAT64 sessions write
//! `IATYP="IPv6"` with a compressed IPv6 `ISADDR` (and no `SSUBIX`); DS-Lite mappings write
//! `SV6ENC` (the B4's IPv6 address) in place of `SVLAN`. `XATYP` is always `IPv4`.
//!
//! Events: APMADD/SADD → `NatBlock Alloc`, APMDEL/SDEL → `Release`; public = `XSADDR`, ports =
//! (`XSPORT`, `XSPORT`); inside = `ISADDR`, except for DS-Lite, where `ISADDR` is a private
//! address inside the subscriber's home network (the same for many subscribers) and the
//! subscriber is identified by its softwire: inside = `SV6ENC`.
//!
//! Time: the RFC 5424 header time, which VPP always writes in UTC with microseconds (`Z`);
//! a nil (`-`) time is an error. No zone is needed.
//!
//! Coverage: every mapping and session message above yields its `NatBlock`. Another message
//! of APP-NAME `NAT` (another MSGID) carries no binding but shows the NAT logging: it yields
//! one `Seen` (domain nat) at its header time, or nothing when that time is nil. Messages of
//! other APP-NAMEs yield nothing (they say nothing about the NAT); a line that is not RFC 5424
//! at all is an error (VPP writes nothing else).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::common::syslog::{self, HeaderTime, SdElement};
use crate::model::{Domain, Event, NatOp, Origin};
use crate::{Context, ParseError, Parser};

pub struct VppNat {
    origin: Origin,
}

impl VppNat {
    pub fn new(ctx: &Context) -> Self {
        VppNat {
            origin: ctx.origin(),
        }
    }
}

fn err(code: &'static str, reason: impl Into<String>) -> ParseError {
    ParseError::new(code, reason)
}

/// `<PRI>1 ` at the start of `b`.
fn is_rfc5424(b: &[u8]) -> bool {
    let Some(r) = b.strip_prefix(b"<") else {
        return false;
    };
    let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
    (1..=3).contains(&n) && r[n..].starts_with(b">1 ")
}

/// Header tokens 3 (APP-NAME) and 5 (MSGID) name a VPP NAT message, whatever else is wrong.
fn names_nat_message(b: &[u8]) -> bool {
    let mut t = b.split(|&c| c == b' ');
    let app = t.nth(3);
    let msgid = t.nth(1);
    app == Some(b"NAT")
        && matches!(
            msgid,
            Some(b"APMADD") | Some(b"APMDEL") | Some(b"SADD") | Some(b"SDEL")
        )
}

/// The parameters of one SD element, as written.
trait Params {
    fn get(&self, name: &str) -> Option<&str>;
}

impl Params for SdElement<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        SdElement::get(self, name)
    }
}

/// Up to 16 parameters borrowed from the line (VPP writes at most 13).
struct Plain<'a> {
    n: usize,
    kv: [(&'a str, &'a str); 16],
}

impl Params for Plain<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.kv[..self.n]
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }
}

/// Fast path for the element `id` of `sd` as VPP writes SD: `[id k="v" …]…`, single spaces,
/// no escapes. `None` whenever anything differs (a backslash, odd spacing, a name RFC 5424
/// does not allow, too many parameters, no such element): the caller then uses the general
/// parser, which also gives the errors. Every element is checked, not only the one wanted.
fn plain_element<'a>(sd: &'a str, id: &str) -> Option<Plain<'a>> {
    if sd.contains('\\') {
        return None;
    }
    let name_ok = |k: &str| {
        !k.is_empty()
            && k.len() <= 32
            && k.bytes()
                .all(|c| c.is_ascii_graphic() && !matches!(c, b'=' | b']' | b'"'))
    };
    let mut found = None;
    let mut rest = sd;
    while let Some(body) = rest.strip_prefix('[') {
        let end = body.find(']')?;
        let elem = &body[..end];
        rest = &body[end + 1..];
        let (eid, mut params) = elem.split_once(' ').unwrap_or((elem, ""));
        if !name_ok(eid) {
            return None;
        }
        let mut out = Plain {
            n: 0,
            kv: [("", ""); 16],
        };
        while !params.is_empty() {
            let (k, r) = params.split_once("=\"")?;
            let (v, r) = r.split_once('"')?;
            if !name_ok(k) || out.n == out.kv.len() {
                return None;
            }
            out.kv[out.n] = (k, v);
            out.n += 1;
            params = match r.strip_prefix(' ') {
                Some(r) if !r.is_empty() => r,
                None if r.is_empty() => r,
                _ => return None,
            };
        }
        if eid == id && found.is_none() {
            found = Some(out);
        }
    }
    if !rest.is_empty() {
        return None;
    }
    found
}

fn param<'a>(e: &'a impl Params, name: &'static str) -> Result<&'a str, ParseError> {
    e.get(name).ok_or_else(|| {
        err(
            "parse.vpp_nat.missing_param",
            format!("SD parameter {name} missing"),
        )
    })
}

fn port(e: &impl Params, name: &'static str) -> Result<u16, ParseError> {
    let v = param(e, name)?;
    if v.is_empty() || v.len() > 5 || !v.bytes().all(|c| c.is_ascii_digit()) {
        return Err(err(
            "parse.vpp_nat.bad_port",
            format!("{name} is not a port"),
        ));
    }
    v.parse()
        .map_err(|_| err("parse.vpp_nat.bad_port", format!("{name} is not a port")))
}

fn addr(e: &impl Params, name: &'static str, ty: &str) -> Result<IpAddr, ParseError> {
    let v = param(e, name)?;
    let bad = || {
        err(
            "parse.vpp_nat.bad_address",
            format!("{name} is not an address of its type"),
        )
    };
    match ty {
        "IPv4" => v.parse::<Ipv4Addr>().map(IpAddr::V4).map_err(|_| bad()),
        "IPv6" => v.parse::<Ipv6Addr>().map(IpAddr::V6).map_err(|_| bad()),
        _ => Err(err(
            "parse.vpp_nat.bad_address_type",
            "address type is not IPv4 or IPv6",
        )),
    }
}

/// The binding an element describes: (inside, public, port).
fn binding(e: &impl Params) -> Result<(IpAddr, IpAddr, u16), ParseError> {
    let iatyp = param(e, "IATYP")?;
    let isaddr = addr(e, "ISADDR", iatyp)?;
    let xatyp = param(e, "XATYP")?;
    if xatyp != "IPv4" {
        return Err(err(
            "parse.vpp_nat.bad_address_type",
            "external address type is not IPv4",
        ));
    }
    let xsaddr = addr(e, "XSADDR", xatyp)?;
    let xsport = port(e, "XSPORT")?;
    port(e, "ISPORT")?;
    let proto = param(e, "PROTO")?;
    if proto.is_empty() || proto.parse::<u8>().is_err() {
        return Err(err(
            "parse.vpp_nat.bad_proto",
            "PROTO is not a protocol number",
        ));
    }
    let inside = match e.get("SV6ENC") {
        Some(_) => addr(e, "SV6ENC", "IPv6")?,
        None => isaddr,
    };
    Ok((inside, xsaddr, xsport))
}

impl Parser for VppNat {
    fn parse(&mut self, frame: &[u8], out: &mut Vec<Event>) -> Result<(), ParseError> {
        if frame.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let s = syslog::split(frame);
        let (Some(app), Some(msgid)) = (s.app, s.msgid) else {
            if names_nat_message(frame) {
                return Err(err(
                    "parse.vpp_nat.bad_header",
                    "NAT message with a malformed RFC 5424 header",
                ));
            }
            if is_rfc5424(frame) {
                return Ok(());
            }
            return Err(err(
                "parse.vpp_nat.not_rfc5424",
                "line is not RFC 5424 syslog",
            ));
        };
        if app != "NAT" {
            return Ok(());
        }
        let (op, sd_id) = match msgid {
            "APMADD" => (NatOp::Alloc, "napmap"),
            "APMDEL" => (NatOp::Release, "napmap"),
            "SADD" => (NatOp::Alloc, "nsess"),
            "SDEL" => (NatOp::Release, "nsess"),
            _ => {
                // Another NAT message: no binding, but the NAT was logging (coverage).
                if let Some(HeaderTime::Utc(time)) = s.time {
                    out.push(Event::seen(&self.origin, time, Domain::Nat));
                }
                return Ok(());
            }
        };
        let time = match s.time {
            Some(HeaderTime::Utc(t)) => t,
            _ => return Err(err("parse.vpp_nat.no_time", "header time is nil")),
        };
        let sd =
            s.sd.ok_or_else(|| err("parse.vpp_nat.missing_sd", "no structured data"))?;
        let (inside, public, xsport) = match plain_element(sd, sd_id) {
            Some(e) => binding(&e)?,
            None => {
                let elements = syslog::structured_data(sd)?;
                let e = elements.iter().find(|e| e.id == sd_id).ok_or_else(|| {
                    err(
                        "parse.vpp_nat.missing_sd",
                        format!("no {sd_id} structured data element"),
                    )
                })?;
                binding(e)?
            }
        };
        let ports = (xsport, xsport);
        out.push(Event::nat_block(
            &self.origin,
            op,
            time,
            inside,
            public,
            ports,
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::testing::{nat_block, NatParts as Got};

    fn run(line: &str) -> Result<Vec<Got>, ParseError> {
        let mut p = VppNat::new(&Context::new("test", 0));
        let mut out = Vec::new();
        p.parse(line.as_bytes(), &mut out)?;
        Ok(out.iter().map(nat_block).collect())
    }

    fn one(line: &str) -> Got {
        let v = run(line).unwrap();
        assert_eq!(v.len(), 1, "{line}");
        v[0]
    }

    fn code(line: &str) -> &'static str {
        run(line).unwrap_err().code
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const H: &str = "<134>1 2026-11-21T10:00:00.123456Z 172.16.2.2 NAT 10484";

    #[test]
    fn mappings_and_sessions() {
        assert_eq!(
            one(&format!("{H} APMADD [napmap SSUBIX=\"0\" SVLAN=\"0\" IATYP=\"IPv4\" ISADDR=\"10.0.0.3\" ISPORT=\"6303\" XATYP=\"IPv4\" XSADDR=\"198.51.100.3\" XSPORT=\"16253\" PROTO=\"6\"]")),
            (NatOp::Alloc, 1_795_255_200, ip("10.0.0.3"), ip("198.51.100.3"), (16253, 16253))
        );
        assert_eq!(
            one(&format!("{H} APMDEL [napmap SSUBIX=\"0\" SVLAN=\"0\" IATYP=\"IPv4\" ISADDR=\"10.0.0.3\" ISPORT=\"6303\" XATYP=\"IPv4\" XSADDR=\"198.51.100.3\" XSPORT=\"16253\" PROTO=\"6\"]")).0,
            NatOp::Release
        );
        // NAT44 session with twice-NAT fields.
        assert_eq!(
            one(&format!("{H} SADD [nsess SSUBIX=\"1\" SVLAN=\"10\" IATYP=\"IPv4\" ISADDR=\"10.0.0.4\" ISPORT=\"1234\" XATYP=\"IPv4\" XSADDR=\"198.51.100.3\" XSPORT=\"1025\" PROTO=\"17\" XDADDR=\"192.0.2.1\" XDPORT=\"53\" IDADDR=\"192.0.2.1\" IDPORT=\"53\"]")),
            (NatOp::Alloc, 1_795_255_200, ip("10.0.0.4"), ip("198.51.100.3"), (1025, 1025))
        );
        // NAT64 session: IPv6 inside, no SSUBIX.
        assert_eq!(
            one(&format!("{H} SDEL [nsess SVLAN=\"0\" IATYP=\"IPv6\" ISADDR=\"2001:db8::5\" ISPORT=\"40000\" XATYP=\"IPv4\" XSADDR=\"198.51.100.4\" XSPORT=\"2000\" PROTO=\"6\" XDADDR=\"192.0.2.9\" XDPORT=\"443\"]")),
            (NatOp::Release, 1_795_255_200, ip("2001:db8::5"), ip("198.51.100.4"), (2000, 2000))
        );
        // DS-Lite: the softwire names the subscriber.
        assert_eq!(
            one(&format!("{H} APMADD [napmap SSUBIX=\"0\" SV6ENC=\"2001:db8:1::2\" IATYP=\"IPv4\" ISADDR=\"192.168.1.10\" ISPORT=\"5000\" XATYP=\"IPv4\" XSADDR=\"198.51.100.5\" XSPORT=\"3000\" PROTO=\"6\"]")).2,
            ip("2001:db8:1::2")
        );
    }

    #[test]
    fn other_programs_messages_yield_nothing() {
        for line in [
            "",
            "<180>1 2018-11-07T11:36:41.231759Z 172.16.1.1 test 10484 testMsg [exampleSDID@32473 eventID=\"1011\" eventSource=\"App\" iut=\"3\"] this is message",
            "<134>1 2026-11-21T10:00:00Z 172.16.2.2 - - - -",
            "<134>1 - 172.16.2.2 NAT 10484 QUOTA [nqexc x=\"1\"]",
        ] {
            assert_eq!(run(line).unwrap(), vec![], "{line}");
        }
    }

    #[test]
    fn another_nat_message_marks_coverage() {
        let mut p = VppNat::new(&Context::new("cgn", 0));
        let mut out = Vec::new();
        p.parse(
            b"<134>1 2026-11-21T10:00:00.5Z 172.16.2.2 NAT 10484 QUOTA [nqexc x=\"1\"]",
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            vec![Event::Seen {
                time: 1_795_255_200,
                domain: Domain::Nat,
                source: "cgn".into(),
            }]
        );
    }

    /// The session lines of the draft's format (as VPP's nat_syslog.c writes them) are
    /// bindings themselves: a NatBlock each, no Seen beside it.
    #[test]
    fn a_session_line_is_a_binding_not_only_coverage() {
        let mut p = VppNat::new(&Context::new("cgn", 0));
        let mut out = Vec::new();
        p.parse(format!("{H} SADD [nsess SSUBIX=\"1\" SVLAN=\"10\" IATYP=\"IPv4\" ISADDR=\"10.0.0.4\" ISPORT=\"1234\" XATYP=\"IPv4\" XSADDR=\"198.51.100.3\" XSPORT=\"1025\" PROTO=\"17\" XDADDR=\"192.0.2.1\" XDPORT=\"53\"]").as_bytes(), &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert!(matches!(out[0], Event::NatBlock { .. }), "{:?}", out[0]);
    }

    #[test]
    fn each_error_code() {
        let sd = "[napmap SSUBIX=\"0\" SVLAN=\"0\" IATYP=\"IPv4\" ISADDR=\"10.0.0.3\" ISPORT=\"6303\" XATYP=\"IPv4\" XSADDR=\"198.51.100.3\" XSPORT=\"16253\" PROTO=\"6\"]";
        assert_eq!(
            code(&format!("<134>1 - 172.16.2.2 NAT 1 APMADD {sd}")),
            "parse.vpp_nat.no_time"
        );
        assert_eq!(
            code(&format!(
                "<134>1 2026-11-21T10:00:00 172.16.2.2 NAT 1 APMADD {sd}"
            )),
            "parse.vpp_nat.bad_header"
        );
        assert_eq!(
            code(&format!("Nov 21 10:00:00 172.16.2.2 NAT[1]: {sd}")),
            "parse.vpp_nat.not_rfc5424"
        );
        assert_eq!(code(&format!("{H} APMADD -")), "parse.vpp_nat.missing_sd");
        assert_eq!(
            code(&format!("{H} APMADD [nsess SSUBIX=\"0\"]")),
            "parse.vpp_nat.missing_sd"
        );
        assert_eq!(
            code(&format!("{H} APMADD [napmap SSUBIX=\"0\"")),
            "parse.vpp_nat.bad_header"
        );
        assert_eq!(
            code(&format!("{H} APMADD [napmap SSUBIX=0]")),
            "syslog.bad_sd"
        );
        assert_eq!(
            code(&format!(
                "{H} APMADD {}",
                sd.replace(" XSPORT=\"16253\"", "")
            )),
            "parse.vpp_nat.missing_param"
        );
        assert_eq!(
            code(&format!("{H} APMADD {}", sd.replace("16253", "65536"))),
            "parse.vpp_nat.bad_port"
        );
        assert_eq!(
            code(&format!("{H} APMADD {}", sd.replace("6303", "-1"))),
            "parse.vpp_nat.bad_port"
        );
        assert_eq!(
            code(&format!(
                "{H} APMADD {}",
                sd.replace("10.0.0.3", "2001:db8::1")
            )),
            "parse.vpp_nat.bad_address"
        );
        assert_eq!(
            code(&format!(
                "{H} APMADD {}",
                sd.replace("198.51.100.3", "198.51.100")
            )),
            "parse.vpp_nat.bad_address"
        );
        assert_eq!(
            code(&format!(
                "{H} APMADD {}",
                sd.replace("IATYP=\"IPv4\"", "IATYP=\"IPv5\"")
            )),
            "parse.vpp_nat.bad_address_type"
        );
        assert_eq!(
            code(&format!(
                "{H} APMADD {}",
                sd.replace("XATYP=\"IPv4\"", "XATYP=\"IPv6\"")
            )),
            "parse.vpp_nat.bad_address_type"
        );
        assert_eq!(
            code(&format!(
                "{H} APMADD {}",
                sd.replace("PROTO=\"6\"", "PROTO=\"tcp\"")
            )),
            "parse.vpp_nat.bad_proto"
        );
        assert_eq!(
            code(&format!(
                "{H} APMADD {}",
                sd.replace("SVLAN=\"0\"", "SV6ENC=\"10.1.1.1\"")
            )),
            "parse.vpp_nat.bad_address"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut p = VppNat::new(&Context::new("test", 0));
            let _ = p.parse(&bytes, &mut Vec::new());
        }

        #[test]
        fn token_soup_never_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec!["<134>1 ", "2026-11-21T10:00:00Z", " ", "-", "NAT", "APMADD", "SDEL", "[napmap", "[nsess", "]", " ISADDR=\"", " XSADDR=\"", " IATYP=\"IPv6", "\"", "1.2.3.4", "::1", "\\", "\u{e9}"]), 0..24)) {
            let mut p = VppNat::new(&Context::new("test", 0));
            let _ = p.parse(parts.concat().as_bytes(), &mut Vec::new());
        }

        /// The fast SD path agrees with the general parser whenever it answers.
        #[test]
        fn fast_sd_path_agrees(
            elems in proptest::collection::vec((
                proptest::sample::select(vec!["napmap", "nsess", "x@1", "", "a b"]),
                proptest::collection::vec((
                    proptest::sample::select(vec!["ISADDR", "XSPORT", "A", "", "B=C", "D\"", "E]"]),
                    proptest::sample::select(vec!["1.2.3.4", "", "a]b", "a\\]b", "q\\\"", "x\"y", "\\"]),
                    proptest::sample::select(vec![" ", " ", " ", "  ", ""]),
                ), 0..4),
            ), 0..3),
            tail in proptest::sample::select(vec!["", "", " ", "x"]),
        ) {
            let mut sd = String::new();
            for (id, params) in &elems {
                sd.push('[');
                sd.push_str(id);
                for (k, v, sep) in params {
                    sd.push_str(sep);
                    sd.push_str(&format!("{k}=\"{v}\""));
                }
                sd.push(']');
            }
            sd.push_str(tail);
            for id in ["napmap", "nsess"] {
                if let Some(fast) = plain_element(&sd, id) {
                    let general = syslog::structured_data(&sd).expect("fast path accepted bad SD");
                    let e = general.iter().find(|e| e.id == id).expect("fast path found a missing element");
                    let g: Vec<(&str, &str)> = e.params.iter().map(|(k, v)| (*k, v.as_ref())).collect();
                    prop_assert_eq!(&fast.kv[..fast.n], &g[..]);
                }
            }
        }

        /// Printed the way nat_syslog.c / syslog.c print, parsed back.
        #[test]
        fn round_trip(
            secs in 0i64..4_102_444_800, us in 0u32..1_000_000, src in any::<u32>(), pid in any::<u32>(),
            kind in 0usize..4, v6 in any::<bool>(), i4 in any::<u32>(), i6 in any::<u128>(), iport in any::<u16>(),
            x4 in any::<u32>(), xport in any::<u16>(), proto in any::<u8>(), vlan in any::<u32>(),
        ) {
            let t = chrono::DateTime::from_timestamp(secs, 0).unwrap().format("%Y-%m-%dT%H:%M:%S");
            let msgid = ["APMADD", "APMDEL", "SADD", "SDEL"][kind];
            let (iatyp, inside) = if v6 && kind >= 2 {
                ("IPv6", IpAddr::V6(Ipv6Addr::from(i6)))
            } else {
                ("IPv4", IpAddr::V4(Ipv4Addr::from(i4)))
            };
            let x = Ipv4Addr::from(x4);
            let sd = if kind < 2 {
                format!("[napmap SSUBIX=\"0\" SVLAN=\"{vlan}\" IATYP=\"{iatyp}\" ISADDR=\"{inside}\" ISPORT=\"{iport}\" XATYP=\"IPv4\" XSADDR=\"{x}\" XSPORT=\"{xport}\" PROTO=\"{proto}\"]")
            } else {
                format!("[nsess SVLAN=\"{vlan}\" IATYP=\"{iatyp}\" ISADDR=\"{inside}\" ISPORT=\"{iport}\" XATYP=\"IPv4\" XSADDR=\"{x}\" XSPORT=\"{xport}\" PROTO=\"{proto}\" XDADDR=\"192.0.2.1\" XDPORT=\"80\"]")
            };
            let line = format!("<134>1 {t}.{us:06}Z {} NAT {pid} {msgid} {sd}", Ipv4Addr::from(src));
            let op = if kind % 2 == 0 { NatOp::Alloc } else { NatOp::Release };
            prop_assert_eq!(one(&line), (op, secs, inside, IpAddr::V4(x), (xport, xport)));
        }
    }
}
