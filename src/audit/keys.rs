//! The log's keys in `<data_dir>/keys/`: the Ed25519 signing key (and its public half) that signs
//! checkpoints, and the HMAC key behind subscriber pseudonyms. Loaded, or created on a first
//! start; never regenerated once the log has entries. Only the writer ([`AuditLog`](super::AuditLog),
//! i.e. the daemon) reads the secret keys; verification needs only the public key, which an
//! auditor holds on their own (`GET /v1/audit/head` gives it). Every key file is 0600 in a
//! 0700 directory, whatever the umask.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;

use super::error::AuditError;
use super::files::fsync_parent_dir;
use super::verify::VerifyError;
use super::KEYS_DIR;
use crate::error::ErrorKind;

const SIGNING_KEY_FILE: &str = "audit-signing.key";
const PUBLIC_KEY_FILE: &str = "audit-signing.pub";
const HMAC_KEY_FILE: &str = "audit-hmac.key";
/// Hex characters of the HMAC tag kept in a pseudonym (128 bits).
const PSEUDONYM_HEX_LEN: usize = 32;

/// Computes pseudonyms with an appliance's key; obtained from an open
/// [`AuditLog`](super::AuditLog) and usable after it is closed (a daemon releases the log between groups of entries).
#[derive(Clone)]
pub struct Pseudonymizer {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymizer")
    }
}

impl Pseudonymizer {
    /// A random key, for an auditor that can write nothing (its answers are never returned).
    pub fn throwaway() -> Pseudonymizer {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        Pseudonymizer::from_key(&key).expect("HMAC takes any key length")
    }

    fn from_key(key: &[u8]) -> Result<Pseudonymizer, hmac::digest::InvalidLength> {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key)?;
        Ok(Pseudonymizer { mac })
    }

    /// Keyed pseudonym of a subscriber identifier: HMAC-SHA256 under this appliance's key,
    /// first 32 hex characters. The same value [`AuditLog::pseudonym`](super::AuditLog::pseudonym)
    /// gives.
    pub fn pseudonym(&self, subscriber: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(subscriber.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut out = hex::encode(tag);
        out.truncate(PSEUDONYM_HEX_LEN);
        out
    }
}

/// The keys of an opened log.
pub(super) struct Keys {
    pub(super) signing: SigningKey,
    pub(super) pseudonyms: Pseudonymizer,
}

/// Loads the keys; on a new log (`first_start`) generates whichever secret key is missing. The
/// public key is derived, so it is (re)written when missing and must match when present.
pub(super) fn load_or_create_keys(keys_dir: &Path, first_start: bool) -> Result<Keys, AuditError> {
    let hmac_key = load_or_create_secret(keys_dir, HMAC_KEY_FILE, first_start)?;
    let seed = load_or_create_secret(keys_dir, SIGNING_KEY_FILE, first_start)?;
    let signing = SigningKey::from_bytes(&seed);
    let public_hex = hex::encode(signing.verifying_key().as_bytes());

    let pub_path = keys_dir.join(PUBLIC_KEY_FILE);
    match fs::read_to_string(&pub_path) {
        Ok(stored) if stored.trim() == public_hex => {}
        Ok(_) => {
            return Err(key_unreadable(
                PUBLIC_KEY_FILE,
                "does not match the signing key",
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            write_key_file(&pub_path, &public_hex, 0o600).map_err(|source| {
                AuditError::KeyWriteFailed {
                    file: key_file_label(PUBLIC_KEY_FILE),
                    source,
                }
            })?;
        }
        Err(e) => return Err(key_unreadable(PUBLIC_KEY_FILE, e.to_string())),
    }

    let pseudonyms = Pseudonymizer::from_key(&hmac_key)
        .map_err(|_| key_unreadable(HMAC_KEY_FILE, "unusable as an HMAC key"))?;
    Ok(Keys {
        signing,
        pseudonyms,
    })
}

fn load_or_create_secret(
    keys_dir: &Path,
    name: &str,
    first_start: bool,
) -> Result<[u8; 32], AuditError> {
    let path = keys_dir.join(name);
    if let Some(key) = read_secret_key(&path, name)? {
        return Ok(key);
    }
    if !first_start {
        return Err(key_unreadable(
            name,
            "missing, but the audit log already has entries signed or keyed with it",
        ));
    }
    let write_failed = |source| AuditError::KeyWriteFailed {
        file: key_file_label(name),
        source,
    };
    let mut key = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut key)
        .map_err(|e| write_failed(io::Error::other(e.to_string())))?;
    write_key_file(&path, &hex::encode(key), 0o600).map_err(write_failed)?;
    tracing::info!(file = name, "audit key generated");
    Ok(key)
}

/// Reads a 32-byte hex secret; `None` if the file does not exist. Refuses files that group or
/// others may read.
fn read_secret_key(path: &Path, name: &str) -> Result<Option<[u8; 32]>, AuditError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(key_unreadable(name, e.to_string())),
    };
    let mode = file
        .metadata()
        .map_err(|e| key_unreadable(name, e.to_string()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(key_unreadable(
            name,
            format!(
                "mode {:o} lets group or others read it; expected 600",
                mode & 0o777
            ),
        ));
    }
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| key_unreadable(name, e.to_string()))?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut key)
        .map_err(|_| key_unreadable(name, "not 64 hex characters"))?;
    Ok(Some(key))
}

