//! The identity register (DESIGN.md "Modules", invariant 5): who a subscriber is — name, address,
//! personal number, protected-identity flag — with validity intervals, imported from the ISP's
//! CRM as CSV and kept in its own RocksDB instance under `<data_dir>/identity/` (mode 0700).
//!
//! An import is validated as a whole and written as one synced batch, or not at all; a row that
//! changes is kept as superseded history. This module knows nothing about traffic and does not
//! decide who may read (callers audit first). It never puts a field value into a log event or an
//! error text: problems name the CSV line, the column and the kind of problem only.
//!
//! Nothing in it is readable on disk (issue 19): every value is sealed with the register's own
//! data key (`identity` in the key store, [`crate::keyring`]), bound to its RocksDB key, and
//! the keys hold a keyed hash of the subscriber id instead of the id. A value that does not
//! open is an error (`key.undecryptable`), never returned. A register written by the version
//! before (schema 1, plain) is rewritten encrypted once, in one batch, when first opened.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{self, DirBuilder};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::sync::{Arc, Mutex};

use rocksdb::{
    BottommostLevelCompaction, CompactOptions, Direction, IteratorMode, Options, ReadOptions,
    WriteBatch, WriteOptions, DB,
};
use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;
use crate::keyring::{DataKey, KeyError, KeyStore};
use crate::model::{fmt_time, parse_time, TimeError, UnixSecs};

const IDENTITY_DIR: &str = "identity";
/// 2: values sealed with the identity key, subscriber ids hashed in keys. 1: plain (migrated
/// on open).
pub const SCHEMA_VERSION: u32 = 2;
const PLAIN_SCHEMA: u32 = 1;
const META_SCHEMA: &[u8] = b"mschema";
/// The register's data key in the key store.
pub const KEY_NAME: &str = "identity";
/// Current rows: 'r' ‖ hash16(subscriber) ‖ valid_from.
const ROW: u8 = b'r';
/// Superseded versions: 'h' ‖ hash16(subscriber) ‖ valid_from ‖ replaced_at ‖ u32 tiebreak.
const HISTORY: u8 = b'h';

const COL_SUBSCRIBER: usize = 0;
const COL_CUSTOMER_ID: usize = 1;
const COL_NAME: usize = 2;
const COL_STREET: usize = 3;
const COL_POSTAL_CODE: usize = 4;
const COL_CITY: usize = 5;
const COL_PERSONAL_NUMBER: usize = 6;
const COL_PROTECTED: usize = 7;
const COL_VALID_FROM: usize = 8;
const COL_VALID_TO: usize = 9;
/// The CSV columns, all required, in any order; indexed by the `COL_*` constants.
pub const COLUMNS: [&str; 10] = [
    "subscriber",
    "customer_id",
    "name",
    "street",
    "postal_code",
    "city",
    "personal_number",
    "protected_identity",
    "valid_from",
    "valid_to",
];

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// One row of the register: who held a subscriber (network identifier) from `valid_from` until
/// `valid_to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityRecord {
    /// The identifier logs carry: RADIUS user name, MAC, circuit-id, DUID.
    pub subscriber: String,
    pub customer_id: String,
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub personal_number: String,
    /// *Skyddad identitet*: the person's address must be handled with particular care.
    pub protected_identity: bool,
    /// Unix seconds.
    pub valid_from: i64,
    /// Exclusive end (unix seconds); `None` = still valid.
    pub valid_to: Option<i64>,
}

/// One problem in an import file. `line` is 1-based and counts the header as line 1; `column` is
/// the header name when the problem sits in one field. `reason` never contains a field value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(c) = &self.column {
            write!(f, ", column {c}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Why the register could not be opened, read or written, or why an import was refused.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot open the identity register: {0}")]
    Open(String),
    #[error("read from the identity register failed: {0}")]
    Read(String),
    #[error("write to the identity register failed: {0}")]
    Write(String),
    /// The import file could not be read at all (missing, unreadable, I/O error).
    #[error("the import file could not be read: {0}")]
    Csv(String),
    /// A rectification found no row of the subscriber valid at that moment.
    #[error("the identity register holds no row of this subscriber valid now: nothing to rectify")]
    NoCurrentRow,
    /// The file was read, and these rows (or the header) are wrong; nothing was written.
    #[error("{}", rejected_text(.0))]
    Rejected(Vec<RowProblem>),
    /// The register's key is missing or wrong, or a stored value does not open with it.
    #[error("identity register: {0}")]
    Key(#[from] KeyError),
}

fn rejected_text(problems: &[RowProblem]) -> String {
    let mut s = format!(
        "import rejected, nothing was written ({} problem{}):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push('\n');
        s.push_str(&p.to_string());
    }
    s
}

impl IdentityError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            IdentityError::Open(_) => ErrorKind::IdentityOpenFailed,
            IdentityError::Read(_) => ErrorKind::IdentityReadFailed,
            IdentityError::Write(_) => ErrorKind::IdentityWriteFailed,
            IdentityError::Csv(_) => ErrorKind::IdentityBadFile,
            IdentityError::NoCurrentRow => ErrorKind::IdentityNoCurrentRow,
            IdentityError::Rejected(_) => ErrorKind::IdentityRejectedRows,
            IdentityError::Key(k) => k.kind(),
        }
    }

    /// Stable code for metrics labels, HTTP error bodies and CLI output.
    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

fn read_err(e: rocksdb::Error) -> IdentityError {
    IdentityError::Read(e.to_string())
}

fn write_err(e: rocksdb::Error) -> IdentityError {
    IdentityError::Write(e.to_string())
}

/// What an import did. `rows` counts the data rows of the file; each is added, replaced or
/// unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub rows: u64,
    pub added: u64,
    pub replaced: u64,
    pub unchanged: u64,
}

/// A version of a row that a later import replaced, and when (the import's `now`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Superseded {
    pub record: IdentityRecord,
    pub replaced_at: i64,
    /// Why it was replaced, when not by an import: a rectification (GDPR art. 16) names its
    /// case ("rättelse C-2026-0012").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A rectification (GDPR art. 16): the fields of the row valid now that are corrected, each
/// given is the new value. At least one; none empty (checked where the case is registered).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
}

impl Correction {
    /// Every field with its name and value (given or not), in the register's column order.
    pub fn fields(&self) -> [(&'static str, Option<&str>); 6] {
        [
            ("customer_id", self.customer_id.as_deref()),
            ("name", self.name.as_deref()),
            ("street", self.street.as_deref()),
            ("postal_code", self.postal_code.as_deref()),
            ("city", self.city.as_deref()),
            ("personal_number", self.personal_number.as_deref()),
        ]
    }

    /// The names of the fields it corrects (never their values).
    pub fn names(&self) -> Vec<String> {
        self.fields()
            .into_iter()
            .filter(|(_, v)| v.is_some())
            .map(|(n, _)| n.to_string())
            .collect()
    }

    fn apply(&self, r: &mut IdentityRecord) {
        let set = |target: &mut String, v: &Option<String>| {
            if let Some(v) = v {
                *target = v.trim().to_string();
            }
        };
        set(&mut r.customer_id, &self.customer_id);
        set(&mut r.name, &self.name);
        set(&mut r.street, &self.street);
        set(&mut r.postal_code, &self.postal_code);
        set(&mut r.city, &self.city);
        set(&mut r.personal_number, &self.personal_number);
    }
}

/// Everything held about one subscriber: current rows ordered by `valid_from`, and superseded
/// versions ordered by the `valid_from` of their row, then by `replaced_at`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubscriberHistory {
    pub current: Vec<IdentityRecord>,
    pub superseded: Vec<Superseded>,
}

