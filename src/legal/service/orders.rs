//! The scanned order of a case: stored once by the officer who registered it, while the case is
//! still `registered`, only if its bytes are the document whose SHA-256 was registered with the
//! case; read back by legal officers. Both are audited before anything is written or returned.
//! The file lives under `<data_dir>/legal/orders/<id>` (0600, written atomically under the
//! register lock) with its content type beside it in `<id>.type`. The scan holds personal data:
//! it must leave with its case when retention removes the case (the caller of retention wires
//! that), and it is never shown to any other role.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use super::{sha_hex, LegalError, Service};
use crate::error::ErrorKind;
use crate::legal::auth::Caller;
use crate::legal::case::{CaseError, FieldProblem, State};
use crate::legal::files::{self, RegisterError};
use crate::legal::policy::Op;
use crate::legal::register;

/// The largest scanned order stored (32 MiB: a few hundred scanned pages).
pub const ORDER_MAX: usize = 32 * 1024 * 1024;

/// The content types a scan is kept as; anything else is kept as `application/octet-stream`,
/// so a stored file can never be served back as a page or a script.
const SCAN_TYPES: [&str; 6] = [
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/tiff",
    "image/gif",
    "image/webp",
];

/// The content type a scan is stored and served as.
pub fn scan_type(given: &str) -> &'static str {
    let base = given
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    SCAN_TYPES
        .iter()
        .find(|t| **t == base)
        .copied()
        .unwrap_or("application/octet-stream")
}

fn write_private(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut f = crate::fsmode::create_new_private(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, dir.join(name))
}

