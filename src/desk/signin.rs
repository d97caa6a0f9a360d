//! Signing in: name and password, then (the first time) a new password and the enrolment of
//! a TOTP app from a QR code, else the app's code; and signing out. Each step is a form on its
//! own page, posted with the pre-sign-in session's CSRF token; the session id is replaced when
//! the sign-in completes. Every step's outcome is audited by the service.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup, PreEscaped};

use super::i18n::Lang;
use super::page::{self, Ctx};
use super::session::{Session, Stage};
use super::{cookie, csrf_ok, form_fields, refusal, Desk, DeskState, COOKIE};
use crate::api::Peer;
use crate::legal::service::Refused;
use crate::legal::signin::{Next, MIN_PASSWORD};
use crate::legal::totp;

pub fn routes() -> Router<DeskState> {
    Router::new()
        .route("/desk/signin", get(signin_form).post(signin_post))
        .route("/desk/signin/password", get(step_form).post(password_post))
        .route("/desk/signin/enroll", get(step_form).post(enroll_post))
        .route("/desk/signin/totp", get(step_form).post(totp_post))
        .route("/desk/signout", post(signout))
        .route("/desk/account", get(account))
}

/// The cookie that carries a session id.
fn session_cookie(id: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .expect("hex is a valid header value")
}

fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "__Host-tdr_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
    )
}

/// A request on the way in: its language, peer, and pre-sign-in session (if any).
struct Visit {
    lang: Lang,
    peer: Option<String>,
    sid: Option<String>,
    session: Option<Session>,
}

fn visit(st: &DeskState, req: &Request) -> Visit {
    let sid = cookie(req.headers(), COOKIE).map(str::to_string);
    let session = sid.as_deref().and_then(|s| st.sessions.get(s));
    Visit {
        lang: Lang::of(req.headers()),
        peer: req.extensions().get::<Peer>().map(|p| p.addr.clone()),
        sid: if session.is_some() { sid } else { None },
        session,
    }
}

fn ctx(lang: Lang, csrf: &str) -> Ctx {
    Ctx {
        lang,
        user: None,
        csrf: Some(csrf.to_string()),
    }
}

/// A sign-in page with a fresh or kept pre-sign-in session.
fn form_page(lang: Lang, csrf: &str, title: &str, body: Markup, set: Option<&str>) -> Response {
    let mut r = page::html(&ctx(lang, csrf), title, body);
    if let Some(id) = set {
        r.headers_mut()
            .insert(header::SET_COOKIE, session_cookie(id));
    }
    r
}

async fn signin_form(State(st): State<DeskState>, req: Request) -> Response {
    let v = visit(&st, &req);
    if matches!(v.session.as_ref().map(|s| &s.stage), Some(Stage::In { .. })) {
        return Redirect::to("/desk/").into_response();
    }
    // Every visit to the form starts over (a half-done sign-in is dropped), in the session the
    // browser has: a second load of the page (another tab, a reload) keeps its CSRF token good.
    let (id, csrf) = match (&v.sid, &v.session) {
        (Some(sid), Some(s)) if st.sessions.advance(sid, Stage::Anonymous).is_some() => {
            (sid.clone(), s.csrf.clone())
        }
        _ => st.sessions.start(),
    };
    form_page(
        v.lang,
        &csrf,
        v.lang.t("signin.title"),
        password_form(v.lang, &csrf, None),
        Some(&id),
    )
}

fn password_form(l: Lang, csrf: &str, error: Option<Markup>) -> Markup {
    html! {
        @if let Some(e) = error { (e) }
        form.signin method="post" action="/desk/signin" {
            input type="hidden" name="_csrf" value=(csrf);
            label for="user" { (l.t("signin.user")) }
            input #user name="user" type="text" autocomplete="username" required autofocus;
            label for="password" { (l.t("signin.password")) }
            input #password name="password" type="password" autocomplete="current-password" required;
            button #signin type="submit" { (l.t("signin.submit")) }
        }
        p.hint { (l.t("signin.hint")) }
    }
}

