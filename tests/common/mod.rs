//! Shared helpers for integration tests: a store in a temporary directory, fed with events in
//! the neutral format, and a lookup shortcut.
#![allow(dead_code)]

use std::path::Path;

use tdr::config::Config;
use tdr::model::{parse_time, Class};
use tdr::parse::events::parse_line;
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
