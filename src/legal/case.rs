//! A legal request (case): what the order says, what it allows to be looked up (its scope), and
//! where it stands (`registered → approved → executed → disclosed`, or `rejected`). Pure rules:
//! validation that names every bad field at once, the state machine, four-eyes (between persons,
//! not user names), the deadline after which a case runs no more, and the scope check every
//! lookup must pass. Storage is in `register.rs`, lookups in `disclose.rs`.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;
use crate::model::{parse_time, UnixSecs};

/// The kinds of request the law allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestType {
    /// Court order under the Copyright Act (1960:729) 53 c § (informationsföreläggande).
    Ipred,
    /// Law-enforcement request: LEK (2022:482) ch. 9, RB ch. 27.
    LawEnforcement,
    /// A hold that keeps the scoped records past their retention until a set date.
    Preservation,
    /// The ISP's own abuse investigation: pseudonyms only, never identity.
    Abuse,
    /// A data subject's request for everything held about them (GDPR art. 15): one scope
    /// item, the subscriber; answered by the access extract.
    Access,
    /// A data subject's request to restrict processing (GDPR art. 18) while a dispute is
    /// examined: the ISP's own uses answer `restricted` until a second officer lifts it or its
    /// `restrict_until` day ends. One scope item, the subscriber.
    Restriction,
    /// A data subject's request to erase own-purpose data (GDPR art. 17). One scope item, the
    /// subscriber.
    Erasure,
    /// A data subject's request to correct the identity register (GDPR art. 16). One scope
    /// item, the subscriber; the request carries the correction.
    Rectification,
}

impl RequestType {
    pub const ALL: [RequestType; 8] = [
        RequestType::Ipred,
        RequestType::LawEnforcement,
        RequestType::Preservation,
        RequestType::Abuse,
        RequestType::Access,
        RequestType::Restriction,
        RequestType::Erasure,
        RequestType::Rectification,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestType::Ipred => "ipred",
            RequestType::LawEnforcement => "law_enforcement",
            RequestType::Preservation => "preservation",
            RequestType::Abuse => "abuse",
            RequestType::Access => "access",
            RequestType::Restriction => "restriction",
            RequestType::Erasure => "erasure",
            RequestType::Rectification => "rectification",
        }
    }

    /// A data subject's own request (GDPR art. 15-18): internal, its one scope item the
    /// subscriber.
    pub fn subject_right(self) -> bool {
        matches!(
            self,
            RequestType::Access
                | RequestType::Restriction
                | RequestType::Erasure
                | RequestType::Rectification
        )
    }

    pub fn parse(s: &str) -> Option<RequestType> {
        RequestType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The statute, as printed on a report.
    pub fn legal_basis(self) -> &'static str {
        match self {
            RequestType::Ipred => "Upphovsrättslagen (1960:729) 53 c §",
            RequestType::LawEnforcement => "LEK (2022:482) 9 kap.; RB 27 kap.",
            RequestType::Preservation => "RB 27 kap. 16 a § (bevarandeföreläggande)",
            RequestType::Abuse => "GDPR art. 6.1 f (network and information security)",
            RequestType::Access => "GDPR art. 15 (the data subject's right of access)",
            RequestType::Restriction => "GDPR art. 18 (begränsning av behandling)",
            RequestType::Erasure => "GDPR art. 17 (radering)",
            RequestType::Rectification => "GDPR art. 16 (rättelse)",
        }
    }

    /// The purpose whose retention classes this request may read.
    pub fn purpose(self) -> super::Purpose {
        match self {
            RequestType::Ipred => super::Purpose::Ipred,
            RequestType::LawEnforcement | RequestType::Preservation => {
                super::Purpose::LawEnforcement
            }
            RequestType::Abuse => super::Purpose::Abuse,
            RequestType::Access
            | RequestType::Restriction
            | RequestType::Erasure
            | RequestType::Rectification => super::Purpose::Access,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Registered,
    Approved,
    Executed,
    Disclosed,
    Rejected,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Registered => "registered",
            State::Approved => "approved",
            State::Executed => "executed",
            State::Disclosed => "disclosed",
            State::Rejected => "rejected",
        }
    }
}

/// One thing the order names, as the order gives it. Exactly one of: an address (and port) at a
/// time, an address (and port) during a window, a telephone number during a window, or (an
/// access request's only item) a subscriber identifier.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriber: Option<String>,
}

/// A scope item, checked and parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Point {
        ip: IpAddr,
        port: Option<u16>,
        at: UnixSecs,
    },
    Window {
        ip: IpAddr,
        port: Option<u16>,
        from: UnixSecs,
        to: UnixSecs,
    },
}

/// A parsed item: an address target, or a number and its window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Address(Target),
    Calls {
        number: String,
        from: UnixSecs,
        to: UnixSecs,
    },
    /// The data subject of an access request.
    Subscriber(String),
}

/// Longest window an item may name: an order naming more is a request for bulk data.
pub const MAX_WINDOW_SECS: i64 = 31 * 86_400;

