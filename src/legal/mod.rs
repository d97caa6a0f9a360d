//! Legal requests: the request types the law allows, the purpose matrix saying which
//! retention classes each may read (invariant 6), cases with scope and four-eyes approval,
//! users and roles, and the disclosure service that joins traffic and identity data for an
//! approved case only (invariant 5). HTTP lives in `api/`.

pub mod auth;
pub mod backup;
pub mod case;
pub mod due;
pub mod files;
pub mod ledger;
pub mod notice;
pub mod policy;
pub mod recipients;
pub mod register;
pub mod service;
pub mod signin;
pub mod stats;
pub mod totp;
pub mod users;

pub use service::Service;

use std::net::IpAddr;
use std::path::Path;

use crate::model::{Class, UnixSecs};

/// Why data is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Court order under the Copyright Act 53 c § (IPRED, informationsföreläggande).
    Ipred,
    /// Law-enforcement request (LEK 2022:482 ch. 9, RB 27 kap.).
    LawEnforcement,
    /// The ISP's own abuse investigation: internal pseudonym only, never identity.
    Abuse,
    /// A data subject's access request (GDPR art. 15): everything held about them.
    #[value(skip)]
    Access,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Ipred => "ipred",
            Purpose::LawEnforcement => "law_enforcement",
            Purpose::Abuse => "abuse",
            Purpose::Access => "access",
        }
    }

    /// The purpose matrix: the retention classes a purpose may read.
    pub fn readable_classes(self) -> &'static [Class] {
        match self {
            // An IPRED order may only use data the ISP keeps for its own purposes.
            Purpose::Ipred => &[Class::Security, Class::Billing],
            Purpose::LawEnforcement => &[Class::Security, Class::Billing, Class::Statutory],
            Purpose::Abuse => &[Class::Security],
            Purpose::Access => &Class::ALL,
        }
    }

    /// Whether a restriction of processing (GDPR art. 18) limits this purpose: the ISP's own
    /// uses (abuse handling, answering an IPRED order) do; law enforcement does not.
    pub fn restrictable(self) -> bool {
        matches!(self, Purpose::Ipred | Purpose::Abuse)
    }

    /// Whether answers name the subscriber identifier or only a keyed pseudonym.
    pub fn reveals_subscriber_id(self) -> bool {
        !matches!(self, Purpose::Abuse)
    }
}

/// What a law-enforcement lookup asks about, to find the preservation items that name it.
#[derive(Debug, Clone, Copy)]
pub enum Asked<'a> {
    Address { ip: IpAddr, port: Option<u16> },
    Calls { number: &'a str },
}

/// The preservation orders in force at `now`: approved (or executed) preservation cases whose
/// `preserve_until` date has not passed.
fn active_preservations(
    data_dir: &Path,
    now: UnixSecs,
) -> Result<Vec<case::Case>, files::RegisterError> {
    let mut out = register::list(data_dir)?;
    out.retain(|c| {
        let until = c
            .request
            .preserve_until
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|d| d.and_utc().timestamp());
        c.request_type() == case::RequestType::Preservation
            && matches!(c.state, case::State::Approved | case::State::Executed)
            && until.is_some_and(|u| u >= now)
    });
    Ok(out)
}

/// The subscribers under a restriction of processing (GDPR art. 18) in force at `now`: the
/// executed restriction cases not lifted whose `restrict_until` day has not ended. Read once
/// per operation (every case file).
pub fn restricted_subscribers(
    data_dir: &Path,
    now: UnixSecs,
) -> Result<std::collections::HashSet<String>, files::RegisterError> {
    Ok(register::list(data_dir)?
        .iter()
        .filter(|c| c.restriction_in_force(now))
        .flat_map(|c| c.request.scope.iter())
        .filter_map(|item| match item.parse() {
            Ok(case::Parsed::Subscriber(s)) => Some(s),
            _ => None,
        })
        .collect())
}

/// Whether `subscriber` is under a restriction in force at `now` (see
/// [`restricted_subscribers`]).
pub fn restricted(
    data_dir: &Path,
    subscriber: &str,
    now: UnixSecs,
) -> Result<bool, files::RegisterError> {
    Ok(restricted_subscribers(data_dir, now)?.contains(subscriber))
}

/// An item's time range (first, last second).
fn item_range(p: &case::Parsed) -> Option<(UnixSecs, UnixSecs)> {
    match p {
        case::Parsed::Address(case::Target::Point { at, .. }) => Some((*at, *at)),
        case::Parsed::Address(case::Target::Window { from, to, .. })
        | case::Parsed::Calls { from, to, .. } => Some((*from, *to)),
        case::Parsed::Subscriber(_) => None,
    }
}

/// The time ranges whose partitions retention keeps: every address or number item of an
/// active preservation order, widened by a day on each side so the partitions around an item
/// are kept whole. (What a lookup may read of them is narrower: see [`held_items`].)
pub fn holds(
    data_dir: &Path,
    now: UnixSecs,
) -> Result<Vec<(UnixSecs, UnixSecs)>, files::RegisterError> {
    Ok(active_preservations(data_dir, now)?
        .iter()
        .flat_map(|c| c.request.scope.iter())
        .filter_map(|item| item_range(&item.parse().ok()?))
        .map(|(from, to)| (from - 86_400, to + 86_400))
        .collect())
}

/// What a preservation hold admits past retention for one lookup: the time ranges of the
/// active preservation items that name exactly what is asked (the address, with the item's
/// port if it names one, or the number). A hold opens its own case's items, never the days
/// around them to other addresses or numbers.
pub fn held_items(
    data_dir: &Path,
    now: UnixSecs,
    asked: Asked<'_>,
) -> Result<Vec<(UnixSecs, UnixSecs)>, files::RegisterError> {
    let mut out = Vec::new();
    for c in active_preservations(data_dir, now)? {
        for item in &c.request.scope {
            let Ok(parsed) = item.parse() else { continue };
            let names_it = match (&parsed, asked) {
                (case::Parsed::Address(t), Asked::Address { ip, port }) => {
                    let (iip, iport) = match t {
                        case::Target::Point { ip, port, .. }
                        | case::Target::Window { ip, port, .. } => (*ip, *port),
                    };
                    iip == ip && (iport.is_none() || iport == port)
                }
                (case::Parsed::Calls { number, .. }, Asked::Calls { number: n }) => {
                    *number == crate::store::cdr::normalize_number(n)
                }
                _ => false,
            };
            if names_it {
                out.extend(item_range(&parsed));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purpose_matrix_cell_by_cell() {
        let cells = [
            (Purpose::Ipred, Class::Security, true),
            (Purpose::Ipred, Class::Billing, true),
            (Purpose::Ipred, Class::Statutory, false),
            (Purpose::LawEnforcement, Class::Security, true),
            (Purpose::LawEnforcement, Class::Billing, true),
            (Purpose::LawEnforcement, Class::Statutory, true),
            (Purpose::Abuse, Class::Security, true),
            (Purpose::Abuse, Class::Billing, false),
            (Purpose::Abuse, Class::Statutory, false),
        ];
        for (p, c, allowed) in cells {
            assert_eq!(p.readable_classes().contains(&c), allowed, "{p:?} × {c:?}");
        }
        assert!(!Purpose::Abuse.reveals_subscriber_id());
        assert!(Purpose::Ipred.restrictable() && Purpose::Abuse.restrictable());
        assert!(!Purpose::LawEnforcement.restrictable() && !Purpose::Access.restrictable());
        assert!(Purpose::Ipred.reveals_subscriber_id());
    }
}
