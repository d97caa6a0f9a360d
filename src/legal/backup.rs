//! Backups that forget on time.
//!
//! A backup (`tdr backup create DIR`) holds what the appliance cannot rebuild from its logs,
//! as it is on disk: the store (a consistent RocksDB checkpoint of the sealed partitions), the
//! identity register (a checkpoint; its values sealed with its own key), the audit log, the
//! legal register (cases, orders, users, notices, ledger), the deletion certificates and the
//! audit public key. It never holds a key: not the master key, not the key store (day keys,
//! the identity key), not the audit signing key. A day shredded after the backup was made
//! cannot be read from it, because its key is gone; a restore never revives a day that has
//! expired, because it refuses to bring that day's key back and drops its partition.
//!
//! `MANIFEST.json` lists every file with its size and SHA-256, the appliance (its master
//! key's id), the partitions and the ids of their day keys, signed like a deletion
//! certificate with the appliance's audit key. `tdr backup verify` checks all of it without
//! any secret.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::ErrorKind;
use crate::keyring::{day_key_name, day_of_key_name, KeyStore};
use crate::store::keys::partition_day;

pub const MANIFEST: &str = "MANIFEST.json";
const FORMAT: &str = "tdr backup v1";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backup {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("the backup does not verify: {0}")]
    Bad(String),
    #[error(
        "the backup was made by appliance {made_by}, and this appliance's master key is {here}: \
         a backup is restored with its own appliance's master key (keys/master.key or the \
         systemd credential) and its key escrow (--escrow)"
    )]
    Foreign { made_by: String, here: String },
    #[error(
        "the key store lacks the keys of {0} (days still within retention, not shredded): give \
         the key escrow of this appliance (--escrow FILE, made by tdr keys export)"
    )]
    KeysMissing(String),
    #[error("{0} already holds a store: a backup is restored into a data directory without one (move it away first)")]
    StoreExists(PathBuf),
    #[error(transparent)]
    Key(#[from] crate::keyring::KeyError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("audit: {0}")]
    Audit(String),
}

impl BackupError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            BackupError::Io { .. } => ErrorKind::BackupIo,
            BackupError::Bad(_) => ErrorKind::BackupBad,
            BackupError::Foreign { .. } => ErrorKind::BackupForeign,
            BackupError::KeysMissing(_) => ErrorKind::BackupKeysMissing,
            BackupError::StoreExists(_) => ErrorKind::BackupTargetNotEmpty,
            BackupError::Key(e) => e.kind(),
            BackupError::Store(e) => e.kind(),
            BackupError::Audit(_) => ErrorKind::AuditWriteFailed,
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> BackupError {
    BackupError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// What a backup holds, as its manifest says.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub dir: PathBuf,
    pub appliance: String,
    pub made: String,
    pub files: usize,
    pub bytes: u64,
    /// The store's partitions and the ids of their day keys.
    pub partitions: Vec<(String, Option<String>)>,
    /// SHA-256 of the manifest file.
    pub manifest_sha256: String,
}

/// Copies `from` into `to` (a tree of regular files), every file 0600 and folder 0700.
fn copy_tree(from: &Path, to: &Path) -> Result<(), BackupError> {
    crate::fsmode::create_private_dir(to).map_err(|e| io(to, e))?;
    let rd = match std::fs::read_dir(from) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(from, e)),
    };
    for e in rd {
        let e = e.map_err(|e| io(from, e))?;
        let ft = e.file_type().map_err(|err| io(&e.path(), err))?;
        let dst = to.join(e.file_name());
        if ft.is_dir() {
            copy_tree(&e.path(), &dst)?;
        } else if ft.is_file() {
            copy_file(&e.path(), &dst)?;
        }
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<(), BackupError> {
    let bytes = std::fs::read(from).map_err(|e| io(from, e))?;
    let _ = std::fs::remove_file(to);
    let mut f = crate::fsmode::create_new_private(to).map_err(|e| io(to, e))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| io(to, e))
}

