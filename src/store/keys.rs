//! Key encoding. Every key in a day partition starts with an 18-byte lookup prefix (tag ‖
//! 16-byte address ‖ one byte), which is what the partitions' prefix bloom filters are built on:
//!
//! * address binding: `B` ‖ addr16 ‖ plen ‖ start ‖ id
//! * NAT port block:  `N` ‖ public16 ‖ 0 ‖ port_lo ‖ start ‖ id
//! * NAT sharers:     `S` ‖ public16 ‖ 0 → the set of (inside16 ‖ class) of every inside
//!   address with a block of that public address that day, so `port_required` counts the
//!   sharers with one read instead of reading every block of the day
//!
//! `start` is big-endian with the sign bit flipped so keys sort by time; `id` is a 4-byte hash of
//! the binding's identity that separates bindings starting in the same second.

use std::net::Ipv6Addr;

use crate::model::{day_of, Target, UnixSecs};

pub const PREFIX_LEN: usize = 18;
pub const TAG_BINDING: u8 = b'B';
pub const TAG_NAT: u8 = b'N';
pub const TAG_SHARER: u8 = b'S';

/// Name of the column family holding UTC day `day` (days since epoch): `d20261121`.
pub fn partition_name(day: i64) -> String {
    let date = chrono::DateTime::from_timestamp(day * 86_400, 0)
        .map(|d| d.format("%Y%m%d").to_string())
        .unwrap_or_else(|| "00000000".into());
    format!("d{date}")
}

/// Inverse of [`partition_name`]; `None` for any other column family.
pub fn partition_day(name: &str) -> Option<i64> {
    let digits = name.strip_prefix('d')?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = chrono::NaiveDate::parse_from_str(digits, "%Y%m%d").ok()?;
    Some(day_of(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp()))
}

pub fn time_bytes(t: UnixSecs) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

pub fn time_from_bytes(b: [u8; 8]) -> UnixSecs {
    (u64::from_be_bytes(b) ^ (1 << 63)) as i64
}

/// The lookup prefix of address bindings on `target`.
pub fn binding_prefix(target: &Target) -> [u8; PREFIX_LEN] {
    let mut k = [0u8; PREFIX_LEN];
    k[0] = TAG_BINDING;
    k[1..17].copy_from_slice(&target.addr.octets());
    k[17] = target.plen;
    k
}

/// The lookup prefix of NAT blocks on a public address.
pub fn nat_prefix(public: Ipv6Addr) -> [u8; PREFIX_LEN] {
    let mut k = [0u8; PREFIX_LEN];
    k[0] = TAG_NAT;
    k[1..17].copy_from_slice(&public.octets());
    k
}

/// The key of the sharers of a public address in a day partition. Its value is the sorted set
/// of [`sharer_record`]s of every inside address that used a port block of it that day
/// (merged as a set union), so `port_required` counts them with one read.
pub fn sharer_key(public: Ipv6Addr) -> [u8; PREFIX_LEN] {
    let mut k = [0u8; PREFIX_LEN];
    k[0] = TAG_SHARER;
    k[1..17].copy_from_slice(&public.octets());
    k
}

/// Length of one sharer record: inside address (16 bytes) ‖ retention class code.
pub const SHARER_RECORD: usize = 17;

/// One sharer: `inside` used a block of the public address, in a record of class `class`.
pub fn sharer_record(inside: Ipv6Addr, class: u8) -> [u8; SHARER_RECORD] {
    let mut r = [0u8; SHARER_RECORD];
    r[..16].copy_from_slice(&inside.octets());
    r[16] = class;
    r
}

/// Whether `key` is a sharer-set key.
pub fn is_sharer_key(key: &[u8]) -> bool {
    key.len() == PREFIX_LEN && key[0] == TAG_SHARER
}

/// The set union of sharer-set values, sorted and without duplicates (the partitions' merge of
/// a sharer key).
pub fn union_sharers<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut set = std::collections::BTreeSet::new();
    for v in values {
        for r in v.chunks_exact(SHARER_RECORD) {
            set.insert(r);
        }
    }
    set.into_iter().flatten().copied().collect()
}

/// The key range of NAT blocks of `public` whose first port is in `lo..=hi`.
pub fn nat_port_range(public: Ipv6Addr, lo: u16, hi: u16) -> (Vec<u8>, Vec<u8>) {
    let mut lower = nat_prefix(public).to_vec();
    lower.extend_from_slice(&lo.to_be_bytes());
    let mut upper = nat_prefix(public).to_vec();
    match hi.checked_add(1) {
        Some(next) => upper.extend_from_slice(&next.to_be_bytes()),
        None => upper = prefix_upper_bound(&upper),
    }
    (lower, upper)
}

