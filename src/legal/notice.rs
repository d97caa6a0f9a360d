//! The IPRED notice to the subscriber: who must be told, when, and where each notice stands.
//! Pure rules (no IO, no clock: every function takes the instant it works at).
//!
//! Upphovsrättslagen (1960:729) 53 h §: the operator that gave out information under an
//! *informationsföreläggande* (53 c §) notifies the person the information concerns in
//! writing, no earlier than one month and no later than three months after it gave it out.
//! The window is configurable (`[legal.notice] earliest`, `latest`) and computed on the
//! Stockholm calendar ([`crate::config::notice::after`]).
//!
//! A notice exists for each item of a disclosed IPRED report that named a subscriber (status
//! `found`, identity disclosed); never for any other request type: a law-enforcement
//! disclosure must not be revealed to the person it concerns, and abuse and access cases
//! disclose nothing to a third party. It is `waiting` before its window opens, `due` inside
//! it, `late` once it has closed unsent, and `sent` once a legal officer records the posting.
//! A protected identity (*skyddade personuppgifter*) holds the letter until a second legal
//! officer, another person than the one who asked for it, releases it.

use serde::{Deserialize, Serialize};

use super::case::{Officer, RequestType};
use crate::config::NoticeSettings;
use crate::error::ErrorKind;
use crate::model::UnixSecs;
use crate::report::ReportItem;

/// Where a notice stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Waiting,
    Due,
    Late,
    Sent,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Waiting, Status::Due, Status::Late, Status::Sent];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::Due => "due",
            Status::Late => "late",
            Status::Sent => "sent",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Who did something to a notice, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub by: String,
    /// The employee id of the person behind `by`: what four eyes compares.
    pub person: String,
    pub at: UnixSecs,
}

impl Mark {
    fn of(by: &Officer, at: UnixSecs) -> Mark {
        Mark {
            by: by.name.to_string(),
            person: by.person.to_string(),
            at,
        }
    }

    fn same_person(&self, by: &Officer) -> bool {
        self.by == by.name || self.person == by.person
    }
}

/// One letter made: when, by whom, and whether its window had closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Made {
    #[serde(flatten)]
    pub mark: Mark,
    pub late: bool,
    /// SHA-256 of the letter's text rendering (its audit entry carries the same).
    pub sha256: String,
}

/// The notice owed for one disclosed item, stored with its case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The report item (1-based) whose answer named the subscriber.
    pub item: u32,
    pub disclosed_at: UnixSecs,
    /// The window, fixed when the report was disclosed (a later change of the configuration
    /// does not move a window that was already running).
    pub opens_at: UnixSecs,
    pub closes_at: UnixSecs,
    /// The identity was protected when disclosed, or when a letter was asked for since.
    #[serde(default)]
    pub protected: bool,
    /// Who asked for the letter of a protected identity (so another person releases it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<Mark>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<Mark>,
    #[serde(default)]
    pub letters: Vec<Made>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<Mark>,
}

/// Why a notice operation was refused. `code()` is stable; no personal data in the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    #[error("the case has no notice for item {0}")]
    NotFound(u32),
    #[error("the notice's window opens at {0}: no letter before (URL 53 h §)")]
    NotYetOpen(String),
    #[error(
        "protected identity: the letter waits until a second legal officer releases it, and \
         goes through Skatteverket's forwarding"
    )]
    Held,
    #[error("the notice is {0}; this needs it {1}")]
    WrongState(&'static str, &'static str),
    #[error("four-eyes: the officer who asked for the letter cannot also release it")]
    FourEyes,
    #[error("{0}")]
    NoAddress(&'static str),
}

impl NoticeError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            NoticeError::NotFound(_) => ErrorKind::NoticeNotFound,
            NoticeError::NotYetOpen(_) => ErrorKind::NoticeNotYetOpen,
            NoticeError::Held => ErrorKind::NoticeHeldProtectedIdentity,
            NoticeError::WrongState(..) => ErrorKind::NoticeWrongState,
            NoticeError::FourEyes => ErrorKind::NoticeFourEyes,
            NoticeError::NoAddress(_) => ErrorKind::NoticeNoAddress,
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

/// Whether an item's answer named a subscriber to the applicant: found, identity disclosed.
pub fn names_subscriber(item: &ReportItem) -> bool {
    item.status == "found" && item.subscriber.is_some() && item.identity.is_some()
}

