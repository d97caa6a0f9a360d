//! The admin's users: the list (name, person, employee id, role, state, who added and who
//! approved), adding a user (its token and one-time desk password shown once, to be handed
//! over in person), approval by a second admin (the admin who added a user sees why they
//! cannot), revocation, and a new one-time desk password (after which the user waits for a
//! second admin again).

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde_json::Value;

use super::{answer, invalid, refused, status_of};
use crate::desk::i18n::Lang;
use crate::desk::{only, page, Desk, Posted};
use crate::legal::auth::{Person, Principal, Role};
use crate::legal::service::LegalError;

/// What a change left to show above the list.
pub(super) enum Outcome {
    None,
    Notice(String),
    Refused(Markup),
    /// A new user's token and one-time password (shown this once).
    Added {
        name: String,
        token: String,
        password: String,
        pending: bool,
    },
    /// A new one-time password for an existing user (shown this once).
    Reset {
        name: String,
        password: String,
    },
}

fn state_word(l: Lang, s: &str) -> String {
    l.lookup(&format!("users.state.{s}"))
        .map(str::to_string)
        .unwrap_or_else(|| s.to_string())
}

fn role_word(l: Lang, r: &str) -> String {
    Role::ALL
        .iter()
        .find(|x| x.as_str() == r)
        .map(|x| page::role_name(l, *x).to_string())
        .unwrap_or_else(|| r.to_string())
}

/// A user's name as a path segment.
fn seg(name: &str) -> String {
    form_urlencoded::byte_serialize(name.as_bytes()).collect()
}

fn action_form(d: &Desk, name: &str, what: &str, confirm: Option<&str>, button: Markup) -> Markup {
    html! {
        form.inline method="post" action={ "/desk/users/" (seg(name)) "/" (what) }
            data-confirm=[confirm] {
            (page::csrf_field(&d.ctx()))
            (button)
        }
    }
}

/// What `me` may do with one user: approve (or why not), revoke, a new desk password.
fn actions(d: &Desk, me: &Principal, u: &Value) -> Markup {
    let l = d.lang;
    let name = u["name"].as_str().unwrap_or("");
    let state = u["state"].as_str().unwrap_or("");
    let added_by_me = u["added_by"].as_str() == Some(me.name.as_str());
    let own_person = u["person"]["employee_id"].as_str() == Some(me.person.as_str());
    let myself = name == me.name;
    html! {
        @if state == "pending" {
            @if added_by_me {
                p.four-eyes data-note-for=(name) { (l.t("users.four_eyes_added")) }
            } @else if own_person {
                p.four-eyes data-note-for=(name) { (l.t("users.four_eyes_own")) }
            } @else {
                (action_form(d, name, "approve", None, html! {
                    button type="submit" data-approve=(name) { (l.t("users.approve")) " " (name) }
                }))
            }
        }
        @if state != "revoked" && !myself {
            (action_form(d, name, "revoke", Some(l.t("users.revoke_confirm")), html! {
                button.danger type="submit" data-revoke=(name) { (l.t("users.revoke")) " " (name) }
            }))
            (action_form(d, name, "reset", Some(l.t("users.reset_confirm")), html! {
                button.secondary type="submit" data-reset=(name) { (l.t("users.reset")) " " (name) }
            }))
        }
        @if state == "revoked" || myself { "—" }
    }
}

fn table(d: &Desk, users: &[Value]) -> Markup {
    let l = d.lang;
    let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or("—".into());
    html! {
        table #users {
            caption { (l.t("users.caption")) }
            thead {
                tr {
                    th scope="col" { (l.t("users.name")) }
                    th scope="col" { (l.t("users.person")) }
                    th scope="col" { (l.t("users.employee_id")) }
                    th scope="col" { (l.t("users.role")) }
                    th scope="col" { (l.t("users.state")) }
                    th scope="col" { (l.t("users.added_by")) }
                    th scope="col" { (l.t("users.approved_by")) }
                    th scope="col" { (l.t("users.actions")) }
                }
            }
            tbody {
                @for u in users {
                    @let name = u["name"].as_str().unwrap_or("");
                    @let state = u["state"].as_str().unwrap_or("");
                    tr data-user=(name) data-state=(state) {
                        th scope="row" { (name) }
                        td { (text(&u["person"]["name"])) }
                        td.mono { (text(&u["person"]["employee_id"])) }
                        td { (role_word(l, u["role"].as_str().unwrap_or(""))) }
                        td.state { (state_word(l, state)) }
                        td { (text(&u["added_by"])) }
                        td { (text(&u["approved_by"])) }
                        td { (actions(d, &d.who, u)) }
                    }
                }
            }
        }
    }
}

