//! `tdr import`: a backlog of files through the one pipeline. Every file is read by a
//! [`sources::file`](super::sources::file) reader; as many files are read side by side as
//! there are cores (files of different producers at once), while the applier and the writer
//! commit what they parse. Each batch carries the checkpoints of exactly what it holds, so an
//! import interrupted at any point and run again resumes exactly there: every record stored
//! once, none lost.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::pipeline::{self, Counts, Sequence, ToCore};
use super::quarantine::Quarantine;
use super::sources::file::{self, FileError, FileJob};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::ErrorKind;
use crate::parse::{Context, Format, SetupError};
use crate::store::{Store, StoreError};

pub use super::sources::file::FileJob as ImportJob;

/// Chunks queued between the readers and the applier.
const QUEUE: usize = 8;
/// Chunks (of up to 4096 records each) of a source's later file that may wait in the applier
/// while the file before it is applied: what bounds an import's memory.
const SEQUENCE_AHEAD: usize = 64;

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
    /// CPU time of the pipeline's threads (readers: inflating, framing and parsing; applier:
    /// the binding engine and batch preparation; writer: RocksDB), in milliseconds: where an
    /// import's time goes.
    pub reader_cpu_ms: u64,
    pub applier_cpu_ms: u64,
    pub writer_cpu_ms: u64,
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

    fn count(&mut self, c: &Counts) {
        self.accepted += c.accepted;
        self.duplicate += c.duplicate;
        self.quarantined += c.quarantined;
        self.ignored += c.ignored;
        self.expired += c.expired;
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
    #[error("{0}")]
    Ingest(String),
    #[error("{0}")]
    Setup(#[from] SetupError),
}

impl From<pipeline::PipelineError> for ImportError {
    fn from(e: pipeline::PipelineError) -> Self {
        match e {
            pipeline::PipelineError::Store(e) => ImportError::Store(e),
            pipeline::PipelineError::Quarantine(e) => ImportError::Quarantine(e),
            e => ImportError::Ingest(e.to_string()),
        }
    }
}

impl From<FileError> for ImportError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::Read { path, reason } => ImportError::Read { path, reason },
            FileError::Setup(e) => ImportError::Setup(e),
            FileError::Store(e) => ImportError::Store(e),
        }
    }
}

impl ImportError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ImportError::Read { .. } => ErrorKind::IngestReadFailed,
            ImportError::Quarantine(_) => ErrorKind::IngestQuarantineFailed,
            ImportError::Store(e) => e.kind(),
            ImportError::Ingest(_) => ErrorKind::StoreWriteFailed,
            ImportError::Setup(_) => ErrorKind::IngestBadOptions,
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

/// What an import did: the totals and the same per source.
#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    pub total: ImportStats,
    pub by_source: BTreeMap<String, ImportStats>,
}

/// `tdr import` with the daemon stopped: opens the store sealed with its retention policy
/// ([`super::policy::open_store`]) and runs `jobs` through one pipeline. Errors carry their
/// stable code.
pub fn import_offline(
    cfg: &Config,
    clock: std::sync::Arc<dyn Clock>,
    jobs: Vec<FileJob>,
    readers: Option<usize>,
) -> Result<ImportReport, (&'static str, String)> {
    let mut store = super::policy::open_store(cfg, clock.clone())?;
    let mut importer =
        Importer::new(&mut store, cfg, clock.as_ref()).map_err(|e| (e.code(), e.to_string()))?;
    if let Some(n) = readers {
        importer.readers = n.max(1);
    }
    importer
        .import_all(jobs)
        .map_err(|e| (e.code(), e.to_string()))
}

