//! The audit trail (DESIGN.md "Audit log", invariant 1): an append-only, hash-chained log of every
//! read of traffic or identity data, Ed25519-signed checkpoints of its head, and [`verify`], which
//! re-walks chain and checkpoints and names the first bad entry.
//!
//! Owns `<data_dir>/audit/` (segments, `checkpoints.log`, the writer lock) and `<data_dir>/keys/`
//! (signing and pseudonym keys). An entry is on disk (fsynced) before [`AuditLog::append`]
//! returns; after any failed write the log refuses further appends until reopened (fail-closed).
//! It does not decide policy (who may read what), never rewrites or truncates what is on disk,
//! and never logs entry contents: subscriber ids reach it already pseudonymised.

use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::{Clock, UnixSecs};

const AUDIT_DIR: &str = "audit";
const KEYS_DIR: &str = "keys";
const CHECKPOINTS_FILE: &str = "checkpoints.log";
const WRITER_LOCK_FILE: &str = "writer.lock";
const SIGNING_KEY_FILE: &str = "audit-signing.key";
const PUBLIC_KEY_FILE: &str = "audit-signing.pub";
const HMAC_KEY_FILE: &str = "audit-hmac.key";

/// `prev` of the first entry, and the head hash of an empty log.
const ZERO_HASH: Digest32 = [0; 32];
/// Every entry line ends with `,"hash":"<64 hex>"}`; the hash covers all bytes before it.
const HASH_OPEN: &[u8] = b",\"hash\":\"";
const HASH_CLOSE: &[u8] = b"\"}";
const HASH_SUFFIX_LEN: usize = HASH_OPEN.len() + 64 + HASH_CLOSE.len();
/// Hex characters of the HMAC tag kept in a pseudonym (128 bits).
const PSEUDONYM_HEX_LEN: usize = 32;

type Digest32 = [u8; 32];

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

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
    /// Stable code for metrics labels, HTTP error bodies and CLI output.
    pub fn code(&self) -> &'static str {
        match self {
            AuditError::WriteFailed(_) | AuditError::Poisoned => "audit.write_failed",
            AuditError::ReadFailed(_) => "audit.read_failed",
            AuditError::Corrupt { .. } => "audit.corrupt",
            AuditError::KeyUnreadable { .. } => "audit.key_unreadable",
            AuditError::KeyWriteFailed { .. } => "audit.key_write_failed",
            AuditError::KeyMismatch => "audit.key_mismatch",
            AuditError::Locked => "audit.locked",
            AuditError::InvalidEntry(_) => "audit.invalid_entry",
            AuditError::Encode(_) => "audit.encode_failed",
        }
    }
}

/// Tunables; `Default` gives the production values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditOptions {
    /// A new segment is started when the next line would take the current one past this size.
    pub segment_max_bytes: u64,
    /// `append` writes a checkpoint once this many entries are unsigned (0: never by count).
    pub checkpoint_every: u64,
    /// `append` writes a checkpoint when the last one is at least this old (0: never by age).
    pub checkpoint_interval_secs: i64,
    /// How long `open` waits for another writer (the daemon, another command) to release the
    /// log before giving up with `audit.locked` (0: do not wait).
    pub lock_wait_ms: u64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            segment_max_bytes: 64 * 1024 * 1024,
            checkpoint_every: 100,
            checkpoint_interval_secs: 300,
            lock_wait_ms: 10_000,
        }
    }
}

/// One audit entry as the caller states it; seq, time and the chain are added by `append`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewEntry {
    pub actor: String,
    pub role: String,
    /// e.g. "lookup", "lookup_batch_item", "partition_drop", "import"
    pub action: String,
    pub case: Option<String>,
    /// e.g. "ipred", "law_enforcement", "abuse", "retention"
    pub legal_basis: Option<String>,
    /// The query as given, with subscriber ids already replaced by [`AuditLog::pseudonym`].
    pub query: serde_json::Value,
    /// e.g. "found", "not_found", "refused", "ok"
    pub outcome: String,
    pub result_count: u64,
    /// Hex SHA-256 of the result bytes returned to the caller.
    pub result_digest: Option<String>,
}

/// Where an entry landed in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    pub hash: String,
}

/// A log that verified: how much of it there is, and how much is covered by a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: u64,
    pub checkpoints: u64,
    pub head_seq: u64,
    pub head_hash: String,
    /// Seq of the last signed checkpoint (0 if none); entries after it are chained but unsigned.
    pub checkpointed_seq: u64,
}

