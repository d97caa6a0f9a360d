//! The RADIUS accounting server (`[[radius]]`) as a real daemon on loopback, driven by a real
//! NAS-side client: `radclient` from FreeRADIUS (Debian's `freeradius-utils`) sends Start,
//! Interim-Update and Stop for IPv4 addresses and delegated IPv6 prefixes, retransmitting
//! while the daemon is killed with `kill -9` three times; every request must end up answered
//! and stored exactly once. Also: a committed request retransmitted after a crash is answered
//! and not stored again; strangers and wrong secrets get no answer and are counted.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tdr_testkit::cli::{free_port, legal_case, tdr_as};
use tdr_testkit::daemon::{committed_frames, config_text, Daemon};

const BIN: &str = env!("CARGO_BIN_EXE_tdr");
const SECRET: &str = "Junet-acct-s3cret";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn fmt(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A data directory, a secret file (0600) and a configuration with one RADIUS listener on
/// `port` whose clients are `network`.
fn setup(dir: &Path, http: u16, port: u16, network: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let secret = dir.join("bng.secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let extra = format!(
        "[[radius]]\nname = \"bng-acct\"\nlisten = \"127.0.0.1:{port}\"\n\
         clients = [{{ network = \"{network}\", secret_file = \"{}\" }}]\n",
        secret.display()
    );
    let p = dir.join("tdr.toml");
    std::fs::write(&p, config_text(&dir.join("data"), http, &extra)).unwrap();
    p
}

fn free_udp_port() -> u16 {
    free_port()
}

/// Who `tdr lookup` says held `addr` at `t` (`None` unless found), under a new approved
/// law-enforcement case naming exactly that address and time.
fn holder(data: &Path, addr: &str, t: i64) -> Option<String> {
    let _daemon = Daemon::ensure(BIN, data);
    let (token, case) = legal_case(
        BIN,
        data,
        "law_enforcement",
        serde_json::json!([{"addr": addr, "at": fmt(t)}]),
    );
    let o = tdr_as(
        BIN,
        data,
        Some(&token),
        &[
            "lookup",
            addr,
            "--at",
            &fmt(t),
            "--purpose",
            "law-enforcement",
            "--case",
            &case,
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    (v["status"] == "found").then(|| v["matches"][0]["subscriber"].as_str().unwrap().to_string())
}

fn radclient() -> &'static str {
    let p = "/usr/bin/radclient";
    assert!(
        Path::new(p).exists(),
        "radclient is missing: apt-get install freeradius-utils (the test needs a real RADIUS client)"
    );
    p
}

/// Session `i`'s address and delegated prefix.
fn addr_of(i: u32) -> String {
    format!("100.64.{}.{}", 1 + i / 200, 1 + i % 200)
}

fn prefix_of(i: u32) -> String {
    format!("2001:db8:{:x}:{:x}00::/56", 0x100 + i / 256, i % 256)
}

/// One accounting request in radclient's input syntax.
fn request(i: u32, status: &str, event: i64) -> String {
    let mut r = format!(
        "Acct-Status-Type = {status}\nAcct-Session-Id = \"{i:08X}\"\nUser-Name = \"sub{i}@junet\"\n\
         NAS-IP-Address = 10.255.0.1\nNAS-Identifier = \"bng1\"\nNAS-Port-Type = Ethernet\n\
         Framed-IP-Address = {}\nEvent-Timestamp = {event}\nAcct-Delay-Time = 0\n",
        addr_of(i)
    );
    if i.is_multiple_of(2) {
        r.push_str(&format!("Delegated-IPv6-Prefix = {}\n", prefix_of(i)));
    }
    if status != "Start" {
        r.push_str("Acct-Session-Time = 60\nAcct-Input-Octets = 1000\nAcct-Output-Octets = 2000\n");
    }
    r
}

/// Runs radclient on `packets` (one outstanding at a time, 12 a second, an unanswered one sent
/// again every second up to 60 times, so the client outlives every outage), killing the
/// daemon with `kill -9` `kills` times while it runs and starting it again 1.5 s later.
/// Returns the daemon running at the end; fails unless radclient got every answer.
/// Where a test daemon runs: its folder, configuration, HTTP port and RADIUS port.
struct Rig<'a> {
    dir: &'a Path,
    cfg: &'a Path,
    http: u16,
    port: u16,
}

fn send_with_kills(
    rig: &Rig<'_>,
    mut daemon: Daemon,
    packets: &[String],
    kills: u32,
    tag: &str,
) -> Daemon {
    let Rig {
        dir,
        cfg,
        http,
        port,
    } = *rig;
    let input = dir.join(format!("requests-{tag}.txt"));
    std::fs::write(&input, packets.join("\n")).unwrap();
    let secret_file = dir.join("bng.secret");
    let mut client = Command::new(radclient())
        .args([
            "-f",
            input.to_str().unwrap(),
            "-p",
            "1",
            "-n",
            "12",
            "-r",
            "60",
            "-t",
            "1",
        ])
        .args(["-s", "-S", secret_file.to_str().unwrap()])
        .arg(format!("127.0.0.1:{port}"))
        .arg("acct")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for round in 1..=kills {
        std::thread::sleep(Duration::from_millis(1500));
        daemon.kill9();
        // Down long enough for the client to retransmit into nothing.
        std::thread::sleep(Duration::from_millis(1500));
        daemon = Daemon::from_config(BIN, cfg, http, &dir.join(format!("serve-{tag}{round}.log")));
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(s) = client.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "radclient did not finish");
        std::thread::sleep(Duration::from_millis(200));
    };
    let out = client.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.success(),
        "radclient: some request was never answered\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // radclient's own summary: no packet lost (one it gave up on counts as lost).
    let summary = |name: &str| -> Option<u64> {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| l.rsplit(':').next())
            .and_then(|v| v.trim().parse().ok())
    };
    assert_eq!(summary("Lost"), Some(0), "{stdout}");
    daemon
}

