//! Normalised records: the events every parser yields, the time and address types they use,
//! and the retention class every stored record carries. No IO here.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch, UTC: the store's time resolution.
pub type UnixSecs = i64;

/// Retention class and legal basis of a record (invariant 6).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Own purpose: network security and abuse handling (the default).
    #[default]
    Security,
    /// Own purpose: billing.
    Billing,
    /// Statutory retention (LEK 2022:482 ch. 9).
    Statutory,
}

impl Class {
    pub const ALL: [Class; 3] = [Class::Security, Class::Billing, Class::Statutory];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Security => "security",
            Class::Billing => "billing",
            Class::Statutory => "statutory",
        }
    }

    pub fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(c: u8) -> Option<Class> {
        Class::ALL.get(c as usize).copied()
    }
}

/// What an address binding is keyed on: an address or prefix, always held as 16 bytes
/// (IPv4 as IPv4-mapped IPv6) plus the prefix length in its own family (32 for an IPv4 host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub addr: Ipv6Addr,
    pub plen: u8,
    pub v4: bool,
}

impl Target {
    pub fn host(ip: IpAddr) -> Target {
        match ip {
            IpAddr::V4(a) => Target {
                addr: a.to_ipv6_mapped(),
                plen: 32,
                v4: true,
            },
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Target::host(IpAddr::V4(v4)),
                None => Target {
                    addr: a,
                    plen: 128,
                    v4: false,
                },
            },
        }
    }

    /// An IPv6 prefix, with host bits cleared.
    pub fn prefix(net: ipnet::Ipv6Net) -> Target {
        let net = net.trunc();
        Target {
            addr: net.addr(),
            plen: net.prefix_len(),
            v4: false,
        }
    }

    /// The prefix of `ip` of length `plen` (IPv6 only).
    pub fn v6_prefix_of(ip: Ipv6Addr, plen: u8) -> Target {
        let bits = u128::from(ip);
        let mask = if plen == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(plen))
        };
        Target {
            addr: Ipv6Addr::from(bits & mask),
            plen,
            v4: false,
        }
    }

    pub fn is_host(&self) -> bool {
        (self.v4 && self.plen == 32) || (!self.v4 && self.plen == 128)
    }

    pub fn ip(&self) -> IpAddr {
        if self.v4 {
            IpAddr::V4(self.addr.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED))
        } else {
            IpAddr::V6(self.addr)
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.ip())
        } else {
            write!(f, "{}/{}", self.ip(), self.plen)
        }
    }
}

/// The 16-byte form used in keys (IPv4 mapped).
pub fn ip16(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

/// Back from the 16-byte form.
pub fn ip_from16(a: Ipv6Addr) -> IpAddr {
    match a.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(a),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionOp {
    Start,
    Interim,
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaseOp {
    Assign,
    Renew,
    Release,
    Expire,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatOp {
    Alloc,
    Release,
}

/// Which kind of producer a record shows to be logging. Coverage is kept apart for address
/// assignments (RADIUS, DHCP) and for NAT, so a gap in the CGNAT log is not hidden by RADIUS
/// traffic at the same time, nor the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Domain {
    /// Address assignments: RADIUS accounting, DHCP.
    Address,
    /// NAT: CGNAT port blocks, NAT64 and NAT44 mappings.
    Nat,
}

impl Domain {
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Address => "address",
            Domain::Nat => "nat",
        }
    }
}

/// The state a DHCP server's lease database gives an address that nobody holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FreeState {
    /// `free`: back in the pool.
    Free,
    /// `expired`: the lease ran out (it goes to `free` next).
    Expired,
    /// `released`: the client released it.
    Released,
    /// `backup`: a failover pool entry the secondary server may hand out.
    Backup,
    /// `abandoned`: the server found the address in use by a device it did not give it to
    /// (a ping answered, or a DHCPDECLINE). Not free: somebody unknown used it.
    Abandoned,
}

