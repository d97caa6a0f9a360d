//! Who may do what: the role × operation matrix, in one table that the HTTP API, the CLI, the
//! OpenAPI document and the tests all read.

use super::auth::Role;

/// Every operation a user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    CaseCreate,
    CaseList,
    CaseGet,
    CaseApprove,
    CaseReject,
    CaseExecute,
    CaseRelease,
    CaseReport,
    CaseLookup,
    AbuseLookup,
    AccessExtract,
    AuditRead,
    AuditVerify,
    Statistics,
    Health,
    Metrics,
    QuarantineSummary,
    QuarantineRaw,
    Import,
}

impl Op {
    pub const ALL: [Op; 19] = [
        Op::CaseCreate,
        Op::CaseList,
        Op::CaseGet,
        Op::CaseApprove,
        Op::CaseReject,
        Op::CaseExecute,
        Op::CaseRelease,
        Op::CaseReport,
        Op::CaseLookup,
        Op::AbuseLookup,
        Op::AccessExtract,
        Op::AuditRead,
        Op::AuditVerify,
        Op::Statistics,
        Op::Health,
        Op::Metrics,
        Op::QuarantineSummary,
        Op::QuarantineRaw,
        Op::Import,
    ];

    /// The action name in audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::CaseCreate => "case_create",
            Op::CaseList => "case_list",
            Op::CaseGet => "case_get",
            Op::CaseApprove => "case_approve",
            Op::CaseReject => "case_reject",
            Op::CaseExecute => "case_execute",
            Op::CaseRelease => "case_release",
            Op::CaseReport => "case_report",
            Op::CaseLookup => "case_lookup",
            Op::AbuseLookup => "abuse_lookup",
            Op::AccessExtract => "access_extract",
            Op::AuditRead => "audit_read",
            Op::AuditVerify => "audit_verify",
            Op::Statistics => "statistics",
            Op::Health => "health",
            Op::Metrics => "metrics",
            Op::QuarantineSummary => "quarantine_read",
            Op::QuarantineRaw => "quarantine_show_raw",
            Op::Import => "import_handoff",
        }
    }

    /// The roles allowed to do it.
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Op::CaseCreate
            | Op::CaseList
            | Op::CaseGet
            | Op::CaseApprove
            | Op::CaseReject
            | Op::CaseExecute
            | Op::CaseRelease
            | Op::CaseReport
            | Op::CaseLookup
            | Op::AccessExtract => &[Legal],
            Op::AbuseLookup => &[Security],
            Op::AuditRead | Op::AuditVerify | Op::Statistics => &[Auditor],
            // They carry no personal data; everyone, ops included, may see them.
            Op::Health | Op::Metrics => &[Legal, Security, Auditor, Ops],
            // Sources, codes, reasons and counts: what ops needs to fix a producer.
            Op::QuarantineSummary => &[Ops, Legal, Security],
            // Raw log lines hold subscriber ids and addresses.
            Op::QuarantineRaw => &[Legal],
            // Handing logs in makes evidence: the people who run the appliance, audited.
            Op::Import => &[Ops],
        }
    }

    pub fn allows(self, role: Role) -> bool {
        self.roles().contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_sees_only_health_and_metrics_and_security_never_a_case() {
        for op in Op::ALL {
            assert_eq!(
                op.allows(Role::Ops),
                matches!(
                    op,
                    Op::Health | Op::Metrics | Op::QuarantineSummary | Op::Import
                ),
                "{op:?}"
            );
            if op.as_str().starts_with("case_") || op == Op::AccessExtract {
                assert!(!op.allows(Role::Security), "{op:?}");
                assert!(!op.allows(Role::Auditor), "{op:?}");
            }
        }
        assert!(Op::AbuseLookup.allows(Role::Security));
        assert!(!Op::AbuseLookup.allows(Role::Legal));
        assert!(!Op::AuditRead.allows(Role::Legal));
    }
}
