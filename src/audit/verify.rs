//! Verification: re-walks the chain through every segment against the signed checkpoints and
//! names the first bad place (file, line, seq) with a stable code. Reads only; takes no lock,
//! and needs only the public key: an auditor can run it on a copy of the audit directory.
//!
//! On its own the walk catches any change inside the signed part of the log and a tail cut off
//! below the last checkpoint. What it cannot catch alone is a log cut *together with* the
//! checkpoint lines that covered the cut entries, or one rewritten and re-signed by whoever
//! holds the signing key: both are again a consistent log. Against a head recorded off the box
//! ([`ExpectedHead`], from `GET /v1/audit/head` or the journal) they are caught too: the log must
//! reach that seq with that hash (`audit.forked` if the entry there has another hash,
//! `audit.truncated` if the log or its checkpoints end before it).

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::str::FromStr;

use ed25519_dalek::VerifyingKey;

use super::checkpoint::{checkpoint_signature_ok, parse_checkpoint_line};
use super::entry::{check_entry_line, decode_hash_hex, Digest32, ZERO_HASH};
use super::keys::load_public_key;
use super::segments::{list_segments, segment_name};
use super::{AUDIT_DIR, CHECKPOINTS_FILE};
use crate::error::ErrorKind;

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
    pub kind: ErrorKind,
    pub file: String,
    pub line: u64,
    pub seq: Option<u64>,
    pub reason: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.file)?;
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

/// A head of the chain recorded earlier, off the box: `SEQ:HASH` (the hash in 64 lowercase hex
/// characters), as `GET /v1/audit/head` and the journal's `tdr::audit::anchor` events give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedHead {
    pub seq: u64,
    hash: Digest32,
}

impl ExpectedHead {
    /// The recorded hash, in hex.
    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }
}

impl FromStr for ExpectedHead {
    type Err = String;

    fn from_str(s: &str) -> Result<ExpectedHead, String> {
        let (seq, hash) = s
            .trim()
            .split_once(':')
            .ok_or("a recorded head is SEQ:HASH")?;
        let seq = seq
            .parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or("the SEQ of a recorded head is a number from 1")?;
        let hash = decode_hash_hex(hash.as_bytes())
            .ok_or("the HASH of a recorded head is 64 lowercase hex characters")?;
        Ok(ExpectedHead { seq, hash })
    }
}

impl fmt::Display for ExpectedHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash_hex())
    }
}

/// Re-walks the whole log of `data_dir` against the public key in `keys/audit-signing.pub`.
pub fn verify(data_dir: &Path) -> Result<VerifyReport, VerifyError> {
    let key = load_public_key(data_dir)?;
    verify_with_key(data_dir, &key)
}

/// Re-walks the whole log of `data_dir` against its public key and, when given, a head
/// recorded earlier (see [`verify_audit_dir`]).
pub fn verify_expecting(
    data_dir: &Path,
    expect: Option<&ExpectedHead>,
) -> Result<VerifyReport, VerifyError> {
    let key = load_public_key(data_dir)?;
    verify_audit_dir(&data_dir.join(AUDIT_DIR), &key, expect)
}

/// Re-walks the whole log against a public key the auditor holds independently (so that a
/// replaced `keys/audit-signing.pub` with a re-signed log is caught too).
///
/// Checks, in order: every checkpoint line parses, is newer than the one before and carries a
/// valid signature; every segment exists (numbered without gaps); every entry line is complete,
/// its bytes match its hash, its seq is the next one and its `prev` is the previous hash; every
/// checkpoint matches the entry at its seq; and the log reaches the last checkpoint.
pub fn verify_with_key(data_dir: &Path, key: &VerifyingKey) -> Result<VerifyReport, VerifyError> {
    verify_audit_dir(&data_dir.join(AUDIT_DIR), key, None)
}

/// Re-walks the log in `audit_dir` (the segments and `checkpoints.log`; a copy will do) against
/// the auditor's public key and, when given, a head recorded earlier. Needs no private key and
/// no daemon. With `expect`, besides every check of [`verify_with_key`]: the entry at the
/// recorded seq must carry the recorded hash and every checkpoint must verify with `key`
/// (else `audit.forked`), and the log and its signed checkpoints must reach the recorded seq
/// (else `audit.truncated`).
pub fn verify_audit_dir(
    audit_dir: &Path,
    key: &VerifyingKey,
    expect: Option<&ExpectedHead>,
) -> Result<VerifyReport, VerifyError> {
    // Checkpoints are read first: a live writer only checkpoints entries it has already
    // written, so every checkpoint read here is reachable in the segments read next.
    let checkpoints = read_checkpoints(audit_dir, key, expect)?;
    let segments = list_segments(audit_dir).map_err(|e| {
        VerifyError::whole_file(ErrorKind::AuditReadFailed, AUDIT_DIR, None, e.to_string())
    })?;
    let mut walk = ChainWalk::new(checkpoints.as_deref().unwrap_or_default(), expect);
    for (expected, n) in (1..).zip(segments) {
        if n != expected {
            return Err(walk.missing_segment(expected));
        }
        walk.segment(audit_dir, n)?;
    }
    walk.finish(checkpoints.is_some())
}

