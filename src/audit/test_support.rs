//! What the unit tests of every audit file share: a fixed clock, a sample entry, a log written
//! with it, and the paths and lines of its files.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::segments::segment_name;
use super::{
    verify, AuditError, AuditLog, AuditOptions, NewEntry, VerifyError, AUDIT_DIR, CHECKPOINTS_FILE,
};
use crate::clock::{FixedClock, UnixSecs};

/// 2026-11-21T10:00:00Z
pub(super) const T0: UnixSecs = 1_795_255_200;
pub(super) const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub(super) fn open(dir: &Path) -> AuditLog {
    open_with(dir, AuditOptions::default())
}

pub(super) fn open_with(dir: &Path, opts: AuditOptions) -> AuditLog {
    AuditLog::open_with_options(dir, Arc::new(FixedClock::new(T0)), opts).expect("open")
}

/// Why opening the log of `dir` (at `T0`, with the production options) fails.
pub(super) fn open_err(dir: &Path) -> AuditError {
    AuditLog::open(dir, Arc::new(FixedClock::new(T0))).unwrap_err()
}

pub(super) fn entry(i: u64) -> NewEntry {
    NewEntry {
        actor: "officer-1".into(),
        role: "legal_officer".into(),
        peer: None,
        action: "lookup".into(),
        case: Some("C-2026-0001".into()),
        legal_basis: Some("ipred".into()),
        query: json!({"address": "198.51.100.7", "at": "2026-11-21T09:00:00Z", "port": 40000 + i}),
        outcome: "found".into(),
        result_count: 1,
        result_digest: Some(hex::encode(Sha256::digest(i.to_be_bytes()))),
    }
}

/// A log of `n` entries, closed (so its head is checkpointed).
pub(super) fn write_log(dir: &Path, n: u64, opts: AuditOptions) {
    let mut log = open_with(dir, opts);
    for i in 1..=n {
        log.append(entry(i)).expect("append");
    }
}

pub(super) fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(AUDIT_DIR).join(segment_name(n))
}

pub(super) fn checkpoints_path(dir: &Path) -> PathBuf {
    dir.join(AUDIT_DIR).join(CHECKPOINTS_FILE)
}

/// The lines of a file, each with its newline.
pub(super) fn read_lines(path: &Path) -> Vec<Vec<u8>> {
    let bytes = fs::read(path).expect("read");
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

pub(super) fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    fs::write(path, lines.concat()).expect("write");
}

pub(super) fn verify_err(dir: &Path) -> VerifyError {
    match verify(dir) {
        Ok(report) => panic!("verify passed on a tampered log: {report:?}"),
        Err(err) => err,
    }
}

pub(super) fn where_(err: &VerifyError) -> (&'static str, &str, u64, Option<u64>) {
    (err.code(), err.file.as_str(), err.line, err.seq)
}
