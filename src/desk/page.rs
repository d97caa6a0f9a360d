//! The frame of every desk page: the document, the header with who is signed in, the
//! navigation (only the pages the role may use), the language switch and sign-out, and the
//! small pieces pages share (times in both zones, errors, the CSRF field). Every value goes
//! through maud, which escapes it; nothing here writes raw HTML from data.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::i18n::Lang;
use crate::legal::auth::Role;

/// What the frame needs to know about the request.
pub struct Ctx {
    pub lang: Lang,
    pub user: Option<(String, Role)>,
    pub csrf: Option<String>,
}

/// The pages of each role: (element id, path, catalogue key).
pub fn nav_of(role: Role) -> &'static [(&'static str, &'static str, &'static str)] {
    match role {
        Role::Legal => &[
            ("nav-cases", "/desk/cases", "nav.cases"),
            ("nav-new", "/desk/cases/new", "nav.new"),
            ("nav-access", "/desk/access", "nav.access"),
            ("nav-notices", "/desk/notices", "nav.notices"),
            ("nav-ledger", "/desk/ledger", "nav.ledger"),
        ],
        Role::Auditor => &[
            ("nav-audit", "/desk/audit", "nav.audit"),
            ("nav-verify", "/desk/audit/verify", "nav.verify"),
            ("nav-stats", "/desk/statistics", "nav.stats"),
            ("nav-certificates", "/desk/certificates", "nav.certificates"),
        ],
        Role::Security => &[("nav-abuse", "/desk/abuse", "nav.abuse")],
        Role::Admin => &[("nav-users", "/desk/users", "nav.users")],
        Role::Ops => &[("nav-account", "/desk/account", "nav.account")],
    }
}

/// The whole document.
pub fn doc(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    let l = ctx.lang;
    let other = match l {
        Lang::Sv => (Lang::En, "English"),
        Lang::En => (Lang::Sv, "Svenska"),
    };
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — tdr" }
                link rel="stylesheet" href="/desk/static/desk.css";
                script src="/desk/static/desk.js" defer {}
            }
            body {
                a.skip href="#main" { (l.t("desk.skip")) }
                header.top {
                    span.brand { "tdr" }
                    @if let Some((name, role)) = &ctx.user {
                        nav #nav aria-label=(l.t("nav.label")) {
                            ul {
                                @for (id, href, key) in nav_of(*role) {
                                    li { a id=(id) href=(href) { (l.t(key)) } }
                                }
                            }
                        }
                        span.who {
                            (name) " · " (role_name(l, *role))
                        }
                        form #signout-form method="post" action="/desk/signout" {
                            (csrf_field(ctx))
                            button #signout type="submit" { (l.t("desk.signout")) }
                        }
                    }
                    a.lang href={ "/desk/lang/" (other.0.code()) } lang=(other.0.code()) { (other.1) }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
                footer.foot {
                    p { (l.t("desk.footer")) }
                }
            }
        }
    }
}

/// A page as an answer.
pub fn html(ctx: &Ctx, title: &str, body: Markup) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        doc(ctx, title, body).into_string(),
    )
        .into_response()
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(ctx: &Ctx) -> Markup {
    html! {
        @if let Some(c) = &ctx.csrf {
            input type="hidden" name="_csrf" value=(c);
        }
    }
}

/// A refusal: the stable code, and what it means in the page's language (the catalogue's
/// `err.<code>` when it has one, else the service's own message).
pub fn error_box(lang: Lang, code: &str, message: &str) -> Markup {
    let key = format!("err.{code}");
    let text = lang.lookup(&key).unwrap_or(message);
    html! {
        p #error .error role="alert" {
            (text) " " code.code { "[" (code) "]" }
        }
        @if lang.lookup(&key).is_some() && text != message {
            p.detail { (message) }
        }
    }
}

/// A notice after an action went through.
pub fn notice(text: &str) -> Markup {
    html! { p #notice .notice role="status" { (text) } }
}

/// A time as Junet's staff read it: Stockholm local time, with UTC beside it.
pub fn when(t: i64) -> Markup {
    let utc = crate::report::html::utc_text(t);
    let local = crate::report::html::stockholm_text(t);
    html! {
        time datetime=(rfc3339(t)) {
            (local) " " span.utc { "(" (utc) ")" }
        }
    }
}

/// A date (`YYYY-MM-DD`) as given.
pub fn date(d: Option<&str>) -> Markup {
    html! { @match d { Some(d) => time datetime=(d) { (d) }, None => "—" } }
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// A role's name in `l`.
pub fn role_name(l: Lang, r: Role) -> &'static str {
    match r {
        Role::Legal => l.t("role.legal"),
        Role::Security => l.t("role.security"),
        Role::Auditor => l.t("role.auditor"),
        Role::Ops => l.t("role.ops"),
        Role::Admin => l.t("role.admin"),
    }
}
