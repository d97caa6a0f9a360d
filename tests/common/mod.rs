//! Shared helpers for integration tests: a store in a temporary directory, fed with events in
//! the neutral format, and a lookup shortcut.
#![allow(dead_code)]

use std::path::Path;

use tdr::config::Config;
use tdr::model::{parse_time, Class};
use tdr::parse::format::events::parse_line;
use tdr::store::lookup::{Answer, Attributor, Scope};
use tdr::store::Store;

pub const ALL: &[Class] = &[Class::Security, Class::Billing, Class::Statutory];

pub fn t(s: &str) -> i64 {
    parse_time(s).unwrap()
}

pub fn config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        sync_writes: false,
        ..Config::default()
    }
}

/// Applies event lines (JSON) and commits them in one batch.
pub fn feed(store: &mut Store, lines: &[String]) {
    store.open_engine().unwrap();
    for l in lines {
        let ev = parse_line(l.as_bytes(), "test").unwrap_or_else(|e| panic!("{e}: {l}"));
        store.engine_mut().apply(&ev);
    }
    store.commit(None, i64::MIN / 2).unwrap();
}

pub fn lookup(
    store: &Store,
    cfg: &Config,
    addr: &str,
    port: Option<u16>,
    at: &str,
    now: i64,
) -> Answer {
    lookup_classes(store, cfg, addr, port, at, now, ALL)
}

pub fn lookup_classes(
    store: &Store,
    cfg: &Config,
    addr: &str,
    port: Option<u16>,
    at: &str,
    now: i64,
    classes: &[Class],
) -> Answer {
    let scope = Scope::new(cfg, classes, now);
    Attributor { store, cfg }
        .lookup(addr.parse().unwrap(), port, t(at), &scope)
        .unwrap()
}

pub fn session(op: &str, time: &str, sub: &str, sess: &str, addr: &str) -> String {
    format!(
        r#"{{"kind":"session","op":"{op}","time":"{time}","subscriber":"{sub}","session":"{sess}","addr":"{addr}","nas":"bng1","source":"radius"}}"#
    )
}

pub fn session_class(
    op: &str,
    time: &str,
    sub: &str,
    sess: &str,
    addr: &str,
    class: &str,
) -> String {
    format!(
        r#"{{"kind":"session","op":"{op}","time":"{time}","subscriber":"{sub}","session":"{sess}","addr":"{addr}","nas":"bng1","source":"radius","class":"{class}"}}"#
    )
}

pub fn lease(op: &str, time: &str, sub: &str, addr: &str, expires: Option<&str>) -> String {
    match expires {
        Some(e) => format!(
            r#"{{"kind":"lease","op":"{op}","time":"{time}","subscriber":"{sub}","addr":"{addr}","expires":"{e}","source":"dhcp"}}"#
        ),
        None => format!(
            r#"{{"kind":"lease","op":"{op}","time":"{time}","subscriber":"{sub}","addr":"{addr}","source":"dhcp"}}"#
        ),
    }
}

pub fn nat(op: &str, time: &str, inside: &str, public: &str, ports: &str) -> String {
    format!(
        r#"{{"kind":"nat_block","op":"{op}","time":"{time}","inside":"{inside}","public":"{public}","ports":"{ports}","source":"cgnat"}}"#
    )
}

