//! Registering a case: the choice of request type, the form of each type (fields named as on
//! the documents), the live check of the pasted scope, and the multipart POST that validates
//! everything, shows every problem next to its field or line (the input kept), and on success
//! registers the case, stores the scanned order and goes to the case.

use std::collections::BTreeMap;

use axum::extract::{Multipart, Path};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde_json::json;

use super::annex::{self, Plan};
use super::kind_name;
use crate::config::Config;
use crate::desk::i18n::Lang;
use crate::desk::page;
use crate::desk::{csrf_ok, only, Desk, NotIn, Posted};
use crate::legal::auth::Role;
use crate::legal::case::{CaseError, NewCase, RequestType};
use crate::legal::service::LegalError;

/// The most the text fields of the form may take together (the order's file aside).
pub const FORM_MAX: usize = 1024 * 1024;

/// The request types, in the order they are offered.
const KINDS: [RequestType; 5] = [
    RequestType::Ipred,
    RequestType::LawEnforcement,
    RequestType::Preservation,
    RequestType::Abuse,
    RequestType::Access,
];

/// Whether the order comes from a court or authority, with a decision and a scan.
fn external(k: RequestType) -> bool {
    !matches!(k, RequestType::Abuse | RequestType::Access)
}

fn when_to_use(l: Lang, k: RequestType) -> &'static str {
    match k {
        RequestType::Ipred => l.t("new.when.ipred"),
        RequestType::LawEnforcement => l.t("new.when.law_enforcement"),
        RequestType::Preservation => l.t("new.when.preservation"),
        RequestType::Abuse => l.t("new.when.abuse"),
        RequestType::Access => l.t("new.when.access"),
    }
}

pub async fn choose(d: Desk) -> Result<Response, NotIn> {
    only(&d, &[Role::Legal])?;
    let l = d.lang;
    let body = html! {
        p { (l.t("new.intro")) }
        ul.kinds {
            @for k in KINDS {
                li {
                    a id={ "new-" (k.as_str()) } href={ "/desk/cases/new/" (k.as_str()) } {
                        (kind_name(l, k.as_str()))
                    }
                    p.hint { (when_to_use(l, k)) }
                }
            }
        }
    };
    Ok(d.page(l.t("new.title"), body))
}

/// The form as typed.
#[derive(Debug, Default, Clone)]
pub struct Input {
    pub authority: String,
    pub case_number: String,
    pub decision_date: String,
    pub legal_force_date: String,
    pub deadline: String,
    pub preserve_until: String,
    pub notes: String,
    pub scope: String,
}

/// A line of the scope as the check shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Shown {
    pub n: usize,
    pub ok: bool,
    pub warn: bool,
    pub text: String,
    pub reason: String,
}

/// What is wrong with a posted form: by field, and by scope line.
#[derive(Debug, Default)]
pub struct Problems {
    pub fields: BTreeMap<&'static str, Vec<String>>,
    pub lines: Vec<Shown>,
}

impl Problems {
    fn add(&mut self, field: &'static str, why: impl Into<String>) {
        self.fields.entry(field).or_default().push(why.into());
    }
    fn count(&self) -> usize {
        self.fields.values().map(Vec::len).sum::<usize>()
    }
}

/// The scope's lines read against the operator's address plan.
pub fn read_scope(cfg: &Config, kind: Option<RequestType>, text: &str) -> Vec<annex::Line> {
    let ours = |ip| cfg.address_space.is_empty() || cfg.is_our_address(ip);
    let cgnat = |ip| cfg.is_cgnat_public(ip);
    annex::read(
        kind,
        text,
        &Plan {
            is_ours: &ours,
            is_cgnat: &cgnat,
        },
    )
}

