//! End to end against ground truth, as a user would run it: `tdr-gen` simulates an ISP
//! (sessions with lost stops, NAS reboots, leases, CGNAT, IPv6 delegations, duplicates,
//! reordering, malformed lines), `tdr import` loads it, `tdr lookup --batch` answers sampled
//! queries, and `tdr-gen check` compares every answer with the truth: no wrong subscriber, and
//! no refusal where one subscriber clearly held the address. (`tools/truth-check.sh` runs the
//! same at any scale.)

use std::path::Path;
use std::process::Command;

const TDR: &str = env!("CARGO_BIN_EXE_tdr");
const GEN: &str = env!("CARGO_BIN_EXE_tdr-gen");

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(d: &Path, f: &str) -> String {
    d.join(f).to_str().unwrap().to_string()
}

#[test]
fn every_answer_agrees_with_the_ground_truth() {
    let d = tempfile::tempdir().unwrap();
    let gen = d.path().join("gen");
    let data = p(d.path(), "data");
    run(Command::new(GEN).args([
        "generate",
        "--out",
        &p(d.path(), "gen"),
        "--subscribers",
        "400",
        "--days",
        "2",
        "--seed",
        "7",
    ]));
    let imported = run(Command::new(TDR).args([
        "--data-dir",
        &data,
        "import",
        "--format",
        "events",
        &p(&gen, "events.jsonl"),
    ]));
    assert!(imported.contains("quarantined"), "{imported}");
    run(Command::new(GEN).args([
        "queries",
        "--truth",
        &p(&gen, "truth.jsonl"),
        "--expect",
        &p(&gen, "expect.jsonl"),
        "--out",
        &p(&gen, "queries.jsonl"),
        "--n",
        "4000",
        "--seed",
        "3",
    ]));
    let answers = run(Command::new(TDR).args([
        "--data-dir",
        &data,
        "lookup",
        "--batch",
        &p(&gen, "queries.jsonl"),
        "--purpose",
        "law-enforcement",
        "--case",
        "TRUTH-1",
    ]));
    std::fs::write(gen.join("answers.jsonl"), &answers).unwrap();
    let report = run(Command::new(GEN).args([
        "check",
        "--expect",
        &p(&gen, "expect.jsonl"),
        "--answers",
        &p(&gen, "answers.jsonl"),
    ]));
    assert!(report.contains("WRONG 0"), "{report}");
    assert!(report.contains("UNJUSTIFIED 0"), "{report}");
    // Every one of the 4000 answers was audited.
    let out = run(Command::new(TDR).args(["--data-dir", &data, "audit", "verify"]));
    assert!(out.contains("4000 entries"), "{out}");
}
