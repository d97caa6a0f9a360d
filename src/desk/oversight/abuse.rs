//! The security team's abuse lookup under a ticket: security-class data only, and a pseudonym
//! (a keyed hash) where a subscriber would be; never an identity. The form says why the time
//! needs its zone; the answer says its status in words, with the evidence.

use std::net::IpAddr;

use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde_json::Value;

use super::{answer, invalid, refused, status_of, when_text};
use crate::desk::i18n::Lang;
use crate::desk::{only, page, Desk, Posted};
use crate::error::ErrorKind;
use crate::legal::auth::Role;
use crate::legal::service::AddrQuery;
use crate::model::TimeError;

/// The form's fields as given.
#[derive(Debug, Default, Clone)]
struct Given {
    ticket: String,
    addr: String,
    port: String,
    at: String,
}

impl Given {
    fn of(p: &Posted) -> Given {
        Given {
            ticket: p.get("ticket").to_string(),
            addr: p.get("addr").to_string(),
            port: p.get("port").to_string(),
            at: p.get("at").to_string(),
        }
    }

    /// The parsed lookup; the error is a catalogue key and the detail to show.
    fn query(&self) -> Result<AddrQuery, (&'static str, String)> {
        let port = match self.port.as_str() {
            "" => None,
            p => Some(
                p.parse::<u16>()
                    .map_err(|_| ("abuse.bad_port", format!("{p:?}")))?,
            ),
        };
        if self.addr.parse::<IpAddr>().is_err() {
            return Err(("abuse.bad_addr", format!("{:?}", self.addr)));
        }
        match crate::model::parse_time(&self.at) {
            Ok(_) => {}
            Err(TimeError::NoOffset(_)) => return Err(("abuse.no_zone", String::new())),
            Err(TimeError::Malformed(_)) => {
                return Err(("abuse.bad_time", format!("{:?}", self.at)))
            }
        }
        AddrQuery::parse(&self.addr, port, &self.at).map_err(|e| ("abuse.bad_time", e))
    }
}

fn form(d: &Desk, g: &Given) -> Markup {
    let l = d.lang;
    html! {
        p { (l.t("abuse.intro")) }
        form #abuse-form method="post" action="/desk/abuse" {
            (page::csrf_field(&d.ctx()))
            label for="ticket" { (l.t("abuse.ticket")) }
            input #ticket name="ticket" type="text" value=(g.ticket) required maxlength="64"
                autocomplete="off" aria-describedby="ticket-hint";
            p #ticket-hint .hint { (l.t("abuse.ticket_hint")) }
            label for="addr" { (l.t("abuse.addr")) }
            input #addr name="addr" type="text" value=(g.addr) required autocomplete="off"
                spellcheck="false" placeholder="192.0.2.10";
            label for="port" { (l.t("abuse.port")) }
            input #port name="port" type="number" min="0" max="65535" value=(g.port)
                inputmode="numeric" aria-describedby="port-hint";
            p #port-hint .hint { (l.t("abuse.port_hint")) }
            label for="at" { (l.t("abuse.at")) }
            input #at name="at" type="text" value=(g.at) required autocomplete="off"
                spellcheck="false" placeholder="2026-11-20T10:15:00+01:00"
                aria-describedby="at-hint";
            p #at-hint .hint { (l.t("abuse.at_hint")) }
            button #lookup type="submit" { (l.t("abuse.lookup")) }
        }
    }
}

/// GET /desk/abuse
pub(super) async fn form_page(d: Desk) -> Response {
    if let Err(n) = only(&d, &[Role::Security]) {
        return n.into_response();
    }
    d.page(d.lang.t("abuse.title"), form(&d, &Given::default()))
}