/// A line as shown: what was understood, and what is wrong or worth a look.
pub fn shown(l: Lang, line: &annex::Line) -> Shown {
    let warn = !line.warnings.is_empty();
    let warnings = || {
        line.warnings
            .iter()
            .map(|w| w.explain(l))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match &line.item {
        Ok((_, understood)) => Shown {
            n: line.n,
            ok: true,
            warn,
            text: understood.clone(),
            reason: if warn {
                warnings()
            } else {
                l.t("annex.ok").into()
            },
        },
        Err(w) => Shown {
            n: line.n,
            ok: false,
            warn,
            text: line.raw.clone(),
            reason: w.explain(l),
        },
    }
}

fn summary(l: Lang, lines: &[Shown]) -> String {
    let bad = lines.iter().filter(|s| !s.ok).count();
    let warn = lines.iter().filter(|s| s.ok && s.warn).count();
    l.t("annex.summary")
        .replace("{n}", &lines.len().to_string())
        .replace("{ok}", &(lines.len() - bad - warn).to_string())
        .replace("{warn}", &warn.to_string())
        .replace("{bad}", &bad.to_string())
}

/// POST /desk/cases/check: the pasted scope, line by line, as JSON for the live check.
pub async fn check(p: Posted) -> Response {
    if let Err(e) = only(&p.desk, &[Role::Legal]) {
        return e.into_response();
    }
    let l = p.desk.lang;
    let text = p.form.get("text").map(String::as_str).unwrap_or("");
    if text.len() > FORM_MAX {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let kind = RequestType::parse(p.get("type"));
    let lines: Vec<Shown> = read_scope(p.desk.state.service.config(), kind, text)
        .iter()
        .map(|x| shown(l, x))
        .collect();
    let body = json!({"lines": lines, "summary": summary(l, &lines)});
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub async fn form(d: Desk, Path(kind): Path<String>) -> Result<Response, NotIn> {
    only(&d, &[Role::Legal])?;
    let Some(k) = RequestType::parse(&kind) else {
        let body = page::error_box(d.lang, "request.invalid", d.lang.t("new.no_such_type"));
        return Ok((StatusCode::NOT_FOUND, d.page(d.lang.t("new.title"), body)).into_response());
    };
    let body = form_body(d.lang, &d.csrf, k, &Input::default(), &Problems::default());
    Ok(d.page(&title(d.lang, k), body))
}

fn title(l: Lang, k: RequestType) -> String {
    format!("{}: {}", l.t("new.title"), kind_name(l, k.as_str()))
}

/// The names of the authority and its number, as the documents of each type call them.
fn labels(l: Lang, k: RequestType) -> (&'static str, &'static str) {
    match k {
        RequestType::Abuse => (l.t("field.abuse_team"), l.t("field.ticket")),
        RequestType::Access => (l.t("field.requester"), l.t("field.reference")),
        _ => (l.t("field.authority"), l.t("field.case_number")),
    }
}

fn scope_hint(l: Lang, k: RequestType) -> &'static str {
    match k {
        RequestType::Access => l.t("new.scope_hint.access"),
        RequestType::Ipred => l.t("new.scope_hint.ipred"),
        _ => l.t("new.scope_hint.other"),
    }
}

/// One labelled input with its hint and problems.
fn field(
    p: &Problems,
    id: &'static str,
    label: &str,
    kind: &str,
    value: &str,
    required: bool,
    hint: Option<&str>,
) -> Markup {
    let errs = p.fields.get(id);
    let described = format!(
        "{}{}",
        if hint.is_some() {
            format!("{id}-hint ")
        } else {
            String::new()
        },
        if errs.is_some() {
            format!("{id}-problem")
        } else {
            String::new()
        }
    );
    html! {
        div.field {
            label for=(id) { (label) @if required { " *" } }
            @if let Some(h) = hint { p.hint id={ (id) "-hint" } { (h) } }
            @if let Some(errs) = errs {
                p.error id={ (id) "-problem" } { @for e in errs { (e) " " } }
            }
            input id=(id) name=(id) type=(kind) value=(value) required[required]
                aria-invalid=[errs.map(|_| "true")]
                aria-describedby=[(!described.trim().is_empty()).then(|| described.trim().to_string())];
        }
    }
}

/// The table of checked lines (filled by the script as one types, or by the server after a
/// POST without it).
fn lines_table(l: Lang, lines: &[Shown]) -> Markup {
    html! {
        table #scope-check hidden[lines.is_empty()] {
            caption { (l.t("new.check_caption")) }
            thead { tr {
                th scope="col" { (l.t("new.check_line")) }
                th scope="col" { (l.t("new.check_read")) }
                th scope="col" { (l.t("new.check_verdict")) }
            } }
            tbody {
                @for s in lines {
                    tr.line data-ok=(s.ok) data-warn=(s.warn) {
                        td { (s.n) }
                        td.mono { (s.text) }
                        td.state { (s.reason) }
                    }
                }
            }
        }
    }
}

pub fn form_body(l: Lang, csrf: &str, k: RequestType, i: &Input, p: &Problems) -> Markup {
    let (authority, number) = labels(l, k);
    let ext = external(k);
    let order_errs = p.fields.get("order");
    let scope_errs = p.fields.get("scope");
    html! {
        @if p.count() > 0 || p.lines.iter().any(|s| !s.ok) {
            (page::error_box(l, "case.invalid", l.t("new.not_registered")))
        }
        p { (when_to_use(l, k)) }
        p.hint { (l.t("new.required")) }
        form #case-form method="post" action="/desk/cases" enctype="multipart/form-data" {
            input type="hidden" name="_csrf" value=(csrf);
            input type="hidden" name="request_type" value=(k.as_str());
            (field(p, "authority", authority, "text", &i.authority, true, None))
            (field(p, "case_number", number, "text", &i.case_number, true, None))
            @if ext {
                (field(p, "decision_date", l.t("field.decision_date"), "date", &i.decision_date, true, None))
            }
            @if k == RequestType::Ipred {
                (field(p, "legal_force_date", l.t("field.legal_force_date"), "date",
                       &i.legal_force_date, true, Some(l.t("field.legal_force_hint"))))
            }
            (field(p, "deadline", l.t("field.deadline"), "date", &i.deadline, false,
                   Some(l.t("field.deadline_hint"))))
            @if k == RequestType::Preservation {
                (field(p, "preserve_until", l.t("field.preserve_until"), "date",
                       &i.preserve_until, true, Some(l.t("field.preserve_hint"))))
            }
            div.field {
                label for="order" { (l.t("field.order")) @if ext { " *" } }
                p.hint #order-hint { (l.t("field.order_hint")) }
                @if let Some(errs) = order_errs {
                    p.error #order-problem { @for e in errs { (e) " " } }
                }
                input #order name="order" type="file" accept=".pdf,image/*" required[ext]
                    aria-describedby={ "order-hint" @if order_errs.is_some() { " order-problem" } };
            }
            div.field {
                label for="scope" { (l.t("field.scope")) " *" }
                p.hint #scope-hint { (scope_hint(l, k)) }
                @if let Some(errs) = scope_errs {
                    p.error #scope-problem { @for e in errs { (e) " " } }
                }
                textarea #scope name="scope" rows="8" required spellcheck="false"
                    data-check="/desk/cases/check" data-into="scope-check" data-status="scope-summary"
                    aria-describedby={ "scope-hint scope-summary" @if scope_errs.is_some() { " scope-problem" } } {
                    (i.scope)
                }
                p #scope-summary role="status" aria-live="polite" {
                    @if !p.lines.is_empty() { (summary(l, &p.lines)) }
                }
                (lines_table(l, &p.lines))
            }
            div.field {
                label for="notes" { (l.t("field.notes")) }
                textarea #notes name="notes" rows="3" { (i.notes) }
            }
            button #register type="submit" { (l.t("new.register")) }
        }
    }
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Everything wrong with a posted form, and the request it makes when nothing is.
pub fn judge(
    l: Lang,
    cfg: &Config,
    k: RequestType,
    i: &Input,
    order: Option<&[u8]>,
) -> (NewCase, Problems) {
    let mut p = Problems::default();
    let lines = read_scope(cfg, Some(k), &i.scope);
    p.lines = lines.iter().map(|x| shown(l, x)).collect();
    // The i-th item of the request is the i-th good line.
    let good: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, x)| x.item.is_ok())
        .map(|(n, _)| n)
        .collect();
    let req = NewCase {
        request_type: k.as_str().into(),
        authority: i.authority.trim().into(),
        case_number: i.case_number.trim().into(),
        decision_date: opt(&i.decision_date),
        legal_force_date: opt(&i.legal_force_date),
        deadline: opt(&i.deadline),
        order_sha256: order.map(crate::report::sha256_hex).unwrap_or_default(),
        notes: i.notes.trim().into(),
        scope: lines
            .iter()
            .filter_map(|x| x.item.as_ref().ok().map(|(it, _)| it.clone()))
            .collect(),
        preserve_until: opt(&i.preserve_until),
        applicant: None,
    };
    if req.authority.is_empty() {
        p.add("authority", l.t("problem.authority"));
    }
    if req.case_number.is_empty() {
        p.add("case_number", l.t("problem.case_number"));
    }
    if external(k) && req.decision_date.is_none() {
        p.add("decision_date", l.t("problem.decision_date"));
    }
    if k == RequestType::Ipred && req.legal_force_date.is_none() {
        p.add("legal_force_date", l.t("problem.legal_force_date"));
    }
    if k == RequestType::Preservation && req.preserve_until.is_none() {
        p.add("preserve_until", l.t("problem.preserve_until"));
    }
    if external(k) && order.is_none() {
        p.add("order", l.t("problem.order"));
    }
    let bad = p.lines.iter().filter(|s| !s.ok).count();
    if lines.is_empty() {
        p.add("scope", l.t("problem.scope_empty"));
    } else if bad > 0 {
        p.add(
            "scope",
            l.t("problem.scope_lines").replace("{n}", &bad.to_string()),
        );
    }
    if let Err(found) = req.validate() {
        merge(l, &mut p, &good, found);
    }
    (req, p)
}