impl ScopeItem {
    /// Parses the item; the error says what is wrong (no personal data in it).
    pub fn parse(&self) -> Result<Parsed, String> {
        if let Some(sub) = &self.subscriber {
            let alone = self.addr.is_none()
                && self.port.is_none()
                && self.at.is_none()
                && self.from.is_none()
                && self.to.is_none()
                && self.number.is_none();
            if !alone {
                return Err("a subscriber item names the subscriber and nothing else".into());
            }
            if sub.trim().is_empty() || sub.len() > 256 || sub.chars().any(char::is_control) {
                return Err("subscriber: 1-256 characters without control characters".into());
            }
            return Ok(Parsed::Subscriber(sub.trim().to_string()));
        }
        let time = |field: &str, v: &Option<String>| -> Result<Option<UnixSecs>, String> {
            v.as_deref()
                .map(|s| parse_time(s.trim()).map_err(|e| format!("{field}: {e}")))
                .transpose()
        };
        let at = time("at", &self.at)?;
        let from = time("from", &self.from)?;
        let to = time("to", &self.to)?;
        let window = match (from, to) {
            (Some(f), Some(t)) if t < f => return Err("`to` is before `from`".into()),
            (Some(f), Some(t)) if t - f > MAX_WINDOW_SECS => {
                return Err(format!(
                    "the window is longer than {} days",
                    MAX_WINDOW_SECS / 86_400
                ))
            }
            (Some(f), Some(t)) => Some((f, t)),
            (None, None) => None,
            _ => return Err("a window needs both `from` and `to`".into()),
        };
        match (&self.addr, &self.number) {
            (Some(_), Some(_)) => Err("give `addr` or `number`, not both".into()),
            (None, None) => Err("an item needs `addr` (with `at` or a window) or `number`".into()),
            (Some(a), None) => {
                let ip: IpAddr = a
                    .trim()
                    .parse()
                    .map_err(|_| "addr is not an IPv4 or IPv6 address".to_string())?;
                match (at, window) {
                    (Some(at), None) => Ok(Parsed::Address(Target::Point {
                        ip,
                        port: self.port,
                        at,
                    })),
                    (None, Some((from, to))) => Ok(Parsed::Address(Target::Window {
                        ip,
                        port: self.port,
                        from,
                        to,
                    })),
                    (Some(_), Some(_)) => Err("give `at` or a window, not both".into()),
                    (None, None) => Err("an address item needs `at` or `from`/`to`".into()),
                }
            }
            (None, Some(n)) => {
                if self.port.is_some() || at.is_some() {
                    return Err("a number item takes `from` and `to` only".into());
                }
                let norm = crate::store::cdr::normalize_number(n);
                if norm.is_empty() {
                    return Err("number is not a telephone number".into());
                }
                let (from, to) = window.ok_or("a number item needs `from` and `to`")?;
                Ok(Parsed::Calls {
                    number: norm,
                    from,
                    to,
                })
            }
        }
    }
}

/// What a legal officer registers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub request_type: String,
    pub authority: String,
    pub case_number: String,
    #[serde(default)]
    pub decision_date: Option<String>,
    #[serde(default)]
    pub legal_force_date: Option<String>,
    #[serde(default)]
    pub deadline: Option<String>,
    /// SHA-256 (hex) of the scanned order.
    #[serde(default)]
    pub order_sha256: String,
    #[serde(default)]
    pub notes: String,
    pub scope: Vec<ScopeItem>,
    /// Preservation only: keep the scoped records until this date (YYYY-MM-DD).
    #[serde(default)]
    pub preserve_until: Option<String>,
    /// IPRED only: the rights holder who applied for the order, the party the data is
    /// disclosed to (what a data subject is told as the recipient, GDPR art. 15(1)(c)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<String>,
    /// Restriction only (and required there): the restriction ends with this day
    /// (YYYY-MM-DD, Stockholm) unless lifted before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrict_until: Option<String>,
    /// Rectification only (and required there): the corrected fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<Correction>,
}

pub use crate::identity::Correction;

/// The request types whose order comes from outside the ISP with a decision and a scan.
fn external(kind: Option<RequestType>) -> bool {
    !matches!(kind, Some(k) if k == RequestType::Abuse || k.subject_right())
}

/// A problem with one field of a request; every problem is reported at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub reason: String,
}

