//! The delivery pack: one ZIP archive per disclosure holding everything that leaves the
//! building — the report in each rendering (the JSON that is THE report, its PDF/A, HTML and
//! ETSI XML views), the signed audit head covering the disclosure, the files to check that
//! head's signature with standard tools, a list of SHA-256 sums and a short text (Swedish and
//! English) on how to verify it all offline. Pure: the caller hands in the renderings and the
//! head; nothing here reads the store, the register or the clock.
//!
//! ZIP, not tar: the people who receive it (courts, police, rights holders' lawyers) open a ZIP
//! with what their desktop has. Entries are stored uncompressed (the PDF is compressed
//! already; the rest is small) with the report's own time, so one disclosure always gives the
//! same bytes for the same head.

use std::io::{Cursor, Write};

use super::{sha256_hex, Report};
use crate::audit::SignedHead;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the raw 32-byte key follows.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// What goes into the pack.
pub struct Contents<'a> {
    pub report: &'a Report,
    /// The canonical JSON (its SHA-256 is the report's).
    pub json: &'a str,
    pub xml: &'a str,
    pub html: &'a str,
    pub pdf: &'a [u8],
    /// The head signed after the pack's own audit entry, so it covers every entry the report
    /// names.
    pub head: &'a SignedHead,
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("the signed head is not what the audit writer makes: {0}")]
    Head(&'static str),
    #[error("the archive could not be written: {0}")]
    Zip(String),
}

/// The files of the pack, in order: (name inside the pack's folder, bytes).
pub fn files(c: &Contents) -> Result<Vec<(String, Vec<u8>)>, PackError> {
    let hash = hex::decode(&c.head.hash)
        .ok()
        .filter(|h| h.len() == 32)
        .ok_or(PackError::Head("hash is not 32 bytes of hex"))?;
    let signature = hex::decode(&c.head.signature)
        .ok()
        .filter(|s| s.len() == 64)
        .ok_or(PackError::Head("signature is not 64 bytes of hex"))?;
    let key = hex::decode(&c.head.public_key)
        .ok()
        .filter(|k| k.len() == 32)
        .ok_or(PackError::Head("public key is not 32 bytes of hex"))?;
    // What the head's signature covers: seq (8 bytes big-endian) ‖ hash (32 raw bytes).
    let mut message = c.head.seq.to_be_bytes().to_vec();
    message.extend_from_slice(&hash);
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(&key);
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64_std(&der)
    );
    let head_json =
        serde_json::to_string_pretty(c.head).map_err(|e| PackError::Zip(e.to_string()))?;
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("report.json".into(), c.json.as_bytes().to_vec()),
        ("report.pdf".into(), c.pdf.to_vec()),
        ("report.html".into(), c.html.as_bytes().to_vec()),
        ("report.xml".into(), c.xml.as_bytes().to_vec()),
        ("audit-head.json".into(), (head_json + "\n").into_bytes()),
        ("audit-head.msg".into(), message),
        ("audit-head.sig".into(), signature),
        ("audit-signing-key.pem".into(), pem.into_bytes()),
    ];
    let readme = verify_text(c.report, &sha256_hex(c.json.as_bytes()), c.head);
    files.push(("LÄSMIG-VERIFY.txt".into(), readme.into_bytes()));
    let sums: String = files
        .iter()
        .map(|(name, bytes)| format!("{}  {name}\n", sha256_hex(bytes)))
        .collect();
    files.push(("SHA256SUMS".into(), sums.into_bytes()));
    Ok(files)
}

