//! kea-leases: ISC Kea memfile lease files (`kea-leases4.csv`, `kea-leases6.csv` and kea-lfc's
//! `.1`, `.2`, `.completed`), written by `CSVLeaseFile4::append` / `CSVLeaseFile6::append`
//! through `util::CSVFile`: a header line naming the columns (older schema versions have fewer),
//! then one row per lease update, appended; the last row for a lease wins. No quoting: commas
//! and other unsafe bytes inside a value are written `&#x` + two hex digits (`&#x2c`); none of
//! the columns read here (address, hwaddr, client_id, duid, numbers) can contain one.
//!
//! Time semantics: `expire` is Unix epoch seconds (UTC) = cltt + `valid_lifetime`; the lease
//! was (re)granted at cltt = `expire` − `valid_lifetime`. No time zone is involved.
//!
//! Events: a row is a lease's state after an update. `state` 0 (default) → lease renew at cltt
//! with `expires` = `expire` (renew, not assign: the file repeats a lease at every update and
//! kea-lfc rewrites it, so the store merges the rows into one binding); 2 (expired-reclaimed) →
//! renew, then expire at `expire`; 3 (released) → renew, then release at `expire`; 1
//! (declined: the address was not usable, no client holds it) and 4 (v6 registered: an
//! address the client configured itself and only registered) → no binding. `valid_lifetime` 0
//! is Kea's record of a deleted lease (`expire` = its cltt) → release at `expire` when the row
//! still names the client. A lifetime of 0xffffffff (infinite) gives no expiry.
//!
//! Coverage: a row that yields no binding (states 1 and 4, a deleted lease that names no
//! client) still shows Kea writing its lease file at the row's cltt: it yields one `Seen`
//! (domain address) at cltt. The header line, blank lines and malformed rows yield no `Seen`
//! (the latter stay errors).
//! Subscriber: v4 the hardware address when it is a 6-octet MAC (not all zero), else
//! `id:<client_id>`; v6 `duid:<duid>`. v6 `lease_type` 0 (NA) / 1 (TA) → the address, 2 (PD)
//! → `address/prefix_len`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nom::bytes::complete::take_while1;
use nom::combinator::all_consuming;
use nom::IResult;

use crate::common::ident::{check_subscriber_len, device_mac, normalize_hex_id, prefixed_hex_id};
use crate::model::{Domain, Event, LeaseOp, Origin, Target, UnixSecs};
use crate::{Context, ParseError, Parser};

const C_NOHDR: &str = "parse.kea_leases.no_header";
const C_HDR: &str = "parse.kea_leases.bad_header";
const C_COUNT: &str = "parse.kea_leases.field_count";
const C_FIELD: &str = "parse.kea_leases.bad_field";
const C_STATE: &str = "parse.kea_leases.bad_state";
const C_NOID: &str = "parse.kea_leases.no_identifier";
const C_IDLEN: &str = "parse.kea_leases.id_too_long";

/// Most columns a header may name (Kea's current v6 schema has 18).
const MAX_COLUMNS: usize = 64;

/// What a column is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Ignore,
    Address,
    Hwaddr,
    ClientId,
    Duid,
    Valid,
    Expire,
    LeaseType,
    PrefixLen,
    State,
}

#[derive(Debug, Clone)]
struct Header {
    roles: Vec<Role>,
    v6: bool,
}

pub struct KeaLeases {
    origin: Origin,
    header: Option<Header>,
}

impl KeaLeases {
    pub fn new(ctx: &Context) -> Self {
        KeaLeases {
            origin: ctx.origin(),
            header: None,
        }
    }

    /// Coverage for a row without a binding: Kea wrote it at `time` (its cltt).
    fn seen(&self, time: UnixSecs) -> Event {
        Event::seen(&self.origin, time, Domain::Address)
    }
}

