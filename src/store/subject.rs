//! The subscriber index and erasures, both keyed by a keyed hash of the subscriber so neither
//! holds a clear identifier.
//!
//! * **Index.** Every address binding with a subscriber has an index entry beside it: in each
//!   day partition holding a final copy, and in the `live` family while it is live:
//!   `U` ‖ h16(subscriber) ‖ 0 ‖ the binding's key, value = its class code. The first 18
//!   bytes are the partitions' lookup prefix, so a subscriber's bindings are one prefix seek
//!   per partition (bloom-filtered) and a point read per binding — no scan. Index entries live
//!   and die with their partition.
//! * **Erasures.** An erasure (GDPR art. 17, of own-purpose classes) is kept in `meta` as
//!   `X` ‖ h16(subject) → records of (class mask, up to): bindings of the subscriber (and
//!   CDRs of its numbers, hashed the same way) of those classes that started at or before `up
//!   to` are deleted, never written again by the engine (late or re-imported logs), and never
//!   returned by the index.
//!
//! `h16` is the first 16 bytes of HMAC-SHA256 under `<data_dir>/keys/subject-index.key` (32
//! random bytes, hex, 0600), made on the first read-write open. The key is not in the store:
//! a copy of the store alone cannot be searched for a subscriber id by hashing guesses.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::keys::{BindingKey, PREFIX_LEN};
use super::StoreError;
use crate::keyring::KeyStore;
use crate::model::{Class, UnixSecs};

pub const TAG_INDEX: u8 = b'U';
const KEY_FILE: &str = "subject-index.key";
/// The key's name in the key store.
pub const KEY_NAME: &str = "subject-index";

/// A subscriber's (or number's) keyed hash.
pub type Hash16 = [u8; 16];

/// The keyed hash of subscriber identifiers and numbers.
#[derive(Clone)]
pub struct SubjectKey {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubjectKey(..)")
    }
}

fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join(KEY_FILE)
}

fn key_err(path: &Path, why: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        path: path.to_path_buf(),
        reason: format!("the subscriber index key: {why}"),
    }
}

impl SubjectKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(key: &[u8; 32]) -> SubjectKey {
        SubjectKey {
            mac: Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length"),
        }
    }

    /// The subscriber index's key, `subject-index` in the key store (made when `create`
    /// and missing). A key kept in `<data_dir>/keys/subject-index.key` by an older version
    /// is moved into the key store (hashes stay what they were) and its plain file removed.
    pub fn load(data_dir: &Path, keys: &KeyStore, create: bool) -> Result<SubjectKey, StoreError> {
        if let Some(k) = keys.get(KEY_NAME)? {
            return Ok(SubjectKey::from_bytes(k.secret()));
        }
        let path = key_path(data_dir);
        match std::fs::File::open(&path) {
            Ok(mut f) => {
                let mode = f.metadata().map_err(|e| key_err(&path, e))?.permissions();
                if mode.mode() & 0o077 != 0 {
                    return Err(key_err(
                        &path,
                        format!("mode {:o}; expected 600", mode.mode() & 0o777),
                    ));
                }
                let mut text = String::new();
                f.read_to_string(&mut text).map_err(|e| key_err(&path, e))?;
                let mut key = [0u8; 32];
                hex::decode_to_slice(text.trim(), &mut key)
                    .map_err(|_| key_err(&path, "not 64 hex characters"))?;
                if create {
                    keys.adopt(KEY_NAME, &key)?;
                    std::fs::remove_file(&path).map_err(|e| key_err(&path, e))?;
                }
                Ok(SubjectKey::from_bytes(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => Ok(
                SubjectKey::from_bytes(keys.get_or_create(KEY_NAME)?.secret()),
            ),
            Err(_) => Ok(SubjectKey::from_bytes(keys.require(KEY_NAME)?.secret())),
        }
    }

    /// The keyed hash of a subscriber id (or a normalised number).
    pub fn hash(&self, subject: &str) -> Hash16 {
        let mut mac = self.mac.clone();
        mac.update(subject.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag[..16]);
        out
    }
}

/// The lookup prefix of a subscriber's index entries.
pub fn index_prefix(h: &Hash16) -> [u8; PREFIX_LEN] {
    let mut k = [0u8; PREFIX_LEN];
    k[0] = TAG_INDEX;
    k[1..17].copy_from_slice(h);
    k
}

/// The index entry of binding `key` of the subscriber hashed `h`.
pub fn index_key(h: &Hash16, key: &BindingKey) -> Vec<u8> {
    let mut k = Vec::with_capacity(PREFIX_LEN + 32);
    k.extend_from_slice(&index_prefix(h));
    key.encode_into(&mut k);
    k
}

/// The binding an index entry points at.
pub fn indexed_binding(index_key: &[u8]) -> Option<BindingKey> {
    if index_key.first() != Some(&TAG_INDEX) {
        return None;
    }
    BindingKey::decode(index_key.get(PREFIX_LEN..)?)
}

/// Whether a key of a day partition or the live family is an index entry.
pub fn is_index_key(key: &[u8]) -> bool {
    key.first() == Some(&TAG_INDEX)
}

/// One erasure of a subject: its bindings (or calls) of the classes in `mask` (bit = class
/// code) that started at or before `up_to`, except those overlapping a preservation hold in
/// force when it was made (`holds`: first and last second of each), which stay.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tombstone {
    pub up_to: UnixSecs,
    pub mask: u8,
    pub holds: Vec<(UnixSecs, UnixSecs)>,
}

impl Tombstone {
    /// Whether the record of `class` from `start` to `end` is erased.
    pub fn covers(&self, class: Class, start: UnixSecs, end: UnixSecs) -> bool {
        self.mask & (1 << class.code()) != 0
            && start <= self.up_to
            && !self
                .holds
                .iter()
                .any(|&(from, to)| start <= to && end >= from)
    }
}

/// The value of an erasure's meta key: per tombstone mask ‖ up_to ‖ hold count (u16) ‖ the
/// holds (from ‖ to).
pub fn encode_tombstones(t: &[Tombstone]) -> Vec<u8> {
    let mut v = Vec::new();
    for t in t {
        v.push(t.mask);
        v.extend_from_slice(&t.up_to.to_be_bytes());
        let n = t.holds.len().min(usize::from(u16::MAX));
        v.extend_from_slice(&(n as u16).to_be_bytes());
        for (from, to) in &t.holds[..n] {
            v.extend_from_slice(&from.to_be_bytes());
            v.extend_from_slice(&to.to_be_bytes());
        }
    }
    v
}

pub fn decode_tombstones(mut v: &[u8]) -> Option<Vec<Tombstone>> {
    let mut out = Vec::new();
    let mut take = |n: usize| -> Option<&[u8]> {
        let (a, b) = (v.get(..n)?, v.get(n..)?);
        v = b;
        Some(a)
    };
    let i64_of = |b: &[u8]| Some(i64::from_be_bytes(b.try_into().ok()?));
    while let Some(mask) = take(1) {
        let mask = mask[0];
        let up_to = i64_of(take(8)?)?;
        let n = u16::from_be_bytes(take(2)?.try_into().ok()?);
        let mut holds = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            holds.push((i64_of(take(8)?)?, i64_of(take(8)?)?));
        }
        out.push(Tombstone { up_to, mask, holds });
    }
    Some(out)
}

