//! dhcpd-leases: ISC dhcpd's lease database, `dhcpd.leases` (DHCPv4) and `dhcpd6.leases`
//! (DHCPv6), one top-level statement per frame ([`crate::framing::Framing::Statements`]).
//!
//! Producer: isc-projects/dhcp `server/db.c` (`write_lease`, `write_ia`, `write_host`,
//! `write_server_duid`, `write_failover_state`, `new_lease_file`); grammar in
//! `dhcpd.leases(5)`. The file is append-only and rewritten about once an hour, so the same
//! lease appears many times; the last declaration for an address wins.
//!
//! ```text
//! lease 192.0.2.10 {
//!   starts 2 2013/12/10 12:57:04;         # or `epoch 1386680224; # <local time>`, or `never`
//!   ends 2 2013/12/10 13:07:04;
//!   cltt …; tstp …; tsfp …; atsfp …;
//!   binding state active;                  # free|active|expired|released|abandoned|reset|backup
//!   next binding state free; rewind binding state free;
//!   hardware ethernet 60:a4:4c:b5:6a:dd;
//!   uid "\001`\244L\265j\335";             # octal escapes, or `uid 01:60:a4:…;`
//!   set vendor-class-identifier = "…"; client-hostname "…"; option agent.circuit-id …;
//!   on expiry { … }                        # nested statements, brace-balanced
//! }
//! ia-na "<IAID (4 bytes) + DUID, octal-escaped>" {   # or hex with `lease-id-format hex`
//!   cltt 2 2015/08/18 16:55:37;
//!   iaaddr 2001:db8::60 { binding state active; preferred-life 375; max-life 600; ends …; }
//! }
//! ia-pd "…" { cltt …; iaprefix 2001:db8:500::/64 { … } }
//! ```
//!
//! Time: dates are `%w %Y/%m/%d %H:%M:%S` in UTC (the weekday is ignored, as dhcpd does),
//! or, with `db-time-format local`, `epoch <seconds>` (the comment after it is local time and
//! unreliable: ignored), or `never`.
//!
//! Events. IPv4: subscriber = the `hardware ethernet` MAC (normalised), else the `uid` as
//! `id:` + its octets in colon hex; target = the address; time = `starts`.
//! * `active` → `Renew` with `expires = ends` (`None` for `never`). Renew, not Assign: dhcpd
//!   rewrites `starts` on every renewal and rewrites the whole file periodically, so one
//!   binding appears many times and must merge in the store.
//! * `released` → `Renew` (starts → ends), then `Release` at `ends` (dhcpd sets `ends` to the
//!   release time).
//! * `expired`, and `free` with an identifier (a lease that expired and went back to the pool
//!   keeps its last client, `starts` and `ends`) → `Renew` (starts → ends), then `Expire` at
//!   `ends`. `free` without an identifier is a pool entry: no lease event.
//! * `abandoned` (declined or answered a ping: whoever uses the address is not the client
//!   named), `backup` (a failover pool entry owned by the secondary; its identifier, if any,
//!   is stale and the binding itself is recorded in its active state) → no lease event.
//!   `reset` (an administrator's failover reset), `bootp` and `reserved` (failover protocol
//!   flags, not states dhcpd 4.x stores; BOOTP leases are written `active` with
//!   `dynamic-bootp;`) → nothing at all.
//!
//! Free states (invariant 8: `not_found` needs positive evidence that nobody held the
//! address). Besides the events above, a statement in state `free`, `expired`, `released`,
//! `backup` (each proves the address free) or `abandoned` (an unknown device used it: not
//! free, kept as evidence) yields one `Free` event for its address, identifier or not:
//! * `time` = when the state began: the dated `ends` (for free, expired and released dhcpd
//!   sets `ends` to when the lease ended, and keeps it when it moves a free lease to
//!   `backup`), else the dated `starts`. For `abandoned` the other way round, `starts` first:
//!   `abandon_lease()` sets `ends` to the abandonment plus `abandon-lease-time` (a day), after
//!   the state began, and the unknown use must not be cut short. No dated time → no `Free`.
//! * `until` = the later of `time` and the stream's reference (the file's modification
//!   time): the database said so at least until then. A later statement for the same
//!   address supersedes it in the store.
//!
//! IPv6: `ia-na`/`ia-ta`/`ia-pd` → subscriber = `duid:` + the DUID (the IA string after its
//! 4-byte IAID) in colon hex; time = the IA's `cltt`; per `iaaddr` (target the address) or
//! `iaprefix` (target the prefix) one event set by its binding state as above, with its
//! `ends`, and its `Free` event by the rules above with the IA's `cltt` in place of `starts`.
//!
//! Coverage: a lease database is not a log, so no statement yields `Seen`: its dates are when
//! leases started and ended, not when dhcpd was writing.
//!
//! `host`, `failover peer`, `server-duid`, `authoring-byte-order`, `db-time-format`, `class`,
//! `subclass` and `group` statements yield nothing. Unknown statements inside a block are
//! skipped token-wise (blocks brace-balanced, strings with `;{}` respected); an unknown
//! top-level statement (dhcpd refuses those too), a frame cut off inside a block or string
//! (a file truncated while being rewritten: the framer refuses such a tail itself as
//! `frame.truncated`; `parse.dhcpd_leases.truncated` is this parser's own check) and missing
//! or malformed essentials are errors.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::NaiveDate;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_till1, take_while1};
use nom::character::complete::{char, multispace1};
use nom::combinator::{map, map_res, recognize, value};
use nom::multi::many0_count;
use nom::sequence::{pair, preceded, tuple};
use nom::IResult;

use crate::common::ident::{format_hex, normalize_mac};
use crate::model::{Event, FreeState, LeaseOp, Origin, Target, UnixSecs};
use crate::{Context, ParseError, Parser};

pub struct DhcpdLeases {
    origin: Origin,
    /// The file's modification time: the database said what it says at least until then.
    reference: UnixSecs,
}

impl DhcpdLeases {
    pub fn new(ctx: &Context) -> Self {
        DhcpdLeases {
            origin: ctx.origin(),
            reference: ctx.reference,
        }
    }
}

fn err(code: &'static str, reason: &'static str) -> ParseError {
    ParseError::new(code, reason)
}

fn truncated() -> ParseError {
    err(
        "parse.dhcpd_leases.truncated",
        "the statement ends inside a block or string (file cut while being written)",
    )
}

fn syntax(reason: &'static str) -> ParseError {
    err("parse.dhcpd_leases.syntax", reason)
}

