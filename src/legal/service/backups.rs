//! Data at rest, for the people who run and audit the appliance: a backup made by the daemon
//! (ops, admins), the key store's escrow (admins), and the deletion certificates of expired
//! days (auditors). Each audited before it is done.

use serde_json::{json, Value};

use super::{sha_hex, LegalError, Service};
use crate::legal::auth::Caller;
use crate::legal::policy::Op;
use crate::model::fmt_time;

fn failed(e: impl Into<BackupFailure>) -> LegalError {
    let e = e.into();
    LegalError::BadRequest(e.0, e.1)
}

struct BackupFailure(crate::error::ErrorKind, String);

impl From<crate::legal::backup::BackupError> for BackupFailure {
    fn from(e: crate::legal::backup::BackupError) -> Self {
        BackupFailure(e.kind(), e.to_string())
    }
}

impl From<crate::keyring::KeyError> for BackupFailure {
    fn from(e: crate::keyring::KeyError) -> Self {
        BackupFailure(e.kind(), e.to_string())
    }
}

/// A path given by a client: absolute, so the daemon never writes relative to its own
/// working directory.
fn absolute(field: &str, p: &str) -> Result<std::path::PathBuf, LegalError> {
    let path = std::path::PathBuf::from(p);
    if !path.is_absolute() {
        return Err(LegalError::BadRequest(
            crate::error::ErrorKind::RequestInvalid,
            format!("{field}: {p:?} is not an absolute path"),
        ));
    }
    Ok(path)
}

impl Service {
    /// Makes a backup in `dir` ([`crate::legal::backup::create`]): audited (`backup_create`) before
    /// anything is copied, and again with the manifest's digest once it is made.
    pub fn backup_create(&self, caller: &Caller, dir: &str) -> Result<Value, LegalError> {
        let query = json!({"dir": dir});
        let who = self.admit(caller, Op::BackupCreate, None, &query)?;
        let mut e = self.entry(caller, Op::BackupCreate, None, query.clone());
        e.outcome = "started".into();
        self.commit(e)?;
        let path = absolute("dir", dir)?;
        let made = fmt_time(self.clock.now());
        let summary = crate::legal::backup::create(
            self.data_dir(),
            self.store.as_copy(),
            &path,
            &made,
            &who.name,
        )
        .map_err(failed)?;
        let mut e = self.entry(caller, Op::BackupCreate, None, query);
        e.outcome = "made".into();
        e.result_count = summary.files as u64;
        e.result_digest = Some(summary.manifest_sha256.clone());
        self.commit(e)?;
        Ok(json!(summary))
    }

    /// Writes the key store's escrow to `file` ([`crate::keyring::KeyStore::export`]): the
    /// wrapped keys, never the master key. Audited first.
    pub fn keys_export(&self, caller: &Caller, file: &str) -> Result<Value, LegalError> {
        let query = json!({"file": file});
        self.admit(caller, Op::KeysExport, None, &query)?;
        self.commit(self.entry(caller, Op::KeysExport, None, query))?;
        let path = absolute("file", file)?;
        let keys = crate::keyring::KeyStore::open(self.data_dir(), false).map_err(failed)?;
        let n = keys
            .export(&path, &fmt_time(self.clock.now()))
            .map_err(failed)?;
        let digest = std::fs::read(&path)
            .map(|b| sha_hex(&b))
            .unwrap_or_default();
        Ok(json!({"file": file, "keys": n, "appliance": keys.appliance(), "sha256": digest}))
    }

    /// The deletion certificates of expired days, oldest first (no personal data in them),
    /// each with `signature_valid`.
    pub fn certificates(&self, caller: &Caller) -> Result<Vec<Value>, LegalError> {
        self.admit(caller, Op::Certificates, None, &Value::Null)?;
        let certs = crate::store::retention::certificates(self.data_dir()).map_err(|e| {
            LegalError::BadRequest(crate::error::ErrorKind::LegalReadFailed, e.to_string())
        })?;
        let mut e = self.entry(caller, Op::Certificates, None, Value::Null);
        e.result_count = certs.len() as u64;
        self.commit(e)?;
        // Each checked against the appliance's public key (beside the body, which the
        // signature covers).
        let key =
            crate::audit::load_public_key_file(&crate::audit::public_key_path(self.data_dir()));
        Ok(certs
            .into_iter()
            .map(|mut c| {
                let ok = key.as_ref().is_ok_and(|k| super::verify_certificate(&c, k));
                c["signature_valid"] = json!(ok);
                c
            })
            .collect())
    }
}