/// The scope rules' own problems, each next to its field or line (those already named by the
/// form's checks are not repeated).
fn merge(l: Lang, p: &mut Problems, good: &[usize], found: Vec<crate::legal::case::FieldProblem>) {
    for f in found {
        if let Some(i) = f
            .field
            .strip_prefix("scope[")
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|n| n.parse::<usize>().ok())
        {
            if let Some(s) = good.get(i).and_then(|n| p.lines.get_mut(*n)) {
                s.ok = false;
                s.reason = f.reason;
                let n = p.lines.iter().filter(|s| !s.ok).count();
                p.fields.insert(
                    "scope",
                    vec![l.t("problem.scope_lines").replace("{n}", &n.to_string())],
                );
            }
            continue;
        }
        let field: &'static str = match f.field.as_str() {
            "authority" => "authority",
            "case_number" => "case_number",
            "decision_date" => "decision_date",
            "legal_force_date" => "legal_force_date",
            "deadline" => "deadline",
            "preserve_until" => "preserve_until",
            "order_sha256" => "order",
            "scope" => "scope",
            _ => "request_type",
        };
        if !p.fields.contains_key(field) {
            p.add(field, f.reason);
        }
    }
}

/// A page refusing the form as a whole (not a field's problem).
fn refused(d: &Desk, status: StatusCode, code: &str, text: &str) -> Response {
    let body = page::error_box(d.lang, code, text);
    (status, d.page(d.lang.t("new.title"), body)).into_response()
}

