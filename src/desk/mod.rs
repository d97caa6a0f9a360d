//! The desk: the web interface for legal officers, auditors, the security team and admins,
//! served by `tdr serve` under `/desk` on its HTTP(S) listener (never on the CLI's socket).
//!
//! Server-rendered HTML (maud, compiled into the binary), one stylesheet and one small script
//! served from the binary, a strict Content-Security-Policy (no inline script or style). A
//! person signs in with name, password (argon2id) and a TOTP code ([`signin`]); the session is a
//! random id in a `__Host-` cookie (HttpOnly, Secure, SameSite=Strict) held in memory with an
//! idle timeout ([`session`]); every form carries the session's CSRF token. Each request builds
//! a [`Caller`] (channel `desk`) from the session and calls the same [`Service`] operation the
//! API calls, so the desk can do nothing the role matrix, four-eyes or the audit log do not
//! already govern. Strings come from one catalogue ([`i18n`]), Swedish by default.

pub mod cases;
pub mod i18n;
pub mod notices;
pub mod oversight;
pub mod page;
pub mod session;
pub mod signin;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::Markup;

use crate::api::{Peer, UsersCache};
use crate::error::ErrorKind;
use crate::legal::auth::{Caller, Principal, Role};
use crate::legal::service::LegalError;
use crate::legal::Service;

use self::i18n::Lang;
use self::session::{Sessions, Stage};

/// The session cookie: `__Host-` binds it to this origin, path `/`, Secure.
pub const COOKIE: &str = "__Host-tdr_session";
/// The language cookie (not a secret).
pub const LANG_COOKIE: &str = "tdr_lang";

/// What the desk's handlers share.
#[derive(Clone)]
pub struct DeskState {
    pub service: Arc<Service>,
    pub users: Arc<UsersCache>,
    pub sessions: Arc<Sessions>,
}

impl DeskState {
    pub fn new(service: Arc<Service>, users: Arc<UsersCache>, idle_secs: u64) -> DeskState {
        DeskState {
            service,
            users,
            sessions: Arc::new(Sessions::new(std::time::Duration::from_secs(idle_secs))),
        }
    }
}

/// The Content-Security-Policy of every desk answer.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                       img-src 'self' data:; object-src 'none'; base-uri 'none'; \
                       form-action 'self'; frame-ancestors 'none'";

/// The desk's routes (merged into the daemon's router).
pub fn router(state: DeskState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/desk/") }))
        .route("/desk", get(|| async { Redirect::to("/desk/") }))
        .route("/desk/", get(home))
        .route("/desk/static/desk.css", get(css))
        .route("/desk/static/desk.js", get(js))
        .route("/desk/lang/{lang}", get(set_lang))
        .merge(signin::routes())
        .merge(cases::routes())
        .merge(oversight::routes())
        .merge(notices::routes())
        .layer(axum::middleware::from_fn(guard))
        .with_state(state)
}

/// Every desk answer: not on the CLI's socket, not cached, not framed, under the CSP; a POST
/// that a browser says came from another site is refused before any handler runs.
async fn guard(req: Request, next: axum::middleware::Next) -> Response {
    if req
        .extensions()
        .get::<Peer>()
        .is_some_and(|p| p.channel == "cli")
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    if req.method() == Method::POST && cross_site(req.headers()) {
        return refusal(
            Lang::of(req.headers()),
            StatusCode::FORBIDDEN,
            "desk.csrf",
            "desk.err.cross_site",
        );
    }
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    r
}

/// Whether the browser says a request came from another site (`Sec-Fetch-Site`), or its
/// `Origin` is not the host it was sent to.
fn cross_site(h: &HeaderMap) -> bool {
    let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return true;
    }
    let origin = h.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        // A browser sends `null` for a privacy-sensitive context (a no-referrer policy, a
        // sandbox): unknown, not foreign; the CSRF token decides.
        (Some("null"), _) => false,
        (Some(o), Some(host)) => {
            let o = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"))
                .unwrap_or(o);
            o != host
        }
        _ => false,
    }
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("static/desk.css"),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("static/desk.js"),
    )
        .into_response()
}

/// Switches the language and goes back to the desk's start.
async fn set_lang(axum::extract::Path(lang): axum::extract::Path<String>) -> Response {
    let lang = Lang::parse(&lang).unwrap_or(Lang::Sv);
    let mut r = Redirect::to("/desk/").into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; Secure; SameSite=Strict; Max-Age=31536000",
        lang.code()
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The start page of each role.
async fn home(d: Desk) -> Response {
    let to = match d.who.role {
        Role::Legal => "/desk/cases",
        Role::Auditor => "/desk/audit",
        Role::Security => "/desk/abuse",
        Role::Admin => "/desk/users",
        Role::Ops => "/desk/account",
    };
    Redirect::to(to).into_response()
}

/// The session id a request's cookie names.
pub(crate) fn cookie<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A signed-in person on a page: who, in which language, with which CSRF token.
pub struct Desk {
    pub who: Principal,
    pub lang: Lang,
    pub csrf: String,
    pub sid: String,
    pub peer: Option<String>,
    pub state: DeskState,
}

impl Desk {
    /// The caller the service is asked for.
    pub fn caller(&self) -> Caller {
        Caller {
            who: Ok(self.who.clone()),
            claimed: None,
            channel: "desk",
            peer: self.peer.clone(),
        }
    }

    /// What every page's frame needs.
    pub fn ctx(&self) -> page::Ctx {
        page::Ctx {
            lang: self.lang,
            user: Some((self.who.name.clone(), self.who.role)),
            csrf: Some(self.csrf.clone()),
        }
    }

    /// Runs a service call on a blocking thread as this person.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Service, &Caller) -> Result<T, LegalError> + Send + 'static,
    ) -> Result<T, LegalError> {
        let caller = self.caller();
        let service = self.state.service.clone();
        tokio::task::spawn_blocking(move || f(&service, &caller))
            .await
            .map_err(|_| LegalError::BadRequest(ErrorKind::Internal, "the request failed".into()))?
    }

    /// A page for this person.
    pub fn page(&self, title: &str, body: Markup) -> Response {
        page::html(&self.ctx(), title, body)
    }

    /// The error page for a refused operation, with its code and what it means.
    pub fn error(&self, e: &LegalError) -> Response {
        error_page(&self.ctx(), e)
    }
}

