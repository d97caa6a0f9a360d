//! Data at rest (issue 19) on real RocksDB and real files: sealed values and hashed keys,
//! crypto-shredding on expiry with a signed deletion certificate, and backups that forget on
//! time (a backup taken before an expiry, restored after it, cannot read the expired day; a
//! backup from another appliance is refused; a missing key is named, never read as garbage).

use std::path::Path;
use std::sync::Arc;

use tdr::audit::AuditLog;
use tdr::clock::{Clock, FixedClock};
use tdr::store::lookup::Status;
use tdr::store::{retention, Store, StoreRead};
use tdr_testkit::ev::*;
use tdr_testkit::store::*;

/// Every file under `dir` that holds `needle` (bytes).
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    out.push(p.display().to_string());
                }
            }
        }
    }
    out
}

fn events() -> Vec<String> {
    vec![
        session(
            "start",
            "2026-05-10T10:00:00Z",
            "alice-4711",
            "s1",
            "192.0.2.1",
        ),
        session(
            "stop",
            "2026-05-10T11:00:00Z",
            "alice-4711",
            "s1",
            "192.0.2.1",
        ),
        cdr(
            "2026-05-10",
            "10:00:00",
            "10:01:00",
            "+46701112233",
            "+46709998877",
            "billing",
        ),
        session(
            "start",
            "2026-05-11T10:00:00Z",
            "bob-0815",
            "s2",
            "192.0.2.2",
        ),
        session(
            "stop",
            "2026-05-11T11:00:00Z",
            "bob-0815",
            "s2",
            "192.0.2.2",
        ),
        tick("2026-05-12T12:00:00Z"),
    ]
}