fn date_ok(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// Items one case may name at most.
pub const MAX_ITEMS: usize = 1_000;

impl NewCase {
    /// Checks every field; returns the request type and parsed items, or every problem.
    pub fn validate(&self) -> Result<(RequestType, Vec<Parsed>), Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, reason: &str| {
            problems.push(FieldProblem {
                field: field.into(),
                reason: reason.into(),
            })
        };
        let kind = RequestType::parse(&self.request_type);
        if kind.is_none() {
            bad(
                "request_type",
                "must be ipred, law_enforcement, preservation, abuse, access, restriction, \
                 erasure or rectification",
            );
        }
        if self.authority.trim().is_empty() {
            bad("authority", "name the issuing authority");
        }
        if self.case_number.trim().is_empty() {
            bad("case_number", "give the authority's case number");
        }
        for (field, v) in [
            ("decision_date", &self.decision_date),
            ("legal_force_date", &self.legal_force_date),
            ("deadline", &self.deadline),
            ("preserve_until", &self.preserve_until),
            ("restrict_until", &self.restrict_until),
        ] {
            if let Some(d) = v {
                if !date_ok(d) {
                    bad(field, "must be a date YYYY-MM-DD");
                }
            }
        }
        if external(kind) {
            if self.decision_date.is_none() {
                bad("decision_date", "an order has a decision date");
            }
            let h = self.order_sha256.trim();
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                bad(
                    "order_sha256",
                    "must be the 64-hex-digit SHA-256 of the scanned order",
                );
            }
        }
        if kind == Some(RequestType::Preservation) && self.preserve_until.is_none() {
            bad("preserve_until", "a preservation order says until when");
        }
        if kind != Some(RequestType::Preservation) && self.preserve_until.is_some() {
            bad("preserve_until", "only a preservation order has this");
        }
        let restriction = kind == Some(RequestType::Restriction);
        if restriction && self.restrict_until.is_none() {
            bad("restrict_until", "a restriction says until when");
        }
        if !restriction && self.restrict_until.is_some() {
            bad("restrict_until", "only a restriction has this");
        }
        if restriction && self.notes.trim().is_empty() {
            bad(
                "notes",
                "a restriction states its reason (the dispute examined)",
            );
        }
        match (&self.correction, kind == Some(RequestType::Rectification)) {
            (None, true) => bad("correction", "a rectification gives the corrected fields"),
            (Some(_), false) => bad("correction", "only a rectification has this"),
            (Some(c), true) => {
                if c.names().is_empty() {
                    bad("correction", "correct at least one field");
                }
                for (name, v) in c.fields() {
                    if v.is_some_and(|v| v.trim().is_empty() || v.chars().any(char::is_control)) {
                        bad(
                            &format!("correction.{name}"),
                            "not empty, without control characters",
                        );
                    }
                }
            }
            (None, false) => {}
        }
        if let Some(a) = &self.applicant {
            if kind != Some(RequestType::Ipred) {
                bad("applicant", "only an IPRED order names an applicant");
            } else if a.trim().is_empty() || a.len() > 256 || a.chars().any(char::is_control) {
                bad("applicant", "1-256 characters without control characters");
            }
        }
        if self.scope.is_empty() {
            bad("scope", "name at least one item");
        }
        if self.scope.len() > MAX_ITEMS {
            bad("scope", "more than 1000 items");
        }
        let access = kind.is_some_and(RequestType::subject_right);
        if access && self.scope.len() > 1 {
            bad("scope", "a data subject's request names one subscriber");
        }
        let mut parsed = Vec::new();
        for (i, item) in self.scope.iter().enumerate() {
            match item.parse() {
                Ok(p) => {
                    if kind == Some(RequestType::Ipred) && matches!(p, Parsed::Calls { .. }) {
                        bad(
                            &format!("scope[{i}]"),
                            "an IPRED order covers IP addresses, not call records",
                        );
                    }
                    if access != matches!(p, Parsed::Subscriber(_)) {
                        bad(
                            &format!("scope[{i}]"),
                            "a data subject's request names a subscriber, and only it names one",
                        );
                    }
                    parsed.push(p);
                }
                Err(reason) => bad(&format!("scope[{i}]"), &reason),
            }
        }
        match (kind, problems.is_empty()) {
            (Some(k), true) => Ok((k, parsed)),
            _ => Err(problems),
        }
    }
}

/// An audited override of the fields an IPRED disclosure shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Extra identity fields: any of `personal_number`, `customer_id`.
    pub fields: Vec<String>,
    pub reason: String,
}

pub const OVERRIDE_FIELDS: [&str; 2] = ["personal_number", "customer_id"];

/// One step in a case's life: who, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub action: String,
    pub by: String,
    /// The employee id of the person behind `by` (absent in cases stored before persons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    pub at: UnixSecs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Who takes a step: the user name (shown on the report) and the person's employee id (what
/// four-eyes compares).
#[derive(Debug, Clone, Copy)]
pub struct Officer<'a> {
    pub name: &'a str,
    pub person: &'a str,
}

impl<'a> From<&'a crate::legal::auth::Principal> for Officer<'a> {
    fn from(p: &'a crate::legal::auth::Principal) -> Self {
        Officer {
            name: &p.name,
            person: &p.person,
        }
    }
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub request: NewCase,
    pub state: State,
    pub created_by: String,
    /// The employee id of the registrar's person (absent in cases stored before persons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_person: Option<String>,
    pub created_at: UnixSecs,
    pub steps: Vec<Step>,
    /// Set while protected identities in the answer wait for a second approval.
    #[serde(default)]
    pub hold: Option<String>,
    #[serde(default)]
    pub override_fields: Option<Override>,
    /// The executed answers (the disclosure), one per scope item.
    #[serde(default)]
    pub results: Vec<crate::report::ReportItem>,
    /// Audit sequence numbers of the lookups behind `results`.
    #[serde(default)]
    pub audit_seqs: Vec<u64>,
    /// The report as first disclosed (canonical JSON), so every later copy is the same document.
    #[serde(default)]
    pub report_json: Option<String>,
    #[serde(default)]
    pub report_seq: Option<u64>,
    #[serde(default)]
    pub disclosed_at: Option<UnixSecs>,
    /// An access request's extract, as it was first made (held like `results`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<serde_json::Value>,
    /// The preservation case registered because this case's data would leave retention
    /// before it is due (`Service::preserve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preservation: Option<String>,
    /// For such a preservation case: the case whose data it keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserves: Option<String>,
    /// IPRED: the notices owed to the subscribers the disclosure named (URL 53 h §), made
    /// when the report is first disclosed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<super::notice::Notice>,
    /// The compensation ledger's entries of this disclosure (one per category), made when
    /// the report is first disclosed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ledger: Vec<super::ledger::Entry>,
    /// A rectification, once executed: what was corrected and whom to tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rectified: Option<Rectified>,
    /// An erasure, once executed: its signed deletion certificate (GDPR art. 17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<serde_json::Value>,
}

