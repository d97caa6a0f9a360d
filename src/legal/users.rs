//! Users and their bearer tokens. A token is shown once, when the user is added; only its
//! SHA-256 is stored (`<data_dir>/legal/users.json`, mode 0600). Tokens are 256 random bits, so
//! a plain hash is enough (no password stretching needed). Revoked users stay listed, with the
//! time of revocation, so the audit trail's actors remain known.
//!
//! Every user belongs to a person (name, employee id); four-eyes compares persons. A legal,
//! security, auditor or admin user added by an admin is `pending` until a second admin — a
//! different person from the one who added it, and not the user's own person — approves it; a
//! pending user's token authenticates nobody (`auth.pending`). The first two admins are added
//! by the service user on the box ([`Users::bootstrap`]), active at once, while fewer than two
//! admins are active.

use std::collections::BTreeMap;
use std::path::Path;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::auth::Caller;
pub use super::auth::{AuthError, Person, Principal, Role};
use super::files::{self, RegisterError};
use crate::error::ErrorKind;
use crate::model::{fmt_time, UnixSecs};

/// Whether a user's token works yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserState {
    /// Waits for a second admin's approval; the token authenticates nobody.
    Pending,
    /// Users stored before approvals existed read as active.
    #[default]
    Active,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub role: Role,
    /// The person holding the account. Absent only in tables written before persons existed;
    /// such a user counts as a person of their own (see [`User::person_key`]).
    #[serde(default)]
    pub person: Option<Person>,
    /// Hex SHA-256 of the token.
    pub token_sha256: String,
    pub created_at: UnixSecs,
    #[serde(default)]
    pub state: UserState,
    /// The admin who added the user; `None` for a bootstrapped admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<String>,
    /// That admin's employee id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by_person: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<UnixSecs>,
    #[serde(default)]
    pub revoked_at: Option<UnixSecs>,
    /// The desk's sign-in: password and second factor (see [`super::signin`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desk: Option<super::signin::DeskCredential>,
}

/// What a new user is given, shown once: the API token and the desk's one-time password.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    pub desk_password: String,
}

impl User {
    /// What four-eyes compares: the person's employee id (`user:<name>` for a user stored
    /// without a person).
    pub fn person_key(&self, name: &str) -> String {
        match &self.person {
            Some(p) => p.employee_id.clone(),
            None => format!("user:{name}"),
        }
    }

    /// `pending`, `active` or `revoked`.
    pub fn status(&self) -> &'static str {
        match (self.revoked_at, self.state) {
            (Some(_), _) => "revoked",
            (None, UserState::Pending) => "pending",
            (None, UserState::Active) => "active",
        }
    }

    fn is_active_admin(&self) -> bool {
        self.role == Role::Admin && self.status() == "active"
    }

    /// The user as an admin's listing shows it (never the token's hash).
    pub fn view(&self, name: &str) -> Value {
        json!({
            "name": name,
            "role": self.role.as_str(),
            "person": self.person,
            "state": self.status(),
            "created_at": fmt_time(self.created_at),
            "added_by": self.added_by,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at.map(fmt_time),
            "revoked_at": self.revoked_at.map(fmt_time),
        })
    }
}

const USERS_FILE: &str = "users.json";

/// The user table as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Users {
    pub users: BTreeMap<String, User>,
}

/// Why a change to the users was refused. `code()` is stable; the text names no token.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Invalid(String),
    #[error("a user of that name exists")]
    Exists,
    #[error("no such user")]
    NotFound,
    #[error("the user is {0}; this needs it {1}")]
    WrongState(&'static str, &'static str),
    #[error("four-eyes: {0}")]
    FourEyes(&'static str),
    #[error("two admins are active: further admins are added and approved by admins")]
    BootstrapClosed,
    #[error(transparent)]
    Register(#[from] RegisterError),
}

impl UserError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            UserError::Invalid(_) => ErrorKind::UserInvalid,
            UserError::Exists => ErrorKind::UserExists,
            UserError::NotFound => ErrorKind::UserNotFound,
            UserError::WrongState(..) => ErrorKind::UserWrongState,
            UserError::FourEyes(_) => ErrorKind::UserFourEyes,
            UserError::BootstrapClosed => ErrorKind::UserBootstrapClosed,
            UserError::Register(r) => r.kind(),
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
}

fn check_person(p: &Person) -> Result<(), UserError> {
    let name = p.name.trim();
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(UserError::Invalid(
            "a person's name is 1-128 characters without control characters".into(),
        ));
    }
    if !valid_name(&p.employee_id) {
        return Err(UserError::Invalid(
            "an employee id is 1-64 characters of letters, digits, . _ - @".into(),
        ));
    }
    Ok(())
}

impl Users {
    pub fn load(data_dir: &Path) -> Result<Users, RegisterError> {
        Ok(files::read_json(&files::legal_dir(data_dir).join(USERS_FILE))?.unwrap_or_default())
    }

