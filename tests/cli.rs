//! The `tdr` binary as a user runs it: import, lookups (single and batch), exit codes and
//! messages for bad input, fail-closed auditing, audit tamper detection, config checking.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_tdr");

fn tdr(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small data set within retention of the real clock: yesterday's sessions.
fn fixture(dir: &Path) -> (PathBuf, String) {
    let day = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    let ts = |hms: &str| format!("{day}T{hms}Z");
    let lines = [
        format!(
            r#"{{"kind":"session","op":"start","time":"{}","subscriber":"alice","session":"a1","addr":"192.0.2.10","nas":"bng1","source":"radius"}}"#,
            ts("10:00:00")
        ),
        format!(
            r#"{{"kind":"session","op":"stop","time":"{}","subscriber":"alice","session":"a1","addr":"192.0.2.10","nas":"bng1","source":"radius"}}"#,
            ts("11:00:00")
        ),
        "this is not json".to_string(),
        format!(
            r#"{{"kind":"session","op":"start","time":"{}","subscriber":"bob","session":"b1","addr":"100.64.0.7","nas":"bng1","source":"radius"}}"#,
            ts("09:00:00")
        ),
        format!(
            r#"{{"kind":"nat_block","op":"alloc","time":"{}","inside":"100.64.0.7","public":"203.0.113.9","ports":"1024-2047","source":"cgnat"}}"#,
            ts("09:00:01")
        ),
        format!(
            r#"{{"kind":"session","op":"interim","time":"{}","subscriber":"bob","session":"b1","addr":"100.64.0.7","nas":"bng1","source":"radius"}}"#,
            ts("12:00:00")
        ),
        format!(
            r#"{{"kind":"session","op":"interim","time":"{}","subscriber":"zz","session":"z","addr":"192.0.2.250","nas":"bng1","source":"radius"}}"#,
            ts("23:59:00")
        ),
        format!(
            r#"{{"kind":"session","op":"start","time":"{}","subscriber":"carol","session":"c1","addr":"192.0.2.11","nas":"bng1","source":"radius"}}"#,
            "2026-01-01T10:00:00"
        ),
    ];
    let p = dir.join("events.jsonl");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    (p, day.to_string())
}

#[test]
fn import_counts_quarantines_and_is_idempotent() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let (file, _) = fixture(d.path());
    let o = tdr(
        &data,
        &["import", "--format", "events", file.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("6 accepted, 0 duplicate, 2 quarantined"),
        "{}",
        stdout(&o)
    );
    let q = std::fs::read_to_string(data.join("quarantine/import.jsonl")).unwrap();
    let recs: Vec<serde_json::Value> = q
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["code"], "parse.events.json");
    assert_eq!(recs[1]["code"], "parse.events.no_offset");
    assert!(recs[0]["offset"].as_u64().unwrap() > 0);
    assert_eq!(recs[0]["raw"], "this is not json");
    // Again: nothing new, nothing quarantined twice.
    let o = tdr(
        &data,
        &["import", "--format", "events", file.to_str().unwrap()],
    );
    assert!(
        stdout(&o).contains("0 accepted, 0 duplicate, 0 quarantined"),
        "{}",
        stdout(&o)
    );
    let q2 = std::fs::read_to_string(data.join("quarantine/import.jsonl")).unwrap();
    assert_eq!(q, q2);
}

