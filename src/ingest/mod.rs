//! Getting events into the store: batch import of files and the live sources of `tdr serve`,
//! with checkpoints committed atomically with the data and bad frames sent to quarantine.

pub mod frames;
pub mod import;
pub mod quarantine;
