//! RADIUS accounting packets as a NAS sends them to an accounting server (RFC 2866 over UDP,
//! RFC 2865 §3 packet layout): the packet's structure checked, the Request Authenticator
//! verified with the client's shared secret, the Accounting-Response made, and the request
//! written out as the record FreeRADIUS's `rlm_detail` would have written for it, so the
//! [`radius-detail`](crate::format::radius_detail) parser reads it: one session logic for
//! records that arrive by file and by packet.
//!
//! Packet (RFC 2865 §3): Code (1) · Identifier (1) · Length (2, 20..=4096, the octets beyond it
//! are padding and ignored) · Authenticator (16) · attributes, each Type (1) · Length (2..=255,
//! covering type and length) · value.
//!
//! Request Authenticator (RFC 2866 §3): MD5(Code ‖ Identifier ‖ Length ‖ 16 zero octets ‖
//! attributes ‖ secret). Response Authenticator: MD5(Code ‖ Identifier ‖ Length ‖ the request's
//! authenticator ‖ response attributes ‖ secret); the response carries no attributes.
//!
//! What the record keeps (everything else — counters, Class, vendor attributes — is left out:
//! the store needs none of it, and what is not written cannot leak): Acct-Status-Type (40),
//! Acct-Session-Id (44), Acct-Multi-Session-Id (50), User-Name (1), NAS-IP-Address (4),
//! NAS-IPv6-Address (95), NAS-Identifier (32), Framed-IP-Address (8), Framed-IPv6-Prefix (97,
//! RFC 3162), Delegated-IPv6-Prefix (123, RFC 4818), Framed-IPv6-Address (168, RFC 6911),
//! Event-Timestamp (55), Acct-Delay-Time (41); then, as FreeRADIUS adds them,
//! `Packet-Src-IP-Address` / `Packet-Src-IPv6-Address` (the client that sent it) and
//! `Timestamp` (when the server received it). The record's time is therefore FreeRADIUS's:
//! the receive time minus Acct-Delay-Time.
//!
//! Not guessed: a kept attribute whose length does not fit its type (an address of 5 octets, a
//! prefix longer than 128 bits) makes the packet an error, named by the attribute; an attribute
//! that runs past the packet's length, or one shorter than its own header, is a malformed
//! packet (RFC 2865 says to discard it; tdr keeps it in the quarantine instead).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use md5::{Digest, Md5};

use crate::model::UnixSecs;
use crate::ParseError;

/// RFC 2866 codes.
pub const ACCOUNTING_REQUEST: u8 = 4;
pub const ACCOUNTING_RESPONSE: u8 = 5;
/// RFC 2865 §3: the largest packet.
pub const MAX_PACKET: usize = 4096;
/// The smallest packet: the header alone.
pub const MIN_PACKET: usize = HEADER;
const HEADER: usize = 20;

/// A well-formed Accounting-Request (its authenticator not yet checked).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub identifier: u8,
    pub authenticator: [u8; 16],
    /// The packet up to its Length field (padding cut off).
    packet: &'a [u8],
}

fn err(what: &'static str, reason: impl Into<String>) -> ParseError {
    ParseError::new(what, reason)
}

/// Checks the packet's structure: an Accounting-Request whose Length fits what arrived and
/// whose attributes tile it exactly.
pub fn decode(packet: &[u8]) -> Result<Request<'_>, ParseError> {
    if packet.len() < HEADER {
        return Err(err(
            "parse.radius_packet.too_short",
            format!(
                "a RADIUS packet has a 20-octet header; this one has {} octets",
                packet.len()
            ),
        ));
    }
    if packet[0] != ACCOUNTING_REQUEST {
        return Err(err(
            "parse.radius_packet.not_accounting",
            format!(
                "code {} is not an Accounting-Request (4): an accounting port takes nothing else",
                packet[0]
            ),
        ));
    }
    let len = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    if !(HEADER..=MAX_PACKET).contains(&len) || len > packet.len() {
        return Err(err(
            "parse.radius_packet.bad_length",
            format!(
                "the Length field says {len} octets; {} arrived (it must be 20 to 4096 and no more than arrived)",
                packet.len()
            ),
        ));
    }
    let packet = &packet[..len];
    let mut at = HEADER;
    while at < len {
        let alen = packet.get(at + 1).map(|&l| usize::from(l)).unwrap_or(0);
        if alen < 2 || at + alen > len {
            return Err(err(
                "parse.radius_packet.bad_attribute_length",
                format!(
                    "attribute type {} at octet {at} has length {alen}, which does not fit the packet",
                    packet[at]
                ),
            ));
        }
        at += alen;
    }
    let mut authenticator = [0u8; 16];
    authenticator.copy_from_slice(&packet[4..20]);
    Ok(Request {
        identifier: packet[1],
        authenticator,
        packet,
    })
}

