//! Files handed to the daemon for import: where in the spool one goes, and how it gets
//! there — written 0600 outside every spool glob while it arrives (counted and hashed), then
//! renamed into the spool whole, so the follower never reads a file still arriving.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::parse::Format;

/// A handed-over file's two places.
#[derive(Debug)]
pub struct Handoff {
    /// Where the file is written while it arrives (no spool glob matches it).
    pub partial: PathBuf,
    /// The spool file it is renamed to once whole.
    pub target: PathBuf,
}

impl Handoff {
    /// The places in `spool` of a file of `format` named `name`, handed over at `stamp`:
    /// the spool's top for `events`, its `<format>/` folder otherwise.
    pub fn in_spool(spool: &Path, format: Format, name: &str, stamp: i64) -> Handoff {
        let dir = if format == Format::Events {
            spool.to_path_buf()
        } else {
            spool.join(format.name())
        };
        Handoff {
            partial: spool
                .join(".partial")
                .join(format!("{stamp}-{}-{name}", format.name())),
            target: dir.join(format!("{stamp}-{name}")),
        }
    }

    /// Starts writing the file (a new 0600 file; its folder made 0700).
    pub fn receive(&self, limit: u64) -> std::io::Result<Receiving> {
        if let Some(dir) = self.partial.parent() {
            crate::fsmode::create_private_dir(dir)?;
        }
        Ok(Receiving {
            file: crate::fsmode::create_new_private(&self.partial)?,
            sha: Sha256::new(),
            bytes: 0,
            limit,
        })
    }

    /// Puts the whole file into the spool.
    pub fn place(&self) -> std::io::Result<()> {
        std::fs::rename(&self.partial, &self.target)
    }

    /// Drops what arrived of a file that will not be placed.
    pub fn abandon(&self) {
        let _ = std::fs::remove_file(&self.partial);
    }
}

/// Why a chunk was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("one import takes at most {0} bytes; split the file")]
    TooLarge(u64),
    #[error("spool: {0}")]
    Io(#[from] std::io::Error),
}

/// A file arriving: its bytes so far and their digest.
pub struct Receiving {
    file: std::fs::File,
    sha: Sha256,
    bytes: u64,
    limit: u64,
}

impl Receiving {
    pub fn write(&mut self, data: &[u8]) -> Result<(), ReceiveError> {
        self.bytes += data.len() as u64;
        if self.bytes > self.limit {
            return Err(ReceiveError::TooLarge(self.limit));
        }
        self.sha.update(data);
        Ok(self.file.write_all(data)?)
    }

    /// Makes the file durable: its size and hex SHA-256.
    pub fn finish(self) -> std::io::Result<(u64, String)> {
        self.file.sync_all()?;
        Ok((self.bytes, hex::encode(self.sha.finalize())))
    }
}
