//! The apply engine: turns events into binding facts. Pure and in memory; what it decides to
//! write goes to a [`Sink`] at `flush`, which the store turns into one atomic RocksDB batch
//! together with the source checkpoint.
//!
//! * A binding is *live* while later events may still change it: it is kept in memory and
//!   persisted in the `live` column family (so a restart resumes exactly where the last batch
//!   left off, and lookups see it at once).
//! * It becomes *final* once the newest event time of its clock (its source, and for sessions
//!   its NAS: one producer's stream) is past its end plus the reorder window — or, for a clock
//!   that fell silent, once the newest event time of all clocks is [`MAX_CLOCK_LAG`] past it; then a complete copy is written into every UTC day partition it spans and
//!   its live record is deleted, in the same batch. A lookup at time T therefore reads only the
//!   partitions of T (± tolerance) and the live family — a long session never pins an old
//!   partition, and dropping a partition drops exactly that day.
//! * Every merge is commutative and idempotent (min start, max last-seen, earliest logged end),
//!   so duplicates and events reordered within the window give the same facts as ordered input.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::net::{IpAddr, Ipv6Addr};

use super::binding::{put_str, EndKind, Facts, Kind, Reader, Rules};
use super::keys::{BindingKey, TAG_BINDING, TAG_NAT};
use crate::model::{
    day_of, ip16, Class, Domain, Event, FreeState, LeaseOp, NatOp, SessionOp, Target, UnixSecs,
};

/// Engine settings.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub rules: Rules,
    /// How far out of order events may arrive and still be merged exactly (seconds).
    pub reorder_window: i64,
    /// How long after a session was last seen a late Stop still merges into it (a NAS that
    /// sends no interim updates reports a long session only at its end).
    pub stop_wait: i64,
}

/// Where the engine's writes go.
pub trait Sink {
    /// A complete copy of a final binding, in the partition of `day`.
    fn put_copy(&mut self, day: i64, key: &[u8], value: &[u8]);
    fn put_live(&mut self, key: &[u8], value: &[u8]);
    fn delete_live(&mut self, key: &[u8]);
    fn put_meta(&mut self, key: &[u8], value: &[u8]);
    /// ORs `bits` into the coverage bitmap stored at `key`.
    fn merge_coverage(&mut self, key: &[u8], bits: &[u8]);
}

/// What applying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// Nothing new: an exact duplicate or an event whose facts were already known.
    Duplicate,
}

type Slot = u64;

#[derive(Debug, Clone)]
struct LiveRec {
    key: BindingKey,
    facts: Facts,
    /// Sessions: the accounting session id (identity, not stored in the final copies).
    session: String,
    /// The key this record is stored under in the `live` family, if stored.
    persisted: Option<BindingKey>,
    /// The eviction deadline currently queued for it.
    queued: Option<UnixSecs>,
}

/// Index key for bindings sharing an address (sessions and leases) or a NAT port block.
type TargetKey = (u8, Ipv6Addr, u16);

pub struct Engine {
    params: Params,
    next_slot: Slot,
    slab: HashMap<Slot, LiveRec>,
    /// Sessions by a hash of (NAS, session id); the strings are compared in the slab.
    by_session: HashMap<u64, Vec<Slot>>,
    by_target: HashMap<TargetKey, Vec<Slot>>,
    by_nas: HashMap<String, HashSet<Slot>>,
    reboots: HashMap<String, BTreeSet<UnixSecs>>,
    new_reboots: Vec<(String, UnixSecs)>,
    /// Eviction deadlines per clock: a binding is finalised by its own producer's clock, so a
    /// backlog of one NAS or source imported after another's newer logs is not treated as late.
    evict: HashMap<Clock, BTreeSet<(UnixSecs, Slot)>>,
    dirty: HashSet<Slot>,
    /// The newest event time of all sources.
    watermark: UnixSecs,
    /// The newest event time of each clock, with its (source, NAS) names for persisting.
    marks: HashMap<Clock, (UnixSecs, Box<(String, String)>)>,
    /// Coverage minutes marked since the last flush, per domain and source (merged into the
    /// stored bitmaps).
    coverage: HashMap<(Domain, String), HashMap<i64, [u64; 23]>>,
    prefix_lens: BTreeSet<u8>,
    new_prefix_lens: Vec<u8>,
    /// The widest NAT block seen (last − first port); `changed` when it grew since the flush.
    nat_span: (u16, bool),
    /// CDRs applied since the last flush.
    cdrs: Vec<crate::model::Cdr>,
    /// Bindings created by late events (start far behind the watermark) since the last flush:
    /// they may have a final copy in the store to merge with ([`Engine::revive_late`]).
    late: Vec<Slot>,
    /// Live port blocks and the days (first, last) their sharer marks were written for: a
    /// lookup without a port counts a day's sharers from the marks alone.
    nat_marked: HashMap<Slot, (i64, i64)>,
}

pub(crate) const META_WATERMARK: &[u8] = b"W";
/// `w` + source + NUL + NAS (empty but for sessions): that clock's newest event time.
pub(crate) const META_CLOCK_MARK: u8 = b'w';

/// How far one clock (a source, or a NAS of a source) may fall behind the newest event of all
/// before its bindings are finalised by the overall clock: a backlog may be imported up to
/// this far behind other sources, and a producer that fell silent does not keep its bindings
/// live for longer (far below the retention period, so the TTL holds).
pub const MAX_CLOCK_LAG: i64 = 31 * 86_400;

/// How long a binding with no end at all (a session whose Stop never came, a NAT block never
/// released) stays live after it was last seen: it is the last thing known of its address
/// until another holder's start ends it, so it must stay where every lookup reads it; past
/// this (longer than the default six months' retention) its last record is expired anyway.
pub const MAX_OPEN: i64 = 184 * 86_400;

/// Sharer records to write, per (day, public address).
type Sharers = BTreeMap<(i64, Ipv6Addr), BTreeSet<[u8; super::keys::SHARER_RECORD]>>;

/// A producer's clock: its source name and, for sessions and reboots, its NAS.
type Clock = u64;

