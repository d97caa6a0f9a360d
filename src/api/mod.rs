//! The HTTP API (`/v1/…`), served by `tdr serve`: bearer-token authentication, JSON in and out,
//! one error shape with a stable code, and an OpenAPI document generated from the same route
//! table the role matrix is tested against. Business rules live in the [`Service`] the daemon
//! hands over; a handler only parses the request, calls the service on a blocking thread, and
//! maps the outcome.

pub mod openapi;
pub mod tls;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::audit::ExpectedHead;
use crate::error::ErrorKind;
use crate::legal::case::{CaseError, NewCase, Override};
use crate::legal::policy::Op;
use crate::legal::service::{case_view, AddrQuery, Caller, LegalError};
use crate::legal::users::Users;
use crate::legal::Service;
use crate::model::parse_time;

/// One route: method, path (axum syntax), the operation it performs, and a summary.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub op: Op,
    pub summary: &'static str,
}

/// Every route of the API. The router, the OpenAPI document and the role-matrix test read it.
pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/v1/cases",
        op: Op::CaseCreate,
        summary: "Register a legal request (case) with its scope",
    },
    Route {
        method: "GET",
        path: "/v1/cases",
        op: Op::CaseList,
        summary: "List cases (no scope contents, no results)",
    },
    Route {
        method: "GET",
        path: "/v1/cases/{id}",
        op: Op::CaseGet,
        summary: "A case with its steps and results",
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}/approve",
        op: Op::CaseApprove,
        summary: "Approve a registered case (four-eyes: not its creator)",
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}/reject",
        op: Op::CaseReject,
        summary: "Reject a registered case, with a reason",
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}/execute",
        op: Op::CaseExecute,
        summary: "Run every scope item of an approved case and join identity",
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}/release",
        op: Op::CaseRelease,
        summary: "Second approval releasing an answer held for a protected identity",
    },
    Route {
        method: "GET",
        path: "/v1/cases/{id}/report",
        op: Op::CaseReport,
        summary: "The disclosure report (?format=json|xml|html)",
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}/lookup",
        op: Op::CaseLookup,
        summary: "One lookup inside the case's scope",
    },
    Route {
        method: "POST",
        path: "/v1/abuse/lookup",
        op: Op::AbuseLookup,
        summary: "Abuse lookup: pseudonymous subscriber, security-class data only",
    },
    Route {
        method: "POST",
        path: "/v1/subscribers/access-extract",
        op: Op::AccessExtract,
        summary: "GDPR art. 15: everything held about one subscriber",
    },
    Route {
        method: "GET",
        path: "/v1/audit",
        op: Op::AuditRead,
        summary: "Audit entries after a sequence number (?after=&limit=)",
    },
    Route {
        method: "GET",
        path: "/v1/audit/verify",
        op: Op::AuditVerify,
        summary: "Verify the audit chain and signed checkpoints (?expect_head=SEQ:HASH)",
    },
    Route {
        method: "GET",
        path: "/v1/audit/head",
        op: Op::AuditHead,
        summary: "The signed head of the audit chain, to record off the box",
    },
    Route {
        method: "GET",
        path: "/v1/statistics",
        op: Op::Statistics,
        summary: "Requests by type and outcome, median time to disclosure (?from=&to=)",
    },
];

/// The users table, reloaded when its file changes (a `tdr user add` or `revoke` takes effect
/// on the next request).
pub struct UsersCache {
    data_dir: PathBuf,
    cached: Mutex<(Option<FileStamp>, Arc<Users>)>,
}

/// When the users file was last changed, and its length.
type FileStamp = (std::time::SystemTime, u64);

impl UsersCache {
    pub fn new(data_dir: PathBuf) -> UsersCache {
        UsersCache {
            data_dir,
            cached: Mutex::new((None, Arc::new(Users::default()))),
        }
    }

    /// The current table; an unreadable file authenticates nobody.
    fn current(&self) -> Arc<Users> {
        let path = crate::legal::files::legal_dir(&self.data_dir).join("users.json");
        let stamp = std::fs::metadata(&path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        let mut c = self.cached.lock().expect("users cache lock");
        if c.0 != stamp || stamp.is_none() {
            let users = Users::load(&self.data_dir).unwrap_or_else(|e| {
                tracing::error!(
                    code = e.code(),
                    "users file unreadable: nobody is authenticated"
                );
                Users::default()
            });
            *c = (stamp, Arc::new(users));
        }
        c.1.clone()
    }

    pub fn caller(&self, headers: &HeaderMap) -> Caller {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        self.current().caller(token, "api")
    }
}

/// What every handler shares: the legal service the daemon built, and who its users are.
#[derive(Clone)]
pub struct ApiState {
    pub service: Arc<Service>,
    pub users: Arc<UsersCache>,
}

/// The error every endpoint answers with: a stable code (its HTTP status is the kind's) and a
/// message naming the problem.
pub struct ApiError {
    kind: ErrorKind,
    message: String,
    problems: Option<Value>,
}

/// The HTTP status of an answer failing with `kind`.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl ApiError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
            problems: None,
        }
    }

    fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::RequestInvalid, message)
    }
}

