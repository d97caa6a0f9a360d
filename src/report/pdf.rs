//! The report as a PDF/A-2b court document, and the small document layer it is built on.
//!
//! [`render`] sets the same content as [`super::html::render`] (case, legal basis, every item
//! with its status explained, the identity fields disclosed, the evidence, warnings, approvals)
//! under Swedish headings, with the English term in parentheses where the HTML has one, and ends
//! with the canonical JSON report's SHA-256 and the audit sequence numbers. Like the other
//! renderings it shows what the [`Report`] holds and nothing else, and reads no clock: the
//! document's dates are `generated_at`, so one report gives the same bytes every time.
//!
//! The layer under it is generic, for any Swedish document tdr sends (the IPRED notice to a
//! subscriber too):
//!
//! ```
//! use tdr::report::pdf::{Block, Document, Text};
//!
//! let mut doc = Document::new("Underrättelse", "Junet AB", 1_795_255_200);
//! doc.footer = "Junet AB · C-2026-0007".into();
//! doc.push(Block::Title("Underrättelse om utlämnande".into()))
//!     .push(Block::Paragraph(Text::plain("Hej Åsa Öberg,")))
//!     .push(Block::KeyValue(vec![("Ärende".into(), Text::mono("PMÄ 1234-26"))]));
//! let bytes: Vec<u8> = doc.to_pdf();
//! assert!(bytes.starts_with(b"%PDF-1.7"));
//! ```
//!
//! A [`Document`] is a title, metadata and a list of [`Block`]s (headings, paragraphs,
//! key/value tables, tables, monospace lines, framed notices) laid out on A4 pages with
//! wrapping, page breaks and "Sida n av m" in every footer. [`Document::to_pdf`] writes PDF/A-2b:
//! the DejaVu fonts compiled into the binary and embedded as subsets with ToUnicode maps, an
//! sRGB output intent with its ICC profile, XMP metadata matching the Info dictionary, a file
//! identifier, no encryption, scripts or transparency.

mod document;
mod fonts;
mod writer;

pub use document::{Block, Document, Span, Style, Table, Text};

use serde_json::Value;

use super::html::{asked_inline, compact_ranges, stockholm_text, utc_text};
use super::{
    explain_status, parse_rfc3339, scalar_text, DisclosedIdentity, RecordStatus, Report,
    ReportItem, EVIDENCE_KEYS, VIA_KEYS,
};

/// The court report for `r` as PDF/A-2b bytes; `report_sha256` is the SHA-256 of
/// [`super::json::render`]`(r)`.
pub fn render(r: &Report, report_sha256: &str) -> Vec<u8> {
    document(r, report_sha256).to_pdf()
}

/// The court report as a [`Document`] (what [`render`] writes).
pub fn document(r: &Report, report_sha256: &str) -> Document {
    let title = format!("{} — utlämnanderapport {}", r.csp_id, r.request_id);
    let mut d = Document::new(title.clone(), r.csp_id.clone(), r.generated_at);
    d.subject = format!(
        "Svar på {} {} från {}",
        request_type_text(&r.case.request_type)
            .map(|(sv, _)| sv.to_lowercase())
            .unwrap_or_else(|| r.case.request_type.clone()),
        r.case.case_number,
        r.case.authority
    );
    d.keywords = format!("tdr; {}; {}", r.request_id, r.case.case_number);
    d.footer = format!(
        "{} · {} · {} · rapportens SHA-256 {}…",
        r.csp_id,
        r.request_id,
        r.case.case_number,
        report_sha256.get(..16).unwrap_or(report_sha256)
    );

    d.push(Block::Title(title));
    d.push(Block::Paragraph(
        Text::plain("Skapad ").with_plain(time_inline(r.generated_at)),
    ));
    d.push(Block::Paragraph(
        Text::plain("Samlat svar (overall response): ")
            .with_bold(record_status_text(r.overall_status()))
            .with_plain(format!(
                " ({} {}).",
                r.items.len(),
                if r.items.len() == 1 { "post" } else { "poster" }
            )),
    ));
    d.push(Block::Small(Text::plain(
        "Tider anges i UTC och i svensk tid (Europe/Stockholm: CET = UTC+01:00, CEST = UTC+02:00 \
         sommartid). Den kanoniska rapporten är JSON-filen vars SHA-256 anges sist i detta \
         dokument; detta dokument är en återgivning av den.",
    )));

    case_section(&mut d, r);
    summary_section(&mut d, r);
    for item in &r.items {
        item_section(&mut d, item, r.items.len());
    }
    approvals_section(&mut d, r);

    d.push(Block::Heading("Kontrolluppgifter (verification)".into()));
    d.push(Block::Paragraph(Text::plain(
        "Rapportens SHA-256 (av den kanoniska JSON-rapporten):",
    )));
    d.push(Block::Mono(vec![report_sha256.to_string()]));
    d.push(Block::KeyValue(vec![
        (
            "Granskningsloggens sekvensnummer (audit log sequence numbers)".into(),
            Text::mono(compact_ranges(&r.audit_seqs)),
        ),
        ("Operatör (CSP)".into(), Text::plain(r.csp_id.as_str())),
        (
            "Operatörens ärende-id".into(),
            Text::mono(r.request_id.as_str()),
        ),
        ("Skapad".into(), Text::plain(utc_text(r.generated_at))),
    ]));
    d
}

