//! `tdr import`: reads files of a given format, applies their events and commits them in
//! batches. Each batch carries the file's checkpoint (its content fingerprint and the offset
//! just after the last frame it covers), so an import interrupted at any point and run again
//! resumes exactly there: every record stored once, none lost.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc;

use sha2::{Digest, Sha256};

use super::quarantine::{escape, Quarantine, Record};
use crate::clock::Clock;
use crate::config::Config;
use crate::model::{fmt_time, Event};
use crate::parse::framing::{Frame, Lines, DEFAULT_MAX_FRAME};
use crate::parse::{events, Format};
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
    /// Valid events older than the retention period: not stored, by law.
    pub expired: u64,
    /// Bytes skipped because an earlier import already covered them.
    pub already_imported_bytes: u64,
}

impl ImportStats {
    pub fn add(&mut self, o: &ImportStats) {
        self.files += o.files;
        self.accepted += o.accepted;
        self.duplicate += o.duplicate;
        self.quarantined += o.quarantined;
        self.expired += o.expired;
        self.already_imported_bytes += o.already_imported_bytes;
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
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Read { .. } => "ingest.read_failed",
            ImportError::Quarantine(_) => "ingest.quarantine_failed",
            ImportError::Store(e) => e.code(),
            ImportError::WriterStopped => "store.write_failed",
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

    /// Imports one file. `source` names events that carry no source of their own.
    pub fn import_file(
        &mut self,
        path: &Path,
        format: Format,
        source: &str,
    ) -> Result<ImportStats, ImportError> {
        let read_err = |e: std::io::Error| ImportError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut file = File::open(path).map_err(read_err)?;
        let len = file.metadata().map_err(read_err)?.len();
        let mut head = vec![0u8; FINGERPRINT_BYTES.min(len as usize)];
        file.read_exact(&mut head).map_err(read_err)?;
        let fingerprint = hex::encode(&Sha256::digest(&head)[..16]);
        let format_name = format_name(format);
        let ck_key = Store::checkpoint_key(format_name, fingerprint.as_bytes());
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
        if start == len && len > 0 {
            return Ok(stats);
        }
        let skip = self.quarantine.already(source, &fingerprint, start);
        file.seek(SeekFrom::Start(start)).map_err(read_err)?;

        let floor = self.cfg.retention.floor(self.clock.now());
        let file_name = path.display().to_string();
        let batch_events = self.cfg.batch_events;
        // Three threads: the reader frames and parses the next lines, this one applies events
        // and prepares each batch, and the writer writes the previous batch to RocksDB. Bounded
        // channels keep memory flat; batches are written in order, each with its checkpoint.
        let (tx, rx) = mpsc::sync_channel::<Result<Vec<Item>, std::io::Error>>(4);
        let (wtx, wrx) = mpsc::sync_channel::<Prepared>(1);
        let mut engine = self.store.take_engine();
        let store: &Store = self.store;
        let quarantine = &mut self.quarantine;
        let clock = self.clock;
        let result = std::thread::scope(|scope| -> Result<ImportStats, ImportError> {
            scope.spawn(move || read_frames(file, start, format, source, tx));
            let writer = scope.spawn(move || -> Result<(), StoreError> {
                for batch in wrx {
                    store.write(batch)?;
                }
                Ok(())
            });
            let mut pending = 0usize;
            let mut offset = start;
            let applied = (|| -> Result<(), ImportError> {
                for chunk in rx {
                    let chunk = chunk.map_err(read_err)?;
                    for item in chunk {
                        offset = item.next;
                        match item.parsed {
                            Ok(ev) if ev.time() < floor => stats.expired += 1,
                            Ok(ev) => match engine.apply(&ev) {
                                Applied::Changed => stats.accepted += 1,
                                Applied::Duplicate => stats.duplicate += 1,
                            },
                            Err(rejected) => {
                                stats.quarantined += 1;
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
                        pending += 1;
                        if pending >= batch_events {
                            // The checkpoint is the offset just after this frame.
                            hand_over(
                                store,
                                &mut engine,
                                quarantine,
                                &wtx,
                                &ck_key,
                                offset,
                                floor,
                            )?;
                            pending = 0;
                        }
                    }
                }
                hand_over(
                    store,
                    &mut engine,
                    quarantine,
                    &wtx,
                    &ck_key,
                    offset.min(len),
                    floor,
                )
            })();
            drop(wtx); // lets the writer finish
            let written = writer
                .join()
                .unwrap_or_else(|_| Err(StoreError::Write("writer thread panicked".into())));
            match (applied, written) {
                (_, Err(e)) => Err(e.into()),
                (Err(e), Ok(())) => Err(e),
                (Ok(()), Ok(())) => Ok(stats),
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
    let batch = store.prepare(engine, Some((ck_key, &offset.to_be_bytes())), floor);
    // A closed channel means the writer stopped; its error is reported by the caller.
    writer.send(batch).map_err(|_| ImportError::WriterStopped)
}

/// A frame that did not parse, ready for the quarantine.
struct Rejected {
    code: &'static str,
    reason: String,
    raw: String,
}

/// One frame: where it starts, where the next one starts, and what it parsed to.
struct Item {
    offset: u64,
    next: u64,
    parsed: Result<Event, Rejected>,
}

/// Lines per message from the reader to the applier.
const ITEMS_PER_CHUNK: usize = 4096;

/// The reader thread: frames the file from `start` and parses each frame. A complete file may
/// end without a final LF; its last line is a record too.
fn read_frames(
    mut file: File,
    start: u64,
    format: Format,
    source: &str,
    tx: mpsc::SyncSender<Result<Vec<Item>, std::io::Error>>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK * 2);
    let mut base = start; // file offset of buf[0]
    let mut items = Vec::with_capacity(ITEMS_PER_CHUNK);
    let mut eof = false;
    while !eof {
        let old = buf.len();
        buf.resize(old + READ_CHUNK, 0);
        let n = match file.read(&mut buf[old..]) {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        buf.truncate(old + n);
        if n == 0 {
            eof = true;
            if !buf.is_empty() && buf.last() != Some(&b'\n') {
                buf.push(b'\n');
            }
        }
        let mut lines = Lines::new(&buf, DEFAULT_MAX_FRAME);
        while let Some((off, frame)) = lines.next() {
            let parsed = match frame {
                Frame::Line(l) if l.iter().all(u8::is_ascii_whitespace) => continue,
                Frame::Line(l) => match format {
                    Format::Events => events::parse_line(l, source).map_err(|e| Rejected {
                        code: e.code,
                        reason: e.reason,
                        raw: escape(l),
                    }),
                },
                Frame::TooLong { head, len } => Err(Rejected {
                    code: "frame.too_long",
                    reason: format!("line of {len} bytes exceeds the {DEFAULT_MAX_FRAME}-byte cap"),
                    raw: escape(head),
                }),
            };
            items.push(Item {
                offset: base + off as u64,
                next: base + lines.consumed() as u64,
                parsed,
            });
            if items.len() >= ITEMS_PER_CHUNK {
                let full = std::mem::replace(&mut items, Vec::with_capacity(ITEMS_PER_CHUNK));
                if tx.send(Ok(full)).is_err() {
                    return; // the applier stopped (an error); nothing more to do
                }
            }
        }
        let consumed = lines.consumed();
        buf.drain(..consumed);
        base += consumed as u64;
    }
    if !items.is_empty() {
        let _ = tx.send(Ok(items));
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Events => "events",
    }
}
