//! The case page: the order's fields and scan, the scope, the timeline, the actions this
//! person may take (four eyes: the registrar is told why not, and so is the officer who
//! executed a held answer), the results with their evidence and what each status means and
//! allows the officer to write, the reports, a lookup inside the scope, and for an access
//! request its extract. What [`case_view`] withholds (a protected identity before its release)
//! is never shown: results are rendered from that view, not from the stored case.

use axum::extract::{Path, Query};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde_json::Value;

use super::{kind_name, state_name};
use crate::desk::i18n::Lang;
use crate::desk::page;
use crate::desk::{only, Desk, NotIn, Posted};
use crate::legal::auth::{Caller, Principal, Role};
use crate::legal::case::{Case, RequestType, ScopeItem, State};
use crate::legal::service::{case_view, AddrQuery, LegalError};
use crate::report::{parse_rfc3339, scalar_text, EVIDENCE_KEYS, VIA_KEYS};

/// A lookup inside the case as typed, and its answer.
#[derive(Debug, Default, Clone)]
pub struct Lookup {
    pub addr: String,
    pub port: String,
    pub at: String,
    pub answer: Option<Result<Value, (String, String)>>,
}

/// What a page shows besides the case: a refusal, a notice, a lookup, an extract; and the
/// Service's `now` (whether a restriction is still in force).
#[derive(Debug, Default)]
pub struct Extra {
    pub error: Option<(String, String)>,
    pub notice: Option<String>,
    pub lookup: Lookup,
    pub extract: Option<Value>,
    pub now: crate::model::UnixSecs,
}

fn registrar(c: &Case, me: &Principal) -> bool {
    c.created_by == me.name || c.created_by_person.as_deref() == Some(me.person.as_str())
}

/// Whether `me` did the last `action` step (four eyes on the case page).
fn did(c: &Case, me: &Principal, action: &str) -> bool {
    c.steps
        .iter()
        .rev()
        .find(|s| s.action == action)
        .is_some_and(|s| s.by == me.name || s.person.as_deref() == Some(me.person.as_str()))
}

fn executor(c: &Case, me: &Principal) -> bool {
    c.steps
        .iter()
        .rev()
        .find(|s| s.action == "executed")
        .is_some_and(|s| s.by == me.name || s.person.as_deref() == Some(me.person.as_str()))
}

/// A time string as given: Stockholm and UTC when it parses, else as written.
fn time_text(s: &str) -> Markup {
    match crate::model::parse_time(s) {
        Ok(t) => page::when(t),
        Err(_) => html! { (s) },
    }
}

/// A scope item in words.
fn asked(l: Lang, it: &ScopeItem) -> Markup {
    html! {
        @if let Some(s) = &it.subscriber { (l.t("case.subscriber")) " " span.mono { (s) } }
        @if let Some(a) = &it.addr {
            span.mono { (a) @if let Some(p) = it.port { " " (l.t("case.port")) " " (p) } }
        }
        @if let Some(n) = &it.number { span.mono { (n) } }
        @if let Some(at) = &it.at { " " (l.t("case.at")) " " (time_text(at)) }
        @if let (Some(f), Some(t)) = (&it.from, &it.to) {
            " " (l.t("case.from")) " " (time_text(f)) " " (l.t("case.to")) " " (time_text(t))
        }
    }
}

/// An evidence value: times in both zones, a NAT translation as its fields.
fn value(k: &str, v: &Value) -> Markup {
    if let Some(t) = v.as_str().and_then(parse_rfc3339) {
        return page::when(t);
    }
    if k == "via" {
        if let Some(o) = v.as_object() {
            return html! {
                @for key in VIA_KEYS {
                    @if let Some(x) = o.get(key).and_then(scalar_text) {
                        span.kv { (key) ": " (x) } " "
                    }
                }
            };
        }
    }
    match v {
        Value::Object(o) if o.contains_key("withheld") => html! { em { "—" } },
        _ => html! { (scalar_text(v).unwrap_or_default()) },
    }
}

