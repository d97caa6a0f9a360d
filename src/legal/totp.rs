//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA-1, 6 digits, a
//! 30-second step — what every authenticator app reads from an `otpauth://totp/` QR code. The
//! secret is 160 random bits, shown base32 (RFC 4648, no padding) for manual entry.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

use crate::model::UnixSecs;

/// Seconds per step.
pub const STEP: i64 = 30;
const DIGITS: u32 = 6;
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new secret, base32.
pub fn new_secret() -> String {
    let mut raw = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    base32(&raw)
}

/// RFC 4648 base32 without padding.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32 (case and spaces ignored, as people type it); `None` on another character.
pub fn unbase32(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// The HOTP value of `counter` under `key` (RFC 4226 §5.3).
fn hotp(key: &[u8], counter: u64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    bin % 10u32.pow(DIGITS)
}

/// The step number holding `t`.
pub fn step_of(t: UnixSecs) -> i64 {
    t.div_euclid(STEP)
}

/// The 6-digit code for `secret` (base32) at `t`; `None` for a secret that is not base32.
pub fn code(secret: &str, t: UnixSecs) -> Option<String> {
    let key = unbase32(secret)?;
    Some(format!("{:06}", hotp(&key, step_of(t).max(0) as u64)))
}

/// The step `given` matches at `t`, allowing one step of clock drift either way, and only a
/// step after `last_used` (a code is good once).
pub fn verify(secret: &str, given: &str, t: UnixSecs, last_used: i64) -> Option<i64> {
    let given = given.trim().replace(' ', "");
    if given.len() != DIGITS as usize || !given.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let key = unbase32(secret)?;
    let now = step_of(t);
    (now - 1..=now + 1)
        .filter(|s| *s > last_used && *s >= 0)
        .find(|s| format!("{:06}", hotp(&key, *s as u64)) == given)
}

/// The `otpauth://` URI an authenticator app reads from the enrolment QR code.
pub fn uri(issuer: &str, account: &str, secret: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (the key is "12345678901234567890"; the RFC prints 8
    /// digits, of which a 6-digit code is the last six).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = base32(b"12345678901234567890");
        assert_eq!(secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        for (t, want) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code(&secret, t).unwrap(), want, "t={t}");
        }
    }

    #[test]
    fn base32_round_trips_and_refuses_other_characters() {
        for n in 0..24 {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(unbase32(&base32(&bytes)).unwrap(), bytes);
        }
        assert_eq!(
            unbase32("gezd gnbv").unwrap(),
            unbase32("GEZDGNBV").unwrap()
        );
        assert!(unbase32("GEZ1").is_none());
    }

    #[test]
    fn a_code_is_good_for_one_step_either_side_and_only_once() {
        let s = new_secret();
        let t = 1_800_000_000;
        let c = code(&s, t).unwrap();
        let step = verify(&s, &c, t + STEP, 0).expect("one step late is accepted");
        assert_eq!(step, step_of(t));
        assert!(verify(&s, &c, t + 2 * STEP, 0).is_none(), "two steps late");
        assert!(verify(&s, &c, t, step).is_none(), "a used code is refused");
        assert!(verify(&s, "12345", t, 0).is_none());
        assert!(verify(&s, "abcdef", t, 0).is_none());
    }
}
