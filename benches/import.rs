//! Import throughput end to end: read a file of neutral-format events, parse, apply, write to
//! RocksDB with the checkpoint in each batch (WAL on, fsync per batch as in production).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use tdr::clock::SystemClock;
use tdr::config::Config;
use tdr::ingest::import::Importer;
use tdr::parse::Format;
use tdr::store::Store;

const EVENTS: usize = 200_000;

fn events_file() -> (tempfile::TempDir, std::path::PathBuf, u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let start = chrono::Utc::now().timestamp() - 20 * 86_400;
    let mut s = tdr_testkit::synth::Synth::new(1, 20_000, 50_000, start, 0.5);
    let mut buf = String::new();
    while (s.events as usize) < EVENTS {
        s.next_into(&mut buf);
    }
    std::fs::write(&path, &buf).unwrap();
    (dir, path, s.events)
}

fn bench(c: &mut Criterion) {
    let (_keep, file, n) = events_file();
    let bytes = std::fs::metadata(&file).unwrap().len();
    let mut g = c.benchmark_group("import");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("events_200k", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let cfg = Config {
                    data_dir: dir.path().to_path_buf(),
                    ..Config::default()
                };
                let mut store = Store::open(&cfg).unwrap();
                let clock = SystemClock;
                let mut imp = Importer::new(&mut store, &cfg, &clock).unwrap();
                let s = imp.import_file(&file, Format::Events, "bench").unwrap();
                assert_eq!(s.quarantined, 0);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("parse_only_200k", |b| {
        let data = std::fs::read(&file).unwrap();
        b.iter(|| {
            let mut ok = 0;
            for line in data.split(|c| *c == b'\n').filter(|l| !l.is_empty()) {
                if tdr::parse::format::events::parse_line(line, "bench").is_ok() {
                    ok += 1;
                }
            }
            ok
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
