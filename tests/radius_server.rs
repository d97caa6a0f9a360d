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

/// A NAS's stream of records for `sessions` sessions at `t0`: the Starts in order and an
/// Interim each, then (second list) the Stops. The records' time is FreeRADIUS's (receive
/// time minus Acct-Delay-Time).
fn session_requests(sessions: u32, t0: i64) -> (Vec<String>, Vec<String>) {
    let mut first = Vec::new();
    for i in 0..sessions {
        first.push(request(i, "Start", t0));
    }
    for i in 0..sessions {
        first.push(request(i, "Interim-Update", t0));
    }
    let stops = (0..sessions).map(|i| request(i, "Stop", t0)).collect();
    (first, stops)
}

/// The sessions `which` read as radius-detail records would: each address and delegated
/// prefix is its subscriber's at `between` (after the Starts), and nobody's at `after` (after
/// the Stops).
fn assert_sessions_held(data: &Path, which: &[u32], between: i64, after: i64) {
    for &i in which {
        assert_eq!(
            holder(data, &addr_of(i), between),
            Some(format!("sub{i}@junet")),
            "{i}"
        );
        if i.is_multiple_of(2) {
            let host = prefix_of(i).replace("00::/56", "00::1");
            assert_eq!(
                holder(data, &host, between),
                Some(format!("sub{i}@junet")),
                "{i}"
            );
        }
        assert_eq!(holder(data, &addr_of(i), after), None, "{i}");
    }
}

#[test]
fn radclient_accounting_is_stored_once_and_answered_across_three_kill_9s() {
    let d = tempfile::tempdir().unwrap();
    let (http, port) = (free_port(), free_udp_port());
    let cfg = setup(d.path(), http, port, "127.0.0.0/8");
    let data = d.path().join("data");
    let sessions = 40u32;
    let (first, stops) = session_requests(sessions, now());
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
    assert_sessions_held(&data, &[0, 1, 17, sessions - 1], between, after);
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

// ---- RADIUS over TLS (RFC 6614) --------------------------------------------------------------

/// A test PKI: a CA, the daemon's server certificate (localhost, 127.0.0.1) and a client
/// certificate for the RadSec proxy, all signed by the CA; and a client certificate from
/// another CA, which the daemon must refuse. PEM files in `dir`.
struct Pki {
    ca: PathBuf,
    server: (PathBuf, PathBuf),
    client: (PathBuf, PathBuf),
    ca_der: rustls_pki_types::CertificateDer<'static>,
    client_der: (
        rustls_pki_types::CertificateDer<'static>,
        rustls_pki_types::PrivateKeyDer<'static>,
    ),
    stranger_der: (
        rustls_pki_types::CertificateDer<'static>,
        rustls_pki_types::PrivateKeyDer<'static>,
    ),
}

fn pki(dir: &Path) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let ca_of = |cn: &str| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, cn);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        (p.self_signed(&key).unwrap(), key)
    };
    let leaf = |ca: &(rcgen::Certificate, KeyPair), cn: &str, usage| {
        let key = KeyPair::generate().unwrap();
        let mut p =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![usage];
        (p.signed_by(&key, &ca.0, &ca.1).unwrap(), key)
    };
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let der = |c: &(rcgen::Certificate, KeyPair)| {
        (
            c.0.der().clone(),
            rustls_pki_types::PrivateKeyDer::Pkcs8(c.1.serialize_der().into()),
        )
    };
    let ca = ca_of("Junet RadSec CA");
    let server = leaf(&ca, "tdr.junet.test", ExtendedKeyUsagePurpose::ServerAuth);
    let client = leaf(
        &ca,
        "radsecproxy.junet.test",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let other = ca_of("Somebody else's CA");
    let stranger = leaf(&other, "stranger", ExtendedKeyUsagePurpose::ClientAuth);
    Pki {
        ca: write("ca.pem", ca.0.pem()),
        server: (
            write("server.pem", server.0.pem()),
            write("server.key", server.1.serialize_pem()),
        ),
        client: (
            write("client.pem", client.0.pem()),
            write("client.key", client.1.serialize_pem()),
        ),
        ca_der: ca.0.der().clone(),
        client_der: der(&client),
        stranger_der: der(&stranger),
    }
}

