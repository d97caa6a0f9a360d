//! Where input comes from. Each source frames and parses on its own thread (or task) and
//! sends [`Input`](super::pipeline::Input) chunks, with their checkpoints, to the one
//! pipeline ([`super::pipeline`]).
//!
//! - [`file`]: a file read once from its checkpoint to its end (`tdr import`);
//! - [`follow`]: files followed as they grow and rotate (`tdr serve`'s `[[file]]` sources
//!   and its spool folder);
//! - [`syslog`]: syslog listeners over UDP, TCP and TLS (`tdr serve`'s `[[syslog]]`);
//! - [`ipfix`]: IPFIX NAT event collectors over UDP (`tdr serve`'s `[[ipfix]]`);
//! - [`udp`]: the UDP listeners' batches of datagrams, one sender each;
//! - [`radius`]: RADIUS accounting servers (`tdr serve`'s `[[radius]]`), which answer a NAS
//!   only once its record is committed.

pub mod file;
pub mod follow;
pub mod ipfix;
pub mod radius;
pub mod syslog;
pub mod udp;

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

use flate2::read::MultiGzDecoder;

/// Whether the file starts with the gzip magic; leaves the file at its start.
pub fn is_gzip(f: &mut File) -> std::io::Result<bool> {
    let mut magic = [0u8; 2];
    f.seek(SeekFrom::Start(0))?;
    let n = f.read(&mut magic)?;
    f.seek(SeekFrom::Start(0))?;
    Ok(n == 2 && magic == [0x1f, 0x8b])
}

/// A decompressing reader over a (possibly multi-member) gzip file.
pub fn gunzip(f: File) -> MultiGzDecoder<BufReader<File>> {
    MultiGzDecoder::new(BufReader::with_capacity(1 << 20, f))
}
