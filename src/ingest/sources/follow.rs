//! Following files: every file matching a source's glob is read as it grows, across rotation,
//! with its checkpoint committed in the same batch as its events.
//!
//! A file is known by its device and inode, and by a fingerprint of its first bytes (up to
//! 1 KiB, and never past what was read), so:
//! - **rename + create**: the renamed file keeps its inode and its checkpoint (it is read to
//!   its end if the glob still matches it, and finished when it stops growing otherwise); the
//!   new file is a new inode, read from 0.
//! - **copytruncate**: the copy is a new inode whose first bytes match the original's
//!   fingerprint, so it is read from where the original was; the truncated original (size
//!   below the checkpoint, or different first bytes) is read again from 0.
//! - **a rotated `.gz`**: decompressed, matched by fingerprint to the file it was made from,
//!   and read from where that file was (usually its end: nothing to do).
//! - **a reused inode**: its first bytes no longer match, so it is a new file.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant};

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc::Sender;

use crate::config::Stream;
use crate::ingest::frames::{Chunk, FrameParser, Outcome};
use crate::store::meta;

use crate::ingest::pipeline::{Input, ToCore};
use crate::ingest::Shared;

use super::{gunzip, is_gzip};

const FP_BYTES: usize = 1024;
/// A new compressed file is read once it has not changed for this long (a compressor may
/// still be writing it).
const GZ_SETTLE: Duration = Duration::from_secs(2);
/// Bytes read from one file before the others get their turn.
const READ_SLICE: usize = 4 << 20;

/// One glob, one format.
#[derive(Clone)]
pub struct Spec {
    pub source: Arc<str>,
    pub pattern: String,
    pub stream: Stream,
    /// Whether a symlink matched by the glob is read (its target). False for the spool, where
    /// anyone who may drop a file could otherwise make tdr read any file it can: a symlink
    /// there is refused, counted in `tdr_spool_refused_total{reason="symlink"}`, never read.
    pub follow_links: bool,
}

/// A file checkpoint as stored: how far the file is committed and what its first bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Checkpoint {
    offset: u64,
    fp_len: u16,
    fp: [u8; 16],
    /// A compressed file read to its end: never read again.
    done: bool,
}

impl Checkpoint {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(27);
        v.extend_from_slice(&self.offset.to_be_bytes());
        v.extend_from_slice(&self.fp_len.to_be_bytes());
        v.extend_from_slice(&self.fp);
        v.push(u8::from(self.done));
        v
    }

    fn decode(v: &[u8]) -> Option<Checkpoint> {
        if v.len() != 27 {
            return None;
        }
        Some(Checkpoint {
            offset: u64::from_be_bytes(v[..8].try_into().ok()?),
            fp_len: u16::from_be_bytes(v[8..10].try_into().ok()?),
            fp: v[10..26].try_into().ok()?,
            done: v[26] == 1,
        })
    }

    /// The checkpoint at `offset` of a file starting with `head`: the fingerprint covers the
    /// first bytes up to FP_BYTES, never past the offset.
    fn of(head: &[u8], offset: u64, done: bool) -> Checkpoint {
        let n = (offset as usize).min(FP_BYTES).min(head.len());
        Checkpoint {
            offset,
            fp_len: n as u16,
            fp: fingerprint(&head[..n]),
            done,
        }
    }

    /// Whether a file starting with `head` is the file this checkpoint describes.
    fn matches(&self, head: &[u8]) -> bool {
        let n = self.fp_len as usize;
        head.len() >= n && fingerprint(&head[..n]) == self.fp
    }
}

