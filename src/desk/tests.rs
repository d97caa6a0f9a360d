//! The desk's router in process (no socket, no browser): the sign-in steps, sessions, CSRF and
//! the refusals, over the service of `legal::service::tests`' fixture (an in-memory store, an
//! audit recorder, a fixed clock). The browser tests (tests/desk.rs) drive the same pages in
//! chromium.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tower::ServiceExt;

use super::{router, DeskState, COOKIE, CSP};
use crate::api::UsersCache;
use crate::clock::Clock;
use crate::legal::auth::Role;
use crate::legal::service::tests::{fixture, person, Fixture};
use crate::legal::totp;

/// An answer: status, `Location`, the session cookie it set, and the body.
struct Answer {
    status: StatusCode,
    location: Option<String>,
    cookie: Option<String>,
    body: String,
    csp: Option<String>,
}

struct Desk {
    app: axum::Router,
    f: Fixture,
    /// The first admin, who added lena.
    ada: crate::legal::auth::Caller,
}

impl Desk {
    /// The fixture's service behind the desk, with the legal officer `lena` (approved) and her
    /// one-time password.
    fn new() -> (Desk, String) {
        let f = fixture();
        let (ada, bo) = f.admins();
        let t = f
            .service
            .user_add(&ada, "lena", Role::Legal, person("Lena L", "E-lena"))
            .unwrap();
        f.service.user_approve(&bo, "lena").unwrap();
        let users = Arc::new(UsersCache::new(f.dir.path().to_path_buf()));
        let app = router(DeskState::new(f.service.clone(), users, 900));
        (Desk { app, f, ada }, t.desk_password)
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Answer {
        let cookie = cookie.map(|c| format!("{COOKIE}={c}"));
        let req = form_request(method, path, cookie.as_deref(), form);
        let r = self.app.clone().oneshot(req).await.unwrap();
        let h = |k| {
            r.headers()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = h(header::LOCATION);
        let csp = h(header::CONTENT_SECURITY_POLICY);
        let cookie = h(header::SET_COOKIE).and_then(|c| {
            c.strip_prefix(&format!("{COOKIE}="))
                .map(|v| v.split(';').next().unwrap_or("").to_string())
        });
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 22).await.unwrap();
        Answer {
            status,
            location,
            cookie,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            csp,
        }
    }

    /// The sign-in form: the pre-sign-in session's cookie and CSRF token.
    async fn start(&self) -> (String, String) {
        let a = self.send("GET", "/desk/signin", None, &[]).await;
        assert_eq!(a.status, StatusCode::OK);
        (a.cookie.expect("a session cookie"), csrf_of(&a.body))
    }

    fn now(&self) -> i64 {
        self.f.clock.now()
    }

    fn audit_actions(&self) -> Vec<(String, String, String)> {
        self.f
            .audit
            .entries
            .lock()
            .unwrap()
            .iter()
            .map(|e| (e.action.clone(), e.actor.clone(), e.outcome.clone()))
            .collect()
    }
}

/// A request as a browser sends it: `Cookie` as given, a POST's form url-encoded.
pub(super) fn form_request(
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    let body = if method == "POST" {
        b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish()
    } else {
        String::new()
    };
    b.body(Body::from(body)).unwrap()
}

fn csrf_of(body: &str) -> String {
    let i = body.find("name=\"_csrf\" value=\"").expect("a CSRF field") + 20;
    body[i..i + 64].to_string()
}

fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let i = body
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in {body}"))
        + start.len();
    &body[i..i + body[i..].find(end).unwrap()]
}

/// Signs lena in for the first time: the one-time password, her own, the enrolment. Returns
/// the signed-in session's cookie and her TOTP secret.
async fn first_sign_in(d: &Desk, one_time: &str) -> (String, String) {
    let (c, csrf) = d.start().await;
    let a = d
        .send(
            "POST",
            "/desk/signin",
            Some(&c),
            &[("_csrf", &csrf), ("user", "lena"), ("password", one_time)],
        )
        .await;
    assert_eq!(
        a.location.as_deref(),
        Some("/desk/signin/password"),
        "{}",
        a.body
    );
    let pw = "a sentence long enough";
    let a = d
        .send(
            "POST",
            "/desk/signin/password",
            Some(&c),
            &[("_csrf", &csrf), ("password", pw), ("password2", pw)],
        )
        .await;
    assert_eq!(a.location.as_deref(), Some("/desk/signin/enroll"));
    let page = d.send("GET", "/desk/signin/enroll", Some(&c), &[]).await;
    assert!(page.body.contains("<svg"), "the QR code is on the page");
    let secret = between(&page.body, "id=\"totp-secret\">", "<").to_string();
    let code = totp::code(&secret, d.now()).unwrap();
    let a = d
        .send(
            "POST",
            "/desk/signin/enroll",
            Some(&c),
            &[("_csrf", &csrf), ("code", &code)],
        )
        .await;
    assert_eq!(a.location.as_deref(), Some("/desk/"));
    let signed_in = a.cookie.expect("a new session id at sign-in");
    assert_ne!(signed_in, c);
    (signed_in, secret)
}

