//! Ingest and the record commands as a user runs them: held-back tails, `.gz` input,
//! `tdr quarantine list|show`, CDR storage and `tdr cdrs` (audited, purpose-checked).

use std::io::Write;
use std::path::Path;
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

fn yesterday() -> String {
    (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string()
}

fn session(day: &str, hms: &str, who: &str, addr: &str) -> String {
    format!(
        r#"{{"kind":"session","op":"start","time":"{day}T{hms}Z","subscriber":"{who}","session":"{who}-1","addr":"{addr}","nas":"bng1","source":"radius"}}"#
    )
}

#[test]
fn an_unterminated_tail_is_held_back_until_it_is_complete() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let day = yesterday();
    let file = d.path().join("growing.jsonl");
    // More than the 1 KiB a file is recognised by, as any real log is.
    let first: String = (0..10)
        .map(|i| {
            session(
                &day,
                &format!("10:00:0{i}"),
                &format!("s{i}"),
                &format!("192.0.2.{}", 10 + i),
            ) + "\n"
        })
        .collect();
    let second = session(&day, "10:05:00", "bob", "192.0.2.99");
    // The last record is still being written: no LF yet.
    std::fs::write(&file, format!("{first}{}", &second[..20])).unwrap();
    let o = tdr(
        &data,
        &["import", "--format", "events", file.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("10 accepted, 0 duplicate, 0 quarantined"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("20 bytes at the end held back"),
        "{}",
        stdout(&o)
    );
    // The writer finishes the line: the next import takes exactly the rest.
    std::fs::write(&file, format!("{first}{second}\n")).unwrap();
    let o = tdr(
        &data,
        &["import", "--format", "events", file.to_str().unwrap()],
    );
    assert!(
        stdout(&o).contains("1 accepted, 0 duplicate, 0 quarantined"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("held back"), "{}", stdout(&o));
    assert!(!data.join("quarantine").exists(), "nothing was quarantined");

    // A rotated file's unterminated last line is a record with --complete.
    let rotated = d.path().join("rotated.jsonl");
    std::fs::write(&rotated, session(&day, "11:00:00", "carol", "192.0.2.12")).unwrap();
    let o = tdr(
        &data,
        &[
            "import",
            "--format",
            "events",
            "--complete",
            rotated.to_str().unwrap(),
        ],
    );
    assert!(stdout(&o).contains("1 accepted"), "{}", stdout(&o));
}

#[test]
fn gzip_files_import_like_plain_ones_and_only_once() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let day = yesterday();
    let gz = d.path().join("events.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    for (i, who) in ["a", "b", "c"].iter().enumerate() {
        writeln!(
            enc,
            "{}",
            session(
                &day,
                &format!("10:0{i}:00"),
                who,
                &format!("192.0.2.{}", 20 + i)
            )
        )
        .unwrap();
    }
    // A rotated .gz is complete: its last line needs no LF.
    write!(enc, "{}", session(&day, "10:09:00", "d", "192.0.2.29")).unwrap();
    enc.finish().unwrap();
    let o = tdr(
        &data,
        &["import", "--format", "events", gz.to_str().unwrap()],
    );
    assert!(
        stdout(&o).contains("4 accepted, 0 duplicate"),
        "{}",
        stdout(&o)
    );
    let o = tdr(
        &data,
        &["import", "--format", "events", gz.to_str().unwrap()],
    );
    assert!(
        stdout(&o).contains("0 accepted, 0 duplicate"),
        "{}",
        stdout(&o)
    );
    let o = tdr(
        &data,
        &[
            "lookup",
            "192.0.2.29",
            "--at",
            &format!("{day}T10:30:00Z"),
            "--purpose",
            "ipred",
            "--case",
            "T-1",
            "--json",
        ],
    );
    assert!(stdout(&o).contains(r#""subscriber":"d""#), "{}", stdout(&o));
}

#[test]
fn quarantine_list_and_show_name_source_position_and_reason_without_raw_bytes() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let day = yesterday();
    let file = d.path().join("mixed.jsonl");
    let good = session(&day, "10:00:00", "alice", "192.0.2.10");
    std::fs::write(
        &file,
        format!("{good}\nnot json secret-subscriber-42\n{{\"kind\":\"wifi\",\"time\":\"{day}T10:00:00Z\"}}\n"),
    )
    .unwrap();
    let o = tdr(
        &data,
        &[
            "import",
            "--format",
            "events",
            "--source",
            "bng1-radius",
            file.to_str().unwrap(),
        ],
    );
    assert!(stdout(&o).contains("2 quarantined"), "{}", stdout(&o));
    let o = tdr(&data, &["quarantine", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("bng1-radius: 2 record(s) from 1 file(s)"),
        "{out}"
    );
    assert!(out.contains("1  parse.events.json"), "{out}");
    assert!(out.contains("1  parse.events.bad_kind"), "{out}");

    let o = tdr(
        &data,
        &["quarantine", "show", "--code", "parse.events.json"],
    );
    let out = stdout(&o);
    let offset = good.len() + 1;
    assert!(
        out.contains(&format!("mixed.jsonl@{offset}  parse.events.json")),
        "{out}"
    );
    assert!(
        !out.contains("secret-subscriber-42"),
        "raw bytes only with --raw: {out}"
    );
    assert!(!out.contains("bad_kind"), "filtered by code: {out}");

    // --raw needs a case and is audited.
    let o = tdr(&data, &["quarantine", "show", "--raw"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let o = tdr(&data, &["quarantine", "show", "--raw", "--case", "OPS-7"]);
    assert!(
        stdout(&o).contains("secret-subscriber-42"),
        "{}",
        stdout(&o)
    );
    let audit = std::fs::read_to_string(data.join("audit/audit-000001.log")).unwrap();
    assert!(
        audit.contains("quarantine_show_raw") && audit.contains("OPS-7"),
        "{audit}"
    );
}

fn cdr(day: &str, start: &str, end: &str, calling: &str, called: &str, class: &str) -> String {
    format!(
        r#"{{"kind":"cdr","time":"{day}T{start}Z","answer":"{day}T{start}Z","end":"{day}T{end}Z","duration":60,"billsec":60,"calling":"{calling}","called":"{called}","disposition":"ANSWERED","call_id":"{calling}-{start}","source":"pbx1","class":"{class}"}}"#
    )
}

#[test]
fn cdrs_are_found_by_either_number_in_any_notation_and_audited() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let day = yesterday();
    let file = d.path().join("cdrs.jsonl");
    let lines = [
        cdr(
            &day,
            "10:00:00",
            "10:01:00",
            "+46701234567",
            "0812345",
            "statutory",
        ),
        cdr(
            &day,
            "11:00:00",
            "11:01:00",
            "0812345",
            "0046701234567",
            "statutory",
        ),
        cdr(
            &day,
            "12:00:00",
            "12:01:00",
            "+46709999999",
            "0812345",
            "statutory",
        ),
        cdr(
            &day,
            "13:00:00",
            "13:01:00",
            "+46701234567",
            "112",
            "security",
        ),
    ];
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let o = tdr(
        &data,
        &["import", "--format", "events", file.to_str().unwrap()],
    );
    assert!(stdout(&o).contains("4 accepted"), "{}", stdout(&o));
    // Importing again stores nothing twice.
    tdr(
        &data,
        &[
            "import",
            "--format",
            "events",
            "--complete",
            file.to_str().unwrap(),
        ],
    );

    let q = |number: &str, purpose: &str, from: &str, to: &str| {
        tdr(
            &data,
            &[
                "cdrs",
                "--number",
                number,
                "--from",
                &format!("{day}T{from}Z"),
                "--to",
                &format!("{day}T{to}Z"),
                "--purpose",
                purpose,
                "--case",
                "LE-2026-1",
                "--json",
            ],
        )
    };
    let o = q(
        "+46 70-123 45 67",
        "law-enforcement",
        "00:00:00",
        "23:59:59",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["status"], "found");
    let calls = v["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 3, "{v}");
    assert_eq!(calls[0]["direction"], "outgoing");
    assert_eq!(calls[0]["other_party"], "0812345");
    assert_eq!(calls[1]["direction"], "incoming");
    assert_eq!(calls[2]["other_party"], "112");

    // The window: only calls overlapping it.
    let o = q("+46701234567", "law-enforcement", "10:30:00", "11:00:30");
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["calls"].as_array().unwrap().len(), 1, "{v}");

    // Abuse reads only the security class, and never sees the other party's number.
    let o = q("+46701234567", "abuse", "00:00:00", "23:59:59");
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let calls = v["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{v}");
    assert_ne!(calls[0]["other_party"], "112");

    // Statutory-only data is not for this purpose; an unknown number is not found.
    let o = q("+46709999999", "abuse", "00:00:00", "23:59:59");
    assert!(
        stdout(&o).contains(r#""status":"no_data_for_this_purpose""#),
        "{}",
        stdout(&o)
    );
    let o = q("+4670000000", "law-enforcement", "00:00:00", "23:59:59");
    assert!(
        stdout(&o).contains(r#""status":"not_found""#),
        "{}",
        stdout(&o)
    );

    // An IPRED order does not cover call records.
    let o = q("+46701234567", "ipred", "00:00:00", "23:59:59");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("IPRED"), "{}", stderr(&o));

    // Every answered query is in the audit log with its case, and the chain verifies.
    let audit = std::fs::read_to_string(data.join("audit/audit-000001.log")).unwrap();
    assert_eq!(audit.matches(r#""action":"cdrs""#).count(), 5, "{audit}");
    assert!(
        !audit.contains("0812345"),
        "the answer is digested, not copied: {audit}"
    );
    let o = tdr(&data, &["audit", "verify"]);
    assert!(o.status.success(), "{}", stderr(&o));
}
