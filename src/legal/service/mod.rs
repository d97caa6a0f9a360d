//! The disclosure service: every operation a legal officer, security analyst or auditor can
//! ask for, the same for the HTTP API and the CLI. Each one checks the role against the policy
//! matrix, the case's state and scope, writes its audit entry, and only then returns data;
//! a refusal is audited too (invariant 1, fail-closed: no audit entry, no data).
//!
//! One [`Service`] holds what the operations need (configuration, store, audit sink, clock);
//! the daemon and the CLI each build one and hand it to the API or the commands. Its methods
//! are spread by job: [`cases`] (the case lifecycle), [`execute`] (running a case's scope),
//! [`lookups`] (lookups inside a case or an abuse ticket), [`disclose`] (reports, access
//! extracts and their letters), [`oversight`] (the auditor's view), [`people`] (the admin's
//! users and the identity register's import), [`intake`] (the quarantine and files handed in
//! for import), [`refusals`] (what a refusal's entry holds, and the per-peer limit on them),
//! [`rights`] (the data subject's restriction and rectification, and lifting a restriction)
//! and [`erasure`] (erasure of own-purpose data).

mod backups;
mod cases;
mod disclose;
mod erasure;
mod execute;
mod intake;
mod lookups;
mod notices;
mod orders;
mod oversight;
mod people;
mod refusals;
mod rights;
mod signin;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_access;
#[cfg(test)]
mod tests_clocks;
#[cfg(test)]
mod tests_rights;

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::case::{Case, CaseError};
use super::files::RegisterError;
use super::policy::Op;
use super::register::{self, CaseStoreError};
use super::users::UserError;
use crate::audit::{AuditFailure, Auditor, SignedHead};
use crate::audit::{AuditLog, NewEntry};
// The day `now` falls on in Sweden (orders are dated in Swedish time).
use crate::calendar::stockholm_day as today;
use crate::clock::Clock;
use crate::config::Config;
use crate::error::ErrorKind;
use crate::identity::{IdentityError, IdentityRegister};
use crate::model::UnixSecs;
use crate::store::{StoreAccess, StoreError};

pub use self::cases::{case_view, summary, DueFilter};
pub use self::erasure::{verify_certificate, verify_certificate_file};
pub use self::intake::QuarantineQuery;
pub use self::lookups::{render_calls, AddrQuery};
pub use self::notices::{notice_view, ClockCounts, LetterOut};
pub use self::orders::ORDER_MAX;
pub use self::oversight::{verify_audit_copy, AuditFilter, ExpectedHead, AUDIT_PAGE_MAX};
pub use self::people::NewToken;
pub use self::refusals::{RefusalLimit, SUMMARY_MAX};
pub use self::signin::Refused;
pub use super::auth::{AuthError, Caller, Principal};
pub use crate::ingest::handoff::Handoff;

/// Where entries go: the daemon's group-committing [`Auditor`] or a CLI's own [`AuditLog`].
pub trait AuditSink: Send + Sync {
    /// Appends an entry; its sequence number once it is durable.
    fn append(&self, e: NewEntry) -> Result<u64, AuditFailure>;
    fn pseudonym(&self, subscriber: &str) -> String;
    /// Seals what was appended (a signed checkpoint) where the sink does not do so itself.
    fn checkpoint(&self) -> Result<(), AuditFailure> {
        Ok(())
    }
    /// Signs the head (covering every entry appended so far) and returns it, for the auditor
    /// to record off the box. Only the writer holds the signing key, so only it can.
    fn signed_head(&self) -> Result<SignedHead, AuditFailure> {
        Err(AuditFailure {
            kind: ErrorKind::AuditReadFailed,
            detail: "this audit sink gives no signed head".into(),
        })
    }
}

fn failure(e: crate::audit::AuditError) -> AuditFailure {
    AuditFailure::from(&e)
}

/// A CLI command's own audit log, held for the command's run.
impl AuditSink for Mutex<AuditLog> {
    fn append(&self, e: NewEntry) -> Result<u64, AuditFailure> {
        let mut log = self.lock().expect("audit log lock");
        AuditLog::append(&mut log, e)
            .map(|a| a.seq)
            .map_err(failure)
    }
    fn pseudonym(&self, subscriber: &str) -> String {
        self.lock().expect("audit log lock").pseudonym(subscriber)
    }
    fn checkpoint(&self) -> Result<(), AuditFailure> {
        self.lock()
            .expect("audit log lock")
            .checkpoint()
            .map_err(failure)
    }
    fn signed_head(&self) -> Result<SignedHead, AuditFailure> {
        let mut log = self.lock().expect("audit log lock");
        log.checkpoint().map_err(failure)?;
        log.signed_head().ok_or_else(|| AuditFailure {
            kind: ErrorKind::AuditReadFailed,
            detail: "the audit log has no entries, so no signed head".into(),
        })
    }
}

impl AuditSink for Auditor {
    fn append(&self, e: NewEntry) -> Result<u64, AuditFailure> {
        self.append_blocking(e).map(|a| a.seq)
    }
    fn pseudonym(&self, subscriber: &str) -> String {
        Auditor::pseudonym(self, subscriber)
    }
    fn signed_head(&self) -> Result<SignedHead, AuditFailure> {
        self.signed_head_blocking()
    }
}

/// Why an operation gave no data. `code()` is stable; the text names the problem and holds
/// no personal data.
#[derive(Debug, thiserror::Error)]
pub enum LegalError {
    #[error("{0}")]
    Auth(AuthError),
    #[error("the {role} role may not {op}")]
    Forbidden {
        role: &'static str,
        op: &'static str,
    },
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error("the audit entry could not be written, so nothing is returned: {}", .0.detail)]
    Audit(AuditFailure),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    User(#[from] UserError),
    #[error("{1}")]
    BadRequest(ErrorKind, String),
}

