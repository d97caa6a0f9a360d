//! The neutral `events` format: JSON Lines, one normalised event a line (README, "Event
//! format"). Strict: unknown fields, times without an offset and unknown enum values are errors.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Deserialize;

use crate::model::{
    fmt_time, parse_time, Cdr, Class, Domain, Event, FreeState, LeaseOp, NatOp, Origin, SessionOp,
    Target, TimeError,
};
use crate::ParseError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    op: Option<Cow<'a, str>>,
    #[serde(borrow)]
    time: Cow<'a, str>,
    #[serde(borrow, default)]
    subscriber: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    session: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    addr: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    nas: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    expires: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    inside: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    public: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    ports: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    class: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    answer: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    end: Option<Cow<'a, str>>,
    #[serde(default)]
    duration: Option<u32>,
    #[serde(default)]
    billsec: Option<u32>,
    #[serde(borrow, default)]
    calling: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    called: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    disposition: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    call_id: Option<Cow<'a, str>>,
    /// `lease`: true when an administrator made the change.
    #[serde(default)]
    admin: bool,
    /// `lease`: true when its producer logs every end of a lease (RouterOS).
    #[serde(default)]
    ends_logged: bool,
    /// `seen`: `address` or `nat`.
    #[serde(borrow, default)]
    domain: Option<Cow<'a, str>>,
    /// `free`: the lease database's state.
    #[serde(borrow, default)]
    state: Option<Cow<'a, str>>,
    /// `free`: until when the state is known.
    #[serde(borrow, default)]
    until: Option<Cow<'a, str>>,
}

/// The `events` format as a [`Parser`](crate::Parser).
pub struct EventsParser {
    origin: Origin,
}

impl EventsParser {
    pub fn new(ctx: &crate::Context) -> Self {
        EventsParser {
            origin: ctx.origin(),
        }
    }
}

impl crate::Parser for EventsParser {
    fn parse(&mut self, frame: &[u8], out: &mut Vec<Event>) -> Result<(), ParseError> {
        if frame.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        out.push(parse_line_with(
            frame,
            &self.origin.source,
            self.origin.class,
        )?);
        Ok(())
    }
}

/// Writes `ev` as one line of the `events` format (without the LF); [`parse_line`] reads it
/// back to the same event.
pub fn to_line(ev: &Event) -> String {
    use serde_json::{json, Map, Value};
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("kind", json!(ev.kind()));
    match ev {
        Event::Session {
            op,
            time,
            subscriber,
            session,
            target,
            nas,
            ..
        } => {
            put(
                "op",
                json!(match op {
                    SessionOp::Start => "start",
                    SessionOp::Interim => "interim",
                    SessionOp::Stop => "stop",
                }),
            );
            put("time", json!(fmt_time(*time)));
            put("subscriber", json!(subscriber));
            put("session", json!(session));
            put("addr", json!(target.to_string()));
            put("nas", json!(nas));
        }
        Event::Lease {
            admin,
            ends_logged,
            op,
            time,
            subscriber,
            target,
            expires,
            ..
        } => {
            put(
                "op",
                json!(match op {
                    LeaseOp::Assign => "assign",
                    LeaseOp::Renew => "renew",
                    LeaseOp::Release => "release",
                    LeaseOp::Expire => "expire",
                }),
            );
            put("time", json!(fmt_time(*time)));
            if !subscriber.is_empty() {
                put("subscriber", json!(subscriber));
            }
            put("addr", json!(target.to_string()));
            if let Some(e) = expires {
                put("expires", json!(fmt_time(*e)));
            }
            if *admin {
                put("admin", json!(true));
            }
            if *ends_logged {
                put("ends_logged", json!(true));
            }
        }
        Event::Seen { time, domain, .. } => {
            put("time", json!(fmt_time(*time)));
            put("domain", json!(domain.as_str()));
        }
        Event::Free {
            time,
            until,
            target,
            state,
            ..
        } => {
            put("time", json!(fmt_time(*time)));
            put("until", json!(fmt_time(*until)));
            put("addr", json!(target.to_string()));
            put("state", json!(state.as_str()));
        }
        Event::NatBlock {
            op,
            time,
            inside,
            public,
            ports,
            ..
        } => {
            put(
                "op",
                json!(match op {
                    NatOp::Alloc => "alloc",
                    NatOp::Release => "release",
                }),
            );
            put("time", json!(fmt_time(*time)));
            put("inside", json!(inside.to_string()));
            put("public", json!(public.to_string()));
            put("ports", json!(format!("{}-{}", ports.0, ports.1)));
        }
        Event::NasReboot { time, nas, .. } => {
            put("time", json!(fmt_time(*time)));
            put("nas", json!(nas));
        }
        Event::Cdr(c) => {
            put("time", json!(fmt_time(c.start)));
            if let Some(a) = c.answer {
                put("answer", json!(fmt_time(a)));
            }
            put("end", json!(fmt_time(c.end)));
            put("duration", json!(c.duration));
            put("billsec", json!(c.billsec));
            put("calling", json!(c.calling));
            put("called", json!(c.called));
            put("disposition", json!(c.disposition));
            if let Some(id) = &c.call_id {
                put("call_id", json!(id));
            }
        }
    }
    put("source", json!(ev.source()));
    if ev.class() != Class::Security {
        put("class", json!(ev.class().as_str()));
    }
    Value::Object(m).to_string()
}