/// The notices a disclosure owes: one per item that named a subscriber, IPRED only.
pub fn owed(
    kind: RequestType,
    items: &[ReportItem],
    disclosed_at: UnixSecs,
    window: &NoticeSettings,
) -> Vec<Notice> {
    if kind != RequestType::Ipred {
        return Vec::new();
    }
    items
        .iter()
        .filter(|i| names_subscriber(i))
        .map(|i| Notice {
            item: i.number,
            disclosed_at,
            opens_at: crate::config::notice::after(disclosed_at, window.earliest),
            closes_at: crate::config::notice::after(disclosed_at, window.latest),
            protected: i.identity.as_ref().is_some_and(|d| d.protected_identity),
            requested: None,
            released: None,
            letters: Vec::new(),
            sent: None,
        })
        .collect()
}

impl Notice {
    /// Where it stands at `now`. The window includes its opening and closing instants.
    pub fn status(&self, now: UnixSecs) -> Status {
        if self.sent.is_some() {
            Status::Sent
        } else if now < self.opens_at {
            Status::Waiting
        } else if now <= self.closes_at {
            Status::Due
        } else {
            Status::Late
        }
    }

    /// Whether the protected identity's letter still waits for its release.
    pub fn held(&self) -> bool {
        self.protected && self.released.is_none()
    }

    /// Whether a letter may be made at `now`: refused before the window opens, and while a
    /// protected identity waits for its release; `Ok(late)` otherwise (after the window a
    /// letter is still made, marked late).
    pub fn may_write(&self, now: UnixSecs) -> Result<bool, NoticeError> {
        if now < self.opens_at {
            return Err(NoticeError::NotYetOpen(crate::model::fmt_time(
                self.opens_at,
            )));
        }
        if self.held() {
            return Err(NoticeError::Held);
        }
        Ok(now > self.closes_at)
    }

    /// Records that `by` asked for the letter of a protected identity (the first asker stays).
    pub fn request(&mut self, by: &Officer, at: UnixSecs) {
        self.protected = true;
        if self.requested.is_none() {
            self.requested = Some(Mark::of(by, at));
        }
    }

    /// The second officer's release: asked for first, by another person.
    pub fn release(&mut self, by: &Officer, at: UnixSecs) -> Result<(), NoticeError> {
        if !self.protected || self.released.is_some() {
            return Err(NoticeError::WrongState(
                if self.protected {
                    "released"
                } else {
                    "not held"
                },
                "held for a protected identity",
            ));
        }
        let Some(asker) = &self.requested else {
            return Err(NoticeError::WrongState(
                "not asked for",
                "asked for by a legal officer first",
            ));
        };
        if asker.same_person(by) {
            return Err(NoticeError::FourEyes);
        }
        self.released = Some(Mark::of(by, at));
        Ok(())
    }

    /// Records a letter made.
    pub fn made(&mut self, by: &Officer, at: UnixSecs, late: bool, sha256: String) {
        self.letters.push(Made {
            mark: Mark::of(by, at),
            late,
            sha256,
        });
    }

    /// Records the posting: once, and only of a letter that was made.
    pub fn mark_sent(&mut self, by: &Officer, at: UnixSecs) -> Result<(), NoticeError> {
        if self.sent.is_some() {
            return Err(NoticeError::WrongState("sent", "not sent yet"));
        }
        if self.letters.is_empty() {
            return Err(NoticeError::WrongState(
                "without a letter",
                "a letter made first",
            ));
        }
        self.sent = Some(Mark::of(by, at));
        Ok(())
    }
}

/// How many notices are due and late at `now` (for the metrics: counts only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub due: u64,
    pub late: u64,
}

