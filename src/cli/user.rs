//! `tdr user`: users and their bearer tokens, managed by administrators through the daemon
//! (audited there before anything changes). A new user's token works once a second
//! administrator, another person, approves them.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;
use tdr::config::Config;
use tdr::legal::auth::Role;

use super::client::{seg, Client};
use super::Failure;

#[derive(Subcommand)]
pub enum UserCmd {
    /// Add a user for a person; prints the token once (it is not stored). The user is
    /// pending until a second administrator approves.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: Role,
        /// The person's full name: four eyes compare persons, not user names.
        #[arg(long)]
        person: String,
        /// The person's employee id.
        #[arg(long)]
        employee_id: String,
    },
    /// Approve a pending user (a second administrator, not the one who added them).
    Approve { name: String },
    /// Revoke a user's token at once.
    Revoke { name: String },
    /// A new one-time desk password (the second factor is enrolled again at the next sign-in);
    /// the user waits for a second administrator's approval again.
    ResetPassword { name: String },
    /// Users, their roles, persons and states.
    List,
}

pub fn run(cfg: &Config, cmd: UserCmd) -> Result<ExitCode, Failure> {
    let client = Client::new(cfg)?;
    match cmd {
        UserCmd::Add {
            name,
            role,
            person,
            employee_id,
        } => {
            let body = json!({"name": name, "role": role.as_str(),
                              "person": {"name": person, "employee_id": employee_id}});
            let v = client.json("POST", "/v1/users", Some(&body))?;
            println!("{}", v["token"].as_str().unwrap_or_default());
            eprintln!(
                "user {name} added with role {} (state {}); its token (above) is not stored and \
                 cannot be shown again; a second administrator approves it with `tdr user \
                 approve {name}`",
                role.as_str(),
                v["state"].as_str().unwrap_or("pending")
            );
            print_desk_password(&v);
        }
        UserCmd::Approve { name } => {
            client.json("POST", &format!("/v1/users/{}/approve", seg(&name)), None)?;
            println!("user {name} approved");
        }
        UserCmd::ResetPassword { name } => {
            let v = client.json(
                "POST",
                &format!("/v1/users/{}/reset-password", seg(&name)),
                None,
            )?;
            print_desk_password(&v);
            eprintln!(
                "user {name}: second factor cleared; pending until a second administrator \
                 approves (`tdr user approve {name}`)"
            );
        }
        UserCmd::Revoke { name } => {
            client.json("POST", &format!("/v1/users/{}/revoke", seg(&name)), None)?;
            println!("user {name} revoked");
        }
        UserCmd::List => {
            let v = client.json("GET", "/v1/users", None)?;
            for u in v["users"].as_array().into_iter().flatten() {
                let s = |k: &str| u[k].as_str().unwrap_or("-").to_string();
                println!(
                    "{}\t{}\t{}\t{} ({})",
                    s("name"),
                    s("role"),
                    s("state"),
                    u["person"]["name"].as_str().unwrap_or("-"),
                    u["person"]["employee_id"].as_str().unwrap_or("-"),
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The desk's one-time password, for the person to sign in with once (on stderr: stdout is the
/// token, which scripts read).
pub(super) fn print_desk_password(v: &serde_json::Value) {
    if let Some(pw) = v["desk_password"].as_str() {
        eprintln!(
            "desk password: {pw}\n(one-time: the person chooses their own and enrols a second \
             factor at the first sign-in to the desk)"
        );
    }
}
