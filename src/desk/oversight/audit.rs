//! The auditor's audit log (filtered by actor, case, action and Stockholm days, newest first,
//! 50 a page) and its verification with the signed head to record off the box.

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde_json::Value;

use super::{answer, date_field, day_end, day_start, invalid, refused, status_of, when_text};
use crate::desk::i18n::Lang;
use crate::desk::{only, page, Desk, Posted};
use crate::legal::auth::Role;
use crate::legal::service::{AuditFilter, ExpectedHead};

/// Entries a page shows.
pub const PAGE: usize = 50;
/// The longest filter text kept (an entry's fields are at most 64 bytes).
const FIELD: usize = 64;

/// The log page's query as given (kept for the form and the paging links).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Asked {
    actor: String,
    case: String,
    action: String,
    from: String,
    to: String,
    page: usize,
}

impl Asked {
    fn of(q: &HashMap<String, String>) -> Asked {
        let text = |k: &str| {
            let v = q.get(k).map(|s| s.trim()).unwrap_or("");
            v.chars().take(FIELD).collect::<String>()
        };
        Asked {
            actor: text("actor"),
            case: text("case"),
            action: text("action"),
            from: text("from"),
            to: text("to"),
            page: q
                .get("page")
                .and_then(|p| p.trim().parse::<usize>().ok())
                .filter(|&p| p >= 1)
                .unwrap_or(1)
                .min(1_000_000),
        }
    }

    /// The service's filter; the error names the date that is not one.
    fn filter(&self) -> Result<AuditFilter, String> {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let from = date_field(&self.from)?;
        let to = date_field(&self.to)?;
        Ok(AuditFilter {
            actor: opt(&self.actor),
            case: opt(&self.case),
            action: opt(&self.action),
            from: from.and_then(day_start),
            to: to.and_then(day_end),
        })
    }

    /// The URL of page `n` of the same search.
    fn link(&self, n: usize) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("actor", &self.actor),
            ("case", &self.case),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        q.append_pair("page", &n.to_string());
        format!("/desk/audit?{}", q.finish())
    }

    /// The URL of the log filtered by one field alone.
    fn only(field: &str, value: &str) -> String {
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair(field, value)
            .finish();
        format!("/desk/audit?{q}")
    }
}

/// Actions the log holds, offered as suggestions for the action field.
const ACTIONS: &[&str] = &[
    "case_create",
    "case_get",
    "case_list",
    "case_approve",
    "case_reject",
    "case_execute",
    "case_item",
    "case_lookup",
    "case_release",
    "case_report",
    "case_report_copy",
    "disclosure_override",
    "abuse_lookup",
    "access_extract",
    "access_letter",
    "audit_read",
    "audit_verify",
    "audit_head",
    "statistics",
    "user_add",
    "user_approve",
    "user_revoke",
    "user_list",
    "user_reset_password",
    "admin_bootstrap",
    "identity_import",
    "import_handoff",
    "quarantine_read",
    "quarantine_show_raw",
    "quarantine_expire",
    "partition_drop",
    "refusals_summarised",
    "desk_signin_password",
    "desk_password_changed",
    "desk_totp_enrolled",
    "desk_signin_code",
    "desk_signin",
    "desk_signout",
];

fn filter_form(l: Lang, a: &Asked) -> Markup {
    html! {
        form #audit-filter method="get" action="/desk/audit" {
            fieldset {
                legend { (l.t("audit.filter")) }
                label for="actor" { (l.t("audit.actor")) }
                input #actor name="actor" type="text" value=(a.actor) maxlength=(FIELD)
                    autocomplete="off" aria-describedby="actor-hint";
                p #actor-hint .hint { (l.t("audit.actor_hint")) }
                label for="case" { (l.t("audit.case")) }
                input #case name="case" type="text" value=(a.case) maxlength=(FIELD) autocomplete="off";
                label for="action" { (l.t("audit.action")) }
                input #action name="action" type="text" value=(a.action) maxlength=(FIELD)
                    list="actions" autocomplete="off";
                datalist #actions {
                    @for act in ACTIONS { option value=(act) {} }
                }
                label for="from" { (l.t("audit.from")) }
                input #from name="from" type="date" value=(a.from) aria-describedby="days-hint";
                label for="to" { (l.t("audit.to")) }
                input #to name="to" type="date" value=(a.to) aria-describedby="days-hint";
                p #days-hint .hint { (l.t("audit.days_hint")) }
                button #search type="submit" { (l.t("audit.search")) }
                " "
                a.button.secondary #clear href="/desk/audit" { (l.t("audit.clear")) }
            }
        }
    }
}