/// Every regular file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, BackupError> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), BackupError> {
        for e in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let e = e.map_err(|e| io(dir, e))?;
            let p = e.path();
            let ft = e.file_type().map_err(|err| io(&p, err))?;
            if ft.is_dir() {
                walk(root, &p, out)?;
            } else {
                out.push(p.strip_prefix(root).unwrap_or(&p).to_path_buf());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

fn sha256_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut f = std::fs::File::open(path).map_err(|e| io(path, e))?;
    let mut h = Sha256::new();
    let n = std::io::copy(&mut f, &mut h).map_err(|e| io(path, e))?;
    Ok((n, hex::encode(h.finalize())))
}

/// Makes a backup of `data_dir` in `dir` (new, or an empty folder): the store through
/// `store`, the other parts copied, the manifest signed. `made`: the time, `by`: who.
pub fn create(
    data_dir: &Path,
    store: &dyn crate::store::StoreCopy,
    dir: &Path,
    made: &str,
    by: &str,
) -> Result<Summary, BackupError> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .next()
            .is_some()
    {
        return Err(io(
            dir,
            "not empty: a backup goes into a new or empty folder",
        ));
    }
    crate::fsmode::create_private_dir(dir).map_err(|e| io(dir, e))?;
    let appliance = KeyStore::open(data_dir, false)?.appliance();
    let partitions = store.checkpoint(&dir.join("store"))?;
    let identity = data_dir.join("identity");
    if identity.exists() {
        crate::identity::IdentityRegister::open(data_dir)
            .and_then(|r| r.checkpoint(&dir.join("identity")))
            .map_err(|e| io(&identity, e))?;
    }
    {
        // The legal register under its lock, so no case is copied half-written.
        let _lock = super::files::lock(data_dir).map_err(|e| io(data_dir, e))?;
        copy_tree(&data_dir.join("legal"), &dir.join("legal"))?;
    }
    let _ = std::fs::remove_file(dir.join("legal").join("lock"));
    copy_tree(&data_dir.join("audit"), &dir.join("audit"))?;
    copy_tree(
        &crate::store::retention::certificates_dir(data_dir),
        &dir.join("certificates"),
    )?;
    let public = crate::audit::public_key_path(data_dir);
    crate::fsmode::create_private_dir(&dir.join("keys")).map_err(|e| io(dir, e))?;
    copy_file(&public, &dir.join("keys").join("audit-signing.pub"))?;
    let mut files = Vec::new();
    for rel in files_under(dir)? {
        let (n, sha) = sha256_file(&dir.join(&rel))?;
        files.push(json!({"path": rel.to_string_lossy(), "size": n, "sha256": sha}));
    }
    let body = json!({
        "format": FORMAT,
        "appliance": appliance,
        "made": made,
        "made_by": by,
        "partitions": partitions.iter().map(|(p, k)| json!({"partition": p, "key_id": k})).collect::<Vec<_>>(),
        "files": files,
    });
    let sealer =
        crate::audit::Sealer::load(data_dir).map_err(|e| BackupError::Audit(e.to_string()))?;
    let text = serde_json::to_string(&body).unwrap_or_default();
    let manifest = json!({
        "body": body,
        "signature": hex::encode(sealer.certify(text.as_bytes())),
        "public_key": sealer.public_hex(),
    });
    let out = format!("{manifest:#}\n");
    let path = dir.join(MANIFEST);
    let mut f = crate::fsmode::create_new_private(&path).map_err(|e| io(&path, e))?;
    f.write_all(out.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| io(&path, e))?;
    summary(dir, &manifest, out.as_bytes())
}

