//! The one place events enter the store while `tdr serve` runs. Readers (file followers,
//! syslog listeners) send parsed chunks through one bounded channel; the applier runs them
//! through the binding engine and, every `batch_events` events or `flush_interval`, prepares
//! a batch holding the engine's changes *and* the checkpoints of exactly the input it covers;
//! the writer commits it atomically. A crash at any moment leaves the store at the end of some
//! batch, with every file's checkpoint saying where that batch ended.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::Receiver;

use crate::audit::AuditLog;
use crate::config::Config;
use crate::ingest::frames::{Chunk, Outcome};
use crate::ingest::quarantine::{Quarantine, Record};
use crate::model::fmt_time;
use crate::store::engine::{Applied, Engine};
use crate::store::{Prepared, Store};

use super::Shared;

/// A chunk of parsed input and what committing it means.
pub struct Input {
    pub source: Arc<str>,
    /// Where it came from, for the quarantine: a file path or `tcp 0.0.0.0:514 from …`.
    pub origin: Arc<str>,
    /// Identifies the stream in quarantine records (for files: device and inode).
    pub stream_id: Arc<str>,
    pub chunk: Chunk,
    /// Meta records to commit with the events: a file's checkpoint.
    pub checkpoint: Option<(Vec<u8>, Vec<u8>)>,
    /// A followed file and the offset the checkpoint moves to, for the lag metric.
    pub file_offset: Option<(Arc<str>, u64)>,
    pub read_at: Instant,
}

pub enum ToCore {
    Data(Input),
    /// Sent every flush interval: commit what waits, run retention when it is due.
    Tick,
}

enum ToWriter {
    Batch {
        prepared: Prepared,
        files: Vec<(Arc<str>, u64)>,
        oldest: Instant,
    },
    Expire,
}