impl Counts {
    pub fn of<'a>(notices: impl IntoIterator<Item = &'a Notice>, now: UnixSecs) -> Counts {
        let mut c = Counts::default();
        for n in notices {
            match n.status(now) {
                Status::Due => c.due += 1,
                Status::Late => c.late += 1,
                _ => {}
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Period;
    use crate::model::parse_time;
    use crate::report::{DisclosedIdentity, RecordStatus};

    fn t(s: &str) -> UnixSecs {
        parse_time(s).unwrap()
    }

    pub(crate) fn item(number: u32, status: &str, protected: bool) -> ReportItem {
        ReportItem {
            number,
            asked: serde_json::json!({"addr": "192.0.2.10", "at": "2026-01-31T10:00:00+01:00"}),
            at_utc: Some(t("2026-01-31T09:00:00Z")),
            window: None,
            status: status.into(),
            record_status: RecordStatus::Complete,
            subscriber: (status == "found").then(|| "sub-1".into()),
            identity: (status == "found").then(|| DisclosedIdentity {
                name: "Anna A".into(),
                street: Some("Gatan 1".into()),
                postal_code: Some("111 11".into()),
                city: Some("Ort".into()),
                customer_id: None,
                personal_number: None,
                protected_identity: protected,
            }),
            evidence: vec![],
            warnings: vec![],
        }
    }

    fn officer(name: &'static str, person: &'static str) -> Officer<'static> {
        Officer { name, person }
    }

    #[test]
    fn the_window_runs_one_to_three_calendar_months_in_stockholm_across_month_ends() {
        let w = NoticeSettings::default();
        // Disclosed 31 January 2026, 23:30 in Stockholm (22:30 UTC).
        let at = t("2026-01-31T22:30:00Z");
        let n = &owed(RequestType::Ipred, &[item(1, "found", false)], at, &w)[0];
        // One month on: February has no 31st, so the last day of February, same local time.
        assert_eq!(n.opens_at, t("2026-02-28T22:30:00Z"));
        // Three months on: 30 April has summer time (UTC+2), the local time is kept.
        assert_eq!(n.closes_at, t("2026-04-30T21:30:00Z"));
        assert_eq!(n.status(n.opens_at - 1), Status::Waiting);
        assert_eq!(n.status(n.opens_at), Status::Due);
        assert_eq!(n.status(n.closes_at), Status::Due);
        assert_eq!(n.status(n.closes_at + 1), Status::Late);
        assert_eq!(
            n.may_write(n.opens_at - 1).unwrap_err().code(),
            "notice.not_yet_open"
        );
        assert!(!n.may_write(n.opens_at).unwrap());
        assert!(n.may_write(n.closes_at + 1).unwrap(), "late, but made");
        // Days are calendar days: across the switch to summer time (29 March 2026) the
        // local time of day is kept, so the window is an hour shorter in UTC.
        let w = NoticeSettings {
            earliest: Period::Days(1),
            latest: Period::Days(30),
            ..NoticeSettings::default()
        };
        let n = &owed(
            RequestType::Ipred,
            &[item(1, "found", false)],
            t("2026-03-28T11:00:00Z"),
            &w,
        )[0];
        assert_eq!(n.opens_at, t("2026-03-29T10:00:00Z"));
        assert_eq!(n.closes_at, t("2026-04-27T10:00:00Z"));
    }

    #[test]
    fn only_ipred_items_that_named_a_subscriber_are_owed_a_notice() {
        let w = NoticeSettings::default();
        let items = [
            item(1, "found", false),
            item(2, "not_found", false),
            item(3, "ambiguous", false),
            item(4, "found", true),
        ];
        let owed_items: Vec<u32> = owed(RequestType::Ipred, &items, 0, &w)
            .iter()
            .map(|n| n.item)
            .collect();
        assert_eq!(owed_items, [1, 4]);
        // Found, but the register had no identity to disclose: nothing named.
        let mut bare = item(5, "found", false);
        bare.identity = None;
        assert!(owed(RequestType::Ipred, &[bare], 0, &w).is_empty());
        for kind in [
            RequestType::LawEnforcement,
            RequestType::Abuse,
            RequestType::Access,
            RequestType::Preservation,
        ] {
            assert!(owed(kind, &items, 0, &w).is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn a_protected_identity_waits_for_another_person_and_sent_is_recorded_once() {
        let w = NoticeSettings::default();
        let mut n = owed(RequestType::Ipred, &[item(1, "found", true)], 0, &w).remove(0);
        let open = n.opens_at;
        assert_eq!(
            n.may_write(open).unwrap_err().code(),
            "notice.held_protected_identity"
        );
        let anna = officer("anna", "E-anna");
        assert_eq!(
            n.release(&officer("bert", "E-bert"), open)
                .unwrap_err()
                .code(),
            "notice.wrong_state",
            "nobody asked for it yet"
        );
        n.request(&anna, open);
        n.request(&officer("bert", "E-bert"), open + 1);
        assert_eq!(
            n.requested.as_ref().unwrap().by,
            "anna",
            "the first asker stays"
        );
        // Anna under another user name is still Anna.
        assert_eq!(
            n.release(&officer("anna-2", "E-anna"), open)
                .unwrap_err()
                .code(),
            "notice.four_eyes"
        );
        assert_eq!(
            n.mark_sent(&anna, open).unwrap_err().code(),
            "notice.wrong_state",
            "no letter yet"
        );
        n.release(&officer("bert", "E-bert"), open + 5).unwrap();
        assert!(!n.held());
        assert!(!n.may_write(open + 6).unwrap());
        n.made(&anna, open + 6, false, "ab".into());
        n.mark_sent(&anna, open + 7).unwrap();
        assert_eq!(
            n.status(n.closes_at + 10),
            Status::Sent,
            "sent is never late"
        );
        assert_eq!(
            n.mark_sent(&anna, open + 8).unwrap_err().code(),
            "notice.wrong_state"
        );
        assert_eq!(Counts::of([&n], open), Counts::default());
    }
}