impl FreeState {
    pub const ALL: [FreeState; 5] = [
        FreeState::Free,
        FreeState::Expired,
        FreeState::Released,
        FreeState::Backup,
        FreeState::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FreeState::Free => "free",
            FreeState::Expired => "expired",
            FreeState::Released => "released",
            FreeState::Backup => "backup",
            FreeState::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<FreeState> {
        FreeState::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// True when the state proves nobody held the address (every state but `abandoned`).
    pub fn proves_free(self) -> bool {
        self != FreeState::Abandoned
    }
}

/// One normalised input event. Every parser yields these; the store builds bindings from them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event {
    Session {
        op: SessionOp,
        time: UnixSecs,
        subscriber: String,
        session: String,
        target: Target,
        nas: String,
        source: String,
        class: Class,
    },
    Lease {
        op: LeaseOp,
        time: UnixSecs,
        subscriber: String,
        target: Target,
        expires: Option<UnixSecs>,
        /// True when an administrator made the change (Kea `lease_cmds`), not the client's
        /// DHCP exchange: kept as evidence.
        admin: bool,
        /// True when the producer logs every end of the lease (RouterOS writes `deassigned` on
        /// release, expiry and removal alike) and logs no expiry: the lease is known held until
        /// an end is logged (see [`Event::with_ends_logged`]).
        ends_logged: bool,
        source: String,
        class: Class,
    },
    NatBlock {
        op: NatOp,
        time: UnixSecs,
        inside: IpAddr,
        public: IpAddr,
        ports: (u16, u16),
        source: String,
        class: Class,
    },
    NasReboot {
        time: UnixSecs,
        nas: String,
        source: String,
        class: Class,
    },
    /// A call detail record (boxed: it is larger than the binding events).
    Cdr(Box<Cdr>),
    /// A record that carries no binding but shows its producer was logging at `time` (a
    /// DHCPDISCOVER, an accounting record without an address, a NAT session line): it marks
    /// coverage only, so a time near it is not answered `no_coverage`.
    Seen {
        time: UnixSecs,
        domain: Domain,
        source: String,
    },
    /// A lease database's statement that nobody held `target` from `time` until `until` (a
    /// `free`, `expired`, `released` or `backup` lease), or that an unknown device used it
    /// (`abandoned`). `until` is the latest time the database is known to say so (the file's
    /// modification time); a later binding of the address ends it earlier.
    Free {
        time: UnixSecs,
        until: UnixSecs,
        target: Target,
        state: FreeState,
        source: String,
        class: Class,
    },
}

/// One call, as a PBX's CDR writer records it. Times are UTC; numbers are kept as written
/// (lookups normalise them, see the store).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cdr {
    pub start: UnixSecs,
    /// `None` when the call was not answered.
    pub answer: Option<UnixSecs>,
    pub end: UnixSecs,
    /// Seconds from start to end, as the PBX wrote it.
    pub duration: u32,
    /// Seconds from answer to end.
    pub billsec: u32,
    /// Calling number (Asterisk `src`, FreeSWITCH `caller_id_number`).
    pub calling: String,
    /// Called number (Asterisk `dst`, FreeSWITCH `destination_number`).
    pub called: String,
    /// ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION, or a FreeSWITCH hangup cause.
    pub disposition: String,
    /// The PBX's call id (Asterisk `uniqueid`, FreeSWITCH `uuid`), when logged.
    pub call_id: Option<String>,
    pub source: String,
    pub class: Class,
}

/// Where a stream's events come from: the source name and the retention class every event
/// of the stream carries (a parser holds one, from [`Context::origin`](crate::Context::origin)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub source: String,
    pub class: Class,
}

impl Origin {
    pub fn new(source: impl Into<String>, class: Class) -> Origin {
        Origin {
            source: source.into(),
            class,
        }
    }
}

/// One constructor per kind, so a parser names only what its record says; the source and
/// class come from the stream's [`Origin`].
impl Event {
    pub fn session(
        origin: &Origin,
        op: SessionOp,
        time: UnixSecs,
        subscriber: String,
        session: String,
        target: Target,
        nas: String,
    ) -> Event {
        Event::Session {
            op,
            time,
            subscriber,
            session,
            target,
            nas,
            source: origin.source.clone(),
            class: origin.class,
        }
    }

