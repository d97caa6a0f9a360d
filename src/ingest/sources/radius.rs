//! RADIUS accounting servers (`[[radius]]`): RFC 2866 over UDP, or over TLS (RFC 6614), answered
//! only for what is committed.
//!
//! A datagram is taken only from a configured client network, only as a well-formed
//! Accounting-Request, and only with the Request Authenticator its network's shared secret
//! gives; anything else is dropped unanswered (RFC 2866 §3: silently discarded) and counted in
//! `tdr_radius_requests_total` by listener and outcome, never by address.
//!
//! Over TLS (RFC 6614, a RadSec client such as radsecproxy) a connection is taken only from a
//! client network and only with a client certificate that chains to the listener's
//! `client_ca` (mutual authentication, §2.3); the shared secret is `radsec` (§2.3 item 4)
//! unless the network names a file. Packets follow each other on the stream, each as long as
//! its Length field (RFC 6613 §2.1); one that is not a well-formed Accounting-Request closes
//! the connection (RFC 6613 §2.6.4), one with a wrong authenticator is discarded. Each
//! connection's packets go through the same loop as datagrams (one duplicate memory, one
//! commit path), and the answer goes back on the connection the request came on.
//!
//! A request is written out as the record FreeRADIUS's `rlm_detail` would have written
//! ([`crate::parse::radius`]) and parsed by the `radius-detail` parser, so records that come
//! by packet and by file go through one session logic. Its chunk carries, as its checkpoint,
//! a meta record naming the request (a digest of the client's address, the Identifier and
//! the Request Authenticator), so the request and the fact that it was committed are one
//! atomic write. The `Accounting-Response` is sent from the pipeline's commit callback: a NAS
//! is answered only for what is on disk, and one that gets no answer retransmits.
//!
//! Duplicates (RFC 5080 §2.2.2): a retransmission of a request waiting for its commit is
//! dropped (the first copy's commit answers it); one of a committed request is answered again
//! and not applied. The committed digests are kept for `duplicate_window_secs`, in memory and
//! in the store, so a request committed just before a `kill -9` and retransmitted after the
//! restart is answered without being stored twice. A request that fails to parse goes to the
//! quarantine and is answered once that is durable: its bytes are kept, and the NAS must not
//! resend it forever.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, mpsc::Sender, watch};

use crate::config::RadiusSource;
use crate::ingest::frames::{Chunk, Rejected};
use crate::ingest::pipeline::{Input, ToCore};
use crate::ingest::Shared;
use crate::model::UnixSecs;
use crate::parse::framing::Frame;
use crate::parse::{radius, Format, Parser};
use crate::store::Store;

/// RFC 6614 §2.3: the shared secret of RADIUS/TLS.
const RADSEC_SECRET: &[u8] = b"radsec";
/// Connections a TLS listener holds at once; more are closed at once and counted.
const MAX_TLS_CONNECTIONS: usize = 256;
/// A TLS handshake that takes longer is abandoned.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a listener's requests come from.
enum Socket {
    Udp(UdpSocket),
    Tls(TcpListener, tokio_rustls::TlsAcceptor),
}

/// A bound listener and its clients' secrets.
pub struct Bound {
    sock: Socket,
    clients: Vec<(IpNet, Arc<[u8]>)>,
}

impl Bound {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match &self.sock {
            Socket::Udp(s) => s.local_addr(),
            Socket::Tls(l, _) => l.local_addr(),
        }
    }
}

/// Reads a shared secret: the file's bytes without one trailing newline. A file others may
/// read, or an empty one, is refused.
fn read_secret(path: &std::path::Path) -> Result<Arc<[u8]>, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the secret file {}: {e}", path.display()))?;
    if meta.permissions().mode() & 0o007 != 0 {
        return Err(format!(
            "the secret file {} is open to other users: chmod o-rwx it",
            path.display()
        ));
    }
    let mut s = std::fs::read(path)
        .map_err(|e| format!("cannot read the secret file {}: {e}", path.display()))?;
    if s.last() == Some(&b'\n') {
        s.pop();
        if s.last() == Some(&b'\r') {
            s.pop();
        }
    }
    if s.is_empty() {
        return Err(format!("the secret file {} is empty", path.display()));
    }
    Ok(Arc::from(s))
}

