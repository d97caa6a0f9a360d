//! Reads the ETSI TS 102 657 XML the way a receiver would: a generic XML parser (roxmltree, not
//! tdr's writer), elements found by namespace and local name along fixed paths. Covers a found
//! item, a CGNAT item with a port range, a window, an answer that names nobody, no data, a
//! law-enforcement case and hostile text.

use roxmltree::{Document, Node};
use serde_json::{json, Value};
use tdr::report::{
    json as report_json, sha256_hex, xml, Approval, CaseInfo, DisclosedIdentity, RecordStatus,
    Report, ReportItem,
};

const ETSI: &str = "http://uri.etsi.org/02657/v1.28.1#/RetainedData";
const TDR: &str = "urn:tdr:report:1";

/// The child elements of `n` named `name` in namespace `ns`.
fn children<'a, 'i>(n: Node<'a, 'i>, ns: &str, name: &str) -> Vec<Node<'a, 'i>> {
    n.children()
        .filter(|c| c.is_element() && c.tag_name().namespace() == Some(ns))
        .filter(|c| c.tag_name().name() == name)
        .collect()
}

/// The element at `path` (child by child, each the only one of its name) below `n`, if any.
fn at<'a, 'i>(n: Node<'a, 'i>, ns: &str, path: &str) -> Option<Node<'a, 'i>> {
    let mut cur = n;
    for step in path.split('/') {
        let found = children(cur, ns, step);
        assert!(
            found.len() <= 1,
            "{step} is not unique under {:?}",
            cur.tag_name()
        );
        cur = *found.first()?;
    }
    Some(cur)
}

/// The text at `path` below `n`, if the element is there.
fn text(n: Node, ns: &str, path: &str) -> Option<String> {
    at(n, ns, path).map(|e| e.text().unwrap_or("").to_string())
}

/// What a receiver takes from one ResponseRecord.
#[derive(Debug, PartialEq)]
struct Record {
    number: u32,
    subscriber: Option<String>,
    address: Option<String>,
    start: Option<String>,
    end: Option<String>,
}

fn records(doc: &Document) -> Vec<Record> {
    let root = doc.root_element();
    let Some(list) = at(
        root,
        ETSI,
        "retainedDataPayload/responseMessage/responseRecords",
    ) else {
        return vec![];
    };
    children(list, ETSI, "ResponseRecord")
        .into_iter()
        .map(|r| {
            let usage = at(r, ETSI, "recordPayload/networkAccessRecord/naServiceUsage")
                .expect("a network-access record");
            Record {
                number: text(r, ETSI, "recordNumber").unwrap().parse().unwrap(),
                subscriber: text(usage, ETSI, "naAuthID"),
                address: text(usage, ETSI, "naAssignedAddress/iPTextAddress"),
                start: text(usage, ETSI, "interval/startTime"),
                end: text(usage, ETSI, "interval/endTime"),
            }
        })
        .collect()
}