fn text_or_dash(v: &Value) -> Markup {
    html! {
        @match v.as_str() {
            Some(s) if !s.is_empty() => (s),
            _ => "—",
        }
    }
}

fn entry_row(l: Lang, e: &Value) -> Markup {
    let seq = e["seq"].as_u64().unwrap_or(0);
    let query = match &e["query"] {
        Value::Null => None,
        q => Some(q.to_string()),
    };
    html! {
        tr.entry data-seq=(seq) {
            td.num { (seq) }
            td { (when_text(e["time"].as_str())) }
            td {
                @match e["actor"].as_str() {
                    Some(a) => a href=(Asked::only("actor", a)) { (a) },
                    None => "—",
                }
            }
            td { (text_or_dash(&e["role"])) }
            td.mono { (text_or_dash(&e["peer"])) }
            td {
                code { (text_or_dash(&e["action"])) }
                @if let Some(q) = &query {
                    details {
                        summary { (l.t("audit.query")) }
                        code.query { (q) }
                    }
                }
            }
            td {
                @match e["case"].as_str() {
                    Some(c) => a href=(Asked::only("case", c)) { (c) },
                    None => "—",
                }
            }
            td { code { (text_or_dash(&e["outcome"])) } }
            td.num { (e["result_count"].as_u64().unwrap_or(0)) }
        }
    }
}

/// The table of a page of entries, and the paging around it.
pub(super) fn results(l: Lang, a: &Asked, entries: &[Value], total: u64) -> Markup {
    let pages = total.div_ceil(PAGE as u64).max(1) as usize;
    html! {
        p #audit-count role="status" {
            (l.t("audit.page")) " " (a.page) " " (l.t("audit.of")) " " (pages)
            " · " (total) " " (l.t("audit.matched"))
        }
        @if entries.is_empty() {
            p #audit-empty { (l.t("audit.none")) }
        } @else {
            table #audit {
                caption { (l.t("audit.caption")) }
                thead {
                    tr {
                        th scope="col" { (l.t("audit.seq")) }
                        th scope="col" { (l.t("audit.time")) }
                        th scope="col" { (l.t("audit.actor")) }
                        th scope="col" { (l.t("audit.role")) }
                        th scope="col" { (l.t("audit.peer")) }
                        th scope="col" { (l.t("audit.action")) }
                        th scope="col" { (l.t("audit.case")) }
                        th scope="col" { (l.t("audit.outcome")) }
                        th scope="col" { (l.t("audit.count")) }
                    }
                }
                tbody {
                    @for e in entries { (entry_row(l, e)) }
                }
            }
        }
        nav #audit-pages aria-label=(l.t("audit.paging")) {
            @if a.page > 1 {
                a #prev rel="prev" href=(a.link(a.page - 1)) { "← " (l.t("audit.newer")) }
                " "
            }
            @if a.page < pages {
                a #next rel="next" href=(a.link(a.page + 1)) { (l.t("audit.older")) " →" }
            }
        }
    }
}

/// GET /desk/audit: the filter form and a page of matching entries.
pub(super) async fn log(d: Desk, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Err(n) = only(&d, &[Role::Auditor]) {
        return n.into_response();
    }
    let l = d.lang;
    let a = Asked::of(&q);
    let title = l.t("audit.title");
    let filter = match a.filter() {
        Ok(f) => f,
        Err(bad) => {
            let body = html! {
                (invalid(l, "audit.bad_date", &bad))
                (filter_form(l, &a))
            };
            return answer(StatusCode::BAD_REQUEST, d.page(title, body));
        }
    };
    let offset = (a.page - 1).saturating_mul(PAGE);
    let out = d
        .call(move |svc, c| svc.audit_search(c, &filter, offset, PAGE))
        .await;
    match out {
        Ok((entries, total)) => {
            let body = html! {
                p.hint { (l.t("audit.intro")) }
                (filter_form(l, &a))
                (results(l, &a, &entries, total))
            };
            d.page(title, body)
        }
        Err(e) => {
            let body = html! { (refused(l, &e)) (filter_form(l, &a)) };
            answer(status_of(&e), d.page(title, body))
        }
    }
}