#[test]
fn radclient_accounting_is_stored_once_and_answered_across_three_kill_9s() {
    let d = tempfile::tempdir().unwrap();
    let (http, port) = (free_port(), free_udp_port());
    let cfg = setup(d.path(), http, port, "127.0.0.0/8");
    let data = d.path().join("data");
    // A NAS's stream of records: the sessions start in order and send an interim each; later
    // they stop. The records' time is FreeRADIUS's (receive time minus Acct-Delay-Time).
    let sessions = 40u32;
    let t0 = now();
    let mut first = Vec::new();
    for i in 0..sessions {
        first.push(request(i, "Start", t0));
    }
    for i in 0..sessions {
        first.push(request(i, "Interim-Update", t0));
    }
    let stops: Vec<String> = (0..sessions).map(|i| request(i, "Stop", t0)).collect();
    let n = (first.len() + stops.len()) as u64;

    let daemon = Daemon::from_config(BIN, &cfg, http, &d.path().join("serve0.log"));
    let rig = Rig {
        dir: d.path(),
        cfg: &cfg,
        http,
        port,
    };
    let daemon = send_with_kills(&rig, daemon, &first, 2, "a");
    // Clear of attribution's 2-second tolerance on both sides.
    let between = now() + 3;
    std::thread::sleep(Duration::from_millis(6000));
    let daemon = send_with_kills(&rig, daemon, &stops, 1, "b");
    let after = now() + 3;
    std::thread::sleep(Duration::from_millis(4000));
    let retransmitted = daemon.sum("tdr_radius_requests_total", &["outcome=\"duplicate\""]);
    let (status, _) = daemon.stop();
    assert!(status.success());
    // Every request stored once: as many frames committed as requests, not one more.
    assert_eq!(committed_frames(&data, "bng-acct"), n);
    // The sessions read as radius-detail records would: each address and delegated prefix is
    // its subscriber's between Start and Stop, and nobody's after the Stop.
    for i in [0u32, 1, 17, sessions - 1] {
        assert_eq!(
            holder(&data, &addr_of(i), between),
            Some(format!("sub{i}@junet")),
            "{i}"
        );
        if i.is_multiple_of(2) {
            let host = prefix_of(i).replace("00::/56", "00::1");
            assert_eq!(
                holder(&data, &host, between),
                Some(format!("sub{i}@junet")),
                "{i}"
            );
        }
        assert_eq!(holder(&data, &addr_of(i), after), None, "{i}");
    }
    eprintln!("{n} requests, {retransmitted} retransmissions seen by the last daemon");
}