// ---------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    /// A bare word: keyword, number, address, date part, hex octets.
    Word(&'a [u8]),
    /// A quoted string's raw contents (escapes not yet decoded).
    Str(&'a [u8]),
    Open,
    Close,
    Semi,
}

fn is_delim(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'{' | b'}' | b';' | b'"' | b'#')
}

/// Whitespace and `#` comments.
fn blank(i: &[u8]) -> IResult<&[u8], usize> {
    many0_count(alt((
        multispace1,
        recognize(pair(char('#'), take_till(|c| c == b'\n'))),
    )))(i)
}

/// The raw contents of a string after its opening quote, and the rest after the closing one.
fn string_body(i: &[u8]) -> IResult<&[u8], &[u8]> {
    let mut esc = false;
    for (k, &c) in i.iter().enumerate() {
        if esc {
            esc = false;
        } else if c == b'\\' {
            esc = true;
        } else if c == b'"' {
            return Ok((&i[k + 1..], &i[..k]));
        }
    }
    Err(nom::Err::Incomplete(nom::Needed::Unknown))
}

fn token(i: &[u8]) -> IResult<&[u8], Tok<'_>> {
    preceded(
        blank,
        alt((
            value(Tok::Open, char('{')),
            value(Tok::Close, char('}')),
            value(Tok::Semi, char(';')),
            map(preceded(char('"'), string_body), Tok::Str),
            map(take_till1(is_delim), Tok::Word),
        )),
    )(i)
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// The next token, `None` at the end of the frame.
    fn next(&mut self) -> Result<Option<Tok<'a>>, ParseError> {
        match token(self.rest) {
            Ok((rest, t)) => {
                self.rest = rest;
                Ok(Some(t))
            }
            Err(nom::Err::Incomplete(_)) => Err(truncated()),
            Err(_) => {
                let (rest, _) = blank(self.rest).unwrap_or((self.rest, 0));
                if rest.is_empty() {
                    self.rest = rest;
                    Ok(None)
                } else {
                    Err(syntax("unexpected character"))
                }
            }
        }
    }

    /// The next token inside a block: the end of the frame there means it was cut off.
    fn need(&mut self) -> Result<Tok<'a>, ParseError> {
        self.next()?.ok_or_else(truncated)
    }

    fn word(&mut self) -> Result<&'a [u8], ParseError> {
        match self.need()? {
            Tok::Word(w) => Ok(w),
            _ => Err(syntax("a word was expected")),
        }
    }

    fn semi(&mut self) -> Result<(), ParseError> {
        match self.need()? {
            Tok::Semi => Ok(()),
            _ => Err(syntax("`;` was expected")),
        }
    }

    fn open(&mut self) -> Result<(), ParseError> {
        match self.need()? {
            Tok::Open => Ok(()),
            _ => Err(syntax("`{` was expected")),
        }
    }

    /// Skips a block whose `{` was just read, nested blocks included.
    fn skip_block(&mut self) -> Result<(), ParseError> {
        let mut depth = 1usize;
        while depth > 0 {
            match self.need()? {
                Tok::Open => depth += 1,
                Tok::Close => depth -= 1,
                _ => {}
            }
        }
        Ok(())
    }

    /// Skips the rest of a statement whose first token was read: up to its `;`, or up to the
    /// end of the block it ends with (`on expiry { … }`, `failover peer "x" state { … }`).
    fn skip_statement(&mut self) -> Result<(), ParseError> {
        loop {
            match self.need()? {
                Tok::Semi => return Ok(()),
                Tok::Open => return self.skip_block(),
                Tok::Close => return Err(syntax("a statement lacks its `;`")),
                _ => {}
            }
        }
    }

    /// Nothing may follow the statement in its frame.
    fn end(&mut self) -> Result<(), ParseError> {
        match self.next()? {
            None => Ok(()),
            Some(_) => Err(syntax("text after the end of the statement")),
        }
    }
}

/// A quoted string's contents with dhcpd's escapes decoded: `\ooo` (1–3 octal digits),
/// `\xhh` (1–2 hex digits), `\t \r \n \b`, and `\<c>` for any other `c` (`\"`, `\\`).
fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        i += 1;
        if c != b'\\' || i >= raw.len() {
            out.push(c);
            continue;
        }
        let e = raw[i];
        i += 1;
        match e {
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                let mut n = 1;
                while n < 3 && i < raw.len() && (b'0'..=b'7').contains(&raw[i]) {
                    v = v * 8 + u32::from(raw[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 && i < raw.len() && raw[i].is_ascii_hexdigit() {
                    v = v * 16 + (raw[i] as char).to_digit(16).unwrap_or(0);
                    i += 1;
                    n += 1;
                }
                out.push(if n == 0 { b'x' } else { v as u8 });
            }
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b'b' => out.push(8),
            other => out.push(other),
        }
    }
    out
}

/// `01:02:0a` (octets of one or two hex digits) as bytes.
fn hex_bytes(w: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(w.len() / 3 + 1);
    for part in w.split(|&c| c == b':') {
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        let mut v = 0u8;
        for &c in part {
            v = v * 16 + (c as char).to_digit(16)? as u8;
        }
        out.push(v);
    }
    Some(out)
}

/// An identifier written as a quoted string or as hex octets.
fn id_bytes(t: Tok<'_>) -> Result<Vec<u8>, ParseError> {
    match t {
        Tok::Str(raw) => Ok(unescape(raw)),
        Tok::Word(w) => hex_bytes(w).ok_or_else(|| {
            err(
                "parse.dhcpd_leases.bad_identifier",
                "an identifier is neither a quoted string nor hex octets",
            )
        }),
        _ => Err(syntax("an identifier was expected")),
    }
}

// ---------------------------------------------------------------------------------------
// Dates

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    At(UnixSecs),
    Never,
}

fn bad_date() -> ParseError {
    err(
        "parse.dhcpd_leases.bad_date",
        "a date is not `<weekday> YYYY/MM/DD HH:MM:SS`, `epoch <seconds>` or `never`",
    )
}

fn num<T: std::str::FromStr>(i: &[u8]) -> IResult<&[u8], T> {
    map_res(take_while1(|c: u8| c.is_ascii_digit()), |d: &[u8]| {
        std::str::from_utf8(d)
            .map_err(|_| ())
            .and_then(|s| s.parse::<T>().map_err(|_| ()))
    })(i)
}

/// `YYYY/MM/DD` and `HH:MM:SS` (UTC) as Unix seconds.
fn ymd_hms(d: &[u8], t: &[u8]) -> Option<UnixSecs> {
    let (r, (y, _, m, _, day)) =
        tuple((num::<i32>, tag("/"), num::<u32>, tag("/"), num::<u32>))(d).ok()?;
    if !r.is_empty() || !(1970..=9999).contains(&y) {
        return None;
    }
    let (r, (h, _, mi, _, s)) =
        tuple((num::<u32>, tag(":"), num::<u32>, tag(":"), num::<u32>))(t).ok()?;
    if !r.is_empty() || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = NaiveDate::from_ymd_opt(y, m, day)?
        .and_hms_opt(0, 0, 0)?
        .and_utc()
        .timestamp();
    Some(days + i64::from(h * 3600 + mi * 60 + s))
}

