//! Golden tests of the RADIUS accounting packet path (the `[[radius]]` server's input): real
//! Accounting-Requests as `radclient` (FreeRADIUS 3.2.1) sent them, under
//! `tests/data/radius-packet/` (see its `SOURCE.md`), each verified with the secret they were
//! sent with, written out as a detail record and read by the radius-detail parser; the events
//! must equal the hand-written `<packet>.expected.jsonl`. Received at 2026-11-21T11:00:00Z from
//! 192.0.2.7, by the listener `bng-acct`.

use std::path::Path;

use tdr_parse::format::events;
use tdr_parse::format::radius_detail::RadiusDetail;
use tdr_parse::model::parse_time;
use tdr_parse::{radius, Context, Parser};

const SECRET: &[u8] = b"Junet-golden-secret";

#[test]
fn radclient_packets_read_as_their_expected_events() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/radius-packet");
    let received = parse_time("2026-11-21T11:00:00Z").unwrap();
    let mut cases = 0;
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    paths.sort();
    for p in paths {
        cases += 1;
        let bytes = std::fs::read(&p).unwrap();
        let req = radius::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(
            req.verify(SECRET),
            "{}: the authenticator does not verify",
            p.display()
        );
        assert!(!req.verify(b"another secret"));
        let rec = req
            .to_detail(received, "192.0.2.7".parse().unwrap())
            .unwrap();
        let ctx = Context::new("bng-acct", received);
        let mut parser = RadiusDetail::new(&ctx);
        let mut got = Vec::new();
        parser
            .parse(rec.strip_suffix(b"\n\n").unwrap(), &mut got)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", p.display(), String::from_utf8_lossy(&rec)));
        let expected_path = format!("{}.expected.jsonl", p.display());
        let want: Vec<_> = std::fs::read_to_string(&expected_path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| events::parse_line(l.as_bytes(), "bng-acct").unwrap())
            .collect();
        let show = |v: &[tdr_parse::model::Event]| {
            v.iter().map(events::to_line).collect::<Vec<_>>().join("\n")
        };
        assert_eq!(show(&got), show(&want), "{}", p.display());
    }
    assert_eq!(cases, 6);
}
