//! The desk's credentials: a password (argon2id, PHC string) and a TOTP second factor per user,
//! kept with the user in `users.json` (0600, in the 0700 data directory). An admin issues a
//! one-time password when adding (or resetting) a user; the person replaces it and enrols the
//! second factor at their first sign-in. Five failures in a row (password or code) lock the user
//! for fifteen minutes. Nothing here audits: the service does, around these calls.

use std::path::Path;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::totp;
use super::users::{User, UserError, Users};
use crate::model::UnixSecs;

/// Failures in a row that lock a user.
pub const MAX_FAILURES: u32 = 5;
/// How long a lock lasts.
pub const LOCK_SECS: i64 = 15 * 60;
/// The shortest password a person may choose.
pub const MIN_PASSWORD: usize = 12;
const MAX_PASSWORD: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeskCredential {
    /// argon2id, as a PHC string (salt and parameters inside).
    pub password_phc: String,
    /// Issued by an admin: it must be replaced at the first sign-in.
    pub one_time: bool,
    /// The TOTP secret (base32); `None` until enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
    /// The last TOTP step used (a code is good once).
    #[serde(default)]
    pub totp_last_step: i64,
    /// Failures in a row since the last sign-in.
    #[serde(default)]
    pub failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<UnixSecs>,
}

/// What the next step of a sign-in is, once the password was right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The password was one-time: choose one.
    ChangePassword,
    /// No second factor yet: enrol one.
    Enroll,
    /// Give the code.
    Code,
}

/// Why a sign-in step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error("the user name, password or code is wrong")]
    Bad,
    #[error("too many failed attempts: the user is locked until {0}")]
    Locked(UnixSecs),
    #[error("the account cannot sign in to the desk (pending, revoked, or no desk password)")]
    NoAccount,
    #[error("a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters and not the one-time one")]
    WeakPassword,
}