/// The extension's `tdr:item` numbered `n`.
fn item<'a, 'i>(doc: &'a Document<'i>, n: u32) -> Node<'a, 'i> {
    let items = at(doc.root_element(), TDR, "report/items").expect("tdr:items");
    children(items, TDR, "item")
        .into_iter()
        .find(|i| text(*i, TDR, "number").as_deref() == Some(&n.to_string()))
        .unwrap_or_else(|| panic!("item {n}"))
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn case(request_type: &str, authority: &str, case_number: &str, notes: &str) -> CaseInfo {
    CaseInfo {
        request_type: request_type.into(),
        legal_basis: "basis".into(),
        authority: authority.into(),
        case_number: case_number.into(),
        decision_date: None,
        legal_force_date: None,
        deadline: None,
        order_sha256: "00".repeat(32),
        notes: notes.into(),
        state: "disclosed".into(),
    }
}

fn item_of(number: u32, status: &str, rs: RecordStatus, subscriber: Option<&str>) -> ReportItem {
    ReportItem {
        number,
        asked: json!({"addr": "203.0.113.7"}),
        at_utc: Some(1_795_166_100),
        window: None,
        status: status.into(),
        record_status: rs,
        subscriber: subscriber.map(str::to_string),
        identity: None,
        evidence: vec![],
        warnings: vec![],
    }
}

fn binding(subscriber: &str, target: &str, start: &str, end: Value, via: Value) -> Value {
    json!({"subscriber": subscriber, "target": target, "start": start, "start_logged": true,
        "end": end, "end_kind": "stop", "confirmed_until": null, "source": "radius",
        "class": "billing", "via": via})
}

fn render(r: &Report) -> (String, String) {
    let digest = sha256_hex(report_json::render(r).as_bytes());
    (xml::render(r, &digest), digest)
}

/// An IPRED answer: a CGNAT item (port range), a plain found item, a window item, an ambiguous
/// item and one with no data.
fn ipred() -> Report {
    let mut cgnat = item_of(1, "found", RecordStatus::Complete, Some("kund10442@junet"));
    cgnat.asked = json!({"addr": "203.0.113.7", "port": 51234, "at": "2026-11-20T10:15:00+01:00"});
    cgnat.identity = Some(DisclosedIdentity {
        name: "Åsa Öberg".into(),
        street: Some("Storgatan 1".into()),
        postal_code: Some("114 55".into()),
        city: Some("Stockholm".into()),
        customer_id: None,
        personal_number: None,
        protected_identity: false,
    });
    cgnat.evidence = vec![binding(
        "kund10442@junet",
        "100.64.12.34",
        "2026-11-20T06:02:11Z",
        json!("2026-11-20T11:48:03Z"),
        json!({"public": "203.0.113.7", "ports": "51200-51263", "inside": "100.64.12.34",
               "start": "2026-11-20T06:02:12Z", "end": "2026-11-20T11:48:04Z",
               "end_kind": "release", "source": "cgnat"}),
    )];
    let mut plain = item_of(2, "found", RecordStatus::Complete, Some("kund20871@junet"));
    plain.evidence = vec![binding(
        "kund20871@junet",
        "198.51.100.23",
        "2026-11-18T16:20:45Z",
        Value::Null,
        Value::Null,
    )];
    let mut window = item_of(3, "found", RecordStatus::Complete, Some("kund30001@junet"));
    window.at_utc = None;
    window.window = Some((1_795_132_800, 1_795_219_200)); // 2026-11-20T00:00Z .. 11-21T00:00Z
    window.asked = json!({"addr": "198.51.100.9", "from": "2026-11-20T00:00:00Z",
                          "to": "2026-11-21T00:00:00Z"});
    window.evidence = vec![
        binding(
            "kund30001@junet",
            "198.51.100.9",
            "2026-11-19T22:00:00Z",
            json!("2026-11-20T10:00:00Z"),
            Value::Null,
        ),
        binding(
            "kund30001@junet",
            "198.51.100.9",
            "2026-11-20T10:00:05Z",
            json!("2026-11-21T02:00:00Z"),
            Value::Null,
        ),
    ];
    let mut ambiguous = item_of(4, "ambiguous", RecordStatus::Partial, None);
    ambiguous.evidence = vec![
        binding(
            "candidate 1",
            "198.51.100.77",
            "2026-11-18T22:14:09Z",
            json!("2026-11-19T07:00:00Z"),
            Value::Null,
        ),
        binding(
            "candidate 2",
            "198.51.100.77",
            "2026-11-19T07:00:01Z",
            json!("2026-11-19T19:00:01Z"),
            Value::Null,
        ),
    ];
    ambiguous.warnings = vec!["two subscribers within the tolerance".into()];
    let none = item_of(5, "outside_retention", RecordStatus::NoData, None);
    Report {
        csp_id: "Junet AB".into(),
        request_id: "C-2026-0007".into(),
        generated_at: 1_795_255_200, // 2026-11-21T10:00:00Z
        case: case(
            "ipred",
            "Patent- och marknadsdomstolen",
            "PMÄ 1234-26",
            "annex 2",
        ),
        items: vec![cgnat, plain, window, ambiguous, none],
        approvals: vec![Approval {
            action: "approved".into(),
            by: "legal-bertil".into(),
            at: 1_795_168_800,
            reason: None,
        }],
        audit_seqs: vec![412, 431],
    }
}

#[test]
fn the_header_is_where_a_receiver_looks_for_it() {
    let (x, _) = render(&ipred());
    let doc = Document::parse(&x).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().namespace(), Some(ETSI));
    assert_eq!(root.tag_name().name(), "RetainedDataMessage");
    let h = at(root, ETSI, "retainedDataHeader").expect("retainedDataHeader");
    assert_eq!(text(h, ETSI, "requestID/countryCode"), s("SE"));
    assert_eq!(
        text(h, ETSI, "requestID/authorisedOrganisationID"),
        s("Patent- och marknadsdomstolen")
    );
    assert_eq!(text(h, ETSI, "requestID/requestNumber"), s("PMÄ 1234-26"));
    assert_eq!(text(h, ETSI, "cSPID"), s("Junet AB"));
    assert_eq!(text(h, ETSI, "timeStamp"), s("20261121100000Z"));
    assert_eq!(text(h, ETSI, "requestType"), s("ipred"));
    // tdr's own case id is not the authority's request number: it is in the extension.
    assert_eq!(text(root, TDR, "report/caseId"), s("C-2026-0007"));
    // The standard's header comes first, the extension last.
    let names: Vec<_> = root
        .children()
        .filter(|c| c.is_element())
        .map(|c| c.tag_name().name())
        .collect();
    assert_eq!(
        names,
        [
            "rdHeaderId",
            "retainedDataHeader",
            "retainedDataPayload",
            "report"
        ]
    );
    let status = at(
        root,
        ETSI,
        "retainedDataPayload/responseMessage/responseStatus",
    )
    .unwrap();
    assert!(at(status, ETSI, "responseComplete").is_some());
}

