//! Attribution: `lookup(address, port?, at)` → who held it, with the evidence, or an explicit
//! reason why no name can be given (DESIGN.md "Attribution", invariant 4). A subscriber is named
//! only when exactly one holder's binding covers the time within the clock tolerance.

use std::net::IpAddr;

use serde::Serialize;

use std::collections::BTreeSet;

use super::binding::{EndKind, Evidence, Facts, Kind};
use super::keys::{binding_prefix, nat_port_range, nat_prefix, BindingKey};
use super::{StoreError, StoreRead};
use crate::config::Config;
use crate::model::{day_of, fmt_time, ip16, Class, Domain, Target, UnixSecs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// One subscriber, and the logs confirm the binding at that time.
    Found,
    /// One subscriber, but the binding reaches that time only by an inferred end (lost Stop,
    /// NAS reboot, next assignment): not proof on its own.
    EndInferred,
    /// More than one subscriber within the clock tolerance: no name may be given.
    Ambiguous,
    /// The logs show the address (and port) free at that time: a producer of its kind was
    /// logging around it and nothing held it, or a lease database said it was free.
    NotFound,
    /// No data from any producer of its kind around that time (ingest gap, or no data yet),
    /// or a lease database found an unknown device using it (`abandoned`): tdr cannot say.
    NoCoverage,
    /// The CGNAT log shows the port in a block of an inside address, but nothing in the store
    /// says who held that inside address then (its assignment log is not fed, or has a gap).
    /// The block is the evidence (`nat_blocks`); no name, and not "nobody".
    InsideUnknown,
    /// A shared CGNAT public address was asked without a port.
    PortRequired,
    /// The time is older than the retention period: the data no longer exists for this purpose.
    OutsideRetention,
    /// The address is outside the ISP's configured address space.
    NotOurAddress,
    /// Data exists, but only of retention classes this purpose may not read.
    NoDataForThisPurpose,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Found => "found",
            Status::EndInferred => "end_inferred",
            Status::Ambiguous => "ambiguous",
            Status::NotFound => "not_found",
            Status::NoCoverage => "no_coverage",
            Status::InsideUnknown => "inside_unknown",
            Status::PortRequired => "port_required",
            Status::OutsideRetention => "outside_retention",
            Status::NotOurAddress => "not_our_address",
            Status::NoDataForThisPurpose => "no_data_for_this_purpose",
        }
    }
}

/// The NAT port block a match was reached through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Via {
    pub public: String,
    pub ports: String,
    pub inside: String,
    pub start: String,
    pub end: Option<String>,
    pub end_kind: EndKind,
    pub source: String,
    /// The network sender of the block's log lines (a syslog peer); absent for files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    pub subscriber: String,
    /// The address or prefix the binding was for.
    pub target: String,
    pub start: String,
    pub start_logged: bool,
    pub end: Option<String>,
    pub end_kind: EndKind,
    pub confirmed_until: Option<String>,
    pub source: String,
    /// The network sender of the binding's log lines (a syslog peer), kept as evidence of
    /// their origin; absent for files and imports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    pub class: Class,
    /// `admin` when an administrator made (part of) the binding (Kea `lease_cmds`), not the
    /// client's own DHCP exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<&'static str>,
    /// True for a lease whose producer logs every end (RouterOS): with no end logged it is
    /// confirmed up to the newest data, the basis of a `found` after its last sighting.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ends_logged: bool,
    pub via: Option<Via>,
}

/// A lease database's statement about an address nobody held: evidence for `not_found`
/// (`free`, `expired`, `released`, `backup`) or for `no_coverage` (`abandoned`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FreeState {
    pub target: String,
    pub state: String,
    pub from: String,
    pub until: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub status: Status,
    pub matches: Vec<Match>,
    /// `port_required`: how many inside addresses shared the public address that UTC day.
    pub sharing: Option<u32>,
    /// Port blocks holding the port whose inside address has no known holder
    /// (`inside_unknown`, or among the candidates of `ambiguous`): the CGNAT log's evidence.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nat_blocks: Vec<Via>,
    /// Lease database states covering the time (`not_found`, `no_coverage`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub free_states: Vec<FreeState>,
}

