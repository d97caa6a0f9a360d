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

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc::Sender, watch};

use crate::clock::Clock;
use crate::config::{SyslogSource, Transport};
use crate::ingest::frames::{for_each_frame, Chunk, Rejected};
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
        chunk.push_frame(format, &mut **parser, frame, whole, offset, next);
    }
}

/// Sets a socket's receive buffer (the kernel caps it at net.core.rmem_max).
fn set_recv_buffer(fd: std::os::fd::RawFd, bytes: i32) {
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
        Transport::Tls { cert, key } => {
            let cfg = tls_config(cert, key).map_err(|e| format!("syslog {}: {e}", src.name))?;
            Bound::Tcp(
                TcpListener::bind(src.listen).await.map_err(at)?,
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(cfg))),
            )
        }
    })
}

pub(crate) fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<rustls::ServerConfig, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cannot read the certificate {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad certificate PEM in {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
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
                let _ = conn.set_nodelay(true);
                let (src, shared, tx, stop) =
                    (src.clone(), shared.clone(), tx.clone(), stop.clone());
                let tls = tls.clone();
                tokio::spawn(async move {
                    let gauge = shared
                        .metrics
                        .syslog_connections
                        .get_or_create(&vec![("listener", src.name.clone())])
                        .clone();
                    gauge.inc();
                    match tls {
                        None => stream(src, conn, peer, "tcp", shared, tx, stop).await,
                        Some(acceptor) => match acceptor.accept(conn).await {
                            Ok(t) => stream(src, t, peer, "tls", shared, tx, stop).await,
                            Err(e) => {
                                tracing::warn!(listener = %src.name, error = %e, "TLS handshake failed")
                            }
                        },
                    }
                    gauge.dec();
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
    let mut buf = vec![0u8; 65_536];
    let mut seq = 0u64;
    loop {
        let first = tokio::select! {
            _ = stop.changed() => break,
            r = sock.recv_from(&mut buf) => r,
        };
        let mut chunk = Chunk::new();
        let read_at = Instant::now();
        let mut got = first;
        loop {
            match got {
                Ok((n, _peer)) => {
                    let mut d = &buf[..n];
                    while let Some((&b'\n' | &b'\0' | &b'\r', rest)) = d.split_last() {
                        d = rest;
                    }
                    parsers.handle(&mut chunk, Frame::Data(d), d, seq, seq + 1);
                    seq += 1;
                    messages.inc();
                }
                Err(e) => {
                    tracing::warn!(listener = %src.name, error = %e, "UDP receive failed");
                }
            }
            if chunk.is_full() {
                break;
            }
            got = match sock.try_recv_from(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                other => other,
            };
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
        };
        if tx.send(ToCore::Data(input)).await.is_err() {
            break;
        }
    }
}

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
    let mut framer = Framer::new(Framing::Syslog, DEFAULT_MAX_FRAME);
    let mut buf: Vec<u8> = Vec::with_capacity(256 << 10);
    let mut base = 0u64;
    loop {
        let len = buf.len();
        if buf.capacity() - len < 64 << 10 {
            buf.reserve(64 << 10);
        }
        buf.resize(buf.capacity().min(len + (256 << 10)), 0);
        let n = tokio::select! {
            _ = stop.changed() => break,
            r = conn.read(&mut buf[len..]) => r,
        };
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                tracing::info!(listener = %src.name, error = %e, "syslog connection ended with an error");
                0
            }
        };
        buf.truncate(len + n);
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
