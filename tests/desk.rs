//! The desk in a real browser: Debian's chromium through chromedriver (both started by the
//! test), against `tdr serve` over HTTPS with a self-signed certificate, as the people who use
//! it would: officers who have never seen the tool signing in for the first time, registering,
//! approving, executing and releasing an IPRED order in two browsers; the refusals they meet
//! and the explanation each shows; the auditor reading what they did; the security team's
//! pseudonymous lookup; the admins' four eyes; sign-in failures, the lock, CSRF and a missing
//! session. axe-core checks every page (no serious or critical violation) and each page's
//! screenshot is written (see `tdr_testkit::browser::screenshot_dir`).

use std::path::{Path, PathBuf};

use tdr_testkit::browser::{
    self, assert_accessible, click, current_path, fill, goto, is_present, text_of, upload,
    wait_for, Client, Driver,
};
use tdr_testkit::cli::{stderr, tdr_as, Account, Tdr};
use tdr_testkit::daemon::Daemon;
use tdr_testkit::ev;

const BIN: &str = env!("CARGO_BIN_EXE_tdr");

/// One browser test at a time: each runs a daemon and up to three chromium instances, and the
/// machine has two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A daemon over HTTPS with a day of RADIUS sessions and the CRM's identities: alice (Åsa Öberg)
/// on 192.0.2.10 and pia (a protected identity) on 192.0.2.12, 10:00–11:00 UTC yesterday;
/// 203.0.113.0/28 is the CGNAT pool.
struct World {
    _dir: tempfile::TempDir,
    data: PathBuf,
    daemon: Daemon,
    day: String,
    files: PathBuf,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let files = dir.path().join("files");
        std::fs::create_dir_all(&files).unwrap();
        let day = (chrono::Utc::now() - chrono::Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        let ts = |hms: &str| format!("{day}T{hms}Z");
        let lines = [
            ev::session("start", &ts("10:00:00"), "alice", "a1", "192.0.2.10"),
            ev::session("start", &ts("10:00:00"), "pia", "p1", "192.0.2.12"),
            ev::session("stop", &ts("11:00:00"), "alice", "a1", "192.0.2.10"),
            ev::session("stop", &ts("11:00:00"), "pia", "p1", "192.0.2.12"),
        ];
        let events = files.join("events.jsonl");
        std::fs::write(&events, lines.join("\n") + "\n").unwrap();
        let o = tdr_as(
            BIN,
            &data,
            None,
            &["import", "--format", "events", events.to_str().unwrap()],
        );
        assert!(o.status.success(), "import: {}", stderr(&o));
        let daemon = Daemon::https(
            BIN,
            &data,
            "[network]\ncgnat_public = [\"203.0.113.0/28\"]\n",
        );
        let crm = files.join("crm.csv");
        std::fs::write(
            &crm,
            "subscriber,customer_id,name,street,postal_code,city,personal_number,protected_identity,valid_from,valid_to\n\
             alice,K1,Åsa Öberg,Storgatan 1,114 55,Stockholm,19800101-0000,false,2020-01-01T00:00:00Z,\n\
             pia,K2,Pia Skyddad,Hemlig väg 2,111 11,Stockholm,19900101-0000,true,2020-01-01T00:00:00Z,\n",
        )
        .unwrap();
        let admin = Tdr::new(BIN, &data).admins()[0].clone();
        let o = tdr_as(
            BIN,
            &data,
            Some(&admin),
            &["identity", "import", crm.to_str().unwrap()],
        );
        assert!(o.status.success(), "identity import: {}", stderr(&o));
        World {
            _dir: dir,
            data,
            daemon,
            day,
            files,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.daemon.http)
    }

    fn account(&self, name: &str, role: &str) -> Account {
        Tdr::new(BIN, &self.data).account(name, role)
    }

    /// The audit entries as JSON (the chain's lines).
    fn audit(&self) -> Vec<serde_json::Value> {
        tdr_testkit::cli::audit_entries(&self.data)
    }
}