/// Binds the listener and reads its secrets and TLS files (before the daemon says it is
/// ready: a port in use, an unreadable secret or a bad certificate is a start failure).
pub async fn bind(src: &RadiusSource) -> Result<Bound, String> {
    let mut clients = Vec::new();
    for c in &src.clients {
        let secret = match &c.secret_file {
            Some(f) => read_secret(f).map_err(|e| format!("radius {}: {e}", src.name))?,
            None => Arc::from(RADSEC_SECRET),
        };
        clients.push((c.network, secret));
    }
    // Longest prefix first: a host's own secret wins over its network's.
    clients.sort_by_key(|c| std::cmp::Reverse(c.0.prefix_len()));
    let sock = match &src.tls {
        None => Socket::Udp(
            UdpSocket::bind(src.listen)
                .await
                .map_err(|e| format!("radius {} (udp {}): {e}", src.name, src.listen))?,
        ),
        Some(tls) => {
            let cfg = super::syslog::server_tls(&tls.cert, &tls.key, Some(&tls.client_ca))
                .map_err(|e| format!("radius {}: {e}", src.name))?;
            Socket::Tls(
                TcpListener::bind(src.listen)
                    .await
                    .map_err(|e| format!("radius {} (tls {}): {e}", src.name, src.listen))?,
                tokio_rustls::TlsAcceptor::from(Arc::new(cfg)),
            )
        }
    };
    Ok(Bound { sock, clients })
}

/// The outcomes counted in `tdr_radius_requests_total`.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Acknowledged,
    Duplicate,
    UnknownClient,
    BadAuthenticator,
    Malformed,
    /// TLS: the handshake failed (no client certificate, one the CA did not sign, …) or
    /// timed out.
    TlsRefused,
    /// TLS: the listener already held its most connections.
    TooManyConnections,
}

impl Outcome {
    fn code(self) -> &'static str {
        match self {
            Outcome::Acknowledged => "acknowledged",
            Outcome::Duplicate => "duplicate",
            Outcome::UnknownClient => "unknown_client",
            Outcome::BadAuthenticator => "bad_authenticator",
            Outcome::Malformed => "malformed",
            Outcome::TlsRefused => "tls_refused",
            Outcome::TooManyConnections => "too_many_connections",
        }
    }
}

/// Where a request's answer goes: back to the datagram's sender, or onto the TLS connection
/// it came on (whose task writes it; gone with the connection).
#[derive(Clone)]
enum Reply {
    Udp(SocketAddr),
    Tls(mpsc::UnboundedSender<[u8; 20]>),
}

/// One request as received, from a datagram or a TLS connection.
struct Packet {
    data: Vec<u8>,
    peer: SocketAddr,
    reply: Reply,
}

/// A committed request, told by the writer thread.
struct Acked {
    digest: [u8; 16],
    time: UnixSecs,
    response: [u8; 20],
    to: Reply,
}

/// Sends an Accounting-Response where `to` says. A TLS connection that closed meanwhile
/// loses it: its client resends on a new one, and the duplicate memory answers that.
async fn answer(sock: Option<&UdpSocket>, to: &Reply, response: [u8; 20], listener: &str) {
    let sent = match (to, sock) {
        (Reply::Udp(peer), Some(sock)) => sock.send_to(&response, *peer).await.map(drop),
        (Reply::Tls(conn), _) => {
            let _ = conn.send(response);
            Ok(())
        }
        (Reply::Udp(_), None) => Ok(()),
    };
    if let Err(e) = sent {
        tracing::warn!(listener = %listener, error = %e, "cannot send an Accounting-Response");
    }
}

/// The request's identity for duplicate detection: the client's address, the Identifier and
/// the Request Authenticator (which covers every attribute: a retransmission carries the same
/// one, a changed record a new one).
fn digest_of(client: IpAddr, req: &radius::Request<'_>) -> [u8; 16] {
    let mut h = Sha256::new();
    match client {
        IpAddr::V4(a) => h.update(a.to_ipv6_mapped().octets()),
        IpAddr::V6(a) => h.update(a.octets()),
    }
    h.update([req.identifier]);
    h.update(req.authenticator);
    let mut d = [0u8; 16];
    d.copy_from_slice(&h.finalize()[..16]);
    d
}