/// A configuration with one RADIUS/TLS listener on `port` for clients in `network`, with
/// RFC 6614's `radsec` secret.
fn setup_tls(dir: &Path, http: u16, port: u16, network: &str, pki: &Pki) -> PathBuf {
    let extra = format!(
        "[[radius]]\nname = \"radsec\"\nlisten = \"127.0.0.1:{port}\"\ntransport = \"tls\"\n\
         tls_cert = \"{}\"\ntls_key = \"{}\"\nclient_ca = \"{}\"\n\
         clients = [{{ network = \"{network}\" }}]\n",
        pki.server.0.display(),
        pki.server.1.display(),
        pki.ca.display()
    );
    let p = dir.join("tdr.toml");
    std::fs::write(&p, config_text(&dir.join("data"), http, &extra)).unwrap();
    p
}

/// A TLS connection to the listener, presenting `client` (certificate and key), or none.
fn tls_connect(
    pki: &Pki,
    port: u16,
    client: Option<&(
        rustls_pki_types::CertificateDer<'static>,
        rustls_pki_types::PrivateKeyDer<'static>,
    )>,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let cfg = match client {
        Some((c, k)) => builder
            .with_client_auth_cert(vec![c.clone()], k.clone_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let conn =
        rustls::ClientConnection::new(std::sync::Arc::new(cfg), "localhost".try_into().unwrap())
            .unwrap();
    let sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

/// RFC 6614 on the wire: requests follow each other on one connection, each answered on it
/// once committed, with the `radsec` secret; a request resent on a new connection after a
/// `kill -9` is answered and not stored again. A client without a certificate, or with one
/// another CA signed, is refused at the handshake; a packet whose Length makes no sense closes
/// the connection. Each is counted.
#[test]
fn radius_over_tls_answers_committed_requests_on_the_connection_and_refuses_strangers() {
    use std::io::{Read, Write};
    let d = tempfile::tempdir().unwrap();
    let pki = pki(d.path());
    let (http, port) = (free_port(), free_port());
    let cfg = setup_tls(d.path(), http, port, "127.0.0.0/8", &pki);
    let data = d.path().join("data");
    let t = now();
    let request = |id: u8, session: &[u8], user: &[u8], addr: [u8; 4]| {
        tdr::parse::radius::build_request(
            id,
            &[
                (40, &1u32.to_be_bytes()),
                (44, session),
                (1, user),
                (4, &[10, 255, 0, 9]),
                (8, &addr),
                (55, &(t as u32).to_be_bytes()),
            ],
            b"radsec",
        )
    };
    let daemon = Daemon::from_config(BIN, &cfg, http, &d.path().join("serve0.log"));
    let mut c = tls_connect(&pki, port, Some(&pki.client_der));
    // Two requests back to back in one write: the stream is cut by their Length fields.
    let (a, b) = (
        request(1, b"TLS-1", b"anna@junet", [100, 64, 20, 1]),
        request(2, b"TLS-2", b"bert@junet", [100, 64, 20, 2]),
    );
    c.write_all(&[a.clone(), b].concat()).unwrap();
    c.flush().unwrap();
    let mut answers = [0u8; 40];
    c.read_exact(&mut answers).unwrap();
    let mut ids = [answers[1], answers[21]];
    ids.sort();
    assert_eq!((answers[0], answers[20], ids), (5, 5, [1, 2]));
    assert_eq!(
        &answers[2..4],
        &[0, 20],
        "an Accounting-Response is 20 octets"
    );
    drop(c);
    daemon.kill9();
    // After the crash the proxy resends on a new connection: answered the same, not stored.
    let daemon = Daemon::from_config(BIN, &cfg, http, &d.path().join("serve1.log"));
    let mut c = tls_connect(&pki, port, Some(&pki.client_der));
    c.write_all(&a).unwrap();
    c.flush().unwrap();
    let mut again = [0u8; 20];
    c.read_exact(&mut again).unwrap();
    let first = if answers[1] == 1 {
        &answers[..20]
    } else {
        &answers[20..]
    };
    assert_eq!(&again[..], first, "the same answer");
    // A Length below the header's: the connection is closed, nothing answered.
    c.write_all(&[4, 3, 0, 5, 0]).unwrap();
    c.flush().unwrap();
    let mut rest = Vec::new();
    let closed = c.read_to_end(&mut rest);
    assert!(rest.is_empty() && closed.is_ok(), "{closed:?} {rest:?}");
    // No certificate, and a certificate from another CA: refused at the handshake.
    for who in [None, Some(&pki.stranger_der)] {
        let mut s = tls_connect(&pki, port, who);
        let r = s
            .write_all(&request(3, b"TLS-3", b"eve", [100, 64, 20, 3]))
            .and_then(|_| s.flush())
            .and_then(|_| s.read(&mut [0u8; 20]));
        assert!(!matches!(r, Ok(n) if n > 0), "a stranger got an answer");
    }
    let count = |o: &str| daemon.sum("tdr_radius_requests_total", &[&format!("outcome=\"{o}\"")]);
    daemon.wait_for("two refused handshakes", |_| count("tls_refused") == 2);
    assert_eq!(count("duplicate"), 1);
    assert_eq!(count("malformed"), 1);
    assert_eq!(count("acknowledged"), 0);
    let (status, _) = daemon.stop();
    assert!(status.success());
    assert_eq!(committed_frames(&data, "radsec"), 2);
    assert_eq!(
        holder(&data, "100.64.20.2", t + 2),
        Some("bert@junet".into())
    );
    assert_eq!(holder(&data, "100.64.20.3", t + 2), None);
}

fn radsecproxy() -> &'static str {
    let p = "/usr/sbin/radsecproxy";
    assert!(
        Path::new(p).exists(),
        "radsecproxy is missing: apt-get install radsecproxy (the test needs a real RadSec client)"
    );
    p
}

/// A child process killed when dropped.
struct Proxy(std::process::Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The NAS side as deployed where a BNG speaks only UDP: radclient sends to radsecproxy
/// (Debian's), which relays over TLS with its client certificate to tdr. Start, Interim and
/// Stop (IPv4 and delegated IPv6 prefixes) come through it, with a `kill -9` of the daemon in
/// between; radclient gets every answer and the sessions read as from a detail file.
#[test]
fn radsecproxy_relays_radclient_accounting_to_tdr_over_tls() {
    let d = tempfile::tempdir().unwrap();
    let pki = pki(d.path());
    let (http, port, udp) = (free_port(), free_port(), free_udp_port());
    let cfg = setup_tls(d.path(), http, port, "127.0.0.1/32", &pki);
    let data = d.path().join("data");
    // radsecproxy: radclient's secret on the UDP side, RFC 6614 on the TLS side (it checks the
    // daemon's certificate against the CA and its name against 127.0.0.1).
    let conf = d.path().join("radsecproxy.conf");
    std::fs::write(
        &conf,
        format!(
            "ListenUDP 127.0.0.1:{udp}\nLogLevel 3\nLogDestination file:///{}\n\
             tls default {{\n  CACertificateFile {}\n  CertificateFile {}\n  CertificateKeyFile {}\n}}\n\
             client nas {{\n  host 127.0.0.1\n  type udp\n  secret {SECRET}\n}}\n\
             server tdr {{\n  host 127.0.0.1\n  port {port}\n  type tls\n  tls default\n  secret radsec\n}}\n\
             realm * {{\n  accountingServer tdr\n}}\n",
            d.path().join("radsecproxy.log").display(),
            pki.ca.display(),
            pki.client.0.display(),
            pki.client.1.display(),
        ),
    )
    .unwrap();
    let daemon = Daemon::from_config(BIN, &cfg, http, &d.path().join("serve0.log"));
    let _proxy = Proxy(
        Command::new(radsecproxy())
            .args(["-f", "-c", conf.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    {
        use std::os::unix::fs::PermissionsExt;
        let secret = d.path().join("bng.secret");
        std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let sessions = 10u32;
    let (first, stops) = session_requests(sessions, now());
    let rig = Rig {
        dir: d.path(),
        cfg: &cfg,
        http,
        port: udp,
    };
    let daemon = send_with_kills(&rig, daemon, &first, 1, "a");
    let between = now() + 3;
    std::thread::sleep(Duration::from_millis(5000));
    let daemon = send_with_kills(&rig, daemon, &stops, 0, "b");
    let after = now() + 3;
    std::thread::sleep(Duration::from_millis(4000));
    let (status, _) = daemon.stop();
    assert!(status.success());
    // Every request stored once: the proxy resends what the crash left unanswered with the
    // same Identifier and authenticator, which the daemon recognises.
    assert_eq!(
        committed_frames(&data, "radsec"),
        (first.len() + stops.len()) as u64
    );
    assert_sessions_held(&data, &[0, 3, sessions - 1], between, after);
}