fn fingerprint(bytes: &[u8]) -> [u8; 16] {
    let d = Sha256::digest(bytes);
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

fn ck_key(source: &str, dev: u64, ino: u64) -> Vec<u8> {
    meta::file_checkpoint_key(source, dev, ino)
}

/// Checkpoints of content no longer at their inode (a truncated file): kept for the copy
/// that rotation made of it. 'F' ‖ source ‖ 0 ‖ 0xff ‖ fingerprint.
fn archive_key(source: &str, fp: &[u8; 16]) -> Vec<u8> {
    meta::file_archive_key(source, fp)
}

enum Reader {
    Plain(File),
    Gz(Box<MultiGzDecoder<std::io::BufReader<File>>>),
}

struct Tracked {
    spec: usize,
    label: Arc<str>,
    stream_id: Arc<str>,
    key: Vec<u8>,
    reader: Reader,
    fp: FrameParser,
    /// Unframed bytes; `base` is the file offset of `buf[0]`.
    buf: Vec<u8>,
    base: u64,
    /// The last offset sent with a checkpoint.
    safe: u64,
    /// The file's first bytes (up to FP_BYTES).
    head: Vec<u8>,
    /// Offsets already in the quarantine (from before a restart).
    skip: HashSet<u64>,
    done: bool,
    size: u64,
    mtime: i64,
    /// The last write to the nanosecond, to read files in the order they were written (files
    /// rotated within one second included).
    mtime_ns: i128,
    /// Not matched by the glob since this instant (renamed away or deleted).
    gone_since: Option<Instant>,
    last_growth: Instant,
}

impl Tracked {
    fn pos(&self) -> u64 {
        self.base + self.buf.len() as u64
    }
}

pub struct Follower {
    specs: Vec<Spec>,
    shared: Arc<Shared>,
    tx: Sender<ToCore>,
    tracked: HashMap<(usize, u64, u64), Tracked>,
    /// Content read to its end or truncated away in the last hour, with how far it was read:
    /// a rotated copy of it (a `.gz`, a copytruncate copy) starts there even before the
    /// checkpoint is committed.
    known: Vec<Known>,
    poll: Duration,
    /// Entries refused (symlinks in the spool), counted once each.
    refused: HashSet<PathBuf>,
}

struct Known {
    spec: usize,
    head: Vec<u8>,
    offset: u64,
    at: Instant,
}

impl Follower {
    pub fn new(specs: Vec<Spec>, shared: Arc<Shared>, tx: Sender<ToCore>, poll: Duration) -> Self {
        Follower {
            specs,
            shared,
            tx,
            tracked: HashMap::new(),
            known: Vec::new(),
            poll,
            refused: HashSet::new(),
        }
    }

    /// Follows the files until shutdown. `wake` gets a message when a watched folder changes.
    pub fn run(mut self, wake: std_mpsc::Receiver<()>) {
        while !self.stopping() {
            let busy = match self.round() {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "file follower: a read failed; retrying");
                    false
                }
            };
            if !busy {
                match wake.recv_timeout(self.poll) {
                    // No watcher (notifications unavailable): poll.
                    // (or shutting down: the watchers are dropped first)
                    Err(std_mpsc::RecvTimeoutError::Disconnected) if !self.stopping() => {
                        std::thread::sleep(self.poll)
                    }
                    _ => while wake.try_recv().is_ok() {},
                }
            }
        }
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    /// One scan and one read pass. True when something was read (more may be waiting).
    fn round(&mut self) -> std::io::Result<bool> {
        let mut present: HashMap<(usize, u64, u64), (PathBuf, std::fs::Metadata)> = HashMap::new();
        for (i, spec) in self.specs.iter().enumerate() {
            let Ok(paths) = glob::glob(&spec.pattern) else {
                continue;
            };
            for p in paths.flatten() {
                let md = if spec.follow_links {
                    std::fs::metadata(&p)
                } else {
                    std::fs::symlink_metadata(&p)
                };
                match md {
                    Ok(md) if md.is_file() => {
                        present.insert((i, md.dev(), md.ino()), (p, md));
                    }
                    Ok(md) if md.file_type().is_symlink() && self.refused.insert(p.clone()) => {
                        tracing::warn!(file = %p.display(), "a symlink in the spool: refused, not read");
                        self.shared
                            .metrics
                            .spool_refused
                            .get_or_create(&vec![("reason", "symlink".to_string())])
                            .inc();
                    }
                    _ => {}
                }
            }
        }
        // New files first: a copy made by copytruncate must find the original's checkpoint
        // before the truncated original starts over.
        let mut new: Vec<_> = present
            .iter()
            .filter(|(k, _)| !self.tracked.contains_key(k))
            .map(|(k, v)| (*k, v.0.clone(), v.1.clone()))
            .collect();
        new.sort_by(|a, b| a.1.cmp(&b.1));
        // Files with their own checkpoint first, then the others (which may be copies of them).
        self.known
            .retain(|k| k.at.elapsed() < Duration::from_secs(3600));
        for own_only in [true, false] {
            for ((i, dev, ino), path, md) in &new {
                if self.tracked.contains_key(&(*i, *dev, *ino)) {
                    continue;
                }
                match self.open(*i, *dev, *ino, path, md, own_only) {
                    Ok(Some(t)) => {
                        self.tracked.insert((*i, *dev, *ino), t);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(file = %path.display(), error = %e, "cannot open a file")
                    }
                }
            }
        }
        let mut busy = false;
        // Oldest first (by last write): after a pause (a restart, a backlog of rotated files)
        // records are read in about the order they were written, so the engine's reorder
        // window holds. A file with more than a slice left ends the round: newer files wait
        // until the older ones are read.
        let mut keys: Vec<_> = self
            .tracked
            .iter()
            .map(|(k, t)| (t.mtime_ns, t.label.clone(), *k))
            .collect();
        keys.sort();
        let keys: Vec<_> = keys.into_iter().map(|(_, _, k)| k).collect();
        for k in keys {
            if self.stopping() {
                return Ok(false);
            }
            let seen = present
                .get(&k)
                .map(|(p, md)| (md.len(), md.mtime(), mtime_ns(md), p));
            let grace = (self.poll * 2).max(Duration::from_secs(2));
            let Some(t) = self.tracked.get_mut(&k) else {
                continue;
            };
            match seen {
                Some((size, mtime, mtime_ns, path)) => {
                    let name = path.display().to_string();
                    if *t.label != *name {
                        // Renamed (rotation): metrics and the quarantine use its name now.
                        self.shared.metrics.file_gone(&t.label);
                        t.label = Arc::from(name.as_str());
                    }
                    t.gone_since = None;
                    t.mtime = mtime;
                    t.mtime_ns = mtime_ns;
                    if size != t.size {
                        t.last_growth = Instant::now();
                    }
                    t.size = size;
                }
                None => {
                    t.gone_since.get_or_insert_with(Instant::now);
                }
            }
            if t.done {
                if seen.is_none() {
                    self.shared.metrics.file_gone(&t.label);
                    self.tracked.remove(&k);
                }
                continue;
            }
            let plain = matches!(t.reader, Reader::Plain(_));
            match self.replaced(k) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(file = %self.tracked[&k].label, error = %e, "cannot check a file");
                    continue;
                }
            }
            let t = self.tracked.get_mut(&k).expect("present");
            // A file no longer matched by the glob and no longer growing is finished: its
            // unterminated last record, if any, is a record.
            let finish = matches!(t.reader, Reader::Gz(_))
                || t.gone_since.is_some_and(|g| g.elapsed() >= grace)
                    && t.last_growth.elapsed() >= grace;
            let label = t.label.clone();
            let (size, safe) = (t.size, t.safe);
            match self.read(k, finish) {
                Ok(got) => {
                    busy |= got > 0;
                    if got >= READ_SLICE {
                        break;
                    }
                }
                Err(e) if plain => {
                    tracing::warn!(file = %label, error = %e, "a read failed; retrying");
                }
                Err(e) => {
                    // A compressed file that does not decompress (it was complete: it had
                    // stopped changing before it was opened) is not read further until the
                    // next start; what it held is missing, and said so.
                    tracing::error!(file = %label, error = %e, "a compressed file is corrupt: skipped");
                    if let Some(t) = self.tracked.get_mut(&k) {
                        t.done = true;
                    }
                }
            }
            self.shared
                .metrics
                .file_seen(&label, &self.specs[k.0].source, size, safe);
            let t = self.tracked.get(&k).expect("present");
            if t.done && t.gone_since.is_some() {
                self.shared.metrics.file_gone(&label);
                if let Some(t) = self.tracked.remove(&k) {
                    self.known.push(Known {
                        spec: k.0,
                        head: t.head,
                        offset: t.safe,
                        at: Instant::now(),
                    });
                }
            }
        }
        Ok(busy)
    }

    /// Checks whether a followed plain file was truncated or its content replaced; if so,
    /// keeps its old checkpoint for the copy rotation made and starts it over. True when it
    /// was started over (it is read on the next round).
    fn replaced(&mut self, k: (usize, u64, u64)) -> std::io::Result<bool> {
        use std::os::unix::fs::FileExt;
        let t = self.tracked.get_mut(&k).expect("present");
        let truncated;
        if let Reader::Plain(f) = &t.reader {
            // The size now, not at the scan: the file may have grown since.
            let mut shrunk = f.metadata()?.len() < t.pos();
            if !shrunk && !t.head.is_empty() {
                let mut now = vec![0u8; t.head.len()];
                let mut n = 0;
                while n < now.len() {
                    match f.read_at(&mut now[n..], n as u64) {
                        Ok(0) => break,
                        Ok(k) => n += k,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                shrunk = n < t.head.len() || now != t.head;
            }
            truncated = shrunk;
        } else {
            return Ok(false);
        }
        if !truncated {
            return Ok(false);
        }
        tracing::info!(file = %t.label, "file truncated or replaced: reading it from the start");
        let source = self.specs[k.0].source.clone();
        let old = Checkpoint::of(&t.head, t.safe, false);
        self.known.push(Known {
            spec: k.0,
            head: t.head.clone(),
            offset: t.safe,
            at: Instant::now(),
        });
        let input = Input {
            source: source.clone(),
            origin: t.label.clone(),
            stream_id: t.stream_id.clone(),
            chunk: Chunk::new(),
            checkpoint: Some((archive_key(&source, &old.fp), old.encode())),
            file_offset: None,
            read_at: Instant::now(),
            place: None,
            peer: None,
            on_commit: None,
        };
        let spec = &self.specs[k.0];
        t.fp = FrameParser::new(
            spec.stream.format,
            crate::parse::parser(
                spec.stream.format,
                &spec.stream.context(&spec.source, t.mtime),
            )
            .map_err(std::io::Error::other)?,
        );
        t.buf.clear();
        t.base = 0;
        t.safe = 0;
        t.head.clear();
        t.skip.clear();
        // The new content gets a new stream id, so quarantine records of the old one are not
        // taken for its own.
        t.stream_id = Arc::from(format!("{}:{}:{}", k.1, k.2, self.shared.clock.now()).as_str());
        if let Reader::Plain(f) = &mut t.reader {
            f.seek(SeekFrom::Start(0))?;
        }
        if self.tx.blocking_send(ToCore::Data(input)).is_err() {
            self.shared.stop.store(true, Ordering::Relaxed);
        }
        Ok(true)
    }

    /// Opens a file seen for the first time and finds where to start.
    fn open(
        &mut self,
        i: usize,
        dev: u64,
        ino: u64,
        path: &Path,
        md: &std::fs::Metadata,
        own_only: bool,
    ) -> std::io::Result<Option<Tracked>> {
        let spec = &self.specs[i];
        let mut f = if spec.follow_links {
            File::open(path)?
        } else {
            // A symlink put in place of the file since the scan is refused too.
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)?
        };
        let gz = is_gzip(&mut f)?;
        let mut head = Vec::with_capacity(FP_BYTES);
        if gz {
            // A clone shares the file position: put it back for the reader below.
            MultiGzDecoder::new(std::io::BufReader::new(f.try_clone()?))
                .take(FP_BYTES as u64)
                .read_to_end(&mut head)?;
            f.seek(SeekFrom::Start(0))?;
        } else {
            (&mut f).take(FP_BYTES as u64).read_to_end(&mut head)?;
            f.seek(SeekFrom::Start(0))?;
        }
        let key = ck_key(&spec.source, dev, ino);
        let store = &self.shared.store;
        let own = store
            .get_meta(&key)
            .map_err(std::io::Error::other)?
            .and_then(|v| Checkpoint::decode(&v))
            .filter(|c| c.matches(&head));
        if own.is_none() && !gz {
            // A file whose first bytes are a beginning of another file's could be a copy
            // still being written (copytruncate): wait until it is more than that. An empty
            // file has nothing to read yet anyway.
            let partial = |other: &[u8]| other.len() > head.len() && other.starts_with(&head);
            if head.is_empty()
                || self
                    .tracked
                    .values()
                    .any(|t| t.spec == i && partial(&t.head))
                || self.known.iter().any(|k| k.spec == i && partial(&k.head))
            {
                return Ok(None);
            }
        }
        if own.is_none()
            && gz
            && md
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_none_or(|age| age < GZ_SETTLE)
        {
            // Still being compressed, perhaps: read it once it has stopped changing.
            return Ok(None);
        }
        let (mut start, done) = match own {
            Some(c) => (c.offset, c.done),
            None if own_only => return Ok(None),
            None => {
                // Another inode with the same first bytes: this file is a copy of it (a
                // rotation), read from where that one was. While that one is still being
                // read, this one waits: both would read the same records.
                let same = |other: &[u8], offset: u64| {
                    let n = (offset as usize).min(FP_BYTES).min(other.len());
                    n > 0 && head.len() >= n && head[..n] == other[..n]
                };
                if self
                    .tracked
                    .values()
                    .any(|t| t.spec == i && !t.done && same(&t.head, t.safe))
                {
                    return Ok(None);
                }
                let mut best = 0u64;
                for k in &self.known {
                    if k.spec == i && same(&k.head, k.offset) {
                        best = best.max(k.offset);
                    }
                }
                let prefix = meta::file_checkpoint_prefix(&spec.source);
                for (_, v) in store.meta_scan(&prefix).map_err(std::io::Error::other)? {
                    if let Some(c) = Checkpoint::decode(&v) {
                        if c.fp_len > 0 && c.matches(&head) {
                            best = best.max(c.offset);
                        }
                    }
                }
                (best, false)
            }
        };
        if !gz {
            start = start.min(md.len());
        }
        let mut parser = crate::parse::parser(
            spec.stream.format,
            &spec.stream.context(&spec.source, md.mtime()),
        )
        .map_err(std::io::Error::other)?;
        if spec.stream.format.has_header() && start > 0 {
            // The header line defines the columns of every later line.
            if let Some(end) = head.iter().position(|&b| b == b'\n') {
                let line = &head[..end];
                let _ = parser.parse(line.strip_suffix(b"\r").unwrap_or(line), &mut Vec::new());
            }
        }
        if spec.stream.format.replays_prefix() && start > 0 && !done {
            // The templates defined before the checkpoint (IPFIX), read through the same
            // open file (a clone shares its offset: back to 0 after).
            let mut again = f.try_clone()?;
            again.seek(SeekFrom::Start(0))?;
            let prefix: Box<dyn Read> = if gz {
                Box::new(gunzip(again))
            } else {
                Box::new(again)
            };
            crate::ingest::frames::replay(spec.stream.format, &mut *parser, prefix.take(start))?;
            f.seek(SeekFrom::Start(0))?;
        }
        let stream_id: Arc<str> = Arc::from(format!("{dev}:{ino}").as_str());
        let label: Arc<str> = Arc::from(path.display().to_string().as_str());
        let skip = if done {
            HashSet::new()
        } else {
            crate::ingest::quarantine::Quarantine::new(&self.shared.data_dir).already(
                &spec.source,
                &stream_id,
                start,
            )
        };
        let reader = if gz {
            let mut d = Box::new(gunzip(f));
            if !done {
                let copied = std::io::copy(&mut (&mut *d).take(start), &mut std::io::sink())?;
                start = copied;
            }
            Reader::Gz(d)
        } else {
            f.seek(SeekFrom::Start(start))?;
            Reader::Plain(f)
        };
        if start > 0 {
            tracing::info!(file = %label, offset = start, "resuming a file at its checkpoint");
        }
        Ok(Some(Tracked {
            spec: i,
            label,
            stream_id,
            key,
            reader,
            fp: FrameParser::new(spec.stream.format, parser),
            buf: Vec::new(),
            base: start,
            safe: start,
            head,
            skip,
            done,
            size: md.len(),
            mtime: md.mtime(),
            mtime_ns: mtime_ns(md),
            gone_since: None,
            last_growth: Instant::now(),
        }))
    }

    /// Reads what a file has beyond its position (up to one slice), frames and parses it and
    /// sends the chunks with their checkpoints. `finish`: the file is complete (a compressed
    /// file, or one no longer written): read to its end and parse an unterminated last record.
    /// Returns how many bytes were read.
    fn read(&mut self, k: (usize, u64, u64), finish: bool) -> std::io::Result<usize> {
        let t = self.tracked.get_mut(&k).expect("present");
        let spec = &self.specs[k.0];
        let mut got = 0usize;
        let mut eof = false;
        t.buf.reserve(READ_SLICE);
        while got < READ_SLICE {
            let len = t.buf.len();
            let room = (READ_SLICE - got).min(1 << 20);
            t.buf.resize(len + room, 0);
            let n = match &mut t.reader {
                Reader::Plain(f) => f.read(&mut t.buf[len..]),
                Reader::Gz(d) => d.read(&mut t.buf[len..]),
            };
            let n = match n {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => 0,
                Err(e) => {
                    t.buf.truncate(len);
                    return Err(e);
                }
            };
            t.buf.truncate(len + n);
            got += n;
            if n == 0 {
                eof = true;
                break;
            }
        }
        // Keep the first bytes (up to FP_BYTES) for the fingerprint, as the file grows.
        if t.head.len() < FP_BYTES {
            let want = FP_BYTES.min(t.pos() as usize);
            if want > t.head.len() {
                if t.base == 0 {
                    t.head = t.buf[..want].to_vec();
                } else if let Reader::Plain(f) = &t.reader {
                    use std::os::unix::fs::FileExt;
                    let mut h = vec![0u8; want];
                    if f.read_exact_at(&mut h, 0).is_ok() {
                        t.head = h;
                    }
                }
            }
        }
        if got == 0 && !(eof && finish) {
            return Ok(0);
        }
        // Year-less times are placed against the file's last write.
        t.fp.parser.set_reference(t.mtime);
        let read_at = Instant::now();
        let source = spec.source.clone();
        let final_pass = eof && finish;
        let mut chunk = Chunk::new();
        let tx = &self.tx;
        let stop = &self.shared.stop;
        let mut safe = t.safe;
        let mut failed = false;
        let (label, stream_id, key) = (t.label.clone(), t.stream_id.clone(), t.key.clone());
        let head = t.head.clone();
        let skip = &t.skip;
        let send = |c: &mut Chunk, safe: &mut u64, done: bool| -> bool {
            for item in &mut c.items {
                if let Outcome::Rejected(_) = item.outcome {
                    if skip.contains(&item.offset) {
                        item.outcome = Outcome::AlreadyQuarantined;
                    }
                }
            }
            if let Some(s) = c.items.iter().rev().find_map(|i| i.safe_next) {
                *safe = s;
            }
            let ck = Checkpoint::of(&head, *safe, done);
            let input = Input {
                source: source.clone(),
                origin: label.clone(),
                stream_id: stream_id.clone(),
                chunk: std::mem::take(c),
                checkpoint: Some((key.clone(), ck.encode())),
                file_offset: Some((label.clone(), *safe)),
                read_at,
                place: None,
                peer: None,
                on_commit: None,
            };
            if stop.load(Ordering::Relaxed) {
                // Shutting down: what was read and not sent is read again at the next start.
                return false;
            }
            tx.blocking_send(ToCore::Data(input)).is_ok()
        };
        let consumed = {
            let mut full = |c: &mut Chunk| {
                let ok = send(c, &mut safe, false);
                failed |= !ok;
                ok
            };
            t.fp.feed(&t.buf, t.base, final_pass, &mut chunk, &mut full)
        };
        let Some(consumed) = consumed else {
            return Ok(0);
        };
        if failed {
            return Ok(0);
        }
        let gz = matches!(t.reader, Reader::Gz(_));
        let done = final_pass && gz;
        if (!chunk.items.is_empty() || done || safe != t.safe) && !send(&mut chunk, &mut safe, done)
        {
            return Ok(0);
        }
        t.safe = safe;
        t.buf.drain(..consumed);
        t.base += consumed as u64;
        if gz {
            // The size of a compressed file says nothing of its content: lag is not shown.
            t.size = t.pos();
        }
        t.done = final_pass;
        tracing::debug!(file = %t.label, got, final_pass, offset = t.base, "read");
        Ok(got)
    }
}

fn mtime_ns(md: &std::fs::Metadata) -> i128 {
    i128::from(md.mtime()) * 1_000_000_000 + i128::from(md.mtime_nsec())
}

/// The folder to watch for a glob: its longest leading part without wildcards.
pub fn watch_root(pattern: &str) -> PathBuf {
    let mut root = PathBuf::new();
    for comp in Path::new(pattern).components() {
        let s = comp.as_os_str().to_string_lossy();
        if s.contains(['*', '?', '[', '{']) {
            break;
        }
        root.push(comp);
    }
    if root == Path::new(pattern) {
        root.pop();
    }
    root
}