    /// A lease change made by the client's DHCP exchange (see [`Event::by_admin`]).
    pub fn lease(
        origin: &Origin,
        op: LeaseOp,
        time: UnixSecs,
        subscriber: String,
        target: Target,
        expires: Option<UnixSecs>,
    ) -> Event {
        Event::Lease {
            op,
            time,
            subscriber,
            target,
            expires,
            admin: false,
            ends_logged: false,
            source: origin.source.clone(),
            class: origin.class,
        }
    }

    /// The same lease change, from a producer that logs every end of its leases (no effect on
    /// other kinds). Only a producer that writes an end line for every way a lease can end —
    /// release, expiry, removal — may say so: tdr then confirms an open lease up to the newest
    /// data, where otherwise it confirms it only up to its last logged sighting.
    pub fn with_ends_logged(mut self) -> Event {
        if let Event::Lease { ends_logged, .. } = &mut self {
            *ends_logged = true;
        }
        self
    }

    /// The same lease change, made by an administrator when `admin` (no effect on other
    /// kinds).
    pub fn by_admin(mut self, admin: bool) -> Event {
        if let Event::Lease { admin: a, .. } = &mut self {
            *a = admin;
        }
        self
    }

    pub fn nat_block(
        origin: &Origin,
        op: NatOp,
        time: UnixSecs,
        inside: IpAddr,
        public: IpAddr,
        ports: (u16, u16),
    ) -> Event {
        Event::NatBlock {
            op,
            time,
            inside,
            public,
            ports,
            source: origin.source.clone(),
            class: origin.class,
        }
    }

    pub fn nas_reboot(origin: &Origin, time: UnixSecs, nas: String) -> Event {
        Event::NasReboot {
            time,
            nas,
            source: origin.source.clone(),
            class: origin.class,
        }
    }

    /// Coverage only: `origin`'s producer was logging in `domain` at `time` (a seen event
    /// carries no class: it is no record).
    pub fn seen(origin: &Origin, time: UnixSecs, domain: Domain) -> Event {
        Event::Seen {
            time,
            domain,
            source: origin.source.clone(),
        }
    }

    pub fn free(
        origin: &Origin,
        time: UnixSecs,
        until: UnixSecs,
        target: Target,
        state: FreeState,
    ) -> Event {
        Event::Free {
            time,
            until,
            target,
            state,
            source: origin.source.clone(),
            class: origin.class,
        }
    }

    /// A call detail record (its source and class are in `cdr`).
    pub fn cdr(cdr: Cdr) -> Event {
        Event::Cdr(Box::new(cdr))
    }
}

impl Event {
    /// The kind's name in the `events` format (`session`, `lease`, `nat_block`, `nas_reboot`,
    /// `cdr`, `seen`, `free`).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Session { .. } => "session",
            Event::Lease { .. } => "lease",
            Event::NatBlock { .. } => "nat_block",
            Event::NasReboot { .. } => "nas_reboot",
            Event::Cdr(_) => "cdr",
            Event::Seen { .. } => "seen",
            Event::Free { .. } => "free",
        }
    }

    /// When it happened (a CDR: its start).
    pub fn time(&self) -> UnixSecs {
        match self {
            Event::Session { time, .. }
            | Event::Lease { time, .. }
            | Event::NatBlock { time, .. }
            | Event::NasReboot { time, .. }
            | Event::Seen { time, .. }
            | Event::Free { time, .. } => *time,
            Event::Cdr(c) => c.start,
        }
    }

    pub fn source(&self) -> &str {
        match self {
            Event::Session { source, .. }
            | Event::Lease { source, .. }
            | Event::NatBlock { source, .. }
            | Event::NasReboot { source, .. }
            | Event::Seen { source, .. }
            | Event::Free { source, .. } => source,
            Event::Cdr(c) => &c.source,
        }
    }

    /// The retention class (a [`Event::Seen`], which is no record, counts as security).
    pub fn class(&self) -> Class {
        match self {
            Event::Session { class, .. }
            | Event::Lease { class, .. }
            | Event::NatBlock { class, .. }
            | Event::NasReboot { class, .. }
            | Event::Free { class, .. } => *class,
            Event::Seen { .. } => Class::Security,
            Event::Cdr(c) => c.class,
        }
    }
}