/// Compares two byte strings in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// One attribute: its type and value.
#[derive(Debug, Clone, Copy)]
struct Attr<'a> {
    typ: u8,
    value: &'a [u8],
}

impl<'a> Request<'a> {
    fn attributes(&self) -> impl Iterator<Item = Attr<'a>> {
        let p = self.packet;
        let mut at = HEADER;
        std::iter::from_fn(move || {
            if at >= p.len() {
                return None;
            }
            let len = usize::from(p[at + 1]);
            let a = Attr {
                typ: p[at],
                value: &p[at + 2..at + len],
            };
            at += len;
            Some(a)
        })
    }

    /// True when the Request Authenticator is the one `secret` gives (RFC 2866 §3).
    pub fn verify(&self, secret: &[u8]) -> bool {
        let mut h = Md5::new();
        h.update(&self.packet[..4]);
        h.update([0u8; 16]);
        h.update(&self.packet[HEADER..]);
        h.update(secret);
        same(&h.finalize(), &self.authenticator)
    }

    /// The Accounting-Response to this request (no attributes).
    pub fn response(&self, secret: &[u8]) -> [u8; 20] {
        let mut out = [0u8; 20];
        out[0] = ACCOUNTING_RESPONSE;
        out[1] = self.identifier;
        out[2..4].copy_from_slice(&20u16.to_be_bytes());
        let mut h = Md5::new();
        h.update(&out[..4]);
        h.update(self.authenticator);
        h.update(secret);
        out[4..].copy_from_slice(&h.finalize());
        out
    }

    /// The request as the record `rlm_detail` writes for it (header line, tab-indented
    /// attributes, a blank line), received at `received` from `client`.
    pub fn to_detail(&self, received: UnixSecs, client: IpAddr) -> Result<Vec<u8>, ParseError> {
        let mut rec = String::with_capacity(512);
        let header = chrono::DateTime::from_timestamp(received, 0).ok_or_else(|| {
            err(
                "parse.radius_packet.bad_receive_time",
                "the receive time is out of range",
            )
        })?;
        let _ = writeln!(rec, "{}", header.format("%a %b %e %H:%M:%S %Y"));
        for a in self.attributes() {
            let Some((name, kind)) = kept(a.typ) else {
                continue;
            };
            let _ = write!(rec, "\t{name} = ");
            match kind {
                Kind::Text => quoted(&mut rec, a.value),
                Kind::Integer => {
                    let n = u32::from_be_bytes(fixed(a.value, name)?);
                    if a.typ == 40 {
                        rec.push_str(status_name(n).unwrap_or(&n.to_string()));
                    } else {
                        let _ = write!(rec, "{n}");
                    }
                }
                Kind::Ipv4 => {
                    let _ = write!(rec, "{}", Ipv4Addr::from(fixed::<4>(a.value, name)?));
                }
                Kind::Ipv6 => {
                    let _ = write!(rec, "{}", Ipv6Addr::from(fixed::<16>(a.value, name)?));
                }
                Kind::Ipv6Prefix => {
                    let (addr, plen) = prefix(a.value, name)?;
                    let _ = write!(rec, "{addr}/{plen}");
                }
            }
            rec.push('\n');
        }
        match client {
            IpAddr::V4(a) => {
                let _ = writeln!(rec, "\tPacket-Src-IP-Address = {a}");
            }
            IpAddr::V6(a) => {
                let _ = writeln!(rec, "\tPacket-Src-IPv6-Address = {a}");
            }
        }
        let _ = write!(rec, "\tTimestamp = {received}\n\n");
        Ok(rec.into_bytes())
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Integer,
    Ipv4,
    Ipv6,
    Ipv6Prefix,
}

/// The attributes written into the record, with their dictionary names and types.
fn kept(typ: u8) -> Option<(&'static str, Kind)> {
    Some(match typ {
        1 => ("User-Name", Kind::Text),
        4 => ("NAS-IP-Address", Kind::Ipv4),
        8 => ("Framed-IP-Address", Kind::Ipv4),
        32 => ("NAS-Identifier", Kind::Text),
        40 => ("Acct-Status-Type", Kind::Integer),
        41 => ("Acct-Delay-Time", Kind::Integer),
        44 => ("Acct-Session-Id", Kind::Text),
        50 => ("Acct-Multi-Session-Id", Kind::Text),
        55 => ("Event-Timestamp", Kind::Integer),
        95 => ("NAS-IPv6-Address", Kind::Ipv6),
        97 => ("Framed-IPv6-Prefix", Kind::Ipv6Prefix),
        123 => ("Delegated-IPv6-Prefix", Kind::Ipv6Prefix),
        168 => ("Framed-IPv6-Address", Kind::Ipv6),
        _ => return None,
    })
}

