//! The built `tdr-bench` binary starts and names its commands. Having an integration test also
//! makes `cargo test --workspace` build the binary into the profile directory, where the
//! product's end-to-end tests (tests/api_https.rs) run it from.

#[test]
fn help_names_the_commands_the_tests_and_scripts_use() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tdr-bench"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for cmd in ["build", "lookups", "feed", "api", "cert", "parse", "import"] {
        assert!(text.contains(cmd), "{cmd} missing from:\n{text}");
    }
}
