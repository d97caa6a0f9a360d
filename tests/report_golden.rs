//! The three renderings of one fixed IPRED disclosure, compared byte for byte with the files in
//! `tests/data/golden/`. `UPDATE_GOLDEN=1 cargo test --test report_golden` rewrites them; read the
//! diff as a court would before committing it.

use std::path::PathBuf;

use serde_json::json;
use tdr::report::{
    html, json as report_json, sha256_hex, xml, Approval, CaseInfo, DisclosedIdentity,
    RecordStatus, Report, ReportItem,
};

/// 2026-11-21T10:00:00Z
const GENERATED: i64 = 1_795_255_200;

fn ipred_report() -> Report {
    Report {
        csp_id: "Junet AB".into(),
        request_id: "C-2026-0007".into(),
        generated_at: GENERATED,
        case: CaseInfo {
            request_type: "ipred".into(),
            legal_basis: "Upphovsrättslagen (1960:729) 53 c §".into(),
            authority: "Patent- och marknadsdomstolen".into(),
            case_number: "PMÄ 1234-26".into(),
            decision_date: Some("2026-11-12".into()),
            legal_force_date: Some("2026-11-16".into()),
            deadline: Some("2026-11-30".into()),
            order_sha256: "5f2b9c0e4a7d1863c2e9f0b47a1d3e8c6b5a49f2e1d0c7b8a6958473e2d1c0b9".into(),
            notes: "Sökande: Nordic Film & TV AB (ombud: Adv. Lind <lind@example.se>). \
                    Four addresses/times from the application's annex 2."
                .into(),
            state: "disclosed".into(),
        },
        items: vec![
            ReportItem {
                number: 1,
                asked: json!({"addr": "203.0.113.7", "port": 51234, "at": "2026-11-20T10:15:00+01:00"}),
                at_utc: Some(1_795_166_100), // 2026-11-20T09:15:00Z
                window: None,
                status: "found".into(),
                record_status: RecordStatus::Complete,
                subscriber: Some("kund10442@junet".into()),
                identity: Some(DisclosedIdentity {
                    name: "Åsa Öberg".into(),
                    street: Some("Storgatan 1".into()),
                    postal_code: Some("114 55".into()),
                    city: Some("Stockholm".into()),
                    customer_id: None,
                    personal_number: None,
                    protected_identity: false,
                }),
                evidence: vec![json!({
                    "subscriber": "kund10442@junet",
                    "target": "100.64.12.34",
                    "start": "2026-11-20T06:02:11Z",
                    "start_logged": true,
                    "end": "2026-11-20T11:48:03Z",
                    "end_kind": "stop",
                    "confirmed_until": "2026-11-20T11:48:03Z",
                    "source": "radius",
                    "class": "billing",
                    "via": {
                        "public": "203.0.113.7",
                        "ports": "51200-51263",
                        "inside": "100.64.12.34",
                        "start": "2026-11-20T06:02:12Z",
                        "end": "2026-11-20T11:48:04Z",
                        "end_kind": "release",
                        "source": "cgnat"
                    }
                })],
                warnings: vec![],
            },
            ReportItem {
                number: 2,
                asked: json!({"addr": "198.51.100.23", "at": "2026-11-20T21:40:00+01:00"}),
                at_utc: Some(1_795_207_200), // 2026-11-20T20:40:00Z
                window: None,
                status: "found".into(),
                record_status: RecordStatus::Complete,
                subscriber: Some("kund20871@junet".into()),
                identity: Some(DisclosedIdentity {
                    name: "Karl Lindqvist".into(),
                    street: Some("Box 123".into()),
                    postal_code: Some("101 23".into()),
                    city: Some("Stockholm".into()),
                    customer_id: None,
                    personal_number: None,
                    protected_identity: true,
                }),
                evidence: vec![json!({
                    "subscriber": "kund20871@junet",
                    "target": "198.51.100.23",
                    "start": "2026-11-18T16:20:45Z",
                    "start_logged": true,
                    "end": null,
                    "end_kind": "open",
                    "confirmed_until": "2026-11-20T20:55:45Z",
                    "source": "radius",
                    "class": "billing",
                    "via": null
                })],
                warnings: vec![],
            },
            ReportItem {
                number: 3,
                asked: json!({"addr": "198.51.100.77", "at": "2026-11-19T08:00:02+01:00"}),
                at_utc: Some(1_795_071_602), // 2026-11-19T07:00:02Z
                window: None,
                status: "ambiguous".into(),
                record_status: RecordStatus::Partial,
                subscriber: None,
                identity: None,
                evidence: vec![
                    json!({
                        "subscriber": "candidate 1",
                        "target": "198.51.100.77",
                        "start": "2026-11-18T22:14:09Z",
                        "start_logged": true,
                        "end": "2026-11-19T07:00:00Z",
                        "end_kind": "lease_expiry",
                        "confirmed_until": "2026-11-19T07:00:00Z",
                        "source": "dhcp",
                        "class": "security",
                        "via": null
                    }),
                    json!({
                        "subscriber": "candidate 2",
                        "target": "198.51.100.77",
                        "start": "2026-11-19T07:00:01Z",
                        "start_logged": true,
                        "end": "2026-11-19T19:00:01Z",
                        "end_kind": "lease_expiry",
                        "confirmed_until": "2026-11-19T19:00:01Z",
                        "source": "dhcp",
                        "class": "security",
                        "via": null
                    }),
                ],
                warnings: vec![
                    "Two subscribers held the address within the ±5 s clock tolerance of the time \
                     asked: one lease ended at 07:00:00 UTC, the next began at 07:00:01 UTC."
                        .into(),
                ],
            },
            ReportItem {
                number: 4,
                asked: json!({"addr": "203.0.113.50", "port": 40001, "at": "2026-03-02T14:00:00+01:00"}),
                at_utc: Some(1_772_456_400), // 2026-03-02T13:00:00Z
                window: None,
                status: "outside_retention".into(),
                record_status: RecordStatus::NoData,
                subscriber: None,
                identity: None,
                evidence: vec![],
                warnings: vec![],
            },
        ],
        approvals: vec![
            Approval {
                action: "created".into(),
                by: "legal-anna".into(),
                at: 1_795_161_600, // 2026-11-20T08:00:00Z
                reason: None,
            },
            Approval {
                action: "approved".into(),
                by: "legal-bertil".into(),
                at: 1_795_168_800, // 2026-11-20T10:00:00Z
                reason: Some("Order has legal force; scope matches annex 2.".into()),
            },
            Approval {
                action: "executed".into(),
                by: "legal-anna".into(),
                at: 1_795_172_400, // 2026-11-20T11:00:00Z
                reason: None,
            },
            Approval {
                action: "released".into(),
                by: "legal-cecilia".into(),
                at: 1_795_251_600, // 2026-11-21T09:00:00Z
                reason: Some(
                    "Item 2: protected identity; release checked against the order.".into(),
                ),
            },
        ],
        audit_seqs: vec![412, 413, 414, 415, 416, 417, 418, 419, 431],
    }
}