/// A person's first sign-in: the one-time password, a password of their own, the TOTP app
/// enrolled from the page's secret. Returns the secret.
async fn first_sign_in(c: &Client, w: &World, a: &Account, shots: &str) -> String {
    goto(c, &w.url("/desk/signin")).await;
    assert_accessible(c, &format!("{shots}-signin")).await;
    fill(c, "#user", &a.name).await;
    fill(c, "#password", &a.desk_password).await;
    click(c, "#signin").await;
    wait_for(c, "#password2").await;
    assert_accessible(c, &format!("{shots}-new-password")).await;
    let own = format!("{} chooses a long password", a.name);
    fill(c, "#password", &own).await;
    fill(c, "#password2", &own).await;
    click(c, "#save").await;
    let secret = text_of(c, "#totp-secret").await;
    assert!(is_present(c, "#totp-qr svg").await, "the QR code is shown");
    assert_accessible(c, &format!("{shots}-enroll")).await;
    let code = tdr::legal::totp::code(&secret, chrono::Utc::now().timestamp()).unwrap();
    fill(c, "#code", &code).await;
    click(c, "#confirm").await;
    wait_for(c, "#nav").await;
    secret
}

/// Accepts the confirmation a form with `data-confirm` asks for.
async fn confirm(c: &Client) {
    for _ in 0..50 {
        if c.accept_alert().await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no confirmation was asked");
}

/// Waits (bounded) until the element at `css` shows `needle`, across page loads; its text.
async fn wait_text(c: &Client, css: &str, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..200 {
        if let Ok(e) = c.find(browser::Locator::Css(css)).await {
            if let Ok(t) = e.text().await {
                if t.contains(needle) {
                    return t;
                }
                last = t;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "{css} never showed {needle:?} on {}: {last}",
        current_path(c).await
    );
}

/// The case id of the case page the browser shows.
async fn case_id(c: &Client) -> String {
    let p = current_path(c).await;
    p.strip_prefix("/desk/cases/")
        .unwrap_or_else(|| panic!("not on a case page: {p}"))
        .to_string()
}

/// Writes a stand-in for the scanned order (a small PDF) and returns its path.
fn scanned_order(w: &World) -> PathBuf {
    let p = w.files.join("beslut.pdf");
    std::fs::write(&p, b"%PDF-1.4\n% a scanned order\n%%EOF\n").unwrap();
    p
}

/// Registers a case of `kind` with the `scope` lines, as the officer in `c`; returns its id.
async fn register(c: &Client, w: &World, kind: &str, scope: &str, shots: Option<&str>) -> String {
    goto(c, &w.url("/desk/cases/new")).await;
    if let Some(s) = shots {
        assert_accessible(c, &format!("{s}-types")).await;
    }
    click(c, &format!("#new-{kind}")).await;
    wait_for(c, "#case-form").await;
    let decided = (chrono::Utc::now() - chrono::Duration::days(20))
        .format("%Y-%m-%d")
        .to_string();
    fill(c, "#authority", "Patent- och marknadsdomstolen").await;
    fill(c, "#case_number", "PMÄ 4711-26").await;
    fill(c, "#decision_date", &decided).await;
    if kind == "ipred" {
        fill(c, "#legal_force_date", &decided).await;
    }
    upload(c, "#order", &scanned_order(w)).await;
    fill(c, "#scope", scope).await;
    if let Some(s) = shots {
        // The live check has answered every line.
        let lines = scope.lines().count();
        for _ in 0..100 {
            if c.find_all(browser::Locator::Css("#scope-check tr.line"))
                .await
                .unwrap()
                .len()
                == lines
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_accessible(c, &format!("{s}-form")).await;
    }
    click(c, "#register").await;
    wait_for(c, "#case-state").await;
    case_id(c).await
}

/// The case page's state word, read again while a page load replaces the element (a stale
/// element is the old page's, not an answer).
async fn state(c: &Client) -> String {
    for _ in 0..200 {
        if let Ok(e) = c.find(browser::Locator::Css("#case-state")).await {
            if let Ok(Some(v)) = e.attr("data-state").await {
                return v;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no #case-state on {}", current_path(c).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipred_order_end_to_end_by_two_officers_with_a_held_protected_identity_released() {
    let _one = ONE_AT_A_TIME.lock().await;
    let w = World::new();
    let (anna, bertil) = (w.account("anna", "legal"), w.account("bertil", "legal"));
    let driver = Driver::start();
    let (a, b) = (driver.browser().await, driver.browser().await);
    first_sign_in(&a, &w, &anna, "legal").await;
    assert_eq!(current_path(&a).await, "/desk/cases");
    let scope = format!(
        "192.0.2.10 {day} 10:30:00 Z\n192.0.2.12; {day}T10:30:00+00:00\n",
        day = w.day
    );
    let id = register(&a, &w, "ipred", &scope, Some("case-new")).await;
    assert_eq!(state(&a).await, "registered");
    assert!(!text_of(&a, "#order-sha256").await.is_empty());
    // The registrar cannot approve her own case, and the page says why.
    assert!(!is_present(&a, "#approve").await);
    assert!(is_present(&a, "#four-eyes-note").await);
    assert_accessible(&a, "case-registered").await;

    // A second officer, in a browser of his own, approves it.
    first_sign_in(&b, &w, &bertil, "legal2").await;
    goto(&b, &w.url("/desk/cases")).await;
    wait_for(&b, &format!("tr[data-case=\"{id}\"]")).await;
    assert_accessible(&b, "cases-inbox").await;
    goto(&b, &w.url(&format!("/desk/cases/{id}"))).await;
    click(&b, "#approve").await;
    for _ in 0..100 {
        if state(&b).await == "approved" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state(&b).await, "approved");

    // The registrar executes it: alice is named, pia's protected identity is held.
    goto(&a, &w.url(&format!("/desk/cases/{id}"))).await;
    click(&a, "#execute").await;
    confirm(&a).await;
    wait_for(&a, "#results").await;
    a.execute(
        "document.getElementById('results').scrollIntoView()",
        vec![],
    )
    .await
    .unwrap();
    let results = text_of(&a, "#results").await;
    assert!(results.contains("Åsa Öberg"), "{results}");
    assert!(
        !results.contains("Pia Skyddad") && !results.contains("Hemlig"),
        "{results}"
    );
    assert!(is_present(&a, ".item[data-status=found] .explain").await);
    assert!(is_present(&a, "#hold").await);
    assert!(
        !is_present(&a, "#release").await,
        "the executor cannot release it"
    );
    assert_accessible(&a, "case-held").await;

    // The second officer releases it; the report is there to download.
    goto(&b, &w.url(&format!("/desk/cases/{id}"))).await;
    click(&b, "#release").await;
    confirm(&b).await;
    for _ in 0..100 {
        if !is_present(&b, "#hold").await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!is_present(&b, "#hold").await);
    let timeline = text_of(&b, "#timeline").await;
    for who in ["anna", "bertil"] {
        assert!(timeline.contains(who), "{timeline}");
    }
    assert_accessible(&b, "case-released").await;
    let html = wait_for(&b, "#report-html")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    goto(&b, &w.url(&html)).await;
    let report = b.source().await.unwrap();
    assert!(report.contains("PMÄ 4711-26") && report.contains("Åsa Öberg"));

    // The auditor sees what the officers did, by whom.
    let auditor = w.account("agda", "auditor");
    let c = driver.browser().await;
    first_sign_in(&c, &w, &auditor, "auditor").await;
    goto(&c, &w.url(&format!("/desk/audit?case={id}"))).await;
    let log = text_of(&c, "#audit").await;
    for (action, who) in [
        ("case_create", "anna"),
        ("case_approve", "bertil"),
        ("case_execute", "anna"),
        ("case_release", "bertil"),
    ] {
        assert!(
            log.lines().any(|l| l.contains(action) && l.contains(who)),
            "{action} by {who} in the auditor's view:\n{log}"
        );
    }
    assert_accessible(&c, "audit-log").await;
    goto(&c, &w.url("/desk/audit/verify")).await;
    click(&c, "#verify").await;
    wait_for(&c, "#head").await;
    assert!(text_of(&c, "#verify-result").await.len() > 3);
    assert_accessible(&c, "audit-verify").await;
    goto(&c, &w.url("/desk/statistics")).await;
    wait_for(&c, "#stats").await;
    assert_accessible(&c, "statistics").await;
    // The audit log itself holds the desk's channel and the sign-ins.
    let entries = w.audit();
    assert!(entries
        .iter()
        .any(|e| e["action"] == "case_approve" && e["role"] == "desk:legal"));
    assert!(entries
        .iter()
        .any(|e| e["action"] == "desk_signin" && e["actor"] == "agda"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_approval_an_out_of_scope_lookup_and_a_time_without_a_zone_are_refused_with_their_explanation(
) {
    let _one = ONE_AT_A_TIME.lock().await;
    let w = World::new();
    let (anna, bertil) = (w.account("anna", "legal"), w.account("bertil", "legal"));
    let driver = Driver::start();
    let (a, b) = (driver.browser().await, driver.browser().await);
    first_sign_in(&a, &w, &anna, "refusals").await;

    // The live check names the problems of each line as it is typed.
    goto(&a, &w.url("/desk/cases/new/law_enforcement")).await;
    fill(
        &a,
        "#scope",
        &format!(
            "192.0.2.10 {day} 10:30:00\n203.0.113.5 {day} 10:30:00 Z\n",
            day = w.day
        ),
    )
    .await;
    wait_for(&a, "#scope-check tr.line[data-ok=false]").await;
    a.execute(
        "document.getElementById('scope-check').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await
    .unwrap();
    let check = text_of(&a, "#scope-check").await;
    assert!(
        check.contains("UTC"),
        "a time without a zone is explained: {check}"
    );
    assert!(
        check.to_lowercase().contains("port"),
        "a CGNAT address without a port is explained: {check}"
    );
    assert_accessible(&a, "case-new-check").await;

    let id = register(
        &a,
        &w,
        "law_enforcement",
        &format!("192.0.2.10 {} 10:30:00 Z\n", w.day),
        None,
    )
    .await;
    // Self-approval, forced past the page (the button is not offered): refused, explained.
    let csrf = wait_for(&a, "input[name=_csrf]")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    a.execute(
        "const f = document.createElement('form'); f.method = 'post'; \
         f.action = arguments[0]; const i = document.createElement('input'); \
         i.type = 'hidden'; i.name = '_csrf'; i.value = arguments[1]; f.appendChild(i); \
         document.body.appendChild(f); f.submit();",
        vec![
            serde_json::json!(format!("/desk/cases/{id}/approve")),
            serde_json::json!(csrf),
        ],
    )
    .await
    .unwrap();
    let err = text_of(&a, "#error").await;
    assert!(err.contains("case.four_eyes"), "{err}");
    assert_accessible(&a, "refused-four-eyes").await;
    assert!(w.audit().iter().any(|e| e["action"] == "case_approve"
        && e["actor"] == "anna"
        && e["outcome"] == "refused:case.four_eyes"));

    // Approved by another officer, a lookup outside the scope is refused and explained.
    first_sign_in(&b, &w, &bertil, "refusals2").await;
    goto(&b, &w.url(&format!("/desk/cases/{id}"))).await;
    click(&b, "#approve").await;
    // The approval has landed before the registrar reloads the case.
    for _ in 0..200 {
        if state(&b).await == "approved" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state(&b).await, "approved");
    goto(&a, &w.url(&format!("/desk/cases/{id}"))).await;
    fill(&a, "#addr", "192.0.2.12").await;
    fill(&a, "#at", &format!("{}T10:30:00Z", w.day)).await;
    click(&a, "#lookup").await;
    let err = text_of(&a, "#error").await;
    assert!(err.contains("case.out_of_scope"), "{err}");
    assert_accessible(&a, "refused-out-of-scope").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_security_team_gets_a_pseudonym_and_sees_only_its_own_page() {
    let _one = ONE_AT_A_TIME.lock().await;
    let w = World::new();
    let sec = w.account("sixten", "security");
    let driver = Driver::start();
    let s = driver.browser().await;
    first_sign_in(&s, &w, &sec, "security").await;
    assert!(is_present(&s, "#nav-abuse").await);
    for other in ["#nav-cases", "#nav-audit", "#nav-users"] {
        assert!(!is_present(&s, other).await, "{other} shown to security");
    }
    goto(&s, &w.url("/desk/abuse")).await;
    fill(&s, "#ticket", "ABUSE-2026-77").await;
    fill(&s, "#addr", "192.0.2.10").await;
    fill(&s, "#at", &format!("{}T10:30:00Z", w.day)).await;
    click(&s, "#lookup").await;
    let answer = text_of(&s, "#abuse-result").await;
    assert!(
        !answer.contains("alice") && !answer.contains("Åsa"),
        "{answer}"
    );
    assert_accessible(&s, "abuse-lookup").await;
    // A page of another role: refused, with the code.
    goto(&s, &w.url("/desk/cases")).await;
    assert!(text_of(&s, "#error").await.contains("auth.forbidden"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_needs_a_second_admin_and_the_adder_is_told_why_not_them() {
    let _one = ONE_AT_A_TIME.lock().await;
    let w = World::new();
    let (ada, bo) = (w.account("ada", "admin"), w.account("bo", "admin"));
    let driver = Driver::start();
    let (a, b) = (driver.browser().await, driver.browser().await);
    first_sign_in(&a, &w, &ada, "admin").await;
    goto(&a, &w.url("/desk/users")).await;
    fill(&a, "#user-name", "lisa").await;
    browser::select(&a, "#user-role", "legal").await;
    fill(&a, "#person-name", "Lisa Larsson").await;
    fill(&a, "#employee-id", "E-lisa").await;
    click(&a, "#add-user").await;
    assert!(text_of(&a, "#new-token").await.starts_with("tdr_"));
    assert!(!text_of(&a, "#new-password").await.is_empty());
    assert_accessible(&a, "users-added").await;
    goto(&a, &w.url("/desk/users")).await;
    assert!(!is_present(&a, "button[data-approve=lisa]").await);
    assert_accessible(&a, "users").await;
    first_sign_in(&b, &w, &bo, "admin2").await;
    goto(&b, &w.url("/desk/users")).await;
    click(&b, "button[data-approve=lisa]").await;
    wait_for(&b, "#notice").await;
    assert!(w
        .audit()
        .iter()
        .any(|e| e["action"] == "user_approve" && e["actor"] == "bo" && e["outcome"] == "ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_lock_the_account_and_forms_without_csrf_or_session_are_refused() {
    let _one = ONE_AT_A_TIME.lock().await;
    let w = World::new();
    let anna = w.account("anna", "legal");
    let driver = Driver::start();
    let a = driver.browser().await;
    goto(&a, &w.url("/desk/signin")).await;
    for i in 0..5 {
        fill(&a, "#user", "anna").await;
        fill(&a, "#password", "not her password").await;
        // The previous answer's error goes, so that the next one is this attempt's.
        a.execute("document.getElementById('error')?.remove()", vec![])
            .await
            .unwrap();
        click(&a, "#signin").await;
        let want = if i < 4 {
            "desk.bad_credentials"
        } else {
            "desk.locked"
        };
        wait_text(&a, "#error", want).await;
        if i == 0 {
            assert_accessible(&a, "signin-failed").await;
        }
        if i == 4 {
            assert_accessible(&a, "signin-locked").await;
        }
    }
    fill(&a, "#user", "anna").await;
    fill(&a, "#password", &anna.desk_password).await;
    a.execute("document.getElementById('error')?.remove()", vec![])
        .await
        .unwrap();
    click(&a, "#signin").await;
    wait_text(&a, "#error", "desk.locked").await;
    let refused = w
        .audit()
        .into_iter()
        .filter(|e| {
            e["actor"] == "anna"
                && e["outcome"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("refused:desk.")
        })
        .count();
    assert_eq!(refused, 6, "every failure audited");

    // Another officer, signed in: a form whose CSRF token is gone is refused …
    let bertil = w.account("bertil", "legal");
    let b = driver.browser().await;
    first_sign_in(&b, &w, &bertil, "csrf").await;
    b.execute(
        "document.querySelectorAll('#signout-form input[name=_csrf]').forEach(e => e.remove());",
        vec![],
    )
    .await
    .unwrap();
    click(&b, "#signout").await;
    assert!(text_of(&b, "#error").await.contains("desk.csrf"));
    // … and so is a form sent after the session cookie is gone.
    goto(&b, &w.url("/desk/account")).await;
    b.delete_all_cookies().await.unwrap();
    click(&b, "#signout").await;
    assert!(text_of(&b, "#error").await.contains("desk.no_session"));
    // A page without a session sends the person to sign in.
    goto(&b, &w.url("/desk/cases")).await;
    wait_for(&b, "#signin").await;
    let _ = Path::new(&w.data);
}
