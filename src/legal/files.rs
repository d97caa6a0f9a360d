//! The legal register's files under `<data_dir>/legal/` (mode 0700): `users.json`, one
//! `cases/<id>.json` per case, the scanned orders `orders/<id>` (see `service/orders.rs`), and
//! `lock`, an exclusive flock held for every read-modify-write,
//! so the daemon and CLI commands can change cases concurrently without losing an update.
//! Every write goes to a temporary file that is fsynced and renamed over the old one, and the
//! directory is fsynced: a crash leaves the old or the new version, never half of one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ErrorKind;

/// Why the register could not be read or changed. `code()` is stable.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("the legal register could not be read: {0}")]
    Read(String),
    #[error("the legal register could not be written: {0}")]
    Write(String),
    #[error("the legal register is busy (another command holds its lock)")]
    Busy,
    #[error("{0}")]
    Invalid(String),
}

impl RegisterError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RegisterError::Read(_) => ErrorKind::LegalReadFailed,
            RegisterError::Write(_) => ErrorKind::LegalWriteFailed,
            RegisterError::Busy => ErrorKind::LegalBusy,
            RegisterError::Invalid(_) => ErrorKind::LegalInvalid,
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

pub fn legal_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("legal")
}

pub fn cases_dir(data_dir: &Path) -> PathBuf {
    legal_dir(data_dir).join("cases")
}

/// The scanned orders, one file per case (`<id>`, with its content type in `<id>.type`).
pub fn orders_dir(data_dir: &Path) -> PathBuf {
    legal_dir(data_dir).join("orders")
}

fn ensure_dir(dir: &Path) -> Result<(), RegisterError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| RegisterError::Write(format!("{}: {e}", dir.display())))
}

/// The register's lock; released when dropped.
pub struct Lock(#[allow(dead_code)] File);

/// Takes the register's exclusive lock, waiting up to 10 s.
pub fn lock(data_dir: &Path) -> Result<Lock, RegisterError> {
    let dir = legal_dir(data_dir);
    ensure_dir(&dir)?;
    ensure_dir(&cases_dir(data_dir))?;
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(dir.join("lock"))
        .map_err(|e| RegisterError::Write(e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // SAFETY: flock only operates on the descriptor, which `f` owns and keeps open.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(Lock(f));
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(RegisterError::Write(err.to_string()));
        }
        if Instant::now() >= deadline {
            return Err(RegisterError::Busy);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reads a JSON file; `None` when it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, RegisterError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| RegisterError::Read(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RegisterError::Read(format!("{}: {e}", path.display()))),
    }
}

/// Replaces `path` with `value` atomically and durably.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), RegisterError> {
    let w = |e: std::io::Error| RegisterError::Write(format!("{}: {e}", path.display()));
    let dir = path.parent().expect("register files live in a directory");
    ensure_dir(dir)?;
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| RegisterError::Write(format!("{}: {e}", path.display())))?;
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(w)?;
    f.write_all(&bytes).map_err(w)?;
    f.sync_all().map_err(w)?;
    fs::rename(&tmp, path).map_err(w)?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(w)
}
