//! Erasure (GDPR art. 17) of a subscriber's own-purpose data, inside an approved `erasure`
//! case: the `security` and `billing` bindings of the subscriber (and calls of its number),
//! never `statutory` ones, never what a preservation order holds. The store keeps a tombstone
//! so nothing erased comes back (late or re-imported logs, the live family, the index), and
//! the answer is a **deletion certificate** signed with the appliance's key: what was deleted
//! (counts, partitions, a digest of the deleted keys), what was kept and why, by whom, when.
//! Audited before anything is deleted, and again with the certificate's digest.

use serde_json::{json, Value};

use super::{sha_hex, LegalError, Service};
use crate::audit::Sealer;
use crate::legal::auth::Caller;
use crate::legal::case::{Case, CaseError, Officer, RequestType, State};
use crate::legal::files::RegisterError;
use crate::legal::policy::Op;
use crate::legal::register;
use crate::model::{fmt_time, Class};
use crate::store::Erasure;

/// The classes an erasure removes: the ISP's own purposes. Statutory data is kept as the law
/// requires (LEK 9 kap. 19 §) until its retention ends.
pub const ERASABLE: [Class; 2] = [Class::Security, Class::Billing];

impl Service {
    /// Executes an approved erasure case; returns its signed deletion certificate.
    pub(super) fn erase_case(&self, caller: &Caller, id: &str) -> Result<Value, LegalError> {
        let now = self.clock.now();
        let (who, case, subscriber) =
            self.load_for_execution(caller, id, RequestType::Erasure, now)?;
        let pseudonym = self.audit.pseudonym(&subscriber);
        let holds = crate::legal::holds(self.data_dir(), now)?;
        let erasure = Erasure {
            subject: subscriber.clone(),
            numbers: vec![subscriber.clone()],
            classes: ERASABLE.to_vec(),
            up_to: now,
            holds: holds.clone(),
        };
        let classes: Vec<&str> = ERASABLE.iter().map(|c| c.as_str()).collect();
        // Audited before anything is deleted.
        let mut e = self.entry(
            caller,
            Op::CaseExecute,
            Some(id),
            json!({"subscriber": pseudonym, "classes": classes, "up_to": fmt_time(now)}),
        );
        e.action = "erasure".into();
        e.legal_basis = Some(RequestType::Erasure.as_str().into());
        e.outcome = "erasing".into();
        let first_seq = self.commit(e)?;
        let done = self.store.erase(&erasure)?;
        let sealer = Sealer::load(self.data_dir())
            .map_err(|e| LegalError::Register(RegisterError::Read(format!("signing key: {e}"))))?;
        let body = json!({
            "certificate": "tdr deletion certificate v1",
            "kind": "erasure",
            "legal_basis": RequestType::Erasure.legal_basis(),
            "operator": self.cfg.serve.operator,
            "case": id,
            "subscriber": pseudonym,
            "classes": classes,
            "up_to": fmt_time(now),
            "holds_in_force": holds.len(),
            "deleted": {
                "bindings": done.bindings,
                "copies": done.copies,
                "calls": done.calls,
                "partitions": done.partitions,
                "first_start": done.first.map(fmt_time),
                "last_start": done.last.map(fmt_time),
                "keys_sha256": done.digest,
            },
            "kept": done.kept,
            "registered_by": case.created_by,
            "approved_by": case.steps.iter().rev().find(|s| s.action == "approved").map(|s| s.by.clone()),
            "executed_by": who.name,
            "executed_at": fmt_time(now),
            "audit_seq": first_seq,
        });
        let text = serde_json::to_string(&body).unwrap_or_default();
        let signature = hex::encode(sealer.certify(text.as_bytes()));
        let certificate = json!({
            "body": body,
            "signature": signature,
            "public_key": sealer.public_hex(),
        });
        let mut e = self.entry(
            caller,
            Op::CaseExecute,
            Some(id),
            json!({"subscriber": pseudonym}),
        );
        e.action = "erasure_certificate".into();
        e.legal_basis = Some(RequestType::Erasure.as_str().into());
        e.outcome = "erased".into();
        e.result_count = done.bindings + done.calls;
        e.result_digest = Some(sha_hex(text.as_bytes()));
        let seq = self.commit(e)?;
        let kept = certificate.clone();
        register::update(self.data_dir(), id, |c: &mut Case| {
            if c.state != State::Approved {
                return Err(CaseError::WrongState(c.state.as_str(), "approved"));
            }
            c.executed(
                &Officer::from(&who),
                now,
                Vec::new(),
                vec![first_seq, seq],
                false,
            );
            c.certificate = Some(kept);
            Ok(())
        })?;
        Ok(certificate)
    }
}

/// Whether a deletion certificate (as [`Service::erase_case`] gives it) is signed by the
/// holder of `public` (the appliance's `keys/audit-signing.pub`): its body re-serialised in
/// its own order, checked against the signature.
pub fn verify_certificate(cert: &Value, public: &ed25519_dalek::VerifyingKey) -> bool {
    let (Some(body), Some(sig)) = (cert.get("body"), cert["signature"].as_str()) else {
        return false;
    };
    let Ok(sig) = hex::decode(sig) else {
        return false;
    };
    let text = serde_json::to_string(body).unwrap_or_default();
    crate::audit::verify_certificate(public, text.as_bytes(), &sig)
}

/// `tdr audit verify-certificate`: reads a deletion certificate (JSON, as the case holds it)
/// and checks its signature with the public key in `pubkey` (default: the data directory's
/// `keys/audit-signing.pub`). Runs without the daemon and without the private key. Returns
/// the certificate's case on success; the reason otherwise.
pub fn verify_certificate_file(
    data_dir: &std::path::Path,
    pubkey: Option<&std::path::Path>,
    cert: &std::path::Path,
) -> Result<String, String> {
    let key_path = pubkey
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| crate::audit::public_key_path(data_dir));
    let key = crate::audit::load_public_key_file(&key_path).map_err(|e| e.to_string())?;
    let text = std::fs::read(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
    let v: Value =
        serde_json::from_slice(&text).map_err(|e| format!("{}: not JSON: {e}", cert.display()))?;
    // The certificate alone, or a case (`tdr case show`) that holds one.
    let v = v.get("certificate").cloned().unwrap_or(v);
    if verify_certificate(&v, &key) {
        // An erasure's case, or an expired day's partition.
        let body = &v["body"];
        Ok(body["case"]
            .as_str()
            .or(body["partition"].as_str())
            .unwrap_or("")
            .to_string())
    } else {
        Err("the signature does not match the certificate (changed, or another key)".into())
    }
}