/// The rest of a date statement, up to and including its `;`.
fn date(cur: &mut Cursor<'_>) -> Result<When, ParseError> {
    let mut words: [&[u8]; 3] = [b""; 3];
    let mut n = 0;
    loop {
        match cur.need()? {
            Tok::Semi => break,
            Tok::Word(w) if n < 3 => {
                words[n] = w;
                n += 1;
            }
            _ => return Err(bad_date()),
        }
    }
    match &words[..n] {
        [b"never"] => Ok(When::Never),
        [b"epoch", secs] => match num::<i64>(secs) {
            Ok((b"", s)) => Ok(When::At(s)),
            _ => Err(bad_date()),
        },
        // The weekday is a digit 0-6 that dhcpd itself ignores.
        [[b'0'..=b'6'], d, t] => ymd_hms(d, t).map(When::At).ok_or_else(bad_date),
        _ => Err(bad_date()),
    }
}

// ---------------------------------------------------------------------------------------
// Binding states

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Active,
    Released,
    Expired,
    Free,
    /// A failover pool entry the secondary may hand out: no binding, but free.
    Backup,
    /// Used by a device dhcpd did not give it to: no binding, and not free.
    Abandoned,
    /// reset, bootp, reserved: nothing to report (module doc).
    None,
}

impl State {
    /// Whether the state reports a binding of the client the statement names.
    fn binds(self) -> bool {
        matches!(
            self,
            State::Active | State::Released | State::Expired | State::Free
        )
    }

    /// The `Free` event's state, for the states that say nobody known held the address.
    fn free_state(self) -> Option<FreeState> {
        match self {
            State::Free => Some(FreeState::Free),
            State::Expired => Some(FreeState::Expired),
            State::Released => Some(FreeState::Released),
            State::Backup => Some(FreeState::Backup),
            State::Abandoned => Some(FreeState::Abandoned),
            State::Active | State::None => None,
        }
    }
}

fn state(w: &[u8]) -> Result<State, ParseError> {
    Ok(match w {
        b"active" => State::Active,
        b"released" => State::Released,
        b"expired" => State::Expired,
        b"free" => State::Free,
        b"backup" => State::Backup,
        b"abandoned" => State::Abandoned,
        b"reset" | b"bootp" | b"reserved" => State::None,
        _ => {
            return Err(err(
                "parse.dhcpd_leases.bad_binding_state",
                "unknown binding state",
            ))
        }
    })
}

/// `binding state <s>;` after `binding`.
fn binding_state(cur: &mut Cursor<'_>) -> Result<State, ParseError> {
    if cur.word()? != b"state" {
        return Err(syntax("`binding` without `state`"));
    }
    let s = state(cur.word()?)?;
    cur.semi()?;
    Ok(s)
}

// ---------------------------------------------------------------------------------------
// Statements

/// One `iaaddr`/`iaprefix` of an IA.
struct Sub {
    target: Target,
    state: Option<State>,
    ends: Option<When>,
}

impl DhcpdLeases {
    /// The events of one binding in `state` from `start` to `ends`.
    fn binding(
        &self,
        state: State,
        start: UnixSecs,
        ends: Option<When>,
        subscriber: String,
        target: Target,
        out: &mut Vec<Event>,
    ) -> Result<(), ParseError> {
        let no_ends = || {
            err(
                "parse.dhcpd_leases.no_ends",
                "the lease has no `ends` time its binding state needs",
            )
        };
        let ends = match (state, ends.ok_or_else(no_ends)?) {
            (State::Active, When::Never) => None,
            (_, When::Never) => return Err(no_ends()),
            (_, When::At(e)) if e < start => {
                return Err(err(
                    "parse.dhcpd_leases.ends_before_starts",
                    "the lease ends before it starts",
                ))
            }
            (_, When::At(e)) => Some(e),
        };
        let last = match state {
            State::Released => Some(LeaseOp::Release),
            State::Expired | State::Free => Some(LeaseOp::Expire),
            State::Active | State::Backup | State::Abandoned | State::None => None,
        };
        if let (Some(op), Some(e)) = (last, ends) {
            out.push(Event::lease(
                &self.origin,
                LeaseOp::Renew,
                start,
                subscriber.clone(),
                target,
                ends,
            ));
            out.push(Event::lease(&self.origin, op, e, subscriber, target, None));
        } else {
            out.push(Event::lease(
                &self.origin,
                LeaseOp::Renew,
                start,
                subscriber,
                target,
                ends,
            ));
        }
        Ok(())
    }

    /// The `Free` event of a statement in `state` (module doc), `None` for the other states
    /// and when the statement has no usable time.
    fn free_event(
        &self,
        state: State,
        starts: Option<When>,
        ends: Option<When>,
        target: Target,
    ) -> Option<Event> {
        let free = state.free_state()?;
        let at = |w: Option<When>| match w {
            Some(When::At(t)) => Some(t),
            _ => None,
        };
        // When the state began. dhcpd sets `ends` to when a lease ended (expiry, release)
        // and keeps it through `free` and `backup`; `abandon_lease()` instead sets `ends` to
        // the abandonment plus `abandon-lease-time` (a day), a time after the state began:
        // there the (earlier) start is taken, so the unknown device's use is not cut short.
        let time = if free == FreeState::Abandoned {
            at(starts).or(at(ends))
        } else {
            at(ends).or(at(starts))
        }?;
        Some(Event::free(
            &self.origin,
            time,
            time.max(self.reference),
            target,
            free,
        ))
    }

