//! Attribution: `lookup(address, port?, at)` → who held it, with the evidence, or an explicit
//! reason why no name can be given (DESIGN.md "Attribution", invariant 4). A subscriber is named
//! only when exactly one holder's binding covers the time within the clock tolerance.

use std::net::IpAddr;

use serde::Serialize;

use super::binding::{EndKind, Evidence, Facts};
use super::keys::{binding_prefix, nat_port_range, nat_prefix, BindingKey};
use super::{Store, StoreError};
use crate::config::Config;
use crate::model::{fmt_time, ip16, Class, Target, UnixSecs};

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
    /// The address was not held by anyone at that time while data was flowing.
    NotFound,
    /// No data from any source around that time (ingest gap, or no data yet).
    NoCoverage,
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
    pub class: Class,
    pub via: Option<Via>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub status: Status,
    pub matches: Vec<Match>,
    /// `port_required`: how many inside addresses share the public address at that time.
    pub sharing: Option<u32>,
}

impl Answer {
    fn bare(status: Status) -> Answer {
        Answer {
            status,
            matches: Vec::new(),
            sharing: None,
        }
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

pub struct Attributor<'a> {
    pub store: &'a Store,
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

        // CGNAT: a public address with port blocks around that time needs the port.
        let nat = self.nat_blocks(addr, port, at, horizon, scope)?;
        if !nat.allowed.is_empty() || self.cfg.is_cgnat_public(addr) {
            return self.via_nat(addr, port, at, scope, nat, horizon);
        }
        if !nat.forbidden.is_empty() {
            return Ok(Answer::bare(Status::NoDataForThisPurpose));
        }
        if port.is_some() {
            // No block holds this port. If the address had a readable port block at that time
            // at all, it is a CGNAT address and the answer is a plain "nobody".
            match self.any_nat_block(addr, at, horizon, scope)? {
                Some(true) => return Ok(Answer::bare(Status::NotFound)),
                Some(false) => return Ok(Answer::bare(Status::NoDataForThisPurpose)),
                None => {}
            }
        }

        let (allowed, forbidden) = self.holders(addr, at, horizon, scope)?;
        if allowed.is_empty() {
            return Ok(Answer::bare(if !forbidden.is_empty() {
                Status::NoDataForThisPurpose
            } else if at > scope.now + tol || !self.store.covered(at, self.cfg.coverage_gap_secs)? {
                Status::NoCoverage
            } else {
                Status::NotFound
            }));
        }
        Ok(decide(&allowed, at, tol, None))
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

    /// Bindings of `addr` covering `at`: for IPv6 the longest delegated prefix that has any.
    /// Returns (allowed for this scope, of forbidden classes only).
    fn holders(
        &self,
        addr: IpAddr,
        at: UnixSecs,
        horizon: UnixSecs,
        scope: &Scope,
    ) -> Result<(Vec<Cand>, Vec<Cand>), StoreError> {
        let host = Target::host(addr);
        let mut targets = vec![host];
        if !host.v4 {
            for plen in self.store.prefix_lens()? {
                targets.push(Target::v6_prefix_of(host.addr, plen));
            }
        }
        let mut forbidden_any = Vec::new();
        for target in targets {
            let (allowed, forbidden) =
                self.covering(&binding_prefix(&target), at, horizon, scope)?;
            if !allowed.is_empty() {
                return Ok((allowed, Vec::new()));
            }
            if forbidden_any.is_empty() {
                forbidden_any = forbidden;
            }
        }
        Ok((Vec::new(), forbidden_any))
    }

    fn covering(
        &self,
        prefix: &[u8],
        at: UnixSecs,
        horizon: UnixSecs,
        scope: &Scope,
    ) -> Result<(Vec<Cand>, Vec<Cand>), StoreError> {
        let upper = super::keys::prefix_upper_bound(prefix);
        self.covering_in(prefix, &upper, at, horizon, scope)
    }

    /// Bindings in a key range that cover `at` (± tolerance) and are still retained, split
    /// into those the scope may read and those of forbidden classes.
    fn covering_in(
        &self,
        lower: &[u8],
        upper: &[u8],
        at: UnixSecs,
        horizon: UnixSecs,
        scope: &Scope,
    ) -> Result<(Vec<Cand>, Vec<Cand>), StoreError> {
        let tol = self.cfg.tolerance_secs;
        let rules = self.store.rules();
        let mut allowed = Vec::new();
        let mut forbidden = Vec::new();
        // Read back far enough to see every binding whose unlogged end could still reach `at`
        // and every later start that cuts it short.
        let from = at - tol - rules.session_timeout;
        let mut cands = self.store.candidates_in(lower, upper, from, at + tol)?;
        supersede_by_successors(&mut cands);
        for (key, facts) in cands {
            let ev = facts.evidence(&rules, horizon);
            if !ev.covers(at, tol) {
                continue;
            }
            if !scope.retained(facts.class, at) {
                continue;
            }
            let c = Cand { key, facts, ev };
            if scope.allowed.contains(&c.facts.class) {
                allowed.push(c);
            } else {
                forbidden.push(c);
            }
        }
        Ok((allowed, forbidden))
    }

    /// The NAT blocks of `public` covering `at`. With a port, only blocks that can hold it are
    /// read: those whose first port is within the widest block size below it.
    fn nat_blocks(
        &self,
        public: IpAddr,
        port: Option<u16>,
        at: UnixSecs,
        horizon: UnixSecs,
        scope: &Scope,
    ) -> Result<NatBlocks, StoreError> {
        let public16 = ip16(public);
        let (allowed, forbidden) = match port {
            None => self.covering(&nat_prefix(public16), at, horizon, scope)?,
            Some(p) => {
                let span = self.store.max_nat_span()?;
                let (lower, upper) = nat_port_range(public16, p.saturating_sub(span), p);
                self.covering_in(&lower, &upper, at, horizon, scope)?
            }
        };
        Ok(NatBlocks { allowed, forbidden })
    }

    /// Whether `public` had any port block covering `at`: `Some(true)` for one this scope may
    /// read (stops at the first), `Some(false)` for forbidden classes only, `None` for none.
    fn any_nat_block(
        &self,
        public: IpAddr,
        at: UnixSecs,
        horizon: UnixSecs,
        scope: &Scope,
    ) -> Result<Option<bool>, StoreError> {
        let tol = self.cfg.tolerance_secs;
        let rules = self.store.rules();
        let prefix = nat_prefix(ip16(public));
        let upper = super::keys::prefix_upper_bound(&prefix);
        let mut found = None;
        self.store
            .visit_candidates(&prefix, &upper, at - tol, at + tol, |_, facts| {
                if !facts.evidence(&rules, horizon).covers(at, tol)
                    || !scope.retained(facts.class, at)
                {
                    return true;
                }
                if scope.allowed.contains(&facts.class) {
                    found = Some(true);
                    return false;
                }
                found = Some(false);
                true
            })?;
        Ok(found)
    }

    fn via_nat(
        &self,
        public: IpAddr,
        port: Option<u16>,
        at: UnixSecs,
        scope: &Scope,
        nat: NatBlocks,
        horizon: UnixSecs,
    ) -> Result<Answer, StoreError> {
        let tol = self.cfg.tolerance_secs;
        let Some(port) = port else {
            let mut inside: Vec<IpAddr> =
                nat.allowed.iter().filter_map(|c| c.facts.inside).collect();
            inside.sort();
            inside.dedup();
            return Ok(Answer {
                status: Status::PortRequired,
                matches: Vec::new(),
                sharing: Some(inside.len() as u32),
            });
        };
        let blocks: Vec<&Cand> = nat
            .allowed
            .iter()
            .filter(|c| block_lo(c) <= port && port <= c.facts.port_hi)
            .collect();
        if blocks.is_empty() {
            // Without any block holding the port it depends on whether data was flowing.
            let covered =
                at <= scope.now + tol && self.store.covered(at, self.cfg.coverage_gap_secs)?;
            return Ok(Answer::bare(if covered {
                Status::NotFound
            } else {
                Status::NoCoverage
            }));
        }
        let mut insides: Vec<IpAddr> = blocks.iter().filter_map(|c| c.facts.inside).collect();
        insides.sort();
        insides.dedup();
        let mut matches = Vec::new();
        let mut statuses = Vec::new();
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
            };
            let (held, _) = self.holders(inside, at, horizon, scope)?;
            let mut inner = decide(&held, at, tol, Some(via));
            if inner.status == Status::Found && !b.ev.confirms(at, tol) {
                inner.status = Status::EndInferred;
            }
            statuses.push(inner.status);
            matches.extend(inner.matches);
        }
        let mut subjects: Vec<&str> = matches.iter().map(|m| m.subscriber.as_str()).collect();
        subjects.sort_unstable();
        subjects.dedup();
        let status = if insides.len() > 1 || subjects.len() > 1 {
            Status::Ambiguous
        } else if statuses.contains(&Status::Found) {
            Status::Found
        } else if statuses.contains(&Status::EndInferred) {
            Status::EndInferred
        } else {
            // The block is known but its inside address has no holder.
            Status::NotFound
        };
        Ok(Answer {
            status,
            matches,
            sharing: None,
        })
    }
}

struct NatBlocks {
    allowed: Vec<Cand>,
    forbidden: Vec<Cand>,
}

/// The first port of a NAT block (it is part of the key).
/// Ends each binding without a logged end at the next start of another holder of the same
/// target, as the apply engine does when both are live together. Bindings finalised by
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
                k.start > key.start && (&f.subject, f.inside) != (&facts.subject, facts.inside)
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
            class: c.facts.class,
            via: via.clone(),
        })
        .collect();
    matches.sort_by(|a, b| a.start.cmp(&b.start).then(a.subscriber.cmp(&b.subscriber)));
    Answer {
        status,
        matches,
        sharing: None,
    }
}
