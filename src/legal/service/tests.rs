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
use crate::clock::{Clock, FixedClock};
use crate::config::Config;
use crate::error::ErrorKind;
use crate::legal::auth::{Caller, Person, Principal, Role};
use crate::legal::case::NewCase;
use crate::legal::service::lookups::AddrQuery;
use crate::legal::users::Users;
use crate::model::{Class, Event, Origin, SessionOp, Target};
use crate::store::mem::MemStore;

/// 2026-11-20T10:00:00Z.
const T0: i64 = 1_795_168_800;

/// An audit sink that keeps the entries; `refuse` makes every append fail.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) entries: Mutex<Vec<NewEntry>>,
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

pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) service: Arc<Service>,
    pub(crate) audit: Arc<Recorder>,
    pub(crate) clock: Arc<FixedClock>,
}

/// A store holding sub-1 on 192.0.2.10 for an hour from T0 (RADIUS, security class) and
/// sub-2 on 192.0.2.20 (billing class), seen by a service whose clock reads T0 + 1 day.
pub(crate) fn fixture() -> Fixture {
    fixture_with(Config::default())
}

pub(crate) fn fixture_with(cfg: Config) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        data_dir: dir.path().to_path_buf(),
        ..cfg
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
    let clock = Arc::new(FixedClock::new(T0 + 86_400));
    let service = Arc::new(Service::new(
        Arc::new(cfg),
        Arc::new(store),
        audit.clone(),
        clock.clone(),
    ));
    Fixture {
        dir,
        service,
        audit,
        clock,
    }
}

/// A user whose person has the employee id `E-<name>`.
pub(crate) fn user(name: &str, role: Role) -> Caller {
    as_person(name, &format!("E-{name}"), role)
}

pub(crate) fn as_person(name: &str, employee_id: &str, role: Role) -> Caller {
    Caller {
        who: Ok(Principal {
            name: name.into(),
            role,
            person: employee_id.into(),
        }),
        claimed: None,
        channel: "cli",
        peer: None,
    }
}