impl From<CaseStoreError> for LegalError {
    fn from(e: CaseStoreError) -> Self {
        match e {
            CaseStoreError::Case(c) => LegalError::Case(c),
            CaseStoreError::Register(r) => LegalError::Register(r),
        }
    }
}

impl LegalError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            LegalError::Auth(a) => a.kind(),
            LegalError::Forbidden { .. } => ErrorKind::AuthForbidden,
            LegalError::Case(c) => c.kind(),
            LegalError::Register(r) => r.kind(),
            LegalError::Audit(a) => a.kind,
            LegalError::Store(s) => s.kind(),
            LegalError::Identity(i) => i.kind(),
            LegalError::User(u) => u.kind(),
            LegalError::BadRequest(kind, _) => *kind,
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

/// The legal service: configuration, the store (read only), the identity register (opened
/// when an operation needs it), the audit sink and the clock. Cheap to share behind an `Arc`;
/// every operation reads the clock once and works at that instant.
pub struct Service {
    cfg: Arc<Config>,
    store: Arc<dyn StoreAccess + Send + Sync>,
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn Clock>,
    refusals: refusals::RefusalLimiter,
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

impl Service {
    pub fn new(
        cfg: Arc<Config>,
        store: Arc<dyn StoreAccess + Send + Sync>,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn Clock>,
    ) -> Service {
        Service {
            cfg,
            store,
            audit,
            clock,
            refusals: refusals::RefusalLimiter::new(RefusalLimit::default()),
        }
    }

    /// The same service with another per-peer limit on written refusals (see [`RefusalLimit`]).
    pub fn with_refusal_limit(mut self, limit: RefusalLimit) -> Service {
        self.refusals = refusals::RefusalLimiter::new(limit);
        self
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The service's clock (the desk's "today" and "overdue" read it, not the system time).
    pub fn now(&self) -> UnixSecs {
        self.clock.now()
    }

    /// Seals the entries appended so far (a CLI command's log, before it exits), after writing
    /// the summaries of the refusals counted so far.
    pub fn checkpoint(&self) -> Result<(), AuditFailure> {
        self.flush_refusals();
        self.audit.checkpoint()
    }

    fn data_dir(&self) -> &Path {
        &self.cfg.data_dir
    }

    /// How long a case without a deadline runs after its registration (`legal.case_max_days`).
    fn case_max_secs(&self) -> i64 {
        i64::from(self.cfg.case_max_days) * 86_400
    }

    /// Opens the identity register, waiting briefly while an import holds it.
    fn identity(&self) -> Result<IdentityRegister, LegalError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match IdentityRegister::open(self.data_dir()) {
                Ok(r) => return Ok(r),
                Err(e)
                    if std::time::Instant::now() < deadline
                        && e.kind() == ErrorKind::IdentityOpenFailed =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn entry(&self, caller: &Caller, op: Op, case: Option<&str>, query: Value) -> NewEntry {
        let (actor, role) = match &caller.who {
            Ok(p) => (p.name.clone(), p.role.as_str().to_string()),
            Err(_) => (
                caller
                    .claimed
                    .clone()
                    .unwrap_or_else(|| "unauthenticated".to_string()),
                "none".to_string(),
            ),
        };
        NewEntry {
            actor,
            role: format!("{}:{role}", caller.channel),
            peer: caller.peer.clone(),
            action: op.as_str().into(),
            case: case.map(str::to_string),
            legal_basis: None,
            query,
            outcome: "ok".into(),
            result_count: 0,
            result_digest: None,
        }
    }

    /// Audits a refusal, bounded (see [`refusals`]; best effort: the request is refused
    /// whether or not this lands) and returns it.
    fn refuse(
        &self,
        caller: &Caller,
        op: Op,
        case: Option<&str>,
        query: Value,
        err: LegalError,
    ) -> LegalError {
        self.audit_refusal(caller, op, case, query, format!("refused:{}", err.code()));
        err
    }

    /// Authenticates and checks the role; a refusal is audited.
    fn admit(
        &self,
        caller: &Caller,
        op: Op,
        case: Option<&str>,
        query: &Value,
    ) -> Result<Principal, LegalError> {
        let who = match &caller.who {
            Ok(p) => p.clone(),
            Err(a) => {
                return Err(self.refuse(caller, op, case, query.clone(), LegalError::Auth(*a)))
            }
        };
        if !op.allows(who.role) {
            let err = LegalError::Forbidden {
                role: who.role.as_str(),
                op: op.as_str(),
            };
            return Err(self.refuse(caller, op, case, query.clone(), err));
        }
        Ok(who)
    }

    /// Admits the caller, reads the case and applies `check` (given the day of `now`); any
    /// refusal is audited.
    fn load_case(
        &self,
        caller: &Caller,
        op: Op,
        id: &str,
        query: &Value,
        now: UnixSecs,
        check: impl FnOnce(&Case, chrono::NaiveDate) -> Result<(), CaseError>,
    ) -> Result<(Principal, Case), LegalError> {
        let who = self.admit(caller, op, Some(id), query)?;
        let case = register::get(self.data_dir(), id)
            .map_err(LegalError::from)
            .and_then(|c| check(&c, today(now)).map(|()| c).map_err(LegalError::from));
        match case {
            Ok(c) => Ok((who, c)),
            Err(e) => Err(self.refuse(caller, op, Some(id), query.clone(), e)),
        }
    }

    fn commit(&self, e: NewEntry) -> Result<u64, LegalError> {
        self.audit.append(e).map_err(LegalError::Audit)
    }
}