/// Writes a key file atomically (temporary file, fsync, rename, fsync of the directory).
fn write_key_file(path: &Path, hex_text: &str, mode: u32) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)?;
    // `mode` applies only to a new file; a leftover temporary file gets it here.
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(hex_text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    fsync_parent_dir(path)
}

fn key_file_label(name: &str) -> String {
    format!("{KEYS_DIR}/{name}")
}

fn key_unreadable(name: &str, reason: impl Into<String>) -> AuditError {
    AuditError::KeyUnreadable {
        file: key_file_label(name),
        reason: reason.into(),
    }
}

/// The appliance's signing key, sealing what must not change behind tdr's back besides the
/// log (the store's retention policy). Signatures are over a context string and the message,
/// so none can pass for a checkpoint's. Only the daemon and the offline import load it.
pub struct Sealer {
    signing: SigningKey,
}

impl Sealer {
    const CONTEXT: &'static [u8] = b"tdr seal v1\0";

    /// Loads the signing key of the log in `data_dir`; it must exist (opening the log creates
    /// it on a first start).
    pub fn load(data_dir: &Path) -> Result<Sealer, AuditError> {
        let path = data_dir.join(KEYS_DIR).join(SIGNING_KEY_FILE);
        let seed = read_secret_key(&path, SIGNING_KEY_FILE)?.ok_or_else(|| {
            key_unreadable(SIGNING_KEY_FILE, "missing (the audit log creates it)")
        })?;
        Ok(Sealer {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        use ed25519_dalek::Signer;
        let m = [Self::CONTEXT, msg].concat();
        self.signing.sign(&m).to_bytes().to_vec()
    }

    pub fn verify(&self, msg: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        let m = [Self::CONTEXT, msg].concat();
        self.signing.verifying_key().verify_strict(&m, &sig).is_ok()
    }

    /// Signs a certificate (a deletion certificate's body) under its own context, so no
    /// certificate can pass for a seal or a checkpoint, and the reverse.
    pub fn certify(&self, body: &[u8]) -> Vec<u8> {
        use ed25519_dalek::Signer;
        let m = [CERTIFICATE_CONTEXT, body].concat();
        self.signing.sign(&m).to_bytes().to_vec()
    }

    /// The public half, hex (as `keys/audit-signing.pub` holds it).
    pub fn public_hex(&self) -> String {
        hex::encode(self.signing.verifying_key().as_bytes())
    }
}

const CERTIFICATE_CONTEXT: &[u8] = b"tdr certificate v1\0";

/// Whether `signature` is the appliance's signature of certificate `body` under the public key
/// `public` (what an auditor checks with `keys/audit-signing.pub`, off the box).
pub fn verify_certificate(public: &VerifyingKey, body: &[u8], signature: &[u8]) -> bool {
    let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
        return false;
    };
    let m = [CERTIFICATE_CONTEXT, body].concat();
    public.verify_strict(&m, &sig).is_ok()
}

/// The public key of a data directory (`keys/audit-signing.pub`).
pub(super) fn load_public_key(data_dir: &Path) -> Result<VerifyingKey, VerifyError> {
    read_public_key(&public_key_path(data_dir), &key_file_label(PUBLIC_KEY_FILE))
}

/// Where a data directory keeps its audit public key (`keys/audit-signing.pub`).
pub fn public_key_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join(KEYS_DIR).join(PUBLIC_KEY_FILE)
}