/// The requests committed within the window, oldest first.
struct Committed {
    by_digest: HashMap<[u8; 16], UnixSecs>,
    order: VecDeque<(UnixSecs, [u8; 16])>,
}

impl Committed {
    fn insert(&mut self, digest: [u8; 16], t: UnixSecs) {
        if let std::collections::hash_map::Entry::Vacant(v) = self.by_digest.entry(digest) {
            v.insert(t);
            self.order.push_back((t, digest));
        }
    }

    fn forget_before(&mut self, cutoff: UnixSecs) {
        while let Some(&(t, d)) = self.order.front() {
            if t >= cutoff {
                break;
            }
            self.order.pop_front();
            self.by_digest.remove(&d);
        }
    }
}

/// Runs a bound listener until `stop` turns true.
pub async fn run(
    src: RadiusSource,
    bound: Bound,
    shared: Arc<Shared>,
    tx: Sender<ToCore>,
    mut stop: watch::Receiver<bool>,
) {
    let Bound { sock, clients } = bound;
    let src = Arc::new(src);
    let clients = Arc::new(clients);
    let window = src.duplicate_window_secs as UnixSecs;
    let counter = {
        let (shared, name) = (shared.clone(), src.name.clone());
        move |o: Outcome| {
            shared
                .metrics
                .radius_requests
                .get_or_create(&vec![
                    ("listener", name.clone()),
                    ("outcome", o.code().to_string()),
                ])
                .inc();
        }
    };
    let count = &counter;
    let mut committed = Committed {
        by_digest: HashMap::new(),
        order: VecDeque::new(),
    };
    let since = shared.clock.now() - window;
    match shared.store.radius_seen(&src.name, since) {
        Ok(mut seen) => {
            seen.sort();
            for (t, d) in seen {
                committed.insert(d, t);
            }
        }
        // Without them a retransmission after the restart is applied again: the store's
        // own duplicate check still holds it when its time is unchanged.
        Err(e) => {
            tracing::error!(listener = %src.name, code = e.code(), "cannot read the committed RADIUS requests")
        }
    }
    // A TLS listener's connections hand their packets to this loop.
    let (pkt_tx, mut pkt_rx) = mpsc::channel::<Packet>(1024);
    let (udp, transport) = match sock {
        Socket::Udp(s) => (Some(s), "udp"),
        Socket::Tls(listener, acceptor) => {
            tokio::spawn(accept_tls(
                listener,
                acceptor,
                clients.clone(),
                counter.clone(),
                pkt_tx.clone(),
                stop.clone(),
            ));
            (None, "tls")
        }
    };
    drop(pkt_tx);
    let mut in_flight: HashSet<[u8; 16]> = HashSet::new();
    let (ack_tx, mut ack_rx) = mpsc::unbounded_channel::<Acked>();
    let origin: Arc<str> = Arc::from(format!("{transport} {}", src.listen).as_str());
    let source: Arc<str> = Arc::from(src.name.as_str());
    let mut ctx = crate::parse::Context::new(&src.name, shared.clock.now());
    ctx.class = src.class;
    let mut parser = crate::parse::format::radius_detail::RadiusDetail::new(&ctx);
    let mut buf = vec![0u8; radius::MAX_PACKET + 1];
    let mut seq = 0u64;
    let mut prune = tokio::time::interval(Duration::from_secs(60));
    loop {
        let packet = tokio::select! {
            _ = stop.changed() => break,
            Some(a) = ack_rx.recv() => {
                in_flight.remove(&a.digest);
                committed.insert(a.digest, a.time);
                answer(udp.as_ref(), &a.to, a.response, &src.name).await;
                count(Outcome::Acknowledged);
                continue;
            }
            _ = prune.tick() => {
                let cutoff = shared.clock.now() - window;
                committed.forget_before(cutoff);
                let (store, name) = (shared.store.clone(), src.name.clone());
                let pruned = tokio::task::spawn_blocking(move || store.prune_radius_seen(&name, cutoff)).await;
                if let Ok(Err(e)) = pruned {
                    tracing::warn!(listener = %src.name, code = e.code(), "cannot prune the committed RADIUS requests");
                }
                continue;
            }
            Some(p) = pkt_rx.recv() => p,
            r = recv_udp(udp.as_ref(), &mut buf) => match r {
                Ok((n, peer)) => Packet { data: buf[..n].to_vec(), peer, reply: Reply::Udp(peer) },
                Err(e) => {
                    tracing::warn!(listener = %src.name, error = %e, "UDP receive failed");
                    continue;
                }
            },
        };
        let Packet { data, peer, reply } = packet;
        let client = peer.ip().to_canonical();
        let Some(secret) = secret_of(&clients, client) else {
            count(Outcome::UnknownClient);
            continue;
        };
        let Ok(req) = radius::decode(&data) else {
            count(Outcome::Malformed);
            continue;
        };
        if !req.verify(&secret) {
            count(Outcome::BadAuthenticator);
            continue;
        }
        let digest = digest_of(client, &req);
        if committed.by_digest.contains_key(&digest) {
            count(Outcome::Duplicate);
            answer(udp.as_ref(), &reply, req.response(&secret), &src.name).await;
            continue;
        }
        if !in_flight.insert(digest) {
            count(Outcome::Duplicate);
            continue;
        }
        let now = shared.clock.now();
        parser.set_reference(now);
        let mut chunk = Chunk::new();
        match req.to_detail(now, client) {
            Ok(rec) => {
                let frame = rec.strip_suffix(b"\n\n").unwrap_or(&rec);
                chunk.push_frame(
                    Format::RadiusDetail,
                    &mut parser,
                    Frame::Data(frame),
                    frame,
                    seq,
                    seq + 1,
                );
            }
            Err(e) => chunk.push_rejected(
                Format::RadiusDetail,
                seq,
                seq + 1,
                Rejected {
                    code: e.code,
                    reason: e.reason,
                    raw: crate::ingest::quarantine::escape(&data),
                },
            ),
        }
        seq += 1;
        let (ack, response) = (ack_tx.clone(), req.response(&secret));
        let input = Input {
            source: source.clone(),
            origin: origin.clone(),
            stream_id: Arc::from("radius"),
            chunk,
            checkpoint: Some((Store::radius_seen_key(&src.name, now, &digest), Vec::new())),
            file_offset: None,
            read_at: Instant::now(),
            place: None,
            peer: Some(client),
            on_commit: Some(Box::new(move || {
                let _ = ack.send(Acked {
                    digest,
                    time: now,
                    response,
                    to: reply,
                });
            })),
        };
        if tx.send(ToCore::Data(input)).await.is_err() {
            break;
        }
    }
}