/// The first problem `verify` found. `file` is a segment name (or `checkpoints.log`, or a key
/// file); `line` is 1-based, 0 when the problem is the file as a whole; `seq` is the position in
/// the chain where the problem sits (the seq the entry there should have), or the seq a bad
/// checkpoint claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    pub code: &'static str,
    pub file: String,
    pub line: u64,
    pub seq: Option<u64>,
    pub reason: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.file)?;
        if self.line > 0 {
            write!(f, " line {}", self.line)?;
        }
        if let Some(seq) = self.seq {
            write!(f, " (seq {seq})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for VerifyError {}

// ---------------------------------------------------------------------------------------------
// The writer
// ---------------------------------------------------------------------------------------------

/// The single writer of one data directory's audit log. Holds an exclusive lock on it for its
/// lifetime, so two writers can never fork the chain.
pub struct AuditLog {
    audit_dir: PathBuf,
    clock: Arc<dyn Clock>,
    opts: AuditOptions,
    signing_key: SigningKey,
    pseudonym_mac: Hmac<Sha256>,
    segment: AppendFile,
    segment_no: u64,
    checkpoints: AppendFile,
    head_seq: u64,
    head_hash: Digest32,
    checkpointed_seq: u64,
    last_checkpoint_at: UnixSecs,
    poisoned: bool,
    _writer_lock: File,
}

impl fmt::Debug for AuditLog {
    // Hand-written so that key material can never end up in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("audit_dir", &self.audit_dir)
            .field("segment_no", &self.segment_no)
            .field("head_seq", &self.head_seq)
            .field("checkpointed_seq", &self.checkpointed_seq)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens (creating on first start) `<data_dir>/audit/` and `<data_dir>/keys/` with the
    /// production options. See [`AuditLog::open_with_options`].
    pub fn open(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<AuditLog, AuditError> {
        Self::open_with_options(data_dir, clock, AuditOptions::default())
    }

    /// Opens the log: takes the writer lock, finds the head (last entry of the last segment),
    /// checks it against the last checkpoint, and loads the keys, generating them only when the
    /// log is new. A torn last line, a missing segment or a checkpoint past the head is
    /// `audit.corrupt`; nothing on disk is repaired or overwritten.
    pub fn open_with_options(
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        opts: AuditOptions,
    ) -> Result<AuditLog, AuditError> {
        let audit_dir = data_dir.join(AUDIT_DIR);
        let keys_dir = data_dir.join(KEYS_DIR);
        ensure_private_dir(&audit_dir)?;
        ensure_private_dir(&keys_dir)?;
        let writer_lock = lock_writer(&audit_dir, opts.lock_wait_ms)?;

        let segments = list_segments(&audit_dir).map_err(AuditError::ReadFailed)?;
        if let Some(missing) = first_missing_segment(&segments) {
            return Err(corrupt(segment_name(missing), "segment file is missing"));
        }
        let (head_seq, head_hash) = read_head(&audit_dir, &segments)?;
        let last_checkpoint = read_last_checkpoint(&audit_dir)?;
        let first_start = head_seq == 0 && last_checkpoint.is_none();
        let keys = load_or_create_keys(&keys_dir, first_start)?;
        let checkpointed_seq = match &last_checkpoint {
            Some(cp) => check_last_checkpoint(cp, head_seq, &head_hash, &keys.signing)?,
            None => 0,
        };

        let segment_no = segments.last().copied().unwrap_or(1);
        let segment = AppendFile::open_or_create(&audit_dir.join(segment_name(segment_no)))
            .map_err(AuditError::WriteFailed)?;
        let checkpoints = AppendFile::open_or_create(&audit_dir.join(CHECKPOINTS_FILE))
            .map_err(AuditError::WriteFailed)?;
        tracing::info!(head_seq, segment = segment_no, "audit log opened");

        Ok(AuditLog {
            audit_dir,
            last_checkpoint_at: clock.now(),
            clock,
            opts,
            signing_key: keys.signing,
            pseudonym_mac: keys.pseudonym_mac,
            segment,
            segment_no,
            checkpoints,
            head_seq,
            head_hash,
            checkpointed_seq,
            poisoned: false,
            _writer_lock: writer_lock,
        })
    }

    /// Appends one entry to the chain and fsyncs it before returning. On any error the caller
    /// must not return data; after a write error the log refuses appends until reopened.
    /// May also write a due checkpoint; if that fails the (already durable) entry is reported
    /// as failed too, which errs on the closed side.
    pub fn append(&mut self, entry: NewEntry) -> Result<Appended, AuditError> {
        if self.poisoned {
            return Err(AuditError::Poisoned);
        }
        validate_entry(&entry)?;
        let now = self.clock.now();
        let seq = self.head_seq + 1;
        let (line, hash) = encode_entry(seq, &rfc3339_utc(now)?, &entry, &self.head_hash)?;
        if let Err(err) = self.write_entry_line(&line) {
            self.poison(&err);
            return Err(err);
        }
        self.head_seq = seq;
        self.head_hash = hash;
        if self.checkpoint_due(now) {
            self.checkpoint()?;
        }
        Ok(Appended {
            seq,
            hash: hex::encode(hash),
        })
    }

    /// Appends several entries with one fsync (group commit): all are durable when this returns
    /// `Ok`, and on any error none may be treated as written (the caller returns no data for
    /// any of them; the log refuses further appends until reopened).
    pub fn append_group(&mut self, entries: &[NewEntry]) -> Result<Vec<Appended>, AuditError> {
        if self.poisoned {
            return Err(AuditError::Poisoned);
        }
        for e in entries {
            validate_entry(e)?;
        }
        let now = self.clock.now();
        let time = rfc3339_utc(now)?;
        let mut seq = self.head_seq;
        let mut head = self.head_hash;
        let mut out = Vec::with_capacity(entries.len());
        let mut written = Ok(());
        for e in entries {
            let (line, hash) = encode_entry(seq + 1, &time, e, &head)?;
            if let Err(err) = self.write_entry_line_unsynced(&line) {
                written = Err(err);
                break;
            }
            seq += 1;
            head = hash;
            out.push(Appended {
                seq,
                hash: hex::encode(hash),
            });
        }
        let written = written.and_then(|()| {
            self.segment
                .file
                .sync_data()
                .map_err(AuditError::WriteFailed)
        });
        if let Err(err) = written {
            self.poison(&err);
            return Err(err);
        }
        self.head_seq = seq;
        self.head_hash = head;
        if self.checkpoint_due(now) {
            self.checkpoint()?;
        }
        Ok(out)
    }

    /// A handle that computes [`AuditLog::pseudonym`] without holding the log.
    pub fn pseudonymizer(&self) -> Pseudonymizer {
        Pseudonymizer {
            mac: self.pseudonym_mac.clone(),
        }
    }

    /// Writes a signed checkpoint of the current head to `audit/checkpoints.log` and fsyncs it.
    /// No-op if the log is empty or the head is already checkpointed.
    pub fn checkpoint(&mut self) -> Result<(), AuditError> {
        if self.poisoned {
            return Err(AuditError::Poisoned);
        }
        if self.head_seq == 0 || self.head_seq == self.checkpointed_seq {
            return Ok(());
        }
        let now = self.clock.now();
        let line = encode_checkpoint(&self.signing_key, self.head_seq, &self.head_hash, now)?;
        if let Err(err) = self.checkpoints.append_line(&line) {
            let err = AuditError::WriteFailed(err);
            self.poison(&err);
            return Err(err);
        }
        self.checkpointed_seq = self.head_seq;
        self.last_checkpoint_at = now;
        tracing::debug!(seq = self.head_seq, "audit checkpoint written");
        Ok(())
    }

    /// Keyed pseudonym of a subscriber identifier: HMAC-SHA256 under this appliance's key,
    /// first 32 hex characters. Stable for one data directory, unlinkable across appliances.
    pub fn pseudonym(&self, subscriber: &str) -> String {
        pseudonym_with(&self.pseudonym_mac, subscriber)
    }

    /// Last seq (0 if the log is empty) and its hash in hex (64 zeros if empty).
    pub fn head(&self) -> (u64, String) {
        (self.head_seq, hex::encode(self.head_hash))
    }

    /// Like `write_entry_line` without the sync; a segment that fills up is synced before the
    /// next one is started, so one final sync of the current segment covers the whole group.
    fn write_entry_line_unsynced(&mut self, line: &[u8]) -> Result<(), AuditError> {
        if self.segment.len > 0
            && self.segment.len.saturating_add(line.len() as u64) > self.opts.segment_max_bytes
        {
            self.segment
                .file
                .sync_data()
                .map_err(AuditError::WriteFailed)?;
        }
        self.roll_segment_if_full(line.len() as u64)?;
        self.segment
            .write_line(line)
            .map_err(AuditError::WriteFailed)
    }

    fn write_entry_line(&mut self, line: &[u8]) -> Result<(), AuditError> {
        self.roll_segment_if_full(line.len() as u64)?;
        self.segment
            .append_line(line)
            .map_err(AuditError::WriteFailed)
    }

    /// Starts the next segment when `line_len` more bytes would take the current one past the
    /// limit. A line larger than the limit still goes into a fresh (empty) segment on its own.
    fn roll_segment_if_full(&mut self, line_len: u64) -> Result<(), AuditError> {
        let len = self.segment.len;
        if len == 0 || len.saturating_add(line_len) <= self.opts.segment_max_bytes {
            return Ok(());
        }
        let next = self.segment_no + 1;
        let path = self.audit_dir.join(segment_name(next));
        self.segment = AppendFile::create_new(&path).map_err(AuditError::WriteFailed)?;
        self.segment_no = next;
        tracing::info!(segment = next, "audit segment started");
        Ok(())
    }

    fn checkpoint_due(&self, now: UnixSecs) -> bool {
        let unsigned = self.head_seq - self.checkpointed_seq;
        let by_count = self.opts.checkpoint_every > 0 && unsigned >= self.opts.checkpoint_every;
        let by_age = self.opts.checkpoint_interval_secs > 0
            && now.saturating_sub(self.last_checkpoint_at) >= self.opts.checkpoint_interval_secs;
        by_count || (by_age && unsigned > 0)
    }

    fn poison(&mut self, err: &AuditError) {
        self.poisoned = true;
        tracing::error!(
            code = err.code(),
            head_seq = self.head_seq,
            "audit write failed; the log refuses appends until reopened"
        );
    }
}

impl Drop for AuditLog {
    /// Best effort: sign the head so a clean shutdown leaves no unsigned tail. Callers should
    /// still call `checkpoint` explicitly, where a failure can be reported.
    fn drop(&mut self) {
        if self.poisoned {
            return;
        }
        if let Err(err) = self.checkpoint() {
            tracing::warn!(code = err.code(), "final audit checkpoint failed");
        }
    }
}

/// Computes pseudonyms with an appliance's key; obtained from an open [`AuditLog`] and usable
/// after it is closed (a daemon releases the log between groups of entries).
#[derive(Clone)]
pub struct Pseudonymizer {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymizer")
    }
}

impl Pseudonymizer {
    /// A random key, for an auditor that can write nothing (its answers are never returned).
    pub fn throwaway() -> Pseudonymizer {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        Pseudonymizer {
            mac: Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length"),
        }
    }

    /// The same value [`AuditLog::pseudonym`] gives.
    pub fn pseudonym(&self, subscriber: &str) -> String {
        pseudonym_with(&self.mac, subscriber)
    }
}

fn pseudonym_with(mac: &Hmac<Sha256>, subscriber: &str) -> String {
    let mut mac = mac.clone();
    mac.update(subscriber.as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut out = hex::encode(tag);
    out.truncate(PSEUDONYM_HEX_LEN);
    out
}

fn validate_entry(entry: &NewEntry) -> Result<(), AuditError> {
    if entry.actor.is_empty() {
        return Err(AuditError::InvalidEntry("actor is empty"));
    }
    if entry.action.is_empty() {
        return Err(AuditError::InvalidEntry("action is empty"));
    }
    if let Some(digest) = &entry.result_digest {
        if decode_hash_hex(digest.as_bytes()).is_none() {
            return Err(AuditError::InvalidEntry(
                "result_digest is not 64 lowercase hex characters",
            ));
        }
    }
    Ok(())
}

fn corrupt(file: impl Into<String>, reason: impl Into<String>) -> AuditError {
    AuditError::Corrupt {
        file: file.into(),
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Line formats
// ---------------------------------------------------------------------------------------------

/// An entry without its hash, in the fixed field order of the on-disk format.
#[derive(Serialize)]
struct EntryBody<'a> {
    seq: u64,
    time: &'a str,
    actor: &'a str,
    role: &'a str,
    action: &'a str,
    case: Option<&'a str>,
    legal_basis: Option<&'a str>,
    query: &'a serde_json::Value,
    outcome: &'a str,
    result_count: u64,
    result_digest: Option<&'a str>,
    prev: &'a str,
}

/// An entry as read back. Every field must be present (`null` for an absent option) and no
/// other field may be; the values are only type-checked, the chain fields are used.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct StoredEntry {
    seq: u64,
    time: String,
    actor: String,
    role: String,
    action: String,
    #[serde(deserialize_with = "Option::deserialize")]
    case: Option<String>,
    #[serde(deserialize_with = "Option::deserialize")]
    legal_basis: Option<String>,
    query: serde_json::Value,
    outcome: String,
    result_count: u64,
    #[serde(deserialize_with = "Option::deserialize")]
    result_digest: Option<String>,
    prev: String,
    hash: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointLine {
    seq: u64,
    hash: String,
    time: String,
    sig: String,
}

/// The chain fields of an entry line whose hash and format checked out.
struct CheckedEntry {
    seq: u64,
    prev: Digest32,
    hash: Digest32,
}

/// A checkpoint line that parsed (its signature not yet checked).
struct ParsedCheckpoint {
    seq: u64,
    hash: Digest32,
    sig: Signature,
}

/// Why one entry line is bad.
enum LineFault {
    HashMismatch,
    Malformed(String),
}

impl LineFault {
    fn code(&self) -> &'static str {
        match self {
            LineFault::HashMismatch => "audit.hash_mismatch",
            LineFault::Malformed(_) => "audit.malformed",
        }
    }

    fn reason(&self) -> String {
        match self {
            LineFault::HashMismatch => "entry bytes do not match its hash (edited)".to_string(),
            LineFault::Malformed(why) => why.clone(),
        }
    }
}

/// Serialises an entry line (with trailing newline) and returns it with its hash.
fn encode_entry(
    seq: u64,
    time: &str,
    entry: &NewEntry,
    prev: &Digest32,
) -> Result<(Vec<u8>, Digest32), AuditError> {
    let prev_hex = hex::encode(prev);
    let body = EntryBody {
        seq,
        time,
        actor: &entry.actor,
        role: &entry.role,
        action: &entry.action,
        case: entry.case.as_deref(),
        legal_basis: entry.legal_basis.as_deref(),
        query: &entry.query,
        outcome: &entry.outcome,
        result_count: entry.result_count,
        result_digest: entry.result_digest.as_deref(),
        prev: &prev_hex,
    };
    let mut line = serde_json::to_vec(&body).map_err(|e| AuditError::Encode(e.to_string()))?;
    // The body serialises as `{…}`: the hash covers everything before the closing brace, which
    // is then replaced by `,"hash":"…"}`.
    if line.pop() != Some(b'}') {
        return Err(AuditError::Encode("entry is not a JSON object".to_string()));
    }
    let hash: Digest32 = Sha256::digest(&line).into();
    line.extend_from_slice(HASH_OPEN);
    line.extend_from_slice(hex::encode(hash).as_bytes());
    line.extend_from_slice(HASH_CLOSE);
    line.push(b'\n');
    Ok((line, hash))
}

/// Checks one entry line (without its newline) on its raw bytes, then its fields.
fn check_entry_line(line: &[u8]) -> Result<CheckedEntry, LineFault> {
    let (hashed, hash) = split_hash_suffix(line)?;
    if <[u8; 32]>::from(Sha256::digest(hashed)) != hash {
        return Err(LineFault::HashMismatch);
    }
    let entry: StoredEntry = serde_json::from_slice(line).map_err(|e| {
        // serde_json messages can quote field values; report only where and what kind.
        LineFault::Malformed(format!(
            "not a valid entry ({:?} error at column {})",
            e.classify(),
            e.column()
        ))
    })?;
    if entry.hash.as_bytes() != &line[line.len() - HASH_SUFFIX_LEN + HASH_OPEN.len()..][..64] {
        return Err(LineFault::Malformed(
            "hash field is not the last field".into(),
        ));
    }
    let prev = decode_hash_hex(entry.prev.as_bytes())
        .ok_or_else(|| LineFault::Malformed("prev is not 64 lowercase hex characters".into()))?;
    if !is_rfc3339_utc(&entry.time) {
        return Err(LineFault::Malformed("time is not RFC 3339 UTC".into()));
    }
    Ok(CheckedEntry {
        seq: entry.seq,
        prev,
        hash,
    })
}

/// Splits a line into the hashed prefix and the hash stored in its `,"hash":"…"}` suffix.
fn split_hash_suffix(line: &[u8]) -> Result<(&[u8], Digest32), LineFault> {
    if line.len() <= HASH_SUFFIX_LEN {
        return Err(LineFault::Malformed(
            "line is too short to be an entry".into(),
        ));
    }
    let (hashed, suffix) = line.split_at(line.len() - HASH_SUFFIX_LEN);
    let hash = suffix
        .strip_prefix(HASH_OPEN)
        .and_then(|rest| rest.strip_suffix(HASH_CLOSE))
        .and_then(decode_hash_hex)
        .ok_or_else(|| LineFault::Malformed("line does not end with a valid hash field".into()))?;
    Ok((hashed, hash))
}

/// Builds a signed checkpoint line (with trailing newline).
fn encode_checkpoint(
    key: &SigningKey,
    seq: u64,
    hash: &Digest32,
    now: UnixSecs,
) -> Result<Vec<u8>, AuditError> {
    let sig = key.sign(&checkpoint_message(seq, hash));
    let line = CheckpointLine {
        seq,
        hash: hex::encode(hash),
        time: rfc3339_utc(now)?,
        sig: hex::encode(sig.to_bytes()),
    };
    let mut bytes = serde_json::to_vec(&line).map_err(|e| AuditError::Encode(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The signed bytes of a checkpoint: seq (8 bytes big-endian) ‖ hash (32 raw bytes).
fn checkpoint_message(seq: u64, hash: &Digest32) -> [u8; 40] {
    let mut msg = [0u8; 40];
    msg[..8].copy_from_slice(&seq.to_be_bytes());
    msg[8..].copy_from_slice(hash);
    msg
}

fn parse_checkpoint_line(line: &[u8]) -> Result<ParsedCheckpoint, String> {
    let cp: CheckpointLine = serde_json::from_slice(line).map_err(|e| {
        format!(
            "not a valid checkpoint ({:?} error at column {})",
            e.classify(),
            e.column()
        )
    })?;
    let hash =
        decode_hash_hex(cp.hash.as_bytes()).ok_or("hash is not 64 lowercase hex characters")?;
    let mut sig = [0u8; 64];
    hex::decode_to_slice(&cp.sig, &mut sig).map_err(|_| "sig is not 128 hex characters")?;
    if !is_rfc3339_utc(&cp.time) {
        return Err("time is not RFC 3339 UTC".into());
    }
    Ok(ParsedCheckpoint {
        seq: cp.seq,
        hash,
        sig: Signature::from_bytes(&sig),
    })
}

fn checkpoint_signature_ok(cp: &ParsedCheckpoint, key: &VerifyingKey) -> bool {
    key.verify_strict(&checkpoint_message(cp.seq, &cp.hash), &cp.sig)
        .is_ok()
}

fn decode_hash_hex(hex_bytes: &[u8]) -> Option<Digest32> {
    let lower_hex = |b: &u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
    if hex_bytes.len() != 64 || !hex_bytes.iter().all(lower_hex) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_bytes, &mut out).ok()?;
    Some(out)
}

fn rfc3339_utc(t: UnixSecs) -> Result<String, AuditError> {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|dt| dt.to_rfc3339_opts(SecondsFormat::Secs, true))
        .ok_or_else(|| AuditError::Encode(format!("clock time {t} is out of range")))
}

fn is_rfc3339_utc(s: &str) -> bool {
    s.ends_with('Z') && DateTime::parse_from_rfc3339(s).is_ok()
}

// ---------------------------------------------------------------------------------------------
// Opening: head, last checkpoint, keys, lock
// ---------------------------------------------------------------------------------------------

/// The head of the chain: the last entry of the last non-empty segment. Only trailing segments
/// may be empty (a crash right after a new segment was created).
fn read_head(audit_dir: &Path, segments: &[u64]) -> Result<(u64, Digest32), AuditError> {
    for &n in segments.iter().rev() {
        let name = segment_name(n);
        match read_last_line(&audit_dir.join(&name)).map_err(AuditError::ReadFailed)? {
            LastLine::Empty => continue,
            LastLine::Torn => {
                return Err(corrupt(
                    name,
                    "last line is incomplete (torn write); refusing to append after it",
                ))
            }
            LastLine::Complete(line) => {
                let entry = check_entry_line(&line)
                    .map_err(|fault| corrupt(name, format!("last entry: {}", fault.reason())))?;
                return Ok((entry.seq, entry.hash));
            }
        }
    }
    Ok((0, ZERO_HASH))
}

fn read_last_checkpoint(audit_dir: &Path) -> Result<Option<ParsedCheckpoint>, AuditError> {
    let path = audit_dir.join(CHECKPOINTS_FILE);
    let last = match read_last_line(&path) {
        Ok(last) => last,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuditError::ReadFailed(e)),
    };
    match last {
        LastLine::Empty => Ok(None),
        LastLine::Torn => Err(corrupt(
            CHECKPOINTS_FILE,
            "last checkpoint line is incomplete",
        )),
        LastLine::Complete(line) => parse_checkpoint_line(&line)
            .map(Some)
            .map_err(|why| corrupt(CHECKPOINTS_FILE, format!("last checkpoint: {why}"))),
    }
}

/// The last checkpoint must lie within the log, match it at its seq when that is the head, and
/// verify with our key. Returns the checkpointed seq.
fn check_last_checkpoint(
    cp: &ParsedCheckpoint,
    head_seq: u64,
    head_hash: &Digest32,
    key: &SigningKey,
) -> Result<u64, AuditError> {
    if cp.seq > head_seq {
        return Err(corrupt(
            CHECKPOINTS_FILE,
            format!(
                "a signed checkpoint covers seq {} but the log ends at seq {head_seq} (truncated)",
                cp.seq
            ),
        ));
    }
    if cp.seq == head_seq && cp.hash != *head_hash {
        return Err(corrupt(
            CHECKPOINTS_FILE,
            format!("last checkpoint does not match entry {head_seq}"),
        ));
    }
    if !checkpoint_signature_ok(cp, &key.verifying_key()) {
        return Err(AuditError::KeyMismatch);
    }
    Ok(cp.seq)
}

struct Keys {
    signing: SigningKey,
    pseudonym_mac: Hmac<Sha256>,
}

/// Loads the keys; on a new log (`first_start`) generates whichever secret key is missing. The
/// public key is derived, so it is (re)written when missing and must match when present.
fn load_or_create_keys(keys_dir: &Path, first_start: bool) -> Result<Keys, AuditError> {
    let hmac_key = load_or_create_secret(keys_dir, HMAC_KEY_FILE, first_start)?;
    let seed = load_or_create_secret(keys_dir, SIGNING_KEY_FILE, first_start)?;
    let signing = SigningKey::from_bytes(&seed);
    let public_hex = hex::encode(signing.verifying_key().as_bytes());

    let pub_path = keys_dir.join(PUBLIC_KEY_FILE);
    match fs::read_to_string(&pub_path) {
        Ok(stored) if stored.trim() == public_hex => {}
        Ok(_) => {
            return Err(key_unreadable(
                PUBLIC_KEY_FILE,
                "does not match the signing key",
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            write_key_file(&pub_path, &public_hex, 0o644).map_err(|source| {
                AuditError::KeyWriteFailed {
                    file: key_file_label(PUBLIC_KEY_FILE),
                    source,
                }
            })?;
        }
        Err(e) => return Err(key_unreadable(PUBLIC_KEY_FILE, e.to_string())),
    }

    let pseudonym_mac = <Hmac<Sha256> as Mac>::new_from_slice(&hmac_key)
        .map_err(|_| key_unreadable(HMAC_KEY_FILE, "unusable as an HMAC key"))?;
    Ok(Keys {
        signing,
        pseudonym_mac,
    })
}

fn load_or_create_secret(
    keys_dir: &Path,
    name: &str,
    first_start: bool,
) -> Result<[u8; 32], AuditError> {
    let path = keys_dir.join(name);
    if let Some(key) = read_secret_key(&path, name)? {
        return Ok(key);
    }
    if !first_start {
        return Err(key_unreadable(
            name,
            "missing, but the audit log already has entries signed or keyed with it",
        ));
    }
    let write_failed = |source| AuditError::KeyWriteFailed {
        file: key_file_label(name),
        source,
    };
    let mut key = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut key)
        .map_err(|e| write_failed(io::Error::other(e.to_string())))?;
    write_key_file(&path, &hex::encode(key), 0o600).map_err(write_failed)?;
    tracing::info!(file = name, "audit key generated");
    Ok(key)
}

/// Reads a 32-byte hex secret; `None` if the file does not exist. Refuses files that group or
/// others may read.
fn read_secret_key(path: &Path, name: &str) -> Result<Option<[u8; 32]>, AuditError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(key_unreadable(name, e.to_string())),
    };
    let mode = file
        .metadata()
        .map_err(|e| key_unreadable(name, e.to_string()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(key_unreadable(
            name,
            format!(
                "mode {:o} lets group or others read it; expected 600",
                mode & 0o777
            ),
        ));
    }
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| key_unreadable(name, e.to_string()))?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut key)
        .map_err(|_| key_unreadable(name, "not 64 hex characters"))?;
    Ok(Some(key))
}

/// Writes a key file atomically (temporary file, fsync, rename, fsync of the directory).
fn write_key_file(path: &Path, hex_text: &str, mode: u32) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)?;
    // `mode` applies only to a new file; a leftover temporary file gets it here.
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(hex_text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    fsync_parent_dir(path)
}