/// The archive: every file under a folder named after the case.
pub fn zip(c: &Contents) -> Result<Vec<u8>, PackError> {
    let folder = safe_name(&c.report.request_id);
    let when = super::utc_datetime(c.report.generated_at)
        .and_then(|t| {
            use chrono::{Datelike, Timelike};
            zip::DateTime::from_date_and_time(
                t.year().clamp(1980, 2107) as u16,
                t.month() as u8,
                t.day() as u8,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
            )
            .ok()
        })
        .unwrap_or_default();
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(when)
        .unix_permissions(0o600);
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let err = |e: zip::result::ZipError| PackError::Zip(e.to_string());
    for (name, bytes) in files(c)? {
        w.start_file(format!("{folder}/{name}"), options)
            .map_err(err)?;
        w.write_all(&bytes)
            .map_err(|e| PackError::Zip(e.to_string()))?;
    }
    Ok(w.finish().map_err(err)?.into_inner())
}

/// The pack's file name: `tdr-<case>.zip`.
pub fn file_name(r: &Report) -> String {
    format!("tdr-{}.zip", safe_name(&r.request_id))
}

/// A case id as a file name: letters, digits, `-`, `_` and `.` kept, the rest `_`.
fn safe_name(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with('.') {
        format!("case{out}")
    } else {
        out
    }
}

/// Standard base64 with padding (RFC 4648 §4), for the PEM key: 44 bytes, not worth a crate.
fn base64_std(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// How to check the pack without tdr and without trusting the operator's box.
fn verify_text(r: &Report, sha: &str, head: &SignedHead) -> String {
    let seqs: Vec<String> = r.audit_seqs.iter().map(u64::to_string).collect();
    format!(
        "Utlämnande {id} från {csp} — ärende {number} ({authority})
Disclosure {id} from {csp} — case {number} ({authority})

SV: Så kontrollerar du paketet utan tdr
1. Filernas kontrollsummor:            sha256sum -c SHA256SUMS
2. report.json är själva svaret. Dess SHA-256 är
      {sha}
   och står tryckt i report.pdf, report.html och report.xml.
3. Granskningsloggens signerade huvud (audit-head.json) täcker post {seq} och alla
   poster före den, bland dem uppslagen och utlämnandet: {seqs}.
   Signaturen (Ed25519 över seq, 8 byte big-endian, följt av hashen, 32 byte) kontrolleras:
      openssl pkeyutl -verify -pubin -inkey audit-signing-key.pem -rawin \\
          -in audit-head.msg -sigfile audit-head.sig
   Jämför nyckelns id {key_id} med det som operatörens granskare har registrerat
   utanför systemet: nyckeln i paketet bevisar ingenting ensam.
4. Att posterna verkligen finns i loggen visar operatörens granskare med
      tdr audit verify --pubkey NYCKEL --expect-head {seq}:{hash}
   på en kopia av granskningsloggen.

EN: How to check the pack without tdr
1. The files' checksums:               sha256sum -c SHA256SUMS
2. report.json is the answer itself. Its SHA-256 is the one above, printed in report.pdf,
   report.html and report.xml.
3. The audit log's signed head (audit-head.json) covers entry {seq} and every entry before
   it, among them the lookups and the disclosure: {seqs}.
   Check its signature (Ed25519 over seq, 8 bytes big-endian, then the hash, 32 bytes) with
   the openssl command above, and compare the key id {key_id} with the one the operator's
   auditor recorded off the box: the key in the pack proves nothing on its own.
4. That the entries are in the log is shown by the operator's auditor running
   `tdr audit verify --pubkey KEY --expect-head {seq}:{hash}` on a copy of the audit log.
",
        id = r.request_id,
        csp = r.csp_id,
        number = r.case.case_number,
        authority = r.case.authority,
        seq = head.seq,
        hash = head.hash,
        key_id = head.key_id,
        seqs = seqs.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        for (raw, b64) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_std(raw.as_bytes()), b64, "{raw:?}");
        }
    }

    #[test]
    fn a_case_id_becomes_a_safe_folder_name() {
        assert_eq!(safe_name("C-2026-0007"), "C-2026-0007");
        assert_eq!(safe_name("../etc/x"), "case.._etc_x");
        assert_eq!(safe_name("å b"), "__b");
    }
}
