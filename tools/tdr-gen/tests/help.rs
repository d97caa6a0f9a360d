//! The built `tdr-gen` binary starts and names its commands. Having an integration test also
//! makes `cargo test --workspace` build the binary into the profile directory, where the
//! product's end-to-end tests (tests/truth.rs) run it from.

#[test]
fn help_names_every_command() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tdr-gen"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for cmd in ["generate", "queries", "check", "convert"] {
        assert!(text.contains(cmd), "{cmd} missing from:\n{text}");
    }
}