pub struct Importer<'a> {
    pub store: &'a mut Store,
    pub cfg: &'a Config,
    pub clock: &'a dyn Clock,
    /// Files read side by side (default: the cores available).
    pub readers: usize,
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
            readers: std::thread::available_parallelism().map_or(2, |n| n.get()),
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
        let job = FileJob {
            path: path.to_path_buf(),
            format,
            ctx: Context::new(source, self.clock.now()),
            complete: true,
        };
        Ok(self.import_all(vec![job])?.total)
    }

    /// Imports every file of `jobs` into one pipeline: up to `readers` files are read side by
    /// side, and each source's files are applied in the order given. Options are checked for every job before anything is
    /// read. On an error the files' committed parts stay committed (their checkpoints say
    /// so) and the error is returned once the pipeline has stopped.
    pub fn import_all(&mut self, jobs: Vec<FileJob>) -> Result<ImportReport, ImportError> {
        for j in &jobs {
            crate::parse::parser(j.format, &j.ctx)?;
        }
        let mut report = ImportReport::default();
        for j in &jobs {
            report
                .by_source
                .entry(j.ctx.source.clone())
                .or_default()
                .files += 1;
        }
        let engine = self.store.take_engine();
        let store: &Store = self.store;
        let cfg = self.cfg;
        let clock = self.clock;
        let quarantine = Quarantine::new(&cfg.data_dir);
        let (tx, rx) = tokio::sync::mpsc::channel::<ToCore>(QUEUE);
        // The files of one source are applied one after another, in the order given: a
        // producer's records must reach the engine in about the order they were written (a
        // session that spans two days' files would otherwise be cut in two). They are still
        // read side by side: a reader parses ahead into the applier (at most SEQUENCE_AHEAD
        // chunks) while the file before is applied. Largest source first.
        let mut groups: Vec<(u64, Vec<&FileJob>)> = Vec::new();
        for j in &jobs {
            let size = std::fs::metadata(&j.path).map_or(0, |m| m.len());
            match groups
                .iter_mut()
                .find(|(_, g)| g[0].ctx.source == j.ctx.source)
            {
                Some((n, g)) => {
                    *n += size;
                    g.push(j);
                }
                None => groups.push((size, vec![j])),
            }
        }
        groups.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
        let queue: Vec<(Arc<Sequence>, usize, &FileJob)> = groups
            .into_iter()
            .flat_map(|(_, g)| {
                let seq = Sequence::new(SEQUENCE_AHEAD);
                g.into_iter()
                    .enumerate()
                    .map(move |(i, j)| (seq.clone(), i, j))
            })
            .collect();
        let readers = self.readers.clamp(1, queue.len().max(1));
        let next = Mutex::new(queue.into_iter());
        let stop = AtomicBool::new(false);
        let first_error: Mutex<Option<ImportError>> = Mutex::new(None);
        let reads: Mutex<Vec<(String, file::FileRead)>> = Mutex::new(Vec::new());
        let finished =
            std::thread::scope(|scope| {
                for _ in 0..readers {
                    let tx = tx.clone();
                    let (next, stop, first_error, reads, quarantine) =
                        (&next, &stop, &first_error, &reads, &quarantine);
                    let spawned = std::thread::Builder::new()
                        .name("tdr-reader".into())
                        .spawn_scoped(scope, move || loop {
                            let job = next.lock().expect("job queue").next();
                            let Some((seq, k, job)) = job else { break };
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                            match file::read(job, store, quarantine, &tx, stop, Some((&seq, k))) {
                                Ok(r) => reads
                                    .lock()
                                    .expect("reads")
                                    .push((job.ctx.source.clone(), r)),
                                Err(e) => {
                                    stop.store(true, Ordering::Relaxed);
                                    first_error
                                        .lock()
                                        .expect("first error")
                                        .get_or_insert(e.into());
                                    break;
                                }
                            }
                        });
                    if let Err(e) = spawned {
                        stop.store(true, Ordering::Relaxed);
                        first_error.lock().expect("first error").get_or_insert(
                            ImportError::Ingest(format!("cannot start a reader thread: {e}")),
                        );
                    }
                }
                drop(tx);
                let opts = pipeline::Options {
                    flush: None,
                    housekeeping: None,
                    on_failure: None,
                };
                // The readers stop sending once the pipeline is gone (their send fails).
                pipeline::run(store, cfg, clock, None, opts, engine, rx)
            });
        if let Some(e) = first_error.into_inner().expect("first error") {
            // The engine is not put back: the next import reloads what is on disk.
            return Err(e);
        }
        let finished = finished?;
        for (source, c) in &finished.counts {
            report
                .by_source
                .entry(source.to_string())
                .or_default()
                .count(c);
        }
        for (source, r) in reads.into_inner().expect("reads") {
            let s = report.by_source.entry(source).or_default();
            s.already_imported_bytes += r.already_imported_bytes;
            s.held_back_bytes += r.held_back_bytes;
            s.reader_cpu_ms += r.cpu_ms;
        }
        for s in report.by_source.values() {
            report.total.add(s);
        }
        report.total.applier_cpu_ms = finished.applier_cpu_ms;
        report.total.writer_cpu_ms = finished.writer_cpu_ms;
        self.store.put_engine(finished.engine);
        Ok(report)
    }

    /// Imports one file.
    pub fn import(
        &mut self,
        path: &Path,
        opts: &ImportOptions,
    ) -> Result<ImportStats, ImportError> {
        Ok(self
            .import_all(vec![FileJob {
                path: path.to_path_buf(),
                format: opts.format,
                ctx: opts.ctx.clone(),
                complete: opts.complete,
            }])?
            .total)
    }
}

/// What to import and how (one format, options shared by its files).
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub format: Format,
    /// Source name, time zone, class and format options.
    pub ctx: Context,
    /// The file is complete (rotated, closed): an unterminated last record is a record, not
    /// one still being written.
    pub complete: bool,
}

/// The jobs of `tdr import --sources`: every file each `[[file]]` source's glob matches, in
/// name order, with the source's name and stream options.
pub fn configured_jobs(cfg: &Config, now: i64, complete: bool) -> Result<Vec<FileJob>, String> {
    if cfg.files.is_empty() {
        return Err(
            "--sources: the configuration has no [[file]] source (give --config FILE)".into(),
        );
    }
    let mut jobs = Vec::new();
    for f in &cfg.files {
        let paths = glob::glob(&f.path).map_err(|e| format!("[[file]] {}: path: {e}", f.name))?;
        let mut paths: Vec<std::path::PathBuf> = paths.flatten().filter(|p| p.is_file()).collect();
        paths.sort();
        for path in paths {
            jobs.push(FileJob {
                path,
                format: f.stream.format,
                ctx: f.stream.context(&f.name, now),
                complete,
            });
        }
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    /// The one pipeline first reported a quarantine that cannot be written as a store
    /// failure (`store.write_failed`); an import says what failed.
    #[test]
    fn an_unwritable_quarantine_is_reported_as_ingest_quarantine_failed() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        // A file where the quarantine folder should be: no record can be written to it.
        std::fs::write(dir.path().join("quarantine"), b"").unwrap();
        let input = dir.path().join("in.jsonl");
        std::fs::write(&input, b"this is not an event\n").unwrap();
        let clock = FixedClock::new(1_795_168_800);
        let mut store = Store::open(&cfg).unwrap();
        let mut imp = Importer::new(&mut store, &cfg, &clock).unwrap();
        let err = imp.import_file(&input, Format::Events, "t").unwrap_err();
        assert_eq!(err.code(), "ingest.quarantine_failed", "{err}");
    }
}
