//! tdr: traffic-data retention and disclosure appliance. See DESIGN.md for the module map.

pub mod audit;
pub mod clock;
pub mod config;
pub mod ingest;
pub mod legal;
pub mod model;
pub mod parse;
pub mod retention;
pub mod store;
