//! `tdr import`: reads files of a given format, applies their events and commits them in
//! batches. Each batch carries the file's checkpoint (its content fingerprint and the offset
//! just after the last frame it covers), so an import interrupted at any point and run again
//! resumes exactly there: every record stored once, none lost.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::mpsc;

use flate2::read::MultiGzDecoder;

use sha2::{Digest, Sha256};

use super::frames::{Chunk, FrameParser, Outcome};
use super::quarantine::{Quarantine, Record};
use crate::clock::Clock;
use crate::config::Config;
use crate::model::fmt_time;
use crate::parse::framing::DEFAULT_MAX_FRAME;
use crate::parse::{Context, Format, SetupError};
use crate::store::engine::{Applied, Engine};
use crate::store::{Prepared, Store, StoreError};

/// How many bytes of a file's head identify it.
const FINGERPRINT_BYTES: usize = 1024;
const READ_CHUNK: usize = 4 << 20;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ImportStats {
    pub files: u64,
    /// Events that added something new to the store.
    pub accepted: u64,
    /// Events whose facts were already stored (duplicates, repeats).
    pub duplicate: u64,
    /// Frames that did not parse (see the quarantine).
    pub quarantined: u64,
    /// Frames that parsed but carry nothing to retain (a DHCPDISCOVER, a comment, a header).
    pub ignored: u64,
    /// Bytes at the end of a file that do not yet form a complete record (a file still being
    /// written): not imported now, picked up by the next import of the file.
    pub held_back_bytes: u64,
    /// Valid events older than the retention period: not stored, by law.
    pub expired: u64,
    /// Bytes skipped because an earlier import already covered them.
    pub already_imported_bytes: u64,
    /// CPU time of the three pipeline threads (reader: framing and parsing; applier: the
    /// binding engine and batch preparation; writer: RocksDB), in milliseconds: where an
    /// import's time goes.
    pub reader_cpu_ms: u64,
    pub applier_cpu_ms: u64,
    pub writer_cpu_ms: u64,
}

/// CPU time used so far by the calling thread, in milliseconds.
fn thread_cpu_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_THREAD_CPUTIME_ID is
    // supported on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

impl ImportStats {
    pub fn add(&mut self, o: &ImportStats) {
        self.files += o.files;
        self.accepted += o.accepted;
        self.duplicate += o.duplicate;
        self.quarantined += o.quarantined;
        self.ignored += o.ignored;
        self.held_back_bytes += o.held_back_bytes;
        self.expired += o.expired;
        self.already_imported_bytes += o.already_imported_bytes;
        self.reader_cpu_ms += o.reader_cpu_ms;
        self.applier_cpu_ms += o.applier_cpu_ms;
        self.writer_cpu_ms += o.writer_cpu_ms;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot write the quarantine: {0}")]
    Quarantine(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the store writer stopped")]
    WriterStopped,
    #[error("{0}")]
    Setup(#[from] SetupError),
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Read { .. } => "ingest.read_failed",
            ImportError::Quarantine(_) => "ingest.quarantine_failed",
            ImportError::Store(e) => e.code(),
            ImportError::WriterStopped => "store.write_failed",
            ImportError::Setup(_) => "ingest.bad_options",
        }
    }
}

pub struct Importer<'a> {
    pub store: &'a mut Store,
    pub cfg: &'a Config,
    pub clock: &'a dyn Clock,
    pub quarantine: Quarantine,
}

impl<'a> Importer<'a> {
    pub fn new(
        store: &'a mut Store,
        cfg: &'a Config,
        clock: &'a dyn Clock,
    ) -> Result<Self, StoreError> {
        store.open_engine()?;
        Ok(Importer {
            store,
            cfg,
            clock,
            quarantine: Quarantine::new(&cfg.data_dir),
        })
    }

    /// Imports one file of the `events` format (or any format that needs no options), the
    /// whole file: an unterminated last record counts as complete.
    pub fn import_file(
        &mut self,
        path: &Path,
        format: Format,
        source: &str,
    ) -> Result<ImportStats, ImportError> {
        let opts = ImportOptions {
            format,
            ctx: Context::new(source, self.clock.now()),
            complete: true,
        };
        self.import(path, &opts)
    }

