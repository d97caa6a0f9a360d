//! `tdr-gen queries`: reads truth.jsonl and writes lookup queries (exactly the lines
//! `tdr lookup --batch` reads) plus, line for line, the truth around each query time for the
//! checker. The mix covers times well inside bindings, near boundaries, in gaps and in
//! unlogged-end tails (from the last logged event of a binding whose end is not logged up to
//! the next logged event of the address), IPv6 addresses inside delegated prefixes, sessions
//! logged without interims and those whose Stop arrived days late, CGNAT public addresses with
//! and without port (also in blocks whose inside address's assignment is logged nowhere),
//! unassigned addresses and times outside retention.

use crate::error::{GenError, Result};
use crate::expect::{Expect, ExpectBinding, ExpectNat, Query, QueryClass, MAX_TOLERANCE};
use crate::timefmt::{self, DAY};
use crate::truth::{EndCause, TruthKind, TruthRecord};
use clap::Args;
use ipnet::Ipv6Net;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// Options of `tdr-gen queries`.
#[derive(Args, Debug, Clone)]
pub struct QueryArgs {
    /// truth.jsonl written by `generate`.
    #[arg(long)]
    pub truth: PathBuf,
    /// Number of queries.
    #[arg(long, default_value_t = 100_000)]
    pub n: u64,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Query file (one {"addr","port","at"} a line); default stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Expectation file for `check` (one line per query, same order).
    #[arg(long)]
    pub expect: PathBuf,
    /// Outside-retention queries are at least this many days before the first binding.
    #[arg(long, default_value_t = 200)]
    pub retention_days: i64,
}

/// A truth binding with parsed times.
#[derive(Clone, Debug)]
pub struct Binding {
    pub kind: TruthKind,
    pub target: String,
    pub subscriber: Option<String>,
    pub ports: Option<(u16, u16)>,
    pub inside: Option<String>,
    pub start: i64,
    pub end: i64,
    pub confirmed_until: i64,
    pub end_cause: EndCause,
    /// Start of the next binding of the same target (sessions and leases only).
    pub next_start: Option<i64>,
    /// Sessions: the NAS.
    pub nas: Option<String>,
    /// Sessions whose end is not logged (lost Stop, Stop after the run): the first reboot of
    /// their NAS after their real end.
    pub reboot_after: Option<i64>,
    /// Sessions logged without interims; when a late Stop arrived.
    pub no_interim: bool,
    pub stop_received: Option<i64>,
    /// No log shows the binding (sessions) or the holder of its inside address (nat).
    pub unlogged: bool,
    pub inside_unlogged: bool,
}

fn parse_ports(s: &str) -> Option<(u16, u16)> {
    let (lo, hi) = s.split_once('-')?;
    Some((lo.parse().ok()?, hi.parse().ok()?))
}

impl Binding {
    fn from_record(r: TruthRecord) -> std::result::Result<Self, String> {
        let time = |s: &str| timefmt::parse_rfc3339(s).ok_or_else(|| format!("bad time {s:?}"));
        let ports = match &r.ports {
            Some(p) => Some(parse_ports(p).ok_or_else(|| format!("bad ports {p:?}"))?),
            None => None,
        };
        if r.kind == TruthKind::Nat && (ports.is_none() || r.inside.is_none()) {
            return Err("nat binding without ports or inside".to_string());
        }
        if r.kind != TruthKind::Nat && r.subscriber.is_none() {
            return Err("binding without subscriber".to_string());
        }
        Ok(Binding {
            kind: r.kind,
            start: time(&r.start)?,
            end: time(&r.end)?,
            confirmed_until: time(&r.confirmed_until)?,
            target: r.target,
            subscriber: r.subscriber,
            ports,
            inside: r.inside,
            end_cause: r.end_cause,
            next_start: None,
            nas: r.nas,
            reboot_after: None,
            no_interim: r.no_interim,
            stop_received: match &r.stop_received {
                Some(t) => Some(time(t)?),
                None => None,
            },
            unlogged: r.unlogged,
            inside_unlogged: r.inside_unlogged,
        })
    }

    fn is_v6(&self) -> bool {
        self.target.contains(':')
    }

    /// Whether the logs lack the end: after the last logged event, tdr can only infer it.
    pub fn end_unlogged(&self) -> bool {
        matches!(
            self.end_cause,
            EndCause::LostStop | EndCause::StopPending | EndCause::StillOpen
        )
    }

