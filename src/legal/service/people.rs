//! People: the admin's operations on users (add, approve, revoke, list) and on the identity
//! register (import), and the service user's bootstrap of the first two admins. Every change
//! is audited before it is made and every refusal is audited; the users' table and the identity
//! register are changed nowhere else.

use serde_json::{json, Value};

use super::{sha_hex, LegalError, Service};
use crate::identity::ImportReport;
use crate::legal::auth::{AuthError, Caller, Person, Principal, Role};
use crate::legal::policy::Op;
use crate::legal::users::{Issued, Users};

/// A new user's token and one-time desk password, shown once; `pending` while it waits for a
/// second admin.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub token: String,
    pub desk_password: String,
    pub pending: bool,
}

impl Service {
    /// Adds a user for `person`; their token works at once for `ops`, and for every other role
    /// once a second admin has approved it ([`Service::user_approve`]).
    pub fn user_add(
        &self,
        caller: &Caller,
        name: &str,
        role: Role,
        person: Person,
    ) -> Result<NewToken, LegalError> {
        let now = self.clock.now();
        let query = json!({"user": name, "role": role.as_str(),
                           "employee_id": person.employee_id});
        let issued = self.change(caller, Op::UserAdd, query, |who| {
            Ok((
                Users::add(self.data_dir(), name, role, person, who, now)?,
                1,
            ))
        })?;
        Ok(NewToken {
            token: issued.token,
            desk_password: issued.desk_password,
            pending: role.needs_approval(),
        })
    }

    /// A second admin's approval of a pending user: another person than the admin who added
    /// it, and than the user's own person (`user.four_eyes`).
    pub fn user_approve(&self, caller: &Caller, name: &str) -> Result<Value, LegalError> {
        let now = self.clock.now();
        self.change(caller, Op::UserApprove, json!({"user": name}), |who| {
            Ok((
                Users::approve(self.data_dir(), name, who, now)?.view(name),
                1,
            ))
        })
    }

    /// A new one-time desk password for a user who lost theirs (or their second factor): the
    /// factor is cleared, and a user whose role needs approval waits for a second admin again.
    pub fn user_reset_password(&self, caller: &Caller, name: &str) -> Result<String, LegalError> {
        self.change(caller, Op::UserReset, json!({"user": name}), |_| {
            Ok((Users::desk_reset(self.data_dir(), name)?, 1))
        })
    }

    /// Revokes a user's token; the user stays listed, for the audit trail.
    pub fn user_revoke(&self, caller: &Caller, name: &str) -> Result<Value, LegalError> {
        let now = self.clock.now();
        self.change(caller, Op::UserRevoke, json!({"user": name}), |_| {
            Ok((Users::revoke(self.data_dir(), name, now)?.view(name), 1))
        })
    }

    /// Every user: name, role, person, state and who added and approved them.
    pub fn user_list(&self, caller: &Caller) -> Result<Vec<Value>, LegalError> {
        self.admit(caller, Op::UserList, None, &Value::Null)?;
        let users = Users::load(self.data_dir())?;
        let out: Vec<Value> = users.users.iter().map(|(n, u)| u.view(n)).collect();
        let mut e = self.entry(caller, Op::UserList, None, Value::Null);
        e.result_count = out.len() as u64;
        self.commit(e)?;
        Ok(out)
    }

    /// Imports a CRM export (the CSV's bytes): all rows or none. The audit entry names the
    /// file by its size and SHA-256, never its contents.
    pub fn identity_import(&self, caller: &Caller, csv: &[u8]) -> Result<ImportReport, LegalError> {
        let now = self.clock.now();
        let query = json!({"bytes": csv.len(), "sha256": sha_hex(csv)});
        self.change(caller, Op::IdentityImport, query, |_| {
            let r = self
                .identity()?
                .import_csv_bytes(csv, "the CRM export", now)?;
            Ok((r, r.rows))
        })
    }

    /// The service user's way in, before any admin exists: adds an admin, active at once,
    /// while fewer than two admins are active (the first two are different persons);
    /// `user.bootstrap_closed` after. The caller is the one the Unix socket gave;
    /// `service_user` says whether its peer uid is the daemon's own (anyone else is refused,
    /// `auth.forbidden`, audited); the entry names it `service user`.
    pub fn bootstrap_admin(
        &self,
        caller: &Caller,
        service_user: bool,
        name: &str,
        person: Person,
    ) -> Result<Issued, LegalError> {
        let from_service_user = service_user;
        let now = self.clock.now();
        let mut service_user = caller.clone();
        service_user.who = Err(AuthError::Missing);
        service_user.claimed = Some("service user".into());
        let query = json!({"user": name, "role": Role::Admin.as_str(),
                           "employee_id": person.employee_id});
        let entry = |outcome: String| {
            let mut e = self.entry(&service_user, Op::UserAdd, None, query.clone());
            e.action = "admin_bootstrap".into();
            e.outcome = outcome;
            e
        };
        if !from_service_user {
            let err = LegalError::Forbidden {
                role: "none",
                op: "admin_bootstrap (only the service user, on the box, may)",
            };
            let mut e = entry(format!("refused:{}", err.code()));
            e.actor = caller.peer.clone().unwrap_or_else(|| "unknown".into());
            if let Err(f) = self.audit.append(e) {
                tracing::error!(
                    code = f.code(),
                    "the audit entry of a refusal could not be written"
                );
            }
            return Err(err);
        }
        self.commit(entry("requested".into()))?;
        match Users::bootstrap(self.data_dir(), name, person, now) {
            Ok(token) => {
                self.commit(entry("ok".into()))?;
                Ok(token)
            }
            Err(err) => {
                let err = LegalError::from(err);
                if let Err(f) = self.audit.append(entry(format!("refused:{}", err.code()))) {
                    tracing::error!(
                        code = f.code(),
                        "the audit entry of a refusal could not be written"
                    );
                }
                Err(err)
            }
        }
    }

    /// An audited change: the caller is admitted, the request is audited before `f` changes
    /// anything, and `f`'s refusal or its outcome (with its count) is audited after.
    fn change<R>(
        &self,
        caller: &Caller,
        op: Op,
        query: Value,
        f: impl FnOnce(&Principal) -> Result<(R, u64), LegalError>,
    ) -> Result<R, LegalError> {
        let who = self.admit(caller, op, None, &query)?;
        let mut pending = self.entry(caller, op, None, query.clone());
        pending.outcome = "requested".into();
        self.commit(pending)?;
        match f(&who) {
            Ok((r, count)) => {
                let mut e = self.entry(caller, op, None, query);
                e.result_count = count;
                self.commit(e)?;
                Ok(r)
            }
            Err(err) => Err(self.refuse(caller, op, None, query, err)),
        }
    }
}
