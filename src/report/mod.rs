//! The disclosure report: the model a legal officer signs off and sends to a court or authority,
//! and its renderings. [`json::render`] is THE report (its SHA-256 is "the report's SHA-256");
//! [`xml::render`] (ETSI TS 102 657 RetainedData with a tdr extension), [`html::render`] (a
//! printable page) and [`pdf::render`] (a PDF/A-2b court document) are views of the same model
//! that carry that digest. [`pack`] puts them in one archive with the signed audit head, and
//! [`letter`] is the IPRED notice to a subscriber, [`access`] the answer to a data subject's
//! access request (the *registerutdrag*).
//!
//! Pure rendering: no IO, no clock, no lookups, no policy. What goes into a [`Report`] (which
//! identity fields may be shown, which evidence) is decided by the caller; the renderers show all
//! of it, escaped, and add nothing that is not in the model except fixed explanatory text.

pub mod access;
pub mod html;
pub mod json;
pub mod letter;
pub mod pack;
pub mod pdf;
pub mod xml;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Evidence fields with a named place in the renderings, in display order; any other key is
/// still shown, under its own name.
pub(crate) const EVIDENCE_KEYS: [&str; 11] = [
    "subscriber",
    "target",
    "start",
    "start_logged",
    "end",
    "end_kind",
    "confirmed_until",
    "source",
    "peer",
    "class",
    "via",
];
/// The same for the NAT translation (`via`) of an evidence entry.
pub(crate) const VIA_KEYS: [&str; 8] = [
    "public", "ports", "inside", "start", "end", "end_kind", "source", "peer",
];

/// One disclosure: the answer to one legal request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The operator answering, e.g. "Junet AB".
    pub csp_id: String,
    /// tdr's case id, e.g. "C-2026-0007".
    pub request_id: String,
    /// Unix seconds.
    pub generated_at: i64,
    pub case: CaseInfo,
    pub items: Vec<ReportItem>,
    /// Who did what when: created, approved, executed, released (protected identity), override.
    pub approvals: Vec<Approval>,
    /// The audit log sequence numbers covering this disclosure (lookups and this report).
    pub audit_seqs: Vec<u64>,
}

/// The legal request as registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseInfo {
    /// "ipred" | "law_enforcement" | "preservation" | "abuse".
    pub request_type: String,
    /// Human text, e.g. "Upphovsrättslagen (1960:729) 53 c §".
    pub legal_basis: String,
    /// The issuing authority, e.g. "Patent- och marknadsdomstolen".
    pub authority: String,
    /// The authority's own number, e.g. "PMÄ 1234-26".
    pub case_number: String,
    /// YYYY-MM-DD.
    pub decision_date: Option<String>,
    /// YYYY-MM-DD.
    pub legal_force_date: Option<String>,
    /// YYYY-MM-DD.
    pub deadline: Option<String>,
    /// SHA-256 hex of the scanned order.
    pub order_sha256: String,
    pub notes: String,
    /// registered | approved | executed | disclosed | rejected.
    pub state: String,
}

/// One step of the four-eyes trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub action: String,
    pub by: String,
    /// Unix seconds.
    pub at: i64,
    pub reason: Option<String>,
}

/// Whether an item's answer is complete (ETSI "recordStatus").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    Complete,
    Partial,
    NoData,
}

impl RecordStatus {
    /// The spelling used in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Complete => "complete",
            RecordStatus::Partial => "partial",
            RecordStatus::NoData => "no_data",
        }
    }
}

/// One scope item of the order and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportItem {
    /// 1-based.
    pub number: u32,
    /// The scope item exactly as the order gave it.
    pub asked: serde_json::Value,
    /// The time asked, parsed (None for window items).
    pub at_utc: Option<i64>,
    /// The window asked, for window items.
    pub window: Option<(i64, i64)>,
    /// The attribution status (`store::lookup::Status::as_str`).
    pub status: String,
    pub record_status: RecordStatus,
    /// The network identifier (RADIUS user etc.) when found.
    pub subscriber: Option<String>,
    pub identity: Option<DisclosedIdentity>,
    /// The attribution matches (`store::lookup::Match` as JSON).
    pub evidence: Vec<serde_json::Value>,
    pub warnings: Vec<String>,
}

/// Only the fields this disclosure may show; `None` = not disclosed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisclosedIdentity {
    pub name: String,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub customer_id: Option<String>,
    pub personal_number: Option<String>,
    pub protected_identity: bool,
}

