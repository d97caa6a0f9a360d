//! Segment files `audit/audit-NNNNNN.log`: their names, listing them (numbered 1, 2, 3, …
//! without gaps), the segment being appended to and its rotation when full, finding the chain's
//! head in them, and reading entries back for the auditor's API.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::entry::{check_entry_line, Digest32, ZERO_HASH};
use super::error::{corrupt, AuditError};
use super::files::{read_last_line, AppendFile, LastLine};
use super::AUDIT_DIR;

pub(super) fn segment_name(n: u64) -> String {
    format!("audit-{n:06}.log")
}

/// Numbers of the segment files present, ascending. Other files are ignored.
pub(super) fn list_segments(audit_dir: &Path) -> io::Result<Vec<u64>> {
    let mut numbers = Vec::new();
    for dirent in fs::read_dir(audit_dir)? {
        let name = dirent?.file_name();
        let Some(name) = name.to_str() else { continue };
        let number = name
            .strip_prefix("audit-")
            .and_then(|rest| rest.strip_suffix(".log"))
            .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<u64>().ok());
        if let Some(n) = number.filter(|&n| segment_name(n) == name) {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

/// Segments are numbered 1, 2, 3, … without gaps; returns the first number that is absent.
pub(super) fn first_missing_segment(segments: &[u64]) -> Option<u64> {
    (1..)
        .zip(segments)
        .find(|&(expected, &n)| n != expected)
        .map(|(expected, _)| expected)
}

/// The segment being appended to. A new one is started when the next line would take the current
/// one past `max_bytes`; a line larger than that still goes into a fresh (empty) segment alone.
pub(super) struct SegmentWriter {
    audit_dir: PathBuf,
    max_bytes: u64,
    file: AppendFile,
    number: u64,
}

impl SegmentWriter {
    /// Opens segment `number` in `audit_dir` for appending, creating it if it does not exist.
    pub(super) fn open(
        audit_dir: &Path,
        number: u64,
        max_bytes: u64,
    ) -> Result<SegmentWriter, AuditError> {
        let file = AppendFile::open_or_create(&audit_dir.join(segment_name(number)))
            .map_err(AuditError::WriteFailed)?;
        Ok(SegmentWriter {
            audit_dir: audit_dir.to_path_buf(),
            max_bytes,
            file,
            number,
        })
    }

    pub(super) fn audit_dir(&self) -> &Path {
        &self.audit_dir
    }

    /// The number of the segment being appended to.
    pub(super) fn number(&self) -> u64 {
        self.number
    }

    /// Writes one line (starting the next segment first if this one is full) and fsyncs it.
    pub(super) fn append_line(&mut self, line: &[u8]) -> Result<(), AuditError> {
        self.roll_if_full(line.len() as u64)?;
        self.file.append_line(line).map_err(AuditError::WriteFailed)
    }

    /// Like [`SegmentWriter::append_line`] without the sync; a segment that fills up is synced
    /// before the next one is started, so one final [`SegmentWriter::sync`] covers a whole group.
    pub(super) fn write_line(&mut self, line: &[u8]) -> Result<(), AuditError> {
        if self.is_full_for(line.len() as u64) {
            self.sync()?;
        }
        self.roll_if_full(line.len() as u64)?;
        self.file.write_line(line).map_err(AuditError::WriteFailed)
    }

    /// Makes what was written to the current segment durable.
    pub(super) fn sync(&self) -> Result<(), AuditError> {
        self.file.sync().map_err(AuditError::WriteFailed)
    }

    fn is_full_for(&self, line_len: u64) -> bool {
        let len = self.file.len();
        len > 0 && len.saturating_add(line_len) > self.max_bytes
    }

    /// Starts the next segment when `line_len` more bytes would take the current one past the
    /// limit.
    fn roll_if_full(&mut self, line_len: u64) -> Result<(), AuditError> {
        if !self.is_full_for(line_len) {
            return Ok(());
        }
        let next = self.number + 1;
        let path = self.audit_dir.join(segment_name(next));
        self.file = AppendFile::create_new(&path).map_err(AuditError::WriteFailed)?;
        self.number = next;
        tracing::info!(segment = next, "audit segment started");
        Ok(())
    }
}

/// The head of the chain: the last entry of the last non-empty segment. Only trailing segments
/// may be empty (a crash right after a new segment was created).
pub(super) fn read_head(audit_dir: &Path, segments: &[u64]) -> Result<(u64, Digest32), AuditError> {
    for &n in segments.iter().rev() {
        let name = segment_name(n);
        match read_last_line(&audit_dir.join(&name)).map_err(AuditError::ReadFailed)? {
            LastLine::Empty => continue,
            LastLine::Torn => {
                return Err(corrupt(
                    name,
                    "last line is incomplete (torn write); refusing to append after it",
                ))
            }
            LastLine::Complete(line) => {
                let entry = check_entry_line(&line)
                    .map_err(|fault| corrupt(name, format!("last entry: {}", fault.reason())))?;
                return Ok((entry.seq, entry.hash));
            }
        }
    }
    Ok((0, ZERO_HASH))
}

/// Entries with seq > `after`, oldest first, at most `limit`, as stored (for the auditor's API).
/// Reads segment files only; it neither checks the chain (that is [`verify`](super::verify())) nor takes the lock.
pub fn read_entries(
    data_dir: &Path,
    after: u64,
    limit: usize,
) -> io::Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    for_each_entry(data_dir, after, |v| {
        out.push(v);
        out.len() < limit
    })?;
    Ok(out)
}

/// Hands each entry with seq > `after` to `f`, oldest first, in one pass over the segments
/// (one line in memory at a time), until `f` says stop. As [`read_entries`], no checks, no lock.
pub fn for_each_entry(
    data_dir: &Path,
    after: u64,
    mut f: impl FnMut(serde_json::Value) -> bool,
) -> io::Result<()> {
    let dir = data_dir.join(AUDIT_DIR);
    let segments = match list_segments(&dir) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for n in segments {
        let file = File::open(dir.join(segment_name(n)))?;
        for line in BufReader::new(file).lines() {
            let line = line?;
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue; // a torn tail; verify reports it
            };
            if v["seq"].as_u64().is_some_and(|s| s > after) && !f(v) {
                return Ok(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::test_support::{
        entry, open_err, open_with, segment_path, verify_err, where_, write_log,
    };
    use crate::audit::{verify, AuditOptions};
    use tempfile::TempDir;

    #[test]
    fn segment_rollover_keeps_the_chain() {
        let dir = TempDir::new().unwrap();
        let opts = AuditOptions {
            segment_max_bytes: 1500,
            ..AuditOptions::default()
        };
        write_log(dir.path(), 20, opts.clone());

        let segments = list_segments(&dir.path().join(AUDIT_DIR)).unwrap();
        assert!(segments.len() >= 5, "{segments:?}");
        for &n in &segments {
            assert!(fs::metadata(segment_path(dir.path(), n)).unwrap().len() <= 1500);
        }
        assert_eq!(verify(dir.path()).unwrap().entries, 20);

        // Reopening continues in the last segment (or the next one).
        let mut log = open_with(dir.path(), opts);
        assert_eq!(log.append(entry(21)).unwrap().seq, 21);
        drop(log);
        assert_eq!(verify(dir.path()).unwrap().entries, 21);
    }

    #[test]
    fn append_fails_closed_when_a_new_segment_cannot_be_created() {
        let dir = TempDir::new().unwrap();
        let audit = dir.path().join(AUDIT_DIR);
        let opts = AuditOptions {
            segment_max_bytes: 1,
            ..AuditOptions::default()
        };
        let mut log = open_with(dir.path(), opts);
        log.append(entry(1)).unwrap();
        fs::rename(&audit, dir.path().join("audit.moved")).unwrap();
        fs::write(&audit, b"not a directory").unwrap();

        let err = log.append(entry(2)).unwrap_err();
        assert_eq!(err.code(), "audit.write_failed", "{err}");
        assert_eq!(log.head().0, 1);
    }

    #[test]
    fn missing_segment_in_the_middle_is_caught() {
        let dir = TempDir::new().unwrap();
        // Every entry gets a segment of its own.
        let opts = AuditOptions {
            segment_max_bytes: 1,
            ..AuditOptions::default()
        };
        write_log(dir.path(), 5, opts);
        assert_eq!(
            list_segments(&dir.path().join(AUDIT_DIR)).unwrap(),
            vec![1, 2, 3, 4, 5]
        );
        fs::remove_file(segment_path(dir.path(), 3)).unwrap();

        let err = verify_err(dir.path());
        assert_eq!(
            where_(&err),
            ("audit.segment_missing", "audit-000003.log", 0, Some(3)),
            "{err}"
        );
        let err = open_err(dir.path());
        assert_eq!(err.code(), "audit.corrupt", "{err}");
    }
}
