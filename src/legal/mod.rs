//! Legal requests: the request types the law allows and the purpose matrix saying which
//! retention classes each may read (invariant 6). Cases, scope and four-eyes approval build on
//! this; HTTP lives in `api/`.

use crate::model::Class;

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