fn case_section(d: &mut Document, r: &Report) {
    let c = &r.case;
    d.push(Block::Heading("Ärendet (case)".into()));
    let request_type = match request_type_text(&c.request_type) {
        Some((sv, en)) => Text::plain(format!("{sv} ({en}) ")).with_mono(c.request_type.as_str()),
        None => Text::mono(c.request_type.as_str()),
    };
    d.push(Block::KeyValue(vec![
        ("Typ av begäran (request type)".into(), request_type),
        (
            "Rättslig grund (legal basis)".into(),
            c.legal_basis.as_str().into(),
        ),
        (
            "Beslutande myndighet (issuing authority)".into(),
            c.authority.as_str().into(),
        ),
        (
            "Myndighetens målnummer".into(),
            c.case_number.as_str().into(),
        ),
        (
            "Operatörens ärende-id".into(),
            Text::mono(r.request_id.as_str()),
        ),
        ("Operatör (CSP)".into(), r.csp_id.as_str().into()),
        (
            "Beslutsdatum (decision date)".into(),
            opt_date(c.decision_date.as_deref()),
        ),
        ("Laga kraft".into(), opt_date(c.legal_force_date.as_deref())),
        (
            "Sista svarsdag (deadline)".into(),
            opt_date(c.deadline.as_deref()),
        ),
        (
            "Det inskannade beslutets SHA-256".into(),
            Text::mono(c.order_sha256.as_str()),
        ),
        (
            "Anteckningar (notes)".into(),
            if c.notes.is_empty() {
                "inga".into()
            } else {
                c.notes.as_str().into()
            },
        ),
        (
            "Ärendets status (case state)".into(),
            Text::mono(c.state.as_str()),
        ),
    ]));
}

fn summary_section(d: &mut Document, r: &Report) {
    d.push(Block::Heading("Sammanfattning (summary)".into()));
    let rows = r
        .items
        .iter()
        .map(|item| {
            let name = match &item.identity {
                Some(id) if id.protected_identity => {
                    Text::plain(format!("{} ", id.name)).with_bold("(SKYDDADE PERSONUPPGIFTER)")
                }
                Some(id) => Text::plain(id.name.as_str()),
                None => Text::plain("inget"),
            };
            vec![
                Text::plain(item.number.to_string()),
                Text::mono(asked_inline(&item.asked)),
                Text::mono(item.status.as_str()),
                Text::plain(record_status_text(item.record_status)),
                name,
            ]
        })
        .collect();
    d.push(Block::Table(Table {
        widths: vec![0.7, 2.9, 1.9, 1.4, 2.4],
        header: Some(vec![
            "Post".into(),
            "Efterfrågat (asked)".into(),
            "Svar (answer)".into(),
            "Resultat".into(),
            "Namn som lämnas ut".into(),
        ]),
        rows,
        label_column: false,
    }));
}