/// Reads a posted sign-in step: the session must exist and the CSRF token match.
async fn posted(
    st: &DeskState,
    req: Request,
) -> Result<
    (
        Visit,
        String,
        Session,
        std::collections::HashMap<String, String>,
    ),
    Response,
> {
    let v = visit(st, &req);
    let (Some(sid), Some(s)) = (v.sid.clone(), v.session.clone()) else {
        return Err(refusal(
            v.lang,
            StatusCode::FORBIDDEN,
            "desk.no_session",
            "desk.err.no_session",
        ));
    };
    let body = axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let form = form_fields(&body);
    if !csrf_ok(form.get("_csrf").map(String::as_str), &s.csrf) {
        return Err(refusal(
            v.lang,
            StatusCode::FORBIDDEN,
            "desk.csrf",
            "desk.err.csrf",
        ));
    }
    Ok((v, sid, s, form))
}

/// The refusal of a step, on the step's own page.
fn refused_box(l: Lang, r: Refused) -> Markup {
    match r {
        Refused::Bad => page::error_box(l, "desk.bad_credentials", l.t("signin.bad")),
        Refused::Locked(until) => html! {
            p #error .error role="alert" {
                (l.t("signin.locked")) " " (page::when(until)) " "
                code.code { "[desk.locked]" }
            }
        },
        Refused::WeakPassword => page::error_box(l, "desk.weak_password", l.t("signin.weak")),
    }
}

fn service_failed(l: Lang, e: &crate::legal::service::LegalError) -> Response {
    let c = Ctx {
        lang: l,
        user: None,
        csrf: None,
    };
    super::error_page(&c, e)
}

async fn signin_post(State(st): State<DeskState>, req: Request) -> Response {
    let (v, sid, s, form) = match posted(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let user = form
        .get("user")
        .map(|u| u.trim().to_string())
        .unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let (u, peer) = (user.clone(), v.peer.clone());
    match step(&st, move |svc| {
        svc.desk_password(&u, &password, peer.as_deref())
    })
    .await
    {
        Err(e) => service_failed(v.lang, &e),
        Ok(Err(r)) => (
            StatusCode::UNAUTHORIZED,
            form_page(
                v.lang,
                &s.csrf,
                v.lang.t("signin.title"),
                password_form(v.lang, &s.csrf, Some(refused_box(v.lang, r))),
                None,
            ),
        )
            .into_response(),
        Ok(Ok(next)) => {
            let stage = match next {
                Next::ChangePassword => Stage::NewPassword { user },
                Next::Enroll => Stage::Enroll {
                    user,
                    secret: totp::new_secret(),
                },
                Next::Code => Stage::Code { user },
            };
            go_to_stage(&st, &sid, stage)
        }
    }
}

fn stage_path(s: &Stage) -> &'static str {
    match s {
        Stage::Anonymous => "/desk/signin",
        Stage::NewPassword { .. } => "/desk/signin/password",
        Stage::Enroll { .. } => "/desk/signin/enroll",
        Stage::Code { .. } => "/desk/signin/totp",
        Stage::In { .. } => "/desk/",
    }
}

/// Moves the session on and sends the browser to the page of its new stage.
fn go_to_stage(st: &DeskState, sid: &str, stage: Stage) -> Response {
    let path = stage_path(&stage);
    let signed_in = matches!(stage, Stage::In { .. });
    let Some(new_id) = st.sessions.advance(sid, stage) else {
        return Redirect::to("/desk/signin").into_response();
    };
    let mut r = Redirect::to(path).into_response();
    if signed_in {
        r.headers_mut()
            .insert(header::SET_COOKIE, session_cookie(&new_id));
    }
    r
}

/// The page of the session's current step (a GET of another step's page goes to its own).
async fn step_form(State(st): State<DeskState>, req: Request) -> Response {
    let v = visit(&st, &req);
    let Some(s) = v.session else {
        return Redirect::to("/desk/signin").into_response();
    };
    let path = stage_path(&s.stage);
    if req.uri().path() != path {
        return Redirect::to(path).into_response();
    }
    step_page(v.lang, &s, None)
}