/// The register. One process at a time may hold it (RocksDB's lock); imports within the process
/// are serialised.
pub struct IdentityRegister {
    db: DB,
    key: Arc<DataKey>,
    import_lock: Mutex<()>,
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// Big-endian with the sign bit flipped, so keys sort as the numbers do.
fn enc_time(t: i64) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

/// A subscriber as keys hold it: the keyed hash of its id (fixed width, so no subscriber's
/// keys are a prefix of another's, and the id is not on disk).
type Hashed = [u8; 16];

/// `tag ‖ hash16(subscriber)`: every key of one subscriber starts so, and no other's does.
fn subscriber_prefix(tag: u8, subscriber: &Hashed) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + 16 + 20);
    k.push(tag);
    k.extend_from_slice(subscriber);
    k
}

fn row_key(subscriber: &Hashed, valid_from: i64) -> Vec<u8> {
    let mut k = subscriber_prefix(ROW, subscriber);
    k.extend_from_slice(&enc_time(valid_from));
    k
}

/// The smallest key greater than every key that starts with `prefix`; `None` when there is
/// none (all 0xff).
fn upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut u = prefix.to_vec();
    while let Some(last) = u.pop() {
        if last < 0xff {
            u.push(last + 1);
            return Some(u);
        }
    }
    None
}

fn prefix_read_options(prefix: &[u8]) -> ReadOptions {
    let mut ro = ReadOptions::default();
    ro.set_iterate_lower_bound(prefix.to_vec());
    if let Some(upper) = upper_bound(prefix) {
        ro.set_iterate_upper_bound(upper);
    }
    ro
}

/// Opens the value stored under `key` (sealed with `aad` = `key`) and decodes it.
fn open_value<T: for<'de> Deserialize<'de>>(
    data_key: &DataKey,
    key: &[u8],
    sealed: &[u8],
) -> Result<T, IdentityError> {
    let plain = data_key
        .open(key, sealed)
        .ok_or_else(|| KeyError::Undecryptable {
            what: "a row of the identity register".into(),
        })?;
    decode(&plain)
}

fn decode<T: for<'de> Deserialize<'de>>(v: &[u8]) -> Result<T, IdentityError> {
    // serde_json's message carries a position, not the value.
    serde_json::from_slice(v)
        .map_err(|e| IdentityError::Read(format!("a stored row could not be decoded: {e}")))
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("records serialise")
}

// ---------------------------------------------------------------------------------------------
// The register
// ---------------------------------------------------------------------------------------------

