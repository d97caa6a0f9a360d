//! The recipients of a subscriber's data (GDPR art. 15(1)(c), art. 19): the third parties the
//! case register shows it was disclosed to. Pure: the caller reads the register.
//!
//! Only an IPRED disclosure goes to a third party the data subject may be told of (the rights
//! holder who applied for the order). A law-enforcement disclosure or a preservation order is
//! never listed: revealing one would break the secrecy of LEK (2022:482) 9 kap. and OSL. Abuse
//! and access cases disclose nothing outside the ISP.

use serde::{Deserialize, Serialize};

use super::case::{Case, RequestType};
use super::notice::names_subscriber;
use crate::model::UnixSecs;

/// One disclosure of the subscriber's data to a third party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// The case id (C-YYYY-NNNN).
    pub case: String,
    pub disclosed_at: UnixSecs,
    /// The Stockholm day of the disclosure (YYYY-MM-DD).
    pub day: String,
    /// Who received it: the applicant as the order names them, or the applicant described by
    /// the court's case.
    pub recipient: String,
    pub request_type: String,
}

/// Every disclosed IPRED case whose answers named `subscriber` (found, identity disclosed),
/// oldest first, one entry per case.
pub fn of(cases: &[Case], subscriber: &str) -> Vec<Recipient> {
    let mut out: Vec<Recipient> = cases
        .iter()
        .filter(|c| c.request_type() == RequestType::Ipred)
        .filter_map(|c| {
            let at = c.disclosed_at?;
            c.results
                .iter()
                .any(|r| r.subscriber.as_deref() == Some(subscriber) && names_subscriber(r))
                .then(|| Recipient {
                    case: c.id.clone(),
                    disclosed_at: at,
                    day: crate::calendar::stockholm_day(at).to_string(),
                    recipient: recipient(c),
                    request_type: RequestType::Ipred.as_str().into(),
                })
        })
        .collect();
    out.sort_by(|a, b| (a.disclosed_at, &a.case).cmp(&(b.disclosed_at, &b.case)));
    out
}

/// The party an IPRED disclosure went to.
fn recipient(c: &Case) -> String {
    match c.request.applicant.as_deref().map(str::trim) {
        Some(a) if !a.is_empty() => a.to_string(),
        _ => format!(
            "sökanden i mål {} vid {}",
            c.request.case_number, c.request.authority
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legal::case::{NewCase, ScopeItem, State};
    use crate::report::{DisclosedIdentity, RecordStatus, ReportItem};

    fn item(subscriber: &str, named: bool) -> ReportItem {
        ReportItem {
            number: 1,
            asked: serde_json::Value::Null,
            at_utc: Some(0),
            window: None,
            status: "found".into(),
            record_status: RecordStatus::Complete,
            subscriber: Some(subscriber.into()),
            identity: named.then(|| DisclosedIdentity {
                name: "Test Testsson".into(),
                street: None,
                postal_code: None,
                city: None,
                customer_id: None,
                personal_number: None,
                protected_identity: false,
            }),
            evidence: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn case(id: &str, kind: &str, disclosed_at: Option<UnixSecs>, items: Vec<ReportItem>) -> Case {
        let req = NewCase {
            request_type: kind.into(),
            authority: "Patent- och marknadsdomstolen".into(),
            case_number: "PMÄ 1234-26".into(),
            scope: vec![ScopeItem::default()],
            ..NewCase::default()
        };
        let mut c = Case::registered(id.into(), req, "anna", 0);
        c.state = if disclosed_at.is_some() {
            State::Disclosed
        } else {
            State::Executed
        };
        c.disclosed_at = disclosed_at;
        c.results = items;
        c
    }

    // 2026-11-20T23:30:00Z is 21 November in Stockholm.
    const LATE_EVENING: UnixSecs = 1_795_217_400;

    #[test]
    fn an_ipred_disclosure_is_listed_with_its_stockholm_day_and_applicant() {
        let mut named = case(
            "C-2026-0002",
            "ipred",
            Some(LATE_EVENING),
            vec![item("sub-1", true)],
        );
        named.request.applicant = Some("Rättighetshavaren AB".into());
        let earlier = case(
            "C-2026-0001",
            "ipred",
            Some(1_000),
            vec![item("sub-1", true)],
        );
        let got = of(&[named, earlier], "sub-1");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].case, "C-2026-0001", "oldest first");
        assert_eq!(
            got[0].recipient,
            "sökanden i mål PMÄ 1234-26 vid Patent- och marknadsdomstolen"
        );
        assert_eq!(got[1].recipient, "Rättighetshavaren AB");
        assert_eq!(got[1].day, "2026-11-21");
        assert_eq!(got[1].request_type, "ipred");
    }

    #[test]
    fn a_law_enforcement_disclosure_is_never_listed() {
        let le = case(
            "C-2026-0001",
            "law_enforcement",
            Some(1_000),
            vec![item("sub-1", true)],
        );
        let pres = case(
            "C-2026-0002",
            "preservation",
            Some(1_000),
            vec![item("sub-1", true)],
        );
        let abuse = case(
            "C-2026-0003",
            "abuse",
            Some(1_000),
            vec![item("sub-1", true)],
        );
        assert!(of(&[le, pres, abuse], "sub-1").is_empty());
    }

    #[test]
    fn an_undisclosed_ipred_case_is_not_listed() {
        let executed = case("C-2026-0001", "ipred", None, vec![item("sub-1", true)]);
        // Found but no identity disclosed (held, or no register entry): no name went out.
        let unnamed = case(
            "C-2026-0002",
            "ipred",
            Some(1_000),
            vec![item("sub-1", false)],
        );
        assert!(of(&[executed, unnamed], "sub-1").is_empty());
    }

    #[test]
    fn another_subscribers_disclosure_is_not_listed() {
        let other = case(
            "C-2026-0001",
            "ipred",
            Some(1_000),
            vec![item("sub-2", true)],
        );
        assert!(of(&[other.clone()], "sub-1").is_empty());
        assert_eq!(of(&[other], "sub-2").len(), 1);
    }

    #[test]
    fn one_entry_per_case_however_many_items_named_the_subscriber() {
        let c = case(
            "C-2026-0001",
            "ipred",
            Some(1_000),
            vec![item("sub-1", true), item("sub-1", true)],
        );
        assert_eq!(of(&[c], "sub-1").len(), 1);
    }
}
