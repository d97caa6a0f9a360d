//! Ingest is authenticated, bounded and forgets on time (issue 15, findings 1, 6, 7 and 8),
//! each test written as the attack: a sender outside a listener's networks, a sender that
//! names another producer's source, an idle or certificate-less connection, a longer
//! retention in the caller's configuration, files readable by others, a symlink in the spool,
//! quarantined lines kept past retention.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tdr::config::{Config, Period};
use tdr::ingest::quarantine::{self, Quarantine, Record};
use tdr::store::{PolicySeal, Store};
use tdr_testkit::cli::free_port;
use tdr_testkit::daemon::Daemon;
use tdr_testkit::store::lookup;

const BIN: &str = env!("CARGO_BIN_EXE_tdr");

/// A `tdr serve` on `dir/data` with `tables` added to the test configuration (no syslog
/// listener and no spool unless `tables` has them).
fn start(dir: &Path, tables: &str) -> Daemon {
    Daemon::with(BIN, &dir.join("data"), tables)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn fmt(t: i64) -> String {
    tdr::model::fmt_time(t)
}

/// An RFC 5424 message from program `tdr` carrying `body`.
fn syslog(t: i64, body: &str) -> String {
    format!("<134>1 {} bng1 tdr - - - {body}", fmt(t))
}

/// An `events` session line that claims to be the BNG's RADIUS accounting, in another class.
fn forged(op: &str, t: i64, subscriber: &str, addr: &str) -> String {
    format!(
        r#"{{"kind":"session","op":"{op}","time":"{}","subscriber":"{subscriber}","session":"f1","addr":"{addr}","nas":"bng1","source":"bng-radius","class":"statutory"}}"#,
        fmt(t)
    )
}

fn listener(name: &str, transport: &str, port: u16, extra: &str) -> String {
    format!(
        "[[syslog]]\nname = \"{name}\"\nlisten = \"127.0.0.1:{port}\"\ntransport = \"{transport}\"\n{extra}"
    )
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn an_injected_datagram_from_a_sender_not_allowed_is_refused_and_counted() {
    let d = tempfile::tempdir().unwrap();
    let port = free_port();
    // The listener reads tdr's events, but only from 192.0.2.0/24: this host is not in it.
    let allow = "format = \"events\"\nallow = [\"192.0.2.0/24\"]\n";
    let daemon = start(
        d.path(),
        &(listener("edge-udp", "udp", port, allow) + &listener("edge-tcp", "tcp", port, allow)),
    );
    let t = now() - 300;
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    for op in ["start", "stop"] {
        let m = syslog(t, &forged(op, t, "framed-person", "192.0.2.20"));
        u.send_to(m.as_bytes(), ("127.0.0.1", port)).unwrap();
    }
    // Over TCP the connection is closed before a byte is read.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = writeln!(s, "{}", syslog(t, &forged("start", t, "x", "192.0.2.21")));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(s.read(&mut [0u8; 16]).unwrap_or(0), 0, "closed at once");

    let refused = |d: &Daemon, l: &str| {
        d.sum(
            "tdr_syslog_refused_total",
            &[&format!("listener=\"{l}\""), "reason=\"not_allowed\""],
        )
    };
    daemon.wait_for("both datagrams and the connection refused", |d| {
        refused(d, "edge-udp") == 2 && refused(d, "edge-tcp") == 1
    });
    let m = daemon.metrics();
    assert_eq!(daemon.sum("tdr_syslog_messages_total", &[]), 0, "{m}");
    assert_eq!(daemon.sum("tdr_events_total", &[]), 0, "{m}");
    assert_eq!(daemon.sum("tdr_quarantined_total", &[]), 0, "{m}");
    // The metric names the listener and the reason, never the sender.
    assert!(!m.contains("127.0.0.1"), "{m}");
}

#[test]
fn an_allowed_sender_cannot_claim_another_source() {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let t = now() - 3600;
    // The real RADIUS accounting (a followed file): subscriber "real" on NAS bng1.
    std::fs::write(
        logs.join("radius.log"),
        format!(
            "{}\n",
            r#"{"kind":"session","op":"start","time":"T","subscriber":"real","session":"r1","addr":"192.0.2.30","nas":"bng1"}"#
                .replace('T', &fmt(t))
        ),
    )
    .unwrap();
    let port = free_port();
    // A listener that does read tdr's events, from this host (the default `allow`).
    let tables = format!(
        "[[file]]\nname = \"bng-radius\"\npath = \"{}/radius.log\"\nformat = \"events\"\n{}",
        logs.display(),
        listener("edge", "udp", port, "format = \"events\"\n")
    );
    let daemon = start(d.path(), &tables);
    daemon.wait_for("the file's session", |d| {
        d.sum("tdr_events_total", &["source=\"bng-radius\""]) == 1
    });
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let send = |body: String| {
        u.send_to(syslog(t, &body).as_bytes(), ("127.0.0.1", port))
            .unwrap()
    };
    // A session that names the BNG's source and the statutory class...
    send(forged("start", t + 60, "framed-person", "192.0.2.20"));
    send(forged("stop", t + 600, "framed-person", "192.0.2.20"));
    // ... and a reboot of the BNG's NAS, to cut the real subscriber's session.
    send(format!(
        r#"{{"kind":"nas_reboot","time":"{}","nas":"bng1","source":"bng-radius"}}"#,
        fmt(t + 900)
    ));
    daemon.wait_for("the three network events", |d| {
        d.sum("tdr_events_total", &["source=\"edge\""]) == 3
    });
    assert_eq!(
        daemon.sum("tdr_events_total", &["source=\"bng-radius\""]),
        1,
        "nothing from the network counts as the BNG's"
    );
    daemon.stop();

    let cfg = Config::load(&d.path().join("data.tdr.toml")).unwrap();
    let store = Store::open_read_only(&cfg).unwrap();
    let at = fmt(t + 300);
    let a = lookup(&store, &cfg, "192.0.2.20", None, &at, now());
    assert_eq!(a.matches.len(), 1, "{a:?}");
    let m = &a.matches[0];
    assert_eq!(m.subscriber, "framed-person");
    assert_eq!(m.source, "edge", "the listener's source, not the event's");
    assert_eq!(m.class, tdr::model::Class::Security, "the listener's class");
    assert_eq!(
        m.peer.as_deref(),
        Some("127.0.0.1"),
        "the sender is evidence"
    );
    let json = serde_json::to_value(m).unwrap();
    assert_eq!(json["peer"], "127.0.0.1");
    assert_eq!(json["source"], "edge");
    // The file's binding has no sender, and the network's reboot did not end it.
    let real = lookup(&store, &cfg, "192.0.2.30", None, &fmt(t + 1200), now());
    assert_eq!(real.matches.len(), 1, "{real:?}");
    let r = &real.matches[0];
    assert_eq!(
        (r.subscriber.as_str(), r.source.as_str()),
        ("real", "bng-radius")
    );
    assert_eq!(r.peer, None);
    assert!(serde_json::to_value(r).unwrap().get("peer").is_none());
    assert_ne!(r.end_kind, tdr::store::binding::EndKind::NasReboot, "{r:?}");
}

#[test]
fn the_default_listeners_do_not_accept_events() {
    let c = Config::parse("").unwrap();
    assert_eq!(c.syslog.len(), 2);
    for s in &c.syslog {
        assert_eq!(s.format_of(Some("tdr")), None, "{}", s.name);
        assert_eq!(s.format_of(None), None, "{}", s.name);
        assert!(!s.formats().contains("events"), "{}", s.name);
        assert!(!s.allows("192.0.2.1".parse().unwrap()), "{}", s.name);
    }
    // The example configuration's listeners neither (its TLS files stand in by a readable one).
    let pem = tempfile::NamedTempFile::new().unwrap();
    let mut text = include_str!("../systemd/tdr.toml").to_string();
    for f in [
        "tdr.crt.pem",
        "tdr.key.pem",
        "syslog-ca.pem",
        "radsec-ca.pem",
    ] {
        text = text.replace(
            &format!("/etc/tdr/tls/{f}"),
            &pem.path().display().to_string(),
        );
    }
    let example = Config::parse(&text).unwrap();
    for s in &example.syslog {
        assert!(!s.formats().contains("events"), "{}", s.name);
    }
}

#[test]
fn idle_syslog_connections_are_closed_at_their_limit() {
    let d = tempfile::tempdir().unwrap();
    let port = free_port();
    let daemon = start(
        d.path(),
        &listener(
            "edge",
            "tcp",
            port,
            "format = \"events\"\nidle_timeout_secs = 1\nmax_connections = 2\n",
        ),
    );
    let t = now() - 300;
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut busy = TcpStream::connect(("127.0.0.1", port)).unwrap();
    daemon.wait_for("two connections", |d| {
        d.sum("tdr_syslog_connections", &["listener=\"edge\""]) == 2
    });
    // A third is over the cap: closed at once.
    let mut third = TcpStream::connect(("127.0.0.1", port)).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(third.read(&mut [0u8; 16]).unwrap_or(0), 0);
    // The busy sender keeps writing, more slowly than the idle limit; the idle one is closed.
    let opened = Instant::now();
    for i in 0..8 {
        let line = format!(
            r#"{{"kind":"session","op":"start","time":"{}","subscriber":"s{i}","session":"x{i}","addr":"10.9.0.{i}","nas":"bng1"}}"#,
            fmt(t)
        );
        writeln!(busy, "{}", syslog(t, &line)).unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(idle.read(&mut [0u8; 16]).unwrap_or(0), 0, "idle closed");
    assert!(opened.elapsed() < Duration::from_secs(10));
    daemon.wait_for("every line of the busy sender", |d| {
        d.sum("tdr_events_total", &["outcome=\"accepted\""]) == 8
    });
    assert_eq!(
        daemon.sum(
            "tdr_syslog_refused_total",
            &["reason=\"too_many_connections\""]
        ),
        1
    );
    assert!(daemon.sum("tdr_syslog_refused_total", &["reason=\"idle_timeout\""]) >= 1);
    drop(busy);
}

/// A CA, and a certificate it signed with its key, as PEM.
fn ca_and_client() -> (rcgen::Certificate, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = p.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(vec!["dhcp1.example".to_string()]).unwrap();
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
    (ca, cert.pem(), key.serialize_pem())
}

#[test]
fn a_tls_listener_refuses_a_client_without_a_certificate() {
    use rustls_pki_types::pem::PemObject;
    let d = tempfile::tempdir().unwrap();
    let server = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (ca, client_cert, client_key) = ca_and_client();
    let write = |name: &str, text: String| {
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let (cert, key, ca_file) = (
        write("server.pem", server.cert.pem()),
        write("server.key", server.key_pair.serialize_pem()),
        write("ca.pem", ca.pem()),
    );
    let port = free_port();
    let daemon = start(
        d.path(),
        &listener(
            "tls",
            "tls",
            port,
            &format!(
                "format = \"events\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\nclient_ca = \"{}\"\nhandshake_timeout_secs = 1\n",
                cert.display(),
                key.display(),
                ca_file.display()
            ),
        ),
    );
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server.cert.der().clone()).unwrap();
    let client = |auth: Option<(&str, &str)>| {
        let b = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots.clone());
        let cfg = match auth {
            None => b.with_no_client_auth(),
            Some((c, k)) => b
                .with_client_auth_cert(
                    vec![rustls_pki_types::CertificateDer::from_pem_slice(c.as_bytes()).unwrap()],
                    rustls_pki_types::PrivateKeyDer::from_pem_slice(k.as_bytes()).unwrap(),
                )
                .unwrap(),
        };
        let conn =
            rustls::ClientConnection::new(Arc::new(cfg), "localhost".try_into().unwrap()).unwrap();
        let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        rustls::StreamOwned::new(conn, sock)
    };
    let t = now() - 300;
    let line = |who: &str| {
        let l = format!(
            r#"{{"kind":"session","op":"start","time":"{}","subscriber":"{who}","session":"{who}","addr":"192.0.2.40","nas":"bng1"}}"#,
            fmt(t)
        );
        let m = syslog(t, &l);
        format!("{} {m}", m.len())
    };
    // Without a certificate: the handshake fails, nothing is read.
    let mut anonymous = client(None);
    let _ = anonymous.write_all(line("anonymous").as_bytes());
    let _ = anonymous.flush();
    let mut rest = Vec::new();
    assert!(
        anonymous.read_to_end(&mut rest).is_err() || rest.is_empty(),
        "the server refused the session"
    );
    daemon.wait_for("the refused handshake", |d| {
        d.sum("tdr_syslog_refused_total", &["reason=\"handshake_failed\""]) == 1
    });
    // A connection that never starts its handshake is dropped at the timeout.
    let mut silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(silent.read(&mut [0u8; 16]).unwrap_or(0), 0);
    daemon.wait_for("the handshake timeout", |d| {
        d.sum(
            "tdr_syslog_refused_total",
            &["reason=\"handshake_timeout\""],
        ) == 1
    });
    // With a certificate from the CA, its line is read.
    let mut sender = client(Some((&client_cert, &client_key)));
    sender.write_all(line("sender").as_bytes()).unwrap();
    sender.flush().unwrap();
    sender.conn.send_close_notify();
    let _ = sender.flush();
    let _ = sender.sock.shutdown(std::net::Shutdown::Write);
    let _ = sender.read_to_end(&mut Vec::new());
    daemon.wait_for("the certified sender's line", |d| {
        d.sum("tdr_events_total", &["outcome=\"accepted\""]) == 1
    });
    assert_eq!(daemon.sum("tdr_syslog_messages_total", &[]), 1);
}

/// A seal for tests: a keyed SHA-256 (the daemon uses the audit signing key).
struct TestSeal(&'static [u8]);

impl PolicySeal for TestSeal {
    fn sign(&self, policy: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        sha2::Sha256::digest([self.0, policy].concat()).to_vec()
    }

    fn verify(&self, policy: &[u8], signature: &[u8]) -> bool {
        self.sign(policy) == signature
    }
}

#[test]
fn a_longer_retention_config_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let cfg = tdr_testkit::store::config(d.path());
    drop(Store::open_sealed(&cfg, &TestSeal(b"appliance")).unwrap());
    // The same policy opens again, sealed or not.
    drop(Store::open_sealed(&cfg, &TestSeal(b"appliance")).unwrap());
    drop(Store::open_read_only(&cfg).unwrap());

    // A caller's configuration that keeps security data a year: readable past its TTL.
    let mut longer = cfg.clone();
    longer.retention.security = Period::Months(12);
    let e = Store::open_sealed(&longer, &TestSeal(b"appliance"))
        .err()
        .expect("refused");
    assert_eq!(e.code(), "store.retention_mismatch");
    let msg = e.to_string();
    assert!(
        msg.contains("security=6 months") && msg.contains("security=12 months"),
        "{msg}"
    );
    // Whatever the way in: a writer without the key, a reader.
    for e in [
        Store::open(&longer).err().expect("refused"),
        Store::open_read_only(&longer).err().expect("refused"),
    ] {
        assert_eq!(e.code(), "store.retention_mismatch", "{e}");
    }
    // A shorter one too (it would expire data early).
    let mut shorter = cfg.clone();
    shorter.retention.billing = Period::Days(30);
    assert_eq!(
        Store::open(&shorter).err().expect("refused").code(),
        "store.retention_mismatch"
    );
    // A policy not sealed by this appliance's key.
    let e = Store::open_sealed(&cfg, &TestSeal(b"another"))
        .err()
        .expect("refused");
    assert_eq!(e.code(), "store.retention_unsigned", "{e}");
    // The read paths hold records to the stored policy.
    let s = Store::open_read_only(&cfg).unwrap();
    assert_eq!(*s.retention(), cfg.retention);

    // The daemon's way: sealed with the audit signing key.
    let d2 = tempfile::tempdir().unwrap();
    let cfg2 = tdr_testkit::store::config(d2.path());
    let clock: Arc<dyn tdr::clock::Clock> = Arc::new(tdr::clock::SystemClock);
    drop(tdr::ingest::policy::open_store(&cfg2, clock.clone()).unwrap());
    let mut longer2 = cfg2.clone();
    longer2.retention.statutory = Period::Months(24);
    let (code, msg) = tdr::ingest::policy::open_store(&longer2, clock)
        .err()
        .expect("refused");
    assert_eq!(code, "store.retention_mismatch", "{msg}");
}

fn record(time: &str, offset: u64) -> Record {
    Record {
        time: time.into(),
        source: "edge".into(),
        file: "udp 127.0.0.1:5514".into(),
        fingerprint: "udp".into(),
        offset,
        code: "parse.events.json".into(),
        reason: "not JSON".into(),
        raw: "subscriber 4711 at 192.0.2.20".into(),
        unreadable: None,
    }
}

#[test]
fn quarantine_and_spool_files_are_0600_under_umask_022() {
    // SAFETY: umask is process-wide; 022 is what every other test expects anyway.
    unsafe { libc::umask(0o022) };
    let d = tempfile::tempdir().unwrap();
    let mut q = Quarantine::new(d.path());
    q.record(&record("2026-11-21T00:00:00Z", 1)).unwrap();
    q.sync().unwrap();
    assert_eq!(mode(&d.path().join("quarantine")), 0o700);
    assert_eq!(mode(&d.path().join("quarantine/edge.jsonl")), 0o600);
    // A file left 0644 by an older tdr is made private when written again.
    let old = d.path().join("quarantine/other.jsonl");
    std::fs::write(&old, "").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut q = Quarantine::new(d.path());
    q.record(&Record {
        source: "other".into(),
        ..record("2026-11-21T00:00:00Z", 2)
    })
    .unwrap();
    assert_eq!(mode(&old), 0o600);

    // The daemon: its data dir, the store, the spool and its folders, the quarantine.
    let d = tempfile::tempdir().unwrap();
    let spool = d.path().join("data/incoming");
    let daemon = start(d.path(), &format!("spool = \"{}\"\n", spool.display()));
    std::fs::write(spool.join("bad.jsonl"), "not json\n").unwrap();
    daemon.wait_for("the bad line quarantined", |d| {
        d.sum("tdr_quarantined_total", &[]) == 1
    });
    daemon.stop();
    let data = d.path().join("data");
    for dir in [
        data.clone(),
        data.join("store"),
        data.join("quarantine"),
        spool.clone(),
        spool.join("radius-detail"),
    ] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    assert_eq!(mode(&data.join("quarantine/spool.jsonl")), 0o600);
}

#[test]
fn a_symlink_in_the_spool_is_not_followed() {
    let d = tempfile::tempdir().unwrap();
    let spool = d.path().join("data/incoming");
    // A file only tdr may read, full of what a sender would like tdr to believe.
    let secret = d.path().join("secret.jsonl");
    let t = now() - 300;
    std::fs::write(
        &secret,
        format!("{}\n", forged("start", t, "framed", "192.0.2.50")),
    )
    .unwrap();
    let daemon = start(d.path(), &format!("spool = \"{}\"\n", spool.display()));
    std::os::unix::fs::symlink(&secret, spool.join("link.jsonl")).unwrap();
    std::os::unix::fs::symlink(&secret, spool.join("vpp-nat").join("link")).unwrap();
    daemon.wait_for("both symlinks refused", |d| {
        d.sum("tdr_spool_refused_total", &["reason=\"symlink\""]) == 2
    });
    // A plain file dropped next to them is read as always.
    std::fs::write(
        spool.join("plain.jsonl"),
        format!("{}\n", forged("start", t, "dropped", "192.0.2.51")),
    )
    .unwrap();
    daemon.wait_for("the plain file", |d| {
        d.sum("tdr_events_total", &["outcome=\"accepted\""]) == 1
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        daemon.sum("tdr_frames_total", &[]),
        1,
        "nothing read through the symlinks"
    );
    assert_eq!(
        daemon.sum("tdr_spool_refused_total", &[]),
        2,
        "counted once each"
    );
}

#[test]
fn quarantine_records_expire_with_retention() {
    let d = tempfile::tempdir().unwrap();
    let spool = d.path().join("incoming");
    tdr::fsmode::create_private_dir(&spool.join("radius-detail")).unwrap();
    let cutoff = tdr::model::parse_time("2026-06-01T00:00:00Z").unwrap();
    let mut q = Quarantine::new(d.path());
    for (i, time) in [
        "2026-05-01T00:00:00Z",
        "2026-05-31T23:59:59Z",
        "2026-06-01T00:00:00Z",
        "2026-11-20T00:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        q.record(&record(time, i as u64)).unwrap();
    }
    q.sync().unwrap();
    // Spool files: two left from before the cutoff (one in a format folder, one a symlink),
    // one newer.
    let at = |t: i64| SystemTime::UNIX_EPOCH + Duration::from_secs(t as u64);
    let old = spool.join("old.jsonl");
    let old_sub = spool.join("radius-detail/old");
    let new = spool.join("new.jsonl");
    for (p, t) in [
        (&old, cutoff - 86_400),
        (&old_sub, cutoff - 1),
        (&new, cutoff + 1),
    ] {
        std::fs::write(p, "x\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(at(t))
            .unwrap();
    }
    let target = d.path().join("kept-elsewhere");
    std::fs::write(&target, "not tdr's").unwrap();
    let link = spool.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    // (a symlink's own time is now: set it back with lutimes)
    let c = std::ffi::CString::new(link.as_os_str().to_str().unwrap()).unwrap();
    let tv = [libc::timeval {
        tv_sec: cutoff - 10,
        tv_usec: 0,
    }; 2];
    assert_eq!(unsafe { libc::lutimes(c.as_ptr(), tv.as_ptr()) }, 0);

    let x = quarantine::expire(d.path(), Some(&spool), cutoff).unwrap();
    assert_eq!(x.quarantine_records, 2);
    assert_eq!(x.spool_files, 3);
    let left: Vec<u64> = Quarantine::list(d.path())
        .unwrap()
        .iter()
        .map(|r| r.offset)
        .collect();
    assert_eq!(left, [2, 3]);
    assert_eq!(mode(&d.path().join("quarantine/edge.jsonl")), 0o600);
    assert!(!old.exists() && !old_sub.exists() && new.exists());
    assert!(std::fs::symlink_metadata(&link).is_err() && target.exists());
    // A writer that had the file open goes on in the rewritten file: nothing is lost.
    q.record(&record("2026-11-21T00:00:00Z", 4)).unwrap();
    q.sync().unwrap();
    let left: Vec<u64> = Quarantine::list(d.path())
        .unwrap()
        .iter()
        .map(|r| r.offset)
        .collect();
    assert_eq!(left, [2, 3, 4]);
    // Nothing more to drop.
    assert_eq!(
        quarantine::expire(d.path(), Some(&spool), cutoff).unwrap(),
        quarantine::Expired::default()
    );
}