impl From<LegalError> for ApiError {
    fn from(e: LegalError) -> ApiError {
        let kind = e.kind();
        let problems = match &e {
            LegalError::Case(CaseError::Invalid(p)) => Some(json!(p)),
            _ => None,
        };
        if status_of(kind).is_server_error() {
            tracing::error!(code = kind.code(), "request failed");
        }
        ApiError {
            kind,
            message: e.to_string(),
            problems,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.kind);
        let mut body = json!({"error": {"code": self.kind.code(), "message": self.message}});
        if let Some(p) = self.problems {
            body["error"]["problems"] = p;
        }
        let mut r = (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        r
    }
}

fn ok_json(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// Runs a service call on a blocking thread, for the caller the request's token names.
async fn call<T: Send + 'static>(
    st: &ApiState,
    headers: &HeaderMap,
    f: impl FnOnce(&Service, &Caller) -> Result<T, LegalError> + Send + 'static,
) -> Result<T, ApiError> {
    let caller = st.users.caller(headers);
    let service = st.service.clone();
    tokio::task::spawn_blocking(move || f(&service, &caller))
        .await
        .map_err(|_| ApiError::new(ErrorKind::Internal, "the request failed"))?
        .map_err(ApiError::from)
}

fn body<T: serde::de::DeserializeOwned>(b: &Bytes) -> Result<T, ApiError> {
    if b.is_empty() {
        return serde_json::from_slice(b"{}").map_err(|e| ApiError::bad(format!("body: {e}")));
    }
    serde_json::from_slice(b)
        .map_err(|e| ApiError::bad(format!("body is not the expected JSON: {e}")))
}

/// The API router (without `/metrics` and `/health`, which the daemon adds).
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/openapi.json", get(openapi_doc))
        .route("/v1/cases", post(case_create).get(case_list))
        .route("/v1/cases/{id}", get(case_get))
        .route("/v1/cases/{id}/approve", post(case_approve))
        .route("/v1/cases/{id}/reject", post(case_reject))
        .route("/v1/cases/{id}/execute", post(case_execute))
        .route("/v1/cases/{id}/release", post(case_release))
        .route("/v1/cases/{id}/report", get(case_report))
        .route("/v1/cases/{id}/lookup", post(case_lookup))
        .route("/v1/abuse/lookup", post(abuse_lookup))
        .route("/v1/subscribers/access-extract", post(access_extract))
        .route("/v1/audit", get(audit_read))
        .route("/v1/audit/verify", get(audit_verify))
        .route("/v1/audit/head", get(audit_head))
        .route("/v1/statistics", get(statistics))
        .fallback(|| async {
            ApiError::new(
                ErrorKind::RequestNoSuchEndpoint,
                "no such endpoint; see /v1/openapi.json",
            )
        })
        .with_state(state)
}

async fn openapi_doc() -> Response {
    ok_json(StatusCode::OK, &openapi::document())
}

async fn case_create(
    State(st): State<ApiState>,
    h: HeaderMap,
    b: Bytes,
) -> Result<Response, ApiError> {
    let req: NewCase = body(&b)?;
    let c = call(&st, &h, move |svc, who| svc.create_case(who, req)).await?;
    Ok(ok_json(StatusCode::CREATED, &case_view(&c)))
}

async fn case_list(State(st): State<ApiState>, h: HeaderMap) -> Result<Response, ApiError> {
    let v = call(&st, &h, |svc, who| svc.list_cases(who)).await?;
    Ok(ok_json(StatusCode::OK, &json!({"cases": v})))
}

async fn case_get(
    State(st): State<ApiState>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = call(&st, &h, move |svc, who| svc.get_case(who, &id)).await?;
    Ok(ok_json(StatusCode::OK, &case_view(&c)))
}