/// Runs the applier on this thread and the writer on another until every sender is gone,
/// then commits what is left. Returns the first store error, after which nothing more is
/// committed (the checkpoints on disk still match the data on disk).
pub fn run(
    shared: Arc<Shared>,
    cfg: Config,
    mut engine: Engine,
    mut audit: Option<AuditLog>,
    mut rx: Receiver<ToCore>,
) -> Result<(), String> {
    let store = shared.store.clone();
    let (wtx, wrx) = mpsc::sync_channel::<ToWriter>(1);
    let writer_shared = shared.clone();
    let writer_cfg = cfg.clone();
    let writer = std::thread::Builder::new()
        .name("tdr-writer".into())
        .spawn(move || -> Result<(), String> {
            let m = &writer_shared.metrics;
            for msg in wrx {
                match msg {
                    ToWriter::Batch {
                        prepared,
                        files,
                        oldest,
                    } => {
                        let t = Instant::now();
                        writer_shared
                            .store
                            .write(prepared)
                            .map_err(|e| format!("[{}] {e}", e.code()))?;
                        m.batch_seconds.observe(t.elapsed().as_secs_f64());
                        m.commit_delay_seconds
                            .observe(oldest.elapsed().as_secs_f64());
                        m.batches.inc();
                        for (path, offset) in files {
                            m.file_committed(&path, offset);
                        }
                    }
                    ToWriter::Expire => {
                        let Some(audit) = audit.as_mut() else {
                            tracing::error!(
                                "retention skipped: the audit log is not open (drops are audited)"
                            );
                            continue;
                        };
                        let now = chrono::Utc::now().timestamp();
                        match crate::retention::expire(
                            &writer_shared.store,
                            audit,
                            &writer_cfg,
                            now,
                            "tdr-serve",
                        ) {
                            Ok(dropped) => {
                                for p in &dropped {
                                    tracing::info!(
                                        partition = %p.name,
                                        records = p.records,
                                        "retention: dropped an expired partition"
                                    );
                                }
                                m.expired_partitions.inc_by(dropped.len() as u64);
                                if !dropped.is_empty() {
                                    if let Err(e) = audit.checkpoint() {
                                        tracing::error!(error = %e, "audit checkpoint failed");
                                    }
                                }
                            }
                            Err(e) => {
                                tracing::error!(code = e.code(), error = %e, "retention failed")
                            }
                        }
                        m.audit_entries.store(audit.head().0, Ordering::Relaxed);
                    }
                }
            }
            Ok(())
        })
        .map_err(|e| format!("cannot start the writer thread: {e}"))?;

    let mut quarantine = Quarantine::new(&cfg.data_dir);
    let mut frames: HashMap<Arc<str>, u64> = HashMap::new();
    for (source, n) in store.frame_counts().map_err(|e| e.to_string())? {
        frames.insert(Arc::from(source.as_str()), n);
    }
    let mut changed_frames: Vec<Arc<str>> = Vec::new();
    let mut checkpoints: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    let mut files: HashMap<Arc<str>, u64> = HashMap::new();
    let mut oldest: Option<Instant> = None;
    let mut pending = 0usize;
    let flush_every = Duration::from_millis(cfg.serve.flush_interval_ms);
    let retention_every = Duration::from_secs(cfg.serve.retention_interval_secs);
    let mut last_retention: Option<Instant> = None;
    let m = &shared.metrics;
    let mut failed: Option<String> = None;

    let flush = |engine: &mut Engine,
                 checkpoints: &mut HashMap<Vec<u8>, Vec<u8>>,
                 files: &mut HashMap<Arc<str>, u64>,
                 changed_frames: &mut Vec<Arc<str>>,
                 frames: &HashMap<Arc<str>, u64>,
                 quarantine: &mut Quarantine,
                 oldest: &mut Option<Instant>|
     -> Result<(), String> {
        let Some(since) = oldest.take() else {
            return Ok(());
        };
        // Quarantine records are durable before the checkpoint moves past them.
        quarantine
            .sync()
            .map_err(|e| format!("cannot write the quarantine: {e}"))?;
        let mut metas: Vec<(Vec<u8>, Vec<u8>)> = checkpoints.drain().collect();
        for s in changed_frames.drain(..) {
            let n = frames.get(&s).copied().unwrap_or(0);
            metas.push((Store::frames_key(&s), n.to_be_bytes().to_vec()));
        }
        let refs: Vec<(&[u8], &[u8])> = metas
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
            .collect();
        let floor = cfg.retention.floor(chrono::Utc::now().timestamp());
        let prepared = store.prepare(engine, &refs, floor);
        wtx.send(ToWriter::Batch {
            prepared,
            files: files.drain().collect(),
            oldest: since,
        })
        .map_err(|_| "the store writer stopped".to_string())
    };

    while let Some(msg) = rx.blocking_recv() {
        if failed.is_some() {
            continue; // drain, so senders are not stuck; nothing more is committed
        }
        let result = match msg {
            ToCore::Data(input) => {
                oldest.get_or_insert(input.read_at);
                let floor = cfg.retention.floor(chrono::Utc::now().timestamp());
                let applied = apply(&mut engine, &input, floor, &mut quarantine, m)
                    .map_err(|e| format!("cannot write the quarantine: {e}"));
                let n = input.chunk.items.len() as u64;
                if n > 0 {
                    match frames.get_mut(&input.source) {
                        Some(c) => *c += n,
                        None => {
                            frames.insert(input.source.clone(), n);
                        }
                    }
                    if !changed_frames.contains(&input.source) {
                        changed_frames.push(input.source.clone());
                    }
                }
                if let Some((k, v)) = input.checkpoint {
                    checkpoints.insert(k, v);
                }
                if let Some((path, offset)) = input.file_offset {
                    files.insert(path, offset);
                }
                if let Ok(n) = applied {
                    pending += n;
                }
                if applied.is_err() {
                    applied.map(|_| ())
                } else if pending >= cfg.batch_events
                    || oldest.is_some_and(|t| t.elapsed() >= flush_every)
                {
                    pending = 0;
                    flush(
                        &mut engine,
                        &mut checkpoints,
                        &mut files,
                        &mut changed_frames,
                        &frames,
                        &mut quarantine,
                        &mut oldest,
                    )
                } else {
                    Ok(())
                }
            }
            ToCore::Tick => {
                pending = 0;
                let r = flush(
                    &mut engine,
                    &mut checkpoints,
                    &mut files,
                    &mut changed_frames,
                    &frames,
                    &mut quarantine,
                    &mut oldest,
                );
                if r.is_ok() && last_retention.is_none_or(|t| t.elapsed() >= retention_every) {
                    last_retention = Some(Instant::now());
                    wtx.send(ToWriter::Expire)
                        .map_err(|_| "the store writer stopped".to_string())
                } else {
                    r
                }
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "ingest stopped: nothing more is committed");
            shared.fail(&e);
            failed = Some(e);
        }
    }
    if failed.is_none() {
        if let Err(e) = flush(
            &mut engine,
            &mut checkpoints,
            &mut files,
            &mut changed_frames,
            &frames,
            &mut quarantine,
            &mut oldest,
        ) {
            failed = Some(e);
        }
    }
    drop(wtx);
    let written = writer
        .join()
        .unwrap_or_else(|_| Err("the writer thread panicked".into()));
    match (failed, written) {
        (Some(e), _) | (None, Err(e)) => Err(e),
        (None, Ok(())) => Ok(()),
    }
}

