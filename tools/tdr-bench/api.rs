//! Load for the HTTP API of a running `tdr serve` (tools/api-bench.sh): N clients, each on its
//! own keep-alive HTTPS (or HTTP) connection, send audited abuse lookups back to back; every
//! answer's status and latency is recorded.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// One request: the JSON body of `POST /v1/abuse/lookup`.
pub type Query = String;

pub struct Outcome {
    pub latencies_ms: Vec<f64>,
    pub statuses: std::collections::BTreeMap<u16, u64>,
    pub seconds: f64,
}

pub fn tls_config(
    ca: &Path,
) -> Result<rustls::ClientConfig, Box<dyn std::error::Error + Send + Sync>> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_file_iter(ca)? {
        roots.add(c?)?;
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

pub type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

pub async fn connect(
    url: &url_parts::Url,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<Sender, Box<dyn std::error::Error + Send + Sync>> {
    let tcp = tokio::net::TcpStream::connect((url.host.as_str(), url.port)).await?;
    tcp.set_nodelay(true)?;
    match tls {
        Some(cfg) => {
            let name = rustls_pki_types::ServerName::try_from(url.host.clone())?;
            let stream = tokio_rustls::TlsConnector::from(cfg)
                .connect(name, tcp)
                .await?;
            let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            Ok(send)
        }
        None => {
            let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
            tokio::spawn(conn);
            Ok(send)
        }
    }
}

/// Minimal `scheme://host:port` parsing for the bench's own URLs.
pub mod url_parts {
    pub struct Url {
        pub https: bool,
        pub host: String,
        pub port: u16,
    }

    pub fn parse(s: &str) -> Result<Url, String> {
        let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("{s}: expected http:// or https://"));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("{s}: expected host:port"))?;
        Ok(Url {
            https,
            host: host.to_string(),
            port: port.parse().map_err(|_| format!("{s}: bad port"))?,
        })
    }
}

/// Runs `clients` connections for `seconds` (or until `max_requests` in total), each sending
/// the queries round robin (client i starts at query i).
pub fn run(
    url: &str,
    ca: Option<&Path>,
    token: &str,
    queries: Vec<Query>,
    clients: usize,
    seconds: f64,
    max_requests: u64,
) -> Result<Outcome, Box<dyn std::error::Error + Send + Sync>> {
    let u = url_parts::parse(url)?;
    let tls = match (u.https, ca) {
        (true, Some(ca)) => Some(Arc::new(tls_config(ca)?)),
        (true, None) => return Err("https needs --ca".into()),
        (false, _) => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let queries = Arc::new(queries);
    let auth = format!("Bearer {token}");
    rt.block_on(async move {
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let left = Arc::new(std::sync::atomic::AtomicI64::new(max_requests as i64));
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..clients {
            let mut send = connect(&u, tls.clone()).await?;
            let queries = queries.clone();
            let auth = auth.clone();
            let left = left.clone();
            let host = format!("{}:{}", u.host, u.port);
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut statuses = std::collections::BTreeMap::new();
                let mut i = c;
                while Instant::now() < deadline
                    && left.fetch_sub(1, std::sync::atomic::Ordering::Relaxed) > 0
                {
                    let body = queries[i % queries.len()].clone();
                    i += 1;
                    let req = hyper::Request::post("/v1/abuse/lookup")
                        .header("host", &host)
                        .header("authorization", &auth)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(body)))?;
                    let t = Instant::now();
                    send.ready().await?;
                    let resp = send.send_request(req).await?;
                    let status = resp.status().as_u16();
                    resp.into_body().collect().await?;
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    *statuses.entry(status).or_insert(0u64) += 1;
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((lat, statuses))
            }));
        }
        let mut out = Outcome {
            latencies_ms: Vec::new(),
            statuses: Default::default(),
            seconds: 0.0,
        };
        for t in tasks {
            let (lat, st) = t.await??;
            out.latencies_ms.extend(lat);
            for (k, v) in st {
                *out.statuses.entry(k).or_insert(0) += v;
            }
        }
        out.seconds = t0.elapsed().as_secs_f64();
        Ok(out)
    })
}