/// POST /desk/cases (multipart): validates, registers, stores the scan, goes to the case.
pub async fn create(d: Desk, mut mp: Multipart) -> Response {
    if let Err(e) = only(&d, &[Role::Legal]) {
        return e.into_response();
    }
    let l = d.lang;
    let mut i = Input::default();
    let mut kind = String::new();
    let mut csrf = None;
    let mut order: Option<(Vec<u8>, String)> = None;
    let mut text_bytes = 0usize;
    loop {
        let f = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    "request.too_large"
                } else {
                    "request.invalid"
                };
                return refused(&d, e.status(), code, l.t("new.upload_failed"));
            }
        };
        let name = f.name().unwrap_or("").to_string();
        if name == "order" {
            let ctype = f.content_type().unwrap_or("").to_string();
            match f.bytes().await {
                Ok(b) if !b.is_empty() => order = Some((b.to_vec(), ctype)),
                Ok(_) => {}
                Err(e) => {
                    return refused(&d, e.status(), "request.invalid", l.t("new.upload_failed"))
                }
            }
            continue;
        }
        let text = match f.text().await {
            Ok(t) => t,
            Err(e) => return refused(&d, e.status(), "request.invalid", l.t("new.upload_failed")),
        };
        text_bytes += text.len();
        if text_bytes > FORM_MAX {
            return refused(
                &d,
                StatusCode::PAYLOAD_TOO_LARGE,
                "request.too_large",
                l.t("new.upload_failed"),
            );
        }
        let slot = match name.as_str() {
            "_csrf" => {
                csrf = Some(text);
                continue;
            }
            "request_type" => &mut kind,
            "authority" => &mut i.authority,
            "case_number" => &mut i.case_number,
            "decision_date" => &mut i.decision_date,
            "legal_force_date" => &mut i.legal_force_date,
            "deadline" => &mut i.deadline,
            "preserve_until" => &mut i.preserve_until,
            "notes" => &mut i.notes,
            "scope" => &mut i.scope,
            _ => continue,
        };
        *slot = text;
    }
    if !csrf_ok(csrf.as_deref(), &d.csrf) {
        return NotIn::Refused(l, "desk.csrf").into_response();
    }
    let Some(k) = RequestType::parse(kind.trim()) else {
        return refused(
            &d,
            StatusCode::BAD_REQUEST,
            "request.invalid",
            l.t("new.no_such_type"),
        );
    };
    let (req, mut p) = judge(
        l,
        d.state.service.config(),
        k,
        &i,
        order.as_ref().map(|o| o.0.as_slice()),
    );
    let again = |d: &Desk, p: &mut Problems| {
        if order.is_some() {
            p.add("order", l.t("problem.order_again"));
        }
        let body = form_body(l, &d.csrf, k, &i, p);
        (StatusCode::BAD_REQUEST, d.page(&title(l, k), body)).into_response()
    };
    if p.count() > 0 || p.lines.iter().any(|s| !s.ok) {
        return again(&d, &mut p);
    }
    let scan = order.clone();
    let done = d
        .call(move |svc, who| {
            let case = svc.create_case(who, req)?;
            let stored = match scan {
                Some((bytes, ctype)) => svc.case_order_put(who, &case.id, &bytes, &ctype).err(),
                None => None,
            };
            Ok((case.id, stored))
        })
        .await;
    match done {
        Ok((id, None)) => Redirect::to(&format!("/desk/cases/{id}")).into_response(),
        Ok((id, Some(e))) => {
            // The case exists; its scan did not land: say so on the way to the case.
            let body = html! {
                (page::error_box(l, e.code(), &e.to_string()))
                p { a href={ "/desk/cases/" (id) } { (l.t("new.to_case")) " " (id) } }
            };
            (
                crate::api::status_of(e.kind()),
                d.page(l.t("new.title"), body),
            )
                .into_response()
        }
        Err(LegalError::Case(CaseError::Invalid(found))) => {
            let good: Vec<usize> = (0..p.lines.len()).collect();
            merge(l, &mut p, &good, found);
            again(&d, &mut p)
        }
        Err(e) => d.error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(scope: &str) -> Input {
        Input {
            authority: "Patent- och marknadsdomstolen".into(),
            case_number: "PMÄ 1234-26".into(),
            decision_date: "2026-11-02".into(),
            legal_force_date: "2026-11-16".into(),
            scope: scope.into(),
            ..Input::default()
        }
    }

    #[test]
    fn a_whole_ipred_form_makes_the_request_the_api_would_take() {
        let cfg = Config::default();
        let (req, p) = judge(
            Lang::En,
            &cfg,
            RequestType::Ipred,
            &input("192.0.2.10:40000 2026-11-20 10:15 CET\n"),
            Some(b"scan"),
        );
        assert_eq!(p.count(), 0, "{p:?}");
        assert_eq!(req.order_sha256, crate::report::sha256_hex(b"scan"));
        assert_eq!(
            req.scope[0].at.as_deref(),
            Some("2026-11-20T10:15:00+01:00")
        );
        assert!(req.validate().is_ok());
    }

    #[test]
    fn every_problem_is_named_next_to_its_field_or_line() {
        let cfg = Config::default();
        let mut i = input("192.0.2.10 2026-11-20 10:15\n192.0.2.11 2026-11-20T10:15:00Z");
        i.authority.clear();
        i.legal_force_date.clear();
        let (_, p) = judge(Lang::Sv, &cfg, RequestType::Ipred, &i, None);
        for f in ["authority", "legal_force_date", "order", "scope"] {
            assert!(p.fields.contains_key(f), "{f} in {p:?}");
        }
        assert_eq!(
            p.lines.iter().map(|s| s.ok).collect::<Vec<_>>(),
            vec![false, true]
        );
        let html = form_body(Lang::Sv, "t", RequestType::Ipred, &i, &p).into_string();
        assert!(html.contains("id=\"authority-problem\""));
        assert!(html.contains("[case.invalid]"));
        assert!(html.contains("data-ok=\"false\""), "the bad line is shown");
        assert!(html.contains("192.0.2.11"), "the input is kept");
    }
}