fn clock_of(source: &str, nas: &str) -> Clock {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in source
        .as_bytes()
        .iter()
        .chain(&[0xff])
        .chain(nas.as_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

impl Facts {
    fn clock(&self) -> Clock {
        clock_of(&self.source, &self.nas)
    }
}
pub(crate) const META_REBOOT: u8 = b'R';
pub(crate) const META_COVERAGE: u8 = b'V';
/// Coverage of NAT producers (CGNAT port blocks, NAT64/NAT44 mappings), apart from addresses.
pub(crate) const META_NAT_COVERAGE: u8 = b'v';
pub(crate) const META_PLEN: u8 = b'Q';
pub(crate) const META_NAT_SPAN: &[u8] = b"Z";

/// FNV-1a, stable across versions (it is part of the key layout).
fn id_hash(parts: &[&[u8]]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for p in parts {
        for &b in *p {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

impl Engine {
    pub fn new(params: Params) -> Self {
        Engine {
            params,
            next_slot: 0,
            slab: HashMap::default(),
            by_session: HashMap::default(),
            by_target: HashMap::default(),
            by_nas: HashMap::default(),
            reboots: HashMap::default(),
            new_reboots: Vec::new(),
            evict: HashMap::default(),
            dirty: HashSet::default(),
            marks: HashMap::default(),
            watermark: i64::MIN,
            coverage: HashMap::default(),
            prefix_lens: BTreeSet::new(),
            new_prefix_lens: Vec::new(),
            nat_span: (0, false),
            cdrs: Vec::new(),
            late: Vec::new(),
            nat_marked: HashMap::default(),
        }
    }

    pub fn watermark(&self) -> UnixSecs {
        self.watermark
    }

    pub fn live_count(&self) -> usize {
        self.slab.len()
    }

    // ---- restoring state at open ------------------------------------------------------------

    pub fn restore_watermark(&mut self, w: UnixSecs) {
        self.watermark = w;
    }

    pub fn restore_clock_mark(&mut self, source: String, nas: String, w: UnixSecs) {
        self.marks
            .insert(clock_of(&source, &nas), (w, Box::new((source, nas))));
    }

    /// The newest event time of `clock` (the overall one for a clock not seen yet, as in a
    /// store written before watermarks were kept per clock), but at most [`MAX_CLOCK_LAG`]
    /// behind the overall one.
    fn mark(&self, clock: Clock) -> UnixSecs {
        let floor = self.watermark.saturating_sub(MAX_CLOCK_LAG);
        self.marks
            .get(&clock)
            .map_or(self.watermark, |m| m.0)
            .max(floor)
    }

    pub fn restore_reboot(&mut self, nas: String, t: UnixSecs) {
        self.reboots.entry(nas).or_default().insert(t);
    }

    pub fn restore_nat_span(&mut self, span: u16) {
        self.nat_span = (span, false);
    }

    pub fn restore_prefix_len(&mut self, plen: u8) {
        self.prefix_lens.insert(plen);
    }

    /// Re-adds a live record read from the `live` family.
    pub fn restore_live(&mut self, key: &[u8], value: &[u8]) -> bool {
        let Some(k) = BindingKey::decode(key) else {
            return false;
        };
        let Some((facts, session)) = decode_live(k.start, value) else {
            return false;
        };
        let slot = self.index(k, facts, session);
        if let Some(r) = self.slab.get_mut(&slot) {
            r.persisted = Some(k);
        }
        self.queue_eviction(slot);
        true
    }

    // ---- applying events ----------------------------------------------------------------------

    pub fn apply(&mut self, ev: &Event) -> Applied {
        if let Event::Cdr(c) = ev {
            // A CDR is a finished record: written as it is, in its start's day. It marks no
            // address coverage and moves no watermark (its clock is the PBX's).
            self.cdrs.push((**c).clone());
            return Applied::Changed;
        }
        let t = ev.time();
        if let Some(domain) = ev.domain() {
            self.mark_coverage(t, domain, ev.source());
        }
        let changed = match ev {
            Event::Session {
                op,
                time,
                subscriber,
                session,
                target,
                nas,
                source,
                class,
            } => self.apply_session(
                *op, *time, subscriber, session, *target, nas, source, *class,
            ),
            Event::Lease {
                admin,
                op,
                time,
                subscriber,
                target,
                expires,
                source,
                class,
            } => self.apply_lease(
                *op, *time, subscriber, *target, *expires, *admin, source, *class,
            ),
            Event::NatBlock {
                op,
                time,
                inside,
                public,
                ports,
                source,
                class,
            } => self.apply_nat(*op, *time, *inside, *public, *ports, source, *class),
            Event::NasReboot { time, nas, .. } => self.apply_reboot(*time, nas),
            // Coverage only (marked above), and the producer's clock moves.
            Event::Seen { .. } => false,
            Event::Free {
                time,
                until,
                target,
                state,
                source,
                class,
            } => self.apply_free(*time, *until, *target, *state, source, *class),
            Event::Cdr(_) => false,
        };
        if t > self.watermark {
            self.watermark = t;
        }
        let nas = match ev {
            Event::Session { nas, .. } | Event::NasReboot { nas, .. } => nas.as_str(),
            _ => "",
        };
        match self.marks.entry(clock_of(ev.source(), nas)) {
            std::collections::hash_map::Entry::Occupied(mut m) => {
                let m = &mut m.get_mut().0;
                *m = (*m).max(t);
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert((t, Box::new((ev.source().to_string(), nas.to_string()))));
            }
        }
        if changed {
            Applied::Changed
        } else {
            Applied::Duplicate
        }
    }

    fn mark_coverage(&mut self, t: UnixSecs, domain: Domain, source: &str) {
        let day = day_of(t);
        let minute = ((t - day * 86_400) / 60) as usize;
        // Looked up by reference first: one allocation per source, not per event.
        let days = match self
            .coverage
            .iter_mut()
            .find(|((d, s), _)| *d == domain && s == source)
        {
            Some((_, days)) => days,
            None => self
                .coverage
                .entry((domain, source.to_string()))
                .or_default(),
        };
        days.entry(day).or_insert([0u64; 23])[minute / 64] |= 1 << (minute % 64);
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_session(
        &mut self,
        op: SessionOp,
        t: UnixSecs,
        subscriber: &str,
        session: &str,
        target: Target,
        nas: &str,
        source: &str,
        class: Class,
    ) -> bool {
        if !target.v4 && !target.is_host() && self.prefix_lens.insert(target.plen) {
            self.new_prefix_lens.push(target.plen);
        }
        let w = self.params.reorder_window;
        let tol = self.params.rules.tolerance;
        let found = self
            .by_session
            .get(&session_key(nas, session))
            .and_then(|slots| {
                slots
                    .iter()
                    .copied()
                    .filter(|s| {
                        let r = &self.slab[s];
                        let f = &r.facts;
                        r.session == session
                            && f.nas == nas
                            && r.key.addr == target.addr
                            && r.key.plen_or_lo == u16::from(target.plen)
                            && f.subject == subscriber
                            && t >= f.start - w
                            && within_reach(f, t, &self.params)
                            && f.end_logged.is_none_or(|(e, _)| t <= e + tol)
                            && match op {
                                SessionOp::Start if f.start_logged => (t - f.start).abs() <= tol,
                                SessionOp::Start => t <= f.last_seen + tol,
                                // Nothing of a session comes before its logged start.
                                _ if f.start_logged => t >= f.start - tol,
                                _ => true,
                            }
                    })
                    .max_by_key(|s| merge_preference(self.slab[s].facts.start, t))
            });
        match found {
            Some(slot) => {
                let f = &mut self.slab.get_mut(&slot).expect("indexed slot").facts;
                let (old_start, old_logged) = (f.start, f.start_logged);
                let mut changed = false;
                match op {
                    SessionOp::Start => {
                        if !f.start_logged || t < f.start {
                            changed |= f.start != t.min(f.start) || !f.start_logged;
                            f.start = t.min(f.start);
                            f.start_logged = true;
                        }
                    }
                    SessionOp::Interim => {
                        if !f.start_logged && t < f.start {
                            f.start = t;
                            changed = true;
                        }
                    }
                    SessionOp::Stop => {
                        if f.end_logged.is_none_or(|(e, _)| t < e) {
                            f.end_logged = Some((t, EndKind::Stop));
                            changed = true;
                        }
                    }
                }
                if t > f.last_seen {
                    f.last_seen = t;
                    changed = true;
                }
                let moved = f.start != old_start || f.start_logged != old_logged;
                if changed {
                    self.touched(slot);
                }
                if moved {
                    self.link(slot);
                }
                changed
            }
            None => {
                let facts = Facts {
                    kind: Kind::Session,
                    class,
                    complete: false,
                    subject: subscriber.to_string(),
                    inside: None,
                    port_hi: 0,
                    source: source.to_string(),
                    nas: nas.to_string(),
                    start: t,
                    start_logged: op == SessionOp::Start,
                    last_seen: t,
                    end_logged: (op == SessionOp::Stop).then_some((t, EndKind::Stop)),
                    expires: None,
                    superseded: None,
                    reboot: None,
                    admin: false,
                };
                let key = BindingKey {
                    tag: TAG_BINDING,
                    addr: target.addr,
                    plen_or_lo: u16::from(target.plen),
                    start: t,
                    id: id_hash(&[nas.as_bytes(), session.as_bytes(), subscriber.as_bytes()]),
                };
                self.insert(key, facts, session.to_string());
                true
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_lease(
        &mut self,
        op: LeaseOp,
        t: UnixSecs,
        subscriber: &str,
        target: Target,
        expires: Option<UnixSecs>,
        admin: bool,
        source: &str,
        class: Class,
    ) -> bool {
        if !target.v4 && !target.is_host() && self.prefix_lens.insert(target.plen) {
            self.new_prefix_lens.push(target.plen);
        }
        let w = self.params.reorder_window;
        let tol = self.params.rules.tolerance;
        let tk = (TAG_BINDING, target.addr, u16::from(target.plen));
        let found = self.by_target.get(&tk).and_then(|slots| {
            slots
                .iter()
                .copied()
                .filter(|s| {
                    let f = &self.slab[s].facts;
                    let exp = f.expires.unwrap_or(f.last_seen);
                    f.kind == Kind::Lease
                        // A release naming no client (an administrator deleted the lease by
                        // address) ends whichever lease holds the address.
                        && (f.subject == subscriber || subscriber.is_empty())
                        && t >= f.start - w
                        && within_reach(f, t, &self.params)
                        && match op {
                            // A new assignment opens a new binding, unless it is this
                            // binding's own start (a duplicate) or an earlier start arriving
                            // late; only renewals extend. (Merging a re-assignment would let a
                            // release delivered after it, but logged before it, end both.)
                            LeaseOp::Assign => {
                                f.end_logged.is_none_or(|(e, _)| t < e) && same_start(f, t, tol)
                            }
                            LeaseOp::Renew => {
                                f.end_logged.is_none_or(|(e, _)| t < e) && t <= exp + tol
                            }
                            // An end never belongs to a lease that starts after it.
                            // ... and a lease that has run out cannot be released.
                            LeaseOp::Release | LeaseOp::Expire => {
                                t >= f.start - tol
                                    && t <= exp + tol
                                    && f.end_logged.is_none_or(|(e, _)| t <= e + tol)
                            }
                        }
                })
                .max_by_key(|s| merge_preference(self.slab[s].facts.start, t))
        });
        match found {
            Some(slot) => {
                let f = &mut self.slab.get_mut(&slot).expect("indexed slot").facts;
                let (old_start, old_logged) = (f.start, f.start_logged);
                let mut changed = false;
                if admin && !f.admin {
                    f.admin = true;
                    changed = true;
                }
                match op {
                    LeaseOp::Assign | LeaseOp::Renew => {
                        if t < f.start {
                            f.start = t;
                            f.start_logged = op == LeaseOp::Assign;
                            changed = true;
                        } else if op == LeaseOp::Assign && t == f.start && !f.start_logged {
                            f.start_logged = true;
                            changed = true;
                        }
                        if let Some(e) = expires {
                            if f.expires.is_none_or(|x| e > x) {
                                f.expires = Some(e);
                                changed = true;
                            }
                        }
                        if t > f.last_seen {
                            f.last_seen = t;
                            changed = true;
                        }
                    }
                    LeaseOp::Release | LeaseOp::Expire => {
                        let kind = if op == LeaseOp::Release {
                            EndKind::Release
                        } else {
                            EndKind::LeaseExpiry
                        };
                        if f.end_logged.is_none_or(|(e, _)| t < e) {
                            f.end_logged = Some((t, kind));
                            changed = true;
                        }
                    }
                }
                let moved = f.start != old_start || f.start_logged != old_logged;
                if changed {
                    self.touched(slot);
                }
                if moved {
                    self.link(slot);
                }
                changed
            }
            None if subscriber.is_empty() => false,
            None => {
                let ended = match op {
                    LeaseOp::Release => Some((t, EndKind::Release)),
                    LeaseOp::Expire => Some((t, EndKind::LeaseExpiry)),
                    _ => None,
                };
                let facts = Facts {
                    kind: Kind::Lease,
                    class,
                    complete: false,
                    subject: subscriber.to_string(),
                    inside: None,
                    port_hi: 0,
                    source: source.to_string(),
                    nas: String::new(),
                    start: t,
                    start_logged: op == LeaseOp::Assign,
                    last_seen: t,
                    end_logged: ended,
                    expires: if ended.is_some() { None } else { expires },
                    superseded: None,
                    reboot: None,
                    admin,
                };
                let key = BindingKey {
                    tag: TAG_BINDING,
                    addr: target.addr,
                    plen_or_lo: u16::from(target.plen),
                    start: t,
                    id: id_hash(&[b"lease", subscriber.as_bytes()]),
                };
                self.insert(key, facts, String::new());
                true
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_nat(
        &mut self,
        op: NatOp,
        t: UnixSecs,
        inside: IpAddr,
        public: IpAddr,
        (lo, hi): (u16, u16),
        source: &str,
        class: Class,
    ) -> bool {
        let w = self.params.reorder_window;
        let tol = self.params.rules.tolerance;
        let public16 = ip16(public);
        if hi - lo > self.nat_span.0 {
            self.nat_span = (hi - lo, true);
        }
        let tk = (TAG_NAT, public16, lo);
        let found = self.by_target.get(&tk).and_then(|slots| {
            slots
                .iter()
                .copied()
                .filter(|s| {
                    let f = &self.slab[s].facts;
                    f.inside == Some(inside)
                        && f.port_hi == hi
                        && t >= f.start - w
                        && within_reach(f, t, &self.params)
                        && match op {
                            // As for leases: a new allocation is a new binding unless it is
                            // this one's own start or an earlier start arriving late.
                            NatOp::Alloc => {
                                f.end_logged.is_none_or(|(e, _)| t < e) && same_start(f, t, tol)
                            }
                            NatOp::Release => {
                                t >= f.start - tol && f.end_logged.is_none_or(|(e, _)| t <= e + tol)
                            }
                        }
                })
                .max_by_key(|s| merge_preference(self.slab[s].facts.start, t))
        });
        match found {
            Some(slot) => {
                let f = &mut self.slab.get_mut(&slot).expect("indexed slot").facts;
                let (old_start, old_logged) = (f.start, f.start_logged);
                let mut changed = false;
                match op {
                    NatOp::Alloc => {
                        if t < f.start || !f.start_logged {
                            changed |= t < f.start || !f.start_logged;
                            f.start = t.min(f.start);
                            f.start_logged = true;
                        }
                    }
                    NatOp::Release => {
                        if f.end_logged.is_none_or(|(e, _)| t < e) {
                            f.end_logged = Some((t, EndKind::Release));
                            changed = true;
                        }
                    }
                }
                if t > f.last_seen {
                    f.last_seen = t;
                    changed = true;
                }
                let moved = f.start != old_start || f.start_logged != old_logged;
                if changed {
                    self.touched(slot);
                }
                if moved {
                    self.link(slot);
                }
                changed
            }
            None => {
                let facts = Facts {
                    kind: Kind::Nat,
                    class,
                    complete: false,
                    subject: String::new(),
                    inside: Some(inside),
                    port_hi: hi,
                    source: source.to_string(),
                    nas: String::new(),
                    start: t,
                    start_logged: op == NatOp::Alloc,
                    last_seen: t,
                    end_logged: (op == NatOp::Release).then_some((t, EndKind::Release)),
                    expires: None,
                    superseded: None,
                    reboot: None,
                    admin: false,
                };
                let key = BindingKey {
                    tag: TAG_NAT,
                    addr: public16,
                    plen_or_lo: lo,
                    start: t,
                    id: id_hash(&[&ip16(inside).octets(), &hi.to_be_bytes()]),
                };
                self.insert(key, facts, String::new());
                true
            }
        }
    }

    /// A lease database's free (or abandoned) state of `target` from `t` until `until`. One
    /// binding per (target, start, state): the database rewritten later repeats it with a
    /// later `until`, which extends it. Its start ends an earlier holder's binding whose end was
    /// not logged (the server took the address back), and a later holder's start ends it.
    fn apply_free(
        &mut self,
        t: UnixSecs,
        until: UnixSecs,
        target: Target,
        state: FreeState,
        source: &str,
        class: Class,
    ) -> bool {
        let tk = (TAG_BINDING, target.addr, u16::from(target.plen));
        let found = self.by_target.get(&tk).and_then(|slots| {
            slots.iter().copied().find(|s| {
                let f = &self.slab[s].facts;
                f.kind == Kind::Free && f.start == t && f.nas == state.as_str()
            })
        });
        match found {
            Some(slot) => {
                let f = &mut self.slab.get_mut(&slot).expect("indexed slot").facts;
                if until <= f.last_seen {
                    return false;
                }
                f.last_seen = until;
                self.touched(slot);
                true
            }
            None => {
                let facts = Facts {
                    kind: Kind::Free,
                    class,
                    complete: false,
                    subject: String::new(),
                    inside: None,
                    port_hi: 0,
                    source: source.to_string(),
                    nas: state.as_str().to_string(),
                    start: t,
                    start_logged: true,
                    last_seen: until.max(t),
                    end_logged: None,
                    expires: None,
                    superseded: None,
                    reboot: None,
                    admin: false,
                };
                let key = BindingKey {
                    tag: TAG_BINDING,
                    addr: target.addr,
                    plen_or_lo: u16::from(target.plen),
                    start: t,
                    id: id_hash(&[b"free", state.as_str().as_bytes()]),
                };
                self.insert(key, facts, String::new());
                true
            }
        }
    }

    fn apply_reboot(&mut self, t: UnixSecs, nas: &str) -> bool {
        let set = self.reboots.entry(nas.to_string()).or_default();
        if !set.insert(t) {
            return false;
        }
        self.new_reboots.push((nas.to_string(), t));
        let slots: Vec<Slot> = self
            .by_nas
            .get(nas)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        for slot in slots {
            let f = &mut self.slab.get_mut(&slot).expect("indexed slot").facts;
            if f.start < t && f.reboot.is_none_or(|r| t < r) && ends_no_earlier(f, t) {
                f.reboot = Some(t);
                self.touched(slot);
            }
        }
        true
    }

    /// Adds a new live binding and links it with what is known around it: a NAS reboot after
    /// its start ends it, an earlier binding of another holder is superseded by its start, and
    /// it is superseded by a later one.
    fn insert(&mut self, key: BindingKey, facts: Facts, session: String) -> Slot {
        let late = facts.start < self.mark(facts.clock()) - 2 * self.params.reorder_window;
        let slot = self.index(key, facts, session);
        if late {
            self.late.push(slot);
        }
        self.link(slot);
        self.touched(slot);
        slot
    }

    /// Links a binding with what is known around it, after it was added or its start moved:
    /// the first NAS reboot after its start, the earliest later start of another holder of the
    /// same address, and its own start as the end of earlier holders. Ends only ever move
    /// earlier (minimum), so linking again is harmless.
    fn link(&mut self, slot: Slot) {
        let Some(rec) = self.slab.get(&slot) else {
            return;
        };
        let tk = (rec.key.tag, rec.key.addr, rec.key.plen_or_lo);
        let facts = &rec.facts;
        let mut reboot = None;
        if facts.kind == Kind::Session {
            if let Some(rs) = self.reboots.get(&facts.nas) {
                if let Some(&r) = rs.range(facts.start + 1..).next() {
                    if facts.reboot.is_none_or(|x| r < x) && ends_no_earlier(facts, r) {
                        reboot = Some(r);
                    }
                }
            }
        }
        let mut superseded = None;
        let mut superseded_others = Vec::new();
        let id = rec.key.id;
        for &o in self.by_target.get(&tk).into_iter().flatten() {
            let other = &self.slab[&o];
            let of = &other.facts;
            if o == slot || !one_ends_the_other(of, other.key.id, facts, id) {
                continue;
            }
            // Only a logged start ends another holder's binding: a start first seen through an
            // interim or a stop is provisional and may still move earlier (its Start arriving
            // late), and a link made from it could not be taken back.
            if of.start > facts.start
                && of.start_logged
                && facts.superseded.is_none_or(|s| of.start < s)
                && superseded.is_none_or(|s| of.start < s)
                && ends_no_earlier(facts, of.start)
            {
                superseded = Some(of.start);
            } else if of.start < facts.start
                && facts.start_logged
                && of.superseded.is_none_or(|s| facts.start < s)
                && ends_no_earlier(of, facts.start)
            {
                superseded_others.push(o);
            }
        }
        let start = facts.start;
        let changed = reboot.is_some() || superseded.is_some();
        if let Some(r) = self.slab.get_mut(&slot) {
            if reboot.is_some() {
                r.facts.reboot = reboot;
            }
            if superseded.is_some() {
                r.facts.superseded = superseded;
            }
        }
        if changed {
            self.touched(slot);
        }
        for o in superseded_others {
            if let Some(r) = self.slab.get_mut(&o) {
                r.facts.superseded = Some(start);
            }
            self.touched(o);
        }
    }

    /// Puts a binding into the slab and the indexes, without linking or marking it changed
    /// (restored records are already linked).
    fn index(&mut self, key: BindingKey, facts: Facts, session: String) -> Slot {
        let slot = self.next_slot;
        self.next_slot += 1;
        if facts.kind == Kind::Nat {
            // Nothing marked yet (a restored block's marks are written again: puts of the
            // same keys).
            self.nat_marked.insert(slot, (i64::MAX, i64::MIN));
        }
        let tk = (key.tag, key.addr, key.plen_or_lo);
        if facts.kind == Kind::Session {
            self.by_session
                .entry(session_key(&facts.nas, &session))
                .or_default()
                .push(slot);
            self.by_nas
                .entry(facts.nas.clone())
                .or_default()
                .insert(slot);
        }
        self.by_target.entry(tk).or_default().push(slot);
        self.slab.insert(
            slot,
            LiveRec {
                key,
                facts,
                session,
                persisted: None,
                queued: None,
            },
        );
        slot
    }

    /// Records that a live binding changed: its key follows its start, it will be written at
    /// the next flush, and its eviction deadline is re-queued.
    fn touched(&mut self, slot: Slot) {
        if let Some(r) = self.slab.get_mut(&slot) {
            r.key.start = r.facts.start;
        }
        self.dirty.insert(slot);
        self.queue_eviction(slot);
    }

    /// When a binding becomes final: two reorder windows after its end. Any event that could
    /// still merge into it (see [`within_reach`]) has a time within one window of its end, and
    /// arrives at most one window late, so it arrives before this — whatever the batch timing.
    fn deadline(&self, f: &Facts) -> Option<UnixSecs> {
        Some(
            reach_end(f, &self.params).map_or(f.last_seen.saturating_add(MAX_OPEN), |e| {
                e.saturating_add(2 * self.params.reorder_window)
            }),
        )
    }

    /// Queues the binding's eviction deadline. The queue holds one entry per live binding, at
    /// or before its real deadline: a deadline that moves later (every interim update does)
    /// leaves the entry where it is, and [`Engine::flush`] re-queues the binding when the entry
    /// comes due, so a busy session costs one queue operation per deadline horizon, not one
    /// per event. A deadline that moves earlier (an end was logged) is re-queued at once.
    fn queue_eviction(&mut self, slot: Slot) {
        let Some(r) = self.slab.get(&slot) else {
            return;
        };
        let d = self.deadline(&r.facts);
        match (r.queued, d) {
            (q, d) if q == d => {}
            (Some(old), Some(new)) if new > old => {}
            (old, new) => self.requeue(slot, old, new),
        }
    }

    /// Moves the binding's queued eviction entry from `old` to `new`.
    fn requeue(&mut self, slot: Slot, old: Option<UnixSecs>, new: Option<UnixSecs>) {
        let Some(r) = self.slab.get_mut(&slot) else {
            return;
        };
        r.queued = new;
        let set = self.evict.entry(r.facts.clock()).or_default();
        if let Some(old) = old {
            set.remove(&(old, slot));
        }
        if let Some(new) = new {
            set.insert((new, slot));
        }
    }

    /// Merges into each binding created by late events since the last call the final copy
    /// stored under the same key, if there is one (`fetch` reads it). Such a binding is the
    /// same one the store already finalised: a file imported after newer ones, or the same
    /// records imported again under another name. Without this, its partial facts (a late
    /// allocation without the release stored days ago) would reopen it. Call before a flush.
    pub fn revive_late(&mut self, mut fetch: impl FnMut(&BindingKey) -> Option<Facts>) -> usize {
        let mut revived = 0;
        for slot in std::mem::take(&mut self.late) {
            let Some(key) = self.slab.get(&slot).map(|r| r.key) else {
                continue;
            };
            let Some(fin) = fetch(&key) else {
                continue;
            };
            if let Some(r) = self.slab.get_mut(&slot) {
                r.facts.merge_same(&fin);
                r.facts.complete = false;
            }
            self.link(slot);
            self.touched(slot);
            revived += 1;
        }
        revived
    }

    // ---- flushing -------------------------------------------------------------------------

    /// Writes everything changed since the last flush. Bindings whose end (plus the reorder
    /// window) is behind the watermark are finalised: complete copies go to each day partition
    /// they span — except days before `retention_floor`, which are expired — and their live
    /// records are deleted. Returns the number of bindings finalised.
    pub fn flush(&mut self, sink: &mut dyn Sink, retention_floor: UnixSecs) -> usize {
        let mut finalised = 0;
        for cdr in self.cdrs.drain(..) {
            if cdr.start < retention_floor {
                continue;
            }
            for (k, v) in super::cdr::entries(&cdr) {
                sink.put_copy(day_of(cdr.start), &k, &v);
            }
        }
        let mut buf = Vec::with_capacity(64);
        let mut key_buf = Vec::with_capacity(32);
        // Sharer records per (day, public address), written once per flush.
        let mut sharers: Sharers = BTreeMap::new();
        loop {
            let mut due = Vec::new();
            let marks: Vec<(Clock, UnixSecs)> =
                self.evict.keys().map(|&c| (c, self.mark(c))).collect();
            for (clock, mark) in marks {
                let Some(set) = self.evict.get_mut(&clock) else {
                    continue;
                };
                while let Some(&(d, slot)) = set.first() {
                    if d >= mark {
                        break;
                    }
                    set.pop_first();
                    due.push((d, slot));
                }
            }
            if due.is_empty() {
                break;
            }
            for (d, slot) in due {
                let Some(r) = self.slab.get(&slot) else {
                    continue; // merged away or already final
                };
                let real = self.deadline(&r.facts);
                if real != Some(d) {
                    // The deadline moved later since it was queued: queue it where it is now (it
                    // comes round again in this loop if that is still behind the watermark).
                    self.requeue(slot, None, real);
                    continue;
                }
                let Some(mut rec) = self.remove(slot) else {
                    continue;
                };
                rec.facts.complete = true;
                let end = rec
                    .facts
                    .span_end(&self.params.rules)
                    .unwrap_or(rec.facts.start);
                let first_day = day_of(rec.facts.start).max(day_of(retention_floor));
                let key = rec.key.encode();
                buf.clear();
                rec.facts.encode(&mut buf);
                let sharer = match (rec.facts.kind, rec.facts.inside) {
                    (Kind::Nat, Some(inside)) => Some(super::keys::sharer_record(
                        ip16(inside),
                        rec.facts.class.code(),
                    )),
                    _ => None,
                };
                for day in first_day..=day_of(end) {
                    sink.put_copy(day, &key, &buf);
                    if let Some(s) = sharer {
                        sharers.entry((day, rec.key.addr)).or_default().insert(s);
                    }
                }
                if let Some(p) = rec.persisted {
                    sink.delete_live(&p.encode());
                }
                finalised += 1;
            }
        }
        self.mark_live_sharers(&mut sharers, retention_floor);
        for ((day, public), records) in sharers {
            let v: Vec<u8> = records.into_iter().flatten().collect();
            sink.put_copy(day, &super::keys::sharer_key(public), &v);
        }
        for slot in std::mem::take(&mut self.dirty) {
            let Some(rec) = self.slab.get_mut(&slot) else {
                continue;
            };
            if let Some(p) = rec.persisted {
                if p != rec.key {
                    sink.delete_live(&p.encode());
                }
            }
            buf.clear();
            encode_live(&rec.facts, &rec.session, &mut buf);
            key_buf.clear();
            rec.key.encode_into(&mut key_buf);
            sink.put_live(&key_buf, &buf);
            rec.persisted = Some(rec.key);
        }
        for ((domain, source), days) in self.coverage.iter_mut() {
            for (day, bits) in days.drain() {
                let mut v = Vec::with_capacity(23 * 8);
                for w in bits.iter() {
                    v.extend_from_slice(&w.to_le_bytes());
                }
                sink.merge_coverage(&coverage_key(day, *domain, source), &v);
            }
        }
        for (nas, t) in self.new_reboots.drain(..) {
            sink.put_meta(&reboot_key(&nas, t), b"");
        }
        for plen in self.new_prefix_lens.drain(..) {
            sink.put_meta(&[META_PLEN, plen], b"");
        }
        if self.nat_span.1 {
            sink.put_meta(META_NAT_SPAN, &self.nat_span.0.to_be_bytes());
            self.nat_span.1 = false;
        }
        sink.put_meta(META_WATERMARK, &self.watermark.to_be_bytes());
        for (mark, names) in self.marks.values() {
            let mut k = Vec::with_capacity(2 + names.0.len() + names.1.len());
            k.push(META_CLOCK_MARK);
            k.extend_from_slice(names.0.as_bytes());
            k.push(0);
            k.extend_from_slice(names.1.as_bytes());
            sink.put_meta(&k, &mark.to_be_bytes());
        }
        // Reboots are kept while the slowest clock may still bring sessions they end.
        let slowest = self
            .marks
            .keys()
            .map(|&c| self.mark(c))
            .min()
            .unwrap_or(self.watermark);
        let reboot_floor =
            slowest.saturating_sub(self.params.rules.session_timeout + self.params.reorder_window);
        for set in self.reboots.values_mut() {
            while set.first().is_some_and(|&t| t < reboot_floor) && set.len() > 1 {
                set.pop_first();
            }
        }
        finalised
    }

    /// Writes the sharer marks of live port blocks: every day from the block's start to its
    /// producer's clock less two reorder windows (no later than its end), the days a block
    /// finalised later is written into anyway — so the marks never depend on when a batch
    /// was cut. Days before `retention_floor` are expired.
    fn mark_live_sharers(&mut self, sharers: &mut Sharers, retention_floor: UnixSecs) {
        let w2 = 2 * self.params.reorder_window;
        let floor = day_of(retention_floor);
        let slots: Vec<(Slot, (i64, i64))> =
            self.nat_marked.iter().map(|(s, r)| (*s, *r)).collect();
        for (slot, (done_from, done_to)) in slots {
            let Some(r) = self.slab.get(&slot) else {
                continue;
            };
            let f = &r.facts;
            let Some(inside) = f.inside else {
                continue;
            };
            let from = day_of(f.start);
            let mut to = day_of(self.mark(f.clock()).saturating_sub(w2)).max(from);
            if let Some(e) = f.span_end(&self.params.rules) {
                to = to.min(day_of(e));
            }
            if from >= done_from && to <= done_to {
                continue;
            }
            let record = super::keys::sharer_record(ip16(inside), f.class.code());
            for day in (from..=to).filter(|d| *d >= floor && !(done_from..=done_to).contains(d)) {
                sharers.entry((day, r.key.addr)).or_default().insert(record);
            }
            self.nat_marked
                .insert(slot, (from.min(done_from), to.max(done_to)));
        }
    }

    fn remove(&mut self, slot: Slot) -> Option<LiveRec> {
        let rec = self.slab.remove(&slot)?;
        self.dirty.remove(&slot);
        self.nat_marked.remove(&slot);
        let tk = (rec.key.tag, rec.key.addr, rec.key.plen_or_lo);
        if let Some(v) = self.by_target.get_mut(&tk) {
            v.retain(|s| *s != slot);
            if v.is_empty() {
                self.by_target.remove(&tk);
            }
        }
        if rec.facts.kind == Kind::Session {
            let sk = session_key(&rec.facts.nas, &rec.session);
            if let Some(v) = self.by_session.get_mut(&sk) {
                v.retain(|s| *s != slot);
                if v.is_empty() {
                    self.by_session.remove(&sk);
                }
            }
            if let Some(set) = self.by_nas.get_mut(&rec.facts.nas) {
                set.remove(&slot);
            }
        }
        Some(rec)
    }
}

/// Whether the later of two bindings of one address, by its start, ends the earlier one: a
/// different holder's always; for sessions and NAT blocks also another session or allocation
/// of the same holder (a NAS gives an address to one session at a time, a CGNAT a block to one
/// allocation), so a lost Stop's tail ends at the holder's own next session on the address.
/// Leases of one client merge by renewal and end by expiry instead. `a_id`, `b_id`: the
/// bindings' key ids (one per session or allocation).
pub(crate) fn one_ends_the_other(a: &Facts, a_id: u32, b: &Facts, b_id: u32) -> bool {
    (a.subject.as_str(), a.inside) != (b.subject.as_str(), b.inside)
        || (a.kind == b.kind && matches!(a.kind, Kind::Session | Kind::Nat) && a_id != b_id)
}

/// Whether a start-type event (assign, alloc) at `t` is the start of `f`: its logged start
/// again (a duplicate), or — when `f` was opened by a later renewal — its start arriving late.
fn same_start(f: &Facts, t: UnixSecs, tol: i64) -> bool {
    if f.start_logged {
        (t - f.start).abs() <= tol
    } else {
        t <= f.start + tol
    }
}

/// Among bindings an event could merge into, the one it belongs to: the latest that starts at
/// or before it, else the earliest after it (a start that is only within tolerance). So a late
/// end of one allocation never lands on the next allocation of the same thing.
fn merge_preference(start: UnixSecs, t: UnixSecs) -> (bool, UnixSecs) {
    if start <= t {
        (true, start)
    } else {
        (false, -start)
    }
}

fn session_key(nas: &str, session: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (nas, session).hash(&mut h);
    h.finish()
}

/// Whether an event at `t` may still merge into `f`: no later than one reorder window after the
/// end `f` has.
fn within_reach(f: &Facts, t: UnixSecs, p: &Params) -> bool {
    reach_end(f, p).is_none_or(|e| t <= e.saturating_add(p.reorder_window))
}

/// The latest time an event may still belong to `f`: its end, or for a session without a
/// logged end the last time seen plus the stop wait (its end for lookups is inferred earlier).
fn reach_end(f: &Facts, p: &Params) -> Option<UnixSecs> {
    let span = f.span_end(&p.rules);
    if f.kind == Kind::Session && f.end_logged.is_none() {
        let wait = f
            .last_seen
            .saturating_add(p.stop_wait.max(p.rules.session_timeout));
        return span.map(|e| e.max(wait));
    }
    span
}

/// Whether an inferred end at `t` (a reboot, a later holder) would end `f` no later than the end
/// it has anyway. Only such ends are recorded: recording others would change nothing a lookup
/// sees, but would make the stored facts depend on whether `f` was already final when the
/// event came (that is, on batch timing), and stores built from the same input must be equal.
fn ends_no_earlier(f: &Facts, t: UnixSecs) -> bool {
    f.own_span_end().is_none_or(|e| t <= e)
}

pub(crate) fn coverage_key(day: i64, domain: Domain, source: &str) -> Vec<u8> {
    let mut k = vec![match domain {
        Domain::Address => META_COVERAGE,
        Domain::Nat => META_NAT_COVERAGE,
    }];
    k.extend_from_slice(&(day as i32).to_be_bytes());
    k.extend_from_slice(source.as_bytes());
    k
}

pub(crate) fn reboot_key(nas: &str, t: UnixSecs) -> Vec<u8> {
    let mut k = vec![META_REBOOT];
    put_str(&mut k, nas);
    k.extend_from_slice(&t.to_be_bytes());
    k
}

pub(crate) fn decode_reboot_key(k: &[u8]) -> Option<(String, UnixSecs)> {
    let mut r = Reader { b: k.get(1..)? };
    let nas = r.string()?;
    let t = i64::from_be_bytes(r.take(8)?.try_into().ok()?);
    Some((nas, t))
}

fn encode_live(f: &Facts, session: &str, out: &mut Vec<u8>) {
    put_str(out, session);
    f.encode(out);
}

/// A live record: the binding's session id (empty unless a session) followed by its facts.
pub(crate) fn decode_live(start: UnixSecs, v: &[u8]) -> Option<(Facts, String)> {
    let mut r = Reader { b: v };
    let session = r.string()?;
    let facts = Facts::decode(start, r.b)?;
    Some((facts, session))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A sink that records what it was given.
    #[derive(Default, PartialEq, Eq, Debug)]
    pub struct VecSink {
        pub copies: std::collections::BTreeMap<(i64, Vec<u8>), Vec<u8>>,
        pub live: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
        pub meta: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    }

    impl Sink for VecSink {
        fn put_copy(&mut self, day: i64, key: &[u8], value: &[u8]) {
            self.copies.insert((day, key.to_vec()), value.to_vec());
        }
        fn put_live(&mut self, key: &[u8], value: &[u8]) {
            self.live.insert(key.to_vec(), value.to_vec());
        }
        fn delete_live(&mut self, key: &[u8]) {
            self.live.remove(key);
        }
        fn put_meta(&mut self, key: &[u8], value: &[u8]) {
            self.meta.insert(key.to_vec(), value.to_vec());
        }
        fn merge_coverage(&mut self, key: &[u8], bits: &[u8]) {
            let e = self
                .meta
                .entry(key.to_vec())
                .or_insert_with(|| vec![0; bits.len()]);
            for (a, b) in e.iter_mut().zip(bits) {
                *a |= b;
            }
        }
    }

    pub fn params() -> Params {
        Params {
            rules: Rules {
                session_timeout: 7200,
                tolerance: 2,
            },
            reorder_window: 600,
            stop_wait: 2 * 86_400,
        }
    }

    fn session(op: SessionOp, t: i64, sub: &str, sess: &str, addr: &str) -> Event {
        Event::Session {
            op,
            time: t,
            subscriber: sub.into(),
            session: sess.into(),
            target: Target::host(addr.parse().unwrap()),
            nas: "bng1".into(),
            source: "radius".into(),
            class: Class::Security,
        }
    }

    /// All bindings (live and final) as (key, facts) sorted, with `complete` cleared so live
    /// and final forms compare equal.
    fn state(e: &mut Engine, sink: &mut VecSink) -> Vec<(BindingKey, Facts)> {
        e.flush(sink, i64::MIN / 2);
        let mut out: Vec<(BindingKey, Facts)> = Vec::new();
        for (k, v) in &sink.live {
            let key = BindingKey::decode(k).unwrap();
            let (f, _) = decode_live(key.start, v).unwrap();
            out.push((key, f));
        }
        for ((_, k), v) in &sink.copies {
            let key = BindingKey::decode(k).unwrap();
            let mut f = Facts::decode(key.start, v).unwrap();
            f.complete = false;
            if !out.iter().any(|(k2, _)| *k2 == key) {
                out.push((key, f));
            }
        }
        out.sort_by_key(|a| a.0);
        out
    }

    #[test]
    fn start_interim_stop_make_one_binding_and_duplicates_change_nothing() {
        let mut e = Engine::new(params());
        let evs = [
            session(SessionOp::Start, 1000, "u1", "s1", "192.0.2.1"),
            session(SessionOp::Interim, 1300, "u1", "s1", "192.0.2.1"),
            session(SessionOp::Stop, 1500, "u1", "s1", "192.0.2.1"),
        ];
        for ev in &evs {
            assert_eq!(e.apply(ev), Applied::Changed);
        }
        for ev in &evs {
            assert_eq!(e.apply(ev), Applied::Duplicate);
        }
        let mut sink = VecSink::default();
        let st = state(&mut e, &mut sink);
        assert_eq!(st.len(), 1);
        let f = &st[0].1;
        assert_eq!(
            (f.start, f.last_seen, f.end_logged),
            (1000, 1500, Some((1500, EndKind::Stop)))
        );
    }

    #[test]
    fn reordered_input_gives_the_same_facts() {
        let evs = vec![
            session(SessionOp::Start, 1000, "u1", "s1", "192.0.2.1"),
            session(SessionOp::Interim, 1300, "u1", "s1", "192.0.2.1"),
            session(SessionOp::Stop, 1500, "u1", "s1", "192.0.2.1"),
            session(SessionOp::Start, 1600, "u2", "s2", "192.0.2.1"),
            session(SessionOp::Start, 1700, "u3", "s3", "192.0.2.2"),
        ];
        let mut a = Engine::new(params());
        for ev in &evs {
            a.apply(ev);
        }
        let mut b = Engine::new(params());
        for ev in evs.iter().rev() {
            b.apply(ev);
        }
        let (mut sa, mut sb) = (VecSink::default(), VecSink::default());
        assert_eq!(state(&mut a, &mut sa), state(&mut b, &mut sb));
    }

    #[test]
    fn lost_stop_is_superseded_by_the_next_holder() {
        let mut e = Engine::new(params());
        e.apply(&session(SessionOp::Start, 1000, "u1", "s1", "192.0.2.1"));
        e.apply(&session(SessionOp::Interim, 1300, "u1", "s1", "192.0.2.1"));
        e.apply(&session(SessionOp::Start, 2000, "u2", "s2", "192.0.2.1"));
        let mut sink = VecSink::default();
        let st = state(&mut e, &mut sink);
        assert_eq!(st[0].1.superseded, Some(2000));
        assert_eq!(st[1].1.superseded, None);
    }

    #[test]
    fn nas_reboot_closes_open_sessions_of_that_nas_even_when_it_arrives_first() {
        let mut e = Engine::new(params());
        e.apply(&Event::NasReboot {
            time: 5000,
            nas: "bng1".into(),
            source: "radius".into(),
            class: Class::Security,
        });
        e.apply(&session(SessionOp::Start, 1000, "u1", "s1", "192.0.2.1"));
        let mut sink = VecSink::default();
        assert_eq!(state(&mut e, &mut sink)[0].1.reboot, Some(5000));
    }

    #[test]
    fn final_bindings_are_copied_into_every_day_they_span() {
        let mut e = Engine::new(params());
        let day = 86_400;
        e.apply(&session(
            SessionOp::Start,
            day - 100,
            "u1",
            "s1",
            "192.0.2.1",
        ));
        e.apply(&session(
            SessionOp::Stop,
            2 * day + 100,
            "u1",
            "s1",
            "192.0.2.1",
        ));
        // Advance the watermark past the end plus the window.
        e.apply(&session(SessionOp::Start, 3 * day, "u9", "s9", "192.0.2.9"));
        let mut sink = VecSink::default();
        assert_eq!(e.flush(&mut sink, 0), 1);
        let days: Vec<i64> = sink.copies.keys().map(|c| c.0).collect();
        assert_eq!(days, vec![0, 1, 2]);
        assert_eq!(sink.live.len(), 1, "only the newest session is still live");
        // A retention floor skips expired days.
        let mut e = Engine::new(params());
        e.apply(&session(
            SessionOp::Start,
            day - 100,
            "u1",
            "s1",
            "192.0.2.1",
        ));
        e.apply(&session(
            SessionOp::Stop,
            2 * day + 100,
            "u1",
            "s1",
            "192.0.2.1",
        ));
        e.apply(&session(SessionOp::Start, 3 * day, "u9", "s9", "192.0.2.9"));
        let mut sink = VecSink::default();
        e.flush(&mut sink, day);
        let days: Vec<i64> = sink.copies.keys().map(|c| c.0).collect();
        assert_eq!(days, vec![1, 2]);
    }

    #[test]
    fn restore_from_live_records_resumes_the_same_state() {
        let mut e = Engine::new(params());
        e.apply(&session(SessionOp::Start, 1000, "u1", "s1", "192.0.2.1"));
        let mut sink = VecSink::default();
        e.flush(&mut sink, 0);
        let mut r = Engine::new(params());
        for (k, v) in &sink.live {
            assert!(r.restore_live(k, v));
        }
        r.restore_watermark(1000);
        // The stop merges into the restored binding rather than starting a new one.
        assert_eq!(
            r.apply(&session(SessionOp::Stop, 1500, "u1", "s1", "192.0.2.1")),
            Applied::Changed
        );
        r.flush(&mut sink, 0);
        assert_eq!(sink.live.len(), 1);
        let (k, v) = sink.live.iter().next().unwrap();
        let key = BindingKey::decode(k).unwrap();
        let (f, s) = decode_live(key.start, v).unwrap();
        assert_eq!(
            (f.end_logged, s.as_str()),
            (Some((1500, EndKind::Stop)), "s1")
        );
    }

    #[test]
    fn an_end_within_tolerance_of_two_starts_belongs_to_the_earlier_binding() {
        let lease = |op, t, exp: Option<i64>| Event::Lease {
            admin: false,
            op,
            time: t,
            subscriber: "c".into(),
            target: Target::host("192.0.2.7".parse().unwrap()),
            expires: exp,
            source: "dhcp".into(),
            class: Class::Security,
        };
        let mut e = Engine::new(params());
        e.apply(&lease(LeaseOp::Assign, 500, Some(4000)));
        e.apply(&lease(LeaseOp::Assign, 1001, Some(4600)));
        e.apply(&lease(LeaseOp::Release, 1000, None));
        let mut sink = VecSink::default();
        let st = state(&mut e, &mut sink);
        assert_eq!(st.len(), 2);
        assert_eq!(st[0].1.start, 500);
        assert_eq!(st[0].1.end_logged, Some((1000, EndKind::Release)));
        assert_eq!(st[1].1.start, 1001);
        assert_eq!(st[1].1.end_logged, None);
    }

    fn churn(seed: u64, n: usize) -> Vec<Event> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut evs = Vec::new();
        for i in 0..n {
            let start = rng.gen_range(0..50_000i64);
            let dur = rng.gen_range(1..9_000i64);
            let addr = format!("192.0.2.{}", rng.gen_range(0..4));
            let sub = format!("u{}", rng.gen_range(0..3));
            let sess = format!("s{i}");
            evs.push((start, session(SessionOp::Start, start, &sub, &sess, &addr)));
            if rng.gen_bool(0.5) {
                evs.push((
                    start + dur / 2,
                    session(SessionOp::Interim, start + dur / 2, &sub, &sess, &addr),
                ));
            }
            if rng.gen_bool(0.8) {
                evs.push((
                    start + dur,
                    session(SessionOp::Stop, start + dur, &sub, &sess, &addr),
                ));
            }
            if rng.gen_bool(0.05) {
                let t = start + rng.gen_range(0..dur);
                evs.push((
                    t,
                    Event::NasReboot {
                        time: t,
                        nas: "bng1".into(),
                        source: "radius".into(),
                        class: Class::Security,
                    },
                ));
            }
        }
        evs.sort_by_key(|e| e.0);
        evs.into_iter().map(|e| e.1).collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, .. Default::default() })]
        /// A crash-resumed import flushes at other points than a clean one; the stored result
        /// must not depend on where the flushes fall.
        #[test]
        fn flush_points_do_not_change_the_stored_result(seed in 0u64..1_000_000, every_a in 1usize..40, every_b in 1usize..40) {
            let evs = churn(seed, 40);
            let run = |every: usize| {
                let mut e = Engine::new(params());
                let mut sink = VecSink::default();
                for (i, ev) in evs.iter().enumerate() {
                    e.apply(ev);
                    if i % every == 0 {
                        e.flush(&mut sink, 0);
                    }
                }
                e.flush(&mut sink, 0);
                sink
            };
            proptest::prop_assert_eq!(run(every_a), run(every_b));
        }
    }

    fn on_nas(mut ev: Event, nas_name: &str) -> Event {
        if let Event::Session { nas, .. } = &mut ev {
            *nas = nas_name.into();
        }
        ev
    }

    #[test]
    fn one_nas_backlog_after_another_nas_newer_logs_still_merges() {
        // bng1's three days are imported first; then bng2's first day, one batch at a time.
        // bng2's session must stay one binding across the flushes, not be finalised by bng1's
        // clock and split at every later Interim.
        let day = 86_400;
        let mut e = Engine::new(params());
        let mut sink = VecSink::default();
        for h in 0..72 {
            e.apply(&session(
                SessionOp::Interim,
                h * 3600,
                "u1",
                "s1",
                "192.0.2.1",
            ));
        }
        e.flush(&mut sink, 0);
        for h in 0..10 {
            let op = if h == 0 {
                SessionOp::Start
            } else {
                SessionOp::Interim
            };
            e.apply(&on_nas(
                session(op, 1000 + h * 3600, "u2", "s2", "192.0.2.2"),
                "bng2",
            ));
            e.flush(&mut sink, 0);
        }
        e.apply(&on_nas(
            session(SessionOp::Stop, 1000 + 10 * 3600, "u2", "s2", "192.0.2.2"),
            "bng2",
        ));
        let all = state(&mut e, &mut sink);
        let of_u2: Vec<_> = all.iter().filter(|(_, f)| f.subject == "u2").collect();
        assert_eq!(of_u2.len(), 1, "{of_u2:?}");
        assert_eq!(of_u2[0].1.start, 1000);
        assert_eq!(of_u2[0].1.end_logged.map(|e| e.0), Some(1000 + 10 * 3600));
        assert!(e.watermark() >= 2 * day);
    }

    #[test]
    fn a_silent_clock_is_finalised_by_the_overall_one_after_the_lag() {
        let mut e = Engine::new(params());
        let mut sink = VecSink::default();
        // A closed session on a NAS that then falls silent (an open one is never finalised
        // before another holder's start: its end is unknown).
        e.apply(&on_nas(
            session(SessionOp::Start, 1000, "u2", "s2", "192.0.2.2"),
            "bng2",
        ));
        e.apply(&on_nas(
            session(SessionOp::Stop, 1100, "u2", "s2", "192.0.2.2"),
            "bng2",
        ));
        e.apply(&session(
            SessionOp::Interim,
            1000 + MAX_CLOCK_LAG,
            "u1",
            "s1",
            "192.0.2.1",
        ));
        e.flush(&mut sink, 0);
        assert_eq!(
            e.live_count(),
            2,
            "within the lag bng2's session stays live"
        );
        e.apply(&session(
            SessionOp::Interim,
            1000 + MAX_CLOCK_LAG + 3 * 86_400,
            "u1",
            "s1",
            "192.0.2.1",
        ));
        e.flush(&mut sink, 0);
        assert_eq!(
            e.live_count(),
            1,
            "bng2's session is finalised by the overall clock"
        );
    }

    #[test]
    fn clock_marks_survive_a_restart() {
        let mut e = Engine::new(params());
        let mut sink = VecSink::default();
        e.apply(&on_nas(
            session(SessionOp::Start, 5000, "u2", "s2", "192.0.2.2"),
            "bng2",
        ));
        e.apply(&session(SessionOp::Start, 90_000, "u1", "s1", "192.0.2.1"));
        e.flush(&mut sink, 0);
        let mut r = Engine::new(params());
        for (k, v) in &sink.meta {
            if k.first() == Some(&META_CLOCK_MARK) {
                let (src, nas) = std::str::from_utf8(&k[1..])
                    .unwrap()
                    .split_once('\0')
                    .unwrap();
                r.restore_clock_mark(
                    src.into(),
                    nas.into(),
                    i64::from_be_bytes(v[..].try_into().unwrap()),
                );
            }
        }
        r.restore_watermark(90_000);
        assert_eq!(r.mark(clock_of("radius", "bng2")), 5000);
        assert_eq!(r.mark(clock_of("radius", "bng1")), 90_000);
    }
}
