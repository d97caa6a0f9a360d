//! Signing in to the desk and out of it, audited: every step that fails (a wrong password or
//! code, a locked or unusable account), every lock, every enrolment and password change, and
//! every completed sign-in and sign-out. The entry names the user only when the name is a known
//! user's; a mistyped name (which may be a password typed in the wrong field) is never written.
//! The desk keeps the sessions; the credentials are [`crate::legal::signin`]'s.

use serde_json::{json, Value};

use super::{LegalError, Service};
use crate::legal::auth::{AuthError, Caller, Principal};
use crate::legal::signin::{Next, SignInError, Step};
use crate::legal::users::Users;
use crate::model::fmt_time;

/// Why a sign-in step was refused, as the desk shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Wrong name, password or code (which one is not said).
    Bad,
    /// Locked until then.
    Locked(i64),
    /// The new password is too short or the one-time one.
    WeakPassword,
}

impl Service {
    /// Writes one sign-in entry: `action`, for `user` (a known user's name; signed in when
    /// `who` is given) from `peer`.
    fn signin_entry(
        &self,
        action: &str,
        user: Option<&str>,
        who: Option<Principal>,
        peer: Option<&str>,
        outcome: String,
        query: Value,
    ) -> Result<(), LegalError> {
        let caller = Caller {
            who: who.ok_or(AuthError::Missing),
            claimed: Some(user.unwrap_or("unknown user").to_string()),
            channel: "desk",
            peer: peer.map(str::to_string),
        };
        // The entry's action is set below; the operation only fills the common fields.
        let mut e = self.entry(&caller, crate::legal::policy::Op::Health, None, query);
        e.action = action.into();
        e.outcome = outcome;
        self.commit(e).map(|_| ())
    }

    /// Audits a step's outcome and turns it into the desk's answer.
    fn signin_step<T>(
        &self,
        action: &str,
        peer: Option<&str>,
        step: Step<T>,
    ) -> Result<Result<T, Refused>, LegalError> {
        let (user, res) = step;
        let (outcome, query, answer) = match res {
            Ok(v) => ("ok".to_string(), Value::Null, Ok(v)),
            Err(SignInError::Locked(until)) => (
                "refused:desk.locked".into(),
                json!({"locked_until": fmt_time(until)}),
                Err(Refused::Locked(until)),
            ),
            Err(SignInError::WeakPassword) => (
                "refused:desk.weak_password".into(),
                Value::Null,
                Err(Refused::WeakPassword),
            ),
            Err(SignInError::Bad | SignInError::NoAccount) => (
                "refused:desk.bad_credentials".into(),
                json!({"known_user": user.is_some()}),
                Err(Refused::Bad),
            ),
        };
        self.signin_entry(action, user.as_deref(), None, peer, outcome, query)?;
        Ok(answer)
    }

    /// The password step.
    pub fn desk_password(
        &self,
        name: &str,
        password: &str,
        peer: Option<&str>,
    ) -> Result<Result<Next, Refused>, LegalError> {
        let step = Users::desk_password(self.data_dir(), name, password, self.clock.now())?;
        self.signin_step("desk_signin_password", peer, step)
    }

    /// A one-time password replaced by the person's own.
    pub fn desk_set_password(
        &self,
        name: &str,
        password: &str,
        peer: Option<&str>,
    ) -> Result<Result<Next, Refused>, LegalError> {
        let step = Users::desk_set_password(self.data_dir(), name, password, self.clock.now())?;
        self.signin_step("desk_password_changed", peer, step)
    }

    /// The second factor enrolled.
    pub fn desk_enroll(
        &self,
        name: &str,
        secret: &str,
        code: &str,
        peer: Option<&str>,
    ) -> Result<Result<Principal, Refused>, LegalError> {
        let step = Users::desk_enroll(self.data_dir(), name, secret, code, self.clock.now())?;
        match self.signin_step("desk_totp_enrolled", peer, step)? {
            Ok(()) => self.signed_in(name, peer),
            Err(r) => Ok(Err(r)),
        }
    }

    /// The code step: the sign-in is complete.
    pub fn desk_code(
        &self,
        name: &str,
        code: &str,
        peer: Option<&str>,
    ) -> Result<Result<Principal, Refused>, LegalError> {
        let step = Users::desk_code(self.data_dir(), name, code, self.clock.now())?;
        match self.signin_step("desk_signin_code", peer, step)? {
            Ok(()) => self.signed_in(name, peer),
            Err(r) => Ok(Err(r)),
        }
    }

    /// The completed sign-in, audited, and who it is.
    fn signed_in(
        &self,
        name: &str,
        peer: Option<&str>,
    ) -> Result<Result<Principal, Refused>, LegalError> {
        let p = self.desk_principal(name).map_err(LegalError::Auth)?;
        self.signin_entry(
            "desk_signin",
            Some(name),
            Some(p.clone()),
            peer,
            "ok".into(),
            json!({"role": p.role.as_str()}),
        )?;
        Ok(Ok(p))
    }

    /// The user behind a desk session, checked again on every request: a revoked or pending
    /// user's session ends at once.
    pub fn desk_principal(&self, name: &str) -> Result<Principal, AuthError> {
        let users = Users::load(self.data_dir()).map_err(|_| AuthError::Unknown)?;
        users.principal(name)
    }

    /// Signing out (or a session ending idle): audited as the user.
    pub fn desk_signout(&self, caller: &Caller, why: &str) -> Result<(), LegalError> {
        let Ok(p) = &caller.who else {
            return Ok(());
        };
        self.signin_entry(
            "desk_signout",
            Some(&p.name),
            Some(p.clone()),
            caller.peer.as_deref(),
            "ok".into(),
            json!({"why": why}),
        )
    }
}
