//! The legal officer's pages: the inbox (overdue first), a new case per request type with its
//! scope read from the order's annex ([`annex`], [`new`]), the case page with its timeline,
//! four-eyes actions, results and reports ([`view`]), and the access-request (GDPR art. 15)
//! cases. Every page calls the same Service operation as the API (audited there); nothing here
//! reads the store, the register's files or the audit log.

pub mod annex;
#[cfg(test)]
mod flow;
pub mod new;
pub mod view;

use axum::extract::{DefaultBodyLimit, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDate;
use maud::{html, Markup};
use serde_json::Value;

use super::i18n::Lang;
use super::page;
use super::{only, Desk, DeskState, NotIn};
use crate::legal::auth::Role;

pub fn routes() -> Router<DeskState> {
    Router::new()
        .route(
            "/desk/cases",
            get(inbox).post(new::create).layer(DefaultBodyLimit::max(
                crate::legal::service::ORDER_MAX + new::FORM_MAX,
            )),
        )
        .route("/desk/cases/new", get(new::choose))
        .route("/desk/cases/new/{kind}", get(new::form))
        .route("/desk/cases/check", post(new::check))
        .route("/desk/access", get(access))
        .route("/desk/cases/{id}", get(view::show))
        .route("/desk/cases/{id}/order", get(view::order))
        .route("/desk/cases/{id}/{file}", get(view::report))
        .route("/desk/cases/{id}/approve", post(view::approve))
        .route("/desk/cases/{id}/reject", post(view::reject))
        .route("/desk/cases/{id}/execute", post(view::execute))
        .route("/desk/cases/{id}/release", post(view::release))
        .route("/desk/cases/{id}/lift", post(view::lift))
        .route("/desk/cases/{id}/preserve", post(view::preserve))
        .route("/desk/cases/{id}/lookup", post(view::lookup))
        .route("/desk/cases/{id}/extract", post(view::extract))
}

/// A request type in words.
pub fn kind_name(l: Lang, kind: &str) -> &'static str {
    l.lookup(&format!("kind.{kind}")).unwrap_or("—")
}

/// A state (or a timeline step) in words.
pub fn state_name(l: Lang, state: &str) -> &'static str {
    l.lookup(&format!("state.{state}")).unwrap_or("—")
}

pub use crate::calendar::stockholm_day;

/// States in which a case still waits for someone (a deadline can pass).
fn open(state: &str) -> bool {
    matches!(state, "registered" | "approved" | "executed")
}

/// One row of the inbox, from a case summary (with its clocks, `legal::due::clocks`).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub kind: String,
    pub authority: String,
    pub case_number: String,
    pub state: String,
    pub held: bool,
    /// The day the case is due (the order's deadline, or the default for its type).
    pub due: Option<NaiveDate>,
    /// `legal::due::Status::as_str`.
    pub due_status: String,
    /// Some of its data leaves retention before it is due.
    pub at_risk: bool,
    pub created_at: i64,
    pub overdue: bool,
}

impl Row {
    pub fn of(v: &Value) -> Row {
        let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
        let due = v["due_day"]
            .as_str()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let due_status = s("due_status");
        Row {
            id: s("id"),
            kind: s("request_type"),
            authority: s("authority"),
            case_number: s("case_number"),
            overdue: due_status == "overdue",
            held: !v["hold"].is_null(),
            at_risk: v.get("retention_risk").is_some(),
            state: s("state"),
            due,
            due_status,
            created_at: crate::report::parse_rfc3339(v["created_at"].as_str().unwrap_or(""))
                .unwrap_or(0),
        }
    }

    /// Whether someone still has to act on it.
    fn waiting(&self) -> bool {
        matches!(self.due_status.as_str(), "open" | "due_soon" | "overdue")
    }
}

