//! The merge functions of the families, apart from RocksDB so every backend merges alike:
//! coverage bitmaps in `meta` are ORed; in day partitions copies of one binding are merged and
//! sharer sets are unions.

use super::binding::Facts;
use super::keys::{self, BindingKey};

/// Merge of the `meta` family: coverage bitmaps are ORed together, so coverage is
/// order-independent and a late event can only add minutes.
pub(crate) fn or_bitmaps<'a>(
    existing: Option<&[u8]>,
    operands: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<u8> {
    let mut acc: Vec<u8> = existing.map(<[u8]>::to_vec).unwrap_or_default();
    for op in operands {
        if acc.len() < op.len() {
            acc.resize(op.len(), 0);
        }
        for (a, b) in acc.iter_mut().zip(op) {
            *a |= b;
        }
    }
    acc
}

/// Merge of the day partitions (and the live family): copies of one final binding are merged
/// ([`Facts::merge_same`]), so a copy written later from fewer facts (late events) adds to the
/// stored binding instead of replacing it. Sharer sets are unions. Other values (CDRs) keep
/// the last write, as a put would.
pub(crate) fn facts<'a>(
    key: &[u8],
    existing: Option<&'a [u8]>,
    operands: impl IntoIterator<Item = &'a [u8]>,
) -> Option<Vec<u8>> {
    if keys::is_sharer_key(key) {
        return Some(keys::union_sharers(existing.into_iter().chain(operands)));
    }
    let start = BindingKey::decode(key).map(|k| k.start);
    let mut acc: Option<Vec<u8>> = existing.map(<[u8]>::to_vec);
    for op in operands {
        let merged = match (&acc, start) {
            (Some(prev), Some(s)) => match (Facts::decode(s, prev), Facts::decode(s, op)) {
                (Some(mut a), Some(b)) => {
                    a.merge_same(&b);
                    let mut out = Vec::with_capacity(prev.len().max(op.len()));
                    a.encode(&mut out);
                    Some(out)
                }
                _ => None,
            },
            _ => None,
        };
        acc = Some(merged.unwrap_or_else(|| op.to_vec()));
    }
    acc
}
