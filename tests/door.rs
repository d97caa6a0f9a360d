//! One door to the data, tried as an insider and an outsider would: only the daemon reaches
//! the data directory; the CLI is a client that the daemon authenticates; HTTP connections are
//! bounded in time and number.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tdr_testkit::cli::{stderr, stdout, tdr_as};
use tdr_testkit::daemon::{get, Daemon};

const BIN: &str = env!("CARGO_BIN_EXE_tdr");

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().mode() & 0o777
}

#[test]
fn a_cli_process_of_another_uid_cannot_open_the_data_directory() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    // SAFETY: umask only changes this process's (and its children's) file-creation mask.
    let old = unsafe { libc::umask(0o022) };
    let daemon = Daemon::start(BIN, &data);
    unsafe { libc::umask(old) };
    assert_eq!(
        mode(&data),
        0o700,
        "the data directory is the service user's alone"
    );
    // Everything the daemon made (RocksDB's files, keys, the audit log, the users) is private
    // whatever the umask it was started with.
    let mut open_to_others = Vec::new();
    let mut todo = vec![data.clone()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                todo.push(e.path());
            }
            let allowed = if e.file_name() == "tdr.sock" {
                0o060
            } else {
                0
            };
            if m.mode() & 0o077 & !allowed != 0 {
                open_to_others.push(format!("{} {:o}", e.path().display(), m.mode() & 0o777));
            }
        }
    }
    assert!(open_to_others.is_empty(), "{open_to_others:?}");
    let socket = data.join("run/tdr.sock");
    assert!(socket.exists());
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        // Another uid cannot be taken without root; the mode above is what stops it.
        return;
    }
    // The tempdir is 0700 too; let another uid reach `data` itself, as /var/lib would.
    std::fs::set_permissions(
        d.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    for target in [
        data.join("store/CURRENT"),
        data.join("audit"),
        data.join("legal"),
        socket.clone(),
    ] {
        let o = Command::new("cat")
            .arg(&target)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        assert!(!o.status.success(), "uid 65534 read {}", target.display());
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("Permission denied"),
            "{}: {}",
            target.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    drop(daemon);
}

#[test]
fn a_cli_command_without_a_token_is_refused_by_the_daemon() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let _daemon = Daemon::start(BIN, &data);
    let o = tdr_as(BIN, &data, None, &["case", "list"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("[auth.missing_token]"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
    // The refusal is the daemon's, audited with the peer's uid on the socket.
    let log = std::fs::read_to_string(data.join("audit/audit-000001.log")).unwrap();
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["action"], "case_list", "{last}");
    assert_eq!(last["role"], "cli:none", "{last}");
    assert!(
        last["outcome"]
            .as_str()
            .unwrap()
            .starts_with("refused:auth.missing_token"),
        "{last}"
    );
}

#[test]
fn without_the_daemon_a_data_command_says_so_and_opens_nothing() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let o = tdr_as(BIN, &data, Some("tdr_x"), &["case", "list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("[cli.daemon_unreachable]"),
        "{}",
        stderr(&o)
    );
    assert!(!data.join("store").exists() && !data.join("audit").exists());
}

/// Sends `head` (part of a request) and keeps the connection open.
fn half_request(port: u16, head: &str) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s
}

/// Whether the daemon has closed `s` (a read sees the end, or the connection reset).
fn closed(mut s: &TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut b = [0u8; 512];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue, // a 408 or similar before closing
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn idle_and_half_sent_http_connections_are_closed_at_their_limit_while_a_real_request_succeeds() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let daemon = Daemon::with(
        BIN,
        &data,
        "http_header_timeout_secs = 1\nhttp_idle_timeout_secs = 2\nhttp_max_connections = 60\n",
    );
    let t0 = Instant::now();
    let slow: Vec<TcpStream> = (0..50)
        .map(|i| half_request(daemon.http, &format!("GET /health HTTP/1.1\r\nX-Slow: {i}")))
        .collect();
    let idle: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(("127.0.0.1", daemon.http)).unwrap())
        .collect();
    // With 55 connections held, a real request still gets its answer.
    let (status, body) = get(daemon.http, "/health").expect("a real request is answered");
    assert_eq!(status, 200, "{body}");
    // Within the limits (1 s for headers, 2 s idle, checked every 0.5 s), all are closed.
    let until = t0 + Duration::from_secs(8);
    while slow.iter().chain(idle.iter()).any(|s| !closed(s)) {
        assert!(
            Instant::now() < until,
            "{} of 55 held connections still open after 8 s",
            slow.iter()
                .chain(idle.iter())
                .filter(|s| !closed(s))
                .count()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "closed before the header limit"
    );
    assert_eq!(get(daemon.http, "/health").unwrap().0, 200);
}

#[test]
fn the_connection_cap_holds_extra_connections_back_without_losing_them() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let daemon = Daemon::with(
        BIN,
        &data,
        "http_header_timeout_secs = 2\nhttp_idle_timeout_secs = 2\nhttp_max_connections = 4\n",
    );
    let _held: Vec<TcpStream> = (0..4)
        .map(|_| half_request(daemon.http, "GET /health HTTP/1.1\r\n"))
        .collect();
    // The fifth waits in the backlog until a slot frees (the held ones time out), then is
    // answered.
    let t = Instant::now();
    let (status, _) = get(daemon.http, "/health").expect("answered once a slot frees");
    assert_eq!(status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "answered at once: the cap did not hold ({:?})",
        t.elapsed()
    );
}