#[test]
fn records_carry_subscriber_address_and_times() {
    let (x, _) = render(&ipred());
    let doc = Document::parse(&x).unwrap();
    let got = records(&doc);
    let want = vec![
        // CGNAT: the public address the authority asked about, for the translation's lifetime.
        Record {
            number: 1,
            subscriber: s("kund10442@junet"),
            address: s("203.0.113.7"),
            start: s("20261120060212Z"),
            end: s("20261120114804Z"),
        },
        // Still open: no end.
        Record {
            number: 2,
            subscriber: s("kund20871@junet"),
            address: s("198.51.100.23"),
            start: s("20261118162045Z"),
            end: None,
        },
        // A window: one record per binding inside it.
        Record {
            number: 3,
            subscriber: s("kund30001@junet"),
            address: s("198.51.100.9"),
            start: s("20261119220000Z"),
            end: s("20261120100000Z"),
        },
        Record {
            number: 4,
            subscriber: s("kund30001@junet"),
            address: s("198.51.100.9"),
            start: s("20261120100005Z"),
            end: s("20261121020000Z"),
        },
    ];
    assert_eq!(
        got, want,
        "the ambiguous and the no-data items have no records"
    );
}

#[test]
fn the_extension_keeps_the_port_range_and_inside_address_of_a_cgnat_record() {
    let (x, _) = render(&ipred());
    let doc = Document::parse(&x).unwrap();
    let i = item(&doc, 1);
    assert_eq!(text(i, TDR, "requestedItem/port"), s("51234"));
    assert_eq!(text(i, TDR, "requestedTime"), s("20261120091500Z"));
    assert_eq!(text(i, TDR, "attributionStatus"), s("found"));
    assert_eq!(text(i, TDR, "subscriber/name"), s("Åsa Öberg"));
    assert_eq!(text(i, TDR, "subscriber/address/city"), s("Stockholm"));
    let b = at(i, TDR, "binding").unwrap();
    assert_eq!(text(b, TDR, "recordNumber"), s("1"));
    assert_eq!(
        text(b, TDR, "natTranslation/publicAddress"),
        s("203.0.113.7")
    );
    assert_eq!(text(b, TDR, "natTranslation/portRange"), s("51200-51263"));
    assert_eq!(
        text(b, TDR, "natTranslation/insideAddress"),
        s("100.64.12.34")
    );
    // The subscriber's own session, which the record does not show, is here.
    assert_eq!(text(b, TDR, "address"), s("100.64.12.34"));
    assert_eq!(text(b, TDR, "startTime"), s("20261120060211Z"));
    assert_eq!(text(b, TDR, "endKind"), s("stop"));
}

#[test]
fn window_ambiguous_and_no_data_items_are_explained_in_the_extension() {
    let (x, digest) = render(&ipred());
    let doc = Document::parse(&x).unwrap();
    let root = doc.root_element();
    let w = item(&doc, 3);
    assert_eq!(
        text(w, TDR, "requestedWindow/startTime"),
        s("20261120000000Z")
    );
    assert_eq!(
        text(w, TDR, "requestedWindow/endTime"),
        s("20261121000000Z")
    );
    let nums: Vec<_> = children(w, TDR, "binding")
        .into_iter()
        .map(|b| text(b, TDR, "recordNumber"))
        .collect();
    assert_eq!(nums, [s("3"), s("4")]);

    let a = item(&doc, 4);
    assert_eq!(text(a, TDR, "attributionStatus"), s("ambiguous"));
    assert_eq!(text(a, TDR, "recordStatus"), s("partial"));
    let bindings = children(a, TDR, "binding");
    assert_eq!(bindings.len(), 2);
    assert!(bindings
        .iter()
        .all(|b| at(*b, TDR, "recordNumber").is_none()));
    assert_eq!(text(bindings[1], TDR, "subscriberID"), s("candidate 2"));
    assert_eq!(
        text(a, TDR, "warnings/warning"),
        s("two subscribers within the tolerance")
    );

    let n = item(&doc, 5);
    assert_eq!(text(n, TDR, "attributionStatus"), s("outside_retention"));
    assert_eq!(text(n, TDR, "recordStatus"), s("noData"));
    assert!(text(n, TDR, "explanation").unwrap().contains("retention"));
    assert!(at(n, TDR, "binding").is_none());

    assert_eq!(text(root, TDR, "report/overallStatus"), s("partial"));
    let d = at(root, TDR, "report/reportDigest").unwrap();
    assert_eq!(d.attribute("algorithm"), Some("SHA-256"));
    assert_eq!(d.text(), Some(digest.as_str()));
    let seqs: Vec<_> = children(
        at(root, TDR, "report/auditSequences").unwrap(),
        TDR,
        "auditSequence",
    )
    .into_iter()
    .map(|e| e.text().unwrap().to_string())
    .collect();
    assert_eq!(seqs, ["412", "431"]);
    assert_eq!(
        text(root, TDR, "report/approvals/approval/by"),
        s("legal-bertil")
    );
}

