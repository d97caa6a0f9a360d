//! A binding's facts as logged (when it started, the last time it was seen alive, how it was
//! closed), their compact value encoding, and the one function that turns facts into evidence
//! (how long the binding is confirmed, where it ends and how that end is known).
//!
//! Facts only ever grow by commutative merges (min of starts, max of last-seen, …), so the same
//! set of events gives the same facts in any order; evidence is derived at read time.

use std::net::{IpAddr, Ipv6Addr};

use serde::Serialize;

use crate::model::{ip16, ip_from16, Class, UnixSecs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Session = 0,
    Lease = 1,
    Nat = 2,
    /// A lease database's statement that nobody held the address (a `free`, `expired`,
    /// `released` or `backup` lease) or that an unknown device used it (`abandoned`); the
    /// state is the subject. From its start until `last_seen` (the latest time the database
    /// is known to say so), or the next holder's start.
    Free = 3,
}

/// How a binding's end is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndKind {
    /// Accounting Stop logged.
    Stop = 0,
    /// DHCP release or NAT block release logged.
    Release = 1,
    /// The lease ran out (its expiry time was logged at assignment, or an expiry was logged).
    LeaseExpiry = 2,
    /// Inferred: the address (or port block) was assigned to someone else.
    NextAssignment = 3,
    /// Inferred: the NAS rebooted (Accounting-On/Off).
    NasReboot = 4,
    /// No interim update for longer than the session timeout, and no end logged: the session
    /// may have ended any time after it was last seen, or still be running. Not an end: the
    /// binding still covers later times (as not confirmed) until another holder's start, a NAS
    /// reboot or a late Stop ends it.
    InterimTimeout = 5,
    /// Still open as far as the data goes.
    Open = 6,
}

impl EndKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EndKind::Stop => "stop",
            EndKind::Release => "release",
            EndKind::LeaseExpiry => "lease_expiry",
            EndKind::NextAssignment => "next_assignment",
            EndKind::NasReboot => "nas_reboot",
            EndKind::InterimTimeout => "interim_timeout",
            EndKind::Open => "open",
        }
    }

    /// True when the end was written in a log, not inferred.
    pub fn is_logged(self) -> bool {
        matches!(
            self,
            EndKind::Stop | EndKind::Release | EndKind::LeaseExpiry
        )
    }

    fn from_code(c: u8) -> Option<EndKind> {
        use EndKind::*;
        [
            Stop,
            Release,
            LeaseExpiry,
            NextAssignment,
            NasReboot,
            InterimTimeout,
            Open,
        ]
        .get(c as usize)
        .copied()
    }
}

/// What the logs said about one binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub kind: Kind,
    pub class: Class,
    /// True once the binding is final and this copy holds everything known about it. A copy
    /// that is not complete may be stale: the live record in `meta` has the newest facts.
    pub complete: bool,
    /// The subscriber (empty for NAT blocks and free states).
    pub subject: String,
    /// NAT blocks: the inside address the block belongs to.
    pub inside: Option<IpAddr>,
    /// NAT blocks: the last port of the block (the first is in the key).
    pub port_hi: u16,
    pub source: String,
    /// Sessions: the NAS that reported it. Free states: the state (`free`, `backup`, …).
    pub nas: String,
    pub start: UnixSecs,
    pub start_logged: bool,
    /// Latest time the binding was seen alive (start, interim, renew, alloc).
    pub last_seen: UnixSecs,
    pub end_logged: Option<(UnixSecs, EndKind)>,
    /// Leases: the latest expiry granted.
    pub expires: Option<UnixSecs>,
    /// Earliest start of a later binding of the same address to another subject.
    pub superseded: Option<UnixSecs>,
    /// Sessions: earliest reboot of the NAS after the start.
    pub reboot: Option<UnixSecs>,
    /// Leases: an administrator made (part of) it (Kea `lease_cmds`), not the client's DHCP
    /// exchange.
    pub admin: bool,
    /// Leases: its producer logs every end of a lease and no expiry (RouterOS's `deassigned`),
    /// so while no end is logged the lease is confirmed held (see [`Facts::evidence`]).
    pub ends_logged: bool,
    /// The network sender of its events (a syslog peer), as evidence of where it came from;
    /// `None` for files and imports. When several senders reported it, the lowest address
    /// (a choice that does not depend on the order the events came in).
    pub peer: Option<IpAddr>,
}

