//! Sessions (RADIUS accounting): Start, Interim and Stop merged into one binding per session,
//! and NAS reboots, which end the open sessions of their NAS.

use super::{address_key, ends_no_earlier, first_seen, id_hash, within_reach, Engine, Facts, Slot};
use crate::model::{Class, SessionOp, Target, UnixSecs};
use crate::store::binding::{EndKind, Kind};

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply_session(
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
        self.note_prefix_len(target);
        let w = self.params.reorder_window;
        let tol = self.params.rules.tolerance;
        let slots = self.by_session.get(&session_key(nas, session));
        let found = self.merge_target(slots, t, |r| {
            let f = &r.facts;
            r.session == session
                && f.nas == nas
                && f.source == source
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
        });
        match found {
            Some(slot) => self.merge_into(slot, |f| {
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
                super::seen(f, t) || changed
            }),
            None => {
                let facts = Facts {
                    subject: subscriber.to_string(),
                    nas: nas.to_string(),
                    start_logged: op == SessionOp::Start,
                    end_logged: (op == SessionOp::Stop).then_some((t, EndKind::Stop)),
                    ..first_seen(Kind::Session, class, source, t)
                };
                let id = id_hash(&[nas.as_bytes(), session.as_bytes(), subscriber.as_bytes()]);
                self.insert(address_key(target, t, id), facts, session.to_string());
                true
            }
        }
    }

    /// A reboot of `nas` reported by `source`: it ends the open sessions of that NAS that
    /// `source` reported, never another source's (a sender cannot cut others' sessions).
    pub(super) fn apply_reboot(&mut self, t: UnixSecs, nas: &str, source: &str) -> bool {
        let set = self
            .reboots
            .entry(nas.to_string())
            .or_default()
            .entry(source.to_string())
            .or_default();
        if !set.insert(t) {
            return false;
        }
        self.new_reboots
            .push((nas.to_string(), source.to_string(), t));
        let slots: Vec<Slot> = self
            .by_nas
            .get(nas)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        for slot in slots {
            let f = &mut self.slab.get_mut(&slot).expect("indexed slot").facts;
            if f.source == source
                && f.start < t
                && f.reboot.is_none_or(|r| t < r)
                && ends_no_earlier(f, t)
            {
                f.reboot = Some(t);
                self.touched(slot);
            }
        }
        true
    }
}

/// The index key of a session: a hash of (NAS, session id).
pub(super) fn session_key(nas: &str, session: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (nas, session).hash(&mut h);
    h.finish()
}
