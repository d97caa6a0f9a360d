//! Exactly once across crashes: `tdr import` is killed with SIGKILL at random moments and run
//! again until it finishes; the store must then equal, byte for byte, a clean import of the
//! same file — every record stored once, none lost, none doubled.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use tdr::config::Config;
use tdr::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_tdr");

/// Deterministic churny events: sessions with interims and stops on a small address pool,
/// a few NAT blocks, some lost stops and exact duplicates, and a few malformed lines.
fn write_events(path: &std::path::Path, n_sessions: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let base = tdr::model::parse_time("2026-11-18T00:00:00Z").unwrap();
    let mut evs: Vec<(i64, String)> = Vec::new();
    for i in 0..n_sessions {
        let start = base + rng.gen_range(0..200_000);
        let dur = rng.gen_range(60..20_000);
        let addr = format!("192.0.{}.{}", rng.gen_range(0..4), rng.gen_range(1..255));
        let sub = format!("user{}", rng.gen_range(0..3000));
        let ts = |t: i64| tdr::model::fmt_time(t);
        let mk = |op: &str, t: i64| {
            format!(
                r#"{{"kind":"session","op":"{op}","time":"{}","subscriber":"{sub}","session":"x{i}","addr":"{addr}","nas":"bng{}","source":"radius"}}"#,
                ts(t),
                i % 3
            )
        };
        evs.push((start, mk("start", start)));
        let mut t = start + 300;
        while t < start + dur {
            evs.push((t, mk("interim", t)));
            t += 300;
        }
        if rng.gen_bool(0.97) {
            evs.push((start + dur, mk("stop", start + dur)));
        }
        if rng.gen_bool(0.02) {
            evs.push((start + 1, mk("start", start)));
        }
        if rng.gen_bool(0.001) {
            evs.push((
                start,
                "{\"kind\":\"session\",\"op\":\"start\",\"time\":\"2026-11-18 10:00:00\"}".into(),
            ));
        }
    }
    evs.sort_by_key(|e| e.0);
    let body: String = evs.into_iter().map(|e| e.1 + "\n").collect();
    std::fs::write(path, body).unwrap();
}

fn config_file(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("tdr.toml");
    std::fs::write(&p, "[store]\nbatch_events = 1000\nsync_writes = true\n").unwrap();
    p
}

fn import(data: &std::path::Path, cfg: &std::path::Path, file: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir").arg(data).arg("--config").arg(cfg);
    c.args(["import", "--format", "events"]).arg(file);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

fn dump(data: &std::path::Path) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let cfg = Config {
        data_dir: data.to_path_buf(),
        ..Config::default()
    };
    // The retention policy's signature is by each data directory's own key: equal stores
    // of two appliances differ there, and only there.
    Store::open(&cfg)
        .unwrap()
        .raw_dump_for_tests()
        .unwrap()
        .into_iter()
        .filter(|(_, k, _)| k.as_slice() != tdr::store::meta::POLICY_SIG)
        .collect()
}

fn quarantine_lines(data: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = tdr::ingest::quarantine::Quarantine::list(data)
        .unwrap()
        .into_iter()
        .map(|r| format!("{} {} {}", r.fingerprint, r.offset, r.code))
        .collect();
    v.sort();
    v
}

#[test]
fn killed_imports_resume_to_exactly_the_clean_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    write_events(&file, 6000);
    let cfg = config_file(dir.path());

    let clean = dir.path().join("clean");
    let t0 = Instant::now();
    let out = import(&clean, &cfg, &file).output().unwrap();
    let clean_ms = t0.elapsed().as_millis() as u64;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let clean_dump = dump(&clean);
    assert!(clean_dump.len() > 1000);

    // TDR_CRASH_ROUNDS=N repeats the whole kill-and-resume run N times (default 1).
    let rounds: u64 = std::env::var("TDR_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut total_kills = 0;
    for round in 0..rounds {
        total_kills += crash_round(
            dir.path(),
            &cfg,
            &file,
            clean_ms,
            11 + round,
            &clean_dump,
            &clean,
        );
    }
    eprintln!(
        "{total_kills} kills over {rounds} round(s); {} records identical to the clean import each time",
        clean_dump.len()
    );
}

/// One import of `file` into a fresh directory, killed at random moments (each somewhere in
/// the first third of what a whole import takes) and restarted until it completes.
fn crash_round(
    root: &std::path::Path,
    cfg: &std::path::Path,
    file: &std::path::Path,
    clean_ms: u64,
    seed: u64,
    clean_dump: &[(String, Vec<u8>, Vec<u8>)],
    clean: &std::path::Path,
) -> u64 {
    let crashed = root.join(format!("crashed-{seed}"));
    // The same subscriber-index key as the clean store, so its index entries (keyed hashes)
    // are compared byte for byte too.
    // (It is wrapped by the master key in the key store: both are copied; the day keys
    // differ, and the dump compares opened values.)
    for (dir, file) in [("keys", "master.key"), ("keystore", "subject-index.key")] {
        let to = crashed.join(dir);
        std::fs::create_dir_all(&to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::copy(clean.join(dir).join(file), to.join(file)).unwrap();
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut kills = 0;
    let started = Instant::now();
    loop {
        let mut child = import(&crashed, cfg, file).spawn().unwrap();
        let wait = Duration::from_millis(rng.gen_range(clean_ms / 50 + 5..clean_ms / 3 + 10));
        std::thread::sleep(wait);
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            break;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "import never finished"
        );
    }
    // Once more after completion: nothing new.
    let out = import(&crashed, cfg, file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 accepted"), "{text}");
    assert!(kills >= 3, "only {kills} kills before the import finished");
    let crashed_dump = dump(&crashed);
    assert_eq!(crashed_dump.len(), clean_dump.len(), "after {kills} kills");
    assert!(
        crashed_dump == clean_dump,
        "stores differ after {kills} kills"
    );
    assert_eq!(quarantine_lines(&crashed), quarantine_lines(clean));
    std::fs::remove_dir_all(&crashed).ok();
    kills
}
