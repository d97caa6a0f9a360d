//! Lookup latency (without the audit write, which `tdr-bench lookups` measures separately):
//! random addresses of the pool at random times, on a store of about a million bindings.

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};

use tdr::clock::SystemClock;
use tdr::config::Config;
use tdr::ingest::import::Importer;
use tdr::legal::Purpose;
use tdr::parse::Format;
use tdr::store::lookup::{Attributor, Scope};
use tdr::store::Store;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        data_dir: dir.path().to_path_buf(),
        sync_writes: false,
        ..Config::default()
    };
    let start = chrono::Utc::now().timestamp() - 30 * 86_400;
    let mut s = tdr_testkit::synth::Synth::new(2, 60_000, 200_000, start, 2.0);
    let file = dir.path().join("events.jsonl");
    let mut buf = String::new();
    while s.bindings < 1_000_000 {
        s.next_into(&mut buf);
    }
    std::fs::write(&file, &buf).unwrap();
    drop(buf);
    let end = s.now();
    let mut store = Store::open(&cfg).unwrap();
    {
        let clock = SystemClock;
        let mut imp = Importer::new(&mut store, &cfg, &clock).unwrap();
        imp.import_file(&file, Format::Events, "bench").unwrap();
    }
    store.compact().unwrap();
    let scope = Scope::new(
        &cfg,
        Purpose::LawEnforcement.readable_classes(),
        chrono::Utc::now().timestamp(),
    );
    let attr = Attributor {
        store: &store,
        cfg: &cfg,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut g = c.benchmark_group("lookup");
    g.bench_function("ipv4_random_1M_bindings", |b| {
        b.iter(|| {
            let ip = std::net::Ipv4Addr::from(0xC612_0000u32 + rng.gen_range(0..60_000));
            let at = rng.gen_range(start..end);
            attr.lookup(ip.into(), None, at, &scope).unwrap()
        })
    });
    g.bench_function("cgnat_with_port", |b| {
        b.iter(|| {
            let ip = std::net::Ipv4Addr::from(0xCB00_7100u32 + rng.gen_range(0..16));
            let at = rng.gen_range(start..end);
            attr.lookup(ip.into(), Some(rng.gen_range(1024..65535)), at, &scope)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