/// The size of every file under `dir`.
fn bytes_under(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

#[test]
fn five_large_tokenless_requests_grow_the_audit_log_by_under_5_kib() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let daemon = Daemon::start(BIN, &data);
    let before = bytes_under(&data.join("audit"));
    let body = vec![b'x'; 2_000_000];
    for _ in 0..5 {
        let mut s = TcpStream::connect(("127.0.0.1", daemon.http)).unwrap();
        write!(
            s,
            "PUT /v1/identity HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        s.write_all(&body).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        assert!(answer.contains("auth.missing_token"), "{answer}");
    }
    drop(daemon); // the last entries checkpointed
    let grown = bytes_under(&data.join("audit")) - before;
    assert!(grown > 0, "the refusals are audited");
    assert!(grown < 5 * 1024, "the audit log grew by {grown} bytes");
}

#[test]
fn with_the_daemon_running_tdr_import_hands_the_files_to_it() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let spool = data.join("incoming");
    let daemon = Daemon::with(BIN, &data, &format!("spool = \"{}\"\n", spool.display()));
    let day = tdr_testkit::ev::yesterday();
    let file = d.path().join("handed.jsonl");
    std::fs::write(
        &file,
        [
            tdr_testkit::ev::session(
                "start",
                &format!("{day}T10:00:00Z"),
                "hanna",
                "h1",
                "192.0.2.77",
            ),
            tdr_testkit::ev::session(
                "stop",
                &format!("{day}T11:00:00Z"),
                "hanna",
                "h1",
                "192.0.2.77",
            ),
        ]
        .join("\n")
            + "\n",
    )
    .unwrap();
    let args = ["import", "--format", "events", file.to_str().unwrap()];
    // Without a token the daemon refuses it; nothing reaches the spool.
    let o = tdr_as(BIN, &data, None, &args);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("[auth.missing_token]"),
        "{}",
        stderr(&o)
    );
    // Options the spool cannot honour are refused, not dropped.
    let kit = tdr_testkit::cli::Tdr::new(BIN, &data);
    let ops = kit.user("otto", "ops");
    let o = tdr_as(
        BIN,
        &data,
        Some(&ops),
        &[
            "import",
            "--format",
            "events",
            "--class",
            "statutory",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("--class"), "{}", stderr(&o));
    // An ops user hands the file over; the daemon reads it from its spool.
    let o = tdr_as(BIN, &data, Some(&ops), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("to the daemon's spool"),
        "{}",
        stdout(&o)
    );
    let spooled: Vec<_> = std::fs::read_dir(&spool)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .collect();
    assert_eq!(spooled.len(), 1);
    assert_eq!(mode(&spooled[0].path()), 0o600);
    daemon.wait_for("the handed file committed", |d| {
        d.sum("tdr_events_total", &["outcome=\"accepted\""]) >= 2
    });
    let audit = std::fs::read_to_string(data.join("audit/audit-000001.log")).unwrap();
    assert!(audit.contains("\"import_handoff\""), "{audit}");
    assert!(audit.contains("\"received\""), "{audit}");
    assert!(!audit.contains("hanna"), "no subscriber in the audit log");
}
