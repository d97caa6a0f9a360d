//! Datagrams read in batches, one sender per batch: what the UDP listeners (syslog, IPFIX)
//! share. A batch starts with one datagram, waited for, and takes what else the socket has
//! queued without waiting; a datagram from another sender ends it and starts the next batch,
//! so every event of a chunk has its batch's sender as evidence.

use std::net::{IpAddr, SocketAddr};

use tokio::net::UdpSocket;
use tokio::sync::watch;

/// What [`UdpBatches::next`] read.
pub enum Datagram<'a> {
    /// From an allowed sender, the batch's.
    Data(SocketAddr, &'a [u8]),
    /// From a sender the listener does not allow: dropped unread.
    Refused,
    /// The receive failed.
    Failed(std::io::Error),
}

/// The receive buffer and the batch's state.
pub struct UdpBatches {
    buf: Vec<u8>,
    /// The batch's first datagram, waited for and not yet handed out.
    first: Option<std::io::Result<(usize, SocketAddr)>>,
    /// A datagram of another sender, left in `buf` for the next batch.
    held: Option<(usize, SocketAddr)>,
    sender: Option<IpAddr>,
}

impl UdpBatches {
    /// Batches read into a buffer of `size` bytes (the largest datagram taken whole).
    pub fn new(size: usize) -> UdpBatches {
        UdpBatches {
            buf: vec![0u8; size],
            first: None,
            held: None,
            sender: None,
        }
    }

    /// Starts a batch with the datagram held back from the last one, or waits for one; false
    /// once `stop` turns.
    pub async fn wait(&mut self, sock: &UdpSocket, stop: &mut watch::Receiver<bool>) -> bool {
        self.sender = None;
        self.first = Some(match self.held.take() {
            Some(held) => Ok(held),
            None => tokio::select! {
                _ = stop.changed() => return false,
                r = sock.recv_from(&mut self.buf) => r,
            },
        });
        true
    }

    /// The batch's next datagram; `None` when the batch ends: nothing more is queued, or the
    /// next datagram came from another sender (held for the next batch).
    pub fn next(
        &mut self,
        sock: &UdpSocket,
        allows: impl Fn(IpAddr) -> bool,
    ) -> Option<Datagram<'_>> {
        let got = match self.first.take() {
            Some(first) => first,
            None => match sock.try_recv_from(&mut self.buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return None,
                other => other,
            },
        };
        Some(match got {
            Ok((_, peer)) if !allows(peer.ip()) => Datagram::Refused,
            Ok((n, peer)) if self.sender.is_some_and(|s| s != peer.ip().to_canonical()) => {
                self.held = Some((n, peer));
                return None;
            }
            Ok((n, peer)) => {
                self.sender = Some(peer.ip().to_canonical());
                Datagram::Data(peer, &self.buf[..n])
            }
            Err(e) => Datagram::Failed(e),
        })
    }

    /// The batch's sender (none until a datagram was taken).
    pub fn sender(&self) -> Option<IpAddr> {
        self.sender
    }
}