/// Knobs of the derivation.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// A session with no interim update for this long is taken to have ended (inferred).
    pub session_timeout: i64,
    /// Clock tolerance (±) applied when matching a time against a binding.
    pub tolerance: i64,
}

/// Evidence for a binding, derived from its facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    pub start: UnixSecs,
    /// Up to when the logs confirm the binding; `None` = confirmed while open (NAT blocks).
    pub confirmed_until: Option<UnixSecs>,
    /// `None` while open.
    pub end: Option<UnixSecs>,
    pub end_kind: EndKind,
}

impl Evidence {
    pub fn covers(&self, t: UnixSecs, tol: i64) -> bool {
        t >= self.start - tol && self.end.is_none_or(|e| t <= e + tol)
    }

    pub fn confirms(&self, t: UnixSecs, tol: i64) -> bool {
        self.covers(t, tol) && self.confirmed_until.is_none_or(|c| t <= c + tol)
    }
}

fn min_opt(
    a: Option<(UnixSecs, EndKind)>,
    b: Option<UnixSecs>,
    k: EndKind,
) -> Option<(UnixSecs, EndKind)> {
    match (a, b) {
        (Some((ta, _)), Some(tb)) if tb < ta => Some((tb, k)),
        (None, Some(tb)) => Some((tb, k)),
        (a, _) => a,
    }
}

impl Facts {
    /// The end this binding has given what is known, and the time up to which it is confirmed.
    /// `horizon` is the newest time the store has data for: an inferred end beyond it is
    /// reported as still open.
    pub fn evidence(&self, rules: &Rules, horizon: UnixSecs) -> Evidence {
        if let Some((t, kind)) = self.end_logged {
            return Evidence {
                start: self.start,
                confirmed_until: Some(t.max(self.start)),
                end: Some(t.max(self.start)),
                end_kind: kind,
            };
        }
        let mut end = min_opt(None, self.superseded, EndKind::NextAssignment);
        let mut open_kind = EndKind::Open;
        match self.kind {
            Kind::Session => {
                // A reboot that happened before the session was last seen alive is contradicted
                // by that later evidence and is not an end.
                let reboot = self
                    .reboot
                    .filter(|r| *r + rules.tolerance >= self.last_seen);
                end = min_opt(end, reboot, EndKind::NasReboot);
                // No interim for longer than the timeout is not a release: the session is
                // still the last thing known of the address (invariant 8), only unconfirmed.
                if self.last_seen.saturating_add(rules.session_timeout) <= horizon {
                    open_kind = EndKind::InterimTimeout;
                }
            }
            Kind::Free => {
                // Known free until the database was last seen saying so.
                end = min_opt(end, Some(self.last_seen), EndKind::Open);
            }
            Kind::Lease => {
                // The server guaranteed the lease until its expiry: a next assignment only
                // ends it by inference when it comes before that (a lost release), not when
                // it comes at the very moment the lease ran out.
                if let Some(e) = self.expires {
                    if self.superseded.is_none_or(|s| e <= s) {
                        end = Some((e, EndKind::LeaseExpiry));
                    }
                }
            }
            Kind::Nat => {}
        }
        let end = end.map(|(t, k)| (t.max(self.start), k));
        let confirmed_until = match (self.kind, end) {
            (Kind::Lease, Some((t, EndKind::LeaseExpiry))) => Some(t),
            (Kind::Nat, None) => None,
            // A lease from a producer that logs every end (RouterOS) and no expiry or renewal:
            // with no end logged and no later holder, the log says the lease still stands, as
            // a NAT block's does. A later holder without a logged end means a line was lost,
            // and only the last sighting is confirmed.
            (Kind::Lease, None) if self.ends_logged && self.expires.is_none() => None,
            (_, Some((t, _))) => Some(self.last_seen.min(t)),
            (_, None) => Some(self.last_seen),
        };
        Evidence {
            start: self.start,
            confirmed_until,
            end: end.map(|(t, _)| t),
            end_kind: end.map_or(open_kind, |(_, k)| k),
        }
    }

