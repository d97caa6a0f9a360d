//! The legal service on an in-memory store: the rules that make a lookup lawful (a case, its
//! scope, four eyes, the purpose's classes, pseudonyms, the audit entry before the answer),
//! tested without RocksDB. The case register lives in a temporary folder; the audit sink
//! records what it is given (or refuses, to show that no answer leaves without its entry).

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::{AuditSink, LegalError, Service};
use crate::audit::{AuditFailure, NewEntry};
use crate::clock::FixedClock;
use crate::config::Config;
use crate::error::ErrorKind;
use crate::legal::auth::{Caller, Principal, Role};
use crate::legal::case::NewCase;
use crate::legal::service::lookups::AddrQuery;
use crate::model::{Class, Event, Origin, SessionOp, Target};
use crate::store::mem::MemStore;

/// 2026-11-20T10:00:00Z.
const T0: i64 = 1_795_168_800;

/// An audit sink that keeps the entries; `refuse` makes every append fail.
#[derive(Default)]
struct Recorder {
    entries: Mutex<Vec<NewEntry>>,
    refuse: AtomicBool,
}

impl AuditSink for Recorder {
    fn append(&self, e: NewEntry) -> Result<u64, AuditFailure> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(AuditFailure {
                kind: ErrorKind::AuditWriteFailed,
                detail: "disk full".into(),
            });
        }
        let mut v = self.entries.lock().unwrap();
        v.push(e);
        Ok(v.len() as u64)
    }
    fn pseudonym(&self, subscriber: &str) -> String {
        format!("pseudo-{}", subscriber.len())
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    service: Service,
    audit: Arc<Recorder>,
}

/// A store holding sub-1 on 192.0.2.10 for an hour from T0 (RADIUS, security class) and
/// sub-2 on 192.0.2.20 (billing class), seen by a service whose clock reads T0 + 1 day.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let mut store = MemStore::new(&cfg);
    let session = |class, sub: &str, ip: &str, op, t| {
        let origin = Origin {
            source: "bng".into(),
            class,
        };
        let target = Target::host(ip.parse::<IpAddr>().unwrap());
        Event::session(
            &origin,
            op,
            t,
            sub.into(),
            format!("s-{sub}"),
            target,
            "nas-1".into(),
        )
    };
    // Start, interims every 10 minutes (the logs cover the hour), Stop.
    let mut events = Vec::new();
    for (class, sub, ip) in [
        (Class::Security, "sub-1", "192.0.2.10"),
        (Class::Billing, "sub-2", "192.0.2.20"),
    ] {
        events.push(session(class, sub, ip, SessionOp::Start, T0));
        for i in 1..6 {
            events.push(session(class, sub, ip, SessionOp::Interim, T0 + i * 600));
        }
        events.push(session(class, sub, ip, SessionOp::Stop, T0 + 3600));
    }
    events.sort_by_key(|e| e.time());
    store.import(&events, 0);
    let audit = Arc::new(Recorder::default());
    let service = Service::new(
        Arc::new(cfg),
        Arc::new(store),
        audit.clone(),
        Arc::new(FixedClock::new(T0 + 86_400)),
    );
    Fixture {
        _dir: dir,
        service,
        audit,
    }
}

fn user(name: &str, role: Role) -> Caller {
    Caller {
        who: Ok(Principal {
            name: name.into(),
            role,
        }),
        claimed: None,
        channel: "cli",
        peer: None,
    }
}

fn order(request_type: &str, addr: &str, at: &str) -> NewCase {
    serde_json::from_value(json!({
        "request_type": request_type,
        "authority": "Polismyndigheten",
        "case_number": "5000-K1-26",
        "decision_date": "2026-11-19",
        "legal_force_date": "2026-11-19",
        "order_sha256": "ab".repeat(32),
        "scope": [{"addr": addr, "at": at}],
    }))
    .unwrap()
}

fn query(addr: &str, at: &str) -> AddrQuery {
    AddrQuery::parse(addr, None, at).unwrap()
}

impl Fixture {
    /// A case registered by anna and approved by bert.
    fn approved(&self, req: NewCase) -> String {
        let id = self
            .service
            .create_case(&user("anna", Role::Legal), req)
            .unwrap()
            .id;
        self.service
            .approve(&user("bert", Role::Legal), &id)
            .unwrap();
        id
    }

    fn entries(&self) -> Vec<NewEntry> {
        self.audit.entries.lock().unwrap().clone()
    }
}