    /// `lease <ipv4> { … }` after `lease`.
    fn lease(&self, cur: &mut Cursor<'_>, out: &mut Vec<Event>) -> Result<(), ParseError> {
        let ip: Ipv4Addr = std::str::from_utf8(cur.word()?)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                err(
                    "parse.dhcpd_leases.bad_address",
                    "the lease address is not IPv4",
                )
            })?;
        cur.open()?;
        let (mut starts, mut ends, mut st, mut mac, mut uid) = (None, None, None, None, None);
        loop {
            match cur.need()? {
                Tok::Close => break,
                Tok::Semi => {}
                Tok::Open => cur.skip_block()?,
                Tok::Str(_) => cur.skip_statement()?,
                Tok::Word(b"starts") => starts = Some(date(cur)?),
                Tok::Word(b"ends") => ends = Some(date(cur)?),
                Tok::Word(b"binding") => st = Some(binding_state(cur)?),
                Tok::Word(b"hardware") => {
                    let kind = cur.word()?;
                    match cur.need()? {
                        Tok::Semi => mac = None,
                        Tok::Word(addr) => {
                            cur.semi()?;
                            mac = match kind {
                                b"ethernet" | b"token-ring" | b"fddi" => Some(
                                    std::str::from_utf8(addr)
                                        .ok()
                                        .and_then(normalize_mac)
                                        .ok_or_else(|| {
                                            err(
                                                "parse.dhcpd_leases.bad_identifier",
                                                "the hardware address is not a MAC",
                                            )
                                        })?,
                                ),
                                // Other link types have no MAC: the uid names the client.
                                _ => None,
                            };
                        }
                        _ => return Err(syntax("malformed `hardware` statement")),
                    }
                }
                Tok::Word(b"uid") => {
                    let id = id_bytes(cur.need()?)?;
                    cur.semi()?;
                    uid = (!id.is_empty()).then_some(id);
                }
                Tok::Word(_) => cur.skip_statement()?,
            }
        }
        cur.end()?;
        let st = st.ok_or_else(|| {
            err(
                "parse.dhcpd_leases.no_binding_state",
                "the lease has no `binding state`",
            )
        })?;
        let subscriber = mac.or_else(|| uid.map(|u| format!("id:{}", format_hex(&u, ':'))));
        let target = Target::host(IpAddr::V4(ip));
        match (st, subscriber) {
            (st, _) if !st.binds() => {}
            (State::Free, None) => {} // a pool entry: only its Free event below
            (_, None) => {
                return Err(err(
                    "parse.dhcpd_leases.no_identifier",
                    "the lease has neither a hardware address nor a uid",
                ))
            }
            (st, Some(sub)) => {
                let start = match starts {
                    Some(When::At(t)) => t,
                    _ => {
                        return Err(err(
                            "parse.dhcpd_leases.no_starts",
                            "the lease has no `starts` time",
                        ))
                    }
                };
                self.binding(st, start, ends, sub, target, out)?;
            }
        }
        out.extend(self.free_event(st, starts, ends, target));
        Ok(())
    }

    /// `iaaddr <ipv6> { … }` / `iaprefix <ipv6>/<len> { … }` after the keyword.
    fn sub(cur: &mut Cursor<'_>, prefix: bool) -> Result<Sub, ParseError> {
        let bad = || {
            err(
                "parse.dhcpd_leases.bad_address",
                "an iaaddr is not IPv6 or an iaprefix not an IPv6 prefix",
            )
        };
        let a = std::str::from_utf8(cur.word()?).map_err(|_| bad())?;
        let target = if prefix {
            Target::prefix(a.parse::<ipnet::Ipv6Net>().map_err(|_| bad())?)
        } else {
            Target::host(IpAddr::V6(a.parse::<Ipv6Addr>().map_err(|_| bad())?))
        };
        cur.open()?;
        let mut sub = Sub {
            target,
            state: None,
            ends: None,
        };
        loop {
            match cur.need()? {
                Tok::Close => return Ok(sub),
                Tok::Semi => {}
                Tok::Open => cur.skip_block()?,
                Tok::Word(b"binding") => sub.state = Some(binding_state(cur)?),
                Tok::Word(b"ends") => sub.ends = Some(date(cur)?),
                Tok::Word(_) | Tok::Str(_) => cur.skip_statement()?,
            }
        }
    }

    /// `ia-na|ia-ta|ia-pd <id> { … }` after the keyword.
    fn ia(&self, cur: &mut Cursor<'_>, out: &mut Vec<Event>) -> Result<(), ParseError> {
        let id = id_bytes(cur.need()?)?;
        cur.open()?;
        let mut cltt = None;
        let mut subs = Vec::new();
        loop {
            match cur.need()? {
                Tok::Close => break,
                Tok::Semi => {}
                Tok::Open => cur.skip_block()?,
                Tok::Word(b"cltt") => cltt = Some(date(cur)?),
                Tok::Word(b"iaaddr") => subs.push(Self::sub(cur, false)?),
                Tok::Word(b"iaprefix") => subs.push(Self::sub(cur, true)?),
                Tok::Word(_) | Tok::Str(_) => cur.skip_statement()?,
            }
        }
        cur.end()?;
        if id.len() < 5 {
            return Err(err(
                "parse.dhcpd_leases.bad_ia",
                "the IA identifier is shorter than an IAID and a DUID",
            ));
        }
        let duid = format!("duid:{}", format_hex(&id[4..], ':'));
        for sub in subs {
            let st = sub.state.ok_or_else(|| {
                err(
                    "parse.dhcpd_leases.no_binding_state",
                    "an IA address has no `binding state`",
                )
            })?;
            if st.binds() {
                let start = match cltt {
                    Some(When::At(t)) => t,
                    _ => {
                        return Err(err(
                            "parse.dhcpd_leases.no_cltt",
                            "the IA has no `cltt` time",
                        ))
                    }
                };
                self.binding(st, start, sub.ends, duid.clone(), sub.target, out)?;
            }
            // An iaaddr has no `starts`: the IA's `cltt` stands in for it.
            out.extend(self.free_event(st, cltt, sub.ends, sub.target));
        }
        Ok(())
    }
}

impl Parser for DhcpdLeases {
    fn set_reference(&mut self, reference: UnixSecs) {
        self.reference = reference;
    }

