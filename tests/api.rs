//! The HTTP API through its router (no socket, `tower::ServiceExt::oneshot`), over a real
//! RocksDB store, a real identity register and a real audit log: the role × endpoint matrix,
//! authentication failures, scope escapes, four-eyes, the disclosure flow with its reports, and
//! fail-closed auditing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use tdr::api::{router, ApiState, UsersCache, ROUTES};
use tdr::audit::Auditor;
use tdr::clock::{FixedClock, SystemClock};
use tdr::config::Config;
use tdr::legal::policy::Op;
use tdr::legal::users::{Role, Users};
use tdr::legal::Service;
use tdr::store::Store;
use tdr_testkit::ev::{session, yesterday};

const TDR: &str = env!("CARGO_BIN_EXE_tdr");

struct Fixture {
    _dir: tempfile::TempDir,
    data: PathBuf,
    app: axum::Router,
    tokens: HashMap<&'static str, String>,
    day: String,
}

fn import(data: &Path, file: &Path, class: &str) {
    let o = std::process::Command::new(TDR)
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "import",
            "--format",
            "events",
        ])
        .args(["--class", class])
        .arg(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Yesterday: alice then bob on 192.0.2.10; carol on 192.0.2.20 in billing data only; the
/// line circuit-17 on 192.0.2.30 all day, whose owner changes at 12:00 UTC.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let day = yesterday();
    let ev = |op: &str, t: &str, sub: &str, sess: &str, addr: &str| {
        session(op, &format!("{day}T{t}Z"), sub, sess, addr)
    };
    let security = [
        ev("start", "10:00:00", "alice", "a1", "192.0.2.10"),
        ev("stop", "11:00:00", "alice", "a1", "192.0.2.10"),
        ev("start", "11:30:00", "bob", "b1", "192.0.2.10"),
        ev("stop", "12:30:00", "bob", "b1", "192.0.2.10"),
        ev("start", "00:10:00", "circuit-17", "c1", "192.0.2.30"),
        ev("stop", "23:50:00", "circuit-17", "c1", "192.0.2.30"),
    ];
    let billing = [
        ev("start", "10:00:00", "carol", "k1", "192.0.2.20"),
        ev("stop", "11:00:00", "carol", "k1", "192.0.2.20"),
    ];
    std::fs::create_dir_all(&data).unwrap();
    let f = dir.path().join("security.jsonl");
    std::fs::write(&f, security.join("\n") + "\n").unwrap();
    import(&data, &f, "security");
    let f = dir.path().join("billing.jsonl");
    std::fs::write(&f, billing.join("\n") + "\n").unwrap();
    import(&data, &f, "billing");

    let crm = format!(
        "subscriber,customer_id,name,street,postal_code,city,personal_number,protected_identity,valid_from,valid_to\n\
         alice,K-1,Åsa Öberg,Storgatan 1,114 55,Stockholm,19800101-0000,false,2020-01-01T00:00:00Z,\n\
         bob,K-2,Bo Ek,Gatan 2,111 22,Uppsala,19700101-0000,true,2020-01-01T00:00:00Z,\n\
         circuit-17,K-3,Karin Ahl,Vägen 3,411 01,Göteborg,19900101-0000,false,2020-01-01T00:00:00Z,{day}T12:00:00Z\n\
         circuit-17,K-4,Nils Berg,Vägen 3,411 01,Göteborg,19850101-0000,false,{day}T12:00:00Z,\n"
    );
    let f = dir.path().join("crm.csv");
    std::fs::write(&f, crm).unwrap();
    let reg = tdr::identity::IdentityRegister::open(&data).unwrap();
    reg.import_csv(&f, 0).unwrap();
    drop(reg);

    let mut tokens = HashMap::new();
    for (name, role) in [
        ("anna", Role::Legal),
        ("bert", Role::Legal),
        ("sam", Role::Security),
        ("aud", Role::Auditor),
        ("otto", Role::Ops),
        ("rita", Role::Legal),
        ("ada", Role::Admin),
    ] {
        tokens.insert(name, add_user(&data, name, role));
    }
    Users::revoke(&data, "rita", 1).unwrap();

    let mut cfg = Config::default();
    cfg.set_data_dir(&data);
    let store = Arc::new(Store::open(&cfg).unwrap());
    let auditor = Auditor::start(&data, Arc::new(SystemClock)).unwrap();
    // The service works at a fixed instant: the fixture's data is yesterday's.
    let clock = Arc::new(FixedClock::new(chrono::Utc::now().timestamp()));
    let service = Service::new(Arc::new(cfg), store, Arc::new(auditor), clock);
    let app = router(ApiState {
        service: Arc::new(service),
        users: Arc::new(UsersCache::new(data.clone())),
    });
    Fixture {
        _dir: dir,
        data,
        app,
        tokens,
        day,
    }
}

impl Fixture {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value, String) {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let body = body
            .map(|v| Body::from(v.to_string()))
            .unwrap_or_else(Body::empty);
        let resp = self
            .app
            .clone()
            .oneshot(b.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let v = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, v, text)
    }

    async fn as_user(
        &self,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, String) {
        let t = self.tokens[user].clone();
        self.call(method, path, Some(&t), body).await
    }

    fn t(&self, hms: &str) -> String {
        format!("{}T{hms}Z", self.day)
    }

    fn ipred(&self, scope: Value) -> Value {
        json!({
            "request_type": "ipred",
            "authority": "Patent- och marknadsdomstolen",
            "case_number": "PMÄ 1234-26",
            "decision_date": "2026-01-02",
            "legal_force_date": "2026-01-20",
            "order_sha256": hex::encode(Sha256::digest(b"the scanned order")),
            "scope": scope,
        })
    }

    /// A case created by `creator` and approved by `approver`; returns its id.
    async fn approved(&self, creator: &str, approver: &str, req: Value) -> String {
        let (s, v, text) = self.as_user(creator, "POST", "/v1/cases", Some(req)).await;
        assert_eq!(s, StatusCode::CREATED, "{text}");
        let id = v["id"].as_str().unwrap().to_string();
        let (s, _, text) = self
            .as_user(approver, "POST", &format!("/v1/cases/{id}/approve"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{text}");
        id
    }

    /// Asserts that the call is refused with `status` and error `code`.
    async fn expect_refusal(
        &self,
        status: StatusCode,
        code: &str,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) {
        let (s, v, text) = self.as_user(user, method, path, body).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{text}"
        );
    }

    fn audit(&self) -> Vec<Value> {
        tdr::audit::read_entries(&self.data, 0, usize::MAX).unwrap()
    }
}