/// What an executed rectification did (GDPR art. 16, 19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rectified {
    /// The names of the corrected fields (never their values).
    pub fields: Vec<String>,
    /// The third parties the subscriber's data was disclosed to, who are told of the
    /// correction (art. 19).
    pub recipients: Vec<super::recipients::Recipient>,
}

/// What a call to lift a restriction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lift {
    /// The first officer asked; the restriction holds until a second person lifts it.
    Requested,
    /// A second person lifted it.
    Lifted,
}

/// Why a case operation was refused. `code()` is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("the request is invalid: {}", list(.0))]
    Invalid(Vec<FieldProblem>),
    #[error("no case {0}")]
    NotFound(String),
    #[error("the case is {0}; this needs it {1}")]
    WrongState(&'static str, &'static str),
    #[error("four-eyes: the officer who {0} the case cannot also {1} it")]
    FourEyes(&'static str, &'static str),
    #[error("the item is outside the case's scope: {0}")]
    OutOfScope(String),
    #[error("the order has not gained legal force (legal_force_date {0})")]
    NotInForce(String),
    #[error("protected identity in the answer: a second legal officer must release it first")]
    Held,
    #[error("this request type does not allow {0}")]
    NotForThisType(&'static str),
    #[error("the case is a {0} request: its purpose is {1}")]
    PurposeMismatch(&'static str, &'static str),
    #[error("the case has expired ({0}): nothing more may be looked up in it")]
    Expired(String),
}