/// A NAS that never got the answer to a committed request (the daemon died between the
/// commit and the answer) sends it again after the restart: it is answered, not stored again.
#[test]
fn a_request_committed_before_a_crash_is_answered_after_it_and_not_stored_twice() {
    let d = tempfile::tempdir().unwrap();
    let (http, port) = (free_port(), free_udp_port());
    let cfg = setup(d.path(), http, port, "127.0.0.1/32");
    let data = d.path().join("data");
    let t = now();
    let packet = tdr::parse::radius::build_request(
        9,
        &[
            (40, &1u32.to_be_bytes()),
            (44, b"CRASH-1"),
            (1, b"anna@junet"),
            (4, &[10, 255, 0, 1]),
            (8, &[100, 64, 9, 9]),
            (55, &(t as u32).to_be_bytes()),
        ],
        SECRET.as_bytes(),
    );
    let nas = UdpSocket::bind("127.0.0.1:0").unwrap();
    nas.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let ask = |nas: &UdpSocket| -> Option<Vec<u8>> {
        nas.send_to(&packet, ("127.0.0.1", port)).unwrap();
        let mut buf = [0u8; 64];
        nas.recv_from(&mut buf).ok().map(|(n, _)| buf[..n].to_vec())
    };
    let daemon = Daemon::from_config(BIN, &cfg, http, &d.path().join("serve0.log"));
    let first = ask(&nas).expect("an Accounting-Response");
    assert_eq!(
        &first[..2],
        &[5, 9],
        "code Accounting-Response, the request's identifier"
    );
    daemon.kill9();
    let daemon = Daemon::from_config(BIN, &cfg, http, &d.path().join("serve1.log"));
    let again = ask(&nas).expect("the retransmission is answered");
    assert_eq!(again, first, "the same answer (same authenticator)");
    assert_eq!(
        daemon.sum("tdr_radius_requests_total", &["outcome=\"duplicate\""]),
        1
    );
    assert_eq!(
        daemon.sum("tdr_radius_requests_total", &["outcome=\"acknowledged\""]),
        0
    );
    let (status, _) = daemon.stop();
    assert!(status.success());
    assert_eq!(committed_frames(&data, "bng-acct"), 1);
    assert_eq!(
        holder(&data, "100.64.9.9", t + 2),
        Some("anna@junet".into())
    );
}

/// Strangers and wrong secrets get no answer, nothing is stored, and each is counted by
/// outcome; a malformed packet from a client is dropped and counted too.
#[test]
fn unknown_clients_and_wrong_secrets_are_dropped_unanswered_and_counted() {
    let d = tempfile::tempdir().unwrap();
    let (http, port) = (free_port(), free_udp_port());
    let cfg = setup(d.path(), http, port, "127.0.0.1/32");
    let data = d.path().join("data");
    let attrs: &[(u8, &[u8])] = &[
        (40, &1u32.to_be_bytes()),
        (44, b"X"),
        (1, b"eve"),
        (4, &[10, 255, 0, 1]),
        (8, &[100, 64, 7, 7]),
    ];
    let daemon = Daemon::from_config(BIN, &cfg, http, &d.path().join("serve.log"));
    let silent = |from: &str, packet: &[u8]| {
        let s = UdpSocket::bind(format!("{from}:0")).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(700)))
            .unwrap();
        s.send_to(packet, ("127.0.0.1", port)).unwrap();
        let mut buf = [0u8; 64];
        assert!(s.recv_from(&mut buf).is_err(), "no answer to {from}");
    };
    let good = tdr::parse::radius::build_request(1, attrs, SECRET.as_bytes());
    silent("127.0.0.2", &good);
    silent(
        "127.0.0.1",
        &tdr::parse::radius::build_request(2, attrs, b"wrong"),
    );
    silent("127.0.0.1", &good[..good.len() - 3]);
    let count = |o: &str| daemon.sum("tdr_radius_requests_total", &[&format!("outcome=\"{o}\"")]);
    assert_eq!(count("unknown_client"), 1);
    assert_eq!(count("bad_authenticator"), 1);
    assert_eq!(count("malformed"), 1);
    assert_eq!(count("acknowledged"), 0);
    let metrics = daemon.metrics();
    assert!(!metrics.contains("127.0.0.2"), "no address in the metrics");
    let (status, _) = daemon.stop();
    assert!(status.success());
    assert_eq!(committed_frames(&data, "bng-acct"), 0);
}
