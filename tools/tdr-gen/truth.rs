//! The ground-truth record: one line of `truth.jsonl` per real binding (who really held which
//! address, prefix or CGNAT port block, and when), written by `generate` and read by `queries`.
//! Times are the real holding times, whether or not the logs show them.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum TruthKind {
    Session,
    Lease,
    Nat,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EndCause {
    /// Session ended and its Stop was logged.
    Stop,
    /// Lease or CGNAT port block released, and the release was logged.
    Release,
    /// Lease lapsed at its logged `expires` (an `expire` event may or may not be logged).
    Expiry,
    /// The NAS rebooted; its `nas_reboot` event is the only evidence of the end.
    NasReboot,
    /// Session ended but its Stop was never logged.
    LostStop,
    /// Still held when the run ended (`end` is the end of the run).
    StillOpen,
    /// Session ended and its Stop was sent, but the RADIUS server receives it only after the
    /// end of the run (`stop_received`): the logs do not have it (yet).
    StopPending,
}

impl EndCause {
    /// Whether the logs contain the exact end time (for a binding the logs show at all: see
    /// [`TruthRecord::unlogged`]).
    pub fn end_logged(self) -> bool {
        matches!(self, EndCause::Stop | EndCause::Release | EndCause::Expiry)
    }
}

/// One real binding.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TruthRecord {
    pub kind: TruthKind,
    /// The address or prefix (sessions, leases) or the public address (nat).
    pub target: String,
    /// Who held it; `None` for nat blocks (their inside address is attributed by the
    /// session truth).
    pub subscriber: Option<String>,
    /// Nat only: public address, port range "lo-hi" and inside address.
    pub public: Option<String>,
    pub ports: Option<String>,
    pub inside: Option<String>,
    /// Sessions only: RADIUS session id and NAS.
    pub session: Option<String>,
    pub nas: Option<String>,
    /// Real start and end of the holding (RFC 3339).
    pub start: String,
    pub end: String,
    /// Until when the logs prove the binding: the last logged event of a session (Stop,
    /// or the last Interim when the end is not logged), the end of a lease or nat block.
    pub confirmed_until: String,
    pub start_logged: bool,
    pub end_logged: bool,
    pub end_cause: EndCause,
    /// Sessions logged without Interim-Updates (Start and Stop only; `--no-interim-share`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_interim: bool,
    /// Sessions whose Stop reached the RADIUS server late (a NAS retransmitting it, with
    /// `Acct-Delay-Time` the delay): when it did. Within the run the Stop is in the logs of
    /// that day (`end_cause` `stop`), after it not (`end_cause` `stop_pending`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_received: Option<String>,
    /// Sessions of an unattributed CGNAT subscriber's inside address
    /// (`--cgnat-unattributed-share`): no log shows this binding at all (`start_logged` and
    /// `end_logged` false, `confirmed_until` = `start`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub unlogged: bool,
    /// Nat blocks whose inside address is such an unlogged one: the logs show the block but
    /// nobody holding its inside address, so a port in it can only be `inside_unknown`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub inside_unlogged: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}
