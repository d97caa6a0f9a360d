//! The canonical report: pretty JSON of the [`Report`] with a trailing newline. These bytes are
//! the disclosure; their SHA-256 is the digest the XML and HTML renderings carry. Any change to
//! this output changes every report's digest, so it must stay stable.

use super::Report;

/// The canonical JSON of `r` (field order as declared in the model, `asked` and evidence objects
/// in the order they were given).
pub fn render(r: &Report) -> String {
    // Serialising plain structs, strings, integers and `serde_json::Value` cannot fail.
    let mut s = serde_json::to_string_pretty(r).expect("a Report always serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CaseInfo, DisclosedIdentity, RecordStatus, ReportItem};
    use serde_json::json;

    fn report() -> Report {
        Report {
            csp_id: "Junet AB".into(),
            request_id: "C-2026-0001".into(),
            generated_at: 1_795_255_200,
            case: CaseInfo {
                request_type: "ipred".into(),
                legal_basis: "Upphovsrättslagen (1960:729) 53 c §".into(),
                authority: "Patent- och marknadsdomstolen".into(),
                case_number: "PMÄ 1-26".into(),
                decision_date: Some("2026-11-01".into()),
                legal_force_date: None,
                deadline: None,
                order_sha256: "00".repeat(32),
                notes: "<&\"'>".into(),
                state: "disclosed".into(),
            },
            items: vec![ReportItem {
                number: 1,
                asked: json!({"port": 1, "addr": "203.0.113.7"}),
                at_utc: None,
                window: Some((1, 2)),
                status: "found".into(),
                record_status: RecordStatus::Complete,
                subscriber: Some("u1".into()),
                identity: Some(DisclosedIdentity {
                    name: "Åsa Öberg".into(),
                    street: None,
                    postal_code: None,
                    city: None,
                    customer_id: None,
                    personal_number: None,
                    protected_identity: false,
                }),
                evidence: vec![json!({"subscriber": "u1"})],
                warnings: vec![],
            }],
            approvals: vec![],
            audit_seqs: vec![3, 4],
        }
    }

    #[test]
    fn round_trips_and_ends_with_newline() {
        let r = report();
        let s = render(&r);
        assert!(s.ends_with("}\n"));
        let back: Report = serde_json::from_str(&s).unwrap();
        assert_eq!(back, r);
        assert_eq!(render(&back), s, "rendering is deterministic");
    }

    #[test]
    fn keeps_the_order_the_scope_item_was_given_in() {
        let s = render(&report());
        let port = s.find("\"port\": 1").unwrap();
        let addr = s.find("\"addr\": \"203.0.113.7\"").unwrap();
        assert!(port < addr);
        assert!(s.contains("\"record_status\": \"complete\""));
        assert!(s.contains("\"window\": [\n        1,\n        2\n      ]"));
    }
}
