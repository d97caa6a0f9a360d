//! jool: Jool NAT64 BIB and session log lines, as the kernel module writes them to the kernel
//! log (`dmesg`, or kern.log / the journal through syslog).
//!
//! Producer: NICMx/Jool, `src/mod/common/db/bib/db.c` `log_bib()` / `log_session()`, printed
//! through `log_info()` (`pr_info("Jool: " …)`):
//!
//! ```text
//! Jool: <instance> <Y>/<M>/<D> <h>:<m>:<s> (GMT) - Mapped|Forgot <v6>#<port> to <v4>#<port> (TCP|UDP|ICMP)
//! Jool: <instance> <Y>/<M>/<D> <h>:<m>:<s> (GMT) - Added session|Forgot session <src6>#p|<dst6>#p|<src4>#p|<dst4>#p|<PROTO>
//! ```
//!
//! Jool 3.x has no instance name; the documentation's `dmesg` copies omit the `Jool: ` prefix.
//! Anything before the date (a syslog header, a `[12345.678901] ` dmesg stamp, `Jool: `, the
//! instance name, which may hold any printable character) is ignored: the record is found by
//! its ` (GMT) - ` marker and the two tokens before it.
//!
//! Time: the record's own date, written by `time64_to_tm(ktime_get_real_seconds(), 0, …)`:
//! always UTC, fields not zero-padded (`16:13:2`). The syslog header's time is not used.
//!
//! Events: `Mapped` / `Added session` → `NatBlock Alloc`; `Forgot` / `Forgot session` →
//! `NatBlock Release`; inside = the IPv6 source (BIB `src6`), public = the IPv4 transport
//! address (BIB `src4`), ports = (its port, its port). For ICMP the "port" is the ICMP
//! identifier Jool allocated from pool4 (the event model has no protocol field).
//!
//! Lines without the marker carry no binding (other kernel messages, Jool's own start-up
//! messages) and yield nothing, except a `Jool: [instance] Y/M/D …` line that lost its marker
//! (truncated), which is an error.
//!
//! Coverage: Jool writes its own time only on BIB and session records, and each of those is a
//! `NatBlock` (or an error), so this format yields no `Seen`: a line without a record has only
//! the collector's syslog time or a dmesg uptime, and Jool's start-up messages do not show
//! that BIB/session logging is switched on.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::NaiveDate;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1, take_while_m_n};
use nom::character::complete::{alpha1, char};
use nom::combinator::{all_consuming, map_res, value};
use nom::sequence::{separated_pair, tuple};
use nom::IResult;

use crate::common::bytes::{find, rfind};
use crate::model::{Event, NatOp, Origin, UnixSecs};
use crate::{Context, ParseError, Parser};

pub struct Jool {
    origin: Origin,
}

impl Jool {
    pub fn new(ctx: &Context) -> Self {
        Jool {
            origin: ctx.origin(),
        }
    }
}

fn err(code: &'static str, reason: &str) -> ParseError {
    ParseError::new(code, reason.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Map,
    Forget,
    AddSession,
    ForgetSession,
}

/// Unsigned decimal of `min..=max` digits.
fn num<'a>(min: usize, max: usize) -> impl FnMut(&'a str) -> IResult<&'a str, u32> {
    map_res(
        take_while_m_n(min, max, |c: char| c.is_ascii_digit()),
        str::parse::<u32>,
    )
}

/// `Y/M/D` as `%ld/%d/%d`.
fn date(i: &str) -> IResult<&str, (u32, u32, u32)> {
    let (i, (y, _, m, _, d)) = tuple((num(4, 4), char('/'), num(1, 2), char('/'), num(1, 2)))(i)?;
    Ok((i, (y, m, d)))
}

/// `h:m:s` as `%d:%d:%d`.
fn clock(i: &str) -> IResult<&str, (u32, u32, u32)> {
    let (i, (h, _, m, _, s)) = tuple((num(1, 2), char(':'), num(1, 2), char(':'), num(1, 2)))(i)?;
    Ok((i, (h, m, s)))
}

