//! Entry lines: what a caller states ([`NewEntry`]), its canonical on-disk encoding (one JSON
//! object per line in a fixed field order) and the SHA-256 hash that chains each line to the one
//! before; also reading a line back and checking it on its raw bytes.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::AuditError;
use super::keys::Pseudonymizer;
use crate::clock::UnixSecs;
use crate::error::ErrorKind;

/// `prev` of the first entry, and the head hash of an empty log.
pub(super) const ZERO_HASH: Digest32 = [0; 32];
/// Every entry line ends with `,"hash":"<64 hex>"}`; the hash covers all bytes before it.
pub(super) const HASH_OPEN: &[u8] = b",\"hash\":\"";
pub(super) const HASH_CLOSE: &[u8] = b"\"}";
pub(super) const HASH_SUFFIX_LEN: usize = HASH_OPEN.len() + 64 + HASH_CLOSE.len();

/// A raw SHA-256 hash.
pub(super) type Digest32 = [u8; 32];

/// One audit entry as the caller states it; seq, time and the chain are added by `append`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewEntry {
    pub actor: String,
    pub role: String,
    /// Where the request came from (`192.0.2.7:51234`, `uid 1001`); `None` for the daemon's own
    /// work and for entries written before peers were recorded (the field is then absent from
    /// the line, so their hashes are unchanged).
    pub peer: Option<String>,
    /// e.g. "lookup", "lookup_batch_item", "partition_drop", "import"
    pub action: String,
    pub case: Option<String>,
    /// e.g. "ipred", "law_enforcement", "abuse", "retention"
    pub legal_basis: Option<String>,
    /// The query as given, with subscriber ids already replaced by
    /// [`AuditLog::pseudonym`](super::AuditLog::pseudonym).
    pub query: serde_json::Value,
    /// e.g. "found", "not_found", "refused", "ok"
    pub outcome: String,
    pub result_count: u64,
    /// Hex SHA-256 of the result bytes returned to the caller.
    pub result_digest: Option<String>,
}

/// The most bytes each text field of an entry takes once JSON-encoded; longer text (from a
/// caller: a user name, a case id from a URL, a ticket reference) is cut and ends in `…`, so no
/// entry grows with what a caller sends.
pub const FIELD_MAX: usize = 64;
/// The most bytes an entry's query takes as JSON. A longer one is replaced by its size and a
/// keyed digest (`{"oversized":{"bytes":N,"keyed_digest":"…"}}`), so the entry still ties to
/// the request without holding it.
pub const QUERY_MAX: usize = 512;

/// Where an entry landed in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    pub hash: String,
}

pub(super) fn validate_entry(entry: &NewEntry) -> Result<(), AuditError> {
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

/// An entry without its hash, in the fixed field order of the on-disk format; text fields
/// bounded (see [`FIELD_MAX`], [`QUERY_MAX`]).
#[derive(Serialize)]
struct EntryBody<'a> {
    seq: u64,
    time: &'a str,
    actor: Cow<'a, str>,
    role: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer: Option<Cow<'a, str>>,
    action: Cow<'a, str>,
    case: Option<Cow<'a, str>>,
    legal_basis: Option<Cow<'a, str>>,
    query: Cow<'a, serde_json::Value>,
    outcome: Cow<'a, str>,
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
    /// Absent in entries without a peer (and in every entry written before peers were kept).
    #[serde(default)]
    peer: Option<String>,
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

/// The chain fields of an entry line whose hash and format checked out.
pub(super) struct CheckedEntry {
    pub(super) seq: u64,
    pub(super) prev: Digest32,
    pub(super) hash: Digest32,
}

/// Why one entry line is bad.
pub(super) enum LineFault {
    HashMismatch,
    Malformed(String),
}

impl LineFault {
    pub(super) fn kind(&self) -> ErrorKind {
        match self {
            LineFault::HashMismatch => ErrorKind::AuditHashMismatch,
            LineFault::Malformed(_) => ErrorKind::AuditMalformed,
        }
    }

    pub(super) fn reason(&self) -> String {
        match self {
            LineFault::HashMismatch => "entry bytes do not match its hash (edited)".to_string(),
            LineFault::Malformed(why) => why.clone(),
        }
    }
}

/// Serialises an entry line (with trailing newline) and returns it with its hash. Text fields
/// longer than [`FIELD_MAX`] are cut; a query longer than [`QUERY_MAX`] is replaced by its size
/// and its digest under `keyed`.
pub(super) fn encode_entry(
    seq: u64,
    time: &str,
    entry: &NewEntry,
    prev: &Digest32,
    keyed: &Pseudonymizer,
) -> Result<(Vec<u8>, Digest32), AuditError> {
    let prev_hex = hex::encode(prev);
    let body = EntryBody {
        seq,
        time,
        actor: cap_text(&entry.actor),
        role: cap_text(&entry.role),
        peer: entry.peer.as_deref().map(cap_text),
        action: cap_text(&entry.action),
        case: entry.case.as_deref().map(cap_text),
        legal_basis: entry.legal_basis.as_deref().map(cap_text),
        query: cap_query(&entry.query, keyed),
        outcome: cap_text(&entry.outcome),
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

/// `s` cut so that its JSON encoding takes at most [`FIELD_MAX`] bytes; a cut ends in `…`.
fn cap_text(s: &str) -> Cow<'_, str> {
    if s.chars().map(json_len).sum::<usize>() <= FIELD_MAX {
        return Cow::Borrowed(s);
    }
    let budget = FIELD_MAX - '…'.len_utf8();
    let mut used = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        used += json_len(c);
        if used > budget {
            break;
        }
        end = i + c.len_utf8();
    }
    Cow::Owned(format!("{}…", &s[..end]))
}

/// Bytes `c` takes inside a JSON string as serde_json writes it.
fn json_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if u32::from(c) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// The query, or its size and keyed digest when it is longer than [`QUERY_MAX`].
fn cap_query<'a>(
    query: &'a serde_json::Value,
    keyed: &Pseudonymizer,
) -> Cow<'a, serde_json::Value> {
    let text = query.to_string();
    if text.len() <= QUERY_MAX {
        return Cow::Borrowed(query);
    }
    Cow::Owned(serde_json::json!({"oversized": {
        "bytes": text.len(),
        "keyed_digest": keyed.pseudonym(&text),
    }}))
}

