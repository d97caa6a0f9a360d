//! The one path events take into the store, for `tdr serve` and `tdr import` alike.
//!
//! Readers (file followers, syslog listeners, the importer's file readers) frame and parse
//! their input on their own threads and send [`Input`] chunks through one bounded channel.
//! The applier (the thread that calls [`run`]) runs them through the binding engine and,
//! every `batch_events` events (or, in the daemon, once input has waited `flush_interval`),
//! prepares a batch holding the engine's changes *and* the checkpoints of exactly the input it
//! covers; the writer thread commits it atomically while the applier goes on. A crash at any
//! moment leaves the store at the end of some batch, with every file's checkpoint saying where
//! that batch ended.

use std::collections::{HashMap, VecDeque};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::Receiver;

use crate::clock::Clock;
use crate::config::Config;
use crate::ingest::frames::{Chunk, Outcome};
use crate::ingest::quarantine::{Quarantine, Record};
use crate::model::fmt_time;
use crate::parse::Format;
use crate::store::engine::{Applied, Engine};
use crate::store::{Prepared, Store};
use crate::telemetry::Metrics;

/// The longest an event waits for its batch to be committed, even under a backlog (daemon).
const HOLD_MAX: Duration = Duration::from_secs(1);

/// A chunk of parsed input and what committing it means.
pub struct Input {
    pub source: Arc<str>,
    /// Where it came from, for the quarantine: a file path or `tcp 0.0.0.0:514 from …`.
    pub origin: Arc<str>,
    /// Identifies the stream in quarantine records (followed files: device and inode;
    /// imported files: a fingerprint of their first bytes).
    pub stream_id: Arc<str>,
    pub chunk: Chunk,
    /// Meta records to commit with the events: a file's checkpoint.
    pub checkpoint: Option<(Vec<u8>, Vec<u8>)>,
    /// A followed file and the offset the checkpoint moves to, for the lag metric.
    pub file_offset: Option<(Arc<str>, u64)>,
    pub read_at: Instant,
    /// Where the chunk stands in a [`Sequence`] (files of one source read side by side by
    /// an import, applied in order); `None` for the daemon's sources.
    pub place: Option<Place>,
    /// The network sender of every event of the chunk (a syslog peer), kept with the
    /// bindings it made as evidence of their origin; `None` for files and imports.
    pub peer: Option<std::net::IpAddr>,
    /// Called on the writer thread once the batch holding this chunk is committed (the
    /// RADIUS server's Accounting-Response: a NAS is answered only for what is on disk).
    /// Never called when the commit fails.
    pub on_commit: Option<OnCommit>,
}

/// What a source is told when its chunk is committed (see [`Input::on_commit`]).
pub type OnCommit = Box<dyn FnOnce() + Send>;

/// The files of one source, read side by side by an import's readers but applied in the
/// order given: a producer's records must reach the engine in about the order they were
/// written. The reader of a later file parses ahead; its chunks wait in the applier until
/// the files before it are applied, at most `limit` chunks of them (bounded memory), after
/// which that reader waits.
pub struct Sequence {
    state: Mutex<SeqState>,
    cv: Condvar,
    limit: usize,
}

struct SeqState {
    /// The file being applied.
    head: usize,
    /// Chunks of later files waiting in the applier.
    held: usize,
}

/// A chunk's file in its sequence; `last` marks a file's final (possibly empty) input.
pub struct Place {
    pub seq: Arc<Sequence>,
    pub file: usize,
    pub last: bool,
    /// Counted against the sequence's limit (sent while its file was not the head).
    pub held: bool,
}

impl Sequence {
    pub fn new(limit: usize) -> Arc<Sequence> {
        Arc::new(Sequence {
            state: Mutex::new(SeqState { head: 0, held: 0 }),
            cv: Condvar::new(),
            limit: limit.max(1),
        })
    }

