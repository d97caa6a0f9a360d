//! The audit chain anchored off the box (issue 15, findings 3, 5 and 10), written as the
//! attacks: a tail cut together with its checkpoint lines, a middle entry removed and the chain
//! re-signed with the signing key (both verify on their own, both are caught against a head the
//! auditor recorded from `GET /v1/audit/head`), verification with nothing but the public key,
//! tokenless 2 MB requests that must not grow the log, a refusal flood from one peer, telephone
//! numbers in audit entries, and the journal anchor of every signed checkpoint.
//!
//! The daemon's path is used throughout: a [`Service`] over the group-committing [`Auditor`]
//! (the only holder of the signing key), with a fixed clock.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tdr::audit::{AuditLog, AuditOptions, Auditor, ExpectedHead, NewEntry};
use tdr::clock::FixedClock;
use tdr::config::Config;
use tdr::legal::auth::{AuthError, Caller, Principal, Role};
use tdr::legal::case::NewCase;
use tdr::legal::service::{AddrQuery, RefusalLimit};
use tdr::legal::Service;
use tdr::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_tdr");
/// 2026-11-21T10:00:00Z
const T0: i64 = 1_795_255_200;
const ATTACKER: &str = "203.0.113.66:40000";

/// A daemon's legal service over `data`: the store, the audit writer thread, a fixed clock.
fn daemon(data: &Path, clock: &Arc<FixedClock>) -> Service {
    let mut cfg = Config::default();
    cfg.set_data_dir(data);
    let store = Arc::new(Store::open(&cfg).expect("store"));
    let auditor = Auditor::start(data, clock.clone()).expect("auditor");
    Service::new(Arc::new(cfg), store, Arc::new(auditor), clock.clone())
}

/// A temporary directory, its data directory `data`, the clock at `T0` and a daemon on them.
fn fresh_daemon() -> (tempfile::TempDir, PathBuf, Arc<FixedClock>, Service) {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let clock = Arc::new(FixedClock::new(T0));
    let service = daemon(&data, &clock);
    (d, data, clock, service)
}

/// Stops the daemon and waits until its writer thread has let go of the log.
fn stop(service: Service, data: &Path) {
    drop(service);
    drop(AuditLog::open(data, Arc::new(FixedClock::new(T0))).expect("log released"));
}

fn person(name: &str, role: Role) -> Caller {
    Caller {
        who: Ok(Principal {
            name: name.into(),
            role,
            person: format!("E-{name}"),
        }),
        claimed: None,
        channel: "api",
        peer: Some("192.0.2.50:50000".into()),
    }
}

fn tokenless(peer: Option<&str>) -> Caller {
    Caller {
        who: Err(AuthError::Missing),
        claimed: None,
        channel: "api",
        peer: peer.map(str::to_string),
    }
}

/// `n` audited reads (a legal officer listing cases).
fn activity(service: &Service, n: usize) {
    for _ in 0..n {
        service
            .list_cases(&person("anna", Role::Legal), None)
            .unwrap();
    }
}

/// What the auditor records from `GET /v1/audit/head`: `SEQ:HASH` and the public key.
fn record_head(service: &Service) -> (ExpectedHead, String) {
    let head = service.audit_head(&person("aud", Role::Auditor)).unwrap();
    let expect = format!("{}:{}", head["seq"], head["hash"].as_str().unwrap());
    (
        expect.parse().unwrap(),
        head["public_key"].as_str().unwrap().to_string(),
    )
}

fn audit_dir(data: &Path) -> PathBuf {
    data.join("audit")
}

fn segment(data: &Path) -> PathBuf {
    audit_dir(data).join("audit-000001.log")
}

