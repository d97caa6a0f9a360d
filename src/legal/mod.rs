//! Legal requests: the request types the law allows, the purpose matrix saying which
//! retention classes each may read (invariant 6), cases with scope and four-eyes approval,
//! users and roles, and the disclosure service that joins traffic and identity data for an
//! approved case only (invariant 5). HTTP lives in `api/`.

pub mod auth;
pub mod case;
pub mod files;
pub mod policy;
pub mod register;
pub mod service;
pub mod users;

pub use service::Service;

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
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Ipred => "ipred",
            Purpose::LawEnforcement => "law_enforcement",
            Purpose::Abuse => "abuse",
        }
    }

    /// The purpose matrix: the retention classes a purpose may read.
    pub fn readable_classes(self) -> &'static [Class] {
        match self {
            // An IPRED order may only use data the ISP keeps for its own purposes.
            Purpose::Ipred => &[Class::Security, Class::Billing],
            Purpose::LawEnforcement => &[Class::Security, Class::Billing, Class::Statutory],
            Purpose::Abuse => &[Class::Security],
        }
    }

    /// Whether answers name the subscriber identifier or only a keyed pseudonym.
    pub fn reveals_subscriber_id(self) -> bool {
        !matches!(self, Purpose::Abuse)
    }
}

/// The time ranges active preservation orders hold: every address or number item of an
/// approved (or executed) preservation case whose `preserve_until` date has not passed, widened
/// by a day on each side so the partitions around an item are kept whole.
pub fn holds(
    data_dir: &Path,
    now: UnixSecs,
) -> Result<Vec<(UnixSecs, UnixSecs)>, files::RegisterError> {
    let mut out = Vec::new();
    for c in register::list(data_dir)? {
        if c.request_type() != case::RequestType::Preservation
            || !matches!(c.state, case::State::Approved | case::State::Executed)
        {
            continue;
        }
        let until = c
            .request
            .preserve_until
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|d| d.and_utc().timestamp());
        if until.is_none_or(|u| u < now) {
            continue;
        }
        for item in &c.request.scope {
            let range = match item.parse() {
                Ok(case::Parsed::Address(case::Target::Point { at, .. })) => (at, at),
                Ok(case::Parsed::Address(case::Target::Window { from, to, .. }))
                | Ok(case::Parsed::Calls { from, to, .. }) => (from, to),
                Err(_) => continue,
            };
            out.push((range.0 - 86_400, range.1 + 86_400));
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
        assert!(Purpose::Ipred.reveals_subscriber_id());
    }
}