    /// The latest time this binding can matter to a lookup, for deciding which day partitions
    /// hold a copy of it. `None` = open-ended.
    pub fn span_end(&self, rules: &Rules) -> Option<UnixSecs> {
        let e = self.evidence(rules, UnixSecs::MAX);
        e.end
    }

    /// Like [`Facts::span_end`], but ignoring ends inferred from other events (a later holder,
    /// a NAS reboot): the end the binding has from its own facts.
    pub fn own_span_end(&self) -> Option<UnixSecs> {
        if let Some((t, _)) = self.end_logged {
            return Some(t.max(self.start));
        }
        match self.kind {
            // A session without a logged end has none of its own (see `evidence`).
            Kind::Session | Kind::Nat => None,
            Kind::Lease => self.expires.map(|e| e.max(self.start)),
            Kind::Free => Some(self.last_seen),
        }
    }

    /// Folds in another copy of the same binding (same key: target, start, id): the union of
    /// what either knows. Commutative, associative and idempotent, so copies written in any
    /// order and any number of times give one result. A copy written from late events (a file
    /// imported after newer ones, or imported again under another name) can only add to a
    /// final binding, never cut it short.
    pub fn merge_same(&mut self, o: &Facts) {
        self.complete |= o.complete;
        self.start_logged |= o.start_logged;
        self.last_seen = self.last_seen.max(o.last_seen);
        self.end_logged = match (self.end_logged, o.end_logged) {
            (Some(a), Some(b)) => Some(if (b.0, b.1 as u8) < (a.0, a.1 as u8) {
                b
            } else {
                a
            }),
            (a, b) => a.or(b),
        };
        self.expires = self.expires.max(o.expires);
        let earliest = |a: Option<UnixSecs>, b: Option<UnixSecs>| match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        self.superseded = earliest(self.superseded, o.superseded);
        self.reboot = earliest(self.reboot, o.reboot);
        self.admin |= o.admin;
        self.ends_logged |= o.ends_logged;
        self.add_peer(o.peer);
    }

    /// Notes a sender of the binding's events; true when that changed the facts.
    pub fn add_peer(&mut self, peer: Option<IpAddr>) -> bool {
        let merged = match (self.peer, peer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let changed = merged != self.peer;
        self.peer = merged;
        changed
    }

    // ---- codec ----------------------------------------------------------------------------

    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut flags = 0u8;
        if self.complete {
            flags |= 1;
        }
        if self.start_logged {
            flags |= 2;
        }
        if self.end_logged.is_some() {
            flags |= 4;
        }
        if self.expires.is_some() {
            flags |= 8;
        }
        if self.superseded.is_some() {
            flags |= 16;
        }
        if self.reboot.is_some() {
            flags |= 32;
        }
        if self.admin {
            flags |= 64;
        }
        if self.peer.is_some() {
            flags |= 128;
        }
        out.push((self.kind as u8) | (self.class.code() << 4));
        out.push(flags);
        put_var(out, zigzag(self.last_seen - self.start));
        if let Some((t, k)) = self.end_logged {
            put_var(out, zigzag(t - self.start));
            out.push(k as u8);
        }
        for t in [self.expires, self.superseded, self.reboot]
            .into_iter()
            .flatten()
        {
            put_var(out, zigzag(t - self.start));
        }
        put_str(out, &self.subject);
        put_str(out, &self.source);
        match self.kind {
            Kind::Session | Kind::Free => put_str(out, &self.nas),
            Kind::Lease => {}
            Kind::Nat => {
                out.extend_from_slice(&self.port_hi.to_be_bytes());
                let inside = self.inside.map(ip16).unwrap_or(Ipv6Addr::UNSPECIFIED);
                out.extend_from_slice(&inside.octets());
            }
        }
        // Last, and only when set: values written before senders were kept decode as before.
        if let Some(p) = self.peer {
            out.extend_from_slice(&ip16(p).octets());
        }
        // A second flags byte after everything else, only when a flag in it is set: values
        // written before it existed end where it would start and decode with none set.
        let flags2 = u8::from(self.ends_logged);
        if flags2 != 0 {
            out.push(flags2);
        }
    }

