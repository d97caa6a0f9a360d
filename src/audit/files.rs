//! Durable files of the audit directory: append-only files written one whole line per `write`,
//! private directories made durable with fsyncs, reading a file's last line from its end, and
//! the exclusive writer lock.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::error::AuditError;

const WRITER_LOCK_FILE: &str = "writer.lock";

/// A file opened with O_APPEND that is written one whole line per `write` call, and that
/// refuses to write once the path no longer names it (moved, deleted or replaced), since
/// entries written to an unlinked file would be lost without an error.
pub(super) struct AppendFile {
    path: PathBuf,
    file: File,
    len: u64,
    dev: u64,
    ino: u64,
}

impl AppendFile {
    pub(super) fn open_or_create(path: &Path) -> io::Result<AppendFile> {
        match OpenOptions::new().append(true).open(path) {
            Ok(file) => Self::from_file(path, file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::create_new(path),
            Err(e) => Err(e),
        }
    }

    /// Creates the file (never an existing one) and makes its directory entry durable.
    pub(super) fn create_new(path: &Path) -> io::Result<AppendFile> {
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        fsync_parent_dir(path)?;
        Self::from_file(path, file)
    }

    fn from_file(path: &Path, file: File) -> io::Result<AppendFile> {
        let meta = file.metadata()?;
        Ok(AppendFile {
            path: path.to_path_buf(),
            file,
            len: meta.len(),
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Bytes in the file (as opened, plus what was written since).
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// `sync_data` of what was written so far.
    pub(super) fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// One `write` of the whole line, then `sync_data`.
    pub(super) fn append_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.write_line(line)?;
        self.sync()
    }

    /// One `write` of the whole line, not yet synced.
    pub(super) fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.ensure_still_linked()?;
        let written = self.file.write(line)?;
        if written != line.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short write ({written} of {} bytes)", line.len()),
            ));
        }
        self.len += written as u64;
        Ok(())
    }

    fn ensure_still_linked(&self) -> io::Result<()> {
        let meta = fs::symlink_metadata(&self.path)?;
        if meta.dev() == self.dev && meta.ino() == self.ino {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "{} was moved or replaced while open",
                self.path.display()
            )))
        }
    }
}

/// Creates `dir` (mode 0700, whatever the umask) if it does not exist and makes the new entry
/// durable; an existing one that group or others may enter is narrowed to 0700.
pub(super) fn ensure_private_dir(dir: &Path) -> Result<(), AuditError> {
    let private = || fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            if meta.permissions().mode() & 0o077 != 0 {
                private().map_err(AuditError::WriteFailed)?;
                tracing::info!(dir = %dir.display(), "audit directory narrowed to mode 0700");
            }
            return Ok(());
        }
        Ok(_) => {
            return Err(AuditError::WriteFailed(io::Error::other(format!(
                "{} exists and is not a directory",
                dir.display()
            ))))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(AuditError::WriteFailed(e)),
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .and_then(|()| private())
        .and_then(|()| fsync_dir(dir))
        .and_then(|()| fsync_parent_dir(dir))
        .map_err(AuditError::WriteFailed)
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub(super) fn fsync_parent_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => fsync_dir(parent),
        _ => fsync_dir(Path::new(".")),
    }
}

pub(super) enum LastLine {
    Empty,
    /// The file does not end with a newline.
    Torn,
    /// The last line, without its newline.
    Complete(Vec<u8>),
}

/// Reads the last line of a file from its end, in chunks.
pub(super) fn read_last_line(path: &Path) -> io::Result<LastLine> {
    const CHUNK: u64 = 8192;
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(LastLine::Empty);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        return Ok(LastLine::Torn);
    }
    // Collect the bytes between the previous newline (or the start) and the final newline.
    let mut line = Vec::new();
    let mut end = len - 1;
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; (end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        let newline = chunk.iter().rposition(|&b| b == b'\n');
        if let Some(i) = newline {
            chunk.drain(..=i);
        }
        chunk.extend_from_slice(&line);
        line = chunk;
        if newline.is_some() {
            break;
        }
        end = start;
    }
    Ok(LastLine::Complete(line))
}

/// Takes the exclusive writer lock, polling for up to `wait_ms` while another writer holds it.
/// The wait is measured on the monotonic clock: it is a timeout, not a time that is recorded.
pub(super) fn lock_writer(audit_dir: &Path, wait_ms: u64) -> Result<File, AuditError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(wait_ms);
    loop {
        match try_lock_writer(audit_dir) {
            Err(AuditError::Locked) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            other => return other,
        }
    }
}

/// Takes the exclusive, non-blocking writer lock; it is released when the file is closed.
fn try_lock_writer(audit_dir: &Path) -> Result<File, AuditError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(audit_dir.join(WRITER_LOCK_FILE))
        .map_err(AuditError::WriteFailed)?;
    // SAFETY: flock only operates on the descriptor, which `file` owns and keeps open.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(file);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Err(AuditError::Locked)
    } else {
        Err(AuditError::WriteFailed(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::test_support::{entry, open, segment_path, T0};
    use crate::audit::{AuditLog, AuditOptions};
    use crate::clock::FixedClock;
    use std::sync::Arc;
    use tempfile::TempDir;

    #[test]
    fn second_writer_is_refused_while_the_first_is_open() {
        let dir = TempDir::new().unwrap();
        let first = open(dir.path());
        let no_wait = AuditOptions {
            lock_wait_ms: 0,
            ..AuditOptions::default()
        };
        let err =
            AuditLog::open_with_options(dir.path(), Arc::new(FixedClock::new(T0)), no_wait.clone())
                .unwrap_err();
        assert_eq!(err.code(), "audit.locked", "{err}");
        // A writer that waits gets the log once the first lets go.
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(first);
        });
        let waited = AuditOptions {
            lock_wait_ms: 5_000,
            ..AuditOptions::default()
        };
        drop(
            AuditLog::open_with_options(dir.path(), Arc::new(FixedClock::new(T0)), waited).unwrap(),
        );
        releaser.join().unwrap();
        drop(
            AuditLog::open_with_options(dir.path(), Arc::new(FixedClock::new(T0)), no_wait)
                .unwrap(),
        );
    }

    #[test]
    fn append_fails_closed_when_the_segment_file_is_replaced() {
        let dir = TempDir::new().unwrap();
        let path = segment_path(dir.path(), 1);
        let mut log = open(dir.path());
        log.append(entry(1)).unwrap();
        fs::rename(&path, dir.path().join("moved.log")).unwrap();
        fs::write(&path, b"").unwrap();

        let err = log.append(entry(2)).unwrap_err();
        assert_eq!(err.code(), "audit.write_failed", "{err}");
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            0,
            "nothing written to the impostor"
        );
    }
}
