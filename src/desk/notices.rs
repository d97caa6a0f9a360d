//! The legal officer's pages for the IPRED notice (URL 53 h §) and the compensation ledger:
//! `/desk/notices` (every notice with its window and status; make the letter, release a
//! protected identity's letter, record the posting) and `/desk/ledger` (a period's rows and
//! totals per authority, with the CSV for invoicing). Each action is the API's Service
//! operation (same role, same audit entry, channel `desk`).

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde_json::Value;

use super::i18n::Lang;
use super::page;
use super::{only, Desk, DeskState, NotIn, Posted};
use crate::legal::auth::Role;
use crate::legal::ledger;
use crate::legal::notice::Status;

pub fn routes() -> Router<DeskState> {
    Router::new()
        .route("/desk/notices", get(list))
        .route("/desk/notices/{id}/{item}/letter", post(letter))
        .route("/desk/notices/{id}/{item}/release", post(release))
        .route("/desk/notices/{id}/{item}/sent", post(sent))
        .route("/desk/ledger", get(ledger_page))
        .route("/desk/ledger.csv", get(ledger_csv))
}

fn attachment(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"))
}

fn time(v: &Value, k: &str) -> Markup {
    match crate::report::parse_rfc3339(v[k].as_str().unwrap_or("")) {
        Some(t) => page::when(t),
        None => html! { "—" },
    }
}

fn status_name(l: Lang, s: &str) -> &'static str {
    l.lookup(&format!("notice.status.{s}")).unwrap_or("—")
}

