//! RADIUS accounting servers (`[[radius]]`): RFC 2866 over UDP, answered only for what is
//! committed.
//!
//! A datagram is taken only from a configured client network, only as a well-formed
//! Accounting-Request, and only with the Request Authenticator its network's shared secret
//! gives; anything else is dropped unanswered (RFC 2866 §3: silently discarded) and counted in
//! `tdr_radius_requests_total` by listener and outcome, never by address.
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
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use sha2::{Digest, Sha256};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc::Sender, watch};

use crate::config::RadiusSource;
use crate::ingest::frames::{Chunk, Rejected};
use crate::ingest::pipeline::{Input, ToCore};
use crate::ingest::Shared;
use crate::model::UnixSecs;
use crate::parse::framing::Frame;
use crate::parse::{radius, Format, Parser};
use crate::store::Store;

/// A bound listener and its clients' secrets.
pub struct Bound {
    sock: UdpSocket,
    clients: Vec<(IpNet, Arc<[u8]>)>,
}

impl Bound {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.sock.local_addr()
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

/// Binds the listener and reads its secrets (before the daemon says it is ready: a port in
/// use or an unreadable secret is a start failure).
pub async fn bind(src: &RadiusSource) -> Result<Bound, String> {
    let mut clients = Vec::new();
    for c in &src.clients {
        let secret =
            read_secret(&c.secret_file).map_err(|e| format!("radius {}: {e}", src.name))?;
        clients.push((c.network, secret));
    }
    // Longest prefix first: a host's own secret wins over its network's.
    clients.sort_by_key(|c| std::cmp::Reverse(c.0.prefix_len()));
    let sock = UdpSocket::bind(src.listen)
        .await
        .map_err(|e| format!("radius {} (udp {}): {e}", src.name, src.listen))?;
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
}

impl Outcome {
    fn code(self) -> &'static str {
        match self {
            Outcome::Acknowledged => "acknowledged",
            Outcome::Duplicate => "duplicate",
            Outcome::UnknownClient => "unknown_client",
            Outcome::BadAuthenticator => "bad_authenticator",
            Outcome::Malformed => "malformed",
        }
    }
}

/// A committed request, told by the writer thread.
struct Acked {
    digest: [u8; 16],
    time: UnixSecs,
    response: [u8; 20],
    to: SocketAddr,
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
    let window = src.duplicate_window_secs as UnixSecs;
    let count = |o: Outcome| {
        shared
            .metrics
            .radius_requests
            .get_or_create(&vec![
                ("listener", src.name.clone()),
                ("outcome", o.code().to_string()),
            ])
            .inc();
    };
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
    let mut in_flight: HashSet<[u8; 16]> = HashSet::new();
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<Acked>();
    let origin: Arc<str> = Arc::from(format!("udp {}", src.listen).as_str());
    let source: Arc<str> = Arc::from(src.name.as_str());
    let mut ctx = crate::parse::Context::new(&src.name, shared.clock.now());
    ctx.class = src.class;
    let mut parser = crate::parse::format::radius_detail::RadiusDetail::new(&ctx);
    let mut buf = vec![0u8; radius::MAX_PACKET + 1];
    let mut seq = 0u64;
    let mut prune = tokio::time::interval(Duration::from_secs(60));
    loop {
        let received = tokio::select! {
            _ = stop.changed() => break,
            Some(a) = ack_rx.recv() => {
                in_flight.remove(&a.digest);
                committed.insert(a.digest, a.time);
                if let Err(e) = sock.send_to(&a.response, a.to).await {
                    tracing::warn!(listener = %src.name, error = %e, "cannot send an Accounting-Response");
                }
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
            r = sock.recv_from(&mut buf) => r,
        };
        let (n, peer) = match received {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(listener = %src.name, error = %e, "UDP receive failed");
                continue;
            }
        };
        let client = peer.ip().to_canonical();
        let Some(secret) = clients
            .iter()
            .find(|(net, _)| net.contains(&client))
            .map(|(_, s)| s.clone())
        else {
            count(Outcome::UnknownClient);
            continue;
        };
        let data = &buf[..n];
        let Ok(req) = radius::decode(data) else {
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
            if let Err(e) = sock.send_to(&req.response(&secret), peer).await {
                tracing::warn!(listener = %src.name, error = %e, "cannot send an Accounting-Response");
            }
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
                    raw: crate::ingest::quarantine::escape(data),
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
                    to: peer,
                });
            })),
        };
        if tx.send(ToCore::Data(input)).await.is_err() {
            break;
        }
    }
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