fn header(line: &[u8]) -> Result<Header, ParseError> {
    let bad = |why: &str| ParseError::new(C_HDR, format!("lease file header: {why}"));
    let mut roles = Vec::new();
    let mut seen: Vec<&[u8]> = Vec::new();
    for name in line.split(|&b| b == b',') {
        if roles.len() >= MAX_COLUMNS {
            return Err(bad("too many columns"));
        }
        if seen.contains(&name) {
            return Err(bad("a column is named twice"));
        }
        seen.push(name);
        roles.push(match name {
            b"address" => Role::Address,
            b"hwaddr" => Role::Hwaddr,
            b"client_id" => Role::ClientId,
            b"duid" => Role::Duid,
            b"valid_lifetime" => Role::Valid,
            b"expire" => Role::Expire,
            b"lease_type" => Role::LeaseType,
            b"prefix_len" => Role::PrefixLen,
            b"state" => Role::State,
            // Other known columns and unknown (future) ones are not needed here.
            _ => Role::Ignore,
        });
    }
    let v6 = roles.contains(&Role::Duid);
    let required: &[Role] = if v6 {
        &[
            Role::Address,
            Role::Duid,
            Role::Valid,
            Role::Expire,
            Role::LeaseType,
            Role::PrefixLen,
        ]
    } else {
        &[
            Role::Address,
            Role::Hwaddr,
            Role::ClientId,
            Role::Valid,
            Role::Expire,
        ]
    };
    if let Some(missing) = required.iter().find(|r| !roles.contains(r)) {
        return Err(bad(&format!(
            "required column {} is missing",
            role_name(*missing)
        )));
    }
    if !v6 && roles.contains(&Role::LeaseType) {
        return Err(bad("a v6 column (lease_type) without a duid column"));
    }
    Ok(Header { roles, v6 })
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Ignore => "-",
        Role::Address => "address",
        Role::Hwaddr => "hwaddr",
        Role::ClientId => "client_id",
        Role::Duid => "duid",
        Role::Valid => "valid_lifetime",
        Role::Expire => "expire",
        Role::LeaseType => "lease_type",
        Role::PrefixLen => "prefix_len",
        Role::State => "state",
    }
}

fn bad_field(r: Role) -> ParseError {
    ParseError::new(C_FIELD, format!("column {} is malformed", role_name(r)))
}

/// An unsigned decimal field (as `boost::lexical_cast` reads it: digits only).
fn decimal(s: &[u8]) -> IResult<&[u8], u64> {
    let (r, d) = all_consuming(take_while1(|c: u8| c.is_ascii_digit()))(s)?;
    let mut v: u64 = 0;
    for &c in d {
        v = match v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
        {
            Some(v) => v,
            None => {
                return Err(nom::Err::Error(nom::error::Error::new(
                    s,
                    nom::error::ErrorKind::TooLarge,
                )))
            }
        };
    }
    Ok((r, v))
}

fn number(s: &[u8], r: Role, max: u64) -> Result<u64, ParseError> {
    match decimal(s) {
        Ok((_, v)) if v <= max => Ok(v),
        _ => Err(bad_field(r)),
    }
}

fn check_len(s: String) -> Result<String, ParseError> {
    check_subscriber_len(s, C_IDLEN)
}