    /// Until when the logs cannot show that the binding ended: for an end they lack, the
    /// next logged event of the address (the next start, the next reboot of the NAS), `None`
    /// if there is none; otherwise the real end.
    pub fn tail_limit(&self) -> Option<i64> {
        if !self.end_unlogged() {
            return Some(self.end);
        }
        match (self.next_start, self.reboot_after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

fn is_cgnat_inside(addr: &str) -> bool {
    addr.parse::<Ipv4Addr>()
        .is_ok_and(|a| u32::from(a) & 0xFFC0_0000 == 0x6440_0000)
}

/// The truth, indexed for queries.
pub struct TruthIndex {
    pub bindings: Vec<Binding>,
    /// Session and lease bindings by target, sorted by start.
    by_target: BTreeMap<String, Vec<usize>>,
    /// Nat bindings by (public, first port), with the last port, sorted by start.
    by_block: BTreeMap<(String, u16), (u16, Vec<usize>)>,
    /// Public-facing IPv4 sessions and leases (not CGNAT inside addresses).
    v4: Vec<usize>,
    v6: Vec<usize>,
    nat: Vec<usize>,
    /// Bindings with an unlogged end tail (lost stop, Stop after the run, NAS reboot),
    /// public-facing.
    tails: Vec<usize>,
    /// Public-facing bindings whose target passes to the next binding within 5 s.
    handovers: Vec<usize>,
    /// Public-facing sessions logged without interims; those whose Stop arrived late.
    no_interim: Vec<usize>,
    late_stops: Vec<usize>,
    /// Nat blocks whose inside address's assignment is logged nowhere.
    unattributed: Vec<usize>,
    pub run_start: i64,
    pub run_end: i64,
}

impl TruthIndex {
    pub fn load(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| GenError::io(path, e))?;
        let mut bindings = Vec::new();
        for (i, line) in BufReader::with_capacity(1 << 20, file).lines().enumerate() {
            let line = line.map_err(|e| GenError::io(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let rec: TruthRecord = serde_json::from_str(&line)
                .map_err(|e| GenError::input(path, i as u64 + 1, e.to_string()))?;
            let b =
                Binding::from_record(rec).map_err(|e| GenError::input(path, i as u64 + 1, e))?;
            bindings.push(b);
        }
        if bindings.is_empty() {
            return Err(GenError::input(path, 0, "no bindings"));
        }
        Ok(Self::build(bindings))
    }

    pub fn build(mut bindings: Vec<Binding>) -> Self {
        let mut by_target: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut by_block: BTreeMap<(String, u16), (u16, Vec<usize>)> = BTreeMap::new();
        for (i, b) in bindings.iter().enumerate() {
            match (b.kind, b.ports) {
                (TruthKind::Nat, Some((lo, hi))) => {
                    by_block
                        .entry((b.target.clone(), lo))
                        .or_insert_with(|| (hi, Vec::new()))
                        .1
                        .push(i);
                }
                _ => by_target.entry(b.target.clone()).or_default().push(i),
            }
        }
        for list in by_target.values_mut() {
            list.sort_by_key(|&i| (bindings[i].start, i));
            for w in 0..list.len().saturating_sub(1) {
                bindings[list[w]].next_start = Some(bindings[list[w + 1]].start);
            }
        }
        // A NAS reboot is logged and ends every session of the NAS the logs still show open:
        // the reboots are the ends of the sessions they ended.
        let mut reboots: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for b in &bindings {
            if let (EndCause::NasReboot, Some(nas)) = (b.end_cause, &b.nas) {
                reboots.entry(nas.clone()).or_default().push(b.end);
            }
        }
        for list in reboots.values_mut() {
            list.sort_unstable();
            list.dedup();
        }
        for b in &mut bindings {
            if !matches!(b.end_cause, EndCause::LostStop | EndCause::StopPending) {
                continue;
            }
            if let Some(list) = b.nas.as_ref().and_then(|n| reboots.get(n)) {
                let i = list.partition_point(|&r| r < b.end);
                b.reboot_after = list.get(i).copied();
            }
        }
        for (_, list) in by_block.values_mut() {
            list.sort_by_key(|&i| (bindings[i].start, i));
        }
        let (mut v4, mut v6, mut nat) = (Vec::new(), Vec::new(), Vec::new());
        let (mut tails, mut handovers) = (Vec::new(), Vec::new());
        let (mut no_interim, mut late_stops, mut unattributed) =
            (Vec::new(), Vec::new(), Vec::new());
        for (i, b) in bindings.iter().enumerate() {
            if b.kind == TruthKind::Nat {
                nat.push(i);
                if b.inside_unlogged {
                    unattributed.push(i);
                }
                continue;
            }
            if b.is_v6() {
                v6.push(i);
            } else if !is_cgnat_inside(&b.target) {
                v4.push(i);
            } else {
                continue;
            }
            if matches!(
                b.end_cause,
                EndCause::LostStop | EndCause::StopPending | EndCause::NasReboot
            ) {
                tails.push(i);
            }
            if b.next_start.is_some_and(|n| n - b.end <= 5) {
                handovers.push(i);
            }
            if b.no_interim {
                no_interim.push(i);
            }
            if b.end_cause == EndCause::Stop && b.stop_received.is_some() {
                late_stops.push(i);
            }
        }
        let run_start = bindings.iter().map(|b| b.start).min().unwrap_or(0);
        let run_end = bindings.iter().map(|b| b.end).max().unwrap_or(0);
        TruthIndex {
            bindings,
            by_target,
            by_block,
            v4,
            v6,
            nat,
            tails,
            handovers,
            no_interim,
            late_stops,
            unattributed,
            run_start,
            run_end,
        }
    }

    /// Bindings of `target` that may matter at `t`: held within `MAX_TOLERANCE` of it, or
    /// ended unlogged before it with no other binding of the target since (however long
    /// ago: the logs show no end).
    pub fn near(&self, target: &str, t: i64) -> Vec<&Binding> {
        let Some(list) = self.by_target.get(target) else {
            return Vec::new();
        };
        let w = MAX_TOLERANCE;
        let upto = list.partition_point(|&i| self.bindings[i].start <= t + w);
        let mut out = Vec::new();
        for &i in list[..upto].iter().rev() {
            let b = &self.bindings[i];
            let next_after = b.next_start.is_none_or(|n| n >= t - w);
            if b.end >= t - w || (b.end_unlogged() && next_after) {
                out.push(b);
            }
            if b.end < t - w && !next_after {
                break;
            }
        }
        out.reverse();
        out
    }

    /// Port blocks on `public` covering `port` within `MAX_TOLERANCE` of `t`.
    pub fn near_blocks(&self, public: &str, port: u16, t: i64) -> Vec<&Binding> {
        let key = (public.to_string(), port);
        let Some(((p, _), (hi, list))) = self.by_block.range(..=key).next_back() else {
            return Vec::new();
        };
        if p != public || *hi < port {
            return Vec::new();
        }
        let w = MAX_TOLERANCE;
        list.iter()
            .map(|&i| &self.bindings[i])
            .filter(|b| b.start <= t + w && b.end >= t - w)
            .collect()
    }

    fn expect_binding(b: &Binding) -> ExpectBinding {
        ExpectBinding {
            subscriber: b.subscriber.clone().unwrap_or_default(),
            target: b.target.clone(),
            start: timefmt::rfc3339_string(b.start),
            end: timefmt::rfc3339_string(b.end),
            confirmed_until: timefmt::rfc3339_string(b.confirmed_until),
            end_cause: b.end_cause,
            next_start: b.next_start.map(timefmt::rfc3339_string),
            reboot_after: b.reboot_after.map(timefmt::rfc3339_string),
            unlogged: b.unlogged,
        }
    }

    /// The expectation of a query, from the truth.
    pub fn expectation(
        &self,
        n: u64,
        query: Query,
        class: QueryClass,
        intent: &str,
        target: Option<&str>,
        t: i64,
    ) -> Expect {
        let mut bindings = Vec::new();
        let mut nat = Vec::new();
        match (class, query.port) {
            (QueryClass::Address, _) => {
                if let Some(target) = target {
                    bindings = self
                        .near(target, t)
                        .into_iter()
                        .map(Self::expect_binding)
                        .collect();
                }
            }
            (QueryClass::Cgnat, Some(port)) => {
                for blk in self.near_blocks(&query.addr, port, t) {
                    let inside = blk.inside.clone().unwrap_or_default();
                    let (lo, hi) = blk.ports.unwrap_or((port, port));
                    nat.push(ExpectNat {
                        public: blk.target.clone(),
                        ports: format!("{lo}-{hi}"),
                        holders: self
                            .near(&inside, t)
                            .into_iter()
                            .map(Self::expect_binding)
                            .collect(),
                        inside,
                        start: timefmt::rfc3339_string(blk.start),
                        end: timefmt::rfc3339_string(blk.end),
                        end_cause: blk.end_cause,
                        inside_unlogged: blk.inside_unlogged,
                    });
                }
            }
            _ => {}
        }
        Expect {
            n,
            query,
            class,
            intent: intent.to_string(),
            bindings,
            nat,
        }
    }
}

/// One generated query before its expectation is attached.
struct Draft {
    addr: String,
    port: Option<u16>,
    t: i64,
    class: QueryClass,
    intent: &'static str,
    /// The truth target the address falls in (address or prefix), for address queries.
    target: Option<String>,
}

/// Intents and their weights. Those whose bindings a run lacks (no_interim, late_stop,
/// cgnat_unattributed without the generator's options) fall back to "inside".
const MIX: [(&str, u32); 12] = [
    ("inside", 22),
    ("boundary", 12),
    ("gap", 10),
    ("tail", 8),
    ("v6", 10),
    ("no_interim", 4),
    ("late_stop", 3),
    ("cgnat_no_port", 6),
    ("cgnat_port", 14),
    ("cgnat_unattributed", 3),
    ("unassigned", 6),
    ("outside_retention", 6),
];

struct Gen<'a> {
    idx: &'a TruthIndex,
    rng: StdRng,
    args: &'a QueryArgs,
    used_v4: HashSet<u32>,
    used_v6: Vec<Ipv6Net>,
    used_v6_set: HashSet<Ipv6Net>,
}

impl<'a> Gen<'a> {
    fn new(idx: &'a TruthIndex, args: &'a QueryArgs) -> Self {
        let mut used_v4 = HashSet::new();
        let mut used_v6_set = HashSet::new();
        for b in &idx.bindings {
            for a in [Some(&b.target), b.inside.as_ref()].into_iter().flatten() {
                if let Ok(v4) = a.parse::<Ipv4Addr>() {
                    used_v4.insert(u32::from(v4));
                } else if let Ok(net) = a.parse::<Ipv6Net>() {
                    used_v6_set.insert(net);
                }
            }
        }
        let mut used_v6: Vec<Ipv6Net> = used_v6_set.iter().copied().collect();
        used_v6.sort();
        Gen {
            idx,
            rng: StdRng::seed_from_u64(args.seed),
            args,
            used_v4,
            used_v6,
            used_v6_set,
        }
    }

    fn pick<'b>(&mut self, list: &'b [usize]) -> Option<&'a Binding> {
        if list.is_empty() {
            return None;
        }
        let i = list[self.rng.gen_range(0..list.len())];
        Some(&self.idx.bindings[i])
    }

    fn uniform(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.gen_range(lo..=hi)
        }
    }