/// A one-time password: 16 characters from an alphabet without look-alikes (about 80 bits),
/// grouped by four for reading aloud.
pub fn one_time_password() -> String {
    const A: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    let chars: Vec<char> = (0..16)
        .map(|_| A[rng.gen_range(0..A.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The argon2id hash of `password` (the crate's default cost: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password with a generated salt")
        .to_string()
}

fn password_matches(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash no password matches, verified for unknown users so that a wrong name takes as long
/// as a wrong password.
fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&one_time_password()))
}

impl DeskCredential {
    pub fn issued(phc: String) -> DeskCredential {
        DeskCredential {
            password_phc: phc,
            one_time: true,
            totp_secret: None,
            totp_last_step: 0,
            failures: 0,
            locked_until: None,
        }
    }

    fn locked(&self, now: UnixSecs) -> Option<UnixSecs> {
        self.locked_until.filter(|t| now < *t)
    }

    /// Counts a failure; the fifth in a row locks.
    fn failed(&mut self, now: UnixSecs) -> SignInError {
        self.failures += 1;
        if self.failures >= MAX_FAILURES {
            self.failures = 0;
            self.locked_until = Some(now + LOCK_SECS);
            return SignInError::Locked(now + LOCK_SECS);
        }
        SignInError::Bad
    }
}

/// The outcome of one step: the user's known name (for the audit entry) and the result.
pub type Step<T> = (Option<String>, Result<T, SignInError>);

fn usable(u: &mut User) -> Option<&mut DeskCredential> {
    if u.status() != "active" {
        return None;
    }
    u.desk.as_mut()
}

impl Users {
    /// Runs `f` on the user's credential under the register lock and stores what it changed
    /// (failures and locks too, so a lock survives a restart).
    fn with_credential<T>(
        data_dir: &Path,
        name: &str,
        now: UnixSecs,
        f: impl FnOnce(&mut DeskCredential) -> Result<T, SignInError>,
    ) -> Result<Step<T>, UserError> {
        Users::update(data_dir, |users| {
            let Some(user) = users.users.get_mut(name) else {
                return Ok((None, Err(SignInError::NoAccount)));
            };
            let Some(cred) = usable(user) else {
                return Ok((Some(name.to_string()), Err(SignInError::NoAccount)));
            };
            if let Some(until) = cred.locked(now) {
                return Ok((Some(name.to_string()), Err(SignInError::Locked(until))));
            }
            Ok((Some(name.to_string()), f(cred)))
        })
    }

    /// The password step: what comes next, or why not.
    pub fn desk_password(
        data_dir: &Path,
        name: &str,
        password: &str,
        now: UnixSecs,
    ) -> Result<Step<Next>, UserError> {
        // The hash is checked outside the lock (it takes tens of milliseconds); a change of
        // password in between is caught by comparing the hash again under the lock.
        let phc = Users::load(data_dir)?
            .users
            .get(name)
            .and_then(|u| u.desk.as_ref().map(|d| d.password_phc.clone()));
        let ok = password_matches(phc.as_deref().unwrap_or(decoy()), password);
        Users::with_credential(data_dir, name, now, |c| {
            if !ok || Some(&c.password_phc) != phc.as_ref() {
                return Err(c.failed(now));
            }
            Ok(if c.one_time {
                Next::ChangePassword
            } else if c.totp_secret.is_none() {
                Next::Enroll
            } else {
                Next::Code
            })
        })
    }

    /// Replaces a one-time password with the person's own.
    pub fn desk_set_password(
        data_dir: &Path,
        name: &str,
        password: &str,
        now: UnixSecs,
    ) -> Result<Step<Next>, UserError> {
        let n = password.chars().count();
        let old = Users::load(data_dir)?
            .users
            .get(name)
            .and_then(|u| u.desk.as_ref().map(|d| d.password_phc.clone()));
        let weak = !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n)
            || old
                .as_deref()
                .is_some_and(|o| password_matches(o, password));
        let phc = hash_password(password);
        Users::with_credential(data_dir, name, now, |c| {
            if weak {
                return Err(SignInError::WeakPassword);
            }
            c.password_phc = phc;
            c.one_time = false;
            Ok(if c.totp_secret.is_none() {
                Next::Enroll
            } else {
                Next::Code
            })
        })
    }

    /// Enrols `secret` once the person shows a code their app made from it.
    pub fn desk_enroll(
        data_dir: &Path,
        name: &str,
        secret: &str,
        code: &str,
        now: UnixSecs,
    ) -> Result<Step<()>, UserError> {
        Users::with_credential(data_dir, name, now, |c| {
            if c.one_time || c.totp_secret.is_some() {
                return Err(SignInError::Bad);
            }
            let Some(step) = totp::verify(secret, code, now, 0) else {
                return Err(c.failed(now));
            };
            c.totp_secret = Some(secret.to_string());
            c.totp_last_step = step;
            c.failures = 0;
            Ok(())
        })
    }

    /// The second factor: a fresh code ends the sign-in and clears the failures.
    pub fn desk_code(
        data_dir: &Path,
        name: &str,
        code: &str,
        now: UnixSecs,
    ) -> Result<Step<()>, UserError> {
        Users::with_credential(data_dir, name, now, |c| {
            let Some(secret) = c.totp_secret.clone().filter(|_| !c.one_time) else {
                return Err(SignInError::Bad);
            };
            let Some(step) = totp::verify(&secret, code, now, c.totp_last_step) else {
                return Err(c.failed(now));
            };
            c.totp_last_step = step;
            c.failures = 0;
            Ok(())
        })
    }

    /// An admin's reset: a new one-time password (returned, shown once), the second factor
    /// cleared, the lock lifted; a user of a role that needs approval waits for a second admin
    /// again, so one admin alone never holds a working sign-in for someone else.
    pub fn desk_reset(data_dir: &Path, name: &str) -> Result<String, UserError> {
        let password = one_time_password();
        let phc = hash_password(&password);
        Users::update(data_dir, |users| {
            let u = users.users.get_mut(name).ok_or(UserError::NotFound)?;
            if u.revoked_at.is_some() {
                return Err(UserError::WrongState("revoked", "active or pending"));
            }
            u.desk = Some(DeskCredential::issued(phc));
            if u.role.needs_approval() {
                u.state = super::users::UserState::Pending;
                u.approved_by = None;
                u.approved_at = None;
            }
            Ok(password)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legal::auth::{Person, Principal, Role};

    fn setup() -> (tempfile::TempDir, String) {
        let d = tempfile::tempdir().unwrap();
        let issued = Users::bootstrap(
            d.path(),
            "ada",
            Person {
                name: "Ada A".into(),
                employee_id: "E1".into(),
            },
            1,
        )
        .unwrap();
        (d, issued.desk_password)
    }

    #[test]
    fn first_sign_in_changes_the_password_then_enrols_then_asks_codes() {
        let (d, pw) = setup();
        let p = d.path();
        assert_eq!(
            Users::desk_password(p, "ada", &pw, 10).unwrap().1,
            Ok(Next::ChangePassword)
        );
        assert_eq!(
            Users::desk_set_password(p, "ada", "short", 10).unwrap().1,
            Err(SignInError::WeakPassword)
        );
        assert_eq!(
            Users::desk_set_password(p, "ada", &pw, 10).unwrap().1,
            Err(SignInError::WeakPassword),
            "the one-time password is not kept"
        );
        let mine = "correct horse battery staple";
        assert_eq!(
            Users::desk_set_password(p, "ada", mine, 10).unwrap().1,
            Ok(Next::Enroll)
        );
        assert_eq!(
            Users::desk_password(p, "ada", &pw, 11).unwrap().1,
            Err(SignInError::Bad),
            "the one-time password no longer works"
        );
        assert_eq!(
            Users::desk_password(p, "ada", mine, 12).unwrap().1,
            Ok(Next::Enroll)
        );
        let secret = totp::new_secret();
        let t = 1_800_000_000;
        let code = totp::code(&secret, t).unwrap();
        assert_eq!(
            Users::desk_enroll(p, "ada", &secret, &code, t).unwrap().1,
            Ok(())
        );
        assert_eq!(
            Users::desk_password(p, "ada", mine, t).unwrap().1,
            Ok(Next::Code)
        );
        assert_eq!(
            Users::desk_code(p, "ada", &code, t).unwrap().1,
            Err(SignInError::Bad),
            "the enrolment's code is used"
        );
        let next = totp::code(&secret, t + 30).unwrap();
        assert_eq!(Users::desk_code(p, "ada", &next, t + 30).unwrap().1, Ok(()));
        let stored = std::fs::read_to_string(p.join("legal/users.json")).unwrap();
        assert!(!stored.contains(mine) && stored.contains("$argon2id$"));
    }

    #[test]
    fn five_failures_lock_the_user_for_fifteen_minutes_even_with_the_right_password() {
        let (d, pw) = setup();
        let p = d.path();
        for i in 0..4 {
            assert_eq!(
                Users::desk_password(p, "ada", "wrong", 100 + i).unwrap().1,
                Err(SignInError::Bad)
            );
        }
        assert_eq!(
            Users::desk_password(p, "ada", "wrong", 104).unwrap().1,
            Err(SignInError::Locked(104 + LOCK_SECS))
        );
        assert_eq!(
            Users::desk_password(p, "ada", &pw, 105).unwrap().1,
            Err(SignInError::Locked(104 + LOCK_SECS)),
            "the right password does not open a locked account"
        );
        assert_eq!(
            Users::desk_password(p, "ada", &pw, 104 + LOCK_SECS)
                .unwrap()
                .1,
            Ok(Next::ChangePassword)
        );
    }

    #[test]
    fn an_unknown_user_and_a_pending_one_cannot_sign_in() {
        let (d, _) = setup();
        let (name, res) = Users::desk_password(d.path(), "nobody", "x", 1).unwrap();
        assert_eq!((name, res), (None, Err(SignInError::NoAccount)));
        let ada = Principal {
            name: "ada".into(),
            role: Role::Admin,
            person: "E1".into(),
        };
        let issued = Users::add(
            d.path(),
            "lena",
            Role::Legal,
            Person {
                name: "Lena L".into(),
                employee_id: "E7".into(),
            },
            &ada,
            2,
        )
        .unwrap();
        assert_eq!(
            Users::desk_password(d.path(), "lena", &issued.desk_password, 3)
                .unwrap()
                .1,
            Err(SignInError::NoAccount)
        );
    }

    #[test]
    fn a_reset_issues_a_new_one_time_password_clears_the_factor_and_needs_approval_again() {
        let (d, _) = setup();
        let pw = Users::desk_reset(d.path(), "ada").unwrap();
        let u = Users::load(d.path()).unwrap();
        let cred = u.users["ada"].desk.clone().unwrap();
        assert!(cred.one_time && cred.totp_secret.is_none());
        assert_eq!(u.users["ada"].status(), "pending");
        assert!(password_matches(&cred.password_phc, &pw));
    }
}
