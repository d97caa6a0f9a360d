//! `tdr admin bootstrap`: the first administrators, created by the service user on the box
//! (the daemon checks the socket peer's uid is its own), audited. Once two administrators
//! exist, users are added only by administrators, with four eyes.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;
use tdr::config::Config;

use super::client::Client;
use super::Failure;

#[derive(Subcommand)]
pub enum AdminCmd {
    /// Create one of the first two administrators (run as the service user, daemon running);
    /// prints their token once.
    Bootstrap {
        name: String,
        /// The person's full name (the two first administrators are two persons).
        #[arg(long)]
        person: String,
        /// The person's employee id.
        #[arg(long)]
        employee_id: String,
    },
}

pub fn run(cfg: &Config, cmd: AdminCmd) -> Result<ExitCode, Failure> {
    match cmd {
        AdminCmd::Bootstrap {
            name,
            person,
            employee_id,
        } => {
            let body =
                json!({"name": name, "person": {"name": person, "employee_id": employee_id}});
            let v = Client::new(cfg)?.json("POST", "/v1/admin/bootstrap", Some(&body))?;
            println!("{}", v["token"].as_str().unwrap_or_default());
            eprintln!(
                "administrator {name} created; the token (above) is shown once and not stored"
            );
            super::user::print_desk_password(&v);
            Ok(ExitCode::SUCCESS)
        }
    }
}
