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

mod flush;
mod lease;
use lease::LeaseMarks;
mod live;
mod nat;
mod session;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::BTreeSet;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::net::Ipv6Addr;

use super::binding::{put_str, Facts, Kind, Reader, Rules};
use super::keys::{BindingKey, TAG_BINDING};
use super::subject::{Erasures, Hash16, SubjectKey};
use crate::config::Config;
use crate::model::{day_of, Class, Domain, Event, Target, UnixSecs};

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

impl Params {
    /// The settings of `cfg`.
    pub fn from_config(cfg: &Config) -> Params {
        Params {
            rules: Rules {
                session_timeout: cfg.session_timeout_secs,
                tolerance: cfg.tolerance_secs,
            },
            reorder_window: cfg.reorder_window_secs,
            stop_wait: cfg.stop_wait_secs,
        }
    }
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
    /// The subscriber hash of the index entry stored beside `persisted` in the `live`
    /// family, if one is.
    indexed: Option<Hash16>,
}

/// The subscriber index's key and the erasures in force: set on an engine that writes a store
/// (without them it writes no index entries and filters nothing).
#[derive(Debug, Clone)]
pub struct Subjects {
    pub key: SubjectKey,
    pub erasures: Erasures,
}

impl Subjects {
    /// The index hash of an address binding's subscriber (`None`: no subscriber, or not an
    /// address binding).
    pub fn hash_of(&self, key: &BindingKey, f: &Facts) -> Option<Hash16> {
        (key.tag == TAG_BINDING && !f.subject.is_empty()).then(|| self.key.hash(&f.subject))
    }
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
    /// NAS reboots by NAS and the source that reported them: a reboot ends only the sessions
    /// of its own source (a reboot kept by an older tdr, with no source, is under "": any).
    reboots: HashMap<String, HashMap<String, BTreeSet<UnixSecs>>>,
    new_reboots: Vec<(String, String, UnixSecs)>,
    /// The network sender of the event being applied ([`Engine::apply_from`]).
    peer: Option<std::net::IpAddr>,
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
    subjects: Option<Subjects>,
}

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
            peer: None,
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
            subjects: None,
        }
    }

    /// Makes the engine write the subscriber index and hold back erased records.
    pub fn set_subjects(&mut self, s: Subjects) {
        self.subjects = Some(s);
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

    /// Re-adds a stored reboot of `nas` reported by `source` ("" for one stored without).
    pub fn restore_reboot(&mut self, nas: String, source: String, t: UnixSecs) {
        self.reboots
            .entry(nas)
            .or_default()
            .entry(source)
            .or_default()
            .insert(t);
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
        let indexed = self.subjects.as_ref().and_then(|s| {
            let r = self.slab.get(&slot)?;
            s.hash_of(&k, &r.facts)
        });
        if let Some(r) = self.slab.get_mut(&slot) {
            r.persisted = Some(k);
            r.indexed = indexed;
        }
        self.queue_eviction(slot);
        true
    }

    // ---- applying events ----------------------------------------------------------------------

    /// Applies an event sent over the network by `peer`: the bindings it makes or adds to
    /// keep the sender as evidence ([`Facts::peer`]).
    pub fn apply_from(&mut self, ev: &Event, peer: Option<std::net::IpAddr>) -> Applied {
        self.peer = peer;
        let r = self.apply(ev);
        self.peer = None;
        r
    }

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
                ends_logged,
                op,
                time,
                subscriber,
                target,
                expires,
                source,
                class,
            } => self.apply_lease(
                *op,
                *time,
                subscriber,
                *target,
                *expires,
                LeaseMarks {
                    admin: *admin,
                    ends_logged: *ends_logged,
                },
                source,
                *class,
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
            Event::NasReboot {
                time, nas, source, ..
            } => self.apply_reboot(*time, nas, source),
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

    /// Notes the prefix length of an IPv6 prefix binding (lookups try each length seen).
    fn note_prefix_len(&mut self, target: Target) {
        if !target.v4 && !target.is_host() && self.prefix_lens.insert(target.plen) {
            self.new_prefix_lens.push(target.plen);
        }
    }

    /// The live bindings of address (or prefix) `target`.
    fn address_slots(&self, target: Target) -> Option<&Vec<Slot>> {
        self.by_target
            .get(&(TAG_BINDING, target.addr, u16::from(target.plen)))
    }

    /// Among the live bindings `slots`, the one an event at `t` merges into: of those `fits`
    /// accepts, the one [`merge_preference`] prefers.
    fn merge_target(
        &self,
        slots: Option<&Vec<Slot>>,
        t: UnixSecs,
        fits: impl Fn(&LiveRec) -> bool,
    ) -> Option<Slot> {
        slots?
            .iter()
            .copied()
            .filter(|s| fits(&self.slab[s]))
            .max_by_key(|s| merge_preference(self.slab[s].facts.start, t))
    }

    /// Merges an event into the live binding `slot`: `update` changes its facts and says
    /// whether anything changed. A changed binding is written at the next flush; one whose
    /// start moved is linked again with its neighbours.
    fn merge_into(&mut self, slot: Slot, update: impl FnOnce(&mut Facts) -> bool) -> bool {
        let peer = self.peer;
        let f = &mut self.slab.get_mut(&slot).expect("indexed slot").facts;
        let (old_start, old_logged) = (f.start, f.start_logged);
        let changed = update(f) | f.add_peer(peer);
        let moved = f.start != old_start || f.start_logged != old_logged;
        if changed {
            self.touched(slot);
        }
        if moved {
            self.link(slot);
        }
        changed
    }
}

/// A new binding's facts, first seen at `t`; the caller sets what else the event says.
fn first_seen(kind: Kind, class: Class, source: &str, t: UnixSecs) -> Facts {
    Facts {
        kind,
        class,
        complete: false,
        subject: String::new(),
        inside: None,
        port_hi: 0,
        source: source.to_string(),
        nas: String::new(),
        start: t,
        start_logged: false,
        last_seen: t,
        end_logged: None,
        expires: None,
        superseded: None,
        reboot: None,
        admin: false,
        ends_logged: false,
        peer: None,
    }
}

/// The key of an address binding of `target` starting at `t`.
fn address_key(target: Target, t: UnixSecs, id: u32) -> BindingKey {
    BindingKey {
        tag: TAG_BINDING,
        addr: target.addr,
        plen_or_lo: u16::from(target.plen),
        start: t,
        id,
    }
}

/// Moves `f`'s last sighting to `t` if that is later; whether it did.
fn seen(f: &mut Facts, t: UnixSecs) -> bool {
    let later = t > f.last_seen;
    if later {
        f.last_seen = t;
    }
    later
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