fn item_section(d: &mut Document, item: &ReportItem, count: usize) {
    d.push(Block::Heading(format!(
        "Post {} av {} (item)",
        item.number, count
    )));
    let mut rows: Vec<(String, Text)> = vec![(
        "Efterfrågat, som i beslutet (asked)".into(),
        asked_lines(&item.asked),
    )];
    if let Some(t) = item.at_utc {
        rows.push(("Efterfrågad tidpunkt (time asked)".into(), time_block(t)));
    }
    if let Some((from, to)) = item.window {
        rows.push(("Efterfrågat tidsfönster, från".into(), time_block(from)));
        rows.push(("Efterfrågat tidsfönster, till".into(), time_block(to)));
    }
    rows.push((
        "Svar (answer)".into(),
        Text::mono(item.status.as_str())
            .with_plain(" — ")
            .with_plain(explain_status(&item.status)),
    ));
    rows.push((
        "Resultat (record)".into(),
        Text::plain(record_status_text(item.record_status)),
    ));
    if let Some(s) = &item.subscriber {
        rows.push((
            "Abonnemangs-id (nätverksidentitet)".into(),
            Text::mono(s.as_str()),
        ));
    }
    match &item.identity {
        Some(id) => identity_rows(&mut rows, id),
        None => rows.push((
            "Namn och adress".into(),
            Text::plain("inga uppgifter lämnas för denna post"),
        )),
    }
    d.push(Block::KeyValue(rows));

    if item.identity.is_some() && item.status != "found" {
        // The model should never hold this; if it does, the document must not let it pass.
        d.push(Block::Notice(
            Text::bold("Motstridig post (inconsistent item): ")
                .with_plain("ett namn anges fast svaret inte är ")
                .with_mono("found")
                .with_plain(". Lita inte på denna post; fråga operatören."),
        ));
    }
    if let Some(id) = item.identity.as_ref().filter(|id| id.protected_identity) {
        d.push(Block::Notice(
            Text::bold("SKYDDADE PERSONUPPGIFTER (PROTECTED IDENTITY): ").with_plain(format!(
                "{} har skyddade personuppgifter. Identiteten lämnades ut efter ett särskilt \
                 godkännande (se Godkännanden); hantera den därefter.",
                id.name
            )),
        ));
    }
    for w in &item.warnings {
        d.push(Block::Notice(
            Text::bold("Varning (warning): ").with_plain(w.as_str()),
        ));
    }
    if !item.evidence.is_empty() {
        let n = item.evidence.len();
        d.push(Block::Subheading(format!(
            "Underlag (evidence): {n} {} från loggarna",
            if n == 1 { "bindning" } else { "bindningar" }
        )));
        if item.status != "found" {
            d.push(Block::Small(Text::plain(
                "Dessa bindningar är underlaget för svaret ovan. De är ingen identifiering: ingen \
                 abonnent får namnges utifrån dem.",
            )));
        }
        for (i, e) in item.evidence.iter().enumerate() {
            evidence_table(d, i + 1, e);
        }
    }
}

