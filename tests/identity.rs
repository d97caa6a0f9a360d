//! The identity register end to end: real CSV files in a temporary directory, imported and
//! re-imported, asked by subscriber and time.

use std::path::{Path, PathBuf};

use tdr::identity::{IdentityError, IdentityRecord, IdentityRegister, ImportReport, RowProblem};
use tdr::model::parse_time;

const HEADER: &str = "subscriber,customer_id,name,street,postal_code,city,personal_number,protected_identity,valid_from,valid_to";
const BOUNDARY: &str = "2026-06-01T00:00:00+02:00";

fn t(s: &str) -> i64 {
    parse_time(s).unwrap()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn csv(rows: &[&str]) -> String {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

fn rejected(r: Result<ImportReport, IdentityError>) -> Vec<RowProblem> {
    match r {
        Err(IdentityError::Rejected(p)) => p,
        other => panic!("expected Rejected, got {other:?}"),
    }
}

fn customer(reg: &IdentityRegister, subscriber: &str, at: &str) -> Option<String> {
    reg.at(subscriber, t(at)).unwrap().map(|r| r.customer_id)
}

const A_OPEN: &str =
    "circuit-17,CUST-A,Anna Andersson,Storgatan 1,114 55,Stockholm,19800101-0000,false,2025-01-01T00:00:00+01:00,";
const A_CLOSED: &str = "circuit-17,CUST-A,Anna Andersson,Storgatan 1,114 55,Stockholm,19800101-0000,false,2025-01-01T00:00:00+01:00,2026-06-01T00:00:00+02:00";
const B_OPEN: &str =
    "circuit-17,CUST-B,Bertil Berg,Storgatan 1,114 55,Stockholm,19700101-0000,false,2026-06-01T00:00:00+02:00,";
const OTHER: &str =
    "00:1a:2b:3c:4d:5e,CUST-C,Cecilia Carlsson,Lilla vägen 3,753 21,Uppsala,19900101-0000,true,2024-01-01T00:00:00Z,";

#[test]
fn import_then_at_answers_with_the_row_valid_at_that_time() {
    let dir = tempfile::tempdir().unwrap();
    let reg = IdentityRegister::open(dir.path()).unwrap();
    let f = write(dir.path(), "crm.csv", &csv(&[A_OPEN, OTHER]));
    let r = reg.import_csv(&f, t("2025-02-01T00:00:00Z")).unwrap();
    assert_eq!(
        r,
        ImportReport {
            rows: 2,
            added: 2,
            replaced: 0,
            unchanged: 0
        }
    );
    assert_eq!(reg.count().unwrap(), 2);
    let c = reg
        .at("00:1a:2b:3c:4d:5e", t("2025-06-01T12:00:00+02:00"))
        .unwrap()
        .unwrap();
    assert_eq!(
        c,
        IdentityRecord {
            subscriber: "00:1a:2b:3c:4d:5e".into(),
            customer_id: "CUST-C".into(),
            name: "Cecilia Carlsson".into(),
            street: "Lilla vägen 3".into(),
            postal_code: "753 21".into(),
            city: "Uppsala".into(),
            personal_number: "19900101-0000".into(),
            protected_identity: true,
            valid_from: t("2024-01-01T00:00:00Z"),
            valid_to: None,
        }
    );
    assert_eq!(
        customer(&reg, "circuit-17", "2030-01-01T00:00:00Z").as_deref(),
        Some("CUST-A")
    );
    assert_eq!(
        reg.at("circuit-18", t("2025-06-01T00:00:00Z")).unwrap(),
        None
    );
}

#[test]
fn a_line_that_changed_owner_answers_with_the_owner_at_the_time_asked() {
    let dir = tempfile::tempdir().unwrap();
    let reg = IdentityRegister::open(dir.path()).unwrap();
    let f = write(dir.path(), "crm.csv", &csv(&[A_CLOSED, B_OPEN]));
    reg.import_csv(&f, t("2026-07-01T00:00:00Z")).unwrap();

    let before = customer(&reg, "circuit-17", "2026-05-31T23:59:59+02:00");
    assert_eq!(before.as_deref(), Some("CUST-A"));
    // valid_to is exclusive: at the boundary the line is already B's.
    assert_eq!(
        customer(&reg, "circuit-17", BOUNDARY).as_deref(),
        Some("CUST-B")
    );
    assert_eq!(
        customer(&reg, "circuit-17", "2026-05-31T22:00:00Z").as_deref(),
        Some("CUST-B"),
        "the same instant written in UTC"
    );
    assert_eq!(
        customer(&reg, "circuit-17", "2027-01-01T00:00:00+01:00").as_deref(),
        Some("CUST-B")
    );
    assert_eq!(
        customer(&reg, "circuit-17", "2025-01-01T00:00:00+01:00").as_deref(),
        Some("CUST-A")
    );
    assert_eq!(
        customer(&reg, "circuit-17", "2024-12-31T23:59:59+01:00"),
        None
    );
}

#[test]
fn a_closed_row_with_no_successor_answers_nothing_after_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let reg = IdentityRegister::open(dir.path()).unwrap();
    let f = write(dir.path(), "crm.csv", &csv(&[A_CLOSED]));
    reg.import_csv(&f, 0).unwrap();
    assert_eq!(customer(&reg, "circuit-17", BOUNDARY), None);
}

#[test]
fn a_later_export_replaces_the_changed_row_and_keeps_the_old_version() {
    let dir = tempfile::tempdir().unwrap();
    let reg = IdentityRegister::open(dir.path()).unwrap();
    let first = write(dir.path(), "first.csv", &csv(&[A_OPEN, OTHER]));
    let later = write(dir.path(), "later.csv", &csv(&[A_CLOSED, B_OPEN, OTHER]));
    let first_at = t("2026-01-10T03:00:00Z");
    let later_at = t("2026-06-02T03:00:00Z");

    reg.import_csv(&first, first_at).unwrap();
    let r = reg.import_csv(&later, later_at).unwrap();
    assert_eq!(
        r,
        ImportReport {
            rows: 3,
            added: 1,
            replaced: 1,
            unchanged: 1
        }
    );
    assert_eq!(reg.count().unwrap(), 3);

    let h = reg.history("circuit-17").unwrap();
    let current: Vec<_> = h
        .current
        .iter()
        .map(|r| (r.customer_id.as_str(), r.valid_to))
        .collect();
    assert_eq!(
        current,
        [("CUST-A", Some(t(BOUNDARY))), ("CUST-B", None)],
        "oldest first"
    );
    assert_eq!(h.superseded.len(), 1);
    assert_eq!(h.superseded[0].replaced_at, later_at);
    assert_eq!(h.superseded[0].record.customer_id, "CUST-A");
    assert_eq!(h.superseded[0].record.valid_to, None);
    assert!(reg
        .history("00:1a:2b:3c:4d:5e")
        .unwrap()
        .superseded
        .is_empty());

    // Answers now follow the later export; the history is also kept across a reopen.
    assert_eq!(
        customer(&reg, "circuit-17", BOUNDARY).as_deref(),
        Some("CUST-B")
    );
    drop(reg);
    let reg = IdentityRegister::open(dir.path()).unwrap();
    assert_eq!(reg.history("circuit-17").unwrap(), h);
}

#[test]
fn reimporting_the_same_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let reg = IdentityRegister::open(dir.path()).unwrap();
    let f = write(dir.path(), "crm.csv", &csv(&[A_CLOSED, B_OPEN, OTHER]));
    reg.import_csv(&f, 100).unwrap();
    let before = reg.history("circuit-17").unwrap();
    let r = reg.import_csv(&f, 200).unwrap();
    assert_eq!(
        r,
        ImportReport {
            rows: 3,
            added: 0,
            replaced: 0,
            unchanged: 3
        }
    );
    assert_eq!(reg.count().unwrap(), 3);
    assert_eq!(reg.history("circuit-17").unwrap(), before);
    assert!(before.superseded.is_empty());
}