/// An Ed25519 public key from a file of 64 hex characters (as `keys/audit-signing.pub` and the
/// `public_key` of `GET /v1/audit/head` hold it), for verifying a log without the daemon.
pub fn load_public_key_file(path: &Path) -> Result<VerifyingKey, VerifyError> {
    read_public_key(path, &path.display().to_string())
}

fn read_public_key(path: &Path, label: &str) -> Result<VerifyingKey, VerifyError> {
    let unreadable =
        |why: String| VerifyError::whole_file(ErrorKind::AuditKeyUnreadable, label, None, why);
    let text = fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes)
        .map_err(|_| unreadable("not 64 hex characters".into()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| unreadable("not an Ed25519 public key".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::test_support::{open, open_err, write_log};
    use crate::audit::{AuditOptions, AUDIT_DIR};
    use tempfile::TempDir;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn key_files_are_private() {
        let dir = TempDir::new().unwrap();
        drop(open(dir.path()));
        let keys = dir.path().join(KEYS_DIR);
        assert_eq!(mode_of(&keys.join("audit-signing.key")), 0o600);
        assert_eq!(mode_of(&keys.join("audit-hmac.key")), 0o600);
        assert_eq!(mode_of(&keys.join("audit-signing.pub")), 0o600);
        assert_eq!(mode_of(&keys), 0o700);
        assert_eq!(mode_of(&dir.path().join(AUDIT_DIR)), 0o700);
        for name in ["audit-signing.key", "audit-hmac.key", "audit-signing.pub"] {
            let text = fs::read_to_string(keys.join(name)).unwrap();
            assert_eq!(text.trim().len(), 64, "{name}");
            assert!(hex::decode(text.trim()).is_ok(), "{name}");
        }
    }

    #[test]
    fn key_file_readable_by_others_is_refused() {
        let dir = TempDir::new().unwrap();
        drop(open(dir.path()));
        let hmac_path = dir.path().join("keys/audit-hmac.key");
        fs::set_permissions(&hmac_path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = open_err(dir.path());
        assert_eq!(err.code(), "audit.key_unreadable", "{err}");
    }

    #[test]
    fn missing_key_is_not_regenerated_once_the_log_has_entries() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 1, AuditOptions::default());
        fs::remove_file(dir.path().join("keys/audit-hmac.key")).unwrap();
        let err = open_err(dir.path());
        assert_eq!(err.code(), "audit.key_unreadable", "{err}");
        assert!(!dir.path().join("keys/audit-hmac.key").exists());
    }

    #[test]
    fn replaced_keys_are_refused_at_open() {
        let dir = TempDir::new().unwrap();
        write_log(dir.path(), 1, AuditOptions::default());
        let keys = dir.path().join(KEYS_DIR);
        let original_pub = fs::read_to_string(keys.join(PUBLIC_KEY_FILE)).unwrap();

        // A public key that does not belong to the signing key.
        let other = SigningKey::from_bytes(&[9u8; 32]);
        fs::write(
            keys.join(PUBLIC_KEY_FILE),
            hex::encode(other.verifying_key().as_bytes()),
        )
        .unwrap();
        let err = open_err(dir.path());
        assert_eq!(err.code(), "audit.key_unreadable", "{err}");

        // A consistent but different key pair: the last checkpoint no longer verifies.
        fs::write(keys.join(SIGNING_KEY_FILE), hex::encode([9u8; 32])).unwrap();
        let err = open_err(dir.path());
        assert_eq!(err.code(), "audit.key_mismatch", "{err}");
        assert_ne!(
            fs::read_to_string(keys.join(PUBLIC_KEY_FILE)).unwrap(),
            original_pub
        );
    }

    #[test]
    fn pseudonym_is_stable_per_key_and_differs_between_data_dirs() {
        let a = TempDir::new().unwrap();
        let b = TempDir::new().unwrap();
        let log_a = open(a.path());
        let p = log_a.pseudonym("sub-1001");
        assert_eq!(p.len(), 32);
        assert!(p
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(log_a.pseudonym("sub-1001"), p);
        assert_ne!(log_a.pseudonym("sub-1002"), p);
        drop(log_a);

        assert_eq!(
            open(a.path()).pseudonym("sub-1001"),
            p,
            "stable across reopen"
        );
        assert_ne!(
            open(b.path()).pseudonym("sub-1001"),
            p,
            "differs between appliances"
        );
    }
}