fn identity_rows(rows: &mut Vec<(String, Text)>, id: &DisclosedIdentity) {
    let name = if id.protected_identity {
        Text::bold(format!("{} ", id.name)).with_bold("(SKYDDADE PERSONUPPGIFTER)")
    } else {
        Text::bold(id.name.as_str())
    };
    rows.push(("Namn (name)".into(), name));
    let postal = [id.postal_code.as_deref(), id.city.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let address = [id.street.as_deref(), Some(postal.as_str())]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    rows.push((
        "Adress (address)".into(),
        if address.is_empty() {
            not_disclosed()
        } else {
            Text::plain(address)
        },
    ));
    rows.push((
        "Kundnummer (customer number)".into(),
        opt_disclosed(id.customer_id.as_deref()),
    ));
    rows.push((
        "Personnummer (personal identity number)".into(),
        opt_disclosed(id.personal_number.as_deref()),
    ));
}

fn evidence_table(d: &mut Document, n: usize, e: &Value) {
    d.push(Block::Paragraph(Text::bold(format!(
        "Bindning {n} (binding)"
    ))));
    let Value::Object(m) = e else {
        d.push(Block::KeyValue(vec![(
            "Post".into(),
            Text::mono(e.to_string()),
        )]));
        return;
    };
    let text = |k: &str| m.get(k).and_then(scalar_text);
    let mut rows: Vec<(String, Text)> = Vec::new();
    if let Some(s) = text("subscriber") {
        rows.push(("Abonnemangs-id".into(), Text::mono(s)));
    }
    if let Some(s) = text("target") {
        rows.push(("Adress eller prefix som innehades".into(), Text::mono(s)));
    }
    if let Some(s) = text("start") {
        let how = match m.get("start_logged").and_then(Value::as_bool) {
            Some(true) => "\nstarten loggades",
            Some(false) => "\nförst sedd i loggarna då; bindningen kan ha börjat tidigare",
            None => "",
        };
        rows.push(("Start".into(), evidence_time(&s).with_plain(how)));
    }
    if m.contains_key("start") {
        rows.push((
            "Slut (end)".into(),
            match text("end") {
                Some(s) => evidence_time(&s),
                None => Text::plain("inget ännu (öppen så långt loggarna når)"),
            },
        ));
    }
    if let Some(k) = text("end_kind") {
        rows.push(("Slutets art (end kind)".into(), end_kind_text(&k)));
    }
    if m.contains_key("confirmed_until") {
        rows.push((
            "Loggarna bekräftar bindningen till".into(),
            match text("confirmed_until") {
                Some(s) => evidence_time(&s),
                None => Text::plain("så länge den är öppen"),
            },
        ));
    }
    if let Some(s) = text("source") {
        rows.push(("Loggkälla (log source)".into(), Text::mono(s)));
    }
    if let Some(s) = text("peer") {
        rows.push(("Skickad över nätet av".into(), Text::mono(s)));
    }
    if let Some(s) = text("class") {
        rows.push(("Lagringsklass (retention class)".into(), class_text(&s)));
    }
    let via = match m.get("via") {
        Some(Value::Object(v)) => {
            let t = |k: &str| v.get(k).and_then(scalar_text).unwrap_or_default();
            let mut via = Text::plain("publik ")
                .with_mono(t("public"))
                .with_plain(" portar ")
                .with_mono(t("ports"))
                .with_plain(" → intern ")
                .with_mono(t("inside"))
                .with_plain("\nfrån ")
                .with(Style::Regular, evidence_time_plain(&t("start")));
            via = match v.get("end").and_then(scalar_text) {
                Some(end) => via.with_plain(format!("\ntill {}", evidence_time_plain(&end))),
                None => via.with_plain("\ntill: inget ännu (öppen så långt loggarna når)"),
            };
            if let Some(k) = v.get("end_kind").and_then(scalar_text) {
                via = via.with_plain("\nslutets art: ");
                via.spans.extend(end_kind_text(&k).spans);
            }
            if let Some(s) = v.get("source").and_then(scalar_text) {
                via = via.with_plain("\nloggkälla: ").with_mono(s);
            }
            if let Some(s) = v.get("peer").and_then(scalar_text) {
                via = via.with_plain("\nskickad av: ").with_mono(s);
            }
            for (k, val) in v.iter().filter(|(k, _)| !VIA_KEYS.contains(&k.as_str())) {
                via = via.with_plain(format!("\n{k}: {}", scalar_text(val).unwrap_or_default()));
            }
            via
        }
        Some(Value::Null) | None => Text::plain("ingen (adressen användes direkt)"),
        Some(other) => Text::mono(other.to_string()),
    };
    rows.push(("CGNAT-översättning (translation)".into(), via));
    for (k, v) in m
        .iter()
        .filter(|(k, _)| !EVIDENCE_KEYS.contains(&k.as_str()))
    {
        rows.push((k.clone(), Text::plain(scalar_text(v).unwrap_or_default())));
    }
    d.push(Block::KeyValue(rows));
}

fn approvals_section(d: &mut Document, r: &Report) {
    d.push(Block::Heading("Godkännanden (approvals)".into()));
    let mut rows: Vec<Vec<Text>> = r
        .approvals
        .iter()
        .map(|a| {
            vec![
                Text::mono(a.action.as_str()),
                Text::plain(a.by.as_str()),
                time_block(a.at),
                Text::plain(a.reason.as_deref().unwrap_or("—")),
            ]
        })
        .collect();
    if rows.is_empty() {
        rows.push(vec![Text::plain("inga registrerade")]);
    }
    d.push(Block::Table(Table {
        widths: vec![1.0, 1.2, 3.0, 2.5],
        header: Some(vec![
            "Åtgärd (action)".into(),
            "Av (by)".into(),
            "När (when)".into(),
            "Motivering (reason)".into(),
        ]),
        rows,
        label_column: false,
    }));
}

fn not_disclosed() -> Text {
    Text::plain("lämnas inte ut")
}

fn opt_disclosed(v: Option<&str>) -> Text {
    v.map(Text::plain).unwrap_or_else(not_disclosed)
}

fn opt_date(v: Option<&str>) -> Text {
    Text::plain(v.unwrap_or("ej angivet"))
}

/// A time in both zones, on two lines.
fn time_block(t: i64) -> Text {
    Text::plain(format!("{}\n{} Stockholm", utc_text(t), stockholm_text(t)))
}

/// A time in both zones, on one line.
fn time_inline(t: i64) -> String {
    format!("{} / {} Stockholm", utc_text(t), stockholm_text(t))
}

/// An RFC 3339 evidence time in both zones; anything else exactly as given.
fn evidence_time(s: &str) -> Text {
    Text::plain(evidence_time_plain(s))
}

fn evidence_time_plain(s: &str) -> String {
    match parse_rfc3339(s) {
        Some(t) if !s.contains('.') => format!("{}\n{} Stockholm", utc_text(t), stockholm_text(t)),
        _ => s.to_string(),
    }
}

/// The scope item one key per line, exactly as given.
fn asked_lines(asked: &Value) -> Text {
    match asked {
        Value::Object(m) => Text::mono(
            m.iter()
                .map(|(k, v)| format!("{k}: {}", scalar_text(v).unwrap_or_else(|| "null".into())))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        other => Text::mono(other.to_string()),
    }
}

fn record_status_text(s: RecordStatus) -> &'static str {
    match s {
        RecordStatus::Complete => "fullständigt (complete)",
        RecordStatus::Partial => "delvis (partial)",
        RecordStatus::NoData => "inga uppgifter (no data)",
    }
}

/// Swedish and English names of a request type.
fn request_type_text(t: &str) -> Option<(&'static str, &'static str)> {
    Some(match t {
        "ipred" => ("Informationsföreläggande", "IPRED order"),
        "law_enforcement" => (
            "Begäran från brottsbekämpande myndighet",
            "law-enforcement request",
        ),
        "preservation" => ("Bevarandeföreläggande", "preservation order"),
        "abuse" => ("Utredning av missbruk, intern", "abuse investigation"),
        _ => return None,
    })
}

fn end_kind_text(k: &str) -> Text {
    let why = match k {
        "stop" => "loggat: accounting Stop",
        "release" => "loggat: adressen eller portblocket släpptes",
        "lease_expiry" => "loggat: lånet (lease) löpte ut",
        "next_assignment" => "härlett: adressen tilldelades därefter någon annan",
        "nas_reboot" => "härlett: accesservern startades om",
        "interim_timeout" => {
            "inget loggat: ingen keep-alive inom sessionens tidsgräns; sessionen kan ha slutat \
             när som helst efter att den senast bekräftades"
        }
        "open" => "fortfarande öppen så långt loggarna når",
        _ => "",
    };
    let t = Text::mono(k);
    if why.is_empty() {
        t
    } else {
        t.with_plain(format!(" — {why}"))
    }
}

fn class_text(c: &str) -> Text {
    let why = match c {
        "security" => "sparad för operatörens eget ändamål: nätsäkerhet",
        "billing" => "sparad för operatörens eget ändamål: fakturering",
        "statutory" => "lagringsplikt (LEK 2022:482 9 kap.)",
        _ => "",
    };
    let t = Text::mono(c);
    if why.is_empty() {
        t
    } else {
        t.with_plain(format!(" — {why}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Approval, CaseInfo};
    use serde_json::json;

    fn report(items: usize) -> Report {
        Report {
            csp_id: "Junet AB".into(),
            request_id: "C-1".into(),
            generated_at: 1_795_255_200,
            case: CaseInfo {
                request_type: "ipred".into(),
                legal_basis: "Upphovsrättslagen (1960:729) 53 c §".into(),
                authority: "Patent- och marknadsdomstolen".into(),
                case_number: "PMÄ 1234-26".into(),
                decision_date: None,
                legal_force_date: None,
                deadline: None,
                order_sha256: "ab".into(),
                notes: String::new(),
                state: "disclosed".into(),
            },
            items: (1..=items as u32)
                .map(|n| ReportItem {
                    number: n,
                    asked: json!({"addr": "203.0.113.7", "at": "2026-11-20T10:15:00+01:00"}),
                    at_utc: Some(1_795_166_100),
                    window: None,
                    status: "found".into(),
                    record_status: RecordStatus::Complete,
                    subscriber: Some(format!("kund{n}@junet")),
                    identity: Some(DisclosedIdentity {
                        name: "Åsa Öberg".into(),
                        street: Some("Storgatan 1".into()),
                        postal_code: Some("114 55".into()),
                        city: Some("Stockholm".into()),
                        customer_id: None,
                        personal_number: None,
                        protected_identity: n == 1,
                    }),
                    evidence: vec![json!({"subscriber": format!("kund{n}@junet"),
                        "start": "2026-11-20T06:02:11Z", "start_logged": false,
                        "end": null, "end_kind": "open", "via": null, "odd": 1})],
                    warnings: vec![],
                })
                .collect(),
            approvals: vec![Approval {
                action: "approved".into(),
                by: "legal-bertil".into(),
                at: 1_795_168_800,
                reason: None,
            }],
            audit_seqs: vec![412, 413, 414, 431],
        }
    }

    fn all_text(d: &Document) -> String {
        d.layout()
            .iter()
            .flatten()
            .filter_map(|o| match o {
                document::Op::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_report_carries_digest_audit_numbers_operator_and_names() {
        let digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let d = document(&report(1), digest);
        let text = all_text(&d);
        for want in [
            digest,
            "412–414, 431",
            "Junet AB",
            "PMÄ 1234-26",
            "Åsa Öberg",
            "SKYDDADE PERSONUPPGIFTER",
            "one subscriber held the address at that time",
        ] {
            assert!(text.contains(want), "missing {want:?}");
        }
        assert!(text.contains("först sedd i loggarna"));
        assert!(text.contains("odd"), "unknown evidence keys are shown");
        assert_eq!(d.created, 1_795_255_200);
    }

    #[test]
    fn no_name_is_shown_when_none_was_given() {
        let mut r = report(1);
        r.items[0].status = "ambiguous".into();
        r.items[0].identity = None;
        let text = all_text(&document(&r, "d"));
        assert!(text.contains("inga uppgifter lämnas för denna post"));
        assert!(text.contains("ingen"));
        assert!(!text.contains("Åsa"));
        assert!(!text.contains("SKYDDADE"));
        assert!(!text.contains("Motstridig"));
    }

    #[test]
    fn a_name_on_an_item_that_is_not_found_is_flagged() {
        let mut r = report(1);
        r.items[0].status = "end_inferred".into();
        assert!(all_text(&document(&r, "d")).contains("Motstridig post"));
    }

    #[test]
    fn the_same_report_gives_the_same_bytes_and_a_different_one_differs() {
        let a = render(&report(3), "d1");
        assert_eq!(a, render(&report(3), "d1"));
        assert_ne!(a, render(&report(3), "d2"));
        assert!(a.starts_with(b"%PDF-1.7"));
        let s = String::from_utf8_lossy(&a);
        assert!(s.contains("pdfaid:part>2<") || s.contains("pdfaid:part=\"2\""));
        assert!(s.contains("/GTS_PDFA1"));
        assert!(!s.contains("/Encrypt"));
        assert!(!s.contains("/JavaScript") && !s.contains("/JS"));
    }

    #[test]
    fn many_items_make_several_pages() {
        let pages = document(&report(60), "d").layout();
        assert!(pages.len() > 5, "{}", pages.len());
    }
}
