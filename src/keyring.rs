//! Data at rest: the master key and the key store.
//!
//! * **The master key** (32 random bytes) wraps every other key and is read only by the
//!   daemon (and the service user's offline commands). It is a systemd credential when the
//!   unit provides one (`LoadCredentialEncrypted=tdr-master-key:…`, sealed by the TPM2 where
//!   present): `$CREDENTIALS_DIRECTORY/tdr-master-key`; otherwise `<data_dir>/keys/master.key`
//!   (hex, 0600, made on the first read-write open). Its id (the first 8 bytes of a SHA-256
//!   over it, hex) names the appliance in backups, escrow files and wrapped keys.
//! * **The key store** (`<data_dir>/keystore/`, 0700) holds one file per data key, wrapped
//!   (AES-256-GCM under the master key, bound to the key's name): a key per UTC day
//!   (`day-20261121`), the live bindings' key (`live`), the identity register's
//!   (`identity`), the quarantine's (`quarantine`) and the subscriber index's hash key
//!   (`subject-index`). It is kept apart from the data so that a backup of the data holds no
//!   key, and it is escrowed on its own ([`KeyStore::export`]).
//! * **Shredding** a key overwrites and unlinks its file, syncs the folder and leaves a
//!   `<name>.shredded` marker (its key id), so an escrow imported later never brings it back.
//!
//! A [`DataKey`] seals values with AES-256-GCM (a fresh random 96-bit nonce per value, the
//! record's key as associated data, so a value moved to another key or day does not open) and
//! makes keyed hashes (HMAC-SHA256) for the identifiers a key must stay searchable by. Nothing
//! that fails to open is ever returned: a wrong or missing key is an error that names it.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ErrorKind;

/// The systemd credential's name (`LoadCredentialEncrypted=tdr-master-key:PATH`).
pub const CREDENTIAL: &str = "tdr-master-key";
const MASTER_FILE: &str = "master.key";
const WRAP_MAGIC: &[u8; 5] = b"TDRK1";
const WRAP_AAD: &[u8] = b"tdr wrapped key v1\0";
/// Bytes a sealed value adds to its plain text: nonce and tag.
pub const SEAL_OVERHEAD: usize = 12 + 16;
const ESCROW_FORMAT: &str = "tdr key escrow v1";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the master key is missing: {0}")]
    MasterMissing(String),
    #[error("the master key at {path} cannot be used: {reason}")]
    MasterBad { path: PathBuf, reason: String },
    #[error(
        "the key {name:?} is missing from the key store ({path}): it was shredded, or this key \
         store is not the one the data was written with (restore it from the key escrow: tdr \
         keys import)"
    )]
    Missing { name: String, path: PathBuf },
    #[error("the key {name:?} ({path}) cannot be unwrapped: {reason}")]
    Wrong {
        name: String,
        path: PathBuf,
        reason: String,
    },
    #[error("{what} does not open with its key: the data was changed, or belongs to another key")]
    Undecryptable { what: String },
    #[error("key store {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("key escrow {path}: {reason}")]
    Escrow { path: PathBuf, reason: String },
}

impl KeyError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            KeyError::MasterMissing(_) | KeyError::Missing { .. } => ErrorKind::KeyMissing,
            KeyError::MasterBad { .. } | KeyError::Wrong { .. } => ErrorKind::KeyWrong,
            KeyError::Undecryptable { .. } => ErrorKind::KeyUndecryptable,
            KeyError::Io { .. } => ErrorKind::KeyStoreFailed,
            KeyError::Escrow { .. } => ErrorKind::KeyEscrowBad,
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> KeyError {
    KeyError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The appliance's master key.
pub struct MasterKey {
    aead: Aes256Gcm,
    id: [u8; 8],
    /// Where it was read from (for messages).
    pub origin: PathBuf,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id())
    }
}

/// Where the master key is read from: the systemd credential when the unit passed one, the
/// data directory's file otherwise.
pub fn master_key_path(data_dir: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
        let p = Path::new(&dir).join(CREDENTIAL);
        if p.exists() {
            return p;
        }
    }
    data_dir.join("keys").join(MASTER_FILE)
}

fn read_key_file(path: &Path, check_mode: bool) -> Result<[u8; 32], String> {
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    if check_mode {
        let mode = f
            .metadata()
            .map_err(|e| e.to_string())?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!("mode {:o}; expected 600", mode & 0o777));
        }
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    let mut key = [0u8; 32];
    match bytes.len() {
        32 => key.copy_from_slice(&bytes),
        _ => hex::decode_to_slice(String::from_utf8_lossy(&bytes).trim(), &mut key)
            .map_err(|_| "not 32 bytes, nor 64 hex characters".to_string())?,
    }
    Ok(key)
}

