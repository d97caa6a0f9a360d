//! The pieces of `tools/bench-vs-baselines` that run inside one process:
//!
//! * `query-lookups`: tdr's own lookup path (no audit) over a file of queries
//!   (`tdr-gen queries` output), the same queries the PostgreSQL baseline answers;
//! * `rawdb`: the ceiling for tdr's store — N records of B bytes in all written into a bare
//!   RocksDB (one column family, LZ4, the same write-batch size and WAL fsync per batch as
//!   tdr's importer), values cut from real log text so they compress like logs.

use std::io::{BufRead, Read};
use std::path::Path;
use std::time::Instant;

use rocksdb::{DBCompressionType, Options, WriteBatch, WriteOptions, DB};
use tdr::config::Config;
use tdr::legal::Purpose;
use tdr::store::lookup::{Attributor, Scope};
use tdr::store::Store;

use crate::percentile;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

pub fn query_lookups(
    data_dir: &Path,
    queries: &Path,
    limit: usize,
    slowest: usize,
) -> Res<serde_json::Value> {
    let cfg = Config {
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    };
    let store = Store::open(&cfg)?;
    let now = chrono::Utc::now().timestamp();
    let scope = Scope::new(&cfg, Purpose::LawEnforcement.readable_classes(), now);
    let attr = Attributor {
        store: &store,
        cfg: &cfg,
    };
    let (mut all, mut addr, mut port) = (Vec::new(), Vec::new(), Vec::new());
    let mut statuses = std::collections::BTreeMap::<String, u64>::new();
    let mut slow: Vec<(f64, String, &'static str)> = Vec::new();
    let mut by_status = std::collections::BTreeMap::<&'static str, Vec<f64>>::new();
    for line in std::io::BufReader::new(std::fs::File::open(queries)?).lines() {
        if all.len() >= limit {
            break;
        }
        let line = line?;
        let q: serde_json::Value = serde_json::from_str(&line)?;
        let ip: std::net::IpAddr = q["addr"].as_str().ok_or("query without addr")?.parse()?;
        let p = q["port"].as_u64().map(|p| p as u16);
        let at = chrono::DateTime::parse_from_rfc3339(q["at"].as_str().ok_or("query without at")?)?
            .timestamp();
        let t0 = Instant::now();
        let a = attr.lookup(ip, p, at, &scope)?;
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        all.push(ms);
        if p.is_some() {
            port.push(ms)
        } else {
            addr.push(ms)
        }
        *statuses.entry(a.status.as_str().to_string()).or_default() += 1;
        by_status.entry(a.status.as_str()).or_default().push(ms);
        if slowest > 0 {
            slow.push((ms, line, a.status.as_str()));
            if slow.len() > 4 * slowest {
                slow.sort_by(|a, b| b.0.total_cmp(&a.0));
                slow.truncate(slowest);
            }
        }
    }
    slow.sort_by(|a, b| b.0.total_cmp(&a.0));
    slow.truncate(slowest);
    let pct = |v: &mut Vec<f64>| {
        if v.is_empty() {
            serde_json::json!(null)
        } else {
            serde_json::json!({"n": v.len(), "p50": percentile(v, 0.5), "p99": percentile(v, 0.99), "max": percentile(v, 1.0)})
        }
    };
    Ok(serde_json::json!({
        "lookup_ms": pct(&mut all),
        "address_ms": pct(&mut addr),
        "cgnat_port_ms": pct(&mut port),
        "statuses": statuses,
        "by_status_ms": by_status.iter_mut().map(|(k, v)| (k.to_string(), pct(v))).collect::<serde_json::Map<_, _>>(),
        "slowest": slow.iter().map(|(ms, q, st)| serde_json::json!({"ms": ms, "status": st, "query": q})).collect::<Vec<_>>(),
    }))
}

pub fn rawdb(
    dir: &Path,
    records: u64,
    bytes: u64,
    sample: &Path,
    batch: u64,
) -> Res<serde_json::Value> {
    // Log text to cut values from (the sample may be gzipped).
    let mut text = Vec::new();
    let f = std::fs::File::open(sample)?;
    if sample.extension().is_some_and(|e| e == "gz") {
        flate2::read::MultiGzDecoder::new(f)
            .take(8 << 20)
            .read_to_end(&mut text)?;
    } else {
        f.take(8 << 20).read_to_end(&mut text)?;
    }
    if text.len() < 4096 {
        return Err("sample too small".into());
    }
    let mut o = Options::default();
    o.create_if_missing(true);
    o.increase_parallelism(2);
    o.set_max_background_jobs(2);
    o.set_compression_type(DBCompressionType::Lz4);
    o.set_bottommost_compression_type(DBCompressionType::Zstd);
    o.set_write_buffer_size(64 << 20);
    o.set_level_compaction_dynamic_level_bytes(true);
    let db = DB::open(&o, dir)?;
    let mut wo = WriteOptions::default();
    wo.set_sync(true);
    let per = (bytes / records.max(1)).max(17) as usize - 16;
    let t0 = Instant::now();
    let (mut off, mut written) = (0usize, 0u64);
    let mut wb = WriteBatch::default();
    for i in 0..records {
        if off + per > text.len() {
            off = (off * 7 + 13) % (text.len() - per);
        }
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&(i / 1000).to_be_bytes());
        key[8..].copy_from_slice(&i.to_be_bytes());
        wb.put(key, &text[off..off + per]);
        off += per;
        written += 16 + per as u64;
        if (i + 1) % batch == 0 {
            db.write_opt(std::mem::take(&mut wb), &wo)?;
        }
    }
    db.write_opt(wb, &wo)?;
    db.flush()?;
    let secs = t0.elapsed().as_secs_f64();
    drop(db);
    let disk: u64 = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sst"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    Ok(serde_json::json!({
        "records": records, "bytes": written, "seconds": secs,
        "records_per_s": records as f64 / secs, "sst_bytes": disk,
    }))
}