impl Event {
    /// True for events that are records to store (every kind but [`Event::Seen`], which only
    /// marks coverage and is counted with the frames that carry nothing).
    pub fn is_record(&self) -> bool {
        !matches!(self, Event::Seen { .. })
    }

    /// The coverage domain the event shows logging in (`None` for CDRs: a PBX's clock says
    /// nothing about addresses).
    pub fn domain(&self) -> Option<Domain> {
        match self {
            Event::Session { .. }
            | Event::Lease { .. }
            | Event::NasReboot { .. }
            | Event::Free { .. } => Some(Domain::Address),
            Event::NatBlock { .. } => Some(Domain::Nat),
            Event::Seen { domain, .. } => Some(*domain),
            Event::Cdr(_) => None,
        }
    }
}

/// RFC 3339 UTC rendering used in every output (`2026-11-21T10:00:00Z`).
pub fn fmt_time(t: UnixSecs) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| format!("@{t}"))
}

/// Why a time given to tdr was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("time {0:?} has no UTC offset; write it as RFC 3339 with Z or ±hh:mm")]
    NoOffset(String),
    #[error("time {0:?} is not RFC 3339 (expected e.g. 2026-11-21T10:00:00+01:00)")]
    Malformed(String),
}

/// Parses an RFC 3339 time that must carry an offset (invariant 7). Fractions are truncated
/// to whole seconds, the store's resolution.
pub fn parse_time(s: &str) -> Result<UnixSecs, TimeError> {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => Ok(t.timestamp()),
        Err(_) => {
            // Tell "no offset" apart from garbage: a naive date-time that parses is the common
            // mistake and deserves its own message.
            let naive = s.replace(' ', "T");
            let has_naive = chrono::NaiveDateTime::parse_from_str(&naive, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(&naive, "%Y-%m-%dT%H:%M:%S"))
                .is_ok();
            if has_naive {
                Err(TimeError::NoOffset(s.to_string()))
            } else {
                Err(TimeError::Malformed(s.to_string()))
            }
        }
    }
}

/// Start of the UTC day holding `t`.
pub fn day_start(t: UnixSecs) -> UnixSecs {
    t.div_euclid(86_400) * 86_400
}

/// Day number (days since epoch) of `t`.
pub fn day_of(t: UnixSecs) -> i64 {
    t.div_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_without_offset_is_refused_with_its_own_message() {
        assert_eq!(parse_time("2026-11-21T10:00:00Z"), Ok(1_795_255_200));
        assert_eq!(parse_time("2026-11-21T11:00:00+01:00"), Ok(1_795_255_200));
        assert!(matches!(
            parse_time("2026-11-21T10:00:00"),
            Err(TimeError::NoOffset(_))
        ));
        assert!(matches!(
            parse_time("2026-11-21 10:00:00"),
            Err(TimeError::NoOffset(_))
        ));
        assert!(matches!(
            parse_time("yesterday"),
            Err(TimeError::Malformed(_))
        ));
    }

    #[test]
    fn ipv4_and_mapped_forms_are_one_target() {
        let a = Target::host("192.0.2.1".parse().unwrap());
        let b = Target::host("::ffff:192.0.2.1".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "192.0.2.1");
        let p = Target::prefix("2001:db8:100:ff::/56".parse().unwrap());
        assert_eq!(p.to_string(), "2001:db8:100::/56");
        assert_eq!(
            Target::v6_prefix_of("2001:db8:100:42::1".parse().unwrap(), 56),
            p
        );
    }

    #[test]
    fn days_are_utc_and_floor_negative_times() {
        assert_eq!(day_start(86_399), 0);
        assert_eq!(day_start(86_400), 86_400);
        assert_eq!(day_of(-1), -1);
    }
}
