//! Synthetic data and test builders for tdr's integration tests (`tests/*.rs`), benches and
//! tool packages.
//!
//! * [`synth`]: a fast deterministic event stream for benchmarks;
//! * [`ev`]: neutral-format event lines (`ev::session(..)`, `ev::nat(..)`, …);
//! * [`store`]: a store in a temporary directory filled with events, and lookups on it;
//! * [`cli`]: the `tdr` binary on a data directory: users with tokens, cases registered and
//!   approved, audit entries;
//! * [`daemon`]: `tdr serve` on a data directory, which the CLI commands then go through;
//! * [`bins`]: where the tool binaries (`tdr-gen`, `tdr-bench`) of the workspace are;
//! * [`browser`]: chromium through chromedriver for the desk's tests, with axe-core and
//!   screenshots.

pub mod bins;
pub mod browser;
pub mod cli;
pub mod daemon;
pub mod ev;
pub mod store;
pub mod synth;
