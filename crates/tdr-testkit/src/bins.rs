//! The workspace's tool binaries for integration tests of another package.
//!
//! Cargo sets `CARGO_BIN_EXE_<name>` only for the binaries of the test's own package, so tests
//! of `tdr` find `tdr-gen` and `tdr-bench` where cargo writes every binary of the workspace:
//! the profile directory, the parent of the `deps/` directory holding the test binary.
//! `cargo test --workspace` builds them there before any test runs (each tool package has an
//! integration test of its own binary, which makes cargo build it).

use std::path::PathBuf;

/// The path of the workspace binary `name` built in the same profile as the running test.
/// Panics, saying how to build it, when it is not there.
pub fn tool_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("a test binary inside <target>/<profile>/deps");
    let path = profile.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `cargo test --release --workspace` (tools/test.sh), \
         or build it with `cargo build --release --workspace --bins`",
        path.display()
    );
    path
}
