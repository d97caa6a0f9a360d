//! A file read once, from its checkpoint to its end (`tdr import`). The file is known by a
//! fingerprint of its first bytes, so an import run again (or after a crash) resumes exactly
//! where its last committed batch ended, whatever the file is called now; a `.gz` file is
//! decompressed from the start and the part already imported skipped.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc::Sender;

use crate::ingest::frames::{Chunk, FrameParser, Outcome};
use crate::ingest::pipeline::{thread_cpu_ms, Input, Sequence, ToCore};
use crate::ingest::quarantine::Quarantine;
use crate::parse::framing::DEFAULT_MAX_FRAME;
use crate::parse::{Context, Format, SetupError};
use crate::store::Store;

use super::{gunzip, is_gzip};

/// How many bytes of a file's head identify it.
const FINGERPRINT_BYTES: usize = 1024;
const READ_CHUNK: usize = 4 << 20;

/// One file to import and how.
#[derive(Debug, Clone)]
pub struct FileJob {
    pub path: PathBuf,
    pub format: Format,
    /// Source name, time zone, class and format options.
    pub ctx: Context,
    /// The file is complete (rotated, closed): an unterminated last record is a record, not
    /// one still being written.
    pub complete: bool,
}

/// What reading a file found besides its events (those are counted by the pipeline).
#[derive(Debug, Default, Clone, Copy)]
pub struct FileRead {
    /// Bytes skipped because an earlier import already covered them.
    pub already_imported_bytes: u64,
    /// Bytes at the end of a file that do not yet form a complete record (a file still being
    /// written): not imported now, picked up by the next import of the file.
    pub held_back_bytes: u64,
    pub cpu_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{0}")]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Reads `job`'s file from its checkpoint to its end and sends its chunks, each with the
/// checkpoint just after its last whole record. Stops early (without error) when `stop` is
/// set or the pipeline is gone. In a sequence (`place`: the sequence and the file's index
/// in it), the file's chunks carry their place, and a last (empty) input says the file is
/// done, whatever was read.
pub fn read(
    job: &FileJob,
    store: &Store,
    quarantine: &Quarantine,
    tx: &Sender<ToCore>,
    stop: &AtomicBool,
    place: Option<(&Arc<Sequence>, usize)>,
) -> Result<FileRead, FileError> {
    let r = read_file(job, store, quarantine, tx, stop, place)?;
    if let Some((seq, file)) = place {
        if let Some(p) = seq.admit(file, true, stop) {
            let end = Input {
                source: Arc::from(job.ctx.source.as_str()),
                origin: Arc::from(job.path.display().to_string().as_str()),
                stream_id: Arc::from(""),
                chunk: Chunk::new(),
                checkpoint: None,
                file_offset: None,
                read_at: Instant::now(),
                place: Some(p),
                peer: None,
                on_commit: None,
            };
            let _ = tx.blocking_send(ToCore::Data(end));
        }
    }
    Ok(r)
}

fn read_file(
    job: &FileJob,
    store: &Store,
    quarantine: &Quarantine,
    tx: &Sender<ToCore>,
    stop: &AtomicBool,
    place: Option<(&Arc<Sequence>, usize)>,
) -> Result<FileRead, FileError> {
    let cpu0 = thread_cpu_ms();
    let path = job.path.as_path();
    let read_err = |e: std::io::Error| FileError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let format = job.format;
    // The parser first: a bad option refuses the file before anything is read.
    let mut ctx = job.ctx.clone();
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
    let mut f = File::open(path).map_err(read_err)?;
    let gz = is_gzip(&mut f).map_err(read_err)?;
    // A compressed file is a rotated one: complete by definition.
    let complete = job.complete || gz;
    let mut head = Vec::with_capacity(FINGERPRINT_BYTES);
    open_stream(path, gz)
        .map_err(read_err)?
        .take(FINGERPRINT_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(read_err)?;
    let len = if gz { u64::MAX } else { meta.len() };
    let fingerprint = hex::encode(&Sha256::digest(&head)[..16]);
    let ck_key = Store::checkpoint_key(format.name(), fingerprint.as_bytes());
    let start = store
        .get_meta(&ck_key)?
        .and_then(|v| <[u8; 8]>::try_from(&v[..]).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
        .min(len);
    let mut out = FileRead {
        already_imported_bytes: start,
        ..Default::default()
    };
    if !gz && start == len && len > 0 {
        return Ok(out);
    }
    let skip = quarantine.already(&ctx.source, &fingerprint, start);
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
    if format.replays_prefix() && start > 0 {
        // The templates defined before the checkpoint (IPFIX).
        let prefix = open_stream(path, gz).map_err(read_err)?.take(start);
        crate::ingest::frames::replay(format, &mut *parser, prefix).map_err(read_err)?;
    }
    skip_to(&mut stream, start).map_err(read_err)?;

    let source: Arc<str> = Arc::from(ctx.source.as_str());
    let origin: Arc<str> = Arc::from(path.display().to_string().as_str());
    let stream_id: Arc<str> = Arc::from(fingerprint.as_str());
    let mut fp = FrameParser::new(format, parser);
    // The checkpoint: just after the last frame that ends a whole record.
    let mut safe = start;
    let mut send = |c: &mut Chunk| -> bool {
        for item in &mut c.items {
            if matches!(item.outcome, Outcome::Rejected(_)) && skip.contains(&item.offset) {
                item.outcome = Outcome::AlreadyQuarantined;
            }
        }
        if let Some(s) = c.items.iter().rev().find_map(|i| i.safe_next) {
            safe = s;
        }
        let place = match place {
            Some((seq, file)) => match seq.admit(file, false, stop) {
                Some(p) => Some(p),
                None => return false,
            },
            None => None,
        };
        let input = Input {
            source: source.clone(),
            origin: origin.clone(),
            stream_id: stream_id.clone(),
            chunk: std::mem::take(c),
            checkpoint: Some((ck_key.clone(), safe.to_be_bytes().to_vec())),
            file_offset: None,
            read_at: Instant::now(),
            place,
            peer: None,
            on_commit: None,
        };
        !stop.load(Ordering::Relaxed) && tx.blocking_send(ToCore::Data(input)).is_ok()
    };
    // One buffer, zeroed once: `space[..len]` holds the unframed bytes; each read appends up
    // to READ_CHUNK, and the unframed tail moves to the front after framing.
    let mut space: Vec<u8> = vec![0; READ_CHUNK * 2];
    let mut len = 0;
    let mut base = start; // stream offset of space[0]
    let mut chunk = Chunk::new();
    let mut eof = false;
    while !eof {
        if space.len() - len < READ_CHUNK {
            space.resize(len + READ_CHUNK, 0);
        }
        let n = loop {
            match stream.read(&mut space[len..len + READ_CHUNK]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(e)),
            }
        };
        len += n;
        eof = n == 0;
        let Some(pos) = fp.feed(&space[..len], base, eof && complete, &mut chunk, &mut send) else {
            return Ok(out); // stopped: what was sent is committed, the rest read next time
        };
        space.copy_within(pos..len, 0);
        len -= pos;
        base += pos as u64;
    }
    if !chunk.items.is_empty() && !send(&mut chunk) {
        return Ok(out);
    }
    out.held_back_bytes = (base + len as u64).saturating_sub(safe);
    out.cpu_ms = thread_cpu_ms().saturating_sub(cpu0);
    Ok(out)
}

fn open_stream(path: &Path, gz: bool) -> std::io::Result<Box<dyn Read + Send>> {
    let f = File::open(path)?;
    Ok(if gz { Box::new(gunzip(f)) } else { Box::new(f) })
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