/// Longest identifier (subscriber, session, NAS, source) accepted, in bytes.
const MAX_ID: usize = 253;

/// Parses one line. `default_source` is used when the event names no source; an event that
/// names no class is `security`.
pub fn parse_line(line: &[u8], default_source: &str) -> Result<Event, ParseError> {
    parse_line_with(line, default_source, Class::Security)
}

/// Like [`parse_line`], with the class of events that name none (the import's `--class`).
pub fn parse_line_with(
    line: &[u8],
    default_source: &str,
    default_class: Class,
) -> Result<Event, ParseError> {
    let raw: Raw = serde_json::from_slice(line).map_err(|e| {
        let msg = e.to_string();
        let code = if msg.starts_with("missing field") {
            "parse.events.missing_field"
        } else if msg.starts_with("unknown field") {
            "parse.events.unknown_field"
        } else {
            "parse.events.json"
        };
        ParseError::new(code, msg)
    })?;
    let time = time_field("time", &raw.time)?;
    let class = match raw.class.as_deref() {
        None => default_class,
        Some(c) => Class::parse(c).ok_or_else(|| {
            ParseError::new(
                "parse.events.bad_class",
                "class must be security, billing or statutory",
            )
        })?,
    };
    let origin = Origin {
        source: match raw.source.as_deref() {
            Some(s) => id_field("source", s)?.to_string(),
            None => default_source.to_string(),
        },
        class,
    };
    let o = &origin;
    let op = raw.op.as_deref();
    match raw.kind.as_ref() {
        "session" => {
            let op = match op {
                Some("start") => SessionOp::Start,
                Some("interim") => SessionOp::Interim,
                Some("stop") => SessionOp::Stop,
                _ => return Err(bad_op("session", "start, interim or stop")),
            };
            Ok(Event::session(
                o,
                op,
                time,
                required_id("subscriber", &raw.subscriber)?,
                required_id("session", &raw.session)?,
                target_field(required("addr", &raw.addr)?)?,
                required_id("nas", &raw.nas)?,
            ))
        }
        "lease" => {
            let op = match op {
                Some("assign") => LeaseOp::Assign,
                Some("renew") => LeaseOp::Renew,
                Some("release") => LeaseOp::Release,
                Some("expire") => LeaseOp::Expire,
                _ => return Err(bad_op("lease", "assign, renew, release or expire")),
            };
            let expires = match raw.expires.as_deref() {
                Some(e) => Some(time_field("expires", e)?),
                None => None,
            };
            if matches!(op, LeaseOp::Assign | LeaseOp::Renew) {
                match expires {
                    None => {
                        return Err(ParseError::new(
                            "parse.events.missing_field",
                            "a lease assign or renew needs `expires`",
                        ))
                    }
                    Some(e) if e < time => {
                        return Err(ParseError::new(
                            "parse.events.bad_time",
                            "`expires` is before `time`",
                        ))
                    }
                    _ => {}
                }
            }
            // A release or expiry may name no subscriber: it ends whichever lease holds the
            // address (an administrator deleted it by address).
            let subscriber = match (&raw.subscriber, op) {
                (None, LeaseOp::Release | LeaseOp::Expire) => String::new(),
                _ => required_id("subscriber", &raw.subscriber)?,
            };
            let target = target_field(required("addr", &raw.addr)?)?;
            let ev = Event::lease(o, op, time, subscriber, target, expires).by_admin(raw.admin);
            Ok(if raw.ends_logged {
                ev.with_ends_logged()
            } else {
                ev
            })
        }
        "nat_block" => {
            let op = match op {
                Some("alloc") => NatOp::Alloc,
                Some("release") => NatOp::Release,
                _ => return Err(bad_op("nat_block", "alloc or release")),
            };
            let inside = ip_field("inside", required("inside", &raw.inside)?)?;
            let public = ip_field("public", required("public", &raw.public)?)?;
            let ports = ports_field(required("ports", &raw.ports)?)?;
            Ok(Event::nat_block(o, op, time, inside, public, ports))
        }
        "nas_reboot" => Ok(Event::nas_reboot(o, time, required_id("nas", &raw.nas)?)),
        "cdr" => {
            let end = time_field("end", required("end", &raw.end)?)?;
            let answer = match raw.answer.as_deref() {
                Some(a) => Some(time_field("answer", a)?),
                None => None,
            };
            if end < time || answer.is_some_and(|a| a < time || a > end) {
                return Err(ParseError::new(
                    "parse.events.bad_time",
                    "a cdr needs time <= answer <= end",
                ));
            }
            let number = |name: &str, v: &Option<Cow<'_, str>>| -> Result<String, ParseError> {
                let v = v.as_deref().unwrap_or("");
                if v.len() > MAX_ID || v.bytes().any(|b| b < 0x20) {
                    return Err(ParseError::new(
                        "parse.events.bad_id",
                        format!(
                            "`{name}` must be at most {MAX_ID} bytes without control characters"
                        ),
                    ));
                }
                Ok(v.to_string())
            };
            Ok(Event::cdr(Cdr {
                start: time,
                answer,
                end,
                duration: raw
                    .duration
                    .unwrap_or((end - time).clamp(0, u32::MAX as i64) as u32),
                billsec: raw.billsec.unwrap_or(0),
                calling: number("calling", &raw.calling)?,
                called: number("called", &raw.called)?,
                disposition: number("disposition", &raw.disposition)?,
                call_id: match raw.call_id.as_deref() {
                    Some(id) => Some(id_field("call_id", id)?.to_string()),
                    None => None,
                },
                source: origin.source,
                class,
            }))
        }
        "seen" => {
            let domain = match raw.domain.as_deref() {
                Some("address") => Domain::Address,
                Some("nat") => Domain::Nat,
                _ => {
                    return Err(ParseError::new(
                        "parse.events.bad_domain",
                        "a seen event needs `domain`: address or nat",
                    ))
                }
            };
            Ok(Event::seen(o, time, domain))
        }
        "free" => {
            let until = time_field("until", required("until", &raw.until)?)?;
            if until < time {
                return Err(ParseError::new(
                    "parse.events.bad_time",
                    "`until` is before `time`",
                ));
            }
            Ok(Event::free(
                o,
                time,
                until,
                target_field(required("addr", &raw.addr)?)?,
                raw.state
                    .as_deref()
                    .and_then(FreeState::parse)
                    .ok_or_else(|| {
                        ParseError::new(
                            "parse.events.bad_state",
                            "state must be free, expired, released, backup or abandoned",
                        )
                    })?,
            ))
        }
        _ => Err(ParseError::new(
            "parse.events.bad_kind",
            "kind must be session, lease, nat_block, nas_reboot, cdr, seen or free",
        )),
    }
}