fn checkpoints(data: &Path) -> PathBuf {
    audit_dir(data).join("checkpoints.log")
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn seq_of(line: &str) -> u64 {
    serde_json::from_str::<Value>(line).unwrap()["seq"]
        .as_u64()
        .unwrap()
}

/// The verdict of `tdr audit verify` with these arguments: exit code, stdout, stderr.
fn cli_verify(data: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(["audit", "verify"])
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `tdr audit verify --pubkey FILE --expect-head SEQ:HASH` and any `extra` arguments.
fn cli_verify_against(
    data: &Path,
    pubkey: &Path,
    head: &ExpectedHead,
    extra: &[&str],
) -> (Option<i32>, String, String) {
    let head = head.to_string();
    let mut args = vec!["--pubkey", pubkey.to_str().unwrap(), "--expect-head", &head];
    args.extend_from_slice(extra);
    cli_verify(data, &args)
}

/// The checkpoint lines of seq at most `max`, as an attacker keeps them.
fn checkpoints_upto(lines: &[String], max: u64) -> Vec<String> {
    lines.iter().filter(|l| seq_of(l) <= max).cloned().collect()
}

fn write_pubkey(dir: &Path, hex: &str) -> PathBuf {
    let path = dir.join("auditor.pub");
    std::fs::write(&path, format!("{hex}\n")).unwrap();
    path
}

fn verify_code(data: &Path, public_key: &Path, expect: Option<&ExpectedHead>) -> &'static str {
    let key = tdr::audit::load_public_key_file(public_key).unwrap();
    match tdr::audit::verify_audit_dir(&audit_dir(data), &key, expect) {
        Ok(_) => "intact",
        Err(e) => e.code(),
    }
}

#[test]
fn truncating_the_tail_and_its_checkpoints_is_caught_against_a_recorded_head() {
    let (d, data, clock, service) = fresh_daemon();
    activity(&service, 5);
    let (head, public_key) = record_head(&service);
    assert_eq!(head.seq, 6, "five reads and the head request itself");
    activity(&service, 4);
    record_head(&service);
    stop(service, &data);
    let pubkey = write_pubkey(d.path(), &public_key);

    // Attack 1: the entries from seq 4 on and every checkpoint line past them are removed.
    let original = (lines(&segment(&data)), lines(&checkpoints(&data)));
    let kept: Vec<String> = original.0.iter().take(3).cloned().collect();
    write_lines(&segment(&data), &kept);
    write_lines(&checkpoints(&data), &checkpoints_upto(&original.1, 3));
    // On its own the log is consistent again: this is the finding.
    assert_eq!(verify_code(&data, &pubkey, None), "intact");
    let (code, out, _) = cli_verify(&data, &["--pubkey", pubkey.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    // Against the head the auditor recorded, it is caught.
    assert_eq!(verify_code(&data, &pubkey, Some(&head)), "audit.truncated");
    let (code, _, err) = cli_verify_against(&data, &pubkey, &head, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("audit.truncated"), "{err}");
    assert!(
        err.contains(&head.to_string()),
        "names the recorded head: {err}"
    );

    // Attack 2: every entry stays, but the checkpoint lines from the recorded head on are
    // removed (so entries after it could go unnoticed): the checkpoints do not reach the head.
    write_lines(&segment(&data), &original.0);
    write_lines(
        &checkpoints(&data),
        &checkpoints_upto(&original.1, head.seq - 1),
    );
    assert_eq!(verify_code(&data, &pubkey, None), "intact");
    assert_eq!(verify_code(&data, &pubkey, Some(&head)), "audit.truncated");

    // Untouched, the log extends the recorded head; the daemon's verify says the same.
    write_lines(&checkpoints(&data), &original.1);
    assert_eq!(verify_code(&data, &pubkey, Some(&head)), "intact");
    let (code, out, err) = cli_verify_against(&data, &pubkey, &head, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("extends the recorded head"), "{out}");
    let service = daemon(&data, &clock);
    let v = service
        .audit_verify(&person("aud", Role::Auditor), Some(&head))
        .unwrap();
    assert_eq!(v["intact"], true, "{v}");
    write_lines(&segment(&data), &kept);
    let v = service
        .audit_verify(&person("aud", Role::Auditor), Some(&head))
        .unwrap();
    assert_eq!(
        (v["intact"].clone(), v["code"].clone()),
        (json!(false), json!("audit.truncated"))
    );
}

/// Restates a stored entry line as the attacker re-appends it.
fn restated(line: &str) -> NewEntry {
    let v: Value = serde_json::from_str(line).unwrap();
    let text = |k: &str| v[k].as_str().map(str::to_string);
    NewEntry {
        actor: text("actor").unwrap(),
        role: text("role").unwrap(),
        peer: text("peer"),
        action: text("action").unwrap(),
        case: text("case"),
        legal_basis: text("legal_basis"),
        query: v["query"].clone(),
        outcome: text("outcome").unwrap(),
        result_count: v["result_count"].as_u64().unwrap(),
        result_digest: text("result_digest"),
    }
}

#[test]
fn removing_a_middle_entry_and_re_signing_is_caught_against_a_recorded_head() {
    let (d, data, clock, service) = fresh_daemon();
    // Entry 3 is the one the insider wants gone: a refusal of their forbidden attempt.
    activity(&service, 2);
    let err = service
        .audit_read(&person("mallory", Role::Legal), 0, 10)
        .unwrap_err();
    assert_eq!(err.code(), "auth.forbidden");
    activity(&service, 4);
    let (head, public_key) = record_head(&service);
    activity(&service, 2);
    stop(service, &data);
    let pubkey = write_pubkey(d.path(), &public_key);

    // With the signing key (kept in keys/, as today any reader of the data dir has it), the
    // chain is written anew without entry 3, one more entry keeping the length, and signed.
    let stored = lines(&segment(&data));
    assert!(stored[2].contains("mallory"), "{}", stored[2]);
    let forge = d.path().join("forge");
    std::fs::create_dir_all(forge.join("keys")).unwrap();
    for f in ["audit-signing.key", "audit-hmac.key", "audit-signing.pub"] {
        std::fs::copy(data.join("keys").join(f), forge.join("keys").join(f)).unwrap();
    }
    let mut log =
        AuditLog::open_with_options(&forge, clock.clone(), AuditOptions::default()).unwrap();
    for (i, line) in stored.iter().enumerate() {
        if i != 2 {
            log.append(restated(line)).unwrap();
        }
    }
    log.append(restated(&stored[0])).unwrap();
    drop(log);
    std::fs::remove_dir_all(audit_dir(&data)).unwrap();
    std::fs::rename(audit_dir(&forge), audit_dir(&data)).unwrap();
    assert!(!std::fs::read_to_string(segment(&data))
        .unwrap()
        .contains("mallory"));

    // Re-signed with the real key, the log verifies on its own, even with the auditor's key.
    assert_eq!(verify_code(&data, &pubkey, None), "intact");
    // The recorded head's hash is not in the new chain.
    assert_eq!(verify_code(&data, &pubkey, Some(&head)), "audit.forked");
    let (code, _, err) = cli_verify_against(&data, &pubkey, &head, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("audit.forked"), "{err}");

    // Without the extra entry the rewritten log ends before the head: caught as well.
    let mut shorter = lines(&segment(&data));
    shorter.pop();
    write_lines(&segment(&data), &shorter);
    let cps = checkpoints_upto(&lines(&checkpoints(&data)), shorter.len() as u64);
    write_lines(&checkpoints(&data), &cps);
    assert_ne!(verify_code(&data, &pubkey, Some(&head)), "intact");
}

#[test]
fn verify_needs_only_the_public_key() {
    // Key files 0600 and their directories 0700 whatever the umask (here none at all).
    let old = unsafe { libc::umask(0) };
    let (d, data, _clock, service) = fresh_daemon();
    unsafe { libc::umask(old) };
    activity(&service, 3);
    let (head, public_key) = record_head(&service);
    stop(service, &data);
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for f in ["audit-signing.key", "audit-hmac.key", "audit-signing.pub"] {
        assert_eq!(mode(&data.join("keys").join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&data.join("keys")), 0o700);
    assert_eq!(mode(&audit_dir(&data)), 0o700);
    assert_eq!(mode(&segment(&data)), 0o600);
    assert_eq!(mode(&checkpoints(&data)), 0o600);

    // The auditor keeps a copy of the log (segments and checkpoints) and the public key from
    // `GET /v1/audit/head`. The data directory, with every private key, is gone.
    let copy = d.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for f in [segment(&data), checkpoints(&data)] {
        std::fs::copy(&f, copy.join(f.file_name().unwrap())).unwrap();
    }
    std::fs::remove_dir_all(&data).unwrap();
    let pubkey = write_pubkey(d.path(), &public_key);
    let key = tdr::audit::load_public_key_file(&pubkey).unwrap();
    let report = tdr::audit::verify_audit_dir(&copy, &key, Some(&head)).unwrap();
    assert_eq!(report.head_seq, head.seq);
    let nowhere = d.path().join("nowhere");
    let (code, out, err) = cli_verify_against(
        &nowhere,
        &pubkey,
        &head,
        &["--audit-dir", copy.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("audit log intact"), "{out}");
    assert!(!nowhere.exists(), "verify creates nothing");

    // Checkpoints signed by another key than the auditor's: a fork against the recorded head.
    let other = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let other_pub = write_pubkey(&copy, &hex::encode(other.verifying_key().as_bytes()));
    let key = tdr::audit::load_public_key_file(&other_pub).unwrap();
    let err = tdr::audit::verify_audit_dir(&copy, &key, Some(&head)).unwrap_err();
    assert_eq!(err.code(), "audit.forked", "{err}");
    let err = tdr::audit::verify_audit_dir(&copy, &key, None).unwrap_err();
    assert_eq!(err.code(), "audit.checkpoint_bad_signature", "{err}");
}

/// Total bytes of the audit directory's files.
fn audit_bytes(data: &Path) -> u64 {
    std::fs::read_dir(audit_dir(data))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

fn big(c: char) -> String {
    std::iter::repeat_n(c, 2_000_000).collect()
}

#[test]
fn five_large_tokenless_requests_grow_the_audit_log_by_under_5_kib() {
    let (_d, data, _clock, service) = fresh_daemon();
    activity(&service, 1);
    let before = audit_bytes(&data);
    let who = tokenless(Some(ATTACKER));
    let at = "2026-11-20T10:00:00Z";
    let huge_case: NewCase = serde_json::from_value(json!({
        "request_type": "law_enforcement", "authority": big('a'), "case_number": big('n'),
        "decision_date": "2026-11-19", "order_sha256": "ab".repeat(32),
        "scope": [{"addr": "192.0.2.10", "at": at}],
    }))
    .unwrap();
    let codes = [
        service.create_case(&who, huge_case).unwrap_err().code(),
        service
            .case_lookup(
                &who,
                &big('c'),
                AddrQuery::parse("192.0.2.10", None, at).unwrap(),
            )
            .unwrap_err()
            .code(),
        service
            .case_calls(
                &who,
                "C-1",
                json!({"number": big('7'), "from": at, "to": at}),
                &big('7'),
                T0 - 86_400,
                T0,
            )
            .unwrap_err()
            .code(),
        service
            .abuse_lookup(
                &who,
                &big('r'),
                json!({"addr": big('x')}),
                "192.0.2.10".parse().unwrap(),
                None,
                T0,
            )
            .unwrap_err()
            .code(),
        service
            .reject(&who, &big('i'), &big('w'))
            .unwrap_err()
            .code(),
    ];
    assert_eq!(codes, ["auth.missing_token"; 5]);
    stop(service, &data);
    let grown = audit_bytes(&data) - before;
    assert!(grown < 5 * 1024, "the log grew by {grown} bytes");

    let entries = tdr::audit::read_entries(&data, 1, 100).unwrap();
    assert_eq!(entries.len(), 5, "each refusal is still audited");
    for e in &entries {
        let line = e.to_string();
        assert!(line.len() < 1024, "{} bytes: {line}", line.len());
        assert!(e["query"].to_string().len() <= tdr::legal::service::SUMMARY_MAX);
        assert_eq!(e["query"]["summary"]["peer"], ATTACKER);
        assert!(e["query"]["summary"]["query_bytes"].as_u64().is_some());
        assert_eq!(e["peer"], ATTACKER);
        assert_eq!(e["actor"], "unauthenticated");
        assert_eq!(e["outcome"], "refused:auth.missing_token");
    }
    assert!(tdr::audit::verify(&data).is_ok());
}

#[test]
fn refusals_beyond_the_per_peer_limit_are_summarised() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let clock = Arc::new(FixedClock::new(T0));
    let service = daemon(&data, &clock).with_refusal_limit(RefusalLimit {
        per_peer: 3,
        window_secs: 60,
    });
    let refuse = |peer: Option<&str>| {
        let err = service.list_cases(&tokenless(peer), None).unwrap_err();
        assert_eq!(err.code(), "auth.missing_token");
    };
    let new_entries = |after: u64| tdr::audit::read_entries(&data, after, 1000).unwrap();

    for _ in 0..10 {
        refuse(Some(ATTACKER));
    }
    refuse(Some("198.51.100.1:1234"));
    let written = new_entries(0);
    let from_attacker = |es: &[Value]| es.iter().filter(|e| e["peer"] == ATTACKER).count();
    assert_eq!(from_attacker(&written), 3, "{written:?}");
    assert_eq!(written.len(), 4, "another peer has its own allowance");

    // Inside the process (no peer) nothing is limited.
    for _ in 0..5 {
        refuse(None);
    }
    assert_eq!(new_entries(0).len(), 9);

    // Once the window is over, the next refusal first writes the summary of the seven counted.
    clock.advance(61);
    refuse(Some(ATTACKER));
    let after = new_entries(9);
    assert_eq!(after.len(), 2, "{after:?}");
    let summary = &after[0];
    assert_eq!(summary["action"], "refusals_summarised");
    assert_eq!(summary["peer"], ATTACKER);
    assert_eq!(summary["result_count"], 7);
    assert_eq!(
        summary["query"]["by_outcome"],
        json!({"refused:auth.missing_token": 7})
    );
    assert_eq!(summary["query"]["window_start"], "2026-11-21T10:00:00Z");
    assert_eq!(after[1]["outcome"], "refused:auth.missing_token");

    // Counted refusals of an open window are written at a flush (shutdown, checkpoint).
    for _ in 0..4 {
        refuse(Some(ATTACKER));
    }
    assert_eq!(
        new_entries(11).len(),
        2,
        "two more within the new window's three"
    );
    service.flush_refusals();
    let flushed = new_entries(13);
    assert_eq!(flushed.len(), 1, "{flushed:?}");
    assert_eq!(flushed[0]["result_count"], 2);
    service.flush_refusals();
    assert_eq!(new_entries(14).len(), 0, "nothing counted twice");
    stop(service, &data);
    assert!(tdr::audit::verify(&data).is_ok());
}

#[test]
fn numbers_are_keyed_hashes_in_audit_entries() {
    let (_d, data, clock, service) = fresh_daemon();
    let order: NewCase = serde_json::from_value(json!({
        "request_type": "law_enforcement",
        "authority": "Polismyndigheten",
        "case_number": "5000-K1-26",
        "decision_date": "2026-11-19",
        "order_sha256": "ab".repeat(32),
        "scope": [{"number": "+46 70-123 45 67",
                   "from": "2026-11-20T09:00:00Z", "to": "2026-11-20T12:00:00Z"}],
    }))
    .unwrap();
    let anna = person("anna", Role::Legal);
    let id = service.create_case(&anna, order).unwrap().id;
    service.approve(&person("bert", Role::Legal), &id).unwrap();
    let before = tdr::audit::read_entries(&data, 0, 1000).unwrap().len() as u64;

    let (from, to) = ("2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z");
    let calls = |service: &Service, who: &Caller, n: &str| {
        let asked = json!({"number": n, "from": from, "to": to});
        service.case_calls(who, &id, asked, n, T0 - 86_400, T0 - 86_400 + 3600)
    };
    // Inside the scope (answered), outside it (refused), and without a token (summarised).
    calls(&service, &anna, "0046701234567").unwrap();
    let err = calls(&service, &anna, "+46709999999").unwrap_err();
    assert_eq!(err.code(), "case.out_of_scope");
    calls(&service, &tokenless(Some(ATTACKER)), "+46701234567").unwrap_err();
    stop(service, &data);

    let entries = tdr::audit::read_entries(&data, before, 1000).unwrap();
    assert_eq!(entries.len(), 3, "{entries:?}");
    let log = std::fs::read_to_string(segment(&data)).unwrap();
    for digits in ["701234567", "709999999", "70-123"] {
        assert!(!log.contains(digits), "{digits} in clear in the audit log");
    }
    let (found, refused) = (&entries[0]["query"], &entries[1]["query"]);
    assert_eq!(entries[1]["outcome"], "refused:case.out_of_scope");
    let keyed = found["number_keyed"].as_str().unwrap();
    assert_eq!(keyed.len(), 32);
    assert!(keyed.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(refused["number_keyed"], found["number_keyed"]);
    assert_eq!(found["from"], from, "the rest of the query stays");
    // The same number in another notation is the same keyed hash (it is normalised first).
    let service = daemon(&data, &clock);
    let again = tdr::audit::read_entries(&data, 0, 1000).unwrap().len() as u64;
    calls(&service, &anna, "+46 70 123 45 67").unwrap();
    stop(service, &data);
    let e = tdr::audit::read_entries(&data, again, 10).unwrap();
    assert_eq!(e[0]["query"]["number_keyed"], keyed);
}

/// Collects what the tracing subscriber writes.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Journal {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Journal {
    type Writer = Journal;
    fn make_writer(&'a self) -> Journal {
        self.clone()
    }
}

#[test]
fn every_signed_checkpoint_is_anchored_to_the_journal() {
    let d = tempfile::tempdir().unwrap();
    let journal = Journal::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(journal.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    let clock = Arc::new(FixedClock::new(T0));
    let head = tracing::subscriber::with_default(subscriber, || {
        let opts = AuditOptions {
            checkpoint_every: 2,
            ..AuditOptions::default()
        };
        let mut log = AuditLog::open_with_options(d.path(), clock.clone(), opts).unwrap();
        for i in 0..5 {
            log.append(NewEntry {
                actor: "officer-1".into(),
                role: "api:legal".into(),
                peer: Some("192.0.2.50:50000".into()),
                action: "case_lookup".into(),
                case: Some("C-2026-0001".into()),
                query: json!({"addr": "198.51.100.7", "at": "2026-11-21T09:00:00Z", "i": i}),
                outcome: "found".into(),
                ..NewEntry::default()
            })
            .unwrap();
        }
        log.checkpoint().unwrap();
        log.signed_head().unwrap()
    });

    let text = String::from_utf8(journal.0.lock().unwrap().clone()).unwrap();
    let anchors: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["target"] == "tdr::audit::anchor")
        .collect();
    let signed = lines(&checkpoints(d.path()));
    assert_eq!(signed.len(), 3, "at 2 and 4 by count, 5 by hand");
    assert_eq!(anchors.len(), signed.len(), "{text}");
    let key_bytes: [u8; 32] = hex::decode(&head.public_key).unwrap().try_into().unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes).unwrap();
    for (anchor, line) in anchors.iter().zip(&signed) {
        let f = &anchor["fields"];
        let cp: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            (&f["seq"], &f["hash"], &f["signature"], &f["time"]),
            (&cp["seq"], &cp["hash"], &cp["sig"], &cp["time"]),
            "{anchor}"
        );
        assert_eq!(f["key_id"], head.key_id.as_str());
        // The journal line alone is a verifiable head.
        let mut msg = f["seq"].as_u64().unwrap().to_be_bytes().to_vec();
        msg.extend(hex::decode(f["hash"].as_str().unwrap()).unwrap());
        let sig: [u8; 64] = hex::decode(f["signature"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        key.verify_strict(&msg, &ed25519_dalek::Signature::from_bytes(&sig))
            .unwrap();
    }
    let last = &anchors[2]["fields"];
    assert_eq!(
        format!("{}:{}", last["seq"], last["hash"].as_str().unwrap()),
        head.seq_hash()
    );
    // No personal data goes to the journal: not the query, not who asked, not from where.
    for needle in ["198.51.100.7", "officer-1", "C-2026-0001", "192.0.2.50"] {
        assert!(!text.contains(needle), "{needle} in the journal: {text}");
    }
}