    /// Called by the reader of file `file` before it sends a chunk: while `file` is not
    /// the head and `limit` chunks already wait, waits (or gives up when `stop` is set).
    /// Returns the chunk's [`Place`], or `None` when stopped.
    pub fn admit(
        self: &Arc<Self>,
        file: usize,
        last: bool,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Option<Place> {
        let mut st = self.state.lock().expect("sequence lock");
        while st.head != file && st.held >= self.limit {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            st = self
                .cv
                .wait_timeout(st, Duration::from_millis(100))
                .expect("sequence lock")
                .0;
        }
        let held = st.head != file;
        if held {
            st.held += 1;
        }
        Some(Place {
            seq: self.clone(),
            file,
            last,
            held,
        })
    }

    fn head(&self) -> usize {
        self.state.lock().expect("sequence lock").head
    }

    fn advance(&self) -> usize {
        let mut st = self.state.lock().expect("sequence lock");
        st.head += 1;
        self.cv.notify_all();
        st.head
    }

    fn release(&self) {
        let mut st = self.state.lock().expect("sequence lock");
        st.held = st.held.saturating_sub(1);
        self.cv.notify_all();
    }
}

/// Puts inputs of sequences in their order: returns what can be applied now, in order, and
/// holds the chunks of files whose turn has not come.
#[derive(Default)]
struct Orderer {
    held: HashMap<usize, std::collections::BTreeMap<usize, VecDeque<Input>>>,
}

impl Orderer {
    fn order(&mut self, input: Input, out: &mut Vec<Input>) {
        let Some(place) = &input.place else {
            out.push(input);
            return;
        };
        let seq = place.seq.clone();
        let key = Arc::as_ptr(&seq) as usize;
        if place.file != seq.head() {
            let file = place.file;
            self.held
                .entry(key)
                .or_default()
                .entry(file)
                .or_default()
                .push_back(input);
            return;
        }
        let mut last = place.last;
        out.push(input);
        while last {
            let head = seq.advance();
            last = false;
            let Some(files) = self.held.get_mut(&key) else {
                break;
            };
            let Some(queue) = files.remove(&head) else {
                break;
            };
            for i in queue {
                if let Some(p) = &i.place {
                    last |= p.last;
                    if p.held {
                        seq.release();
                    }
                }
                out.push(i);
            }
        }
    }
}

// Ticks are rare and chunks are big anyway: boxing each chunk would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum ToCore {
    Data(Input),
    /// Sent every flush interval by the daemon: commit what waits, run retention when due.
    Tick,
}

/// What the applier counted, per source: the figures `tdr import` prints and the daemon's
/// counters (`tdr_events_total`, `tdr_frames_total`) show.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Events that added something new to the store.
    pub accepted: u64,
    /// Events whose facts were already stored (duplicates, repeats).
    pub duplicate: u64,
    /// Valid events older than the retention period: not stored, by law.
    pub expired: u64,
    /// Frames that yielded events with something to retain.
    pub frames_with_events: u64,
    /// Frames that parsed but carry nothing to retain (a DHCPDISCOVER, a comment, a header).
    pub ignored: u64,
    /// Frames that did not parse (see the quarantine).
    pub quarantined: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.accepted += o.accepted;
        self.duplicate += o.duplicate;
        self.expired += o.expired;
        self.frames_with_events += o.frames_with_events;
        self.ignored += o.ignored;
        self.quarantined += o.quarantined;
    }
}

/// Work the daemon runs on the writer thread (see [`Options::housekeeping`]).
pub type Hook = Box<dyn Fn() + Send + Sync>;
/// Told why ingest stopped (see [`Options::on_failure`]).
pub type OnFailure = Box<dyn Fn(&str) + Send + Sync>;

/// How the applier commits.
pub struct Options {
    /// `Some(flush_interval)` in the daemon: input that waited this long is committed once
    /// the readers are idle (and nothing waits longer than a second under a backlog). `None`
    /// for an import: batches are cut by size only, and the rest committed at the end.
    pub flush: Option<Duration>,
    /// Run on the writer thread at each tick once this interval has passed (the daemon's
    /// retention: partition drops are writes too).
    pub housekeeping: Option<(Duration, Hook)>,
    /// Told the error when ingest stops on one (the daemon's health turns unready at once;
    /// [`run`] returns it only when every reader is gone).
    pub on_failure: Option<OnFailure>,
}

