//! The read paths, written once over [`Families`] for every backend: candidates of a lookup,
//! live NAT blocks, sharer sets, coverage, CDR scans and a subscriber's bindings.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use super::binding::{Facts, Rules};
use super::keys::{self, BindingKey};
use super::lookup::Scope;
use super::subject::{self, Hash16};
use super::{cdr, engine, meta, Families, Family, StoreError, StoreRead};
use crate::model::{day_of, Cdr, Class, Domain, Target, UnixSecs};

/// A binding record as it is stored: a live record (session id and facts) or a final copy.
fn decode_binding(family: Family, key: &BindingKey, v: &[u8]) -> Option<Facts> {
    if family == Family::Live {
        engine::decode_live(key.start, v).map(|(f, _)| f)
    } else {
        Facts::decode(key.start, v)
    }
}

impl<B: Families + ?Sized> StoreRead for B {
    fn rules(&self) -> Rules {
        self.binding_rules()
    }

    fn watermark(&self) -> Result<Option<UnixSecs>, StoreError> {
        let mut w = None;
        self.get(Family::Meta, meta::WATERMARK, &mut |v| {
            w = meta::decode_time(v)
        })?;
        Ok(w)
    }

    fn max_nat_span(&self) -> Result<u16, StoreError> {
        let mut span = None;
        self.get(Family::Meta, meta::NAT_SPAN, &mut |v| {
            span = meta::decode_nat_span(v)
        })?;
        Ok(span.unwrap_or(u16::MAX))
    }