/// Checks one entry line (without its newline) on its raw bytes, then its fields.
pub(super) fn check_entry_line(line: &[u8]) -> Result<CheckedEntry, LineFault> {
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

pub(super) fn decode_hash_hex(hex_bytes: &[u8]) -> Option<Digest32> {
    let lower_hex = |b: &u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
    if hex_bytes.len() != 64 || !hex_bytes.iter().all(lower_hex) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_bytes, &mut out).ok()?;
    Some(out)
}

pub(super) fn rfc3339_utc(t: UnixSecs) -> Result<String, AuditError> {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|dt| dt.to_rfc3339_opts(SecondsFormat::Secs, true))
        .ok_or_else(|| AuditError::Encode(format!("clock time {t} is out of range")))
}

pub(super) fn is_rfc3339_utc(s: &str) -> bool {
    s.ends_with('Z') && DateTime::parse_from_rfc3339(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::test_support::{entry, open, read_lines, segment_path, ZEROS};
    use crate::audit::verify;
    use proptest::prelude::*;
    use serde_json::json;
    use tempfile::TempDir;

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
    fn caller_text_cannot_grow_an_entry_past_about_1_kib() {
        let dir = TempDir::new().unwrap();
        let mut log = open(dir.path());
        let huge = |c: char| std::iter::repeat_n(c, 100_000).collect::<String>();
        let e = NewEntry {
            actor: huge('a'),
            role: huge('\u{1}'),
            peer: Some(huge('"')),
            action: huge('ä'),
            case: Some(huge('c')),
            legal_basis: Some(huge('\n')),
            query: json!({"q": huge('q')}),
            outcome: huge('o'),
            ..entry(1)
        };
        log.append(e).unwrap();
        let small = NewEntry {
            peer: Some("uid 1001".into()),
            ..entry(2)
        };
        log.append(small.clone()).unwrap();
        drop(log);

        let lines = read_lines(&segment_path(dir.path(), 1));
        assert!(lines[0].len() < 1400, "{} bytes", lines[0].len());
        let v: serde_json::Value = serde_json::from_slice(&lines[0]).unwrap();
        for field in [
            "actor",
            "role",
            "peer",
            "action",
            "case",
            "legal_basis",
            "outcome",
        ] {
            let text = v[field].as_str().unwrap();
            assert!(text.ends_with('…'), "{field}");
            let encoded = serde_json::to_string(text).unwrap();
            assert!(encoded.len() - 2 <= FIELD_MAX, "{field}: {}", encoded.len());
        }
        assert_eq!(v["query"]["oversized"]["bytes"], 100_008);
        assert_eq!(
            v["query"]["oversized"]["keyed_digest"]
                .as_str()
                .unwrap()
                .len(),
            32
        );
        // What fits is kept as it was; the peer sits after the role.
        let text = String::from_utf8(lines[1].clone()).unwrap();
        assert!(
            text.contains("\"role\":\"legal_officer\",\"peer\":\"uid 1001\",\"action\""),
            "{text}"
        );
        assert!(text.contains(&small.query.to_string()), "{text}");
        assert_eq!(verify(dir.path()).unwrap().entries, 2);
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
