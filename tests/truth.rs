//! End to end against ground truth, as a user would run it: `tdr-gen` simulates an ISP
//! (sessions with lost stops, NAS reboots, leases, CGNAT, IPv6 delegations, duplicates,
//! reordering, malformed lines), `tdr import` loads it, `tdr lookup --batch` answers sampled
//! queries inside approved law-enforcement cases naming them, and `tdr-gen check` compares every
//! answer with the truth: no wrong subscriber, and no refusal where one subscriber clearly held
//! the address. (`tools/truth-check.sh` runs the same at any scale.)

use std::path::Path;
use std::process::Command;

use tdr_testkit::bins::tool_bin;
use tdr_testkit::cli::{self, officers, open_case};

const TDR: &str = env!("CARGO_BIN_EXE_tdr");

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

/// Imports what `tdr-gen generate --output real` wrote with `tools/import-generated.sh`, the
/// script users run: one `tdr import --sources` over a [[file]] source per producer, each
/// with its format's options.
fn import_real(gen: &Path, data: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/import-generated.sh");
    let out = run(Command::new(script).env("TDR", TDR).arg(gen).arg(data));
    // Every producer had files, and every one of them gave events.
    for source in ["radius", "dhcpd", "kea", "cgnat", "pbx"] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{source}: ")))
            .unwrap_or_else(|| panic!("{source} not imported:\n{out}"));
        assert!(
            line.contains(" file(s), ") && !line.contains(" 0 accepted"),
            "{source}: {line}\n{out}"
        );
    }
    let imported: Vec<&str> = out.lines().filter(|l| l.starts_with("imported ")).collect();
    assert_eq!(imported.len(), 1, "{out}");
    assert!(!imported[0].contains(" 0 accepted"), "{out}");
}

#[test]
fn every_answer_agrees_with_the_ground_truth() {
    check_against_truth(&["--seed", "7"], |gen, data| {
        let imported = run(Command::new(TDR).args([
            "--data-dir",
            data,
            "import",
            "--format",
            "events",
            &p(gen, "events.jsonl"),
        ]));
        assert!(imported.contains("quarantined"), "{imported}");
    });
}

/// The same through the producers' own formats: FreeRADIUS detail per NAS, ISC dhcpd syslog,
/// Kea legal log, Juniper port-block syslog (its clock a second ahead), Asterisk CDRs, each
/// rotated by day and imported one producer after another, so each NAS's and source's backlog
/// reaches the store behind the others' newer logs.
#[test]
fn every_answer_from_the_real_formats_agrees_with_the_ground_truth() {
    check_against_truth(
        &[
            "--seed",
            "8",
            "--output",
            "real",
            "--interim-secs",
            "1800",
            "--ipoe-share",
            "0.3",
        ],
        import_real,
    );
}

fn check_against_truth(gen_args: &[&str], import: impl Fn(&Path, &str)) {
    let d = tempfile::tempdir().unwrap();
    let gen = d.path().join("gen");
    let data = p(d.path(), "data");
    run(Command::new(tool_bin("tdr-gen"))
        .args([
            "generate",
            "--out",
            &p(d.path(), "gen"),
            "--subscribers",
            "400",
            "--days",
            "2",
        ])
        .args(gen_args));
    import(&gen, &data);
    run(Command::new(tool_bin("tdr-gen")).args([
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
    // A case names at most 1000 items: one case per 1000 queries, each query one item (its
    // address, port if any, and time), run in order so the answers line up with the queries.
    let queries = std::fs::read_to_string(gen.join("queries.jsonl")).unwrap();
    let queries: Vec<&str> = queries.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(queries.len(), 4000);
    let data_dir = Path::new(&data);
    let _daemon = tdr_testkit::daemon::Daemon::ensure(TDR, data_dir);
    let team = officers(TDR, data_dir);
    let mut answers = String::new();
    for (i, chunk) in queries.chunks(1000).enumerate() {
        let scope: Vec<serde_json::Value> = chunk
            .iter()
            .map(|l| {
                let q: serde_json::Value = serde_json::from_str(l).unwrap();
                let mut item = serde_json::json!({"addr": q["addr"], "at": q["at"]});
                if !q["port"].is_null() {
                    item["port"] = q["port"].clone();
                }
                item
            })
            .collect();
        let case = open_case(TDR, data_dir, &team, "law_enforcement", scope.into());
        let batch = gen.join(format!("queries-{i}.jsonl"));
        std::fs::write(&batch, chunk.join("\n") + "\n").unwrap();
        answers += &run(Command::new(TDR).env("TDR_TOKEN", &team[0].1).args([
            "--data-dir",
            &data,
            "lookup",
            "--batch",
            batch.to_str().unwrap(),
            "--purpose",
            "law-enforcement",
            "--case",
            &case,
        ]));
    }
    std::fs::write(gen.join("answers.jsonl"), &answers).unwrap();
    let report = run(Command::new(tool_bin("tdr-gen")).args([
        "check",
        // tdr's 2 s plus the generator's CGNAT clock, 1 s ahead.
        "--tolerance",
        "3",
        "--expect",
        &p(&gen, "expect.jsonl"),
        "--answers",
        &p(&gen, "answers.jsonl"),
    ]));
    assert!(report.contains("WRONG 0"), "{report}");
    assert!(report.contains("UNJUSTIFIED 0"), "{report}");
    // Every one of the 4000 answers was audited (beside the cases' own entries), and the chain
    // verifies.
    let entries = cli::audit_entries(data_dir);
    let lookups = entries
        .iter()
        .filter(|e| e["action"] == "case_lookup")
        .count();
    assert_eq!(lookups, 4000);
    assert!(entries
        .iter()
        .all(|e| !e["outcome"].as_str().unwrap().starts_with("refused:")));
    let out = run(Command::new(TDR).args(["--data-dir", &data, "audit", "verify"]));
    assert!(out.contains(&format!("{} entries", entries.len())), "{out}");
}