fn action(i: &str) -> IResult<&str, Action> {
    alt((
        value(Action::AddSession, tag("Added session ")),
        value(Action::ForgetSession, tag("Forgot session ")),
        value(Action::Map, tag("Mapped ")),
        value(Action::Forget, tag("Forgot ")),
    ))(i)
}

fn is_addr_char(c: char) -> bool {
    c.is_ascii_hexdigit() || c == ':' || c == '.'
}

/// `<address>#<port>` (`%pI6c#%u` or `%pI4#%u`), as text.
fn taddr(i: &str) -> IResult<&str, (&str, &str)> {
    separated_pair(
        take_while1(is_addr_char),
        char('#'),
        take_while1(|c: char| c.is_ascii_digit()),
    )(i)
}

type Taddr<'a> = (&'a str, &'a str);

/// `<v6>#p to <v4>#p (PROTO)`.
fn bib_body(i: &str) -> IResult<&str, (Taddr<'_>, Taddr<'_>, &str)> {
    let (i, (a6, _, a4, _, proto, _)) = all_consuming(tuple((
        taddr,
        tag(" to "),
        taddr,
        tag(" ("),
        alpha1,
        char(')'),
    )))(i)?;
    Ok((i, (a6, a4, proto)))
}

/// `<src6>#p|<dst6>#p|<src4>#p|<dst4>#p|PROTO`.
fn session_body(i: &str) -> IResult<&str, ([Taddr<'_>; 4], &str)> {
    let (i, (s6, _, d6, _, s4, _, d4, _, proto)) = all_consuming(tuple((
        taddr,
        char('|'),
        taddr,
        char('|'),
        taddr,
        char('|'),
        taddr,
        char('|'),
        alpha1,
    )))(i)?;
    Ok((i, ([s6, d6, s4, d4], proto)))
}

fn port(s: &str) -> Result<u16, ParseError> {
    if s.len() > 5 {
        return Err(err("parse.jool.bad_port", "port or ICMP id out of range"));
    }
    s.parse::<u16>()
        .map_err(|_| err("parse.jool.bad_port", "port or ICMP id out of range"))
}

fn v6(s: &str) -> Result<Ipv6Addr, ParseError> {
    s.parse().map_err(|_| {
        err(
            "parse.jool.bad_address",
            "IPv6 transport address is not an IPv6 address",
        )
    })
}

fn v4(s: &str) -> Result<Ipv4Addr, ParseError> {
    s.parse().map_err(|_| {
        err(
            "parse.jool.bad_address",
            "IPv4 transport address is not an IPv4 address",
        )
    })
}

fn check_proto(p: &str) -> Result<(), ParseError> {
    match p {
        "TCP" | "UDP" | "ICMP" => Ok(()),
        _ => Err(err(
            "parse.jool.bad_proto",
            "protocol is not TCP, UDP or ICMP",
        )),
    }
}

/// The record time from the text before ` (GMT)`: its last two space-separated tokens.
fn record_time(head: &[u8]) -> Result<UnixSecs, ParseError> {
    let bad = || err("parse.jool.bad_time", "no Y/M/D h:m:s date before (GMT)");
    let head = std::str::from_utf8(head).map_err(|_| bad())?;
    let (before, clock_tok) = head.rsplit_once(' ').unwrap_or(("", head));
    let date_tok = before.rsplit_once(' ').map_or(before, |(_, d)| d);
    let (_, (y, mo, d)) = all_consuming(date)(date_tok).map_err(|_| bad())?;
    let (_, (h, mi, s)) = all_consuming(clock)(clock_tok).map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(y as i32, mo, d)
        .and_then(|d| d.and_hms_opt(h, mi, s))
        .map(|n| n.and_utc().timestamp())
        .ok_or_else(|| err("parse.jool.bad_time", "date or time out of range"))
}

/// A `Jool: [instance] Y/M/D` line without its `(GMT)` marker: a record that lost its tail.
fn looks_like_record(frame: &[u8]) -> bool {
    let Some(j) = find(frame, b"Jool: ") else {
        return false;
    };
    let rest = &frame[j + 6..];
    rest.split(|&b| b == b' ')
        .filter(|t| !t.is_empty())
        .take(2)
        .any(|t| {
            std::str::from_utf8(t)
                .ok()
                .is_some_and(|t| date(t).is_ok_and(|(r, _)| r.is_empty()))
        })
}

impl Parser for Jool {
    fn parse(&mut self, frame: &[u8], out: &mut Vec<Event>) -> Result<(), ParseError> {
        let Some(g) = rfind(frame, b"(GMT)") else {
            if looks_like_record(frame) {
                return Err(err(
                    "parse.jool.truncated",
                    "Jool record without its (GMT) marker",
                ));
            }
            return Ok(());
        };
        let head = frame[..g]
            .strip_suffix(b" ")
            .ok_or_else(|| err("parse.jool.bad_time", "no date before (GMT)"))?;
        let time = record_time(head)?;
        let body = frame[g + 5..]
            .strip_prefix(b" - ")
            .ok_or_else(|| err("parse.jool.bad_syntax", "(GMT) is not followed by \" - \""))?;
        let body = std::str::from_utf8(body)
            .map_err(|_| err("parse.jool.bad_syntax", "record is not UTF-8"))?
            .trim_end();
        let (body, act) = action(body).map_err(|_| {
            err(
                "parse.jool.unknown_action",
                "action is not Mapped, Forgot, Added session or Forgot session",
            )
        })?;
        let (inside, public, pport) = match act {
            Action::Map | Action::Forget => {
                let (_, ((a6, p6), (a4, p4), proto)) = bib_body(body).map_err(|_| {
                    err(
                        "parse.jool.bad_syntax",
                        "BIB record is not <v6>#<port> to <v4>#<port> (<proto>)",
                    )
                })?;
                check_proto(proto)?;
                port(p6)?;
                (v6(a6)?, v4(a4)?, port(p4)?)
            }
            Action::AddSession | Action::ForgetSession => {
                let (_, ([(s6, ps6), (d6, pd6), (s4, ps4), (d4, pd4)], proto)) = session_body(body)
                    .map_err(|_| {
                        err(
                            "parse.jool.bad_syntax",
                            "session record is not four #-ports joined by |",
                        )
                    })?;
                check_proto(proto)?;
                v6(d6)?;
                v4(d4)?;
                port(ps6)?;
                port(pd6)?;
                port(pd4)?;
                (v6(s6)?, v4(s4)?, port(ps4)?)
            }
        };
        let op = match act {
            Action::Map | Action::AddSession => NatOp::Alloc,
            Action::Forget | Action::ForgetSession => NatOp::Release,
        };
        out.push(Event::nat_block(
            &self.origin,
            op,
            time,
            IpAddr::V6(inside),
            IpAddr::V4(public),
            (pport, pport),
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(line: &str) -> Result<Vec<Event>, ParseError> {
        let mut p = Jool::new(&Context::new("test", 0));
        let mut out = Vec::new();
        p.parse(line.as_bytes(), &mut out).map(|_| out)
    }

    fn one(line: &str) -> crate::testing::NatParts {
        let ev = run(line).unwrap();
        assert_eq!(ev.len(), 1, "{line}");
        crate::testing::nat_block(&ev[0])
    }

    fn code(line: &str) -> &'static str {
        run(line).unwrap_err().code
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn bib_lines_in_every_wrapping() {
        // 2015-04-08T16:13:02Z
        let want = (
            NatOp::Alloc,
            1_428_509_582,
            ip("2001:db8::5"),
            ip("192.0.2.2"),
            (8208, 8208),
        );
        for line in [
            "[  312.493235] alpha 2015/4/8 16:13:2 (GMT) - Mapped 2001:db8::5#19945 to 192.0.2.2#8208 (UDP)",
            "\t[  312.493235] alpha 2015/4/8 16:13:2 (GMT) - Mapped 2001:db8::5#19945 to 192.0.2.2#8208 (UDP)",
            "Jool: alpha 2015/4/8 16:13:2 (GMT) - Mapped 2001:db8::5#19945 to 192.0.2.2#8208 (UDP)",
            "Jool: 2015/4/8 16:13:2 (GMT) - Mapped 2001:db8::5#19945 to 192.0.2.2#8208 (UDP)",
            "Jool: my nat 64 2015/4/8 16:13:2 (GMT) - Mapped 2001:db8::5#19945 to 192.0.2.2#8208 (UDP)",
            "Apr  8 18:13:02 nat64 kernel: [  312.493235] Jool: default 2015/04/08 16:13:02 (GMT) - Mapped 2001:db8::5#19945 to 192.0.2.2#8208 (UDP)",
            "<6>1 2015-04-08T18:13:02+02:00 nat64 kernel - - - Jool: default 2015/4/8 16:13:2 (GMT) - Mapped 2001:db8::5#19945 to 192.0.2.2#8208 (UDP) ",
        ] {
            assert_eq!(one(line), want, "{line}");
        }
        let (op, t, ..) = one("[  468.675524] alpha 2015/4/8 16:15:38 (GMT) - Forgot 2001:db8::5#19945 to 192.0.2.2#8208 (UDP)");
        assert_eq!((op, t), (NatOp::Release, 1_428_509_738));
        let (_, _, inside, public, ports) =
            one("Jool: x 2024/12/31 23:59:59 (GMT) - Mapped ::ffff:10.0.0.1#1 to 203.0.113.9#65535 (ICMP)");
        assert_eq!(
            (inside, public, ports),
            (ip("::ffff:10.0.0.1"), ip("203.0.113.9"), (65535, 65535))
        );
    }

    #[test]
    fn session_lines_use_the_bib_half() {
        let (op, t, inside, public, ports) = one("[ 3238.087902] alpha 2015/4/8 17:1:47 (GMT) - Added session 1::5#47073|64:ff9b::c000:205#80|192.0.2.2#63527|192.0.2.5#80|TCP");
        assert_eq!(
            (op, t, inside, public, ports),
            (
                NatOp::Alloc,
                1_428_512_507,
                ip("1::5"),
                ip("192.0.2.2"),
                (63527, 63527)
            )
        );
        let (op, ..) = one("[ 3478.498559] alpha 2015/4/8 17:5:48 (GMT) - Forgot session 1::5#47073|64:ff9b::c000:205#80|192.0.2.2#63527|192.0.2.5#80|TCP");
        assert_eq!(op, NatOp::Release);
    }

    #[test]
    fn other_lines_yield_nothing() {
        for line in [
            "",
            "\t$ dmesg",
            "[    0.000000] Linux version 6.1.0-13-amd64",
            "Jool: Core Jool v4.1.8.0 module inserted.",
            "Jool WARNING (foo): Something.",
            "Apr  8 18:13:02 nat64 kernel: [  312.1] e1000e: eth0 NIC Link is Up",
        ] {
            assert_eq!(run(line).unwrap(), vec![], "{line}");
        }
    }

    #[test]
    fn each_error_code() {
        let base = "Jool: a 2015/4/8 16:13:2 (GMT) - ";
        assert_eq!(code("Jool: a 2015/4/8 16:1"), "parse.jool.truncated");
        assert_eq!(code("Jool: 2015/4/8"), "parse.jool.truncated");
        assert_eq!(
            code("Jool: a 2015/13/8 16:13:2 (GMT) - Mapped 1::1#1 to 1.2.3.4#5 (TCP)"),
            "parse.jool.bad_time"
        );
        assert_eq!(
            code("Jool: a 2015/4/8 24:13:2 (GMT) - Mapped 1::1#1 to 1.2.3.4#5 (TCP)"),
            "parse.jool.bad_time"
        );
        assert_eq!(
            code("Jool: a 16:13:2 (GMT) - Mapped 1::1#1 to 1.2.3.4#5 (TCP)"),
            "parse.jool.bad_time"
        );
        assert_eq!(
            code("(GMT) - Mapped 1::1#1 to 1.2.3.4#5 (TCP)"),
            "parse.jool.bad_time"
        );
        assert_eq!(
            code("Jool: a 2015/4/8 16:13:2 (GMT)"),
            "parse.jool.bad_syntax"
        );
        assert_eq!(
            code(&format!("{base}Moved 1::1#1 to 1.2.3.4#5 (TCP)")),
            "parse.jool.unknown_action"
        );
        assert_eq!(
            code(&format!("{base}Mapped 1::1#1 to 1.2.3.4#5 (SCTP)")),
            "parse.jool.bad_proto"
        );
        assert_eq!(
            code(&format!("{base}Mapped 1::1#1 to 1.2.3.4#65536 (TCP)")),
            "parse.jool.bad_port"
        );
        assert_eq!(
            code(&format!("{base}Mapped 1::1#1 to 1.2.3#5 (TCP)")),
            "parse.jool.bad_address"
        );
        assert_eq!(
            code(&format!("{base}Mapped 1.2.3.4#1 to 1.2.3.4#5 (TCP)")),
            "parse.jool.bad_address"
        );
        assert_eq!(
            code(&format!("{base}Mapped 1::1#1 to 1::2#5 (TCP)")),
            "parse.jool.bad_address"
        );
        assert_eq!(
            code(&format!("{base}Mapped 1::1#1 to 1.2.3.4#5 (TCP) extra")),
            "parse.jool.bad_syntax"
        );
        assert_eq!(
            code(&format!("{base}Mapped 1::1#1 to 1.2.3.4#5 (TC")),
            "parse.jool.bad_syntax"
        );
        assert_eq!(
            code(&format!(
                "{base}Added session 1::5#1|64:ff9b::1#80|192.0.2.2#6"
            )),
            "parse.jool.bad_syntax"
        );
        assert_eq!(
            code(&format!(
                "{base}Added session 1::5#1|64:ff9b::1#80|192.0.2.2#6|192.0.2.5#80|FOO"
            )),
            "parse.jool.bad_proto"
        );
        assert_eq!(
            code(&format!(
                "{base}Added session 1::5#1|64:ff9b::1#80|192.0.2.2#6|1::2#80|TCP"
            )),
            "parse.jool.bad_address"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut p = Jool::new(&Context::new("test", 0));
            let _ = p.parse(&bytes, &mut Vec::new());
        }

        #[test]
        fn marker_soup_never_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec!["Jool: ", "(GMT)", " - ", "Mapped ", "Forgot session ", "#", "|", " to ", "2015/4/8", " ", "16:1:2", "1::5", "1.2.3.4", "(TCP)", "\u{e9}"]), 0..20)) {
            let mut p = Jool::new(&Context::new("test", 0));
            let _ = p.parse(parts.concat().as_bytes(), &mut Vec::new());
        }

        /// Printed the way log_bib()/log_session() print, parsed back.
        #[test]
        fn round_trip(
            a6 in any::<u128>(), p6 in any::<u16>(), a4 in any::<u32>(), p4 in any::<u16>(),
            d6 in any::<u128>(), pd6 in any::<u16>(), d4 in any::<u32>(), pd4 in any::<u16>(),
            secs in 0i64..4_102_444_800, proto in 0usize..3, kind in 0usize..4,
            iname in proptest::option::of("[ -~]{1,15}"), dmesg in any::<bool>(),
        ) {
            let proto = ["TCP", "UDP", "ICMP"][proto];
            let t = chrono::DateTime::from_timestamp(secs, 0).unwrap();
            use chrono::{Datelike, Timelike};
            let (a6, a4) = (Ipv6Addr::from(a6), Ipv4Addr::from(a4));
            let stamp = format!("{}/{}/{} {}:{}:{}", t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second());
            let action = ["Mapped", "Forgot", "Added session", "Forgot session"][kind];
            let body = if kind < 2 {
                format!("{action} {a6}#{p6} to {a4}#{p4} ({proto})")
            } else {
                format!("{action} {a6}#{p6}|{}#{pd6}|{a4}#{p4}|{}#{pd4}|{proto}", Ipv6Addr::from(d6), Ipv4Addr::from(d4))
            };
            let prefix = if dmesg { "[ 3238.087902] " } else { "" };
            let iname = iname.map(|n| format!("{n} ")).unwrap_or_default();
            let line = format!("{prefix}Jool: {iname}{stamp} (GMT) - {body}");
            let got = one(&line);
            let op = if kind % 2 == 0 { NatOp::Alloc } else { NatOp::Release };
            prop_assert_eq!(got, (op, secs, IpAddr::V6(a6), IpAddr::V4(a4), (p4, p4)));
        }
    }
}