    /// Changes the table under the register lock; `f` either changes it (stored atomically)
    /// or refuses (nothing is written).
    pub(super) fn update<R>(
        data_dir: &Path,
        f: impl FnOnce(&mut Users) -> Result<R, UserError>,
    ) -> Result<R, UserError> {
        let _lock = files::lock(data_dir)?;
        let mut users = Users::load(data_dir)?;
        let r = f(&mut users)?;
        files::write_json(&files::legal_dir(data_dir).join(USERS_FILE), &users)?;
        Ok(r)
    }

    /// Adds a user and returns their token (shown once, never stored). `by` is the admin
    /// adding it; a user of a role that [needs approval](Role::needs_approval) is pending
    /// until a second admin approves.
    pub fn add(
        data_dir: &Path,
        name: &str,
        role: Role,
        person: Person,
        by: &Principal,
        now: UnixSecs,
    ) -> Result<Issued, UserError> {
        let state = if role.needs_approval() {
            UserState::Pending
        } else {
            UserState::Active
        };
        Users::update(data_dir, |users| {
            users.insert(name, role, person, state, Some(by), now)
        })
    }

    /// The service user's way in: adds an active admin while fewer than two admins are
    /// active; the first two must be different persons.
    pub fn bootstrap(
        data_dir: &Path,
        name: &str,
        person: Person,
        now: UnixSecs,
    ) -> Result<Issued, UserError> {
        Users::update(data_dir, |users| {
            let admins: Vec<String> = users
                .users
                .iter()
                .filter(|(_, u)| u.is_active_admin())
                .map(|(n, u)| u.person_key(n))
                .collect();
            if admins.len() >= 2 {
                return Err(UserError::BootstrapClosed);
            }
            if admins.contains(&person.employee_id) {
                return Err(UserError::FourEyes(
                    "the first two admins are two different persons",
                ));
            }
            users.insert(name, Role::Admin, person, UserState::Active, None, now)
        })
    }

    fn insert(
        &mut self,
        name: &str,
        role: Role,
        person: Person,
        state: UserState,
        by: Option<&Principal>,
        now: UnixSecs,
    ) -> Result<Issued, UserError> {
        if !valid_name(name) {
            return Err(UserError::Invalid(
                "a user name is 1-64 characters of letters, digits, . _ - @".into(),
            ));
        }
        check_person(&person)?;
        if self.users.contains_key(name) {
            return Err(UserError::Exists);
        }
        let other_name = self
            .users
            .values()
            .filter_map(|u| u.person.as_ref())
            .any(|p| p.employee_id == person.employee_id && p.name.trim() != person.name.trim());
        if other_name {
            return Err(UserError::Invalid(
                "that employee id belongs to a person of another name".into(),
            ));
        }
        let mut raw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let token = format!("tdr_{}", hex::encode(raw));
        let desk_password = super::signin::one_time_password();
        let desk =
            super::signin::DeskCredential::issued(super::signin::hash_password(&desk_password));
        self.users.insert(
            name.to_string(),
            User {
                role,
                person: Some(person),
                token_sha256: token_hash(&token),
                created_at: now,
                state,
                added_by: by.map(|p| p.name.clone()),
                added_by_person: by.map(|p| p.person.clone()),
                approved_by: None,
                approved_at: None,
                revoked_at: None,
                desk: Some(desk),
            },
        );
        Ok(Issued {
            token,
            desk_password,
        })
    }

    /// A second admin's approval of a pending user: not the person who added it, nor the
    /// user's own person.
    pub fn approve(
        data_dir: &Path,
        name: &str,
        by: &Principal,
        now: UnixSecs,
    ) -> Result<User, UserError> {
        Users::update(data_dir, |users| {
            let u = users.users.get_mut(name).ok_or(UserError::NotFound)?;
            if u.status() != "pending" {
                return Err(UserError::WrongState(u.status(), "pending"));
            }
            if u.added_by_person.as_deref() == Some(by.person.as_str())
                || u.added_by.as_deref() == Some(by.name.as_str())
            {
                return Err(UserError::FourEyes(
                    "the admin who added a user cannot also approve it",
                ));
            }
            if u.person_key(name) == by.person {
                return Err(UserError::FourEyes("nobody approves their own account"));
            }
            u.state = UserState::Active;
            u.approved_by = Some(by.name.clone());
            u.approved_at = Some(now);
            Ok(u.clone())
        })
    }

    pub fn revoke(data_dir: &Path, name: &str, now: UnixSecs) -> Result<User, UserError> {
        Users::update(data_dir, |users| {
            let u = users.users.get_mut(name).ok_or(UserError::NotFound)?;
            if u.revoked_at.is_none() {
                u.revoked_at = Some(now);
            }
            Ok(u.clone())
        })
    }