    /// A time well inside the logged part of `b`.
    fn time_inside(&mut self, b: &Binding) -> i64 {
        let (lo, hi) = (b.start + 10, b.confirmed_until - 10);
        if hi > lo {
            self.uniform(lo, hi)
        } else {
            b.start + (b.confirmed_until - b.start) / 2
        }
    }

    /// A time within 5 s of the start or (logged or not) end of `b`.
    fn time_boundary(&mut self, b: &Binding) -> i64 {
        let off = self.rng.gen_range(-5..=5);
        if b.end_cause == EndCause::StillOpen || self.rng.gen_bool(0.5) {
            b.start + off
        } else {
            b.end + off
        }
    }

    /// An address for a query on `b`'s target: the address itself, or a random address
    /// inside the delegated prefix.
    fn address_in(&mut self, b: &Binding) -> String {
        match b.target.parse::<Ipv6Net>() {
            Ok(net) => {
                let host: u128 = self.rng.gen::<u128>() & net.hostmask().to_bits();
                Ipv6Addr::from(net.network().to_bits() | host).to_string()
            }
            Err(_) => b.target.clone(),
        }
    }

    fn address_draft(&mut self, b: &Binding, t: i64, intent: &'static str) -> Draft {
        Draft {
            addr: self.address_in(b),
            port: None,
            t,
            class: QueryClass::Address,
            intent,
            target: Some(b.target.clone()),
        }
    }

