//! The compensation ledger: what each disclosure is paid. Pure rules (no IO, no clock).
//!
//! LEK (2022:482) 9 kap. 29 a § gives the operator compensation for disclosing stored or
//! preserved data to the law-enforcement authorities; PTS's regulations (PTSFS 2022:16, see
//! PTS's "Frågor och svar om ersättning vid utlämnande av uppgifter") pay it per disclosure,
//! where one disclosure is every item of one category asked for on one occasion, and nothing
//! when nothing was disclosed. IPRED work is charged to the applicant at the operator's own
//! rate. The rates are configuration (`[[legal.compensation]]`: category, payer, amount); tdr
//! ships none, since PTS's schedule changes and an operator's IPRED price is its own.
//!
//! One entry per disclosure and category, written once, when the report is first disclosed
//! (with the case, under the register's lock: a copy of the report adds nothing); none for
//! abuse, access or preservation cases, and none for a category in which nothing was found.

use serde::{Deserialize, Serialize};

use super::case::{Parsed, RequestType, Target};
use crate::config::{Payer, Rate};
use crate::model::UnixSecs;
use crate::report::{RecordStatus, ReportItem};

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// `subscriber` | `address_window` | `call_records` (`config::notice::CATEGORIES`).
    pub category: String,
    /// `authority` | `rights_holder`.
    pub payer: String,
    /// How many scope items of the category disclosed something.
    pub items: u32,
    /// In öre; `None` when no rate was configured for the category and payer at the time.
    pub amount_ore: Option<i64>,
    pub disclosed_at: UnixSecs,
}

/// The category of a scope item, given as the order gave it.
fn category(item: &ReportItem) -> Option<&'static str> {
    let asked: super::case::ScopeItem = serde_json::from_value(item.asked.clone()).ok()?;
    match asked.parse().ok()? {
        Parsed::Address(Target::Point { .. }) => Some("subscriber"),
        Parsed::Address(Target::Window { .. }) => Some("address_window"),
        Parsed::Calls { .. } => Some("call_records"),
        Parsed::Subscriber(_) => None,
    }
}

/// Whether the item's answer gave the recipient something: an attribution that named a
/// subscriber, or call records.
fn disclosed(item: &ReportItem) -> bool {
    match category(item) {
        Some("call_records") => item.record_status != RecordStatus::NoData,
        Some(_) => item.status == "found" && item.subscriber.is_some(),
        None => false,
    }
}

/// Who pays a disclosure of this request type; `None` for those nobody pays.
pub fn payer(kind: RequestType) -> Option<Payer> {
    match kind {
        RequestType::LawEnforcement => Some(Payer::Authority),
        RequestType::Ipred => Some(Payer::RightsHolder),
        RequestType::Preservation
        | RequestType::Abuse
        | RequestType::Access
        | RequestType::Restriction
        | RequestType::Erasure
        | RequestType::Rectification => None,
    }
}

/// The entries of one disclosure: one per category with at least one disclosed item.
pub fn entries(
    kind: RequestType,
    items: &[ReportItem],
    disclosed_at: UnixSecs,
    rates: &[Rate],
) -> Vec<Entry> {
    let Some(payer) = payer(kind) else {
        return Vec::new();
    };
    crate::config::notice::CATEGORIES
        .iter()
        .filter_map(|cat| {
            let n = items
                .iter()
                .filter(|i| category(i) == Some(cat) && disclosed(i))
                .count() as u32;
            (n > 0).then(|| Entry {
                category: cat.to_string(),
                payer: payer.as_str().to_string(),
                items: n,
                amount_ore: rates
                    .iter()
                    .find(|r| r.category == *cat && r.payer == payer)
                    .map(|r| r.amount_ore),
                disclosed_at,
            })
        })
        .collect()
}

/// One row of an export: the entry with its case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub case: String,
    pub request_type: String,
    pub authority: String,
    pub case_number: String,
    #[serde(flatten)]
    pub entry: Entry,
}

/// The CSV columns, in order.
pub const COLUMNS: [&str; 10] = [
    "disclosed_at",
    "case",
    "request_type",
    "authority",
    "case_number",
    "category",
    "payer",
    "items",
    "amount_sek",
    "currency",
];

/// Öre as SEK with two decimals (`12550` → `125.50`).
pub fn sek(ore: i64) -> String {
    format!("{}.{:02}", ore / 100, ore % 100)
}

