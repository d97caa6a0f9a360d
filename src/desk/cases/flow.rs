//! The legal officer's pages through the desk's router in process (no socket, no browser):
//! two officers register, approve, look up and execute a case over the service fixture of
//! `legal::service::tests`, without the script (every form is a plain POST).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tower::ServiceExt;

use crate::api::UsersCache;
use crate::desk::session::Stage;
use crate::desk::{router, DeskState, COOKIE};
use crate::legal::auth::Role;
use crate::legal::service::tests::{fixture, person, Fixture};

struct Officer {
    cookie: String,
    csrf: String,
}

struct Desk {
    app: axum::Router,
    state: DeskState,
    _f: Fixture,
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

const BOUNDARY: &str = "----tdr-test-boundary";

fn multipart(fields: &[(&str, &str)], file: Option<&[u8]>) -> Vec<u8> {
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some(f) = file {
        b.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"order\"; \
                 filename=\"order.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        b.extend_from_slice(f);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

impl Desk {
    fn new() -> Desk {
        let f = fixture();
        let (ada, bo) = f.admins();
        for (name, id) in [("lena", "E-lena"), ("mats", "E-mats")] {
            f.service
                .user_add(&ada, name, Role::Legal, person(name, id))
                .unwrap();
            f.service.user_approve(&bo, name).unwrap();
        }
        let users = Arc::new(UsersCache::new(f.dir.path().to_path_buf()));
        let state = DeskState::new(f.service.clone(), users, 900);
        Desk {
            app: router(state.clone()),
            state,
            _f: f,
        }
    }

    /// A signed-in session for `user` (the sign-in itself is tested in desk::tests).
    fn sign_in(&self, user: &str) -> Officer {
        let (id, _) = self.state.sessions.start();
        let cookie = self
            .state
            .sessions
            .advance(&id, Stage::In { user: user.into() })
            .unwrap();
        let csrf = self.state.sessions.get(&cookie).unwrap().csrf;
        Officer { cookie, csrf }
    }

    async fn send(
        &self,
        who: &Officer,
        method: &str,
        path: &str,
        ctype: &str,
        body: Vec<u8>,
    ) -> Answer {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::COOKIE, format!("{COOKIE}={}", who.cookie))
            .header(header::CONTENT_TYPE, ctype)
            .body(Body::from(body))
            .unwrap();
        let r = self.app.clone().oneshot(req).await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 24).await.unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, who: &Officer, path: &str) -> Answer {
        self.send(who, "GET", path, "text/plain", Vec::new()).await
    }

    async fn post(&self, who: &Officer, path: &str, form: &[(&str, &str)]) -> Answer {
        let mut pairs = vec![("_csrf", who.csrf.as_str())];
        pairs.extend_from_slice(form);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.send(
            who,
            "POST",
            path,
            "application/x-www-form-urlencoded",
            body.into_bytes(),
        )
        .await
    }

    async fn register(
        &self,
        who: &Officer,
        fields: &[(&str, &str)],
        file: Option<&[u8]>,
    ) -> Answer {
        let mut all = vec![
            ("_csrf", who.csrf.as_str()),
            ("request_type", "law_enforcement"),
        ];
        all.extend_from_slice(fields);
        self.send(
            who,
            "POST",
            "/desk/cases",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            multipart(&all, file),
        )
        .await
    }
}

const SCAN: &[u8] = b"%PDF-1.7 beslut";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_officers_register_approve_look_up_and_execute_a_case_without_the_script() {
    let d = Desk::new();
    let (lena, mats) = (d.sign_in("lena"), d.sign_in("mats"));
    let a = d.get(&lena, "/desk/cases/new").await;
    for k in [
        "ipred",
        "law_enforcement",
        "preservation",
        "abuse",
        "access",
    ] {
        assert!(a.body.contains(&format!("id=\"new-{k}\"")), "{k}");
    }
    let a = d.get(&lena, "/desk/cases/new/law_enforcement").await;
    assert!(
        a.body.contains("id=\"case-form\"") && a.body.contains("data-check=\"/desk/cases/check\"")
    );

    // The live check: a time without its zone is refused, and why.
    let a = d
        .post(
            &lena,
            "/desk/cases/check",
            &[
                ("type", "ipred"),
                (
                    "text",
                    "192.0.2.10 2026-11-20 10:30\n192.0.2.10 2026-11-20T10:30:00Z",
                ),
            ],
        )
        .await;
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v["lines"][0]["ok"], false, "{v}");
    assert!(
        v["lines"][0]["reason"].as_str().unwrap().contains("09:30"),
        "{v}"
    );
    assert_eq!(v["lines"][1]["ok"], true);
    assert!(v["summary"].is_string());
    let a = d
        .post(
            &lena,
            "/desk/cases/check",
            &[("type", "ipred"), ("text", "x")],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let forged = Officer {
        cookie: lena.cookie.clone(),
        csrf: "0".repeat(64),
    };
    let a = d
        .post(
            &forged,
            "/desk/cases/check",
            &[("type", "ipred"), ("text", "x")],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    // Without the script: every problem comes back next to its field, the input kept.
    let scope = "192.0.2.10 2026-11-20 11:30 CET";
    let a = d
        .register(
            &lena,
            &[
                ("authority", ""),
                ("case_number", "5000-K1-26"),
                ("scope", "192.0.2.10 2026-11-20 11:30"),
            ],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    for id in [
        "authority-problem",
        "decision_date-problem",
        "order-problem",
        "scope-problem",
    ] {
        assert!(a.body.contains(&format!("id=\"{id}\"")), "{id}: {}", a.body);
    }
    assert!(a.body.contains("value=\"5000-K1-26\""));
    assert!(a.body.contains("data-ok=\"false\""));
    // A form whose CSRF token is wrong registers nothing.
    let a = d
        .register(&forged, &[("authority", "Polismyndigheten")], None)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    let a = d
        .register(
            &lena,
            &[
                ("authority", "Polismyndigheten"),
                ("case_number", "5000-K1-26"),
                ("decision_date", "2026-11-20"),
                ("deadline", "2026-12-01"),
                ("scope", scope),
            ],
            Some(SCAN),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let case = a.headers[header::LOCATION].to_str().unwrap().to_string();
    assert_eq!(case, "/desk/cases/C-2026-0001");

    let a = d.get(&lena, &case).await;
    assert!(a.body.contains("id=\"four-eyes-note\"") && !a.body.contains("id=\"approve\""));
    let sha = crate::report::sha256_hex(SCAN);
    assert!(a
        .body
        .contains(&format!("<code id=\"order-sha256\">{sha}</code>")));
    let a = d.get(&lena, &format!("{case}/order")).await;
    assert_eq!(a.body.as_bytes(), SCAN);
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/pdf");
    // The registrar's own approval is refused with the code and its explanation.
    let a = d.post(&lena, &format!("{case}/approve"), &[]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.body.contains("[case.four_eyes]"));

    let a = d.get(&lena, "/desk/cases").await;
    assert!(a.body.contains("data-case=\"C-2026-0001\""));

    let a = d.post(&mats, &format!("{case}/approve"), &[]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let a = d.get(&mats, &format!("{case}?done=approved")).await;
    assert!(a.body.contains("id=\"notice\"") && a.body.contains("data-state=\"approved\""));

    // A lookup outside the scope is refused and explained; one inside it is answered.
    let a = d
        .post(
            &mats,
            &format!("{case}/lookup"),
            &[
                ("addr", "192.0.2.20"),
                ("port", ""),
                ("at", "2026-11-20 11:30 CET"),
            ],
        )
        .await;
    assert!(a.body.contains("[case.out_of_scope]"), "{}", a.body);
    let a = d
        .post(
            &mats,
            &format!("{case}/lookup"),
            &[
                ("addr", "192.0.2.10"),
                ("port", ""),
                ("at", "2026-11-20T10:30:00Z"),
            ],
        )
        .await;
    assert!(a.body.contains("id=\"lookup-result\""), "{}", a.body);
    assert!(a.body.contains("data-status=\"found\""));

    let a = d.post(&mats, &format!("{case}/execute"), &[]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = d.get(&mats, &case).await;
    assert!(
        a.body.contains("id=\"results\"")
            && a.body.contains("class=\"item\" data-status=\"found\"")
    );
    assert!(a.body.contains("id=\"report-json\""));
    let a = d.get(&mats, &format!("{case}/report.json")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/json");
    assert!(a.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let a = d.get(&mats, &case).await;
    assert!(a.body.contains("data-state=\"disclosed\""));
    // The court's PDF comes from the same disclosure. (The delivery pack needs a signed head,
    // which only the real audit writer makes: tests/api.rs covers it.)
    let a = d.get(&mats, &format!("{case}/report.pdf")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(
        d.get(&mats, &format!("{case}/report.doc")).await.status,
        StatusCode::NOT_FOUND
    );
}