/// The page of a refused operation: the kind's HTTP status, its code and what it means.
pub fn error_page(ctx: &page::Ctx, e: &LegalError) -> Response {
    let kind = e.kind();
    let body = page::error_box(ctx.lang, kind.code(), &e.to_string());
    (
        crate::api::status_of(kind),
        page::html(ctx, ctx.lang.t("desk.refused"), body),
    )
        .into_response()
}

/// Why a request did not reach a signed-in page.
pub enum NotIn {
    /// No session (or not signed in): a page sends the person to sign in.
    SignIn,
    /// A POST without a session or with a bad CSRF token.
    Refused(Lang, &'static str),
    /// The role may not use this page.
    Forbidden(Lang),
}

impl IntoResponse for NotIn {
    fn into_response(self) -> Response {
        match self {
            NotIn::SignIn => Redirect::to("/desk/signin").into_response(),
            NotIn::Refused(lang, code) => refusal(
                lang,
                StatusCode::FORBIDDEN,
                code,
                if code == "desk.no_session" {
                    "desk.err.no_session"
                } else {
                    "desk.err.csrf"
                },
            ),
            NotIn::Forbidden(lang) => refusal(
                lang,
                StatusCode::FORBIDDEN,
                ErrorKind::AuthForbidden.code(),
                "desk.err.forbidden",
            ),
        }
    }
}

/// A refusal page for someone who may not be signed in.
pub fn refusal(lang: Lang, status: StatusCode, code: &str, key: &'static str) -> Response {
    let ctx = page::Ctx {
        lang,
        user: None,
        csrf: None,
    };
    let body = page::error_box(lang, code, lang.t(key));
    (status, page::html(&ctx, lang.t("desk.refused"), body)).into_response()
}

impl FromRequestParts<DeskState> for Desk {
    type Rejection = NotIn;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        st: &DeskState,
    ) -> Result<Desk, NotIn> {
        let lang = Lang::of(&parts.headers);
        let post = parts.method == Method::POST;
        let refused = |code| {
            if post {
                NotIn::Refused(lang, code)
            } else {
                NotIn::SignIn
            }
        };
        let sid = cookie(&parts.headers, COOKIE).ok_or(refused("desk.no_session"))?;
        let s = st.sessions.get(sid).ok_or(refused("desk.no_session"))?;
        let Stage::In { user } = &s.stage else {
            return Err(refused("desk.no_session"));
        };
        // The user is checked again on every request: revoked or pending ends the session.
        let who = match st.users.principal(user) {
            Ok(p) => p,
            Err(_) => {
                st.sessions.remove(sid);
                return Err(refused("desk.no_session"));
            }
        };
        let peer = parts.extensions.get::<Peer>().map(|p| p.addr.clone());
        Ok(Desk {
            who,
            lang,
            csrf: s.csrf.clone(),
            sid: sid.to_string(),
            peer,
            state: st.clone(),
        })
    }
}

/// A signed-in person of one of `roles`: the page's guard.
pub fn only(d: &Desk, roles: &[Role]) -> Result<(), NotIn> {
    if roles.contains(&d.who.role) {
        Ok(())
    } else {
        Err(NotIn::Forbidden(d.lang))
    }
}

/// A form posted by a signed-in person, its CSRF token checked.
pub struct Posted {
    pub desk: Desk,
    pub form: HashMap<String, String>,
}

impl Posted {
    /// A field, trimmed ("" when absent).
    pub fn get(&self, k: &str) -> &str {
        self.form.get(k).map(|s| s.trim()).unwrap_or("")
    }
}

impl FromRequest<DeskState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, st: &DeskState) -> Result<Posted, Response> {
        let (mut parts, body) = req.into_parts();
        let desk = Desk::from_request_parts(&mut parts, st)
            .await
            .map_err(IntoResponse::into_response)?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), st)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = form_fields(&bytes);
        if !csrf_ok(form.get("_csrf").map(String::as_str), &desk.csrf) {
            return Err(NotIn::Refused(desk.lang, "desk.csrf").into_response());
        }
        Ok(Posted { desk, form })
    }
}

/// An `application/x-www-form-urlencoded` body's fields (the last of a repeated name wins).
pub fn form_fields(b: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(b).into_owned().collect()
}

/// Compares the posted CSRF token with the session's in constant time.
pub fn csrf_ok(given: Option<&str>, want: &str) -> bool {
    let Some(given) = given else {
        return false;
    };
    given.len() == want.len()
        && given
            .bytes()
            .zip(want.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