impl IdentityRegister {
    /// Opens (creating on first use) the register under `<data_dir>/identity`, mode 0700, with
    /// its key from the data directory's key store: made (with the master key, when there is
    /// none yet) for a new register, required for an existing one (`key.missing` or
    /// `key.wrong` naming it otherwise). A plain register of the version before is rewritten
    /// encrypted here, once.
    pub fn open(data_dir: &Path) -> Result<IdentityRegister, IdentityError> {
        let path = data_dir.join(IDENTITY_DIR);
        let open_err =
            |e: &dyn fmt::Display| IdentityError::Open(format!("{}: {e}", path.display()));
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)
            .map_err(|e| open_err(&e))?;
        // An existing directory made by hand may be wider; it holds personal data.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).map_err(|e| open_err(&e))?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.set_keep_log_file_num(5);
        let mut db = DB::open(&opts, &path).map_err(|e| open_err(&e))?;
        let found = db
            .get(META_SCHEMA)
            .map_err(|e| open_err(&e))?
            .map(|v| v.as_slice().try_into().map(u32::from_be_bytes).unwrap_or(0));
        let key = match found {
            Some(SCHEMA_VERSION) => KeyStore::open(data_dir, false)?.require(KEY_NAME)?,
            Some(PLAIN_SCHEMA) => {
                let key = KeyStore::open(data_dir, true)?.get_or_create(KEY_NAME)?;
                migrate_plain(&db, &key).map_err(|e| open_err(&e))?;
                // Reopened, RocksDB writes a new manifest: the old one still names the plain
                // tables' first and last keys (subscriber ids).
                drop(db);
                db = DB::open(&opts, &path).map_err(|e| open_err(&e))?;
                key
            }
            Some(found) => {
                return Err(IdentityError::Open(format!(
                    "{}: register schema version {found} is not supported (this tdr reads \
                     version {SCHEMA_VERSION})",
                    path.display()
                )));
            }
            None => {
                if db.iterator(IteratorMode::Start).next().is_some() {
                    return Err(IdentityError::Open(format!(
                        "{}: the register has rows but no schema version (it was not made by \
                         tdr)",
                        path.display()
                    )));
                }
                let key = KeyStore::open(data_dir, true)?.get_or_create(KEY_NAME)?;
                let mut wo = WriteOptions::default();
                wo.set_sync(true);
                db.put_opt(META_SCHEMA, SCHEMA_VERSION.to_be_bytes(), &wo)
                    .map_err(|e| open_err(&e))?;
                key
            }
        };
        Ok(IdentityRegister {
            db,
            key,
            import_lock: Mutex::new(()),
        })
    }

    fn hashed(&self, subscriber: &str) -> Hashed {
        self.key.hash16(subscriber.as_bytes())
    }

    /// `value` sealed under `key` (bound to it) for a batch.
    fn sealed<T: Serialize>(&self, key: &[u8], value: &T) -> Vec<u8> {
        self.key.seal(key, &encode(value))
    }

    /// Imports a CRM export (see [`COLUMNS`]). Every problem in the file is collected and
    /// returned together as [`IdentityError::Rejected`]; then nothing is written. Otherwise the
    /// whole file is written in one synced batch: new rows are added, changed rows replaced (the
    /// old version kept as superseded at `now`), identical rows left alone. Rows the file does
    /// not mention stay.
    pub fn import_csv(&self, path: &Path, now: i64) -> Result<ImportReport, IdentityError> {
        let bytes =
            fs::read(path).map_err(|e| IdentityError::Csv(format!("{}: {e}", path.display())))?;
        self.import_csv_bytes(&bytes, &path.display().to_string(), now)
    }

    /// [`IdentityRegister::import_csv`] of a file's bytes (as the daemon receives them);
    /// `label` names the file in problems.
    pub fn import_csv_bytes(
        &self,
        bytes: &[u8],
        label: &str,
        now: i64,
    ) -> Result<ImportReport, IdentityError> {
        let parsed = parse_csv(bytes, label)?;
        let _guard = self
            .import_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut problems = parsed.problems;

        // What the register holds of every subscriber in the file.
        let mut held: HashMap<&str, BTreeMap<i64, IdentityRecord>> = HashMap::new();
        for row in &parsed.rows {
            if !held.contains_key(row.record.subscriber.as_str()) {
                let rows = self.current_rows(&row.record.subscriber)?;
                let by_start = rows.into_iter().map(|r| (r.valid_from, r)).collect();
                held.insert(row.record.subscriber.as_str(), by_start);
            }
        }
        check_overlaps(&parsed.rows, &held, &mut problems);
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.line);
            return Err(IdentityError::Rejected(problems));
        }

        let mut report = ImportReport {
            rows: parsed.data_rows,
            ..ImportReport::default()
        };
        let mut batch = WriteBatch::default();
        for row in &parsed.rows {
            let r = &row.record;
            let old = held
                .get(r.subscriber.as_str())
                .and_then(|m| m.get(&r.valid_from));
            match old {
                Some(old) if old == r => report.unchanged += 1,
                Some(old) => {
                    let key = self.history_key(old, now)?;
                    let sup = Superseded {
                        record: old.clone(),
                        replaced_at: now,
                        reason: None,
                    };
                    batch.put(&key, self.sealed(&key, &sup));
                    let row = row_key(&self.hashed(&r.subscriber), r.valid_from);
                    batch.put(&row, self.sealed(&row, r));
                    report.replaced += 1;
                }
                None => {
                    let row = row_key(&self.hashed(&r.subscriber), r.valid_from);
                    batch.put(&row, self.sealed(&row, r));
                    report.added += 1;
                }
            }
        }
        if report.added + report.replaced > 0 {
            let mut wo = WriteOptions::default();
            wo.set_sync(true);
            self.db.write_opt(batch, &wo).map_err(write_err)?;
        }
        tracing::info!(
            rows = report.rows,
            added = report.added,
            replaced = report.replaced,
            unchanged = report.unchanged,
            "identity register import committed"
        );
        Ok(report)
    }

    /// Rectifies (GDPR art. 16) the row of `subscriber` valid at `now`: in one synced batch the
    /// old version is kept as superseded at `now` with the reason "rättelse <case>", and the
    /// row is rewritten with the corrected fields (its validity unchanged). Returns the names
    /// of the corrected fields. No row valid at `now` is [`IdentityError::NoCurrentRow`].
    pub fn rectify(
        &self,
        subscriber: &str,
        correction: &Correction,
        now: i64,
        case: &str,
    ) -> Result<Vec<String>, IdentityError> {
        // One writer at a time: an import and a rectification must not replace the same row.
        let _guard = self
            .import_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let old = self
            .at(subscriber, now)?
            .ok_or(IdentityError::NoCurrentRow)?;
        let mut new = old.clone();
        correction.apply(&mut new);
        let sup = Superseded {
            record: old.clone(),
            replaced_at: now,
            reason: Some(format!("rättelse {case}")),
        };
        let mut batch = WriteBatch::default();
        let key = self.history_key(&old, now)?;
        batch.put(&key, self.sealed(&key, &sup));
        let row = row_key(&self.hashed(&new.subscriber), new.valid_from);
        batch.put(&row, self.sealed(&row, &new));
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch, &wo).map_err(write_err)?;
        Ok(correction.names())
    }

    /// The record valid at `t` for `subscriber`: `valid_from <= t < valid_to` (or open).
    pub fn at(&self, subscriber: &str, t: i64) -> Result<Option<IdentityRecord>, IdentityError> {
        if subscriber.as_bytes().contains(&0) {
            return Ok(None);
        }
        let hashed = self.hashed(subscriber);
        let prefix = subscriber_prefix(ROW, &hashed);
        let mut it = self.db.raw_iterator_opt(prefix_read_options(&prefix));
        // Rows of one subscriber never overlap, so only the latest start at or before `t` can
        // cover it.
        it.seek_for_prev(row_key(&hashed, t));
        if !it.valid() {
            it.status().map_err(read_err)?;
            return Ok(None);
        }
        let (key, value) = it.item().expect("a valid iterator has an item");
        let rec: IdentityRecord = open_value(&self.key, key, value)?;
        Ok(match rec.valid_to {
            Some(end) if end <= t => None,
            // (Another subscriber's row only if two ids hashed alike: never its name.)
            _ if rec.subscriber != subscriber => None,
            _ => Some(rec),
        })
    }

    /// Everything held about one subscriber: current rows (oldest first) and superseded versions.
    pub fn history(&self, subscriber: &str) -> Result<SubscriberHistory, IdentityError> {
        if subscriber.as_bytes().contains(&0) {
            return Ok(SubscriberHistory::default());
        }
        Ok(SubscriberHistory {
            current: self.current_rows(subscriber)?,
            superseded: self
                .scan::<Superseded>(&subscriber_prefix(HISTORY, &self.hashed(subscriber)))?
                .into_iter()
                .filter(|s| s.record.subscriber == subscriber)
                .collect(),
        })
    }

    /// The number of current rows (superseded versions not counted).
    pub fn count(&self) -> Result<u64, IdentityError> {
        let prefix = [ROW];
        let mut n = 0;
        for item in self
            .db
            .iterator_opt(IteratorMode::Start, prefix_read_options(&prefix))
        {
            item.map_err(read_err)?;
            n += 1;
        }
        Ok(n)
    }

    fn current_rows(&self, subscriber: &str) -> Result<Vec<IdentityRecord>, IdentityError> {
        let rows =
            self.scan::<IdentityRecord>(&subscriber_prefix(ROW, &self.hashed(subscriber)))?;
        Ok(rows
            .into_iter()
            .filter(|r| r.subscriber == subscriber)
            .collect())
    }

    fn scan<T: for<'de> Deserialize<'de>>(&self, prefix: &[u8]) -> Result<Vec<T>, IdentityError> {
        let mode = IteratorMode::From(prefix, Direction::Forward);
        let mut out = Vec::new();
        for item in self.db.iterator_opt(mode, prefix_read_options(prefix)) {
            let (k, v) = item.map_err(read_err)?;
            out.push(open_value(&self.key, &k, &v)?);
        }
        Ok(out)
    }

    /// A fresh key for a superseded version of `old` replaced at `now`: a row can be replaced
    /// more than once in the same second by separate imports, so a tiebreak counts those.
    fn history_key(&self, old: &IdentityRecord, now: i64) -> Result<Vec<u8>, IdentityError> {
        let mut k = subscriber_prefix(HISTORY, &self.hashed(&old.subscriber));
        k.extend_from_slice(&enc_time(old.valid_from));
        k.extend_from_slice(&enc_time(now));
        let mode = IteratorMode::From(&k, Direction::Forward);
        let mut n: u32 = 0;
        for item in self.db.iterator_opt(mode, prefix_read_options(&k)) {
            item.map_err(read_err)?;
            n += 1;
        }
        k.extend_from_slice(&n.to_be_bytes());
        Ok(k)
    }
}