fn verify_form_body(d: &Desk, expect: &str) -> Markup {
    let l = d.lang;
    html! {
        p { (l.t("verify.intro")) }
        form #verify-form method="post" action="/desk/audit/verify" {
            (page::csrf_field(&d.ctx()))
            label for="expect-head" { (l.t("verify.expect")) }
            input #expect-head name="expect_head" type="text" value=(expect)
                placeholder="SEQ:HASH" autocomplete="off" spellcheck="false"
                aria-describedby="expect-hint";
            p #expect-hint .hint { (l.t("verify.expect_hint")) }
            button #verify type="submit" { (l.t("verify.run")) }
        }
    }
}

/// GET /desk/audit/verify: the form.
pub(super) async fn verify_form(d: Desk) -> Response {
    if let Err(n) = only(&d, &[Role::Auditor]) {
        return n.into_response();
    }
    d.page(d.lang.t("verify.title"), verify_form_body(&d, ""))
}

/// What `audit_verify` answered, in plain words.
pub(super) fn verify_result(l: Lang, v: &Value) -> Markup {
    let num = |k: &str| v[k].as_u64().map(|n| n.to_string()).unwrap_or("—".into());
    if v["intact"] == true {
        html! {
            section #verify-result .notice role="status" data-intact="true" {
                h2 { (l.t("verify.intact")) }
                dl.kv {
                    dt { (l.t("verify.entries")) } dd { (num("entries")) }
                    dt { (l.t("verify.checkpoints")) } dd { (num("checkpoints")) }
                    dt { (l.t("verify.head_seq")) } dd { (num("head_seq")) }
                    dt { (l.t("verify.checkpointed")) } dd { (num("checkpointed_seq")) }
                }
                @if let Some(h) = v["extends_head"].as_str() {
                    p #extends { (l.t("verify.extends")) " " code { (h) } }
                } @else {
                    p.hint { (l.t("verify.no_expect")) }
                }
            }
        }
    } else {
        let code = v["code"].as_str().unwrap_or("audit.corrupt");
        let plain = l
            .lookup(&format!("err.{code}"))
            .unwrap_or(l.t("verify.broken_generic"));
        html! {
            section #verify-result .error role="alert" data-intact="false" data-code=(code) {
                h2 { (l.t("verify.broken")) }
                p { (plain) " " code.code { "[" (code) "]" } }
                dl.kv {
                    dt { (l.t("verify.file")) } dd.mono { (text_or_dash(&v["file"])) }
                    dt { (l.t("verify.line")) } dd { (num("line")) }
                    dt { (l.t("verify.seq")) } dd { (num("seq")) }
                    dt { (l.t("verify.reason")) } dd { (text_or_dash(&v["reason"])) }
                }
                p { (l.t("verify.broken_next")) }
            }
        }
    }
}

/// The signed head, with what the auditor is to do with it.
pub(super) fn head(l: Lang, h: &Value) -> Markup {
    let seq = h["seq"].as_u64().unwrap_or(0);
    let hash = h["hash"].as_str().unwrap_or("");
    let record = format!("{seq}:{hash}");
    html! {
        section #head aria-labelledby="head-title" {
            h2 #head-title { (l.t("verify.head")) }
            p.warn { (l.t("verify.record")) }
            p { code #head-record .mono { (record) } }
            dl.kv {
                dt { (l.t("verify.head_seq")) } dd #head-seq { (seq) }
                dt { (l.t("verify.hash")) } dd.mono #head-hash { (hash) }
                dt { (l.t("verify.signed_at")) } dd { (when_text(h["time"].as_str())) }
                dt { (l.t("verify.signature")) } dd.mono #head-signature { (text_or_dash(&h["signature"])) }
                dt { (l.t("verify.key_id")) } dd.mono #head-key-id { (text_or_dash(&h["key_id"])) }
                dt { (l.t("verify.public_key")) } dd.mono { (text_or_dash(&h["public_key"])) }
            }
        }
    }
}

