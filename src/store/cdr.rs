//! Call detail records in the store: each CDR is written into the day partition of its start
//! (so it expires with that day, like every other record) under two keys, one for the calling
//! and one for the called number, so `tdr cdrs --number N` finds a number's calls in either
//! role with one prefix scan per day. Keys are deterministic, so importing a CDR twice stores
//! it once.

use sha2::{Digest, Sha256};

use super::keys::PREFIX_LEN;
use super::subject::Hash16;
use crate::model::{Cdr, UnixSecs};

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

/// Key prefix of all entries of a number, by its keyed hash (of the normalised number, under
/// the subscriber index's key): `C` ‖ h16 ‖ 0, the partitions' 18-byte lookup prefix. Keys
/// hold no number in clear.
pub fn prefix(hash: &Hash16) -> [u8; PREFIX_LEN] {
    let mut k = [0u8; PREFIX_LEN];
    k[0] = TAG_CDR;
    k[1..17].copy_from_slice(hash);
    k
}

/// The index key of `cdr` under a number's hash: prefix ‖ start (sign-flipped big-endian) ‖
/// the first 8 bytes of the SHA-256 of the stored record (so distinct calls never collide and
/// a repeat of the same call lands on the same key).
pub fn key(hash: &Hash16, start: UnixSecs, value: &[u8]) -> Vec<u8> {
    let mut k = prefix(hash).to_vec();
    k.extend_from_slice(&((start as u64) ^ (1 << 63)).to_be_bytes());
    k.extend_from_slice(&Sha256::digest(value)[..8]);
    k
}

/// A key of a store written before encryption (schema 1), `C` ‖ number ‖ 0 ‖ rest: the number
/// and the rest (start and digest), for [`super::Store`]'s one-time sealing.
pub(crate) fn plain_key_number(k: &[u8]) -> Option<(&str, &[u8])> {
    let body = k.strip_prefix(&[TAG_CDR])?;
    let split = body.len().checked_sub(17)?;
    if body[split] != 0 {
        return None;
    }
    Some((
        std::str::from_utf8(&body[..split]).ok()?,
        &body[split + 1..],
    ))
}

/// Start time encoded in a key (after the prefix).
pub fn key_start(key: &[u8], prefix_len: usize) -> Option<UnixSecs> {
    let b: [u8; 8] = key.get(prefix_len..prefix_len + 8)?.try_into().ok()?;
    Some((u64::from_be_bytes(b) ^ (1 << 63)) as i64)
}

/// What a CDR query found for a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrAnswer {
    /// `found`, `no_data_for_this_purpose`, `outside_retention` or `not_found`, with the same
    /// meanings as for lookups.
    pub status: &'static str,
    /// The calls the scope may read, oldest first.
    pub calls: Vec<Cdr>,
}

/// The calls of `number` overlapping `from..=to` that `scope` may read. Retention is enforced
/// here, at read time: a call past its class's period is invisible to every purpose, and a
/// purpose reads only the classes the purpose matrix allows.
pub fn answer(
    store: &dyn super::StoreRead,
    scope: &super::lookup::Scope,
    number: &str,
    from: UnixSecs,
    to: UnixSecs,
) -> Result<CdrAnswer, super::StoreError> {
    let retained: Vec<Cdr> = store
        .cdrs(number, from, to)?
        .into_iter()
        .filter(|c| scope.retained(c.class, c.start))
        .collect();
    let any_retained = !retained.is_empty();
    let calls: Vec<Cdr> = retained
        .into_iter()
        .filter(|c| scope.allowed.contains(&c.class))
        .collect();
    let status = if !calls.is_empty() {
        "found"
    } else if any_retained {
        "no_data_for_this_purpose"
    } else if !scope.any_retained(to) {
        "outside_retention"
    } else {
        "not_found"
    };
    Ok(CdrAnswer { status, calls })
}

/// Version byte of the stored value layout.
const CODEC_V1: u8 = 1;