    fn draft(&mut self, intent: &'static str) -> Option<Draft> {
        let idx = self.idx;
        match intent {
            "inside" => {
                let b = self.pick(&idx.v4)?;
                let t = self.time_inside(b);
                Some(self.address_draft(b, t, intent))
            }
            "boundary" => {
                if self.rng.gen_bool(0.4) {
                    if let Some(b) = self.pick(&idx.handovers) {
                        let next = b.next_start.unwrap_or(b.end);
                        let t = self.uniform(b.end - 3, next + 3);
                        return Some(self.address_draft(b, t, intent));
                    }
                }
                let b = if self.rng.gen_bool(0.8) {
                    self.pick(&idx.v4)
                } else {
                    self.pick(&idx.v6)
                }?;
                let t = self.time_boundary(b);
                Some(self.address_draft(b, t, intent))
            }
            "gap" => {
                for _ in 0..20 {
                    let b = self.pick(&idx.v4)?;
                    if let Some(next) = b.next_start.filter(|&n| n > b.end + 2) {
                        let t = self.uniform(b.end + 1, next - 1);
                        return Some(self.address_draft(b, t, intent));
                    }
                }
                None
            }
            "tail" => {
                // Half in the part of the real holding the logs do not show, half after the
                // real end up to the next logged event of the address (nobody held it, but
                // the logs cannot tell).
                let b = self.pick(&idx.tails)?;
                let limit = b.tail_limit().unwrap_or(idx.run_end).min(idx.run_end);
                let held = (b.confirmed_until + 1, b.end);
                let after = (b.end + 1, limit);
                let t = if after.1 < after.0 || (held.0 <= held.1 && self.rng.gen_bool(0.5)) {
                    self.uniform(held.0, held.1)
                } else {
                    self.uniform(after.0, after.1)
                };
                Some(self.address_draft(b, t, intent))
            }
            "no_interim" => {
                let b = self.pick(&idx.no_interim)?;
                let t = if self.rng.gen_bool(0.8) {
                    self.uniform(b.start + 10, b.end - 10)
                } else {
                    self.time_boundary(b)
                };
                Some(self.address_draft(b, t, intent))
            }
            "late_stop" => {
                // Inside (found only if the late Stop closed the session), at its end, and
                // after it before the next holder (nobody: the late Stop says so).
                let b = self.pick(&idx.late_stops)?;
                let t = match self.rng.gen_range(0..10) {
                    0..=5 => self.uniform(b.start + 10, b.end - 10),
                    6 | 7 => b.end + self.rng.gen_range(-5..=5),
                    _ => self.uniform(b.end + 1, b.next_start.unwrap_or(idx.run_end) - 1),
                };
                Some(self.address_draft(b, t, intent))
            }
            "v6" => {
                let b = self.pick(&idx.v6)?;
                let t = if self.rng.gen_bool(0.8) {
                    self.time_inside(b)
                } else {
                    self.time_boundary(b)
                };
                Some(self.address_draft(b, t, intent))
            }
            "cgnat_no_port" => {
                let b = self.pick(&idx.nat)?;
                let t = self.uniform(b.start, b.end);
                Some(Draft {
                    addr: b.target.clone(),
                    port: None,
                    t,
                    class: QueryClass::Cgnat,
                    intent,
                    target: None,
                })
            }
            "cgnat_port" | "cgnat_unattributed" => {
                let b = if intent == "cgnat_port" {
                    self.pick(&idx.nat)
                } else {
                    self.pick(&idx.unattributed)
                }?;
                let (lo, hi) = b.ports?;
                let port = self.rng.gen_range(lo..=hi);
                let t = if self.rng.gen_bool(0.75) {
                    self.time_inside(b)
                } else {
                    self.time_boundary(b)
                };
                Some(Draft {
                    addr: b.target.clone(),
                    port: Some(port),
                    t,
                    class: QueryClass::Cgnat,
                    intent,
                    target: None,
                })
            }
            "unassigned" => {
                let t = self.uniform(idx.run_start, idx.run_end);
                let addr = self.unassigned_addr();
                Some(Draft {
                    addr: addr.to_string(),
                    port: None,
                    t,
                    class: QueryClass::Unassigned,
                    intent,
                    target: None,
                })
            }
            "outside_retention" => {
                let b = if self.rng.gen_bool(0.8) {
                    self.pick(&idx.v4)
                } else {
                    self.pick(&idx.v6)
                }?;
                let back = self.args.retention_days * DAY + self.rng.gen_range(0..100 * DAY);
                let t = idx.run_start - back;
                let mut d = self.address_draft(b, t, intent);
                d.class = QueryClass::OutsideRetention;
                d.target = None;
                Some(d)
            }
            _ => None,
        }
    }