fn word(l: Lang, prefix: &str, v: &str) -> String {
    l.lookup(&format!("{prefix}{v}"))
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

fn text(v: &Value) -> Markup {
    html! {
        @match v.as_str() {
            Some(s) if !s.is_empty() => (s),
            _ => "—",
        }
    }
}

fn nat_block(l: Lang, v: &Value) -> Markup {
    html! {
        dl.kv.via {
            dt { (l.t("abuse.public")) } dd.mono { (text(&v["public"])) }
            dt { (l.t("abuse.ports")) } dd.mono { (text(&v["ports"])) }
            dt { (l.t("abuse.inside")) } dd.mono { (text(&v["inside"])) }
            dt { (l.t("abuse.from")) } dd { (when_text(v["start"].as_str())) }
            dt { (l.t("abuse.until")) }
            dd {
                (when_text(v["end"].as_str())) " "
                span.end-kind { "(" (word(l, "abuse.end.", v["end_kind"].as_str().unwrap_or(""))) ")" }
            }
            dt { (l.t("abuse.source")) } dd { (text(&v["source"])) }
        }
    }
}

fn one_match(l: Lang, m: &Value) -> Markup {
    let logged = m["start_logged"] == true;
    html! {
        div.match {
            dl.kv {
                dt { (l.t("abuse.pseudonym")) } dd { code.pseudonym { (text(&m["subscriber"])) } }
                dt { (l.t("abuse.target")) } dd.mono { (text(&m["target"])) }
                dt { (l.t("abuse.from")) }
                dd {
                    (when_text(m["start"].as_str())) " "
                    span { "(" (if logged { l.t("abuse.logged") } else { l.t("abuse.inferred") }) ")" }
                }
                dt { (l.t("abuse.until")) }
                dd {
                    (when_text(m["end"].as_str())) " "
                    span.end-kind { "(" (word(l, "abuse.end.", m["end_kind"].as_str().unwrap_or(""))) ")" }
                }
                dt { (l.t("abuse.confirmed")) } dd { (when_text(m["confirmed_until"].as_str())) }
                dt { (l.t("abuse.source")) } dd { (text(&m["source"])) }
                @if m["peer"].is_string() {
                    dt { (l.t("abuse.sender")) } dd.mono { (text(&m["peer"])) }
                }
                dt { (l.t("abuse.class")) } dd { (word(l, "abuse.class.", m["class"].as_str().unwrap_or(""))) }
                @if m["origin"] == "admin" {
                    dt { (l.t("abuse.origin")) } dd { (l.t("abuse.origin_admin")) }
                }
            }
            @if m["via"].is_object() {
                p { (l.t("abuse.via")) }
                (nat_block(l, &m["via"]))
            }
        }
    }
}

/// The service's pseudonymous answer, in words.
pub(super) fn result(l: Lang, ticket: &str, v: &Value) -> Markup {
    let status = v["status"].as_str().unwrap_or("");
    let q = &v["query"];
    let matches = v["matches"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let blocks = v["nat_blocks"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let free = v["free_states"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    html! {
        section #abuse-result data-status=(status) aria-labelledby="abuse-status" {
            h2 #abuse-status { (word(l, "abuse.status.", status)) }
            p.explain { (l.lookup(&format!("abuse.explain.{status}")).unwrap_or("")) }
            dl.kv {
                dt { (l.t("abuse.ticket")) } dd { (ticket) }
                dt { (l.t("abuse.addr")) } dd.mono { (text(&q["addr"])) }
                dt { (l.t("abuse.port")) }
                dd { @match q["port"].as_u64() { Some(p) => (p), None => "—" } }
                dt { (l.t("abuse.at")) } dd { (when_text(q["at"].as_str())) }
            }
            @if let Some(n) = v["sharing"].as_u64() {
                p #sharing { (l.t("abuse.sharing")) " " strong { (n) } }
            }
            @for m in matches { (one_match(l, m)) }
            @if !blocks.is_empty() {
                h3 { (l.t("abuse.blocks")) }
                @for b in blocks { (nat_block(l, b)) }
            }
            @if !free.is_empty() {
                h3 { (l.t("abuse.free")) }
                table.free {
                    thead {
                        tr {
                            th scope="col" { (l.t("abuse.target")) }
                            th scope="col" { (l.t("abuse.state")) }
                            th scope="col" { (l.t("abuse.from")) }
                            th scope="col" { (l.t("abuse.until")) }
                            th scope="col" { (l.t("abuse.source")) }
                        }
                    }
                    tbody {
                        @for f in free {
                            tr {
                                td.mono { (text(&f["target"])) }
                                td { (text(&f["state"])) }
                                td { (when_text(f["from"].as_str())) }
                                td { (when_text(f["until"].as_str())) }
                                td { (text(&f["source"])) }
                            }
                        }
                    }
                }
            }
            @if !matches.is_empty() {
                p.hint { (l.t("abuse.pseudonym_hint")) }
            }
        }
    }
}

/// POST /desk/abuse: the lookup, audited under the ticket by the service.
pub(super) async fn lookup(p: Posted) -> Response {
    let d = &p.desk;
    if let Err(n) = only(d, &[Role::Security]) {
        return n.into_response();
    }
    let l = d.lang;
    let title = l.t("abuse.title");
    let g = Given::of(&p);
    let q = match g.query() {
        Ok(q) => q,
        Err((key, detail)) => {
            let body = html! { (invalid(l, key, &detail)) (form(d, &g)) };
            return answer(axum::http::StatusCode::BAD_REQUEST, d.page(title, body));
        }
    };
    let ticket = g.ticket.clone();
    let out = d
        .call(move |svc, c| svc.abuse_lookup(c, &ticket, q.given, q.ip, q.port, q.at))
        .await;
    match out {
        Ok(v) => {
            let body = html! { (result(l, &g.ticket, &v)) (form(d, &g)) };
            d.page(title, body)
        }
        Err(e) => {
            // The service refuses (and audits) a lookup without a ticket; say so in `l`.
            let shown = if g.ticket.is_empty() && e.kind() == ErrorKind::RequestInvalid {
                invalid(l, "abuse.need_ticket", "")
            } else {
                refused(l, &e)
            };
            let body = html! { (shown) (form(d, &g)) };
            answer(status_of(&e), d.page(title, body))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn given(addr: &str, port: &str, at: &str) -> Given {
        Given {
            ticket: "ABUSE-1".into(),
            addr: addr.into(),
            port: port.into(),
            at: at.into(),
        }
    }

    /// Each bad field is named; a time without its zone gets its own explanation.
    #[test]
    fn bad_fields_are_named() {
        let key = |g: Given| g.query().err().map(|(k, _)| k);
        assert_eq!(
            key(given("192.0.2.10", "", "2026-11-20T10:15:00+01:00")),
            None
        );
        assert_eq!(
            key(given("192.0.2.10", "", "2026-11-20 10:15:00")),
            Some("abuse.no_zone")
        );
        assert_eq!(
            key(given("192.0.2.10", "", "yesterday")),
            Some("abuse.bad_time")
        );
        assert_eq!(
            key(given("192.0.2.300", "", "2026-11-20T10:15:00Z")),
            Some("abuse.bad_addr")
        );
        assert_eq!(
            key(given("192.0.2.10", "70000", "2026-11-20T10:15:00Z")),
            Some("abuse.bad_port")
        );
        let q = given("2001:db8::1", "443", "2026-11-20T10:15:00Z")
            .query()
            .unwrap();
        assert_eq!(q.port, Some(443));
    }

    /// The answer is in words, shows the pseudonym and the evidence, and the status is on the
    /// section for the tests and the stylesheet.
    #[test]
    fn an_answer_is_in_words_with_the_pseudonym() {
        let v = json!({"query": {"addr": "192.0.2.10", "port": null,
                                 "at": "2026-11-20T10:15:00+01:00"},
                       "status": "found", "sharing": null,
                       "matches": [{"subscriber": "ps_3f9a", "target": "192.0.2.10",
                                    "start": "2026-11-20T09:00:00Z", "start_logged": true,
                                    "end": "2026-11-20T10:00:00Z", "end_kind": "stop",
                                    "confirmed_until": "2026-11-20T10:00:00Z",
                                    "source": "bng", "class": "security", "via": null}]});
        for l in [Lang::Sv, Lang::En] {
            let body = result(l, "ABUSE-1", &v).into_string();
            assert!(body.contains("data-status=\"found\""), "{body}");
            assert!(body.contains(l.t("abuse.status.found")), "{body}");
            assert!(body.contains(l.t("abuse.explain.found")), "{body}");
            assert!(body.contains("ps_3f9a"), "{body}");
            assert!(body.contains(l.t("abuse.end.stop")), "{body}");
            assert!(body.contains("2026-11-20 10:00:00 CET"), "{body}");
        }
    }
}
