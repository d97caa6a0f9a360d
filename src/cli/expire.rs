//! `tdr expire`: drops the day partitions past their retention period, audited.

use std::process::ExitCode;
use std::sync::Arc;

use tdr::audit::AuditLog;
use tdr::clock::Clock;
use tdr::config::Config;
use tdr::store::retention;
use tdr::store::Store;

use super::{actor, op, Failure};

pub fn run(cfg: &Config, clock: &Arc<dyn Clock>) -> Result<ExitCode, Failure> {
    let store = Store::open(cfg).map_err(op("store"))?;
    let mut audit = AuditLog::open(&cfg.data_dir, clock.clone()).map_err(op("audit"))?;
    let now = clock.now();
    let dropped = tdr::legal::holds(&cfg.data_dir, now)
        .map_err(|e| retention::ExpireError::Holds(e.to_string()))
        .and_then(|holds| retention::expire(&store, &mut audit, cfg, now, &actor(), &holds))
        .map_err(|e| Failure::Operational(format!("[{}] {e}", e.code())))?;
    audit.checkpoint().map_err(op("audit"))?;
    if dropped.is_empty() {
        println!("no partition is past its retention period");
    }
    for p in dropped {
        println!("dropped {} ({} records)", p.name, p.records);
    }
    Ok(ExitCode::SUCCESS)
}