fn step_page(l: Lang, s: &Session, error: Option<Markup>) -> Response {
    let (title, body) = match &s.stage {
        Stage::NewPassword { .. } => (l.t("signin.new_title"), new_password_form(l, &s.csrf)),
        Stage::Enroll { user, secret } => (
            l.t("signin.enroll_title"),
            enroll_form(l, &s.csrf, user, secret),
        ),
        Stage::Code { .. } => (l.t("signin.code_title"), code_form(l, &s.csrf)),
        _ => return Redirect::to("/desk/signin").into_response(),
    };
    // A step shown again with its refusal answers 401, as the refusal of the sign-in does.
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let body = html! { @if let Some(e) = error { (e) } (body) };
    (status, page::html(&ctx(l, &s.csrf), title, body)).into_response()
}

fn new_password_form(l: Lang, csrf: &str) -> Markup {
    html! {
        p { (l.t("signin.new_intro")) }
        form.signin method="post" action="/desk/signin/password" {
            input type="hidden" name="_csrf" value=(csrf);
            label for="password" { (l.t("signin.new_password")) }
            input #password name="password" type="password" autocomplete="new-password"
                minlength=(MIN_PASSWORD) required aria-describedby="pw-rule";
            p #pw-rule .hint { (l.t("signin.new_rule")) }
            label for="password2" { (l.t("signin.new_again")) }
            input #password2 name="password2" type="password" autocomplete="new-password" required;
            button #save type="submit" { (l.t("signin.save")) }
        }
    }
}