fn golden_path(ext: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/golden")
        .join(format!("ipred-C-2026-0007.{ext}"))
}

fn check_golden(ext: &str, actual: &str) {
    let path = golden_path(ext);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the rendering at line {} (UPDATE_GOLDEN=1 rewrites it)",
            path.display(),
            line + 1
        );
    }
}

/// Tag balance: every start tag closed in order, nothing left open (names may carry a namespace
/// prefix, `tdr:`). `void` are HTML elements
/// without an end tag. Comments, declarations and `<style>` content are skipped.
fn assert_balanced(doc: &str, void: &[&str]) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find('<') {
        let j = rest[i..].find('>').expect("unterminated tag") + i;
        let tag = &rest[i + 1..j];
        rest = &rest[j + 1..];
        if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            continue;
        }
        let name = tag.split_whitespace().next().expect("empty tag");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == ':'),
            "odd tag name {name:?}"
        );
        if void.contains(&name) {
            continue;
        }
        if name == "style" {
            let end = rest.find("</style>").expect("unclosed style");
            rest = &rest[end..];
        }
        stack.push(name.to_string());
    }
    assert!(stack.is_empty(), "left open: {stack:?}");
}

#[test]
fn ipred_report_matches_golden_files() {
    let r = ipred_report();
    let json = report_json::render(&r);
    let digest = sha256_hex(json.as_bytes());
    let xml = xml::render(&r, &digest);
    let html = html::render(&r, &digest);
    check_golden("json", &json);
    check_golden("xml", &xml);
    check_golden("html", &html);
    assert!(xml.contains(&format!(
        "<tdr:reportDigest algorithm=\"SHA-256\">{digest}</tdr:reportDigest>"
    )));
    assert!(html.contains(&digest));
}

#[test]
fn golden_json_is_the_report() {
    let r = ipred_report();
    let json = report_json::render(&r);
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn golden_xml_and_html_are_balanced() {
    let r = ipred_report();
    let digest = sha256_hex(report_json::render(&r).as_bytes());
    assert_balanced(&xml::render(&r, &digest), &[]);
    assert_balanced(&html::render(&r, &digest), &["meta", "br"]);
}