/// Rewrites a plain register (schema 1: `tag ‖ subscriber ‖ 0x00 ‖ rest` keys, JSON values)
/// encrypted, in one synced batch (each row under its hashed key, sealed; the plain one
/// deleted; the schema raised), then compacts it so the plain rows leave the disk too.
fn migrate_plain(db: &DB, key: &DataKey) -> Result<(), rocksdb::Error> {
    let mut batch = WriteBatch::default();
    let mut entries = 0u64;
    for item in db.iterator(IteratorMode::Start) {
        let (k, v) = item?;
        let tag = k[0];
        if tag != ROW && tag != HISTORY {
            continue; // the meta keys
        }
        let Some(end) = k[1..].iter().position(|&b| b == 0).map(|p| p + 1) else {
            continue; // not a schema 1 row key: left alone (never read)
        };
        let mut new = subscriber_prefix(tag, &key.hash16(&k[1..end]));
        new.extend_from_slice(&k[end + 1..]);
        batch.put(&new, key.seal(&new, &v));
        batch.delete(&k);
        entries += 1;
    }
    batch.put(META_SCHEMA, SCHEMA_VERSION.to_be_bytes());
    let mut wo = WriteOptions::default();
    wo.set_sync(true);
    db.write_opt(batch, &wo)?;
    // The plain values are still in the older files (and the log until a flush): flush, and
    // compact everything to the last level, which drops the deleted rows.
    db.flush()?;
    let mut co = CompactOptions::default();
    co.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
    db.compact_range_opt(None::<&[u8]>, None::<&[u8]>, &co);
    tracing::info!(entries, "identity register encrypted (schema 1 to 2)");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading and validating a file
// ---------------------------------------------------------------------------------------------

/// A data row that parsed and whose key and interval are sound (it may still have problems in
/// other fields, which are in `Parsed::problems`).
struct Row {
    line: u64,
    record: IdentityRecord,
}

struct Parsed {
    data_rows: u64,
    rows: Vec<Row>,
    problems: Vec<RowProblem>,
}

fn problem(line: u64, column: Option<usize>, reason: impl Into<String>) -> RowProblem {
    RowProblem {
        line,
        column: column.map(|c| COLUMNS[c].to_string()),
        reason: reason.into(),
    }
}

fn parse_csv(bytes: &[u8], label: &str) -> Result<Parsed, IdentityError> {
    let bad_file = |e: &dyn fmt::Display| IdentityError::Csv(format!("{label}: {e}"));
    let mut lines = LineCounter::new(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut problems = Vec::new();

    if !reader
        .read_byte_record(&mut record)
        .map_err(|e| bad_file(&e))?
    {
        problems.push(problem(
            1,
            None,
            "the file is empty; a header row naming the columns is required",
        ));
        return Ok(Parsed {
            data_rows: 0,
            rows: Vec::new(),
            problems,
        });
    }
    let header_line = lines.line_of(&record);
    let (index, width) = read_header(&record, header_line, &mut problems);

    let mut rows = Vec::new();
    let mut data_rows = 0;
    let mut seen: HashMap<(String, i64), u64> = HashMap::new();
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| bad_file(&e))?
    {
        data_rows += 1;
        let line = lines.line_of(&record);
        if record.len() != width {
            problems.push(problem(
                line,
                None,
                format!("has {} fields; the header has {width}", record.len()),
            ));
            continue;
        }
        if let Some(rec) = parse_row(&record, &index, line, &mut problems) {
            match seen.get(&(rec.subscriber.clone(), rec.valid_from)) {
                Some(&first) => problems.push(problem(
                    line,
                    None,
                    format!("repeats the subscriber and valid_from of line {first}"),
                )),
                None => {
                    seen.insert((rec.subscriber.clone(), rec.valid_from), line);
                    rows.push(Row { line, record: rec });
                }
            }
        }
    }
    Ok(Parsed {
        data_rows,
        rows,
        problems,
    })
}

/// Line numbers of records, counting `\n`, `\r\n` and a lone `\r` as one line break each.
/// (The csv crate's own line count lags by one per CRLF line: a record's position points at the
/// `\n` of the line before it.)
struct LineCounter<'a> {
    bytes: &'a [u8],
    /// Bytes before `pos` hold `breaks` line breaks.
    pos: usize,
    breaks: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            pos: 0,
            breaks: 0,
        }
    }

    /// The 1-based line a record starts on. Records come in file order, so the count only moves
    /// forward.
    fn line_of(&mut self, record: &csv::ByteRecord) -> u64 {
        let mut start = record.position().map_or(0, |p| p.byte()) as usize;
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        let start = start.max(self.pos).min(self.bytes.len());
        for i in self.pos..start {
            let b = self.bytes[i];
            if b == b'\n' || (b == b'\r' && self.bytes.get(i + 1) != Some(&b'\n')) {
                self.breaks += 1;
            }
        }
        self.pos = start;
        self.breaks + 1
    }
}

/// Maps each known column to its field index; reports unknown, repeated and missing columns.
/// Returns the index and the number of header fields.
fn read_header(
    header: &csv::ByteRecord,
    line: u64,
    problems: &mut Vec<RowProblem>,
) -> ([Option<usize>; 10], usize) {
    let mut index = [None; 10];
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let s = String::from_utf8_lossy(f);
            let s = if i == 0 {
                s.trim_start_matches('\u{feff}')
            } else {
                s.as_ref()
            };
            s.trim().to_ascii_lowercase()
        })
        .collect();
    if names.len() == 1 && names[0].contains(';') {
        problems.push(problem(
            line,
            None,
            "the header has one column with semicolons in it; tdr reads comma-separated files",
        ));
        return (index, names.len());
    }
    for (i, name) in names.iter().enumerate() {
        match COLUMNS.iter().position(|c| c == name) {
            Some(c) if index[c].is_some() => problems.push(problem(
                line,
                Some(c),
                "the column is named twice in the header",
            )),
            Some(c) => index[c] = Some(i),
            None => problems.push(RowProblem {
                line,
                column: None,
                // A header name is not personal data, but keep it short.
                reason: format!(
                    "header field {} is not a known column (expected: {})",
                    i + 1,
                    COLUMNS.join(", ")
                ),
            }),
        }
    }
    for (c, at) in index.iter().enumerate() {
        if at.is_none() {
            problems.push(problem(
                line,
                Some(c),
                "the header lacks this required column",
            ));
        }
    }
    (index, names.len())
}

/// Parses and checks one data row. Returns the record when its key (subscriber, valid_from) and
/// interval are sound, so that duplicates and overlaps can be checked; other problems are only
/// reported.
fn parse_row(
    record: &csv::ByteRecord,
    index: &[Option<usize>; 10],
    line: u64,
    problems: &mut Vec<RowProblem>,
) -> Option<IdentityRecord> {
    let mut key_ok = true;
    let mut fields: [&str; 10] = [""; 10];
    for (c, at) in index.iter().enumerate() {
        let Some(i) = *at else {
            // Reported once, at the header.
            if c == COL_SUBSCRIBER || c == COL_VALID_FROM || c == COL_VALID_TO {
                key_ok = false;
            }
            continue;
        };
        match std::str::from_utf8(&record[i]) {
            Ok(s) => fields[c] = s.trim(),
            Err(_) => {
                problems.push(problem(line, Some(c), "is not valid UTF-8"));
                if c == COL_SUBSCRIBER || c == COL_VALID_FROM || c == COL_VALID_TO {
                    key_ok = false;
                }
            }
        }
    }
    let present = |c: usize| index[c].is_some();

    let subscriber = fields[COL_SUBSCRIBER];
    if present(COL_SUBSCRIBER) {
        if subscriber.is_empty() {
            problems.push(problem(line, Some(COL_SUBSCRIBER), "is empty"));
            key_ok = false;
        } else if subscriber.contains('\0') {
            problems.push(problem(line, Some(COL_SUBSCRIBER), "contains a NUL byte"));
            key_ok = false;
        }
    }
    for c in [COL_CUSTOMER_ID, COL_NAME] {
        if present(c) && fields[c].is_empty() {
            problems.push(problem(line, Some(c), "is empty"));
        }
    }
    let protected = match fields[COL_PROTECTED].to_ascii_lowercase().as_str() {
        "true" => true,
        "false" => false,
        _ => {
            if present(COL_PROTECTED) {
                problems.push(problem(line, Some(COL_PROTECTED), "must be true or false"));
            }
            false
        }
    };
    let valid_from = if !present(COL_VALID_FROM) {
        None
    } else if fields[COL_VALID_FROM].is_empty() {
        problems.push(problem(
            line,
            Some(COL_VALID_FROM),
            "is empty; the time the row became valid is required",
        ));
        None
    } else {
        time_field(fields[COL_VALID_FROM], COL_VALID_FROM, line, problems)
    };
    let valid_to = if fields[COL_VALID_TO].is_empty() {
        Some(None)
    } else {
        time_field(fields[COL_VALID_TO], COL_VALID_TO, line, problems).map(Some)
    };
    if let (Some(from), Some(Some(to))) = (valid_from, valid_to) {
        if to <= from {
            problems.push(problem(
                line,
                Some(COL_VALID_TO),
                "must be later than valid_from",
            ));
            key_ok = false;
        }
    }
    let (Some(valid_from), Some(valid_to)) = (valid_from, valid_to) else {
        return None;
    };
    if !key_ok {
        return None;
    }
    Some(IdentityRecord {
        subscriber: subscriber.to_string(),
        customer_id: fields[COL_CUSTOMER_ID].to_string(),
        name: fields[COL_NAME].to_string(),
        street: fields[COL_STREET].to_string(),
        postal_code: fields[COL_POSTAL_CODE].to_string(),
        city: fields[COL_CITY].to_string(),
        personal_number: fields[COL_PERSONAL_NUMBER].to_string(),
        protected_identity: protected,
        valid_from,
        valid_to,
    })
}