/// The stored value: version 1, then start, end (i64 BE), answer (flag + i64 BE), duration,
/// billsec (u32 BE), class, and calling, called, disposition, call id (flag), source as
/// length-prefixed (u16 BE) UTF-8.
pub fn encode(cdr: &Cdr) -> Vec<u8> {
    let mut v = Vec::with_capacity(64 + cdr.calling.len() + cdr.called.len() + cdr.source.len());
    v.push(CODEC_V1);
    v.extend_from_slice(&cdr.start.to_be_bytes());
    v.extend_from_slice(&cdr.end.to_be_bytes());
    match cdr.answer {
        Some(a) => {
            v.push(1);
            v.extend_from_slice(&a.to_be_bytes());
        }
        None => v.push(0),
    }
    v.extend_from_slice(&cdr.duration.to_be_bytes());
    v.extend_from_slice(&cdr.billsec.to_be_bytes());
    v.push(cdr.class.code());
    let mut put = |s: &str| {
        // Parsers cap these fields at 253 bytes; the cast cannot truncate them.
        let b = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
        v.extend_from_slice(&(b.len() as u16).to_be_bytes());
        v.extend_from_slice(b);
    };
    put(&cdr.calling);
    put(&cdr.called);
    put(&cdr.disposition);
    put(cdr.call_id.as_deref().unwrap_or(""));
    put(&cdr.source);
    v.push(u8::from(cdr.call_id.is_some()));
    v
}

pub fn decode(value: &[u8]) -> Option<Cdr> {
    let mut r = value;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (a, b) = (r.get(..n)?, r.get(n..)?);
        r = b;
        Some(a)
    };
    if take(1)? != [CODEC_V1] {
        return None;
    }
    let i64_at = |b: &[u8]| -> Option<i64> { Some(i64::from_be_bytes(b.try_into().ok()?)) };
    let start = i64_at(take(8)?)?;
    let end = i64_at(take(8)?)?;
    let answer = match take(1)? {
        [0] => None,
        [1] => Some(i64_at(take(8)?)?),
        _ => return None,
    };
    let duration = u32::from_be_bytes(take(4)?.try_into().ok()?);
    let billsec = u32::from_be_bytes(take(4)?.try_into().ok()?);
    let class = crate::model::Class::from_code(take(1)?[0])?;
    let mut string = || -> Option<String> {
        let n = u16::from_be_bytes(take(2)?.try_into().ok()?) as usize;
        String::from_utf8(take(n)?.to_vec()).ok()
    };
    let (calling, called, disposition, call_id, source) =
        (string()?, string()?, string()?, string()?, string()?);
    let has_id = take(1)? == [1];
    Some(Cdr {
        start,
        answer,
        end,
        duration,
        billsec,
        calling,
        called,
        disposition,
        call_id: has_id.then_some(call_id),
        source,
        class,
    })
}

/// The (key, value) pairs `cdr` is stored under: one per distinct number it involves.
pub fn entries(cdr: &Cdr, hash: &dyn Fn(&str) -> Hash16) -> Vec<(Vec<u8>, Vec<u8>)> {
    let value = encode(cdr);
    let mut numbers = vec![
        normalize_number(&cdr.calling),
        normalize_number(&cdr.called),
    ];
    numbers.retain(|n| !n.is_empty());
    numbers.dedup();
    numbers
        .into_iter()
        .map(|n| (key(&hash(&n), cdr.start, &value), value.clone()))
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
    fn values_round_trip() {
        let mut c = Cdr {
            start: 1_795_255_200,
            answer: Some(1_795_255_205),
            end: 1_795_255_265,
            duration: 65,
            billsec: 60,
            calling: "+46701234567".into(),
            called: "112".into(),
            disposition: "ANSWERED".into(),
            call_id: Some("1606467760.3".into()),
            source: "pbx1".into(),
            class: crate::model::Class::Statutory,
        };
        assert_eq!(decode(&encode(&c)), Some(c.clone()));
        c.answer = None;
        c.call_id = None;
        c.called = String::new();
        assert_eq!(decode(&encode(&c)), Some(c.clone()));
        let v = encode(&c);
        for cut in 0..v.len() {
            assert_eq!(decode(&v[..cut]), None, "a cut value never decodes");
        }
    }

    #[test]
    fn keys_sort_by_time_and_round_trip() {
        let h = |n: &str| {
            let mut out = [0u8; 16];
            out[..n.len().min(16)].copy_from_slice(&n.as_bytes()[..n.len().min(16)]);
            out
        };
        let a = key(&h("+4670"), -5, b"x");
        let b = key(&h("+4670"), 10, b"x");
        assert!(a < b);
        assert_eq!(key_start(&b, PREFIX_LEN), Some(10));
        assert_eq!(key_start(&a, PREFIX_LEN), Some(-5));
        assert!(!key(&h("+46701"), 0, b"x").starts_with(&prefix(&h("+4670"))));
        let mut plain = vec![TAG_CDR];
        plain.extend_from_slice(b"+4670\0");
        plain.extend_from_slice(&[9; 16]);
        assert_eq!(plain_key_number(&plain), Some(("+4670", &[9u8; 16][..])));
    }
}