impl Report {
    /// The status of the whole response: complete when every item is complete, no data when no
    /// item has any (or there are no items), partial otherwise.
    pub fn overall_status(&self) -> RecordStatus {
        let all = |s: RecordStatus| self.items.iter().all(|i| i.record_status == s);
        if self.items.is_empty() || all(RecordStatus::NoData) {
            RecordStatus::NoData
        } else if all(RecordStatus::Complete) {
            RecordStatus::Complete
        } else {
            RecordStatus::Partial
        }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every attribution status an answer can have (`store::lookup::Status::as_str`), each with
/// its explanation in [`explain_status`].
pub const STATUSES: [&str; 11] = [
    "found",
    "end_inferred",
    "ambiguous",
    "not_found",
    "no_coverage",
    "inside_unknown",
    "port_required",
    "outside_retention",
    "not_our_address",
    "no_data_for_this_purpose",
    "restricted",
];

/// What an attribution status means, for the court and the officer.
pub fn explain_status(status: &str) -> &'static str {
    match status {
        "found" => "one subscriber held the address at that time, confirmed by the logs",
        "end_inferred" => {
            "one candidate, but the logs do not confirm the binding at that time; not disclosed"
        }
        "ambiguous" => "more than one subscriber within the clock tolerance; no name may be given",
        "not_found" => "the logs show the address free at that time: no subscriber held it",
        "no_coverage" => "no log data around that time; tdr cannot say who held it",
        "inside_unknown" => {
            "the CGNAT log shows the port in use by an inside address whose holder tdr does not know; not \"nobody\""
        }
        "port_required" => "shared CGNAT address; the source port is needed",
        "outside_retention" => "the time is past the retention period; the data is no longer held",
        "not_our_address" => "the address is not in this operator's address space",
        "no_data_for_this_purpose" => {
            "data exists only in retention classes this request type may not read"
        }
        "restricted" => {
            "the data subject's processing is restricted (GDPR art. 18) while a dispute is examined; not disclosed for this purpose"
        }
        _ => "unknown status; ask the operator",
    }
}

/// Escapes text for XML and HTML content and attribute values (`& < > " '`). Characters XML 1.0
/// does not allow at all (C0 controls other than tab and newline) become U+FFFD, and CR is kept as
/// a character reference so a parser does not fold it into a newline.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A JSON value as text: strings as they are, numbers and booleans as JSON spells them, null as
/// `None`, objects and arrays as compact JSON.
pub(crate) fn scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A Unix time as chrono UTC, or `None` when out of chrono's range.
pub(crate) fn utc_datetime(t: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t, 0)
}

/// An RFC 3339 time string (as in evidence entries) as Unix seconds.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(record_status: RecordStatus) -> ReportItem {
        ReportItem {
            number: 1,
            asked: serde_json::json!({"addr": "203.0.113.7"}),
            at_utc: Some(0),
            window: None,
            status: "found".into(),
            record_status,
            subscriber: None,
            identity: None,
            evidence: vec![],
            warnings: vec![],
        }
    }

    fn report(items: Vec<ReportItem>) -> Report {
        Report {
            csp_id: "Junet AB".into(),
            request_id: "C-1".into(),
            generated_at: 0,
            case: CaseInfo {
                request_type: "ipred".into(),
                legal_basis: String::new(),
                authority: String::new(),
                case_number: String::new(),
                decision_date: None,
                legal_force_date: None,
                deadline: None,
                order_sha256: String::new(),
                notes: String::new(),
                state: "executed".into(),
            },
            items,
            approvals: vec![],
            audit_seqs: vec![],
        }
    }

    #[test]
    fn overall_status_aggregates_record_statuses() {
        use RecordStatus::*;
        let cases: &[(&[RecordStatus], RecordStatus)] = &[
            (&[Complete, Complete], Complete),
            (&[Complete, NoData], Partial),
            (&[Complete, Partial], Partial),
            (&[Partial, Partial], Partial),
            (&[Partial, NoData], Partial),
            (&[NoData, NoData], NoData),
            (&[], NoData),
        ];
        for (statuses, want) in cases {
            let r = report(statuses.iter().map(|s| item(*s)).collect());
            assert_eq!(r.overall_status(), *want, "{statuses:?}");
        }
    }

    #[test]
    fn record_status_serialises_snake_case() {
        let s = serde_json::to_string(&[
            RecordStatus::Complete,
            RecordStatus::Partial,
            RecordStatus::NoData,
        ])
        .unwrap();
        assert_eq!(s, r#"["complete","partial","no_data"]"#);
    }

    #[test]
    fn escape_covers_markup_quotes_and_controls() {
        assert_eq!(
            escape(r#"<Åsa & "Bo" O'Neil>"#),
            "&lt;Åsa &amp; &quot;Bo&quot; O&#39;Neil&gt;"
        );
        assert_eq!(escape("a\r\nb\tc\u{7}d"), "a&#13;\nb\tc\u{FFFD}d");
    }

    #[test]
    fn sha256_hex_of_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_lookup_status_has_an_explanation() {
        for s in STATUSES {
            assert_ne!(explain_status(s), explain_status("?"), "{s}");
        }
    }
}