/// `None` (with a problem reported) when the field is not an RFC 3339 time with an offset. The
/// reason does not repeat the value (`TimeError`'s text would).
fn time_field(
    s: &str,
    column: usize,
    line: u64,
    problems: &mut Vec<RowProblem>,
) -> Option<UnixSecs> {
    match parse_time(s) {
        Ok(t) => Some(t),
        Err(TimeError::NoOffset(_)) => {
            problems.push(problem(
                line,
                Some(column),
                "has no UTC offset; write RFC 3339 with Z or +hh:mm (e.g. 2026-01-01T00:00:00+01:00)",
            ));
            None
        }
        Err(TimeError::Malformed(_)) => {
            problems.push(problem(
                line,
                Some(column),
                "is not an RFC 3339 time (e.g. 2026-01-01T00:00:00+01:00)",
            ));
            None
        }
    }
}

/// One row's interval for the overlap check: valid_from, valid_to, where the row comes from.
type Interval = (i64, Option<i64>, Origin);

#[derive(Clone, Copy)]
enum Origin {
    /// A row of the file, by line.
    File(u64),
    /// A row the register holds and the file does not replace, by valid_from.
    Register(i64),
}

/// Reports rows of one subscriber whose intervals intersect, within the file or against what
/// the register holds (a file row with the same key as a held one replaces it). Each row is
/// compared with the earlier-starting row that reaches furthest, so every row that overlaps
/// something gets at least one problem.
fn check_overlaps(
    rows: &[Row],
    held: &HashMap<&str, BTreeMap<i64, IdentityRecord>>,
    problems: &mut Vec<RowProblem>,
) {
    let mut by_subscriber: HashMap<&str, Vec<Interval>> = HashMap::new();
    for row in rows {
        let r = &row.record;
        by_subscriber
            .entry(r.subscriber.as_str())
            .or_default()
            .push((r.valid_from, r.valid_to, Origin::File(row.line)));
    }
    for (subscriber, intervals) in &mut by_subscriber {
        if let Some(held) = held.get(subscriber) {
            let in_file: Vec<i64> = intervals.iter().map(|i| i.0).collect();
            for r in held.values() {
                if !in_file.contains(&r.valid_from) {
                    intervals.push((r.valid_from, r.valid_to, Origin::Register(r.valid_from)));
                }
            }
        }
        intervals.sort_by_key(|i| i.0);
        let mut reach: Option<(Option<i64>, Origin)> = None;
        for &(start, end, origin) in intervals.iter() {
            if let Some((reach_end, other)) = reach {
                if reach_end.is_none_or(|e| e > start) {
                    if let Some(p) = overlap_problem(other, origin) {
                        problems.push(p);
                    }
                }
                let further = match (reach_end, end) {
                    (None, _) => false,
                    (Some(_), None) => true,
                    (Some(a), Some(b)) => b > a,
                };
                if further {
                    reach = Some((end, origin));
                }
            } else {
                reach = Some((end, origin));
            }
        }
    }
}

fn overlap_problem(a: Origin, b: Origin) -> Option<RowProblem> {
    match (a, b) {
        (Origin::File(x), Origin::File(y)) => Some(RowProblem {
            line: x.max(y),
            column: None,
            reason: format!(
                "overlaps line {}: one subscriber cannot have two rows valid at the same time",
                x.min(y)
            ),
        }),
        (Origin::File(line), Origin::Register(from))
        | (Origin::Register(from), Origin::File(line)) => Some(RowProblem {
            line,
            column: None,
            reason: format!(
                "overlaps a row already in the register valid from {}",
                fmt_time(from)
            ),
        }),
        (Origin::Register(_), Origin::Register(_)) => None,
    }
}