fn summary(dir: &Path, manifest: &Value, raw: &[u8]) -> Result<Summary, BackupError> {
    let b = &manifest["body"];
    let files = b["files"].as_array().map_or(0, Vec::len);
    let bytes = b["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["size"].as_u64())
        .sum();
    Ok(Summary {
        dir: dir.to_path_buf(),
        appliance: b["appliance"].as_str().unwrap_or("").into(),
        made: b["made"].as_str().unwrap_or("").into(),
        files,
        bytes,
        partitions: b["partitions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["partition"].as_str().unwrap_or("").to_string(),
                    p["key_id"].as_str().map(str::to_string),
                )
            })
            .collect(),
        manifest_sha256: hex::encode(Sha256::digest(raw)),
    })
}

/// Checks a backup: the manifest's signature with `public` (the appliance's audit public
/// key; `None`: the key the manifest names, which proves integrity only), then every file's
/// size and SHA-256, and that no file was added. Needs no secret.
pub fn verify(dir: &Path, public: Option<&Path>) -> Result<Summary, BackupError> {
    let path = dir.join(MANIFEST);
    let raw = std::fs::read(&path).map_err(|e| io(&path, e))?;
    let manifest: Value = serde_json::from_slice(&raw)
        .map_err(|e| BackupError::Bad(format!("{MANIFEST} is not JSON: {e}")))?;
    let body = &manifest["body"];
    if body["format"] != FORMAT {
        return Err(BackupError::Bad(format!(
            "{MANIFEST} is not a {FORMAT:?} manifest"
        )));
    }
    let key = match public {
        Some(p) => {
            crate::audit::load_public_key_file(p).map_err(|e| BackupError::Bad(e.to_string()))?
        }
        None => {
            let hexed = manifest["public_key"].as_str().unwrap_or("");
            let mut k = [0u8; 32];
            hex::decode_to_slice(hexed, &mut k)
                .map_err(|_| BackupError::Bad("the manifest names no public key".into()))?;
            ed25519_dalek::VerifyingKey::from_bytes(&k)
                .map_err(|_| BackupError::Bad("the manifest's public key is not a key".into()))?
        }
    };
    if !super::service::verify_certificate(&manifest, &key) {
        return Err(BackupError::Bad(
            "the manifest's signature does not match (changed, or another appliance's key)".into(),
        ));
    }
    let mut listed = std::collections::BTreeSet::new();
    for f in body["files"].as_array().into_iter().flatten() {
        let rel = f["path"].as_str().unwrap_or("");
        if rel.is_empty()
            || Path::new(rel)
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(BackupError::Bad(format!(
                "the manifest lists a bad path {rel:?}"
            )));
        }
        let p = dir.join(rel);
        let (n, sha) = match sha256_file(&p) {
            Ok(x) => x,
            Err(_) => return Err(BackupError::Bad(format!("{rel} is missing"))),
        };
        if Some(n) != f["size"].as_u64() || Some(sha.as_str()) != f["sha256"].as_str() {
            return Err(BackupError::Bad(format!("{rel} differs from the manifest")));
        }
        listed.insert(PathBuf::from(rel));
    }
    for rel in files_under(dir)? {
        if rel != Path::new(MANIFEST) && !listed.contains(&rel) {
            return Err(BackupError::Bad(format!(
                "{} is not in the manifest",
                rel.display()
            )));
        }
    }
    summary(dir, &manifest, &raw)
}

/// `tdr backup verify`: [`verify`] against `pubkey`, or this data directory's audit public
/// key when there is one; also says whether a key was held against it (without one, only
/// the backup's integrity is shown, not whose it is).
pub fn verify_here(
    data_dir: &Path,
    dir: &Path,
    pubkey: Option<&Path>,
) -> Result<(Summary, bool), BackupError> {
    let key = pubkey
        .map(Path::to_path_buf)
        .unwrap_or_else(|| crate::audit::public_key_path(data_dir));
    let key = key.exists().then_some(key);
    Ok((verify(dir, key.as_deref())?, key.is_some()))
}