    fn prefix_lens(&self) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        let (lower, upper) = ([meta::PREFIX_LEN], [meta::PREFIX_LEN + 1]);
        self.scan(Family::Meta, &lower, Some(&upper), &mut |k, _| {
            if k.len() == 2 {
                out.push(k[1]);
            }
            Ok(true)
        })?;
        out.sort_unstable_by(|a, b| b.cmp(a));
        Ok(out)
    }

    fn partitions(&self) -> Result<Vec<i64>, StoreError> {
        self.days()
    }

    fn coverage_of_day(
        &self,
        day: i64,
        domain: Domain,
    ) -> Result<Vec<(String, [u64; 23])>, StoreError> {
        let prefix = meta::coverage_key(day, domain, "");
        let upper = keys::prefix_upper_bound(&prefix);
        let mut out = Vec::new();
        self.scan(Family::Meta, &prefix, Some(&upper), &mut |k, v| {
            let source = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            out.push((source, meta::decode_coverage(v)));
            Ok(true)
        })?;
        Ok(out)
    }

    fn covered(&self, t: UnixSecs, gap: i64, domain: Domain) -> Result<bool, StoreError> {
        let (from, to) = (t - gap, t + gap);
        for day in day_of(from)..=day_of(to) {
            for (_, bits) in self.coverage_of_day(day, domain)? {
                let lo = (from.max(day * 86_400) - day * 86_400) / 60;
                let hi = (to.min(day * 86_400 + 86_399) - day * 86_400) / 60;
                if (lo..=hi).any(|m| bits[(m / 64) as usize] & (1 << (m % 64)) != 0) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn candidates(
        &self,
        prefix: &[u8],
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<Vec<(BindingKey, Facts)>, StoreError> {
        self.candidates_in(prefix, &keys::prefix_upper_bound(prefix), from, to)
    }

    fn candidates_in(
        &self,
        lower: &[u8],
        upper: &[u8],
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<Vec<(BindingKey, Facts)>, StoreError> {
        let mut out: Vec<(BindingKey, Facts)> = Vec::new();
        self.visit_candidates(lower, upper, from, to, &mut |key, facts| {
            out.push((key, facts));
            true
        })?;
        // A binding may be seen several times: a final copy in each day it spans, and a live
        // record with the same key when late events reopened it (a file imported after newer
        // ones). Copies of one binding are merged: each adds what it knows, none can cut
        // another short.
        out.sort_by_key(|(k, _)| *k);
        let mut merged: Vec<(BindingKey, Facts)> = Vec::with_capacity(out.len());
        for (k, f) in out {
            match merged.last_mut() {
                Some((lk, lf)) if *lk == k => lf.merge_same(&f),
                _ => merged.push((k, f)),
            }
        }
        Ok(merged)
    }

    fn visit_candidates(
        &self,
        lower: &[u8],
        upper: &[u8],
        from: UnixSecs,
        to: UnixSecs,
        f: &mut dyn FnMut(BindingKey, Facts) -> bool,
    ) -> Result<(), StoreError> {
        let families =
            std::iter::once(Family::Live).chain((day_of(from)..=day_of(to)).map(Family::Day));
        for family in families {
            let mut go_on = true;
            self.scan(family, lower, Some(upper), &mut |k, v| {
                let Some(key) = BindingKey::decode(k) else {
                    return Ok(true);
                };
                if key.start > to {
                    // Address bindings sort by start within the prefix; NAT blocks by first
                    // port, then start.
                    return Ok(key.tag != keys::TAG_BINDING);
                }
                let Some(facts) = decode_binding(family, &key, v) else {
                    return Err(StoreError::Read("undecodable binding record".into()));
                };
                go_on = f(key, facts);
                Ok(go_on)
            })?;
            if !go_on {
                break;
            }
        }
        Ok(())
    }

    fn visit_nat_sharers(
        &self,
        public: Ipv6Addr,
        day: i64,
        f: &mut dyn FnMut(Ipv6Addr, Class),
    ) -> Result<bool, StoreError> {
        let mut decoded = Ok(());
        let found = self.get(Family::Day(day), &keys::sharer_key(public), &mut |v| {
            decoded = visit_sharer_records(v, f)
        })?;
        decoded.map(|_| found)
    }

    fn live_nat_blocks(&self, public: Ipv6Addr) -> Result<Vec<(BindingKey, Facts)>, StoreError> {
        let prefix = keys::nat_prefix(public);
        let upper = keys::prefix_upper_bound(&prefix);
        let mut out = Vec::new();
        self.scan(Family::Live, &prefix, Some(&upper), &mut |k, v| {
            let key = BindingKey::decode(k)
                .ok_or_else(|| StoreError::Read("undecodable binding key".into()))?;
            let facts = decode_binding(Family::Live, &key, v)
                .ok_or_else(|| StoreError::Read("undecodable binding record".into()))?;
            out.push((key, facts));
            Ok(true)
        })?;
        Ok(out)
    }

    fn final_copy(&self, key: &BindingKey) -> Result<Option<Facts>, StoreError> {
        let mut facts = None;
        let found = self.get(Family::Day(day_of(key.start)), &key.encode(), &mut |v| {
            facts = Facts::decode(key.start, v)
        })?;
        match (found, facts) {
            (false, _) => Ok(None),
            (true, Some(f)) => Ok(Some(f)),
            (true, None) => Err(StoreError::Read("undecodable binding record".into())),
        }
    }

    /// Calls are found in the day partitions of their start, from the day before `from` (a
    /// call running across midnight) to the day of `to`.
    fn cdrs(&self, number: &str, from: UnixSecs, to: UnixSecs) -> Result<Vec<Cdr>, StoreError> {
        let prefix = cdr::prefix(&self.subject_hash(&cdr::normalize_number(number))?);
        let upper = keys::prefix_upper_bound(&prefix);
        let mut out = Vec::new();
        for day in day_of(from) - 1..=day_of(to) {
            self.scan(Family::Day(day), &prefix, Some(&upper), &mut |k, v| {
                match cdr::key_start(k, prefix.len()) {
                    Some(start) if start > to => return Ok(false),
                    Some(_) => {}
                    None => return Ok(true),
                }
                let c = cdr::decode(v)
                    .ok_or_else(|| StoreError::Read("undecodable CDR record".into()))?;
                if c.end >= from && c.start <= to {
                    out.push(c);
                }
                Ok(true)
            })?;
        }
        out.sort_by(|a, b| (a.start, &a.call_id).cmp(&(b.start, &b.call_id)));
        Ok(out)
    }

    fn bindings_of(
        &self,
        subscriber: &str,
        scope: &Scope,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let rules = self.rules();
        let horizon = self.watermark()?.unwrap_or(i64::MIN);
        let h = self.subject_hash(subscriber)?;
        let erasures = self.erasures();
        let mut found: BTreeMap<BindingKey, Facts> = Default::default();
        for (_, key, f) in indexed_copies(self, &h)? {
            // The index is keyed by a 16-byte hash: the record itself says whose it is.
            if f.subject != subscriber || !scope.allowed.contains(&f.class) {
                continue;
            }
            match found.get_mut(&key) {
                Some(have) => have.merge_same(&f),
                None => {
                    found.insert(key, f);
                }
            }
        }
        let mut out: Vec<(i64, serde_json::Value)> = found
            .into_iter()
            .filter_map(|(key, f)| {
                let ev = f.evidence(&rules, horizon);
                let last = ev.end.unwrap_or(scope.now);
                if erasures.erased(&h, f.class, ev.start, last) {
                    return None;
                }
                scope.retained(f.class, last).then(|| {
                    let v4 = key.addr.to_ipv4_mapped().is_some();
                    let target = Target {
                        addr: key.addr,
                        plen: key.plen_or_lo as u8,
                        v4,
                    };
                    (
                        ev.start,
                        serde_json::json!({
                            "target": target.to_string(),
                            "start": crate::model::fmt_time(ev.start),
                            "end": ev.end.map(crate::model::fmt_time),
                            "end_kind": ev.end_kind,
                            "source": f.source,
                            "class": f.class,
                        }),
                    )
                })
            })
            .collect();
        out.sort_by_key(|(t, _)| *t);
        Ok(out.into_iter().map(|(_, v)| v).collect())
    }
}

/// Every stored copy of the bindings the subscriber index lists under `h`: the live record
/// and each day's final copy, with the family it is in. One prefix seek per family (the
/// partitions' prefix bloom filters skip the files without it) and a point read per entry;
/// never a scan of the store.
pub(super) fn indexed_copies<B: Families + ?Sized>(
    b: &B,
    h: &Hash16,
) -> Result<Vec<(Family, BindingKey, Facts)>, StoreError> {
    let prefix = subject::index_prefix(h);
    let upper = keys::prefix_upper_bound(&prefix);
    let mut out = Vec::new();
    let mut listed = Vec::new();
    for family in std::iter::once(Family::Live).chain(b.days()?.into_iter().map(Family::Day)) {
        listed.clear();
        b.scan(family, &prefix, Some(&upper), &mut |k, _| {
            if let Some(key) = subject::indexed_binding(k) {
                listed.push(key);
            }
            Ok(true)
        })?;
        for key in &listed {
            let mut facts = None;
            b.get(family, &key.encode(), &mut |v| {
                facts = decode_binding(family, key, v)
            })?;
            if let Some(f) = facts {
                out.push((family, *key, f));
            }
        }
    }
    Ok(out)
}

/// Calls `f` with each (inside address, class) of a sharer-set value.
fn visit_sharer_records(v: &[u8], f: &mut dyn FnMut(Ipv6Addr, Class)) -> Result<(), StoreError> {
    if !v.len().is_multiple_of(keys::SHARER_RECORD) {
        return Err(StoreError::Read("undecodable sharer set".into()));
    }
    for r in v.chunks_exact(keys::SHARER_RECORD) {
        let a: [u8; 16] = r[..16].try_into().unwrap_or([0; 16]);
        let class = Class::from_code(r[16])
            .ok_or_else(|| StoreError::Read("sharer of an unknown class".into()))?;
        f(Ipv6Addr::from(a), class);
    }
    Ok(())
}