fn enroll_form(l: Lang, csrf: &str, user: &str, secret: &str) -> Markup {
    let uri = totp::uri("tdr Junet", user, secret);
    let qr = qrcode::QrCode::new(uri.as_bytes())
        .map(|c| {
            c.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default();
    // The SVG comes from the QR encoder (paths and numbers only), not from the user; its XML
    // declaration is dropped.
    let qr = qr
        .find("<svg")
        .map(|i| qr[i..].to_string())
        .unwrap_or_default();
    html! {
        p { (l.t("signin.enroll_intro")) }
        figure #totp-qr role="img" aria-label=(l.t("signin.qr_label")) { (PreEscaped(qr)) }
        p { (l.t("signin.enroll_manual")) " " code #totp-secret { (secret) } }
        form.signin method="post" action="/desk/signin/enroll" {
            input type="hidden" name="_csrf" value=(csrf);
            label for="code" { (l.t("signin.code")) }
            input #code name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                pattern="[0-9 ]{6,7}" required;
            button #confirm type="submit" { (l.t("signin.confirm")) }
        }
    }
}

fn code_form(l: Lang, csrf: &str) -> Markup {
    html! {
        p { (l.t("signin.code_intro")) }
        form.signin method="post" action="/desk/signin/totp" {
            input type="hidden" name="_csrf" value=(csrf);
            label for="code" { (l.t("signin.code")) }
            input #code name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                pattern="[0-9 ]{6,7}" required autofocus;
            button #verify type="submit" { (l.t("signin.verify")) }
        }
    }
}

/// Runs a sign-in step on a blocking thread.
async fn step<T: Send + 'static>(
    st: &DeskState,
    f: impl FnOnce(
            &crate::legal::Service,
        ) -> Result<Result<T, Refused>, crate::legal::service::LegalError>
        + Send
        + 'static,
) -> Result<Result<T, Refused>, crate::legal::service::LegalError> {
    let svc = st.service.clone();
    tokio::task::spawn_blocking(move || f(&svc))
        .await
        .map_err(|_| {
            crate::legal::service::LegalError::BadRequest(
                crate::error::ErrorKind::Internal,
                "sign-in failed".into(),
            )
        })?
}

/// After a refused step: a lock ends the sign-in; anything else shows the step again.
fn after_refusal(st: &DeskState, l: Lang, sid: &str, s: &Session, r: Refused) -> Response {
    if matches!(r, Refused::Locked(_)) {
        st.sessions.remove(sid);
        let c = Ctx {
            lang: l,
            user: None,
            csrf: None,
        };
        let body = html! {
            (refused_box(l, r))
            p { a href="/desk/signin" { (l.t("signin.again")) } }
        };
        let mut resp = (
            StatusCode::UNAUTHORIZED,
            page::html(&c, l.t("signin.title"), body),
        )
            .into_response();
        resp.headers_mut()
            .insert(header::SET_COOKIE, clear_cookie());
        return resp;
    }
    step_page(l, s, Some(refused_box(l, r)))
}

async fn password_post(State(st): State<DeskState>, req: Request) -> Response {
    let (v, sid, s, form) = match posted(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Stage::NewPassword { user } = s.stage.clone() else {
        return Redirect::to(stage_path(&s.stage)).into_response();
    };
    let pw = form.get("password").cloned().unwrap_or_default();
    if form.get("password2") != Some(&pw) {
        return step_page(
            v.lang,
            &s,
            Some(page::error_box(
                v.lang,
                "desk.password_mismatch",
                v.lang.t("signin.mismatch"),
            )),
        );
    }
    let (u, peer) = (user.clone(), v.peer.clone());
    match step(&st, move |svc| {
        svc.desk_set_password(&u, &pw, peer.as_deref())
    })
    .await
    {
        Err(e) => service_failed(v.lang, &e),
        Ok(Err(r)) => after_refusal(&st, v.lang, &sid, &s, r),
        Ok(Ok(Next::Code)) => go_to_stage(&st, &sid, Stage::Code { user }),
        Ok(Ok(_)) => go_to_stage(
            &st,
            &sid,
            Stage::Enroll {
                user,
                secret: totp::new_secret(),
            },
        ),
    }
}

async fn enroll_post(State(st): State<DeskState>, req: Request) -> Response {
    let (v, sid, s, form) = match posted(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Stage::Enroll { user, secret } = s.stage.clone() else {
        return Redirect::to(stage_path(&s.stage)).into_response();
    };
    let code = form.get("code").cloned().unwrap_or_default();
    let (u, peer) = (user.clone(), v.peer.clone());
    match step(&st, move |svc| {
        svc.desk_enroll(&u, &secret, &code, peer.as_deref())
    })
    .await
    {
        Err(e) => service_failed(v.lang, &e),
        Ok(Err(r)) => after_refusal(&st, v.lang, &sid, &s, r),
        Ok(Ok(_)) => go_to_stage(&st, &sid, Stage::In { user }),
    }
}

async fn totp_post(State(st): State<DeskState>, req: Request) -> Response {
    let (v, sid, s, form) = match posted(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Stage::Code { user } = s.stage.clone() else {
        return Redirect::to(stage_path(&s.stage)).into_response();
    };
    let code = form.get("code").cloned().unwrap_or_default();
    let (u, peer) = (user.clone(), v.peer.clone());
    match step(&st, move |svc| svc.desk_code(&u, &code, peer.as_deref())).await {
        Err(e) => service_failed(v.lang, &e),
        Ok(Err(r)) => after_refusal(&st, v.lang, &sid, &s, r),
        Ok(Ok(_)) => go_to_stage(&st, &sid, Stage::In { user }),
    }
}

async fn signout(p: super::Posted) -> Response {
    let d = p.desk;
    d.state.sessions.remove(&d.sid);
    let caller = d.caller();
    let svc = d.state.service.clone();
    let _ = tokio::task::spawn_blocking(move || svc.desk_signout(&caller, "signed_out")).await;
    let mut r = Redirect::to("/desk/signin").into_response();
    r.headers_mut().insert(header::SET_COOKIE, clear_cookie());
    r
}

/// Who is signed in, and (for ops, who has no desk pages with data) where to look instead.
async fn account(d: Desk) -> Response {
    let l = d.lang;
    let body = html! {
        dl.kv {
            dt { (l.t("account.user")) } dd #account-user { (d.who.name) }
            dt { (l.t("account.role")) } dd #account-role { (page::role_name(l, d.who.role)) }
        }
        p { (l.t("account.intro")) }
    };
    d.page(l.t("nav.account"), body)
}
