//! The daemon's audit writer: one thread that owns the [`AuditLog`] for every request the HTTP
//! API serves, commits the entries that arrive together with one fsync (group commit), and lets
//! go of the log when idle so that CLI commands (`tdr lookup`, `tdr case …`) can append too.
//!
//! It decides nothing: callers build the entry, wait for [`Auditor::append`], and return data
//! only when it succeeded (fail-closed). [`Auditor::signed_head`] signs the head on the same
//! thread (the only holder of the signing key) and returns it for the auditor to record. A failed write fails every entry of its group and drops
//! the log; the next entry reopens it, which fails again while the cause remains.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

use super::{Appended, AuditError, AuditLog, AuditOptions, NewEntry, Pseudonymizer, SignedHead};
use crate::clock::Clock;
use crate::error::ErrorKind;

/// Entries committed together at most.
const GROUP_MAX: usize = 256;
/// Idle time after which the log is checkpointed and released.
const RELEASE_AFTER: Duration = Duration::from_millis(250);
/// Under steady load the log is still released this often, for long enough that a CLI
/// command polling for the lock (every 2 ms) gets its turn.
const HOLD_MAX: Duration = Duration::from_secs(1);
const YIELD_FOR: Duration = Duration::from_millis(10);

type Reply = tokio::sync::oneshot::Sender<Result<Appended, AuditFailure>>;
type ReplyReceiver = tokio::sync::oneshot::Receiver<Result<Appended, AuditFailure>>;
type HeadReply = tokio::sync::oneshot::Sender<Result<SignedHead, AuditFailure>>;

// Appends are the hot path and heads are rare: boxing the entry would cost every append an
// allocation to save the rare head request some bytes of channel slot.
#[allow(clippy::large_enum_variant)]
enum Job {
    /// Append an entry (committed with the others that arrive together).
    Append { entry: NewEntry, reply: Reply },
    /// Sign the head (after the entries of the same group) and return it.
    Head { reply: HeadReply },
}

/// Handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Auditor {
    tx: Sender<Job>,
    pseudonyms: Pseudonymizer,
}

/// Why an entry was not written: the kind of failure and the detail (never personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFailure {
    pub kind: ErrorKind,
    pub detail: String,
}

impl AuditFailure {
    /// The stable code of the failure.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl From<&AuditError> for AuditFailure {
    fn from(e: &AuditError) -> AuditFailure {
        AuditFailure {
            kind: e.kind(),
            detail: e.to_string(),
        }
    }
}

impl Auditor {
    /// Opens the log once (creating keys on a first start, and proving it is writable), then
    /// releases it and starts the writer thread.
    pub fn start(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<Auditor, AuditError> {
        let log = AuditLog::open(data_dir, clock.clone())?;
        let pseudonyms = log.pseudonymizer();
        drop(log);
        let (tx, rx) = mpsc::channel();
        let dir = data_dir.to_path_buf();
        std::thread::Builder::new()
            .name("tdr-audit".into())
            .spawn(move || writer(dir, clock, rx))
            .map_err(AuditError::WriteFailed)?;
        Ok(Auditor { tx, pseudonyms })
    }

    /// An auditor whose log could not be opened: every append fails, so every data request is
    /// refused (fail-closed) while the daemon goes on ingesting.
    pub fn failed() -> Auditor {
        let (tx, _) = mpsc::channel();
        Auditor {
            tx,
            pseudonyms: Pseudonymizer::throwaway(),
        }
    }

    /// Appends `entry`; resolves once it is durable, or with the reason it is not.
    pub async fn append(&self, entry: NewEntry) -> Result<Appended, AuditFailure> {
        let rx = self.submit(entry)?;
        rx.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// Blocking form of [`Auditor::append`] for threads outside the async runtime.
    pub fn append_blocking(&self, entry: NewEntry) -> Result<Appended, AuditFailure> {
        let rx = self.submit(entry)?;
        rx.blocking_recv().unwrap_or_else(|_| Err(stopped()))
    }

    /// Hands `entry` to the writer thread; the receiver gets its outcome.
    fn submit(&self, entry: NewEntry) -> Result<ReplyReceiver, AuditFailure> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Job::Append { entry, reply })
            .map_err(|_| stopped())?;
        Ok(rx)
    }

    /// Signs the head as it is once every entry handed over before this call is durable, and
    /// returns it (blocking; for threads outside the async runtime).
    pub fn signed_head_blocking(&self) -> Result<SignedHead, AuditFailure> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx.send(Job::Head { reply }).map_err(|_| stopped())?;
        rx.blocking_recv().unwrap_or_else(|_| Err(stopped()))
    }

    pub fn pseudonym(&self, subscriber: &str) -> String {
        self.pseudonyms.pseudonym(subscriber)
    }
}

fn stopped() -> AuditFailure {
    AuditFailure {
        kind: ErrorKind::AuditWriteFailed,
        detail: "the audit writer has stopped".into(),
    }
}