/// Why the pipeline stopped committing.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("[{code}] {0}", code = .0.code())]
    Store(#[from] crate::store::StoreError),
    #[error("cannot write the quarantine: {0}")]
    Quarantine(std::io::Error),
    /// The writer stopped first; its own error says why.
    #[error("the store writer stopped")]
    WriterStopped,
    #[error("{0}")]
    Thread(String),
}

/// What a finished run hands back: the engine (its state is what is on disk) and the counts
/// per source.
pub struct Finished {
    pub engine: Engine,
    pub counts: HashMap<Arc<str>, Counts>,
    /// CPU time of the applier and the writer thread, in milliseconds.
    pub applier_cpu_ms: u64,
    pub writer_cpu_ms: u64,
}

enum ToWriter {
    Batch {
        prepared: Prepared,
        files: Vec<(Arc<str>, u64)>,
        oldest: Instant,
        acks: Vec<OnCommit>,
    },
    Housekeeping,
}

/// CPU time used so far by the calling thread, in milliseconds.
pub fn thread_cpu_ms() -> u64 {
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

/// Runs the applier on this thread and the writer on another until every sender is gone,
/// then commits what is left. Returns the first error, after which nothing more is committed
/// (the checkpoints on disk still match the data on disk) and the engine is dropped (its
/// state may be ahead of the disk).
pub fn run(
    store: &Store,
    cfg: &Config,
    clock: &dyn Clock,
    metrics: Option<&Metrics>,
    opts: Options,
    mut engine: Engine,
    mut rx: Receiver<ToCore>,
) -> Result<Finished, PipelineError> {
    let applier_cpu0 = thread_cpu_ms();
    let (wtx, wrx) = mpsc::sync_channel::<ToWriter>(1);
    let housekeeping = opts.housekeeping.as_ref().map(|(_, f)| f);
    std::thread::scope(|scope| {
        let writer = std::thread::Builder::new()
            .name("tdr-writer".into())
            .spawn_scoped(scope, move || -> Result<u64, PipelineError> {
                for msg in wrx {
                    match msg {
                        ToWriter::Batch {
                            prepared,
                            files,
                            oldest,
                            acks,
                        } => {
                            let t = Instant::now();
                            store.write(prepared)?;
                            for ack in acks {
                                ack();
                            }
                            if let Some(m) = metrics {
                                m.batch_seconds.observe(t.elapsed().as_secs_f64());
                                m.commit_delay_seconds
                                    .observe(oldest.elapsed().as_secs_f64());
                                m.batches.inc();
                                for (path, offset) in files {
                                    m.file_committed(&path, offset);
                                }
                            }
                        }
                        ToWriter::Housekeeping => {
                            if let Some(f) = housekeeping {
                                f()
                            }
                        }
                    }
                }
                Ok(thread_cpu_ms())
            })
            .map_err(|e| PipelineError::Thread(format!("cannot start the writer thread: {e}")))?;

        let mut batch = Batch {
            quarantine: Quarantine::new(&cfg.data_dir),
            frames: HashMap::new(),
            changed_frames: Vec::new(),
            checkpoints: HashMap::new(),
            files: HashMap::new(),
            oldest: None,
            pending: 0,
            acks: Vec::new(),
        };
        let mut counts: HashMap<Arc<str>, Counts> = HashMap::new();
        let mut failed: Option<PipelineError> = None;
        match store.frame_counts() {
            Ok(v) => {
                for (source, n) in v {
                    batch.frames.insert(Arc::from(source.as_str()), n);
                }
            }
            Err(e) => failed = Some(e.into()),
        }
        // What waits is committed after the flush interval once the readers have nothing
        // more queued; while they do (a backlog), batches fill up to `batch_events`, but
        // nothing waits longer than HOLD_MAX. Small batches under a backlog would finalise
        // and revive the same late bindings over and over (a source behind the others).
        let due = |oldest: &Option<Instant>, idle: bool| {
            opts.flush.is_some_and(|every| {
                oldest.is_some_and(|t| {
                    let waited = t.elapsed();
                    waited >= every && (idle || waited >= HOLD_MAX)
                })
            })
        };
        let mut last_housekeeping: Option<Instant> = None;
        let mut orderer = Orderer::default();
        let mut ready: Vec<Input> = Vec::new();
        let send = |prepared, files, oldest, acks| {
            wtx.send(ToWriter::Batch {
                prepared,
                files,
                oldest,
                acks,
            })
            .map_err(|_| PipelineError::WriterStopped)
        };

        while let Some(msg) = rx.blocking_recv() {
            if failed.is_some() {
                continue; // drain, so senders are not stuck; nothing more is committed
            }
            let now = clock.now();
            let result = match msg {
                ToCore::Data(input) => {
                    let floor = cfg.retention.floor(now);
                    orderer.order(input, &mut ready);
                    let mut r = Ok(());
                    for input in ready.drain(..) {
                        if r.is_err() {
                            continue;
                        }
                        let c = counts.entry(input.source.clone()).or_default();
                        r = batch.add(&mut engine, input, floor, now, c, metrics);
                        if r.is_ok() && batch.pending >= cfg.batch_events {
                            r = batch.flush(&mut engine, store, floor, &send);
                        }
                    }
                    if r.is_ok() && due(&batch.oldest, rx.is_empty()) {
                        r = batch.flush(&mut engine, store, floor, &send);
                    }
                    r
                }
                ToCore::Tick => {
                    let r = if due(&batch.oldest, rx.is_empty()) {
                        batch.flush(&mut engine, store, cfg.retention.floor(now), &send)
                    } else {
                        Ok(())
                    };
                    let every = opts.housekeeping.as_ref().map(|(d, _)| *d);
                    if r.is_ok()
                        && every.is_some_and(|every| {
                            last_housekeeping.is_none_or(|t| t.elapsed() >= every)
                        })
                    {
                        last_housekeeping = Some(Instant::now());
                        wtx.send(ToWriter::Housekeeping)
                            .map_err(|_| PipelineError::WriterStopped)
                    } else {
                        r
                    }
                }
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "ingest stopped: nothing more is committed");
                if let Some(f) = &opts.on_failure {
                    f(&e.to_string());
                }
                failed = Some(e);
            }
        }
        if failed.is_none() {
            let floor = cfg.retention.floor(clock.now());
            if let Err(e) = batch.flush(&mut engine, store, floor, &send) {
                failed = Some(e);
            }
        }
        drop(wtx);
        let applier_cpu_ms = thread_cpu_ms().saturating_sub(applier_cpu0);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(PipelineError::Thread("the writer thread panicked".into())));
        match (failed, written) {
            // The applier saw only that the writer stopped: the writer's error says why.
            (Some(PipelineError::WriterStopped), Err(e)) | (None, Err(e)) => Err(e),
            (Some(e), _) => Err(e),
            (None, Ok(writer_cpu_ms)) => Ok(Finished {
                engine,
                counts,
                applier_cpu_ms,
                writer_cpu_ms,
            }),
        }
    })
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
    /// The sources to tell once the batch is committed.
    acks: Vec<OnCommit>,
}

