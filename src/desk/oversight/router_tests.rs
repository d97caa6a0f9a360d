//! These pages through the desk's router in process (no socket, no browser), over the service
//! of `legal::service::tests`' fixture: the role gate, CSRF, what each page shows and that the
//! service audits what they do. Sessions are made signed in directly (the sign-in steps have
//! their own tests in `desk::tests`).

use std::sync::Arc;

use axum::http::StatusCode;
use tower::ServiceExt;

use crate::api::UsersCache;
use crate::desk::session::Stage;
use crate::desk::{router, DeskState, COOKIE};
use crate::legal::auth::Role;
use crate::legal::service::tests::{fixture, person, Fixture};

struct Pages {
    app: axum::Router,
    st: DeskState,
    f: Fixture,
}

struct Answer {
    status: StatusCode,
    body: String,
}

/// A signed-in session: its cookie and CSRF token.
struct As {
    cookie: String,
    csrf: String,
}

impl Pages {
    /// ada and bo (admins), lena (legal), sec (security) and aud (auditor), all active.
    fn new() -> Pages {
        let f = fixture();
        let (ada, bo) = f.admins();
        for (name, role) in [
            ("lena", Role::Legal),
            ("sec", Role::Security),
            ("aud", Role::Auditor),
        ] {
            f.service
                .user_add(&ada, name, role, person(name, &format!("E-{name}")))
                .unwrap();
            f.service.user_approve(&bo, name).unwrap();
        }
        let users = Arc::new(UsersCache::new(f.dir.path().to_path_buf()));
        let st = DeskState::new(f.service.clone(), users, 900);
        Pages {
            app: router(st.clone()),
            st,
            f,
        }
    }

    fn sign_in(&self, user: &str) -> As {
        let (id, _) = self.st.sessions.start();
        let cookie = self
            .st
            .sessions
            .advance(
                &id,
                Stage::In {
                    user: user.to_string(),
                },
            )
            .unwrap();
        let csrf = self.st.sessions.get(&cookie).unwrap().csrf;
        As { cookie, csrf }
    }

    async fn send(&self, who: &As, method: &str, path: &str, form: &[(&str, &str)]) -> Answer {
        let cookie = format!("{COOKIE}={}; tdr_lang=en", who.cookie);
        let req = crate::desk::tests::form_request(method, path, Some(&cookie), form);
        let r = self.app.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 22).await.unwrap();
        Answer {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, who: &As, path: &str) -> Answer {
        self.send(who, "GET", path, &[]).await
    }

    async fn post(&self, who: &As, path: &str, form: &[(&str, &str)]) -> Answer {
        let mut all = vec![("_csrf", who.csrf.as_str())];
        all.extend_from_slice(form);
        self.send(who, "POST", path, &all).await
    }