/// POST /desk/audit/verify: re-walks the chain (against the recorded head, when given), then
/// signs the head for the auditor to record.
pub(super) async fn verify(p: Posted) -> Response {
    let d = &p.desk;
    if let Err(n) = only(d, &[Role::Auditor]) {
        return n.into_response();
    }
    let l = d.lang;
    let title = l.t("verify.title");
    let given = p.get("expect_head").to_string();
    let expect = if given.is_empty() {
        None
    } else {
        match given.parse::<ExpectedHead>() {
            Ok(h) => Some(h),
            Err(why) => {
                let body = html! {
                    (invalid(l, "verify.bad_head", &why))
                    (verify_form_body(d, &given))
                };
                return answer(StatusCode::BAD_REQUEST, d.page(title, body));
            }
        }
    };
    let checked = d
        .call(move |svc, c| svc.audit_verify(c, expect.as_ref()))
        .await;
    let result = match checked {
        Ok(v) => verify_result(l, &v),
        Err(e) => {
            let body = html! { (refused(l, &e)) (verify_form_body(d, &given)) };
            return answer(status_of(&e), d.page(title, body));
        }
    };
    let signed = match d.call(|svc, c| svc.audit_head(c)).await {
        Ok(h) => head(l, &h),
        Err(e) => refused(l, &e),
    };
    let body = html! {
        (result)
        (signed)
        (verify_form_body(d, &given))
    };
    d.page(title, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn asked(pairs: &[(&str, &str)]) -> Asked {
        Asked::of(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The paging links keep the filter, and the days are Stockholm days.
    #[test]
    fn paging_keeps_the_filter() {
        let a = asked(&[
            ("actor", "lena"),
            ("case", "C 1&2"),
            ("from", "2026-11-20"),
            ("to", "2026-11-20"),
            ("page", "2"),
        ]);
        let f = a.filter().unwrap();
        assert_eq!(f.actor.as_deref(), Some("lena"));
        assert_eq!(f.action, None);
        assert_eq!(f.to.unwrap() - f.from.unwrap(), 86_400);
        let body = results(Lang::En, &a, &[], 120).into_string();
        assert!(body.contains("page=1"), "{body}");
        assert!(body.contains("id=\"next\""), "{body}");
        for part in [
            "actor=lena",
            "case=C+1%262",
            "from=2026-11-20",
            "to=2026-11-20",
        ] {
            assert!(body.contains(part), "{part} in {body}");
        }
        // Page 3 of 3 has no next link; a bad page number is page 1.
        let last = asked(&[("page", "3")]);
        let body = results(Lang::En, &last, &[], 120).into_string();
        assert!(!body.contains("id=\"next\"") && body.contains("id=\"prev\""));
        assert_eq!(asked(&[("page", "x")]).page, 1);
        assert!(asked(&[("from", "20/11/2026")]).filter().is_err());
    }

    #[test]
    fn a_row_shows_the_entry_and_links_its_actor_and_case() {
        let e = json!({"seq": 7, "time": "2026-11-20T10:00:00Z", "actor": "lena",
                       "role": "desk:legal", "peer": "192.0.2.9:4000", "action": "case_get",
                       "case": "C-1", "query": {"id": "C-1"}, "outcome": "ok",
                       "result_count": 1});
        let a = asked(&[]);
        let body = results(Lang::Sv, &a, &[e], 1).into_string();
        assert!(body.contains("<table id=\"audit\""), "{body}");
        assert!(body.contains("class=\"entry\" data-seq=\"7\""), "{body}");
        assert!(
            body.contains("2026-11-20 11:00:00 CET"),
            "Stockholm time: {body}"
        );
        assert!(body.contains("href=\"/desk/audit?actor=lena\""), "{body}");
        assert!(body.contains("href=\"/desk/audit?case=C-1\""), "{body}");
    }

    #[test]
    fn a_broken_log_is_said_in_plain_words_with_its_code() {
        let v = json!({"intact": false, "code": "audit.hash_mismatch",
                       "file": "audit-000001.log", "line": 3, "seq": 3,
                       "reason": "entry bytes do not match its hash (edited)"});
        let body = verify_result(Lang::En, &v).into_string();
        assert!(body.contains("data-intact=\"false\""), "{body}");
        assert!(body.contains("[audit.hash_mismatch]"), "{body}");
        assert!(
            body.contains(Lang::En.t("err.audit.hash_mismatch")),
            "{body}"
        );
        assert!(body.contains("audit-000001.log"), "{body}");
        let ok = json!({"intact": true, "entries": 9, "checkpoints": 2, "head_seq": 9,
                        "checkpointed_seq": 9, "extends_head": null});
        let body = verify_result(Lang::En, &ok).into_string();
        assert!(body.contains("data-intact=\"true\""), "{body}");
    }
}
