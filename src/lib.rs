//! tdr: traffic-data retention and disclosure appliance. ARCHITECTURE.md (at the root of the
//! repository) is the map of these modules: what each owns, must not do, and how data flows.

pub mod api;
pub mod audit;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod desk;
pub mod error;
pub mod fsmode;
pub mod identity;
pub mod ingest;
pub mod keyring;
pub mod legal;
pub mod report;
pub mod serve;
pub mod store;
pub mod telemetry;

/// Normalised records and the parsers, in their own crate so they build (and fuzz) without
/// RocksDB.
pub use tdr_parse as parse;
pub use tdr_parse::model;

/// The clap value parser of a `--format` argument: [`parse::Format`]'s names, each listed with
/// what it reads in `--help` (`#[arg(long, value_parser = tdr::format_arg())]`).
pub fn format_arg() -> impl clap::builder::TypedValueParser<Value = parse::Format> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    let names = parse::Format::ALL.map(|f| PossibleValue::new(f.name()).help(f.about()));
    PossibleValuesParser::new(names).try_map(|name| name.parse::<parse::Format>())
}