    fn parse(&mut self, frame: &[u8], out: &mut Vec<Event>) -> Result<(), ParseError> {
        let mut cur = Cursor { rest: frame };
        let first = match cur.next()? {
            None => return Ok(()), // only blanks and comments
            Some(Tok::Word(w)) => w,
            Some(_) => return Err(syntax("a statement must start with a keyword")),
        };
        match first {
            b"lease" => self.lease(&mut cur, out),
            b"ia-na" | b"ia-ta" | b"ia-pd" => self.ia(&mut cur, out),
            b"host"
            | b"failover"
            | b"server-duid"
            | b"authoring-byte-order"
            | b"db-time-format"
            | b"class"
            | b"subclass"
            | b"group" => {
                cur.skip_statement()?;
                cur.end()
            }
            _ => Err(err(
                "parse.dhcpd_leases.unknown_statement",
                "not a statement dhcpd writes to its lease file",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fmt_time;
    use proptest::prelude::*;

    fn run(text: &str) -> Result<Vec<String>, &'static str> {
        run_at(text, 0)
    }

    /// Like [`run`] with the file's modification time `reference`.
    fn run_at(text: &str, reference: UnixSecs) -> Result<Vec<String>, &'static str> {
        let mut p = DhcpdLeases::new(&Context::new("test", reference));
        let mut out = Vec::new();
        p.parse(text.as_bytes(), &mut out).map_err(|e| e.code)?;
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
                    "{op:?} {} {subscriber} {target}{}",
                    fmt_time(*time),
                    expires
                        .map(|e| format!(" {}", fmt_time(e)))
                        .unwrap_or_default()
                ),
                Event::Free {
                    time,
                    until,
                    target,
                    state,
                    source,
                    class: crate::model::Class::Security,
                } if source == "test" => format!(
                    "Free {} {}..{} {target}",
                    state.as_str(),
                    fmt_time(*time),
                    fmt_time(*until)
                ),
                other => format!("{other:?}"),
            })
            .collect())
    }

    fn lease(body: &str) -> String {
        format!("lease 192.0.2.10 {{\n{body}\n}}")
    }

    const T: &str = "  starts 3 2026/11/18 10:00:00;\n  ends 3 2026/11/18 22:00:00;\n";

    #[test]
    fn states_map_to_events() {
        let hw = "  hardware ethernet 0:1B:2c:3d:4e:5f;";
        assert_eq!(
            run(&lease(&format!("{T}  binding state active;\n{hw}"))),
            Ok(vec![
                "Renew 2026-11-18T10:00:00Z 00:1b:2c:3d:4e:5f 192.0.2.10 2026-11-18T22:00:00Z"
                    .into()
            ])
        );
        assert_eq!(
            run(&lease(&format!("{T}  binding state released;\n{hw}"))),
            Ok(vec![
                "Renew 2026-11-18T10:00:00Z 00:1b:2c:3d:4e:5f 192.0.2.10 2026-11-18T22:00:00Z"
                    .into(),
                "Release 2026-11-18T22:00:00Z 00:1b:2c:3d:4e:5f 192.0.2.10".into(),
                "Free released 2026-11-18T22:00:00Z..2026-11-18T22:00:00Z 192.0.2.10".into(),
            ])
        );
        for s in ["expired", "free"] {
            let got = run(&lease(&format!("{T}  binding state {s};\n{hw}"))).unwrap();
            assert_eq!(
                got[1],
                "Expire 2026-11-18T22:00:00Z 00:1b:2c:3d:4e:5f 192.0.2.10"
            );
            assert_eq!(
                got[2],
                format!("Free {s} 2026-11-18T22:00:00Z..2026-11-18T22:00:00Z 192.0.2.10")
            );
        }
        // No binding of the client named; the free state itself (abandoned: from starts).
        assert_eq!(
            run(&lease(&format!("{T}  binding state backup;\n{hw}"))),
            Ok(vec![
                "Free backup 2026-11-18T22:00:00Z..2026-11-18T22:00:00Z 192.0.2.10".into()
            ])
        );
        assert_eq!(
            run(&lease(&format!("{T}  binding state abandoned;\n{hw}"))),
            Ok(vec![
                "Free abandoned 2026-11-18T10:00:00Z..2026-11-18T10:00:00Z 192.0.2.10".into()
            ])
        );
        for s in ["reset", "bootp", "reserved"] {
            assert_eq!(
                run(&lease(&format!("{T}  binding state {s};\n{hw}"))),
                Ok(vec![]),
                "{s}"
            );
        }
        assert_eq!(
            run(&lease(&format!("{T}  binding state free;"))),
            Ok(vec![
                "Free free 2026-11-18T22:00:00Z..2026-11-18T22:00:00Z 192.0.2.10".into()
            ])
        );
        assert_eq!(
            run(&lease("  starts 3 2026/11/18 10:00:00;\n  ends never;\n  binding state active;\n  uid 1:2:a;")),
            Ok(vec!["Renew 2026-11-18T10:00:00Z id:01:02:0a 192.0.2.10".into()])
        );
    }

    /// Reference of the tests below: 2026-11-19T12:00:00Z, the lease file's mtime.
    const MTIME: UnixSecs = 1_795_089_600;

    /// The real debian7 file in /work/shared/samples/isc-dhcpd-leases
    /// (python-isc-dhcp-leases test_files, written by isc-dhcp-4.2.2): a lease that expired
    /// and went back to the pool with its last client.
    #[test]
    fn a_free_lease_statement_is_evidence_the_address_was_free() {
        let text = r#"lease 10.0.0.10 {
  starts 2 2013/12/10 12:57:04;
  ends 2 2013/12/10 13:07:04;
  tstp 2 2013/12/10 13:07:04;
  cltt 2 2013/12/10 12:57:04;
  binding state free;
  hardware ethernet 60:a4:4c:b5:6a:dd;
  uid "\377\000\000\000\002\000\001\000\001\0321\301\300\000#\213\360F\350";
  set vendor-class-identifier = "Some Vendor Identifier";
}"#;
        assert_eq!(
            run_at(text, MTIME),
            Ok(vec![
                "Renew 2013-12-10T12:57:04Z 60:a4:4c:b5:6a:dd 10.0.0.10 2013-12-10T13:07:04Z"
                    .into(),
                "Expire 2013-12-10T13:07:04Z 60:a4:4c:b5:6a:dd 10.0.0.10".into(),
                // Free from when it ended until the file's mtime.
                "Free free 2013-12-10T13:07:04Z..2026-11-19T12:00:00Z 10.0.0.10".into(),
            ])
        );
    }

    /// The debian7 file's abandoned lease: dhcpd cleared its client. Kept as evidence that
    /// an unknown device used the address, from its `starts`.
    #[test]
    fn an_abandoned_lease_is_not_free() {
        let text = "lease 10.0.0.17 {\n  starts 2 2008/01/08 18:09:46;\n  ends 2 2008/01/08 18:09:46;\n  tstp 2 2008/01/08 18:09:46;\n  binding state abandoned;\n  next binding state free;\n}";
        let mut p = DhcpdLeases::new(&Context::new("test", MTIME));
        let mut out = Vec::new();
        p.parse(text.as_bytes(), &mut out).unwrap();
        assert_eq!(out.len(), 1, "{out:?}");
        match &out[0] {
            Event::Free {
                state,
                time,
                until,
                target,
                ..
            } => {
                assert_eq!(*state, FreeState::Abandoned);
                assert!(!state.proves_free());
                assert_eq!(fmt_time(*time), "2008-01-08T18:09:46Z");
                assert_eq!(*until, MTIME);
                assert_eq!(target.to_string(), "10.0.0.17");
            }
            other => panic!("{other:?}"),
        }
    }

    /// `abandon_lease()` sets `ends` to the abandonment plus a day: `starts` is when the
    /// state can have begun at the earliest.
    #[test]
    fn an_abandoned_lease_counts_from_its_start_not_its_future_end() {
        let text = lease("  starts 4 2026/11/19 10:00:00;\n  ends 5 2026/11/20 10:00:05;\n  tstp 5 2026/11/20 10:00:05;\n  binding state abandoned;\n  next binding state free;");
        assert_eq!(
            run_at(&text, MTIME),
            Ok(vec![
                "Free abandoned 2026-11-19T10:00:00Z..2026-11-19T12:00:00Z 192.0.2.10".into()
            ])
        );
        // Without starts, the end is all there is.
        let text = lease("  ends 5 2026/11/20 10:00:05;\n  binding state abandoned;");
        assert_eq!(
            run_at(&text, MTIME),
            Ok(vec![
                "Free abandoned 2026-11-20T10:00:05Z..2026-11-20T10:00:05Z 192.0.2.10".into()
            ])
        );
    }

    /// The real epoch file (python-isc-dhcp-leases, a pfSense-style `db-time-format local`
    /// file): failover `backup` leases, one with `ends` and a stale client, one without.
    #[test]
    fn a_backup_lease_is_evidence_the_address_was_free() {
        let with_ends = r#"lease 10.0.0.1 {
  starts epoch 1507216949; # Thu Oct 05 15:22:29 2017
  ends epoch 1508141363; # Mon Oct 16 08:09:23 2017
  tstp epoch 1508141363; # Mon Oct 16 08:09:23 2017
  tsfp epoch 1508141363; # Mon Oct 16 08:09:23 2017
  atsfp epoch 1508141363; # Mon Oct 16 08:09:23 2017
  cltt epoch 1508167349; # Thu Oct 05 15:22:29 2017
  binding state backup;
  hardware ethernet 2a:b2:2a:b2:2a:b2;
  uid "\001\000!\314\006\224\351";
}"#;
        assert_eq!(
            run_at(with_ends, MTIME),
            Ok(vec![
                "Free backup 2017-10-16T08:09:23Z..2026-11-19T12:00:00Z 10.0.0.1".into()
            ])
        );
        let no_ends = r#"lease 10.0.0.2 {
  starts epoch 1507637114; # Tue Oct 1012:05:14 2017
  tstp epoch 1507637114; # Tue Oct 1012:05:14 2017
  tsfp epoch 1507637114; # Tue Oct 1012:05:14 2017
  atsfp epoch 1507637114; # Tue Oct 1012:05:14 2017
  binding state backup;
}"#;
        assert_eq!(
            run_at(no_ends, MTIME),
            Ok(vec![
                "Free backup 2017-10-10T12:05:14Z..2026-11-19T12:00:00Z 10.0.0.2".into()
            ])
        );
    }

    #[test]
    fn a_released_lease_is_free_from_its_release() {
        let text = lease("  starts 4 2026/11/19 09:00:00;\n  ends 4 2026/11/19 09:30:00;\n  binding state released;\n  uid 1:2:3;");
        assert_eq!(
            run_at(&text, MTIME),
            Ok(vec![
                "Renew 2026-11-19T09:00:00Z id:01:02:03 192.0.2.10 2026-11-19T09:30:00Z".into(),
                "Release 2026-11-19T09:30:00Z id:01:02:03 192.0.2.10".into(),
                "Free released 2026-11-19T09:30:00Z..2026-11-19T12:00:00Z 192.0.2.10".into(),
            ])
        );
    }

    #[test]
    fn a_pool_entry_without_client_is_free_when_it_has_a_time() {
        assert_eq!(
            run_at(
                &lease("  starts 4 2026/11/19 08:00:00;\n  binding state free;"),
                MTIME
            ),
            Ok(vec![
                "Free free 2026-11-19T08:00:00Z..2026-11-19T12:00:00Z 192.0.2.10".into()
            ])
        );
        // `ends never` and no starts: no usable time, no event.
        assert_eq!(
            run_at(&lease("  ends never;\n  binding state free;"), MTIME),
            Ok(vec![])
        );
        assert_eq!(run_at(&lease("  binding state free;"), MTIME), Ok(vec![]));
    }

    #[test]
    fn until_is_the_file_mtime_or_the_state_start_if_later() {
        // A file whose mtime is before the statement's time (a clock step): known at its
        // own time only.
        let early = 1_795_000_000;
        assert_eq!(
            run_at(&lease(&format!("{T}  binding state free;")), early),
            Ok(vec![
                "Free free 2026-11-18T22:00:00Z..2026-11-18T22:00:00Z 192.0.2.10".into()
            ])
        );
        // A followed file: the reference moves on.
        let mut p = DhcpdLeases::new(&Context::new("test", early));
        p.set_reference(MTIME);
        let mut out = Vec::new();
        p.parse(
            lease(&format!("{T}  binding state free;")).as_bytes(),
            &mut out,
        )
        .unwrap();
        assert!(
            matches!(out[0], Event::Free { until: MTIME, .. }),
            "{out:?}"
        );
    }

    #[test]
    fn active_and_non_free_states_give_no_free_event() {
        let hw = "  hardware ethernet 00:1b:2c:3d:4e:5f;";
        for s in ["active", "reset", "bootp", "reserved"] {
            let got = run_at(&lease(&format!("{T}  binding state {s};\n{hw}")), MTIME).unwrap();
            assert!(got.iter().all(|e| !e.starts_with("Free")), "{s}: {got:?}");
        }
    }

    #[test]
    fn an_error_in_a_free_statement_still_refuses_it() {
        // A free lease with a client but no `ends` (the real static sample): still refused.
        assert_eq!(
            run_at(
                &lease("  starts 4 2015/09/10 00:29:00;\n  binding state free;\n  hardware ethernet 2a:b2:2a:b2:2a:b2;"),
                MTIME
            ),
            Err("parse.dhcpd_leases.no_ends")
        );
        // An expired lease without any client: still an error.
        assert_eq!(
            run_at(&lease(&format!("{T}  binding state expired;")), MTIME),
            Err("parse.dhcpd_leases.no_identifier")
        );
    }

    #[test]
    fn an_ipv6_prefix_in_a_free_state_is_free() {
        let pd = "ia-pd 00:00:00:01:00:03:00:01:0a:00:27:00:00:01 {\n  cltt 4 2026/11/19 08:00:00;\n  iaprefix 2001:db8:500::/56 {\n    binding state expired;\n    ends 4 2026/11/19 09:00:00;\n  }\n  iaprefix 2001:db8:600::/56 {\n    binding state backup;\n  }\n}";
        assert_eq!(
            run_at(pd, MTIME),
            Ok(vec![
                "Renew 2026-11-19T08:00:00Z duid:00:03:00:01:0a:00:27:00:00:01 2001:db8:500::/56 2026-11-19T09:00:00Z".into(),
                "Expire 2026-11-19T09:00:00Z duid:00:03:00:01:0a:00:27:00:00:01 2001:db8:500::/56".into(),
                "Free expired 2026-11-19T09:00:00Z..2026-11-19T12:00:00Z 2001:db8:500::/56".into(),
                // backup without ends: from the IA's cltt.
                "Free backup 2026-11-19T08:00:00Z..2026-11-19T12:00:00Z 2001:db8:600::/56".into(),
            ])
        );
    }

    #[test]
    fn uids_escapes_epochs_and_nested_blocks() {
        let text = r#"lease 10.0.0.2 {
  starts epoch 1507637114; # Tue Oct 1012:05:14 2017
  ends epoch 1507640714; # a comment with } and ; and "
  binding state active;
  next binding state free;
  uid "\001lq\331!Uq\"\\\x41;{}";
  set note = "a;b}c{";
  on expiry {
    execute("/bin/x", "y;}");
    if foo { log("z"); } else { log("w"); }
  }
  on commit { set x = "}"; }
  client-hostname "pc";
}"#;
        assert_eq!(
            run(text),
            Ok(vec![
                "Renew 2017-10-10T12:05:14Z id:01:6c:71:d9:21:55:71:22:5c:41:3b:7b:7d 10.0.0.2 2017-10-10T13:05:14Z"
                    .into()
            ])
        );
        assert_eq!(unescape(br"\0\12\377\x4\t\q"), vec![0, 10, 255, 4, 9, b'q']);
    }

    #[test]
    fn ipv6_ias() {
        let na = r#"ia-na "4dv\352\000\001\000\001\035f\037\342\012\000'\000\000\000" {
  cltt 2 2015/08/18 16:55:37;
  iaaddr 2001:db8::60 {
    binding state active;
    preferred-life 375;
    max-life 600;
    ends 2 2015/08/18 17:05:37;
  }
  iaaddr 2001:db8::61 {
    binding state expired;
    ends 2 2015/08/18 17:00:00;
    on expiry { log("gone"); }
  }
  iaaddr 2001:db8::62 { binding state abandoned; ends 2 2015/08/18 17:00:00; }
}"#;
        let duid = "duid:00:01:00:01:1d:66:1f:e2:0a:00:27:00:00:00";
        assert_eq!(
            run(na),
            Ok(vec![
                format!("Renew 2015-08-18T16:55:37Z {duid} 2001:db8::60 2015-08-18T17:05:37Z"),
                format!("Renew 2015-08-18T16:55:37Z {duid} 2001:db8::61 2015-08-18T17:00:00Z"),
                format!("Expire 2015-08-18T17:00:00Z {duid} 2001:db8::61"),
                "Free expired 2015-08-18T17:00:00Z..2015-08-18T17:00:00Z 2001:db8::61".into(),
                // Abandoned: from the IA's cltt (an iaaddr has no starts).
                "Free abandoned 2015-08-18T16:55:37Z..2015-08-18T16:55:37Z 2001:db8::62".into(),
            ])
        );
        let pd = "ia-pd 00:00:00:01:00:03:00:01:0a:00:27:00:00:01 {\n  cltt 2 2015/08/18 16:55:40;\n  iaprefix 2001:db8:500:fff::/56 {\n    binding state active;\n    ends 2 2015/08/18 17:05:40;\n  }\n}\n";
        assert_eq!(
            run(pd),
            Ok(vec!["Renew 2015-08-18T16:55:40Z duid:00:03:00:01:0a:00:27:00:00:01 2001:db8:500:f00::/56 2015-08-18T17:05:40Z".into()])
        );
    }

    #[test]
    fn statements_without_bindings() {
        for s in [
            "authoring-byte-order little-endian;",
            "server-duid \"\\000\\001\\000\\001\";",
            "host pc { dynamic; hardware ethernet 00:1b:2c:3d:4e:5f; fixed-address 192.0.2.5; }",
            "failover peer \"dhcp\" state {\n  my state normal at 2 2015/08/18 16:55:40;\n  partner state normal at 2 2015/08/18 16:55:40;\n  mclt 3600;\n}",
            "db-time-format local;",
            "subclass \"vendor\" \"abc\" { dynamic; }",
            "# only a comment\n",
            "",
        ] {
            assert_eq!(run(s), Ok(vec![]), "{s}");
        }
    }

    #[test]
    fn each_error_code() {
        let e = |s: &str| run(s).unwrap_err();
        assert_eq!(
            e("lease 192.0.2.10 {\n  starts 3 2026/11/18 10:00:00;\n  ends"),
            "parse.dhcpd_leases.truncated"
        );
        assert_eq!(
            e("lease 192.0.2.10 {\n  uid \"abc"),
            "parse.dhcpd_leases.truncated"
        );
        assert_eq!(
            e("authoring-byte-order little-endian"),
            "parse.dhcpd_leases.truncated"
        );
        assert_eq!(
            e("lease 192.0.2.10 { starts 3 2026/11/18 10:00:00 }"),
            "parse.dhcpd_leases.bad_date"
        );
        assert_eq!(
            e("lease 192.0.2.10 { binding state active }"),
            "parse.dhcpd_leases.syntax"
        );
        assert_eq!(
            e("lease 192.0.2.10 { } extra;"),
            "parse.dhcpd_leases.syntax"
        );
        assert_eq!(
            e("subnet 192.0.2.0 netmask 255.255.255.0 { }"),
            "parse.dhcpd_leases.unknown_statement"
        );
        assert_eq!(e("lease 2001:db8::1 { }"), "parse.dhcpd_leases.bad_address");
        assert_eq!(
            e(&lease(&format!("{T}  binding state bound;"))),
            "parse.dhcpd_leases.bad_binding_state"
        );
        assert_eq!(e(&lease(T)), "parse.dhcpd_leases.no_binding_state");
        assert_eq!(
            e(&lease(&format!("{T}  binding state active;"))),
            "parse.dhcpd_leases.no_identifier"
        );
        assert_eq!(
            e(&lease("  ends 3 2026/11/18 22:00:00;\n  binding state active;\n  hardware ethernet 00:1b:2c:3d:4e:5f;")),
            "parse.dhcpd_leases.no_starts"
        );
        assert_eq!(
            e(&lease("  starts 3 2026/11/18 22:00:00;\n  binding state free;\n  hardware ethernet 00:1b:2c:3d:4e:5f;")),
            "parse.dhcpd_leases.no_ends"
        );
        assert_eq!(
            e(&lease("  starts 3 2026/11/18 22:00:00;\n  ends 3 2026/11/18 10:00:00;\n  binding state active;\n  hardware ethernet 00:1b:2c:3d:4e:5f;")),
            "parse.dhcpd_leases.ends_before_starts"
        );
        assert_eq!(
            e(&lease(&format!(
                "{T}  binding state active;\n  hardware ethernet 00:1b:2c;"
            ))),
            "parse.dhcpd_leases.bad_identifier"
        );
        assert_eq!(
            e(&lease(&format!("{T}  binding state active;\n  uid 01:zz;"))),
            "parse.dhcpd_leases.bad_identifier"
        );
        assert_eq!(
            e("ia-na \"\\001\\002\" { cltt 2 2015/08/18 16:55:40; }"),
            "parse.dhcpd_leases.bad_ia"
        );
        assert_eq!(
            e("ia-na \"abcdefgh\" { iaaddr 2001:db8::1 { binding state active; ends 2 2015/08/18 17:05:40; } }"),
            "parse.dhcpd_leases.no_cltt"
        );
        assert_eq!(
            e("ia-pd \"abcdefgh\" { cltt 2 2015/08/18 16:55:40; iaprefix 2001:db8::/200 { } }"),
            "parse.dhcpd_leases.bad_address"
        );
        assert_eq!(
            e(&lease("  starts 9 2026/11/18 10:00:00;")),
            "parse.dhcpd_leases.bad_date"
        );
        assert_eq!(
            e(&lease("  starts 3 2026/02/30 10:00:00;")),
            "parse.dhcpd_leases.bad_date"
        );
        // Reasons never carry the frame's data.
        let mut p = DhcpdLeases::new(&Context::new("test", 0));
        let r = p
            .parse(
                b"lease 192.0.2.10 { hardware ethernet zz:1b; }",
                &mut Vec::new(),
            )
            .unwrap_err();
        assert!(
            !r.reason.contains("zz") && !r.reason.contains("192.0.2"),
            "{r}"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut p = DhcpdLeases::new(&Context::new("test", 0));
            let _ = p.parse(&bytes, &mut Vec::new());
        }

        #[test]
        fn token_soup_never_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec!["lease ", "ia-na ", "iaaddr ", "iaprefix ", "192.0.2.1 ", "2001:db8::/64 ",
                "{", "}", ";", "\"", "\\", "\\3", "#", "\n", "starts ", "ends ", "epoch ", "1 ", "2026/1/2 ",
                "3:4:5", "binding state ", "active", "hardware ethernet ", "0:1:2:3:4:5", "uid ", "cltt ", "never"]), 0..40)) {
            let mut p = DhcpdLeases::new(&Context::new("test", 0));
            let _ = p.parse(parts.concat().as_bytes(), &mut Vec::new());
        }

        /// A lease written the way write_lease() writes it, parsed back.
        #[test]
        fn lease_round_trip(
            ip in any::<u32>(), starts in 0i64..4_000_000_000, len in 0i64..1_000_000,
            mac in proptest::option::of(any::<[u8; 6]>()), uid in proptest::collection::vec(any::<u8>(), 1..40),
            st in 0usize..3, epoch in any::<bool>(), hostname in "[ -!#-\\[\\]-~]{0,30}",
        ) {
            let fmt = |t: i64| {
                if epoch {
                    format!("epoch {t}; # {}", "Thu Oct 05 15:22:29 2017")
                } else {
                    chrono::DateTime::from_timestamp(t, 0).unwrap().format("%w %Y/%m/%d %H:%M:%S;").to_string()
                }
            };
            let ends = starts + len;
            let state = ["active", "released", "expired"][st];
            // quotify_buf(): octal for unprintables, backslash before `"` and `\`.
            let mut quoted = String::new();
            for &b in &uid {
                match b {
                    b'"' | b'\\' => { quoted.push('\\'); quoted.push(b as char); }
                    0x20..=0x7e => quoted.push(b as char),
                    _ => quoted.push_str(&format!("\\{b:03o}")),
                }
            }
            let mut text = format!(
                "lease {} {{\n  starts {}\n  ends {}\n  cltt {}\n  binding state {state};\n  next binding state free;\n",
                Ipv4Addr::from(ip), fmt(starts), fmt(ends), fmt(starts)
            );
            if let Some(m) = mac {
                text.push_str(&format!("  hardware ethernet {};\n", format_hex(&m, ':')));
            }
            text.push_str(&format!("  uid \"{quoted}\";\n  client-hostname \"{hostname}\";\n}}\n"));
            let mut p = DhcpdLeases::new(&Context::new("test", 0));
            let mut out = Vec::new();
            p.parse(text.trim_end().as_bytes(), &mut out).unwrap();
            let sub = match mac {
                Some(m) => format_hex(&m, ':'),
                None => format!("id:{}", format_hex(&uid, ':')),
            };
            let target = Target::host(IpAddr::V4(Ipv4Addr::from(ip)));
            let o = &Context::new("test", 0).origin();
            let mut want = vec![Event::lease(o, LeaseOp::Renew, starts, sub.clone(), target, Some(ends))];
            if st > 0 {
                let op = if st == 1 { LeaseOp::Release } else { LeaseOp::Expire };
                want.push(Event::lease(o, op, ends, sub, target, None));
                let state = if st == 1 { FreeState::Released } else { FreeState::Expired };
                want.push(Event::free(o, ends, ends, target, state));
            }
            prop_assert_eq!(out, want);
        }
    }
}

#[cfg(test)]
mod perf {
    use super::*;

    /// Throughput on a typical active lease (run with `--ignored --nocapture`, release).
    #[test]
    #[ignore]
    fn throughput() {
        let frame = b"lease 192.0.2.10 {\n  starts 4 2026/11/19 08:00:00;\n  ends 4 2026/11/19 20:00:00;\n  cltt 4 2026/11/19 08:00:00;\n  binding state active;\n  next binding state free;\n  rewind binding state free;\n  hardware ethernet 52:54:00:12:04:34;\n  uid \"\\001RT\\000\\022\\0044\";\n  set vendor-class-identifier = \"MSFT 5.0\";\n  client-hostname \"pc one\";\n}";
        let mut p = DhcpdLeases::new(&Context::new("test", 0));
        let mut out = Vec::with_capacity(1024);
        let n = 200_000;
        let start = std::time::Instant::now();
        for _ in 0..n {
            p.parse(frame, &mut out).unwrap();
            out.clear();
        }
        eprintln!("{:.0} leases/s", n as f64 / start.elapsed().as_secs_f64());
    }
}