    /// Imports one file. Plain files are read from their checkpoint on; `.gz` files are
    /// decompressed from the start and the part already imported is skipped.
    pub fn import(
        &mut self,
        path: &Path,
        opts: &ImportOptions,
    ) -> Result<ImportStats, ImportError> {
        let read_err = |e: std::io::Error| ImportError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let format = opts.format;
        // Set up the parser first: a bad option refuses the file before anything is read.
        let mut ctx = opts.ctx.clone();
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if let Some(mtime) = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        {
            // Year inference: no record is later than the file's last write.
            ctx.reference = ctx.reference.min(mtime.as_secs() as i64);
        }
        let mut parser = crate::parse::parser(format, &ctx)?;
        let gz = is_gzip(path).map_err(read_err)?;
        // A compressed file is a rotated one: complete by definition.
        let complete = opts.complete || gz;
        let mut head = Vec::with_capacity(FINGERPRINT_BYTES);
        open_stream(path, gz)
            .map_err(read_err)?
            .take(FINGERPRINT_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(read_err)?;
        let len = if gz { u64::MAX } else { meta.len() };
        let fingerprint = hex::encode(&Sha256::digest(&head)[..16]);
        let ck_key = Store::checkpoint_key(format.name(), fingerprint.as_bytes());
        let start = self
            .store
            .get_meta(&ck_key)?
            .and_then(|v| <[u8; 8]>::try_from(&v[..]).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0)
            .min(len);
        let mut stats = ImportStats {
            files: 1,
            already_imported_bytes: start,
            ..Default::default()
        };
        if !gz && start == len && len > 0 {
            return Ok(stats);
        }
        let source = ctx.source.as_str();
        let skip = self.quarantine.already(source, &fingerprint, start);
        let mut stream = open_stream(path, gz).map_err(read_err)?;
        if format.has_header() && start > 0 {
            // The header line defines the columns of every later line.
            let mut first = Vec::new();
            std::io::BufRead::read_until(
                &mut std::io::BufReader::new((&mut stream).take(DEFAULT_MAX_FRAME as u64)),
                b'\n',
                &mut first,
            )
            .map_err(read_err)?;
            let first = first.strip_suffix(b"\n").unwrap_or(&first);
            let _ = parser.parse(first.strip_suffix(b"\r").unwrap_or(first), &mut Vec::new());
            stream = open_stream(path, gz).map_err(read_err)?;
        }
        skip_to(&mut stream, start).map_err(read_err)?;

        let floor = self.cfg.retention.floor(self.clock.now());
        let file_name = path.display().to_string();
        let batch_events = self.cfg.batch_events;
        // Three threads: the reader frames and parses the next records, this one applies
        // events and prepares each batch, and the writer writes the previous batch to RocksDB.
        // Bounded channels keep memory flat; batches are written in order, each with its
        // checkpoint.
        let (tx, rx) = mpsc::sync_channel::<Result<Chunk, std::io::Error>>(4);
        let (wtx, wrx) = mpsc::sync_channel::<Prepared>(1);
        let mut engine = self.store.take_engine();
        let store: &Store = self.store;
        let quarantine = &mut self.quarantine;
        let clock = self.clock;
        let result = std::thread::scope(|scope| -> Result<ImportStats, ImportError> {
            let applier_cpu0 = thread_cpu_ms();
            let reader = std::thread::Builder::new()
                .name("tdr-reader".into())
                .spawn_scoped(scope, move || {
                    read_frames(
                        stream,
                        start,
                        FrameParser::new(format, parser),
                        complete,
                        tx,
                    );
                    thread_cpu_ms()
                })
                .map_err(read_err)?;
            let writer = std::thread::Builder::new()
                .name("tdr-writer".into())
                .spawn_scoped(scope, move || -> Result<u64, StoreError> {
                    for batch in wrx {
                        store.write(batch)?;
                    }
                    Ok(thread_cpu_ms())
                })
                .map_err(read_err)?;
            let mut pending = 0usize;
            // The checkpoint: just after the last frame that ends a whole record.
            let mut safe = start;
            let applied = (|| -> Result<(), ImportError> {
                for chunk in rx {
                    let chunk = chunk.map_err(read_err)?;
                    let mut events = chunk.events.into_iter();
                    for item in chunk.items {
                        match item.outcome {
                            Outcome::Events(0) => stats.ignored += 1,
                            Outcome::Events(n) => {
                                // Events that only mark coverage (a DHCPDISCOVER) are applied
                                // for it; a frame of nothing else counts as ignored.
                                let mut records = false;
                                for ev in events.by_ref().take(n) {
                                    records |= ev.is_record();
                                    if ev.time() < floor {
                                        if ev.is_record() {
                                            stats.expired += 1;
                                        }
                                        continue;
                                    }
                                    match engine.apply(&ev) {
                                        _ if !ev.is_record() => {}
                                        Applied::Changed => stats.accepted += 1,
                                        Applied::Duplicate => stats.duplicate += 1,
                                    }
                                    pending += 1;
                                }
                                if !records {
                                    stats.ignored += 1;
                                }
                            }
                            Outcome::AlreadyQuarantined => {
                                stats.quarantined += 1;
                                pending += 1;
                            }
                            Outcome::Rejected(rejected) => {
                                stats.quarantined += 1;
                                pending += 1;
                                if !skip.contains(&item.offset) {
                                    quarantine
                                        .record(&Record {
                                            time: fmt_time(clock.now()),
                                            source: source.to_string(),
                                            file: file_name.clone(),
                                            fingerprint: fingerprint.clone(),
                                            offset: item.offset,
                                            code: rejected.code.to_string(),
                                            reason: rejected.reason,
                                            raw: rejected.raw,
                                        })
                                        .map_err(ImportError::Quarantine)?;
                                }
                            }
                        }
                        if let Some(next) = item.safe_next {
                            safe = next;
                            if pending >= batch_events {
                                hand_over(
                                    store,
                                    &mut engine,
                                    quarantine,
                                    &wtx,
                                    &ck_key,
                                    safe,
                                    floor,
                                )?;
                                pending = 0;
                            }
                        }
                    }
                    if let Some(end) = chunk.end {
                        stats.held_back_bytes = end.saturating_sub(safe);
                    }
                }
                hand_over(store, &mut engine, quarantine, &wtx, &ck_key, safe, floor)
            })();
            drop(wtx); // lets the writer finish
            stats.applier_cpu_ms = thread_cpu_ms().saturating_sub(applier_cpu0);
            let written = writer
                .join()
                .unwrap_or_else(|_| Err(StoreError::Write("writer thread panicked".into())));
            stats.reader_cpu_ms = reader.join().unwrap_or(0);
            match (applied, written) {
                (_, Err(e)) => Err(e.into()),
                (Err(e), Ok(_)) => Err(e),
                (Ok(()), Ok(w)) => {
                    stats.writer_cpu_ms = w;
                    Ok(stats)
                }
            }
        });
        // The engine goes back only if every batch it prepared was written; otherwise the
        // next import reloads the state that is really on disk.
        if result.is_ok() {
            self.store.put_engine(engine);
        }
        result
    }
}

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub format: Format,
    /// Source name, time zone, class and format options.
    pub ctx: Context,
    /// The file is complete (rotated, closed): an unterminated last record is a record, not
    /// one still being written.
    pub complete: bool,
}