pub fn reboot(time: &str) -> String {
    format!(r#"{{"kind":"nas_reboot","time":"{time}","nas":"bng1","source":"radius"}}"#)
}

/// A heartbeat event from an unrelated address, to mark a source as delivering data (coverage)
/// and to move the watermark.
pub fn tick(time: &str) -> String {
    session("interim", time, "zz-heartbeat", "hb", "10.255.255.255")
}

// ---- the `tdr` binary with users and cases -----------------------------------------------

/// Runs `tdr --data-dir DATA ARGS` as the holder of `token` (`None`: no `TDR_TOKEN` at all,
/// whatever the test runner's environment holds).
pub fn tdr_as(
    tdr_bin: &str,
    data_dir: &Path,
    token: Option<&str>,
    args: &[&str],
) -> std::process::Output {
    let mut c = std::process::Command::new(tdr_bin);
    c.arg("--data-dir").arg(data_dir).args(args);
    match token {
        Some(t) => c.env("TDR_TOKEN", t),
        None => c.env_remove("TDR_TOKEN"),
    };
    c.output().unwrap()
}

/// Adds a user with `role` (legal, security, auditor, ops) and returns their bearer token.
pub fn user(tdr_bin: &str, data_dir: &Path, name: &str, role: &str) -> String {
    let o = tdr_as(
        tdr_bin,
        data_dir,
        None,
        &["user", "add", name, "--role", role],
    );
    assert!(
        o.status.success(),
        "user add {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let token = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("tdr_"), "{token}");
    token
}

/// Two legal officers (name, token): the first registers cases and runs lookups, the second
/// approves. Names are unique within the test process, so a data directory can hold several.
pub fn officers(tdr_bin: &str, data_dir: &Path) -> [(String, String); 2] {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let a = format!("officer{n}a");
    let b = format!("officer{n}b");
    let ta = user(tdr_bin, data_dir, &a, "legal");
    let tb = user(tdr_bin, data_dir, &b, "legal");
    [(a, ta), (b, tb)]
}

/// A case request of `request_type` (ipred, law_enforcement, abuse) naming `scope`; an IPRED
/// order has gained legal force yesterday, so lookups may run.
pub fn case_request(request_type: &str, scope: serde_json::Value) -> serde_json::Value {
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string();
    let mut r = serde_json::json!({
        "request_type": request_type,
        "authority": "Polismyndigheten",
        "case_number": "5000-K1-26",
        "scope": scope,
    });
    if request_type != "abuse" {
        r["decision_date"] = yesterday.clone().into();
        r["order_sha256"] = "ab".repeat(32).into();
    }
    if request_type == "ipred" {
        r["authority"] = "Patent- och marknadsdomstolen".into();
        r["legal_force_date"] = yesterday.into();
    }
    r
}

/// `tdr case create --file -` as the holder of `token`, the request on standard input.
pub fn create_case(
    tdr_bin: &str,
    data_dir: &Path,
    token: &str,
    request: &serde_json::Value,
) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(tdr_bin)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["case", "create", "--file", "-"])
        .env("TDR_TOKEN", token)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Registers a case with the first officer and approves it with the second; returns its id.
pub fn open_case(
    tdr_bin: &str,
    data_dir: &Path,
    officers: &[(String, String); 2],
    request_type: &str,
    scope: serde_json::Value,
) -> String {
    let o = create_case(
        tdr_bin,
        data_dir,
        &officers[0].1,
        &case_request(request_type, scope),
    );
    assert!(
        o.status.success(),
        "case create: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["state"], "registered", "{c}");
    let o = tdr_as(
        tdr_bin,
        data_dir,
        Some(&officers[1].1),
        &["case", "approve", &id],
    );
    assert!(
        o.status.success(),
        "case approve: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    id
}

/// Two new legal officers and an approved case of `request_type` naming `scope`: returns the
/// token of the officer who registered it (and runs its lookups) and the case id.
pub fn legal_case(
    tdr_bin: &str,
    data_dir: &Path,
    request_type: &str,
    scope: serde_json::Value,
) -> (String, String) {
    let o = officers(tdr_bin, data_dir);
    let id = open_case(tdr_bin, data_dir, &o, request_type, scope);
    (o[0].1.clone(), id)
}

/// Every audit entry in the data directory's audit segments, in order.
pub fn audit_entries(data_dir: &Path) -> Vec<serde_json::Value> {
    let mut segs: Vec<_> = std::fs::read_dir(data_dir.join("audit"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().is_some_and(|n| {
                        let n = n.to_string_lossy();
                        n.starts_with("audit-") && n.ends_with(".log")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    segs.sort();
    segs.iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<serde_json::Value>>()
        })
        .collect()
}