/// A request body a route accepts (for the matrix, only authorization matters).
fn body_for(r: &tdr::api::Route, f: &Fixture) -> Option<Value> {
    if r.path.ends_with("/lookups") {
        return Some(json!({"purpose": "ipred",
                           "queries": [{"addr": "192.0.2.10", "at": f.t("10:30:00")}]}));
    }
    let person = json!({"name": "Nora Nilsson", "employee_id": "E-77"});
    match r.op {
        Op::UserAdd => Some(json!({"name": "nora", "role": "legal", "person": person})),
        Op::AdminBootstrap => Some(json!({"name": "nora", "person": person})),
        Op::CaseCreate => Some(f.ipred(json!([{"addr": "192.0.2.10", "at": f.t("10:30:00")}]))),
        Op::CaseReject => Some(json!({"reason": "not a valid order"})),
        Op::CaseLift => Some(json!({"reason": "the dispute is settled"})),
        Op::CaseExecute => Some(json!({})),
        Op::CaseLookup => Some(json!({"addr": "192.0.2.10", "at": f.t("10:30:00")})),
        Op::AbuseLookup => {
            Some(json!({"addr": "192.0.2.10", "at": f.t("10:30:00"), "reference": "ABUSE-1"}))
        }
        Op::AccessExtract => Some(json!({"case": "C-2026-0001"})),
        // Relative: refused (request.invalid) once admitted and audited, so the matrix makes
        // no backup and writes no escrow.
        Op::BackupCreate => Some(json!({"dir": "relative/backup"})),
        Op::KeysExport => Some(json!({"file": "relative/escrow.json"})),
        _ => None,
    }
}

