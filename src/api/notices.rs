//! The IPRED notice and the compensation ledger over HTTP: the routes `ROUTES` lists under
//! `/v1/notices`, `/v1/cases/{id}/notices/{item}/…` and `/v1/ledger`. Each handler parses the
//! request and calls the Service (which admits, audits and refuses); nothing else.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use super::{call, ok_json, ApiError, ApiState, Who};
use crate::legal::ledger;
use crate::legal::notice::Status;
use crate::model::parse_time;

type QueryMap = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/notices", get(list))
        .route("/v1/cases/{id}/notices/{item}/letter", post(letter))
        .route("/v1/cases/{id}/notices/{item}/release", post(release))
        .route("/v1/cases/{id}/notices/{item}/sent", post(sent))
        .route("/v1/ledger", get(export))
}

fn query(q: QueryMap) -> Result<HashMap<String, String>, ApiError> {
    Ok(q.map_err(|e| ApiError::bad(e.body_text()))?.0)
}

/// Items are numbered from 1; anything else names no notice, which the Service says after
/// admitting the caller (so a stranger learns nothing from the path).
fn item(s: &str) -> u32 {
    s.parse().unwrap_or(0)
}

async fn list(State(st): State<ApiState>, h: Who, q: QueryMap) -> Result<Response, ApiError> {
    let q = query(q)?;
    let status = match q.get("status").map(String::as_str) {
        None | Some("") => None,
        Some(s) => Some(
            Status::parse(s)
                .ok_or_else(|| ApiError::bad("status is waiting, due, late or sent"))?,
        ),
    };
    let v = call(&st, h, move |svc, who| svc.notices(who, status)).await?;
    Ok(ok_json(StatusCode::OK, &json!({"notices": v})))
}

async fn letter(
    State(st): State<ApiState>,
    h: Who,
    Path((id, it)): Path<(String, String)>,
    q: QueryMap,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let format = q.get("format").cloned().unwrap_or_else(|| "text".into());
    let n = item(&it);
    let out = call(&st, h, move |svc, who| {
        svc.notice_letter(who, &id, n, &format)
    })
    .await?;
    let mut r = ([(header::CONTENT_TYPE, out.content_type)], out.body).into_response();
    r.headers_mut().insert(
        "x-tdr-notice-late",
        HeaderValue::from_static(if out.late { "true" } else { "false" }),
    );
    Ok(r)
}

async fn release(
    State(st): State<ApiState>,
    h: Who,
    Path((id, it)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let n = item(&it);
    let v = call(&st, h, move |svc, who| svc.notice_release(who, &id, n)).await?;
    Ok(ok_json(StatusCode::OK, &v))
}

async fn sent(
    State(st): State<ApiState>,
    h: Who,
    Path((id, it)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let n = item(&it);
    let v = call(&st, h, move |svc, who| svc.notice_sent(who, &id, n)).await?;
    Ok(ok_json(StatusCode::OK, &v))
}

async fn export(State(st): State<ApiState>, h: Who, q: QueryMap) -> Result<Response, ApiError> {
    let q = query(q)?;
    let time = |k: &str| -> Result<Option<i64>, ApiError> {
        q.get(k)
            .filter(|v| !v.trim().is_empty())
            .map(|v| parse_time(v.trim()).map_err(|e| ApiError::bad(format!("{k}: {e}"))))
            .transpose()
    };
    let (from, to) = (time("from")?, time("to")?);
    let authority = q.get("authority").filter(|a| !a.trim().is_empty()).cloned();
    let csv = match q.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::bad("format is csv or json")),
    };
    let rows = call(&st, h, move |svc, who| {
        svc.ledger(who, from, to, authority.as_deref())
    })
    .await?;
    if csv {
        let mut r = (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            ledger::csv(&rows),
        )
            .into_response();
        r.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"tdr-ledger.csv\""),
        );
        return Ok(r);
    }
    let totals: Vec<_> = ledger::totals(&rows)
        .into_iter()
        .map(|(authority, payer, entries, ore)| {
            json!({"authority": authority, "payer": payer, "entries": entries,
                   "amount_sek": ledger::sek(ore)})
        })
        .collect();
    Ok(ok_json(
        StatusCode::OK,
        &json!({"rows": rows, "totals": totals, "columns": ledger::COLUMNS}),
    ))
}
