//! `tdr serve` as the tests run it: on a data directory, HTTP on a free loopback port, the
//! CLI's socket at the data directory's default place, and no syslog or spool unless the
//! test's configuration asks. The CLI commands of the tests then go through it, as they do on
//! a real box (one door).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::free_port;

/// A running `tdr serve`; killed when dropped.
pub struct Daemon {
    child: Option<Child>,
    pub http: u16,
    pub data: PathBuf,
    pub config: PathBuf,
    log: PathBuf,
}

/// The test configuration for a daemon on `data` with HTTP on `http`: no syslog, no spool,
/// quick polling and flushing; `extra` is appended (a `[[syslog]]` in it replaces the
/// `syslog = []`).
pub fn config_text(data: &Path, http: u16, extra: &str) -> String {
    let no_syslog = if extra.contains("[[syslog]]") {
        ""
    } else {
        "syslog = []\n"
    };
    let spool = if extra.contains("spool") {
        ""
    } else {
        "spool = false\n"
    };
    format!(
        "version = 1\ndata_dir = \"{}\"\n{no_syslog}[serve]\nhttp_listen = \"127.0.0.1:{http}\"\n\
         {spool}poll_interval_ms = 100\nflush_interval_ms = 50\n{extra}",
        data.display()
    )
}

impl Daemon {
    /// `tdr serve` on `data` with the test configuration ([`config_text`]), written next to
    /// the data directory.
    pub fn start(bin: &str, data: &Path) -> Daemon {
        Daemon::with(bin, data, "")
    }

    /// As [`start`](Self::start), with `extra` configuration.
    pub fn with(bin: &str, data: &Path, extra: &str) -> Daemon {
        let http = free_port();
        let name = data.file_name().map(|n| n.to_string_lossy().into_owned());
        let config = data.with_file_name(format!("{}.tdr.toml", name.unwrap_or_default()));
        std::fs::write(&config, config_text(data, http, extra)).unwrap();
        let log = data.with_file_name(format!(
            "{}.serve.log",
            data.file_name().unwrap().to_string_lossy()
        ));
        Daemon::from_config(bin, &config, http, &log)
    }

    /// `tdr serve --config CONFIG` whose HTTP listener is on `http`, logging to `log`;
    /// returns once `/health` answers.
    pub fn from_config(bin: &str, config: &Path, http: u16, log: &Path) -> Daemon {
        Daemon::spawn(bin, config, http, log, || get(http, "/health").is_some())
    }

    /// `tdr serve` on `data` with its HTTP listener speaking TLS (a self-signed certificate
    /// for `localhost`, written beside the data directory) and `extra` configuration; returns
    /// once the listener accepts connections and the CLI's socket exists.
    pub fn https(bin: &str, data: &Path, extra: &str) -> Daemon {
        let http = free_port();
        let base = data.file_name().unwrap().to_string_lossy().into_owned();
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert = data.with_file_name(format!("{base}.cert.pem"));
        let key = data.with_file_name(format!("{base}.key.pem"));
        std::fs::write(&cert, ck.cert.pem()).unwrap();
        std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
        let tls = format!(
            "tls_cert = \"{}\"\ntls_key = \"{}\"\n{extra}",
            cert.display(),
            key.display()
        );
        let config = data.with_file_name(format!("{base}.tdr.toml"));
        std::fs::write(&config, config_text(data, http, &tls)).unwrap();
        let log = data.with_file_name(format!("{base}.serve.log"));
        let socket = data.join("run/tdr.sock");
        Daemon::spawn(bin, &config, http, &log, || {
            socket.exists() && std::net::TcpStream::connect(("127.0.0.1", http)).is_ok()
        })
    }

    fn spawn(
        bin: &str,
        config: &Path,
        http: u16,
        log: &Path,
        mut up: impl FnMut() -> bool,
    ) -> Daemon {
        let child = Command::new(bin)
            .args(["serve", "--config"])
            .arg(config)
            .env("TDR_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let data = tdr::config::Config::load(config)
            .map(|c| c.data_dir)
            .unwrap_or_default();
        let d = Daemon {
            child: Some(child),
            http,
            data,
            config: config.to_path_buf(),
            log: log.to_path_buf(),
        };
        let until = Instant::now() + Duration::from_secs(30);
        while !up() {
            assert!(
                Instant::now() < until,
                "tdr serve did not come up: {}",
                d.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    /// A daemon on `data` for the caller's CLI commands, unless one already answers on its
    /// socket (then `None`: the running one serves them).
    pub fn ensure(bin: &str, data: &Path) -> Option<Daemon> {
        let socket = data.join("run/tdr.sock");
        if std::os::unix::net::UnixStream::connect(socket).is_ok() {
            return None;
        }
        Some(Daemon::start(bin, data))
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn metrics(&self) -> String {
        get(self.http, "/metrics").map(|r| r.1).unwrap_or_default()
    }

    /// Sum of a metric's samples whose line contains every one of `labels`.
    pub fn sum(&self, name: &str, labels: &[&str]) -> u64 {
        sum(&self.metrics(), name, labels)
    }

    /// Waits up to 30 s for `ok`, failing with the metrics and the log.
    pub fn wait_for(&self, what: &str, mut ok: impl FnMut(&Daemon) -> bool) {
        let until = Instant::now() + Duration::from_secs(30);
        while !ok(self) {
            assert!(
                Instant::now() < until,
                "timed out waiting for {what}\nmetrics:\n{}\nlog:\n{}",
                self.metrics(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM; returns the exit status and how long the stop took.
    pub fn stop(mut self) -> (std::process::ExitStatus, Duration) {
        let mut child = self.child.take().unwrap();
        let t = Instant::now();
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait().unwrap();
        (status, t.elapsed())
    }

    pub fn kill9(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM first, so the socket file is removed and the next start is clean.
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Sum of the samples of metric `name` whose line contains every one of `labels`.
pub fn sum(metrics: &str, name: &str, labels: &[&str]) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter(|l| labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// A plain HTTP/1.0 GET on 127.0.0.1: (status, body).
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// The frame count `tdr serve` committed for `source` (0 before the first batch).
pub fn committed_frames(data: &Path, source: &str) -> u64 {
    let cfg = tdr::config::Config {
        data_dir: data.to_path_buf(),
        ..Default::default()
    };
    let Ok(store) = tdr::store::Store::open_read_only(&cfg) else {
        return 0;
    };
    store
        .frame_counts()
        .unwrap()
        .into_iter()
        .find(|(s, _)| s == source)
        .map(|(_, n)| n)
        .unwrap_or(0)
}
