//! DHCP leases (assign, renew, release, expiry) and lease databases' free states.

use super::{address_key, first_seen, id_hash, same_start, seen, within_reach, Engine, Facts};
use crate::model::{Class, FreeState, LeaseOp, Target, UnixSecs};
use crate::store::binding::{EndKind, Kind};

/// What a lease event says about how its lease is known, beside its times.
#[derive(Debug, Clone, Copy)]
pub(super) struct LeaseMarks {
    /// An administrator made the change (Kea `lease_cmds`).
    pub admin: bool,
    /// The producer logs every end of its leases (RouterOS).
    pub ends_logged: bool,
}

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply_lease(
        &mut self,
        op: LeaseOp,
        t: UnixSecs,
        subscriber: &str,
        target: Target,
        expires: Option<UnixSecs>,
        marks: LeaseMarks,
        source: &str,
        class: Class,
    ) -> bool {
        let LeaseMarks { admin, ends_logged } = marks;
        self.note_prefix_len(target);
        let w = self.params.reorder_window;
        let tol = self.params.rules.tolerance;
        let found = self.merge_target(self.address_slots(target), t, |r| {
            let f = &r.facts;
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
                        f.end_logged.is_none_or(|(e, _)| t < e) && open_at(f, t, exp, tol)
                    }
                    // An end never belongs to a lease that starts after it.
                    // ... and a lease that has run out cannot be released.
                    LeaseOp::Release | LeaseOp::Expire => {
                        t >= f.start - tol
                            && open_at(f, t, exp, tol)
                            && f.end_logged.is_none_or(|(e, _)| t <= e + tol)
                    }
                }
        });
        match found {
            Some(slot) => self.merge_into(slot, |f| {
                let mut changed = false;
                if admin && !f.admin {
                    f.admin = true;
                    changed = true;
                }
                if ends_logged && !f.ends_logged {
                    f.ends_logged = true;
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
                        changed |= seen(f, t);
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
                changed
            }),
            None if subscriber.is_empty() => false,
            None => {
                let ended = match op {
                    LeaseOp::Release => Some((t, EndKind::Release)),
                    LeaseOp::Expire => Some((t, EndKind::LeaseExpiry)),
                    _ => None,
                };
                let facts = Facts {
                    subject: subscriber.to_string(),
                    start_logged: op == LeaseOp::Assign,
                    end_logged: ended,
                    expires: if ended.is_some() { None } else { expires },
                    admin,
                    ends_logged,
                    ..first_seen(Kind::Lease, class, source, t)
                };
                let id = id_hash(&[b"lease", subscriber.as_bytes()]);
                self.insert(address_key(target, t, id), facts, String::new());
                true
            }
        }
    }

    /// A lease database's free (or abandoned) state of `target` from `t` until `until`. One
    /// binding per (target, start, state): the database rewritten later repeats it with a
    /// later `until`, which extends it. Its start ends an earlier holder's binding whose end was
    /// not logged (the server took the address back), and a later holder's start ends it.
    pub(super) fn apply_free(
        &mut self,
        t: UnixSecs,
        until: UnixSecs,
        target: Target,
        state: FreeState,
        source: &str,
        class: Class,
    ) -> bool {
        let found = self.address_slots(target).and_then(|slots| {
            slots.iter().copied().find(|s| {
                let f = &self.slab[s].facts;
                f.kind == Kind::Free && f.start == t && f.nas == state.as_str()
            })
        });
        match found {
            Some(slot) => self.merge_into(slot, |f| seen(f, until)),
            None => {
                let facts = Facts {
                    nas: state.as_str().to_string(),
                    start_logged: true,
                    last_seen: until.max(t),
                    ..first_seen(Kind::Free, class, source, t)
                };
                let id = id_hash(&[b"free", state.as_str().as_bytes()]);
                self.insert(address_key(target, t, id), facts, String::new());
                true
            }
        }
    }
}

/// Whether lease `f` may still be running at `t`: until its expiry when one was logged; a lease
/// logged without one (RouterOS, Kea's infinite leases) runs until its release or expiry is
/// logged, however long after its last sighting that comes.
fn open_at(f: &Facts, t: UnixSecs, exp: UnixSecs, tol: i64) -> bool {
    f.expires.is_none() || t <= exp + tol
}