fn add_form(d: &Desk) -> Markup {
    let l = d.lang;
    html! {
        form #add-user-form method="post" action="/desk/users" {
            (page::csrf_field(&d.ctx()))
            fieldset {
                legend { (l.t("users.add")) }
                label for="user-name" { (l.t("users.name")) }
                input #user-name name="name" type="text" required maxlength="64"
                    pattern="[A-Za-z0-9._@\\-]{1,64}" autocomplete="off" spellcheck="false"
                    aria-describedby="user-name-hint";
                p #user-name-hint .hint { (l.t("users.name_hint")) }
                label for="user-role" { (l.t("users.role")) }
                select #user-role name="role" required {
                    option value="" { (l.t("users.choose_role")) }
                    @for r in Role::ALL {
                        option value=(r.as_str()) { (page::role_name(l, r)) }
                    }
                }
                label for="person-name" { (l.t("users.person")) }
                input #person-name name="person_name" type="text" required autocomplete="off";
                label for="employee-id" { (l.t("users.employee_id")) }
                input #employee-id name="employee_id" type="text" required autocomplete="off"
                    aria-describedby="employee-id-hint";
                p #employee-id-hint .hint { (l.t("users.employee_id_hint")) }
                button #add-user type="submit" { (l.t("users.add_button")) }
            }
        }
    }
}

