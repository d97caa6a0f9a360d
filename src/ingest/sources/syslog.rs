//! Syslog listeners: UDP (one message a datagram, RFC 5426), TCP and TLS (RFC 6587 octet
//! counting or LF framing, told apart per message; RFC 5425). The body format is chosen by the
//! message's program tag, or the listener's default format.
//!
//! TCP and TLS are read only as fast as the store takes their messages: the channel to the
//! applier is bounded, so a slow disk fills the socket buffers and slows the sender; memory
//! does not grow. UDP has no such brake: what the kernel's receive buffer cannot hold is
//! dropped by the kernel and shown in `tdr_udp_kernel_drops` (from /proc/net/udp), never
//! silently. A message read but not yet committed when the process is killed is lost: syslog
//! has no acknowledgements (RELP is not supported).
//!
//! Who may send is the listener's to say: a sender outside its `allow` networks is dropped
//! before anything is parsed, a TLS listener asks for a client certificate from its CA, and
//! the source and class of every record are the listener's, whatever an `events` line names.
//! Every refusal is counted in `tdr_syslog_refused_total` by listener and reason, never by
//! address. A TCP/TLS connection has a handshake timeout, an idle timeout and a cap on how
//! many a listener holds; its buffer grows with what a frame needs, up to the frame cap.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc::Sender, watch};

use super::udp::{Datagram, UdpBatches};
use crate::clock::Clock;
use crate::config::{SyslogSource, Transport};
use crate::ingest::frames::{for_each_frame, Chunk, Rejected};
use crate::model::{Class, Event};
use crate::parse::framing::{Frame, Framer, Framing, DEFAULT_MAX_FRAME};
use crate::parse::{Format, Parser};

use crate::ingest::pipeline::{Input, ToCore};
use crate::ingest::Shared;

/// The parsers of one stream (a UDP listener or a TCP connection), one per format, made when
/// first needed.
struct Parsers {
    src: Arc<SyslogSource>,
    clock: Arc<dyn Clock>,
    map: HashMap<Format, Box<dyn Parser>>,
    refreshed: Instant,
}

impl Parsers {
    fn new(src: Arc<SyslogSource>, clock: Arc<dyn Clock>) -> Parsers {
        Parsers {
            src,
            clock,
            map: HashMap::new(),
            refreshed: Instant::now(),
        }
    }

    /// Parses one message into `chunk`.
    fn handle(
        &mut self,
        chunk: &mut Chunk,
        frame: Frame<'_>,
        whole: &[u8],
        offset: u64,
        next: u64,
    ) {
        let now = self.clock.now();
        if self.refreshed.elapsed() >= Duration::from_secs(60) {
            for p in self.map.values_mut() {
                p.set_reference(now);
            }
            self.refreshed = Instant::now();
        }
        let data = match frame {
            Frame::Data(d) | Frame::Tail(d) => d,
            Frame::TooLong { head, .. } | Frame::BadLength { head } => head,
        };
        let header = crate::parse::common::syslog::split(data);
        let program = header.app;
        let Some(format) = self.src.format_of(program) else {
            let tag: String = program
                .unwrap_or("")
                .chars()
                .take(32)
                .filter(|c| c.is_ascii_graphic())
                .collect();
            chunk.push_rejected(
                Format::Events,
                offset,
                next,
                Rejected {
                    code: "syslog.unknown_program",
                    reason: if program.is_some() {
                        format!("no format is configured for program {tag:?} on this listener")
                    } else {
                        "the message has no program tag and this listener has no default format"
                            .into()
                    },
                    raw: crate::ingest::quarantine::escape(data),
                },
            );
            return;
        };
        let src = &self.src;
        let parser = self.map.entry(format).or_insert_with(|| {
            crate::parse::parser(format, &src.stream.context(&src.name, now))
                .expect("formats are checked when the configuration is read")
        });
        let frame = match frame {
            // A format of its own (the neutral events, a CSV line) is the message body.
            Frame::Data(_) if !format.syslog_native() => Frame::Data(header.msg),
            other => other,
        };
        let before = chunk.events.len();
        chunk.push_frame(format, &mut **parser, frame, whole, offset, next);
        for ev in &mut chunk.events[before..] {
            claim(ev, &self.src.name, self.src.stream.class);
        }
    }
}

