//! `tdr audit`: the audit log's own commands.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use tdr::config::Config;
use tdr::legal::service::{verify_audit_copy, verify_certificate_file, ExpectedHead};

use super::client::{seg, Client};
use super::{out_err, Failure};

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Re-walk the hash chain and signed checkpoints; name the first bad entry. Runs without
    /// the daemon and without the private key: only the public key and a readable copy of the
    /// log are needed. With --expect-head, also fails (audit.truncated, audit.forked) on a log
    /// that does not extend a head recorded earlier.
    Verify(VerifyArgs),
    /// Check a deletion certificate (an erasure case's `certificate`, or the case's JSON that
    /// holds it) against the appliance's public key, without the daemon.
    VerifyCertificate {
        /// The certificate (JSON)
        file: PathBuf,
        /// The audit public key (64 hex characters) [default: keys/audit-signing.pub]
        #[arg(long, value_name = "FILE")]
        pubkey: Option<PathBuf>,
    },
    /// The statistics of the requests registered in a period (the auditor's): by type and
    /// authority, outcome, items by attribution status, time to answer (median, p90) and late
    /// ones. Through the daemon, audited.
    Stats {
        /// The first Swedish day (YYYY-MM-DD) or an RFC 3339 time [default: the beginning]
        #[arg(long)]
        from: Option<String>,
        /// The last Swedish day (YYYY-MM-DD, included) or an RFC 3339 time (excluded)
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value = "json", value_parser = ["json", "csv"])]
        format: String,
    },
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The audit public key (64 hex characters, the `public_key` of `GET /v1/audit/head`), held
    /// apart from the box [default: the data directory's keys/audit-signing.pub]
    #[arg(long, value_name = "FILE")]
    pubkey: Option<PathBuf>,
    /// A head recorded earlier (from `GET /v1/audit/head` or the journal's
    /// `tdr::audit::anchor` events): the log must reach SEQ with this HASH
    #[arg(long, value_name = "SEQ:HASH")]
    expect_head: Option<ExpectedHead>,
    /// The audit directory to read (segments and checkpoints.log; a copy will do)
    /// [default: the data directory's audit/]
    #[arg(long, value_name = "DIR")]
    audit_dir: Option<PathBuf>,
}

pub fn run(cfg: &Config, cmd: AuditCmd) -> Result<ExitCode, Failure> {
    match cmd {
        AuditCmd::Verify(args) => Ok(verify(cfg, args)),
        AuditCmd::VerifyCertificate { file, pubkey } => {
            match verify_certificate_file(&cfg.data_dir, pubkey.as_deref(), &file) {
                Ok(case) => {
                    println!("deletion certificate intact: case {case}, signed by this key");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("tdr: deletion certificate verification FAILED: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        AuditCmd::Stats { from, to, format } => {
            let mut path = format!("/v1/statistics?format={format}");
            for (k, v) in [("from", from), ("to", to)] {
                if let Some(v) = v {
                    path.push_str(&format!("&{k}={}", seg(&v)));
                }
            }
            let a = Client::new(cfg)?.call("GET", &path, None)?;
            std::io::stdout()
                .lock()
                .write_all(&a.body)
                .map_err(out_err)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn verify(cfg: &Config, args: VerifyArgs) -> ExitCode {
    let expect = args.expect_head.as_ref();
    match verify_audit_copy(
        &cfg.data_dir,
        args.pubkey.as_deref(),
        args.audit_dir.as_deref(),
        expect,
    ) {
        Ok(r) => {
            print!(
                "audit log intact: {} entries, {} signed checkpoints, head seq {} hash {}",
                r.entries, r.checkpoints, r.head_seq, r.head_hash
            );
            match expect {
                Some(h) => println!("; extends the recorded head {h}"),
                None => println!(),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tdr: audit log verification FAILED: {e}");
            ExitCode::from(1)
        }
    }
}
