//! Ingest and the record commands as a user runs them: held-back tails, `.gz` input,
//! `tdr quarantine list|show`, CDR storage and `tdr cdrs` (inside an approved case, audited,
//! purpose-checked).

use std::io::Write;
use std::path::Path;
use std::process::Output;

use serde_json::json;
use tdr_testkit::cli::{self, legal_case, open_case, stderr, stdout, tdr_as, Tdr};
use tdr_testkit::daemon::Daemon;
use tdr_testkit::ev::{cdr, yesterday};

const BIN: &str = env!("CARGO_BIN_EXE_tdr");

/// `tdr` without a token.
fn tdr(data: &Path, args: &[&str]) -> Output {
    tdr_as(BIN, data, None, args)
}

/// `tdr lookup ADDR --at AT --purpose ipred --case … --json` under a new approved IPRED case
/// naming exactly that address and time.
fn ipred_lookup(data: &Path, addr: &str, at: &str) -> Output {
    let (token, case) = legal_case(BIN, data, "ipred", json!([{"addr": addr, "at": at}]));
    tdr_as(
        BIN,
        data,
        Some(&token),
        &[
            "lookup",
            addr,
            "--at",
            at,
            "--purpose",
            "ipred",
            "--case",
            &case,
            "--json",
        ],
    )
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
    let _daemon = Daemon::start(BIN, &data);
    let o = ipred_lookup(&data, "192.0.2.29", &format!("{day}T10:30:00Z"));
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
    // Sealed on disk (issue 19): the raw line is in no quarantine file.
    for e in std::fs::read_dir(data.join("quarantine"))
        .unwrap()
        .flatten()
    {
        let bytes = std::fs::read(e.path()).unwrap();
        assert!(
            !bytes.windows(20).any(|w| w == b"secret-subscriber-42"),
            "{}",
            e.path().display()
        );
    }
    // Through the daemon: ops reads the summary, a legal officer the raw bytes.
    let _daemon = Daemon::start(BIN, &data);
    let kit = Tdr::new(BIN, &data);
    let ops = kit.user("otto", "ops");
    let legal = kit.user("lena", "legal");
    let o = tdr(&data, &["quarantine", "list"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("[auth.missing_token]"),
        "{}",
        stderr(&o)
    );
    let o = tdr_as(BIN, &data, Some(&ops), &["quarantine", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("bng1-radius: 2 record(s) from 1 file(s)"),
        "{out}"
    );
    assert!(out.contains("1  parse.events.json"), "{out}");
    assert!(out.contains("1  parse.events.bad_kind"), "{out}");

    let o = tdr_as(
        BIN,
        &data,
        Some(&ops),
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

    // --raw needs a case, a legal officer, and is audited.
    let o = tdr_as(BIN, &data, Some(&legal), &["quarantine", "show", "--raw"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let raw = ["quarantine", "show", "--raw", "--case", "OPS-7"];
    let o = tdr_as(BIN, &data, Some(&ops), &raw);
    assert_eq!(
        o.status.code(),
        Some(2),
        "ops never sees raw lines: {}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("[auth.forbidden]"), "{}", stderr(&o));
    let o = tdr_as(BIN, &data, Some(&legal), &raw);
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

    // The purpose comes from the case: a law-enforcement case and an abuse case, each naming
    // its numbers over the day.
    let whole_day = |n: &str| json!({"number": n, "from": format!("{day}T00:00:00Z"), "to": format!("{day}T23:59:59Z")});
    let _daemon = Daemon::start(BIN, &data);
    let officers = cli::officers(BIN, &data);
    let token = officers[0].1.clone();
    let le = open_case(
        BIN,
        &data,
        &officers,
        "law_enforcement",
        json!([whole_day("+46701234567"), whole_day("+4670000000")]),
    );
    let abuse = open_case(
        BIN,
        &data,
        &officers,
        "abuse",
        json!([whole_day("+46701234567"), whole_day("+46709999999")]),
    );
    let q = |number: &str, case: &str, from: &str, to: &str| {
        tdr_as(
            BIN,
            &data,
            Some(&token),
            &[
                "cdrs",
                "--number",
                number,
                "--from",
                &format!("{day}T{from}Z"),
                "--to",
                &format!("{day}T{to}Z"),
                "--case",
                case,
                "--json",
            ],
        )
    };
    let o = q("+46 70-123 45 67", &le, "00:00:00", "23:59:59");
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
    let o = q("+46701234567", &le, "10:30:00", "11:00:30");
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["calls"].as_array().unwrap().len(), 1, "{v}");

    // Abuse reads only the security class, and never sees the other party's number.
    let o = q("+46701234567", &abuse, "00:00:00", "23:59:59");
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let calls = v["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{v}");
    assert_ne!(calls[0]["other_party"], "112");

    // Statutory-only data is not for this purpose; an unknown number is not found.
    let o = q("+46709999999", &abuse, "00:00:00", "23:59:59");
    assert!(
        stdout(&o).contains(r#""status":"no_data_for_this_purpose""#),
        "{}",
        stdout(&o)
    );
    let o = q("+4670000000", &le, "00:00:00", "23:59:59");
    assert!(
        stdout(&o).contains(r#""status":"not_found""#),
        "{}",
        stdout(&o)
    );

    // An IPRED order does not cover call records: an IPRED case naming a number is not even
    // registered, and an IPRED case (addresses only) answers no calls.
    let req = cli::case_request("ipred", json!([whole_day("+46701234567")]));
    let o = cli::create_case(BIN, &data, &token, &req);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("IPRED"), "{}", stderr(&o));
    let ipred = open_case(
        BIN,
        &data,
        &officers,
        "ipred",
        json!([{"addr": "192.0.2.10", "at": format!("{day}T10:00:00Z")}]),
    );
    let o = q("+46701234567", &ipred, "00:00:00", "23:59:59");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("[case.out_of_scope]"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());

    // Every answered query is in the audit log with its case, and the chain verifies.
    let audit = std::fs::read_to_string(data.join("audit/audit-000001.log")).unwrap();
    let answered: Vec<serde_json::Value> = cli::audit_entries(&data)
        .into_iter()
        .filter(|e| {
            e["action"] == "case_lookup" && !e["outcome"].as_str().unwrap().starts_with("refused")
        })
        .collect();
    assert_eq!(answered.len(), 5, "{audit}");
    let cases: Vec<&str> = answered
        .iter()
        .map(|e| e["case"].as_str().unwrap())
        .collect();
    assert_eq!(cases, [&le, &le, &abuse, &abuse, &le], "{audit}");
    assert_eq!(answered[2]["legal_basis"], "abuse");
    assert_eq!(answered[0]["legal_basis"], "law_enforcement");
    assert!(
        !audit.contains("0812345"),
        "the answer is digested, not copied: {audit}"
    );
    let o = tdr(&data, &["audit", "verify"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_resumed_kea_csv_import_still_knows_its_columns() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let base = chrono::Utc::now().timestamp() - 86_400;
    let header = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id\n";
    let row = |i: i64| {
        format!(
            "192.0.2.{i},00:1b:2c:3d:4e:{i:02x},,3600,{},1,0,0,host{i},0,,0\n",
            base + i * 60 + 3600
        )
    };
    let mut text = header.to_string();
    for i in 1..=30 {
        text.push_str(&row(i));
    }
    let last = row(31);
    let file = d.path().join("kea-leases4.csv");
    std::fs::write(&file, format!("{text}{}", &last[..15])).unwrap();
    let o = tdr(
        &data,
        &["import", "--format", "kea-leases", file.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("30 accepted, 0 duplicate, 0 quarantined, 0 expired, 1 ignored"),
        "{}",
        stdout(&o)
    );
    // kea-lfc appends the rest; the resumed import starts mid-file, past the header.
    std::fs::write(&file, format!("{text}{last}")).unwrap();
    let o = tdr(
        &data,
        &["import", "--format", "kea-leases", file.to_str().unwrap()],
    );
    assert!(
        stdout(&o).contains("1 accepted, 0 duplicate, 0 quarantined"),
        "{}",
        stdout(&o)
    );
    let at = chrono::DateTime::from_timestamp(base + 31 * 60 + 10, 0)
        .unwrap()
        .to_rfc3339();
    let _daemon = Daemon::start(BIN, &data);
    let o = ipred_lookup(&data, "192.0.2.31", &at);
    assert!(
        stdout(&o).contains(r#""subscriber":"00:1b:2c:3d:4e:1f""#),
        "{}",
        stdout(&o)
    );
}

#[test]
fn local_time_formats_refuse_to_guess_a_zone() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let file = d.path().join("dhcpd.log");
    std::fs::write(
        &file,
        "Nov 20 10:00:00 gw dhcpd[1]: DHCPACK on 192.0.2.7 to 00:1b:2c:3d:4e:5f via eth0\n",
    )
    .unwrap();
    let o = tdr(
        &data,
        &["import", "--format", "dhcpd-syslog", file.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--tz"), "{}", stderr(&o));
    assert!(
        !data.join("store").exists(),
        "nothing opened before the options are checked"
    );
    let o = tdr(
        &data,
        &[
            "import",
            "--format",
            "dhcpd-syslog",
            "--tz",
            "Mars/Olympus",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not an IANA time zone"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn real_radius_detail_file_imports_and_answers() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    // An accel-ppp-style detail file, yesterday, written as FreeRADIUS v3 writes it.
    let t0 = chrono::Utc::now().timestamp() - 86_400;
    let ctime = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap()
            .format("%a %b %e %H:%M:%S %Y")
            .to_string()
    };
    let rec = |t: i64, status: &str, delay: i64| {
        format!(
            "{}\n\tPacket-Type = Accounting-Request\n\tAcct-Session-Id = \"0A1B2C3D4E5F6071\"\n\tAcct-Status-Type = {status}\n\tUser-Name = \"user42@isp.example\"\n\tNAS-IP-Address = 10.0.0.1\n\tNAS-Port-Id = \"ppp12\"\n\tCalling-Station-Id = \"00-1B-2C-3D-4E-5F\"\n\tFramed-IP-Address = 198.51.100.42\n\tDelegated-IPv6-Prefix = 2001:db8:4200::/56\n\tAcct-Delay-Time = {delay}\n\tTimestamp = {}\n\n",
            ctime(t + delay), t + delay
        )
    };
    let file = d.path().join("detail-20261120");
    std::fs::write(&file, rec(t0, "Start", 0) + &rec(t0 + 3600, "Stop", 5)).unwrap();
    let o = tdr(
        &data,
        &[
            "import",
            "--format",
            "radius-detail",
            "--source",
            "bng1",
            file.to_str().unwrap(),
        ],
    );
    assert!(
        stdout(&o).contains("4 accepted, 0 duplicate, 0 quarantined"),
        "{}",
        stdout(&o)
    );
    let at = |s: i64| {
        chrono::DateTime::from_timestamp(t0 + s, 0)
            .unwrap()
            .to_rfc3339()
    };
    let _daemon = Daemon::start(BIN, &data);
    for addr in ["198.51.100.42", "2001:db8:4200:ff::1"] {
        let o = ipred_lookup(&data, addr, &at(1800));
        let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        assert_eq!(v["status"], "found", "{v}");
        assert_eq!(v["matches"][0]["subscriber"], "user42@isp.example");
        // The Stop's time is its Timestamp minus Acct-Delay-Time.
        assert_eq!(
            v["matches"][0]["end"],
            serde_json::json!(chrono::DateTime::from_timestamp(t0 + 3600, 0)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        );
    }
}

#[test]
fn cdrs_past_retention_are_not_stored_and_not_shown() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let old = (chrono::Utc::now().date_naive() - chrono::Days::new(240)).to_string();
    let file = d.path().join("old.jsonl");
    std::fs::write(
        &file,
        cdr(
            &old,
            "10:00:00",
            "10:01:00",
            "+46701234567",
            "0812345",
            "statutory",
        ) + "\n",
    )
    .unwrap();
    let o = tdr(
        &data,
        &["import", "--format", "events", file.to_str().unwrap()],
    );
    assert!(
        stdout(&o).contains("0 accepted, 0 duplicate, 0 quarantined, 1 expired"),
        "{}",
        stdout(&o)
    );
    let (from, to) = (format!("{old}T00:00:00Z"), format!("{old}T23:59:59Z"));
    let _daemon = Daemon::start(BIN, &data);
    let (token, case) = legal_case(
        BIN,
        &data,
        "law_enforcement",
        json!([{"number": "+46701234567", "from": from, "to": to}]),
    );
    let o = tdr_as(
        BIN,
        &data,
        Some(&token),
        &[
            "cdrs",
            "--number",
            "+46701234567",
            "--from",
            &from,
            "--to",
            &to,
            "--case",
            &case,
            "--json",
        ],
    );
    assert!(
        stdout(&o).contains(r#""status":"outside_retention""#),
        "{}",
        stdout(&o)
    );
}