impl Answer {
    fn bare(status: Status) -> Answer {
        Answer {
            status,
            matches: Vec::new(),
            sharing: None,
            nat_blocks: Vec::new(),
            free_states: Vec::new(),
        }
    }

    /// The answer as the API, the CLI and the audit digest show it, after `query`.
    pub fn to_json(&self, query: serde_json::Value) -> serde_json::Value {
        let mut out = serde_json::json!({"query": query, "status": self.status,
                                         "matches": self.matches, "sharing": self.sharing});
        if !self.nat_blocks.is_empty() {
            out["nat_blocks"] = serde_json::json!(self.nat_blocks);
        }
        if !self.free_states.is_empty() {
            out["free_states"] = serde_json::json!(self.free_states);
        }
        out
    }
}

/// What the caller is allowed to see: the retention classes its purpose may read, and for
/// every class the oldest time still inside its retention period. A record past its class's
/// retention is invisible to everyone, whatever the purpose.
#[derive(Debug, Clone)]
pub struct Scope {
    pub allowed: Vec<Class>,
    /// (class, oldest time still retained) for every class.
    pub cutoffs: Vec<(Class, UnixSecs)>,
    pub now: UnixSecs,
    /// Time ranges an active preservation order keeps readable past their retention.
    pub held: Vec<(UnixSecs, UnixSecs)>,
}

impl Scope {
    pub fn new(cfg: &Config, allowed: &[Class], now: UnixSecs) -> Scope {
        Scope {
            allowed: allowed.to_vec(),
            cutoffs: Class::ALL
                .iter()
                .map(|c| (*c, cfg.retention.of(*c).cutoff(now)))
                .collect(),
            now,
            held: Vec::new(),
        }
    }

    pub fn retained(&self, class: Class, at: UnixSecs) -> bool {
        self.cutoffs
            .iter()
            .any(|(c, cut)| *c == class && at >= *cut)
            || self.held.iter().any(|(f, t)| (*f..=*t).contains(&at))
    }

    /// Whether any class this scope may read is still retained at `at`.
    pub fn any_retained(&self, at: UnixSecs) -> bool {
        if self.held.iter().any(|(f, t)| (*f..=*t).contains(&at)) {
            return true;
        }
        self.allowed.iter().any(|c| self.retained(*c, at))
    }
}

struct Cand {
    key: BindingKey,
    facts: Facts,
    ev: Evidence,
}

/// What the store holds about one address at one time, for one scope.
#[derive(Default)]
struct Held {
    /// Holders' bindings this scope may read.
    allowed: Vec<Cand>,
    /// Holders' bindings of classes this scope may not read.
    forbidden: Vec<Cand>,
    /// Lease database states this scope may read.
    free: Vec<Cand>,
}

pub struct Attributor<'a> {
    /// Any store: RocksDB in the product, memory in tests.
    pub store: &'a dyn StoreRead,
    pub cfg: &'a Config,
}