/// The inbox's order: overdue first, then the other waiting cases by due day, then the
/// answered and ended ones, newest first.
pub fn sort(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        let key = |r: &Row| (!r.overdue, !r.waiting(), r.waiting().then_some(r.due));
        key(a)
            .cmp(&key(b))
            .then(b.created_at.cmp(&a.created_at))
            .then(a.id.cmp(&b.id))
    });
}

/// The filters of the inbox: (value, catalogue key).
const FILTERS: [(&str, &str); 8] = [
    ("", "inbox.all"),
    ("open", "inbox.open"),
    ("soon", "inbox.needs_action"),
    ("registered", "state.registered"),
    ("approved", "state.approved"),
    ("executed", "state.executed"),
    ("disclosed", "state.disclosed"),
    ("rejected", "state.rejected"),
];

fn table(l: Lang, id: &str, rows: &[Row]) -> Markup {
    html! {
        @if rows.is_empty() {
            p.hint id={ (id) "-empty" } { (l.t("inbox.empty")) }
        } @else {
            table id=(id) {
                caption { (l.t("inbox.caption")) }
                thead { tr {
                    th scope="col" { (l.t("inbox.case")) }
                    th scope="col" { (l.t("inbox.kind")) }
                    th scope="col" { (l.t("inbox.authority")) }
                    th scope="col" { (l.t("inbox.state")) }
                    th scope="col" { (l.t("inbox.due")) }
                    th scope="col" { (l.t("inbox.created")) }
                } }
                tbody {
                    @for r in rows {
                        tr data-case=(r.id) data-overdue=(r.overdue) {
                            td { a href={ "/desk/cases/" (r.id) } { (r.id) } }
                            td { (kind_name(l, &r.kind)) }
                            td { (r.authority) br; span.mono { (r.case_number) } }
                            td {
                                (state_name(l, &r.state))
                                @if r.held { br; strong { (l.t("inbox.held")) } }
                            }
                            td {
                                (page::date(r.due.map(|d| d.to_string()).as_deref()))
                                @if r.overdue { " " strong.overdue { (l.t("inbox.overdue")) } }
                                @if r.due_status == "due_soon" { " " strong.soon { (l.t("inbox.due_soon")) } }
                                @if r.due_status == "answered_late" { " " span { (l.t("inbox.answered_late")) } }
                                @if r.at_risk { br; strong.at-risk { (l.t("inbox.at_risk")) } }
                            }
                            td { (page::when(r.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// The rows of every case the service lists, access requests apart.
async fn rows(d: &Desk, access: bool) -> Result<(Vec<Row>, NaiveDate), Response> {
    let (list, now) = d
        .call(|svc, who| Ok((svc.list_cases(who, None)?, svc.now())))
        .await
        .map_err(|e| d.error(&e))?;
    let today = stockholm_day(now);
    let mut rows: Vec<Row> = list
        .iter()
        .map(Row::of)
        .filter(|r| (r.kind == "access") == access)
        .collect();
    sort(&mut rows);
    Ok((rows, today))
}

async fn inbox(
    d: Desk,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, NotIn> {
    only(&d, &[Role::Legal])?;
    let l = d.lang;
    let (mut rows, _) = match rows(&d, false).await {
        Ok(r) => r,
        Err(e) => return Ok(e),
    };
    let filter = q.get("state").map(String::as_str).unwrap_or("");
    rows.retain(|r| match filter {
        "" => true,
        "open" => open(&r.state),
        "soon" => r.overdue || r.due_status == "due_soon",
        s => r.state == s,
    });
    let overdue = rows.iter().filter(|r| r.overdue).count();
    let soon = rows.iter().filter(|r| r.due_status == "due_soon").count();
    let body = html! {
        nav.filters aria-label=(l.t("inbox.filter")) {
            ul.inline {
                @for (v, key) in FILTERS {
                    li {
                        a href=(if v.is_empty() { "/desk/cases".to_string() } else { format!("/desk/cases?state={v}") })
                          aria-current=[(v == filter).then_some("page")] { (l.t(key)) }
                    }
                }
            }
        }
        @if overdue > 0 {
            p.warn role="status" { (l.t("inbox.overdue_count").replace("{n}", &overdue.to_string())) }
        }
        @if soon > 0 {
            p.note role="status" { (l.t("inbox.soon_count").replace("{n}", &soon.to_string())) }
        }
        (table(l, "inbox", &rows))
        p { a.button href="/desk/cases/new" { (l.t("nav.new")) } }
    };
    Ok(d.page(l.t("inbox.title"), body))
}

async fn access(d: Desk) -> Result<Response, NotIn> {
    only(&d, &[Role::Legal])?;
    let l = d.lang;
    let (rows, _) = match rows(&d, true).await {
        Ok(r) => r,
        Err(e) => return Ok(e),
    };
    let body = html! {
        p { (l.t("access.intro")) }
        p { a.button #register-access href="/desk/cases/new/access" { (l.t("access.register")) } }
        (table(l, "access-cases", &rows))
    };
    Ok(d.page(l.t("access.title"), body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(id: &str, state: &str, due: Option<&str>, status: &str, created: &str) -> Value {
        json!({"id": id, "request_type": "ipred", "authority": "PMD", "case_number": "PMÄ 1",
               "state": state, "hold": null, "items": 1, "created_by": "anna",
               "created_at": created, "due_day": due, "due_status": status})
    }

    #[test]
    fn the_inbox_shows_overdue_cases_first_then_by_due_day_then_the_answered_newest_first() {
        let mut rows: Vec<Row> = [
            summary(
                "C-1",
                "registered",
                Some("2026-12-10"),
                "open",
                "2026-11-01T10:00:00Z",
            ),
            summary(
                "C-2",
                "approved",
                Some("2026-11-20"),
                "overdue",
                "2026-11-02T10:00:00Z",
            ),
            summary(
                "C-3",
                "rejected",
                Some("2026-12-02"),
                "answered",
                "2026-11-03T10:00:00Z",
            ),
            summary(
                "C-4",
                "disclosed",
                Some("2026-11-01"),
                "answered_late",
                "2026-11-04T10:00:00Z",
            ),
            summary(
                "C-5",
                "registered",
                Some("2026-12-01"),
                "open",
                "2026-11-05T10:00:00Z",
            ),
            summary(
                "C-6",
                "executed",
                Some("2026-11-24"),
                "overdue",
                "2026-11-06T10:00:00Z",
            ),
            summary(
                "C-8",
                "registered",
                Some("2026-11-25"),
                "due_soon",
                "2026-11-08T10:00:00Z",
            ),
        ]
        .iter()
        .map(Row::of)
        .collect();
        sort(&mut rows);
        let order: Vec<(&str, bool)> = rows.iter().map(|r| (r.id.as_str(), r.overdue)).collect();
        assert_eq!(
            order,
            vec![
                ("C-2", true),
                ("C-6", true),
                ("C-8", false),
                ("C-5", false),
                ("C-1", false),
                // Answered cases last, newest first, whatever their due day.
                ("C-4", false),
                ("C-3", false),
            ]
        );
    }

    #[test]
    fn the_inbox_table_marks_overdue_rows_and_links_each_case() {
        let mut v = summary(
            "C-2026-0002",
            "approved",
            Some("2026-11-20"),
            "overdue",
            "2026-11-02T10:00:00Z",
        );
        v["retention_risk"] = json!({"items": [1]});
        let rows = vec![Row::of(&v)];
        let html = table(Lang::En, "inbox", &rows).into_string();
        assert!(html.contains("<table id=\"inbox\""), "{html}");
        assert!(html.contains("data-case=\"C-2026-0002\""));
        assert!(html.contains("href=\"/desk/cases/C-2026-0002\""));
        assert!(html.contains("class=\"overdue\""));
        assert!(html.contains("class=\"at-risk\""));
        assert!(html.contains(Lang::En.t("kind.ipred")));
    }
}
