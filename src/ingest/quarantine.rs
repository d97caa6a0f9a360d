//! The quarantine: every input frame that could not be parsed, with where it came from and
//! why, one JSON line per frame in `<data_dir>/quarantine/<source>.jsonl`. Nothing is dropped
//! silently; ops read it with `tdr quarantine`. Records are fsynced before the batch that moves
//! the source checkpoint past them is committed, and a resumed import skips offsets it already
//! quarantined, so a crash neither loses nor doubles a record here either.
//!
//! The records hold raw input (subscriber ids, addresses), so the frame's bytes and the reason
//! (a parser's reason can quote input) are sealed with the quarantine's data key (`quarantine`
//! in the key store, [`crate::keyring`]), bound to the record's source and position, and kept
//! hex-encoded in the line's `sealed` field; what resuming and expiry need (source, file,
//! fingerprint, offset, time, code) stays clear. A sealed part that does not open is read back
//! as an unreadable record, never as garbage; lines of the version before (plain `reason` and
//! `raw`) still read. The folder is 0700 and its files 0600 whatever the umask, and [`expire`]
//! drops records older than retention, with the spool's leftover files.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::keyring::{DataKey, KeyStore};
use crate::model::UnixSecs;

/// The quarantine's data key in the key store.
pub const KEY_NAME: &str = "quarantine";

/// Held while a record is written and while [`expire`] rewrites the files; counts the
/// rewrites, so a writer holding a file [`expire`] replaced opens the new one.
static REWRITES: Mutex<u64> = Mutex::new(0);

use serde::{Deserialize, Serialize};

/// One quarantined frame, in clear (as written, and as read back with the key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Read back only: the sealed reason and bytes did not open, and why (`key.missing`,
    /// `key.wrong`, `key.undecryptable`); `reason` then says so and `raw` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

/// A record as its line holds it: the personal part sealed.
#[derive(Serialize, Deserialize)]
struct Line {
    time: String,
    source: String,
    file: String,
    fingerprint: String,
    offset: u64,
    code: String,
    /// Hex of the sealed [`Secret`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<String>,
    /// Plain, in lines of the version before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
}

/// The sealed part of a line.
#[derive(Serialize, Deserialize)]
struct Secret {
    reason: String,
    raw: String,
}

/// What a sealed part is bound to: the record's source and position.
fn aad(source: &str, fingerprint: &str, offset: u64) -> Vec<u8> {
    [
        b"tdr quarantine v1\0".as_slice(),
        source.as_bytes(),
        b"\0",
        fingerprint.as_bytes(),
        b"\0",
        &offset.to_be_bytes(),
    ]
    .concat()
}

/// The clear part of a line: all that resuming and expiry read.
#[derive(Deserialize)]
struct Clear {
    time: String,
    fingerprint: String,
    offset: u64,
}

/// Opens the sealed parts of lines, with the key read from the key store on the first sealed
/// line (none is needed for lines of the version before).
struct Opener<'a> {
    data_dir: &'a Path,
    key: Option<Result<Arc<DataKey>, &'static str>>,
}

impl Opener<'_> {
    fn record(&mut self, line: Line) -> Record {
        let mut r = Record {
            time: line.time,
            source: line.source,
            file: line.file,
            fingerprint: line.fingerprint,
            offset: line.offset,
            code: line.code,
            reason: line.reason.unwrap_or_default(),
            raw: line.raw.unwrap_or_default(),
            unreadable: None,
        };
        let Some(sealed) = line.sealed else {
            return r;
        };
        let data_dir = self.data_dir;
        let key = self.key.get_or_insert_with(|| {
            match KeyStore::open(data_dir, false).and_then(|ks| ks.require(KEY_NAME)) {
                Ok(k) => Ok(k),
                Err(e) => {
                    tracing::warn!(code = e.code(), error = %e, "the quarantine key cannot be read");
                    Err(e.code())
                }
            }
        });
        let opened = match key {
            Ok(k) => hex::decode(sealed)
                .ok()
                .and_then(|s| k.open(&aad(&r.source, &r.fingerprint, r.offset), &s))
                .and_then(|p| serde_json::from_slice::<Secret>(&p).ok())
                .ok_or("key.undecryptable"),
            Err(code) => Err(*code),
        };
        match opened {
            Ok(secret) => {
                r.reason = secret.reason;
                r.raw = secret.raw;
            }
            Err(code) => {
                r.reason = format!("(sealed; it does not open with the quarantine key: {code})");
                r.unreadable = Some(code.to_string());
            }
        }
        r
    }
}