fn table(d: &Desk, rows: &[Value]) -> Markup {
    let l = d.lang;
    let ctx = d.ctx();
    html! {
        @if rows.is_empty() {
            p.hint #notices-empty { (l.t("notice.empty")) }
        } @else {
            table #notices {
                caption { (l.t("notice.caption")) }
                thead { tr {
                    th scope="col" { (l.t("notice.case")) }
                    th scope="col" { (l.t("notice.item")) }
                    th scope="col" { (l.t("notice.disclosed")) }
                    th scope="col" { (l.t("notice.window")) }
                    th scope="col" { (l.t("notice.status")) }
                    th scope="col" { (l.t("notice.actions")) }
                } }
                tbody {
                    @for r in rows {
                        @let id = r["case"].as_str().unwrap_or("");
                        @let item = r["item"].as_u64().unwrap_or(0);
                        @let status = r["status"].as_str().unwrap_or("");
                        @let held = r["held"] == true;
                        @let base = format!("/desk/notices/{id}/{item}");
                        tr data-case=(id) data-item=(item) data-status=(status) {
                            td { a href={ "/desk/cases/" (id) } { (id) } }
                            td { (item) }
                            td { (time(r, "disclosed_at")) }
                            td { (time(r, "opens_at")) " – " (time(r, "closes_at")) }
                            td {
                                strong { (status_name(l, status)) }
                                @if held { br; (l.t("notice.held")) }
                                @if let Some(by) = r["sent_by"].as_str() {
                                    br; (l.t("notice.sent_by")) " " (by) " " (time(r, "sent_at"))
                                }
                            }
                            td {
                                @if status != "waiting" {
                                    form method="post" action={ (base) "/letter" } {
                                        (page::csrf_field(&ctx))
                                        select name="format" aria-label=(l.t("notice.format")) {
                                            option value="pdf" { "PDF" }
                                            option value="text" { (l.t("notice.text")) }
                                            option value="html" { (l.t("notice.html")) }
                                        }
                                        " "
                                        button type="submit" { (l.t("notice.make")) }
                                    }
                                }
                                @if held {
                                    form method="post" action={ (base) "/release" } {
                                        (page::csrf_field(&ctx))
                                        button type="submit" { (l.t("notice.release")) }
                                    }
                                }
                                @if r["letters"].as_u64().unwrap_or(0) > 0 && status != "sent" {
                                    form method="post" action={ (base) "/sent" } {
                                        (page::csrf_field(&ctx))
                                        button type="submit" { (l.t("notice.mark_sent")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The page, with a message above the list (a notice or a refusal).
async fn page_with(d: &Desk, status: Option<Status>, top: Markup, code: StatusCode) -> Response {
    let l = d.lang;
    let rows = match d.call(move |svc, who| svc.notices(who, status)).await {
        Ok(r) => r,
        Err(e) => return d.error(&e),
    };
    let filters = [
        ("", "notice.all"),
        ("waiting", "notice.status.waiting"),
        ("due", "notice.status.due"),
        ("late", "notice.status.late"),
        ("sent", "notice.status.sent"),
    ];
    let body = html! {
        (top)
        p { (l.t("notice.intro")) }
        nav aria-label=(l.t("notice.filter")) { ul.filters {
            @for (v, key) in filters {
                li { a href=(if v.is_empty() { "/desk/notices".to_string() } else { format!("/desk/notices?status={v}") })
                     aria-current=[(status.map(Status::as_str).unwrap_or("") == v).then_some("page")] { (l.t(key)) } }
            }
        } }
        (table(d, &rows))
    };
    (code, d.page(l.t("notice.title"), body)).into_response()
}

async fn list(d: Desk, Query(q): Query<HashMap<String, String>>) -> Result<Response, NotIn> {
    only(&d, &[Role::Legal])?;
    let status = q.get("status").and_then(|s| Status::parse(s));
    Ok(page_with(&d, status, html! {}, StatusCode::OK).await)
}

fn item_of(s: &str) -> u32 {
    s.parse().unwrap_or(0)
}

async fn letter(Path((id, item)): Path<(String, String)>, p: Posted) -> Response {
    if let Err(e) = only(&p.desk, &[Role::Legal]) {
        return e.into_response();
    }
    let d = &p.desk;
    let format = match p.get("format") {
        "html" => "html",
        "pdf" => "pdf",
        _ => "text",
    };
    let n = item_of(&item);
    let key = id.clone();
    match d
        .call(move |svc, who| svc.notice_letter(who, &key, n, format))
        .await
    {
        Ok(out) => {
            let ext = match format {
                "text" => "txt",
                other => other,
            };
            let safe: String = id
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            let mut r = ([(header::CONTENT_TYPE, out.content_type)], out.body).into_response();
            r.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                attachment(&format!("tdr-notice-{safe}-{n}.{ext}")),
            );
            r
        }
        Err(e) => {
            let top = page::error_box(d.lang, e.code(), &e.to_string());
            page_with(d, None, top, crate::api::status_of(e.kind())).await
        }
    }
}

async fn step(p: Posted, id: String, item: String, sent: bool) -> Response {
    if let Err(e) = only(&p.desk, &[Role::Legal]) {
        return e.into_response();
    }
    let d = &p.desk;
    let n = item_of(&item);
    let done = d
        .call(move |svc, who| {
            if sent {
                svc.notice_sent(who, &id, n)
            } else {
                svc.notice_release(who, &id, n)
            }
        })
        .await;
    match done {
        Ok(_) => {
            let key = if sent {
                "notice.done_sent"
            } else {
                "notice.done_release"
            };
            page_with(d, None, page::notice(d.lang.t(key)), StatusCode::OK).await
        }
        Err(e) => {
            let top = page::error_box(d.lang, e.code(), &e.to_string());
            page_with(d, None, top, crate::api::status_of(e.kind())).await
        }
    }
}

async fn release(Path((id, item)): Path<(String, String)>, p: Posted) -> Response {
    step(p, id, item, false).await
}

async fn sent(Path((id, item)): Path<(String, String)>, p: Posted) -> Response {
    step(p, id, item, true).await
}

/// A Stockholm day (`YYYY-MM-DD`) as the instant it starts; `next` = the day after it.
fn day_start(s: &str, next: bool) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    if next {
        crate::calendar::day_end(d)
    } else {
        crate::calendar::day_start(d)
    }
}

/// The period and authority a ledger request asks for: `from` and `to` are Stockholm days,
/// both included.
struct Period {
    from: String,
    to: String,
    authority: String,
}

impl Period {
    fn of(q: &HashMap<String, String>) -> Result<Period, String> {
        let get = |k: &str| q.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
        let p = Period {
            from: get("from"),
            to: get("to"),
            authority: get("authority"),
        };
        for d in [&p.from, &p.to] {
            if !d.is_empty() && day_start(d, false).is_none() {
                return Err(d.clone());
            }
        }
        Ok(p)
    }

    fn bounds(&self) -> (Option<i64>, Option<i64>, Option<String>) {
        (
            day_start(&self.from, false),
            day_start(&self.to, true),
            (!self.authority.is_empty()).then(|| self.authority.clone()),
        )
    }

    fn query(&self) -> String {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "from={}&to={}&authority={}",
            enc(&self.from),
            enc(&self.to),
            enc(&self.authority)
        )
    }
}

async fn ledger_page(d: Desk, Query(q): Query<HashMap<String, String>>) -> Result<Response, NotIn> {
    only(&d, &[Role::Legal])?;
    let l = d.lang;
    let form = |p: &Period| {
        html! {
            form #ledger-form method="get" action="/desk/ledger" {
                label { (l.t("ledger.from")) " " input type="date" name="from" value=(p.from); }
                " "
                label { (l.t("ledger.to")) " " input type="date" name="to" value=(p.to); }
                " "
                label { (l.t("ledger.authority")) " " input type="text" name="authority" value=(p.authority); }
                " "
                button type="submit" { (l.t("ledger.show")) }
            }
            p.hint { (l.t("ledger.days_hint")) }
        }
    };
    let period = match Period::of(&q) {
        Ok(p) => p,
        Err(bad) => {
            let empty = Period {
                from: String::new(),
                to: String::new(),
                authority: String::new(),
            };
            let body = html! {
                (page::error_box(l, "request.invalid", &format!("{} {bad}", l.t("ledger.bad_date"))))
                (form(&empty))
            };
            return Ok((StatusCode::BAD_REQUEST, d.page(l.t("ledger.title"), body)).into_response());
        }
    };
    let (from, to, authority) = period.bounds();
    let rows = match d
        .call(move |svc, who| svc.ledger(who, from, to, authority.as_deref()))
        .await
    {
        Ok(r) => r,
        Err(e) => return Ok(d.error(&e)),
    };
    let totals = ledger::totals(&rows);
    let body = html! {
        p { (l.t("ledger.intro")) }
        (form(&period))
        @if totals.is_empty() {
            p.hint #ledger-empty { (l.t("ledger.empty")) }
        } @else {
            table #ledger-totals {
                caption { (l.t("ledger.caption")) }
                thead { tr {
                    th scope="col" { (l.t("ledger.authority")) }
                    th scope="col" { (l.t("ledger.payer")) }
                    th scope="col" { (l.t("ledger.entries")) }
                    th scope="col" { (l.t("ledger.amount")) }
                } }
                tbody {
                    @for (authority, payer, n, ore) in &totals {
                        tr {
                            td { (authority) }
                            td { (l.lookup(&format!("ledger.payer.{payer}")).unwrap_or("—")) }
                            td { (n) }
                            td.num { (ledger::sek(*ore)) " kr" }
                        }
                    }
                }
            }
            @if rows.iter().any(|r| r.entry.amount_ore.is_none()) {
                p.hint #ledger-unrated { (l.t("ledger.unrated")) }
            }
            p { a.button #ledger-csv href={ "/desk/ledger.csv?" (period.query()) } { (l.t("ledger.csv")) } }
        }
    };
    Ok(d.page(l.t("ledger.title"), body))
}

async fn ledger_csv(d: Desk, Query(q): Query<HashMap<String, String>>) -> Result<Response, NotIn> {
    only(&d, &[Role::Legal])?;
    let Ok(period) = Period::of(&q) else {
        return Ok(StatusCode::BAD_REQUEST.into_response());
    };
    let (from, to, authority) = period.bounds();
    match d
        .call(move |svc, who| svc.ledger(who, from, to, authority.as_deref()))
        .await
    {
        Ok(rows) => {
            let mut r = (
                [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
                ledger::csv(&rows),
            )
                .into_response();
            r.headers_mut()
                .insert(header::CONTENT_DISPOSITION, attachment("tdr-ledger.csv"));
            Ok(r)
        }
        Err(e) => Ok(d.error(&e)),
    }
}