/// Applies one chunk; returns how many events and records it added to the batch.
fn apply(
    engine: &mut Engine,
    input: &Input,
    floor: i64,
    quarantine: &mut Quarantine,
    m: &super::metrics::Metrics,
) -> std::io::Result<usize> {
    let mut pending = 0;
    let mut events = input.chunk.events.iter();
    let source = input.source.to_string();
    let mut counts: HashMap<(&'static str, &'static str), u64> = HashMap::new();
    for item in &input.chunk.items {
        let format = item.format.name();
        match &item.outcome {
            Outcome::Events(0) => *counts.entry((format, "ignored")).or_default() += 1,
            Outcome::Events(n) => {
                *counts.entry((format, "events")).or_default() += 1;
                let (mut acc, mut dup, mut exp) = (0, 0, 0);
                for ev in events.by_ref().take(*n) {
                    if ev.time() < floor {
                        exp += 1;
                        continue;
                    }
                    match engine.apply(ev) {
                        Applied::Changed => acc += 1,
                        Applied::Duplicate => dup += 1,
                    }
                    pending += 1;
                }
                for (what, n) in [("accepted", acc), ("duplicate", dup), ("expired", exp)] {
                    if n > 0 {
                        m.events
                            .get_or_create(&vec![
                                ("source", source.clone()),
                                ("format", format.to_string()),
                                ("outcome", what.to_string()),
                            ])
                            .inc_by(n);
                    }
                }
            }
            Outcome::Rejected(r) => {
                *counts.entry((format, "quarantined")).or_default() += 1;
                m.quarantined
                    .get_or_create(&vec![
                        ("source", source.clone()),
                        ("code", r.code.to_string()),
                    ])
                    .inc();
                pending += 1;
                quarantine.record(&Record {
                    time: fmt_time(chrono::Utc::now().timestamp()),
                    source: source.clone(),
                    file: input.origin.to_string(),
                    fingerprint: input.stream_id.to_string(),
                    offset: item.offset,
                    code: r.code.to_string(),
                    reason: r.reason.clone(),
                    raw: r.raw.clone(),
                })?;
            }
            Outcome::AlreadyQuarantined => {
                *counts.entry((format, "quarantined")).or_default() += 1;
            }
        }
    }
    for ((format, what), n) in counts {
        m.frames
            .get_or_create(&vec![
                ("source", source.clone()),
                ("format", format.to_string()),
                ("outcome", what.to_string()),
            ])
            .inc_by(n);
    }
    Ok(pending)
}