#[test]
fn rows_a_partial_export_does_not_mention_stay() {
    let dir = tempfile::tempdir().unwrap();
    let reg = IdentityRegister::open(dir.path()).unwrap();
    let all = write(dir.path(), "all.csv", &csv(&[A_OPEN, OTHER]));
    let part = write(dir.path(), "part.csv", &csv(&[OTHER]));
    reg.import_csv(&all, 1).unwrap();
    let r = reg.import_csv(&part, 2).unwrap();
    assert_eq!((r.rows, r.unchanged), (1, 1));
    assert_eq!(reg.count().unwrap(), 2);
    assert_eq!(
        customer(&reg, "circuit-17", "2025-06-01T00:00:00Z").as_deref(),
        Some("CUST-A")
    );
}

#[test]
fn a_file_with_several_bad_rows_is_rejected_whole_with_every_problem_listed() {
    let dir = tempfile::tempdir().unwrap();
    let reg = IdentityRegister::open(dir.path()).unwrap();
    let good = write(dir.path(), "good.csv", &csv(&[A_OPEN, OTHER]));
    reg.import_csv(&good, 1).unwrap();
    let ask = t("2026-07-01T00:00:00Z");
    let before = reg.at("circuit-17", ask).unwrap();

    // The header lacks `city`; every row has nine fields to match it.
    let header_without_city = HEADER.replace(",city", "");
    let body = [
        header_without_city.as_str(),
        // 2: fine on its own (a new subscriber), but must not be written either
        "new-sub-1,CUST-N,Nils Nord,Gatan 1,111 11,19600101-0000,false,2025-01-01T00:00:00Z,",
        // 3: a time without offset
        "new-sub-2,CUST-O,Olle Ost,Gatan 2,111 11,19600101-0000,false,2025-01-01T00:00:00,",
        // 4: valid_to before valid_from
        "new-sub-3,CUST-P,Pia Pil,Gatan 3,111 11,19600101-0000,false,2025-03-01T00:00:00Z,2025-02-01T00:00:00Z",
        // 5: protected_identity "yes"
        "new-sub-4,CUST-Q,Quinn Qvist,Gatan 4,111 11,19600101-0000,yes,2025-01-01T00:00:00Z,",
        // 6: empty name
        "new-sub-5,CUST-R,,Gatan 5,111 11,19600101-0000,false,2025-01-01T00:00:00Z,",
        // 7 and 8: two rows of one subscriber that overlap
        "new-sub-6,CUST-S,Sara Sand,Gatan 6,111 11,19600101-0000,false,2025-01-01T00:00:00Z,2025-06-01T00:00:00Z",
        "new-sub-6,CUST-T,Tor Tall,Gatan 6,111 11,19600101-0000,false,2025-05-01T00:00:00Z,",
        // 9: overlaps the row the register holds for circuit-17 (open since 2025-01-01)
        "circuit-17,CUST-B,Bertil Berg,Storgatan 1,114 55,19700101-0000,false,2026-06-01T00:00:00+02:00,",
    ]
    .join("\n");
    let bad = write(dir.path(), "bad.csv", &format!("{body}\n"));
    let err = reg.import_csv(&bad, 2).unwrap_err();
    assert_eq!(err.code(), "identity.rejected_rows");
    let text = err.to_string();
    let p = rejected(Err(err));
    let got: Vec<(u64, Option<&str>)> = p.iter().map(|p| (p.line, p.column.as_deref())).collect();
    assert_eq!(
        got,
        [
            (1, Some("city")),
            (3, Some("valid_from")),
            (4, Some("valid_to")),
            (5, Some("protected_identity")),
            (6, Some("name")),
            (8, None),
            (9, None),
        ],
        "{text}"
    );
    assert!(p[0].reason.contains("lacks"), "{text}");
    assert!(p[1].reason.contains("no UTC offset"), "{text}");
    assert!(p[2].reason.contains("later than valid_from"), "{text}");
    assert!(p[5].reason.contains("overlaps line 7"), "{text}");
    assert!(
        p[6].reason
            .contains("overlaps a row already in the register valid from 2024-12-31T23:00:00Z"),
        "{text}"
    );
    // One line per problem after the summary.
    assert_eq!(text.lines().count(), 1 + p.len(), "{text}");
    assert!(text.contains("line 8: overlaps line 7"), "{text}");

    assert_eq!(reg.count().unwrap(), 2);
    assert_eq!(reg.at("circuit-17", ask).unwrap(), before);
    assert_eq!(
        reg.at("new-sub-1", t("2025-06-01T00:00:00Z")).unwrap(),
        None
    );
    assert!(reg.history("circuit-17").unwrap().superseded.is_empty());
}