impl VerifyError {
    /// The stable code of the problem.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    pub(super) fn whole_file(
        kind: ErrorKind,
        file: impl Into<String>,
        seq: Option<u64>,
        reason: impl Into<String>,
    ) -> VerifyError {
        VerifyError {
            kind,
            file: file.into(),
            line: 0,
            seq,
            reason: reason.into(),
        }
    }
}

/// A checkpoint whose signature verified, with the line it came from.
struct SignedCheckpoint {
    seq: u64,
    hash: Digest32,
    line: u64,
}

/// All checkpoints, each signature-checked and strictly increasing in seq; `None` if the file
/// does not exist. Against a recorded head, a checkpoint another key signed, or one at the
/// recorded seq with another hash, is a fork.
fn read_checkpoints(
    audit_dir: &Path,
    key: &VerifyingKey,
    expect: Option<&ExpectedHead>,
) -> Result<Option<Vec<SignedCheckpoint>>, VerifyError> {
    let read_failed = |e: io::Error| {
        VerifyError::whole_file(
            ErrorKind::AuditReadFailed,
            CHECKPOINTS_FILE,
            None,
            e.to_string(),
        )
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
        let bad = |kind, seq, reason: String| VerifyError {
            kind,
            file: CHECKPOINTS_FILE.to_string(),
            line: line_no,
            seq,
            reason,
        };
        let Some(line) = buf.strip_suffix(b"\n") else {
            let reason = "partial last line (no newline)".to_string();
            return Err(bad(ErrorKind::AuditCheckpointMalformed, None, reason));
        };
        let cp = parse_checkpoint_line(line)
            .map_err(|why| bad(ErrorKind::AuditCheckpointMalformed, None, why))?;
        if !checkpoint_signature_ok(&cp, key) {
            let reason = "signature does not verify with the audit public key".to_string();
            let kind = match expect {
                Some(_) => ErrorKind::AuditForked,
                None => ErrorKind::AuditCheckpointBadSignature,
            };
            return Err(bad(kind, Some(cp.seq), reason));
        }
        if let Some(head) = expect.filter(|h| h.seq == cp.seq && h.hash != cp.hash) {
            let reason = format!(
                "signs another hash at seq {} than the recorded head",
                head.seq
            );
            return Err(bad(ErrorKind::AuditForked, Some(cp.seq), reason));
        }
        if let Some(before) = checkpoints.last().filter(|before| cp.seq <= before.seq) {
            let reason = format!("seq is not after the previous checkpoint's {}", before.seq);
            return Err(bad(ErrorKind::AuditCheckpointOrder, Some(cp.seq), reason));
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
    expect: Option<&'a ExpectedHead>,
    next_checkpoint: usize,
    next_seq: u64,
    prev: Digest32,
    last_file: String,
    last_file_lines: u64,
}

impl<'a> ChainWalk<'a> {
    fn new(checkpoints: &'a [SignedCheckpoint], expect: Option<&'a ExpectedHead>) -> Self {
        ChainWalk {
            checkpoints,
            expect,
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
            VerifyError::whole_file(
                ErrorKind::AuditReadFailed,
                segment_name(n),
                None,
                e.to_string(),
            )
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
            return Err(self.fault(
                ErrorKind::AuditTruncated,
                "partial last line (no newline)".into(),
            ));
        };
        let entry = check_entry_line(line).map_err(|f| self.fault(f.kind(), f.reason()))?;
        if entry.seq != self.next_seq {
            let reason = format!("expected seq {}, found {}", self.next_seq, entry.seq);
            return Err(self.fault(ErrorKind::AuditSeqMismatch, reason));
        }
        if entry.prev != self.prev {
            let reason = "prev is not the hash of the entry before".to_string();
            return Err(self.fault(ErrorKind::AuditChainBroken, reason));
        }
        if let Some(head) = self
            .expect
            .filter(|h| h.seq == entry.seq && h.hash != entry.hash)
        {
            let reason = format!(
                "hash differs from the recorded head {head}: the log was rewritten from this or \
                 an earlier entry on"
            );
            return Err(self.fault(ErrorKind::AuditForked, reason));
        }
        if let Some(cp) = self.checkpoints.get(self.next_checkpoint) {
            if cp.seq == entry.seq {
                if cp.hash != entry.hash {
                    let reason = format!(
                        "hash differs from the signed checkpoint ({CHECKPOINTS_FILE} line {}): \
                         this or an earlier entry was rewritten",
                        cp.line
                    );
                    return Err(self.fault(ErrorKind::AuditCheckpointMismatch, reason));
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
            ErrorKind::AuditSegmentMissing,
            segment_name(n),
            Some(self.next_seq),
            "segment file is missing",
        )
    }

    /// `audit.truncated` at the line after the log's last: entries are missing from its end.
    fn cut_at_end(self, reason: String) -> VerifyError {
        VerifyError {
            kind: ErrorKind::AuditTruncated,
            file: self.last_file,
            line: self.last_file_lines + 1,
            seq: Some(self.next_seq),
            reason,
        }
    }

    fn finish(self, has_checkpoint_file: bool) -> Result<VerifyReport, VerifyError> {
        let entries = self.next_seq - 1;
        if let Some(cp) = self.checkpoints.get(self.next_checkpoint) {
            let reason = format!(
                "log ends at seq {entries} but a signed checkpoint ({CHECKPOINTS_FILE} line {}) \
                 covers seq {}: entries were removed from the end",
                cp.line, cp.seq
            );
            return Err(self.cut_at_end(reason));
        }
        if !has_checkpoint_file && entries > 0 {
            return Err(VerifyError::whole_file(
                ErrorKind::AuditCheckpointsMissing,
                CHECKPOINTS_FILE,
                None,
                "the log has entries but no checkpoint file",
            ));
        }
        let checkpointed_seq = self.checkpoints.last().map_or(0, |cp| cp.seq);
        if let Some(head) = self.expect {
            if entries < head.seq {
                let reason = format!(
                    "log ends at seq {entries}, before the recorded head {head}: entries were \
                     removed from the end"
                );
                return Err(self.cut_at_end(reason));
            }
            if checkpointed_seq < head.seq {
                let reason = format!(
                    "the signed checkpoints end at seq {checkpointed_seq}, before the recorded \
                     head {head}: checkpoint lines were removed"
                );
                return Err(VerifyError::whole_file(
                    ErrorKind::AuditTruncated,
                    CHECKPOINTS_FILE,
                    Some(head.seq),
                    reason,
                ));
            }
        }
        Ok(VerifyReport {
            entries,
            checkpoints: self.checkpoints.len() as u64,
            head_seq: entries,
            head_hash: hex::encode(self.prev),
            checkpointed_seq,
        })
    }

    fn fault(&self, kind: ErrorKind, reason: String) -> VerifyError {
        VerifyError {
            kind,
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
    use crate::audit::checkpoint::encode_checkpoint;
    use crate::audit::entry::{HASH_OPEN, HASH_SUFFIX_LEN};
    use crate::audit::test_support::*;
    use crate::audit::AuditOptions;
    use ed25519_dalek::SigningKey;
    use sha2::{Digest, Sha256};
    use std::fs;
    use tempfile::TempDir;

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
                ["audit.hash_mismatch", "audit.malformed", "audit.truncated"].contains(&err.code()),
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
        let err = open_err(dir.path());
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

        let err = open_err(dir.path());
        assert_eq!(err.code(), "audit.corrupt", "{err}");
        assert_eq!(
            fs::read(&path).unwrap(),
            bytes,
            "open must not touch a torn log"
        );

        // Also without a checkpoint that would betray the cut (e.g. a crash mid-write).
        fs::write(checkpoints_path(dir.path()), b"").unwrap();
        let err = open_err(dir.path());
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
        assert_eq!(verify_err(dir.path()).code(), "audit.checkpoints_missing");
    }

    #[test]
    fn a_recorded_head_is_seq_colon_hash() {
        let hash = "ab".repeat(32);
        let head: ExpectedHead = format!(" 7:{hash}\n").parse().unwrap();
        assert_eq!((head.seq, head.to_string()), (7, format!("7:{hash}")));
        for bad in [
            "",
            "7",
            &format!("0:{hash}"),
            &format!("x:{hash}"),
            "7:abc",
            &format!("7:{}", "AB".repeat(32)),
        ] {
            assert!(bad.parse::<ExpectedHead>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn verify_error_names_the_place() {
        let err = VerifyError {
            kind: ErrorKind::AuditSeqMismatch,
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
}