#[test]
fn lookups_answer_and_are_audited_first() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let (file, day) = fixture(d.path());
    assert!(tdr(
        &data,
        &["import", "--format", "events", file.to_str().unwrap()]
    )
    .status
    .success());

    let at = format!("{day}T10:30:00+00:00");
    let o = tdr(
        &data,
        &[
            "lookup",
            "192.0.2.10",
            "--at",
            &at,
            "--purpose",
            "ipred",
            "--case",
            "PMT 123-26",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let a: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(a["status"], "found");
    assert_eq!(a["matches"][0]["subscriber"], "alice");
    assert_eq!(a["matches"][0]["end_kind"], "stop");

    // Human form explains the status.
    let o = tdr(
        &data,
        &[
            "lookup",
            "192.0.2.10",
            "--at",
            &at,
            "--purpose",
            "ipred",
            "--case",
            "PMT 123-26",
        ],
    );
    let text = stdout(&o);
    assert!(text.starts_with("status: found"), "{text}");
    assert!(text.contains("alice"));

    // CGNAT without a port, then with.
    let o = tdr(
        &data,
        &[
            "lookup",
            "203.0.113.9",
            "--at",
            &at,
            "--purpose",
            "law-enforcement",
            "--case",
            "K-1",
            "--json",
        ],
    );
    let a: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(a["status"], "port_required");
    assert_eq!(a["sharing"], 1);
    assert!(!stdout(&o).contains("bob"));
    let o = tdr(
        &data,
        &[
            "lookup",
            "203.0.113.9",
            "--port",
            "1500",
            "--at",
            &at,
            "--purpose",
            "law-enforcement",
            "--case",
            "K-1",
            "--json",
        ],
    );
    let a: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(a["status"], "found", "{a}");
    assert_eq!(a["matches"][0]["subscriber"], "bob");
    assert_eq!(a["matches"][0]["via"]["inside"], "100.64.0.7");

    // Abuse purpose: a pseudonym, never the identifier.
    let o = tdr(
        &data,
        &[
            "lookup",
            "192.0.2.10",
            "--at",
            &at,
            "--purpose",
            "abuse",
            "--case",
            "ABUSE-9",
            "--json",
        ],
    );
    let a: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(a["status"], "found");
    let pseudo = a["matches"][0]["subscriber"].as_str().unwrap();
    assert_ne!(pseudo, "alice");
    assert!(!stdout(&o).contains("alice"));

    // Every lookup above is in the audit log, with the case and the purpose, and no
    // subscriber identifier in clear.
    let log = std::fs::read_to_string(data.join("audit/audit-000001.log")).unwrap();
    let entries: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 5);
    assert_eq!(entries[0]["case"], "PMT 123-26");
    assert_eq!(entries[0]["legal_basis"], "ipred");
    assert_eq!(entries[0]["outcome"], "found");
    assert_eq!(entries[2]["outcome"], "port_required");
    assert!(!log.contains("alice") && !log.contains("bob"));
    let o = tdr(&data, &["audit", "verify"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("5 entries"), "{}", stdout(&o));
}

#[test]
fn batch_answers_in_order_and_audits_each() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let (file, day) = fixture(d.path());
    assert!(tdr(
        &data,
        &["import", "--format", "events", file.to_str().unwrap()]
    )
    .status
    .success());
    let q = d.path().join("q.jsonl");
    std::fs::write(
        &q,
        format!(
            "{{\"addr\":\"192.0.2.10\",\"at\":\"{day}T10:30:00Z\"}}\n{{\"addr\":\"192.0.2.99\",\"port\":null,\"at\":\"{day}T23:58:00Z\"}}\n\n{{\"addr\":\"203.0.113.9\",\"port\":1024,\"at\":\"{day}T12:00:00+01:00\"}}\n"
        ),
    )
    .unwrap();
    let o = tdr(
        &data,
        &[
            "lookup",
            "--batch",
            q.to_str().unwrap(),
            "--purpose",
            "law-enforcement",
            "--case",
            "K-2",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let statuses: Vec<&str> = lines
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["found", "not_found", "found"]);
    assert_eq!(lines[1]["query"]["addr"], "192.0.2.99");
    let log = std::fs::read_to_string(data.join("audit/audit-000001.log")).unwrap();
    assert_eq!(log.lines().count(), 3);
    assert!(log
        .lines()
        .all(|l| l.contains("\"lookup_batch_item\"") && l.contains("K-2")));
    // Each entry's digest is of exactly the line that was printed.
    let printed = stdout(&o);
    for (line, entry) in printed.lines().zip(log.lines()) {
        let entry: serde_json::Value = serde_json::from_str(entry).unwrap();
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(line.as_bytes()));
        assert_eq!(entry["result_digest"], digest.as_str());
    }
}

