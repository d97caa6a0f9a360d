//! The HTTP API (`/v1/…`), served by `tdr serve`: bearer-token authentication, JSON in and out,
//! one error shape with a stable code, and an OpenAPI document generated from the same route
//! table the role matrix is tested against. Business rules live in the [`Service`] the daemon
//! hands over; a handler only parses the request, calls the service on a blocking thread, and
//! maps the outcome.

pub mod listen;
mod notices;
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

use crate::error::ErrorKind;
use crate::legal::auth::{Person, Role};
use crate::legal::case::{CaseError, NewCase, Override};
use crate::legal::policy::Op;
use crate::legal::service::ExpectedHead;
use crate::legal::service::{AddrQuery, Caller, DueFilter, LegalError, QuarantineQuery};
use crate::legal::users::Users;
use crate::legal::Purpose;
use crate::legal::Service;
use crate::model::parse_time;

pub use self::listen::Peer;

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
        summary: "List cases (no scope contents, no results) with their due day and status; \
                  ?due=overdue|soon|open lists only those, the one due first first",
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
        method: "POST",
        path: "/v1/cases/{id}/lift",
        op: Op::CaseLift,
        summary: "Lift an executed restriction (GDPR art. 18(3)), four eyes: the first legal \
                  officer's call asks for it (202, the restriction still in force), a second \
                  person's call lifts it (200); body {\"reason\": ...}",
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}/preserve",
        op: Op::CasePreserve,
        summary: "Register a preservation request for the case's items whose data leaves \
                  retention before the case is due (linked to the case; needs a second officer)",
    },
    Route {
        method: "GET",
        path: "/v1/cases/{id}/report",
        op: Op::CaseReport,
        summary: "The disclosure report (?format=json|xml|html|pdf)",
    },
    Route {
        method: "GET",
        path: "/v1/cases/{id}/pack",
        op: Op::CaseReport,
        summary: "The delivery pack (ZIP): the report as JSON, PDF/A, HTML and ETSI XML, the \
                  signed audit head covering it and how to verify it offline",
    },
    Route {
        method: "PUT",
        path: "/v1/cases/{id}/order",
        op: Op::CaseCreate,
        summary: "Store the scanned order (its SHA-256 must be the case's order_sha256): the \
                  registrar, while the case is registered",
    },
    Route {
        method: "GET",
        path: "/v1/cases/{id}/order",
        op: Op::CaseGet,
        summary: "The scanned order as stored",
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}/lookup",
        op: Op::CaseLookup,
        summary: "One lookup inside the case's scope",
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}/lookups",
        op: Op::CaseLookup,
        summary: "Several lookups inside the case's scope, answered in order, each audited",
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
        path: "/v1/cases/{id}/letter",
        op: Op::AccessLetter,
        summary: "An access case's answer: the letter to the subscriber (registerutdrag, in \
                  Swedish) made from its extract (?format=pdf|html; PDF/A-2b by default)",
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
        method: "POST",
        path: "/v1/backups",
        op: Op::BackupCreate,
        summary: "A backup into a new folder on the box ({\"dir\": absolute path}): the sealed \
                  store, the registers, the audit log and the certificates, with a signed \
                  manifest; never a key",
    },
    Route {
        method: "POST",
        path: "/v1/keys/export",
        op: Op::KeysExport,
        summary: "The key store's escrow into a new file on the box ({\"file\": absolute \
                  path}): the day keys and the identity key, wrapped by the master key",
    },
    Route {
        method: "GET",
        path: "/v1/certificates",
        op: Op::Certificates,
        summary: "The signed deletion certificates of the days that left retention \
                  (partition, time range, records, the key id destroyed)",
    },
    Route {
        method: "GET",
        path: "/v1/statistics",
        op: Op::Statistics,
        summary: "Requests registered in a period by type, authority and outcome, items by \
                  attribution status, time to answer (median, p90) and late ones \
                  (?from=&to= times or Swedish days, &format=json|csv)",
    },
    Route {
        method: "GET",
        path: "/v1/quarantine",
        op: Op::QuarantineSummary,
        summary: "What ingest rejected, per source and code (no log lines)",
    },
    Route {
        method: "GET",
        path: "/v1/quarantine/records",
        op: Op::QuarantineSummary,
        summary: "Rejected records (?source=&code=&limit=); ?raw=true&reference= adds their \
                  bytes (legal officers, audited)",
    },
    Route {
        method: "PUT",
        path: "/v1/import/{format}/{name}",
        op: Op::Import,
        summary: "Hand a log file to the daemon: written into its spool, read like any \
                  spool file",
    },
    Route {
        method: "POST",
        path: "/v1/users",
        op: Op::UserAdd,
        summary: "Add a user for a person: the token, shown once; pending until a second \
                  admin approves (ops: active at once)",
    },
    Route {
        method: "GET",
        path: "/v1/users",
        op: Op::UserList,
        summary: "Users: role, person, state, who added and approved them",
    },
    Route {
        method: "POST",
        path: "/v1/users/{name}/approve",
        op: Op::UserApprove,
        summary: "Approve a pending user (another person than the admin who added them)",
    },
    Route {
        method: "POST",
        path: "/v1/users/{name}/revoke",
        op: Op::UserRevoke,
        summary: "Revoke a user's token",
    },
    Route {
        method: "POST",
        path: "/v1/users/{name}/reset-password",
        op: Op::UserReset,
        summary: "A new one-time desk password (shown once); the second factor is cleared and \
                  the user waits for a second admin again",
    },
    Route {
        method: "PUT",
        path: "/v1/identity",
        op: Op::IdentityImport,
        summary: "Import the CRM export (CSV body) into the identity register: all rows or none",
    },
    Route {
        method: "POST",
        path: "/v1/admin/bootstrap",
        op: Op::AdminBootstrap,
        summary: "One of the first two admins: the service user, on the Unix socket only",
    },
    Route {
        method: "GET",
        path: "/v1/notices",
        op: Op::NoticeList,
        summary: "IPRED notices to subscribers (URL 53 h §): case, item, window, status                   (?status=waiting|due|late|sent); no personal data",
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}/notices/{item}/letter",
        op: Op::NoticeLetter,
        summary: "Make the notice's letter in Swedish (?format=text|html), to the address the                   identity register holds today; refused before the window opens; a protected                   identity waits for a second officer's release",
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}/notices/{item}/release",
        op: Op::NoticeRelease,
        summary: "Release a protected identity's letter (another officer than who asked for it)",
    },
    Route {
        method: "POST",
        path: "/v1/cases/{id}/notices/{item}/sent",
        op: Op::NoticeSent,
        summary: "Record that the notice's letter was posted, and by whom",
    },
    Route {
        method: "GET",
        path: "/v1/ledger",
        op: Op::LedgerExport,
        summary: "The compensation ledger, one row per disclosure and category                   (?from=&to=&authority=&format=csv|json)",
    },
];

