//! A data subject's access request end to end through the Service (issue 18): registered by
//! one legal officer and approved by another (never by the same person), due one month after
//! it was registered, its extract (every binding with the day it leaves retention, the classes
//! with their purposes and legal bases, the recipients) and its letter, in HTML and as PDF/A,
//! to the registered address — listing an IPRED disclosure of the subscriber and nothing of a
//! law-enforcement case that disclosed them too.

use serde_json::json;

use super::tests::{fixture_with, user, Fixture};
use crate::config::{Config, NoticeSettings, Period, Retention};
use crate::legal::auth::Role;
use crate::legal::case::NewCase;
use crate::model::parse_time;

fn t(s: &str) -> i64 {
    parse_time(s).unwrap()
}

const CRM_HEADER: &str = "subscriber,customer_id,name,street,postal_code,city,personal_number,\
                          protected_identity,valid_from,valid_to";

fn service() -> Fixture {
    fixture_with(Config {
        retention: Retention {
            security: Period::Months(6),
            billing: Period::Days(90),
            statutory: Period::Months(6),
        },
        notice: NoticeSettings {
            contact: "dataskydd@junet.example".into(),
            sender_address: vec!["Box 17".into(), "111 11 Stockholm".into()],
            ..NoticeSettings::default()
        },
        ..Config::default()
    })
}

fn crm(f: &Fixture, rows: &str) {
    let csv = format!("{CRM_HEADER}\n{rows}");
    f.service
        .identity_import(&user("ada", Role::Admin), csv.as_bytes())
        .unwrap();
}

fn order(kind: &str, authority: &str, number: &str) -> NewCase {
    let applicant = (kind == "ipred").then_some("Filmbolaget Nord AB");
    serde_json::from_value(json!({
        "applicant": applicant,
        "request_type": kind,
        "authority": authority,
        "case_number": number,
        "decision_date": "2026-11-19",
        "legal_force_date": "2026-11-19",
        "order_sha256": "ab".repeat(32),
        "scope": [{"addr": "192.0.2.10", "at": "2026-11-20T10:30:00Z"}],
    }))
    .unwrap()
}

fn access(subscriber: &str) -> NewCase {
    serde_json::from_value(json!({
        "request_type": "access",
        "authority": "den registrerade",
        "case_number": "DSAR-2026-12",
        "scope": [{"subscriber": subscriber}],
    }))
    .unwrap()
}

/// Registered by anna, approved by bert, executed and its report disclosed by anna.
fn disclosed(f: &Fixture, req: NewCase) -> String {
    let (anna, bert) = (user("anna", Role::Legal), user("bert", Role::Legal));
    let id = f.service.create_case(&anna, req).unwrap().id;
    f.service.approve(&bert, &id).unwrap();
    f.service.execute(&anna, &id, None).unwrap();
    f.service.report(&anna, &id, "json").unwrap();
    id
}

fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("registerutdrag.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (Debian package poppler-utils)");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn an_access_case_is_answered_by_a_letter_to_the_registered_address_within_a_month() {
    let f = service();
    let (anna, bert) = (user("anna", Role::Legal), user("bert", Role::Legal));
    // Anna moved to Lund on 1 June; a correction of her name replaced a version in March.
    crm(
        &f,
        "sub-1,C1,Anna Anderson,Gamla gatan 1,111 11,Stockholm,19800101-1234,false,\
         2026-01-01T00:00:00Z,2026-06-01T00:00:00Z\n\
         sub-1,C1,Anna Andersson,Nya vägen 9,222 22,Lund,19800101-1234,false,\
         2026-06-01T00:00:00Z,\n",
    );
    crm(
        &f,
        "sub-1,C1,Anna Andersson,Gamla gatan 1,111 11,Stockholm,19800101-1234,false,\
         2026-01-01T00:00:00Z,2026-06-01T00:00:00Z\n\
         sub-1,C1,Anna Andersson,Nya vägen 9,222 22,Lund,19800101-1234,false,\
         2026-06-01T00:00:00Z,\n",
    );
    // Her address was disclosed twice on 21 November: to a rights holder (IPRED) and to the
    // police; only the first may ever be told.
    let ipred = disclosed(
        &f,
        order("ipred", "Patent- och marknadsdomstolen", "PMÄ 1234-26"),
    );
    let le = disclosed(
        &f,
        order("law_enforcement", "Polismyndigheten", "5000-K77-26"),
    );

    // Monday 23 November 2026, 10:00 in Stockholm: the request is registered.
    f.clock.set(t("2026-11-23T09:00:00Z"));
    let id = f.service.create_case(&anna, access("sub-1")).unwrap().id;
    let listed = f.service.list_cases(&anna, None).unwrap();
    let row = listed.iter().find(|c| c["id"] == id.as_str()).unwrap();
    assert_eq!(
        (row["due_day"].as_str(), row["due_basis"].as_str()),
        (Some("2026-12-23"), Some("default")),
        "GDPR art. 12(3): one month of receipt: {row}"
    );
    // Four eyes: anna, under any of her user names, cannot approve what she registered, and
    // nothing is answered before a second officer has.
    let anna2 = super::tests::as_person("anna-2", "E-anna", Role::Legal);
    assert_eq!(
        f.service.approve(&anna2, &id).unwrap_err().code(),
        "case.four_eyes"
    );
    assert_eq!(
        f.service.access_extract(&anna, &id).unwrap_err().code(),
        "case.wrong_state"
    );
    assert_eq!(
        f.service
            .access_letter(&anna, &id, "html")
            .unwrap_err()
            .code(),
        "case.wrong_state"
    );
    f.service.approve(&bert, &id).unwrap();
    // Approved, but no extract yet: no letter.
    let err = f.service.access_letter(&anna, &id, "pdf").unwrap_err();
    assert_eq!(err.code(), "case.wrong_state");
    assert_eq!(
        f.entries().pop().unwrap().outcome,
        "refused:case.wrong_state"
    );

    // The extract: the binding with the day it leaves retention, its class, the recipients.
    let x = f.service.access_extract(&anna, &id).unwrap();
    let b = &x["bindings"][0];
    assert_eq!(b["target"], "192.0.2.10");
    assert_eq!(b["end"], "2026-11-20T11:00:00Z");
    assert_eq!(
        b["leaves_retention"],
        json!({"at": "2027-05-20T11:00:00Z", "date": "2027-05-20"})
    );
    let classes = x["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 1, "{x}");
    assert_eq!(
        classes[0],
        json!({
            "class": "security",
            "count": 1,
            "first": "2026-11-20T10:00:00Z",
            "last": "2026-11-20T11:00:00Z",
            "leaves_retention_first": "2027-05-20",
            "leaves_retention_last": "2027-05-20",
            "purposes": ["abuse", "ipred", "law_enforcement"],
            "legal_basis": "GDPR art. 6.1 f – nätverks- och informationssäkerhet",
            "retention": "6 months",
        })
    );
    let recipients = x["recipients"].as_array().unwrap();
    assert_eq!(recipients.len(), 1, "the IPRED disclosure only: {x}");
    assert_eq!(recipients[0]["case"], ipred.as_str());
    assert_eq!(recipients[0]["date"], "2026-11-21");
    for secret in [le.as_str(), "Polismyndigheten", "5000-K77-26"] {
        assert!(!x.to_string().contains(secret), "{secret} in the extract");
    }

    // The letter, in HTML: to the address registered today, with everything it must say.
    let (body, ctype) = f.service.access_letter(&anna, &id, "html").unwrap();
    assert_eq!(ctype, "text/html; charset=utf-8");
    let html = String::from_utf8(body.clone()).unwrap();
    for needle in [
        "Anna Andersson<br>Nya vägen 9<br>222 22 Lund",
        "Registerutdrag enligt artikel 15",
        "Junet AB<br>Box 17<br>111 11 Stockholm",
        "som vi tog emot den 2026-11-23",
        "<td>192.0.2.10</td><td>2026-11-20 11:00</td><td>2026-11-20 12:00</td>\
         <td>Nätverks- och informationssäkerhet</td><td>2027-05-20</td>",
        "GDPR art. 6.1 f – nätverks- och informationssäkerhet",
        "6 månader",
        "<td>2026-11-21</td><td>Filmbolaget Nord AB</td>\
         <td>Patent- och marknadsdomstolen, PMÄ 1234-26</td>",
        ipred.as_str(),
        "Integritetsskyddsmyndigheten (IMY), Box 8114, 104 20 Stockholm",
        "imy@imy.se",
        "dataskydd@junet.example",
        // The earlier versions: the old address, and the replaced spelling of her name.
        "Gamla gatan 1",
        "Anna Anderson",
    ] {
        assert!(html.contains(needle), "{needle:?} not in\n{html}");
    }
    for secret in [le.as_str(), "Polismyndigheten", "5000-K77-26", "Polis"] {
        assert!(!html.contains(secret), "{secret} in the letter:\n{html}");
    }
    assert!(!html.contains("Inga uppgifter om dig har lämnats ut"));
    let e = f.entries().pop().unwrap();
    assert_eq!(
        (e.action.as_str(), e.legal_basis.as_deref()),
        ("access_letter", Some("access"))
    );
    assert_eq!(e.case.as_deref(), Some(id.as_str()));
    assert_eq!(
        e.result_digest.as_deref(),
        Some(super::sha_hex(&body).as_str())
    );
    assert!(!e.query.to_string().contains("sub-1"), "a pseudonym only");

    // The PDF/A: the same letter, read back with pdftotext.
    let (pdf, ctype) = f.service.access_letter(&bert, &id, "pdf").unwrap();
    assert_eq!(ctype, "application/pdf");
    assert!(pdf.starts_with(b"%PDF-1.7"));
    let text = pdf_text(&pdf);
    for needle in [
        "Registerutdrag",
        "Uppgifter om dig i vårt kundregister",
        "Trafikuppgifter som vi lagrar om dig",
        "Ändamål och rättslig grund",
        "Mottagare",
        "Lagringstider",
        "Dina rättigheter",
        "Klagomål",
        "Integritetsskyddsmyndigheten",
        "Box 8114",
        "Nya vägen 9",
        "Filmbolaget Nord AB",
        ipred.as_str(),
    ] {
        assert!(text.contains(needle), "{needle:?} not in the PDF:\n{text}");
    }
    for secret in [le.as_str(), "Polismyndigheten", "5000-K77-26"] {
        assert!(!text.contains(secret), "{secret} in the PDF");
    }
    assert_eq!(f.entries().pop().unwrap().action, "access_letter");
}

#[test]
fn an_access_letter_is_refused_for_the_wrong_role_type_format_and_while_held() {
    let f = service();
    let (anna, bert) = (user("anna", Role::Legal), user("bert", Role::Legal));
    crm(
        &f,
        "sub-1,C1,Hemlig Hansson,Dolda gatan 7,111 11,Ort,19800101-1234,true,\
         2026-01-01T00:00:00Z,\n",
    );
    let id = f.service.create_case(&anna, access("sub-1")).unwrap().id;
    f.service.approve(&bert, &id).unwrap();
    for role in [Role::Security, Role::Auditor, Role::Ops, Role::Admin] {
        let err = f
            .service
            .access_letter(&user("x", role), &id, "pdf")
            .unwrap_err();
        assert_eq!(err.code(), "auth.forbidden", "{role:?}");
        let e = f.entries().pop().unwrap();
        assert_eq!(
            (e.action.as_str(), e.outcome.as_str()),
            ("access_letter", "refused:auth.forbidden")
        );
    }
    assert_eq!(
        f.service
            .access_letter(&anna, &id, "docx")
            .unwrap_err()
            .code(),
        "request.invalid"
    );
    // Another type of case has no letter.
    let le = f
        .service
        .create_case(
            &anna,
            order("law_enforcement", "Polismyndigheten", "5000-K1-26"),
        )
        .unwrap()
        .id;
    assert_eq!(
        f.service
            .access_letter(&anna, &le, "html")
            .unwrap_err()
            .code(),
        "case.not_for_this_type"
    );
    // A protected identity holds the extract, and so the letter, until a second officer
    // releases it; then it goes through Skatteverket's forwarding.
    assert_eq!(
        f.service.access_extract(&anna, &id).unwrap_err().code(),
        "case.held_protected_identity"
    );
    let err = f.service.access_letter(&bert, &id, "html").unwrap_err();
    assert_eq!(err.code(), "case.held_protected_identity");
    assert_eq!(
        f.entries().pop().unwrap().outcome,
        "refused:case.held_protected_identity"
    );
    f.service.release(&bert, &id).unwrap();
    let (body, _) = f.service.access_letter(&anna, &id, "html").unwrap();
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains("<p class=\"to\" id=\"recipient\">Personnummer: 19800101-1234</p>"),
        "{html}"
    );
    assert!(html.contains("Box 2820"), "{html}");
    assert!(
        html.contains(crate::report::access::AccessLetter::NO_RECIPIENTS),
        "{html}"
    );
    // The first letter handed out discloses the case.
    assert_eq!(f.entries().pop().unwrap().outcome, "disclosed");
    let c = crate::legal::register::get(f.dir.path(), &id).unwrap();
    assert_eq!(c.state, crate::legal::case::State::Disclosed);
}
