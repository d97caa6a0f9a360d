//! The report as a self-contained printable HTML page for a court or authority: case data, each
//! item with its time in UTC and Europe/Stockholm local time, the answer explained in one line,
//! the evidence, the approvals, and the digest of the canonical JSON report it was rendered from.
//!
//! One page, inline CSS, no scripts and no external resources, so it prints and archives as is.
//! Every value from the [`Report`] goes through [`escape`]; the only other text is fixed labels
//! and explanations. It must not say more than the model does (no name where none was given).

use std::fmt::Write;

use chrono_tz::Europe::Stockholm;
use serde_json::Value;

use super::{
    escape, explain_status, parse_rfc3339, scalar_text, utc_datetime, DisclosedIdentity,
    RecordStatus, Report, ReportItem, EVIDENCE_KEYS, VIA_KEYS,
};

const CSS: &str = "\
@page { size: A4; margin: 18mm 16mm; }
body { font-family: Georgia, 'Times New Roman', serif; font-size: 11pt; line-height: 1.35; color: #000; background: #fff; max-width: 50em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.5em; margin: 0 0 0.2em; }
h2 { font-size: 1.2em; border-bottom: 1px solid #000; margin: 1.6em 0 0.5em; }
h3 { font-size: 1em; margin: 1em 0 0.3em; }
table { border-collapse: collapse; width: 100%; margin: 0.3em 0 0.6em; }
th, td { border: 1px solid #888; padding: 0.2em 0.45em; text-align: left; vertical-align: top; }
th { background: #eee; font-weight: bold; }
table.kv > tbody > tr > th { width: 13em; }
table.asked { margin: 0; }
table.asked th { width: 5em; }
code, .mono { font-family: 'DejaVu Sans Mono', Consolas, monospace; font-size: 0.9em; overflow-wrap: anywhere; }
.local { color: #333; }
.lead { margin: 0.2em 0; }
.status { font-weight: bold; }
.nodisclose { font-style: italic; }
.note { font-style: italic; margin: 0.3em 0; }
.warn { border: 2px solid #a00; background: #fff0f0; padding: 0.3em 0.6em; margin: 0.4em 0; }
.protected { border: 3px double #000; background: #fffbe0; padding: 0.4em 0.6em; margin: 0.4em 0; font-weight: bold; }
section.item { margin-top: 1.4em; }
footer { margin-top: 2em; border-top: 2px solid #000; padding-top: 0.5em; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  th, .warn, .protected { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section.item, table.evidence, .protected, .warn { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
}
";

/// The HTML rendering of `r`; `report_sha256` is the SHA-256 of [`super::json::render`]`(r)`.
pub fn render(r: &Report, report_sha256: &str) -> String {
    let mut h = String::new();
    let title = format!("{} — disclosure report {}", r.csp_id, r.request_id);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(h, "<title>{}</title>", escape(&title));
    let _ = writeln!(h, "<style>\n{CSS}</style>\n</head>\n<body>");

    h.push_str("<header>\n");
    let _ = writeln!(h, "<h1>{}</h1>", escape(&title));
    let _ = writeln!(
        h,
        "<p class=\"lead\">Generated {}</p>",
        time_inline(r.generated_at)
    );
    let _ = writeln!(
        h,
        "<p class=\"lead\">Overall response: <span class=\"status\">{}</span> ({} item{}).</p>",
        record_status_text(r.overall_status()),
        r.items.len(),
        if r.items.len() == 1 { "" } else { "s" }
    );
    h.push_str(
        "<p class=\"note\">Times are given in UTC and in Swedish local time (Europe/Stockholm: \
         CET = UTC+01:00, CEST = UTC+02:00 in summer). The canonical report is the JSON file whose \
         SHA-256 is given at the end; this page is a rendering of it.</p>\n",
    );
    h.push_str("</header>\n");

    case_section(&mut h, r);
    summary_section(&mut h, r);
    for item in &r.items {
        item_section(&mut h, item, r.items.len());
    }
    approvals_section(&mut h, r);

    h.push_str("<footer>\n");
    let _ = writeln!(
        h,
        "<p>Report SHA-256 (of the canonical JSON report): <code>{}</code></p>",
        escape(report_sha256)
    );
    let _ = writeln!(
        h,
        "<p>Audit log sequence numbers: <span class=\"mono\">{}</span></p>",
        escape(&compact_ranges(&r.audit_seqs))
    );
    let _ = writeln!(
        h,
        "<p>{} · {} · generated {}</p>",
        escape(&r.csp_id),
        escape(&r.request_id),
        escape(&utc_text(r.generated_at))
    );
    h.push_str("</footer>\n</body>\n</html>\n");
    h
}

fn case_section(h: &mut String, r: &Report) {
    let c = &r.case;
    h.push_str("<section>\n<h2>Case</h2>\n<table class=\"kv\">\n");
    let request_type = match request_type_text(&c.request_type) {
        Some(t) => format!("{} (<code>{}</code>)", t, escape(&c.request_type)),
        None => format!("<code>{}</code>", escape(&c.request_type)),
    };
    row(h, "Request type", &request_type);
    row(h, "Legal basis", &escape(&c.legal_basis));
    row(h, "Issuing authority", &escape(&c.authority));
    row(h, "Authority's case number", &escape(&c.case_number));
    row(h, "Operator's case id", &escape(&r.request_id));
    row(h, "Decision date", &opt_date(c.decision_date.as_deref()));
    row(
        h,
        "Legal force (laga kraft)",
        &opt_date(c.legal_force_date.as_deref()),
    );
    row(h, "Deadline", &opt_date(c.deadline.as_deref()));
    row(
        h,
        "Scanned order SHA-256",
        &format!("<code>{}</code>", escape(&c.order_sha256)),
    );
    row(
        h,
        "Notes",
        &if c.notes.is_empty() {
            "<span class=\"nodisclose\">none</span>".to_string()
        } else {
            escape(&c.notes)
        },
    );
    row(
        h,
        "Case state",
        &format!("<code>{}</code>", escape(&c.state)),
    );
    h.push_str("</table>\n</section>\n");
}

fn summary_section(h: &mut String, r: &Report) {
    h.push_str("<section>\n<h2>Summary</h2>\n<table>\n");
    h.push_str(
        "<tr><th>Item</th><th>Asked</th><th>Answer</th><th>Record</th><th>Name given</th></tr>\n",
    );
    for item in &r.items {
        let name = match &item.identity {
            Some(id) if id.protected_identity => {
                format!("{} <strong>(PROTECTED IDENTITY)</strong>", escape(&id.name))
            }
            Some(id) => escape(&id.name),
            None => "<span class=\"nodisclose\">none</span>".to_string(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"mono\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            item.number,
            escape(&asked_inline(&item.asked)),
            escape(&item.status),
            record_status_text(item.record_status),
            name
        );
    }
    h.push_str("</table>\n</section>\n");
}

fn item_section(h: &mut String, item: &ReportItem, count: usize) {
    let _ = writeln!(
        h,
        "<section class=\"item\">\n<h2>Item {} of {}</h2>",
        item.number, count
    );
    h.push_str("<table class=\"kv\">\n");
    row(h, "Asked (as in the order)", &asked_table(&item.asked));
    if let Some(t) = item.at_utc {
        row(h, "Time asked", &time_block(t));
    }
    if let Some((from, to)) = item.window {
        row(h, "Window asked, from", &time_block(from));
        row(h, "Window asked, to", &time_block(to));
    }
    row(
        h,
        "Answer",
        &format!(
            "<span class=\"status\"><code>{}</code></span> — {}",
            escape(&item.status),
            escape(explain_status(&item.status))
        ),
    );
    row(h, "Record", record_status_text(item.record_status));
    if let Some(s) = &item.subscriber {
        row(
            h,
            "Subscriber ID (network identifier)",
            &format!("<code>{}</code>", escape(s)),
        );
    }
    match &item.identity {
        Some(id) => identity_rows(h, id),
        None => row(
            h,
            "Name and address",
            "<span class=\"nodisclose\">none given for this item</span>",
        ),
    }
    h.push_str("</table>\n");
    if item.identity.is_some() && item.status != "found" {
        // The model should never hold this; if it does, the page must not let it pass quietly.
        h.push_str(
            "<div class=\"warn\"><strong>Inconsistent item:</strong> a name is given although \
             the answer is not <code>found</code>. Do not rely on this item; ask the operator.\
             </div>\n",
        );
    }
    if let Some(id) = item.identity.as_ref().filter(|id| id.protected_identity) {
        let _ = writeln!(
            h,
            "<div class=\"protected\">PROTECTED IDENTITY: {} has protected personal data \
             (skyddade personuppgifter). The identity was released under a separate approval \
             (see Approvals); handle it accordingly.</div>",
            escape(&id.name)
        );
    }
    for w in &item.warnings {
        let _ = writeln!(
            h,
            "<div class=\"warn\"><strong>Warning:</strong> {}</div>",
            escape(w)
        );
    }
    if !item.evidence.is_empty() {
        let _ = writeln!(
            h,
            "<h3>Evidence: {} binding{} from the logs</h3>",
            item.evidence.len(),
            if item.evidence.len() == 1 { "" } else { "s" }
        );
        if item.status != "found" {
            h.push_str(
                "<p class=\"note\">These bindings are the basis for the answer above. They are \
                 not an identification: no subscriber may be named from them.</p>\n",
            );
        }
        for (i, e) in item.evidence.iter().enumerate() {
            evidence_table(h, i + 1, e);
        }
    }
    h.push_str("</section>\n");
}

fn identity_rows(h: &mut String, id: &DisclosedIdentity) {
    let name = if id.protected_identity {
        format!(
            "<strong>{}</strong> <strong>(PROTECTED IDENTITY)</strong>",
            escape(&id.name)
        )
    } else {
        format!("<strong>{}</strong>", escape(&id.name))
    };
    row(h, "Name", &name);
    let postal = [id.postal_code.as_deref(), id.city.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let address = [id.street.as_deref(), Some(postal.as_str())]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .map(escape)
        .collect::<Vec<_>>()
        .join("<br>");
    row(
        h,
        "Address",
        &if address.is_empty() {
            not_disclosed()
        } else {
            address
        },
    );
    row(
        h,
        "Customer number",
        &opt_disclosed(id.customer_id.as_deref()),
    );
    row(
        h,
        "Personal identity number",
        &opt_disclosed(id.personal_number.as_deref()),
    );
}

fn evidence_table(h: &mut String, n: usize, e: &Value) {
    let _ = writeln!(
        h,
        "<table class=\"kv evidence\">\n<tr><th colspan=\"2\">Binding {n}</th></tr>"
    );
    let Value::Object(m) = e else {
        row(h, "Entry", &escape(&e.to_string()));
        h.push_str("</table>\n");
        return;
    };
    let text = |k: &str| m.get(k).and_then(scalar_text);
    if let Some(s) = text("subscriber") {
        row(h, "Subscriber ID", &format!("<code>{}</code>", escape(&s)));
    }
    if let Some(s) = text("target") {
        row(
            h,
            "Address or prefix held",
            &format!("<code>{}</code>", escape(&s)),
        );
    }
    if let Some(s) = text("start") {
        let how = match m.get("start_logged").and_then(Value::as_bool) {
            Some(true) => "<br>the start was logged",
            Some(false) => "<br>first seen in the logs then; the binding may have begun earlier",
            None => "",
        };
        row(h, "Start", &format!("{}{how}", evidence_time(&s)));
    }
    if m.contains_key("start") {
        row(
            h,
            "End",
            &match text("end") {
                Some(s) => evidence_time(&s),
                None => "none yet (open as far as the logs go)".to_string(),
            },
        );
    }
    if let Some(k) = text("end_kind") {
        row(h, "End kind", &end_kind_text(&k));
    }
    if m.contains_key("confirmed_until") {
        row(
            h,
            "Logs confirm the binding until",
            &match text("confirmed_until") {
                Some(s) => evidence_time(&s),
                None => "for as long as it is open".to_string(),
            },
        );
    }
    if let Some(s) = text("source") {
        row(h, "Log source", &format!("<code>{}</code>", escape(&s)));
    }
    if let Some(s) = text("peer") {
        row(
            h,
            "Sent over the network by",
            &format!("<code>{}</code>", escape(&s)),
        );
    }
    if let Some(s) = text("class") {
        row(h, "Retention class", &class_text(&s));
    }
    match m.get("via") {
        Some(Value::Object(v)) => {
            let t = |k: &str| v.get(k).and_then(scalar_text).unwrap_or_default();
            let mut via = format!(
                "public <code>{}</code> ports <code>{}</code> → inside <code>{}</code>",
                escape(&t("public")),
                escape(&t("ports")),
                escape(&t("inside"))
            );
            let _ = write!(via, "<br>from {}", evidence_time(&t("start")));
            match v.get("end").and_then(scalar_text) {
                Some(end) => {
                    let _ = write!(via, "<br>to {}", evidence_time(&end));
                }
                None => via.push_str("<br>to: none yet (open as far as the logs go)"),
            }
            if let Some(k) = v.get("end_kind").and_then(scalar_text) {
                let _ = write!(via, "<br>end kind: {}", end_kind_text(&k));
            }
            if let Some(s) = v.get("source").and_then(scalar_text) {
                let _ = write!(via, "<br>log source: <code>{}</code>", escape(&s));
            }
            if let Some(s) = v.get("peer").and_then(scalar_text) {
                let _ = write!(via, "<br>sent by: <code>{}</code>", escape(&s));
            }
            for (k, val) in v.iter().filter(|(k, _)| !VIA_KEYS.contains(&k.as_str())) {
                let _ = write!(
                    via,
                    "<br>{}: {}",
                    escape(k),
                    escape(&scalar_text(val).unwrap_or_default())
                );
            }
            row(h, "CGNAT translation", &via);
        }
        Some(Value::Null) | None => row(h, "CGNAT translation", "none (address used directly)"),
        Some(other) => row(h, "CGNAT translation", &escape(&other.to_string())),
    }
    for (k, v) in m
        .iter()
        .filter(|(k, _)| !EVIDENCE_KEYS.contains(&k.as_str()))
    {
        row(h, &escape(k), &escape(&scalar_text(v).unwrap_or_default()));
    }
    h.push_str("</table>\n");
}

fn approvals_section(h: &mut String, r: &Report) {
    h.push_str("<section>\n<h2>Approvals</h2>\n<table>\n");
    h.push_str("<tr><th>Action</th><th>By</th><th>When</th><th>Reason</th></tr>\n");
    if r.approvals.is_empty() {
        h.push_str("<tr><td colspan=\"4\" class=\"nodisclose\">none recorded</td></tr>\n");
    }
    for a in &r.approvals {
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&a.action),
            escape(&a.by),
            time_block(a.at),
            a.reason
                .as_deref()
                .map(escape)
                .unwrap_or_else(|| "—".to_string())
        );
    }
    h.push_str("</table>\n</section>\n");
}

fn row(h: &mut String, label: &str, value_html: &str) {
    let _ = writeln!(h, "<tr><th>{label}</th><td>{value_html}</td></tr>");
}

fn not_disclosed() -> String {
    "<span class=\"nodisclose\">not disclosed</span>".to_string()
}

fn opt_disclosed(v: Option<&str>) -> String {
    v.map(escape).unwrap_or_else(not_disclosed)
}

fn opt_date(v: Option<&str>) -> String {
    v.map(escape)
        .unwrap_or_else(|| "<span class=\"nodisclose\">not given</span>".to_string())
}

/// `2026-11-20 09:15:00 UTC`.
pub(crate) fn utc_text(t: i64) -> String {
    utc_datetime(t)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("@{t} (out of range)"))
}

/// `2026-11-20 10:15:00 CET (+01:00)`, Europe/Stockholm.
pub(crate) fn stockholm_text(t: i64) -> String {
    utc_datetime(t)
        .map(|d| {
            d.with_timezone(&Stockholm)
                .format("%Y-%m-%d %H:%M:%S %Z (%:z)")
                .to_string()
        })
        .unwrap_or_else(|| format!("@{t} (out of range)"))
}

/// A time in both zones, on two lines.
fn time_block(t: i64) -> String {
    format!(
        "{}<br><span class=\"local\">{} Stockholm</span>",
        escape(&utc_text(t)),
        escape(&stockholm_text(t))
    )
}

/// A time in both zones, on one line.
fn time_inline(t: i64) -> String {
    format!(
        "{} / <span class=\"local\">{} Stockholm</span>",
        escape(&utc_text(t)),
        escape(&stockholm_text(t))
    )
}

/// An RFC 3339 evidence time in both zones; anything else exactly as given.
fn evidence_time(s: &str) -> String {
    match parse_rfc3339(s) {
        Some(t) if !s.contains('.') => time_block(t),
        _ => escape(s),
    }
}

/// Sequence numbers as compact ranges: `412–419, 431`; `none` when empty.
pub(crate) fn compact_ranges(seqs: &[u64]) -> String {
    let mut s = seqs.to_vec();
    s.sort_unstable();
    s.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let mut j = i;
        while j + 1 < s.len() && s[j + 1] == s[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            s[i].to_string()
        } else {
            format!("{}–{}", s[i], s[j])
        });
        i = j + 1;
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

/// The scope item on one line: `addr 203.0.113.7, port 51234, at …`.
pub(crate) fn asked_inline(asked: &Value) -> String {
    match asked {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k} {}", scalar_text(v).unwrap_or_else(|| "null".into())))
            .collect::<Vec<_>>()
            .join(", "),
        other => scalar_text(other).unwrap_or_else(|| "null".into()),
    }
}

/// The scope item as a small key/value table, exactly as given.
fn asked_table(asked: &Value) -> String {
    let Value::Object(m) = asked else {
        return format!("<code>{}</code>", escape(&asked.to_string()));
    };
    let mut t = String::from("<table class=\"asked\">");
    for (k, v) in m {
        let _ = write!(
            t,
            "<tr><th><code>{}</code></th><td><code>{}</code></td></tr>",
            escape(k),
            escape(&scalar_text(v).unwrap_or_else(|| "null".into()))
        );
    }
    t.push_str("</table>");
    t
}

fn record_status_text(s: RecordStatus) -> &'static str {
    match s {
        RecordStatus::Complete => "complete",
        RecordStatus::Partial => "partial",
        RecordStatus::NoData => "no data",
    }
}

fn request_type_text(t: &str) -> Option<&'static str> {
    Some(match t {
        "ipred" => "IPRED order (informationsföreläggande)",
        "law_enforcement" => "Law-enforcement request",
        "preservation" => "Preservation order (bevarandeföreläggande)",
        "abuse" => "Abuse investigation (internal)",
        _ => return None,
    })
}

fn end_kind_text(k: &str) -> String {
    let why = match k {
        "stop" => "logged: accounting Stop",
        "release" => "logged: address or port block released",
        "lease_expiry" => "logged: the lease ran out",
        "next_assignment" => "inferred: the address was next assigned to someone else",
        "nas_reboot" => "inferred: the access server restarted",
        "interim_timeout" => "none logged: no keep-alive within the session timeout; the session may have ended any time after it was last confirmed",
        "open" => "still open as far as the logs go",
        _ => "",
    };
    if why.is_empty() {
        format!("<code>{}</code>", escape(k))
    } else {
        format!("<code>{}</code> — {why}", escape(k))
    }
}

fn class_text(c: &str) -> String {
    let why = match c {
        "security" => "kept for the operator's own purpose: network security",
        "billing" => "kept for the operator's own purpose: billing",
        "statutory" => "statutory retention (LEK 2022:482 ch. 9)",
        _ => "",
    };
    if why.is_empty() {
        format!("<code>{}</code>", escape(c))
    } else {
        format!("<code>{}</code> — {why}", escape(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Approval, CaseInfo};
    use serde_json::json;

    /// 2026-03-29T01:00:00Z: Stockholm goes from CET to CEST.
    const SPRING: i64 = 1_774_746_000;
    /// 2026-10-25T01:00:00Z: Stockholm goes from CEST back to CET.
    const AUTUMN: i64 = 1_792_890_000;

    fn report() -> Report {
        Report {
            csp_id: "Junet <AB>".into(),
            request_id: "C-1".into(),
            generated_at: SPRING,
            case: CaseInfo {
                request_type: "ipred".into(),
                legal_basis: "53 c §".into(),
                authority: "PMD".into(),
                case_number: "PMÄ 1".into(),
                decision_date: None,
                legal_force_date: None,
                deadline: None,
                order_sha256: "ab".into(),
                notes: "Film & TV <ombud> \"x\" 'y'".into(),
                state: "executed".into(),
            },
            items: vec![ReportItem {
                number: 1,
                asked: json!({"addr": "203.0.113.7", "<script>": "x"}),
                at_utc: Some(SPRING - 1),
                window: None,
                status: "found".into(),
                record_status: RecordStatus::Complete,
                subscriber: Some("u1".into()),
                identity: Some(DisclosedIdentity {
                    name: "<b>O'Neil & \"Åsa\"</b>".into(),
                    street: Some("Gatan 1".into()),
                    postal_code: None,
                    city: None,
                    customer_id: None,
                    personal_number: None,
                    protected_identity: true,
                }),
                evidence: vec![json!({"subscriber": "u1", "start": "2026-03-29T00:30:00Z",
                    "start_logged": false, "end": null, "end_kind": "open", "via": null})],
                warnings: vec!["<clock> skew & more".into()],
            }],
            approvals: vec![Approval {
                action: "approved".into(),
                by: "officer-2".into(),
                at: SPRING,
                reason: Some("<ok>".into()),
            }],
            audit_seqs: vec![3],
        }
    }

    #[test]
    fn stockholm_time_across_the_spring_change() {
        assert_eq!(
            stockholm_text(SPRING - 1),
            "2026-03-29 01:59:59 CET (+01:00)"
        );
        assert_eq!(stockholm_text(SPRING), "2026-03-29 03:00:00 CEST (+02:00)");
        assert_eq!(utc_text(SPRING), "2026-03-29 01:00:00 UTC");
    }

    #[test]
    fn stockholm_time_across_the_autumn_change_is_told_apart_by_the_offset() {
        // 02:30 local happens twice; the zone name and offset say which.
        assert_eq!(
            stockholm_text(AUTUMN - 1800),
            "2026-10-25 02:30:00 CEST (+02:00)"
        );
        assert_eq!(
            stockholm_text(AUTUMN + 1800),
            "2026-10-25 02:30:00 CET (+01:00)"
        );
    }

    #[test]
    fn compact_ranges_sorts_dedups_and_joins_runs() {
        assert_eq!(compact_ranges(&[]), "none");
        assert_eq!(compact_ranges(&[7]), "7");
        assert_eq!(
            compact_ranges(&[431, 412, 413, 414, 415, 416, 417, 418, 419, 413]),
            "412–419, 431"
        );
        assert_eq!(compact_ranges(&[1, 2, 4, 6, 7, 9]), "1–2, 4, 6–7, 9");
    }

    #[test]
    fn escapes_every_value() {
        let page = render(&report(), "d<1>");
        for raw in [
            "<b>O'Neil",
            "<ombud>",
            "<clock>",
            "<script>",
            "<ok>",
            "Junet <AB>",
            "d<1>",
        ] {
            assert!(!page.contains(raw), "{raw} unescaped");
        }
        assert!(page.contains("&lt;b&gt;O&#39;Neil &amp; &quot;Åsa&quot;&lt;/b&gt;"));
        assert!(page.contains("Film &amp; TV &lt;ombud&gt; &quot;x&quot; &#39;y&#39;"));
        assert!(page.contains("&lt;clock&gt; skew &amp; more"));
        assert!(page.contains("d&lt;1&gt;"));
    }

    #[test]
    fn shows_both_zones_flags_protected_identity_and_is_self_contained() {
        let page = render(&report(), "d");
        assert!(page.contains("2026-03-29 00:59:59 UTC"));
        assert!(page.contains("2026-03-29 01:59:59 CET (+01:00)"));
        assert!(page.contains("2026-03-29 03:00:00 CEST (+02:00)"));
        assert!(page.contains("<div class=\"protected\">PROTECTED IDENTITY"));
        assert!(page.contains("first seen in the logs then"));
        assert!(page.contains("<meta charset=\"utf-8\">"));
        assert!(page.contains("@media print"));
        for banned in ["<script", "src=", "href=", "@import", "url("] {
            assert!(!page.contains(banned), "{banned}");
        }
    }

    #[test]
    fn no_name_is_shown_when_none_was_given() {
        let mut r = report();
        r.items[0].status = "ambiguous".into();
        r.items[0].identity = None;
        let page = render(&r, "d");
        assert!(page.contains("none given for this item"));
        assert!(page.contains("no subscriber may be named from them"));
        assert!(!page.contains("PROTECTED IDENTITY"));
        assert!(!page.contains("Inconsistent item"));
    }

    #[test]
    fn a_name_on_an_item_that_is_not_found_is_flagged() {
        let mut r = report();
        r.items[0].status = "end_inferred".into();
        assert!(render(&r, "d").contains("<strong>Inconsistent item:</strong>"));
    }
}
