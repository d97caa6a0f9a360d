//! The quarantine: every input frame that could not be parsed, with where it came from and
//! why, one JSON line per frame in `<data_dir>/quarantine/<source>.jsonl`. Nothing is dropped
//! silently; ops read it with `tdr quarantine`. Records are fsynced before the batch that moves
//! the source checkpoint past them is committed, and a resumed import skips offsets it already
//! quarantined, so a crash neither loses nor doubles a record here either.
//!
//! The records hold raw input (subscriber ids, addresses): the folder is 0700 and its files
//! 0600 whatever the umask, and [`expire`] drops records older than retention, with the
//! spool's leftover files.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::model::UnixSecs;

/// Held while a record is written and while [`expire`] rewrites the files; counts the
/// rewrites, so a writer holding a file [`expire`] replaced opens the new one.
static REWRITES: Mutex<u64> = Mutex::new(0);

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub time: String,
    pub source: String,
    pub file: String,
    /// Identifies the file's content independently of its name (rotation renames files).
    pub fingerprint: String,
    pub offset: u64,
    pub code: String,
    pub reason: String,
    /// The frame's bytes, printable ASCII as is, everything else as \xNN.
    pub raw: String,
}

pub struct Quarantine {
    dir: PathBuf,
    open: Option<(String, File)>,
    dirty: bool,
    /// The [`REWRITES`] count when `open` was opened.
    generation: u64,
}

/// Opens `path` for appending, created 0600 (and made 0600 if it was not), never through a
/// symlink.
fn private_append(path: &Path) -> std::io::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    if f.metadata()?.permissions().mode() & 0o777 != 0o600 {
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(f)
}