/// Writes a new private key file (0600, in a 0700 folder) atomically: temporary file, sync,
/// rename, folder sync.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("a key file has a folder");
    crate::fsmode::create_private_dir(dir)?;
    let tmp = dir.join(format!(
        ".{}.new",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let _ = std::fs::remove_file(&tmp);
    let mut f = crate::fsmode::create_new_private(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

impl MasterKey {
    /// Loads the master key (see [`master_key_path`]); with `create`, makes the data
    /// directory's file when there is no key at all. A file readable by group or others is
    /// refused.
    pub fn load(data_dir: &Path, create: bool) -> Result<MasterKey, KeyError> {
        let path = master_key_path(data_dir);
        let credential = !path.starts_with(data_dir);
        match read_key_file(&path, !credential) {
            Ok(key) => Ok(MasterKey::from_bytes(&key, path)),
            Err(_) if !path.exists() && create => {
                let key: [u8; 32] = rand::random();
                write_private(&path, hex::encode(key).as_bytes()).map_err(|e| {
                    KeyError::MasterBad {
                        path: path.clone(),
                        reason: e.to_string(),
                    }
                })?;
                Ok(MasterKey::from_bytes(&key, path))
            }
            Err(_) if !path.exists() => Err(KeyError::MasterMissing(format!(
                "neither the systemd credential $CREDENTIALS_DIRECTORY/{CREDENTIAL} nor {} \
                 exists (restore it from where it is kept apart from the data)",
                path.display()
            ))),
            Err(reason) => Err(KeyError::MasterBad { path, reason }),
        }
    }

    pub fn from_bytes(key: &[u8; 32], origin: PathBuf) -> MasterKey {
        let digest = Sha256::new()
            .chain_update(b"tdr master key id v1\0")
            .chain_update(key)
            .finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        MasterKey {
            aead: Aes256Gcm::new(key.into()),
            id,
            origin,
        }
    }

    /// The appliance id: 16 hex characters that name this master key (not secret).
    pub fn id(&self) -> String {
        hex::encode(self.id)
    }

    fn wrap(&self, name: &str, key: &[u8; 32]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut body = key.to_vec();
        let aad = [WRAP_AAD, name.as_bytes()].concat();
        let tag = self
            .aead
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &aad, &mut body)
            .expect("AES-GCM seals 32 bytes");
        [WRAP_MAGIC.as_slice(), &self.id, &nonce, &body, &tag].concat()
    }

    fn unwrap(&self, name: &str, wrapped: &[u8]) -> Result<[u8; 32], String> {
        if wrapped.len() != 5 + 8 + 12 + 32 + 16 || &wrapped[..5] != WRAP_MAGIC {
            return Err("not a wrapped tdr key".into());
        }
        if wrapped[5..13] != self.id {
            return Err(format!(
                "it is wrapped by the master key {}, and this appliance's is {}",
                hex::encode(&wrapped[5..13]),
                self.id()
            ));
        }
        let nonce = &wrapped[13..25];
        let mut body = wrapped[25..57].to_vec();
        let aad = [WRAP_AAD, name.as_bytes()].concat();
        self.aead
            .decrypt_in_place_detached(
                Nonce::from_slice(nonce),
                &aad,
                &mut body,
                Tag::from_slice(&wrapped[57..]),
            )
            .map_err(|_| "it does not open with this appliance's master key".to_string())?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&body);
        Ok(key)
    }
}

/// One data key: seals and opens values, and makes keyed hashes.
pub struct DataKey {
    aead: Aes256Gcm,
    mac: Hmac<Sha256>,
    /// The key's id: the first 8 bytes of the SHA-256 of its wrapped form, hex (named in
    /// deletion certificates; says nothing about the key).
    pub id: String,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey({})", self.id)
    }
}

fn derive(key: &[u8; 32], label: &[u8]) -> [u8; 32] {
    // HKDF-Expand (RFC 5869) with the random key as the PRK, one block.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(label);
    mac.update(&[1]);
    mac.finalize().into_bytes().into()
}

impl DataKey {
    /// A data key from its 32 bytes (the key store's keys; tests).
    pub fn from_bytes(key: &[u8; 32], id: String) -> DataKey {
        DataKey {
            aead: Aes256Gcm::new((&derive(key, b"tdr seal v1")).into()),
            mac: <Hmac<Sha256> as Mac>::new_from_slice(&derive(key, b"tdr hash v1"))
                .expect("HMAC takes any key length"),
            id,
        }
    }