/// The largest JSON request body (a case with a long annex of scope items fits easily).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The largest CRM export `PUT /v1/identity` takes (about a million subscribers).
pub const IDENTITY_LIMIT: usize = 512 * 1024 * 1024;

/// The largest file `PUT /v1/import` takes in one request.
pub const IMPORT_LIMIT: u64 = 16 * 1024 * 1024 * 1024;

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

    /// The user `name` if they may act now (a desk session's user, checked on every request).
    pub fn principal(
        &self,
        name: &str,
    ) -> Result<crate::legal::auth::Principal, crate::legal::auth::AuthError> {
        self.current().principal(name)
    }

    /// The caller a request's bearer token names, as seen from `peer`.
    pub fn caller(&self, headers: &HeaderMap, peer: Option<&Peer>) -> Caller {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let mut c = self
            .current()
            .caller(token, peer.map_or("api", |p| p.channel));
        c.peer = peer.map(|p| p.addr.clone());
        c
    }
}

/// The caller of a request: its bearer token and the peer its connection came from (set by
/// [`listen`]; a request that did not come through a listener, as in tests, has none).
pub struct Who(pub Caller, pub Option<Peer>);

impl axum::extract::FromRequestParts<ApiState> for Who {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        st: &ApiState,
    ) -> Result<Who, Self::Rejection> {
        let peer = parts.extensions.get::<Peer>().cloned();
        Ok(Who(st.users.caller(&parts.headers, peer.as_ref()), peer))
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
    who: Who,
    f: impl FnOnce(&Service, &Caller) -> Result<T, LegalError> + Send + 'static,
) -> Result<T, ApiError> {
    let caller = who.0;
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
        .route("/v1/cases/{id}/lift", post(case_lift))
        .route("/v1/cases/{id}/preserve", post(case_preserve))
        .route("/v1/cases/{id}/report", get(case_report))
        .route("/v1/cases/{id}/pack", get(case_pack))
        .route(
            "/v1/cases/{id}/order",
            get(case_order_get)
                .put(case_order_put)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::legal::service::ORDER_MAX + 1,
                )),
        )
        .route("/v1/cases/{id}/lookup", post(case_lookup))
        .route("/v1/cases/{id}/lookups", post(case_lookups))
        .route("/v1/abuse/lookup", post(abuse_lookup))
        .route("/v1/subscribers/access-extract", post(access_extract))
        .route("/v1/cases/{id}/letter", get(access_letter))
        .route("/v1/audit", get(audit_read))
        .route("/v1/audit/verify", get(audit_verify))
        .route("/v1/audit/head", get(audit_head))
        .route("/v1/statistics", get(statistics))
        .route("/v1/backups", post(backup_create))
        .route("/v1/keys/export", post(keys_export))
        .route("/v1/certificates", get(certificates))
        .route("/v1/users", post(user_add).get(user_list))
        .route("/v1/users/{name}/approve", post(user_approve))
        .route("/v1/users/{name}/revoke", post(user_revoke))
        .route("/v1/users/{name}/reset-password", post(user_reset))
        .route(
            "/v1/identity",
            axum::routing::put(identity_import)
                .layer(axum::extract::DefaultBodyLimit::max(IDENTITY_LIMIT)),
        )
        .route("/v1/admin/bootstrap", post(admin_bootstrap))
        .merge(notices::routes())
        .route("/v1/quarantine", get(quarantine_summary))
        .route("/v1/quarantine/records", get(quarantine_records))
        .route(
            "/v1/import/{format}/{name}",
            axum::routing::put(import_file).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .fallback(|| async {
            ApiError::new(
                ErrorKind::RequestNoSuchEndpoint,
                "no such endpoint; see /v1/openapi.json",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn openapi_doc() -> Response {
    ok_json(StatusCode::OK, &openapi::document())
}

async fn case_create(State(st): State<ApiState>, h: Who, b: Bytes) -> Result<Response, ApiError> {
    let req: NewCase = body(&b)?;
    let c = call(&st, h, move |svc, who| svc.create_case(who, req)).await?;
    Ok(ok_json(StatusCode::CREATED, &st.service.view(&c)))
}

async fn case_list(State(st): State<ApiState>, h: Who, q: QueryMap) -> Result<Response, ApiError> {
    let q = q.map_err(|e| ApiError::bad(e.body_text()))?.0;
    if let Some(k) = q.keys().find(|k| *k != "due") {
        return Err(ApiError::bad(format!(
            "unknown query parameter {k:?}; only `due`"
        )));
    }
    let due = q
        .get("due")
        .map(|v| {
            DueFilter::parse(v)
                .ok_or_else(|| ApiError::bad(format!("due is overdue, soon or open, not {v:?}")))
        })
        .transpose()?;
    let v = call(&st, h, move |svc, who| svc.list_cases(who, due)).await?;
    Ok(ok_json(StatusCode::OK, &json!({"cases": v})))
}

async fn case_get(
    State(st): State<ApiState>,
    h: Who,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = call(&st, h, move |svc, who| svc.get_case(who, &id)).await?;
    Ok(ok_json(StatusCode::OK, &st.service.view(&c)))
}

async fn case_approve(
    State(st): State<ApiState>,
    h: Who,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = call(&st, h, move |svc, who| svc.approve(who, &id)).await?;
    Ok(ok_json(StatusCode::OK, &st.service.view(&c)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    #[serde(default)]
    reason: String,
}

async fn case_reject(
    State(st): State<ApiState>,
    h: Who,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Response, ApiError> {
    let r: Reason = body(&b)?;
    let c = call(&st, h, move |svc, who| svc.reject(who, &id, &r.reason)).await?;
    Ok(ok_json(StatusCode::OK, &st.service.view(&c)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Execute {
    #[serde(default, rename = "override")]
    over: Option<Override>,
}

async fn case_execute(
    State(st): State<ApiState>,
    h: Who,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Response, ApiError> {
    let x: Execute = body(&b)?;
    let c = call(&st, h, move |svc, who| svc.execute(who, &id, x.over)).await?;
    Ok(ok_json(StatusCode::OK, &st.service.view(&c)))
}

async fn case_preserve(
    State(st): State<ApiState>,
    h: Who,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = call(&st, h, move |svc, who| svc.preserve(who, &id)).await?;
    Ok(ok_json(StatusCode::CREATED, &st.service.view(&c)))
}

async fn case_release(
    State(st): State<ApiState>,
    h: Who,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = call(&st, h, move |svc, who| svc.release(who, &id)).await?;
    Ok(ok_json(StatusCode::OK, &st.service.view(&c)))
}

/// Lifting a restriction: 202 while it waits for a second person, 200 once lifted.
async fn case_lift(
    State(st): State<ApiState>,
    h: Who,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Response, ApiError> {
    let r: Reason = body(&b)?;
    let c = call(&st, h, move |svc, who| svc.lift(who, &id, &r.reason)).await?;
    let status = if c.lifted() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok(ok_json(status, &st.service.view(&c)))
}

async fn case_report(
    State(st): State<ApiState>,
    h: Who,
    Path(id): Path<String>,
    q: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = q.map_err(|e| ApiError::bad(e.body_text()))?.0;
    let format = q.get("format").cloned().unwrap_or_else(|| "json".into());
    let (bytes, ctype) = call(&st, h, move |svc, who| svc.report(who, &id, &format)).await?;
    Ok(([(header::CONTENT_TYPE, ctype)], bytes).into_response())
}

/// An access case's letter, as a download.
async fn access_letter(
    State(st): State<ApiState>,
    h: Who,
    Path(id): Path<String>,
    q: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = q.map_err(|e| ApiError::bad(e.body_text()))?.0;
    let format = q.get("format").cloned().unwrap_or_else(|| "pdf".into());
    let name = format!(
        "attachment; filename=\"registerutdrag-{}.{}\"",
        safe_name(&id),
        if format == "html" { "html" } else { "pdf" }
    );
    let (bytes, ctype) = call(&st, h, move |svc, who| svc.access_letter(who, &id, &format)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}

/// A case id as it may go into a file name: letters, digits and '-' only.
fn safe_name(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// The delivery pack: a ZIP with every rendering, the signed audit head and how to verify.
async fn case_pack(
    State(st): State<ApiState>,
    h: Who,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (zip, name) = call(&st, h, move |svc, who| svc.delivery_pack(who, &id)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        zip,
    )
        .into_response())
}

/// The scanned order: the body is the file, its `Content-Type` the scan's.
async fn case_order_put(
    State(st): State<ApiState>,
    h: Who,
    Path(id): Path<String>,
    headers: HeaderMap,
    b: Bytes,
) -> Result<Response, ApiError> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let sha = call(&st, h, move |svc, who| {
        svc.case_order_put(who, &id, &b, &ctype)
    })
    .await?;
    Ok(ok_json(StatusCode::OK, &json!({"order_sha256": sha})))
}

async fn case_order_get(
    State(st): State<ApiState>,
    h: Who,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let name = format!("attachment; filename=\"order-{id}\"");
    let (bytes, ctype) = call(&st, h, move |svc, who| svc.case_order_get(who, &id)).await?;
    let mut r = ([(header::CONTENT_TYPE, ctype)], bytes).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&name) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
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
    h: Who,
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
        let v = call(&st, h, move |svc, who| {
            svc.case_calls(who, &id, given, &number, from, to)
        })
        .await?;
        return Ok(ok_json(StatusCode::OK, &v));
    }
    let q = parse_point(&r)?;
    let v = call(&st, h, move |svc, who| svc.case_lookup(who, &id, q)).await?;
    Ok(ok_json(StatusCode::OK, &v))
}

async fn abuse_lookup(State(st): State<ApiState>, h: Who, b: Bytes) -> Result<Response, ApiError> {
    let r: LookupReq = body(&b)?;
    let q = parse_point(&r)?;
    let reference = r.reference.clone().unwrap_or_default();
    let v = call(&st, h, move |svc, who| {
        svc.abuse_lookup(who, &reference, q.given, q.ip, q.port, q.at)
    })
    .await?;
    Ok(ok_json(StatusCode::OK, &v))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtractReq {
    /// The approved `access` case.
    case: String,
}

async fn access_extract(
    State(st): State<ApiState>,
    h: Who,
    b: Bytes,
) -> Result<Response, ApiError> {
    let r: ExtractReq = body(&b)?;
    let v = call(&st, h, move |svc, who| svc.access_extract(who, &r.case)).await?;
    Ok(ok_json(StatusCode::OK, &v))
}

async fn audit_read(
    State(st): State<ApiState>,
    h: Who,
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
    let v = call(&st, h, move |svc, who| svc.audit_read(who, after, limit)).await?;
    Ok(ok_json(StatusCode::OK, &json!({"entries": v})))
}

async fn audit_verify(
    State(st): State<ApiState>,
    h: Who,
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
    let v = call(&st, h, move |svc, who| {
        svc.audit_verify(who, expect.as_ref())
    })
    .await?;
    Ok(ok_json(StatusCode::OK, &v))
}

async fn audit_head(State(st): State<ApiState>, h: Who) -> Result<Response, ApiError> {
    let v = call(&st, h, |svc, who| svc.audit_head(who)).await?;
    Ok(ok_json(StatusCode::OK, &v))
}

/// A period's bound: an RFC 3339 time, or a Swedish day (`from` its first second, `to` the
/// first second after it).
fn period_bound(k: &str, v: &str, end: bool) -> Result<i64, ApiError> {
    let v = v.trim();
    if let Ok(day) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let bound = if end {
            crate::calendar::day_end(day)
        } else {
            crate::calendar::day_start(day)
        };
        return bound.ok_or_else(|| ApiError::bad(format!("{k}: {v} is out of range")));
    }
    parse_time(v).map_err(|e| ApiError::bad(format!("{k}: {e} (or a day YYYY-MM-DD)")))
}

async fn statistics(
    State(st): State<ApiState>,
    h: Who,
    q: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = q.map_err(|e| ApiError::bad(e.body_text()))?.0;
    if let Some(k) = q
        .keys()
        .find(|k| !matches!(k.as_str(), "from" | "to" | "format"))
    {
        return Err(ApiError::bad(format!(
            "unknown query parameter {k:?}; from, to and format"
        )));
    }
    let from = q
        .get("from")
        .map(|v| period_bound("from", v, false))
        .unwrap_or(Ok(0))?;
    let to = q
        .get("to")
        .map(|v| period_bound("to", v, true))
        .unwrap_or(Ok(i64::MAX / 2))?;
    let csv = match q.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad(format!(
                "format is json or csv, not {other:?}"
            )))
        }
    };
    let s = call(&st, h, move |svc, who| svc.statistics(who, from, to)).await?;
    if csv {
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            crate::legal::stats::to_csv(&s),
        )
            .into_response());
    }
    Ok(ok_json(StatusCode::OK, &json!(s)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchReq {
    purpose: String,
    queries: Vec<LookupReq>,
}

async fn case_lookups(
    State(st): State<ApiState>,
    h: Who,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Response, ApiError> {
    let r: BatchReq = body(&b)?;
    let purpose = match r.purpose.replace('-', "_").as_str() {
        "ipred" => Purpose::Ipred,
        "law_enforcement" => Purpose::LawEnforcement,
        other => {
            return Err(ApiError::bad(format!(
                "purpose {other:?}: a case lookup is ipred or law_enforcement (abuse lookups \
                 go to /v1/abuse/lookup)"
            )))
        }
    };
    let queries = r
        .queries
        .iter()
        .enumerate()
        .map(|(i, q)| {
            parse_point(q).map_err(|e| ApiError::bad(format!("queries[{i}]: {}", e.message)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let v = call(&st, h, move |svc, who| {
        let mut answers = Vec::with_capacity(queries.len());
        svc.case_lookups(who, &id, &queries, Some(purpose), |a| {
            answers.push(a);
            true
        })?;
        Ok(answers)
    })
    .await?;
    Ok(ok_json(StatusCode::OK, &json!({"answers": v})))
}

type QueryMap = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

async fn quarantine_summary(State(st): State<ApiState>, h: Who) -> Result<Response, ApiError> {
    let v = call(&st, h, |svc, who| svc.quarantine_summary(who)).await?;
    Ok(ok_json(StatusCode::OK, &json!({"sources": v})))
}

async fn quarantine_records(
    State(st): State<ApiState>,
    h: Who,
    q: QueryMap,
) -> Result<Response, ApiError> {
    let q = q.map_err(|e| ApiError::bad(e.body_text()))?.0;
    let limit = match q.get("limit") {
        None => 100,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| ApiError::bad("limit must be a number"))?,
    };
    let raw = match q.get("raw").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::bad("raw must be true or false")),
    };
    let query = QuarantineQuery {
        source: q.get("source").cloned(),
        code: q.get("code").cloned(),
        limit,
        raw,
        reference: q.get("reference").cloned(),
    };
    let v = call(&st, h, move |svc, who| svc.quarantine_records(who, query)).await?;
    Ok(ok_json(StatusCode::OK, &v))
}

/// Streams the request's body into the spool (outside its globs until whole), audited when
/// accepted and when received; a body cut short leaves nothing in the spool.
async fn import_file(
    State(st): State<ApiState>,
    h: Who,
    Path((format, name)): Path<(String, String)>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    use crate::ingest::handoff::ReceiveError;
    use http_body_util::BodyExt;
    let format = crate::parse::Format::from_name(&format)
        .ok_or_else(|| ApiError::bad(format!("unknown format {format:?}")))?;
    let service = st.service.clone();
    let caller = h.0.clone();
    let handoff = call(&st, h, move |svc, who| {
        svc.import_handoff(who, format, &name)
    })
    .await?;
    let io = |e: std::io::Error| ApiError::new(ErrorKind::IngestReadFailed, format!("spool: {e}"));
    let write = async {
        let mut file = handoff.receive(IMPORT_LIMIT).map_err(io)?;
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ApiError::bad(format!("the upload broke off: {e}")))?;
            if let Ok(data) = frame.into_data() {
                tokio::task::block_in_place(|| file.write(&data)).map_err(|e| match e {
                    ReceiveError::TooLarge(_) => {
                        ApiError::new(ErrorKind::RequestTooLarge, e.to_string())
                    }
                    ReceiveError::Io(e) => io(e),
                })?;
            }
        }
        tokio::task::block_in_place(|| file.finish()).map_err(io)
    };
    let (n, digest) = match write.await {
        Ok(r) => r,
        Err(e) => {
            handoff.abandon();
            return Err(e);
        }
    };
    let target = handoff.target.clone();
    let answer = tokio::task::spawn_blocking(move || {
        service.import_received(&caller, &handoff, n, &digest)?;
        handoff.place().map_err(|e| {
            LegalError::BadRequest(ErrorKind::IngestReadFailed, format!("spool: {e}"))
        })?;
        Ok::<_, LegalError>(
            json!({"spooled": target.file_name().map(|f| f.to_string_lossy()),
                                   "bytes": n, "sha256": digest}),
        )
    })
    .await
    .map_err(|_| ApiError::new(ErrorKind::Internal, "the request failed"))??;
    Ok(ok_json(StatusCode::ACCEPTED, &answer))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    role: Role,
    person: Person,
}

async fn user_add(State(st): State<ApiState>, h: Who, b: Bytes) -> Result<Response, ApiError> {
    let r: NewUser = body(&b)?;
    let t = call(&st, h, move |svc, who| {
        svc.user_add(who, &r.name, r.role, r.person)
    })
    .await?;
    let state = if t.pending { "pending" } else { "active" };
    Ok(ok_json(
        StatusCode::CREATED,
        &json!({"token": t.token, "desk_password": t.desk_password, "state": state}),
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupBody {
    dir: String,
}

async fn backup_create(State(st): State<ApiState>, h: Who, b: Bytes) -> Result<Response, ApiError> {
    let r: BackupBody = body(&b)?;
    let v = call(&st, h, move |svc, who| svc.backup_create(who, &r.dir)).await?;
    Ok(ok_json(StatusCode::CREATED, &v))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportBody {
    file: String,
}

async fn keys_export(State(st): State<ApiState>, h: Who, b: Bytes) -> Result<Response, ApiError> {
    let r: ExportBody = body(&b)?;
    let v = call(&st, h, move |svc, who| svc.keys_export(who, &r.file)).await?;
    Ok(ok_json(StatusCode::CREATED, &v))
}

async fn certificates(State(st): State<ApiState>, h: Who) -> Result<Response, ApiError> {
    let v = call(&st, h, |svc, who| svc.certificates(who)).await?;
    Ok(ok_json(StatusCode::OK, &json!({"certificates": v})))
}

async fn user_list(State(st): State<ApiState>, h: Who) -> Result<Response, ApiError> {
    let v = call(&st, h, |svc, who| svc.user_list(who)).await?;
    Ok(ok_json(StatusCode::OK, &json!({"users": v})))
}

async fn user_approve(
    State(st): State<ApiState>,
    h: Who,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let v = call(&st, h, move |svc, who| svc.user_approve(who, &name)).await?;
    Ok(ok_json(StatusCode::OK, &v))
}

async fn user_reset(
    State(st): State<ApiState>,
    h: Who,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let pw = call(&st, h, move |svc, who| svc.user_reset_password(who, &name)).await?;
    Ok(ok_json(
        StatusCode::OK,
        &json!({"desk_password": pw, "state": "pending"}),
    ))
}

async fn user_revoke(
    State(st): State<ApiState>,
    h: Who,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let v = call(&st, h, move |svc, who| svc.user_revoke(who, &name)).await?;
    Ok(ok_json(StatusCode::OK, &v))
}

async fn identity_import(
    State(st): State<ApiState>,
    h: Who,
    b: Bytes,
) -> Result<Response, ApiError> {
    let r = call(&st, h, move |svc, who| svc.identity_import(who, &b)).await?;
    Ok(ok_json(StatusCode::OK, &json!(r)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Bootstrap {
    name: String,
    person: Person,
}

/// The service user's way in: only over the Unix socket, from the daemon's own uid.
async fn admin_bootstrap(
    State(st): State<ApiState>,
    h: Who,
    b: Bytes,
) -> Result<Response, ApiError> {
    let r: Bootstrap = body(&b)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let service_user = h.1.as_ref().and_then(|p| p.uid) == Some(me);
    let t = call(&st, h, move |svc, who| {
        svc.bootstrap_admin(who, service_user, &r.name, r.person)
    })
    .await?;
    Ok(ok_json(
        StatusCode::CREATED,
        &json!({"token": t.token, "desk_password": t.desk_password}),
    ))
}
