//! The API as the daemon serves it: `tdr serve` with a certificate speaks HTTPS (rustls) on a
//! real socket; concurrent clients' lookups are each audited once (group commit), a forged
//! token gets 401, and plain HTTP on a non-loopback address is refused by the configuration.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tdr_testkit::bins::tool_bin;
use tdr_testkit::cli::{free_port, tdr_as, Tdr};
use tdr_testkit::ev::yesterday;

const TDR: &str = env!("CARGO_BIN_EXE_tdr");

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tdr(data: &Path, args: &[&str]) -> Output {
    tdr_as(TDR, data, None, args)
}

fn bench(args: &[&str]) -> serde_json::Value {
    let o = Command::new(tool_bin("tdr-bench"))
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn https_lookups_are_answered_and_each_audited_once() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let day = yesterday();
    let events = format!(
        "{{\"kind\":\"session\",\"op\":\"start\",\"time\":\"{day}T10:00:00Z\",\"subscriber\":\"alice\",\"session\":\"a\",\"addr\":\"192.0.2.10\",\"nas\":\"n\"}}\n\
         {{\"kind\":\"session\",\"op\":\"stop\",\"time\":\"{day}T11:00:00Z\",\"subscriber\":\"alice\",\"session\":\"a\",\"addr\":\"192.0.2.10\",\"nas\":\"n\"}}\n"
    );
    let ev = d.path().join("ev.jsonl");
    std::fs::write(&ev, events).unwrap();
    assert!(tdr(
        &data,
        &["import", "--format", "events", ev.to_str().unwrap()]
    )
    .status
    .success());
    let forged = d.path().join("forged");
    std::fs::write(&forged, format!("tdr_{}", "1".repeat(64))).unwrap();

    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (d.path().join("cert.pem"), d.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let port = free_port();
    let cfg = d.path().join("tdr.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\nsyslog = []\n[serve]\nspool = false\nhttp_listen = \"127.0.0.1:{port}\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
            data.display(),
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let _daemon = Daemon(
        Command::new(TDR)
            .args(["serve", "--config", cfg.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
        || std::os::unix::net::UnixStream::connect(data.join("run/tdr.sock")).is_err()
    {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the daemon did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The analyst is added through the daemon's socket (an administrator, a second one
    // approving).
    let token = d.path().join("token");
    std::fs::write(&token, Tdr::new(TDR, &data).user("sec", "security")).unwrap();
    let q = d.path().join("q.jsonl");
    std::fs::write(
        &q,
        format!(
            "{{\"addr\":\"192.0.2.10\",\"at\":\"{day}T10:30:00Z\",\"reference\":\"AB-1\"}}\n\
             {{\"addr\":\"192.0.2.10\",\"at\":\"{day}T12:30:00Z\",\"reference\":\"AB-2\"}}\n"
        ),
    )
    .unwrap();
    let url = format!("https://localhost:{port}");
    let common = |tok: &Path, n: &str| {
        bench(&[
            "api",
            "--url",
            &url,
            "--ca",
            cert.to_str().unwrap(),
            "--token-file",
            tok.to_str().unwrap(),
            "--queries",
            q.to_str().unwrap(),
            "--clients",
            "4",
            "--requests",
            n,
            "--seconds",
            "60",
        ])
    };
    let ok = common(&token, "200");
    assert_eq!(ok["statuses"], serde_json::json!({"200": 200}), "{ok}");
    let bad = common(&forged, "8");
    assert_eq!(bad["statuses"], serde_json::json!({"401": 8}), "{bad}");
    // Plain HTTP to the HTTPS port gets no answer.
    let o = Command::new(tool_bin("tdr-bench"))
        .args([
            "api",
            "--url",
            &format!("http://127.0.0.1:{port}"),
            "--token-file",
        ])
        .arg(&token)
        .args([
            "--queries",
            q.to_str().unwrap(),
            "--requests",
            "1",
            "--clients",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success(), "plain HTTP must not be answered");

    // Every lookup and every refusal is in the chain exactly once, and it verifies.
    std::thread::sleep(Duration::from_millis(400));
    let entries = tdr::audit::read_entries(&data, 0, usize::MAX).unwrap();
    let lookups = entries.iter().filter(|e| e["action"] == "abuse_lookup");
    let (mut found, mut refused) = (0, 0);
    for e in lookups {
        if e["outcome"] == "refused:auth.invalid_token" {
            refused += 1;
        } else {
            found += 1;
            assert_eq!(e["actor"], "sec");
        }
    }
    assert_eq!((found, refused), (200, 8));
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap, no double"
    );
    let o = tdr(&data, &["audit", "verify"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn plain_http_on_a_non_loopback_address_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("tdr.toml");
    std::fs::write(&cfg, "[serve]\nhttp_listen = \"0.0.0.0:9514\"\n").unwrap();
    let o = Command::new(TDR)
        .args(["check-config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("plain HTTP is refused"), "{err}");
    assert!(err.contains("serve.tls_cert"), "{err}");
}
