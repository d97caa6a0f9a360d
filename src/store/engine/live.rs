//! The live bindings' index: the slab, the lookups by session, address and NAS, and the
//! links between bindings (reboots, later holders) kept as they are added, moved and removed.

use super::session::session_key;
use super::{ends_no_earlier, one_ends_the_other, Engine, Facts, LiveRec, Slot};
use crate::store::binding::Kind;
use crate::store::keys::BindingKey;

impl Engine {
    /// Adds a new live binding and links it with what is known around it: a NAS reboot after
    /// its start ends it, an earlier binding of another holder is superseded by its start, and
    /// it is superseded by a later one.
    pub(super) fn insert(&mut self, key: BindingKey, mut facts: Facts, session: String) -> Slot {
        facts.add_peer(self.peer);
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
    pub(super) fn link(&mut self, slot: Slot) {
        let Some(rec) = self.slab.get(&slot) else {
            return;
        };
        let tk = (rec.key.tag, rec.key.addr, rec.key.plen_or_lo);
        let facts = &rec.facts;
        let mut reboot = None;
        if facts.kind == Kind::Session {
            // Reboots reported by the session's own source, and old ones kept without a source.
            let by_source = self.reboots.get(&facts.nas);
            for rs in [facts.source.as_str(), ""]
                .into_iter()
                .filter_map(|s| by_source?.get(s))
            {
                if let Some(&r) = rs.range(facts.start + 1..).next() {
                    if facts.reboot.is_none_or(|x| r < x)
                        && reboot.is_none_or(|x| r < x)
                        && ends_no_earlier(facts, r)
                    {
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
    pub(super) fn index(&mut self, key: BindingKey, facts: Facts, session: String) -> Slot {
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
                indexed: None,
            },
        );
        slot
    }

    /// Records that a live binding changed: its key follows its start, it will be written at
    /// the next flush, and its eviction deadline is re-queued.
    pub(super) fn touched(&mut self, slot: Slot) {
        if let Some(r) = self.slab.get_mut(&slot) {
            r.key.start = r.facts.start;
        }
        self.dirty.insert(slot);
        self.queue_eviction(slot);
    }

    pub(super) fn remove(&mut self, slot: Slot) -> Option<LiveRec> {
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
