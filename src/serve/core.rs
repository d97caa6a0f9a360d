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

/// The longest an event waits for its batch to be committed, even under a backlog.
const HOLD_MAX: Duration = Duration::from_secs(1);

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
                    ToWriter::Expire => expire(&writer_shared, &writer_cfg),
                }
            }
            Ok(())
        })
        .map_err(|e| format!("cannot start the writer thread: {e}"))?;

    let mut batch = Batch {
        quarantine: Quarantine::new(&cfg.data_dir),
        frames: HashMap::new(),
        changed_frames: Vec::new(),
        checkpoints: HashMap::new(),
        files: HashMap::new(),
        oldest: None,
        pending: 0,
    };
    for (source, n) in store.frame_counts().map_err(|e| e.to_string())? {
        batch.frames.insert(Arc::from(source.as_str()), n);
    }
    let flush_every = Duration::from_millis(cfg.serve.flush_interval_ms);
    // What waits is committed after the flush interval once the readers have nothing more
    // queued; while they do (a backlog), batches fill up to `batch_events`, but nothing waits
    // longer than HOLD_MAX. Small batches under a backlog would finalise and revive the same
    // late bindings over and over (a source behind the others).
    let due = |oldest: &Option<Instant>, idle: bool| {
        oldest.is_some_and(|t| {
            let waited = t.elapsed();
            waited >= flush_every && (idle || waited >= HOLD_MAX)
        })
    };
    let retention_every = Duration::from_secs(cfg.serve.retention_interval_secs);
    let mut last_retention: Option<Instant> = None;
    let m = &shared.metrics;
    let mut failed: Option<String> = None;
    let send = |prepared, files, oldest| {
        wtx.send(ToWriter::Batch {
            prepared,
            files,
            oldest,
        })
        .map_err(|_| "the store writer stopped".to_string())
    };

    while let Some(msg) = rx.blocking_recv() {
        if failed.is_some() {
            continue; // drain, so senders are not stuck; nothing more is committed
        }
        let result = match msg {
            ToCore::Data(input) => {
                let floor = cfg.retention.floor(chrono::Utc::now().timestamp());
                match batch.add(&mut engine, input, floor, m) {
                    Err(e) => Err(e),
                    Ok(())
                        if batch.pending >= cfg.batch_events
                            || due(&batch.oldest, rx.is_empty()) =>
                    {
                        batch.flush(&mut engine, &store, &cfg, &send)
                    }
                    Ok(()) => Ok(()),
                }
            }
            ToCore::Tick => {
                let r = if due(&batch.oldest, rx.is_empty()) {
                    batch.flush(&mut engine, &store, &cfg, &send)
                } else {
                    Ok(())
                };
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
        if let Err(e) = batch.flush(&mut engine, &store, &cfg, &send) {
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

/// What the next batch will commit besides the engine's changes.
struct Batch {
    quarantine: Quarantine,
    /// Frames committed per source (with this batch), and the sources whose count changed.
    frames: HashMap<Arc<str>, u64>,
    changed_frames: Vec<Arc<str>>,
    /// File checkpoints (meta key → value), the latest per file.
    checkpoints: HashMap<Vec<u8>, Vec<u8>>,
    /// Followed files and the offset the batch commits them to (for the lag metric).
    files: HashMap<Arc<str>, u64>,
    /// When the oldest input of the batch was read.
    oldest: Option<Instant>,
    /// Events and records applied since the last batch.
    pending: usize,
}

type SendBatch<'a> = dyn Fn(Prepared, Vec<(Arc<str>, u64)>, Instant) -> Result<(), String> + 'a;

impl Batch {
    /// Applies a chunk and takes its checkpoint into the batch.
    fn add(
        &mut self,
        engine: &mut Engine,
        input: Input,
        floor: i64,
        m: &super::metrics::Metrics,
    ) -> Result<(), String> {
        self.oldest.get_or_insert(input.read_at);
        self.pending += apply(engine, &input, floor, &mut self.quarantine, m)
            .map_err(|e| format!("cannot write the quarantine: {e}"))?;
        let n = input.chunk.items.len() as u64;
        if n > 0 {
            *self.frames.entry(input.source.clone()).or_insert(0) += n;
            if !self.changed_frames.contains(&input.source) {
                self.changed_frames.push(input.source.clone());
            }
        }
        if let Some((k, v)) = input.checkpoint {
            self.checkpoints.insert(k, v);
        }
        if let Some((path, offset)) = input.file_offset {
            self.files.insert(path, offset);
        }
        Ok(())
    }

    /// Prepares the batch (engine changes, checkpoints, frame counts) and hands it to the
    /// writer.
    fn flush(
        &mut self,
        engine: &mut Engine,
        store: &Store,
        cfg: &Config,
        send: &SendBatch<'_>,
    ) -> Result<(), String> {
        self.pending = 0;
        let Some(since) = self.oldest.take() else {
            return Ok(());
        };
        // Quarantine records are durable before the checkpoint moves past them.
        self.quarantine
            .sync()
            .map_err(|e| format!("cannot write the quarantine: {e}"))?;
        let mut metas: Vec<(Vec<u8>, Vec<u8>)> = self.checkpoints.drain().collect();
        for s in self.changed_frames.drain(..) {
            let n = self.frames.get(&s).copied().unwrap_or(0);
            metas.push((Store::frames_key(&s), n.to_be_bytes().to_vec()));
        }
        let refs: Vec<(&[u8], &[u8])> = metas
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
            .collect();
        let floor = cfg.retention.floor(chrono::Utc::now().timestamp());
        let prepared = store.prepare(engine, &refs, floor);
        send(prepared, self.files.drain().collect(), since)
    }
}

/// Drops the partitions past retention, each drop audited. The audit log is opened only when
/// there is something to drop, so `tdr lookup` (which writes to it) is not locked out while
/// the daemon runs; if it is busy at that moment, the drop waits for the next run.
fn expire(shared: &Shared, cfg: &Config) {
    let m = &shared.metrics;
    let now = chrono::Utc::now().timestamp();
    // What preservation orders hold, read once for both steps: unreadable, nothing is dropped.
    let holds = match crate::legal::holds(&cfg.data_dir, now) {
        Ok(h) => h,
        Err(e) => {
            let e = crate::retention::ExpireError::Holds(e.to_string());
            tracing::error!(code = e.code(), error = %e, "retention failed");
            return;
        }
    };
    let due = match crate::retention::expired_days(&shared.store, cfg, now, &holds) {
        Ok(days) => !days.is_empty(),
        Err(e) => {
            tracing::error!(code = e.code(), error = %e, "retention failed");
            return;
        }
    };
    if !due {
        if let Err(e) = shared.store.prune_reboots(cfg.retention.floor(now)) {
            tracing::error!(code = e.code(), error = %e, "retention failed");
        }
        return;
    }
    let clock: Arc<dyn crate::clock::Clock> = Arc::new(crate::clock::SystemClock);
    let mut audit = match AuditLog::open(&cfg.data_dir, clock) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "retention postponed: the audit log cannot be opened now");
            return;
        }
    };
    match crate::retention::expire(&shared.store, &mut audit, cfg, now, "tdr-serve", &holds) {
        Ok(dropped) => {
            for p in &dropped {
                tracing::info!(
                    partition = %p.name,
                    records = p.records,
                    "retention: dropped an expired partition"
                );
            }
            m.expired_partitions.inc_by(dropped.len() as u64);
            if let Err(e) = audit.checkpoint() {
                tracing::error!(error = %e, "audit checkpoint failed");
            }
        }
        Err(e) => tracing::error!(code = e.code(), error = %e, "retention failed"),
    }
    m.audit_entries.store(audit.head().0, Ordering::Relaxed);
}

/// Applies one chunk; returns how many events and records it added to the batch. Metrics
/// are counted per chunk (a few label lookups per 4096 records, not per record).
fn apply(
    engine: &mut Engine,
    input: &Input,
    floor: i64,
    quarantine: &mut Quarantine,
    m: &super::metrics::Metrics,
) -> std::io::Result<usize> {
    /// Per format: events accepted, duplicate, expired; frames with events, ignored, refused.
    #[derive(Default)]
    struct Counts([u64; 6]);
    let mut pending = 0;
    let mut events = input.chunk.events.iter();
    let mut counts: Vec<(crate::parse::Format, Counts)> = Vec::with_capacity(2);
    for item in &input.chunk.items {
        let c = match counts.iter().position(|(f, _)| *f == item.format) {
            Some(i) => &mut counts[i].1,
            None => {
                counts.push((item.format, Counts::default()));
                &mut counts.last_mut().expect("just pushed").1
            }
        };
        match &item.outcome {
            Outcome::Events(0) => c.0[4] += 1,
            Outcome::Events(n) => {
                // A frame whose events only mark coverage (a DHCPDISCOVER) carries nothing
                // to retain: counted as ignored, applied for its coverage.
                let mut records = false;
                for ev in events.by_ref().take(*n) {
                    records |= ev.is_record();
                    if ev.time() < floor {
                        if ev.is_record() {
                            c.0[2] += 1;
                        }
                        continue;
                    }
                    match engine.apply(ev) {
                        _ if !ev.is_record() => {}
                        Applied::Changed => c.0[0] += 1,
                        Applied::Duplicate => c.0[1] += 1,
                    }
                    pending += 1;
                }
                c.0[if records { 3 } else { 4 }] += 1;
            }
            Outcome::Rejected(r) => {
                c.0[5] += 1;
                m.quarantined
                    .get_or_create(&vec![
                        ("source", input.source.to_string()),
                        ("code", r.code.to_string()),
                    ])
                    .inc();
                pending += 1;
                quarantine.record(&Record {
                    time: fmt_time(chrono::Utc::now().timestamp()),
                    source: input.source.to_string(),
                    file: input.origin.to_string(),
                    fingerprint: input.stream_id.to_string(),
                    offset: item.offset,
                    code: r.code.to_string(),
                    reason: r.reason.clone(),
                    raw: r.raw.clone(),
                })?;
            }
            Outcome::AlreadyQuarantined => c.0[5] += 1,
        }
    }
    for (format, c) in counts {
        for (family, outcome, n) in [
            (&m.events, "accepted", c.0[0]),
            (&m.events, "duplicate", c.0[1]),
            (&m.events, "expired", c.0[2]),
            (&m.frames, "events", c.0[3]),
            (&m.frames, "ignored", c.0[4]),
            (&m.frames, "quarantined", c.0[5]),
        ] {
            if n > 0 {
                family
                    .get_or_create(&vec![
                        ("source", input.source.to_string()),
                        ("format", format.name().to_string()),
                        ("outcome", outcome.to_string()),
                    ])
                    .inc_by(n);
            }
        }
    }
    Ok(pending)
}