#[test]
fn a_lookup_in_an_approved_case_names_the_holder_and_is_audited_first() {
    let f = fixture();
    let id = f.approved(order(
        "law_enforcement",
        "192.0.2.10",
        "2026-11-20T10:30:00Z",
    ));
    let answer = f
        .service
        .case_lookup(
            &user("anna", Role::Legal),
            &id,
            query("192.0.2.10", "2026-11-20T10:30:00Z"),
        )
        .unwrap();
    assert_eq!(answer["status"], "found");
    assert_eq!(answer["matches"][0]["subscriber"], "sub-1");
    let last = f.entries().pop().unwrap();
    assert_eq!(last.outcome, "found");
    assert_eq!(last.case.as_deref(), Some(id.as_str()));
    assert_eq!(last.legal_basis.as_deref(), Some("law_enforcement"));
    // The entry carries the digest of exactly the answer handed out.
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        answer.to_string().as_bytes(),
    ));
    assert_eq!(last.result_digest.as_deref(), Some(digest.as_str()));
}

#[test]
fn no_answer_leaves_when_the_audit_entry_cannot_be_written() {
    let f = fixture();
    let id = f.approved(order(
        "law_enforcement",
        "192.0.2.10",
        "2026-11-20T10:30:00Z",
    ));
    f.audit.refuse.store(true, Ordering::SeqCst);
    let err = f
        .service
        .case_lookup(
            &user("anna", Role::Legal),
            &id,
            query("192.0.2.10", "2026-11-20T10:30:00Z"),
        )
        .unwrap_err();
    assert_eq!(err.code(), "audit.write_failed");
}

#[test]
fn a_lookup_outside_the_case_scope_is_refused_and_the_refusal_audited() {
    let f = fixture();
    let id = f.approved(order(
        "law_enforcement",
        "192.0.2.10",
        "2026-11-20T10:30:00Z",
    ));
    let err = f
        .service
        .case_lookup(
            &user("anna", Role::Legal),
            &id,
            query("192.0.2.20", "2026-11-20T10:30:00Z"),
        )
        .unwrap_err();
    assert_eq!(err.code(), "case.out_of_scope");
    let last = f.entries().pop().unwrap();
    assert_eq!(last.outcome, "refused:case.out_of_scope");
    assert_eq!(last.query["addr"], "192.0.2.20");
}

#[test]
fn the_registrar_cannot_approve_their_own_case() {
    let f = fixture();
    let anna = user("anna", Role::Legal);
    let id = f
        .service
        .create_case(
            &anna,
            order("law_enforcement", "192.0.2.10", "2026-11-20T10:30:00Z"),
        )
        .unwrap()
        .id;
    let err = f.service.approve(&anna, &id).unwrap_err();
    assert_eq!(err.code(), "case.four_eyes");
    // Not approved: a lookup in it is refused.
    let err = f
        .service
        .case_lookup(&anna, &id, query("192.0.2.10", "2026-11-20T10:30:00Z"))
        .unwrap_err();
    assert!(matches!(err, LegalError::Case(_)), "{err:?}");
}

#[test]
fn ops_may_not_register_a_case() {
    let f = fixture();
    let err = f
        .service
        .create_case(
            &user("olle", Role::Ops),
            order("law_enforcement", "192.0.2.10", "2026-11-20T10:30:00Z"),
        )
        .unwrap_err();
    assert_eq!(err.code(), "auth.forbidden");
    assert_eq!(f.entries().pop().unwrap().outcome, "refused:auth.forbidden");
}

#[test]
fn an_abuse_lookup_reads_security_data_only_and_names_a_pseudonym() {
    let f = fixture();
    let security = user("sara", Role::Security);
    let lookup = |addr: &str| -> Value {
        f.service
            .abuse_lookup(
                &security,
                "TICKET-1",
                json!({"addr": addr}),
                addr.parse().unwrap(),
                None,
                T0 + 1800,
            )
            .unwrap()
    };
    let a = lookup("192.0.2.10");
    assert_eq!(a["status"], "found");
    assert_eq!(a["matches"][0]["subscriber"], "pseudo-5");
    assert!(!a.to_string().contains("sub-1"));
    // sub-2's binding is billing data: not for the ISP's own abuse handling.
    let b = lookup("192.0.2.20");
    assert_ne!(b["status"], "found", "{b}");
    assert!(!b.to_string().contains("sub-2"));
    assert_eq!(f.entries().len(), 2);
}
