//! Who is asking: the roles, an authenticated principal, why a token was refused, and the
//! caller an operation is run for. Users (`users.rs`), the policy matrix (`policy.rs`) and the
//! service all read these; this module reads none of them, so the imports run one way.

use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;

/// What a user may do (DESIGN.md "Users").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Registers, approves, executes and discloses cases.
    Legal,
    /// Abuse lookups: pseudonyms only.
    Security,
    /// Reads and verifies the audit trail and statistics.
    Auditor,
    /// Runs the appliance: health and metrics only.
    Ops,
    /// Adds, approves and revokes users and imports the identity register; reads no traffic.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Legal,
        Role::Security,
        Role::Auditor,
        Role::Ops,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Legal => "legal",
            Role::Security => "security",
            Role::Auditor => "auditor",
            Role::Ops => "ops",
            Role::Admin => "admin",
        }
    }

    /// Whether a new user of this role takes effect only once a second admin approves it
    /// (every role that reads personal data or manages those who do).
    pub fn needs_approval(self) -> bool {
        !matches!(self, Role::Ops)
    }
}

/// The person a user account belongs to. One person may hold several accounts (roles);
/// four-eyes compares persons by `employee_id`, never account names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    pub employee_id: String,
}

/// Who is asking, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// The employee id of the person holding the account: what four-eyes compares.
    pub person: String,
}

/// Why a token was not accepted. `code()` is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token was given")]
    Missing,
    #[error("the token is not known")]
    Unknown,
    #[error("the token was revoked")]
    Revoked,
    #[error("the user waits for a second admin's approval")]
    Pending,
}

impl AuthError {
    pub fn kind(self) -> ErrorKind {
        match self {
            AuthError::Missing => ErrorKind::AuthMissingToken,
            AuthError::Unknown => ErrorKind::AuthInvalidToken,
            AuthError::Revoked => ErrorKind::AuthRevokedToken,
            AuthError::Pending => ErrorKind::AuthPending,
        }
    }

    pub fn code(self) -> &'static str {
        self.kind().code()
    }
}

/// Who asked and through what (`api` or `cli`), as the audit log records it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `Err` when authentication failed: the operation is refused and audited as such.
    pub who: Result<Principal, AuthError>,
    /// The user a refused token belonged to (a revoked or pending one), for the audit entry.
    pub claimed: Option<String>,
    pub channel: &'static str,
    /// Where the request came from: the peer's address (HTTP) or `uid N` (the Unix socket),
    /// for the audit entry and the per-peer limits. `None` inside the process.
    pub peer: Option<String>,
}