impl IdentityRegister {
    /// A consistent copy of the register at `to` (a RocksDB checkpoint), for a backup: as
    /// sealed as the register.
    pub fn checkpoint(&self, to: &Path) -> Result<(), IdentityError> {
        rocksdb::checkpoint::Checkpoint::new(&self.db)
            .and_then(|c| c.create_checkpoint(to))
            .map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const HEADER: &str = "subscriber,customer_id,name,street,postal_code,city,personal_number,protected_identity,valid_from,valid_to";

    fn write_csv(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        let mut f = fs::File::create(&p).unwrap();
        f.write_all(body.as_bytes()).unwrap();
        p
    }

    fn t(s: &str) -> i64 {
        parse_time(s).unwrap()
    }

    fn rejected(r: Result<ImportReport, IdentityError>) -> Vec<RowProblem> {
        match r {
            Err(IdentityError::Rejected(p)) => p,
            other => panic!("expected Rejected, got {other:?}"),
        }
    }

    #[test]
    fn time_keys_sort_as_numbers() {
        let dec_time = |b: [u8; 8]| (u64::from_be_bytes(b) ^ (1 << 63)) as i64;
        let ts = [i64::MIN, -86_400, -1, 0, 1, 1_700_000_000, i64::MAX];
        for w in ts.windows(2) {
            assert!(enc_time(w[0]) < enc_time(w[1]), "{} < {}", w[0], w[1]);
        }
        for t in ts {
            assert_eq!(dec_time(enc_time(t)), t);
        }
    }

    #[test]
    fn keys_hold_a_fixed_width_hash_of_the_subscriber_never_its_id() {
        let key = DataKey::from_bytes(&[1; 32], "t".into());
        let (a, ab) = (key.hash16(b"a"), key.hash16(b"ab"));
        let k = row_key(&ab, 5);
        assert_eq!(k.len(), 1 + 16 + 8);
        assert!(k.starts_with(&subscriber_prefix(ROW, &ab)));
        assert!(!k.starts_with(&subscriber_prefix(ROW, &a)));
        assert!(!k.windows(2).any(|w| w == b"ab"));
        assert!(upper_bound(&subscriber_prefix(ROW, &ab)).unwrap() > k);
        // A hash that ends in 0xff still has a bound (the carry moves left).
        assert_eq!(upper_bound(&[ROW, 7, 0xff, 0xff]).unwrap(), [ROW, 8]);
        assert_eq!(upper_bound(&[0xff, 0xff]), None);
    }

    #[test]
    fn open_creates_a_private_directory_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        {
            let reg = IdentityRegister::open(dir.path()).unwrap();
            assert_eq!(reg.count().unwrap(), 0);
        }
        let mode = fs::metadata(dir.path().join("identity"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let reg = IdentityRegister::open(dir.path()).unwrap();
        assert_eq!(reg.at("x", 0).unwrap(), None);
        assert_eq!(reg.history("x").unwrap(), SubscriberHistory::default());
    }

    #[test]
    fn a_subscriber_that_is_a_prefix_of_another_does_not_see_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let reg = IdentityRegister::open(dir.path()).unwrap();
        let csv = write_csv(
            dir.path(),
            "a.csv",
            &format!(
                "{HEADER}\nab,C2,Bo,Gatan 2,11111,Ort,19700101-0000,false,2025-01-01T00:00:00Z,\n"
            ),
        );
        reg.import_csv(&csv, 0).unwrap();
        assert_eq!(reg.at("a", t("2025-06-01T00:00:00Z")).unwrap(), None);
        assert!(reg.at("ab", t("2025-06-01T00:00:00Z")).unwrap().is_some());
        assert_eq!(reg.history("a").unwrap().current.len(), 0);
    }

    #[test]
    fn header_problems_are_each_reported_at_line_one() {
        let dir = tempfile::tempdir().unwrap();
        let reg = IdentityRegister::open(dir.path()).unwrap();
        let csv = write_csv(
            dir.path(),
            "h.csv",
            "subscriber,customer_id,name,name,street,postal_code,city,personal_number,protected_identity,valid_from,colour\n",
        );
        let p = rejected(reg.import_csv(&csv, 0));
        assert!(p.iter().all(|p| p.line == 1), "{p:?}");
        let cols: Vec<_> = p.iter().filter_map(|p| p.column.as_deref()).collect();
        assert!(cols.contains(&"name"), "{p:?}"); // named twice
        assert!(cols.contains(&"valid_to"), "{p:?}"); // missing
        assert!(p
            .iter()
            .any(|p| p.column.is_none() && p.reason.contains("field 11")));
        assert_eq!(p.len(), 3, "{p:?}");
    }

    #[test]
    fn an_empty_file_and_a_semicolon_file_are_rejected_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let reg = IdentityRegister::open(dir.path()).unwrap();
        let empty = write_csv(dir.path(), "e.csv", "");
        let p = rejected(reg.import_csv(&empty, 0));
        assert_eq!(p.len(), 1);
        assert!(p[0].reason.contains("header"));
        let semi = write_csv(
            dir.path(),
            "s.csv",
            &format!("{}\n", HEADER.replace(',', ";")),
        );
        let p = rejected(reg.import_csv(&semi, 0));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].reason.contains("semicolon"));
    }

    #[test]
    fn a_missing_file_is_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let reg = IdentityRegister::open(dir.path()).unwrap();
        let e = reg.import_csv(&dir.path().join("nope.csv"), 0).unwrap_err();
        assert_eq!(e.code(), "identity.bad_file");
    }

    #[test]
    fn a_byte_order_mark_and_header_case_and_spaces_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let reg = IdentityRegister::open(dir.path()).unwrap();
        let header = HEADER
            .replace("subscriber", "Subscriber ")
            .replace(",name", ", NAME");
        let csv = write_csv(
            dir.path(),
            "bom.csv",
            &format!(
                "\u{feff}{header}\nx1,C1,Bo, Gatan 1 ,11111,Ort,19700101-0000,TRUE,2025-01-01T00:00:00Z,\n"
            ),
        );
        let r = reg.import_csv(&csv, 0).unwrap();
        assert_eq!(r.added, 1);
        let rec = reg.at("x1", t("2025-01-01T00:00:00Z")).unwrap().unwrap();
        assert_eq!(rec.street, "Gatan 1");
        assert!(rec.protected_identity);
    }

    #[test]
    fn a_nul_byte_in_a_subscriber_and_a_short_row_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let reg = IdentityRegister::open(dir.path()).unwrap();
        let csv = write_csv(
            dir.path(),
            "n.csv",
            &format!("{HEADER}\nx\0y,C1,Bo,G,1,O,P,false,2025-01-01T00:00:00Z,\nx2,C2,Bo,G\n"),
        );
        let p = rejected(reg.import_csv(&csv, 0));
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!((p[0].line, p[0].column.as_deref()), (2, Some("subscriber")));
        assert!(p[0].reason.contains("NUL"));
        assert_eq!((p[1].line, p[1].column.as_deref()), (3, None));
        assert!(p[1].reason.contains("4 fields"));
        assert_eq!(reg.count().unwrap(), 0);
    }

    #[test]
    fn rejection_texts_never_repeat_a_field_value() {
        let dir = tempfile::tempdir().unwrap();
        let reg = IdentityRegister::open(dir.path()).unwrap();
        let csv = write_csv(
            dir.path(),
            "v.csv",
            &format!(
                "{HEADER}\n\
                 secret-sub,SECRET-CUST,Hemlig Person,Hemliggatan 9,99999,Hemstad,19991231-9999,maybe,2025-13-01T00:00:00Z,2025-01-01 00:00:00\n\
                 secret-sub,SECRET-CUST,,Hemliggatan 9,99999,Hemstad,19991231-9999,false,2025-01-01T00:00:00Z,\n\
                 secret-sub,SECRET-CUST,Hemlig Person,Hemliggatan 9,99999,Hemstad,19991231-9999,false,2025-02-01T00:00:00Z,\n"
            ),
        );
        let e = reg.import_csv(&csv, 0).unwrap_err();
        assert_eq!(e.code(), "identity.rejected_rows");
        let text = e.to_string();
        for secret in [
            "secret",
            "SECRET",
            "Hemlig",
            "99999",
            "19991231",
            "maybe",
            "2025-13",
            "2025-01-01 00",
        ] {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
        assert_eq!(text.lines().count(), 1 + 5, "{text}");
    }

    #[test]
    fn an_overlap_with_the_register_is_reported_with_the_held_rows_start() {
        let dir = tempfile::tempdir().unwrap();
        let reg = IdentityRegister::open(dir.path()).unwrap();
        let first = write_csv(
            dir.path(),
            "1.csv",
            &format!("{HEADER}\nx,C1,A,G,1,O,P,false,2025-01-01T00:00:00Z,\n"),
        );
        reg.import_csv(&first, 10).unwrap();
        // A new owner from March, but the file does not close the first row.
        let second = write_csv(
            dir.path(),
            "2.csv",
            &format!("{HEADER}\nx,C2,B,G,1,O,P,false,2025-03-01T00:00:00+01:00,\n"),
        );
        let p = rejected(reg.import_csv(&second, 20));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, 2);
        assert!(p[0]
            .reason
            .contains("already in the register valid from 2025-01-01T00:00:00Z"));
        assert_eq!(reg.count().unwrap(), 1);
    }

    #[test]
    fn a_row_replaced_twice_in_one_second_keeps_both_old_versions() {
        let dir = tempfile::tempdir().unwrap();
        let reg = IdentityRegister::open(dir.path()).unwrap();
        for (i, street) in ["G1", "G2", "G3"].iter().enumerate() {
            let f = write_csv(
                dir.path(),
                &format!("{i}.csv"),
                &format!("{HEADER}\nx,C1,A,{street},1,O,P,false,2025-01-01T00:00:00Z,\n"),
            );
            reg.import_csv(&f, 100).unwrap();
        }
        let h = reg.history("x").unwrap();
        assert_eq!(h.current.len(), 1);
        assert_eq!(h.current[0].street, "G3");
        let old: Vec<_> = h
            .superseded
            .iter()
            .map(|s| s.record.street.as_str())
            .collect();
        assert_eq!(old, ["G1", "G2"]);
        assert!(h.superseded.iter().all(|s| s.replaced_at == 100));
        assert_eq!(reg.count().unwrap(), 1);
    }

    fn record_lines(data: &str) -> Vec<u64> {
        let mut lines = LineCounter::new(data.as_bytes());
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(data.as_bytes());
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            out.push(lines.line_of(&record));
        }
        out
    }

    #[test]
    fn line_numbers_count_lf_crlf_and_cr_breaks_blank_lines_and_quoted_newlines() {
        assert_eq!(record_lines("h,a\n1,2\n3,4\n"), [1, 2, 3]);
        assert_eq!(record_lines("h,a\r\n1,2\r\n3,4\r\n"), [1, 2, 3]);
        assert_eq!(record_lines("h,a\r1,2\r3,4"), [1, 2, 3]);
        assert_eq!(record_lines("\nh,a\r\n\r\n1,2\r\n3,4"), [2, 4, 5]);
        assert_eq!(
            record_lines("h,a\r\n1,\"x\r\ny\"\r\n3,4\r\n"),
            [1, 2, 4],
            "a record is numbered by the line it starts on"
        );
    }

    #[test]
    fn a_rectification_rewrites_the_row_valid_now_and_keeps_the_old_one_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let reg = IdentityRegister::open(dir.path()).unwrap();
        let csv = write_csv(
            dir.path(),
            "crm.csv",
            &format!(
                "{}\nsub-1,C1,Åsa Öberg,Storgatan 1,11455,Stockholm,19800101-1234,false,\
                 2026-01-01T00:00:00Z,2026-06-01T00:00:00Z\n\
                 sub-1,C1,Åsa Öberg,Storgatan 1,11455,Stockholm,19800101-1234,false,\
                 2026-06-01T00:00:00Z,\n",
                COLUMNS.join(",")
            ),
        );
        reg.import_csv(&csv, 0).unwrap();
        let fix = Correction {
            name: Some(" Åsa Ek ".into()),
            ..Correction::default()
        };
        let now = t("2026-11-21T10:00:00Z");
        let fields = reg.rectify("sub-1", &fix, now, "C-2026-0012").unwrap();
        assert_eq!(fields, vec!["name".to_string()]);
        let h = reg.history("sub-1").unwrap();
        // Only the row valid now is corrected; its validity is unchanged.
        assert_eq!(h.current.len(), 2);
        assert_eq!(h.current[0].name, "Åsa Öberg");
        assert_eq!(h.current[1].name, "Åsa Ek");
        assert_eq!(h.current[1].valid_from, t("2026-06-01T00:00:00Z"));
        assert_eq!(h.superseded.len(), 1);
        assert_eq!(h.superseded[0].record.name, "Åsa Öberg");
        assert_eq!(h.superseded[0].replaced_at, now);
        assert_eq!(
            h.superseded[0].reason.as_deref(),
            Some("rättelse C-2026-0012")
        );
        // An import's supersession has no reason, and none is written.
        assert!(!String::from_utf8(encode(&Superseded {
            record: h.current[0].clone(),
            replaced_at: 0,
            reason: None,
        }))
        .unwrap()
        .contains("reason"));
        let err = reg.rectify("sub-9", &fix, now, "C-2026-0013").unwrap_err();
        assert_eq!(err.code(), "identity.no_current_row");
        assert!(!err.to_string().contains("sub-9"));
    }

    /// Every file under `dir` (recursively), with the ones that hold any of `needles`.
    fn files_holding(dir: &Path, needles: &[&str]) -> (usize, Vec<String>) {
        let mut stack = vec![dir.to_path_buf()];
        let (mut files, mut found) = (0, Vec::new());
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                files += 1;
                let bytes = fs::read(&p).unwrap();
                for n in needles {
                    if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                        found.push(format!("{n:?} in {}", p.display()));
                    }
                }
            }
        }
        (files, found)
    }

    const SECRETS: [&str; 8] = [
        "circuit-4711",
        "Zacharias Ödqvist",
        "Zacharias",
        "Ödqvist",
        "Kvarnbäcksvägen 17",
        "19610523-4417",
        "CUST-88421",
        "Byxelkrok",
    ];

    fn secret_csv(dir: &Path) -> std::path::PathBuf {
        write_csv(
            dir,
            "crm.csv",
            &format!(
                "{HEADER}\n\
                 circuit-4711,CUST-88421,Zacharias Ödqvist,Kvarnbäcksvägen 17,38775,Byxelkrok,\
                 19610523-4417,false,2025-01-01T00:00:00Z,2026-01-01T00:00:00Z\n\
                 circuit-4711,CUST-88421,Zacharias Ödqvist,Kvarnbäcksvägen 17,38775,Byxelkrok,\
                 19610523-4417,true,2026-01-01T00:00:00Z,\n"
            ),
        )
    }

    #[test]
    fn nothing_of_a_subscriber_is_readable_on_disk_in_the_log_or_after_a_flush() {
        let dir = tempfile::tempdir().unwrap();
        let reg = IdentityRegister::open(dir.path()).unwrap();
        reg.import_csv(&secret_csv(dir.path()), 0).unwrap();
        // A second import that replaces a row: history too.
        let changed = write_csv(
            dir.path(),
            "crm2.csv",
            &format!(
                "{HEADER}\ncircuit-4711,CUST-88421,Zacharias Ödqvist,Kvarnbäcksvägen 19,38775,\
                 Byxelkrok,19610523-4417,true,2026-01-01T00:00:00Z,\n"
            ),
        );
        reg.import_csv(&changed, 5).unwrap();
        reg.rectify(
            "circuit-4711",
            &Correction {
                city: Some("Böda".into()),
                ..Correction::default()
            },
            t("2026-11-21T10:00:00Z"),
            "C-1",
        )
        .unwrap();
        let identity = dir.path().join(IDENTITY_DIR);
        // Still in the write-ahead log (nothing flushed yet).
        let (files, found) = files_holding(&identity, &SECRETS);
        assert!(files > 3, "{files}");
        assert!(found.is_empty(), "{found:?}");
        assert!(fs::read_dir(&identity).unwrap().flatten().any(|e| e
            .path()
            .extension()
            .is_some_and(|x| x == "log")
            && e.metadata().unwrap().len() > 0));
        // Flushed and compacted into tables.
        reg.db.flush().unwrap();
        reg.db.compact_range(None::<&[u8]>, None::<&[u8]>);
        let (_, found) = files_holding(&identity, &[&SECRETS[..], &["Böda"]].concat());
        assert!(found.is_empty(), "{found:?}");
        // And every read path still answers.
        let now = reg
            .at("circuit-4711", t("2026-11-21T10:00:00Z"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (now.street.as_str(), now.city.as_str()),
            ("Kvarnbäcksvägen 19", "Böda")
        );
        let h = reg.history("circuit-4711").unwrap();
        assert_eq!((h.current.len(), h.superseded.len()), (2, 2));
        assert_eq!(reg.count().unwrap(), 2);
    }

    fn copy_dir(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for e in fs::read_dir(from).unwrap().flatten() {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }

    #[test]
    fn another_appliances_register_or_a_changed_row_is_an_error_never_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a");
        fs::create_dir(&data).unwrap();
        let reg = IdentityRegister::open(&data).unwrap();
        reg.import_csv(&secret_csv(dir.path()), 0).unwrap();
        drop(reg);
        // Copied to another appliance (its own master key, no such key in its key store).
        let other = dir.path().join("b");
        KeyStore::open(&other, true).unwrap();
        copy_dir(&data.join(IDENTITY_DIR), &other.join(IDENTITY_DIR));
        let err = IdentityRegister::open(&other).err().unwrap();
        assert_eq!(err.code(), "key.missing", "{err}");
        assert!(err.to_string().contains("\"identity\""), "{err}");
        // With the key file too: it does not unwrap with that master key.
        fs::copy(
            data.join("keystore/identity.key"),
            other.join("keystore/identity.key"),
        )
        .unwrap();
        let err = IdentityRegister::open(&other).err().unwrap();
        assert_eq!(err.code(), "key.wrong", "{err}");
        // The master key lost: missing, not a new key for an existing register.
        let third = dir.path().join("c");
        copy_dir(&data.join(IDENTITY_DIR), &third.join(IDENTITY_DIR));
        let err = IdentityRegister::open(&third).err().unwrap();
        assert_eq!(err.code(), "key.missing", "{err}");
        assert!(!third.join("keystore").exists());
        // A stored value changed on disk: it does not open, and nothing is returned.
        {
            let db = DB::open_default(data.join(IDENTITY_DIR)).unwrap();
            let (k, mut v) = db
                .iterator(IteratorMode::From(&[ROW], Direction::Forward))
                .next()
                .unwrap()
                .unwrap();
            let last = v.len() - 1;
            v[last] ^= 1;
            db.put(&k, &v).unwrap();
        }
        let reg = IdentityRegister::open(&data).unwrap();
        let err = reg.history("circuit-4711").unwrap_err();
        assert_eq!(err.code(), "key.undecryptable", "{err}");
        for s in SECRETS {
            assert!(!err.to_string().contains(s), "{err}");
        }
    }

    #[test]
    fn a_plain_register_of_the_version_before_is_encrypted_once_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let old_key = |tag: u8, sub: &str, rest: &[&[u8]]| -> Vec<u8> {
            [&[tag][..], sub.as_bytes(), &[0], &rest.concat()].concat()
        };
        let rec = |sub: &str, name: &str, from: &str, to: Option<&str>| IdentityRecord {
            subscriber: sub.into(),
            customer_id: "CUST-88421".into(),
            name: name.into(),
            street: "Kvarnbäcksvägen 17".into(),
            postal_code: "38775".into(),
            city: "Byxelkrok".into(),
            personal_number: "19610523-4417".into(),
            protected_identity: false,
            valid_from: t(from),
            valid_to: to.map(t),
        };
        let first = rec(
            "circuit-4711",
            "Zacharias Ödqvist",
            "2025-01-01T00:00:00Z",
            None,
        );
        let second = rec("circuit-4711", "Zacharias Ek", "2026-01-01T00:00:00Z", None);
        let shorter = rec("circuit-47", "Zacharias", "2025-01-01T00:00:00Z", None);
        let closed = IdentityRecord {
            valid_to: Some(t("2026-01-01T00:00:00Z")),
            ..first.clone()
        };
        {
            // Written as schema 1 did: plain keys and JSON values.
            let path = dir.path().join(IDENTITY_DIR);
            let db = DB::open_default(&path).unwrap();
            db.put(META_SCHEMA, 1u32.to_be_bytes()).unwrap();
            for r in [&closed, &second, &shorter] {
                let k = old_key(ROW, &r.subscriber, &[&enc_time(r.valid_from)]);
                db.put(k, serde_json::to_vec(r).unwrap()).unwrap();
            }
            let sup = Superseded {
                record: first.clone(),
                replaced_at: 77,
                reason: None,
            };
            let k = old_key(
                HISTORY,
                "circuit-4711",
                &[
                    &enc_time(first.valid_from),
                    &enc_time(77),
                    &0u32.to_be_bytes(),
                ],
            );
            db.put(k, serde_json::to_vec(&sup).unwrap()).unwrap();
            db.flush().unwrap();
        }
        let reg = IdentityRegister::open(dir.path()).unwrap();
        assert_eq!(reg.count().unwrap(), 3);
        let at = |s: &str, when: &str| reg.at(s, t(when)).unwrap().map(|r| r.name);
        assert_eq!(
            at("circuit-4711", "2025-06-01T00:00:00Z").as_deref(),
            Some("Zacharias Ödqvist")
        );
        assert_eq!(
            at("circuit-4711", "2026-06-01T00:00:00Z").as_deref(),
            Some("Zacharias Ek")
        );
        assert_eq!(
            at("circuit-47", "2026-06-01T00:00:00Z").as_deref(),
            Some("Zacharias")
        );
        let h = reg.history("circuit-4711").unwrap();
        assert_eq!(h.current, vec![closed.clone(), second.clone()]);
        assert_eq!(h.superseded.len(), 1);
        assert_eq!(
            (h.superseded[0].record.valid_to, h.superseded[0].replaced_at),
            (None, 77)
        );
        // The plain rows are gone from the disk, not only shadowed.
        let (_, found) = files_holding(&dir.path().join(IDENTITY_DIR), &SECRETS);
        assert!(found.is_empty(), "{found:?}");
        // Once: reopened, it is schema 2 and reads the same; a new import overlaps it as before.
        drop(reg);
        let reg = IdentityRegister::open(dir.path()).unwrap();
        assert_eq!(reg.history("circuit-4711").unwrap(), h);
        let f = write_csv(
            dir.path(),
            "x.csv",
            &format!("{HEADER}\ncircuit-4711,C,N,G,1,O,P,false,2026-03-01T00:00:00Z,\n"),
        );
        let p = rejected(reg.import_csv(&f, 100));
        assert!(
            p[0].reason
                .contains("already in the register valid from 2026-01-01"),
            "{p:?}"
        );
    }

    #[test]
    fn every_error_has_a_stable_code() {
        let cases = [
            (IdentityError::Open(String::new()), "identity.open_failed"),
            (IdentityError::Read(String::new()), "identity.read_failed"),
            (IdentityError::Write(String::new()), "identity.write_failed"),
            (IdentityError::Csv(String::new()), "identity.bad_file"),
            (
                IdentityError::Rejected(Vec::new()),
                "identity.rejected_rows",
            ),
            (IdentityError::NoCurrentRow, "identity.no_current_row"),
            (
                IdentityError::Key(KeyError::Undecryptable { what: "x".into() }),
                "key.undecryptable",
            ),
            (
                IdentityError::Key(KeyError::Missing {
                    name: KEY_NAME.into(),
                    path: "k".into(),
                }),
                "key.missing",
            ),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code);
        }
    }
}
