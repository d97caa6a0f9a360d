//! The API's connections. Every listener — plain HTTP on loopback, HTTPS, the CLI's Unix
//! socket — is served the same way: at most `max_connections` at once (more wait in the
//! kernel's backlog), a request's headers within `header_timeout`, a connection closed once
//! nothing has moved either way for `idle_timeout`, and every request carrying a [`Peer`]
//! (who is on the other end) for the audit entry and the per-peer limits.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// Who is on the other end of a request's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// `api` (HTTP/HTTPS) or `cli` (the Unix socket).
    pub channel: &'static str,
    /// The peer's IP address, or `uid N` on the Unix socket.
    pub addr: String,
    /// The peer's user id, known on the Unix socket only (`SO_PEERCRED`).
    pub uid: Option<u32>,
}

/// The limits every connection is served under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn of(serve: &crate::config::Serve) -> Limits {
        Limits {
            header_timeout: Duration::from_secs(serve.http_header_timeout_secs),
            idle_timeout: Duration::from_secs(serve.http_idle_timeout_secs),
            max_connections: serve.http_max_connections.max(1) as usize,
        }
    }
}

/// A listener the API is served on.
pub enum Listener {
    Plain(tokio::net::TcpListener),
    Tls(super::tls::TlsListener),
    Unix(tokio::net::UnixListener),
}

impl Listener {
    async fn accept(&mut self) -> std::io::Result<(Box<dyn Io>, Peer)> {
        match self {
            Listener::Plain(l) => {
                let (s, a) = l.accept().await?;
                Ok((Box::new(s), ip_peer(a)))
            }
            Listener::Tls(l) => {
                let (s, a) = axum::serve::Listener::accept(l).await;
                Ok((Box::new(s), ip_peer(a)))
            }
            Listener::Unix(l) => {
                let (s, _) = l.accept().await?;
                let uid = s.peer_cred()?.uid();
                Ok((
                    Box::new(s),
                    Peer {
                        channel: "cli",
                        addr: format!("uid {uid}"),
                        uid: Some(uid),
                    },
                ))
            }
        }
    }
}

fn ip_peer(a: std::net::SocketAddr) -> Peer {
    Peer {
        channel: "api",
        addr: a.ip().to_string(),
        uid: None,
    }
}

/// A connection's byte stream, whatever the listener.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Serves `app` on `listener` under `limits` until `stop` changes; connections still open
/// then are shut down gracefully (a request in flight is answered).
pub async fn serve(
    mut listener: Listener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stop.changed() => return,
        };
        let (io, peer) = tokio::select! {
            c = listener.accept() => match c {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "api accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let app = app.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            connection(io, peer, app, limits, stop).await;
            drop(permit);
        });
    }
}

async fn connection(
    io: Box<dyn Io>,
    peer: Peer,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let started = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let io = Watched {
        inner: io,
        started,
        last: last.clone(),
    };
    let service = TowerToHyperService::new(tower::service_fn(
        move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(peer.clone());
            app.clone().oneshot(req)
        },
    ));
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let tick = (limits.idle_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
    let mut clock = tokio::time::interval(tick);
    let mut closing: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = stop.changed(), if closing.is_none() => {
                conn.as_mut().graceful_shutdown();
                closing = Some(Instant::now());
            }
            _ = clock.tick() => {
                let idle = started.elapsed()
                    .saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
                match closing {
                    None if idle >= limits.idle_timeout => {
                        // Lets an answer being computed finish; a half-sent request does not.
                        conn.as_mut().graceful_shutdown();
                        closing = Some(Instant::now());
                    }
                    Some(since) if since.elapsed() >= limits.idle_timeout
                        && idle >= limits.idle_timeout => return,
                    _ => {}
                }
            }
        }
    }
}

/// A stream that notes when bytes last moved either way.
struct Watched {
    inner: Box<dyn Io>,
    started: Instant,
    last: Arc<AtomicU64>,
}

impl Watched {
    fn moved(&self) {
        self.last
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.moved();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