/// The meta key of a subject's erasures.
pub fn erasure_key(h: &Hash16) -> Vec<u8> {
    [&[super::meta::ERASURE][..], &h[..]].concat()
}

/// The erasures in force, shared by the store's readers and its engine (which must never
/// write an erased record again): subject hash → tombstones.
#[derive(Debug, Clone, Default)]
pub struct Erasures(Arc<RwLock<HashMap<Hash16, Vec<Tombstone>>>>);

impl Erasures {
    pub fn is_empty(&self) -> bool {
        self.0.read().expect("erasures lock").is_empty()
    }

    pub fn add(&self, h: Hash16, t: Tombstone) -> Vec<Tombstone> {
        let mut map = self.0.write().expect("erasures lock");
        let list = map.entry(h).or_default();
        if !list.contains(&t) {
            list.push(t);
            list.sort();
        }
        list.clone()
    }

    pub fn set(&self, h: Hash16, t: Vec<Tombstone>) {
        self.0.write().expect("erasures lock").insert(h, t);
    }

    /// Whether the record of `h` of `class` from `start` to `end` is erased.
    pub fn erased(&self, h: &Hash16, class: Class, start: UnixSecs, end: UnixSecs) -> bool {
        self.0
            .read()
            .expect("erasures lock")
            .get(h)
            .is_some_and(|ts| ts.iter().any(|t| t.covers(class, start, end)))
    }

    /// Every subject with erasures, and them.
    pub fn all(&self) -> Vec<(Hash16, Vec<Tombstone>)> {
        let map = self.0.read().expect("erasures lock");
        let mut v: Vec<_> = map.iter().map(|(h, t)| (*h, t.clone())).collect();
        v.sort();
        v
    }

    /// Drops the tombstones no record can come back under any more: those whose `up_to` is
    /// before `floor` (the engine writes nothing older than the retention floor). Returns the
    /// subjects whose list changed, with what is left (empty: remove the key).
    pub fn prune(&self, floor: UnixSecs) -> Vec<(Hash16, Vec<Tombstone>)> {
        let mut map = self.0.write().expect("erasures lock");
        let mut changed = Vec::new();
        for (h, list) in map.iter_mut() {
            let before = list.len();
            list.retain(|t| t.up_to >= floor);
            if list.len() != before {
                changed.push((*h, list.clone()));
            }
        }
        map.retain(|_, l| !l.is_empty());
        changed
    }
}

/// The class mask of `classes`.
pub fn mask_of(classes: &[Class]) -> u8 {
    classes.iter().fold(0, |m, c| m | (1 << c.code()))
}