#[tokio::test]
async fn first_sign_in_enrols_totp_and_lands_on_the_roles_start_page_under_the_csp() {
    let (d, one_time) = Desk::new();
    let (c, _) = first_sign_in(&d, &one_time).await;
    let a = d.send("GET", "/desk/", Some(&c), &[]).await;
    assert_eq!(a.location.as_deref(), Some("/desk/cases"));
    let acc = d.send("GET", "/desk/account", Some(&c), &[]).await;
    assert_eq!(acc.status, StatusCode::OK);
    assert_eq!(acc.csp.as_deref(), Some(CSP));
    assert!(acc.body.contains("id=\"nav-cases\"") && !acc.body.contains("id=\"nav-audit\""));
    assert!(acc.body.contains("<html lang=\"sv\""), "Swedish by default");
    let actions = d.audit_actions();
    for want in [
        "desk_signin_password",
        "desk_password_changed",
        "desk_totp_enrolled",
        "desk_signin",
    ] {
        assert!(
            actions
                .iter()
                .any(|(a, actor, o)| a == want && actor == "lena" && o == "ok"),
            "{want} audited: {actions:?}"
        );
    }
}

#[tokio::test]
async fn the_pre_sign_in_cookie_is_worth_nothing_after_sign_in() {
    let (d, one_time) = Desk::new();
    let (c, csrf) = d.start().await;
    // The same flow, keeping the first cookie to try it afterwards.
    d.send(
        "POST",
        "/desk/signin",
        Some(&c),
        &[("_csrf", &csrf), ("user", "lena"), ("password", &one_time)],
    )
    .await;
    let pw = "a sentence long enough";
    d.send(
        "POST",
        "/desk/signin/password",
        Some(&c),
        &[("_csrf", &csrf), ("password", pw), ("password2", pw)],
    )
    .await;
    let page = d.send("GET", "/desk/signin/enroll", Some(&c), &[]).await;
    let secret = between(&page.body, "id=\"totp-secret\">", "<").to_string();
    let code = totp::code(&secret, d.now()).unwrap();
    d.send(
        "POST",
        "/desk/signin/enroll",
        Some(&c),
        &[("_csrf", &csrf), ("code", &code)],
    )
    .await;
    let a = d.send("GET", "/desk/account", Some(&c), &[]).await;
    assert_eq!(a.location.as_deref(), Some("/desk/signin"));
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_user_and_each_is_audited() {
    let (d, one_time) = Desk::new();
    let (c, csrf) = d.start().await;
    for i in 0..5 {
        let a = d
            .send(
                "POST",
                "/desk/signin",
                Some(&c),
                &[("_csrf", &csrf), ("user", "lena"), ("password", "wrong")],
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        let want = if i < 4 {
            "[desk.bad_credentials]"
        } else {
            "[desk.locked]"
        };
        assert!(a.body.contains(want), "attempt {i}: {}", a.body);
    }
    let a = d
        .send(
            "POST",
            "/desk/signin",
            Some(&c),
            &[("_csrf", &csrf), ("user", "lena"), ("password", &one_time)],
        )
        .await;
    assert!(
        a.body.contains("[desk.locked]"),
        "the right password does not open a locked account"
    );
    let refused = d
        .audit_actions()
        .into_iter()
        .filter(|(a, actor, o)| {
            a == "desk_signin_password" && actor == "lena" && o.starts_with("refused:")
        })
        .count();
    assert_eq!(refused, 6);
}

#[tokio::test]
async fn an_unknown_user_name_is_not_written_to_the_audit_log() {
    let (d, _) = Desk::new();
    let (c, csrf) = d.start().await;
    let typed = "hunter2-typed-in-the-wrong-field";
    d.send(
        "POST",
        "/desk/signin",
        Some(&c),
        &[("_csrf", &csrf), ("user", typed), ("password", "x")],
    )
    .await;
    let all = format!("{:?}", d.f.audit.entries.lock().unwrap());
    assert!(!all.contains(typed));
    assert!(all.contains("desk_signin_password"));
}

#[tokio::test]
async fn a_form_without_its_csrf_token_or_session_or_from_another_site_is_refused() {
    let (d, one_time) = Desk::new();
    let (c, _) = d.start().await;
    let a = d
        .send(
            "POST",
            "/desk/signin",
            Some(&c),
            &[("user", "lena"), ("password", &one_time)],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.body.contains("[desk.csrf]"));
    let a = d
        .send(
            "POST",
            "/desk/signin",
            None,
            &[("user", "lena"), ("password", &one_time)],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.body.contains("[desk.no_session]"));
    // Signed in: the sign-out form without the token, then from another site.
    let (s, _) = first_sign_in(&d, &one_time).await;
    let a = d
        .send(
            "POST",
            "/desk/signout",
            Some(&s),
            &[("_csrf", "0".repeat(64).as_str())],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let req = Request::builder()
        .method("POST")
        .uri("/desk/signout")
        .header(header::COOKIE, format!("{COOKIE}={s}"))
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    let r = d.app.clone().oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Still signed in after all three.
    let a = d.send("GET", "/desk/account", Some(&s), &[]).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn signing_out_ends_the_session_and_is_audited() {
    let (d, one_time) = Desk::new();
    let (s, _) = first_sign_in(&d, &one_time).await;
    let page = d.send("GET", "/desk/account", Some(&s), &[]).await;
    let csrf = csrf_of(&page.body);
    let a = d
        .send("POST", "/desk/signout", Some(&s), &[("_csrf", &csrf)])
        .await;
    assert_eq!(a.location.as_deref(), Some("/desk/signin"));
    let a = d.send("GET", "/desk/account", Some(&s), &[]).await;
    assert_eq!(a.location.as_deref(), Some("/desk/signin"));
    assert!(d
        .audit_actions()
        .iter()
        .any(|(a, actor, _)| a == "desk_signout" && actor == "lena"));
}

#[tokio::test]
async fn a_revoked_users_session_ends_at_the_next_request() {
    let (d, one_time) = Desk::new();
    let (s, _) = first_sign_in(&d, &one_time).await;
    d.f.service.user_revoke(&d.ada, "lena").unwrap();
    let a = d.send("GET", "/desk/account", Some(&s), &[]).await;
    assert_eq!(a.location.as_deref(), Some("/desk/signin"));
}

#[tokio::test]
async fn the_second_sign_in_asks_for_a_fresh_code() {
    let (d, one_time) = Desk::new();
    let (_, secret) = first_sign_in(&d, &one_time).await;
    let (c, csrf) = d.start().await;
    let a = d
        .send(
            "POST",
            "/desk/signin",
            Some(&c),
            &[
                ("_csrf", &csrf),
                ("user", "lena"),
                ("password", "a sentence long enough"),
            ],
        )
        .await;
    assert_eq!(a.location.as_deref(), Some("/desk/signin/totp"));
    let used = totp::code(&secret, d.now()).unwrap();
    let a = d
        .send(
            "POST",
            "/desk/signin/totp",
            Some(&c),
            &[("_csrf", &csrf), ("code", &used)],
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::UNAUTHORIZED,
        "the enrolment's code was used"
    );
    d.f.clock.advance(30);
    let fresh = totp::code(&secret, d.now()).unwrap();
    let a = d
        .send(
            "POST",
            "/desk/signin/totp",
            Some(&c),
            &[("_csrf", &csrf), ("code", &fresh)],
        )
        .await;
    assert_eq!(a.location.as_deref(), Some("/desk/"));
}

/// Regression: under `Referrer-Policy: no-referrer` chromium sent `Origin: null` on the desk's
/// own sign-in form, and the cross-site guard refused every sign-in (found by tests/desk.rs).
#[tokio::test]
async fn a_same_origin_form_with_origin_null_reaches_its_handler() {
    let (d, _) = Desk::new();
    let (c, csrf) = d.start().await;
    let body = format!("_csrf={csrf}&user=lena&password=wrong");
    let req = Request::builder()
        .method("POST")
        .uri("/desk/signin")
        .header(header::COOKIE, format!("{COOKIE}={c}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "null")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .unwrap();
    let r = d.app.clone().oneshot(req).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the password was judged"
    );
    let page = d.send("GET", "/desk/signin", Some(&c), &[]).await;
    assert_eq!(
        page.csp.as_deref(),
        Some(CSP),
        "and the policy that caused it is gone"
    );
}

/// The notices and ledger pages: a legal officer sees a disclosed IPRED answer's notice
/// (without personal data), is refused its letter before the window opens, and gets the
/// ledger's totals and CSV; other roles are not let in.
#[tokio::test]
async fn the_notice_and_ledger_pages_show_a_disclosed_ipred_answer() {
    let (d, one_time) = Desk::new();
    let (c, _) = first_sign_in(&d, &one_time).await;
    let csv = "subscriber,customer_id,name,street,postal_code,city,personal_number,\
               protected_identity,valid_from,valid_to\n\
               sub-1,C1,Anna Andersson,Gatan 1,111 11,Ort,19800101-1234,false,\
               2026-01-01T00:00:00Z,\n";
    d.f.service.identity_import(&d.ada, csv.as_bytes()).unwrap();
    let officer = |name: &str| crate::legal::auth::Caller {
        who: Ok(crate::legal::auth::Principal {
            name: name.into(),
            role: Role::Legal,
            person: format!("E-{name}"),
        }),
        claimed: None,
        channel: "cli",
        peer: None,
    };
    let req: crate::legal::case::NewCase = serde_json::from_value(serde_json::json!({
        "request_type": "ipred", "authority": "Patent- och marknadsdomstolen",
        "case_number": "PMÄ 1234-26", "decision_date": "2026-11-19",
        "legal_force_date": "2026-11-19", "order_sha256": "ab".repeat(32),
        "scope": [{"addr": "192.0.2.10", "at": "2026-11-20T10:30:00Z"}],
    }))
    .unwrap();
    let s = &d.f.service;
    let id = s.create_case(&officer("anna"), req).unwrap().id;
    s.approve(&officer("bert"), &id).unwrap();
    s.execute(&officer("anna"), &id, None).unwrap();
    s.report(&officer("anna"), &id, "json").unwrap();

    let page = d.send("GET", "/desk/notices", Some(&c), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("id=\"nav-notices\""));
    assert!(
        page.body.contains(&format!("data-case=\"{id}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains("data-status=\"waiting\""));
    assert!(
        !page.body.contains("Andersson"),
        "no personal data in the list"
    );
    let csrf = csrf_of(&page.body);
    let a = d
        .send(
            "POST",
            &format!("/desk/notices/{id}/1/letter"),
            Some(&c),
            &[("_csrf", &csrf), ("format", "text")],
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert!(a.body.contains("notice.not_yet_open"));

    let ledger = d
        .send(
            "GET",
            "/desk/ledger?from=2026-11-01&to=2026-11-30",
            Some(&c),
            &[],
        )
        .await;
    assert_eq!(ledger.status, StatusCode::OK, "{}", ledger.body);
    assert!(
        ledger.body.contains("id=\"ledger-totals\""),
        "{}",
        ledger.body
    );
    assert!(ledger.body.contains("Patent- och marknadsdomstolen"));
    let href = between(&ledger.body, "id=\"ledger-csv\" href=\"", "\"").replace("&amp;", "&");
    let file = d.send("GET", &href, Some(&c), &[]).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(file.body.starts_with("disclosed_at,case,"), "{}", file.body);
    assert!(
        file.body.contains(&format!(",{id},ipred,")),
        "{}",
        file.body
    );
    let bad = d
        .send("GET", "/desk/ledger?from=1.11.2026", Some(&c), &[])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let actions = d.audit_actions();
    assert!(actions
        .iter()
        .any(|(a, actor, o)| a == "ledger_export" && actor == "lena" && o == "ok"));
    assert!(actions.iter().any(|(a, actor, o)| a == "notice_letter"
        && actor == "lena"
        && o == "refused:notice.not_yet_open"));
}

/// A multipart form as a browser sends the new-case form.
fn multipart_request(path: &str, cookie: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let mut body = String::new();
    for (k, v) in fields {
        body.push_str(&format!(
            "--XbX\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str("--XbX--\r\n");
    Request::builder()
        .method("POST")
        .uri(path)
        .header(header::COOKIE, format!("{COOKIE}={cookie}"))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XbX")
        .body(Body::from(body))
        .unwrap()
}

/// The new-case form offers restriction, erasure and rectification with their own fields; a
/// restriction without its date and reason is shown again with both named, and a whole one
/// is registered (no decision date, no scan).
#[tokio::test]
async fn the_new_case_form_registers_a_restriction_and_offers_rectification_fields() {
    let (d, one_time) = Desk::new();
    let (c, _) = first_sign_in(&d, &one_time).await;
    let page = d.send("GET", "/desk/cases/new", Some(&c), &[]).await;
    for kind in ["restriction", "erasure", "rectification"] {
        assert!(page.body.contains(&format!("id=\"new-{kind}\"")), "{kind}");
    }
    let rect = d
        .send("GET", "/desk/cases/new/rectification", Some(&c), &[])
        .await;
    assert_eq!(rect.status, StatusCode::OK);
    for f in ["correction_name", "correction_street", "correction_city"] {
        assert!(rect.body.contains(&format!("name=\"{f}\"")), "{f}");
    }
    assert!(
        !rect.body.contains("name=\"decision_date\""),
        "internal: no decision"
    );
    let form = d
        .send("GET", "/desk/cases/new/restriction", Some(&c), &[])
        .await;
    assert!(form.body.contains("name=\"restrict_until\""));
    let csrf = csrf_of(&form.body);
    let base = [
        ("_csrf", csrf.as_str()),
        ("request_type", "restriction"),
        ("authority", "Åsa Öberg (the data subject)"),
        ("case_number", "DSR-2026-1"),
        ("scope", "subscriber sub-1"),
    ];
    let r = d
        .app
        .clone()
        .oneshot(multipart_request("/desk/cases", &c, &base))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = axum::body::to_bytes(r.into_body(), 1 << 22).await.unwrap();
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("id=\"restrict_until-problem\""), "{body}");
    assert!(body.contains("id=\"notes-problem\""), "{body}");
    let mut whole = base.to_vec();
    whole.push(("restrict_until", "2026-12-31"));
    whole.push(("notes", "disputes an abuse report"));
    let r = d
        .app
        .clone()
        .oneshot(multipart_request("/desk/cases", &c, &whole))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "registered, to the case");
    let to = r.headers()[header::LOCATION].to_str().unwrap().to_string();
    let page = d.send("GET", &to, Some(&c), &[]).await;
    assert!(page.body.contains("id=\"restriction\""), "{}", page.body);
    assert!(page.body.contains("data-state=\"pending\""));
    assert!(page.body.contains("disputes an abuse report"));
}

/// The case page shows an executed restriction and its lift form (CSRF'd); lena's call asks
/// for the lift, her second is refused (four eyes), another officer's lifts it.
#[tokio::test]
async fn a_restriction_is_lifted_on_the_case_page_by_two_officers() {
    let (d, one_time) = Desk::new();
    let (c, _) = first_sign_in(&d, &one_time).await;
    let officer = |name: &str| crate::legal::auth::Caller {
        who: Ok(crate::legal::auth::Principal {
            name: name.into(),
            role: Role::Legal,
            person: format!("E-{name}"),
        }),
        claimed: None,
        channel: "cli",
        peer: None,
    };
    let req: crate::legal::case::NewCase = serde_json::from_value(serde_json::json!({
        "request_type": "restriction", "authority": "the data subject",
        "case_number": "DSR-2026-2", "restrict_until": "2026-12-31",
        "notes": "disputes an abuse report", "scope": [{"subscriber": "sub-1"}],
    }))
    .unwrap();
    let s = &d.f.service;
    let id = s.create_case(&officer("anna"), req).unwrap().id;
    s.approve(&officer("bert"), &id).unwrap();
    s.execute(&officer("anna"), &id, None).unwrap();
    let path = format!("/desk/cases/{id}");
    let page = d.send("GET", &path, Some(&c), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("data-state=\"in_force\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"lift-button\""));
    let csrf = csrf_of(&page.body);
    // Without the token: refused, nothing asked.
    let lift = format!("{path}/lift");
    let a = d
        .send("POST", &lift, Some(&c), &[("reason", "settled")])
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = d
        .send(
            "POST",
            &lift,
            Some(&c),
            &[("_csrf", &csrf), ("reason", "settled")],
        )
        .await;
    assert_eq!(
        a.location.as_deref(),
        Some(format!("{path}?done=lift_requested").as_str())
    );
    let page = d.send("GET", &path, Some(&c), &[]).await;
    assert!(page.body.contains("data-state=\"lift_requested\""));
    assert!(
        page.body.contains("id=\"lift-note\""),
        "lena asked: no button"
    );
    let a = d
        .send(
            "POST",
            &lift,
            Some(&c),
            &[("_csrf", &csrf), ("reason", "again")],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.body.contains("[case.four_eyes]"), "{}", a.body);
    s.lift(&officer("bert"), &id, "agreed").unwrap();
    let page = d.send("GET", &path, Some(&c), &[]).await;
    assert!(page.body.contains("data-state=\"lifted\""));
    assert!(!page.body.contains("id=\"lift-button\""));
    let actions = d.audit_actions();
    assert!(actions
        .iter()
        .any(|(a, actor, o)| a == "case_lift" && actor == "lena" && o == "lift_requested"));
    assert!(actions
        .iter()
        .any(|(a, actor, o)| a == "case_lift" && actor == "lena" && o == "refused:case.four_eyes"));
}