fn key_file_label(name: &str) -> String {
    format!("{KEYS_DIR}/{name}")
}

fn key_unreadable(name: &str, reason: impl Into<String>) -> AuditError {
    AuditError::KeyUnreadable {
        file: key_file_label(name),
        reason: reason.into(),
    }
}

/// Takes the exclusive, non-blocking writer lock; it is released when the file is closed.
/// Takes the exclusive writer lock, polling for up to `wait_ms` while another writer holds it.
fn lock_writer(audit_dir: &Path, wait_ms: u64) -> Result<File, AuditError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(wait_ms);
    loop {
        match try_lock_writer(audit_dir) {
            Err(AuditError::Locked) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            other => return other,
        }
    }
}

fn try_lock_writer(audit_dir: &Path) -> Result<File, AuditError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(audit_dir.join(WRITER_LOCK_FILE))
        .map_err(AuditError::WriteFailed)?;
    // SAFETY: flock only operates on the descriptor, which `file` owns and keeps open.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(file);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Err(AuditError::Locked)
    } else {
        Err(AuditError::WriteFailed(err))
    }
}

// ---------------------------------------------------------------------------------------------
// Files and directories
// ---------------------------------------------------------------------------------------------

/// A file opened with O_APPEND that is written one whole line per `write` call, and that
/// refuses to write once the path no longer names it (moved, deleted or replaced), since
/// entries written to an unlinked file would be lost without an error.
struct AppendFile {
    path: PathBuf,
    file: File,
    len: u64,
    dev: u64,
    ino: u64,
}

