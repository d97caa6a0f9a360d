//! `tdr user`: users and their bearer tokens, managed by an admin through the legal service
//! (each change audited before it is made).

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use serde_json::json;
use tdr::clock::Clock;
use tdr::config::Config;
use tdr::legal::users::{Person, Role};

use super::{print_json, with_service, Failure};

#[derive(Subcommand)]
pub enum UserCmd {
    /// Add a user for a person; prints their bearer token once (only its hash is stored).
    /// Every role but ops waits for a second admin's approval.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: Role,
        /// The person's full name.
        #[arg(long)]
        person: String,
        /// The person's employee id (what four-eyes compares).
        #[arg(long)]
        employee_id: String,
    },
    /// Approve a pending user (a second admin: not the one who added it).
    Approve { name: String },
    /// Revoke a user's token (the user stays listed, for the audit trail).
    Revoke { name: String },
    /// List users, their roles, persons and states.
    List,
}

pub fn run(cfg: &Config, clock: &Arc<dyn Clock>, cmd: UserCmd) -> Result<ExitCode, Failure> {
    match cmd {
        UserCmd::Add {
            name,
            role,
            person,
            employee_id,
        } => {
            let person = Person {
                name: person,
                employee_id,
            };
            let t = with_service(cfg, clock, |svc, who| {
                svc.user_add(who, &name, role, person)
            })?;
            println!("{}", t.token);
            eprintln!(
                "user {name} added with role {}{}; its token (above) is not stored and cannot \
                 be shown again",
                role.as_str(),
                if t.pending {
                    ", pending a second admin's approval"
                } else {
                    ""
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::Approve { name } => {
            let v = with_service(cfg, clock, |svc, who| svc.user_approve(who, &name))?;
            print_json(&v)
        }
        UserCmd::Revoke { name } => {
            let v = with_service(cfg, clock, |svc, who| svc.user_revoke(who, &name))?;
            print_json(&v)
        }
        UserCmd::List => {
            let v = with_service(cfg, clock, |svc, who| svc.user_list(who))?;
            print_json(&json!({"users": v}))
        }
    }
}