fn bad_op(kind: &str, allowed: &str) -> ParseError {
    ParseError::new(
        "parse.events.bad_op",
        format!("a {kind} event needs op {allowed}"),
    )
}

fn required<'a>(name: &str, v: &'a Option<Cow<'_, str>>) -> Result<&'a str, ParseError> {
    v.as_deref().ok_or_else(|| {
        ParseError::new(
            "parse.events.missing_field",
            format!("missing field `{name}`"),
        )
    })
}

fn required_id(name: &str, v: &Option<Cow<'_, str>>) -> Result<String, ParseError> {
    id_field(name, required(name, v)?).map(str::to_string)
}

fn id_field<'a>(name: &str, v: &'a str) -> Result<&'a str, ParseError> {
    if v.is_empty() || v.len() > MAX_ID || v.bytes().any(|b| b < 0x20) {
        return Err(ParseError::new(
            "parse.events.bad_id",
            format!("`{name}` must be 1..={MAX_ID} bytes without control characters"),
        ));
    }
    Ok(v)
}

fn time_field(name: &str, v: &str) -> Result<i64, ParseError> {
    parse_time(v).map_err(|e| match e {
        TimeError::NoOffset(_) => ParseError::new(
            "parse.events.no_offset",
            format!("`{name}` has no UTC offset"),
        ),
        TimeError::Malformed(_) => {
            ParseError::new("parse.events.bad_time", format!("`{name}` is not RFC 3339"))
        }
    })
}