/// RFC 2866 §5.1 names, as FreeRADIUS prints them.
fn status_name(n: u32) -> Option<&'static str> {
    Some(match n {
        1 => "Start",
        2 => "Stop",
        3 => "Interim-Update",
        7 => "Accounting-On",
        8 => "Accounting-Off",
        _ => return None,
    })
}

fn fixed<const N: usize>(v: &[u8], name: &str) -> Result<[u8; N], ParseError> {
    v.try_into().map_err(|_| {
        err(
            "parse.radius_packet.bad_attribute",
            format!("{name} has {} octets; its type needs {N}", v.len()),
        )
    })
}

/// RFC 3162 §2.3 / RFC 8044 §3.10: Reserved (1) · Prefix-Length (1, ≤ 128) · Prefix (up to 16
/// octets, at least enough for the length); bits beyond the length are cleared.
fn prefix(v: &[u8], name: &str) -> Result<(Ipv6Addr, u8), ParseError> {
    let bad = |why: &str| {
        err(
            "parse.radius_packet.bad_attribute",
            format!("{name}: {why}"),
        )
    };
    if v.len() < 2 || v.len() > 18 {
        return Err(bad("an IPv6 prefix value has 2 to 18 octets"));
    }
    let plen = v[1];
    if plen > 128 {
        return Err(bad("the prefix length is over 128"));
    }
    let bytes = &v[2..];
    if bytes.len() * 8 < usize::from(plen) {
        return Err(bad("fewer prefix octets than the prefix length needs"));
    }
    let mut a = [0u8; 16];
    a[..bytes.len()].copy_from_slice(bytes);
    let bits = u128::from_be_bytes(a);
    let mask = if plen == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(plen))
    };
    Ok((Ipv6Addr::from(bits & mask), plen))
}