    /// An address nobody held: next to our IPv4 pools, in TEST-NET-1 (not ours), or an
    /// IPv6 address in a /56 next to the delegated ones.
    fn unassigned_addr(&mut self) -> IpAddr {
        let choice = self.rng.gen_range(0..4);
        if choice < 2 {
            let idx = self.idx;
            if let Some(b) = self.pick(&idx.v4) {
                if let Ok(a) = b.target.parse::<Ipv4Addr>() {
                    for _ in 0..50 {
                        let c = u32::from(a).wrapping_add(self.rng.gen_range(1..=4096));
                        if !self.used_v4.contains(&c) && (c >> 17) == (u32::from(a) >> 17) {
                            return IpAddr::V4(Ipv4Addr::from(c));
                        }
                    }
                }
            }
        } else if choice == 3 && !self.used_v6.is_empty() {
            for _ in 0..50 {
                let net = self.used_v6[self.rng.gen_range(0..self.used_v6.len())];
                let step = 1u128 << (128 - u32::from(net.prefix_len()));
                let k = self.rng.gen_range(1..=4096u128);
                let cand = net.network().to_bits().wrapping_add(k * step);
                let Ok(cand_net) = Ipv6Net::new(Ipv6Addr::from(cand), net.prefix_len()) else {
                    continue;
                };
                if !self.used_v6_set.contains(&cand_net) {
                    let host = self.rng.gen::<u128>() & (step - 1);
                    return IpAddr::V6(Ipv6Addr::from(cand | host));
                }
            }
        }
        // TEST-NET-1 is never in the address plan.
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, self.rng.gen_range(1..=254)))
    }

    fn next(&mut self) -> Draft {
        let total: u32 = MIX.iter().map(|m| m.1).sum();
        let mut r = self.rng.gen_range(0..total);
        let mut intent = MIX[0].0;
        for (name, w) in MIX {
            if r < w {
                intent = name;
                break;
            }
            r -= w;
        }
        if let Some(d) = self.draft(intent) {
            return d;
        }
        if let Some(d) = self.draft("inside") {
            return d;
        }
        self.draft("unassigned").unwrap_or_else(|| Draft {
            addr: "192.0.2.1".to_string(),
            port: None,
            t: self.idx.run_start,
            class: QueryClass::Unassigned,
            intent: "unassigned",
            target: None,
        })
    }
}