/// The classes of a mask.
pub fn classes_of(mask: u8) -> Vec<Class> {
    Class::ALL
        .into_iter()
        .filter(|c| mask & (1 << c.code()) != 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Target;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn the_key_is_made_once_in_the_key_store_and_the_hash_depends_on_it() {
        let d = tempfile::tempdir().unwrap();
        let keys = KeyStore::open(d.path(), true).unwrap();
        assert!(
            SubjectKey::load(d.path(), &keys, false).is_err(),
            "not made on a read"
        );
        let a = SubjectKey::load(d.path(), &keys, true).unwrap();
        let b =
            SubjectKey::load(d.path(), &KeyStore::open(d.path(), false).unwrap(), false).unwrap();
        assert_eq!(a.hash("sub-1"), b.hash("sub-1"));
        assert_ne!(a.hash("sub-1"), a.hash("sub-2"));
        let wrapped = d.path().join("keystore").join(format!("{KEY_NAME}.key"));
        assert_eq!(std::fs::metadata(&wrapped).unwrap().mode() & 0o777, 0o600);
        let other = tempfile::tempdir().unwrap();
        let c = SubjectKey::load(
            other.path(),
            &KeyStore::open(other.path(), true).unwrap(),
            true,
        )
        .unwrap();
        assert_ne!(
            a.hash("sub-1"),
            c.hash("sub-1"),
            "another appliance, another hash"
        );
    }

    #[test]
    fn a_plain_key_of_an_older_version_moves_into_the_key_store_and_keeps_its_hashes() {
        let d = tempfile::tempdir().unwrap();
        let plain = key_path(d.path());
        crate::fsmode::create_private_dir(plain.parent().unwrap()).unwrap();
        let mut f = crate::fsmode::create_new_private(&plain).unwrap();
        std::io::Write::write_all(&mut f, hex::encode([9u8; 32]).as_bytes()).unwrap();
        drop(f);
        let keys = KeyStore::open(d.path(), true).unwrap();
        let moved = SubjectKey::load(d.path(), &keys, true).unwrap();
        assert_eq!(
            moved.hash("sub-1"),
            SubjectKey::from_bytes(&[9; 32]).hash("sub-1")
        );
        assert!(!plain.exists(), "the plain copy is gone");
        let again = SubjectKey::load(d.path(), &keys, false).unwrap();
        assert_eq!(again.hash("sub-1"), moved.hash("sub-1"));
        // A plain key readable by others is refused, not moved.
        let e = tempfile::tempdir().unwrap();
        let plain = key_path(e.path());
        crate::fsmode::create_private_dir(plain.parent().unwrap()).unwrap();
        std::fs::write(&plain, hex::encode([9u8; 32])).unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        let keys = KeyStore::open(e.path(), true).unwrap();
        assert!(SubjectKey::load(e.path(), &keys, true).is_err());
    }

    #[test]
    fn index_keys_share_the_lookup_prefix_and_point_at_their_binding() {
        let key = SubjectKey::from_bytes(&[7; 32]);
        let h = key.hash("sub-1");
        let t = Target::host("192.0.2.1".parse().unwrap());
        let b = BindingKey {
            tag: super::super::keys::TAG_BINDING,
            addr: t.addr,
            plen_or_lo: 32,
            start: 1_700_000_000,
            id: 42,
        };
        let k = index_key(&h, &b);
        assert!(k.starts_with(&index_prefix(&h)));
        assert_eq!(indexed_binding(&k), Some(b));
        assert!(is_index_key(&k));
        assert!(!k.windows(5).any(|w| w == b"sub-1"), "no clear identifier");
        assert_eq!(indexed_binding(&b.encode()), None);
    }

    #[test]
    fn tombstones_cover_their_classes_up_to_their_time_and_prune() {
        let t = Tombstone {
            mask: mask_of(&[Class::Security, Class::Billing]),
            up_to: 100,
            holds: vec![(40, 45)],
        };
        assert!(t.covers(Class::Security, 100, 200));
        assert!(
            !t.covers(Class::Security, 101, 200),
            "later data is not erased"
        );
        assert!(!t.covers(Class::Statutory, 50, 60), "statutory never");
        assert!(!t.covers(Class::Security, 30, 40), "held");
        assert!(t.covers(Class::Security, 30, 39), "before the hold");
        let two = vec![
            t.clone(),
            Tombstone {
                holds: vec![],
                ..t.clone()
            },
        ];
        assert_eq!(decode_tombstones(&encode_tombstones(&two)), Some(two));
        assert_eq!(decode_tombstones(&[1, 2]), None);
        let e = Erasures::default();
        let h = [1; 16];
        e.add(h, t.clone());
        assert!(e.erased(&h, Class::Billing, 10, 20));
        assert!(!e.erased(&[2; 16], Class::Billing, 10, 20));
        assert_eq!(e.prune(50), vec![], "still needed");
        assert_eq!(e.prune(101), vec![(h, vec![])]);
        assert!(e.is_empty());
        assert_eq!(classes_of(mask_of(&[Class::Billing])), vec![Class::Billing]);
    }
}
