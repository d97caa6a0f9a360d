//! The audit trail (DESIGN.md "Audit log", invariant 1): an append-only, hash-chained log of every
//! read of traffic or identity data, with Ed25519-signed checkpoints of its head.
//!
//! What it promises:
//! - **Entry before answer.** An entry is on disk (fsynced) before [`AuditLog::append`] (or
//!   [`Auditor::append`]) returns; callers return data only when it succeeded. After any failed
//!   write the log refuses further appends until reopened (fail-closed).
//! - **Hash chain.** Every entry line carries the SHA-256 of its own bytes and the hash of the
//!   entry before it, so an edited, removed, inserted or reordered line breaks the chain.
//! - **Signed checkpoints.** The head is signed every so many entries, after an interval and on
//!   close, so a chain rewritten from some entry on fails the signature, and one cut below the
//!   last checkpoint fails it too.
//! - **Anchored off the box.** Every signed checkpoint also goes to the journal (tracing target
//!   `tdr::audit::anchor`) for the ISP's log forwarding, and [`AuditLog::signed_head`] gives the
//!   head an auditor records (`GET /v1/audit/head`). A log cut together with its checkpoint lines,
//!   or rewritten and re-signed with the signing key, is consistent on its own; it is caught
//!   against such a recorded head ([`verify_audit_dir`] with an [`ExpectedHead`]).
//! - **Verification.** [`verify`] re-walks chain and checkpoints and names the first bad place;
//!   it needs only the public key.
//! - **Bounded entries.** No entry grows with what a caller sends: text fields are cut at
//!   [`FIELD_MAX`] bytes, a query longer than [`QUERY_MAX`] is replaced by its size and keyed
//!   digest.
//!
//! Owns `<data_dir>/audit/` (segments, `checkpoints.log`, the writer lock) and `<data_dir>/keys/`
//! (signing and pseudonym keys). It does not decide policy (who may read what), never rewrites or
//! truncates what is on disk, and never logs entry contents: subscriber ids reach it already
//! pseudonymised. Entry and checkpoint times come only from the
//! [`Clock`](crate::clock::Clock) it is given.
//!
//! One job a file: `entry` (entry lines and their hash), `checkpoint` (signed checkpoint lines),
//! `keys` (key files, pseudonyms), `files` (durable append-only files, the writer lock),
//! `segments` (segment files and their rotation), `writer` ([`AuditLog`]), `verify` (the walk
//! along the chain), `auditor` ([`Auditor`], the daemon's shared writer thread).

mod auditor;
mod checkpoint;
mod entry;
mod error;
mod files;
mod keys;
mod segments;
#[cfg(test)]
mod test_support;
mod verify;
mod writer;

pub use auditor::{AuditFailure, Auditor};
pub use checkpoint::SignedHead;
pub use entry::{Appended, NewEntry, FIELD_MAX, QUERY_MAX};
pub use error::AuditError;
pub use keys::{load_public_key_file, public_key_path, verify_certificate, Pseudonymizer, Sealer};
pub use segments::{for_each_entry, read_entries};
pub use verify::{
    verify, verify_audit_dir, verify_expecting, verify_with_key, ExpectedHead, VerifyError,
    VerifyReport,
};
pub use writer::{AuditLog, AuditOptions};

/// `<data_dir>/audit/`: segments, checkpoints and the writer lock.
const AUDIT_DIR: &str = "audit";

/// The audit directory of a data directory (what [`verify_audit_dir`] reads by default).
pub fn audit_dir(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join(AUDIT_DIR)
}
/// `<data_dir>/keys/`: the signing and pseudonym keys.
const KEYS_DIR: &str = "keys";
/// The signed checkpoints, one line each, in `<data_dir>/audit/`.
const CHECKPOINTS_FILE: &str = "checkpoints.log";
