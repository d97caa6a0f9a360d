//! Getting events into the store: the one [`pipeline`] (readers → applier → writer) that
//! `tdr serve` and `tdr import` share, the [`sources`] that feed it, the framing of raw input
//! into parsed [`frames`], and the [`quarantine`] where what does not parse is kept, with its
//! source, position and reason. Checkpoints are committed atomically with the data they cover.

pub mod frames;
pub mod handoff;
pub mod import;
pub mod pipeline;
pub mod policy;
pub mod quarantine;
pub mod sources;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::store::Store;
use crate::telemetry::Metrics;

/// What the daemon's sources share: the store (read for checkpoints), the metrics, the clock
/// and the stop flag.
pub struct Shared {
    pub store: Arc<Store>,
    pub metrics: Metrics,
    pub clock: Arc<dyn Clock>,
    pub data_dir: PathBuf,
    /// Set on shutdown (or when ingest fails): readers stop.
    pub stop: AtomicBool,
    /// `None` while healthy; otherwise why not.
    pub problem: Mutex<Option<String>>,
}

impl Shared {
    pub fn fail(&self, why: &str) {
        let mut p = self.problem.lock().expect("problem lock");
        if p.is_none() {
            *p = Some(why.to_string());
        }
    }

    pub fn ready(&self) -> bool {
        self.problem.lock().expect("problem lock").is_none()
    }
}