/// The shared secret of the longest client network holding `client`.
fn secret_of(clients: &[(IpNet, Arc<[u8]>)], client: IpAddr) -> Option<Arc<[u8]>> {
    clients
        .iter()
        .find(|(net, _)| net.contains(&client))
        .map(|(_, s)| s.clone())
}

/// The next datagram; never ready without a UDP socket.
async fn recv_udp(
    sock: Option<&UdpSocket>,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr)> {
    match sock {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// Accepts RADIUS/TLS connections from the client networks, at most
/// [`MAX_TLS_CONNECTIONS`] at once, until `stop` turns true.
async fn accept_tls(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    clients: Arc<Vec<(IpNet, Arc<[u8]>)>>,
    count: impl Fn(Outcome) + Clone + Send + Sync + 'static,
    to_loop: mpsc::Sender<Packet>,
    mut stop: watch::Receiver<bool>,
) {
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            a = listener.accept() => a,
        };
        let (conn, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "RADIUS/TLS accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Refused before a TLS handshake costs anything.
        if secret_of(&clients, peer.ip().to_canonical()).is_none() {
            count(Outcome::UnknownClient);
            continue;
        }
        if open.fetch_add(1, Ordering::AcqRel) >= MAX_TLS_CONNECTIONS {
            open.fetch_sub(1, Ordering::AcqRel);
            count(Outcome::TooManyConnections);
            continue;
        }
        let _ = conn.set_nodelay(true);
        let (acceptor, count, to_loop, stop, open) = (
            acceptor.clone(),
            count.clone(),
            to_loop.clone(),
            stop.clone(),
            open.clone(),
        );
        tokio::spawn(async move {
            connection(conn, peer, acceptor, &count, to_loop, stop).await;
            open.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

/// One RADIUS/TLS connection: the handshake, then packets cut by their Length field and handed
/// to the listener's loop; its answers are written back in the order they are committed.
async fn connection(
    conn: TcpStream,
    peer: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    count: &(impl Fn(Outcome) + Send + Sync),
    to_loop: mpsc::Sender<Packet>,
    mut stop: watch::Receiver<bool>,
) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(conn)).await {
        Ok(Ok(tls)) => tls,
        _ => {
            count(Outcome::TlsRefused);
            return;
        }
    };
    let (mut rd, mut wr) = tokio::io::split(tls);
    let (reply_tx, mut reply_rx) = mpsc::unbounded_channel::<[u8; 20]>();
    let writer = tokio::spawn(async move {
        while let Some(r) = reply_rx.recv().await {
            if wr.write_all(&r).await.is_err() || wr.flush().await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    loop {
        let mut head = [0u8; 4];
        let read = tokio::select! {
            _ = stop.changed() => break,
            r = rd.read_exact(&mut head) => r,
        };
        if read.is_err() {
            break; // closed by the client, or broken
        }
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        // RFC 6613 §2.6.4: a malformed packet closes the connection; its length cannot be
        // trusted to find the next one.
        if !(radius::MIN_PACKET..=radius::MAX_PACKET).contains(&len) {
            count(Outcome::Malformed);
            break;
        }
        let mut data = vec![0u8; len];
        data[..4].copy_from_slice(&head);
        if rd.read_exact(&mut data[4..]).await.is_err() {
            break;
        }
        if radius::decode(&data).is_err() {
            count(Outcome::Malformed);
            break;
        }
        let packet = Packet {
            data,
            peer,
            reply: Reply::Tls(reply_tx.clone()),
        };
        if to_loop.send(packet).await.is_err() {
            break;
        }
    }
    // The writer ends once every request in flight on this connection is answered or dropped.
    drop(reply_tx);
    let _ = writer.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_open_to_others_or_empty_is_refused_and_one_newline_is_not_the_secret() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        std::fs::write(&p, "testing123\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(&*read_secret(&p).unwrap(), b"testing123");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_secret(&p).unwrap_err().contains("open to other users"));
        std::fs::write(&p, "\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read_secret(&p).unwrap_err().contains("is empty"));
    }

    #[test]
    fn a_retransmission_has_the_same_digest_and_another_client_or_request_does_not() {
        let p = radius::build_request(3, &[(40, &1u32.to_be_bytes())], b"s");
        let q = radius::build_request(4, &[(40, &1u32.to_be_bytes())], b"s");
        let (a, b) = (radius::decode(&p).unwrap(), radius::decode(&q).unwrap());
        let c1: IpAddr = "10.255.0.1".parse().unwrap();
        let c2: IpAddr = "10.255.0.2".parse().unwrap();
        assert_eq!(
            digest_of(c1, &a),
            digest_of(c1, &radius::decode(&p).unwrap())
        );
        assert_ne!(digest_of(c1, &a), digest_of(c2, &a));
        assert_ne!(digest_of(c1, &a), digest_of(c1, &b));
    }

    #[test]
    fn committed_requests_are_forgotten_after_their_window_in_order() {
        let mut c = Committed {
            by_digest: HashMap::new(),
            order: VecDeque::new(),
        };
        c.insert([1; 16], 100);
        c.insert([2; 16], 200);
        c.insert([1; 16], 300); // a repeat keeps its first time
        c.forget_before(150);
        assert!(!c.by_digest.contains_key(&[1; 16]));
        assert!(c.by_digest.contains_key(&[2; 16]));
        c.forget_before(201);
        assert!(c.by_digest.is_empty() && c.order.is_empty());
    }
}