    /// Decodes a value; `start` comes from the key.
    pub fn decode(start: UnixSecs, v: &[u8]) -> Option<Facts> {
        let mut r = Reader { b: v };
        let kc = r.byte()?;
        let kind = match kc & 0x0f {
            0 => Kind::Session,
            1 => Kind::Lease,
            2 => Kind::Nat,
            3 => Kind::Free,
            _ => return None,
        };
        let class = Class::from_code(kc >> 4)?;
        let flags = r.byte()?;
        let last_seen = start + unzigzag(r.var()?);
        let end_logged = if flags & 4 != 0 {
            let t = start + unzigzag(r.var()?);
            Some((t, EndKind::from_code(r.byte()?)?))
        } else {
            None
        };
        let mut opt = |bit: u8| -> Option<Option<UnixSecs>> {
            if flags & bit != 0 {
                Some(Some(start + unzigzag(r.var()?)))
            } else {
                Some(None)
            }
        };
        let expires = opt(8)?;
        let superseded = opt(16)?;
        let reboot = opt(32)?;
        let subject = r.string()?;
        let source = r.string()?;
        let (nas, port_hi, inside) = match kind {
            Kind::Session | Kind::Free => (r.string()?, 0, None),
            Kind::Lease => (String::new(), 0, None),
            Kind::Nat => {
                let hi = u16::from_be_bytes(r.take(2)?.try_into().ok()?);
                let a: [u8; 16] = r.take(16)?.try_into().ok()?;
                (String::new(), hi, Some(ip_from16(Ipv6Addr::from(a))))
            }
        };
        let peer = if flags & 128 != 0 {
            let a: [u8; 16] = r.take(16)?.try_into().ok()?;
            Some(ip_from16(Ipv6Addr::from(a)))
        } else {
            None
        };
        let flags2 = r.byte().unwrap_or(0);
        if !r.b.is_empty() || flags2 & !1 != 0 {
            return None;
        }
        Some(Facts {
            kind,
            class,
            complete: flags & 1 != 0,
            subject,
            inside,
            port_hi,
            source,
            nas,
            start,
            start_logged: flags & 2 != 0,
            last_seen,
            end_logged,
            expires,
            superseded,
            reboot,
            admin: flags & 64 != 0,
            ends_logged: flags2 & 1 != 0,
            peer,
        })
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub(crate) fn put_var(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_var(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

pub(crate) struct Reader<'a> {
    pub b: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn byte(&mut self) -> Option<u8> {
        let (&x, rest) = self.b.split_first()?;
        self.b = rest;
        Some(x)
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (x, rest) = self.b.split_at(n);
        self.b = rest;
        Some(x)
    }
    pub fn var(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    pub fn string(&mut self) -> Option<String> {
        let n = usize::try_from(self.var()?).ok()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn session(start: i64, last: i64) -> Facts {
        Facts {
            kind: Kind::Session,
            class: Class::Security,
            complete: false,
            subject: "u1".into(),
            inside: None,
            port_hi: 0,
            source: "radius".into(),
            nas: "bng1".into(),
            start,
            start_logged: true,
            last_seen: last,
            end_logged: None,
            expires: None,
            superseded: None,
            reboot: None,
            admin: false,
            ends_logged: false,
            peer: None,
        }
    }

    const RULES: Rules = Rules {
        session_timeout: 7200,
        tolerance: 2,
    };

    #[test]
    fn codec_round_trips_every_field() {
        let mut f = session(1000, 1300);
        f.end_logged = Some((1500, EndKind::Stop));
        f.superseded = Some(990);
        f.reboot = Some(2000);
        f.complete = true;
        f.admin = true;
        let mut v = Vec::new();
        f.encode(&mut v);
        assert_eq!(Facts::decode(1000, &v), Some(f));

        let n = Facts {
            kind: Kind::Nat,
            class: Class::Statutory,
            inside: Some("100.64.0.1".parse().unwrap()),
            port_hi: 2047,
            subject: String::new(),
            nas: String::new(),
            ..session(5, 5)
        };
        let mut v = Vec::new();
        n.encode(&mut v);
        assert_eq!(Facts::decode(5, &v), Some(n));
        assert_eq!(Facts::decode(5, &v[..v.len() - 1]), None, "truncated value");
    }

    #[test]
    fn codec_keeps_ends_logged_and_reads_values_written_before_it() {
        let f = Facts {
            kind: Kind::Lease,
            nas: String::new(),
            ends_logged: true,
            peer: Some("192.0.2.1".parse().unwrap()),
            ..session(7, 9)
        };
        let mut v = Vec::new();
        f.encode(&mut v);
        assert_eq!(Facts::decode(7, &v), Some(f.clone()));
        // A value written before the flag existed is the same bytes without the last one.
        let old = Facts {
            ends_logged: false,
            ..f.clone()
        };
        let mut w = Vec::new();
        old.encode(&mut w);
        assert_eq!(w.len() + 1, v.len());
        assert_eq!(Facts::decode(7, &w), Some(old));
        // An unknown flag or bytes after the flags are a damaged value, not silence.
        let mut bad = v.clone();
        *bad.last_mut().unwrap() = 3;
        assert_eq!(Facts::decode(7, &bad), None);
        v.push(0);
        assert_eq!(Facts::decode(7, &v), None);
    }

    /// Issue 20: RouterOS logs no renewals and no lease time, but a `deassigned` for every
    /// end. Inside a silently renewed lease tdr answered `end_inferred` (confirmed only up to
    /// the `assigned`), though the log shows the lease standing.
    #[test]
    fn a_routeros_lease_is_confirmed_until_its_deassign() {
        let mut f = Facts {
            kind: Kind::Lease,
            nas: String::new(),
            ends_logged: true,
            ..session(1000, 1000)
        };
        let e = f.evidence(&RULES, 1_000_000);
        assert_eq!(
            (e.confirmed_until, e.end, e.end_kind),
            (None, None, EndKind::Open)
        );
        assert!(e.confirms(500_000, 0));
        // Without the mark (Kea's infinite lease) only the sighting is confirmed.
        let plain = Facts {
            ends_logged: false,
            ..f.clone()
        };
        assert!(!plain.evidence(&RULES, 1_000_000).confirms(500_000, 0));
        // Its deassign ends it, confirmed to the end.
        f.end_logged = Some((90_000, EndKind::Release));
        let e = f.evidence(&RULES, 1_000_000);
        assert_eq!((e.confirmed_until, e.end), (Some(90_000), Some(90_000)));
        assert!(e.confirms(89_000, 0) && !e.covers(90_100, 0));
        // A later holder with no deassign logged: a line was lost; only the sighting stands.
        f.end_logged = None;
        f.superseded = Some(50_000);
        let e = f.evidence(&RULES, 1_000_000);
        assert_eq!(
            (e.confirmed_until, e.end, e.end_kind),
            (Some(1000), Some(50_000), EndKind::NextAssignment)
        );
        assert!(!e.confirms(20_000, 0) && e.covers(20_000, 0));
        // An operator's lease-time bound (an expiry) takes over from the mark.
        f.superseded = None;
        f.expires = Some(4600);
        let e = f.evidence(&RULES, 1_000_000);
        assert_eq!((e.confirmed_until, e.end), (Some(4600), Some(4600)));
    }

    #[test]
    fn logged_stop_wins_and_is_confirmed() {
        let mut f = session(0, 100);
        f.end_logged = Some((200, EndKind::Stop));
        f.superseded = Some(150);
        let e = f.evidence(&RULES, 1_000_000);
        assert_eq!(e.end, Some(200));
        assert_eq!(e.end_kind, EndKind::Stop);
        assert!(e.confirms(199, 0));
    }

    #[test]
    fn an_inferred_end_is_not_a_release() {
        // Issue 13, case 4: no interim for longer than the session timeout used to end the
        // session at last-seen + timeout, and a lookup after that answered `not_found`.
        let f = session(0, 100);
        let e = f.evidence(&RULES, 1_000_000);
        assert_eq!((e.end, e.end_kind), (None, EndKind::InterimTimeout));
        assert!(e.confirms(100, 0));
        assert!(!e.confirms(101, 0));
        assert!(e.covers(5000, 0));
        assert!(
            e.covers(1_000_000, 0),
            "still the last thing known of the address"
        );
        assert_eq!(f.span_end(&RULES), None);
        // Before the timeout has passed in the data the session is simply open.
        let open = f.evidence(&RULES, 200);
        assert_eq!((open.end, open.end_kind), (None, EndKind::Open));
        // Another holder's start ends it.
        let mut g = f.clone();
        g.superseded = Some(90_000);
        let e = g.evidence(&RULES, 1_000_000);
        assert_eq!((e.end, e.end_kind), (Some(90_000), EndKind::NextAssignment));
        assert_eq!(e.confirmed_until, Some(100));
    }

    #[test]
    fn a_free_state_covers_until_last_seen_or_the_next_holder() {
        let mut f = Facts {
            kind: Kind::Free,
            subject: String::new(),
            nas: "free".into(),
            ..session(1000, 5000)
        };
        let e = f.evidence(&RULES, 0);
        assert_eq!((e.start, e.end), (1000, Some(5000)));
        assert!(e.covers(3000, 0) && !e.covers(5001, 0));
        f.superseded = Some(2000);
        let e = f.evidence(&RULES, 0);
        assert_eq!(e.end, Some(2000));
        let mut v = Vec::new();
        f.encode(&mut v);
        assert_eq!(Facts::decode(1000, &v), Some(f));
    }

    #[test]
    fn next_assignment_and_reboot_end_a_session_by_inference() {
        let mut f = session(0, 100);
        f.superseded = Some(300);
        f.reboot = Some(250);
        let e = f.evidence(&RULES, 1_000_000);
        assert_eq!((e.end, e.end_kind), (Some(250), EndKind::NasReboot));
        // A reboot contradicted by a later interim is ignored.
        f.reboot = Some(50);
        let e = f.evidence(&RULES, 1_000_000);
        assert_eq!((e.end, e.end_kind), (Some(300), EndKind::NextAssignment));
    }

    #[test]
    fn lease_is_confirmed_until_expiry_unless_taken_earlier() {
        let mut f = Facts {
            kind: Kind::Lease,
            nas: String::new(),
            expires: Some(3600),
            ..session(0, 1800)
        };
        let e = f.evidence(&RULES, 0);
        assert_eq!(
            (e.confirmed_until, e.end, e.end_kind),
            (Some(3600), Some(3600), EndKind::LeaseExpiry)
        );
        f.superseded = Some(2000);
        let e = f.evidence(&RULES, 0);
        assert_eq!(
            (e.confirmed_until, e.end, e.end_kind),
            (Some(1800), Some(2000), EndKind::NextAssignment)
        );
    }

    #[test]
    fn lease_taken_over_at_its_expiry_stays_confirmed() {
        let f = Facts {
            kind: Kind::Lease,
            nas: String::new(),
            expires: Some(3600),
            superseded: Some(3600),
            ..session(0, 0)
        };
        let e = f.evidence(&RULES, 0);
        assert_eq!(
            (e.confirmed_until, e.end, e.end_kind),
            (Some(3600), Some(3600), EndKind::LeaseExpiry)
        );
    }

    #[test]
    fn zigzag_round_trips() {
        for v in [0i64, 1, -1, i64::MAX / 2, -86_400 * 365] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn the_sender_is_kept_and_values_without_one_still_decode() {
        let mut f = session(1000, 1100);
        let mut before = Vec::new();
        f.encode(&mut before);
        // A value written before senders were kept decodes as one without a sender.
        assert_eq!(Facts::decode(1000, &before).map(|d| d.peer), Some(None));
        assert!(f.add_peer(Some("10.0.0.9".parse().unwrap())));
        assert!(!f.add_peer(None));
        let mut v = Vec::new();
        f.encode(&mut v);
        assert_eq!(v.len(), before.len() + 16);
        assert_eq!(Facts::decode(1000, &v), Some(f.clone()));
        // Merged in any order: the lowest address.
        let mut g = f.clone();
        g.peer = Some("10.0.0.5".parse().unwrap());
        let (mut a, mut b) = (f.clone(), g.clone());
        a.merge_same(&g);
        b.merge_same(&f);
        assert_eq!(a.peer, b.peer);
        assert_eq!(a.peer, Some("10.0.0.5".parse().unwrap()));
    }
}
