//! The auditor's statistics for a period of Stockholm days (this calendar year unless asked
//! otherwise): requests by type and outcome, how many were disclosed, and the median time from
//! registration to disclosure.

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde_json::Value;

use super::{answer, date_field, day_end, day_start, invalid, refused, status_of, today, year_of};
use crate::desk::i18n::Lang;
use crate::desk::{only, Desk};
use crate::legal::auth::Role;
use crate::legal::case::RequestType;

/// Outcomes in the order a case goes through them (`held`: executed, with a protected
/// identity held back).
pub(super) const OUTCOMES: [&str; 6] = [
    "registered",
    "approved",
    "executed",
    "held",
    "disclosed",
    "rejected",
];

/// A word for a run-time key; the key itself when the catalogue has none.
fn word(l: Lang, prefix: &str, v: &str) -> String {
    l.lookup(&format!("{prefix}{v}"))
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// A duration in days and hours (hours and minutes under a day).
pub(super) fn duration(l: Lang, secs: f64) -> String {
    let secs = secs.max(0.0).round() as u64;
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let unit = |n: u64, one: &'static str, many: &'static str| {
        format!("{n} {}", if n == 1 { l.t(one) } else { l.t(many) })
    };
    if d > 0 {
        format!(
            "{} {}",
            unit(d, "stats.day", "stats.days"),
            unit(h, "stats.hour", "stats.hours")
        )
    } else {
        format!(
            "{} {}",
            unit(h, "stats.hour", "stats.hours"),
            unit(m, "stats.minute", "stats.minutes")
        )
    }
}

/// The `#stats` section of the service's answer.
pub(super) fn stats(l: Lang, period: &str, v: &Value) -> Markup {
    let by = v["by_type_and_outcome"].as_object();
    let mut types: Vec<&str> = RequestType::ALL.iter().map(|t| t.as_str()).collect();
    // A type the service counts that this page does not know still shows.
    for t in by.into_iter().flat_map(|m| m.keys()) {
        if !types.contains(&t.as_str()) {
            types.push(t);
        }
    }
    let mut outcomes: Vec<&str> = OUTCOMES.to_vec();
    for o in by
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(Value::as_object)
        .flat_map(|m| m.keys())
    {
        if !outcomes.contains(&o.as_str()) {
            outcomes.push(o);
        }
    }
    let count = |t: &str, o: &str| v["by_type_and_outcome"][t][o].as_u64().unwrap_or(0);
    let median = v["median_seconds_to_disclosure"].as_f64();
    html! {
        section #stats aria-labelledby="stats-title" {
            h2 #stats-title { (l.t("stats.period")) " " (period) }
            dl.kv {
                dt { (l.t("stats.requests")) } dd #stats-requests { (v["requests"].as_u64().unwrap_or(0)) }
                dt { (l.t("stats.disclosed")) } dd #stats-disclosed { (v["disclosed"].as_u64().unwrap_or(0)) }
                dt { (l.t("stats.median")) }
                dd #stats-median {
                    @match median {
                        Some(s) => (duration(l, s)),
                        None => (l.t("stats.no_median")),
                    }
                }
            }
            table #stats-table {
                caption { (l.t("stats.caption")) }
                thead {
                    tr {
                        th scope="col" { (l.t("stats.type")) }
                        @for o in &outcomes { th scope="col" { (word(l, "stats.outcome.", o)) } }
                        th scope="col" { (l.t("stats.total")) }
                    }
                }
                tbody {
                    @for t in &types {
                        tr data-type=(t) {
                            th scope="row" { (word(l, "stats.type.", t)) }
                            @for o in &outcomes { td data-outcome=(o) { (count(t, o)) } }
                            td { (outcomes.iter().map(|o| count(t, o)).sum::<u64>()) }
                        }
                    }
                }
            }
            p.hint { (l.t("stats.held_hint")) }
            dl.kv {
                dt { (l.t("stats.answered")) } dd #stats-answered { (v["answered"].as_u64().unwrap_or(0)) }
                dt { (l.t("stats.median_answer")) } dd #stats-median-answer { (opt_duration(l, v["median_seconds_to_answer"].as_f64())) }
                dt { (l.t("stats.p90_answer")) } dd #stats-p90-answer { (opt_duration(l, v["p90_seconds_to_answer"].as_f64())) }
                dt { (l.t("stats.late")) } dd #stats-late { (v["late"].as_u64().unwrap_or(0)) }
                dt { (l.t("stats.overdue")) } dd #stats-overdue { (v["overdue"].as_u64().unwrap_or(0)) }
            }
            table #stats-groups {
                caption { (l.t("stats.groups_caption")) }
                thead { tr {
                    th scope="col" { (l.t("stats.type")) }
                    th scope="col" { (l.t("stats.authority")) }
                    th scope="col" { (l.t("stats.requests")) }
                    th scope="col" { (l.t("stats.outcome.disclosed")) }
                    th scope="col" { (l.t("stats.outcome.rejected")) }
                    th scope="col" { (l.t("stats.open")) }
                    th scope="col" { (l.t("stats.late")) }
                    th scope="col" { (l.t("stats.median_short")) }
                    th scope="col" { (l.t("stats.p90_short")) }
                } }
                tbody {
                    @for g in v["groups"].as_array().into_iter().flatten() {
                        @let n = |k: &str| g[k].as_u64().unwrap_or(0);
                        tr {
                            th scope="row" { (word(l, "stats.type.", g["request_type"].as_str().unwrap_or(""))) }
                            td { (g["authority"].as_str().unwrap_or("")) }
                            td { (n("requests")) }
                            td { (n("disclosed")) }
                            td { (n("rejected")) }
                            td { (n("open")) }
                            td data-late=(n("late")) { (n("late")) }
                            td { (opt_duration(l, g["median_seconds_to_answer"].as_f64())) }
                            td { (opt_duration(l, g["p90_seconds_to_answer"].as_f64())) }
                        }
                    }
                }
            }
            @if let Some(items) = v["items_by_status"].as_object().filter(|m| !m.is_empty()) {
                table #stats-items {
                    caption { (l.t("stats.items_caption")) }
                    thead { tr { th scope="col" { (l.t("stats.status")) } th scope="col" { (l.t("stats.count")) } } }
                    tbody {
                        @for (status, n) in items {
                            tr data-status=(status) {
                                th scope="row" { (word(l, "status.", status)) " " code.code { (status) } }
                                td { (n.as_u64().unwrap_or(0)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn opt_duration(l: Lang, secs: Option<f64>) -> String {
    match secs {
        Some(s) => duration(l, s),
        None => "—".into(),
    }
}

/// GET /desk/statistics?from=&to=
pub(super) async fn page(d: Desk, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Err(n) = only(&d, &[Role::Auditor]) {
        return n.into_response();
    }
    let l = d.lang;
    let title = l.t("stats.title");
    let given = |k: &str| q.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let (from_s, to_s) = (given("from"), given("to"));
    let (year_from, year_to) = year_of(today(d.state.service.now()));
    let form = |from: &str, to: &str| {
        html! {
            form #stats-form method="get" action="/desk/statistics" {
                fieldset {
                    legend { (l.t("stats.choose")) }
                    label for="from" { (l.t("audit.from")) }
                    input #from name="from" type="date" value=(from) aria-describedby="days-hint";
                    label for="to" { (l.t("audit.to")) }
                    input #to name="to" type="date" value=(to) aria-describedby="days-hint";
                    p #days-hint .hint { (l.t("audit.days_hint")) }
                    button #show type="submit" { (l.t("stats.show")) }
                }
            }
        }
    };
    let dates = date_field(&from_s).and_then(|f| Ok((f, date_field(&to_s)?)));
    let (from, to) = match dates {
        Ok((f, t)) => (f.unwrap_or(year_from), t.unwrap_or(year_to)),
        Err(bad) => {
            let body = html! { (invalid(l, "audit.bad_date", &bad)) (form(&from_s, &to_s)) };
            return answer(StatusCode::BAD_REQUEST, d.page(title, body));
        }
    };
    let (from_s, to_s) = (from.to_string(), to.to_string());
    let range = day_start(from).zip(day_end(to)).filter(|(f, t)| f < t);
    let Some((start, end)) = range else {
        let body = html! {
            (invalid(l, "stats.bad_range", ""))
            (form(&from_s, &to_s))
        };
        return answer(StatusCode::BAD_REQUEST, d.page(title, body));
    };
    match d
        .call(move |svc, c| Ok(serde_json::json!(svc.statistics(c, start, end)?)))
        .await
    {
        Ok(v) => {
            let body = html! {
                (form(&from_s, &to_s))
                (stats(l, &format!("{from_s} – {to_s}"), &v))
                p { a #stats-csv href={ "/desk/statistics.csv?from=" (from_s) "&to=" (to_s) } download { (l.t("stats.csv")) } }
            };
            d.page(title, body)
        }
        Err(e) => {
            let body = html! { (refused(l, &e)) (form(&from_s, &to_s)) };
            answer(status_of(&e), d.page(title, body))
        }
    }
}

/// GET /desk/statistics.csv?from=&to= (Stockholm days): the same figures as CSV.
pub(super) async fn csv(d: Desk, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Err(n) = only(&d, &[Role::Auditor]) {
        return n.into_response();
    }
    let given = |k: &str| q.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let (year_from, year_to) = year_of(today(d.state.service.now()));
    let range = date_field(&given("from"))
        .and_then(|f| {
            Ok((
                f.unwrap_or(year_from),
                date_field(&given("to"))?.unwrap_or(year_to),
            ))
        })
        .ok()
        .and_then(|(f, t)| Some((f, t, day_start(f)?, day_end(t)?)))
        .filter(|(_, _, s, e)| s < e);
    let Some((f, t, start, end)) = range else {
        return answer(
            StatusCode::BAD_REQUEST,
            d.page(
                d.lang.t("stats.title"),
                invalid(d.lang, "stats.bad_range", ""),
            ),
        );
    };
    match d.call(move |svc, c| svc.statistics(c, start, end)).await {
        Ok(s) => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "text/csv; charset=utf-8".to_string(),
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"tdr-statistics-{f}-{t}.csv\""),
                ),
            ],
            crate::legal::stats::to_csv(&s),
        )
            .into_response(),
        Err(e) => answer(
            status_of(&e),
            d.page(d.lang.t("stats.title"), refused(d.lang, &e)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_read_as_days_and_hours() {
        assert_eq!(duration(Lang::En, 90_000.0), "1 day 1 hour");
        assert_eq!(duration(Lang::En, 3.5 * 86_400.0), "3 days 12 hours");
        assert_eq!(duration(Lang::Sv, 5_400.0), "1 timme 30 minuter");
    }

    /// Words, not codes; every type in a row, and the counts where they belong.
    #[test]
    fn the_table_speaks_words() {
        let v = json!({"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z",
                       "requests": 3, "disclosed": 1, "median_seconds_to_disclosure": 7200.0,
                       "by_type_and_outcome": {"ipred": {"disclosed": 1, "held": 1},
                                               "abuse": {"registered": 1}}});
        let body = stats(Lang::En, "2026-01-01 – 2026-12-31", &v).into_string();
        assert!(body.contains("id=\"stats\""), "{body}");
        assert!(body.contains(Lang::En.t("stats.type.ipred")), "{body}");
        assert!(body.contains(Lang::En.t("stats.outcome.held")), "{body}");
        assert!(body.contains("<td data-outcome=\"held\">1</td>"), "{body}");
        assert!(body.contains("2 hours 0 minutes"), "{body}");
        assert!(!body.contains(">law_enforcement<"), "{body}");
        for t in RequestType::ALL {
            assert!(body.contains(&format!("data-type=\"{}\"", t.as_str())));
        }
    }
}