#[test]
fn a_law_enforcement_case_with_hostile_text_reads_back_exactly() {
    let mut found = item_of(1, "found", RecordStatus::Complete, Some("u<1>&\"x\""));
    found.identity = Some(DisclosedIdentity {
        name: "O'Brien & <Öberg>\u{1} \"Åsa\"".into(),
        street: Some("Gata </tdr:street> 1".into()),
        postal_code: None,
        city: None,
        customer_id: Some("C-9".into()),
        personal_number: Some("19800101-1234".into()),
        protected_identity: false,
    });
    found.evidence = vec![binding(
        "u<1>&\"x\"",
        "198.51.100.5",
        "2026-11-20T06:00:00Z",
        Value::Null,
        Value::Null,
    )];
    found.warnings = vec!["]]> & <!-- not a comment -->".into()];
    let r = Report {
        csp_id: "Junet & Co <AB>".into(),
        request_id: "C-2026-0100".into(),
        generated_at: 1_795_255_200,
        case: case(
            "law_enforcement",
            "Polismyndigheten <NOA>",
            "5000-K123-26 & \"x\"",
            "a <b> & 'c'\r\n\u{7}bell",
        ),
        items: vec![found],
        approvals: vec![],
        audit_seqs: vec![9],
    };
    let (x, _) = render(&r);
    let doc = Document::parse(&x).expect("hostile text stays well-formed");
    let root = doc.root_element();
    let h = at(root, ETSI, "retainedDataHeader").unwrap();
    assert_eq!(
        text(h, ETSI, "requestID/authorisedOrganisationID"),
        s("Polismyndigheten <NOA>")
    );
    assert_eq!(
        text(h, ETSI, "requestID/requestNumber"),
        s("5000-K123-26 & \"x\"")
    );
    assert_eq!(text(h, ETSI, "cSPID"), s("Junet & Co <AB>"));
    assert_eq!(text(h, ETSI, "requestType"), s("law_enforcement"));
    assert_eq!(records(&doc)[0].subscriber, s("u<1>&\"x\""));
    let i = item(&doc, 1);
    // A control character XML cannot carry becomes U+FFFD; everything else is as given.
    assert_eq!(
        text(i, TDR, "subscriber/name"),
        s("O'Brien & <Öberg>\u{FFFD} \"Åsa\"")
    );
    assert_eq!(
        text(i, TDR, "subscriber/address/street"),
        s("Gata </tdr:street> 1")
    );
    assert_eq!(
        text(i, TDR, "subscriber/personalNumber"),
        s("19800101-1234")
    );
    assert_eq!(text(i, TDR, "subscriber/customerID"), s("C-9"));
    assert_eq!(
        text(i, TDR, "warnings/warning"),
        s("]]> & <!-- not a comment -->")
    );
    assert_eq!(
        text(root, TDR, "report/authorization/notes"),
        s("a <b> & 'c'\r\n\u{FFFD}bell")
    );
}

#[test]
fn the_golden_sample_reads_back() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/golden/ipred-C-2026-0007.xml"
    );
    let x = std::fs::read_to_string(path).unwrap();
    let doc = Document::parse(&x).unwrap();
    let got = records(&doc);
    assert_eq!(
        got.len(),
        2,
        "items 1 and 2 name a subscriber; 3 is ambiguous, 4 has no data"
    );
    assert_eq!(got[0].address, s("203.0.113.7"));
    assert_eq!(got[1].subscriber, s("kund20871@junet"));
    assert_eq!(
        text(item(&doc, 2), TDR, "subscriber/protectedIdentity"),
        s("true")
    );
}
