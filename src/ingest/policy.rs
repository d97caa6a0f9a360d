//! Opening the store for writing with its retention policy sealed by the appliance's key:
//! what the daemon and the offline import do, so a configuration with another retention is
//! refused instead of making expired data readable again (or dropping data early).

use std::sync::Arc;

use crate::audit::{AuditLog, Sealer};
use crate::clock::Clock;
use crate::config::Config;
use crate::store::{PolicySeal, Store};

struct AuditSeal(Sealer);

impl PolicySeal for AuditSeal {
    fn sign(&self, policy: &[u8]) -> Vec<u8> {
        self.0.sign(policy)
    }

    fn verify(&self, policy: &[u8], signature: &[u8]) -> bool {
        self.0.verify(policy, signature)
    }
}

/// Opens the store of `cfg` for writing, its retention policy recorded and signed on first
/// use and held against `cfg` after that. The audit log is opened (and released) first, so
/// its keys exist on a first start. Errors carry their stable code: `store.retention_mismatch`,
/// `store.retention_unsigned`, `audit.*` when the key cannot be read, `store.open_failed`.
pub fn open_store(cfg: &Config, clock: Arc<dyn Clock>) -> Result<Store, (&'static str, String)> {
    // A log that cannot be opened now (busy, corrupt) is the caller's to report; only the key
    // matters here.
    let _ = AuditLog::open(&cfg.data_dir, clock).map(drop);
    let sealer = Sealer::load(&cfg.data_dir).map_err(|e| (e.code(), e.to_string()))?;
    Store::open_sealed(cfg, &AuditSeal(sealer)).map_err(|e| (e.code(), e.to_string()))
}