    /// Appends `plain` sealed to `out`: nonce ‖ cipher text ‖ tag, bound to `aad`.
    pub fn seal_into(&self, aad: &[u8], plain: &[u8], out: &mut Vec<u8>) {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(plain);
        let tag = self
            .aead
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut out[start..])
            .expect("AES-GCM seals values far below its limit");
        out.extend_from_slice(&tag);
    }

    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plain.len() + SEAL_OVERHEAD);
        self.seal_into(aad, plain, &mut out);
        out
    }

    /// Opens a sealed value; `None` when it does not open (changed, or another key or `aad`).
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < SEAL_OVERHEAD {
            return None;
        }
        let (nonce, rest) = sealed.split_at(12);
        let (body, tag) = rest.split_at(rest.len() - 16);
        let mut plain = body.to_vec();
        self.aead
            .decrypt_in_place_detached(
                Nonce::from_slice(nonce),
                aad,
                &mut plain,
                Tag::from_slice(tag),
            )
            .ok()?;
        Some(plain)
    }

    /// The keyed hash of an identifier (16 bytes of HMAC-SHA256 under a key derived from
    /// this one).
    pub fn hash16(&self, data: &[u8]) -> [u8; 16] {
        let mut mac = self.mac.clone();
        mac.update(data);
        let tag = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag[..16]);
        out
    }
}

/// A key shredded: which, and its id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Shredded {
    pub name: String,
    pub key_id: String,
}

/// The key store: wrapped data keys under `<data_dir>/keystore/`, unwrapped on first use and
/// kept in memory.
pub struct KeyStore {
    dir: PathBuf,
    master: MasterKey,
    keys: RwLock<HashMap<String, Arc<DataKey>>>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyStore({}, {:?})", self.dir.display(), self.master)
    }
}

/// The name of the data key of UTC day `day` (days since the epoch): `day-20261121`.
pub fn day_key_name(day: i64) -> String {
    let date = chrono::DateTime::from_timestamp(day * 86_400, 0)
        .map(|d| d.format("%Y%m%d").to_string())
        .unwrap_or_else(|| "00000000".into());
    format!("day-{date}")
}

/// The day of a day key's name.
pub fn day_of_key_name(name: &str) -> Option<i64> {
    let digits = name.strip_prefix("day-")?;
    let date = chrono::NaiveDate::parse_from_str(digits, "%Y%m%d").ok()?;
    Some(
        date.and_hms_opt(0, 0, 0)?
            .and_utc()
            .timestamp()
            .div_euclid(86_400),
    )
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Where a data directory's key store is.
pub fn keystore_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keystore")
}

impl KeyStore {
    /// Opens the key store of `data_dir` with its master key; with `create`, makes the
    /// master key and the folder when missing.
    pub fn open(data_dir: &Path, create: bool) -> Result<KeyStore, KeyError> {
        let master = MasterKey::load(data_dir, create)?;
        let dir = keystore_dir(data_dir);
        if create {
            crate::fsmode::create_private_dir(&dir).map_err(|e| io_err(&dir, e))?;
        }
        Ok(KeyStore {
            dir,
            master,
            keys: RwLock::new(HashMap::new()),
        })
    }

    /// The appliance id (the master key's).
    pub fn appliance(&self) -> String {
        self.master.id()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    fn marker_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.shredded"))
    }

    fn unwrap_file(&self, name: &str, wrapped: &[u8]) -> Result<Arc<DataKey>, KeyError> {
        let path = self.path_of(name);
        let key = self
            .master
            .unwrap(name, wrapped)
            .map_err(|reason| KeyError::Wrong {
                name: name.to_string(),
                path: path.clone(),
                reason,
            })?;
        let id = hex::encode(&Sha256::digest(wrapped)[..8]);
        Ok(Arc::new(DataKey::from_bytes(&key, id)))
    }