fn ip_field(name: &str, v: &str) -> Result<IpAddr, ParseError> {
    v.parse().map_err(|_| {
        ParseError::new(
            "parse.events.bad_addr",
            format!("`{name}` is not an IP address"),
        )
    })
}

/// An address (`192.0.2.1`, `2001:db8::1`) or an IPv6 prefix (`2001:db8:100::/56`).
fn target_field(v: &str) -> Result<Target, ParseError> {
    if v.contains('/') {
        match v.parse::<ipnet::IpNet>() {
            Ok(ipnet::IpNet::V6(net)) if net.prefix_len() == 128 => {
                Ok(Target::host(IpAddr::V6(net.addr())))
            }
            Ok(ipnet::IpNet::V6(net)) => Ok(Target::prefix(net)),
            Ok(ipnet::IpNet::V4(net)) if net.prefix_len() == 32 => {
                Ok(Target::host(IpAddr::V4(net.addr())))
            }
            Ok(ipnet::IpNet::V4(_)) => Err(ParseError::new(
                "parse.events.bad_addr",
                "`addr`: IPv4 prefixes other than /32 are not bindings",
            )),
            Err(_) => Err(ParseError::new(
                "parse.events.bad_addr",
                "`addr` is not an address or IPv6 prefix",
            )),
        }
    } else {
        ip_field("addr", v).map(Target::host)
    }
}