impl Attributor<'_> {
    pub fn lookup(
        &self,
        addr: IpAddr,
        port: Option<u16>,
        at: UnixSecs,
        scope: &Scope,
    ) -> Result<Answer, StoreError> {
        if !self.cfg.is_our_address(addr) {
            return Ok(Answer::bare(Status::NotOurAddress));
        }
        if !scope.any_retained(at) {
            return Ok(Answer::bare(Status::OutsideRetention));
        }
        let tol = self.cfg.tolerance_secs;
        let horizon = self.store.watermark()?.unwrap_or(i64::MIN);

        // CGNAT: a public address that had port blocks that day needs the port.
        match port {
            None => {
                let (sharers, forbidden) = self.nat_sharers(addr, at, scope)?;
                if sharers > 0 || self.cfg.is_cgnat_public(addr) {
                    return Ok(Answer {
                        sharing: Some(sharers as u32),
                        ..Answer::bare(Status::PortRequired)
                    });
                }
                if forbidden {
                    return Ok(Answer::bare(Status::NoDataForThisPurpose));
                }
            }
            Some(p) => {
                let nat = self.nat_blocks(addr, p, at, horizon, scope)?;
                if !nat.allowed.is_empty() {
                    return self.via_nat(addr, at, scope, nat.allowed, horizon);
                }
                if !nat.forbidden.is_empty() {
                    return Ok(Answer::bare(Status::NoDataForThisPurpose));
                }
                // No block holds this port. On a CGNAT address that is "nobody" only when the
                // CGNAT log was being written then.
                let (sharers, forbidden) = self.nat_sharers(addr, at, scope)?;
                if sharers > 0 || self.cfg.is_cgnat_public(addr) {
                    return Ok(Answer::bare(self.empty_status(at, scope, Domain::Nat)?));
                }
                if forbidden {
                    return Ok(Answer::bare(Status::NoDataForThisPurpose));
                }
            }
        }

        let held = self.holders(addr, at, horizon, scope)?;
        if held.allowed.is_empty() {
            if !held.forbidden.is_empty() {
                return Ok(Answer::bare(Status::NoDataForThisPurpose));
            }
            return self.nobody(at, scope, held.free);
        }
        Ok(decide(&held.allowed, at, tol, None))
    }

    /// The answer when nothing held the address: `not_found` only when the logs show it free
    /// — a lease database's free state, or a producer of addresses logging around that time —
    /// else `no_coverage`. An `abandoned` state (an unknown device used the address) is never
    /// "nobody".
    fn nobody(&self, at: UnixSecs, scope: &Scope, free: Vec<Cand>) -> Result<Answer, StoreError> {
        let free_states: Vec<FreeState> = free
            .iter()
            .map(|c| FreeState {
                target: target_of(&c.key),
                state: c.facts.nas.clone(),
                from: fmt_time(c.ev.start),
                until: fmt_time(c.ev.end.unwrap_or(c.facts.last_seen)),
                source: c.facts.source.clone(),
            })
            .collect();
        let abandoned = free_states.iter().any(|f| f.state == "abandoned");
        let status = if abandoned {
            Status::NoCoverage
        } else if !free_states.is_empty() {
            Status::NotFound
        } else {
            self.empty_status(at, scope, Domain::Address)?
        };
        Ok(Answer {
            free_states,
            ..Answer::bare(status)
        })
    }

    /// `not_found` when a producer of `domain` logged something within the coverage gap of
    /// `at` (and `at` is not in the future), else `no_coverage`.
    fn empty_status(
        &self,
        at: UnixSecs,
        scope: &Scope,
        domain: Domain,
    ) -> Result<Status, StoreError> {
        let covered = at <= scope.now + self.cfg.tolerance_secs
            && self.store.covered(at, self.cfg.coverage_gap_secs, domain)?;
        Ok(if covered {
            Status::NotFound
        } else {
            Status::NoCoverage
        })
    }

    /// Every time inside `from..=to` at which a binding of `addr` (or, for a CGNAT address, a
    /// port block holding `port`, and the bindings of its inside addresses) starts or ends:
    /// the times at which the holder can change. A window is answered at each of them.
    pub fn boundaries(
        &self,
        addr: IpAddr,
        port: Option<u16>,
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<Vec<UnixSecs>, StoreError> {
        let tol = self.cfg.tolerance_secs;
        let horizon = self.store.watermark()?.unwrap_or(i64::MIN);
        let rules = self.store.rules();
        let mut out = Vec::new();
        let mut push = |ev: &Evidence| {
            for t in [Some(ev.start), ev.end, ev.confirmed_until]
                .into_iter()
                .flatten()
            {
                for t in [t - tol - 1, t, t + tol + 1] {
                    if (from..=to).contains(&t) {
                        out.push(t);
                    }
                }
            }
        };
        let mut addrs = vec![addr];
        let public16 = ip16(addr);
        let (lower, upper) = match port {
            Some(p) => nat_port_range(public16, p.saturating_sub(self.store.max_nat_span()?), p),
            None => {
                let pre = nat_prefix(public16).to_vec();
                let up = super::keys::prefix_upper_bound(&pre);
                (pre, up)
            }
        };
        for (_, facts) in self
            .store
            .candidates_in(&lower, &upper, from - tol, to + tol)?
        {
            if port.is_some_and(|p| p > facts.port_hi) {
                continue;
            }
            push(&facts.evidence(&rules, horizon));
            addrs.extend(facts.inside);
        }
        addrs.sort();
        addrs.dedup();
        for a in addrs {
            let host = Target::host(a);
            let mut targets = vec![host];
            if !host.v4 {
                for plen in self.store.prefix_lens()? {
                    targets.push(Target::v6_prefix_of(host.addr, plen));
                }
            }
            for t in targets {
                for (_, facts) in
                    self.store
                        .candidates(&binding_prefix(&t), from - tol, to + tol)?
                {
                    push(&facts.evidence(&rules, horizon));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Bindings of `addr` covering `at`: for IPv6 the longest delegated prefix that has any
    /// holder; lease database states of the address and of every prefix holding it.
    fn holders(
        &self,
        addr: IpAddr,
        at: UnixSecs,
        horizon: UnixSecs,
        scope: &Scope,
    ) -> Result<Held, StoreError> {
        let host = Target::host(addr);
        let mut targets = vec![host];
        if !host.v4 {
            for plen in self.store.prefix_lens()? {
                targets.push(Target::v6_prefix_of(host.addr, plen));
            }
        }
        let mut out = Held::default();
        for target in targets {
            let prefix = binding_prefix(&target);
            let upper = super::keys::prefix_upper_bound(&prefix);
            let held = self.covering_in(&prefix, &upper, at, horizon, scope)?;
            out.free.extend(held.free);
            if !held.allowed.is_empty() {
                out.allowed = held.allowed;
                out.forbidden.clear();
                return Ok(out);
            }
            if out.forbidden.is_empty() {
                out.forbidden = held.forbidden;
            }
        }
        Ok(out)
    }

    /// Bindings in a key range that cover `at` (± tolerance) and are still retained, split
    /// into those the scope may read, those of forbidden classes, and lease database states.
    fn covering_in(
        &self,
        lower: &[u8],
        upper: &[u8],
        at: UnixSecs,
        horizon: UnixSecs,
        scope: &Scope,
    ) -> Result<Held, StoreError> {
        let tol = self.cfg.tolerance_secs;
        let rules = self.store.rules();
        let mut out = Held::default();
        // Read back far enough to see every binding whose unlogged end could still reach `at`
        // and every later start that cuts it short. (A binding with no end at all is live
        // until another holder's start ends it, and the live family is always read.)
        let from = at - tol - rules.session_timeout;
        let mut cands = self.store.candidates_in(lower, upper, from, at + tol)?;
        // A binding with no logged end, last confirmed before that, reaches `at` unless
        // another holder started in between: every start since its last confirmation must be
        // seen to cut it. The engine links them when both are live together; one producer's
        // backlog imported after another's (different clocks) meets only here.
        let tail_from = cands
            .iter()
            .filter(|(_, f)| f.end_logged.is_none() && matches!(f.kind, Kind::Session | Kind::Nat))
            .map(|(_, f)| f.last_seen)
            .min();
        // (The read covers whole day partitions: only an earlier day adds anything.)
        if let Some(t) = tail_from.filter(|t| day_of(*t) < day_of(from)) {
            cands = self.store.candidates_in(lower, upper, t, at + tol)?;
        }
        supersede_by_successors(&mut cands);
        for (key, facts) in cands {
            let ev = facts.evidence(&rules, horizon);
            if !ev.covers(at, tol) {
                continue;
            }
            if !scope.retained(facts.class, at) {
                continue;
            }
            let readable = scope.allowed.contains(&facts.class);
            let c = Cand { key, facts, ev };
            match (c.facts.kind, readable) {
                (Kind::Free, true) => out.free.push(c),
                (Kind::Free, false) => {}
                (_, true) => out.allowed.push(c),
                (_, false) => out.forbidden.push(c),
            }
        }
        Ok(out)
    }

    /// The NAT blocks of `public` covering `at` that can hold `port`: only blocks whose first
    /// port is within the widest block size below it are read.
    fn nat_blocks(
        &self,
        public: IpAddr,
        port: u16,
        at: UnixSecs,
        horizon: UnixSecs,
        scope: &Scope,
    ) -> Result<Held, StoreError> {
        let span = self.store.max_nat_span()?;
        let (lower, upper) = nat_port_range(ip16(public), port.saturating_sub(span), port);
        let mut held = self.covering_in(&lower, &upper, at, horizon, scope)?;
        held.allowed
            .retain(|c| block_lo(c) <= port && port <= c.facts.port_hi);
        held.forbidden
            .retain(|c| block_lo(c) <= port && port <= c.facts.port_hi);
        Ok(held)
    }

    /// How many inside addresses shared `public` in the UTC day of `at` that this scope may
    /// read, and whether blocks of forbidden classes did too: the day's sharer set (one read;
    /// every day a block touches has it), or the live blocks when the day has none yet.
    fn nat_sharers(
        &self,
        public: IpAddr,
        at: UnixSecs,
        scope: &Scope,
    ) -> Result<(usize, bool), StoreError> {
        let day = day_of(at);
        let readable = |class: Class| -> Option<bool> {
            scope
                .retained(class, at)
                .then(|| scope.allowed.contains(&class))
        };
        let mut count = 0;
        let mut forbidden = false;
        let mut last: Option<std::net::Ipv6Addr> = None;
        // Records are sorted by inside address, then class: count each address once.
        let found =
            self.store.visit_nat_sharers(
                ip16(public),
                day,
                &mut |inside, class| match readable(class) {
                    Some(true) if last != Some(inside) => {
                        count += 1;
                        last = Some(inside);
                    }
                    Some(false) => forbidden = true,
                    _ => {}
                },
            )?;
        if found {
            return Ok((count, forbidden));
        }
        // Blocks still live are marked up to their producer's clock less two reorder windows:
        // right after midnight, or after a pause of the CGNAT log, a day may have none yet.
        // Then the live blocks themselves say whether the address is shared.
        let (day_from, day_to) = (day * 86_400, day * 86_400 + 86_399);
        let rules = self.store.rules();
        let mut allowed = BTreeSet::new();
        for (_, f) in self.store.live_nat_blocks(ip16(public))? {
            let ev = f.evidence(&rules, UnixSecs::MAX);
            if ev.start > day_to || ev.end.is_some_and(|e| e < day_from) {
                continue;
            }
            match (f.inside, readable(f.class)) {
                (Some(inside), Some(true)) => {
                    allowed.insert(inside);
                }
                (_, Some(false)) => forbidden = true,
                _ => {}
            }
        }
        Ok((allowed.len(), forbidden))
    }

    /// The second hop: who held the inside address of each block holding the port. A block
    /// whose inside address has no known holder is evidence, never "nobody".
    fn via_nat(
        &self,
        public: IpAddr,
        at: UnixSecs,
        scope: &Scope,
        blocks: Vec<Cand>,
        horizon: UnixSecs,
    ) -> Result<Answer, StoreError> {
        let tol = self.cfg.tolerance_secs;
        let mut insides: Vec<IpAddr> = blocks.iter().filter_map(|c| c.facts.inside).collect();
        insides.sort();
        insides.dedup();
        let mut matches = Vec::new();
        let mut statuses = Vec::new();
        let mut unknown = Vec::new();
        for b in &blocks {
            let Some(inside) = b.facts.inside else {
                continue;
            };
            let via = Via {
                public: public.to_string(),
                ports: format!("{}-{}", block_lo(b), b.facts.port_hi),
                inside: inside.to_string(),
                start: fmt_time(b.ev.start),
                end: b.ev.end.map(fmt_time),
                end_kind: b.ev.end_kind,
                source: b.facts.source.clone(),
                peer: b.facts.peer.map(|p| p.to_string()),
            };
            let held = self.holders(inside, at, horizon, scope)?;
            if held.allowed.is_empty() {
                statuses.push(if held.forbidden.is_empty() {
                    Status::InsideUnknown
                } else {
                    Status::NoDataForThisPurpose
                });
                unknown.push(via);
                continue;
            }
            let mut inner = decide(&held.allowed, at, tol, Some(via));
            if inner.status == Status::Found && !b.ev.confirms(at, tol) {
                inner.status = Status::EndInferred;
            }
            statuses.push(inner.status);
            matches.extend(inner.matches);
        }
        let mut subjects: Vec<&str> = matches.iter().map(|m| m.subscriber.as_str()).collect();
        subjects.sort_unstable();
        subjects.dedup();
        let status =
            if insides.len() > 1 || subjects.len() > 1 || statuses.contains(&Status::Ambiguous) {
                Status::Ambiguous
            } else if statuses.contains(&Status::Found) {
                Status::Found
            } else if statuses.contains(&Status::EndInferred) {
                Status::EndInferred
            } else if statuses.contains(&Status::InsideUnknown) {
                Status::InsideUnknown
            } else {
                Status::NoDataForThisPurpose
            };
        Ok(Answer {
            status,
            matches,
            sharing: None,
            nat_blocks: unknown,
            free_states: Vec::new(),
        })
    }
}

/// The first port of a NAT block (it is part of the key).
/// Ends each binding without a logged end at the next start of another holder of the same
/// target (or, for sessions and NAT blocks, the same holder's next session or allocation:
/// [`super::engine::one_ends_the_other`]), as the apply engine does when both are live together. Bindings finalised by
/// different producers' clocks (one NAS's backlog imported after another's newer logs) never
/// met in memory, so the read applies the same rule: an address is not held by two at once.
/// `cands` is sorted by key, so by target and then by start.
fn supersede_by_successors(cands: &mut [(BindingKey, Facts)]) {
    let target = |k: &BindingKey| (k.tag, k.addr, k.plen_or_lo);
    for i in 0..cands.len() {
        if cands[i].1.end_logged.is_some() {
            continue;
        }
        let (key, facts) = &cands[i];
        let next = cands[i + 1..]
            .iter()
            .take_while(|(k, _)| target(k) == target(key))
            .find(|(k, f)| {
                k.start > key.start && super::engine::one_ends_the_other(f, k.id, facts, key.id)
            })
            .map(|(k, _)| k.start);
        if let Some(n) = next {
            let f = &mut cands[i].1;
            f.superseded = Some(f.superseded.map_or(n, |s| s.min(n)));
        }
    }
}

fn block_lo(c: &Cand) -> u16 {
    c.key.plen_or_lo
}

/// The address or prefix an address binding's key is for.
fn target_of(key: &BindingKey) -> String {
    let v4 = key.addr.to_ipv4_mapped().is_some();
    let t = Target {
        addr: key.addr,
        plen: key.plen_or_lo as u8,
        v4,
    };
    t.to_string()
}

/// One holder → found (or end_inferred when no binding confirms the time); several → ambiguous.
fn decide(cands: &[Cand], at: UnixSecs, tol: i64, via: Option<Via>) -> Answer {
    if cands.is_empty() {
        return Answer::bare(Status::NotFound);
    }
    let mut subjects: Vec<&str> = cands.iter().map(|c| c.facts.subject.as_str()).collect();
    subjects.sort_unstable();
    subjects.dedup();
    let status = if subjects.len() > 1 {
        Status::Ambiguous
    } else if cands.iter().any(|c| c.ev.confirms(at, tol)) {
        Status::Found
    } else {
        Status::EndInferred
    };
    let mut matches: Vec<Match> = cands
        .iter()
        .map(|c| Match {
            subscriber: c.facts.subject.clone(),
            target: target_of(&c.key),
            start: fmt_time(c.ev.start),
            start_logged: c.facts.start_logged,
            end: c.ev.end.map(fmt_time),
            end_kind: c.ev.end_kind,
            confirmed_until: c.ev.confirmed_until.map(fmt_time),
            source: c.facts.source.clone(),
            peer: c.facts.peer.map(|p| p.to_string()),
            class: c.facts.class,
            origin: c.facts.admin.then_some("admin"),
            ends_logged: c.facts.ends_logged,
            via: via.clone(),
        })
        .collect();
    matches.sort_by(|a, b| a.start.cmp(&b.start).then(a.subscriber.cmp(&b.subscriber)));
    Answer {
        status,
        matches,
        ..Answer::bare(status)
    }
}