#[test]
fn bad_input_is_refused_with_a_message_and_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "lookup",
                "192.0.2.1",
                "--at",
                "2026-11-20T10:00:00",
                "--purpose",
                "ipred",
                "--case",
                "X",
            ],
            "no UTC offset",
        ),
        (
            &[
                "lookup",
                "192.0.2.300",
                "--at",
                "2026-11-20T10:00:00Z",
                "--purpose",
                "ipred",
                "--case",
                "X",
            ],
            "not an IPv4 or IPv6 address",
        ),
        (
            &[
                "lookup",
                "192.0.2.1",
                "--at",
                "2026-11-20T10:00:00Z",
                "--purpose",
                "ipred",
                "--case",
                " ",
            ],
            "--case",
        ),
    ];
    for (args, needle) in cases {
        let o = tdr(&data, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty());
    }
    // A missing --case is a usage error from the argument parser.
    let o = tdr(
        &data,
        &[
            "lookup",
            "192.0.2.1",
            "--at",
            "2026-11-20T10:00:00Z",
            "--purpose",
            "ipred",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--case"));
    // A batch with one bad line runs no lookup at all.
    let q = d.path().join("q.jsonl");
    std::fs::write(&q, "{\"addr\":\"192.0.2.1\",\"at\":\"2026-11-20T10:00:00Z\"}\n{\"addr\":\"192.0.2.1\",\"at\":\"2026-11-20\"}\n").unwrap();
    let o = tdr(
        &data,
        &[
            "lookup",
            "--batch",
            q.to_str().unwrap(),
            "--purpose",
            "ipred",
            "--case",
            "X",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
    assert!(
        !data.join("audit/audit-000001.log").exists()
            || std::fs::read_to_string(data.join("audit/audit-000001.log"))
                .unwrap()
                .is_empty()
    );
}

#[test]
fn no_answer_without_an_audit_entry() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let (file, day) = fixture(d.path());
    assert!(tdr(
        &data,
        &["import", "--format", "events", file.to_str().unwrap()]
    )
    .status
    .success());
    // The audit directory is replaced by a file: nothing can be appended (this holds for root too).
    let audit = data.join("audit");
    if audit.exists() {
        std::fs::remove_dir_all(&audit).unwrap();
    }
    std::fs::write(&audit, b"not a directory").unwrap();
    let at = format!("{day}T10:30:00Z");
    let o = tdr(
        &data,
        &[
            "lookup",
            "192.0.2.10",
            "--at",
            &at,
            "--purpose",
            "ipred",
            "--case",
            "X",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty(), "answer leaked: {}", stdout(&o));
    assert!(!stderr(&o).contains("alice"));
}

fn audited_data_dir(d: &Path) -> PathBuf {
    let data = d.join("data");
    let (file, day) = fixture(d);
    assert!(tdr(
        &data,
        &["import", "--format", "events", file.to_str().unwrap()]
    )
    .status
    .success());
    for h in ["10:10:00", "10:20:00", "10:30:00", "10:40:00"] {
        let at = format!("{day}T{h}Z");
        let o = tdr(
            &data,
            &[
                "lookup",
                "192.0.2.10",
                "--at",
                &at,
                "--purpose",
                "ipred",
                "--case",
                "X",
            ],
        );
        assert!(o.status.success());
    }
    assert!(tdr(&data, &["audit", "verify"]).status.success());
    data
}

#[test]
fn audit_verify_names_the_first_bad_entry_for_every_kind_of_tampering() {
    type Tamper = fn(&str) -> String;
    let cases: &[(&str, Tamper)] = &[
        ("edited byte", |s| {
            s.replacen("\"outcome\":\"found\"", "\"outcome\":\"fownd\"", 1)
        }),
        ("removed line", |s| {
            let mut l: Vec<&str> = s.lines().collect();
            l.remove(1);
            l.join("\n") + "\n"
        }),
        ("reordered lines", |s| {
            let mut l: Vec<&str> = s.lines().collect();
            l.swap(1, 2);
            l.join("\n") + "\n"
        }),
        ("truncated tail", |s| {
            let l: Vec<&str> = s.lines().collect();
            l[..l.len() - 1].join("\n") + "\n"
        }),
        ("cut mid-line", |s| s[..s.len() - 20].to_string()),
    ];
    for (what, tamper) in cases {
        let d = tempfile::tempdir().unwrap();
        let data = audited_data_dir(d.path());
        let seg = data.join("audit/audit-000001.log");
        let text = std::fs::read_to_string(&seg).unwrap();
        std::fs::write(&seg, tamper(&text)).unwrap();
        let o = tdr(&data, &["audit", "verify"]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{what} not detected: {}",
            stdout(&o)
        );
        let err = stderr(&o);
        assert!(err.contains("audit-000001.log"), "{what}: {err}");
        assert!(err.contains("line"), "{what}: {err}");
    }
}

#[test]
fn check_config_lists_every_problem() {
    let d = tempfile::tempdir().unwrap();
    let good = d.path().join("good.toml");
    std::fs::write(&good, "[attribution]\ntolerance_secs = 3\n").unwrap();
    let o = Command::new(BIN)
        .args(["check-config", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    let bad = d.path().join("bad.toml");
    std::fs::write(
        &bad,
        "colour = 1\n[retention]\nsecurity = \"forever\"\n[network]\naddress_space = [\"x\"]\n",
    )
    .unwrap();
    let o = Command::new(BIN)
        .args(["check-config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for needle in [
        "3 problem(s)",
        "colour",
        "retention.security",
        "network.address_space[0]",
    ] {
        assert!(err.contains(needle), "{needle} missing: {err}");
    }
}

#[test]
fn expire_on_a_fresh_store_drops_nothing() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let (file, _) = fixture(d.path());
    assert!(tdr(
        &data,
        &["import", "--format", "events", file.to_str().unwrap()]
    )
    .status
    .success());
    let o = tdr(&data, &["expire"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("no partition is past its retention period"));
}