/// Gives a record that came through a listener the listener's source and class: an `events`
/// line naming another source (`"source":"bng-radius"`) or class is the listener's record
/// all the same, so a sender cannot make its lines pass for another producer's, nor a
/// `nas_reboot` cut another source's sessions.
fn claim(ev: &mut Event, name: &str, listener_class: Class) {
    let (source, class) = match ev {
        Event::Session { source, class, .. }
        | Event::Lease { source, class, .. }
        | Event::NatBlock { source, class, .. }
        | Event::NasReboot { source, class, .. }
        | Event::Free { source, class, .. } => (source, Some(class)),
        Event::Seen { source, .. } => (source, None),
        Event::Cdr(c) => (&mut c.source, Some(&mut c.class)),
    };
    if source != name {
        *source = name.to_string();
    }
    if let Some(c) = class {
        *c = listener_class;
    }
}

/// Sets a socket's receive buffer (the kernel caps it at net.core.rmem_max).
pub(crate) fn set_recv_buffer(fd: std::os::fd::RawFd, bytes: i32) {
    // SAFETY: setsockopt on a socket we own, with a pointer to an int that outlives the call.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &bytes as *const i32 as *const libc::c_void,
            std::mem::size_of::<i32>() as libc::socklen_t,
        );
    }
}

/// A bound listener, ready to run.
pub enum Bound {
    Udp(UdpSocket),
    Tcp(TcpListener, Option<tokio_rustls::TlsAcceptor>),
}

/// Why a datagram or connection was refused before anything was parsed (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The sender is outside the listener's `allow` networks.
    NotAllowed,
    /// The listener already holds `max_connections` connections.
    TooManyConnections,
    /// The TLS handshake took longer than `handshake_timeout_secs`.
    HandshakeTimeout,
    /// The TLS handshake failed (no client certificate, one from another CA, not TLS).
    HandshakeFailed,
    /// Nothing came for `idle_timeout_secs`: the connection was closed.
    IdleTimeout,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NotAllowed => "not_allowed",
            Refusal::TooManyConnections => "too_many_connections",
            Refusal::HandshakeTimeout => "handshake_timeout",
            Refusal::HandshakeFailed => "handshake_failed",
            Refusal::IdleTimeout => "idle_timeout",
        }
    }
}

fn refused(shared: &Shared, src: &SyslogSource, why: Refusal) {
    shared
        .metrics
        .syslog_refused
        .get_or_create(&vec![
            ("listener", src.name.clone()),
            ("reason", why.code().to_string()),
        ])
        .inc();
}

/// Binds a listener (before the daemon says it is ready: a port in use is a start failure).
pub async fn bind(src: &SyslogSource) -> Result<Bound, String> {
    let at = |e: std::io::Error| {
        format!(
            "syslog {} ({} {}): {e}",
            src.name,
            src.transport.name(),
            src.listen
        )
    };
    Ok(match &src.transport {
        Transport::Udp => {
            let s = UdpSocket::bind(src.listen).await.map_err(at)?;
            set_recv_buffer(std::os::fd::AsRawFd::as_raw_fd(&s), 8 << 20);
            Bound::Udp(s)
        }
        Transport::Tcp => Bound::Tcp(TcpListener::bind(src.listen).await.map_err(at)?, None),
        Transport::Tls {
            cert,
            key,
            client_ca,
        } => {
            let cfg = server_tls(cert, key, client_ca.as_deref())
                .map_err(|e| format!("syslog {}: {e}", src.name))?;
            Bound::Tcp(
                TcpListener::bind(src.listen).await.map_err(at)?,
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(cfg))),
            )
        }
    })
}

/// A TLS server configuration without client authentication (the HTTPS API: its clients
/// authenticate with tokens).
pub(crate) fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<rustls::ServerConfig, String> {
    server_tls(cert, key, None)
}