fn list(p: &[FieldProblem]) -> String {
    p.iter()
        .map(|p| format!("{}: {}", p.field, p.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

impl CaseError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            CaseError::Invalid(_) => ErrorKind::CaseInvalid,
            CaseError::NotFound(_) => ErrorKind::CaseNotFound,
            CaseError::WrongState(..) => ErrorKind::CaseWrongState,
            CaseError::FourEyes(..) => ErrorKind::CaseFourEyes,
            CaseError::OutOfScope(_) => ErrorKind::CaseOutOfScope,
            CaseError::NotInForce(_) => ErrorKind::CaseNotInForce,
            CaseError::Held => ErrorKind::CaseHeldProtectedIdentity,
            CaseError::NotForThisType(_) => ErrorKind::CaseNotForThisType,
            CaseError::PurposeMismatch(..) => ErrorKind::CasePurposeMismatch,
            CaseError::Expired(_) => ErrorKind::CaseExpired,
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

impl Case {
    /// A newly registered case.
    pub fn registered(id: String, request: NewCase, by: &str, at: UnixSecs) -> Case {
        Case {
            id,
            request,
            state: State::Registered,
            created_by: by.to_string(),
            created_by_person: None,
            created_at: at,
            steps: Vec::new(),
            hold: None,
            override_fields: None,
            results: Vec::new(),
            audit_seqs: Vec::new(),
            report_json: None,
            report_seq: None,
            disclosed_at: None,
            extract: None,
            preservation: None,
            preserves: None,
            notices: Vec::new(),
            ledger: Vec::new(),
            rectified: None,
            certificate: None,
        }
    }

    pub fn request_type(&self) -> RequestType {
        RequestType::parse(&self.request.request_type).unwrap_or(RequestType::Abuse)
    }

    /// Whether `by` did the step `action` last: the same user name, or the same person.
    fn did(&self, action: &str, by: &Officer) -> bool {
        let last = if action == "registered" {
            Some((self.created_by.as_str(), self.created_by_person.as_deref()))
        } else {
            self.steps
                .iter()
                .rev()
                .find(|s| s.action == action)
                .map(|s| (s.by.as_str(), s.person.as_deref()))
        };
        last.is_some_and(|(name, person)| name == by.name || person == Some(by.person))
    }

    fn step(&mut self, action: &str, by: &Officer, at: UnixSecs, reason: Option<String>) {
        self.steps.push(Step {
            action: action.into(),
            by: by.name.into(),
            person: Some(by.person.into()),
            at,
            reason,
        });
    }

    /// Four-eyes approval: a legal officer who is another person than the registrar.
    pub fn approve(&mut self, by: &Officer, at: UnixSecs) -> Result<(), CaseError> {
        if self.state != State::Registered {
            return Err(CaseError::WrongState(self.state.as_str(), "registered"));
        }
        if self.did("registered", by) {
            return Err(CaseError::FourEyes("registered", "approve"));
        }
        self.state = State::Approved;
        self.step("approved", by, at, None);
        Ok(())
    }

    pub fn reject(&mut self, by: &Officer, at: UnixSecs, reason: String) -> Result<(), CaseError> {
        if self.state != State::Registered {
            return Err(CaseError::WrongState(self.state.as_str(), "registered"));
        }
        if self.did("registered", by) {
            return Err(CaseError::FourEyes("registered", "reject"));
        }
        self.state = State::Rejected;
        self.step("rejected", by, at, Some(reason));
        Ok(())
    }

    /// The instant after which the case runs no more: the end of its deadline day (Swedish
    /// time), or without a deadline `max_lifetime_secs` after its registration.
    pub fn expires_at(&self, max_lifetime_secs: i64) -> UnixSecs {
        let deadline = self.request.deadline.as_deref().and_then(|d| {
            let day = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
            let next = day.succ_opt()?.and_hms_opt(0, 0, 0)?;
            let local = next
                .and_local_timezone(chrono_tz::Europe::Stockholm)
                .earliest()?;
            Some(local.timestamp() - 1)
        });
        deadline.unwrap_or(self.created_at.saturating_add(max_lifetime_secs))
    }

    /// Whether lookups may run at `now` (the day `today` in Sweden): approved (or executed and
    /// not yet disclosed), not past its deadline or maximum lifetime, and for an external
    /// order, in force.
    pub fn check_runnable(
        &self,
        today: chrono::NaiveDate,
        now: UnixSecs,
        max_lifetime_secs: i64,
    ) -> Result<(), CaseError> {
        if !matches!(self.state, State::Approved | State::Executed) {
            return Err(CaseError::WrongState(self.state.as_str(), "approved"));
        }
        if now > self.expires_at(max_lifetime_secs) {
            return Err(CaseError::Expired(match &self.request.deadline {
                Some(d) => format!("deadline {d}"),
                None => format!("{} days after registration", max_lifetime_secs / 86_400),
            }));
        }
        if self.request_type() == RequestType::Preservation {
            return Err(CaseError::NotForThisType(
                "lookups (a preservation order only holds data)",
            ));
        }
        if self.request_type() == RequestType::Ipred {
            match &self.request.legal_force_date {
                Some(d) => {
                    let in_force = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map(|d| d <= today)
                        .unwrap_or(false);
                    if !in_force {
                        return Err(CaseError::NotInForce(d.clone()));
                    }
                }
                None => return Err(CaseError::NotInForce("not set".into())),
            }
        }
        Ok(())
    }

    /// Records the execution; `held` when a protected identity waits for release.
    pub fn executed(
        &mut self,
        by: &Officer,
        at: UnixSecs,
        results: Vec<crate::report::ReportItem>,
        seqs: Vec<u64>,
        held: bool,
    ) {
        self.results = results;
        self.audit_seqs = seqs;
        self.state = State::Executed;
        self.hold = held.then(|| "protected_identity".to_string());
        self.step("executed", by, at, None);
    }

    /// Second approval for a held answer: a legal officer who is another person than the one
    /// who executed it.
    pub fn release(&mut self, by: &Officer, at: UnixSecs) -> Result<(), CaseError> {
        if self.state != State::Executed || self.hold.is_none() {
            return Err(CaseError::WrongState(
                self.state.as_str(),
                "executed and held",
            ));
        }
        if self.did("executed", by) {
            return Err(CaseError::FourEyes("executed", "release"));
        }
        self.hold = None;
        self.step("released", by, at, None);
        Ok(())
    }

    /// Whether a second officer lifted this restriction.
    pub fn lifted(&self) -> bool {
        self.steps.iter().any(|s| s.action == "lifted")
    }

    /// The instant a restriction ends by its date: the end (Stockholm) of `restrict_until`.
    pub fn restriction_ends_at(&self) -> Option<UnixSecs> {
        let day =
            chrono::NaiveDate::parse_from_str(self.request.restrict_until.as_deref()?, "%Y-%m-%d")
                .ok()?;
        crate::calendar::day_end(day)
    }

    /// Whether this case is a restriction in force at `now`: executed, not lifted, and its
    /// `restrict_until` day not over.
    pub fn restriction_in_force(&self, now: UnixSecs) -> bool {
        self.request_type() == RequestType::Restriction
            && self.state == State::Executed
            && !self.lifted()
            && self.restriction_ends_at().is_some_and(|end| now < end)
    }

    /// Lifting a restriction (GDPR art. 18(3)), four eyes: the first legal officer asks
    /// (`lift_requested`), a second person lifts it (`lifted`). Only an executed restriction
    /// not lifted yet; who asked cannot also lift.
    pub fn request_lift(
        &mut self,
        by: &Officer,
        at: UnixSecs,
        reason: String,
    ) -> Result<Lift, CaseError> {
        if self.request_type() != RequestType::Restriction {
            return Err(CaseError::NotForThisType(
                "lifting (only a restriction is lifted)",
            ));
        }
        if self.state != State::Executed {
            return Err(CaseError::WrongState(self.state.as_str(), "executed"));
        }
        if self.lifted() {
            return Err(CaseError::WrongState("lifted", "executed and not lifted"));
        }
        if self.steps.iter().any(|s| s.action == "lift_requested") {
            if self.did("lift_requested", by) {
                return Err(CaseError::FourEyes("asked to lift", "lift"));
            }
            self.step("lifted", by, at, Some(reason));
            return Ok(Lift::Lifted);
        }
        self.step("lift_requested", by, at, Some(reason));
        Ok(Lift::Requested)
    }

    /// Whether the case's scope names this address lookup.
    pub fn covers(&self, ip: IpAddr, port: Option<u16>, at: UnixSecs) -> Result<(), CaseError> {
        for item in &self.request.scope {
            let Ok(Parsed::Address(t)) = item.parse() else {
                continue;
            };
            let (iip, iport, from, to) = match t {
                Target::Point { ip, port, at } => (ip, port, at, at),
                Target::Window { ip, port, from, to } => (ip, port, from, to),
            };
            if iip == ip && (iport.is_none() || iport == port) && (from..=to).contains(&at) {
                return Ok(());
            }
        }
        Err(CaseError::OutOfScope(
            "no scope item names this address, port and time".into(),
        ))
    }

    /// Whether the case's scope names these calls (the number, within an item's window).
    pub fn covers_calls(
        &self,
        number: &str,
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<(), CaseError> {
        let n = crate::store::cdr::normalize_number(number);
        for item in &self.request.scope {
            if let Ok(Parsed::Calls {
                number,
                from: f,
                to: t,
            }) = item.parse()
            {
                if number == n && f <= from && to <= t {
                    return Ok(());
                }
            }
        }
        Err(CaseError::OutOfScope(
            "no scope item names this number and window".into(),
        ))
    }

    /// The approvals as a report lists them.
    pub fn approvals(&self) -> Vec<crate::report::Approval> {
        let mut v = vec![crate::report::Approval {
            action: "registered".into(),
            by: self.created_by.clone(),
            at: self.created_at,
            reason: None,
        }];
        v.extend(self.steps.iter().map(|s| crate::report::Approval {
            action: s.action.clone(),
            by: s.by.clone(),
            at: s.at,
            reason: s.reason.clone(),
        }));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn ipred() -> NewCase {
        NewCase {
            request_type: "ipred".into(),
            authority: "Patent- och marknadsdomstolen".into(),
            case_number: "PMÄ 1234-26".into(),
            decision_date: Some("2026-11-02".into()),
            legal_force_date: Some("2026-11-16".into()),
            deadline: Some("2026-12-01".into()),
            order_sha256: "ab".repeat(32),
            notes: String::new(),
            scope: vec![ScopeItem {
                addr: Some("203.0.113.7".into()),
                port: Some(40000),
                at: Some("2026-11-20T10:15:00+01:00".into()),
                ..ScopeItem::default()
            }],
            preserve_until: None,
            applicant: None,
            restrict_until: None,
            correction: None,
        }
    }

    fn case(req: NewCase) -> Case {
        let mut c = Case::registered("C-2026-0001".into(), req, "alice", 0);
        c.created_by_person = Some("E-alice".into());
        c
    }

    /// An officer whose employee id is `E-<name>` (or `E-<person>` for `name/person`).
    fn by(who: &'static str) -> Officer<'static> {
        let (name, person) = who.split_once('/').unwrap_or((who, who));
        Officer {
            name,
            person: Box::leak(format!("E-{person}").into_boxed_str()),
        }
    }

    const NOW: UnixSecs = 1_795_600_000; // 2026-11-25
    const MAX: i64 = 90 * 86_400;

    #[test]
    fn every_bad_field_is_named_at_once() {
        let req = NewCase {
            request_type: "fishing".into(),
            authority: " ".into(),
            case_number: String::new(),
            decision_date: Some("20/11/2026".into()),
            order_sha256: "xyz".into(),
            scope: vec![
                ScopeItem {
                    addr: Some("203.0.113.300".into()),
                    at: Some("2026-11-20T10:00:00Z".into()),
                    ..ScopeItem::default()
                },
                ScopeItem {
                    addr: Some("203.0.113.1".into()),
                    at: Some("2026-11-20 10:00:00".into()),
                    ..ScopeItem::default()
                },
                ScopeItem {
                    number: Some("+46701234567".into()),
                    from: Some("2026-11-20T10:00:00Z".into()),
                    to: Some("2026-11-19T10:00:00Z".into()),
                    ..ScopeItem::default()
                },
            ],
            ..NewCase::default()
        };
        let fields: Vec<String> = req
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        for f in [
            "request_type",
            "authority",
            "case_number",
            "decision_date",
            "order_sha256",
            "scope[0]",
            "scope[1]",
            "scope[2]",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn ipred_may_not_name_call_records_and_preservation_needs_an_end() {
        let mut req = ipred();
        req.scope.push(ScopeItem {
            number: Some("070-123 45 67".into()),
            from: Some("2026-11-20T10:00:00Z".into()),
            to: Some("2026-11-20T11:00:00Z".into()),
            ..ScopeItem::default()
        });
        let p = req.validate().unwrap_err();
        assert_eq!(p[0].field, "scope[1]");
        let mut pres = ipred();
        pres.request_type = "preservation".into();
        assert_eq!(pres.validate().unwrap_err()[0].field, "preserve_until");
        assert!(ipred().validate().is_ok());
    }

    #[test]
    fn only_an_ipred_order_names_its_applicant() {
        let mut req = ipred();
        req.applicant = Some("Rättighetshavaren AB".into());
        assert!(req.validate().is_ok());
        req.applicant = Some("  ".into());
        assert_eq!(req.validate().unwrap_err()[0].field, "applicant");
        let mut le = ipred();
        le.request_type = "law_enforcement".into();
        le.applicant = Some("Rättighetshavaren AB".into());
        assert_eq!(le.validate().unwrap_err()[0].field, "applicant");
        // Absent, it is not written at all (cases stored before it read back the same).
        let v = serde_json::to_value(ipred()).unwrap();
        assert!(v.get("applicant").is_none());
    }

    #[test]
    fn four_eyes_and_the_state_machine() {
        let mut c = case(ipred());
        assert_eq!(
            c.approve(&by("alice"), 1).unwrap_err().code(),
            "case.four_eyes"
        );
        assert_eq!(
            c.reject(&by("alice"), 1, "x".into()).unwrap_err().code(),
            "case.four_eyes"
        );
        // Another user name of the same person is the same pair of eyes.
        assert_eq!(
            c.approve(&by("alice-2/alice"), 1).unwrap_err().code(),
            "case.four_eyes"
        );
        c.approve(&by("bob"), 2).unwrap();
        assert_eq!(
            c.approve(&by("carol"), 3).unwrap_err().code(),
            "case.wrong_state"
        );
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        c.check_runnable(today, NOW, MAX).unwrap();
        c.executed(&by("alice"), 4, vec![], vec![], true);
        assert_eq!(
            c.release(&by("alice"), 5).unwrap_err().code(),
            "case.four_eyes"
        );
        assert_eq!(
            c.release(&by("al/alice"), 5).unwrap_err().code(),
            "case.four_eyes"
        );
        c.release(&by("bob"), 5).unwrap();
        assert!(c.hold.is_none());
        assert_eq!(
            c.release(&by("carol"), 6).unwrap_err().code(),
            "case.wrong_state"
        );
    }

    #[test]
    fn a_case_stored_without_persons_still_compares_user_names() {
        let mut c = Case::registered("C-2026-0001".into(), ipred(), "alice", 0);
        assert_eq!(
            c.approve(&by("alice"), 1).unwrap_err().code(),
            "case.four_eyes"
        );
        c.approve(&by("bob"), 1).unwrap();
    }

    #[test]
    fn a_case_expires_after_its_deadline_day_or_its_maximum_lifetime() {
        let mut c = case(ipred());
        c.approve(&by("bob"), 1).unwrap();
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        // Deadline 2026-12-01: the whole day in Sweden (UTC+1) is still inside it.
        let last = parse_time("2026-12-01T22:59:59Z").unwrap();
        c.check_runnable(day(1), last, MAX).unwrap();
        let err = c.check_runnable(day(2), last + 1, MAX).unwrap_err();
        assert_eq!(err.code(), "case.expired");
        c.request.deadline = None;
        c.check_runnable(day(2), MAX, MAX).unwrap();
        assert_eq!(
            c.check_runnable(day(2), MAX + 1, MAX).unwrap_err().code(),
            "case.expired"
        );
    }

    #[test]
    fn an_access_request_names_one_subscriber_and_nothing_else() {
        let access = |scope: Vec<ScopeItem>| NewCase {
            request_type: "access".into(),
            authority: "the data subject".into(),
            case_number: "DSAR-1".into(),
            scope,
            ..NewCase::default()
        };
        let sub = |s: &str| ScopeItem {
            subscriber: Some(s.into()),
            ..ScopeItem::default()
        };
        let (kind, parsed) = access(vec![sub("sub-1")]).validate().unwrap();
        assert_eq!(kind, RequestType::Access);
        assert_eq!(parsed, vec![Parsed::Subscriber("sub-1".into())]);
        assert!(access(vec![sub("a"), sub("b")]).validate().is_err());
        assert!(access(ipred().scope).validate().is_err());
        let mut le = ipred();
        le.scope.push(sub("sub-1"));
        assert_eq!(le.validate().unwrap_err()[0].field, "scope[1]");
    }

    #[test]
    fn a_restriction_says_until_when_and_why_and_a_rectification_what_is_corrected() {
        let subject = |kind: &str, extra: serde_json::Value| -> NewCase {
            let mut v = serde_json::json!({"request_type": kind, "authority": "the data subject",
                "case_number": "DSR-1", "scope": [{"subscriber": "sub-1"}]});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            serde_json::from_value(v).unwrap()
        };
        let fields = |r: NewCase| -> Vec<String> {
            r.validate()
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.field)
                .collect()
        };
        let ok = subject(
            "restriction",
            serde_json::json!({"restrict_until": "2026-12-31", "notes": "disputed"}),
        );
        assert_eq!(ok.validate().unwrap().0, RequestType::Restriction);
        // Without its date and reason: both named at once.
        assert_eq!(
            fields(subject("restriction", serde_json::json!({}))),
            vec!["restrict_until", "notes"]
        );
        assert_eq!(
            fields(subject(
                "restriction",
                serde_json::json!({"restrict_until": "31/12", "notes": "x"})
            )),
            vec!["restrict_until"]
        );
        assert_eq!(
            fields(subject(
                "erasure",
                serde_json::json!({"restrict_until": "2026-12-31"})
            )),
            vec!["restrict_until"]
        );
        assert!(subject("erasure", serde_json::json!({})).validate().is_ok());
        // A rectification: a correction with at least one field, none empty.
        assert_eq!(
            fields(subject("rectification", serde_json::json!({}))),
            vec!["correction"]
        );
        assert_eq!(
            fields(subject(
                "rectification",
                serde_json::json!({"correction": {}})
            )),
            vec!["correction"]
        );
        assert_eq!(
            fields(subject(
                "rectification",
                serde_json::json!({"correction": {"name": " ", "city": "Lund"}})
            )),
            vec!["correction.name"]
        );
        assert!(subject(
            "rectification",
            serde_json::json!({"correction": {"city": "Lund"}})
        )
        .validate()
        .is_ok());
        assert_eq!(
            fields(subject(
                "access",
                serde_json::json!({"correction": {"city": "Lund"}})
            )),
            vec!["correction"]
        );
        // An unknown correction field is not a correction.
        let bad: Result<NewCase, _> = serde_json::from_value(serde_json::json!({
            "request_type": "rectification", "authority": "a", "case_number": "1",
            "scope": [], "correction": {"shoe_size": "44"}}));
        assert!(bad.is_err());
        // Each names its one subscriber, internal: no decision date, no scan.
        for kind in ["restriction", "erasure", "rectification"] {
            let k = RequestType::parse(kind).unwrap();
            assert!(k.subject_right() && !external(Some(k)));
            let mut two = subject(kind, serde_json::json!({}));
            two.scope.push(two.scope[0].clone());
            assert!(fields(two).contains(&"scope".to_string()), "{kind}");
            let mut addr = subject(kind, serde_json::json!({}));
            addr.scope = ipred().scope;
            assert!(fields(addr).contains(&"scope[0]".to_string()), "{kind}");
        }
    }

    #[test]
    fn a_restriction_is_lifted_by_two_persons_and_ends_with_its_day() {
        let mut c = case(ipred());
        c.request.request_type = "restriction".into();
        c.request.restrict_until = Some("2026-11-30".into());
        assert_eq!(
            c.request_lift(&by("bob"), 1, "x".into())
                .unwrap_err()
                .code(),
            "case.wrong_state"
        );
        c.approve(&by("bob"), 1).unwrap();
        c.executed(&by("bob"), 2, vec![], vec![], false);
        let end = parse_time("2026-11-30T23:00:00Z").unwrap();
        assert!(c.restriction_in_force(end - 1));
        assert!(!c.restriction_in_force(end), "the day ended in Stockholm");
        assert_eq!(
            c.request_lift(&by("carol"), 3, "settled".into()),
            Ok(Lift::Requested)
        );
        assert!(c.restriction_in_force(3));
        assert_eq!(
            c.request_lift(&by("carol-2/carol"), 4, "x".into())
                .unwrap_err()
                .code(),
            "case.four_eyes"
        );
        assert_eq!(
            c.request_lift(&by("alice"), 5, "ok".into()),
            Ok(Lift::Lifted)
        );
        assert!(c.lifted() && !c.restriction_in_force(6));
        assert_eq!(
            c.request_lift(&by("dan"), 7, "x".into())
                .unwrap_err()
                .code(),
            "case.wrong_state"
        );
        let mut le = case(ipred());
        assert_eq!(
            le.request_lift(&by("bob"), 1, "x".into())
                .unwrap_err()
                .code(),
            "case.not_for_this_type"
        );
    }

    #[test]
    fn an_ipred_order_runs_only_once_in_force() {
        let mut c = case(ipred());
        c.approve(&by("bob"), 1).unwrap();
        let before = chrono::NaiveDate::from_ymd_opt(2026, 11, 15).unwrap();
        assert_eq!(
            c.check_runnable(before, NOW, MAX).unwrap_err().code(),
            "case.not_in_force"
        );
        let mut registered = case(ipred());
        let after = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(
            registered
                .check_runnable(after, NOW, MAX)
                .unwrap_err()
                .code(),
            "case.wrong_state"
        );
        registered
            .reject(&by("bob"), 1, "no legal basis".into())
            .unwrap();
        assert_eq!(registered.state, State::Rejected);
    }

    #[test]
    fn scope_is_exact_address_port_and_time() {
        let mut req = ipred();
        req.scope.push(ScopeItem {
            addr: Some("198.51.100.9".into()),
            from: Some("2026-11-20T10:00:00Z".into()),
            to: Some("2026-11-20T11:00:00Z".into()),
            ..ScopeItem::default()
        });
        let c = case(req);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let t = |s: &str| parse_time(s).unwrap();
        let at = t("2026-11-20T09:15:00Z");
        assert!(c.covers(ip("203.0.113.7"), Some(40000), at).is_ok());
        assert!(
            c.covers(ip("203.0.113.8"), Some(40000), at).is_err(),
            "other address"
        );
        assert!(
            c.covers(ip("203.0.113.7"), Some(40001), at).is_err(),
            "other port"
        );
        assert!(
            c.covers(ip("203.0.113.7"), None, at).is_err(),
            "port dropped"
        );
        assert!(
            c.covers(ip("203.0.113.7"), Some(40000), at + 1).is_err(),
            "other time"
        );
        let w = ip("198.51.100.9");
        assert!(c.covers(w, None, t("2026-11-20T10:30:00Z")).is_ok());
        assert!(
            c.covers(w, Some(5), t("2026-11-20T10:30:00Z")).is_ok(),
            "any port in an address item without port"
        );
        assert!(
            c.covers(w, None, t("2026-11-20T11:00:01Z")).is_err(),
            "widened window"
        );
    }
}