/// A text value in double quotes as FreeRADIUS escapes it: `"` and `\` escaped, anything but
/// printable ASCII as `\ooo` (the radius-detail parser turns it back into the same bytes).
fn quoted(out: &mut String, v: &[u8]) {
    out.push('"');
    for &b in v {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
}

/// Builds an Accounting-Request from `(type, value)` attributes, signed with `secret`: for
/// tests and benches (the server only reads requests).
pub fn build_request(identifier: u8, attributes: &[(u8, &[u8])], secret: &[u8]) -> Vec<u8> {
    let mut p = vec![ACCOUNTING_REQUEST, identifier, 0, 0];
    p.extend_from_slice(&[0u8; 16]);
    for (t, v) in attributes {
        p.push(*t);
        p.push(u8::try_from(v.len() + 2).expect("attribute value up to 253 octets"));
        p.extend_from_slice(v);
    }
    let len = u16::try_from(p.len()).expect("packet up to 4096 octets");
    p[2..4].copy_from_slice(&len.to_be_bytes());
    let mut h = Md5::new();
    h.update(&p);
    h.update(secret);
    let auth = h.finalize();
    p[4..20].copy_from_slice(&auth);
    p
}

/// The fuzzing entry point: any bytes are decoded, checked against a fixed secret and written
/// out as a record, which the radius-detail parser must read without panicking.
pub fn fuzz_one(data: &[u8]) {
    if let Ok(req) = decode(data) {
        let _ = req.verify(b"fuzz");
        let _ = req.response(b"fuzz");
        for client in [
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ] {
            if let Ok(rec) = req.to_detail(1_795_255_200, client) {
                let ctx = crate::Context::new("fuzz", 1_795_255_200);
                let mut p = crate::format::radius_detail::RadiusDetail::new(&ctx);
                let mut out = Vec::new();
                let frame = rec.strip_suffix(b"\n\n").unwrap_or(&rec);
                let _ = crate::Parser::parse(&mut p, frame, &mut out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::radius_detail::RadiusDetail;
    use crate::model::{Event, SessionOp, Target};
    use crate::{Context, Parser};

    const SECRET: &[u8] = b"testing123";

    fn start() -> Vec<u8> {
        build_request(
            7,
            &[
                (40, &1u32.to_be_bytes()),
                (44, b"0000002A"),
                (1, b"anna@junet"),
                (4, &[10, 255, 0, 1]),
                (8, &[100, 64, 1, 9]),
                (123, &[0, 56, 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x42]),
                (55, &1_795_255_100u32.to_be_bytes()),
                (41, &5u32.to_be_bytes()),
                (42, &99u32.to_be_bytes()),
            ],
            SECRET,
        )
    }

    fn events(packet: &[u8], received: i64) -> Vec<Event> {
        let req = decode(packet).unwrap();
        let rec = req
            .to_detail(received, "192.0.2.7".parse().unwrap())
            .unwrap();
        let ctx = Context::new("bng", received);
        let mut p = RadiusDetail::new(&ctx);
        let mut out = Vec::new();
        p.parse(rec.strip_suffix(b"\n\n").unwrap(), &mut out)
            .unwrap();
        out
    }

    #[test]
    fn a_signed_request_verifies_and_a_wrong_secret_or_a_changed_octet_does_not() {
        let p = start();
        let req = decode(&p).unwrap();
        assert!(req.verify(SECRET));
        assert!(!req.verify(b"testing124"));
        let mut changed = p.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        assert!(!decode(&changed).unwrap().verify(SECRET));
    }

    #[test]
    fn the_response_authenticator_is_rfc_2866s() {
        let p = start();
        let req = decode(&p).unwrap();
        let r = req.response(SECRET);
        assert_eq!(&r[..4], &[5, 7, 0, 20]);
        let mut h = Md5::new();
        h.update([5, 7, 0, 20]);
        h.update(&p[4..20]);
        h.update(SECRET);
        assert_eq!(&r[4..], h.finalize().as_slice());
    }

    #[test]
    fn a_start_reads_as_the_detail_record_freeradius_would_write() {
        let ev = events(&start(), 1_795_255_200);
        let v4 = Target::host("100.64.1.9".parse().unwrap());
        let v6 = Target::prefix("2001:db8:100:4200::/56".parse().unwrap());
        let want = |target| Event::Session {
            op: SessionOp::Start,
            // Timestamp (receive time) minus Acct-Delay-Time, as FreeRADIUS reads it.
            time: 1_795_255_195,
            subscriber: "anna@junet".into(),
            session: "0000002A".into(),
            target,
            nas: "10.255.0.1".into(),
            source: "bng".into(),
            class: crate::model::Class::Security,
        };
        assert_eq!(ev, vec![want(v4), want(v6)]);
    }

    #[test]
    fn odd_bytes_in_a_user_name_survive_the_record() {
        let p = build_request(
            1,
            &[
                (40, &3u32.to_be_bytes()),
                (44, b"s\"1\\"),
                (1, "bj\u{f6}rn\t\"x\"".as_bytes()),
                (4, &[10, 0, 0, 1]),
                (8, &[100, 64, 0, 1]),
            ],
            SECRET,
        );
        let ev = events(&p, 1_795_255_200);
        match &ev[0] {
            Event::Session {
                subscriber,
                session,
                op,
                ..
            } => {
                assert_eq!(subscriber, "bj\u{f6}rn\t\"x\"");
                assert_eq!(session, "s\"1\\");
                assert_eq!(*op, SessionOp::Interim);
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn malformed_packets_are_named() {
        let p = start();
        assert_eq!(
            decode(&p[..10]).unwrap_err().code,
            "parse.radius_packet.too_short"
        );
        let mut access = p.clone();
        access[0] = 1;
        assert_eq!(
            decode(&access).unwrap_err().code,
            "parse.radius_packet.not_accounting"
        );
        let mut long = p.clone();
        long[2..4].copy_from_slice(&(p.len() as u16 + 1).to_be_bytes());
        assert_eq!(
            decode(&long).unwrap_err().code,
            "parse.radius_packet.bad_length"
        );
        let mut attr = p.clone();
        attr[21] = 200; // the first attribute runs past the end
        assert_eq!(
            decode(&attr).unwrap_err().code,
            "parse.radius_packet.bad_attribute_length"
        );
        let short_ip = build_request(1, &[(40, &1u32.to_be_bytes()), (8, &[1, 2, 3])], SECRET);
        let req = decode(&short_ip).unwrap();
        let e = req.to_detail(0, "192.0.2.1".parse().unwrap()).unwrap_err();
        assert_eq!(e.code, "parse.radius_packet.bad_attribute");
        assert!(e.reason.starts_with("Framed-IP-Address"), "{}", e.reason);
        let long_prefix = build_request(1, &[(97, &[0, 129, 0x20, 1])], SECRET);
        assert_eq!(
            decode(&long_prefix)
                .unwrap()
                .to_detail(0, "192.0.2.1".parse().unwrap())
                .unwrap_err()
                .code,
            "parse.radius_packet.bad_attribute"
        );
    }

    #[test]
    fn padding_after_the_length_is_ignored_and_not_signed() {
        let mut p = start();
        p.extend_from_slice(&[0, 0, 0]);
        let req = decode(&p).unwrap();
        assert!(req.verify(SECRET));
    }

    #[test]
    fn fuzz_entry_takes_any_bytes() {
        for data in [
            &b""[..],
            &[4, 0, 0, 20][..],
            &start()[..],
            &[4, 1, 0, 22, 0][..],
        ] {
            fuzz_one(data);
        }
    }
}
