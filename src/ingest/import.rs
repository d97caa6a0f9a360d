//! `tdr import`: reads files of a given format, applies their events and commits them in
//! batches. Each batch carries the file's checkpoint (its content fingerprint and the offset
//! just after the last frame it covers), so an import interrupted at any point and run again
//! resumes exactly there: every record stored once, none lost.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::quarantine::{escape, Quarantine, Record};
use crate::clock::Clock;
use crate::config::Config;
use crate::model::fmt_time;
use crate::parse::framing::{Frame, Lines, DEFAULT_MAX_FRAME};
use crate::parse::{events, Format};
use crate::store::engine::Applied;
use crate::store::{Store, StoreError};

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
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Read { .. } => "ingest.read_failed",
            ImportError::Quarantine(_) => "ingest.quarantine_failed",
            ImportError::Store(e) => e.code(),
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
        let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK * 2);
        let mut base = start; // file offset of buf[0]
        let mut pending = 0usize;
        let mut eof = false;
        while !eof {
            let old = buf.len();
            buf.resize(old + READ_CHUNK, 0);
            let n = file.read(&mut buf[old..]).map_err(read_err)?;
            buf.truncate(old + n);
            if n == 0 {
                eof = true;
                // A complete file may end without a final LF: its last line is a record too.
                if !buf.is_empty() && buf.last() != Some(&b'\n') {
                    buf.push(b'\n');
                }
            }
            let mut lines = Lines::new(&buf, DEFAULT_MAX_FRAME);
            while let Some((off, frame)) = lines.next() {
                let offset = base + off as u64;
                let parsed = match frame {
                    Frame::Line(l) if l.iter().all(u8::is_ascii_whitespace) => continue,
                    Frame::Line(l) => match format {
                        Format::Events => events::parse_line(l, source).map_err(|e| (e, l)),
                    },
                    Frame::TooLong { head, len } => Err((
                        crate::parse::ParseError::new(
                            "frame.too_long",
                            format!("line of {len} bytes exceeds the {DEFAULT_MAX_FRAME}-byte cap"),
                        ),
                        head,
                    )),
                };
                match parsed {
                    Ok(ev) if ev.time() < floor => stats.expired += 1,
                    Ok(ev) => match self.store.engine_mut().apply(&ev) {
                        Applied::Changed => stats.accepted += 1,
                        Applied::Duplicate => stats.duplicate += 1,
                    },
                    Err((e, raw)) => {
                        stats.quarantined += 1;
                        if !skip.contains(&offset) {
                            self.quarantine
                                .record(&Record {
                                    time: fmt_time(self.clock.now()),
                                    source: source.to_string(),
                                    file: file_name.clone(),
                                    fingerprint: fingerprint.clone(),
                                    offset,
                                    code: e.code.to_string(),
                                    reason: e.reason,
                                    raw: escape(raw),
                                })
                                .map_err(ImportError::Quarantine)?;
                        }
                    }
                }
                pending += 1;
                if pending >= self.cfg.batch_events {
                    // The checkpoint is the offset just after this frame.
                    let next = base + lines.consumed() as u64;
                    self.commit(&ck_key, next, floor)?;
                    pending = 0;
                }
            }
            let consumed = lines.consumed();
            buf.drain(..consumed);
            base += consumed as u64;
        }
        self.commit(&ck_key, base.min(len), floor)?;
        Ok(stats)
    }

    fn commit(&mut self, ck_key: &[u8], offset: u64, floor: i64) -> Result<(), ImportError> {
        self.quarantine.sync().map_err(ImportError::Quarantine)?;
        self.store
            .commit(Some((ck_key, &offset.to_be_bytes())), floor)?;
        Ok(())
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Events => "events",
    }
}
