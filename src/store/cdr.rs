//! Call detail records in the store: each CDR is written into the day partition of its start
//! (so it expires with that day, like every other record) under two keys, one for the calling
//! and one for the called number, so `tdr cdrs --number N` finds a number's calls in either
//! role with one prefix scan per day. Keys are deterministic, so importing a CDR twice stores
//! it once.

use sha2::{Digest, Sha256};

use crate::model::{Cdr, Event, UnixSecs};
use crate::parse::events;

/// Key tag of CDR index entries in day partitions (bindings use 'B' and 'N').
pub const TAG_CDR: u8 = b'C';

/// A number as it is indexed and looked up: digits only, `00` international prefix written
/// as `+`, spaces, dashes, dots, parentheses and a `tel:`/`sip:` scheme dropped. Anything
/// else (a SIP user name) is kept as written, lower-cased.
pub fn normalize_number(n: &str) -> String {
    let t = n.trim();
    let t = t
        .strip_prefix("tel:")
        .or_else(|| t.strip_prefix("sip:"))
        .unwrap_or(t);
    let t = t.split('@').next().unwrap_or(t);
    let phoneish = t
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'));
    if !phoneish || !t.chars().any(|c| c.is_ascii_digit()) {
        return t.to_lowercase();
    }
    let plus = t.starts_with('+');
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if plus {
        format!("+{digits}")
    } else if let Some(intl) = digits.strip_prefix("00") {
        format!("+{intl}")
    } else {
        digits
    }
}

/// Key prefix of all entries of `number` (normalised).
pub fn prefix(number: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(number.len() + 2);
    k.push(TAG_CDR);
    k.extend_from_slice(number.as_bytes());
    k.push(0);
    k
}

/// The index key of `cdr` under `number`: prefix ‖ start (sign-flipped big-endian) ‖ the first
/// 8 bytes of the SHA-256 of the stored record (so distinct calls never collide and a repeat
/// of the same call lands on the same key).
pub fn key(number: &str, start: UnixSecs, value: &[u8]) -> Vec<u8> {
    let mut k = prefix(number);
    k.extend_from_slice(&((start as u64) ^ (1 << 63)).to_be_bytes());
    k.extend_from_slice(&Sha256::digest(value)[..8]);
    k
}

/// Start time encoded in a key (after the prefix).
pub fn key_start(key: &[u8], prefix_len: usize) -> Option<UnixSecs> {
    let b: [u8; 8] = key.get(prefix_len..prefix_len + 8)?.try_into().ok()?;
    Some((u64::from_be_bytes(b) ^ (1 << 63)) as i64)
}

/// The stored value: the CDR as one line of the `events` format.
pub fn encode(cdr: &Cdr) -> Vec<u8> {
    events::to_line(&Event::Cdr(Box::new(cdr.clone()))).into_bytes()
}

pub fn decode(value: &[u8]) -> Option<Cdr> {
    match events::parse_line(value, "") {
        Ok(Event::Cdr(c)) => Some(*c),
        _ => None,
    }
}

/// The (key, value) pairs `cdr` is stored under: one per distinct number it involves.
pub fn entries(cdr: &Cdr) -> Vec<(Vec<u8>, Vec<u8>)> {
    let value = encode(cdr);
    let mut numbers = vec![
        normalize_number(&cdr.calling),
        normalize_number(&cdr.called),
    ];
    numbers.retain(|n| !n.is_empty());
    numbers.dedup();
    numbers
        .into_iter()
        .map(|n| (key(&n, cdr.start, &value), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_normalise_to_one_form() {
        assert_eq!(normalize_number("+46 70-123 45 67"), "+46701234567");
        assert_eq!(normalize_number("0046701234567"), "+46701234567");
        assert_eq!(normalize_number("tel:+46701234567"), "+46701234567");
        assert_eq!(normalize_number("sip:0701234567@pbx.example"), "0701234567");
        assert_eq!(normalize_number("(08) 123 456"), "08123456");
        assert_eq!(normalize_number("Alice"), "alice");
        assert_eq!(normalize_number(""), "");
    }

    #[test]
    fn keys_sort_by_time_and_round_trip() {
        let a = key("+4670", -5, b"x");
        let b = key("+4670", 10, b"x");
        assert!(a < b);
        assert_eq!(key_start(&b, prefix("+4670").len()), Some(10));
        assert_eq!(key_start(&a, prefix("+4670").len()), Some(-5));
        assert!(!key("+46701", 0, b"x").starts_with(&prefix("+4670")));
    }
}