#[test]
fn the_store_holds_no_subscriber_id_or_number_in_clear_in_any_file() {
    let (dir, _cfg, store) = store_with(&events());
    // In the WAL and memtables first, then in SST files once flushed and compacted.
    for phase in ["wal", "sst"] {
        for needle in ["alice-4711", "bob-0815", "+46701112233", "46709998877"] {
            let found = files_holding(dir.path(), needle.as_bytes());
            assert!(found.is_empty(), "{phase}: {needle} in {found:?}");
        }
        store.compact().unwrap();
    }
    // And it still answers.
    let a = lookup(
        &store,
        &config(dir.path()),
        "192.0.2.1",
        None,
        "2026-05-10T10:30:00Z",
        t("2026-05-12T00:00:00Z"),
    );
    assert_eq!(a.status, Status::Found);
    assert_eq!(a.matches[0].subscriber, "alice-4711");
    let calls = store
        .cdrs(
            "+46 70 111 22 33",
            t("2026-05-10T00:00:00Z"),
            t("2026-05-11T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(calls.len(), 1);
}

#[test]
fn a_store_without_its_keys_is_refused_naming_them_and_opens_again_with_them() {
    let (dir, cfg, store) = store_with(&events());
    store.compact().unwrap();
    drop(store);
    // Another appliance's key store beside this store: refused by name at open.
    let keystore = dir.path().join("keystore");
    let saved = dir.path().join("keystore.saved");
    std::fs::rename(&keystore, &saved).unwrap();
    let master = dir.path().join("keys/master.key");
    let saved_master = dir.path().join("master.saved");
    std::fs::rename(&master, &saved_master).unwrap();
    let Err(err) = Store::open(&cfg) else {
        panic!("a store without its keys opened");
    };
    assert!(
        err.code() == "key.missing" && err.to_string().contains("day-20260510"),
        "{} {err}",
        err.code()
    );
    // The right keys again: it opens and answers.
    std::fs::remove_dir_all(&keystore).unwrap();
    std::fs::rename(&saved, &keystore).unwrap();
    std::fs::rename(&saved_master, &master).unwrap();
    let store = Store::open(&cfg).unwrap();
    let a = lookup(
        &store,
        &cfg,
        "192.0.2.2",
        None,
        "2026-05-11T10:30:00Z",
        t("2026-05-12T00:00:00Z"),
    );
    assert_eq!(a.status, Status::Found);
}

#[test]
fn expiry_shreds_the_days_key_first_then_drops_it_and_certifies_it() {
    let (dir, cfg, store) = store_with(&events());
    store.compact().unwrap();
    // A copy of the store taken before the expiry (what a thief or an old backup holds).
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&dir.path().join("store"), &copy.path().join("store"));
    let key_file = dir.path().join("keystore/day-20260510.key");
    assert!(key_file.exists());
    let clock = Arc::new(FixedClock::new(t("2026-11-11T00:00:00Z")));
    let mut log = AuditLog::open(dir.path(), clock.clone()).unwrap();
    let dropped = retention::expire(&store, &mut log, &cfg, clock.now(), "test", &[]).unwrap();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].name, "d20260510");
    // The key is gone for good (a marker says it was shredded), the day with it.
    assert!(!key_file.exists());
    assert!(dir.path().join("keystore/day-20260510.shredded").exists());
    assert!(!store
        .partitions()
        .unwrap()
        .contains(&tdr::model::day_of(t("2026-05-10T10:00:00Z"))));
    // The rest answers.
    let b = lookup(
        &store,
        &cfg,
        "192.0.2.2",
        None,
        "2026-05-11T10:30:00Z",
        clock.now(),
    );
    assert_eq!(b.status, Status::Found);
    // Audited in order: the shredding before the certificate, with the key's id.
    log.checkpoint().unwrap();
    drop(log);
    let entries: Vec<serde_json::Value> =
        std::fs::read_to_string(dir.path().join("audit/audit-000001.log"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["partition_drop", "deletion_certificate"]);
    assert_eq!(entries[0]["outcome"], "shredding");
    let key_id = entries[0]["query"]["key_id"].as_str().unwrap().to_string();
    // The certificate: partition, range, count, the key id destroyed, signed.
    let cert_path = dir.path().join("certificates/d20260510.json");
    let cert: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cert_path).unwrap()).unwrap();
    let body = &cert["body"];
    assert_eq!(body["kind"], "expiry");
    assert_eq!(body["partition"], "d20260510");
    assert_eq!(body["from"], "2026-05-10T00:00:00Z");
    assert_eq!(body["to"], "2026-05-11T00:00:00Z");
    assert_eq!(body["records"], 3, "{body}");
    assert_eq!(body["key"]["id"], key_id.as_str());
    assert_eq!(
        tdr::legal::service::verify_certificate_file(dir.path(), None, &cert_path).unwrap(),
        "d20260510"
    );
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        std::fs::read(&cert_path).unwrap(),
    ));
    assert_eq!(entries[1]["result_digest"], sha.as_str());
    // A forged certificate fails.
    let forged = dir.path().join("forged.json");
    let text = std::fs::read_to_string(&cert_path)
        .unwrap()
        .replace("\"records\": 3", "\"records\": 2");
    std::fs::write(&forged, text).unwrap();
    assert!(tdr::legal::service::verify_certificate_file(dir.path(), None, &forged).is_err());
    // The copy taken before: with this appliance's keys, the shredded day is dropped at open,
    // never read; the other day answers.
    drop(store);
    std::fs::remove_dir_all(dir.path().join("store")).unwrap();
    copy_dir(&copy.path().join("store"), &dir.path().join("store"));
    let store = Store::open(&cfg).unwrap();
    assert!(!store
        .partitions()
        .unwrap()
        .contains(&tdr::model::day_of(t("2026-05-10T10:00:00Z"))));
    let c = lookup(
        &store,
        &cfg,
        "192.0.2.1",
        None,
        "2026-05-10T10:30:00Z",
        t("2026-05-12T00:00:00Z"),
    );
    assert_ne!(c.status, Status::Found, "{c:?}");
    let b = lookup(
        &store,
        &cfg,
        "192.0.2.2",
        None,
        "2026-05-11T10:30:00Z",
        t("2026-05-12T00:00:00Z"),
    );
    assert_eq!(b.status, Status::Found);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// A backup taken before an expiry and restored after it cannot read the expired day; the
