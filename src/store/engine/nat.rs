//! CGNAT port blocks: allocations and releases merged into one binding per block, and the
//! sharer sets of each public address and day.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr};

use super::{first_seen, id_hash, same_start, seen, within_reach, Engine, Facts, Slot};
use crate::model::{day_of, ip16, Class, NatOp, UnixSecs};
use crate::store::binding::{EndKind, Kind};
use crate::store::keys::{sharer_record, BindingKey, SHARER_RECORD, TAG_NAT};

/// Sharer records to write, per (day, public address).
pub(super) type Sharers = BTreeMap<(i64, Ipv6Addr), BTreeSet<[u8; SHARER_RECORD]>>;

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply_nat(
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
        let slots = self.by_target.get(&(TAG_NAT, public16, lo));
        let found = self.merge_target(slots, t, |r| {
            let f = &r.facts;
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
        });
        match found {
            Some(slot) => self.merge_into(slot, |f| {
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
                seen(f, t) || changed
            }),
            None => {
                let facts = Facts {
                    inside: Some(inside),
                    port_hi: hi,
                    start_logged: op == NatOp::Alloc,
                    end_logged: (op == NatOp::Release).then_some((t, EndKind::Release)),
                    ..first_seen(Kind::Nat, class, source, t)
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

    /// Writes the sharer marks of live port blocks: every day from the block's start to its
    /// producer's clock less two reorder windows (no later than its end), the days a block
    /// finalised later is written into anyway — so the marks never depend on when a batch
    /// was cut. Days before `retention_floor` are expired.
    pub(super) fn mark_live_sharers(&mut self, sharers: &mut Sharers, retention_floor: UnixSecs) {
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
            let record = sharer_record(ip16(inside), f.class.code());
            for day in (from..=to).filter(|d| *d >= floor && !(done_from..=done_to).contains(d)) {
                sharers.entry((day, r.key.addr)).or_default().insert(record);
            }
            self.nat_marked
                .insert(slot, (from.min(done_from), to.max(done_to)));
        }
    }
}