/// What a restore did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Restored {
    /// Partitions brought back, readable with the key store's keys.
    pub partitions: Vec<String>,
    /// Partitions not brought back: their day expired or its key was shredded.
    pub forgotten: Vec<String>,
    /// Keys taken from the escrow.
    pub keys_imported: Vec<String>,
    /// The parts restored (`store`, `identity`, `legal`, `audit`, `certificates`); parts the
    /// data directory still had are kept as they are.
    pub parts: Vec<String>,
}

/// Restores a verified backup into `data_dir`, which holds no store (the daemon stopped):
/// refuses another appliance's backup, takes the day keys it lacks from `escrow` (never those
/// of days expired at `retention_floor` or shredded here), refuses when a day still within
/// retention has no key, copies the parts the data directory lacks, and marks the expired
/// days' keys shredded so their partitions are dropped when the store next opens. The caller
/// then opens the store (which drops them) and audits the restore.
pub fn restore(
    data_dir: &Path,
    dir: &Path,
    escrow: Option<&Path>,
    retention_floor: i64,
) -> Result<Restored, BackupError> {
    let local_pub = crate::audit::public_key_path(data_dir);
    let summary = verify(dir, local_pub.exists().then_some(local_pub.as_path()))?;
    let keys = KeyStore::open(data_dir, false)?;
    if summary.appliance != keys.appliance() {
        return Err(BackupError::Foreign {
            made_by: summary.appliance,
            here: keys.appliance(),
        });
    }
    if data_dir.join("store").join("CURRENT").exists() {
        return Err(BackupError::StoreExists(data_dir.to_path_buf()));
    }
    let expired =
        |name: &str| day_of_key_name(name).is_some_and(|d| (d + 1) * 86_400 <= retention_floor);
    let mut out = Restored::default();
    if let Some(escrow) = escrow {
        out.keys_imported = keys.import(escrow, &|name| !expired(name))?;
    }
    let mut missing = Vec::new();
    for (p, _) in &summary.partitions {
        let Some(day) = partition_day(p) else {
            continue;
        };
        let name = day_key_name(day);
        if keys.shredded(&name) || expired(&name) {
            out.forgotten.push(p.clone());
        } else if keys.get(&name)?.is_some() {
            out.partitions.push(p.clone());
        } else {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        return Err(BackupError::KeysMissing(missing.join(", ")));
    }
    for p in &out.forgotten {
        if let Some(day) = partition_day(p) {
            keys.mark_shredded(&day_key_name(day), "expired before the restore")?;
        }
    }
    copy_tree(&dir.join("store"), &data_dir.join("store"))?;
    out.parts.push("store".into());
    for part in ["identity", "legal", "audit"] {
        let target = data_dir.join(part);
        let empty = std::fs::read_dir(&target).map_or(true, |mut rd| rd.next().is_none());
        if empty && dir.join(part).exists() {
            copy_tree(&dir.join(part), &target)?;
            out.parts.push(part.into());
        }
    }
    // Certificates: the ones this appliance lacks.
    let certs = crate::store::retention::certificates_dir(data_dir);
    if let Ok(rd) = std::fs::read_dir(dir.join("certificates")) {
        crate::fsmode::create_private_dir(&certs).map_err(|e| io(&certs, e))?;
        for e in rd.flatten() {
            let to = certs.join(e.file_name());
            if !to.exists() {
                copy_file(&e.path(), &to)?;
            }
        }
        out.parts.push("certificates".into());
    }
    Ok(out)
}

/// `tdr backup create` by the service user with the daemon stopped: the store opened sealed,
/// the backup audited (`backup_create`, started and made) in the same log the daemon writes.
pub fn create_offline(
    cfg: &crate::config::Config,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    dir: &Path,
    by: &str,
) -> Result<Summary, BackupError> {
    let query = json!({"dir": dir.display().to_string()});
    audit_offline(
        cfg,
        &clock,
        entry(by, "backup_create", "started", query.clone()),
    )?;
    let store = crate::ingest::policy::open_store(cfg, clock.clone())
        .map_err(|(_, e)| BackupError::Audit(e))?;
    let made = crate::model::fmt_time(clock.now());
    let s = create(&cfg.data_dir, &store, dir, &made, by)?;
    let mut e = entry(by, "backup_create", "made", query);
    e.result_count = s.files as u64;
    e.result_digest = Some(s.manifest_sha256.clone());
    audit_offline(cfg, &clock, e)?;
    Ok(s)
}

/// `tdr backup restore` (the daemon stopped): [`restore`], then the store opened sealed
/// (which drops the partitions of shredded days), the restore audited, and any day that
/// expired meanwhile shredded as the daemon would. Returns what was restored and the
/// partitions expired now.
pub fn restore_offline(
    cfg: &crate::config::Config,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    dir: &Path,
    escrow: Option<&Path>,
    by: &str,
) -> Result<(Restored, Vec<String>), BackupError> {
    let now = clock.now();
    let r = restore(&cfg.data_dir, dir, escrow, cfg.retention.floor(now))?;
    let store = crate::ingest::policy::open_store(cfg, clock.clone())
        .map_err(|(_, e)| BackupError::Audit(e))?;
    let holds = super::holds(&cfg.data_dir, now).map_err(|e| BackupError::Audit(e.to_string()))?;
    let mut log = crate::audit::AuditLog::open(&cfg.data_dir, clock.clone())
        .map_err(|e| BackupError::Audit(e.to_string()))?;
    let mut e = entry(
        by,
        "backup_restore",
        "restored",
        json!({
            "dir": dir.display().to_string(),
            "partitions": r.partitions,
            "forgotten": r.forgotten,
            "keys_imported": r.keys_imported,
            "parts": r.parts,
        }),
    );
    e.result_count = r.partitions.len() as u64;
    log.append(e)
        .map_err(|e| BackupError::Audit(e.to_string()))?;
    let expired = crate::store::retention::expire(&store, &mut log, cfg, now, by, &holds)
        .map_err(|e| BackupError::Audit(e.to_string()))?;
    let _ = log.checkpoint();
    Ok((r, expired.into_iter().map(|p| p.name).collect()))
}

/// `tdr keys export` by the service user with the daemon stopped, audited (`keys_export`).
pub fn export_keys_offline(
    cfg: &crate::config::Config,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    file: &Path,
    by: &str,
) -> Result<(usize, String), BackupError> {
    let keys = KeyStore::open(&cfg.data_dir, false)?;
    let mut e = entry(
        by,
        "keys_export",
        "ok",
        json!({"file": file.display().to_string()}),
    );
    e.legal_basis = None;
    e.result_count = keys.names()?.len() as u64;
    audit_offline(cfg, &clock, e)?;
    let n = keys.export(file, &crate::model::fmt_time(clock.now()))?;
    Ok((n, keys.appliance()))
}

fn entry(by: &str, action: &str, outcome: &str, query: Value) -> crate::audit::NewEntry {
    crate::audit::NewEntry {
        actor: by.into(),
        role: "system".into(),
        action: action.into(),
        legal_basis: Some("backup".into()),
        query,
        outcome: outcome.into(),
        ..crate::audit::NewEntry::default()
    }
}

fn audit_offline(
    cfg: &crate::config::Config,
    clock: &std::sync::Arc<dyn crate::clock::Clock>,
    e: crate::audit::NewEntry,
) -> Result<(), BackupError> {
    let mut log = crate::audit::AuditLog::open(&cfg.data_dir, clock.clone())
        .map_err(|e| BackupError::Audit(e.to_string()))?;
    log.append(e)
        .map_err(|e| BackupError::Audit(e.to_string()))?;
    let _ = log.checkpoint();
    Ok(())
}
