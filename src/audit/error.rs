//! Why the audit log could not be opened or extended, with the stable code each reason reports.

use std::io;

use crate::error::ErrorKind;

/// Why the audit log could not be opened or extended. Any of these on `append` means the caller
/// must not return data.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Creating, writing or syncing an audit file or directory failed.
    #[error("audit log write failed: {0}")]
    WriteFailed(#[source] io::Error),
    /// An earlier write failed, so the state on disk is unknown; reopen the log.
    #[error("audit log refuses appends after an earlier write failure; reopen it")]
    Poisoned,
    /// An existing audit file could not be read.
    #[error("audit log could not be read: {0}")]
    ReadFailed(#[source] io::Error),
    /// What is on disk is not a log this module wrote; it is left untouched.
    #[error("audit log is corrupt ({file}): {reason}")]
    Corrupt { file: String, reason: String },
    /// A key file is missing, unreadable, badly formed or too widely readable.
    #[error("audit key {file} is unusable: {reason}")]
    KeyUnreadable { file: String, reason: String },
    /// A new key could not be generated or stored (first start).
    #[error("audit key {file} could not be written: {source}")]
    KeyWriteFailed {
        file: String,
        #[source]
        source: io::Error,
    },
    /// The signing key does not verify the last checkpoint: the keys were replaced.
    #[error("the audit signing key does not verify the last checkpoint")]
    KeyMismatch,
    /// Another `AuditLog` (in this or another process) is appending to this log.
    #[error("the audit log is held by another writer")]
    Locked,
    /// The entry itself is unusable (programming error in the caller).
    #[error("audit entry rejected: {0}")]
    InvalidEntry(&'static str),
    /// The entry could not be serialised (e.g. the clock is out of range).
    #[error("audit entry could not be encoded: {0}")]
    Encode(String),
}

impl AuditError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuditError::WriteFailed(_) | AuditError::Poisoned => ErrorKind::AuditWriteFailed,
            AuditError::ReadFailed(_) => ErrorKind::AuditReadFailed,
            AuditError::Corrupt { .. } => ErrorKind::AuditCorrupt,
            AuditError::KeyUnreadable { .. } => ErrorKind::AuditKeyUnreadable,
            AuditError::KeyWriteFailed { .. } => ErrorKind::AuditKeyWriteFailed,
            AuditError::KeyMismatch => ErrorKind::AuditKeyMismatch,
            AuditError::Locked => ErrorKind::AuditLocked,
            AuditError::InvalidEntry(_) => ErrorKind::AuditInvalidEntry,
            AuditError::Encode(_) => ErrorKind::AuditEncodeFailed,
        }
    }

    /// Stable code for metrics labels, HTTP error bodies and CLI output.
    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

pub(super) fn corrupt(file: impl Into<String>, reason: impl Into<String>) -> AuditError {
    AuditError::Corrupt {
        file: file.into(),
        reason: reason.into(),
    }
}
