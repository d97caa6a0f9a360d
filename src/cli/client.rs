//! The CLI as a client of the daemon: every command that touches personal data is a request
//! to `tdr serve` over its Unix socket (the same router as HTTPS; the daemon takes the peer's
//! uid from the socket for the audit entry), carrying the user's token from `TDR_TOKEN` or a
//! token file only its owner can read.

use std::path::{Path, PathBuf};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tdr::config::Config;
use tdr::error::ErrorKind;

use super::Failure;

/// An answer of the daemon.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// A connection target and the user's token.
pub struct Client {
    socket: PathBuf,
    token: Option<String>,
    rt: tokio::runtime::Runtime,
}

/// The socket: `TDR_SOCKET`, or the configuration's (`serve.socket`, else
/// `<data_dir>/run/tdr.sock`).
pub fn socket_path(cfg: &Config) -> PathBuf {
    std::env::var_os("TDR_SOCKET")
        .map(PathBuf::from)
        .unwrap_or_else(|| cfg.socket_path())
}

/// Whether a daemon answers on the configuration's socket.
pub fn daemon_running(cfg: &Config) -> bool {
    std::os::unix::net::UnixStream::connect(socket_path(cfg)).is_ok()
}

/// The user's token: `TDR_TOKEN`, else the file `TDR_TOKEN_FILE` names, else
/// `~/.config/tdr/token`. A token file others may read is refused (it would let them act as
/// its owner); no token at all is for the daemon to refuse.
pub fn token() -> Result<Option<String>, Failure> {
    if let Ok(t) = std::env::var("TDR_TOKEN") {
        return Ok(Some(t.trim().to_string()));
    }
    let file = match std::env::var_os("TDR_TOKEN_FILE") {
        Some(f) => PathBuf::from(f),
        None => match std::env::var_os("HOME") {
            Some(h) => Path::new(&h).join(".config/tdr/token"),
            None => return Ok(None),
        },
    };
    read_token_file(&file)
}

fn read_token_file(file: &Path) -> Result<Option<String>, Failure> {
    use std::os::unix::fs::MetadataExt;
    let bad = |m: String| {
        Failure::BadInput(format!(
            "[{}] token file {}: {m}",
            ErrorKind::CliTokenFile.code(),
            file.display()
        ))
    };
    let meta = match std::fs::metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    if meta.mode() & 0o077 != 0 {
        return Err(bad(format!(
            "mode {:o} lets others read it; make it 0600 (chmod 600)",
            meta.mode() & 0o777
        )));
    }
    let t = std::fs::read_to_string(file).map_err(|e| bad(e.to_string()))?;
    Ok(Some(t.trim().to_string()))
}

impl Client {
    pub fn new(cfg: &Config) -> Result<Client, Failure> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::Operational(format!("cannot start the client: {e}")))?;
        Ok(Client {
            socket: socket_path(cfg),
            token: token()?,
            rt,
        })
    }

    /// Sends one request and returns the answer, whatever its status.
    pub fn send(&self, method: &str, path: &str, body: Bytes) -> Result<Answer, Failure> {
        self.send_body(method, path, Full::new(body))
    }

    /// Sends the file at `file` as the body, read as it is sent (a log file may be larger
    /// than this process should hold).
    pub fn upload(&self, method: &str, path: &str, file: &Path) -> Result<Answer, Failure> {
        let f = std::fs::File::open(file)
            .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", file.display())))?;
        let len = f
            .metadata()
            .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", file.display())))?
            .len();
        self.send_body(method, path, FileBody { file: f, len })
    }

    fn send_body<B>(&self, method: &str, path: &str, body: B) -> Result<Answer, Failure>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let unreachable = |e: String| {
            Failure::Operational(format!(
                "[{}] the daemon does not answer on {}: {e} (is `tdr serve` running, and is \
                 its socket yours to reach?)",
                ErrorKind::CliDaemonUnreachable.code(),
                self.socket.display()
            ))
        };
        self.rt.block_on(async {
            let stream = tokio::net::UnixStream::connect(&self.socket)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let (mut tx, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .map_err(|e| unreachable(e.to_string()))?;
            tokio::spawn(conn);
            let mut req = hyper::Request::builder()
                .method(method)
                .uri(path)
                .header(hyper::header::HOST, "tdr")
                .header(hyper::header::CONTENT_TYPE, "application/json");
            if let Some(t) = &self.token {
                req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
            }
            let req = req
                .body(body)
                .map_err(|e| Failure::BadInput(format!("request: {e}")))?;
            let resp = tx
                .send_request(req)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| unreachable(e.to_string()))?
                .to_bytes()
                .to_vec();
            Ok(Answer { status, body })
        })
    }

    /// Sends a request and returns its successful answer, or the daemon's error as the
    /// command's failure (its stable code, message and exit code).
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, Failure> {
        let b = body.map(|v| Bytes::from(v.to_string())).unwrap_or_default();
        let a = self.send(method, path, b)?;
        if (200..300).contains(&a.status) {
            Ok(a)
        } else {
            Err(failure_of(&a))
        }
    }

    /// [`call`](Self::call) with a JSON answer.
    pub fn json(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, Failure> {
        let a = self.call(method, path, body)?;
        serde_json::from_slice(&a.body)
            .map_err(|e| Failure::Operational(format!("the daemon's answer is not JSON: {e}")))
    }
}

/// A file as a request body, in chunks of 256 KiB. It reads with blocking calls: the CLI's
/// runtime has one thread and nothing else to do meanwhile.
struct FileBody {
    file: std::fs::File,
    len: u64,
}

impl hyper::body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        use std::io::Read;
        let mut buf = vec![0u8; 256 * 1024];
        std::task::Poll::Ready(match self.file.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some(Ok(hyper::body::Frame::data(Bytes::from(buf))))
            }
            Err(e) => Some(Err(e)),
        })
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.len)
    }
}

/// The command's failure for an error answer: `[code] message` (with every problem the
/// daemon listed), exiting as the code's kind says.
pub fn failure_of(a: &Answer) -> Failure {
    let v: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
    let code = v["error"]["code"]
        .as_str()
        .unwrap_or("internal")
        .to_string();
    let mut msg = format!(
        "[{code}] {}",
        v["error"]["message"]
            .as_str()
            .unwrap_or("the daemon gave no reason")
    );
    for p in v["error"]["problems"].as_array().into_iter().flatten() {
        msg.push_str(&format!(
            "\n  - {}",
            p.as_str().map_or(p.to_string(), str::to_string)
        ));
    }
    let kind = ErrorKind::from_code(&code).unwrap_or(ErrorKind::Internal);
    if kind.is_auth() {
        msg.push_str(
            "\n(give your token in TDR_TOKEN or a 0600 file ~/.config/tdr/token; an admin \
             adds users with `tdr user add`)",
        );
    }
    if kind.is_operational() {
        Failure::Operational(msg)
    } else {
        Failure::BadInput(msg)
    }
}

/// `s` as one path segment of a URL.
pub fn seg(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("token");
        std::fs::write(&f, "tdr_x\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(read_token_file(&f), Err(Failure::BadInput(m)) if m.contains("0600")));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(read_token_file(&f), Ok(Some(t)) if t == "tdr_x"));
        assert!(matches!(read_token_file(&d.path().join("none")), Ok(None)));
    }
}
