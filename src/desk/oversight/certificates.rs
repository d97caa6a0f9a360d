//! The auditor's deletion certificates: one row per day that left retention, with its time
//! range, the records it held, the id of the key destroyed before it was dropped, and whether
//! the signature holds under the appliance's public key (checked here, and checkable off the
//! box with `tdr audit verify-certificate`).

use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde_json::Value;

use super::{answer, refused, status_of};
use crate::desk::i18n::Lang;
use crate::desk::{only, Desk};
use crate::legal::auth::Role;

fn table(l: Lang, certs: &[(Value, bool)]) -> Markup {
    html! {
        @if certs.is_empty() {
            p #certificates-none { (l.t("certs.none")) }
        } @else {
            table #certificates {
                caption { (l.t("certs.caption")) }
                thead { tr {
                    th scope="col" { (l.t("certs.partition")) }
                    th scope="col" { (l.t("certs.range")) }
                    th scope="col" { (l.t("certs.records")) }
                    th scope="col" { (l.t("certs.key")) }
                    th scope="col" { (l.t("certs.destroyed")) }
                    th scope="col" { (l.t("certs.signature")) }
                } }
                tbody {
                    @for (c, ok) in certs {
                        @let b = &c["body"];
                        @let s = |k: &str| b[k].as_str().unwrap_or("").to_string();
                        tr data-partition=(s("partition")) {
                            th scope="row" { code { (s("partition")) } }
                            td { (s("from")) " – " (s("to")) }
                            td { (b["records"].as_u64().unwrap_or(0)) }
                            td { code { (b["key"]["name"].as_str().unwrap_or("")) " " (b["key"]["id"].as_str().unwrap_or("")) } }
                            td { (b["key"]["destroyed_at"].as_str().unwrap_or("")) }
                            td data-valid=(ok) { @if *ok { (l.t("certs.valid")) } @else { strong { (l.t("certs.invalid")) } } }
                        }
                    }
                }
            }
            p.hint { (l.t("certs.hint")) }
        }
    }
}

/// GET /desk/certificates
pub(super) async fn page(d: Desk) -> Response {
    if let Err(n) = only(&d, &[Role::Auditor]) {
        return n.into_response();
    }
    let l = d.lang;
    let title = l.t("certs.title");
    let got = d
        .call(move |svc, c| {
            Ok(svc
                .certificates(c)?
                .into_iter()
                .map(|c| {
                    let ok = c["signature_valid"].as_bool() == Some(true);
                    (c, ok)
                })
                .collect::<Vec<_>>())
        })
        .await;
    match got {
        Ok(certs) => d.page(title, table(l, &certs)),
        Err(e) => answer(status_of(&e), d.page(title, refused(l, &e))),
    }
}