fn ports_field(v: &str) -> Result<(u16, u16), ParseError> {
    let bad = || {
        ParseError::new(
            "parse.events.bad_ports",
            "`ports` must be LO-HI with 0 <= LO <= HI <= 65535",
        )
    };
    let (lo, hi) = v.split_once('-').ok_or_else(bad)?;
    let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
    if lo > hi {
        return Err(bad());
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Event {
        parse_line(s.as_bytes(), "default").unwrap()
    }
    fn code(s: &str) -> &'static str {
        parse_line(s.as_bytes(), "default").unwrap_err().code
    }

    #[test]
    fn an_event_without_a_class_takes_the_imports_class() {
        // Regression: `tdr import --format events --class billing` stored security data.
        let line = br#"{"kind":"session","op":"start","time":"2026-11-21T10:00:00Z","subscriber":"s","session":"1","addr":"192.0.2.1","nas":"n"}"#;
        let mut ctx = crate::Context::new("src", 0);
        ctx.class = Class::Billing;
        let mut p = EventsParser::new(&ctx);
        let mut out = Vec::new();
        crate::Parser::parse(&mut p, line, &mut out).unwrap();
        assert!(format!("{:?}", out[0]).contains("Billing"), "{:?}", out[0]);
        let named = br#"{"kind":"session","op":"start","time":"2026-11-21T10:00:00Z","subscriber":"s","session":"1","addr":"192.0.2.1","nas":"n","class":"statutory"}"#;
        out.clear();
        crate::Parser::parse(&mut p, named, &mut out).unwrap();
        assert!(format!("{:?}", out[0]).contains("Statutory"));
        assert!(format!("{:?}", parse_line(line, "x").unwrap()).contains("Security"));
    }

    #[test]
    fn session_event_with_prefix() {
        let e = ok(
            r#"{"kind":"session","op":"start","time":"2026-11-21T10:00:00+01:00","subscriber":"u1","session":"a1","addr":"2001:db8:100::/56","nas":"bng1","source":"radius"}"#,
        );
        match e {
            Event::Session {
                op,
                time,
                target,
                class,
                source,
                ..
            } => {
                assert_eq!(op, SessionOp::Start);
                assert_eq!(time, 1_795_251_600);
                assert_eq!(target.to_string(), "2001:db8:100::/56");
                assert_eq!(class, Class::Security);
                assert_eq!(source, "radius");
            }
            other => panic!("wrong kind {other:?}"),
        }
    }

    #[test]
    fn lease_nat_and_reboot_events() {
        assert!(matches!(
            ok(
                r#"{"kind":"lease","op":"assign","time":"2026-11-21T10:00:00Z","subscriber":"aa:bb:cc:dd:ee:ff","addr":"192.0.2.7","expires":"2026-11-21T11:00:00Z","class":"billing"}"#
            ),
            Event::Lease {
                op: LeaseOp::Assign,
                expires: Some(_),
                class: Class::Billing,
                ..
            }
        ));
        assert!(matches!(
            ok(
                r#"{"kind":"nat_block","op":"alloc","time":"2026-11-21T10:00:00Z","inside":"100.64.0.9","public":"203.0.113.5","ports":"1024-2047"}"#
            ),
            Event::NatBlock {
                op: NatOp::Alloc,
                ports: (1024, 2047),
                ..
            }
        ));
        assert!(matches!(
            ok(r#"{"kind":"nas_reboot","time":"2026-11-21T10:00:00Z","nas":"bng1"}"#),
            Event::NasReboot { .. }
        ));
    }

    #[test]
    fn each_mistake_has_its_own_code() {
        assert_eq!(code("{"), "parse.events.json");
        assert_eq!(
            code(r#"{"kind":"nas_reboot","time":"2026-11-21T10:00:00","nas":"x"}"#),
            "parse.events.no_offset"
        );
        assert_eq!(
            code(r#"{"kind":"nas_reboot","time":"2026-11-21T10:00:00Z","nas":"x","colour":1}"#),
            "parse.events.unknown_field"
        );
        assert_eq!(
            code(r#"{"kind":"session","op":"begin","time":"2026-11-21T10:00:00Z"}"#),
            "parse.events.bad_op"
        );
        assert_eq!(
            code(
                r#"{"kind":"session","op":"start","time":"2026-11-21T10:00:00Z","subscriber":"u","session":"s","addr":"300.1.1.1","nas":"n"}"#
            ),
            "parse.events.bad_addr"
        );
        assert_eq!(
            code(
                r#"{"kind":"nat_block","op":"alloc","time":"2026-11-21T10:00:00Z","inside":"100.64.0.9","public":"203.0.113.5","ports":"2047-1024"}"#
            ),
            "parse.events.bad_ports"
        );
        assert_eq!(
            code(
                r#"{"kind":"lease","op":"assign","time":"2026-11-21T10:00:00Z","subscriber":"u","addr":"192.0.2.7"}"#
            ),
            "parse.events.missing_field"
        );
        assert_eq!(
            code(r#"{"kind":"wifi","time":"2026-11-21T10:00:00Z"}"#),
            "parse.events.bad_kind"
        );
        assert_eq!(
            code(r#"{"kind":"nas_reboot","time":"2026-11-21T10:00:00Z","nas":""}"#),
            "parse.events.bad_id"
        );
    }

    #[test]
    fn every_kind_writes_and_reads_back() {
        for line in [
            r#"{"kind":"session","op":"interim","time":"2026-11-21T10:00:00Z","subscriber":"u1","session":"a1","addr":"2001:db8:100::/56","nas":"bng1","source":"r"}"#,
            r#"{"kind":"lease","op":"assign","time":"2026-11-21T10:00:00Z","subscriber":"aa:bb:cc:dd:ee:ff","addr":"192.0.2.7","expires":"2026-11-21T11:00:00Z","source":"d","class":"billing"}"#,
            r#"{"kind":"nat_block","op":"release","time":"2026-11-21T10:00:00Z","inside":"100.64.0.9","public":"203.0.113.5","ports":"1024-2047","source":"n"}"#,
            r#"{"kind":"nas_reboot","time":"2026-11-21T10:00:00Z","nas":"bng1","source":"r"}"#,
            r#"{"kind":"cdr","time":"2026-11-21T10:00:00Z","answer":"2026-11-21T10:00:05Z","end":"2026-11-21T10:01:05Z","duration":65,"billsec":60,"calling":"+46701234567","called":"112","disposition":"ANSWERED","call_id":"1606467760.3","source":"pbx","class":"statutory"}"#,
        ] {
            let ev = ok(line);
            assert_eq!(to_line(&ev), line);
        }
        assert_eq!(
            code(r#"{"kind":"cdr","time":"2026-11-21T10:00:00Z","end":"2026-11-21T09:00:00Z"}"#),
            "parse.events.bad_time"
        );
    }

    /// `to_line` then `parse_line_with` gives the event back, field for field (a line that
    /// names no class is `security`, the class `to_line` leaves out).
    fn round_trip(ev: Event) {
        let line = to_line(&ev);
        let back = parse_line_with(line.as_bytes(), "other", Class::Security)
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(back, ev, "{line}");
    }

    #[test]
    fn a_seen_event_round_trips() {
        for domain in [Domain::Address, Domain::Nat] {
            round_trip(Event::Seen {
                time: 1_795_255_200,
                domain,
                source: "dhcp1".into(),
            });
        }
        assert_eq!(
            to_line(&Event::Seen {
                time: 1_795_255_200,
                domain: Domain::Nat,
                source: "cgn".into(),
            }),
            r#"{"kind":"seen","time":"2026-11-21T10:00:00Z","domain":"nat","source":"cgn"}"#
        );
    }

    #[test]
    fn a_free_event_round_trips_in_every_state() {
        for (state, target, class) in [
            (FreeState::Free, "192.0.2.7", Class::Security),
            (FreeState::Expired, "192.0.2.7", Class::Billing),
            (FreeState::Released, "2001:db8::7", Class::Statutory),
            (FreeState::Backup, "2001:db8:100::/56", Class::Security),
            (FreeState::Abandoned, "192.0.2.8", Class::Security),
        ] {
            round_trip(Event::Free {
                time: 1_795_255_200,
                until: 1_795_258_800,
                target: target_field(target).unwrap(),
                state,
                source: "leases".into(),
                class,
            });
        }
        // A statement known at one instant only.
        round_trip(Event::Free {
            time: 1_795_255_200,
            until: 1_795_255_200,
            target: target_field("192.0.2.9").unwrap(),
            state: FreeState::Free,
            source: "leases".into(),
            class: Class::Security,
        });
    }

    #[test]
    fn an_admin_lease_round_trips_and_admin_false_is_not_written() {
        let lease = |admin| Event::Lease {
            op: LeaseOp::Assign,
            time: 1_795_255_200,
            subscriber: "aa:bb:cc:dd:ee:ff".into(),
            target: target_field("192.0.2.7").unwrap(),
            expires: Some(1_795_341_600),
            admin,
            ends_logged: false,
            source: "kea".into(),
            class: Class::Security,
        };
        round_trip(lease(true));
        round_trip(lease(false));
        assert!(to_line(&lease(true)).contains(r#""admin":true"#));
        assert!(!to_line(&lease(false)).contains("admin"));
        // A RouterOS lease keeps its mark through the neutral format.
        let routeros = lease(false).with_ends_logged();
        round_trip(routeros.clone());
        assert!(to_line(&routeros).contains(r#""ends_logged":true"#));
        assert!(!to_line(&lease(false)).contains("ends_logged"));
    }

    #[test]
    fn a_free_ending_before_it_starts_and_a_seen_without_domain_are_refused() {
        assert_eq!(
            code(
                r#"{"kind":"free","time":"2026-11-21T10:00:00Z","until":"2026-11-21T09:59:59Z","addr":"192.0.2.7","state":"free"}"#
            ),
            "parse.events.bad_time"
        );
        assert_eq!(
            code(r#"{"kind":"seen","time":"2026-11-21T10:00:00Z"}"#),
            "parse.events.bad_domain"
        );
        assert_eq!(
            code(r#"{"kind":"seen","time":"2026-11-21T10:00:00Z","domain":"voice"}"#),
            "parse.events.bad_domain"
        );
        assert_eq!(
            code(
                r#"{"kind":"free","time":"2026-11-21T10:00:00Z","until":"2026-11-21T11:00:00Z","addr":"192.0.2.7","state":"taken"}"#
            ),
            "parse.events.bad_state"
        );
        assert_eq!(
            code(
                r#"{"kind":"free","time":"2026-11-21T10:00:00Z","addr":"192.0.2.7","state":"free"}"#
            ),
            "parse.events.missing_field"
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_line(&bytes, "s");
        }
    }
}