type SendBatch<'a> = dyn Fn(Prepared, Vec<(Arc<str>, u64)>, Instant, Vec<OnCommit>) -> Result<(), PipelineError>
    + 'a;

impl Batch {
    /// Applies a chunk and takes its checkpoint into the batch.
    fn add(
        &mut self,
        engine: &mut Engine,
        mut input: Input,
        floor: i64,
        now: i64,
        counts: &mut Counts,
        m: Option<&Metrics>,
    ) -> Result<(), PipelineError> {
        self.oldest.get_or_insert(input.read_at);
        self.pending += apply(engine, &input, floor, now, &mut self.quarantine, counts, m)
            .map_err(PipelineError::Quarantine)?;
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
        if let Some(ack) = input.on_commit.take() {
            self.acks.push(ack);
        }
        Ok(())
    }

    /// Prepares the batch (engine changes, checkpoints, frame counts) and hands it to the
    /// writer.
    fn flush(
        &mut self,
        engine: &mut Engine,
        store: &Store,
        floor: i64,
        send: &SendBatch<'_>,
    ) -> Result<(), PipelineError> {
        self.pending = 0;
        let Some(since) = self.oldest.take() else {
            return Ok(());
        };
        // Quarantine records are durable before the checkpoint moves past them.
        self.quarantine.sync().map_err(PipelineError::Quarantine)?;
        let mut metas: Vec<(Vec<u8>, Vec<u8>)> = self.checkpoints.drain().collect();
        for s in self.changed_frames.drain(..) {
            let n = self.frames.get(&s).copied().unwrap_or(0);
            metas.push((Store::frames_key(&s), n.to_be_bytes().to_vec()));
        }
        let refs: Vec<(&[u8], &[u8])> = metas
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
            .collect();
        let prepared = store.prepare(engine, &refs, floor);
        send(
            prepared,
            self.files.drain().collect(),
            since,
            std::mem::take(&mut self.acks),
        )
    }
}

