//! Getting events into the store: batch import of files (and, later, live sources), with
//! checkpoints committed atomically with the data and bad frames sent to quarantine.

pub mod import;
pub mod quarantine;
