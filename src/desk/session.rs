//! The desk's sessions, in the daemon's memory: a random id (256 bits) in the cookie, the
//! stage of its sign-in, its CSRF token, and when it was last used. A session idle longer than
//! the idle timeout is gone, and so is every session at a restart (people sign in again). At
//! most [`MAX_SESSIONS`] exist; past that the least recently used is dropped, so a flood of
//! sign-in pages cannot grow the daemon's memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;

/// The most sessions held at once.
pub const MAX_SESSIONS: usize = 10_000;

/// How far a session's sign-in has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// The sign-in form was shown; nobody is named yet.
    Anonymous,
    /// The password was right but was a one-time one: a new one is chosen next.
    NewPassword { user: String },
    /// The password was right and no second factor exists: enrol `secret` next.
    Enroll { user: String, secret: String },
    /// The password was right: the code comes next.
    Code { user: String },
    /// Signed in.
    In { user: String },
}

#[derive(Debug, Clone)]
pub struct Session {
    pub stage: Stage,
    pub csrf: String,
    last_seen: Instant,
}

pub struct Sessions {
    idle: Duration,
    map: Mutex<HashMap<String, Session>>,
}

fn random_hex() -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

impl Sessions {
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            idle,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// A new anonymous session: its id (for the cookie) and CSRF token.
    pub fn start(&self) -> (String, String) {
        self.start_at(Instant::now())
    }

    fn start_at(&self, now: Instant) -> (String, String) {
        let (id, csrf) = (random_hex(), random_hex());
        let mut m = self.map.lock().expect("sessions lock");
        m.retain(|_, s| now.duration_since(s.last_seen) < self.idle);
        if m.len() >= MAX_SESSIONS {
            if let Some(oldest) = m
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
            {
                m.remove(&oldest);
            }
        }
        m.insert(
            id.clone(),
            Session {
                stage: Stage::Anonymous,
                csrf: csrf.clone(),
                last_seen: now,
            },
        );
        (id, csrf)
    }

    /// The live session `id` names, touched; an idle one is removed and not returned.
    pub fn get(&self, id: &str) -> Option<Session> {
        self.get_at(id, Instant::now())
    }

    fn get_at(&self, id: &str, now: Instant) -> Option<Session> {
        let mut m = self.map.lock().expect("sessions lock");
        let s = m.get_mut(id)?;
        if now.duration_since(s.last_seen) >= self.idle {
            m.remove(id);
            return None;
        }
        s.last_seen = now;
        Some(s.clone())
    }

    /// Moves a session to `stage`. Reaching [`Stage::In`] replaces the id (the cookie a
    /// visitor had before signing in is worth nothing after) and the CSRF token; the new id is
    /// returned.
    pub fn advance(&self, id: &str, stage: Stage) -> Option<String> {
        let mut m = self.map.lock().expect("sessions lock");
        let mut s = m.remove(id)?;
        let new_id = if matches!(stage, Stage::In { .. }) {
            s.csrf = random_hex();
            random_hex()
        } else {
            id.to_string()
        };
        s.stage = stage;
        s.last_seen = Instant::now();
        m.insert(new_id.clone(), s);
        Some(new_id)
    }

    pub fn remove(&self, id: &str) -> Option<Session> {
        self.map.lock().expect("sessions lock").remove(id)
    }

    /// The number of sessions signed in (for /metrics: a count, never a name).
    pub fn signed_in(&self) -> usize {
        self.map
            .lock()
            .expect("sessions lock")
            .values()
            .filter(|s| matches!(s.stage, Stage::In { .. }))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_session_is_gone_and_a_used_one_lives_on() {
        let s = Sessions::new(Duration::from_secs(900));
        let t0 = Instant::now();
        let (id, _) = s.start_at(t0);
        assert!(s.get_at(&id, t0 + Duration::from_secs(800)).is_some());
        assert!(
            s.get_at(&id, t0 + Duration::from_secs(1600)).is_some(),
            "the use at 800 s renewed it"
        );
        assert!(s.get_at(&id, t0 + Duration::from_secs(2600)).is_none());
        assert!(s.get_at(&id, t0 + Duration::from_secs(2601)).is_none());
    }

    #[test]
    fn signing_in_replaces_the_session_id_and_the_csrf_token() {
        let s = Sessions::new(Duration::from_secs(900));
        let (id, csrf) = s.start();
        let new = s
            .advance(
                &id,
                Stage::In {
                    user: "anna".into(),
                },
            )
            .unwrap();
        assert_ne!(new, id);
        assert!(s.get(&id).is_none(), "the pre-sign-in id is dead");
        let got = s.get(&new).unwrap();
        assert_ne!(got.csrf, csrf);
        assert_eq!(s.signed_in(), 1);
    }

    #[test]
    fn a_flood_of_sessions_is_capped() {
        let s = Sessions::new(Duration::from_secs(900));
        let t0 = Instant::now();
        let (first, _) = s.start_at(t0);
        for i in 0..MAX_SESSIONS {
            s.start_at(t0 + Duration::from_millis(i as u64 + 1));
        }
        assert_eq!(s.map.lock().unwrap().len(), MAX_SESSIONS);
        assert!(s.get_at(&first, t0).is_none(), "the oldest went first");
    }
}