pub(crate) fn order(request_type: &str, addr: &str, at: &str) -> NewCase {
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
    pub(crate) fn approved(&self, req: NewCase) -> String {
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

    pub(crate) fn entries(&self) -> Vec<NewEntry> {
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

// ---------------------------------------------------------------------------------------------
// People, four eyes between persons, the access extract as a case, holds and deadlines
// (issue 15, findings 2, 4, 9 and 10).

pub(crate) fn person(name: &str, employee_id: &str) -> Person {
    Person {
        name: name.into(),
        employee_id: employee_id.into(),
    }
}

/// The socket's caller of the bootstrap: no token, the service user's uid.
fn service_user() -> Caller {
    Caller {
        who: Err(super::AuthError::Missing),
        claimed: None,
        channel: "socket",
        peer: Some("uid 990".into()),
    }
}

const CRM_HEADER: &str = "subscriber,customer_id,name,street,postal_code,city,personal_number,\
                          protected_identity,valid_from,valid_to";

impl Fixture {
    /// The caller a token makes, as the daemon builds it.
    pub(crate) fn caller(&self, token: &str) -> Caller {
        Users::load(self.dir.path())
            .unwrap()
            .caller(Some(token), "api")
    }

    /// Two bootstrapped admins, ada (E-ada) and bo (E-bo).
    pub(crate) fn admins(&self) -> (Caller, Caller) {
        let boot = |name: &str| {
            let t = self
                .service
                .bootstrap_admin(
                    &service_user(),
                    true,
                    name,
                    person(name, &format!("E-{name}")),
                )
                .unwrap();
            self.caller(&t.token)
        };
        (boot("ada"), boot("bo"))
    }

    /// A user added by the admin ada and approved by the admin bo; their caller.
    pub(crate) fn approved_user(&self, name: &str, role: Role, who: Person) -> Caller {
        let (ada, bo) = (user("ada", Role::Admin), user("bo", Role::Admin));
        let t = self.service.user_add(&ada, name, role, who).unwrap();
        self.service.user_approve(&bo, name).unwrap();
        self.caller(&t.token)
    }

    /// Imports the CRM rows (after the header) through the service, as an admin.
    pub(crate) fn crm(&self, rows: &str) {
        let csv = format!("{CRM_HEADER}\n{rows}");
        self.service
            .identity_import(&user("ada", Role::Admin), csv.as_bytes())
            .unwrap();
    }
}

fn access(subscriber: &str) -> NewCase {
    serde_json::from_value(json!({
        "request_type": "access",
        "authority": "the data subject",
        "case_number": "DSAR-2026-3",
        "scope": [{"subscriber": subscriber}],
    }))
    .unwrap()
}

#[test]
fn one_person_with_two_user_names_cannot_approve_their_own_case() {
    let f = fixture();
    f.admins();
    let mallory = f.approved_user("mallory", Role::Legal, person("Mallory M", "E-77"));
    let mallory2 = f.approved_user("mallory-2", Role::Legal, person("Mallory M", "E-77"));
    let id = f
        .service
        .create_case(
            &mallory,
            order("law_enforcement", "192.0.2.10", "2026-11-20T10:30:00Z"),
        )
        .unwrap()
        .id;
    let err = f.service.approve(&mallory2, &id).unwrap_err();
    assert_eq!(err.code(), "case.four_eyes");
    assert_eq!(f.entries().pop().unwrap().outcome, "refused:case.four_eyes");
    let err = f
        .service
        .case_lookup(&mallory2, &id, query("192.0.2.10", "2026-11-20T10:30:00Z"))
        .unwrap_err();
    assert_eq!(err.code(), "case.wrong_state", "still not approved");
    // Nor can the other account release what the first executed.
    let bert = user("bert", Role::Legal);
    f.service.approve(&bert, &id).unwrap();
    f.crm("sub-1,C1,Hemlig,Gatan 1,11111,Ort,19800101-1234,true,2026-01-01T00:00:00Z,\n");
    let c = f.service.execute(&mallory, &id, None).unwrap();
    assert!(c.hold.is_some());
    let err = f.service.release(&mallory2, &id).unwrap_err();
    assert_eq!(err.code(), "case.four_eyes");
    f.service.release(&bert, &id).unwrap();
}

#[test]
fn a_new_user_needs_a_second_admin_before_their_token_works() {
    let f = fixture();
    let (ada, bo) = f.admins();
    let t = f
        .service
        .user_add(&ada, "lena", Role::Legal, person("Lena L", "E-10"))
        .unwrap();
    assert!(t.pending);
    let lena = f.caller(&t.token);
    let req = || order("law_enforcement", "192.0.2.10", "2026-11-20T10:30:00Z");
    let err = f.service.create_case(&lena, req()).unwrap_err();
    assert_eq!(err.code(), "auth.pending");
    let last = f.entries().pop().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.outcome.as_str()),
        ("lena", "refused:auth.pending")
    );
    // Every role that reads data, and admins, wait; ops do not.
    for role in [Role::Security, Role::Auditor, Role::Admin] {
        let name = format!("new-{}", role.as_str());
        let t = f
            .service
            .user_add(&ada, &name, role, person(&name, &name))
            .unwrap();
        assert_eq!(f.caller(&t.token).who.unwrap_err().code(), "auth.pending");
    }
    let ops = f
        .service
        .user_add(&ada, "olle", Role::Ops, person("Olle", "E-11"))
        .unwrap();
    assert!(!ops.pending && f.caller(&ops.token).who.is_ok());

    let approved = f.service.user_approve(&bo, "lena").unwrap();
    assert_eq!(approved["state"], "active");
    assert_eq!(approved["approved_by"], "bo");
    let lena = f.caller(&t.token);
    f.service.create_case(&lena, req()).unwrap();
    // The change was audited before it was made.
    let actions: Vec<(String, String)> = f
        .entries()
        .iter()
        .filter(|e| e.action == "user_approve")
        .map(|e| (e.actor.clone(), e.outcome.clone()))
        .collect();
    assert_eq!(
        actions,
        [
            ("bo".into(), "requested".into()),
            ("bo".into(), "ok".into())
        ]
    );
}

#[test]
fn an_admin_cannot_approve_a_user_they_added() {
    let f = fixture();
    let (ada, bo) = f.admins();
    f.service
        .user_add(&ada, "lena", Role::Legal, person("Lena L", "E-10"))
        .unwrap();
    let err = f.service.user_approve(&ada, "lena").unwrap_err();
    assert_eq!(err.code(), "user.four_eyes");
    assert_eq!(f.entries().pop().unwrap().outcome, "refused:user.four_eyes");
    // Ada's second admin account is still ada.
    let t = f
        .service
        .user_add(&bo, "ada-2", Role::Admin, person("ada", "E-ada"))
        .unwrap();
    f.service
        .user_approve(&user("cid", Role::Admin), "ada-2")
        .unwrap();
    let ada2 = f.caller(&t.token);
    let err = f.service.user_approve(&ada2, "lena").unwrap_err();
    assert_eq!(err.code(), "user.four_eyes");
    // Nor does anyone approve an account of their own person.
    f.service
        .user_add(&ada, "bo-legal", Role::Legal, person("bo", "E-bo"))
        .unwrap();
    let err = f.service.user_approve(&bo, "bo-legal").unwrap_err();
    assert_eq!(err.code(), "user.four_eyes");
    f.service.user_approve(&bo, "lena").unwrap();
}

#[test]
fn bootstrap_is_refused_once_two_admins_exist() {
    let f = fixture();
    let boot = |name: &str, id: &str| {
        f.service
            .bootstrap_admin(&service_user(), true, name, person(name, id))
    };
    let first = boot("ada", "E-1").unwrap();
    assert!(f.caller(&first.token).who.is_ok(), "active at once");
    let err = boot("ada-2", "E-1").unwrap_err();
    assert_eq!(
        err.code(),
        "user.four_eyes",
        "the first two are two persons"
    );
    boot("bo", "E-2").unwrap();
    let err = boot("eve", "E-3").unwrap_err();
    assert_eq!(err.code(), "user.bootstrap_closed");
    assert_eq!(err.kind().http_status(), 409);
    assert!(!Users::load(f.dir.path()).unwrap().users.contains_key("eve"));
    let boots: Vec<NewEntry> = f
        .entries()
        .into_iter()
        .filter(|e| e.action == "admin_bootstrap")
        .collect();
    assert_eq!(boots.len(), 8);
    assert_eq!(boots[7].outcome, "refused:user.bootstrap_closed");
    assert_eq!(boots[7].actor, "service user");
}

#[test]
fn only_admins_manage_users_and_import_identities() {
    let f = fixture();
    f.admins();
    let csv = format!("{CRM_HEADER}\nsub-1,C1,A,G,1,O,P,false,2026-01-01T00:00:00Z,\n");
    for role in [Role::Legal, Role::Security, Role::Auditor, Role::Ops] {
        let who = user("someone", role);
        let forbidden = [
            f.service
                .user_add(&who, "x", Role::Legal, person("X", "E-x"))
                .map(|_| ())
                .unwrap_err(),
            f.service.user_approve(&who, "ada").map(|_| ()).unwrap_err(),
            f.service.user_revoke(&who, "ada").map(|_| ()).unwrap_err(),
            f.service.user_list(&who).map(|_| ()).unwrap_err(),
            f.service
                .identity_import(&who, csv.as_bytes())
                .map(|_| ())
                .unwrap_err(),
        ];
        for err in forbidden {
            assert_eq!(err.code(), "auth.forbidden", "{role:?}");
        }
        assert_eq!(f.entries().pop().unwrap().outcome, "refused:auth.forbidden");
    }
    let err = f.service.identity_import(&user("anon", Role::Ops), b"x");
    assert!(err.is_err());
    let admin = user("ada", Role::Admin);
    let r = f.service.identity_import(&admin, csv.as_bytes()).unwrap();
    assert_eq!(r.added, 1);
    let import = f.entries().pop().unwrap();
    assert_eq!(import.action, "identity_import");
    assert!(!import.query.to_string().contains("sub-1"));
    assert_eq!(f.service.user_list(&admin).unwrap().len(), 2);
    f.service.user_revoke(&admin, "bo").unwrap();
    // An admin reads no traffic and registers no case.
    let err = f
        .service
        .create_case(
            &admin,
            order("law_enforcement", "192.0.2.10", "2026-11-20T10:30:00Z"),
        )
        .unwrap_err();
    assert_eq!(err.code(), "auth.forbidden");
}

#[test]
fn the_extract_without_an_approved_access_case_is_refused() {
    let f = fixture();
    f.crm("sub-1,C1,Anna A,Gatan 1,11111,Ort,19800101-1234,false,2026-01-01T00:00:00Z,\n");
    let anna = user("anna", Role::Legal);
    let id = f.service.create_case(&anna, access("sub-1")).unwrap().id;
    let err = f.service.access_extract(&anna, &id).unwrap_err();
    assert_eq!(err.code(), "case.wrong_state", "registered, not approved");
    assert_eq!(
        f.entries().pop().unwrap().outcome,
        "refused:case.wrong_state"
    );
    let err = f.service.approve(&anna, &id).unwrap_err();
    assert_eq!(err.code(), "case.four_eyes");
    // Another kind of case gives no extract either.
    let le = f.approved(order(
        "law_enforcement",
        "192.0.2.10",
        "2026-11-20T10:30:00Z",
    ));
    let err = f.service.access_extract(&anna, &le).unwrap_err();
    assert_eq!(err.code(), "case.not_for_this_type");
    let err = f.service.access_extract(&anna, "C-2026-9999").unwrap_err();
    assert_eq!(err.code(), "case.not_found");

    f.service.approve(&user("bert", Role::Legal), &id).unwrap();
    let v = f.service.access_extract(&anna, &id).unwrap();
    assert_eq!(v["identity"]["current"][0]["name"], "Anna A");
    assert_eq!(v["bindings"].as_array().unwrap().len(), 1);
    let e = f.entries().pop().unwrap();
    assert_eq!(
        (e.action.as_str(), e.outcome.as_str()),
        ("access_extract", "disclosed")
    );
    assert_eq!(e.case.as_deref(), Some(id.as_str()));
    assert!(!e.query.to_string().contains("sub-1"), "a pseudonym only");
    // A copy is the same extract, audited again.
    assert_eq!(f.service.access_extract(&anna, &id).unwrap(), v);
    assert_eq!(f.entries().pop().unwrap().outcome, "copy");
}

#[test]
fn a_protected_identity_in_an_access_case_is_held() {
    let f = fixture();
    f.crm("sub-1,C1,Hemlig H,Gatan 1,11111,Ort,19800101-1234,true,2026-01-01T00:00:00Z,\n");
    let (anna, bert) = (user("anna", Role::Legal), user("bert", Role::Legal));
    let id = f.approved(access("sub-1"));
    let err = f.service.access_extract(&anna, &id).unwrap_err();
    assert_eq!(err.code(), "case.held_protected_identity");
    assert_eq!(
        f.entries().pop().unwrap().outcome,
        "held:protected_identity"
    );
    let view = super::case_view(&f.service.get_case(&anna, &id).unwrap());
    assert!(!view.to_string().contains("Hemlig"), "{view}");
    assert!(!view["extract"].to_string().contains("sub-1"), "{view}");
    assert_eq!(
        f.service.access_extract(&bert, &id).unwrap_err().code(),
        "case.held_protected_identity"
    );
    // The officer who made it cannot release it, under any of their user names.
    let anna2 = as_person("anna-2", "E-anna", Role::Legal);
    assert_eq!(
        f.service.release(&anna2, &id).unwrap_err().code(),
        "case.four_eyes"
    );
    f.service.release(&bert, &id).unwrap();
    let v = f.service.access_extract(&anna, &id).unwrap();
    assert_eq!(v["identity"]["current"][0]["name"], "Hemlig H");
}

#[test]
fn a_held_item_shows_no_subscriber_id() {
    let f = fixture();
    f.crm("sub-1,C1,Hemlig H,Gatan 1,11111,Ort,19800101-1234,true,2026-01-01T00:00:00Z,\n");
    let id = f.approved(order(
        "law_enforcement",
        "192.0.2.10",
        "2026-11-20T10:30:00Z",
    ));
    let c = f
        .service
        .execute(&user("anna", Role::Legal), &id, None)
        .unwrap();
    assert!(c.hold.is_some());
    assert_eq!(c.results[0].subscriber.as_deref(), Some("sub-1"));
    let view = super::case_view(&c).to_string();
    for secret in ["sub-1", "Hemlig", "19800101"] {
        assert!(!view.contains(secret), "{secret} in {view}");
    }
    // Held, it cannot be reported either.
    let err = f
        .service
        .report(&user("bert", Role::Legal), &id, "json")
        .unwrap_err();
    assert_eq!(err.code(), "case.held_protected_identity");
    // Released, the item shows whom it names.
    let c = f.service.release(&user("bert", Role::Legal), &id).unwrap();
    assert!(super::case_view(&c).to_string().contains("sub-1"));
}

#[test]
fn a_hold_admits_only_its_cases_items() {
    // Everything is kept 7 days; the lookups run 10 days after the data.
    let week = crate::config::Period::Days(7);
    let f = fixture_with(Config {
        retention: crate::config::Retention {
            security: week,
            billing: week,
            statutory: week,
        },
        ..Config::default()
    });
    f.clock.set(T0 + 3 * 86_400);
    let mut preserve = order("preservation", "192.0.2.10", "2026-11-20T10:30:00Z");
    preserve.preserve_until = Some("2027-01-31".into());
    preserve.legal_force_date = None;
    f.approved(preserve);
    let mut req = order("law_enforcement", "192.0.2.10", "2026-11-20T10:30:00Z");
    req.scope.extend(
        serde_json::from_value::<Vec<crate::legal::case::ScopeItem>>(json!([
            {"addr": "192.0.2.20", "at": "2026-11-20T10:30:00Z"},
            {"addr": "192.0.2.10", "at": "2026-11-20T10:40:00Z"},
        ]))
        .unwrap(),
    );
    let id = f.approved(req);
    f.clock.set(T0 + 10 * 86_400);
    let anna = user("anna", Role::Legal);
    let status = |addr: &str, at: &str| {
        f.service.case_lookup(&anna, &id, query(addr, at)).unwrap()["status"].clone()
    };
    // The preserved item answers past retention…
    assert_eq!(status("192.0.2.10", "2026-11-20T10:30:00Z"), "found");
    // …another subscriber's address the same day does not, nor the same address at a time
    // the order did not name.
    assert_eq!(
        status("192.0.2.20", "2026-11-20T10:30:00Z"),
        "outside_retention"
    );
    assert_eq!(
        status("192.0.2.10", "2026-11-20T10:40:00Z"),
        "outside_retention"
    );
    // Retention still keeps the days around the item.
    assert_eq!(
        crate::legal::holds(f.dir.path(), f.clock.now()).unwrap(),
        vec![(T0 + 1800 - 86_400, T0 + 1800 + 86_400)]
    );
}

#[test]
fn an_approved_case_expires_at_its_deadline() {
    let f = fixture_with(Config {
        case_max_days: 30,
        ..Config::default()
    });
    let anna = user("anna", Role::Legal);
    let mut req = order("law_enforcement", "192.0.2.10", "2026-11-20T10:30:00Z");
    req.deadline = Some("2026-11-22".into());
    let id = f.approved(req);
    let lookup = || {
        f.service
            .case_lookup(&anna, &id, query("192.0.2.10", "2026-11-20T10:30:00Z"))
    };
    lookup().unwrap();
    // 2026-11-22T23:00Z is midnight in Stockholm: the deadline day is over.
    f.clock
        .set(crate::model::parse_time("2026-11-22T22:59:59Z").unwrap());
    lookup().unwrap();
    f.clock
        .set(crate::model::parse_time("2026-11-22T23:00:00Z").unwrap());
    assert_eq!(lookup().unwrap_err().code(), "case.expired");
    assert_eq!(f.entries().pop().unwrap().outcome, "refused:case.expired");
    let err = f.service.execute(&anna, &id, None).unwrap_err();
    assert_eq!(err.code(), "case.expired");

    // Without a deadline, the case runs `legal.case_max_days` after its registration.
    f.clock.set(T0 + 86_400);
    let open = f.approved(order(
        "law_enforcement",
        "192.0.2.10",
        "2026-11-20T10:30:00Z",
    ));
    f.clock.set(T0 + 31 * 86_400 + 1);
    let err = f
        .service
        .case_lookup(&anna, &open, query("192.0.2.10", "2026-11-20T10:30:00Z"))
        .unwrap_err();
    assert_eq!(err.code(), "case.expired");
}