/// `tdr-gen queries`. Returns a summary line.
pub fn queries(args: &QueryArgs) -> Result<String> {
    if args.retention_days < 1 {
        return Err(GenError::Usage(
            "--retention-days must be positive".to_string(),
        ));
    }
    let idx = TruthIndex::load(&args.truth)?;
    let mut gen = Gen::new(&idx, args);
    let out_path = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("<stdout>"));
    let mut out: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(BufWriter::with_capacity(
            1 << 20,
            File::create(p).map_err(|e| GenError::io(p, e))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let exp_file = File::create(&args.expect).map_err(|e| GenError::io(&args.expect, e))?;
    let mut exp = BufWriter::with_capacity(1 << 20, exp_file);
    let mut by_intent: BTreeMap<&str, u64> = BTreeMap::new();
    for n in 0..args.n {
        let d = gen.next();
        *by_intent.entry(d.intent).or_default() += 1;
        let query = Query {
            addr: d.addr,
            port: d.port,
            at: timefmt::rfc3339_string(d.t),
        };
        let mut line = serde_json::to_vec(&query)
            .map_err(|e| GenError::io(&out_path, std::io::Error::other(e)))?;
        line.push(b'\n');
        out.write_all(&line)
            .map_err(|e| GenError::io(&out_path, e))?;
        let e = idx.expectation(n, query, d.class, d.intent, d.target.as_deref(), d.t);
        let mut line = serde_json::to_vec(&e)
            .map_err(|e| GenError::io(&args.expect, std::io::Error::other(e)))?;
        line.push(b'\n');
        exp.write_all(&line)
            .map_err(|e| GenError::io(&args.expect, e))?;
    }
    out.flush().map_err(|e| GenError::io(&out_path, e))?;
    exp.flush().map_err(|e| GenError::io(&args.expect, e))?;
    let mix: Vec<String> = by_intent.iter().map(|(k, v)| format!("{k} {v}")).collect();
    Ok(format!(
        "tdr-gen: {} queries ({}) from {} bindings -> {}, {}",
        args.n,
        mix.join(", "),
        idx.bindings.len(),
        out_path.display(),
        args.expect.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{self, Row};

    fn binding(target: &str, sub: &str, start: i64, end: i64, cause: EndCause) -> Binding {
        Binding {
            kind: TruthKind::Session,
            target: target.to_string(),
            subscriber: Some(sub.to_string()),
            ports: None,
            inside: None,
            start,
            end,
            confirmed_until: if cause.end_logged() { end } else { end - 100 },
            end_cause: cause,
            next_start: None,
            nas: Some("bng1".to_string()),
            reboot_after: None,
            no_interim: false,
            stop_received: None,
            unlogged: false,
            inside_unlogged: false,
        }
    }

    #[test]
    fn near_finds_neighbours_and_unlogged_tails() {
        let a = "198.18.0.1";
        let idx = TruthIndex::build(vec![
            binding(a, "A", 0, 1000, EndCause::Stop),
            binding(a, "B", 1000, 2000, EndCause::LostStop),
            binding(a, "C", 9000, 10_000, EndCause::Stop),
            binding("198.18.0.2", "D", 0, 10_000, EndCause::Stop),
        ]);
        let subs = |t| -> Vec<String> {
            idx.near(a, t)
                .iter()
                .map(|b| b.subscriber.clone().unwrap())
                .collect()
        };
        assert_eq!(subs(500), ["A"]);
        assert_eq!(subs(1000), ["A", "B"]);
        assert_eq!(subs(5000), ["B"]); // lost-stop tail up to C
        assert_eq!(subs(8990), ["B", "C"]);
        assert_eq!(subs(9500), ["C"]);
        assert!(subs(20_000).is_empty());
        assert!(idx.near("198.18.0.9", 500).is_empty());
        assert_eq!(idx.bindings[1].next_start, Some(9000));
    }

    #[test]
    fn tails_end_at_the_next_start_or_the_next_reboot_of_the_nas() {
        let a = "198.18.0.1";
        let mut reboot = binding("198.18.0.2", "R", 0, 4000, EndCause::NasReboot);
        reboot.nas = Some("bng1".to_string());
        let mut other_nas = binding("198.18.0.3", "S", 0, 3000, EndCause::NasReboot);
        other_nas.nas = Some("bng2".to_string());
        let idx = TruthIndex::build(vec![
            binding(a, "A", 0, 1000, EndCause::LostStop),
            binding(a, "B", 9000, 10_000, EndCause::StopPending),
            reboot,
            other_nas,
        ]);
        let (lost, pending) = (&idx.bindings[0], &idx.bindings[1]);
        assert_eq!(lost.reboot_after, Some(4000));
        assert_eq!(lost.tail_limit(), Some(4000));
        assert_eq!(pending.reboot_after, None);
        assert_eq!(pending.tail_limit(), None);
        assert_eq!(idx.bindings[2].tail_limit(), Some(4000));
        // Long after the last Interim, still the tail: no interim timeout.
        assert_eq!(idx.near(a, 8000).len(), 1);
        let e = idx.expectation(
            0,
            Query {
                addr: a.to_string(),
                port: None,
                at: timefmt::rfc3339_string(3000),
            },
            QueryClass::Address,
            "tail",
            Some(a),
            3000,
        );
        assert_eq!(e.bindings.len(), 1);
        assert_eq!(
            e.bindings[0].reboot_after.as_deref(),
            Some(&*timefmt::rfc3339_string(4000))
        );
    }

    /// The answer a tdr that gets everything right would give, from the checker's own truth.
    fn oracle(e: &Expect, truth: &check::Truth) -> serde_json::Value {
        use serde_json::json;
        let via =
            |b: &check::BlockRef| json!({"public": b.public, "ports": b.ports, "inside": b.inside});
        let first_via = truth.blocks.first().map_or(serde_json::Value::Null, via);
        let names = |set: &std::collections::BTreeSet<String>| -> Vec<serde_json::Value> {
            set.iter()
                .map(|s| json!({"subscriber": s, "via": first_via.clone()}))
                .collect()
        };
        let (status, matches) = match truth.row {
            Row::Inside | Row::BoundaryEdge | Row::CgnatPortInside => {
                ("found", names(&truth.holders))
            }
            Row::BoundaryShared => ("ambiguous", names(&truth.holders)),
            Row::LostStopTail | Row::RebootTail | Row::OpenTail => {
                ("end_inferred", names(&truth.candidates))
            }
            Row::Gap | Row::Unassigned => ("not_found", Vec::new()),
            Row::CgnatNoPort => ("port_required", Vec::new()),
            Row::CgnatPortUnattributed => ("inside_unknown", Vec::new()),
            Row::CgnatPortOther if !truth.candidates.is_empty() => {
                ("ambiguous", names(&truth.candidates))
            }
            Row::CgnatPortOther if truth.held => ("inside_unknown", Vec::new()),
            Row::CgnatPortOther => ("not_found", Vec::new()),
            Row::OutsideRetention => ("outside_retention", Vec::new()),
        };
        let blocks: Vec<serde_json::Value> = truth.blocks.iter().map(via).collect();
        json!({"query": e.query, "status": status, "matches": matches, "nat_blocks": blocks})
    }

    #[test]
    fn queries_cover_the_gaps_in_the_logs_and_a_right_answer_passes() {
        let dir = tempfile::tempdir().unwrap();
        let mut gen_args = crate::sim::tests_support::args(dir.path(), 400, 3);
        gen_args.cgnat_unattributed_share = 0.2;
        gen_args.no_interim_share = 0.3;
        crate::sim::generate(&gen_args).unwrap();
        let q = QueryArgs {
            truth: dir.path().join("truth.jsonl"),
            n: 6000,
            seed: 4,
            out: Some(dir.path().join("q.jsonl")),
            expect: dir.path().join("e.jsonl"),
            retention_days: 200,
        };
        let summary = queries(&q).unwrap();
        for intent in ["late_stop", "no_interim", "cgnat_unattributed"] {
            assert!(summary.contains(&format!("{intent} ")), "{summary}");
        }
        let es = std::fs::read_to_string(dir.path().join("e.jsonl")).unwrap();
        let mut rows: BTreeMap<&str, u64> = BTreeMap::new();
        let mut late_inside = (0, 0);
        let mut report = check::Report::new(2);
        for el in es.lines() {
            let e: Expect = serde_json::from_str(el).unwrap();
            let truth = check::classify(&e, 2).unwrap();
            *rows.entry(truth.row.name()).or_default() += 1;
            if e.intent == "cgnat_unattributed" {
                assert!(e.nat.iter().any(|n| n.inside_unlogged), "{el}");
                assert!(
                    truth.holders.is_empty() && truth.candidates.is_empty(),
                    "{el}"
                );
            }
            if e.intent == "late_stop" {
                late_inside.1 += 1;
                late_inside.0 += u64::from(truth.row == Row::Inside);
            }
            let v = check::judge(&e, &oracle(&e, &truth), 2).unwrap();
            report.add(&e, &v, 3);
        }
        assert!(!report.failed(), "{}", report.to_text());
        assert!(rows["cgnat_port_unattributed"] > 20, "{rows:?}");
        assert!(rows["lost_stop_tail"] > 100, "{rows:?}");
        assert!(late_inside.0 * 2 > late_inside.1, "{late_inside:?}");
        // The same answers with not_found where the logs cannot exclude a holder, and without
        // the blocks, are counted.
        let mut bad = check::Report::new(2);
        for el in es.lines() {
            let e: Expect = serde_json::from_str(el).unwrap();
            let truth = check::classify(&e, 2).unwrap();
            let mut a = oracle(&e, &truth);
            if a["status"] == "end_inferred" {
                a["status"] = "not_found".into();
                a["matches"] = serde_json::json!([]);
            }
            if a["status"] == "inside_unknown" {
                a["nat_blocks"] = serde_json::json!([]);
            }
            bad.add(&e, &check::judge(&e, &a, 2).unwrap(), 3);
        }
        assert!(
            bad.false_not_found > 100 && bad.dropped_evidence > 20,
            "{}",
            bad.to_text()
        );
    }

    #[test]
    fn generated_queries_match_their_truth() {
        let dir = tempfile::tempdir().unwrap();
        let gen_args = crate::sim::tests_support::args(dir.path(), 300, 2);
        crate::sim::generate(&gen_args).unwrap();
        let q = QueryArgs {
            truth: dir.path().join("truth.jsonl"),
            n: 5000,
            seed: 9,
            out: Some(dir.path().join("q.jsonl")),
            expect: dir.path().join("e.jsonl"),
            retention_days: 200,
        };
        queries(&q).unwrap();
        let first = std::fs::read(dir.path().join("e.jsonl")).unwrap();
        queries(&q).unwrap();
        assert!(first == std::fs::read(dir.path().join("e.jsonl")).unwrap());

        let qs = std::fs::read_to_string(dir.path().join("q.jsonl")).unwrap();
        let es = std::fs::read_to_string(dir.path().join("e.jsonl")).unwrap();
        let mut rows: BTreeMap<&str, u64> = BTreeMap::new();
        let mut inside_ok = 0;
        let mut inside_all = 0;
        for (n, (ql, el)) in qs.lines().zip(es.lines()).enumerate() {
            let query: serde_json::Value = serde_json::from_str(ql).unwrap();
            let mut keys: Vec<&String> = query.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["addr", "at", "port"]);
            let e: Expect = serde_json::from_str(el).unwrap();
            assert_eq!(e.n, n as u64);
            assert_eq!(serde_json::to_value(&e.query).unwrap(), query);
            let truth = check::classify(&e, 2).unwrap();
            *rows.entry(truth.row.name()).or_default() += 1;
            if e.intent == "inside" {
                inside_all += 1;
                inside_ok += u64::from(truth.row == Row::Inside);
            }
            if e.class == QueryClass::Address && e.intent == "v6" {
                let addr: Ipv6Addr = e.query.addr.parse().unwrap();
                let net: Ipv6Net = e.bindings[0].target.parse().unwrap();
                assert!(net.contains(&addr));
            }
        }
        assert_eq!(qs.lines().count(), 5000);
        assert!(
            inside_ok * 100 >= inside_all * 95,
            "{inside_ok}/{inside_all}"
        );
        for row in check::ROWS {
            if row == Row::OpenTail || row == Row::CgnatPortUnattributed {
                // Open tails are rare (only just before the end of the run); unattributed
                // blocks need --cgnat-unattributed-share.
                continue;
            }
            assert!(rows.get(row.name()).is_some_and(|&n| n > 0), "{rows:?}");
        }
    }
}