impl AppendFile {
    fn open_or_create(path: &Path) -> io::Result<AppendFile> {
        match OpenOptions::new().append(true).open(path) {
            Ok(file) => Self::from_file(path, file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::create_new(path),
            Err(e) => Err(e),
        }
    }

    /// Creates the file (never an existing one) and makes its directory entry durable.
    fn create_new(path: &Path) -> io::Result<AppendFile> {
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        fsync_parent_dir(path)?;
        Self::from_file(path, file)
    }

    fn from_file(path: &Path, file: File) -> io::Result<AppendFile> {
        let meta = file.metadata()?;
        Ok(AppendFile {
            path: path.to_path_buf(),
            file,
            len: meta.len(),
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// One `write` of the whole line, then `sync_data`.
    fn append_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.write_line(line)?;
        self.file.sync_data()
    }

    /// One `write` of the whole line, not yet synced.
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.ensure_still_linked()?;
        let written = self.file.write(line)?;
        if written != line.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short write ({written} of {} bytes)", line.len()),
            ));
        }
        self.len += written as u64;
        Ok(())
    }

    fn ensure_still_linked(&self) -> io::Result<()> {
        let meta = fs::symlink_metadata(&self.path)?;
        if meta.dev() == self.dev && meta.ino() == self.ino {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "{} was moved or replaced while open",
                self.path.display()
            )))
        }
    }
}

/// Creates `dir` (mode 0700) if it does not exist and makes the new entry durable.
fn ensure_private_dir(dir: &Path) -> Result<(), AuditError> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(AuditError::WriteFailed(io::Error::other(format!(
                "{} exists and is not a directory",
                dir.display()
            ))))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(AuditError::WriteFailed(e)),
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .and_then(|()| fsync_dir(dir))
        .and_then(|()| fsync_parent_dir(dir))
        .map_err(AuditError::WriteFailed)
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn fsync_parent_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => fsync_dir(parent),
        _ => fsync_dir(Path::new(".")),
    }
}

fn segment_name(n: u64) -> String {
    format!("audit-{n:06}.log")
}