/// Applies one chunk; returns how many events and records it added to the batch. Counts are
/// kept per chunk and metrics bumped per chunk (a few label lookups per 4096 records, not
/// per record).
fn apply(
    engine: &mut Engine,
    input: &Input,
    floor: i64,
    now: i64,
    quarantine: &mut Quarantine,
    total: &mut Counts,
    m: Option<&Metrics>,
) -> std::io::Result<usize> {
    let mut pending = 0;
    let mut events = input.chunk.events.iter();
    let mut counts: Vec<(Format, Counts)> = Vec::with_capacity(2);
    for item in &input.chunk.items {
        let c = match counts.iter().position(|(f, _)| *f == item.format) {
            Some(i) => &mut counts[i].1,
            None => {
                counts.push((item.format, Counts::default()));
                &mut counts.last_mut().expect("just pushed").1
            }
        };
        match &item.outcome {
            Outcome::Events(0) => c.ignored += 1,
            Outcome::Events(n) => {
                // A frame whose events only mark coverage (a DHCPDISCOVER) carries nothing
                // to retain: counted as ignored, applied for its coverage.
                let mut records = false;
                for ev in events.by_ref().take(*n) {
                    records |= ev.is_record();
                    if ev.time() < floor {
                        if ev.is_record() {
                            c.expired += 1;
                        }
                        continue;
                    }
                    match engine.apply_from(ev, input.peer) {
                        _ if !ev.is_record() => {}
                        Applied::Changed => c.accepted += 1,
                        Applied::Duplicate => c.duplicate += 1,
                    }
                    pending += 1;
                }
                if records {
                    c.frames_with_events += 1;
                } else {
                    c.ignored += 1;
                }
            }
            Outcome::Rejected(r) => {
                c.quarantined += 1;
                if let Some(m) = m {
                    m.quarantined
                        .get_or_create(&vec![
                            ("source", input.source.to_string()),
                            ("code", r.code.to_string()),
                        ])
                        .inc();
                }
                pending += 1;
                quarantine.record(&Record {
                    time: fmt_time(now),
                    source: input.source.to_string(),
                    file: input.origin.to_string(),
                    fingerprint: input.stream_id.to_string(),
                    offset: item.offset,
                    code: r.code.to_string(),
                    reason: r.reason.clone(),
                    raw: r.raw.clone(),
                    unreadable: None,
                })?;
            }
            Outcome::AlreadyQuarantined => {
                c.quarantined += 1;
                pending += 1;
            }
        }
    }
    for (format, c) in counts {
        total.add(&c);
        let Some(m) = m else { continue };
        for (family, outcome, n) in [
            (&m.events, "accepted", c.accepted),
            (&m.events, "duplicate", c.duplicate),
            (&m.events, "expired", c.expired),
            (&m.frames, "events", c.frames_with_events),
            (&m.frames, "ignored", c.ignored),
            (&m.frames, "quarantined", c.quarantined),
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
