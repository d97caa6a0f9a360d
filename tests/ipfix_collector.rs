//! The IPFIX collector end to end: `tdr serve` with an `[[ipfix]]` listener receives NAT
//! events built by scapy (`tests/scapy/ipfix_send.py`, run with Debian's `/usr/bin/python3`
//! and python3-scapy: an encoder independent of tdr), attributes a public address and port to
//! the subscriber behind the inside address inside an approved case, counts the records lost
//! and the exporter outside `allow` in /metrics, and keeps the data set that came before its
//! template in the quarantine.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use tdr_testkit::cli::{free_port, stderr, stdout, tdr_as, Tdr};
use tdr_testkit::daemon::Daemon;

const BIN: &str = env!("CARGO_BIN_EXE_tdr");
const PYTHON: &str = "/usr/bin/python3";

fn fmt(t: i64) -> String {
    tdr::model::fmt_time(t)
}

/// Fails (never skips) when the encoder is missing.
fn require_scapy() {
    let ok = Command::new(PYTHON)
        .args(["-c", "import scapy.layers.netflow"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{PYTHON} cannot import scapy: this test needs Debian's python3-scapy \
         (apt-get install python3-scapy)"
    );
}

fn session(op: &str, t: i64, who: &str, addr: &str) -> String {
    format!(
        r#"{{"kind":"session","op":"{op}","time":"{}","subscriber":"{who}","session":"{who}-1","addr":"{addr}","nas":"bng1"}}"#,
        fmt(t)
    )
}

/// `tdr lookup ADDR --port PORT --at AT --purpose ipred --case CASE --json` as `token`.
fn lookup(
    data: &Path,
    token: &str,
    case: &str,
    addr: &str,
    port: u16,
    at: &str,
) -> serde_json::Value {
    let o = tdr_as(
        BIN,
        data,
        Some(token),
        &[
            "lookup",
            addr,
            "--port",
            &port.to_string(),
            "--at",
            at,
            "--purpose",
            "ipred",
            "--case",
            case,
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

#[test]
fn nat_events_over_ipfix_attribute_ports_and_count_what_was_lost_or_refused() {
    require_scapy();
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let t = chrono::Utc::now().timestamp() - 3600;
    // The BNG's accounting: who had the inside addresses.
    let logs = d.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("radius.jsonl"),
        [
            session("start", t - 600, "nat-alice", "100.64.9.2"),
            session("start", t - 600, "nat-bob", "100.64.9.3"),
            session("interim", t + 60, "nat-alice", "100.64.9.2"),
            session("interim", t + 60, "nat-bob", "100.64.9.3"),
        ]
        .join("\n")
            + "\n",
    )
    .unwrap();
    let port = free_port();
    let tables = format!(
        "[[file]]\nname = \"bng-radius\"\npath = \"{}/radius.jsonl\"\nformat = \"events\"\n\
         [[ipfix]]\nname = \"cgn-ipfix\"\nlisten = \"127.0.0.1:{port}\"\nallow = [\"127.0.0.1/32\"]\n",
        logs.display()
    );
    let daemon = Daemon::with(BIN, &data, &tables);
    daemon.wait_for("the sessions", |d| {
        d.sum("tdr_events_total", &["source=\"bng-radius\""]) == 4
    });

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scapy/ipfix_send.py");
    let o = Command::new(PYTHON)
        .arg(&script)
        .args([port.to_string(), t.to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let packets = |d: &Daemon, outcome: &str| {
        d.sum(
            "tdr_ipfix_packets_total",
            &["listener=\"cgn-ipfix\"", &format!("outcome=\"{outcome}\"")],
        )
    };
    daemon.wait_for("every datagram counted and its events applied", |d| {
        packets(d, "parsed") == 3
            && packets(d, "rejected") == 1
            && packets(d, "not_allowed") == 1
            && d.sum("tdr_events_total", &["source=\"cgn-ipfix\""]) == 3
    });
    let m = daemon.metrics();
    let l = "listener=\"cgn-ipfix\"";
    assert_eq!(daemon.sum("tdr_ipfix_lost_records_total", &[l]), 3, "{m}");
    assert_eq!(daemon.sum("tdr_ipfix_records_total", &[l]), 3, "{m}");
    assert_eq!(daemon.sum("tdr_ipfix_templates", &[l]), 2, "{m}");
    assert_eq!(daemon.sum("tdr_ipfix_exporters", &[l]), 1, "{m}");
    assert_eq!(
        daemon.sum(
            "tdr_quarantined_total",
            &[
                "source=\"cgn-ipfix\"",
                "code=\"parse.ipfix.unknown_template\""
            ]
        ),
        1,
        "{m}"
    );
    assert!(
        m.contains("tdr_udp_kernel_drops{listener=\"cgn-ipfix\"}"),
        "{m}"
    );
    // Labels name listeners and outcomes, never an exporter.
    assert!(!m.contains("127.0.0.2") && !m.contains("127.0.0.1:"), "{m}");

    // Inside an approved case, the public address and port lead to the subscriber.
    let at = fmt(t + 10);
    let kit = Tdr::new(BIN, &data);
    let (token, case) = kit.legal_case(
        "ipred",
        json!([
            {"addr": "198.51.100.90", "port": 2000, "at": at},
            {"addr": "198.51.100.91", "port": 4500, "at": at},
        ]),
    );
    let a = lookup(&data, &token, &case, "198.51.100.90", 2000, &at);
    assert_eq!(a["status"], "found", "{a}");
    assert_eq!(a["matches"][0]["subscriber"], "nat-alice", "{a}");
    assert_eq!(a["matches"][0]["via"]["inside"], "100.64.9.2", "{a}");
    let a = lookup(&data, &token, &case, "198.51.100.91", 4500, &at);
    assert_eq!(a["status"], "found", "{a}");
    assert_eq!(a["matches"][0]["subscriber"], "nat-bob", "{a}");
    assert_eq!(a["matches"][0]["via"]["inside"], "100.64.9.3", "{a}");

    // The data set that came before its template is in the quarantine, whole.
    let ops = kit.user("otto", "ops");
    let o = tdr_as(BIN, &data, Some(&ops), &["quarantine", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("cgn-ipfix: 1 record(s)"), "{out}");
    assert!(out.contains("1  parse.ipfix.unknown_template"), "{out}");
    let o = tdr_as(
        BIN,
        &data,
        Some(&ops),
        &[
            "quarantine",
            "show",
            "--code",
            "parse.ipfix.unknown_template",
        ],
    );
    let out = stdout(&o);
    assert!(
        out.contains(&format!("udp 127.0.0.1:{port} from exporter@0")),
        "{out}"
    );
    daemon.stop();
}

/// An IPFIX file imported in two goes: the second import starts at the checkpoint, after the
/// messages that defined the templates, and still reads every data set (the parser is fed the
/// file's start again).
#[test]
fn a_resumed_ipfix_import_still_knows_its_templates() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let golden = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ipfix/vpp-nat44.ipfix"),
    )
    .unwrap();
    // The four template messages and the first data message (repeated, so the part first
    // imported is longer than the 1 KiB fingerprint that recognises the file), then the rest.
    let frames = tdr::parse::framing::frame_all(
        tdr::parse::framing::Framing::Ipfix,
        tdr::parse::framing::DEFAULT_MAX_FRAME,
        &golden,
    );
    let (data4, cut) = (frames[4].0, frames[5].0);
    let mut first_part = golden[..cut].to_vec();
    for _ in 0..8 {
        first_part.extend_from_slice(&golden[data4..cut]);
    }
    let file = d.path().join("cgn.ipfix");
    std::fs::write(&file, &first_part).unwrap();
    let import = || {
        let o = tdr_as(
            BIN,
            &data,
            None,
            &["import", "--format", "ipfix", file.to_str().unwrap()],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let first = import();
    assert!(first.contains("6 accepted"), "{first}");
    assert!(first.contains("0 quarantined"), "{first}");
    let whole = [&first_part[..], &golden[cut..]].concat();
    std::fs::write(&file, &whole).unwrap();
    let second = import();
    let before = first_part.len();
    assert!(
        second.contains(&format!("({before} bytes already imported before)")),
        "{second}"
    );
    assert!(second.contains("14 accepted"), "{second}");
    assert!(second.contains("0 quarantined"), "{second}");
}