    /// (action, actor, outcome) of every entry the service wrote.
    fn audited(&self) -> Vec<(String, String, String)> {
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

/// Each page answers its own role only; every other role gets `auth.forbidden`, on GET and POST.
#[tokio::test]
async fn each_page_is_for_its_role_only() {
    let p = Pages::new();
    let pages = [
        ("/desk/audit", "aud"),
        ("/desk/audit/verify", "aud"),
        ("/desk/statistics", "aud"),
        ("/desk/certificates", "aud"),
        ("/desk/abuse", "sec"),
        ("/desk/users", "ada"),
    ];
    let people = ["lena", "sec", "aud", "ada"];
    let sessions: Vec<(&str, As)> = people.iter().map(|u| (*u, p.sign_in(u))).collect();
    for (path, owner) in pages {
        for (user, s) in &sessions {
            let a = p.get(s, path).await;
            if user == &owner {
                assert_eq!(a.status, StatusCode::OK, "{user} {path}: {}", a.body);
            } else {
                assert_eq!(a.status, StatusCode::FORBIDDEN, "{user} {path}");
                assert!(a.body.contains("[auth.forbidden]"), "{user} {path}");
            }
        }
    }
    let lena = &sessions[0].1;
    for path in ["/desk/users", "/desk/abuse", "/desk/audit/verify"] {
        let a = p.post(lena, path, &[]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert!(a.body.contains("[auth.forbidden]"), "{path}");
    }
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let p = Pages::new();
    let ada = p.sign_in("ada");
    let before = p.audited().len();
    let a = p
        .send(
            &ada,
            "POST",
            "/desk/users",
            &[
                ("name", "x"),
                ("role", "ops"),
                ("person_name", "X"),
                ("employee_id", "E-x"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.body.contains("[desk.csrf]"), "{}", a.body);
    assert_eq!(p.audited().len(), before, "nothing reached the service");
}

/// ada adds a user: token and password once; she cannot approve it (four eyes, said in
/// words), bo can; a reset makes it pending again.
#[tokio::test]
async fn users_are_added_shown_once_and_approved_by_another_admin() {
    let p = Pages::new();
    let (ada, bo) = (p.sign_in("ada"), p.sign_in("bo"));
    let a = p
        .post(
            &ada,
            "/desk/users",
            &[
                ("name", "kim"),
                ("role", "legal"),
                ("person_name", "Kim K"),
                ("employee_id", "E-kim"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("id=\"new-token\">tdr_"), "{}", a.body);
    assert!(a.body.contains("id=\"new-password\""), "{}", a.body);
    assert!(
        a.body.contains("data-user=\"kim\" data-state=\"pending\""),
        "{}",
        a.body
    );
    // Shown once: the list does not show them again.
    let again = p.get(&ada, "/desk/users").await;
    assert!(!again.body.contains("new-token") && !again.body.contains("new-password"));
    assert!(!again.body.contains("data-approve=\"kim\""));
    // A forged approve by ada anyway is refused by the service, with the code and its words.
    let a = p.post(&ada, "/desk/users/kim/approve", &[]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert!(a.body.contains("[user.four_eyes]"), "{}", a.body);
    // bo sees the button and approves.
    let page = p.get(&bo, "/desk/users").await;
    assert!(page.body.contains("data-approve=\"kim\""), "{}", page.body);
    let a = p.post(&bo, "/desk/users/kim/approve", &[]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("id=\"notice\""), "{}", a.body);
    assert!(
        a.body.contains("data-user=\"kim\" data-state=\"active\""),
        "{}",
        a.body
    );
    // A new one-time password: shown once, and kim waits for a second admin again.
    let a = p.post(&bo, "/desk/users/kim/reset", &[]).await;
    assert!(a.body.contains("id=\"new-password\""), "{}", a.body);
    assert!(
        a.body.contains("data-user=\"kim\" data-state=\"pending\""),
        "{}",
        a.body
    );
    // Revoked: no more actions on the row.
    let a = p.post(&ada, "/desk/users/kim/revoke", &[]).await;
    assert!(
        a.body.contains("data-user=\"kim\" data-state=\"revoked\""),
        "{}",
        a.body
    );
    assert!(!a.body.contains("data-revoke=\"kim\""));
    // A name that exists is refused with its code.
    let a = p
        .post(
            &ada,
            "/desk/users",
            &[
                ("name", "kim"),
                ("role", "ops"),
                ("person_name", "Kim K"),
                ("employee_id", "E-kim"),
            ],
        )
        .await;
    assert!(a.body.contains("[user.exists]"), "{}", a.body);
    let audited = p.audited();
    for (action, actor, outcome) in [
        ("user_add", "ada", "ok"),
        ("user_approve", "ada", "refused:user.four_eyes"),
        ("user_approve", "bo", "ok"),
        ("user_reset_password", "bo", "ok"),
        ("user_revoke", "ada", "ok"),
    ] {
        assert!(
            audited
                .iter()
                .any(|(a, who, o)| a == action && who == actor && o == outcome),
            "{action} {actor} {outcome} in {audited:?}"
        );
    }
}

/// The security team's answer names a pseudonym, never the subscriber; the ticket is required
/// (and its absence audited); a time without a zone is refused before any lookup.
#[tokio::test]
async fn the_abuse_lookup_is_pseudonymous_and_needs_a_ticket_and_a_zone() {
    let p = Pages::new();
    let sec = p.sign_in("sec");
    let a = p
        .post(
            &sec,
            "/desk/abuse",
            &[
                ("ticket", "ABUSE-7"),
                ("addr", "192.0.2.10"),
                ("port", ""),
                ("at", "2026-11-20T11:30:00+01:00"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("id=\"abuse-result\""), "{}", a.body);
    assert!(a.body.contains("data-status=\"found\""), "{}", a.body);
    assert!(a.body.contains("pseudo-5"), "the pseudonym: {}", a.body);
    assert!(
        !a.body.contains("sub-1"),
        "never the subscriber: {}",
        a.body
    );
    assert!(p
        .audited()
        .iter()
        .any(|(a, who, o)| a == "abuse_lookup" && who == "sec" && o == "found"));

    let a = p
        .post(
            &sec,
            "/desk/abuse",
            &[
                ("ticket", "ABUSE-7"),
                ("addr", "192.0.2.10"),
                ("at", "2026-11-20 11:30:00"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("[request.invalid]"), "{}", a.body);
    assert!(a.body.contains("The time has no zone"), "{}", a.body);
    assert!(!a.body.contains("abuse-result"));

    let a = p
        .post(
            &sec,
            "/desk/abuse",
            &[
                ("ticket", ""),
                ("addr", "192.0.2.10"),
                ("at", "2026-11-20T11:30:00+01:00"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(a.body.contains("[request.invalid]"), "{}", a.body);
    assert!(a.body.contains("abuse ticket"), "{}", a.body);
    assert!(p
        .audited()
        .iter()
        .any(|(a, who, o)| a == "abuse_lookup" && who == "sec" && o == "refused:request.invalid"));
}

/// The auditor's pages answer, audited (the fixture's audit sink keeps no files, so the log
/// reads empty and gives no signed head: both said on the page).
#[tokio::test]
async fn the_auditors_pages_answer_and_are_audited() {
    let p = Pages::new();
    let aud = p.sign_in("aud");
    let a = p
        .get(&aud, "/desk/audit?actor=lena&from=2026-11-20&page=1")
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("id=\"audit-count\""), "{}", a.body);
    assert!(
        a.body.contains("value=\"lena\""),
        "the filter is kept: {}",
        a.body
    );
    let a = p.get(&aud, "/desk/audit?from=tomorrow").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("[request.invalid]"));
    let a = p
        .get(&aud, "/desk/statistics?from=2026-01-01&to=2026-12-31")
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("id=\"stats\""), "{}", a.body);
    assert!(a.body.contains("id=\"stats-groups\""), "{}", a.body);
    assert!(a
        .body
        .contains("href=\"/desk/statistics.csv?from=2026-01-01&amp;to=2026-12-31\""));
    let a = p
        .get(&aud, "/desk/statistics.csv?from=2026-01-01&to=2026-12-31")
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(
        a.body
            .starts_with("from,to,request_type,authority,requests,"),
        "{}",
        a.body
    );
    assert!(a.body.contains(",all,all,"), "{}", a.body);
    let a = p
        .get(&aud, "/desk/statistics.csv?from=2026-12-31&to=2026-01-01")
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    let legal = p.sign_in("lena");
    assert_eq!(
        p.get(&legal, "/desk/statistics.csv").await.status,
        StatusCode::FORBIDDEN
    );
    let a = p
        .post(&aud, "/desk/audit/verify", &[("expect_head", "12")])
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    let a = p
        .post(&aud, "/desk/audit/verify", &[("expect_head", "")])
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("id=\"verify-result\""), "{}", a.body);
    let audited = p.audited();
    for action in ["audit_read", "statistics", "audit_verify"] {
        assert!(
            audited
                .iter()
                .any(|(a, who, _)| a == action && who == "aud"),
            "{action} in {audited:?}"
        );
    }
}

/// Regression: the statistics' default period was read from the machine's clock, not the
/// service's (time is an input).
#[tokio::test]
async fn the_statistics_default_year_is_the_services_year() {
    let p = Pages::new();
    // 2031-06-02T00:00:00Z, a year the machine's clock does not show.
    p.f.clock.set(1_938_124_800);
    let aud = p.sign_in("aud");
    let a = p.get(&aud, "/desk/statistics").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("2031-01-01"), "{}", a.body);
    assert!(a.body.contains("2031-12-31"), "{}", a.body);
}

/// The auditor's deletion certificates: none yet says so; a certificate whose signature does
/// not hold under the appliance's key is shown INVALID, never as valid; reading is audited.
#[tokio::test]
async fn the_deletion_certificates_page_flags_a_certificate_that_does_not_verify() {
    let p = Pages::new();
    let aud = p.sign_in("aud");
    let a = p.get(&aud, "/desk/certificates").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("id=\"certificates-none\""), "{}", a.body);
    let dir = crate::store::retention::certificates_dir(p.f.dir.path());
    std::fs::create_dir_all(&dir).unwrap();
    let forged = serde_json::json!({
        "body": {"kind": "expiry", "partition": "d20260510", "from": "2026-05-10T00:00:00Z",
                 "to": "2026-05-11T00:00:00Z", "records": 3,
                 "key": {"name": "day-20260510", "id": "0011223344556677",
                         "destroyed_at": "2026-11-11T00:00:00Z"}},
        "signature": "00".repeat(64),
        "public_key": "00".repeat(32),
    });
    std::fs::write(dir.join("d20260510.json"), forged.to_string()).unwrap();
    let a = p.get(&aud, "/desk/certificates").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(
        a.body.contains("data-partition=\"d20260510\""),
        "{}",
        a.body
    );
    assert!(a.body.contains("0011223344556677"), "{}", a.body);
    assert!(a.body.contains("data-valid=\"false\""), "{}", a.body);
    assert!(!a.body.contains("data-valid=\"true\""), "{}", a.body);
    assert!(p
        .audited()
        .iter()
        .any(|(action, actor, _)| action == "certificates_read" && actor == "aud"));
}
