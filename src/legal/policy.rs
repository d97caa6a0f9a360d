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
    /// Registering a preservation request for a case's data at risk of leaving retention.
    CasePreserve,
    /// Asking for, or (a second person) lifting, a restriction of processing (GDPR art. 18(3)).
    CaseLift,
    AbuseLookup,
    AccessExtract,
    /// The answer to an access request: the letter (registerutdrag) made from its extract.
    AccessLetter,
    AuditRead,
    AuditVerify,
    AuditHead,
    Statistics,
    Health,
    Metrics,
    QuarantineSummary,
    QuarantineRaw,
    Import,
    UserAdd,
    UserApprove,
    UserRevoke,
    UserList,
    UserReset,
    IdentityImport,
    AdminBootstrap,
    NoticeList,
    NoticeLetter,
    NoticeRelease,
    NoticeSent,
    LedgerExport,
    /// A backup of the sealed store, the registers and the audit log (never a key).
    BackupCreate,
    /// The key store's escrow: the wrapped keys, for safekeeping off the box.
    KeysExport,
    /// The deletion certificates of expired days.
    Certificates,
}

impl Op {
    pub const ALL: [Op; 38] = [
        Op::CaseCreate,
        Op::CaseList,
        Op::CaseGet,
        Op::CaseApprove,
        Op::CaseReject,
        Op::CaseExecute,
        Op::CaseRelease,
        Op::CaseReport,
        Op::CaseLookup,
        Op::CasePreserve,
        Op::CaseLift,
        Op::AbuseLookup,
        Op::AccessExtract,
        Op::AccessLetter,
        Op::AuditRead,
        Op::AuditVerify,
        Op::AuditHead,
        Op::Statistics,
        Op::Health,
        Op::Metrics,
        Op::QuarantineSummary,
        Op::QuarantineRaw,
        Op::Import,
        Op::UserAdd,
        Op::UserApprove,
        Op::UserRevoke,
        Op::UserList,
        Op::UserReset,
        Op::IdentityImport,
        Op::AdminBootstrap,
        Op::NoticeList,
        Op::NoticeLetter,
        Op::NoticeRelease,
        Op::NoticeSent,
        Op::LedgerExport,
        Op::BackupCreate,
        Op::KeysExport,
        Op::Certificates,
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
            Op::CasePreserve => "case_preserve",
            Op::CaseLift => "case_lift",
            Op::AbuseLookup => "abuse_lookup",
            Op::AccessExtract => "access_extract",
            Op::AccessLetter => "access_letter",
            Op::AuditRead => "audit_read",
            Op::AuditVerify => "audit_verify",
            Op::AuditHead => "audit_head",
            Op::Statistics => "statistics",
            Op::Health => "health",
            Op::Metrics => "metrics",
            Op::QuarantineSummary => "quarantine_read",
            Op::QuarantineRaw => "quarantine_show_raw",
            Op::Import => "import_handoff",
            Op::UserAdd => "user_add",
            Op::UserApprove => "user_approve",
            Op::UserRevoke => "user_revoke",
            Op::UserList => "user_list",
            Op::UserReset => "user_reset_password",
            Op::IdentityImport => "identity_import",
            Op::AdminBootstrap => "admin_bootstrap",
            Op::NoticeList => "notice_list",
            Op::NoticeLetter => "notice_letter",
            Op::NoticeRelease => "notice_release",
            Op::NoticeSent => "notice_sent",
            Op::LedgerExport => "ledger_export",
            Op::BackupCreate => "backup_create",
            Op::KeysExport => "keys_export",
            Op::Certificates => "certificates_read",
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
            | Op::CasePreserve
            | Op::CaseLift
            | Op::AccessExtract
            | Op::AccessLetter => &[Legal],
            Op::AbuseLookup => &[Security],
            Op::AuditRead | Op::AuditVerify | Op::Statistics => &[Auditor],
            // People and the identity register: the admin's job, and only the admin's.
            Op::UserAdd
            | Op::UserApprove
            | Op::UserRevoke
            | Op::UserList
            | Op::UserReset
            | Op::IdentityImport => &[Admin],
            // The signed head holds no personal data (a seq, a hash, a signature, the public
            // key), and every independent copy of it kept off the box makes a cut or re-signed
            // log harder to hide: the auditor records it, and legal officers and the security
            // team may keep their own. Not ops, who have the journal's anchor events instead.
            Op::AuditHead => &[Auditor, Legal, Security],
            // They carry no personal data; everyone, ops included, may see them.
            Op::Health | Op::Metrics => &[Legal, Security, Auditor, Ops, Admin],
            // Sources, codes, reasons and counts: what ops needs to fix a producer.
            Op::QuarantineSummary => &[Ops, Legal, Security],
            // Raw log lines hold subscriber ids and addresses.
            Op::QuarantineRaw => &[Legal],
            // Handing logs in makes evidence: the people who run the appliance, audited.
            Op::Import => &[Ops],
            // The service user on the box, by the socket's peer uid: no role has it.
            Op::AdminBootstrap => &[],
            // The IPRED notice reads the identity register and names a case: legal officers.
            Op::NoticeList | Op::NoticeLetter | Op::NoticeRelease | Op::NoticeSent => &[Legal],
            // The ledger names cases and authorities (that a law-enforcement request exists
            // is itself confidential): the legal officers who know the cases invoice them,
            // not the admin, who reads no case.
            Op::LedgerExport => &[Legal],
            // A backup holds sealed data and no key: the people who run the appliance.
            Op::BackupCreate => &[Ops, Admin],
            // The escrow holds every data key (wrapped by the master key): the admin's.
            Op::KeysExport => &[Admin],
            // Partitions, counts and key ids: the auditor's proof that days were forgotten.
            Op::Certificates => &[Auditor],
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
                    Op::Health
                        | Op::Metrics
                        | Op::QuarantineSummary
                        | Op::Import
                        // Sealed data, never a key.
                        | Op::BackupCreate
                ),
                "{op:?}"
            );
            if op.as_str().starts_with("case_") || op.as_str().starts_with("access_") {
                assert!(!op.allows(Role::Security), "{op:?}");
                assert!(!op.allows(Role::Auditor), "{op:?}");
            }
        }
        assert!(Op::AbuseLookup.allows(Role::Security));
        assert_eq!(Op::AccessLetter.roles(), [Role::Legal]);
        assert!(!Op::AbuseLookup.allows(Role::Legal));
        assert!(!Op::AuditRead.allows(Role::Legal));
        assert!(Op::AuditHead.allows(Role::Auditor));
        assert!(!Op::AuditHead.allows(Role::Ops));
    }

    #[test]
    fn only_admins_manage_users_and_the_identity_register_and_admins_read_no_data() {
        for op in Op::ALL {
            let admin_op = op.as_str().starts_with("user_")
                || op == Op::IdentityImport
                || op == Op::KeysExport;
            assert_eq!(op.roles() == [Role::Admin], admin_op, "{op:?}");
            // A backup is sealed data and holds no key: the admin may make one.
            if !admin_op && !matches!(op, Op::Health | Op::Metrics | Op::BackupCreate) {
                assert!(!op.allows(Role::Admin), "{op:?}");
            }
        }
    }
}
