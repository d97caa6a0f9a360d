//! [`AuditLog`], the single writer of one data directory's log: opening it (lock, head, last
//! checkpoint, keys), appending entries one by one or as a group with one fsync, and writing
//! signed checkpoints when due. Entry and checkpoint times come only from the clock it is given.

use std::fmt;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use ed25519_dalek::SigningKey;

use super::checkpoint::{check_last_checkpoint, read_last_checkpoint, sign_head, SignedHead};
use super::entry::{encode_entry, rfc3339_utc, validate_entry, Appended, Digest32, NewEntry};
use super::error::{corrupt, AuditError};
use super::files::{ensure_private_dir, lock_writer, AppendFile};
use super::keys::{load_or_create_keys, Pseudonymizer};
use super::segments::{
    first_missing_segment, list_segments, read_head, segment_name, SegmentWriter,
};
use super::{AUDIT_DIR, CHECKPOINTS_FILE, KEYS_DIR};
use crate::clock::{Clock, UnixSecs};

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

/// The single writer of one data directory's audit log. Holds an exclusive lock on it for its
/// lifetime, so two writers can never fork the chain.
pub struct AuditLog {
    clock: Arc<dyn Clock>,
    opts: AuditOptions,
    signing_key: SigningKey,
    pseudonyms: Pseudonymizer,
    segment: SegmentWriter,
    checkpoints: AppendFile,
    head_seq: u64,
    head_hash: Digest32,
    checkpointed_seq: u64,
    last_checkpoint_at: UnixSecs,
    /// The last signed checkpoint (`None` while the log has none).
    last_signed: Option<SignedHead>,
    poisoned: bool,
    _writer_lock: File,
}

impl fmt::Debug for AuditLog {
    // Hand-written so that key material can never end up in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("audit_dir", &self.segment.audit_dir())
            .field("segment_no", &self.segment.number())
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
        let last_signed = last_checkpoint
            .map(|cp| SignedHead::from_checkpoint(&cp, &keys.signing.verifying_key()));

        let segment_no = segments.last().copied().unwrap_or(1);
        let segment = SegmentWriter::open(&audit_dir, segment_no, opts.segment_max_bytes)?;
        let checkpoints = AppendFile::open_or_create(&audit_dir.join(CHECKPOINTS_FILE))
            .map_err(AuditError::WriteFailed)?;
        tracing::info!(head_seq, segment = segment_no, "audit log opened");

        Ok(AuditLog {
            last_checkpoint_at: clock.now(),
            clock,
            opts,
            signing_key: keys.signing,
            pseudonyms: keys.pseudonyms,
            segment,
            checkpoints,
            head_seq,
            head_hash,
            checkpointed_seq,
            last_signed,
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
        let (line, hash) = encode_entry(
            seq,
            &rfc3339_utc(now)?,
            &entry,
            &self.head_hash,
            &self.pseudonyms,
        )?;
        if let Err(err) = self.segment.append_line(&line) {
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
            let (line, hash) = encode_entry(seq + 1, &time, e, &head, &self.pseudonyms)?;
            if let Err(err) = self.segment.write_line(&line) {
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
        let written = written.and_then(|()| self.segment.sync());
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
        self.pseudonyms.clone()
    }

    /// Writes a signed checkpoint of the current head to `audit/checkpoints.log`, fsyncs it,
    /// and anchors it off the box: the same signed head goes to the journal as an event of
    /// target `tdr::audit::anchor` (fields `seq`, `hash`, `time`, `signature`, `key_id`; no
    /// personal data), which the ISP's log forwarding carries away. No-op if the log is empty
    /// or the head is already checkpointed.
    pub fn checkpoint(&mut self) -> Result<(), AuditError> {
        if self.poisoned {
            return Err(AuditError::Poisoned);
        }
        if self.head_seq == 0 || self.head_seq == self.checkpointed_seq {
            return Ok(());
        }
        let now = self.clock.now();
        let head = sign_head(&self.signing_key, self.head_seq, &self.head_hash, now)?;
        if let Err(err) = self.checkpoints.append_line(&head.checkpoint_line()?) {
            let err = AuditError::WriteFailed(err);
            self.poison(&err);
            return Err(err);
        }
        tracing::info!(
            target: "tdr::audit::anchor",
            seq = head.seq,
            hash = %head.hash,
            time = %head.time,
            signature = %head.signature,
            key_id = %head.key_id,
            "audit checkpoint signed"
        );
        self.checkpointed_seq = self.head_seq;
        self.last_checkpoint_at = now;
        self.last_signed = Some(head);
        Ok(())
    }

    /// The last signed checkpoint, with the public key that verifies it; `None` while the log
    /// has none. Call [`AuditLog::checkpoint`] first for a head that covers every entry.
    pub fn signed_head(&self) -> Option<SignedHead> {
        self.last_signed.clone()
    }

    /// Keyed pseudonym of a subscriber identifier: HMAC-SHA256 under this appliance's key,
    /// first 32 hex characters. Stable for one data directory, unlinkable across appliances.
    pub fn pseudonym(&self, subscriber: &str) -> String {
        self.pseudonyms.pseudonym(subscriber)
    }

    /// Last seq (0 if the log is empty) and its hash in hex (64 zeros if empty).
    pub fn head(&self) -> (u64, String) {
        (self.head_seq, hex::encode(self.head_hash))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::checkpoint::CheckpointLine;
    use crate::audit::test_support::*;
    use crate::audit::verify;
    use crate::clock::FixedClock;
    use std::fs;
    use tempfile::TempDir;

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
    fn open_fails_when_the_data_dir_cannot_be_created() {
        let dir = TempDir::new().unwrap();
        let file = dir.path().join("a-file");
        fs::write(&file, b"x").unwrap();
        let err = open_err(&file.join("data"));
        assert_eq!(err.code(), "audit.write_failed", "{err}");
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
}
