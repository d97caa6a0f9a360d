//! Finalising and writing: when a live binding becomes final (its eviction deadline), and
//! the flush that hands every change since the last one to a [`Sink`].

use std::collections::BTreeMap;

use super::nat::Sharers;
use super::{encode_live, reach_end, Clock, Engine, Facts, Sink, Slot, MAX_OPEN};
use crate::model::{day_of, ip16, UnixSecs};
use crate::store::binding::Kind;
use crate::store::keys::{sharer_key, sharer_record, BindingKey};
use crate::store::{cdr, meta, subject};

impl Engine {
    /// When a binding becomes final: two reorder windows after its end. Any event that could
    /// still merge into it (see [`within_reach`]) has a time within one window of its end, and
    /// arrives at most one window late, so it arrives before this — whatever the batch timing.
    pub(super) fn deadline(&self, f: &Facts) -> Option<UnixSecs> {
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
    pub(super) fn queue_eviction(&mut self, slot: Slot) {
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
    pub(super) fn requeue(&mut self, slot: Slot, old: Option<UnixSecs>, new: Option<UnixSecs>) {
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
        let erasures = self
            .subjects
            .as_ref()
            .filter(|s| !s.erasures.is_empty())
            .cloned();
        for cdr in self.cdrs.drain(..) {
            if cdr.start < retention_floor {
                continue;
            }
            if let Some(s) = &erasures {
                let erased = |n: &str| {
                    let n = cdr::normalize_number(n);
                    !n.is_empty()
                        && s.erasures
                            .erased(&s.key.hash(&n), cdr.class, cdr.start, cdr.end)
                };
                if erased(&cdr.calling) || erased(&cdr.called) {
                    continue; // erased (GDPR art. 17): never written again
                }
            }
            let Some(s) = &self.subjects else {
                // No key to hash numbers with: an engine without one (tests of the
                // binding logic) keeps no calls.
                continue;
            };
            for (k, v) in cdr::entries(&cdr, &|n| s.key.hash(n)) {
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
                    (Kind::Nat, Some(inside)) => {
                        Some(sharer_record(ip16(inside), rec.facts.class.code()))
                    }
                    _ => None,
                };
                let h = self
                    .subjects
                    .as_ref()
                    .and_then(|s| s.hash_of(&rec.key, &rec.facts));
                let erased = h.is_some_and(|h| {
                    erasures.as_ref().is_some_and(|s| {
                        s.erasures.erased(&h, rec.facts.class, rec.facts.start, end)
                    })
                });
                for day in first_day..=day_of(end) {
                    if erased {
                        break; // erased (GDPR art. 17): late data does not bring it back
                    }
                    sink.put_copy(day, &key, &buf);
                    if let Some(h) = &h {
                        sink.put_copy(day, &subject::index_key(h, &rec.key), b"");
                    }
                    if let Some(s) = sharer {
                        sharers.entry((day, rec.key.addr)).or_default().insert(s);
                    }
                }
                if let Some(p) = rec.persisted {
                    sink.delete_live(&p.encode());
                    if let Some(ih) = &rec.indexed {
                        sink.delete_live(&subject::index_key(ih, &p));
                    }
                }
                finalised += 1;
            }
        }
        self.mark_live_sharers(&mut sharers, retention_floor);
        for ((day, public), records) in sharers {
            let v: Vec<u8> = records.into_iter().flatten().collect();
            sink.put_copy(day, &sharer_key(public), &v);
        }
        for slot in std::mem::take(&mut self.dirty) {
            let Some(rec) = self.slab.get_mut(&slot) else {
                continue;
            };
            // The subscriber's hash, computed once per key (the subscriber is part of a
            // binding's identity, so of its key).
            let h = match (&self.subjects, rec.persisted == Some(rec.key)) {
                (Some(_), true) => rec.indexed,
                (Some(s), false) => s.hash_of(&rec.key, &rec.facts),
                (None, _) => None,
            };
            // A live binding may run on: it overlaps a hold from its start on.
            let erased = h.is_some_and(|h| {
                erasures.as_ref().is_some_and(|s| {
                    s.erasures
                        .erased(&h, rec.facts.class, rec.facts.start, UnixSecs::MAX)
                })
            });
            if let Some(p) = rec.persisted {
                if p != rec.key || erased {
                    sink.delete_live(&p.encode());
                    if let Some(ih) = &rec.indexed {
                        sink.delete_live(&subject::index_key(ih, &p));
                    }
                    rec.persisted = None;
                    rec.indexed = None;
                }
            }
            if erased {
                continue; // erased (GDPR art. 17): kept in memory only until it is final
            }
            buf.clear();
            encode_live(&rec.facts, &rec.session, &mut buf);
            key_buf.clear();
            rec.key.encode_into(&mut key_buf);
            sink.put_live(&key_buf, &buf);
            if rec.persisted != Some(rec.key) {
                if let Some(h) = &h {
                    sink.put_live(&subject::index_key(h, &rec.key), b"");
                }
                rec.indexed = h;
            }
            rec.persisted = Some(rec.key);
        }
        for ((domain, source), days) in self.coverage.iter_mut() {
            for (day, bits) in days.drain() {
                let v = meta::encode_coverage(&bits);
                sink.merge_coverage(&meta::coverage_key(day, *domain, source), &v);
            }
        }
        for (nas, source, t) in self.new_reboots.drain(..) {
            sink.put_meta(&meta::reboot_key(&nas, &source, t), b"");
        }
        for plen in self.new_prefix_lens.drain(..) {
            sink.put_meta(&meta::prefix_len_key(plen), b"");
        }
        if self.nat_span.1 {
            sink.put_meta(meta::NAT_SPAN, &self.nat_span.0.to_be_bytes());
            self.nat_span.1 = false;
        }
        sink.put_meta(meta::WATERMARK, &self.watermark.to_be_bytes());
        for (mark, names) in self.marks.values() {
            sink.put_meta(
                &meta::clock_mark_key(&names.0, &names.1),
                &mark.to_be_bytes(),
            );
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
        for set in self.reboots.values_mut().flat_map(|s| s.values_mut()) {
            while set.first().is_some_and(|&t| t < reboot_floor) && set.len() > 1 {
                set.pop_first();
            }
        }
        finalised
    }
}
