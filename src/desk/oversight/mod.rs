//! The auditor's pages (the audit log, its verification, statistics), the security team's
//! abuse lookup and the admin's users. Each page checks its role first and asks the Service
//! for everything it shows, so what a page can do is what the role matrix, four-eyes and the
//! audit log already allow; nothing here reads the log, the users or the store on its own.

mod abuse;
mod audit;
mod certificates;
#[cfg(test)]
mod router_tests;
mod stats;
mod users;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{Datelike, NaiveDate};
use maud::Markup;

use super::i18n::Lang;
use super::{page, DeskState};
// Stockholm days: the audit page's and the statistics' periods, and the service's "today"
// (its clock, not the machine's: the statistics' default year).
use crate::calendar::{day_end, day_start, stockholm_day as today};
use crate::error::ErrorKind;
use crate::legal::service::LegalError;

pub fn routes() -> Router<DeskState> {
    Router::new()
        .route("/desk/audit", get(audit::log))
        .route(
            "/desk/audit/verify",
            get(audit::verify_form).post(audit::verify),
        )
        .route("/desk/statistics", get(stats::page))
        .route("/desk/certificates", get(certificates::page))
        .route("/desk/statistics.csv", get(stats::csv))
        .route("/desk/abuse", get(abuse::form_page).post(abuse::lookup))
        .route("/desk/users", get(users::list).post(users::add))
        .route("/desk/users/{name}/approve", post(users::approve))
        .route("/desk/users/{name}/revoke", post(users::revoke))
        .route("/desk/users/{name}/reset", post(users::reset))
}

/// A refusal shown inside a page (its code, and what it means in `l`).
fn refused(l: Lang, e: &LegalError) -> Markup {
    page::error_box(l, e.code(), &e.to_string())
}

/// The HTTP status of a page that shows a refusal.
fn status_of(e: &LegalError) -> StatusCode {
    crate::api::status_of(e.kind())
}

/// A page whose input was refused before it reached the service: `request.invalid`, what is
/// wrong in `l`, and the detail (which may name the field's value back to its author).
fn invalid(l: Lang, what: &'static str, detail: &str) -> Markup {
    let text = format!("{} {detail}", l.t(what));
    page::error_box(l, ErrorKind::RequestInvalid.code(), text.trim())
}

/// A page with a status.
fn answer(status: StatusCode, r: Response) -> Response {
    (status, r).into_response()
}

/// A form's date field (`YYYY-MM-DD`): `None` when empty, an error naming the value otherwise.
fn date_field(s: &str) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{s:?}"))
}

/// The first and last day of `d`'s calendar year.
fn year_of(d: NaiveDate) -> (NaiveDate, NaiveDate) {
    let y = d.year();
    (
        NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(d),
        NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or(d),
    )
}

/// A time as the service writes it (RFC 3339) in both zones; as given when it does not parse.
fn when_text(s: Option<&str>) -> Markup {
    match s.map(|s| (s, crate::model::parse_time(s))) {
        Some((_, Ok(t))) => page::when(t),
        Some((s, Err(_))) => maud::html! { (s) },
        None => maud::html! { "—" },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t("…")` in these pages names a key of the catalogue (the desk's own catalogue
    /// test reads only the files directly in src/desk).
    #[test]
    fn every_key_these_pages_use_is_in_the_catalogue() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/desk/oversight");
        let mut missing = Vec::new();
        let mut files = 0;
        for f in std::fs::read_dir(dir).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "rs") {
                files += 1;
                let text = std::fs::read_to_string(&p).unwrap();
                for part in text.split(".t(\"").skip(1) {
                    let key = &part[..part.find('"').unwrap()];
                    if Lang::Sv.lookup(key).is_none() {
                        missing.push(format!("{}: {key}", p.display()));
                    }
                }
            }
        }
        assert!(files >= 5, "read {files} files");
        assert!(missing.is_empty(), "keys not in the catalogue: {missing:?}");
    }

    /// The keys these pages make at run time (a status, a state, an error code) all exist.
    #[test]
    fn every_key_made_at_run_time_is_in_the_catalogue() {
        let mut keys: Vec<String> = Vec::new();
        for s in crate::report::STATUSES {
            keys.push(format!("abuse.status.{s}"));
            keys.push(format!("abuse.explain.{s}"));
        }
        for e in [
            "stop",
            "release",
            "lease_expiry",
            "next_assignment",
            "nas_reboot",
            "interim_timeout",
            "open",
        ] {
            keys.push(format!("abuse.end.{e}"));
        }
        for c in crate::model::Class::ALL {
            keys.push(format!("abuse.class.{}", c.as_str()));
        }
        for t in crate::legal::case::RequestType::ALL {
            keys.push(format!("stats.type.{}", t.as_str()));
        }
        for o in stats::OUTCOMES {
            keys.push(format!("stats.outcome.{o}"));
        }
        for s in ["pending", "active", "revoked"] {
            keys.push(format!("users.state.{s}"));
        }
        for k in [
            "stats.day",
            "stats.days",
            "stats.hour",
            "stats.hours",
            "stats.minute",
            "stats.minutes",
            "audit.bad_date",
            "verify.bad_head",
            "stats.bad_range",
            "abuse.bad_port",
            "abuse.bad_addr",
            "abuse.no_zone",
            "abuse.bad_time",
            "abuse.need_ticket",
            "users.bad_role",
        ] {
            keys.push(k.to_string());
        }
        // Every audit.* and user.* code of the catalogue of errors has its plain words.
        for k in crate::error::ErrorKind::ALL.iter() {
            let code = k.code();
            if code.starts_with("audit.") || code.starts_with("user.") {
                keys.push(format!("err.{code}"));
            }
        }
        let missing: Vec<&String> = keys
            .iter()
            .filter(|k| Lang::En.lookup(k).is_none())
            .collect();
        assert!(missing.is_empty(), "not in the catalogue: {missing:?}");
    }

    /// Stockholm days: winter +01:00, summer +02:00, and the day the clocks go forward is
    /// 23 hours long.
    #[test]
    fn days_are_stockholm_days() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            day_start(d("2026-11-20")),
            crate::model::parse_time("2026-11-19T23:00:00Z").ok()
        );
        assert_eq!(
            day_start(d("2026-07-01")),
            crate::model::parse_time("2026-06-30T22:00:00Z").ok()
        );
        let spring = d("2026-03-29");
        assert_eq!(
            day_end(spring).unwrap() - day_start(spring).unwrap(),
            23 * 3600
        );
        assert_eq!(date_field(" "), Ok(None));
        assert!(date_field("2026-13-01").is_err());
        assert_eq!(year_of(d("2026-06-15")), (d("2026-01-01"), d("2026-12-31")));
    }
}