/// A stored binding's key. For NAT blocks `plen_or_lo` is the first port of the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BindingKey {
    pub tag: u8,
    pub addr: Ipv6Addr,
    pub plen_or_lo: u16,
    pub start: UnixSecs,
    pub id: u32,
}

impl BindingKey {
    pub fn encode(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(32);
        self.encode_into(&mut k);
        k
    }

    /// Appends the encoded key to `k` (reusing its allocation on hot paths).
    pub fn encode_into(&self, k: &mut Vec<u8>) {
        k.push(self.tag);
        k.extend_from_slice(&self.addr.octets());
        if self.tag == TAG_NAT {
            k.push(0);
            k.extend_from_slice(&self.plen_or_lo.to_be_bytes());
        } else {
            k.push(self.plen_or_lo as u8);
        }
        k.extend_from_slice(&time_bytes(self.start));
        k.extend_from_slice(&self.id.to_be_bytes());
    }

    pub fn decode(k: &[u8]) -> Option<BindingKey> {
        let tag = *k.first()?;
        let addr: [u8; 16] = k.get(1..17)?.try_into().ok()?;
        let (plen_or_lo, rest) = match tag {
            TAG_BINDING => (u16::from(*k.get(17)?), k.get(18..)?),
            TAG_NAT => (
                u16::from_be_bytes(k.get(18..20)?.try_into().ok()?),
                k.get(20..)?,
            ),
            _ => return None,
        };
        if rest.len() != 12 {
            return None;
        }
        Some(BindingKey {
            tag,
            addr: Ipv6Addr::from(addr),
            plen_or_lo,
            start: time_from_bytes(rest[..8].try_into().ok()?),
            id: u32::from_be_bytes(rest[8..12].try_into().ok()?),
        })
    }
}

/// The smallest key strictly greater than every key starting with `prefix`.
pub fn prefix_upper_bound(prefix: &[u8]) -> Vec<u8> {
    let mut ub = prefix.to_vec();
    while let Some(last) = ub.last_mut() {
        if *last < 0xff {
            *last += 1;
            return ub;
        }
        ub.pop();
    }
    vec![0xff; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records of a sharer-set value: (inside address, class code); `None` if it is not a
    /// whole number of records.
    fn decode_sharers(v: &[u8]) -> Option<Vec<(Ipv6Addr, u8)>> {
        if !v.len().is_multiple_of(SHARER_RECORD) {
            return None;
        }
        v.chunks_exact(SHARER_RECORD)
            .map(|r| {
                let a: [u8; 16] = r[..16].try_into().ok()?;
                Some((Ipv6Addr::from(a), r[16]))
            })
            .collect()
    }

    #[test]
    fn partition_names_round_trip() {
        let day = day_of(1_795_255_200); // 2026-11-21
        assert_eq!(partition_name(day), "d20261121");
        assert_eq!(partition_day("d20261121"), Some(day));
        assert_eq!(partition_day("meta"), None);
        assert_eq!(partition_day("d2026112"), None);
    }

    #[test]
    fn keys_sort_by_time_and_round_trip() {
        let t = Target::host("192.0.2.1".parse().unwrap());
        let a = BindingKey {
            tag: TAG_BINDING,
            addr: t.addr,
            plen_or_lo: 32,
            start: -5,
            id: 9,
        };
        let b = BindingKey { start: 7, ..a };
        assert!(a.encode() < b.encode());
        assert_eq!(BindingKey::decode(&a.encode()), Some(a));
        assert!(a.encode().starts_with(&binding_prefix(&t)));
        let n = BindingKey {
            tag: TAG_NAT,
            addr: t.addr,
            plen_or_lo: 4096,
            start: 100,
            id: 1,
        };
        assert_eq!(BindingKey::decode(&n.encode()), Some(n));
        assert!(n.encode().starts_with(&nat_prefix(t.addr)));
    }

    #[test]
    fn sharer_sets_merge_as_a_union() {
        let i: Ipv6Addr = "::ffff:100.64.0.9".parse().unwrap();
        let j: Ipv6Addr = "::ffff:100.64.0.1".parse().unwrap();
        let a = sharer_record(i, 0);
        let b = sharer_record(j, 2);
        let merged = union_sharers([&a[..], &b[..], &a[..]]);
        assert_eq!(decode_sharers(&merged), Some(vec![(j, 2), (i, 0)]));
        assert_eq!(union_sharers([&merged[..], &b[..]]), merged, "idempotent");
        assert!(is_sharer_key(&sharer_key(i)));
        assert_eq!(BindingKey::decode(&sharer_key(i)), None, "not a binding");
        assert_eq!(decode_sharers(&merged[1..]), None);
    }

    #[test]
    fn upper_bound_of_prefix() {
        assert_eq!(prefix_upper_bound(&[1, 2, 3]), vec![1, 2, 4]);
        assert_eq!(prefix_upper_bound(&[1, 0xff]), vec![2]);
    }
}
