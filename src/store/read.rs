//! The store's read side as traits, so the logic above it (attribution, CDR answers, the
//! legal service) runs on any backend: [`StoreRead`] is what those callers read, [`Families`]
//! the raw family access a backend provides — RocksDB ([`super::Store`]) or, in tests, memory
//! (`MemStore`). Every `StoreRead` method is written once, over `Families` (in `scan.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;

use super::binding::{Facts, Rules};
use super::keys::BindingKey;
use super::lookup::Scope;
use super::subject::{Erasures, Hash16};
use super::StoreError;
use crate::model::{Cdr, Class, Domain, UnixSecs};

/// A column family of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Checkpoints, watermark, coverage, … (see `meta.rs`).
    Meta,
    /// Bindings that may still change.
    Live,
    /// The partition of one UTC day (days since the epoch).
    Day(i64),
}

/// What a scan calls with each record (key, value): `Ok(false)` stops the scan.
pub type Visit<'a> = dyn FnMut(&[u8], &[u8]) -> Result<bool, StoreError> + 'a;

/// Raw reads of the families, in key order. This is all a backend implements.
pub trait Families {
    /// The binding rules (session timeout, tolerance) the store was opened with.
    fn binding_rules(&self) -> Rules;
    /// The subscriber index's keyed hash of a subscriber id or number
    /// ([`super::subject::SubjectKey`]); an error when the store has no key.
    fn subject_hash(&self, subject: &str) -> Result<Hash16, StoreError>;
    /// The erasures in force.
    fn erasures(&self) -> Erasures;
    /// The day partitions present, oldest first.
    fn days(&self) -> Result<Vec<i64>, StoreError>;
    /// Calls `found` with the value of `key`; returns whether there was one.
    fn get(
        &self,
        family: Family,
        key: &[u8],
        found: &mut dyn FnMut(&[u8]),
    ) -> Result<bool, StoreError>;
    /// Calls `visit` with every record from `lower` (inclusive) to `upper` (exclusive; `None`:
    /// to the end), in key order, until it returns `Ok(false)` or an error.
    fn scan(
        &self,
        family: Family,
        lower: &[u8],
        upper: Option<&[u8]>,
        visit: &mut Visit<'_>,
    ) -> Result<(), StoreError>;
}

/// What attribution, CDR answers and the legal service read from the store.
pub trait StoreRead {
    /// The binding rules (session timeout, tolerance) the store was opened with.
    fn rules(&self) -> Rules;

    /// The newest event time the store has applied (`None` when empty).
    fn watermark(&self) -> Result<Option<UnixSecs>, StoreError>;

    /// The widest NAT port block seen (last port − first port), which bounds where a block
    /// holding a given port can start.
    fn max_nat_span(&self) -> Result<u16, StoreError>;

    /// IPv6 prefix lengths that bindings have been seen with, longest first.
    fn prefix_lens(&self) -> Result<Vec<u8>, StoreError>;

    /// The day partitions present, oldest first.
    fn partitions(&self) -> Result<Vec<i64>, StoreError>;

    /// Per-source minute bitmaps of the UTC day `day`, of one domain (address assignments or
    /// NAT).
    fn coverage_of_day(
        &self,
        day: i64,
        domain: Domain,
    ) -> Result<Vec<(String, [u64; 23])>, StoreError>;

    /// Whether any source of `domain` logged a record (of any kind: an assignment, a
    /// DHCPDISCOVER, a NAT session line) within `gap` seconds of `t`.
    fn covered(&self, t: UnixSecs, gap: i64, domain: Domain) -> Result<bool, StoreError>;