#[test]
fn a_repeated_subscriber_and_valid_from_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let reg = IdentityRegister::open(dir.path()).unwrap();
    let f = write(dir.path(), "dup.csv", &csv(&[A_OPEN, OTHER, A_CLOSED]));
    let p = rejected(reg.import_csv(&f, 1));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].line, 4);
    assert!(p[0].reason.contains("line 2"), "{p:?}");
    assert_eq!(reg.count().unwrap(), 0);
}

#[test]
fn quoted_fields_with_commas_and_utf8_names_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let reg = IdentityRegister::open(dir.path()).unwrap();
    let f = write(
        dir.path(),
        "utf8.csv",
        &csv(&[
            r#""user,with,commas@junet.se","K-1","Åsa Öberg","Storgatan 1, lgh 1101","114 55","Stockholm","19800101-0000","false","2025-01-01T00:00:00+01:00","""#,
            r#"circuit-9,K-2,"Örjan ""Ögge"" Ärlig","Storgatan 1",114 55,Stockholm,19810101-0000,true,2025-01-01T00:00:00+01:00,"#,
        ]),
    );
    assert_eq!(reg.import_csv(&f, 1).unwrap().added, 2);
    let r = reg
        .at("user,with,commas@junet.se", t("2025-01-02T00:00:00Z"))
        .unwrap()
        .unwrap();
    assert_eq!(r.name, "Åsa Öberg");
    assert_eq!(r.street, "Storgatan 1, lgh 1101");
    assert_eq!(
        (r.postal_code.as_str(), r.city.as_str()),
        ("114 55", "Stockholm")
    );
    assert_eq!(r.valid_to, None);
    let q = reg
        .at("circuit-9", t("2025-01-02T00:00:00Z"))
        .unwrap()
        .unwrap();
    assert_eq!(q.name, "Örjan \"Ögge\" Ärlig");
    assert!(q.protected_identity);
}