impl Parser for KeaLeases {
    fn parse(&mut self, frame: &[u8], out: &mut Vec<Event>) -> Result<(), ParseError> {
        // Kea's CSV reader skips blank lines.
        if frame.is_empty() {
            return Ok(());
        }
        if frame == b"address" || frame.starts_with(b"address,") {
            // A header (again, after kea-lfc concatenation, or fed again on resume): it
            // replaces the columns.
            // A bad header leaves no columns: the rows after it are refused, not read with
            // the previous header's.
            self.header = None;
            self.header = Some(header(frame)?);
            return Ok(());
        }
        let Some(h) = &self.header else {
            return Err(ParseError::new(
                C_NOHDR,
                "a lease row before the header line that names the columns",
            ));
        };

        let mut address: &[u8] = b"";
        let mut hwaddr: &[u8] = b"";
        let mut client_id: &[u8] = b"";
        let mut duid: &[u8] = b"";
        let mut valid: &[u8] = b"";
        let mut expire: &[u8] = b"";
        let mut lease_type: &[u8] = b"";
        let mut prefix_len: &[u8] = b"";
        let mut state: Option<&[u8]> = None;
        let mut n = 0;
        for field in frame.split(|&b| b == b',') {
            match h.roles.get(n) {
                None => {
                    return Err(ParseError::new(
                        C_COUNT,
                        "the row has more fields than the header",
                    ))
                }
                Some(Role::Ignore) => {}
                Some(Role::Address) => address = field,
                Some(Role::Hwaddr) => hwaddr = field,
                Some(Role::ClientId) => client_id = field,
                Some(Role::Duid) => duid = field,
                Some(Role::Valid) => valid = field,
                Some(Role::Expire) => expire = field,
                Some(Role::LeaseType) => lease_type = field,
                Some(Role::PrefixLen) => prefix_len = field,
                Some(Role::State) => state = Some(field),
            }
            n += 1;
        }
        if n != h.roles.len() {
            return Err(ParseError::new(
                C_COUNT,
                "the row has fewer fields than the header",
            ));
        }

        let addr_text = std::str::from_utf8(address).map_err(|_| bad_field(Role::Address))?;
        let valid = number(valid, Role::Valid, u64::from(u32::MAX))? as i64;
        let expire = number(expire, Role::Expire, i64::MAX as u64)? as i64;
        // cltt; Kea itself refuses a row whose expiry comes before its lifetime.
        let start = expire - valid;
        if start < 0 {
            return Err(bad_field(Role::Expire));
        }
        // Old schemas have no state column: Kea's default is 0.
        let state = match state {
            None => 0,
            Some(s) => number(s, Role::State, u64::from(u32::MAX))?,
        };
        let target = if h.v6 {
            let a: Ipv6Addr = addr_text.parse().map_err(|_| bad_field(Role::Address))?;
            match number(lease_type, Role::LeaseType, 255)? {
                0 | 1 => Target::host(IpAddr::V6(a)),
                2 => {
                    let plen = number(prefix_len, Role::PrefixLen, 128)? as u8;
                    let net =
                        ipnet::Ipv6Net::new(a, plen).map_err(|_| bad_field(Role::PrefixLen))?;
                    Target::prefix(net)
                }
                _ => return Err(bad_field(Role::LeaseType)),
            }
        } else {
            let a: Ipv4Addr = addr_text.parse().map_err(|_| bad_field(Role::Address))?;
            Target::host(IpAddr::V4(a))
        };

        // The client, `None` if the row does not name one.
        let subscriber = || -> Result<Option<String>, ParseError> {
            if h.v6 {
                if duid.is_empty() {
                    return Ok(None);
                }
                let s = prefixed_hex_id("duid:", duid).ok_or_else(|| bad_field(Role::Duid))?;
                return check_len(s).map(Some);
            }
            if !hwaddr.is_empty() {
                if let Some(m) = device_mac(hwaddr) {
                    return Ok(Some(m));
                }
                // Not Ethernet: it must still be hex octets.
                if normalize_hex_id(std::str::from_utf8(hwaddr).unwrap_or("-")).is_none() {
                    return Err(bad_field(Role::Hwaddr));
                }
            }
            if client_id.is_empty() {
                return Ok(None);
            }
            let s = prefixed_hex_id("id:", client_id).ok_or_else(|| bad_field(Role::ClientId))?;
            check_len(s).map(Some)
        };
        let need = |s: Option<String>| {
            s.ok_or_else(|| {
                ParseError::new(
                    C_NOID,
                    "the lease names no client (no MAC hardware address, client-id or DUID)",
                )
            })
        };

        if valid == 0 {
            // A deleted lease.
            match subscriber()? {
                Some(s) => out.push(Event::lease(
                    &self.origin,
                    LeaseOp::Release,
                    expire,
                    s,
                    target,
                    None,
                )),
                None => out.push(self.seen(expire)),
            }
            return Ok(());
        }
        let expires = (valid != i64::from(u32::MAX)).then_some(expire);
        match state {
            0 => {
                let s = need(subscriber()?)?;
                out.push(Event::lease(
                    &self.origin,
                    LeaseOp::Renew,
                    start,
                    s,
                    target,
                    expires,
                ));
            }
            1 | 4 => out.push(self.seen(start)),
            2 | 3 => {
                let s = need(subscriber()?)?;
                out.push(Event::lease(
                    &self.origin,
                    LeaseOp::Renew,
                    start,
                    s.clone(),
                    target,
                    expires,
                ));
                let op = if state == 2 {
                    LeaseOp::Expire
                } else {
                    LeaseOp::Release
                };
                out.push(Event::lease(&self.origin, op, expire, s, target, None));
            }
            _ => {
                return Err(ParseError::new(
                    C_STATE,
                    "column state is not a known lease state (0-4)",
                ))
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H4: &str = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id";
    const H6: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source,pool_id";

    fn run(lines: &[&str]) -> (Vec<Event>, Vec<Result<(), ParseError>>) {
        crate::testing::run_lines(&mut KeaLeases::new(&Context::new("test", 0)), lines)
    }

    fn lines(ev: &[Event]) -> Vec<String> {
        ev.iter().map(crate::format::events::to_line).collect()
    }

    fn err(lines: &[&str]) -> &'static str {
        let (_, res) = run(lines);
        res.last().unwrap().as_ref().unwrap_err().code
    }

    #[test]
    fn v4_states() {
        let (ev, res) = run(&[
            H4,
            "192.0.2.1,00:1B:2c:3d:4e:5f,01:02,3600,1795258800,1,0,0,host&#x2cname,0,{ \"a\": 1&#x2c \"b\": 2 },0",
            "192.0.2.2,,01:02,3600,1795258800,1,0,0,,1,,0",
            "192.0.2.3,00:1b:2c:3d:4e:60,,3600,1795258800,1,0,0,,2,,0",
            "192.0.2.4,32:30,33:30,3600,1795258800,1,0,0,,3,,0",
            "192.0.2.5,00:1b:2c:3d:4e:61,,0,1795255200,1,0,0,,0,,0",
            "192.0.2.6,,,0,1795255200,1,0,0,,1,,0",
            "",
        ]);
        assert!(res.iter().all(Result::is_ok), "{res:?}");
        assert_eq!(
            lines(&ev),
            vec![
                r#"{"kind":"lease","op":"renew","time":"2026-11-21T10:00:00Z","subscriber":"00:1b:2c:3d:4e:5f","addr":"192.0.2.1","expires":"2026-11-21T11:00:00Z","source":"test"}"#,
                r#"{"kind":"seen","time":"2026-11-21T10:00:00Z","domain":"address","source":"test"}"#,
                r#"{"kind":"lease","op":"renew","time":"2026-11-21T10:00:00Z","subscriber":"00:1b:2c:3d:4e:60","addr":"192.0.2.3","expires":"2026-11-21T11:00:00Z","source":"test"}"#,
                r#"{"kind":"lease","op":"expire","time":"2026-11-21T11:00:00Z","subscriber":"00:1b:2c:3d:4e:60","addr":"192.0.2.3","source":"test"}"#,
                r#"{"kind":"lease","op":"renew","time":"2026-11-21T10:00:00Z","subscriber":"id:33:30","addr":"192.0.2.4","expires":"2026-11-21T11:00:00Z","source":"test"}"#,
                r#"{"kind":"lease","op":"release","time":"2026-11-21T11:00:00Z","subscriber":"id:33:30","addr":"192.0.2.4","source":"test"}"#,
                r#"{"kind":"lease","op":"release","time":"2026-11-21T10:00:00Z","subscriber":"00:1b:2c:3d:4e:61","addr":"192.0.2.5","source":"test"}"#,
                r#"{"kind":"seen","time":"2026-11-21T10:00:00Z","domain":"address","source":"test"}"#,
            ]
        );
    }

    #[test]
    fn v6_and_old_schemas() {
        let (ev, res) = run(&[
            H6,
            "2001:db8::10,00:01:00:01:aa:bb,3600,1795258800,1,1800,0,7,128,0,0,,,0,,0,0,0",
            "2001:db8:100::,00:01:00:01:aa:bb,3600,1795258800,1,1800,2,7,56,0,0,,,4,,0,0,0",
            "2001:db8:200::,00:01:00:01:aa:bb,4294967295,6090222495,1,1800,2,7,48,0,0,,,0,,0,0,0",
            // 1.0 schema: no hwaddr, no state.
            "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname",
            "2001:db8:300::,0A:0B,3600,1795258800,1,1800,2,7,56,0,0,",
            // v4 1.0 schema.
            "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname",
            "10.0.0.1,aa:bb:cc:dd:ee:ff,,60,1795255260,1,0,0,",
        ]);
        assert!(res.iter().all(Result::is_ok), "{res:?}");
        assert_eq!(
            lines(&ev),
            vec![
                r#"{"kind":"lease","op":"renew","time":"2026-11-21T10:00:00Z","subscriber":"duid:00:01:00:01:aa:bb","addr":"2001:db8::10","expires":"2026-11-21T11:00:00Z","source":"test"}"#,
                r#"{"kind":"seen","time":"2026-11-21T10:00:00Z","domain":"address","source":"test"}"#,
                r#"{"kind":"lease","op":"renew","time":"2026-11-21T10:00:00Z","subscriber":"duid:00:01:00:01:aa:bb","addr":"2001:db8:200::/48","source":"test"}"#,
                r#"{"kind":"lease","op":"renew","time":"2026-11-21T10:00:00Z","subscriber":"duid:0a:0b","addr":"2001:db8:300::/56","expires":"2026-11-21T11:00:00Z","source":"test"}"#,
                r#"{"kind":"lease","op":"renew","time":"2026-11-21T10:00:00Z","subscriber":"aa:bb:cc:dd:ee:ff","addr":"10.0.0.1","expires":"2026-11-21T10:01:00Z","source":"test"}"#,
            ]
        );
    }

    #[test]
    fn unknown_columns_are_ignored_when_the_required_ones_exist() {
        let (ev, res) = run(&[
            "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id,future_col",
            "10.0.0.1,aa:bb:cc:dd:ee:ff,,60,1795255260,1,0,0,,0,,0,whatever",
        ]);
        assert!(res.iter().all(Result::is_ok));
        assert_eq!(ev.len(), 1);
    }

    #[test]
    fn error_codes() {
        assert_eq!(
            err(&["10.0.0.1,aa:bb:cc:dd:ee:ff,,60,1795255260,1,0,0,"]),
            C_NOHDR
        );
        assert_eq!(err(&["address,hwaddr,valid_lifetime,expire"]), C_HDR);
        assert_eq!(
            err(&["address,duid,valid_lifetime,expire,subnet_id"]),
            C_HDR
        );
        assert_eq!(
            err(&["address,hwaddr,client_id,valid_lifetime,expire,expire"]),
            C_HDR
        );
        assert_eq!(
            err(&[
                H4,
                "address,hwaddr,valid_lifetime",
                "10.0.0.1,aa:bb:cc:dd:ee:ff,,60,1795255260,1,0,0,,0,,0"
            ]),
            C_NOHDR
        );
        assert_eq!(
            err(&[H4, "10.0.0.1,aa:bb:cc:dd:ee:ff,,60,59,1,0,0,,0,,0"]),
            C_FIELD
        );
        assert_eq!(
            err(&[
                H4,
                "10.0.0.1,aa:bb:cc:dd:ee:ff,,60,1795255260,1,0,0,,0,,0,extra"
            ]),
            C_COUNT
        );
        assert_eq!(
            err(&[H4, "10.0.0.1,aa:bb:cc:dd:ee:ff,,60,1795255260,1,0,0,,0,"]),
            C_COUNT
        );
        assert_eq!(
            err(&[
                H4,
                "10.0.0.256,aa:bb:cc:dd:ee:ff,,60,1795255260,1,0,0,,0,,0"
            ]),
            C_FIELD
        );
        assert_eq!(
            err(&[
                H4,
                "2001:db8::1,aa:bb:cc:dd:ee:ff,,60,1795255260,1,0,0,,0,,0"
            ]),
            C_FIELD
        );
        assert_eq!(
            err(&[H4, "10.0.0.1,aa:bb:cc:dd:ee:ff,,-60,1795255260,1,0,0,,0,,0"]),
            C_FIELD
        );
        assert_eq!(
            err(&[
                H4,
                "10.0.0.1,aa:bb:cc:dd:ee:ff,,4294967296,1795255260,1,0,0,,0,,0"
            ]),
            C_FIELD
        );
        assert_eq!(
            err(&[H4, "10.0.0.1,aa:bb:cc:dd:ee:ff,,60,,1,0,0,,0,,0"]),
            C_FIELD
        );
        assert_eq!(
            err(&[H4, "10.0.0.1,zz:bb,,60,1795255260,1,0,0,,0,,0"]),
            C_FIELD
        );
        assert_eq!(
            err(&[H4, "10.0.0.1,aa:bb,0x1,60,1795255260,1,0,0,,0,,0"]),
            C_FIELD
        );
        assert_eq!(
            err(&[H4, "10.0.0.1,aa:bb:cc:dd:ee:ff,,60,1795255260,1,0,0,,9,,0"]),
            C_STATE
        );
        assert_eq!(err(&[H4, "10.0.0.1,,,60,1795255260,1,0,0,,0,,0"]), C_NOID);
        assert_eq!(
            err(&[H4, "10.0.0.1,00:00:00:00:00:00,,60,1795255260,1,0,0,,0,,0"]),
            C_NOID
        );
        let (ev, _) = run(&[
            H4,
            "10.0.0.1,00:00:00:00:00:00,01:02,60,1795255260,1,0,0,,0,,0",
        ]);
        assert!(matches!(&ev[0], Event::Lease { subscriber, .. } if subscriber == "id:01:02"));
        assert_eq!(
            err(&[H4, "10.0.0.1,01:02,,60,1795255260,1,0,0,,2,,0"]),
            C_NOID
        );
        let long = vec!["ab"; 100].join(":");
        assert_eq!(
            err(&[H4, &format!("10.0.0.1,,{long},60,1795255260,1,0,0,,0,,0")]),
            C_IDLEN
        );
        assert_eq!(
            err(&[
                H6,
                "2001:db8::10,,3600,1795258800,1,1800,0,7,128,0,0,,,0,,0,0,0"
            ]),
            C_NOID
        );
        assert_eq!(
            err(&[
                H6,
                "2001:db8::10,00:01,3600,1795258800,1,1800,3,7,128,0,0,,,0,,0,0,0"
            ]),
            C_FIELD
        );
        assert_eq!(
            err(&[
                H6,
                "2001:db8::,00:01,3600,1795258800,1,1800,2,7,129,0,0,,,0,,0,0,0"
            ]),
            C_FIELD
        );
        assert_eq!(
            err(&[
                H6,
                "192.0.2.1,00:01,3600,1795258800,1,1800,0,7,128,0,0,,,0,,0,0,0"
            ]),
            C_FIELD
        );
    }

    /// The declined rows of the real dumps in /work/shared/samples/kea-leases-csv
    /// (isc-projects/kea src/bin/admin/tests/data/lease{4,6}_dump_test.reference.csv): Kea
    /// wrote each at its cltt (expire − valid_lifetime), but no client holds the address.
    #[test]
    fn a_declined_lease_row_marks_coverage_at_its_cltt() {
        let (ev, res) = run(&[
            H4,
            "0.0.0.11,,31:32:33,40,1643210000,50,1,1,,1,{  },0",
            H6,
            "::11,32:31:33,30,1643210000,40,50,0,60,128,1,1,,38:30,1,{  },90,1,0",
        ]);
        assert!(res.iter().all(Result::is_ok), "{res:?}");
        assert_eq!(
            lines(&ev),
            vec![
                r#"{"kind":"seen","time":"2022-01-26T15:12:40Z","domain":"address","source":"test"}"#,
                r#"{"kind":"seen","time":"2022-01-26T15:12:50Z","domain":"address","source":"test"}"#,
            ]
        );
    }

    #[test]
    fn a_deleted_lease_without_client_marks_coverage_and_with_one_releases() {
        let (ev, res) = run(&[
            H4,
            "192.0.2.6,,,0,1795255200,1,0,0,,0,,0",
            "192.0.2.5,00:1b:2c:3d:4e:61,,0,1795255200,1,0,0,,0,,0",
        ]);
        assert!(res.iter().all(Result::is_ok), "{res:?}");
        assert_eq!(
            lines(&ev),
            vec![
                r#"{"kind":"seen","time":"2026-11-21T10:00:00Z","domain":"address","source":"test"}"#,
                r#"{"kind":"lease","op":"release","time":"2026-11-21T10:00:00Z","subscriber":"00:1b:2c:3d:4e:61","addr":"192.0.2.5","source":"test"}"#,
            ]
        );
    }

    #[test]
    fn headers_and_blank_lines_mark_no_coverage() {
        let (ev, res) = run(&[H4, "", H6]);
        assert!(res.iter().all(Result::is_ok));
        assert!(ev.is_empty());
    }

    #[test]
    fn reasons_carry_no_personal_data() {
        let (_, res) = run(&[H4, "10.9.8.7,zz:bb,,60,1795255260,1,0,0,secret,0,,0"]);
        let e = res[1].as_ref().unwrap_err();
        assert!(
            !e.reason.contains("10.9.8.7")
                && !e.reason.contains("zz")
                && !e.reason.contains("secret")
        );
    }

    fn hexdump(b: &[u8]) -> String {
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// Escapes a value the way `CSVRow::escapeCharacters` does.
    fn escape(s: &str) -> String {
        let mut o = String::new();
        for c in s.bytes() {
            if !(0x20..=0x7e).contains(&c) || c == b',' || c == b'&' {
                o.push_str(&format!("&#x{c:02x}"));
            } else {
                o.push(c as char);
            }
        }
        o
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut p = KeaLeases::new(&Context::new("test", 0));
            let mut out = Vec::new();
            let _ = p.parse(&data, &mut out);
            let _ = p.parse(H6.as_bytes(), &mut out);
            let _ = p.parse(&data, &mut out);
            let _ = p.parse(H4.as_bytes(), &mut out);
            let _ = p.parse(&data, &mut out);
            let mut row = b"10.0.0.1,".to_vec();
            row.extend_from_slice(&data);
            let _ = p.parse(&row, &mut out);
        }

        #[test]
        fn v4_round_trip(
            ip in any::<u32>(),
            hw in proptest::collection::vec(any::<u8>(), 0..8),
            cid in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..20)),
            valid in prop_oneof![Just(0u32), Just(u32::MAX), 1u32..1_000_000],
            cltt in 1_500_000_000i64..2_000_000_000,
            state in 0u32..4,
            hostname in "[ -~]{0,20}",
        ) {
            let expire = cltt + i64::from(valid);
            let row = format!("{},{},{},{valid},{expire},1,0,0,{},{state},{},0",
                Ipv4Addr::from(ip), hexdump(&hw), cid.as_deref().map(hexdump).unwrap_or_default(),
                escape(&hostname), escape("{ \"a\": 1, \"b\": \"&\" }"));
            let (ev, res) = run(&[H4, &row]);
            let sub = if hw.len() == 6 { Some(hexdump(&hw)) } else { cid.as_deref().map(|c| format!("id:{}", hexdump(c))) };
            let target = Target::host(IpAddr::V4(Ipv4Addr::from(ip)));
            let o = &Context::new("test", 0).origin();
            let mk = |op, time, s: &str, expires| Event::lease(o, op, time, s.to_string(), target, expires);
            let expires = (valid != u32::MAX).then_some(expire);
            let seen = |time| Event::seen(o, time, Domain::Address);
            let want: Result<Vec<Event>, &str> = match (valid, state, &sub) {
                (0, _, None) => Ok(vec![seen(expire)]),
                (0, _, Some(s)) => Ok(vec![mk(LeaseOp::Release, expire, s, None)]),
                (_, 1, _) => Ok(vec![seen(cltt)]),
                (_, _, None) => Err(C_NOID),
                (_, 0, Some(s)) => Ok(vec![mk(LeaseOp::Renew, cltt, s, expires)]),
                (_, 2, Some(s)) => Ok(vec![mk(LeaseOp::Renew, cltt, s, expires), mk(LeaseOp::Expire, expire, s, None)]),
                (_, _, Some(s)) => Ok(vec![mk(LeaseOp::Renew, cltt, s, expires), mk(LeaseOp::Release, expire, s, None)]),
            };
            match want {
                Ok(w) => { prop_assert!(res[1].is_ok(), "{:?}", res[1]); prop_assert_eq!(ev, w); }
                Err(c) => prop_assert_eq!(res[1].as_ref().unwrap_err().code, c),
            }
        }

        #[test]
        fn v6_round_trip(
            addr in any::<u128>(),
            duid in proptest::collection::vec(any::<u8>(), 1..30),
            pd in proptest::option::of(1u8..=128),
            valid in 1u32..1_000_000,
            cltt in 1_500_000_000i64..2_000_000_000,
        ) {
            let a = Ipv6Addr::from(addr);
            let expire = cltt + i64::from(valid);
            let (addr_text, lt, plen, target) = match pd {
                Some(l) => { let n = ipnet::Ipv6Net::new(a, l).unwrap().trunc(); (n.addr().to_string(), 2, l, Target::prefix(n)) }
                None => (a.to_string(), 0, 128, Target::host(IpAddr::V6(a))),
            };
            let row = format!("{addr_text},{},{valid},{expire},1,{valid},{lt},9,{plen},0,0,,,0,,0,0,0", hexdump(&duid));
            let (ev, res) = run(&[H6, &row]);
            prop_assert!(res[1].is_ok(), "{:?}", res[1]);
            let o = &Context::new("test", 0).origin();
            let sub = format!("duid:{}", hexdump(&duid));
            prop_assert_eq!(ev, vec![Event::lease(o, LeaseOp::Renew, cltt, sub, target, Some(expire))]);
        }
    }

    #[test]
    #[ignore = "benchmark: cargo test --release -- --ignored kea_leases_speed --nocapture"]
    fn kea_leases_speed() {
        let row = "192.0.2.1,00:1b:2c:3d:4e:5f,01:02:03:04:05:06:07,3600,1795258800,1,1,1,host&#x2cname.example.com,0,{ \"a\": 1&#x2c \"b\": 2 },0";
        let mut p = KeaLeases::new(&Context::new("test", 0));
        let mut out = Vec::with_capacity(1024);
        p.parse(H4.as_bytes(), &mut out).unwrap();
        let n = 2_000_000;
        let t = std::time::Instant::now();
        for _ in 0..n {
            p.parse(row.as_bytes(), &mut out).unwrap();
            out.clear();
        }
        let rate = n as f64 / t.elapsed().as_secs_f64();
        println!("kea-leases: {rate:.0} records/s");
    }
}