/// The evidence of an answer as a table, its columns the fields any entry has.
fn evidence(l: Lang, rows: &[Value]) -> Markup {
    let mut keys: Vec<String> = EVIDENCE_KEYS
        .iter()
        .filter(|k| rows.iter().any(|r| r.get(**k).is_some()))
        .map(|k| k.to_string())
        .collect();
    for r in rows {
        for k in r.as_object().into_iter().flat_map(|o| o.keys()) {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    html! {
        @if rows.is_empty() {
            p.hint { (l.t("case.no_evidence")) }
        } @else {
            table.evidence {
                caption { (l.t("case.evidence")) }
                thead { tr { @for k in &keys {
                    th scope="col" { (l.lookup(&format!("ev.{k}")).unwrap_or(k)) }
                } } }
                tbody { @for r in rows { tr { @for k in &keys {
                    td { @if let Some(v) = r.get(k) { (value(k, v)) } }
                } } } }
            }
        }
    }
}

/// What a status means, and what the officer may write to the court.
fn explain(l: Lang, status: &str) -> Markup {
    let means = l
        .lookup(&format!("status.{status}.means"))
        .unwrap_or(crate::report::explain_status(status));
    let write = l.lookup(&format!("status.{status}.write"));
    html! {
        div.explain {
            p { strong { (l.t("case.means")) " " } (means) }
            @if let Some(w) = write { p { strong { (l.t("case.write")) " " } (w) } }
        }
    }
}

fn identity(l: Lang, v: &Value) -> Markup {
    if v.get("withheld").is_some() {
        return html! { p.warn { (l.t("case.withheld")) } };
    }
    html! {
        dl.kv {
            @for (k, key) in [("name", "id.name"), ("street", "id.street"),
                              ("postal_code", "id.postal_code"), ("city", "id.city"),
                              ("customer_id", "id.customer_id"),
                              ("personal_number", "id.personal_number")] {
                @if let Some(x) = v.get(k).and_then(scalar_text) {
                    dt { (l.lookup(key).unwrap_or(k)) } dd { (x) }
                }
            }
            @if v["protected_identity"] == true {
                dt { (l.t("id.protected")) } dd { (l.t("id.protected_yes")) }
            }
        }
    }
}

fn result(l: Lang, r: &Value) -> Markup {
    let status = r["status"].as_str().unwrap_or("");
    let item: Option<ScopeItem> = serde_json::from_value(r["asked"].clone()).ok();
    let ev = r["evidence"].as_array().cloned().unwrap_or_default();
    html! {
        div.item data-status=(status) {
            h3 {
                (l.t("case.item")) " " (r["number"].as_u64().unwrap_or(0)) ": "
                @if let Some(it) = &item { (asked(l, it)) }
            }
            p { strong { (l.t("case.status")) " " }
                (l.lookup(&format!("status.{status}")).unwrap_or(status))
                " " code.code { (status) } }
            @match &r["subscriber"] {
                Value::String(s) => p { strong { (l.t("case.subscriber")) " " } span.mono { (s) } },
                Value::Object(o) if o.contains_key("withheld") => p.warn { (l.t("case.withheld")) },
                _ => {}
            }
            @if !r["identity"].is_null() { (identity(l, &r["identity"])) }
            @for w in r["warnings"].as_array().into_iter().flatten() {
                @if let Some(w) = w.as_str() { p.warn lang="en" { (w) } }
            }
            (explain(l, status))
            (evidence(l, &ev))
        }
    }
}

fn timeline(l: Lang, c: &Case) -> Markup {
    html! {
        ol #timeline {
            @for a in c.approvals() {
                li data-step=(a.action) {
                    strong { (state_name(l, &a.action)) } " · " (a.by) " · " (page::when(a.at))
                    @if let Some(r) = &a.reason { br; (l.t("case.reason")) ": " (r) }
                }
            }
            @if let Some(t) = c.disclosed_at {
                li data-step="disclosed" { strong { (state_name(l, "disclosed")) } " · " (page::when(t)) }
            }
        }
    }
}

fn post_form(
    id: &str,
    action: &str,
    csrf: &str,
    button: Markup,
    confirm: Option<&str>,
    inner: Markup,
) -> Markup {
    html! {
        form.inline method="post" action={ "/desk/cases/" (id) "/" (action) } data-confirm=[confirm] {
            input type="hidden" name="_csrf" value=(csrf);
            (inner)
            (button)
        }
    }
}

fn actions(l: Lang, csrf: &str, me: &Principal, c: &Case) -> Markup {
    let id = c.id.as_str();
    let kind = c.request_type();
    html! {
        section #actions {
            h2 { (l.t("case.actions")) }
            @match c.state {
                State::Registered if registrar(c, me) => {
                    p #four-eyes-note .warn { (l.t("case.four_eyes_note")) }
                }
                State::Registered => {
                    p { (l.t("case.approve_intro")) }
                    (post_form(id, "approve", csrf,
                        html! { button #approve type="submit" { (l.t("case.approve")) } }, None, html! {}))
                    (post_form(id, "reject", csrf,
                        html! { button #reject .danger type="submit" { (l.t("case.reject")) } }, None,
                        html! {
                            label for="reason" { (l.t("case.reject_reason")) }
                            textarea #reason name="reason" rows="2" required {}
                        }))
                }
                State::Approved if kind == RequestType::Access => {
                    p { (l.t("case.extract_intro")) }
                    (post_form(id, "extract", csrf,
                        html! { button #extract type="submit" { (l.t("case.extract")) } },
                        Some(l.t("case.extract_confirm")), html! {}))
                }
                State::Approved if kind == RequestType::Preservation => {
                    p { (l.t("case.preservation_note")) }
                }
                State::Approved if kind.subject_right() => {
                    p { (match kind {
                        RequestType::Restriction => l.t("case.restriction_intro"),
                        RequestType::Rectification => l.t("case.rectification_intro"),
                        _ => l.t("case.erasure_intro"),
                    }) }
                    (post_form(id, "execute", csrf,
                        html! { button #execute type="submit" { (l.t("case.execute")) } },
                        Some(l.t("case.execute_confirm")), html! {}))
                }
                State::Executed if kind == RequestType::Restriction && !c.lifted() => {
                    section #lift {
                        p { (l.t("case.lift_intro")) }
                        @if did(c, me, "lift_requested") {
                            p #lift-note .warn { (l.t("case.lift_note")) }
                        } @else {
                            (post_form(id, "lift", csrf,
                                html! { button #lift-button type="submit" { (l.t("case.lift")) } },
                                Some(l.t("case.lift_confirm")),
                                html! {
                                    label for="lift-reason" { (l.t("case.lift_reason")) }
                                    textarea #lift-reason name="reason" rows="2" required {}
                                }))
                        }
                    }
                }
                State::Executed | State::Disclosed if kind.subject_right() && kind != RequestType::Access => {
                    p { (l.t("case.subject_done")) }
                }
                State::Approved => {
                    p { (l.t("case.execute_intro")) }
                    (post_form(id, "execute", csrf,
                        html! { button #execute type="submit" { (l.t("case.execute")) } },
                        Some(l.t("case.execute_confirm")), html! {}))
                }
                State::Executed if c.hold.is_some() => {
                    section #hold .warn {
                        h3 { (l.t("case.hold_title")) }
                        p { (l.t("case.hold_intro")) }
                        @if executor(c, me) {
                            p #release-note { (l.t("case.release_note")) }
                        } @else {
                            (post_form(id, "release", csrf,
                                html! { button #release type="submit" { (l.t("case.release")) } },
                                Some(l.t("case.release_confirm")), html! {}))
                        }
                    }
                }
                State::Executed | State::Disclosed if kind == RequestType::Access => {
                    (post_form(id, "extract", csrf,
                        html! { button #extract type="submit" { (l.t("case.extract_show")) } },
                        None, html! {}))
                    p { (l.t("case.letter_intro")) }
                    ul.reports {
                        li { a #letter-pdf href={ "/desk/cases/" (id) "/letter.pdf" } { (l.t("case.letter_pdf")) } }
                        li { a #letter-html href={ "/desk/cases/" (id) "/letter.html" } { (l.t("case.letter_html")) } }
                    }
                }
                State::Executed | State::Disclosed => {
                    p { (l.t("case.report_intro")) }
                    ul.reports {
                        li { a #report-html href={ "/desk/cases/" (id) "/report.html" } { (l.t("case.report_html")) } }
                        li { a #report-json href={ "/desk/cases/" (id) "/report.json" } { (l.t("case.report_json")) } }
                        li { a #report-xml href={ "/desk/cases/" (id) "/report.xml" } { (l.t("case.report_xml")) } }
                        li { a #report-pdf href={ "/desk/cases/" (id) "/report.pdf" } { (l.t("case.report_pdf")) } }
                        li { a #report-pack href={ "/desk/cases/" (id) "/pack.zip" } { (l.t("case.report_pack")) } }
                    }
                }
                State::Rejected => { p { (l.t("case.rejected_note")) } }
            }
        }
    }
}

fn lookup_section(l: Lang, csrf: &str, c: &Case, lk: &Lookup) -> Markup {
    let runs = matches!(c.state, State::Approved | State::Executed)
        && !(c.request_type() == RequestType::Preservation || c.request_type().subject_right());
    html! {
        @if runs {
            section #lookup-section {
                h2 { (l.t("case.lookup_title")) }
                p.hint { (l.t("case.lookup_intro")) }
                form method="post" action={ "/desk/cases/" (c.id) "/lookup" } {
                    input type="hidden" name="_csrf" value=(csrf);
                    label for="addr" { (l.t("case.lookup_addr")) }
                    input #addr name="addr" type="text" value=(lk.addr) required spellcheck="false";
                    label for="port" { (l.t("case.lookup_port")) }
                    input #port name="port" type="number" min="1" max="65535" value=(lk.port);
                    label for="at" { (l.t("case.lookup_at")) }
                    p.hint #at-hint { (l.t("case.lookup_at_hint")) }
                    input #at name="at" type="text" value=(lk.at) required aria-describedby="at-hint";
                    button #lookup type="submit" { (l.t("case.lookup")) }
                }
                @match &lk.answer {
                    Some(Ok(v)) => {
                        @let status = v["status"].as_str().unwrap_or("");
                        div #lookup-result .item data-status=(status) {
                            p { strong { (l.t("case.status")) " " }
                                (l.lookup(&format!("status.{status}")).unwrap_or(status))
                                " " code.code { (status) } }
                            (explain(l, status))
                            (evidence(l, v["matches"].as_array().map(Vec::as_slice).unwrap_or(&[])))
                        }
                    }
                    Some(Err((code, msg))) => { (page::error_box(l, code, msg)) }
                    None => {}
                }
            }
        }
    }
}

/// The page's body for `me`.
pub fn body(l: Lang, csrf: &str, me: &Principal, c: &Case, clocks: &Value, x: &Extra) -> Markup {
    let r = &c.request;
    let view = case_view(c);
    let results = view["results"].as_array().cloned().unwrap_or_default();
    let due_status = clocks["due_status"].as_str().unwrap_or("");
    let basis = clocks["due_basis"].as_str().unwrap_or("");
    html! {
        @if let Some((code, msg)) = &x.error { (page::error_box(l, code, msg)) }
        @if let Some(n) = &x.notice { (page::notice(n)) }
        dl.kv {
            dt { (l.t("case.state")) } dd { strong #case-state data-state=(c.state.as_str()) { (state_name(l, c.state.as_str())) } }
            dt { (l.t("inbox.kind")) } dd { (kind_name(l, &r.request_type)) br; span.hint { (c.request_type().legal_basis()) } }
            dt { (l.t("field.authority")) } dd { (r.authority) }
            dt { (l.t("field.case_number")) } dd.mono { (r.case_number) }
            @if r.decision_date.is_some() { dt { (l.t("field.decision_date")) } dd { (page::date(r.decision_date.as_deref())) } }
            @if r.legal_force_date.is_some() { dt { (l.t("field.legal_force_date")) } dd { (page::date(r.legal_force_date.as_deref())) } }
            dt { (l.t("field.deadline")) } dd #due data-status=(due_status) {
                (page::date(clocks["due_day"].as_str()))
                @if due_status == "overdue" { " " strong.overdue { (l.t("inbox.overdue")) } }
                @if due_status == "due_soon" { " " strong.soon { (l.t("inbox.due_soon")) } }
                @if due_status == "answered_late" { " " span { (l.t("inbox.answered_late")) } }
                br; span.hint { (l.lookup(&format!("due.basis.{basis}")).unwrap_or("")) }
            }
            @if r.preserve_until.is_some() { dt { (l.t("field.preserve_until")) } dd { (page::date(r.preserve_until.as_deref())) } }
            dt { (l.t("case.registered_by")) } dd { (c.created_by) " · " (page::when(c.created_at)) }
            dt { (l.t("case.order_sha256")) } dd {
                @if r.order_sha256.is_empty() { "—" } @else {
                    code #order-sha256 { (r.order_sha256) } br;
                    a #order-download href={ "/desk/cases/" (c.id) "/order" } { (l.t("case.order_download")) }
                }
            }
            @if !r.notes.is_empty() { dt { (l.t("field.notes")) } dd { (r.notes) } }
            @if let Some(p) = &c.preserves {
                dt { (l.t("due.preserves")) } dd { a #preserves href={ "/desk/cases/" (p) } { (p) } }
            }
            @if let Some(p) = &c.preservation {
                dt { (l.t("due.preservation")) } dd { a #preservation href={ "/desk/cases/" (p) } { (p) } }
            }
        }
        (retention_risk(l, csrf, c, clocks))
        @if c.request_type() == RequestType::Restriction { (restriction(l, c, x.now)) }
        @if let Some(rect) = &c.rectified { (rectified(l, rect)) }
        @if let Some(cert) = &c.certificate { (certificate(l, cert)) }
        h2 { (l.t("case.scope")) " (" (r.scope.len()) ")" }
        ol #scope-items { @for it in &r.scope { li { (asked(l, it)) } } }
        h2 { (l.t("case.timeline")) }
        (timeline(l, c))
        (actions(l, csrf, me, c))
        @if !results.is_empty() {
            section #results {
                h2 { (l.t("case.results")) }
                @for res in &results { (result(l, res)) }
            }
        }
        @if let Some(e) = &x.extract {
            section #extract-result {
                h2 { (l.t("case.extract_title")) }
                pre.mono { (serde_json::to_string_pretty(e).unwrap_or_default()) }
            }
        }
        (lookup_section(l, csrf, c, &x.lookup))
    }
}

/// A restriction: until when, why, and where it stands at `now`.
fn restriction(l: Lang, c: &Case, now: crate::model::UnixSecs) -> Markup {
    let (key, state) = if c.state != State::Executed {
        ("case.restriction_pending", "pending")
    } else if c.lifted() {
        ("case.restriction_lifted", "lifted")
    } else if !c.restriction_in_force(now) {
        ("case.restriction_ended", "ended")
    } else if c.steps.iter().any(|s| s.action == "lift_requested") {
        ("case.restriction_lift_requested", "lift_requested")
    } else {
        ("case.restriction_in_force", "in_force")
    };
    html! {
        section #restriction data-state=(state) {
            h2 { (l.t("case.restriction")) }
            dl.kv {
                dt { (l.t("case.restriction_until")) } dd { (page::date(c.request.restrict_until.as_deref())) }
                dt { (l.t("case.reason")) } dd { (c.request.notes) }
                dt { (l.t("case.restriction_state")) } dd { strong #restriction-state { (l.lookup(key).unwrap_or(state)) } }
            }
        }
    }
}

/// An erasure's signed deletion certificate: what went, what stayed and why, the signature.
fn certificate(l: Lang, cert: &Value) -> Markup {
    let b = &cert["body"];
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let kept = |k: &str| b["kept"][k].as_u64().unwrap_or(0);
    html! {
        section #certificate {
            h2 { (l.t("case.certificate")) }
            dl.kv {
                dt { (l.t("case.cert_deleted")) }
                dd #cert-deleted { (n(&b["deleted"]["bindings"])) " / " (n(&b["deleted"]["calls"])) }
                dt { (l.t("case.cert_kept")) }
                dd #cert-kept { (kept("class")) " / " (kept("held")) }
                dt { (l.t("case.cert_partitions")) }
                dd { (b["deleted"]["partitions"].as_array().map_or(0, Vec::len)) }
                dt { (l.t("case.cert_digest")) } dd { code { (b["deleted"]["keys_sha256"].as_str().unwrap_or("")) } }
                dt { (l.t("case.cert_signature")) } dd { code.wrap { (cert["signature"].as_str().unwrap_or("")) } }
                dt { (l.t("case.cert_key")) } dd { code { (cert["public_key"].as_str().unwrap_or("")) } }
            }
            p { (l.t("case.cert_verify")) }
        }
    }
}

/// A rectification's corrected fields (names, never values) and the recipients to tell.
fn rectified(l: Lang, r: &crate::legal::case::Rectified) -> Markup {
    html! {
        section #rectified {
            h2 { (l.t("case.rectified")) }
            p { strong { (l.t("case.rectified_fields")) ": " }
                @for (i, f) in r.fields.iter().enumerate() {
                    @if i > 0 { ", " }
                    (l.lookup(&format!("id.{f}")).unwrap_or(f))
                }
            }
            h3 { (l.t("case.recipients")) }
            @if r.recipients.is_empty() {
                p #no-recipients { (l.t("case.no_recipients")) }
            } @else {
                ul #recipients {
                    @for x in &r.recipients {
                        li { (x.day) " · " a href={ "/desk/cases/" (x.case) } { (x.case) } " · " (x.recipient) }
                    }
                }
            }
        }
    }
}

/// The warning that some of the scope's data leaves retention before the case is due, with
/// the one action that registers a preservation request for those items.
fn retention_risk(l: Lang, csrf: &str, c: &Case, clocks: &Value) -> Markup {
    let Some(risk) = clocks.get("retention_risk") else {
        return html! {};
    };
    let items: Vec<String> = risk["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| i.to_string())
        .collect();
    let first = risk["first_leaves_at"]
        .as_str()
        .and_then(crate::report::parse_rfc3339);
    html! {
        section #retention-risk .warn role="status" {
            h2 { (l.t("due.risk_title")) }
            p {
                (l.t("due.risk_text").replace("{items}", &items.join(", ")))
                @if let Some(t) = first { " " (page::when(t)) "." }
            }
            @if c.preservation.is_none() {
                form method="post" action={ "/desk/cases/" (c.id) "/preserve" } {
                    input type="hidden" name="_csrf" value=(csrf);
                    button #preserve type="submit" { (l.t("due.preserve")) }
                }
                p.hint { (l.t("due.preserve_hint")) }
            }
        }
    }
}

/// Loads the case (audited) and renders it with `x`.
async fn page_of(d: &Desk, id: String, status: StatusCode, mut x: Extra) -> Response {
    let got = d
        .call(move |svc, who| {
            let c = svc.get_case(who, &id)?;
            let clocks = svc.view(&c)["clocks"].take();
            Ok((c, clocks, svc.now()))
        })
        .await;
    match got {
        Ok((c, clocks, now)) => {
            x.now = now;
            let body = body(d.lang, &d.csrf, &d.who, &c, &clocks, &x);
            (
                status,
                d.page(&format!("{} {}", d.lang.t("case.title"), c.id), body),
            )
                .into_response()
        }
        Err(e) => d.error(&e),
    }
}

fn refusal(e: &LegalError) -> (StatusCode, Extra) {
    (
        crate::api::status_of(e.kind()),
        Extra {
            error: Some((e.code().to_string(), e.to_string())),
            ..Extra::default()
        },
    )
}

pub async fn show(
    d: Desk,
    Path(id): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, NotIn> {
    only(&d, &[Role::Legal])?;
    let notice = q
        .get("done")
        .and_then(|k| d.lang.lookup(&format!("done.{k}")))
        .map(str::to_string);
    Ok(page_of(
        &d,
        id,
        StatusCode::OK,
        Extra {
            notice,
            ..Extra::default()
        },
    )
    .await)
}

/// Runs a case action; on success back to the case with a notice, else the case with the
/// refusal explained.
async fn act(
    p: Posted,
    id: String,
    done: &'static str,
    f: impl FnOnce(&crate::legal::Service, &Caller, &str, &Form) -> Result<(), LegalError>
        + Send
        + 'static,
) -> Response {
    if let Err(e) = only(&p.desk, &[Role::Legal]) {
        return e.into_response();
    }
    let d = &p.desk;
    let (key, form) = (id.clone(), p.form.clone());
    match d.call(move |svc, who| f(svc, who, &key, &form)).await {
        Ok(()) => Redirect::to(&format!("/desk/cases/{id}?done={done}")).into_response(),
        Err(e) => {
            let (status, x) = refusal(&e);
            page_of(d, id, status, x).await
        }
    }
}

type Form = std::collections::HashMap<String, String>;

fn field<'a>(f: &'a Form, k: &str) -> &'a str {
    f.get(k).map(|s| s.trim()).unwrap_or("")
}

pub async fn approve(Path(id): Path<String>, p: Posted) -> Response {
    act(p, id, "approved", |svc, who, id, _| {
        svc.approve(who, id).map(drop)
    })
    .await
}

pub async fn reject(Path(id): Path<String>, p: Posted) -> Response {
    act(p, id, "rejected", |svc, who, id, p| {
        svc.reject(who, id, field(p, "reason")).map(drop)
    })
    .await
}

pub async fn execute(Path(id): Path<String>, p: Posted) -> Response {
    act(p, id, "executed", |svc, who, id, _| {
        svc.execute(who, id, None).map(drop)
    })
    .await
}

/// Registers the preservation request for the items at risk, then shows the new case.
pub async fn preserve(Path(id): Path<String>, p: Posted) -> Response {
    if let Err(e) = only(&p.desk, &[Role::Legal]) {
        return e.into_response();
    }
    let d = &p.desk;
    let key = id.clone();
    match d.call(move |svc, who| svc.preserve(who, &key)).await {
        Ok(kept) => {
            Redirect::to(&format!("/desk/cases/{}?done=preserved", kept.id)).into_response()
        }
        Err(e) => {
            let (status, x) = refusal(&e);
            page_of(d, id, status, x).await
        }
    }
}

/// Asks for (first officer) or carries out (a second person) lifting a restriction.
pub async fn lift(Path(id): Path<String>, p: Posted) -> Response {
    if let Err(e) = only(&p.desk, &[Role::Legal]) {
        return e.into_response();
    }
    let d = &p.desk;
    let (key, reason) = (id.clone(), field(&p.form, "reason").to_string());
    match d.call(move |svc, who| svc.lift(who, &key, &reason)).await {
        Ok(c) => {
            let done = if c.lifted() {
                "lifted"
            } else {
                "lift_requested"
            };
            Redirect::to(&format!("/desk/cases/{id}?done={done}")).into_response()
        }
        Err(e) => {
            let (status, x) = refusal(&e);
            page_of(d, id, status, x).await
        }
    }
}

pub async fn release(Path(id): Path<String>, p: Posted) -> Response {
    act(p, id, "released", |svc, who, id, _| {
        svc.release(who, id).map(drop)
    })
    .await
}

pub async fn extract(Path(id): Path<String>, p: Posted) -> Response {
    if let Err(e) = only(&p.desk, &[Role::Legal]) {
        return e.into_response();
    }
    let d = &p.desk;
    let key = id.clone();
    match d.call(move |svc, who| svc.access_extract(who, &key)).await {
        Ok(v) => {
            let x = Extra {
                extract: Some(v),
                ..Extra::default()
            };
            page_of(d, id, StatusCode::OK, x).await
        }
        Err(e) => {
            let (status, x) = refusal(&e);
            page_of(d, id, status, x).await
        }
    }
}

/// A lookup inside the case: the time read like an annex line's, checked against the scope
/// by the service (`case.out_of_scope` when no item names it).
pub async fn lookup(Path(id): Path<String>, p: Posted) -> Response {
    if let Err(e) = only(&p.desk, &[Role::Legal]) {
        return e.into_response();
    }
    let d = &p.desk;
    let l = d.lang;
    let mut lk = Lookup {
        addr: p.get("addr").to_string(),
        port: p.get("port").to_string(),
        at: p.get("at").to_string(),
        answer: None,
    };
    let port = match lk.port.as_str() {
        "" => Ok(None),
        s => s
            .parse::<u16>()
            .map(Some)
            .map_err(|_| l.t("case.bad_port").to_string()),
    };
    // The time as an annex line gives it: any accepted spelling, a zone required.
    let line = format!("{} {}", lk.addr, lk.at);
    let read = super::new::read_scope(
        d.state.service.config(),
        Some(RequestType::LawEnforcement),
        &line,
    );
    let at = match read.first().map(|x| &x.item) {
        Some(Ok((it, _))) => Ok(it.at.clone().unwrap_or_default()),
        Some(Err(w)) => Err(w.explain(l)),
        None => Err(l.t("case.bad_lookup").to_string()),
    };
    let q = port.and_then(|port| {
        at.and_then(|at| AddrQuery::parse(&lk.addr, port, &at).map_err(|e| e.to_string()))
    });
    let status;
    match q {
        Err(why) => {
            status = StatusCode::BAD_REQUEST;
            lk.answer = Some(Err(("request.invalid".into(), why)));
        }
        Ok(q) => {
            let key = id.clone();
            match d.call(move |svc, who| svc.case_lookup(who, &key, q)).await {
                Ok(v) => {
                    status = StatusCode::OK;
                    lk.answer = Some(Ok(v));
                }
                Err(e) => {
                    status = crate::api::status_of(e.kind());
                    lk.answer = Some(Err((e.code().to_string(), e.to_string())));
                }
            }
        }
    }
    page_of(
        d,
        id,
        status,
        Extra {
            lookup: lk,
            ..Extra::default()
        },
    )
    .await
}

fn attachment(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"))
}

/// GET /desk/cases/{id}/report.{html,json,xml,pdf}: the report as `svc.report` makes it (the
/// first one discloses the case), as a download; `letter.{pdf,html}`: an access case's letter
/// as `svc.access_letter` makes it.
pub async fn report(d: Desk, Path((id, file)): Path<(String, String)>) -> Result<Response, NotIn> {
    only(&d, &[Role::Legal])?;
    if file == "pack.zip" {
        let key = id.clone();
        return Ok(
            match d.call(move |svc, who| svc.delivery_pack(who, &key)).await {
                Ok((zip, name)) => {
                    let mut r = ([(header::CONTENT_TYPE, "application/zip")], zip).into_response();
                    r.headers_mut()
                        .insert(header::CONTENT_DISPOSITION, attachment(&name));
                    r
                }
                Err(e) => {
                    let (status, x) = refusal(&e);
                    page_of(&d, id, status, x).await
                }
            },
        );
    }
    if let Some(format) = file
        .strip_prefix("letter.")
        .filter(|f| matches!(*f, "html" | "pdf"))
        .map(str::to_string)
    {
        let key = id.clone();
        let fmt = format.clone();
        return Ok(
            match d
                .call(move |svc, who| svc.access_letter(who, &key, &fmt))
                .await
            {
                Ok((bytes, ctype)) => {
                    let mut r = ([(header::CONTENT_TYPE, ctype)], bytes).into_response();
                    let safe: String = id
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect();
                    r.headers_mut().insert(
                        header::CONTENT_DISPOSITION,
                        attachment(&format!("registerutdrag-{safe}.{format}")),
                    );
                    r
                }
                Err(e) => {
                    let (status, x) = refusal(&e);
                    page_of(&d, id, status, x).await
                }
            },
        );
    }
    let Some(format) = file
        .strip_prefix("report.")
        .filter(|f| matches!(*f, "html" | "json" | "xml" | "pdf"))
        .map(str::to_string)
    else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let key = id.clone();
    let fmt = format.clone();
    match d.call(move |svc, who| svc.report(who, &key, &fmt)).await {
        Ok((text, ctype)) => {
            let mut r = ([(header::CONTENT_TYPE, ctype)], text).into_response();
            // Ids are the register's own (letters, digits, '-'): safe in a file name.
            let safe: String = id
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            r.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                attachment(&format!("tdr-report-{safe}.{format}")),
            );
            Ok(r)
        }
        Err(e) => {
            let (status, x) = refusal(&e);
            Ok(page_of(&d, id, status, x).await)
        }
    }
}

/// GET /desk/cases/{id}/order: the scanned order, as a download.
pub async fn order(d: Desk, Path(id): Path<String>) -> Result<Response, NotIn> {
    only(&d, &[Role::Legal])?;
    let key = id.clone();
    match d.call(move |svc, who| svc.case_order_get(who, &key)).await {
        Ok((bytes, ctype)) => {
            let ext = match ctype {
                "application/pdf" => "pdf",
                "image/png" => "png",
                "image/jpeg" => "jpg",
                "image/tiff" => "tif",
                "image/gif" => "gif",
                "image/webp" => "webp",
                _ => "bin",
            };
            let safe: String = id
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            let mut r = ([(header::CONTENT_TYPE, ctype)], bytes).into_response();
            r.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                attachment(&format!("order-{safe}.{ext}")),
            );
            Ok(r)
        }
        Err(e) => {
            let (status, x) = refusal(&e);
            Ok(page_of(&d, id, status, x).await)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legal::case::{NewCase, Officer};
    use crate::report::{DisclosedIdentity, RecordStatus, ReportItem};

    fn officer(name: &str) -> Principal {
        Principal {
            name: name.into(),
            role: Role::Legal,
            person: format!("E-{name}"),
        }
    }

    fn case() -> Case {
        let req = NewCase {
            request_type: "ipred".into(),
            authority: "Patent- och marknadsdomstolen".into(),
            case_number: "PMÄ 1234-26".into(),
            decision_date: Some("2026-11-02".into()),
            legal_force_date: Some("2026-11-16".into()),
            deadline: Some("2026-12-01".into()),
            order_sha256: "ab".repeat(32),
            scope: vec![ScopeItem {
                addr: Some("203.0.113.7".into()),
                port: Some(40000),
                at: Some("2026-11-20T10:15:00+01:00".into()),
                ..ScopeItem::default()
            }],
            ..NewCase::default()
        };
        let mut c = Case::registered("C-2026-0001".into(), req, "anna", 1_795_168_800);
        c.created_by_person = Some("E-anna".into());
        c
    }

    fn clocks() -> Value {
        serde_json::json!({"due_day": "2026-12-01", "due_status": "overdue", "due_basis": "order"})
    }

    fn render(c: &Case, me: &str) -> String {
        body(
            Lang::En,
            "tok",
            &officer(me),
            c,
            &clocks(),
            &Extra::default(),
        )
        .into_string()
    }

    #[test]
    fn the_registrar_sees_why_not_and_another_officer_sees_approve_and_reject() {
        let c = case();
        let mine = render(&c, "anna");
        assert!(mine.contains("id=\"four-eyes-note\""), "{mine}");
        assert!(!mine.contains("id=\"approve\"") && !mine.contains("id=\"reject\""));
        assert!(mine.contains("id=\"case-state\""));
        assert!(mine.contains(&format!(
            "<code id=\"order-sha256\">{}</code>",
            "ab".repeat(32)
        )));
        // Another user name of the same person is the same pair of eyes.
        let mut alias = officer("anna-2");
        alias.person = "E-anna".into();
        let same = body(Lang::En, "tok", &alias, &c, &clocks(), &Extra::default()).into_string();
        assert!(same.contains("id=\"four-eyes-note\""));
        let other = render(&c, "bert");
        assert!(!other.contains("four-eyes-note"));
        for id in ["approve", "reject", "reason"] {
            assert!(other.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(other.contains("action=\"/desk/cases/C-2026-0001/approve\""));
        assert!(other.contains("name=\"_csrf\" value=\"tok\""));
        assert!(other.contains("<ol id=\"timeline\">"));
    }

    #[test]
    fn an_answered_access_case_links_its_letter_as_pdf_and_html_but_not_while_held() {
        let req = NewCase {
            request_type: "access".into(),
            authority: "the data subject".into(),
            case_number: "DSAR-1".into(),
            scope: vec![ScopeItem {
                subscriber: Some("sub-1".into()),
                ..ScopeItem::default()
            }],
            ..NewCase::default()
        };
        let mut c = Case::registered("C-2026-0003".into(), req, "anna", 1_795_168_800);
        let (anna, bert) = (
            Officer {
                name: "anna",
                person: "E-anna",
            },
            Officer {
                name: "bert",
                person: "E-bert",
            },
        );
        c.approve(&bert, 1).unwrap();
        c.executed(&anna, 2, vec![], vec![7], true);
        let held = render(&c, "carl");
        assert!(!held.contains("id=\"letter-pdf\""), "no letter while held");
        c.release(&bert, 3).unwrap();
        let html = render(&c, "carl");
        assert!(
            html.contains("href=\"/desk/cases/C-2026-0003/letter.pdf\"")
                && html.contains("href=\"/desk/cases/C-2026-0003/letter.html\""),
            "{html}"
        );
        assert!(
            !html.contains("id=\"report-pdf\""),
            "an access case has no report"
        );
    }

    #[test]
    fn a_held_answer_shows_no_identity_and_only_another_officer_may_release_it() {
        let mut c = case();
        c.approve(
            &Officer {
                name: "bert",
                person: "E-bert",
            },
            1,
        )
        .unwrap();
        let item = ReportItem {
            number: 1,
            asked: serde_json::to_value(&c.request.scope[0]).unwrap(),
            at_utc: Some(1_795_168_800),
            window: None,
            status: "found".into(),
            record_status: RecordStatus::Complete,
            subscriber: Some("sub-secret".into()),
            identity: Some(DisclosedIdentity {
                name: "Hemlig Person".into(),
                street: Some("Gatan 1".into()),
                postal_code: None,
                city: None,
                customer_id: None,
                personal_number: None,
                protected_identity: true,
            }),
            evidence: vec![serde_json::json!({"subscriber": "sub-secret",
                "start": "2026-11-20T09:00:00Z", "source": "bng"})],
            warnings: vec![],
        };
        c.executed(
            &Officer {
                name: "anna",
                person: "E-anna",
            },
            2,
            vec![item],
            vec![7],
            true,
        );
        for me in ["anna", "bert"] {
            let html = render(&c, me);
            assert!(
                !html.contains("Hemlig") && !html.contains("sub-secret"),
                "{me}: {html}"
            );
            assert!(html.contains("data-status=\"found\""));
            assert!(html.contains("class=\"explain\""));
            assert!(html.contains("id=\"hold\""));
            assert!(!html.contains("id=\"report-json\""), "no report while held");
        }
        let anna = render(&c, "anna");
        assert!(anna.contains("id=\"release-note\"") && !anna.contains("id=\"release\""));
        let bert = render(&c, "bert");
        assert!(bert.contains("id=\"release\""));
        c.release(
            &Officer {
                name: "bert",
                person: "E-bert",
            },
            3,
        )
        .unwrap();
        let after = render(&c, "carl");
        assert!(after.contains("Hemlig Person") && after.contains("sub-secret"));
        for id in [
            "report-html",
            "report-json",
            "report-xml",
            "report-pdf",
            "report-pack",
        ] {
            assert!(after.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(after.contains("data-step=\"released\""));
    }

    #[test]
    fn a_refused_lookup_shows_its_code_and_what_it_means() {
        let mut c = case();
        c.approve(
            &Officer {
                name: "bert",
                person: "E-bert",
            },
            1,
        )
        .unwrap();
        let x = Extra {
            lookup: Lookup {
                addr: "203.0.113.8".into(),
                answer: Some(Err(("case.out_of_scope".into(), "outside".into()))),
                ..Lookup::default()
            },
            ..Extra::default()
        };
        let html = body(Lang::Sv, "tok", &officer("bert"), &c, &clocks(), &x).into_string();
        assert!(html.contains("id=\"error\""));
        assert!(html.contains("[case.out_of_scope]"));
        assert!(html.contains(Lang::Sv.t("err.case.out_of_scope")));
        assert!(html.contains("value=\"203.0.113.8\""), "the input is kept");
        assert!(html.contains("id=\"execute\""));
    }

    #[test]
    fn every_status_type_state_and_refusal_has_its_words_in_both_languages() {
        for s in crate::report::STATUSES {
            assert_ne!(
                crate::report::explain_status(s),
                crate::report::explain_status("?"),
                "{s} is one of report's statuses"
            );
            for l in [Lang::Sv, Lang::En] {
                for k in [
                    format!("status.{s}"),
                    format!("status.{s}.means"),
                    format!("status.{s}.write"),
                ] {
                    assert!(l.lookup(&k).is_some(), "{k}");
                }
            }
        }
        for k in RequestType::ALL {
            assert!(Lang::Sv.lookup(&format!("kind.{}", k.as_str())).is_some());
        }
        for s in [
            "registered",
            "approved",
            "executed",
            "disclosed",
            "rejected",
            "released",
        ] {
            assert!(Lang::En.lookup(&format!("state.{s}")).is_some(), "{s}");
        }
        for code in [
            "case.four_eyes",
            "case.out_of_scope",
            "case.not_in_force",
            "case.wrong_state",
            "case.held_protected_identity",
            "case.expired",
            "case.invalid",
        ] {
            assert!(Lang::Sv.lookup(&format!("err.{code}")).is_some(), "{code}");
        }
    }
}