pub struct Quarantine {
    dir: PathBuf,
    data_dir: PathBuf,
    /// The quarantine key, read (or made) on the first record.
    key: Option<Arc<DataKey>>,
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
/// source's records in the order they were written, opened with the quarantine key (a record
/// that does not open is marked [`Record::unreadable`]). A torn last line is skipped.
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
    let mut opener = Opener {
        data_dir,
        key: None,
    };
    let mut out = Vec::new();
    for f in files {
        for line in BufReader::new(File::open(&f)?).lines() {
            if let Ok(l) = serde_json::from_str::<Line>(&line?) {
                out.push(opener.record(l));
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
    /// The quarantine of `data_dir`. Its key is read from the key store (made, with the
    /// master key, when missing) on the first [`Quarantine::record`]: resuming
    /// ([`Quarantine::already`]) needs none.
    pub fn new(data_dir: &Path) -> Quarantine {
        Quarantine {
            dir: data_dir.join("quarantine"),
            data_dir: data_dir.to_path_buf(),
            key: None,
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
            .filter_map(|l| serde_json::from_str::<Clear>(&l).ok())
            .filter(|r| r.fingerprint == fingerprint && r.offset >= from)
            .map(|r| r.offset)
            .collect()
    }

    /// Appends `r`, its reason and raw bytes sealed (not yet synced: [`Quarantine::sync`]).
    pub fn record(&mut self, r: &Record) -> std::io::Result<()> {
        let key = match &self.key {
            Some(k) => k.clone(),
            None => {
                let k = KeyStore::open(&self.data_dir, true)
                    .and_then(|ks| ks.get_or_create(KEY_NAME))
                    .map_err(|e| std::io::Error::other(format!("[{}] {e}", e.code())))?;
                self.key = Some(k.clone());
                k
            }
        };
        let secret = Secret {
            reason: r.reason.clone(),
            raw: r.raw.clone(),
        };
        let plain = serde_json::to_vec(&secret).map_err(std::io::Error::other)?;
        let sealed = key.seal(&aad(&r.source, &r.fingerprint, r.offset), &plain);
        let line = Line {
            time: r.time.clone(),
            source: r.source.clone(),
            file: r.file.clone(),
            fingerprint: r.fingerprint.clone(),
            offset: r.offset,
            code: r.code.clone(),
            sealed: Some(hex::encode(sealed)),
            reason: None,
            raw: None,
        };
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
        let mut line = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
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

    /// All records of every source, oldest first per source (as [`read_all`]).
    pub fn list(data_dir: &Path) -> std::io::Result<Vec<Record>> {
        read_all(data_dir)
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
                let old = serde_json::from_slice::<Clear>(line)
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
                unreadable: None,
            })
            .unwrap();
        }
        q.sync().unwrap();
        assert_eq!(Quarantine::list(d.path()).unwrap().len(), 3);
        assert_eq!(q.already("radius/1", "abc", 20), HashSet::from([20, 30]));
        assert!(q.already("radius/1", "other", 0).is_empty());
        assert!(d.path().join("quarantine/radius_1.jsonl").exists());
    }

    const SECRETS: [&str; 4] = [
        "erik.lindqvist@bredband.example",
        "198.51.100.77",
        "+46701234567",
        "lindqvist",
    ];

    fn secret(offset: u64) -> Record {
        Record {
            time: "2026-11-21T10:00:00Z".into(),
            source: "bng1-radius".into(),
            file: "/var/log/radius/detail-20261121".into(),
            fingerprint: "fp1".into(),
            offset,
            code: "parse.events.bad_field".into(),
            reason: "invalid type: string \"erik.lindqvist@bredband.example\", expected u64".into(),
            raw: escape(
                b"User-Name = \"erik.lindqvist@bredband.example\"\n\
                  Framed-IP-Address = 198.51.100.77\nCalling-Station-Id = \"+46701234567\"",
            ),
            unreadable: None,
        }
    }

    fn on_disk(dir: &Path) -> String {
        let mut all = String::new();
        for e in std::fs::read_dir(dir.join("quarantine")).unwrap().flatten() {
            all.push_str(&std::fs::read_to_string(e.path()).unwrap());
        }
        all
    }

    #[test]
    fn the_raw_line_and_reason_are_sealed_on_disk_and_open_for_readers() {
        let d = tempfile::tempdir().unwrap();
        let mut q = Quarantine::new(d.path());
        q.record(&secret(10)).unwrap();
        q.record(&secret(20)).unwrap();
        q.sync().unwrap();
        let disk = on_disk(d.path());
        for s in SECRETS {
            assert!(!disk.contains(s), "{s} in {disk}");
        }
        let line: serde_json::Value = serde_json::from_str(disk.lines().next().unwrap()).unwrap();
        assert_eq!(line["offset"], 10);
        assert_eq!(line["fingerprint"], "fp1");
        assert!(line.get("raw").is_none() && line.get("reason").is_none());
        // Read back whole; resume and the summary as before.
        let all = read_all(d.path()).unwrap();
        assert_eq!(all, vec![secret(10), secret(20)]);
        assert_eq!(Quarantine::list(d.path()).unwrap(), all);
        assert_eq!(q.already("bng1-radius", "fp1", 15), HashSet::from([20]));
        assert_eq!(summarize(&all)[0].records, 2);

        // A line moved to another position does not open: marked, never garbage.
        let path = d.path().join("quarantine/bng1-radius.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("\"offset\":10", "\"offset\":11", 1)).unwrap();
        let all = read_all(d.path()).unwrap();
        assert_eq!(all[0].unreadable.as_deref(), Some("key.undecryptable"));
        assert_eq!((all[0].raw.as_str(), all[0].offset), ("", 11));
        assert!(all[0].reason.contains("does not open"), "{}", all[0].reason);
        assert_eq!(all[1], secret(20));

        // Copied to another appliance: no such key there, or its key does not unwrap.
        let e = tempfile::tempdir().unwrap();
        KeyStore::open(e.path(), true).unwrap();
        std::fs::create_dir(e.path().join("quarantine")).unwrap();
        std::fs::copy(&path, e.path().join("quarantine/bng1-radius.jsonl")).unwrap();
        let all = read_all(e.path()).unwrap();
        assert!(all
            .iter()
            .all(|r| r.unreadable.as_deref() == Some("key.missing")));
        assert!(all.iter().all(|r| r.raw.is_empty()));
        std::fs::copy(
            d.path().join("keystore/quarantine.key"),
            e.path().join("keystore/quarantine.key"),
        )
        .unwrap();
        let all = read_all(e.path()).unwrap();
        assert!(all
            .iter()
            .all(|r| r.unreadable.as_deref() == Some("key.wrong")));
    }

    #[test]
    fn a_plain_line_of_the_version_before_still_reads_resumes_and_expires() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("quarantine");
        std::fs::create_dir(&dir).unwrap();
        let old = |offset: u64, time: &str| {
            format!(
                "{{\"time\":\"{time}\",\"source\":\"edge\",\"file\":\"f\",\"fingerprint\":\"fp\",\
                 \"offset\":{offset},\"code\":\"parse.events.json\",\"reason\":\"not JSON\",\
                 \"raw\":\"subscriber 4711 at 192.0.2.20\"}}\n"
            )
        };
        std::fs::write(
            dir.join("edge.jsonl"),
            old(1, "2026-05-01T00:00:00Z") + &old(2, "2026-11-01T00:00:00Z"),
        )
        .unwrap();
        // A new line after them, sealed.
        let mut q = Quarantine::new(d.path());
        q.record(&Record {
            source: "edge".into(),
            fingerprint: "fp".into(),
            ..secret(3)
        })
        .unwrap();
        q.sync().unwrap();
        let all = read_all(d.path()).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].raw, "subscriber 4711 at 192.0.2.20");
        assert_eq!(all[0].reason, "not JSON");
        assert_eq!(all[0].unreadable, None);
        assert_eq!(all[2].raw, secret(3).raw);
        assert_eq!(q.already("edge", "fp", 0), HashSet::from([1, 2, 3]));
        let cutoff = crate::model::parse_time("2026-06-01T00:00:00Z").unwrap();
        assert_eq!(
            expire(d.path(), None, cutoff).unwrap().quarantine_records,
            1
        );
        let left: Vec<u64> = read_all(d.path())
            .unwrap()
            .iter()
            .map(|r| r.offset)
            .collect();
        assert_eq!(left, [2, 3]);
        // The sealed line expires too, by its clear time.
        let later = crate::model::parse_time("2026-12-01T00:00:00Z").unwrap();
        assert_eq!(expire(d.path(), None, later).unwrap().quarantine_records, 2);
        assert!(read_all(d.path()).unwrap().is_empty());
    }
}