/// Printable ASCII kept, everything else `\xNN`, so a record is one safe line.
pub fn escape(raw: &[u8]) -> String {
    let mut s = String::with_capacity(raw.len());
    for &b in raw {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// What `tdr quarantine list` shows for one source: how many frames, by error code, and the
/// files they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub source: String,
    pub records: u64,
    pub by_code: std::collections::BTreeMap<String, u64>,
    pub files: std::collections::BTreeSet<String>,
    pub first: Option<String>,
    pub last: Option<String>,
}

/// Every quarantine record under `data_dir`, source by source (file name order), each
/// source's records in the order they were written. A torn last line is skipped.
pub fn read_all(data_dir: &Path) -> std::io::Result<Vec<Record>> {
    let dir = data_dir.join("quarantine");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    files.sort();
    let mut out = Vec::new();
    for f in files {
        for line in BufReader::new(File::open(&f)?).lines() {
            if let Ok(r) = serde_json::from_str::<Record>(&line?) {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// Per-source summaries of `records`.
pub fn summarize(records: &[Record]) -> Vec<Summary> {
    let mut by_source: std::collections::BTreeMap<&str, Summary> = Default::default();
    for r in records {
        let s = by_source.entry(&r.source).or_insert_with(|| Summary {
            source: r.source.clone(),
            ..Default::default()
        });
        s.records += 1;
        *s.by_code.entry(r.code.clone()).or_default() += 1;
        s.files.insert(r.file.clone());
        if s.first.as_ref().is_none_or(|f| r.time < *f) {
            s.first = Some(r.time.clone());
        }
        if s.last.as_ref().is_none_or(|l| r.time > *l) {
            s.last = Some(r.time.clone());
        }
    }
    by_source.into_values().collect()
}

impl Quarantine {
    pub fn new(data_dir: &Path) -> Quarantine {
        Quarantine {
            dir: data_dir.join("quarantine"),
            open: None,
            dirty: false,
            generation: 0,
        }
    }

    fn path_of(&self, source: &str) -> PathBuf {
        let safe: String = source
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}.jsonl"))
    }

    /// Offsets of `fingerprint` at or after `from` already quarantined (resuming after a crash).
    pub fn already(&self, source: &str, fingerprint: &str, from: u64) -> HashSet<u64> {
        let Ok(f) = File::open(self.path_of(source)) else {
            return HashSet::new();
        };
        BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str::<Record>(&l).ok())
            .filter(|r| r.fingerprint == fingerprint && r.offset >= from)
            .map(|r| r.offset)
            .collect()
    }

    pub fn record(&mut self, r: &Record) -> std::io::Result<()> {
        let rewrites = REWRITES.lock().unwrap_or_else(|p| p.into_inner());
        if *rewrites != self.generation {
            // The files were rewritten by `expire` (which read what this one had written).
            self.open = None;
            self.dirty = false;
            self.generation = *rewrites;
        }
        if self.open.as_ref().map(|(s, _)| s.as_str()) != Some(r.source.as_str()) {
            self.sync()?;
            crate::fsmode::create_private_dir(&self.dir)?;
            let mut f = private_append(&self.path_of(&r.source))?;
            // A crash mid-write can leave a torn last line; start on a fresh one so the torn
            // bytes cannot swallow the next record.
            let len = f.metadata()?.len();
            if len > 0 {
                use std::io::{Read, Seek, SeekFrom};
                let mut last = [0u8; 1];
                f.seek(SeekFrom::Start(len - 1))?;
                f.read_exact(&mut last)?;
                if last[0] != b'\n' {
                    f.write_all(b"\n")?;
                }
            }
            self.open = Some((r.source.clone(), f));
        }
        let mut line = serde_json::to_vec(r).map_err(std::io::Error::other)?;
        line.push(b'\n');
        if let Some((_, f)) = self.open.as_mut() {
            f.write_all(&line)?;
        }
        self.dirty = true;
        Ok(())
    }

    /// Makes every record so far durable.
    pub fn sync(&mut self) -> std::io::Result<()> {
        if self.dirty {
            if let Some((_, f)) = self.open.as_mut() {
                f.sync_data()?;
            }
            self.dirty = false;
        }
        Ok(())
    }

    /// All records of every source, oldest first per source.
    pub fn list(data_dir: &Path) -> std::io::Result<Vec<Record>> {
        let dir = data_dir.join("quarantine");
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return Ok(out);
        };
        let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            for line in BufReader::new(File::open(&p)?).lines() {
                if let Ok(r) = serde_json::from_str::<Record>(&line?) {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }
}

/// What [`expire`] dropped, for the retention run's audit entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Expired {
    /// Quarantine records older than the cutoff.
    pub quarantine_records: u64,
    /// Files left in the spool (read or not) last written before the cutoff.
    pub spool_files: u64,
}

/// Drops what ingest keeps outside the store once it is older than `cutoff` (the oldest
/// instant retention still keeps): quarantine records whose time is before it (each source's
/// file rewritten without them, atomically) and spool files (in the spool and its format
/// folders) last modified before it. A record whose time does not parse is kept (and so
/// shown). Called by the daemon's retention run, which audits the counts.
pub fn expire(data_dir: &Path, spool: Option<&Path>, cutoff: UnixSecs) -> std::io::Result<Expired> {
    let mut out = Expired::default();
    let dir = data_dir.join("quarantine");
    {
        let mut rewrites = REWRITES.lock().unwrap_or_else(|p| p.into_inner());
        let mut changed = false;
        let entries = match std::fs::read_dir(&dir) {
            Ok(rd) => rd.flatten().map(|e| e.path()).collect::<Vec<_>>(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        for path in entries {
            if path.extension().is_none_or(|x| x != "jsonl") {
                continue;
            }
            let text = std::fs::read(&path)?;
            let mut kept = Vec::with_capacity(text.len());
            let mut dropped = 0u64;
            for line in text.split_inclusive(|&b| b == b'\n') {
                let old = serde_json::from_slice::<Record>(line)
                    .ok()
                    .and_then(|r| crate::model::parse_time(&r.time).ok())
                    .is_some_and(|t| t < cutoff);
                if old {
                    dropped += 1;
                } else {
                    kept.extend_from_slice(line);
                }
            }
            if dropped == 0 {
                continue;
            }
            let tmp = path.with_extension("jsonl.tmp");
            let _ = std::fs::remove_file(&tmp);
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            f.write_all(&kept)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            out.quarantine_records += dropped;
            changed = true;
        }
        if changed {
            File::open(&dir)?.sync_all()?;
            *rewrites += 1;
        }
    }
    if let Some(spool) = spool {
        out.spool_files = expire_spool(spool, cutoff, 0)?;
    }
    Ok(out)
}

/// Removes files (and symlinks, never their targets) under `dir` last modified before
/// `cutoff`: the spool's top and its format folders.
fn expire_spool(dir: &Path, cutoff: UnixSecs, depth: u32) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut n = 0;
    for e in rd.flatten() {
        let md = std::fs::symlink_metadata(e.path())?;
        if md.is_dir() {
            if depth == 0 {
                n += expire_spool(&e.path(), cutoff, 1)?;
            }
        } else if md.mtime() < cutoff {
            std::fs::remove_file(e.path())?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_one_safe_line() {
        assert_eq!(escape(b"ok \"x\"\n\xff\\"), "ok \"x\"\\x0a\\xff\\x5c");
    }

    #[test]
    fn records_are_listed_and_found_again_for_resume() {
        let d = tempfile::tempdir().unwrap();
        let mut q = Quarantine::new(d.path());
        for off in [10, 20, 30] {
            q.record(&Record {
                time: "2026-11-21T00:00:00Z".into(),
                source: "radius/1".into(),
                file: "f".into(),
                fingerprint: "abc".into(),
                offset: off,
                code: "parse.events.json".into(),
                reason: "r".into(),
                raw: "x".into(),
            })
            .unwrap();
        }
        q.sync().unwrap();
        assert_eq!(Quarantine::list(d.path()).unwrap().len(), 3);
        assert_eq!(q.already("radius/1", "abc", 20), HashSet::from([20, 30]));
        assert!(q.already("radius/1", "other", 0).is_empty());
        assert!(d.path().join("quarantine/radius_1.jsonl").exists());
    }
}