/// Numbers of the segment files present, ascending. Other files are ignored.
fn list_segments(audit_dir: &Path) -> io::Result<Vec<u64>> {
    let mut numbers = Vec::new();
    for dirent in fs::read_dir(audit_dir)? {
        let name = dirent?.file_name();
        let Some(name) = name.to_str() else { continue };
        let number = name
            .strip_prefix("audit-")
            .and_then(|rest| rest.strip_suffix(".log"))
            .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<u64>().ok());
        if let Some(n) = number.filter(|&n| segment_name(n) == name) {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

/// Segments are numbered 1, 2, 3, … without gaps; returns the first number that is absent.
fn first_missing_segment(segments: &[u64]) -> Option<u64> {
    (1..)
        .zip(segments)
        .find(|&(expected, &n)| n != expected)
        .map(|(expected, _)| expected)
}

enum LastLine {
    Empty,
    /// The file does not end with a newline.
    Torn,
    /// The last line, without its newline.
    Complete(Vec<u8>),
}

/// Reads the last line of a file from its end, in chunks.
fn read_last_line(path: &Path) -> io::Result<LastLine> {
    const CHUNK: u64 = 8192;
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(LastLine::Empty);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        return Ok(LastLine::Torn);
    }
    // Collect the bytes between the previous newline (or the start) and the final newline.
    let mut line = Vec::new();
    let mut end = len - 1;
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; (end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        let newline = chunk.iter().rposition(|&b| b == b'\n');
        if let Some(i) = newline {
            chunk.drain(..=i);
        }
        chunk.extend_from_slice(&line);
        line = chunk;
        if newline.is_some() {
            break;
        }
        end = start;
    }
    Ok(LastLine::Complete(line))
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

/// Re-walks the whole log of `data_dir` against the public key in `keys/audit-signing.pub`.
/// Entries with seq > `after`, oldest first, at most `limit`, as stored (for the auditor's API).
/// Reads segment files only; it neither checks the chain (that is [`verify`]) nor takes the lock.
pub fn read_entries(
    data_dir: &Path,
    after: u64,
    limit: usize,
) -> io::Result<Vec<serde_json::Value>> {
    let dir = data_dir.join(AUDIT_DIR);
    let mut out = Vec::new();
    let segments = match list_segments(&dir) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for n in segments {
        let f = File::open(dir.join(segment_name(n)))?;
        for line in BufReader::new(f).lines() {
            let line = line?;
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue; // a torn tail; verify reports it
            };
            if v["seq"].as_u64().is_some_and(|s| s > after) {
                out.push(v);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

pub fn verify(data_dir: &Path) -> Result<VerifyReport, VerifyError> {
    let key = load_public_key(data_dir)?;
    verify_with_key(data_dir, &key)
}

/// Re-walks the whole log against a public key the auditor holds independently (so that a
/// replaced `keys/audit-signing.pub` with a re-signed log is caught too).
///
/// Checks, in order: every checkpoint line parses, is newer than the one before and carries a
/// valid signature; every segment exists (numbered without gaps); every entry line is complete,
/// its bytes match its hash, its seq is the next one and its `prev` is the previous hash; every
/// checkpoint matches the entry at its seq; and the log reaches the last checkpoint.
pub fn verify_with_key(data_dir: &Path, key: &VerifyingKey) -> Result<VerifyReport, VerifyError> {
    let audit_dir = data_dir.join(AUDIT_DIR);
    // Checkpoints are read first: a live writer only checkpoints entries it has already
    // written, so every checkpoint read here is reachable in the segments read next.
    let checkpoints = read_checkpoints(&audit_dir, key)?;
    let segments = list_segments(&audit_dir).map_err(|e| {
        VerifyError::whole_file("audit.read_failed", AUDIT_DIR, None, e.to_string())
    })?;
    let mut walk = ChainWalk::new(checkpoints.as_deref().unwrap_or_default());
    for (expected, n) in (1..).zip(segments) {
        if n != expected {
            return Err(walk.missing_segment(expected));
        }
        walk.segment(&audit_dir, n)?;
    }
    walk.finish(checkpoints.is_some())
}

impl VerifyError {
    fn whole_file(
        code: &'static str,
        file: impl Into<String>,
        seq: Option<u64>,
        reason: impl Into<String>,
    ) -> VerifyError {
        VerifyError {
            code,
            file: file.into(),
            line: 0,
            seq,
            reason: reason.into(),
        }
    }
}

fn load_public_key(data_dir: &Path) -> Result<VerifyingKey, VerifyError> {
    let label = key_file_label(PUBLIC_KEY_FILE);
    let unreadable =
        |why: String| VerifyError::whole_file("audit.key_unreadable", &label, None, why);
    let text = fs::read_to_string(data_dir.join(KEYS_DIR).join(PUBLIC_KEY_FILE))
        .map_err(|e| unreadable(e.to_string()))?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes)
        .map_err(|_| unreadable("not 64 hex characters".into()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| unreadable("not an Ed25519 public key".into()))
}

/// A checkpoint whose signature verified, with the line it came from.
struct SignedCheckpoint {
    seq: u64,
    hash: Digest32,
    line: u64,
}

/// All checkpoints, each signature-checked and strictly increasing in seq; `None` if the file
/// does not exist.
fn read_checkpoints(
    audit_dir: &Path,
    key: &VerifyingKey,
) -> Result<Option<Vec<SignedCheckpoint>>, VerifyError> {
    let read_failed = |e: io::Error| {
        VerifyError::whole_file("audit.read_failed", CHECKPOINTS_FILE, None, e.to_string())
    };
    let file = match File::open(audit_dir.join(CHECKPOINTS_FILE)) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_failed(e)),
    };
    let mut reader = BufReader::new(file);
    let mut checkpoints: Vec<SignedCheckpoint> = Vec::new();
    let mut buf = Vec::new();
    for line_no in 1.. {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(read_failed)? == 0 {
            break;
        }
        let bad = |code, seq, reason: String| VerifyError {
            code,
            file: CHECKPOINTS_FILE.to_string(),
            line: line_no,
            seq,
            reason,
        };
        let Some(line) = buf.strip_suffix(b"\n") else {
            let reason = "partial last line (no newline)".to_string();
            return Err(bad("audit.checkpoint_malformed", None, reason));
        };
        let cp = parse_checkpoint_line(line)
            .map_err(|why| bad("audit.checkpoint_malformed", None, why))?;
        if !checkpoint_signature_ok(&cp, key) {
            let reason = "signature does not verify with the audit public key".to_string();
            return Err(bad("audit.checkpoint_bad_signature", Some(cp.seq), reason));
        }
        if let Some(before) = checkpoints.last().filter(|before| cp.seq <= before.seq) {
            let reason = format!("seq is not after the previous checkpoint's {}", before.seq);
            return Err(bad("audit.checkpoint_order", Some(cp.seq), reason));
        }
        checkpoints.push(SignedCheckpoint {
            seq: cp.seq,
            hash: cp.hash,
            line: line_no,
        });
    }
    Ok(Some(checkpoints))
}

/// State of the walk along the chain, segment by segment.
struct ChainWalk<'a> {
    checkpoints: &'a [SignedCheckpoint],
    next_checkpoint: usize,
    next_seq: u64,
    prev: Digest32,
    last_file: String,
    last_file_lines: u64,
}

impl<'a> ChainWalk<'a> {
    fn new(checkpoints: &'a [SignedCheckpoint]) -> Self {
        ChainWalk {
            checkpoints,
            next_checkpoint: 0,
            next_seq: 1,
            prev: ZERO_HASH,
            last_file: segment_name(1),
            last_file_lines: 0,
        }
    }

    fn segment(&mut self, audit_dir: &Path, n: u64) -> Result<(), VerifyError> {
        let name = segment_name(n);
        let read_failed = |e: io::Error| {
            VerifyError::whole_file("audit.read_failed", segment_name(n), None, e.to_string())
        };
        let mut reader = BufReader::new(File::open(audit_dir.join(&name)).map_err(read_failed)?);
        self.last_file = name;
        self.last_file_lines = 0;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf).map_err(read_failed)? == 0 {
                return Ok(());
            }
            self.last_file_lines += 1;
            self.entry(&buf)?;
        }
    }

    /// Checks one raw line (with its newline, if it has one) as the next entry of the chain.
    fn entry(&mut self, raw: &[u8]) -> Result<(), VerifyError> {
        let Some(line) = raw.strip_suffix(b"\n") else {
            return Err(self.fault("audit.truncated", "partial last line (no newline)".into()));
        };
        let entry = check_entry_line(line).map_err(|f| self.fault(f.code(), f.reason()))?;
        if entry.seq != self.next_seq {
            let reason = format!("expected seq {}, found {}", self.next_seq, entry.seq);
            return Err(self.fault("audit.seq_mismatch", reason));
        }
        if entry.prev != self.prev {
            let reason = "prev is not the hash of the entry before".to_string();
            return Err(self.fault("audit.chain_broken", reason));
        }
        if let Some(cp) = self.checkpoints.get(self.next_checkpoint) {
            if cp.seq == entry.seq {
                if cp.hash != entry.hash {
                    let reason = format!(
                        "hash differs from the signed checkpoint ({CHECKPOINTS_FILE} line {}): \
                         this or an earlier entry was rewritten",
                        cp.line
                    );
                    return Err(self.fault("audit.checkpoint_mismatch", reason));
                }
                self.next_checkpoint += 1;
            }
        }
        self.prev = entry.hash;
        self.next_seq += 1;
        Ok(())
    }

    fn missing_segment(&self, n: u64) -> VerifyError {
        VerifyError::whole_file(
            "audit.segment_missing",
            segment_name(n),
            Some(self.next_seq),
            "segment file is missing",
        )
    }

    fn finish(self, has_checkpoint_file: bool) -> Result<VerifyReport, VerifyError> {
        let entries = self.next_seq - 1;
        if let Some(cp) = self.checkpoints.get(self.next_checkpoint) {
            let reason = format!(
                "log ends at seq {entries} but a signed checkpoint ({CHECKPOINTS_FILE} line {}) \
                 covers seq {}: entries were removed from the end",
                cp.line, cp.seq
            );
            return Err(VerifyError {
                code: "audit.truncated",
                file: self.last_file,
                line: self.last_file_lines + 1,
                seq: Some(self.next_seq),
                reason,
            });
        }
        if !has_checkpoint_file && entries > 0 {
            return Err(VerifyError::whole_file(
                "audit.checkpoints_missing",
                CHECKPOINTS_FILE,
                None,
                "the log has entries but no checkpoint file",
            ));
        }
        Ok(VerifyReport {
            entries,
            checkpoints: self.checkpoints.len() as u64,
            head_seq: entries,
            head_hash: hex::encode(self.prev),
            checkpointed_seq: self.checkpoints.last().map_or(0, |cp| cp.seq),
        })
    }

    fn fault(&self, code: &'static str, reason: String) -> VerifyError {
        VerifyError {
            code,
            file: self.last_file.clone(),
            line: self.last_file_lines,
            seq: Some(self.next_seq),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use proptest::prelude::*;
    use serde_json::json;
    use tempfile::TempDir;

    /// 2026-11-21T10:00:00Z
    const T0: UnixSecs = 1_795_255_200;
    const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    fn open(dir: &Path) -> AuditLog {
        open_with(dir, AuditOptions::default())
    }

    fn open_with(dir: &Path, opts: AuditOptions) -> AuditLog {
        AuditLog::open_with_options(dir, Arc::new(FixedClock::new(T0)), opts).expect("open")
    }

    fn entry(i: u64) -> NewEntry {
        NewEntry {
            actor: "officer-1".into(),
            role: "legal_officer".into(),
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
    fn write_log(dir: &Path, n: u64, opts: AuditOptions) {
        let mut log = open_with(dir, opts);
        for i in 1..=n {
            log.append(entry(i)).expect("append");
        }
    }

    fn segment_path(dir: &Path, n: u64) -> PathBuf {
        dir.join(AUDIT_DIR).join(segment_name(n))
    }

    fn checkpoints_path(dir: &Path) -> PathBuf {
        dir.join(AUDIT_DIR).join(CHECKPOINTS_FILE)
    }

    /// The lines of a file, each with its newline.
    fn read_lines(path: &Path) -> Vec<Vec<u8>> {
        let bytes = fs::read(path).expect("read");
        bytes
            .split_inclusive(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    }

    fn write_lines(path: &Path, lines: &[Vec<u8>]) {
        fs::write(path, lines.concat()).expect("write");
    }

    fn verify_err(dir: &Path) -> VerifyError {
        match verify(dir) {
            Ok(report) => panic!("verify passed on a tampered log: {report:?}"),
            Err(err) => err,
        }
    }

    fn where_(err: &VerifyError) -> (&'static str, &str, u64, Option<u64>) {
        (err.code, err.file.as_str(), err.line, err.seq)
    }

    /// Rewrites the chain from line `from` (0-based) on, as an attacker without the signing key
    /// would: the entry at `from` gets `edit` applied, every later `prev`/`hash` is recomputed.
    fn forge_chain(lines: &mut [Vec<u8>], from: usize, edit: (&str, &str)) {
        let hash_of = |line: &[u8]| {
            let line = line.strip_suffix(b"\n").expect("newline");
            let hex = &line[line.len() - HASH_SUFFIX_LEN + HASH_OPEN.len()..][..64];
            String::from_utf8(hex.to_vec()).expect("utf8")
        };
        let mut prev = if from == 0 {
            ZEROS.to_string()
        } else {
            hash_of(&lines[from - 1])
        };
        for (i, line) in lines.iter_mut().enumerate().skip(from) {
            let body =
                std::str::from_utf8(&line[..line.len() - 1 - HASH_SUFFIX_LEN]).expect("utf8");
            let (head, _) = body.rsplit_once(",\"prev\":\"").expect("prev field");
            let head = if i == from {
                head.replacen(edit.0, edit.1, 1)
            } else {
                head.to_string()
            };
            let prefix = format!("{head},\"prev\":\"{prev}\"");
            let hash = hex::encode(Sha256::digest(prefix.as_bytes()));
            *line = format!("{prefix},\"hash\":\"{hash}\"}}\n").into_bytes();
            prev = hash;
        }
    }

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn entry_line_has_fixed_field_order_and_hash_over_its_prefix() {
        let dir = TempDir::new().unwrap();
        let mut log = open(dir.path());
        let first = log.append(entry(1)).unwrap();
        let bare = NewEntry {
            actor: "retention".into(),
            action: "partition_drop".into(),
            query: json!({"partition": "d20260521"}),
            outcome: "ok".into(),
            ..NewEntry::default()
        };
        let second = log.append(bare).unwrap();
        drop(log);

        let lines = read_lines(&segment_path(dir.path(), 1));
        assert_eq!(lines.len(), 2);
        let digest = hex::encode(Sha256::digest(1u64.to_be_bytes()));
        let prefix1 = format!(
            "{{\"seq\":1,\"time\":\"2026-11-21T10:00:00Z\",\"actor\":\"officer-1\",\
             \"role\":\"legal_officer\",\"action\":\"lookup\",\"case\":\"C-2026-0001\",\
             \"legal_basis\":\"ipred\",\"query\":{{\"address\":\"198.51.100.7\",\
             \"at\":\"2026-11-21T09:00:00Z\",\"port\":40001}},\"outcome\":\"found\",\
             \"result_count\":1,\"result_digest\":\"{digest}\",\"prev\":\"{ZEROS}\""
        );
        let hash1 = hex::encode(Sha256::digest(prefix1.as_bytes()));
        assert_eq!(
            first,
            Appended {
                seq: 1,
                hash: hash1.clone()
            }
        );
        assert_eq!(
            String::from_utf8(lines[0].clone()).unwrap(),
            format!("{prefix1},\"hash\":\"{hash1}\"}}\n")
        );
        let prefix2 = format!(
            "{{\"seq\":2,\"time\":\"2026-11-21T10:00:00Z\",\"actor\":\"retention\",\"role\":\"\",\
             \"action\":\"partition_drop\",\"case\":null,\"legal_basis\":null,\
             \"query\":{{\"partition\":\"d20260521\"}},\"outcome\":\"ok\",\"result_count\":0,\
             \"result_digest\":null,\"prev\":\"{hash1}\""
        );
        let hash2 = hex::encode(Sha256::digest(prefix2.as_bytes()));
        assert_eq!(second.hash, hash2);
        assert_eq!(
            String::from_utf8(lines[1].clone()).unwrap(),
            format!("{prefix2},\"hash\":\"{hash2}\"}}\n")
        );
    }

    #[test]
    fn checkpoint_line_is_signed_over_seq_and_raw_hash() {
        let dir = TempDir::new().unwrap();
        let mut log = open(dir.path());
        log.append(entry(1)).unwrap();
        let (seq, hash) = log.head();
        log.checkpoint().unwrap();
        drop(log);

        let lines = read_lines(&checkpoints_path(dir.path()));
        assert_eq!(lines.len(), 1);
        let cp: serde_json::Value = serde_json::from_slice(&lines[0]).unwrap();
        assert_eq!(cp["seq"], 1);
        assert_eq!(cp["hash"], hash.as_str());
        assert_eq!(cp["time"], "2026-11-21T10:00:00Z");
        let text = String::from_utf8(lines[0].clone()).unwrap();
        assert!(
            text.starts_with("{\"seq\":1,\"hash\":\"") && text.ends_with("\"}\n"),
            "{text}"
        );

        let public = fs::read_to_string(dir.path().join("keys/audit-signing.pub")).unwrap();
        let mut key = [0u8; 32];
        hex::decode_to_slice(public.trim(), &mut key).unwrap();
        let key = VerifyingKey::from_bytes(&key).unwrap();
        let mut msg = seq.to_be_bytes().to_vec();
        msg.extend_from_slice(&hex::decode(&hash).unwrap());
        let mut sig = [0u8; 64];
        hex::decode_to_slice(cp["sig"].as_str().unwrap(), &mut sig).unwrap();
        key.verify_strict(&msg, &Signature::from_bytes(&sig))
            .unwrap();
    }

    #[test]
    fn untouched_log_verifies_with_correct_counts() {
        let dir = TempDir::new().unwrap();
        let mut log = open(dir.path());
        for i in 1..=205 {
            log.append(entry(i)).unwrap();
        }
        let head = log.head();
        drop(log); // checkpoints the head

        let report = verify(dir.path()).unwrap();
        assert_eq!(
            report,
            VerifyReport {
                entries: 205,
                checkpoints: 3, // at 100 and 200 by count, at 205 on close
                head_seq: head.0,
                head_hash: head.1,
                checkpointed_seq: 205,
            }
        );
    }

    #[test]
    fn empty_log_verifies() {
        let dir = TempDir::new().unwrap();
        let log = open(dir.path());
        assert_eq!(log.head(), (0, ZEROS.to_string()));
        drop(log);
        let report = verify(dir.path()).unwrap();
        assert_eq!(
            (
                report.entries,
                report.checkpoints,
                report.head_hash.as_str()
            ),
            (0, 0, ZEROS)
        );
    }

    #[test]
    fn reopening_continues_the_chain() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 3, AuditOptions::default());

        let clock = Arc::new(FixedClock::new(T0 + 3600));
        let mut log = AuditLog::open(dir.path(), clock).unwrap();
        let (seq, hash) = log.head();
        assert_eq!(seq, 3);
        let next = log.append(entry(4)).unwrap();
        assert_eq!(next.seq, 4);
        drop(log);

        let last = read_lines(&segment_path(dir.path(), 1)).pop().unwrap();
        let last = String::from_utf8(last).unwrap();
        assert!(last.contains(&format!("\"prev\":\"{hash}\"")), "{last}");
        assert!(last.contains("\"time\":\"2026-11-21T11:00:00Z\""), "{last}");
        let report = verify(dir.path()).unwrap();
        assert_eq!((report.entries, report.head_hash), (4, next.hash));
    }

    #[test]
    fn segment_rollover_keeps_the_chain() {
        let dir = TempDir::new().unwrap();
        let opts = AuditOptions {
            segment_max_bytes: 1500,
            ..AuditOptions::default()
        };
        write_log(dir.path(), 20, opts.clone());

        let segments = list_segments(&dir.path().join(AUDIT_DIR)).unwrap();
        assert!(segments.len() >= 5, "{segments:?}");
        for &n in &segments {
            assert!(fs::metadata(segment_path(dir.path(), n)).unwrap().len() <= 1500);
        }
        assert_eq!(verify(dir.path()).unwrap().entries, 20);

        // Reopening continues in the last segment (or the next one).
        let mut log = open_with(dir.path(), opts);
        assert_eq!(log.append(entry(21)).unwrap().seq, 21);
        drop(log);
        assert_eq!(verify(dir.path()).unwrap().entries, 21);
    }

    #[test]
    fn every_edited_byte_is_caught_at_its_line() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 3, AuditOptions::default());
        let path = segment_path(dir.path(), 1);
        let original = fs::read(&path).unwrap();
        let mut line_of = Vec::with_capacity(original.len());
        let mut line = 1;
        for &b in &original {
            line_of.push(line);
            if b == b'\n' {
                line += 1;
            }
        }

        for pos in 0..original.len() {
            let mut edited = original.clone();
            edited[pos] ^= 0x01;
            fs::write(&path, &edited).unwrap();
            let err = verify_err(dir.path());
            let line = line_of[pos];
            assert_eq!(
                (err.file.as_str(), err.line, err.seq),
                ("audit-000001.log", line, Some(line)),
                "byte {pos}: {err}"
            );
            assert!(
                ["audit.hash_mismatch", "audit.malformed", "audit.truncated"].contains(&err.code),
                "byte {pos}: {err}"
            );
        }
        fs::write(&path, &original).unwrap();
        verify(dir.path()).unwrap();
    }

    #[test]
    fn removed_line_is_caught() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 5, AuditOptions::default());
        let path = segment_path(dir.path(), 1);
        let mut lines = read_lines(&path);
        lines.remove(2);
        write_lines(&path, &lines);

        let err = verify_err(dir.path());
        assert_eq!(
            where_(&err),
            ("audit.seq_mismatch", "audit-000001.log", 3, Some(3)),
            "{err}"
        );
    }

    #[test]
    fn swapped_lines_are_caught() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 5, AuditOptions::default());
        let path = segment_path(dir.path(), 1);
        let mut lines = read_lines(&path);
        lines.swap(1, 2);
        write_lines(&path, &lines);

        let err = verify_err(dir.path());
        assert_eq!(
            where_(&err),
            ("audit.seq_mismatch", "audit-000001.log", 2, Some(2)),
            "{err}"
        );
    }

    #[test]
    fn tail_cut_by_whole_lines_is_caught_by_the_checkpoint() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 5, AuditOptions::default());
        let path = segment_path(dir.path(), 1);
        let lines = read_lines(&path);
        write_lines(&path, &lines[..3]);

        let err = verify_err(dir.path());
        assert_eq!(
            where_(&err),
            ("audit.truncated", "audit-000001.log", 4, Some(4)),
            "{err}"
        );

        // The writer refuses to continue a chain that a signed checkpoint says was longer.
        let err = AuditLog::open(dir.path(), Arc::new(FixedClock::new(T0))).unwrap_err();
        assert_eq!(err.code(), "audit.corrupt", "{err}");
    }

    #[test]
    fn partial_last_line_is_caught_and_never_overwritten() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 5, AuditOptions::default());
        let path = segment_path(dir.path(), 1);
        let mut bytes = fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 10);
        fs::write(&path, &bytes).unwrap();

        let err = verify_err(dir.path());
        assert_eq!(
            where_(&err),
            ("audit.truncated", "audit-000001.log", 5, Some(5)),
            "{err}"
        );

        let err = AuditLog::open(dir.path(), Arc::new(FixedClock::new(T0))).unwrap_err();
        assert_eq!(err.code(), "audit.corrupt", "{err}");
        assert_eq!(
            fs::read(&path).unwrap(),
            bytes,
            "open must not touch a torn log"
        );

        // Also without a checkpoint that would betray the cut (e.g. a crash mid-write).
        fs::write(checkpoints_path(dir.path()), b"").unwrap();
        let err = AuditLog::open(dir.path(), Arc::new(FixedClock::new(T0))).unwrap_err();
        assert_eq!(err.code(), "audit.corrupt", "{err}");
        assert_eq!(fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn checkpoint_not_verifying_with_the_public_key_is_caught() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 5, AuditOptions::default());
        let pub_path = dir.path().join("keys/audit-signing.pub");
        let original = fs::read_to_string(&pub_path).unwrap();
        let other = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        fs::write(&pub_path, hex::encode(other.as_bytes())).unwrap();

        let err = verify_err(dir.path());
        assert_eq!(
            where_(&err),
            (
                "audit.checkpoint_bad_signature",
                "checkpoints.log",
                1,
                Some(5)
            ),
            "{err}"
        );
        // With the key the auditor holds, the same log verifies.
        let mut key = [0u8; 32];
        hex::decode_to_slice(original.trim(), &mut key).unwrap();
        let key = VerifyingKey::from_bytes(&key).unwrap();
        assert_eq!(verify_with_key(dir.path(), &key).unwrap().entries, 5);
    }

    #[test]
    fn edited_checkpoint_signature_is_caught() {
        let dir = TempDir::new().unwrap();
        let opts = AuditOptions {
            checkpoint_every: 2,
            ..AuditOptions::default()
        };
        write_log(dir.path(), 5, opts);
        let path = checkpoints_path(dir.path());
        let mut lines = read_lines(&path);
        assert_eq!(lines.len(), 3); // seq 2, 4, 5
        let text = String::from_utf8(lines[1].clone()).unwrap();
        let sig_at = text.find("\"sig\":\"").unwrap() + 7;
        lines[1][sig_at + 10] = if lines[1][sig_at + 10] == b'0' {
            b'1'
        } else {
            b'0'
        };
        write_lines(&path, &lines);

        let err = verify_err(dir.path());
        assert_eq!(
            where_(&err),
            (
                "audit.checkpoint_bad_signature",
                "checkpoints.log",
                2,
                Some(4)
            ),
            "{err}"
        );
    }

    #[test]
    fn entry_rehashed_on_its_own_breaks_the_chain() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 4, AuditOptions::default());
        let path = segment_path(dir.path(), 1);
        let mut lines = read_lines(&path);
        // Entry 2 edited and given a matching hash, entry 3 left as it was.
        forge_chain(
            &mut lines[..2],
            1,
            ("\"result_count\":1", "\"result_count\":0"),
        );
        write_lines(&path, &lines);

        let err = verify_err(dir.path());
        assert_eq!(
            where_(&err),
            ("audit.chain_broken", "audit-000001.log", 3, Some(3)),
            "{err}"
        );
    }

    #[test]
    fn rewritten_chain_is_caught_by_the_signed_checkpoint() {
        let dir = TempDir::new().unwrap();
        let mut log = open(dir.path());
        for i in 1..=3 {
            log.append(entry(i)).unwrap();
        }
        log.checkpoint().unwrap();
        for i in 4..=5 {
            log.append(entry(i)).unwrap();
        }
        drop(log);

        let path = segment_path(dir.path(), 1);
        let mut lines = read_lines(&path);
        forge_chain(
            &mut lines,
            1,
            ("\"outcome\":\"found\"", "\"outcome\":\"not_found\""),
        );
        write_lines(&path, &lines);

        let err = verify_err(dir.path());
        assert_eq!(
            where_(&err),
            ("audit.checkpoint_mismatch", "audit-000001.log", 3, Some(3)),
            "{err}"
        );
    }

    #[test]
    fn checkpoint_hash_not_matching_its_entry_is_caught() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 3, AuditOptions::default());
        // A validly signed checkpoint (made with the real key) of a hash the log never had.
        let seed = fs::read_to_string(dir.path().join("keys/audit-signing.key")).unwrap();
        let mut key = [0u8; 32];
        hex::decode_to_slice(seed.trim(), &mut key).unwrap();
        let forged = encode_checkpoint(&SigningKey::from_bytes(&key), 3, &[0xab; 32], T0).unwrap();
        write_lines(&checkpoints_path(dir.path()), &[forged]);

        let err = verify_err(dir.path());
        assert_eq!(
            where_(&err),
            ("audit.checkpoint_mismatch", "audit-000001.log", 3, Some(3)),
            "{err}"
        );
    }

    #[test]
    fn missing_segment_in_the_middle_is_caught() {
        let dir = TempDir::new().unwrap();
        // Every entry gets a segment of its own.
        let opts = AuditOptions {
            segment_max_bytes: 1,
            ..AuditOptions::default()
        };
        write_log(dir.path(), 5, opts);
        assert_eq!(
            list_segments(&dir.path().join(AUDIT_DIR)).unwrap(),
            vec![1, 2, 3, 4, 5]
        );
        fs::remove_file(segment_path(dir.path(), 3)).unwrap();

        let err = verify_err(dir.path());
        assert_eq!(
            where_(&err),
            ("audit.segment_missing", "audit-000003.log", 0, Some(3)),
            "{err}"
        );
        let err = AuditLog::open(dir.path(), Arc::new(FixedClock::new(T0))).unwrap_err();
        assert_eq!(err.code(), "audit.corrupt", "{err}");
    }

    #[test]
    fn missing_last_segment_is_caught_by_the_checkpoint() {
        let dir = TempDir::new().unwrap();
        let opts = AuditOptions {
            segment_max_bytes: 1,
            ..AuditOptions::default()
        };
        write_log(dir.path(), 3, opts);
        fs::remove_file(segment_path(dir.path(), 3)).unwrap();

        let err = verify_err(dir.path());
        assert_eq!(
            where_(&err),
            ("audit.truncated", "audit-000002.log", 2, Some(3)),
            "{err}"
        );
    }

    #[test]
    fn deleted_checkpoint_file_is_caught() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 2, AuditOptions::default());
        fs::remove_file(checkpoints_path(dir.path())).unwrap();
        assert_eq!(verify_err(dir.path()).code, "audit.checkpoints_missing");
    }

    #[test]
    fn append_fails_closed_when_the_audit_dir_is_replaced() {
        let dir = TempDir::new().unwrap();
        let audit = dir.path().join(AUDIT_DIR);
        let moved = dir.path().join("audit.moved");
        let mut log = open(dir.path());
        log.append(entry(1)).unwrap();

        // Works as root too: the open descriptor would still accept writes, but they would
        // land in a file the log no longer names.
        fs::rename(&audit, &moved).unwrap();
        fs::write(&audit, b"not a directory").unwrap();
        let err = log.append(entry(2)).unwrap_err();
        assert_eq!(err.code(), "audit.write_failed", "{err}");

        // Stays closed even once the directory is back, until reopened.
        fs::remove_file(&audit).unwrap();
        fs::rename(&moved, &audit).unwrap();
        assert_eq!(
            log.append(entry(3)).unwrap_err().code(),
            "audit.write_failed"
        );
        assert_eq!(log.checkpoint().unwrap_err().code(), "audit.write_failed");
        drop(log);

        let mut log = open(dir.path());
        assert_eq!(log.head().0, 1);
        assert_eq!(log.append(entry(4)).unwrap().seq, 2);
        drop(log);
        assert_eq!(verify(dir.path()).unwrap().entries, 2);
    }

    #[test]
    fn append_fails_closed_when_the_segment_file_is_replaced() {
        let dir = TempDir::new().unwrap();
        let path = segment_path(dir.path(), 1);
        let mut log = open(dir.path());
        log.append(entry(1)).unwrap();
        fs::rename(&path, dir.path().join("moved.log")).unwrap();
        fs::write(&path, b"").unwrap();

        let err = log.append(entry(2)).unwrap_err();
        assert_eq!(err.code(), "audit.write_failed", "{err}");
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            0,
            "nothing written to the impostor"
        );
    }

    #[test]
    fn append_fails_closed_when_a_new_segment_cannot_be_created() {
        let dir = TempDir::new().unwrap();
        let audit = dir.path().join(AUDIT_DIR);
        let opts = AuditOptions {
            segment_max_bytes: 1,
            ..AuditOptions::default()
        };
        let mut log = open_with(dir.path(), opts);
        log.append(entry(1)).unwrap();
        fs::rename(&audit, dir.path().join("audit.moved")).unwrap();
        fs::write(&audit, b"not a directory").unwrap();

        let err = log.append(entry(2)).unwrap_err();
        assert_eq!(err.code(), "audit.write_failed", "{err}");
        assert_eq!(log.head().0, 1);
    }

    #[test]
    fn open_fails_when_the_data_dir_cannot_be_created() {
        let dir = TempDir::new().unwrap();
        let file = dir.path().join("a-file");
        fs::write(&file, b"x").unwrap();
        let err = AuditLog::open(&file.join("data"), Arc::new(FixedClock::new(T0))).unwrap_err();
        assert_eq!(err.code(), "audit.write_failed", "{err}");
    }

    #[test]
    fn invalid_entry_is_refused_and_not_written() {
        let dir = TempDir::new().unwrap();
        let mut log = open(dir.path());
        let bad = NewEntry {
            result_digest: Some("ABC".into()),
            ..entry(1)
        };
        assert_eq!(log.append(bad).unwrap_err().code(), "audit.invalid_entry");
        let bad = NewEntry {
            actor: String::new(),
            ..entry(1)
        };
        assert_eq!(log.append(bad).unwrap_err().code(), "audit.invalid_entry");
        assert_eq!(log.head().0, 0);
        assert_eq!(log.append(entry(1)).unwrap().seq, 1);
    }

    #[test]
    fn key_files_are_private() {
        let dir = TempDir::new().unwrap();
        drop(open(dir.path()));
        let keys = dir.path().join(KEYS_DIR);
        assert_eq!(mode_of(&keys.join("audit-signing.key")), 0o600);
        assert_eq!(mode_of(&keys.join("audit-hmac.key")), 0o600);
        assert_eq!(mode_of(&keys.join("audit-signing.pub")), 0o644);
        assert_eq!(mode_of(&keys), 0o700);
        assert_eq!(mode_of(&dir.path().join(AUDIT_DIR)), 0o700);
        for name in ["audit-signing.key", "audit-hmac.key", "audit-signing.pub"] {
            let text = fs::read_to_string(keys.join(name)).unwrap();
            assert_eq!(text.trim().len(), 64, "{name}");
            assert!(hex::decode(text.trim()).is_ok(), "{name}");
        }
    }

    #[test]
    fn key_file_readable_by_others_is_refused() {
        let dir = TempDir::new().unwrap();
        drop(open(dir.path()));
        let hmac_path = dir.path().join("keys/audit-hmac.key");
        fs::set_permissions(&hmac_path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = AuditLog::open(dir.path(), Arc::new(FixedClock::new(T0))).unwrap_err();
        assert_eq!(err.code(), "audit.key_unreadable", "{err}");
    }

    #[test]
    fn missing_key_is_not_regenerated_once_the_log_has_entries() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 1, AuditOptions::default());
        fs::remove_file(dir.path().join("keys/audit-hmac.key")).unwrap();
        let err = AuditLog::open(dir.path(), Arc::new(FixedClock::new(T0))).unwrap_err();
        assert_eq!(err.code(), "audit.key_unreadable", "{err}");
        assert!(!dir.path().join("keys/audit-hmac.key").exists());
    }

    #[test]
    fn replaced_keys_are_refused_at_open() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 1, AuditOptions::default());
        let keys = dir.path().join(KEYS_DIR);
        let original_pub = fs::read_to_string(keys.join(PUBLIC_KEY_FILE)).unwrap();

        // A public key that does not belong to the signing key.
        let other = SigningKey::from_bytes(&[9u8; 32]);
        fs::write(
            keys.join(PUBLIC_KEY_FILE),
            hex::encode(other.verifying_key().as_bytes()),
        )
        .unwrap();
        let err = AuditLog::open(dir.path(), Arc::new(FixedClock::new(T0))).unwrap_err();
        assert_eq!(err.code(), "audit.key_unreadable", "{err}");

        // A consistent but different key pair: the last checkpoint no longer verifies.
        fs::write(keys.join(SIGNING_KEY_FILE), hex::encode([9u8; 32])).unwrap();
        let err = AuditLog::open(dir.path(), Arc::new(FixedClock::new(T0))).unwrap_err();
        assert_eq!(err.code(), "audit.key_mismatch", "{err}");
        assert_ne!(
            fs::read_to_string(keys.join(PUBLIC_KEY_FILE)).unwrap(),
            original_pub
        );
    }

    #[test]
    fn pseudonym_is_stable_per_key_and_differs_between_data_dirs() {
        let a = TempDir::new().unwrap();
        let b = TempDir::new().unwrap();
        let log_a = open(a.path());
        let p = log_a.pseudonym("sub-1001");
        assert_eq!(p.len(), 32);
        assert!(p
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(log_a.pseudonym("sub-1001"), p);
        assert_ne!(log_a.pseudonym("sub-1002"), p);
        drop(log_a);

        assert_eq!(
            open(a.path()).pseudonym("sub-1001"),
            p,
            "stable across reopen"
        );
        assert_ne!(
            open(b.path()).pseudonym("sub-1001"),
            p,
            "differs between appliances"
        );
    }

    #[test]
    fn second_writer_is_refused_while_the_first_is_open() {
        let dir = TempDir::new().unwrap();
        let first = open(dir.path());
        let no_wait = AuditOptions {
            lock_wait_ms: 0,
            ..AuditOptions::default()
        };
        let err =
            AuditLog::open_with_options(dir.path(), Arc::new(FixedClock::new(T0)), no_wait.clone())
                .unwrap_err();
        assert_eq!(err.code(), "audit.locked", "{err}");
        // A writer that waits gets the log once the first lets go.
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(first);
        });
        let waited = AuditOptions {
            lock_wait_ms: 5_000,
            ..AuditOptions::default()
        };
        drop(
            AuditLog::open_with_options(dir.path(), Arc::new(FixedClock::new(T0)), waited).unwrap(),
        );
        releaser.join().unwrap();
        drop(
            AuditLog::open_with_options(dir.path(), Arc::new(FixedClock::new(T0)), no_wait)
                .unwrap(),
        );
    }

    #[test]
    fn a_group_is_chained_like_single_appends_and_verifies() {
        let dir = TempDir::new().unwrap();
        let opts = AuditOptions {
            segment_max_bytes: 700,
            ..AuditOptions::default()
        };
        let mut log = open_with(dir.path(), opts);
        log.append(entry(1)).unwrap();
        let group: Vec<NewEntry> = (2..=9).map(entry).collect();
        let appended = log.append_group(&group).unwrap();
        assert_eq!(
            appended.iter().map(|a| a.seq).collect::<Vec<_>>(),
            (2..=9).collect::<Vec<u64>>()
        );
        assert_eq!(log.head(), (9, appended[7].hash.clone()));
        assert!(
            list_segments(&dir.path().join(AUDIT_DIR)).unwrap().len() > 1,
            "rolled mid-group"
        );
        log.append(entry(10)).unwrap();
        drop(log);
        let report = verify(dir.path()).unwrap();
        assert_eq!(report.entries, 10);
        // A failed group leaves nothing usable: the log refuses until reopened.
        let mut log = open(dir.path());
        let bad = vec![entry(11), NewEntry::default()];
        assert_eq!(
            log.append_group(&bad).unwrap_err().code(),
            "audit.invalid_entry"
        );
        assert_eq!(log.head().0, 10, "an invalid group writes nothing");
    }

    #[test]
    fn checkpoints_every_n_entries_and_only_once_per_head() {
        let dir = TempDir::new().unwrap();
        let opts = AuditOptions {
            checkpoint_every: 3,
            checkpoint_interval_secs: 0,
            ..AuditOptions::default()
        };
        let mut log = open_with(dir.path(), opts);
        for i in 1..=7 {
            log.append(entry(i)).unwrap();
        }
        let seqs = |dir: &Path| -> Vec<u64> {
            read_lines(&checkpoints_path(dir))
                .iter()
                .map(|l| serde_json::from_slice::<CheckpointLine>(l).unwrap().seq)
                .collect()
        };
        assert_eq!(seqs(dir.path()), vec![3, 6]);
        log.checkpoint().unwrap();
        log.checkpoint().unwrap();
        assert_eq!(seqs(dir.path()), vec![3, 6, 7]);
        drop(log);
        assert_eq!(
            seqs(dir.path()),
            vec![3, 6, 7],
            "close adds nothing when signed"
        );
    }

    #[test]
    fn checkpoints_after_the_interval() {
        let dir = TempDir::new().unwrap();
        let clock = Arc::new(FixedClock::new(T0));
        let opts = AuditOptions {
            checkpoint_every: 0,
            checkpoint_interval_secs: 60,
            ..AuditOptions::default()
        };
        let mut log = AuditLog::open_with_options(dir.path(), clock.clone(), opts).unwrap();
        log.append(entry(1)).unwrap();
        assert_eq!(fs::metadata(checkpoints_path(dir.path())).unwrap().len(), 0);
        clock.advance(60);
        log.append(entry(2)).unwrap();
        assert_eq!(read_lines(&checkpoints_path(dir.path())).len(), 1);
    }

    #[test]
    fn verify_error_names_the_place() {
        let err = VerifyError {
            code: "audit.seq_mismatch",
            file: "audit-000001.log".into(),
            line: 3,
            seq: Some(3),
            reason: "expected seq 3, found 4".into(),
        };
        assert_eq!(
            err.to_string(),
            "audit.seq_mismatch: audit-000001.log line 3 (seq 3): expected seq 3, found 4"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever text callers put in an entry, it stays one line and the chain verifies.
        #[test]
        fn any_text_stays_on_one_line_and_verifies(
            actor in "(?s).{1,40}",
            case in proptest::option::of("(?s).{0,40}"),
            query in any::<String>(),
        ) {
            let dir = TempDir::new().unwrap();
            let mut log = open(dir.path());
            for i in 1..=2 {
                let e = NewEntry {
                    actor: actor.clone(),
                    case: case.clone(),
                    query: json!({ "q": query, "i": i }),
                    ..entry(i)
                };
                log.append(e).unwrap();
            }
            drop(log);
            prop_assert_eq!(read_lines(&segment_path(dir.path(), 1)).len(), 2);
            prop_assert_eq!(verify(dir.path()).unwrap().entries, 2);
        }
    }
}