impl Service {
    /// Stores the scanned order of case `id`: a legal officer who registered the case, while it
    /// is `registered`, with bytes whose SHA-256 is the case's `order_sha256` (else
    /// `case.invalid`), at most [`ORDER_MAX`] bytes. Audited before the file is written; the
    /// same scan stored again replaces it with itself. Returns the SHA-256.
    pub fn case_order_put(
        &self,
        caller: &Caller,
        id: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<String, LegalError> {
        let sha = sha_hex(bytes);
        let ctype = scan_type(content_type);
        let query = json!({"bytes": bytes.len(), "sha256": sha, "content_type": ctype});
        let who = self.admit(caller, Op::CaseCreate, Some(id), &query)?;
        let mut pending = self.entry(caller, Op::CaseCreate, Some(id), query.clone());
        pending.action = "case_order_put".into();
        pending.outcome = "requested".into();
        self.commit(pending)?;
        let stored = (|| -> Result<(), LegalError> {
            let dir = self.data_dir();
            let _lock = files::lock(dir)?;
            let case = register::get(dir, id)?;
            let registrar = case.created_by == who.name
                || case.created_by_person.as_deref() == Some(who.person.as_str());
            if !registrar {
                return Err(LegalError::BadRequest(
                    ErrorKind::AuthForbidden,
                    "only the officer who registered the case stores its scanned order".into(),
                ));
            }
            if case.state != State::Registered {
                return Err(CaseError::WrongState(case.state.as_str(), "registered").into());
            }
            if bytes.len() > ORDER_MAX {
                return Err(LegalError::BadRequest(
                    ErrorKind::RequestTooLarge,
                    format!("a scanned order is at most {} MiB", ORDER_MAX >> 20),
                ));
            }
            if !case.request.order_sha256.trim().eq_ignore_ascii_case(&sha) {
                return Err(CaseError::Invalid(vec![FieldProblem {
                    field: "order".into(),
                    reason: "the file's SHA-256 is not the order_sha256 registered with the case"
                        .into(),
                }])
                .into());
            }
            let orders = files::orders_dir(dir);
            let w = |e: std::io::Error| RegisterError::Write(format!("scanned order: {e}"));
            crate::fsmode::create_private_dir(&orders).map_err(w)?;
            write_private(&orders, id, bytes).map_err(w)?;
            write_private(&orders, &format!("{id}.type"), ctype.as_bytes()).map_err(w)?;
            File::open(&orders).and_then(|d| d.sync_all()).map_err(w)?;
            Ok(())
        })();
        match stored {
            Ok(()) => {
                let mut e = self.entry(caller, Op::CaseCreate, Some(id), query);
                e.action = "case_order_put".into();
                e.outcome = "stored".into();
                e.result_count = bytes.len() as u64;
                e.result_digest = Some(sha.clone());
                self.commit(e)?;
                Ok(sha)
            }
            Err(e) => Err(self.refuse(caller, Op::CaseCreate, Some(id), query, e)),
        }
    }

    /// The scanned order of case `id` and its content type, for a legal officer; the read is
    /// audited before the file is opened. A file that is not the registered document (changed
    /// on disk) is refused rather than handed out.
    pub fn case_order_get(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(Vec<u8>, &'static str), LegalError> {
        let now = self.clock.now();
        let (_, case) =
            self.load_case(caller, Op::CaseGet, id, &Value::Null, now, |_, _| Ok(()))?;
        let mut e = self.entry(caller, Op::CaseGet, Some(id), Value::Null);
        e.action = "case_order_get".into();
        e.result_digest = Some(case.request.order_sha256.clone());
        self.commit(e)?;
        let orders = files::orders_dir(self.data_dir());
        let bytes = match fs::read(orders.join(id)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LegalError::BadRequest(
                    ErrorKind::CaseNotFound,
                    "no scanned order is stored with this case".into(),
                ))
            }
            Err(e) => return Err(RegisterError::Read(format!("scanned order: {e}")).into()),
        };
        if !case
            .request
            .order_sha256
            .trim()
            .eq_ignore_ascii_case(&sha_hex(&bytes))
        {
            return Err(RegisterError::Read(
                "the stored scan is not the document registered with the case".into(),
            )
            .into());
        }
        let ctype = fs::read_to_string(orders.join(format!("{id}.type")))
            .map(|t| scan_type(&t))
            .unwrap_or("application/octet-stream");
        Ok((bytes, ctype))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;
    use crate::legal::auth::{Principal, Role};
    use crate::legal::case::{NewCase, ScopeItem};
    use crate::legal::service::tests::fixture;

    fn officer(name: &str) -> Caller {
        Caller {
            who: Ok(Principal {
                name: name.into(),
                role: Role::Legal,
                person: format!("E-{name}"),
            }),
            claimed: None,
            channel: "desk",
            peer: None,
        }
    }

    const SCAN: &[u8] = b"%PDF-1.7 the court's order";

    fn order(sha: String) -> NewCase {
        NewCase {
            request_type: "law_enforcement".into(),
            authority: "Polismyndigheten".into(),
            case_number: "5000-K1-26".into(),
            decision_date: Some("2026-11-19".into()),
            order_sha256: sha,
            scope: vec![ScopeItem {
                addr: Some("192.0.2.10".into()),
                at: Some("2026-11-20T10:30:00Z".into()),
                ..ScopeItem::default()
            }],
            ..NewCase::default()
        }
    }

    #[test]
    fn the_registrar_stores_the_scan_0600_and_an_officer_reads_it_both_audited() {
        let f = fixture();
        let anna = officer("anna");
        let id = f
            .service
            .create_case(&anna, order(sha_hex(SCAN)))
            .unwrap()
            .id;
        let sha = f
            .service
            .case_order_put(&anna, &id, SCAN, "application/pdf; name=x.pdf")
            .unwrap();
        assert_eq!(sha, sha_hex(SCAN));
        let path = files::orders_dir(f.dir.path()).join(&id);
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(
            fs::metadata(path.parent().unwrap()).unwrap().mode() & 0o777,
            0o700
        );
        let (bytes, ctype) = f.service.case_order_get(&officer("bert"), &id).unwrap();
        assert_eq!((bytes.as_slice(), ctype), (SCAN, "application/pdf"));
        let actions: Vec<(String, String)> = f
            .audit
            .entries
            .lock()
            .unwrap()
            .iter()
            .map(|e| (e.action.clone(), e.outcome.clone()))
            .collect();
        for want in [
            ("case_order_put", "requested"),
            ("case_order_put", "stored"),
            ("case_order_get", "ok"),
        ] {
            assert!(
                actions
                    .iter()
                    .any(|(a, o)| (a.as_str(), o.as_str()) == want),
                "{want:?} in {actions:?}"
            );
        }
    }

    #[test]
    fn another_file_another_officer_or_an_approved_case_is_refused_and_nothing_is_written() {
        let f = fixture();
        let anna = officer("anna");
        let id = f
            .service
            .create_case(&anna, order(sha_hex(SCAN)))
            .unwrap()
            .id;
        let path = files::orders_dir(f.dir.path()).join(&id);
        let e = f
            .service
            .case_order_put(&anna, &id, b"another document", "application/pdf")
            .unwrap_err();
        assert_eq!(e.code(), "case.invalid");
        let e = f
            .service
            .case_order_put(&officer("bert"), &id, SCAN, "application/pdf")
            .unwrap_err();
        assert_eq!(e.code(), "auth.forbidden");
        assert!(!path.exists());
        f.service.approve(&officer("bert"), &id).unwrap();
        let e = f
            .service
            .case_order_put(&anna, &id, SCAN, "application/pdf")
            .unwrap_err();
        assert_eq!(e.code(), "case.wrong_state");
        assert!(!path.exists());
        let e = f.service.case_order_get(&anna, &id).unwrap_err();
        assert_eq!(e.code(), "case.not_found", "no scan stored");
        let refusals = f
            .audit
            .entries
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.action == "case_create" && e.outcome.starts_with("refused:"))
            .count();
        assert_eq!(refusals, 3, "each refusal is audited");
    }

    #[test]
    fn a_scan_changed_on_disk_is_not_handed_out_and_odd_types_are_kept_as_bytes() {
        let f = fixture();
        let anna = officer("anna");
        let id = f
            .service
            .create_case(&anna, order(sha_hex(SCAN)))
            .unwrap()
            .id;
        f.service
            .case_order_put(&anna, &id, SCAN, "text/html")
            .unwrap();
        let (_, ctype) = f.service.case_order_get(&anna, &id).unwrap();
        assert_eq!(ctype, "application/octet-stream");
        fs::write(files::orders_dir(f.dir.path()).join(&id), b"forged").unwrap();
        let e = f.service.case_order_get(&anna, &id).unwrap_err();
        assert_eq!(e.code(), "legal.read_failed");
    }
}