    /// Every binding stored under `prefix` (an 18-byte lookup prefix) that may matter between
    /// `from` and `to`: live ones and final copies in the day partitions of that range.
    /// Copies of one binding in several partitions are returned once.
    fn candidates(
        &self,
        prefix: &[u8],
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<Vec<(BindingKey, Facts)>, StoreError>;

    /// Like [`StoreRead::candidates`], for the keys from `lower` (inclusive) to `upper`
    /// (exclusive), which share one lookup prefix (a NAT port range of one public address).
    fn candidates_in(
        &self,
        lower: &[u8],
        upper: &[u8],
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<Vec<(BindingKey, Facts)>, StoreError>;

    /// Calls `f` for every binding stored between `lower` and `upper` that may matter between
    /// `from` and `to` (live ones first, then final copies day by day; a binding spanning
    /// several days is seen once per copy) until `f` returns false.
    fn visit_candidates(
        &self,
        lower: &[u8],
        upper: &[u8],
        from: UnixSecs,
        to: UnixSecs,
        f: &mut dyn FnMut(BindingKey, Facts) -> bool,
    ) -> Result<(), StoreError>;

    /// Calls `f` with (inside address, class) of every sharer of `public` in the partition of
    /// `day` — every port block that touched that day — sorted by address, then class. One
    /// read. Returns whether the day has a sharer set at all.
    fn visit_nat_sharers(
        &self,
        public: Ipv6Addr,
        day: i64,
        f: &mut dyn FnMut(Ipv6Addr, Class),
    ) -> Result<bool, StoreError>;

    /// The port blocks of `public` still live (open, or closed within the last minutes).
    fn live_nat_blocks(&self, public: Ipv6Addr) -> Result<Vec<(BindingKey, Facts)>, StoreError>;

    /// The final copy of binding `key` in the partition of its start day, if there is one.
    fn final_copy(&self, key: &BindingKey) -> Result<Option<Facts>, StoreError>;

    /// The CDRs involving `number` (as caller or callee; normalised with
    /// [`super::cdr::normalize_number`]) that overlap `from..=to`, oldest first.
    fn cdrs(&self, number: &str, from: UnixSecs, to: UnixSecs) -> Result<Vec<Cdr>, StoreError>;

    /// Every address binding of `subscriber` that `scope` still retains (all classes the scope
    /// allows) and no erasure removed, oldest first, as a data-subject access extract lists
    /// them. Read through the subscriber index ([`super::subject`]): a prefix seek per
    /// partition, never a scan.
    fn bindings_of(
        &self,
        subscriber: &str,
        scope: &Scope,
    ) -> Result<Vec<serde_json::Value>, StoreError>;
}

/// What an erasure (GDPR art. 17) removes: the bindings of `subject` and the calls of
/// `numbers` of `classes` that started at or before `up_to`, except those overlapping a
/// preservation hold in `holds` (first and last second of each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub subject: String,
    pub numbers: Vec<String>,
    pub classes: Vec<Class>,
    pub up_to: UnixSecs,
    pub holds: Vec<(UnixSecs, UnixSecs)>,
}

/// What an erasure did: counts, never the records.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Erased {
    /// Bindings deleted (each may have had copies in several partitions and the live family).
    pub bindings: u64,
    /// Stored copies of them deleted.
    pub copies: u64,
    /// Calls deleted.
    pub calls: u64,
    /// Records of the subscriber left in place, by why: `class` (a class not erased, e.g.
    /// statutory), `held` (a preservation hold), `later` (started after the erasure).
    pub kept: BTreeMap<String, u64>,
    /// The partitions records were deleted from.
    pub partitions: BTreeSet<String>,
    /// Start of the first and last binding deleted.
    pub first: Option<UnixSecs>,
    pub last: Option<UnixSecs>,
    /// SHA-256 over the deleted keys (length-prefixed, sorted): what the certificate binds.
    pub digest: String,
}

/// Erasing, for the legal service's art. 17 cases: written once per backend.
pub trait StoreErase {
    /// Deletes what `e` names, durably, and keeps it from coming back: the engine writes none
    /// of it again (late or re-imported logs) and reads skip it.
    fn erase(&self, e: &Erasure) -> Result<Erased, StoreError>;
}

/// A consistent copy of the store, for a backup.
pub trait StoreCopy {
    /// Copies the store to `to` (as sealed as it is); returns its partitions and the ids of
    /// their day keys.
    fn checkpoint(&self, to: &std::path::Path)
        -> Result<Vec<(String, Option<String>)>, StoreError>;
}

/// What the legal service holds: reads, erasure, and a consistent copy for a backup.
pub trait StoreAccess: StoreRead + StoreErase + StoreCopy {
    /// Itself as the backup's copier.
    fn as_copy(&self) -> &dyn StoreCopy;
}

impl<T: StoreRead + StoreErase + StoreCopy> StoreAccess for T {
    fn as_copy(&self) -> &dyn StoreCopy {
        self
    }
}