#[test]
fn a_crlf_file_works() {
    let dir = tempfile::tempdir().unwrap();
    let reg = IdentityRegister::open(dir.path()).unwrap();
    let body = csv(&[A_CLOSED, B_OPEN]).replace('\n', "\r\n");
    let f = write(dir.path(), "crlf.csv", &body);
    assert_eq!(reg.import_csv(&f, 1).unwrap().added, 2);
    let b = reg.at("circuit-17", t(BOUNDARY)).unwrap().unwrap();
    assert_eq!(b.customer_id, "CUST-B");
    assert_eq!(b.valid_to, None, "the empty last field is not a stray CR");
    let a = reg
        .at("circuit-17", t("2026-01-01T00:00:00Z"))
        .unwrap()
        .unwrap();
    assert_eq!(a.valid_to, Some(t(BOUNDARY)));

    // Line numbers count CRLF lines too.
    let bad = csv(&[OTHER, &B_OPEN.replace("false", "nej")]).replace('\n', "\r\n");
    let p = rejected(reg.import_csv(&write(dir.path(), "bad.csv", &bad), 2));
    assert_eq!(
        (p[0].line, p[0].column.as_deref()),
        (3, Some("protected_identity"))
    );
}

#[test]
fn the_sample_crm_export_imports() {
    let dir = tempfile::tempdir().unwrap();
    let reg = IdentityRegister::open(dir.path()).unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/identity/crm-export.csv");
    let r = reg.import_csv(&sample, t("2026-06-02T00:00:00Z")).unwrap();
    assert_eq!((r.rows, r.added), (6, 6));

    assert_eq!(
        customer(&reg, "circuit-17", "2026-05-31T23:59:59+02:00").as_deref(),
        Some("K100512")
    );
    assert_eq!(
        customer(&reg, "circuit-17", BOUNDARY).as_deref(),
        Some("K100890")
    );
    let protected = reg
        .at(
            "00:01:00:01:2c:5f:7a:10:00:1a:2b:3c:4d:5f",
            t("2025-01-01T00:00:00Z"),
        )
        .unwrap()
        .unwrap();
    assert!(protected.protected_identity);
    assert_eq!(protected.city, "Umeå");
    let erik = reg
        .at("00:1a:2b:3c:4d:5e", t("2025-01-01T00:00:00Z"))
        .unwrap()
        .unwrap();
    assert_eq!(erik.street, "Vasagatan 12, lgh 1102");
    assert_eq!(
        customer(&reg, "junet-bredband-2207", "2026-01-01T00:00:00+01:00"),
        None,
        "a contract that ended"
    );
    assert_eq!(reg.import_csv(&sample, 1).unwrap().unchanged, 6);
}