    /// The key `name`, `None` when the store has none.
    pub fn get(&self, name: &str) -> Result<Option<Arc<DataKey>>, KeyError> {
        if let Some(k) = self
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Ok(Some(k.clone()));
        }
        let path = self.path_of(name);
        let wrapped = match std::fs::read(&path) {
            Ok(w) => w,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        let key = self.unwrap_file(name, &wrapped)?;
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), key.clone());
        Ok(Some(key))
    }

    /// The key `name`, an error naming it when missing.
    pub fn require(&self, name: &str) -> Result<Arc<DataKey>, KeyError> {
        self.get(name)?.ok_or_else(|| KeyError::Missing {
            name: name.to_string(),
            path: self.path_of(name),
        })
    }

    /// The key `name`, made (random, wrapped, synced) when missing. Two processes making one
    /// key at once both end with the one that reached the disk first.
    pub fn get_or_create(&self, name: &str) -> Result<Arc<DataKey>, KeyError> {
        if let Some(k) = self.get(name)? {
            return Ok(k);
        }
        assert!(valid_name(name), "key names are [a-z0-9-]");
        let key: [u8; 32] = rand::random();
        let wrapped = self.master.wrap(name, &key);
        let path = self.path_of(name);
        crate::fsmode::create_private_dir(&self.dir).map_err(|e| io_err(&self.dir, e))?;
        let tmp = self.dir.join(format!(".{name}.{}.new", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let written = (|| {
            let mut f = crate::fsmode::create_new_private(&tmp)?;
            f.write_all(&wrapped)?;
            f.sync_all()?;
            // A hard link fails when the key exists: the first one made wins.
            let linked = std::fs::hard_link(&tmp, &path);
            std::fs::remove_file(&tmp)?;
            std::fs::File::open(&self.dir)?.sync_all()?;
            match linked {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
                _ => Ok(()),
            }
        })();
        written.map_err(|e| io_err(&path, e))?;
        self.require(name)
    }

    /// Whether the key `name` was shredded here.
    pub fn shredded(&self, name: &str) -> bool {
        self.marker_of(name).exists()
    }

    /// Shreds the key `name`: overwrites its file, syncs, unlinks it, leaves the
    /// `.shredded` marker and syncs the folder, so it is gone from the disk before anything
    /// else happens. `None` when there was no such key.
    pub fn shred(&self, name: &str) -> Result<Option<Shredded>, KeyError> {
        let path = self.path_of(name);
        let wrapped = match std::fs::read(&path) {
            Ok(w) => w,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        let key_id = hex::encode(&Sha256::digest(&wrapped)[..8]);
        let done = (|| {
            let mut f = std::fs::OpenOptions::new().write(true).open(&path)?;
            f.write_all(&vec![0u8; wrapped.len()])?;
            f.sync_all()?;
            drop(f);
            std::fs::remove_file(&path)?;
            let marker = self.marker_of(name);
            let _ = std::fs::remove_file(&marker);
            let mut m = crate::fsmode::create_new_private(&marker)?;
            m.write_all(key_id.as_bytes())?;
            m.sync_all()?;
            std::fs::File::open(&self.dir)?.sync_all()
        })();
        done.map_err(|e| io_err(&path, e))?;
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        Ok(Some(Shredded {
            name: name.to_string(),
            key_id,
        }))
    }

    /// The names of the keys held, sorted.
    pub fn names(&self) -> Result<Vec<String>, KeyError> {
        let mut out = Vec::new();
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io_err(&self.dir, e)),
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if let Some(name) = n.strip_suffix(".key") {
                if valid_name(name) {
                    out.push(name.to_string());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Writes every wrapped key to `path` (a new 0600 file) for escrow: the keys stay
    /// wrapped by the master key, which is never in it. Returns how many keys.
    pub fn export(&self, path: &Path, made: &str) -> Result<usize, KeyError> {
        let mut keys = Vec::new();
        for name in self.names()? {
            let p = self.path_of(&name);
            let wrapped = std::fs::read(&p).map_err(|e| io_err(&p, e))?;
            // Only keys this master key opens: nothing unreadable goes into escrow.
            self.unwrap_file(&name, &wrapped)?;
            keys.push(serde_json::json!({"name": name, "wrapped": hex::encode(wrapped)}));
        }
        let n = keys.len();
        let body = serde_json::json!({
            "format": ESCROW_FORMAT,
            "appliance": self.appliance(),
            "made": made,
            "keys": keys,
        });
        let mut f = crate::fsmode::create_new_private(path).map_err(|e| KeyError::Escrow {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        f.write_all(format!("{body:#}\n").as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| KeyError::Escrow {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(n)
    }

    /// Reads an escrow file made by [`KeyStore::export`] and adds the keys it holds that
    /// this store lacks, except shredded ones and those `keep` refuses (a restore refuses
    /// expired days). Every key must open with this appliance's master key, or nothing is
    /// added. Returns the names added.
    pub fn import(
        &self,
        path: &Path,
        keep: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<String>, KeyError> {
        let bad = |reason: String| KeyError::Escrow {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not an escrow file: {e}")))?;
        if v["format"] != ESCROW_FORMAT {
            return Err(bad(format!("not a {ESCROW_FORMAT:?} file")));
        }
        if v["appliance"] != self.appliance().as_str() {
            return Err(bad(format!(
                "it holds the keys of appliance {}, and this appliance's master key is {}",
                v["appliance"].as_str().unwrap_or("?"),
                self.appliance()
            )));
        }
        let mut wanted = Vec::new();
        for k in v["keys"].as_array().into_iter().flatten() {
            let (Some(name), Some(hexed)) = (k["name"].as_str(), k["wrapped"].as_str()) else {
                return Err(bad("a key without name or wrapped bytes".into()));
            };
            if !valid_name(name) {
                return Err(bad(format!("a key named {name:?}")));
            }
            let wrapped = hex::decode(hexed).map_err(|_| bad(format!("key {name}: not hex")))?;
            self.unwrap_file(name, &wrapped)?;
            wanted.push((name.to_string(), wrapped));
        }
        let mut added = Vec::new();
        for (name, wrapped) in wanted {
            if self.path_of(&name).exists() || self.shredded(&name) || !keep(&name) {
                continue;
            }
            write_private(&self.path_of(&name), &wrapped).map_err(|e| io_err(&self.dir, e))?;
            added.push(name);
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_associated_data() {
        let k = DataKey::from_bytes(&[7; 32], "a".into());
        let other = DataKey::from_bytes(&[8; 32], "b".into());
        let s = k.seal(b"key1", b"alice");
        assert_eq!(s.len(), 5 + SEAL_OVERHEAD);
        assert_eq!(k.open(b"key1", &s).as_deref(), Some(&b"alice"[..]));
        assert!(k.open(b"key2", &s).is_none(), "moved to another key");
        assert!(other.open(b"key1", &s).is_none(), "another day's key");
        let mut flipped = s.clone();
        flipped[14] ^= 1;
        assert!(k.open(b"key1", &flipped).is_none());
        assert_ne!(k.seal(b"key1", b"alice"), s, "a fresh nonce per value");
        assert_ne!(k.hash16(b"alice"), other.hash16(b"alice"));
    }

    #[test]
    fn keys_are_wrapped_shredded_for_good_and_escrowed_for_the_same_appliance_only() {
        let d = tempfile::tempdir().unwrap();
        let ks = KeyStore::open(d.path(), true).unwrap();
        let day = ks.get_or_create("day-20261121").unwrap();
        let sealed = day.seal(b"k", b"+46701234567");
        let wrapped = std::fs::read(d.path().join("keystore/day-20261121.key")).unwrap();
        assert!(!wrapped.windows(32).any(|w| w == [0u8; 32]));
        // Reopened: the same key.
        let again = KeyStore::open(d.path(), false).unwrap();
        let day2 = again.require("day-20261121").unwrap();
        assert_eq!(
            day2.open(b"k", &sealed).as_deref(),
            Some(&b"+46701234567"[..])
        );
        let escrow = d.path().join("escrow.json");
        assert_eq!(again.export(&escrow, "now").unwrap(), 1);
        // Shredded: gone, named when asked for, and never brought back from escrow.
        let s = ks.shred("day-20261121").unwrap().unwrap();
        assert_eq!(s.key_id, day.id);
        let fresh = KeyStore::open(d.path(), false).unwrap();
        let err = fresh.require("day-20261121").unwrap_err();
        assert!(err.to_string().contains("day-20261121"), "{err}");
        assert_eq!(err.code(), "key.missing");
        assert!(fresh.import(&escrow, &|_| true).unwrap().is_empty());
        // Another appliance cannot read the escrow.
        let e = tempfile::tempdir().unwrap();
        let foreign = KeyStore::open(e.path(), true).unwrap();
        let err = foreign.import(&escrow, &|_| true).unwrap_err();
        assert!(err.to_string().contains(&ks.appliance()), "{err}");
        // A key file copied from another appliance is named, not read as garbage.
        std::fs::write(e.path().join("keystore/live.key"), &wrapped).unwrap();
        let err = foreign.require("live").unwrap_err();
        assert_eq!(err.code(), "key.wrong");
    }

    #[test]
    fn a_master_key_readable_by_others_is_refused() {
        let d = tempfile::tempdir().unwrap();
        MasterKey::load(d.path(), true).unwrap();
        let p = d.path().join("keys/master.key");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::load(d.path(), false).unwrap_err();
        assert!(err.to_string().contains("expected 600"), "{err}");
        let e = tempfile::tempdir().unwrap();
        let err = MasterKey::load(e.path(), false).unwrap_err();
        assert_eq!(err.code(), "key.missing");
    }

    #[test]
    fn day_key_names_round_trip() {
        let day = 20_413;
        assert_eq!(day_of_key_name(&day_key_name(day)), Some(day));
        assert_eq!(day_of_key_name("live"), None);
    }
}
