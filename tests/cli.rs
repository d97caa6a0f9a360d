//! The `tdr` binary as a user runs it: import, lookups (single and batch) inside approved
//! cases, scope, four-eyes and authentication refusals (each audited), exit codes and messages
//! for bad input, fail-closed auditing, audit tamper detection, config checking.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::json;
use tdr_testkit::cli::{
    self, audit_entries, legal_case, officers, open_case, stderr, stdout, tdr_as, user, Tdr,
};
use tdr_testkit::daemon::Daemon;
use tdr_testkit::ev::{self, yesterday};

const BIN: &str = env!("CARGO_BIN_EXE_tdr");

/// `tdr` without a token.
fn tdr(data: &Path, args: &[&str]) -> Output {
    tdr_as(BIN, data, None, args)
}

/// `tdr` as the holder of `token`.
fn tdr_with(data: &Path, token: &str, args: &[&str]) -> Output {
    tdr_as(BIN, data, Some(token), args)
}

/// A small data set within retention of the real clock: yesterday's sessions.
fn fixture(dir: &Path) -> (PathBuf, String) {
    let day = yesterday();
    let ts = |hms: &str| format!("{day}T{hms}Z");
    let lines = [
        ev::session("start", &ts("10:00:00"), "alice", "a1", "192.0.2.10"),
        ev::session("stop", &ts("11:00:00"), "alice", "a1", "192.0.2.10"),
        "this is not json".to_string(),
        ev::session("start", &ts("09:00:00"), "bob", "b1", "100.64.0.7"),
        ev::nat(
            "alloc",
            &ts("09:00:01"),
            "100.64.0.7",
            "203.0.113.9",
            "1024-2047",
        ),
        ev::session("interim", &ts("12:00:00"), "bob", "b1", "100.64.0.7"),
        ev::session("interim", &ts("23:59:00"), "zz", "z", "192.0.2.250"),
        ev::session("start", "2026-01-01T10:00:00", "carol", "c1", "192.0.2.11"),
    ];
    let p = dir.join("events.jsonl");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    (p, day)
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
    // The raw line is sealed on disk, and opens with the data directory's quarantine key.
    assert!(recs[0].get("raw").is_none() && recs[0]["sealed"].is_string());
    assert!(!q.contains("this is not json"), "{q}");
    let listed = tdr::ingest::quarantine::Quarantine::list(&data).unwrap();
    assert_eq!(listed[0].raw, "this is not json");
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

/// The fixture imported (the daemon stopped, as the service user), then the daemon started:
/// every command after this goes through it.
fn import_fixture(d: &Path) -> (PathBuf, String, Daemon) {
    let data = d.join("data");
    let (file, day) = fixture(d);
    assert!(tdr(
        &data,
        &["import", "--format", "events", file.to_str().unwrap()]
    )
    .status
    .success());
    let daemon = Daemon::start(BIN, &data);
    (data, day, daemon)
}

/// The first administrator's token (bootstrapped on first use).
fn admin(data: &Path) -> String {
    Tdr::new(BIN, data).admins()[0].clone()
}

#[test]
fn lookups_answer_and_are_audited_first() {
    let d = tempfile::tempdir().unwrap();
    let (data, day, _daemon) = import_fixture(d.path());

    let at = format!("{day}T10:30:00+00:00");
    let o = officers(BIN, &data);
    let (officer, token) = (&o[0].0, &o[0].1);
    let ipred = open_case(
        BIN,
        &data,
        &o,
        "ipred",
        json!([{"addr": "192.0.2.10", "at": at}]),
    );
    // No port in the item: any port of the address at that time is in scope.
    let le = open_case(
        BIN,
        &data,
        &o,
        "law_enforcement",
        json!([{"addr": "203.0.113.9", "at": at}]),
    );
    let analyst = user(BIN, &data, "analyst", "security");
    let setup = audit_entries(&data).len();

    let o = tdr_with(
        &data,
        token,
        &[
            "lookup",
            "192.0.2.10",
            "--at",
            &at,
            "--purpose",
            "ipred",
            "--case",
            &ipred,
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let a: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(a["status"], "found");
    assert_eq!(a["matches"][0]["subscriber"], "alice");
    assert_eq!(a["matches"][0]["end_kind"], "stop");

    // Human form explains the status.
    let o = tdr_with(
        &data,
        token,
        &[
            "lookup",
            "192.0.2.10",
            "--at",
            &at,
            "--purpose",
            "ipred",
            "--case",
            &ipred,
        ],
    );
    let text = stdout(&o);
    assert!(text.starts_with("status: found"), "{text}");
    assert!(text.contains("alice"));

    // CGNAT without a port, then with.
    let o = tdr_with(
        &data,
        token,
        &[
            "lookup",
            "203.0.113.9",
            "--at",
            &at,
            "--purpose",
            "law-enforcement",
            "--case",
            &le,
            "--json",
        ],
    );
    let a: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(a["status"], "port_required");
    assert_eq!(a["sharing"], 1);
    assert!(!stdout(&o).contains("bob"));
    let o = tdr_with(
        &data,
        token,
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
            &le,
            "--json",
        ],
    );
    let a: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(a["status"], "found", "{a}");
    assert_eq!(a["matches"][0]["subscriber"], "bob");
    assert_eq!(a["matches"][0]["via"]["inside"], "100.64.0.7");

    // Abuse purpose (security role, a ticket reference, no case): a pseudonym, never the
    // identifier.
    let o = tdr_with(
        &data,
        &analyst,
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
    assert!(o.status.success(), "{}", stderr(&o));
    let a: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(a["status"], "found");
    let pseudo = a["matches"][0]["subscriber"].as_str().unwrap();
    assert_ne!(pseudo, "alice");
    assert!(!stdout(&o).contains("alice"));

    // Every lookup above is in the audit log, with the case, the purpose and who asked, and
    // no subscriber identifier in clear. A case lookup reads its case first (itself audited).
    let entries = audit_entries(&data);
    let ran = &entries[setup..];
    let lookups: Vec<&serde_json::Value> = ran
        .iter()
        .filter(|e| e["action"] == "case_lookup" || e["action"] == "abuse_lookup")
        .collect();
    assert_eq!(lookups.len(), 5, "{ran:?}");
    assert_eq!(lookups[0]["case"], ipred.as_str());
    assert_eq!(lookups[0]["legal_basis"], "ipred");
    assert_eq!(lookups[0]["outcome"], "found");
    assert_eq!(lookups[0]["actor"], officer.as_str());
    assert_eq!(lookups[0]["role"], "cli:legal");
    assert_eq!(lookups[2]["case"], le.as_str());
    assert_eq!(lookups[2]["legal_basis"], "law_enforcement");
    assert_eq!(lookups[2]["outcome"], "port_required");
    assert_eq!(lookups[4]["action"], "abuse_lookup");
    assert_eq!(lookups[4]["case"], "ABUSE-9");
    assert_eq!(lookups[4]["legal_basis"], "abuse");
    assert_eq!(lookups[4]["actor"], "analyst");
    assert_eq!(lookups[4]["role"], "cli:security");
    // Nothing else was read: one entry per answer.
    assert_eq!(ran.len(), 5, "{ran:?}");
    let log = std::fs::read_to_string(data.join("audit/audit-000001.log")).unwrap();
    assert!(!log.contains("alice") && !log.contains("bob"));
    let o = tdr(&data, &["audit", "verify"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("{} entries", entries.len())),
        "{}",
        stdout(&o)
    );
}

#[test]
fn batch_answers_in_order_and_audits_each() {
    let d = tempfile::tempdir().unwrap();
    let (data, day, _daemon) = import_fixture(d.path());
    let (token, case) = legal_case(
        BIN,
        &data,
        "law_enforcement",
        json!([
            {"addr": "192.0.2.10", "at": format!("{day}T10:30:00Z")},
            {"addr": "192.0.2.99", "at": format!("{day}T23:58:00Z")},
            {"addr": "203.0.113.9", "port": 1024, "at": format!("{day}T12:00:00+01:00")},
        ]),
    );
    let setup = audit_entries(&data).len();
    let q = d.path().join("q.jsonl");
    std::fs::write(
        &q,
        format!(
            "{{\"addr\":\"192.0.2.10\",\"at\":\"{day}T10:30:00Z\"}}\n{{\"addr\":\"192.0.2.99\",\"port\":null,\"at\":\"{day}T23:58:00Z\"}}\n\n{{\"addr\":\"203.0.113.9\",\"port\":1024,\"at\":\"{day}T12:00:00+01:00\"}}\n"
        ),
    )
    .unwrap();
    let o = tdr_with(
        &data,
        &token,
        &[
            "lookup",
            "--batch",
            q.to_str().unwrap(),
            "--purpose",
            "law-enforcement",
            "--case",
            &case,
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
    // Each item is one case_lookup entry.
    let entries = audit_entries(&data);
    let ran = &entries[setup..];
    assert_eq!(ran.len(), 3, "{ran:?}");
    let items = ran;
    assert!(items
        .iter()
        .all(|e| e["action"] == "case_lookup" && e["case"] == case.as_str()));
    // Each entry's digest is of exactly the line that was printed.
    let printed = stdout(&o);
    for (line, entry) in printed.lines().zip(items) {
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(line.as_bytes()));
        assert_eq!(entry["result_digest"], digest.as_str());
    }
}

#[test]
fn bad_input_is_refused_with_a_message_and_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let _daemon = Daemon::start(BIN, &data);
    let token = user(BIN, &data, "officer", "legal");
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
                "C-2026-0001",
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
                "C-2026-0001",
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
        let o = tdr_with(&data, &token, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty());
    }
    // A missing --case is a usage error from the argument parser.
    let o = tdr_with(
        &data,
        &token,
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
    let o = tdr_with(
        &data,
        &token,
        &[
            "lookup",
            "--batch",
            q.to_str().unwrap(),
            "--purpose",
            "ipred",
            "--case",
            "C-2026-0001",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
    // Nothing was read, so nothing but the set-up (adding users) is in the audit log.
    assert!(
        audit_entries(&data).iter().all(|e| matches!(
            e["action"].as_str(),
            Some("admin_bootstrap" | "user_add" | "user_approve")
        )),
        "{:?}",
        audit_entries(&data)
    );
}

#[test]
fn no_answer_without_an_audit_entry() {
    let d = tempfile::tempdir().unwrap();
    let (data, day, daemon) = import_fixture(d.path());
    let at = format!("{day}T10:30:00Z");
    let (token, case) = legal_case(
        BIN,
        &data,
        "ipred",
        json!([{"addr": "192.0.2.10", "at": at}]),
    );
    // The audit directory is replaced by a file while the daemon is down: nothing can be
    // appended once it is back (this holds for root too).
    daemon.stop();
    let audit = data.join("audit");
    std::fs::remove_dir_all(&audit).unwrap();
    std::fs::write(&audit, b"not a directory").unwrap();
    let _daemon = Daemon::start(BIN, &data);
    let o = tdr_with(
        &data,
        &token,
        &[
            "lookup",
            "192.0.2.10",
            "--at",
            &at,
            "--purpose",
            "ipred",
            "--case",
            &case,
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty(), "answer leaked: {}", stdout(&o));
    assert!(!stderr(&o).contains("alice"));
}

/// Runs `tdr lookup ADDR [--port P] --at AT --purpose law-enforcement --case CASE --json`.
fn le_lookup(
    data: &Path,
    token: &str,
    case: &str,
    addr: &str,
    port: Option<&str>,
    at: &str,
) -> Output {
    let mut args = vec!["lookup", addr, "--at", at];
    if let Some(p) = port {
        args.extend(["--port", p]);
    }
    args.extend(["--purpose", "law-enforcement", "--case", case, "--json"]);
    tdr_with(data, token, &args)
}

/// The entries a command added to the audit log since `before` entries.
fn added(data: &Path, before: usize) -> Vec<serde_json::Value> {
    audit_entries(data).split_off(before)
}

#[test]
fn scope_escapes_through_the_cli_are_refused_and_audited() {
    let d = tempfile::tempdir().unwrap();
    let (data, day, _daemon) = import_fixture(d.path());
    let ts = |hms: &str| format!("{day}T{hms}Z");
    let o = officers(BIN, &data);
    let (officer, token) = (o[0].0.as_str(), o[0].1.as_str());
    let a = open_case(
        BIN,
        &data,
        &o,
        "law_enforcement",
        json!([
            {"addr": "192.0.2.10", "at": ts("10:30:00")},
            {"addr": "203.0.113.9", "port": 1500, "from": ts("09:00:00"), "to": ts("12:00:00")},
        ]),
    );
    let b = open_case(
        BIN,
        &data,
        &o,
        "law_enforcement",
        json!([{"addr": "192.0.2.11", "from": ts("00:00:00"), "to": ts("23:59:59")}]),
    );
    // In scope: answered (a point item exactly, a window item at any time inside it).
    let ok = le_lookup(&data, token, &a, "192.0.2.10", None, &ts("10:30:00"));
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(
        stdout(&ok).contains(r#""subscriber":"alice""#),
        "{}",
        stdout(&ok)
    );
    for t in ["09:00:00", "10:00:00", "12:00:00"] {
        let ok = le_lookup(&data, token, &a, "203.0.113.9", Some("1500"), &ts(t));
        assert!(ok.status.success(), "{t}: {}", stderr(&ok));
        assert!(
            stdout(&ok).contains(r#""subscriber":"bob""#),
            "{}",
            stdout(&ok)
        );
    }
    let ok = le_lookup(&data, token, &b, "192.0.2.11", Some("7"), &ts("18:00:00"));
    assert!(ok.status.success(), "{}", stderr(&ok));

    let escapes: &[(&str, &str, &str, Option<&str>, String)] = &[
        ("another address", &a, "192.0.2.11", None, ts("10:30:00")),
        (
            "another port",
            &a,
            "203.0.113.9",
            Some("1501"),
            ts("10:00:00"),
        ),
        (
            "the item's port dropped",
            &a,
            "203.0.113.9",
            None,
            ts("10:00:00"),
        ),
        (
            "a time off the item's instant",
            &a,
            "192.0.2.10",
            None,
            ts("10:30:01"),
        ),
        (
            "a time before the item's window",
            &a,
            "203.0.113.9",
            Some("1500"),
            ts("08:59:59"),
        ),
        (
            "a time after the item's window",
            &a,
            "203.0.113.9",
            Some("1500"),
            ts("12:00:01"),
        ),
        (
            "case A's item under case B",
            &b,
            "192.0.2.10",
            None,
            ts("10:30:00"),
        ),
        (
            "case A's port item under case B",
            &b,
            "203.0.113.9",
            Some("1500"),
            ts("10:00:00"),
        ),
    ];
    for (what, case, addr, port, at) in escapes {
        let before = audit_entries(&data).len();
        let o = le_lookup(&data, token, case, addr, *port, at);
        assert_eq!(o.status.code(), Some(2), "{what}: {}", stdout(&o));
        assert!(
            stderr(&o).contains("[case.out_of_scope]"),
            "{what}: {}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty(), "{what}: answered {}", stdout(&o));
        assert!(!stderr(&o).contains("alice") && !stderr(&o).contains("bob"));
        let new = added(&data, before);
        let refused: Vec<&serde_json::Value> = new
            .iter()
            .filter(|e| e["outcome"].as_str().unwrap().starts_with("refused:"))
            .collect();
        assert_eq!(refused.len(), 1, "{what}: {new:?}");
        let e = refused[0];
        assert_eq!(e["action"], "case_lookup", "{what}");
        assert_eq!(e["outcome"], "refused:case.out_of_scope", "{what}");
        assert_eq!(e["case"], *case, "{what}");
        assert_eq!(e["actor"], officer, "{what}");
        assert_eq!(e["role"], "cli:legal", "{what}");
        assert_eq!(e["query"]["addr"], *addr, "{what}");
        assert_eq!(e["query"]["at"], at.as_str(), "{what}");
        assert_eq!(e["result_count"], 0, "{what}");
        assert!(
            new.iter()
                .all(|e| e["action"] != "case_lookup" || e["outcome"] != "found"),
            "{what}: {new:?}"
        );
    }

    // A batch with an escape in it: the whole batch is refused before its first lookup, and the
    // escape is audited.
    let q = d.path().join("q.jsonl");
    std::fs::write(
        &q,
        format!(
            "{{\"addr\":\"192.0.2.10\",\"at\":\"{}\"}}\n{{\"addr\":\"192.0.2.10\",\"at\":\"{}\"}}\n",
            ts("10:30:00"),
            ts("10:31:00")
        ),
    )
    .unwrap();
    let before = audit_entries(&data).len();
    let o = tdr_with(
        &data,
        token,
        &[
            "lookup",
            "--batch",
            q.to_str().unwrap(),
            "--purpose",
            "law-enforcement",
            "--case",
            &a,
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("[case.out_of_scope]"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "nothing of the batch is answered");
    let new = added(&data, before);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["outcome"], "refused:case.out_of_scope");
    assert_eq!(new[0]["query"]["at"], ts("10:31:00"));

    // The purpose must be the case's: an IPRED lookup under a law-enforcement case is refused
    // (and audited).
    let before = audit_entries(&data).len();
    let o = tdr_with(
        &data,
        token,
        &[
            "lookup",
            "192.0.2.10",
            "--at",
            &ts("10:30:00"),
            "--purpose",
            "ipred",
            "--case",
            &a,
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("[case.purpose_mismatch]"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
    let new = added(&data, before);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["outcome"], "refused:case.purpose_mismatch");

    // An unknown case id is refused and audited.
    let before = audit_entries(&data).len();
    let o = le_lookup(
        &data,
        token,
        "C-1999-0001",
        "192.0.2.10",
        None,
        &ts("10:30:00"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("[case.not_found]"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let new = added(&data, before);
    assert!(
        new.iter().any(|e| e["outcome"] == "refused:case.not_found"),
        "{new:?}"
    );

    // Once the case is reported (disclosed), its lookups are over.
    let o = tdr_with(&data, token, &["case", "execute", &a]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = tdr_with(&data, token, &["case", "report", &a]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = audit_entries(&data).len();
    let o = le_lookup(&data, token, &a, "192.0.2.10", None, &ts("10:30:00"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("[case.wrong_state]"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let new = added(&data, before);
    assert!(
        new.iter()
            .any(|e| e["action"] == "case_lookup" && e["outcome"] == "refused:case.wrong_state"),
        "{new:?}"
    );
    assert!(tdr(&data, &["audit", "verify"]).status.success());
}

#[test]
fn self_approval_is_refused_and_audited() {
    let d = tempfile::tempdir().unwrap();
    let (data, day, _daemon) = import_fixture(d.path());
    let at = format!("{day}T10:30:00Z");
    let o = officers(BIN, &data);
    let req = cli::case_request("law_enforcement", json!([{"addr": "192.0.2.10", "at": at}]));
    let c = cli::create_case(BIN, &data, &o[0].1, &req);
    assert!(c.status.success(), "{}", stderr(&c));
    let case: serde_json::Value = serde_json::from_slice(&c.stdout).unwrap();
    let id = case["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("C-") && id.ends_with("-0001"), "{id}");
    assert_eq!(case["created_by"], o[0].0.as_str());

    // The creator cannot approve their own case.
    let before = audit_entries(&data).len();
    let r = tdr_with(&data, &o[0].1, &["case", "approve", &id]);
    assert_eq!(r.status.code(), Some(2), "{}", stdout(&r));
    assert!(stderr(&r).contains("[case.four_eyes]"), "{}", stderr(&r));
    let new = added(&data, before);
    let e = new.last().unwrap();
    assert_eq!(e["action"], "case_approve");
    assert_eq!(e["outcome"], "refused:case.four_eyes");
    assert_eq!(e["case"], id.as_str());
    assert_eq!(e["actor"], o[0].0.as_str());

    // Still registered: no lookup runs under it.
    let before = audit_entries(&data).len();
    let r = le_lookup(&data, &o[0].1, &id, "192.0.2.10", None, &at);
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("[case.wrong_state]"), "{}", stderr(&r));
    assert!(stdout(&r).is_empty());
    assert!(added(&data, before)
        .iter()
        .any(|e| e["outcome"] == "refused:case.wrong_state"));

    // A second officer approves; then it runs.
    let r = tdr_with(&data, &o[1].1, &["case", "approve", &id]);
    assert!(r.status.success(), "{}", stderr(&r));
    let approved: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(approved["state"], "approved");
    let r = le_lookup(&data, &o[0].1, &id, "192.0.2.10", None, &at);
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(tdr(&data, &["audit", "verify"]).status.success());
}

#[test]
fn missing_forged_and_revoked_tokens_are_refused_and_audited() {
    let d = tempfile::tempdir().unwrap();
    let (data, day, _daemon) = import_fixture(d.path());
    let at = format!("{day}T10:30:00Z");
    let (_, case) = legal_case(
        BIN,
        &data,
        "law_enforcement",
        json!([{"addr": "192.0.2.10", "at": at}]),
    );
    let analyst = user(BIN, &data, "analyst", "security");
    let leaver = user(BIN, &data, "leaver", "legal");
    let o = tdr_with(&data, &admin(&data), &["user", "revoke", "leaver"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let forged = format!("tdr_{}", "0f".repeat(32));

    let tries: &[(&str, Option<&str>, &str, &str, &str)] = &[
        (
            "no token",
            None,
            "auth.missing_token",
            "unauthenticated",
            "cli:none",
        ),
        (
            "a forged token",
            Some(&forged),
            "auth.invalid_token",
            "unauthenticated",
            "cli:none",
        ),
        (
            "a revoked token",
            Some(&leaver),
            "auth.revoked_token",
            // Refused in the name of the user it belonged to.
            "leaver",
            "cli:none",
        ),
        (
            "a security token",
            Some(&analyst),
            "auth.forbidden",
            "analyst",
            "cli:security",
        ),
    ];
    for (what, token, code, actor, role) in tries {
        let before = audit_entries(&data).len();
        let o = tdr_as(
            BIN,
            &data,
            *token,
            &[
                "lookup",
                "192.0.2.10",
                "--at",
                &at,
                "--purpose",
                "law-enforcement",
                "--case",
                &case,
                "--json",
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{what}: {}", stdout(&o));
        assert!(
            stderr(&o).contains(&format!("[{code}]")),
            "{what}: {}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty(), "{what}: answered {}", stdout(&o));
        assert!(!stderr(&o).contains("alice"));
        let new = added(&data, before);
        assert_eq!(new.len(), 1, "{what}: {new:?}");
        let e = &new[0];
        assert_eq!(e["action"], "case_lookup", "{what}: {e}");
        assert_eq!(e["outcome"], format!("refused:{code}"), "{what}");
        assert_eq!(e["case"], case.as_str(), "{what}");
        assert_eq!(e["actor"], *actor, "{what}");
        assert_eq!(e["role"], *role, "{what}");
    }

    // The same for the other commands: abuse lookups by a legal officer or without a token,
    // an approval with a forged token, calls without a token, a registration with a forged one.
    let officer = user(BIN, &data, "officer", "legal");
    /// What is tried, as whom, the command, the refusal code and the audited action.
    type Try<'a> = (&'a str, Option<&'a str>, Vec<&'a str>, &'a str, &'a str);
    let tries: &[Try] = &[
        (
            "abuse lookup as legal",
            Some(&officer),
            vec![
                "lookup",
                "192.0.2.10",
                "--at",
                &at,
                "--purpose",
                "abuse",
                "--case",
                "T-1",
            ],
            "auth.forbidden",
            "abuse_lookup",
        ),
        (
            "abuse lookup without a token",
            None,
            vec![
                "lookup",
                "192.0.2.10",
                "--at",
                &at,
                "--purpose",
                "abuse",
                "--case",
                "T-1",
            ],
            "auth.missing_token",
            "abuse_lookup",
        ),
        (
            "approve with a forged token",
            Some(&forged),
            vec!["case", "approve", &case],
            "auth.invalid_token",
            "case_approve",
        ),
        (
            "cdrs without a token",
            None,
            vec![
                "cdrs",
                "--number",
                "+46701234567",
                "--from",
                &at,
                "--to",
                &at,
                "--case",
                &case,
            ],
            "auth.missing_token",
            "case_lookup",
        ),
    ];
    for (what, token, args, code, action) in tries {
        let before = audit_entries(&data).len();
        let o = tdr_as(BIN, &data, *token, args);
        assert_eq!(o.status.code(), Some(2), "{what}: {}", stdout(&o));
        assert!(
            stderr(&o).contains(&format!("[{code}]")),
            "{what}: {}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty(), "{what}: {}", stdout(&o));
        let new = added(&data, before);
        assert_eq!(new.len(), 1, "{what}: {new:?}");
        assert_eq!(new[0]["action"], *action, "{what}");
        assert_eq!(new[0]["outcome"], format!("refused:{code}"), "{what}");
    }
    let before = audit_entries(&data).len();
    let req = cli::case_request("law_enforcement", json!([{"addr": "192.0.2.10", "at": at}]));
    let o = cli::create_case(BIN, &data, &forged, &req);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("[auth.invalid_token]"),
        "{}",
        stderr(&o)
    );
    let new = added(&data, before);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["action"], "case_create");
    assert_eq!(new[0]["outcome"], "refused:auth.invalid_token");
    assert!(tdr(&data, &["audit", "verify"]).status.success());
}

#[test]
fn cdrs_outside_the_number_window_are_refused_and_audited() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let day = yesterday();
    let ts = |hms: &str| format!("{day}T{hms}Z");
    let cdr = |start: &str, end: &str, calling: &str, called: &str| {
        ev::cdr(&day, start, end, calling, called, "statutory")
    };
    let file = d.path().join("cdrs.jsonl");
    std::fs::write(
        &file,
        [
            cdr("10:00:00", "10:01:00", "+46701234567", "0812345"),
            cdr("11:00:00", "11:01:00", "0812345", "0046701234567"),
            cdr("13:00:00", "13:01:00", "+46701234567", "0899999"),
            cdr("10:30:00", "10:31:00", "+46709999999", "0812345"),
        ]
        .join("\n")
            + "\n",
    )
    .unwrap();
    let o = tdr(
        &data,
        &["import", "--format", "events", file.to_str().unwrap()],
    );
    assert!(stdout(&o).contains("4 accepted"), "{}", stdout(&o));
    let _daemon = Daemon::start(BIN, &data);
    let o = officers(BIN, &data);
    let (officer, token) = (o[0].0.as_str(), o[0].1.as_str());
    let case = open_case(
        BIN,
        &data,
        &o,
        "law_enforcement",
        json!([{"number": "+46701234567", "from": ts("09:00:00"), "to": ts("12:00:00")}]),
    );
    let addr_case = open_case(
        BIN,
        &data,
        &o,
        "law_enforcement",
        json!([{"addr": "192.0.2.10", "from": ts("00:00:00"), "to": ts("23:59:59")}]),
    );
    let q = |case: &str, number: &str, from: &str, to: &str| {
        tdr_with(
            &data,
            token,
            &[
                "cdrs",
                "--number",
                number,
                "--from",
                &ts(from),
                "--to",
                &ts(to),
                "--case",
                case,
                "--json",
            ],
        )
    };
    // The item's window and any window inside it, in any notation of the number.
    for (number, from, to, n) in [
        ("+46701234567", "09:00:00", "12:00:00", 2),
        ("tel:+46 70-123 45 67", "10:30:00", "11:00:30", 1),
    ] {
        let r = q(&case, number, from, to);
        assert!(r.status.success(), "{}", stderr(&r));
        let v: serde_json::Value = serde_json::from_str(stdout(&r).trim()).unwrap();
        assert_eq!(v["calls"].as_array().unwrap().len(), n, "{v}");
    }
    let escapes = [
        (
            "an earlier start",
            &case,
            "+46701234567",
            "08:59:59",
            "12:00:00",
        ),
        ("a later end", &case, "+46701234567", "09:00:00", "12:00:01"),
        (
            "the whole day",
            &case,
            "+46701234567",
            "00:00:00",
            "23:59:59",
        ),
        (
            "another number",
            &case,
            "+46709999999",
            "09:00:00",
            "12:00:00",
        ),
        (
            "a case naming only addresses",
            &addr_case,
            "+46701234567",
            "09:00:00",
            "12:00:00",
        ),
    ];
    for (what, case, number, from, to) in escapes {
        let before = audit_entries(&data).len();
        let r = q(case, number, from, to);
        assert_eq!(r.status.code(), Some(2), "{what}: {}", stdout(&r));
        assert!(
            stderr(&r).contains("[case.out_of_scope]"),
            "{what}: {}",
            stderr(&r)
        );
        assert!(stdout(&r).is_empty(), "{what}: answered {}", stdout(&r));
        let new = added(&data, before);
        assert_eq!(new.len(), 1, "{what}: {new:?}");
        let e = &new[0];
        assert_eq!(e["action"], "case_lookup", "{what}: {e}");
        assert_eq!(e["outcome"], "refused:case.out_of_scope", "{what}");
        assert_eq!(e["case"], case.as_str(), "{what}");
        assert_eq!(e["actor"], officer, "{what}");
        assert_eq!(e["query"]["from"], ts(from), "{what}");
    }
    let log = std::fs::read_to_string(data.join("audit/audit-000001.log")).unwrap();
    assert!(!log.contains("0812345") && !log.contains("0899999"));
    assert!(tdr(&data, &["audit", "verify"]).status.success());
}

fn audited_data_dir(d: &Path) -> PathBuf {
    let (data, day, daemon) = import_fixture(d);
    let (token, case) = legal_case(
        BIN,
        &data,
        "ipred",
        json!([{"addr": "192.0.2.10", "from": format!("{day}T10:00:00Z"), "to": format!("{day}T11:00:00Z")}]),
    );
    for h in ["10:10:00", "10:20:00", "10:30:00", "10:40:00"] {
        let at = format!("{day}T{h}Z");
        let o = tdr_with(
            &data,
            &token,
            &[
                "lookup",
                "192.0.2.10",
                "--at",
                &at,
                "--purpose",
                "ipred",
                "--case",
                &case,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert!(tdr(&data, &["audit", "verify"]).status.success());
    daemon.stop();
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
fn adding_and_revoking_users_and_importing_identities_are_audited_first() {
    let d = tempfile::tempdir().unwrap();
    let (data, _, _daemon) = import_fixture(d.path());
    let token = user(BIN, &data, "ulla", "legal");
    let o = tdr_with(&data, &admin(&data), &["user", "revoke", "ulla"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = d.path().join("crm.csv");
    std::fs::write(
        &csv,
        "subscriber,customer_id,name,street,postal_code,city,personal_number,protected_identity,valid_from,valid_to\n\
         alice,K1,Åsa Öberg,Storgatan 1,114 55,Stockholm,19800101-0000,false,2020-01-01T00:00:00Z,\n",
    )
    .unwrap();
    let o = tdr_with(
        &data,
        &admin(&data),
        &["identity", "import", csv.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // After the two bootstrapped admins: each change is audited as requested before it is
    // made, then with its outcome, by the admin who asked, over the socket.
    let e: Vec<serde_json::Value> = audit_entries(&data)
        .into_iter()
        .filter(|e| e["action"] != "admin_bootstrap")
        .collect();
    let actions: Vec<(&str, &str)> = e
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("user_add", "requested"),
            ("user_add", "ok"),
            ("user_approve", "requested"),
            ("user_approve", "ok"),
            ("user_revoke", "requested"),
            ("user_revoke", "ok"),
            ("identity_import", "requested"),
            ("identity_import", "ok"),
        ]
    );
    assert_eq!(e[0]["query"]["user"], "ulla");
    assert_eq!(e[0]["query"]["role"], "legal");
    assert_eq!(e[0]["role"], "cli:admin");
    assert_eq!(e[0]["actor"], "admin-1");
    assert_eq!(e[2]["actor"], "admin-2", "a second admin approves");
    assert!(
        e[0]["peer"].as_str().unwrap().starts_with("uid "),
        "{}",
        e[0]
    );
    let log = std::fs::read_to_string(data.join("audit/audit-000001.log")).unwrap();
    assert!(!log.contains(&token[4..]), "the token is never logged");
    assert!(
        !log.contains("Öberg"),
        "identity data is not in the audit log"
    );
    // The revoked token no longer works.
    let o = tdr_with(&data, &token, &["case", "list"]);
    assert!(
        stderr(&o).contains("[auth.revoked_token]"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_subscriber_access_extract_runs_from_the_cli_too_and_is_audited() {
    let d = tempfile::tempdir().unwrap();
    let (data, day, _daemon) = import_fixture(d.path());
    let o = officers(BIN, &data);
    let (officer, token) = (&o[0].0, &o[0].1);
    // Without an approved access case there is no extract.
    let r = tdr_with(&data, token, &["case", "extract", "C-2026-0099"]);
    assert_eq!(r.status.code(), Some(2), "{}", stdout(&r));
    assert!(stderr(&r).contains("[case.not_found]"), "{}", stderr(&r));
    let case = open_case(BIN, &data, &o, "access", json!([{"subscriber": "alice"}]));
    let r = tdr_with(&data, token, &["case", "extract", &case]);
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(&stdout(&r)).unwrap();
    assert_eq!(v["bindings"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["bindings"][0]["start"], format!("{day}T10:00:00Z"));
    let e = audit_entries(&data);
    let last = e.last().unwrap();
    assert_eq!(last["action"], "access_extract");
    assert_eq!(last["case"], case.as_str());
    assert_eq!(last["actor"], officer.as_str());
    assert!(!last.to_string().contains("alice"), "pseudonymised: {last}");
}

#[test]
fn an_access_letter_is_written_by_the_cli_as_a_private_pdf_and_audited() {
    use std::os::unix::fs::MetadataExt;
    let d = tempfile::tempdir().unwrap();
    let (data, _, _daemon) = import_fixture(d.path());
    let csv = d.path().join("crm.csv");
    std::fs::write(
        &csv,
        "subscriber,customer_id,name,street,postal_code,city,personal_number,protected_identity,valid_from,valid_to\n\
         alice,K1,Åsa Öberg,Storgatan 1,114 55,Stockholm,19800101-0000,false,2020-01-01T00:00:00Z,\n",
    )
    .unwrap();
    let r = tdr_with(
        &data,
        &admin(&data),
        &["identity", "import", csv.to_str().unwrap()],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    let o = officers(BIN, &data);
    let token = &o[0].1;
    let case = open_case(BIN, &data, &o, "access", json!([{"subscriber": "alice"}]));
    let r = tdr_with(&data, token, &["case", "extract", &case]);
    assert!(r.status.success(), "{}", stderr(&r));
    let out = d.path().join("registerutdrag.pdf");
    let args = ["case", "letter", &case, "--format", "pdf", "--out"];
    let r = tdr_with(
        &data,
        token,
        &[&args[..], &[out.to_str().unwrap()]].concat(),
    );
    assert!(r.status.success(), "{}", stderr(&r));
    let pdf = std::fs::read(&out).unwrap();
    assert!(pdf.starts_with(b"%PDF-1.7"));
    assert_eq!(std::fs::metadata(&out).unwrap().mode() & 0o777, 0o600);
    // Never over a file.
    let r = tdr_with(
        &data,
        token,
        &[&args[..], &[out.to_str().unwrap()]].concat(),
    );
    assert!(!r.status.success());
    let r = tdr_with(&data, token, &["case", "letter", &case, "--format", "html"]);
    assert!(r.status.success(), "{}", stderr(&r));
    let html = stdout(&r);
    assert!(
        html.contains("Åsa Öberg<br>Storgatan 1<br>114 55 Stockholm")
            && html.contains("imy@imy.se"),
        "{html}"
    );
    let e = audit_entries(&data);
    let last = e.last().unwrap();
    assert_eq!(last["action"], "access_letter");
    assert_eq!(last["case"], case.as_str());
    assert!(!last.to_string().contains("alice"), "pseudonymised: {last}");
}

#[test]
fn a_report_written_with_out_is_0600_and_never_over_a_file_or_through_a_symlink() {
    use std::os::unix::fs::MetadataExt;
    let d = tempfile::tempdir().unwrap();
    let (data, day, _daemon) = import_fixture(d.path());
    let o = officers(BIN, &data);
    let token = o[0].1.clone();
    let case = open_case(
        BIN,
        &data,
        &o,
        "law_enforcement",
        json!([{"addr": "192.0.2.10", "at": format!("{day}T10:30:00Z")}]),
    );
    let r = tdr_with(&data, &token, &["case", "execute", &case]);
    assert!(r.status.success(), "{}", stderr(&r));
    // Someone prepared a link where the officer will write, and a file beside it.
    let target = d.path().join("elsewhere.html");
    std::fs::write(&target, "theirs").unwrap();
    let link = d.path().join("link.html");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let report_to = |out: &Path| {
        let args = ["case", "report", &case, "--format", "html", "--out"];
        tdr_with(
            &data,
            &token,
            &[&args[..], &[out.to_str().unwrap()]].concat(),
        )
    };
    for taken in [&link, &target] {
        let r = report_to(taken);
        assert_eq!(r.status.code(), Some(1), "{}", stdout(&r));
        assert!(stderr(&r).contains("cannot write"), "{}", stderr(&r));
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "theirs");
    // SAFETY: umask only changes this process's (and so the child's) file-creation mask.
    let old = unsafe { libc::umask(0o022) };
    let out = d.path().join("report.html");
    let r = report_to(&out);
    unsafe { libc::umask(old) };
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(std::fs::metadata(&out).unwrap().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&out).unwrap().contains("alice"));
}

#[test]
fn case_list_due_shows_what_is_due_and_the_metrics_count_it_without_naming_a_case() {
    let d = tempfile::tempdir().unwrap();
    let (data, day, daemon) = import_fixture(d.path());
    let t = Tdr::new(BIN, &data);
    let [(_, a), _] = t.officers();
    let scope = json!([{"addr": "192.0.2.10", "at": format!("{day}T10:30:00Z")}]);
    // "Without delay": due soon from the day it arrives.
    let soon = t
        .case("law_enforcement", scope.clone())
        .registered_by(&a)
        .id;
    // An IPRED order whose own deadline has passed.
    let mut late = cli::case_request("ipred", scope);
    late["deadline"] = json!("2026-01-05");
    let o = cli::create_case(BIN, &data, &a, &late);
    assert!(o.status.success(), "{}", stderr(&o));
    let late: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let late = late["id"].as_str().unwrap().to_string();

    let o = tdr_with(&data, &a, &["case", "list", "--due"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = stdout(&o);
    let rows: Vec<&str> = table.lines().collect();
    assert!(rows[0].starts_with("DUE"), "{table}");
    // Overdue first: its due day is the earliest.
    assert!(
        rows[1].starts_with("2026-01-05  overdue") && rows[1].contains(&late),
        "{table}"
    );
    assert!(
        rows[2].contains("soon") && rows[2].contains(&soon),
        "{table}"
    );
    assert_eq!(rows[3], "2 cases, 1 overdue");
    let o = tdr_with(&data, &a, &["case", "list", "--due", "overdue", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["cases"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["cases"][0]["id"], late.as_str());

    let m = daemon.metrics();
    assert!(m.contains("tdr_cases_overdue 1"), "{m}");
    assert!(m.contains("tdr_cases_due_soon 1"), "{m}");
    // Nothing disclosed, so no IPRED notice is owed yet.
    assert!(
        m.contains("tdr_notices_due 0") && m.contains("tdr_notices_late 0"),
        "{m}"
    );
    assert!(
        !m.contains(&soon) && !m.contains(&late),
        "no case id in the metrics"
    );

    // The auditor's statistics from the command line, as CSV.
    let aud = t.user("aud1", "auditor");
    let o = tdr_with(&data, &aud, &["audit", "stats", "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = stdout(&o);
    assert!(
        csv.contains(",ipred,Patent- och marknadsdomstolen,1,0,0,1,1,,"),
        "{csv}"
    );
    assert!(csv.contains(",all,all,2,0,0,2,1,,"), "{csv}");
}