fn outcome(l: Lang, o: &Outcome) -> Markup {
    html! {
        @match o {
            Outcome::None => {},
            Outcome::Notice(t) => (page::notice(t)),
            Outcome::Refused(m) => (m),
            Outcome::Added { name, token, password, pending } => {
                section #issued .warn role="status" aria-labelledby="issued-title" {
                    h2 #issued-title { (l.t("users.added")) " " (name) }
                    p { strong { (l.t("users.once")) } }
                    dl.kv {
                        dt { (l.t("users.token")) } dd { code #new-token { (token) } }
                        dt { (l.t("users.password")) } dd { code #new-password { (password) } }
                    }
                    p { (l.t("users.hand_over")) }
                    @if *pending { p { (l.t("users.pending_note")) } }
                }
            },
            Outcome::Reset { name, password } => {
                section #issued .warn role="status" aria-labelledby="issued-title" {
                    h2 #issued-title { (l.t("users.reset_done")) " " (name) }
                    p { strong { (l.t("users.once")) } }
                    dl.kv {
                        dt { (l.t("users.password")) } dd { code #new-password { (password) } }
                    }
                    p { (l.t("users.hand_over")) }
                    p { (l.t("users.reset_note")) }
                }
            },
        }
    }
}

/// The page's body: what a change left, the list, the add form.
pub(super) fn body(d: &Desk, o: &Outcome, users: Result<&[Value], &LegalError>) -> Markup {
    let l = d.lang;
    html! {
        (outcome(l, o))
        @match users {
            Ok(u) => (table(d, u)),
            Err(e) => (refused(l, e)),
        }
        p.hint { (l.t("users.four_eyes_rule")) }
        (add_form(d))
    }
}

/// The page after `o`, the list read afresh.
async fn show(d: &Desk, o: Outcome, status: axum::http::StatusCode) -> Response {
    let listed = d.call(|svc, c| svc.user_list(c)).await;
    let status = match &listed {
        Err(e) if status.is_success() => status_of(e),
        _ => status,
    };
    let b = body(d, &o, listed.as_deref());
    answer(status, d.page(d.lang.t("users.title"), b))
}

/// GET /desk/users
pub(super) async fn list(d: Desk) -> Response {
    if let Err(n) = only(&d, &[Role::Admin]) {
        return n.into_response();
    }
    show(&d, Outcome::None, axum::http::StatusCode::OK).await
}

/// A change's answer: a notice or the refusal, then the page.
async fn after(d: &Desk, r: Result<Outcome, LegalError>) -> Response {
    match r {
        Ok(o) => show(d, o, axum::http::StatusCode::OK).await,
        Err(e) => show(d, Outcome::Refused(refused(d.lang, &e)), status_of(&e)).await,
    }
}

/// POST /desk/users: adds a user.
pub(super) async fn add(p: Posted) -> Response {
    let d = &p.desk;
    if let Err(n) = only(d, &[Role::Admin]) {
        return n.into_response();
    }
    let l = d.lang;
    let name = p.get("name").to_string();
    let Some(role) = Role::ALL.into_iter().find(|r| r.as_str() == p.get("role")) else {
        let o = Outcome::Refused(invalid(l, "users.bad_role", ""));
        return show(d, o, axum::http::StatusCode::BAD_REQUEST).await;
    };
    let person = Person {
        name: p.get("person_name").to_string(),
        employee_id: p.get("employee_id").to_string(),
    };
    let n = name.clone();
    let r = d
        .call(move |svc, c| svc.user_add(c, &n, role, person))
        .await
        .map(|t| Outcome::Added {
            name,
            token: t.token,
            password: t.desk_password,
            pending: t.pending,
        });
    after(d, r).await
}

/// POST /desk/users/{name}/approve
pub(super) async fn approve(Path(name): Path<String>, p: Posted) -> Response {
    let d = &p.desk;
    if let Err(n) = only(d, &[Role::Admin]) {
        return n.into_response();
    }
    let n = name.clone();
    let r = d
        .call(move |svc, c| svc.user_approve(c, &n))
        .await
        .map(|_| Outcome::Notice(format!("{} {name}", d.lang.t("users.approved"))));
    after(d, r).await
}

/// POST /desk/users/{name}/revoke
pub(super) async fn revoke(Path(name): Path<String>, p: Posted) -> Response {
    let d = &p.desk;
    if let Err(n) = only(d, &[Role::Admin]) {
        return n.into_response();
    }
    let n = name.clone();
    let r = d
        .call(move |svc, c| svc.user_revoke(c, &n))
        .await
        .map(|_| Outcome::Notice(format!("{} {name}", d.lang.t("users.revoked"))));
    after(d, r).await
}

/// POST /desk/users/{name}/reset: a new one-time desk password.
pub(super) async fn reset(Path(name): Path<String>, p: Posted) -> Response {
    let d = &p.desk;
    if let Err(n) = only(d, &[Role::Admin]) {
        return n.into_response();
    }
    let n = name.clone();
    let r = d
        .call(move |svc, c| svc.user_reset_password(c, &n))
        .await
        .map(|password| Outcome::Reset { name, password });
    after(d, r).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::api::UsersCache;
    use crate::desk::DeskState;
    use crate::legal::service::tests::{fixture, person};

    /// The page as the admin `ada` sees it after adding `lena` (pending): no approve button for
    /// lena but the four-eyes note; `mo`, added by `bo`, she may approve.
    #[test]
    fn the_admin_who_added_a_user_sees_why_she_cannot_approve_it() {
        let f = fixture();
        let (ada, bo) = f.admins();
        f.service
            .user_add(&ada, "lena", Role::Legal, person("Lena L", "E-lena"))
            .unwrap();
        f.service
            .user_add(&bo, "mo", Role::Auditor, person("Mo M", "E-mo"))
            .unwrap();
        let users = f.service.user_list(&ada).unwrap();
        let who = ada.who.clone().unwrap();
        let d = Desk {
            who,
            lang: Lang::En,
            csrf: "c".repeat(64),
            sid: "s".into(),
            peer: None,
            state: DeskState::new(
                f.service.clone(),
                Arc::new(UsersCache::new(f.dir.path().to_path_buf())),
                900,
            ),
        };
        let html = body(&d, &Outcome::None, Ok(&users)).into_string();
        assert!(html.contains("<table id=\"users\""), "{html}");
        let row = |name: &str| {
            let start = html
                .find(&format!("data-user=\"{name}\""))
                .unwrap_or_else(|| panic!("no row for {name}: {html}"));
            let end = html[start..].find("</tr>").unwrap() + start;
            html[start..end].to_string()
        };
        let lena = row("lena");
        assert!(!lena.contains("data-approve"), "{lena}");
        assert!(lena.contains("data-note-for=\"lena\""), "{lena}");
        assert!(lena.contains(Lang::En.t("users.four_eyes_added")), "{lena}");
        assert!(lena.contains("data-revoke=\"lena\""), "{lena}");
        assert!(lena.contains("data-reset=\"lena\""), "{lena}");
        assert!(lena.contains(Lang::En.t("role.legal")), "{lena}");
        assert!(lena.contains("E-lena") && lena.contains("Lena L"), "{lena}");
        let mo = row("mo");
        assert!(mo.contains("data-approve=\"mo\""), "{mo}");
        assert!(!mo.contains("data-note-for"), "{mo}");
        assert!(mo.contains("action=\"/desk/users/mo/approve\""), "{mo}");
        // ada's own row offers nothing to do to herself.
        assert!(!row("ada").contains("data-revoke"));
        // Every form carries the session's CSRF token; a revoke asks first.
        assert_eq!(
            html.matches("name=\"_csrf\"").count(),
            html.matches("<form").count()
        );
        assert!(html.contains("data-confirm="));
        for id in [
            "user-name",
            "user-role",
            "person-name",
            "employee-id",
            "add-user",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        }
    }

    /// The token and the one-time password are shown with the warning to hand them over.
    #[test]
    fn a_new_user_is_shown_once_with_the_warning() {
        let o = Outcome::Added {
            name: "lena".into(),
            token: "tdr_abc".into(),
            password: "PW-123".into(),
            pending: true,
        };
        let html = outcome(Lang::Sv, &o).into_string();
        assert!(
            html.contains("<code id=\"new-token\">tdr_abc</code>"),
            "{html}"
        );
        assert!(
            html.contains("<code id=\"new-password\">PW-123</code>"),
            "{html}"
        );
        assert!(html.contains(Lang::Sv.t("users.hand_over")), "{html}");
        assert!(html.contains(Lang::Sv.t("users.pending_note")), "{html}");
    }
}