fn is_gzip(path: &Path) -> std::io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut f = File::open(path)?;
    let n = f.read(&mut magic)?;
    Ok(n == 2 && magic == [0x1f, 0x8b])
}

fn open_stream(path: &Path, gz: bool) -> std::io::Result<Box<dyn Read + Send>> {
    let f = File::open(path)?;
    Ok(if gz {
        Box::new(MultiGzDecoder::new(std::io::BufReader::with_capacity(
            1 << 20,
            f,
        )))
    } else {
        Box::new(f)
    })
}

/// Moves `stream` to byte `n` (seeking is not possible in a decompressed stream).
fn skip_to(stream: &mut Box<dyn Read + Send>, n: u64) -> std::io::Result<()> {
    let copied = std::io::copy(&mut stream.take(n), &mut std::io::sink())?;
    if copied < n {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the file is shorter than its checkpoint",
        ));
    }
    Ok(())
}

/// Prepares the batch covering everything applied so far, with the file's checkpoint at
/// `offset`, and hands it to the writer.
fn hand_over(
    store: &Store,
    engine: &mut Engine,
    quarantine: &mut Quarantine,
    writer: &mpsc::SyncSender<Prepared>,
    ck_key: &[u8],
    offset: u64,
    floor: i64,
) -> Result<(), ImportError> {
    // Quarantine records are durable before the checkpoint moves past them.
    quarantine.sync().map_err(ImportError::Quarantine)?;
    let batch = store.prepare(engine, &[(ck_key, &offset.to_be_bytes())], floor);
    // A closed channel means the writer stopped; its error is reported by the caller.
    writer.send(batch).map_err(|_| ImportError::WriterStopped)
}

/// The reader thread: frames the stream from `start` and parses each frame. At the end of a
/// `complete` file an unterminated last record is parsed too; otherwise it is held back.
fn read_frames(
    mut stream: Box<dyn Read + Send>,
    start: u64,
    mut fp: FrameParser,
    complete: bool,
    tx: mpsc::SyncSender<Result<Chunk, std::io::Error>>,
) {
    // One buffer, zeroed once: `space[..len]` holds the unframed bytes; each read appends up
    // to READ_CHUNK, and the unframed tail moves to the front after framing.
    let mut space: Vec<u8> = vec![0; READ_CHUNK * 2];
    let mut len = 0;
    let mut base = start; // stream offset of space[0]
    let mut chunk = Chunk::new();
    let mut eof = false;
    let mut send = |c: &mut Chunk| tx.send(Ok(std::mem::take(c))).is_ok();
    while !eof {
        if space.len() - len < READ_CHUNK {
            space.resize(len + READ_CHUNK, 0);
        }
        let n = loop {
            match stream.read(&mut space[len..len + READ_CHUNK]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        };
        len += n;
        eof = n == 0;
        let Some(pos) = fp.feed(&space[..len], base, eof && complete, &mut chunk, &mut send) else {
            return; // the applier stopped (an error); nothing more to do
        };
        space.copy_within(pos..len, 0);
        len -= pos;
        base += pos as u64;
    }
    chunk.end = Some(base + len as u64);
    let _ = tx.send(Ok(chunk));
}