async fn case_approve(
    State(st): State<ApiState>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = call(&st, &h, move |svc, who| svc.approve(who, &id)).await?;
    Ok(ok_json(StatusCode::OK, &case_view(&c)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    #[serde(default)]
    reason: String,
}

async fn case_reject(
    State(st): State<ApiState>,
    h: HeaderMap,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Response, ApiError> {
    let r: Reason = body(&b)?;
    let c = call(&st, &h, move |svc, who| svc.reject(who, &id, &r.reason)).await?;
    Ok(ok_json(StatusCode::OK, &case_view(&c)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Execute {
    #[serde(default, rename = "override")]
    over: Option<Override>,
}

async fn case_execute(
    State(st): State<ApiState>,
    h: HeaderMap,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Response, ApiError> {
    let x: Execute = body(&b)?;
    let c = call(&st, &h, move |svc, who| svc.execute(who, &id, x.over)).await?;
    Ok(ok_json(StatusCode::OK, &case_view(&c)))
}

async fn case_release(
    State(st): State<ApiState>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = call(&st, &h, move |svc, who| svc.release(who, &id)).await?;
    Ok(ok_json(StatusCode::OK, &case_view(&c)))
}

async fn case_report(
    State(st): State<ApiState>,
    h: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = q.map_err(|e| ApiError::bad(e.body_text()))?.0;
    let format = q.get("format").cloned().unwrap_or_else(|| "json".into());
    let (text, ctype) = call(&st, &h, move |svc, who| svc.report(who, &id, &format)).await?;
    Ok(([(header::CONTENT_TYPE, ctype)], text).into_response())
}

/// An address lookup as a request gives it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupReq {
    #[serde(default)]
    addr: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    at: Option<String>,
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    reference: Option<String>,
}

fn parse_point(r: &LookupReq) -> Result<AddrQuery, ApiError> {
    let addr = r
        .addr
        .as_deref()
        .ok_or_else(|| ApiError::bad("addr is missing"))?;
    let at =
        r.at.as_deref()
            .ok_or_else(|| ApiError::bad("at is missing"))?;
    AddrQuery::parse(addr, r.port, at).map_err(ApiError::bad)
}

async fn case_lookup(
    State(st): State<ApiState>,
    h: HeaderMap,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Response, ApiError> {
    let r: LookupReq = body(&b)?;
    if let Some(number) = r.number.clone() {
        let t = |v: &Option<String>, k: &str| {
            v.as_deref()
                .ok_or_else(|| ApiError::bad(format!("{k} is missing")))
                .and_then(|s| parse_time(s.trim()).map_err(|e| ApiError::bad(format!("{k}: {e}"))))
        };
        let (from, to) = (t(&r.from, "from")?, t(&r.to, "to")?);
        let given = json!({"number": number, "from": r.from, "to": r.to});
        let v = call(&st, &h, move |svc, who| {
            svc.case_calls(who, &id, given, &number, from, to)
        })
        .await?;
        return Ok(ok_json(StatusCode::OK, &v));
    }
    let q = parse_point(&r)?;
    let v = call(&st, &h, move |svc, who| svc.case_lookup(who, &id, q)).await?;
    Ok(ok_json(StatusCode::OK, &v))
}

async fn abuse_lookup(
    State(st): State<ApiState>,
    h: HeaderMap,
    b: Bytes,
) -> Result<Response, ApiError> {
    let r: LookupReq = body(&b)?;
    let q = parse_point(&r)?;
    let reference = r.reference.clone().unwrap_or_default();
    let v = call(&st, &h, move |svc, who| {
        svc.abuse_lookup(who, &reference, q.given, q.ip, q.port, q.at)
    })
    .await?;
    Ok(ok_json(StatusCode::OK, &v))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtractReq {
    subscriber: String,
    reference: String,
}

async fn access_extract(
    State(st): State<ApiState>,
    h: HeaderMap,
    b: Bytes,
) -> Result<Response, ApiError> {
    let r: ExtractReq = body(&b)?;
    let v = call(&st, &h, move |svc, who| {
        svc.access_extract(who, &r.subscriber, &r.reference)
    })
    .await?;
    Ok(ok_json(StatusCode::OK, &v))
}

async fn audit_read(
    State(st): State<ApiState>,
    h: HeaderMap,
    q: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = q.map_err(|e| ApiError::bad(e.body_text()))?.0;
    let num = |k: &str, d: u64| -> Result<u64, ApiError> {
        q.get(k)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| ApiError::bad(format!("{k} must be a number")))
            })
            .unwrap_or(Ok(d))
    };
    let after = num("after", 0)?;
    let limit = num("limit", 1000)?.clamp(1, 10_000) as usize;
    let v = call(&st, &h, move |svc, who| svc.audit_read(who, after, limit)).await?;
    Ok(ok_json(StatusCode::OK, &json!({"entries": v})))
}

async fn audit_verify(
    State(st): State<ApiState>,
    h: HeaderMap,
    q: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = q.map_err(|e| ApiError::bad(e.body_text()))?.0;
    let expect = q
        .get("expect_head")
        .map(|v| {
            v.parse::<ExpectedHead>()
                .map_err(|e| ApiError::bad(format!("expect_head: {e}")))
        })
        .transpose()?;
    let v = call(&st, &h, move |svc, who| {
        svc.audit_verify(who, expect.as_ref())
    })
    .await?;
    Ok(ok_json(StatusCode::OK, &v))
}

async fn audit_head(State(st): State<ApiState>, h: HeaderMap) -> Result<Response, ApiError> {
    let v = call(&st, &h, |svc, who| svc.audit_head(who)).await?;
    Ok(ok_json(StatusCode::OK, &v))
}

async fn statistics(
    State(st): State<ApiState>,
    h: HeaderMap,
    q: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = q.map_err(|e| ApiError::bad(e.body_text()))?.0;
    let t = |k: &str, d: i64| -> Result<i64, ApiError> {
        q.get(k)
            .map(|v| parse_time(v.trim()).map_err(|e| ApiError::bad(format!("{k}: {e}"))))
            .unwrap_or(Ok(d))
    };
    let from = t("from", 0)?;
    let to = t("to", i64::MAX / 2)?;
    let v = call(&st, &h, move |svc, who| svc.statistics(who, from, to)).await?;
    Ok(ok_json(StatusCode::OK, &v))
}