fn writer(dir: PathBuf, clock: Arc<dyn Clock>, rx: Receiver<Job>) {
    let mut log: Option<AuditLog> = None;
    let mut held_since = std::time::Instant::now();
    loop {
        if log.is_some() && held_since.elapsed() >= HOLD_MAX {
            release(&mut log);
            std::thread::sleep(YIELD_FOR);
        }
        let first = if log.is_some() {
            match rx.recv_timeout(RELEASE_AFTER) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    release(&mut log);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(job) => job,
                Err(_) => break,
            }
        };
        let mut jobs = vec![first];
        while jobs.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if log.is_none() {
            held_since = std::time::Instant::now();
        }
        let mut entries = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        let mut heads = Vec::new();
        for job in jobs {
            match job {
                Job::Append { entry, reply } => {
                    entries.push(entry);
                    replies.push(reply);
                }
                Job::Head { reply } => heads.push(reply),
            }
        }
        if !entries.is_empty() {
            write_group(&dir, &clock, &mut log, &entries, replies);
        }
        if !heads.is_empty() {
            let head = sign(&dir, &clock, &mut log);
            for reply in heads {
                let _ = reply.send(head.clone());
            }
        }
    }
    release(&mut log);
}

/// Commits a group and answers each of its callers.
fn write_group(
    dir: &Path,
    clock: &Arc<dyn Clock>,
    log: &mut Option<AuditLog>,
    entries: &[NewEntry],
    replies: Vec<Reply>,
) {
    match commit(dir, clock, log, entries) {
        Ok(appended) => {
            for (reply, a) in replies.into_iter().zip(appended) {
                let _ = reply.send(Ok(a));
            }
        }
        Err(e) => {
            tracing::error!(
                code = e.code(),
                entries = entries.len(),
                "audit group not written"
            );
            *log = None;
            let failure = AuditFailure::from(&e);
            for reply in replies {
                let _ = reply.send(Err(failure.clone()));
            }
        }
    }
}

/// Checkpoints the head and returns the signed head.
fn sign(
    dir: &Path,
    clock: &Arc<dyn Clock>,
    log: &mut Option<AuditLog>,
) -> Result<SignedHead, AuditFailure> {
    let l = open_if_released(dir, clock, log).map_err(|e| AuditFailure::from(&e))?;
    if let Err(e) = l.checkpoint() {
        *log = None;
        return Err(AuditFailure::from(&e));
    }
    l.signed_head().ok_or_else(no_head)
}

fn no_head() -> AuditFailure {
    AuditFailure {
        kind: ErrorKind::AuditReadFailed,
        detail: "the audit log has no entries, so no signed head".into(),
    }
}

fn commit(
    dir: &Path,
    clock: &Arc<dyn Clock>,
    log: &mut Option<AuditLog>,
    entries: &[NewEntry],
) -> Result<Vec<Appended>, AuditError> {
    open_if_released(dir, clock, log)?.append_group(entries)
}

fn open_if_released<'a>(
    dir: &Path,
    clock: &Arc<dyn Clock>,
    log: &'a mut Option<AuditLog>,
) -> Result<&'a mut AuditLog, AuditError> {
    if log.is_none() {
        *log = Some(AuditLog::open_with_options(
            dir,
            clock.clone(),
            AuditOptions::default(),
        )?);
    }
    Ok(log.as_mut().expect("opened above"))
}

fn release(log: &mut Option<AuditLog>) {
    if let Some(mut l) = log.take() {
        if let Err(e) = l.checkpoint() {
            tracing::warn!(code = e.code(), "audit checkpoint on release failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn entry(i: u64) -> NewEntry {
        NewEntry {
            actor: "sam".into(),
            role: "api:security".into(),
            action: "abuse_lookup".into(),
            query: serde_json::json!({"i": i}),
            outcome: "found".into(),
            ..NewEntry::default()
        }
    }

    #[test]
    fn a_refused_entry_reports_the_code_and_reason_of_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let auditor = Auditor::start(dir.path(), Arc::new(SystemClock)).unwrap();
        let err = auditor.append_blocking(NewEntry::default()).unwrap_err();
        assert_eq!(
            err,
            AuditFailure {
                kind: ErrorKind::AuditInvalidEntry,
                detail: "audit entry rejected: actor is empty".into(),
            }
        );
        assert_eq!(err.code(), "audit.invalid_entry");
        // The next entry reopens the log and is written.
        assert_eq!(auditor.append_blocking(entry(1)).unwrap().seq, 1);

        let err = Auditor::failed().append_blocking(entry(1)).unwrap_err();
        assert_eq!(err.code(), "audit.write_failed");
    }

    #[test]
    fn a_cli_writer_gets_its_turn_under_steady_api_load_and_the_chain_stays_whole() {
        let dir = tempfile::tempdir().unwrap();
        let auditor = Auditor::start(dir.path(), Arc::new(SystemClock)).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let load: Vec<_> = (0..4)
            .map(|c| {
                let a = auditor.clone();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        a.append_blocking(entry(c * 1_000_000 + n)).unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        // A CLI command opens the log itself while the API keeps appending.
        let t = std::time::Instant::now();
        let mut cli = AuditLog::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let waited = t.elapsed();
        cli.append(entry(u64::MAX)).unwrap();
        drop(cli);
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        let api: u64 = load.into_iter().map(|h| h.join().unwrap()).sum();
        assert!(waited < Duration::from_secs(3), "waited {waited:?}");
        std::thread::sleep(RELEASE_AFTER * 2);
        let report = crate::audit::verify(dir.path()).unwrap();
        assert_eq!(report.entries, api + 1);
        assert!(api > 100, "the load kept going: {api}");
    }
}