/// A TLS server configuration; with `client_ca`, a client must present a certificate that
/// chains to a CA in that PEM file.
pub(crate) fn server_tls(
    cert: &std::path::Path,
    key: &std::path::Path,
    client_ca: Option<&std::path::Path>,
) -> Result<rustls::ServerConfig, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let pem_certs = |path: &std::path::Path, what: &str| {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("bad {what} PEM in {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("no certificate in {}", path.display()));
        }
        Ok(certs)
    };
    let certs = pem_certs(cert, "certificate")?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in pem_certs(ca, "client CA certificate")? {
                roots
                    .add(c)
                    .map_err(|e| format!("bad client CA certificate in {}: {e}", ca.display()))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| format!("client CA {}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not make a TLS configuration: {e}"))
}

/// Runs a bound listener until `stop` turns true.
pub async fn run(
    src: SyslogSource,
    bound: Bound,
    shared: Arc<Shared>,
    tx: Sender<ToCore>,
    stop: watch::Receiver<bool>,
) {
    let src = Arc::new(src);
    match bound {
        Bound::Udp(sock) => udp(src, sock, shared, tx, stop).await,
        Bound::Tcp(listener, tls) => {
            let open = Arc::new(AtomicUsize::new(0));
            let mut stop_accept = stop.clone();
            loop {
                let accepted = tokio::select! {
                    _ = stop_accept.changed() => break,
                    a = listener.accept() => a,
                };
                let (conn, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(listener = %src.name, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                // Refused before a byte is read (and before a TLS handshake costs anything).
                if !src.allows(peer.ip()) {
                    refused(&shared, &src, Refusal::NotAllowed);
                    continue;
                }
                if open.fetch_add(1, Ordering::AcqRel) >= src.limits.max_connections {
                    open.fetch_sub(1, Ordering::AcqRel);
                    refused(&shared, &src, Refusal::TooManyConnections);
                    continue;
                }
                let _ = conn.set_nodelay(true);
                let (src, shared, tx, stop) =
                    (src.clone(), shared.clone(), tx.clone(), stop.clone());
                let (tls, open) = (tls.clone(), open.clone());
                tokio::spawn(async move {
                    let gauge = shared
                        .metrics
                        .syslog_connections
                        .get_or_create(&vec![("listener", src.name.clone())])
                        .clone();
                    gauge.inc();
                    let handshake = Duration::from_secs(src.limits.handshake_timeout_secs);
                    match tls {
                        None => stream(src, conn, peer, "tcp", shared, tx, stop).await,
                        Some(acceptor) => {
                            match tokio::time::timeout(handshake, acceptor.accept(conn)).await {
                                Ok(Ok(t)) => stream(src, t, peer, "tls", shared, tx, stop).await,
                                Ok(Err(e)) => {
                                    refused(&shared, &src, Refusal::HandshakeFailed);
                                    tracing::warn!(listener = %src.name, error = %e, "TLS handshake failed")
                                }
                                Err(_) => refused(&shared, &src, Refusal::HandshakeTimeout),
                            }
                        }
                    }
                    gauge.dec();
                    open.fetch_sub(1, Ordering::AcqRel);
                });
            }
        }
    }
}

async fn udp(
    src: Arc<SyslogSource>,
    sock: UdpSocket,
    shared: Arc<Shared>,
    tx: Sender<ToCore>,
    mut stop: watch::Receiver<bool>,
) {
    let mut parsers = Parsers::new(src.clone(), shared.clock.clone());
    let origin: Arc<str> = Arc::from(format!("udp {}", src.listen).as_str());
    let source: Arc<str> = Arc::from(src.name.as_str());
    let messages = shared
        .metrics
        .syslog_messages
        .get_or_create(&vec![("listener", src.name.clone())])
        .clone();
    // Every event of a chunk has the chunk's sender: a datagram from another sender starts
    // the next chunk.
    let mut batches = UdpBatches::new(65_536);
    let mut seq = 0u64;
    while batches.wait(&sock, &mut stop).await {
        let mut chunk = Chunk::new();
        let read_at = Instant::now();
        while !chunk.is_full() {
            match batches.next(&sock, |ip| src.allows(ip)) {
                None => break,
                Some(Datagram::Refused) => refused(&shared, &src, Refusal::NotAllowed),
                Some(Datagram::Data(_, mut d)) => {
                    while let Some((&b'\n' | &b'\0' | &b'\r', rest)) = d.split_last() {
                        d = rest;
                    }
                    parsers.handle(&mut chunk, Frame::Data(d), d, seq, seq + 1);
                    seq += 1;
                    messages.inc();
                }
                Some(Datagram::Failed(e)) => {
                    tracing::warn!(listener = %src.name, error = %e, "UDP receive failed");
                }
            }
        }
        if chunk.items.is_empty() {
            continue;
        }
        let input = Input {
            source: source.clone(),
            origin: origin.clone(),
            stream_id: Arc::from("udp"),
            chunk,
            checkpoint: None,
            file_offset: None,
            read_at,
            place: None,
            peer: batches.sender(),
            on_commit: None,
        };
        if tx.send(ToCore::Data(input)).await.is_err() {
            break;
        }
    }
}

/// Bytes asked of the socket per read; the frame buffer grows past it only while a frame
/// longer than that is being received (up to the framer's cap).
const READ_BYTES: usize = 16 << 10;

/// One TCP or TLS connection.
async fn stream<S: AsyncRead + Unpin>(
    src: Arc<SyslogSource>,
    mut conn: S,
    peer: SocketAddr,
    kind: &str,
    shared: Arc<Shared>,
    tx: Sender<ToCore>,
    mut stop: watch::Receiver<bool>,
) {
    let mut parsers = Parsers::new(src.clone(), shared.clock.clone());
    let origin: Arc<str> = Arc::from(format!("{kind} {} from {peer}", src.listen).as_str());
    let stream_id: Arc<str> = Arc::from(format!("{kind}:{peer}:{}", shared.clock.now()).as_str());
    let source: Arc<str> = Arc::from(src.name.as_str());
    let messages = shared
        .metrics
        .syslog_messages
        .get_or_create(&vec![("listener", src.name.clone())])
        .clone();
    let idle = Duration::from_secs(src.limits.idle_timeout_secs);
    let mut framer = Framer::new(Framing::Syslog, DEFAULT_MAX_FRAME);
    let mut read = vec![0u8; READ_BYTES];
    // The bytes not framed yet: empty between frames, as long as one frame while it comes.
    let mut buf: Vec<u8> = Vec::new();
    let mut base = 0u64;
    loop {
        let n = tokio::select! {
            _ = stop.changed() => break,
            r = tokio::time::timeout(idle, conn.read(&mut read)) => r,
        };
        let n = match n {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                tracing::info!(listener = %src.name, error = %e, "syslog connection ended with an error");
                0
            }
            Err(_) => {
                // Idle too long: what it sent whole is in; an unterminated last message is
                // framed as a tail like at any other end.
                refused(&shared, &src, Refusal::IdleTimeout);
                0
            }
        };
        buf.extend_from_slice(&read[..n]);
        let eof = n == 0;
        let read_at = Instant::now();
        let mut chunk = Chunk::new();
        let pos = for_each_frame(&mut framer, &buf, eof, &mut |start, next, frame| {
            parsers.handle(
                &mut chunk,
                frame,
                &buf[start..next],
                base + start as u64,
                base + next as u64,
            );
            messages.inc();
            true
        })
        .unwrap_or(0);
        buf.drain(..pos);
        base += pos as u64;
        if buf.capacity() > 4 * READ_BYTES && buf.len() <= READ_BYTES {
            // A long frame is through: give its memory back.
            buf.shrink_to(READ_BYTES);
        }
        if !chunk.items.is_empty() {
            let input = Input {
                source: source.clone(),
                origin: origin.clone(),
                stream_id: stream_id.clone(),
                chunk,
                checkpoint: None,
                file_offset: None,
                read_at,
                place: None,
                peer: Some(peer.ip().to_canonical()),
                on_commit: None,
            };
            // Waits while the store is behind: the sender is slowed, memory stays flat.
            if tx.send(ToCore::Data(input)).await.is_err() {
                break;
            }
        }
        if eof {
            break;
        }
    }
}
