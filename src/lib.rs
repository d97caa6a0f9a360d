//! tdr: traffic-data retention and disclosure appliance. See DESIGN.md for the module map.

pub mod api;
pub mod audit;
pub mod clock;
pub mod config;
pub mod error;
pub mod identity;
pub mod ingest;
pub mod legal;
pub mod report;
pub mod retention;
pub mod serve;
pub mod store;
pub mod telemetry;

/// Normalised records and the parsers, in their own crate so they build (and fuzz) without
/// RocksDB.
pub use tdr_parse as parse;
pub use tdr_parse::model;