fn path_for(route: &str, id: &str) -> String {
    let p = route
        .replace("{id}", id)
        .replace("{name}", "nobody")
        .replace("{format}", "events")
        .replace("{item}", "1");
    if p.ends_with("/report") {
        p + "?format=json"
    } else {
        p
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_endpoint_cell_is_allowed_or_refused_as_the_matrix_says() {
    let f = fixture();
    let id = f
        .approved(
            "anna",
            "bert",
            f.ipred(json!([{"addr": "192.0.2.10", "at": f.t("10:30:00")}])),
        )
        .await;
    let users = [
        ("anna", Role::Legal),
        ("sam", Role::Security),
        ("aud", Role::Auditor),
        ("otto", Role::Ops),
    ];
    let mut refused = 0;
    for r in ROUTES {
        for (user, role) in users {
            let (status, v, text) = f
                .as_user(user, r.method, &path_for(r.path, &id), body_for(r, &f))
                .await;
            let code = v["error"]["code"].as_str().unwrap_or("");
            if r.op.allows(role) {
                assert!(
                    status != StatusCode::UNAUTHORIZED && code != "auth.forbidden",
                    "{} {} as {role:?}: {status} {text}",
                    r.method,
                    r.path
                );
            } else {
                refused += 1;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{} {} as {role:?}: {text}",
                    r.method,
                    r.path
                );
                assert_eq!(code, "auth.forbidden", "{text}");
                assert!(!text.contains("alice") && !text.contains("Öberg"), "{text}");
            }
        }
    }
    // The matrix has cells of both kinds, and every refusal is in the audit log.
    assert!(refused >= 30, "{refused}");
    let audited = f
        .audit()
        .into_iter()
        .filter(|e| e["outcome"] == "refused:auth.forbidden")
        .count();
    assert_eq!(audited, refused);
    // Health and metrics are not API routes: the daemon serves them to everyone (ops too).
    assert!(Op::Health.allows(Role::Ops) && Op::Metrics.allows(Role::Ops));
    // The OpenAPI document lists every route with its roles.
    let (s, doc, _) = f.call("GET", "/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    for r in ROUTES {
        let op = &doc["paths"][r.path][r.method.to_ascii_lowercase()];
        assert_eq!(op["operationId"], r.op.as_str(), "{}", r.path);
        let roles: Vec<&str> = r.op.roles().iter().map(|x| x.as_str()).collect();
        assert_eq!(op["x-roles"], json!(roles));
        // Every operation that takes a body documents it.
        if body_for(r, &f).is_some() {
            assert!(op["requestBody"].is_object(), "{}", r.path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_forged_and_revoked_tokens_are_refused_everywhere_and_audited() {
    let f = fixture();
    let forged = format!("tdr_{}", "0".repeat(64));
    let revoked = f.tokens["rita"].clone();
    let mut n = 0;
    // The bootstrap authenticates by the Unix socket's peer uid, never by a token.
    for r in ROUTES.iter().filter(|r| r.op != Op::AdminBootstrap) {
        let path = path_for(r.path, "C-2026-0001");
        for (token, code) in [
            (None, "auth.missing_token"),
            (Some(forged.as_str()), "auth.invalid_token"),
            (Some(revoked.as_str()), "auth.revoked_token"),
        ] {
            let (s, v, text) = f.call(r.method, &path, token, body_for(r, &f)).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{} {path}: {text}", r.method);
            assert_eq!(v["error"]["code"], code, "{text}");
            n += 1;
        }
    }
    let audit = f.audit();
    for code in [
        "auth.missing_token",
        "auth.invalid_token",
        "auth.revoked_token",
    ] {
        let k = audit
            .iter()
            .filter(|e| e["outcome"] == format!("refused:{code}"))
            .count();
        assert_eq!(k, ROUTES.len() - 1, "{code}");
    }
    assert_eq!(n, 3 * (ROUTES.len() - 1));
    // A revoked token is refused in the name of the user it belonged to.
    assert!(audit
        .iter()
        .filter(|e| e["outcome"] == "refused:auth.revoked_token")
        .all(|e| e["actor"] == "rita"));
    assert!(audit
        .iter()
        .filter(|e| e["outcome"] == "refused:auth.invalid_token")
        .all(|e| e["actor"] == "unauthenticated"));
    // A malformed Authorization header is a missing token, not a crash.
    let resp = f
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri("/v1/cases")
                .header("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_escapes_and_self_approval_are_refused_and_audited() {
    let f = fixture();
    let a = f
        .approved(
            "anna",
            "bert",
            f.ipred(json!([
                {"addr": "192.0.2.10", "port": 40000, "at": f.t("10:30:00")},
                {"addr": "192.0.2.30", "from": f.t("09:00:00"), "to": f.t("10:00:00")},
            ])),
        )
        .await;
    // Self-approval.
    let (s, v, _) = f
        .as_user(
            "anna",
            "POST",
            "/v1/cases",
            Some(f.ipred(json!([{"addr": "192.0.2.20", "at": f.t("10:30:00")}]))),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let b = v["id"].as_str().unwrap().to_string();
    f.expect_refusal(
        StatusCode::FORBIDDEN,
        "case.four_eyes",
        "anna",
        "POST",
        &format!("/v1/cases/{b}/approve"),
        None,
    )
    .await;
    let (s, _, _) = f
        .as_user("bert", "POST", &format!("/v1/cases/{b}/approve"), None)
        .await;
    assert_eq!(s, StatusCode::OK);

    let inside = json!({"addr": "192.0.2.10", "port": 40000, "at": f.t("10:30:00")});
    let escapes = [
        (
            a.clone(),
            json!({"addr": "192.0.2.11", "port": 40000, "at": f.t("10:30:00")}),
            "other address",
        ),
        (
            a.clone(),
            json!({"addr": "192.0.2.10", "port": 40001, "at": f.t("10:30:00")}),
            "other port",
        ),
        (
            a.clone(),
            json!({"addr": "192.0.2.10", "at": f.t("10:30:00")}),
            "port left out",
        ),
        (
            a.clone(),
            json!({"addr": "192.0.2.10", "port": 40000, "at": f.t("10:30:01")}),
            "other time",
        ),
        (
            a.clone(),
            json!({"addr": "192.0.2.30", "at": f.t("10:00:01")}),
            "widened window",
        ),
        (b.clone(), inside.clone(), "another case's id"),
    ];
    for (id, q, what) in &escapes {
        let (s, v, text) = f
            .as_user(
                "anna",
                "POST",
                &format!("/v1/cases/{id}/lookup"),
                Some(q.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{what}: {text}");
        assert_eq!(v["error"]["code"], "case.out_of_scope", "{what}");
        assert!(
            v.get("matches").is_none() && !text.contains("alice"),
            "{what}: {text}"
        );
    }
    let refused: Vec<Value> = f
        .audit()
        .into_iter()
        .filter(|e| e["outcome"] == "refused:case.out_of_scope")
        .collect();
    assert_eq!(refused.len(), escapes.len());
    assert!(refused
        .iter()
        .all(|e| e["actor"] == "anna" && e["role"] == "api:legal"));
    assert_eq!(
        f.audit()
            .iter()
            .filter(|e| e["outcome"] == "refused:case.four_eyes")
            .count(),
        1
    );
    // Inside the scope it answers, and the window item allows any time within it.
    let (s, v, text) = f
        .as_user(
            "anna",
            "POST",
            &format!("/v1/cases/{a}/lookup"),
            Some(json!({"addr": "192.0.2.30", "at": f.t("09:30:00")})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(v["status"], "found");
    assert_eq!(v["matches"][0]["subscriber"], "circuit-17");
    // A registered (unapproved) case runs nothing.
    let (_, v, _) = f
        .as_user(
            "bert",
            "POST",
            "/v1/cases",
            Some(f.ipred(json!([inside.clone()]))),
        )
        .await;
    let c = v["id"].as_str().unwrap();
    f.expect_refusal(
        StatusCode::CONFLICT,
        "case.wrong_state",
        "bert",
        "POST",
        &format!("/v1/cases/{c}/lookup"),
        Some(inside),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipred_disclosure_names_the_owner_at_the_time_and_holds_a_protected_identity() {
    let f = fixture();
    let id = f
        .approved(
            "anna",
            "bert",
            f.ipred(json!([
                {"addr": "192.0.2.10", "at": f.t("10:30:00")},
                {"addr": "192.0.2.10", "at": f.t("12:00:00")},
                {"addr": "192.0.2.30", "at": f.t("11:00:00")},
                {"addr": "192.0.2.30", "at": f.t("13:00:00")},
                {"addr": "192.0.2.20", "at": f.t("10:30:00")},
                {"addr": "192.0.2.10", "from": f.t("10:15:00"), "to": f.t("12:00:00")},
            ])),
        )
        .await;
    let (s, c, text) = f
        .as_user(
            "anna",
            "POST",
            &format!("/v1/cases/{id}/execute"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let r = &c["results"];
    assert_eq!(r[0]["status"], "found");
    assert_eq!(r[0]["identity"]["name"], "Åsa Öberg");
    assert_eq!(
        r[0]["identity"]["personal_number"],
        Value::Null,
        "IPRED: name and address only"
    );
    // The protected identity is withheld from everyone, the executor included, until released.
    assert_eq!(r[1]["status"], "found");
    assert_eq!(r[1]["identity"]["protected_identity"], true);
    assert_eq!(r[1]["identity"].get("name"), None, "{}", r[1]);
    assert!(
        !text.contains("Bo Ek") && !text.contains("Gatan 2"),
        "{text}"
    );
    // The line changed owner at 12:00: each time gets the owner of that time.
    assert_eq!(r[2]["identity"]["name"], "Karin Ahl");
    assert_eq!(r[3]["identity"]["name"], "Nils Berg");
    // Billing data: readable by IPRED (own purpose); identity unknown → partial.
    assert_eq!(r[4]["status"], "found");
    assert_eq!(r[4]["record_status"], "partial");
    // A window with two holders names nobody; its evidence numbers the candidates.
    assert_eq!(r[5]["status"], "ambiguous");
    assert_eq!(r[5]["identity"], Value::Null);
    assert!(!r[5].to_string().contains("alice"), "{}", r[5]);
    assert_eq!(c["hold"], "protected_identity");

    let report = format!("/v1/cases/{id}/report?format=json");
    f.expect_refusal(
        StatusCode::CONFLICT,
        "case.held_protected_identity",
        "anna",
        "GET",
        &report,
        None,
    )
    .await;
    f.expect_refusal(
        StatusCode::FORBIDDEN,
        "case.four_eyes",
        "anna",
        "POST",
        &format!("/v1/cases/{id}/release"),
        None,
    )
    .await;
    let (s, c, _) = f
        .as_user("bert", "POST", &format!("/v1/cases/{id}/release"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["results"][1]["identity"]["name"], "Bo Ek", "released");

    let (s, rep, json_text) = f.as_user("anna", "GET", &report, None).await;
    assert_eq!(s, StatusCode::OK, "{json_text}");
    assert_eq!(rep["request_id"], id.as_str());
    assert_eq!(rep["items"].as_array().unwrap().len(), 6);
    let sha = hex::encode(Sha256::digest(json_text.as_bytes()));
    // The disclosure's audit entry holds the digest of exactly this document.
    let entry = f
        .audit()
        .into_iter()
        .find(|e| e["action"] == "case_report" && e["outcome"] == "disclosed")
        .expect("disclosure audited");
    assert_eq!(entry["result_digest"], sha.as_str());
    for fmt in ["xml", "html"] {
        let (s, _, text) = f
            .as_user(
                "bert",
                "GET",
                &format!("/v1/cases/{id}/report?format={fmt}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(text.contains(&sha), "{fmt} carries the report's SHA-256");
        assert!(
            text.contains(&entry["seq"].to_string()),
            "{fmt} names the disclosure's audit seq"
        );
    }
    // A later copy is the same document.
    let (_, _, again) = f.as_user("bert", "GET", &report, None).await;
    assert_eq!(again, json_text);
    let (_, c, _) = f
        .as_user("anna", "GET", &format!("/v1/cases/{id}"), None)
        .await;
    assert_eq!(c["state"], "disclosed");
    // Disclosed: no more lookups.
    let (s, _, _) = f
        .as_user(
            "anna",
            "POST",
            &format!("/v1/cases/{id}/lookup"),
            Some(json!({"addr": "192.0.2.10", "at": f.t("10:30:00")})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // The auditor sees it in the statistics and the chain verifies.
    let (s, st, _) = f.as_user("aud", "GET", "/v1/statistics", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(st["by_type_and_outcome"]["ipred"]["disclosed"], 1);
    assert_eq!(st["disclosed"], 1);
    let (_, v, _) = f.as_user("aud", "GET", "/v1/audit/verify", None).await;
    assert_eq!(v["intact"], true, "{v}");
    let (_, v, _) = f
        .as_user("aud", "GET", "/v1/audit?after=0&limit=5", None)
        .await;
    assert_eq!(v["entries"].as_array().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipred_override_is_audited_and_law_enforcement_sees_every_field() {
    let f = fixture();
    let item = json!([{"addr": "192.0.2.10", "at": f.t("10:30:00")}]);
    let id = f.approved("anna", "bert", f.ipred(item.clone())).await;
    let bad = json!({"override": {"fields": ["shoe_size"], "reason": ""}});
    let (s, v, _) = f
        .as_user(
            "anna",
            "POST",
            &format!("/v1/cases/{id}/execute"),
            Some(bad),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = v["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["override.reason", "override.fields"]);
    let ok = json!({"override": {"fields": ["personal_number"], "reason": "the court asked for it, p. 3"}});
    let (s, c, _) = f
        .as_user("anna", "POST", &format!("/v1/cases/{id}/execute"), Some(ok))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        c["results"][0]["identity"]["personal_number"],
        "19800101-0000"
    );
    assert_eq!(c["results"][0]["identity"]["customer_id"], Value::Null);
    assert!(f
        .audit()
        .iter()
        .any(|e| e["action"] == "disclosure_override" && e["case"] == id.as_str()));

    let mut le = f.ipred(item);
    le["request_type"] = json!("law_enforcement");
    le["authority"] = json!("Polismyndigheten");
    let id = f.approved("bert", "anna", le).await;
    let (_, c, _) = f
        .as_user(
            "bert",
            "POST",
            &format!("/v1/cases/{id}/execute"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        c["results"][0]["identity"]["personal_number"],
        "19800101-0000"
    );
    assert_eq!(c["results"][0]["identity"]["customer_id"], "K-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abuse_lookups_see_security_data_only_and_never_an_identifier() {
    let f = fixture();
    let q = |addr: &str| json!({"addr": addr, "at": f.t("10:30:00"), "reference": "ABUSE-7"});
    let (s, v, text) = f
        .as_user("sam", "POST", "/v1/abuse/lookup", Some(q("192.0.2.10")))
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(v["status"], "found");
    let p = v["matches"][0]["subscriber"].as_str().unwrap();
    assert_eq!(p.len(), 32, "a pseudonym");
    assert!(!text.contains("alice"));
    // carol's binding is billing data only: abuse may not read it.
    let (_, v, _) = f
        .as_user("sam", "POST", "/v1/abuse/lookup", Some(q("192.0.2.20")))
        .await;
    assert_eq!(v["status"], "no_data_for_this_purpose");
    assert!(!v.to_string().contains("carol"));
    // Without a ticket reference it is refused.
    f.expect_refusal(
        StatusCode::BAD_REQUEST,
        "request.invalid",
        "sam",
        "POST",
        "/v1/abuse/lookup",
        Some(json!({"addr": "192.0.2.10", "at": f.t("10:30:00")})),
    )
    .await;
    // A time without an offset is refused with a message naming it.
    let (s, v, _) = f
        .as_user(
            "sam",
            "POST",
            "/v1/abuse/lookup",
            Some(json!({"addr": "192.0.2.10", "at": "2026-11-20 10:00:00", "reference": "A"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("offset"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_extract_lists_identity_history_and_bindings() {
    let f = fixture();
    let access = json!({"request_type": "access", "authority": "the data subject",
                        "case_number": "DSR-2026-3", "scope": [{"subscriber": "circuit-17"}]});
    let id = f.approved("anna", "bert", access).await;
    let (s, v, text) = f
        .as_user(
            "anna",
            "POST",
            "/v1/subscribers/access-extract",
            Some(json!({"case": id})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(v["identity"]["current"].as_array().unwrap().len(), 2);
    assert_eq!(v["bindings"].as_array().unwrap().len(), 1);
    assert_eq!(v["bindings"][0]["target"], "192.0.2.30");
    let e = f
        .audit()
        .into_iter()
        .find(|e| e["action"] == "access_extract")
        .unwrap();
    assert_eq!(
        e["result_digest"],
        hex::encode(Sha256::digest(text.as_bytes()))
    );
    assert!(
        !e.to_string().contains("circuit-17"),
        "the audit entry holds a pseudonym"
    );
}

/// The answer to an access case through the router: the letter in Swedish, HTML and PDF/A,
/// addressed to the subscriber's registered address; legal officers only, audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_case_letter_is_served_as_html_and_pdf_to_legal_officers_only() {
    let f = fixture();
    let access = json!({"request_type": "access", "authority": "den registrerade",
                        "case_number": "DSR-2026-4", "scope": [{"subscriber": "alice"}]});
    let id = f.approved("anna", "bert", access).await;
    let letter = format!("/v1/cases/{id}/letter");
    // No extract yet: no letter.
    f.expect_refusal(
        StatusCode::CONFLICT,
        "case.wrong_state",
        "anna",
        "GET",
        &letter,
        None,
    )
    .await;
    let (s, _, text) = f
        .as_user(
            "anna",
            "POST",
            "/v1/subscribers/access-extract",
            Some(json!({"case": id})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let resp = f
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri(format!("{letter}?format=html"))
                .header("authorization", format!("Bearer {}", f.tokens["bert"]))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&format!("registerutdrag-{id}.html")));
    let html = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    for needle in [
        "Åsa Öberg<br>Storgatan 1<br>114 55 Stockholm",
        "Registerutdrag",
        "<td>192.0.2.10</td>",
        "Integritetsskyddsmyndigheten (IMY)",
        "Inga uppgifter om dig har lämnats ut till tredje part.",
    ] {
        assert!(html.contains(needle), "{needle:?} not in\n{html}");
    }
    // PDF/A by default.
    let (s, _, text) = f.as_user("anna", "GET", &letter, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.starts_with("%PDF-1.7"), "not a PDF");
    f.expect_refusal(
        StatusCode::BAD_REQUEST,
        "request.invalid",
        "anna",
        "GET",
        &format!("{letter}?format=docx"),
        None,
    )
    .await;
    for user in ["sam", "aud", "otto", "ada"] {
        f.expect_refusal(
            StatusCode::FORBIDDEN,
            "auth.forbidden",
            user,
            "GET",
            &letter,
            None,
        )
        .await;
    }
    let made: Vec<Value> = f
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "access_letter" && e["outcome"] == "copy")
        .collect();
    assert_eq!(made.len(), 2, "the HTML and the PDF, each audited");
    assert!(made.iter().all(|e| !e.to_string().contains("alice")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_audit_log_unwritable_every_data_endpoint_refuses_and_returns_nothing() {
    let f = fixture();
    let id = f
        .approved(
            "anna",
            "bert",
            f.ipred(json!([{"addr": "192.0.2.10", "at": f.t("10:30:00")}])),
        )
        .await;
    // The audit directory is replaced by a file (this holds for root too); the writer has the
    // log open or not — both must fail.
    let audit = f.data.join("audit");
    std::fs::remove_dir_all(&audit).unwrap();
    std::fs::write(&audit, b"not a directory").unwrap();
    let who = |op: Op| match op.roles().first().copied().unwrap_or(Role::Ops) {
        Role::Legal => "anna",
        Role::Security => "sam",
        Role::Auditor => "aud",
        Role::Ops => "otto",
        Role::Admin => "ada",
    };
    for r in ROUTES {
        let (s, v, text) = f
            .as_user(who(r.op), r.method, &path_for(r.path, &id), body_for(r, &f))
            .await;
        if r.op == Op::CaseReport {
            // The case is not executed: refused for its state before anything is read.
            assert_eq!(v["error"]["code"], "case.wrong_state", "{text}");
        } else if r.op == Op::AccessExtract || r.op == Op::AccessLetter {
            // The case is not an access request: refused for its type before anything is read.
            assert_eq!(v["error"]["code"], "case.not_for_this_type", "{text}");
        } else if r.op == Op::NoticeLetter {
            // The case was never disclosed, so it owes no notice: refused before anything is
            // read.
            assert_eq!(v["error"]["code"], "notice.not_found", "{text}");
        } else if r.op == Op::AdminBootstrap {
            // Not the service user on the socket: refused before anything is read or changed.
            assert_eq!(v["error"]["code"], "auth.forbidden", "{text}");
        } else {
            assert_eq!(
                s,
                StatusCode::SERVICE_UNAVAILABLE,
                "{} {}: {text}",
                r.method,
                r.path
            );
            assert!(
                v["error"]["code"].as_str().unwrap().starts_with("audit."),
                "{text}"
            );
        }
        for leak in [
            "alice",
            "Öberg",
            "192.0.2.10\"",
            "matches",
            "results",
            "entries",
        ] {
            assert!(
                !text.contains(leak),
                "{} {} leaked {leak}: {text}",
                r.method,
                r.path
            );
        }
    }
    // The case did not move: the refused execute changed nothing.
    let case = tdr::legal::register::get(&f.data, &id).unwrap();
    assert_eq!(case.state, tdr::legal::case::State::Approved);
}

/// Adds an active user: added by one admin, approved by another (persons `E-<name>`).
fn add_user(data: &std::path::Path, name: &str, role: Role) -> String {
    let admin = |n: &str| tdr::legal::auth::Principal {
        name: n.into(),
        role: Role::Admin,
        person: format!("E-{n}"),
    };
    let person = tdr::legal::auth::Person {
        name: name.into(),
        employee_id: format!("E-{name}"),
    };
    let token = Users::add(data, name, role, person, &admin("ada"), 0)
        .unwrap()
        .token;
    if role.needs_approval() {
        Users::approve(data, name, &admin("bo"), 0).unwrap();
    }
    token
}

/// The IPRED notice and the ledger through the router: a disclosed IPRED answer owes its
/// subscriber a notice (listed without personal data, no letter before its window) and makes
/// one ledger row, exported as CSV to legal officers only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disclosed_ipred_answer_lists_its_notice_and_its_ledger_row() {
    let f = fixture();
    let id = f
        .approved(
            "anna",
            "bert",
            f.ipred(json!([{"addr": "192.0.2.10", "at": f.t("10:30:00")}])),
        )
        .await;
    let (s, _, text) = f
        .as_user("anna", "POST", &format!("/v1/cases/{id}/execute"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let (s, _, text) = f
        .as_user(
            "bert",
            "GET",
            &format!("/v1/cases/{id}/report?format=json"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");

    let (s, v, text) = f
        .as_user("anna", "GET", "/v1/notices?status=waiting", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let notices = v["notices"].as_array().unwrap();
    assert_eq!(notices.len(), 1, "{text}");
    assert_eq!(notices[0]["case"], id.as_str());
    assert_eq!(notices[0]["item"], 1);
    assert!(!text.contains("alice") && !text.contains("Öberg"), "{text}");
    let (_, v, _) = f
        .as_user("anna", "GET", "/v1/notices?status=due", None)
        .await;
    assert_eq!(v["notices"], json!([]));
    f.expect_refusal(
        StatusCode::BAD_REQUEST,
        "request.invalid",
        "anna",
        "GET",
        "/v1/notices?status=soon",
        None,
    )
    .await;
    f.expect_refusal(
        StatusCode::CONFLICT,
        "notice.not_yet_open",
        "anna",
        "POST",
        &format!("/v1/cases/{id}/notices/1/letter?format=text"),
        None,
    )
    .await;
    f.expect_refusal(
        StatusCode::FORBIDDEN,
        "auth.forbidden",
        "aud",
        "GET",
        "/v1/notices",
        None,
    )
    .await;

    let (s, csv, _) = {
        let (s, _, text) = f
            .as_user(
                "anna",
                "GET",
                "/v1/ledger?format=csv&authority=Patent-%20och%20marknadsdomstolen",
                None,
            )
            .await;
        (s, text, ())
    };
    assert_eq!(s, StatusCode::OK, "{csv}");
    let disclosed_at = notices[0]["disclosed_at"].as_str().unwrap();
    assert_eq!(
        csv,
        format!(
            "disclosed_at,case,request_type,authority,case_number,category,payer,items,\
             amount_sek,currency\r\n\
             {disclosed_at},{id},ipred,Patent- och marknadsdomstolen,PMÄ 1234-26,subscriber,\
             rights_holder,1,,SEK\r\n"
        )
    );
    let (_, v, _) = f
        .as_user("anna", "GET", "/v1/ledger?authority=Polismyndigheten", None)
        .await;
    assert_eq!(v["rows"], json!([]));
    f.expect_refusal(
        StatusCode::FORBIDDEN,
        "auth.forbidden",
        "ada",
        "GET",
        "/v1/ledger?format=csv",
        None,
    )
    .await;
    let audit = f.audit();
    let exports: Vec<&Value> = audit
        .iter()
        .filter(|e| e["action"] == "ledger_export")
        .collect();
    assert_eq!(exports.len(), 3);
    assert_eq!(exports[2]["outcome"], "refused:auth.forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_list_says_what_is_due_and_the_statistics_come_as_csv() {
    let f = fixture();
    let mut req = f.ipred(json!([{"addr": "192.0.2.10", "at": f.t("10:30:00")}]));
    req["request_type"] = json!("law_enforcement");
    req["authority"] = json!("Polismyndigheten, Region Syd");
    let (s, c, text) = f.as_user("anna", "POST", "/v1/cases", Some(req)).await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    // "Without delay": two working days, so due soon from the day it arrives.
    assert_eq!(c["clocks"]["due_status"], "due_soon", "{c}");
    assert_eq!(c["clocks"]["due_basis"], "default");
    let (s, v, _) = f.as_user("anna", "GET", "/v1/cases?due=soon", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["cases"][0]["id"], c["id"]);
    assert_eq!(v["cases"][0]["due_day"], c["clocks"]["due_day"]);
    let (_, v, _) = f
        .as_user("anna", "GET", "/v1/cases?due=overdue", None)
        .await;
    assert_eq!(v["cases"], json!([]));
    for bad in ["/v1/cases?due=tomorrow", "/v1/cases?state=open"] {
        let (s, v, text) = f.as_user("anna", "GET", bad, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
        assert_eq!(v["error"]["code"], "request.invalid");
    }
    let entry = f
        .audit()
        .into_iter()
        .rev()
        .find(|e| e["action"] == "case_list")
        .unwrap();
    assert_eq!(entry["query"]["due"], "overdue");

    let day = &f.day;
    let (s, _, csv) = f
        .as_user(
            "aud",
            "GET",
            &format!("/v1/statistics?from=2000-01-01&to={day}&format=csv"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("from,to,request_type,authority,requests"));
    // The authority's comma is quoted; the case was registered today, after `to`.
    assert_eq!(lines.len(), 2, "{csv}");
    let (_, _, csv) = f
        .as_user("aud", "GET", "/v1/statistics?format=csv", None)
        .await;
    assert!(
        csv.contains(",law_enforcement,\"Polismyndigheten, Region Syd\",1,0,0,1,0,,"),
        "{csv}"
    );
    let (s, v, _) = f
        .as_user("aud", "GET", "/v1/statistics?format=xls", None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("request.invalid"))
    );
    f.expect_refusal(
        StatusCode::FORBIDDEN,
        "auth.forbidden",
        "anna",
        "GET",
        "/v1/statistics?format=csv",
        None,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_pack_holds_every_rendering_and_a_head_that_verifies_offline() {
    use std::io::Read;
    let f = fixture();
    let id = f
        .approved(
            "anna",
            "bert",
            f.ipred(json!([{"addr": "192.0.2.10", "at": f.t("10:30:00")}])),
        )
        .await;
    let (s, _, text) = f
        .as_user(
            "anna",
            "POST",
            &format!("/v1/cases/{id}/execute"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    // Nothing disclosed yet: asking for the pack is the disclosure.
    let resp = f
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri(format!("/v1/cases/{id}/pack"))
                .header("authorization", format!("Bearer {}", f.tokens["bert"]))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    let zip = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut files = HashMap::new();
    for i in 0..archive.len() {
        let mut e = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).unwrap();
        let name = e
            .name()
            .strip_prefix(&format!("{id}/"))
            .unwrap()
            .to_string();
        files.insert(name, bytes);
    }
    for name in [
        "report.json",
        "report.pdf",
        "report.html",
        "report.xml",
        "audit-head.json",
        "audit-head.msg",
        "audit-head.sig",
        "audit-signing-key.pem",
        "LÄSMIG-VERIFY.txt",
        "SHA256SUMS",
    ] {
        assert!(files.contains_key(name), "{name} missing from the pack");
    }
    // Every sum is right, and every file but the list is listed.
    let sums = String::from_utf8(files["SHA256SUMS"].clone()).unwrap();
    assert_eq!(sums.lines().count(), files.len() - 1);
    for line in sums.lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        assert_eq!(sum, hex::encode(Sha256::digest(&files[name])), "{name}");
    }
    // The JSON is the disclosed report; its digest is in the other renderings.
    let sha = hex::encode(Sha256::digest(&files["report.json"]));
    let (_, _, json_text) = f
        .as_user(
            "anna",
            "GET",
            &format!("/v1/cases/{id}/report?format=json"),
            None,
        )
        .await;
    assert_eq!(json_text.as_bytes(), files["report.json"].as_slice());
    for name in ["report.html", "report.xml", "LÄSMIG-VERIFY.txt"] {
        assert!(
            String::from_utf8_lossy(&files[name]).contains(&sha),
            "{name} carries the report's SHA-256"
        );
    }
    assert!(files["report.pdf"].starts_with(b"%PDF-"));
    // The head covers the disclosure and the pack's own entry, and is the log's own.
    let head: Value = serde_json::from_slice(&files["audit-head.json"]).unwrap();
    let audit = f.audit();
    let disclosure = audit
        .iter()
        .find(|e| e["action"] == "case_report" && e["outcome"] == "disclosed")
        .unwrap();
    assert_eq!(disclosure["query"]["format"], "pack");
    assert_eq!(disclosure["result_digest"], sha.as_str());
    assert!(head["seq"].as_u64().unwrap() >= disclosure["seq"].as_u64().unwrap());
    let at_head = audit.iter().find(|e| e["seq"] == head["seq"]).unwrap();
    assert_eq!(at_head["hash"], head["hash"], "{at_head}");
    // The signature verifies over seq ‖ hash with the key in the pack...
    let key_bytes: [u8; 32] = hex::decode(head["public_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes).unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&files["audit-head.sig"]).unwrap();
    let mut msg = head["seq"].as_u64().unwrap().to_be_bytes().to_vec();
    msg.extend(hex::decode(head["hash"].as_str().unwrap()).unwrap());
    assert_eq!(msg, files["audit-head.msg"]);
    key.verify_strict(&msg, &sig).unwrap();
    // ... and with the openssl command the pack's text gives, run as it says.
    let dir = tempfile::tempdir().unwrap();
    for name in ["audit-signing-key.pem", "audit-head.msg", "audit-head.sig"] {
        std::fs::write(dir.path().join(name), &files[name]).unwrap();
    }
    let openssl = |msg: &str| {
        std::process::Command::new("openssl")
            .current_dir(dir.path())
            .args([
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "audit-signing-key.pem",
            ])
            .args(["-rawin", "-in", msg, "-sigfile", "audit-head.sig"])
            .output()
            .expect("openssl (Debian package openssl) runs")
    };
    let ok = openssl("audit-head.msg");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let mut forged = files["audit-head.msg"].clone();
    forged[7] ^= 1;
    std::fs::write(dir.path().join("forged.msg"), forged).unwrap();
    assert!(!openssl("forged.msg").status.success());
    // A second pack is audited as a pack, not a second disclosure.
    let (s, _, _) = f
        .as_user("anna", "GET", &format!("/v1/cases/{id}/pack"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let last = f.audit().pop().unwrap();
    assert_eq!(
        (last["action"].as_str(), last["result_digest"].as_str()),
        (Some("case_pack"), Some(sha.as_str()))
    );
}

/// Lifting a restriction over HTTP: legal officers only, a reason required, 202 while it waits
/// for a second person, four eyes, 200 once lifted, then nothing more to lift; while it holds,
/// the security team's lookup answers `restricted`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restriction_is_lifted_by_two_officers_over_http() {
    let f = fixture();
    let req = json!({
        "request_type": "restriction",
        "authority": "the data subject",
        "case_number": "DSR-2026-4",
        "restrict_until": "2099-12-31",
        "notes": "disputes an abuse report",
        "scope": [{"subscriber": "alice"}],
    });
    let id = f.approved("anna", "bert", req).await;
    let (s, v, text) = f
        .as_user(
            "anna",
            "POST",
            &format!("/v1/cases/{id}/execute"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(v["state"], "executed");
    assert_eq!(v["restriction"]["in_force"], true, "{text}");
    let abuse = json!({"addr": "192.0.2.10", "at": f.t("10:30:00"), "reference": "ABUSE-7"});
    let (s, v, text) = f
        .as_user("sam", "POST", "/v1/abuse/lookup", Some(abuse.clone()))
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(v["status"], "restricted", "{text}");

    let lift = format!("/v1/cases/{id}/lift");
    let reason = Some(json!({"reason": "the dispute is settled"}));
    f.expect_refusal(
        StatusCode::FORBIDDEN,
        "auth.forbidden",
        "sam",
        "POST",
        &lift,
        reason.clone(),
    )
    .await;
    f.expect_refusal(
        StatusCode::BAD_REQUEST,
        "request.invalid",
        "anna",
        "POST",
        &lift,
        Some(json!({"reason": ""})),
    )
    .await;
    let (s, v, text) = f.as_user("anna", "POST", &lift, reason.clone()).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{text}");
    assert_eq!(v["restriction"]["lift_requested"], true);
    assert_eq!(v["restriction"]["in_force"], true);
    f.expect_refusal(
        StatusCode::FORBIDDEN,
        "case.four_eyes",
        "anna",
        "POST",
        &lift,
        reason.clone(),
    )
    .await;
    let (s, v, text) = f.as_user("bert", "POST", &lift, reason.clone()).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(v["restriction"]["lifted"], true);
    assert_eq!(v["restriction"]["in_force"], false);
    f.expect_refusal(
        StatusCode::CONFLICT,
        "case.wrong_state",
        "bert",
        "POST",
        &lift,
        reason.clone(),
    )
    .await;
    f.expect_refusal(
        StatusCode::NOT_FOUND,
        "case.not_found",
        "anna",
        "POST",
        "/v1/cases/C-1999-0001/lift",
        reason,
    )
    .await;
    let (_, v, _) = f
        .as_user("sam", "POST", "/v1/abuse/lookup", Some(abuse))
        .await;
    assert_eq!(v["status"], "found", "lifted: the pseudonym again");
    let outcomes: Vec<String> = f
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "case_lift")
        .map(|e| e["outcome"].as_str().unwrap_or("").to_string())
        .collect();
    for o in [
        "lift_requested",
        "lifted",
        "refused:case.four_eyes",
        "refused:auth.forbidden",
    ] {
        assert!(outcomes.iter().any(|x| x == o), "{o} in {outcomes:?}");
    }
}

#[tokio::test]
async fn an_erasure_case_deletes_own_purpose_data_with_a_signed_certificate() {
    let f = fixture();
    let req = json!({
        "request_type": "erasure",
        "authority": "the data subject",
        "case_number": "DSR-2026-9",
        "scope": [{"subscriber": "alice"}],
    });
    // The wrong role, and a single officer, are refused.
    f.expect_refusal(
        StatusCode::FORBIDDEN,
        "auth.forbidden",
        "sam",
        "POST",
        "/v1/cases",
        Some(req.clone()),
    )
    .await;
    let (s, v, text) = f
        .as_user("anna", "POST", "/v1/cases", Some(req.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let lone = v["id"].as_str().unwrap().to_string();
    f.expect_refusal(
        StatusCode::FORBIDDEN,
        "case.four_eyes",
        "anna",
        "POST",
        &format!("/v1/cases/{lone}/approve"),
        Some(json!({})),
    )
    .await;
    f.expect_refusal(
        StatusCode::CONFLICT,
        "case.wrong_state",
        "anna",
        "POST",
        &format!("/v1/cases/{lone}/execute"),
        Some(json!({})),
    )
    .await;

    let before = json!({"addr": "192.0.2.10", "at": f.t("10:30:00"), "reference": "ABUSE-9"});
    let (_, v, _) = f
        .as_user("sam", "POST", "/v1/abuse/lookup", Some(before.clone()))
        .await;
    assert_eq!(v["status"], "found", "alice's session is there before");

    let id = f.approved("anna", "bert", req).await;
    let (s, v, text) = f
        .as_user(
            "bert",
            "POST",
            &format!("/v1/cases/{id}/execute"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(v["state"], "executed", "{text}");
    let cert = v["certificate"].clone();
    assert_eq!(cert["body"]["case"], id.as_str(), "{text}");
    assert_eq!(cert["body"]["deleted"]["bindings"], 1, "{text}");
    assert_eq!(cert["body"]["classes"], json!(["security", "billing"]));
    assert!(
        !cert.to_string().contains("alice"),
        "a pseudonym, never the id"
    );

    // The certificate verifies with the appliance's public key, off the box; a changed one
    // does not.
    let file = f.data.join("cert.json");
    std::fs::write(&file, cert.to_string()).unwrap();
    assert_eq!(
        tdr::legal::service::verify_certificate_file(&f.data, None, &file).unwrap(),
        id
    );
    let mut forged = cert.clone();
    forged["body"]["deleted"]["bindings"] = json!(0);
    std::fs::write(&file, forged.to_string()).unwrap();
    assert!(tdr::legal::service::verify_certificate_file(&f.data, None, &file).is_err());

    // Alice's session is gone: the abuse lookup sees bob's only, the erasure executes once.
    let (_, v, text) = f
        .as_user("sam", "POST", "/v1/abuse/lookup", Some(before))
        .await;
    assert_ne!(v["status"], "found", "{text}");
    f.expect_refusal(
        StatusCode::CONFLICT,
        "case.wrong_state",
        "anna",
        "POST",
        &format!("/v1/cases/{id}/execute"),
        Some(json!({})),
    )
    .await;
    let actions: Vec<(String, String)> = f
        .audit()
        .into_iter()
        .filter(|e| e["case"] == id.as_str())
        .map(|e| {
            (
                e["action"].as_str().unwrap_or("").to_string(),
                e["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let at = |a: &str| actions.iter().position(|(x, _)| x == a).unwrap();
    assert!(at("erasure") < at("erasure_certificate"), "{actions:?}");
}