/// The rows as CSV (RFC 4180 quoting by the `csv` crate), header first. A row without a rate
/// has an empty amount.
pub fn csv(rows: &[Row]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = w.write_record(COLUMNS);
    for r in rows {
        let e = &r.entry;
        let _ = w.write_record([
            crate::model::fmt_time(e.disclosed_at).as_str(),
            &r.case,
            &r.request_type,
            &r.authority,
            &r.case_number,
            &e.category,
            &e.payer,
            &e.items.to_string(),
            &e.amount_ore.map(sek).unwrap_or_default(),
            "SEK",
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Totals per authority (and payer): `(authority, payer, entries, öre)`; entries without a
/// rate count in `entries` but add nothing.
pub fn totals(rows: &[Row]) -> Vec<(String, String, u64, i64)> {
    let mut out: std::collections::BTreeMap<(String, String), (u64, i64)> = Default::default();
    for r in rows {
        let t = out
            .entry((r.authority.clone(), r.entry.payer.clone()))
            .or_default();
        t.0 += 1;
        t.1 += r.entry.amount_ore.unwrap_or(0);
    }
    out.into_iter()
        .map(|((a, p), (n, s))| (a, p, n, s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(asked: serde_json::Value, status: &str, records: RecordStatus) -> ReportItem {
        ReportItem {
            number: 1,
            asked,
            at_utc: None,
            window: None,
            status: status.into(),
            record_status: records,
            subscriber: (status == "found").then(|| "sub".into()),
            identity: None,
            evidence: vec![],
            warnings: vec![],
        }
    }

    fn rates() -> Vec<Rate> {
        vec![
            Rate {
                category: "subscriber".into(),
                payer: Payer::Authority,
                amount_ore: 12_550,
            },
            Rate {
                category: "call_records".into(),
                payer: Payer::Authority,
                amount_ore: 30_000,
            },
        ]
    }

    #[test]
    fn one_entry_per_category_with_something_disclosed_and_none_otherwise() {
        let point = json!({"addr": "192.0.2.1", "at": "2026-11-20T10:00:00Z"});
        let window = json!({"addr": "192.0.2.1", "from": "2026-11-20T10:00:00Z",
                            "to": "2026-11-20T11:00:00Z"});
        let calls = json!({"number": "+46701234567", "from": "2026-11-20T10:00:00Z",
                           "to": "2026-11-20T11:00:00Z"});
        let items = [
            item(point.clone(), "found", RecordStatus::Complete),
            item(point.clone(), "found", RecordStatus::Complete),
            item(point.clone(), "not_found", RecordStatus::NoData),
            item(window.clone(), "ambiguous", RecordStatus::Partial),
            item(calls.clone(), "found", RecordStatus::Complete),
        ];
        let e = entries(RequestType::LawEnforcement, &items, 7, &rates());
        let got: Vec<(&str, u32, Option<i64>)> = e
            .iter()
            .map(|e| (e.category.as_str(), e.items, e.amount_ore))
            .collect();
        assert_eq!(
            got,
            [
                ("subscriber", 2, Some(12_550)),
                ("call_records", 1, Some(30_000))
            ]
        );
        assert!(e
            .iter()
            .all(|e| e.payer == "authority" && e.disclosed_at == 7));
        // Nothing found: nothing charged.
        let empty = [
            item(point.clone(), "not_found", RecordStatus::NoData),
            item(calls, "not_found", RecordStatus::NoData),
        ];
        assert!(entries(RequestType::LawEnforcement, &empty, 7, &rates()).is_empty());
        // IPRED is charged to the rights holder; without a rate the entry has no amount.
        let ipred = entries(RequestType::Ipred, &items[..1], 7, &rates());
        assert_eq!(ipred[0].payer, "rights_holder");
        assert_eq!(ipred[0].amount_ore, None);
        for kind in [
            RequestType::Abuse,
            RequestType::Access,
            RequestType::Preservation,
        ] {
            assert!(entries(kind, &items, 7, &rates()).is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn the_csv_quotes_what_needs_quoting() {
        let row = Row {
            case: "C-2026-0001".into(),
            request_type: "law_enforcement".into(),
            authority: "Polismyndigheten, \"Region Syd\"".into(),
            case_number: "5000-K1-26".into(),
            entry: Entry {
                category: "subscriber".into(),
                payer: "authority".into(),
                items: 2,
                amount_ore: Some(12_505),
                disclosed_at: 1_795_168_800,
            },
        };
        let text = csv(&[row]);
        assert_eq!(
            text,
            "disclosed_at,case,request_type,authority,case_number,category,payer,items,\
             amount_sek,currency\r\n\
             2026-11-20T10:00:00Z,C-2026-0001,law_enforcement,\
             \"Polismyndigheten, \"\"Region Syd\"\"\",5000-K1-26,subscriber,authority,2,125.05,SEK\r\n"
        );
        assert_eq!(sek(5), "0.05");
    }
}