/// restore refuses another appliance's backup, and one whose keys this key store lacks
/// unless the escrow is given.
#[test]
fn a_backup_forgets_what_expired_after_it_was_made() {
    let (dir, cfg, store) = store_with(&events());
    let _ = AuditLog::open(
        dir.path(),
        Arc::new(FixedClock::new(t("2026-05-12T13:00:00Z"))),
    )
    .unwrap();
    let backups = tempfile::tempdir().unwrap();
    let b1 = backups.path().join("b1");
    let made = tdr::legal::backup::create(dir.path(), &store, &b1, "2026-05-12T13:00:00Z", "test")
        .unwrap();
    assert_eq!(made.partitions.len(), 2, "{made:?}");
    // Never a key in it.
    for needle in ["master.key", "keystore", "audit-signing.key"] {
        assert!(
            !walk(&b1).iter().any(|p| p.contains(needle)),
            "{needle} in the backup"
        );
    }
    let summary =
        tdr::legal::backup::verify(&b1, Some(&dir.path().join("keys/audit-signing.pub"))).unwrap();
    assert_eq!(summary.files, made.files);
    // Escrow of the keys as they are now (before the expiry).
    let escrow = backups.path().join("escrow.json");
    tdr::keyring::KeyStore::open(dir.path(), false)
        .unwrap()
        .export(&escrow, "2026-05-12T13:00:00Z")
        .unwrap();
    // A changed file fails verification.
    let tampered = backups.path().join("tampered");
    copy_dir(&b1, &tampered);
    let manifest = std::fs::read_to_string(tampered.join("MANIFEST.json")).unwrap();
    let victim = serde_json::from_str::<serde_json::Value>(&manifest).unwrap()["body"]["files"][0]
        ["path"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bytes = std::fs::read(tampered.join(&victim)).unwrap();
    bytes.push(0);
    std::fs::write(tampered.join(&victim), bytes).unwrap();
    let err = tdr::legal::backup::verify(&tampered, None).unwrap_err();
    assert_eq!(err.code(), "backup.bad", "{err}");

    // The first day expires (its key shredded), then the disk loses the store.
    let clock = Arc::new(FixedClock::new(t("2026-11-11T00:00:00Z")));
    let mut log = AuditLog::open(dir.path(), clock.clone()).unwrap();
    retention::expire(&store, &mut log, &cfg, clock.now(), "test", &[]).unwrap();
    drop(log);
    drop(store);
    std::fs::remove_dir_all(dir.path().join("store")).unwrap();
    // Restored (even with the escrow made before the expiry): the expired day stays gone.
    let floor = cfg.retention.floor(clock.now());
    let r = tdr::legal::backup::restore(dir.path(), &b1, Some(&escrow), floor).unwrap();
    assert_eq!(r.partitions, ["d20260511"]);
    assert_eq!(r.forgotten, ["d20260510"]);
    assert!(r.keys_imported.is_empty(), "{r:?}");
    let store = Store::open(&cfg).unwrap();
    assert_eq!(
        store.partitions().unwrap(),
        [tdr::model::day_of(t("2026-05-11T10:00:00Z"))]
    );
    assert!(!dir.path().join("keystore/day-20260510.key").exists());
    let b = lookup(
        &store,
        &cfg,
        "192.0.2.2",
        None,
        "2026-05-11T10:30:00Z",
        clock.now(),
    );
    assert_eq!(b.status, Status::Found);
    assert_eq!(b.matches[0].subscriber, "bob-0815");
    // A restore into a data directory that has a store is refused.
    let err = tdr::legal::backup::restore(dir.path(), &b1, None, floor).unwrap_err();
    assert_eq!(err.code(), "backup.target_not_empty", "{err}");
    drop(store);

    // Another appliance (its own master key) cannot restore it, escrow or not.
    let other = tempfile::tempdir().unwrap();
    tdr::keyring::KeyStore::open(other.path(), true).unwrap();
    let err = tdr::legal::backup::restore(other.path(), &b1, Some(&escrow), floor).unwrap_err();
    assert_eq!(err.code(), "backup.foreign", "{err}");
    // The same appliance on a new disk (its master key and audit keys restored, an empty
    // key store): refused without the escrow, naming the day it lacks; restored with it.
    let fresh = tempfile::tempdir().unwrap();
    copy_dir(&dir.path().join("keys"), &fresh.path().join("keys"));
    let early = cfg.retention.floor(t("2026-05-12T13:00:00Z"));
    let err = tdr::legal::backup::restore(fresh.path(), &b1, None, early).unwrap_err();
    assert_eq!(err.code(), "backup.keys_missing", "{err}");
    assert!(err.to_string().contains("day-20260510"), "{err}");
    let r = tdr::legal::backup::restore(fresh.path(), &b1, Some(&escrow), early).unwrap();
    assert_eq!(r.partitions.len(), 2, "{r:?}");
    let fresh_cfg = config(fresh.path());
    let store = Store::open(&fresh_cfg).unwrap();
    let a = lookup(
        &store,
        &fresh_cfg,
        "192.0.2.1",
        None,
        "2026-05-10T10:30:00Z",
        t("2026-05-12T13:00:00Z"),
    );
    assert_eq!(a.status, Status::Found);
    assert_eq!(a.matches[0].subscriber, "alice-4711");
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            out.push(p.display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

/// The commands as ops and the service user run them: a backup made offline and one through
/// the daemon (as ops), verified without a secret and refused once changed, the key escrow
/// exported, the store lost and restored; every step audited and the log still verifying.
#[test]
fn the_backup_commands_make_verify_and_restore_and_audit_each_step() {
    use tdr_testkit::cli::{stderr, stdout, Tdr};
    const TDR: &str = env!("CARGO_BIN_EXE_tdr");
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let tdr = Tdr::new(TDR, &data);
    let day = yesterday();
    let events = d.path().join("events.jsonl");
    let lines = [
        session(
            "start",
            &format!("{day}T10:00:00Z"),
            "carol-77",
            "s1",
            "192.0.2.7",
        ),
        session(
            "stop",
            &format!("{day}T11:00:00Z"),
            "carol-77",
            "s1",
            "192.0.2.7",
        ),
        tick(&format!("{day}T23:59:00Z")),
    ];
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let ok = |o: &std::process::Output| {
        assert!(o.status.success(), "{}{}", stdout(o), stderr(o));
        stdout(o)
    };
    ok(&tdr.run(&["import", "--format", "events", events.to_str().unwrap()]));
    let b1 = d.path().join("b1");
    let made: serde_json::Value =
        serde_json::from_str(&ok(&tdr.run(&["backup", "create", b1.to_str().unwrap()]))).unwrap();
    assert_eq!(made["partitions"].as_array().unwrap().len(), 1, "{made}");
    let out = ok(&tdr.run(&["backup", "verify", b1.to_str().unwrap()]));
    assert!(
        out.contains("backup intact") && out.contains("signed by this key"),
        "{out}"
    );
    // One byte changed: verification fails, naming the file.
    let bad = d.path().join("bad");
    copy_dir(&b1, &bad);
    let cases = bad.join("keys/audit-signing.pub");
    std::fs::write(
        &cases,
        std::fs::read_to_string(&cases).unwrap().replace('a', "b"),
    )
    .unwrap();
    let o = tdr.run(&["backup", "verify", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("backup.bad") && stderr(&o).contains("audit-signing.pub"),
        "{}",
        stderr(&o)
    );
    let escrow = d.path().join("escrow.json");
    let x: serde_json::Value =
        serde_json::from_str(&ok(&tdr.run(&["keys", "export", escrow.to_str().unwrap()]))).unwrap();
    assert!(x["keys"].as_u64().unwrap() >= 3, "{x}");
    // Through the daemon, as ops; a legal officer may not.
    {
        let _daemon = tdr_testkit::daemon::Daemon::start(TDR, &data);
        let ops = tdr.user("olle", "ops");
        let legal = tdr.user("lena", "legal");
        let b2 = d.path().join("b2");
        let o = tdr.run_as(&legal, &["backup", "create", b2.to_str().unwrap()]);
        assert!(stderr(&o).contains("auth.forbidden"), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&ok(
            &tdr.run_as(&ops, &["backup", "create", b2.to_str().unwrap()])
        ))
        .unwrap();
        assert_eq!(v["partitions"].as_array().unwrap().len(), 1, "{v}");
        ok(&tdr.run(&["backup", "verify", b2.to_str().unwrap()]));
        let o = tdr.run_as(
            &ops,
            &["keys", "export", d.path().join("e2.json").to_str().unwrap()],
        );
        assert!(stderr(&o).contains("auth.forbidden"), "{}", stderr(&o));
    }
    // The disk loses the store; the restore brings it back, readable.
    std::fs::remove_dir_all(data.join("store")).unwrap();
    let r: serde_json::Value = serde_json::from_str(&ok(&tdr.run(&[
        "backup",
        "restore",
        b1.to_str().unwrap(),
        "--escrow",
        escrow.to_str().unwrap(),
    ])))
    .unwrap();
    assert_eq!(r["partitions"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["forgotten"], serde_json::json!([]));
    let store = Store::open(&config(&data)).unwrap();
    let a = lookup(
        &store,
        &config(&data),
        "192.0.2.7",
        None,
        &format!("{day}T10:30:00Z"),
        t(&format!("{day}T12:00:00Z")),
    );
    assert_eq!(a.matches[0].subscriber, "carol-77");
    drop(store);
    let entries = tdr_testkit::cli::audit_entries(&data);
    let seen: Vec<(String, String)> = entries
        .iter()
        .filter(|e| {
            e["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("backup_") || a == "keys_export")
        })
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("backup_create", "started"),
        ("backup_create", "made"),
        ("keys_export", "ok"),
    ];
    for w in want {
        assert!(
            seen.iter().any(|s| (s.0.as_str(), s.1.as_str()) == w),
            "{w:?} in {seen:?}"
        );
    }
    assert!(seen.iter().any(|s| s.0 == "backup_restore"), "{seen:?}");
    assert!(
        seen.iter()
            .any(|s| s.0 == "backup_create" && s.1 == "refused:auth.forbidden"),
        "{seen:?}"
    );
    ok(&tdr.run(&["audit", "verify"]));
}
/// The test: after importing the generated ISP (every producer's real format, its
/// malformed lines quarantined) and its CRM export, no subscriber id, name, street, personal
/// number, phone number or address (as text) can be found by a byte search of any file under
/// the data directory: store (WAL, SST, after compaction too), identity register, quarantine.
#[test]
fn nothing_personal_is_readable_in_the_data_directory_after_importing_the_generated_isp() {
    use std::process::Command;
    let d = tempfile::tempdir().unwrap();
    let gen = d.path().join("gen");
    let data = d.path().join("data");
    let run = |cmd: &mut Command| {
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(Command::new(tdr_testkit::bins::tool_bin("tdr-gen")).args([
        "generate",
        "--out",
        gen.to_str().unwrap(),
        "--subscribers",
        "120",
        "--days",
        "1",
        "--output",
        "real",
        "--seed",
        "19",
    ]));
    let imported = run(Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tools/import-generated.sh"
    ))
    .env("TDR", env!("CARGO_BIN_EXE_tdr"))
    .arg(&gen)
    .arg(&data));
    assert!(imported.contains(" quarantined"), "{imported}");
    let q = tdr::ingest::quarantine::read_all(&data).unwrap();
    assert!(!q.is_empty(), "the generated logs hold malformed lines");
    let reg = tdr::identity::IdentityRegister::open(&data).unwrap();
    reg.import_csv(&gen.join("identity.csv"), t("2026-12-04T00:00:00Z"))
        .unwrap();
    drop(reg);

    let mut needles = std::collections::BTreeSet::new();
    let crm = std::fs::read_to_string(gen.join("identity.csv")).unwrap();
    for row in crm.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        // subscriber, customer id, name, street, personal number
        for i in [0, 1, 2, 3, 6] {
            needles.insert(f[i].to_string());
        }
    }
    for l in std::fs::read_to_string(gen.join("truth.jsonl"))
        .unwrap()
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        for k in ["subscriber", "target", "inside"] {
            if let Some(s) = v[k].as_str() {
                needles.insert(s.split('/').next().unwrap().to_string());
            }
        }
    }
    for f in std::fs::read_dir(gen.join("cdr-csv")).unwrap().flatten() {
        for row in std::fs::read_to_string(f.path()).unwrap().lines() {
            for n in row.split(',').skip(1).take(2) {
                needles.insert(n.trim_matches('"').to_string());
            }
        }
    }
    needles.retain(|n| n.len() >= 6);
    assert!(needles.len() > 300, "{}", needles.len());
    let search = |phase: &str| {
        let mut hay = String::new();
        for f in walk(&data) {
            if let Ok(bytes) = std::fs::read(&f) {
                // Lossy: every ASCII byte (and valid UTF-8 run) stays, so a needle in clear
                // is found; each file on its own line.
                hay.push_str(&String::from_utf8_lossy(&bytes));
                hay.push('\n');
            }
        }
        let found: Vec<&String> = needles
            .iter()
            .filter(|n| hay.contains(n.as_str()))
            .collect();
        assert!(
            found.is_empty(),
            "{phase}: {} in clear, e.g. {:?}",
            found.len(),
            &found[..found.len().min(5)]
        );
    };
    search("as imported");
    let cfg = config(&data);
    Store::open(&cfg).unwrap().compact().unwrap();
    search("compacted");
}
