//! Users and their bearer tokens. A token is shown once, when the user is added; only its
//! SHA-256 is stored (`<data_dir>/legal/users.json`, mode 0600). Tokens are 256 random bits, so
//! a plain hash is enough (no password stretching needed). Revoked users stay listed, with the
//! time of revocation, so the audit trail's actors remain known.

use std::collections::BTreeMap;
use std::path::Path;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::auth::Caller;
pub use super::auth::{AuthError, Principal, Role};
use super::files::{self, RegisterError};
use crate::model::UnixSecs;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub role: Role,
    /// Hex SHA-256 of the token.
    pub token_sha256: String,
    pub created_at: UnixSecs,
    #[serde(default)]
    pub revoked_at: Option<UnixSecs>,
}

const USERS_FILE: &str = "users.json";

/// The user table as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Users {
    pub users: BTreeMap<String, User>,
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

impl Users {
    pub fn load(data_dir: &Path) -> Result<Users, RegisterError> {
        Ok(files::read_json(&files::legal_dir(data_dir).join(USERS_FILE))?.unwrap_or_default())
    }

    /// Adds a user and returns their token (shown once, never stored).
    pub fn add(
        data_dir: &Path,
        name: &str,
        role: Role,
        now: UnixSecs,
    ) -> Result<String, RegisterError> {
        if !valid_name(name) {
            return Err(RegisterError::Invalid(
                "a user name is 1-64 characters of letters, digits, . _ - @".into(),
            ));
        }
        let _lock = files::lock(data_dir)?;
        let mut users = Users::load(data_dir)?;
        if users.users.contains_key(name) {
            return Err(RegisterError::Invalid(format!("user {name} exists")));
        }
        let mut raw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let token = format!("tdr_{}", hex::encode(raw));
        users.users.insert(
            name.to_string(),
            User {
                role,
                token_sha256: token_hash(&token),
                created_at: now,
                revoked_at: None,
            },
        );
        files::write_json(&files::legal_dir(data_dir).join(USERS_FILE), &users)?;
        Ok(token)
    }

    pub fn revoke(data_dir: &Path, name: &str, now: UnixSecs) -> Result<(), RegisterError> {
        let _lock = files::lock(data_dir)?;
        let mut users = Users::load(data_dir)?;
        let Some(u) = users.users.get_mut(name) else {
            return Err(RegisterError::Invalid(format!("no user {name}")));
        };
        if u.revoked_at.is_none() {
            u.revoked_at = Some(now);
        }
        files::write_json(&files::legal_dir(data_dir).join(USERS_FILE), &users)
    }

    /// Who is calling: the user a bearer token belongs to, or why it is refused, with the name
    /// of a known user whose token was revoked (so the audit entry of the refusal names them).
    pub fn caller(&self, token: Option<&str>, channel: &'static str) -> Caller {
        let who = self.authenticate(token);
        let claimed = match &who {
            Err(AuthError::Revoked) => token.and_then(|t| {
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
        Ok(Principal {
            name: name.clone(),
            role: user.role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_authenticates_until_revoked_and_only_its_hash_is_stored() {
        let d = tempfile::tempdir().unwrap();
        let t = Users::add(d.path(), "anna", Role::Legal, 1).unwrap();
        assert!(t.starts_with("tdr_") && t.len() == 68);
        let stored = std::fs::read_to_string(d.path().join("legal/users.json")).unwrap();
        assert!(
            !stored.contains(&t[4..]),
            "the token itself is never stored"
        );
        let u = Users::load(d.path()).unwrap();
        assert_eq!(
            u.authenticate(Some(&t)).unwrap(),
            Principal {
                name: "anna".into(),
                role: Role::Legal
            }
        );
        assert_eq!(u.authenticate(None), Err(AuthError::Missing));
        assert_eq!(u.authenticate(Some("tdr_forged")), Err(AuthError::Unknown));
        assert!(
            Users::add(d.path(), "anna", Role::Ops, 2).is_err(),
            "names are unique"
        );
        assert!(Users::add(d.path(), "bad name", Role::Ops, 2).is_err());
        Users::revoke(d.path(), "anna", 3).unwrap();
        let u = Users::load(d.path()).unwrap();
        assert_eq!(u.authenticate(Some(&t)), Err(AuthError::Revoked));
    }
}