    /// Who is calling: the user a bearer token belongs to, or why it is refused, with the name
    /// of a known user whose token was revoked or is pending (so the audit entry names them).
    pub fn caller(&self, token: Option<&str>, channel: &'static str) -> Caller {
        let who = self.authenticate(token);
        let claimed = match &who {
            Err(AuthError::Revoked | AuthError::Pending) => token.and_then(|t| {
                let h = token_hash(t.trim());
                self.users
                    .iter()
                    .find(|(_, u)| u.token_sha256 == h)
                    .map(|(n, _)| n.clone())
            }),
            _ => None,
        };
        Caller {
            who,
            claimed,
            channel,
            peer: None,
        }
    }

    /// The user `name`, if they may act now (the desk's sessions ask on every request).
    pub fn principal(&self, name: &str) -> Result<Principal, AuthError> {
        let user = self.users.get(name).ok_or(AuthError::Unknown)?;
        if user.revoked_at.is_some() {
            return Err(AuthError::Revoked);
        }
        if user.state == UserState::Pending {
            return Err(AuthError::Pending);
        }
        Ok(Principal {
            name: name.to_string(),
            role: user.role,
            person: user.person_key(name),
        })
    }

    /// The user a bearer token belongs to.
    pub fn authenticate(&self, token: Option<&str>) -> Result<Principal, AuthError> {
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err(AuthError::Missing);
        };
        let h = token_hash(token);
        let (name, user) = self
            .users
            .iter()
            .find(|(_, u)| u.token_sha256 == h)
            .ok_or(AuthError::Unknown)?;
        if user.revoked_at.is_some() {
            return Err(AuthError::Revoked);
        }
        if user.state == UserState::Pending {
            return Err(AuthError::Pending);
        }
        Ok(Principal {
            name: name.clone(),
            role: user.role,
            person: user.person_key(name),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, id: &str) -> Person {
        Person {
            name: name.into(),
            employee_id: id.into(),
        }
    }

    fn admin(name: &str, id: &str) -> Principal {
        Principal {
            name: name.into(),
            role: Role::Admin,
            person: id.into(),
        }
    }

    #[test]
    fn a_token_authenticates_once_approved_until_revoked_and_only_its_hash_is_stored() {
        let d = tempfile::tempdir().unwrap();
        let (ada, bo) = (admin("ada", "E1"), admin("bo", "E2"));
        let t = Users::add(
            d.path(),
            "anna",
            Role::Legal,
            person("Anna A", "E3"),
            &ada,
            1,
        )
        .unwrap()
        .token;
        assert!(t.starts_with("tdr_") && t.len() == 68);
        let stored = std::fs::read_to_string(d.path().join("legal/users.json")).unwrap();
        assert!(
            !stored.contains(&t[4..]),
            "the token itself is never stored"
        );
        let u = Users::load(d.path()).unwrap();
        assert_eq!(u.authenticate(Some(&t)), Err(AuthError::Pending));
        assert_eq!(u.caller(Some(&t), "api").claimed.as_deref(), Some("anna"));
        Users::approve(d.path(), "anna", &bo, 2).unwrap();
        let u = Users::load(d.path()).unwrap();
        assert_eq!(
            u.authenticate(Some(&t)).unwrap(),
            Principal {
                name: "anna".into(),
                role: Role::Legal,
                person: "E3".into(),
            }
        );
        assert_eq!(u.authenticate(None), Err(AuthError::Missing));
        assert_eq!(u.authenticate(Some("tdr_forged")), Err(AuthError::Unknown));
        let again = Users::add(d.path(), "anna", Role::Ops, person("Anna A", "E3"), &ada, 2);
        assert_eq!(again.unwrap_err().code(), "user.exists");
        let bad = Users::add(d.path(), "bad name", Role::Ops, person("B", "E9"), &ada, 2);
        assert_eq!(bad.unwrap_err().code(), "user.invalid");
        let stolen = Users::add(d.path(), "x", Role::Ops, person("Not Anna", "E3"), &ada, 2);
        assert_eq!(stolen.unwrap_err().code(), "user.invalid");
        // Ops sees no personal data: active at once.
        let ops = Users::add(d.path(), "olle", Role::Ops, person("Olle", "E4"), &ada, 2)
            .unwrap()
            .token;
        assert!(Users::load(d.path())
            .unwrap()
            .authenticate(Some(&ops))
            .is_ok());
        Users::revoke(d.path(), "anna", 3).unwrap();
        let u = Users::load(d.path()).unwrap();
        assert_eq!(u.authenticate(Some(&t)), Err(AuthError::Revoked));
        assert_eq!(
            Users::approve(d.path(), "anna", &bo, 4).unwrap_err().code(),
            "user.wrong_state"
        );
    }

    #[test]
    fn nobody_approves_their_own_account() {
        let d = tempfile::tempdir().unwrap();
        let ada = admin("ada", "E1");
        Users::add(
            d.path(),
            "bo-legal",
            Role::Legal,
            person("Bo", "E2"),
            &ada,
            1,
        )
        .unwrap();
        let err = Users::approve(d.path(), "bo-legal", &admin("bo", "E2"), 2).unwrap_err();
        assert_eq!(err.code(), "user.four_eyes");
    }
}
