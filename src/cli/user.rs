//! `tdr user`: users and their bearer tokens; every change is audited before it is made.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use serde_json::json;
use tdr::clock::Clock;
use tdr::config::Config;
use tdr::legal::users::{Role, Users};

use super::{audit_admin, op, Failure};

#[derive(Subcommand)]
pub enum UserCmd {
    /// Add a user; prints their bearer token once (only its hash is stored).
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Revoke a user's token (the user stays listed, for the audit trail).
    Revoke { name: String },
    /// List users, their roles and whether they are revoked.
    List,
}

pub fn run(cfg: &Config, clock: &Arc<dyn Clock>, cmd: UserCmd) -> Result<ExitCode, Failure> {
    let now = clock.now();
    match cmd {
        UserCmd::Add { name, role } => {
            audit_admin(
                cfg,
                clock,
                "user_add",
                json!({"user": name, "role": role.as_str()}),
            )?;
            let token = Users::add(&cfg.data_dir, &name, role, now)
                .map_err(|e| Failure::BadInput(format!("[{}] {e}", e.code())))?;
            println!("{token}");
            eprintln!(
                "user {name} added with role {}; its token (above) is not stored and cannot be \
                 shown again",
                role.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::Revoke { name } => {
            audit_admin(cfg, clock, "user_revoke", json!({"user": name}))?;
            Users::revoke(&cfg.data_dir, &name, now)
                .map_err(|e| Failure::BadInput(format!("[{}] {e}", e.code())))?;
            println!("user {name} revoked");
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::List => {
            let users = Users::load(&cfg.data_dir).map_err(op("users"))?;
            for (name, u) in &users.users {
                println!(
                    "{name}\t{}\t{}",
                    u.role.as_str(),
                    if u.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
