//! Signed checkpoints: the line in `audit/checkpoints.log` that signs the chain's head (Ed25519
//! over seq ‖ hash), and the checks a writer makes on the last one before it continues a log.

use std::io;
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::entry::{decode_hash_hex, is_rfc3339_utc, rfc3339_utc, Digest32};
use super::error::{corrupt, AuditError};
use super::files::{read_last_line, LastLine};
use super::CHECKPOINTS_FILE;
use crate::clock::UnixSecs;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckpointLine {
    pub(super) seq: u64,
    hash: String,
    time: String,
    sig: String,
}

/// A checkpoint line that parsed (its signature not yet checked).
pub(super) struct ParsedCheckpoint {
    pub(super) seq: u64,
    pub(super) hash: Digest32,
    pub(super) time: String,
    pub(super) sig: Signature,
}

/// A signed head of the chain: what an auditor records off the box (from `GET /v1/audit/head`
/// or the journal) and later hands to `tdr audit verify --expect-head SEQ:HASH`. Holds no
/// personal data: a position, a hash, a time, an Ed25519 signature over seq ‖ hash and the
/// public key that verifies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedHead {
    pub seq: u64,
    /// SHA-256 of the entry line at `seq`, 64 lowercase hex characters.
    pub hash: String,
    /// When the checkpoint was signed, RFC 3339 UTC.
    pub time: String,
    /// Ed25519 signature over seq (8 bytes big-endian) ‖ hash (32 raw bytes), 128 hex.
    pub signature: String,
    /// The Ed25519 public key, 64 hex characters.
    pub public_key: String,
    /// A short name of the public key (the first 16 hex characters of its SHA-256).
    pub key_id: String,
}

impl SignedHead {
    fn new(seq: u64, hash: &Digest32, time: String, sig: &Signature, key: &VerifyingKey) -> Self {
        SignedHead {
            seq,
            hash: hex::encode(hash),
            time,
            signature: hex::encode(sig.to_bytes()),
            public_key: hex::encode(key.as_bytes()),
            key_id: key_id(key),
        }
    }

    pub(super) fn from_checkpoint(cp: &ParsedCheckpoint, key: &VerifyingKey) -> SignedHead {
        SignedHead::new(cp.seq, &cp.hash, cp.time.clone(), &cp.sig, key)
    }

    /// The `SEQ:HASH` form `tdr audit verify --expect-head` takes.
    pub fn seq_hash(&self) -> String {
        format!("{}:{}", self.seq, self.hash)
    }

    /// The line for `audit/checkpoints.log` (with trailing newline).
    pub(super) fn checkpoint_line(&self) -> Result<Vec<u8>, AuditError> {
        let line = CheckpointLine {
            seq: self.seq,
            hash: self.hash.clone(),
            time: self.time.clone(),
            sig: self.signature.clone(),
        };
        let mut bytes = serde_json::to_vec(&line).map_err(|e| AuditError::Encode(e.to_string()))?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// A short, stable name of a public key: the first 16 hex characters of its SHA-256.
pub(super) fn key_id(key: &VerifyingKey) -> String {
    let mut id = hex::encode(Sha256::digest(key.as_bytes()));
    id.truncate(16);
    id
}

/// Signs the head `seq`/`hash` at `now`.
pub(super) fn sign_head(
    key: &SigningKey,
    seq: u64,
    hash: &Digest32,
    now: UnixSecs,
) -> Result<SignedHead, AuditError> {
    let sig = key.sign(&checkpoint_message(seq, hash));
    Ok(SignedHead::new(
        seq,
        hash,
        rfc3339_utc(now)?,
        &sig,
        &key.verifying_key(),
    ))
}

/// Builds a signed checkpoint line (with trailing newline).
#[cfg(test)]
pub(super) fn encode_checkpoint(
    key: &SigningKey,
    seq: u64,
    hash: &Digest32,
    now: UnixSecs,
) -> Result<Vec<u8>, AuditError> {
    sign_head(key, seq, hash, now)?.checkpoint_line()
}

/// The signed bytes of a checkpoint: seq (8 bytes big-endian) ‖ hash (32 raw bytes).
fn checkpoint_message(seq: u64, hash: &Digest32) -> [u8; 40] {
    let mut msg = [0u8; 40];
    msg[..8].copy_from_slice(&seq.to_be_bytes());
    msg[8..].copy_from_slice(hash);
    msg
}

pub(super) fn parse_checkpoint_line(line: &[u8]) -> Result<ParsedCheckpoint, String> {
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
        time: cp.time,
        sig: Signature::from_bytes(&sig),
    })
}

pub(super) fn checkpoint_signature_ok(cp: &ParsedCheckpoint, key: &VerifyingKey) -> bool {
    key.verify_strict(&checkpoint_message(cp.seq, &cp.hash), &cp.sig)
        .is_ok()
}

pub(super) fn read_last_checkpoint(
    audit_dir: &Path,
) -> Result<Option<ParsedCheckpoint>, AuditError> {
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
pub(super) fn check_last_checkpoint(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::test_support::{checkpoints_path, entry, open, read_lines};
    use std::fs;
    use tempfile::TempDir;

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
}
