//! `tdr-bench`: builds a large store from synthetic events and measures it (tools/scale.sh).
//!
//! * `build`: generates events in chunks, imports each chunk through the real import path
//!   (parse + apply + RocksDB batch with checkpoint, WAL on), and reports import events/s
//!   (generation time excluded), bytes on disk per binding after compaction, and peak RSS.
//! * `lookups`: random lookups over the built data. Every lookup is audited like any other
//!   (there is no unaudited read path); the timer reports the lookup alone and lookup + audit
//!   fsync separately.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

mod api;
mod baseline;
mod desk;
mod feed;
mod live;

use tdr::audit::{AuditLog, NewEntry};
use tdr::clock::{Clock, SystemClock};
use tdr::config::Config;
use tdr::ingest::import::Importer;
use tdr::legal::Purpose;
use tdr::parse::Format;
use tdr::store::lookup::{Attributor, Scope};
use tdr::store::Store;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Parse only: frames and parses FILES as FORMAT on one thread, nothing stored; prints
    /// bytes, records and events per second (files are read into memory first).
    Parse {
        #[arg(long, value_parser = tdr::format_arg())]
        format: tdr::parse::Format,
        #[arg(long)]
        tz: Option<String>,
        files: Vec<PathBuf>,
    },
    /// Imports FORMAT=FILE pairs in one process through the importer `tdr import` uses (as the
    /// daemon will: the store and its live state are opened once), and prints the totals.
    Import {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        tz: Option<String>,
        /// FORMAT=FILE
        files: Vec<String>,
    },
    Build {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        bindings: u64,
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[arg(long, default_value_t = 131_072)]
        pool: u32,
        #[arg(long, default_value_t = 500_000)]
        subscribers: u32,
        /// Events per committed batch (the store's `batch_events`).
        #[arg(long)]
        batch_events: Option<usize>,
        /// Events generated per chunk file (the generator's buffer counts in the peak RSS).
        #[arg(long, default_value_t = 1_000_000)]
        chunk_events: u64,
        /// Write the store unsealed (no encryption at rest), to measure what sealing costs
        /// (a build with `--features testkit`; tdr refuses such a store).
        #[arg(long)]
        unsealed: bool,
    },
    /// (internal) The generator side of `build`, in its own process so that the importer's
    /// peak RSS is its own: writes the next chunk of events to OUT for each `next` line read
    /// on stdin and answers with a JSON line; `meta` answers with the run's metadata.
    #[command(hide = true)]
    Synth {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        bindings: u64,
        #[arg(long)]
        start: i64,
        #[arg(long)]
        gap: f64,
        #[arg(long)]
        pool: u32,
        #[arg(long)]
        subscribers: u32,
        #[arg(long)]
        chunk_events: u64,
    },
    /// Write event lines into rotating files (see feed.rs), with a ledger of every line.
    Feed {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        lines: u64,
        /// Lines per second (0: as fast as possible).
        #[arg(long, default_value_t = 0)]
        rate: u64,
        #[arg(long, default_value_t = 5_000)]
        rotate_every: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Share of lines written in two parts with a pause between.
        #[arg(long, default_value_t = 0.01)]
        split: f64,
    },
    /// Send every line of a file to a syslog TCP listener over one connection.
    Send {
        #[arg(long)]
        addr: String,
        /// RFC 6587 octet counting instead of LF framing.
        #[arg(long)]
        octets: bool,
        /// Send the file this many times.
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        file: PathBuf,
    },
    /// Append lines to a file a running `tdr serve` follows; report how long each took to be
    /// committed (p50, p99, max).
    Latency {
        /// The daemon's metrics address (host:port).
        #[arg(long)]
        http: String,
        #[arg(long)]
        file: PathBuf,
        #[arg(long, default_value_t = 5_000)]
        lines: usize,
        #[arg(long, default_value_t = 500)]
        rate: u64,
    },
    /// Append source files to destination files side by side over a time span (live producers).
    Append {
        #[arg(long)]
        seconds: f64,
        /// SRC=DST pairs.
        pairs: Vec<String>,
    },
    /// Print the sum of a metric's samples from a running daemon (0 if it has none or does
    /// not answer), for scripts on machines without curl.
    Metric {
        #[arg(long)]
        http: String,
        name: String,
        /// Only samples whose line contains this (a label, e.g. `source="tcp"`).
        label: Option<String>,
    },
    /// The two-core ceiling of an import: inflates, frames and parses every file the
    /// configuration's `[[file]]` sources match (as `tdr import --sources` would), on
    /// `--readers` threads, through the same file reader as the import, and stores nothing
    /// (the chunks are dropped). Prints the wall time and the readers' CPU time as JSON.
    Ceiling {
        #[arg(long)]
        config: PathBuf,
        #[arg(long, default_value_t = 2)]
        readers: usize,
    },
    /// Print what a store holds, independent of batching (see Store::logical_dump_for_tests;
    /// only in a build with `--features testkit`).
    Dump {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Audited abuse lookups against a running daemon's HTTP API: CLIENTS keep-alive
    /// connections, queries drawn like `lookups` from a `build` store's metadata (or from a
    /// file of request bodies); prints throughput and latency percentiles as JSON.
    Api {
        /// http://host:port or https://host:port
        #[arg(long)]
        url: String,
        /// PEM certificate(s) to trust for https.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// File holding a security-role bearer token.
        #[arg(long)]
        token_file: PathBuf,
        /// A `build` data directory (its bench-meta.json sets the address pool and times).
        #[arg(long, conflicts_with = "queries")]
        meta_dir: Option<PathBuf>,
        /// One JSON request body a line.
        #[arg(long)]
        queries: Option<PathBuf>,
        #[arg(long, default_value_t = 8)]
        clients: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Stop after this many requests in total.
        #[arg(long, default_value_t = u64::MAX >> 2)]
        requests: u64,
    },
    /// Desk page render times: signs USER in for the first time (one-time password from
    /// PASSWORD_FILE, TOTP enrolment) and fetches each PAGE ROUNDS times; JSON p50/p99/max.
    Desk {
        /// https://host:port
        #[arg(long)]
        url: String,
        #[arg(long)]
        ca: Option<PathBuf>,
        #[arg(long)]
        user: String,
        /// File holding the user's one-time desk password.
        #[arg(long)]
        password_file: PathBuf,
        /// A path to time (repeat).
        #[arg(long = "page", required = true)]
        pages: Vec<String>,
        #[arg(long, default_value_t = 200)]
        rounds: usize,
    },
    /// A law-enforcement case request (JSON, for `tdr case create --file`) naming ITEMS
    /// address-and-time items drawn like `api`'s queries from a `build` store's metadata.
    Scope {
        #[arg(long)]
        meta_dir: PathBuf,
        #[arg(long, default_value_t = 1000)]
        items: usize,
    },
    /// Write a self-signed certificate for `localhost` (cert.pem, key.pem) into DIR.
    Cert {
        #[arg(long)]
        dir: PathBuf,
    },
    Lookups {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        n: usize,
    },
    /// The subscriber index of a `build` store: a GDPR art. 15 read (`bindings_of`, every
    /// class) for N random subscribers, p50/p99/max; the store's bytes per binding; with
    /// `--strip`, the index's own bytes (its entries deleted and the store compacted again —
    /// the store is changed: use a copy).
    Subjects {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 2_000)]
        n: usize,
        #[arg(long, default_value_t = 500_000)]
        subscribers: u32,
        #[arg(long)]
        strip: bool,
    },
    /// tdr's lookup path (no audit) over a file of queries (`tdr-gen queries` output): p50/p99
    /// as JSON. The same queries tools/bench-vs-baselines gives PostgreSQL.
    QueryLookups {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        queries: PathBuf,
        #[arg(long, default_value_t = usize::MAX)]
        n: usize,
        /// Also list this many slowest queries with their status.
        #[arg(long, default_value_t = 0)]
        slowest: usize,
    },
    /// The raw RocksDB ceiling: RECORDS records of BYTES bytes in all into a bare RocksDB in
    /// DIR, values cut from SAMPLE (log text), fsynced batches of BATCH records.
    Rawdb {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        records: u64,
        #[arg(long)]
        bytes: u64,
        #[arg(long)]
        sample: PathBuf,
        /// tdr's importer commits 200 000 events a batch (`store.batch_events`).
        #[arg(long, default_value_t = 200_000)]
        batch: u64,
    },
}

#[derive(Serialize, Deserialize)]
struct Meta {
    start: i64,
    end: i64,
    pool: u32,
    bindings: u64,
    events: u64,
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

fn sst_bytes(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "sst"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().cmd {
        Cmd::Parse { format, tz, files } => {
            let mut ctx = tdr::parse::Context::new("bench", i64::MAX / 2);
            ctx.tz = tz.map(|z| z.parse()).transpose()?;
            let (mut bytes, mut records, mut events, mut errors) = (0u64, 0u64, 0u64, 0u64);
            let mut secs = 0f64;
            for f in files {
                let buf = std::fs::read(&f)?;
                let t = Instant::now();
                let mut p = tdr::parse::parser(format, &ctx)?;
                let mut framer = tdr::parse::framing::Framer::new(
                    format.framing(),
                    tdr::parse::framing::DEFAULT_MAX_FRAME,
                );
                let mut out = Vec::with_capacity(4096);
                let mut pos = 0;
                loop {
                    match framer.next(&buf, pos) {
                        tdr::parse::framing::Step::Frame { next, frame, .. } => {
                            pos = next;
                            records += 1;
                            match tdr::parse::frame_outcome(format, frame) {
                                Ok(d) => {
                                    if p.parse(d, &mut out).is_err() {
                                        errors += 1;
                                    }
                                }
                                Err(_) => errors += 1,
                            }
                            if out.len() >= 4096 {
                                events += out.len() as u64;
                                out.clear();
                            }
                        }
                        tdr::parse::framing::Step::Skip { next } => pos = next,
                        tdr::parse::framing::Step::NeedMore => break,
                    }
                }
                events += out.len() as u64;
                secs += t.elapsed().as_secs_f64();
                bytes += buf.len() as u64;
            }
            println!(
                "{}",
                serde_json::json!({
                    "format": format.name(), "bytes": bytes, "records": records,
                    "events": events, "rejected": errors, "secs": secs,
                    "mb_per_s": bytes as f64 / secs / 1e6,
                    "records_per_s": records as f64 / secs,
                    "events_per_s": events as f64 / secs,
                })
            );
        }
        Cmd::Import {
            data_dir,
            tz,
            files,
        } => {
            let cfg = Config {
                data_dir,
                ..Config::default()
            };
            let clock = SystemClock;
            let mut store = Store::open(&cfg)?;
            let mut imp = Importer::new(&mut store, &cfg, &clock)?;
            let t0 = Instant::now();
            let (mut bytes, mut total) = (0u64, tdr::ingest::import::ImportStats::default());
            for spec in files {
                let (fmt, path) = spec.split_once('=').ok_or("expected FORMAT=FILE")?;
                let format = tdr::parse::Format::from_name(fmt).ok_or("unknown format")?;
                let mut ctx = tdr::parse::Context::new(fmt, clock.now());
                ctx.tz = tz.as_deref().map(str::parse).transpose()?;
                let opts = tdr::ingest::import::ImportOptions {
                    format,
                    ctx,
                    complete: true,
                };
                let t = Instant::now();
                let st = imp.import(std::path::Path::new(path), &opts)?;
                let len = std::fs::metadata(path)?.len();
                bytes += len;
                eprintln!(
                    "{fmt}: {len} bytes in {:.2} s: {} accepted, {} duplicate, {} quarantined; \
                     cpu ms reader {} applier {} writer {}",
                    t.elapsed().as_secs_f64(),
                    st.accepted,
                    st.duplicate,
                    st.quarantined,
                    st.reader_cpu_ms,
                    st.applier_cpu_ms,
                    st.writer_cpu_ms
                );
                total.add(&st);
            }
            let secs = t0.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({"bytes": bytes, "secs": secs, "mb_per_s": bytes as f64 / secs / 1e6,
                    "accepted": total.accepted, "duplicate": total.duplicate, "quarantined": total.quarantined})
            );
        }
        Cmd::Build {
            data_dir,
            batch_events,
            bindings,
            days,
            pool,
            subscribers,
            chunk_events,
            unsealed,
        } => {
            let defaults = Config::default();
            let cfg = Config {
                data_dir: data_dir.clone(),
                batch_events: batch_events.unwrap_or(defaults.batch_events),
                ..defaults
            };
            let now = SystemClock.now();
            let start = now - (days + 1) * 86_400;
            // Each session start gives ~1.15 bindings (IPv6 prefix share, CGNAT share).
            let gap = (days * 86_400) as f64 / (bindings as f64 / 1.15);
            #[cfg(feature = "testkit")]
            let mut store = if unsealed {
                Store::open_unsealed_for_bench(&cfg)?
            } else {
                Store::open(&cfg)?
            };
            #[cfg(not(feature = "testkit"))]
            let mut store = if unsealed {
                return Err("--unsealed needs tdr-bench built with --features testkit".into());
            } else {
                Store::open(&cfg)?
            };
            let clock = SystemClock;
            let chunk = data_dir.with_extension("chunk.jsonl");
            let mut gen = std::process::Command::new(std::env::current_exe()?)
                .args(["synth", "--out"])
                .arg(&chunk)
                .args([
                    "--bindings",
                    &bindings.to_string(),
                    "--start",
                    &start.to_string(),
                ])
                .args(["--gap", &gap.to_string(), "--pool", &pool.to_string()])
                .args(["--subscribers", &subscribers.to_string()])
                .args(["--chunk-events", &chunk_events.to_string()])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()?;
            let mut to_gen = gen.stdin.take().ok_or("no stdin")?;
            let mut from_gen = std::io::BufReader::new(gen.stdout.take().ok_or("no stdout")?);
            let mut ask = |what: &str| -> Result<serde_json::Value, Box<dyn std::error::Error>> {
                use std::io::{BufRead, Write};
                writeln!(to_gen, "{what}")?;
                let mut line = String::new();
                from_gen.read_line(&mut line)?;
                Ok(serde_json::from_str(&line)?)
            };
            let mut import_secs = 0.0;
            let mut gen_secs = 0.0;
            let mut chunk_no = 0;
            loop {
                let t0 = Instant::now();
                let reply = ask("next")?;
                gen_secs += t0.elapsed().as_secs_f64();
                if reply["events_in_chunk"].as_u64() == Some(0) {
                    break;
                }
                let t1 = Instant::now();
                {
                    let mut imp = Importer::new(&mut store, &cfg, &clock)?;
                    let st = imp.import_file(&chunk, Format::Events, "bench")?;
                    if st.quarantined > 0 {
                        return Err(format!("{} lines quarantined", st.quarantined).into());
                    }
                }
                import_secs += t1.elapsed().as_secs_f64();
                chunk_no += 1;
                let events = reply["events"].as_u64().unwrap_or(0);
                eprintln!(
                    "chunk {chunk_no}: {events} events, {} bindings so far, {:.0} events/s import, importer RSS peak {:.0} MiB, {}",
                    reply["bindings"],
                    events as f64 / import_secs,
                    peak_rss_mib(),
                    store.memory_usage()
                );
            }
            std::fs::remove_file(&chunk).ok();
            let meta: Meta = serde_json::from_value(ask("meta")?)?;
            drop(to_gen); // end of requests: the generator exits
            gen.wait()?;
            std::fs::write(
                data_dir.join("bench-meta.json"),
                serde_json::to_string(&meta)?,
            )?;
            let s = &meta;
            let t2 = Instant::now();
            store.compact()?;
            let compact_secs = t2.elapsed().as_secs_f64();
            let store_dir = data_dir.join("store");
            let sst = sst_bytes(&store_dir);
            let all = store.disk_bytes();
            println!(
                "{}",
                serde_json::json!({
                    "events": s.events,
                    "bindings": s.bindings,
                    "import_secs": import_secs,
                    "import_events_per_sec": s.events as f64 / import_secs,
                    "generate_secs": gen_secs,
                    "compact_secs": compact_secs,
                    "sst_bytes": sst,
                    "store_dir_bytes": all,
                    "sst_bytes_per_binding": sst as f64 / s.bindings as f64,
                    "dir_bytes_per_binding": all as f64 / s.bindings as f64,
                    "peak_rss_mib": peak_rss_mib(),
                })
            );
        }
        Cmd::Synth {
            out,
            bindings,
            start,
            gap,
            pool,
            subscribers,
            chunk_events,
        } => {
            use std::io::{BufRead, Write};
            let mut s = tdr_testkit::synth::Synth::new(42, pool, subscribers, start, gap);
            let stdout = std::io::stdout();
            for line in std::io::stdin().lock().lines() {
                let reply = match line?.trim() {
                    "next" => {
                        let mut buf = String::with_capacity((chunk_events * 210) as usize);
                        let first = s.events;
                        while s.events - first < chunk_events && s.bindings < bindings {
                            s.next_into(&mut buf);
                        }
                        std::fs::write(&out, &buf)?;
                        serde_json::json!({"events": s.events, "bindings": s.bindings, "events_in_chunk": s.events - first})
                    }
                    "meta" => serde_json::to_value(Meta {
                        start,
                        end: s.now(),
                        pool: s.used_pool.max(1),
                        bindings: s.bindings,
                        events: s.events,
                    })?,
                    other => return Err(format!("unknown request {other:?}").into()),
                };
                writeln!(stdout.lock(), "{reply}")?;
            }
        }
        Cmd::Feed {
            dir,
            lines,
            rate,
            rotate_every,
            seed,
            split,
        } => {
            let (a, b) = feed::feed(&feed::FeedOptions {
                dir,
                lines,
                rate,
                rotate_every,
                seed,
                base: SystemClock.now() - 3600,
                split,
            })?;
            println!(
                "fed {} lines: {a} to a (rename+create, gz), {b} to b (copytruncate)",
                a + b
            );
        }
        Cmd::Send {
            addr,
            octets,
            repeat,
            file,
        } => {
            let (n, secs) = live::send(&addr, &file, octets, repeat)?;
            println!(
                "sent {n} messages in {secs:.2} s ({:.0} msg/s)",
                n as f64 / secs
            );
        }
        Cmd::Latency {
            http,
            file,
            lines,
            rate,
        } => {
            let l = live::latency(&http, &file, lines, rate)?;
            println!(
                "line written -> committed (queryable), {} lines at {rate}/s: p50 {:.3} s, p99 {:.3} s, max {:.3} s",
                l.lines, l.p50, l.p99, l.max
            );
        }
        Cmd::Append { seconds, pairs } => {
            let pairs: Vec<(PathBuf, PathBuf)> = pairs
                .iter()
                .map(|p| {
                    let (a, b) = p.split_once('=').ok_or("expected SRC=DST")?;
                    Ok((PathBuf::from(a), PathBuf::from(b)))
                })
                .collect::<Result<_, &str>>()?;
            let took = live::append(&pairs, seconds)?;
            println!("appended in {took:.2} s");
        }
        Cmd::Metric { http, name, label } => {
            let labels: Vec<&str> = label.iter().map(String::as_str).collect();
            println!("{:.0}", live::metric(&http, &name, &labels).unwrap_or(0.0));
        }
        Cmd::Ceiling { config, readers } => {
            let cfg = Config::load(&config).map_err(|e| e.to_string())?;
            let jobs = tdr::ingest::import::configured_jobs(&cfg, SystemClock.now(), true)?;
            // An empty store in a scratch folder: every file is read from its start.
            let scratch = std::env::temp_dir().join(format!("tdr-ceiling-{}", std::process::id()));
            let store = Store::open(&Config {
                data_dir: scratch.clone(),
                ..Config::default()
            })?;
            let quarantine = tdr::ingest::quarantine::Quarantine::new(&scratch);
            let (tx, mut rx) = tokio::sync::mpsc::channel::<tdr::ingest::pipeline::ToCore>(8);
            let next = std::sync::Mutex::new(jobs.iter());
            let stop = std::sync::atomic::AtomicBool::new(false);
            let t0 = Instant::now();
            let (frames, cpu_ms) = std::thread::scope(|scope| {
                let drain = scope.spawn(move || {
                    let mut frames = 0u64;
                    while let Some(m) = rx.blocking_recv() {
                        if let tdr::ingest::pipeline::ToCore::Data(i) = m {
                            frames += i.chunk.items.len() as u64;
                        }
                    }
                    frames
                });
                let workers: Vec<_> = (0..readers.max(1))
                    .map(|_| {
                        let tx = tx.clone();
                        let (next, stop, store, quarantine) = (&next, &stop, &store, &quarantine);
                        scope.spawn(move || -> Result<u64, String> {
                            let mut cpu = 0;
                            loop {
                                let job = next.lock().expect("queue").next();
                                let Some(job) = job else { return Ok(cpu) };
                                let r = tdr::ingest::sources::file::read(
                                    job, store, quarantine, &tx, stop, None,
                                )
                                .map_err(|e| e.to_string())?;
                                cpu += r.cpu_ms;
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let mut cpu = 0;
                for w in workers {
                    cpu += w.join().expect("reader")?;
                }
                Ok::<_, String>((drain.join().expect("drain"), cpu))
            })?;
            let secs = t0.elapsed().as_secs_f64();
            drop(store);
            let _ = std::fs::remove_dir_all(&scratch);
            println!(
                "{}",
                serde_json::json!({"files": jobs.len(), "readers": readers, "frames": frames,
                    "secs": secs, "reader_cpu_ms": cpu_ms})
            );
        }
        #[cfg(feature = "testkit")]
        Cmd::Dump { data_dir } => {
            use std::io::Write;
            let cfg = Config {
                data_dir,
                ..Config::default()
            };
            let store = Store::open_read_only(&cfg)?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for line in store.logical_dump_for_tests()? {
                writeln!(out, "{line}")?;
            }
        }
        #[cfg(not(feature = "testkit"))]
        Cmd::Dump { .. } => {
            return Err("tdr-bench dump needs a build with `--features testkit`".into());
        }
        Cmd::Desk {
            url,
            ca,
            user,
            password_file,
            pages,
            rounds,
        } => {
            let one_time = std::fs::read_to_string(&password_file)?.trim().to_string();
            let out = desk::run(&url, ca.as_deref(), &user, &one_time, &pages, rounds)
                .map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Cmd::Scope { meta_dir, items } => {
            let meta: Meta =
                serde_json::from_str(&std::fs::read_to_string(meta_dir.join("bench-meta.json"))?)?;
            let mut rng = rand::rngs::StdRng::seed_from_u64(16);
            let scope: Vec<serde_json::Value> = (0..items)
                .map(|_| {
                    let at = tdr::model::fmt_time(rng.gen_range(meta.start..meta.end));
                    let ip = std::net::Ipv4Addr::from(0xC612_0000u32 + rng.gen_range(0..meta.pool));
                    serde_json::json!({"addr": ip.to_string(), "at": at})
                })
                .collect();
            let day = chrono::DateTime::from_timestamp(meta.end, 0)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            let req = serde_json::json!({
                "request_type": "law_enforcement", "authority": "Polismyndigheten",
                "case_number": format!("BENCH-{items}"), "decision_date": day,
                "order_sha256": tdr::report::sha256_hex(b"bench order"), "scope": scope});
            println!("{req}");
        }
        Cmd::Api {
            url,
            ca,
            token_file,
            meta_dir,
            queries,
            clients,
            seconds,
            requests,
        } => {
            let token = std::fs::read_to_string(&token_file)?.trim().to_string();
            let bodies: Vec<String> = match (meta_dir, queries) {
                (_, Some(f)) => std::fs::read_to_string(f)?
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string)
                    .collect(),
                (Some(d), None) => {
                    let meta: Meta =
                        serde_json::from_str(&std::fs::read_to_string(d.join("bench-meta.json"))?)?;
                    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
                    (0..100_000)
                        .map(|i| {
                            let at = tdr::model::fmt_time(rng.gen_range(meta.start..meta.end));
                            let kind = rng.gen_range(0..100);
                            let (ip, port): (std::net::Ipv4Addr, Option<u16>) = if kind < 6 {
                                (
                                    std::net::Ipv4Addr::from(0xCB00_7100u32 + rng.gen_range(0..16)),
                                    (kind < 5).then(|| rng.gen_range(1024..65535)),
                                )
                            } else {
                                (
                                    std::net::Ipv4Addr::from(
                                        0xC612_0000u32 + rng.gen_range(0..meta.pool),
                                    ),
                                    None,
                                )
                            };
                            serde_json::json!({"addr": ip.to_string(), "port": port, "at": at,
                                               "reference": format!("BENCH-{i}")})
                            .to_string()
                        })
                        .collect()
                }
                (None, None) => return Err("give --meta-dir or --queries".into()),
            };
            let out = api::run(
                &url,
                ca.as_deref(),
                &token,
                bodies,
                clients,
                seconds,
                requests,
            )
            .map_err(|e| e.to_string())?;
            let mut lat = out.latencies_ms;
            let n = lat.len();
            let (p50, p99, max) = if n == 0 {
                (0.0, 0.0, 0.0)
            } else {
                (
                    percentile(&mut lat, 0.5),
                    percentile(&mut lat, 0.99),
                    percentile(&mut lat, 1.0),
                )
            };
            println!(
                "{}",
                serde_json::json!({
                    "requests": n, "clients": clients, "seconds": out.seconds,
                    "per_second": n as f64 / out.seconds.max(1e-9),
                    "p50_ms": p50, "p99_ms": p99, "max_ms": max,
                    "statuses": out.statuses,
                })
            );
        }
        Cmd::Cert { dir } => {
            let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
            std::fs::write(dir.join("cert.pem"), ck.cert.pem())?;
            std::fs::write(dir.join("key.pem"), ck.key_pair.serialize_pem())?;
        }
        Cmd::QueryLookups {
            data_dir,
            queries,
            n,
            slowest,
        } => println!(
            "{}",
            baseline::query_lookups(&data_dir, &queries, n, slowest)?
        ),
        Cmd::Rawdb {
            dir,
            records,
            bytes,
            sample,
            batch,
        } => println!("{}", baseline::rawdb(&dir, records, bytes, &sample, batch)?),
        Cmd::Subjects {
            data_dir,
            n,
            subscribers,
            strip,
        } => {
            let meta: Meta =
                serde_json::from_str(&std::fs::read_to_string(data_dir.join("bench-meta.json"))?)?;
            let cfg = Config {
                data_dir: data_dir.clone(),
                ..Config::default()
            };
            let store = Store::open(&cfg)?;
            store.compact()?;
            let bytes = store.disk_bytes();
            let scope = Scope::new(&cfg, &tdr::model::Class::ALL, SystemClock.now());
            let mut rng = rand::rngs::StdRng::seed_from_u64(18);
            let (mut ms, mut found) = (Vec::with_capacity(n), 0usize);
            for _ in 0..n {
                let who = format!("sub{}@isp.example", rng.gen_range(0..subscribers));
                let t0 = Instant::now();
                found += store.bindings_of(&who, &scope)?.len();
                ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            #[cfg_attr(not(feature = "testkit"), allow(unused_mut))]
            let mut out = serde_json::json!({
                "bindings": meta.bindings,
                "partitions": store.partitions()?.len(),
                "subscribers_read": n,
                "bindings_per_subscriber": found as f64 / n as f64,
                "p50_ms": percentile(&mut ms, 0.5),
                "p99_ms": percentile(&mut ms, 0.99),
                "max_ms": percentile(&mut ms, 1.0),
                "store_bytes": bytes,
                "store_bytes_per_binding": bytes as f64 / meta.bindings as f64,
            });
            #[cfg(not(feature = "testkit"))]
            if strip {
                return Err("--strip needs tdr-bench built with --features testkit".into());
            }
            #[cfg(feature = "testkit")]
            if strip {
                let entries = store.strip_subject_index_for_bench()?;
                store.compact()?;
                let without = store.disk_bytes();
                out["index_entries"] = entries.into();
                out["store_bytes_without_index"] = without.into();
                out["index_bytes_per_binding"] =
                    ((bytes as f64 - without as f64) / meta.bindings as f64).into();
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Cmd::Lookups { data_dir, n } => {
            let meta: Meta =
                serde_json::from_str(&std::fs::read_to_string(data_dir.join("bench-meta.json"))?)?;
            let cfg = Config {
                data_dir: data_dir.clone(),
                ..Config::default()
            };
            let store = Store::open(&cfg)?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let mut audit = AuditLog::open(&data_dir, clock.clone())?;
            let scope = Scope::new(
                &cfg,
                Purpose::LawEnforcement.readable_classes(),
                clock.now(),
            );
            let attr = Attributor {
                store: &store,
                cfg: &cfg,
            };
            let mut rng = rand::rngs::StdRng::seed_from_u64(9);
            let (mut bare, mut audited) = (Vec::with_capacity(n), Vec::with_capacity(n));
            let mut statuses = std::collections::BTreeMap::<&str, u64>::new();
            let (mut addr_ms, mut nat_ms, mut nat_noport_ms) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..n {
                let at = rng.gen_range(meta.start..meta.end);
                // 5 % CGNAT with a port, 1 % CGNAT without one (answered port_required).
                let kind = rng.gen_range(0..100);
                let (ip, port): (std::net::IpAddr, Option<u16>) = if kind < 6 {
                    let public = std::net::Ipv4Addr::from(0xCB00_7100u32 + rng.gen_range(0..16));
                    (
                        public.into(),
                        (kind < 5).then(|| rng.gen_range(1024..65535)),
                    )
                } else {
                    (
                        std::net::Ipv4Addr::from(0xC612_0000u32 + rng.gen_range(0..meta.pool))
                            .into(),
                        None,
                    )
                };
                let t0 = Instant::now();
                let a = attr.lookup(ip, port, at, &scope)?;
                let t1 = Instant::now();
                let digest = {
                    use sha2::Digest;
                    hex::encode(sha2::Sha256::digest(serde_json::to_vec(&a)?))
                };
                audit.append(NewEntry {
                    actor: "tdr-bench".into(),
                    role: "benchmark".into(),
                    peer: None,
                    action: "lookup".into(),
                    case: Some("BENCH".into()),
                    legal_basis: Some("law_enforcement".into()),
                    query: serde_json::json!({"addr": ip.to_string(), "port": port, "at": at}),
                    outcome: a.status.as_str().into(),
                    result_count: a.matches.len() as u64,
                    result_digest: Some(digest),
                })?;
                let t2 = Instant::now();
                let ms = (t1 - t0).as_secs_f64() * 1e3;
                match (kind < 6, port) {
                    (true, Some(_)) => nat_ms.push(ms),
                    (true, None) => nat_noport_ms.push(ms),
                    _ => addr_ms.push(ms),
                }
                bare.push((t1 - t0).as_secs_f64() * 1e3);
                audited.push((t2 - t0).as_secs_f64() * 1e3);
                *statuses.entry(a.status.as_str()).or_default() += 1;
            }
            audit.checkpoint()?;
            println!(
                "{}",
                serde_json::json!({
                    "lookups": n,
                    "bindings": meta.bindings,
                    "lookup_ms": {"p50": percentile(&mut bare, 0.5), "p99": percentile(&mut bare, 0.99), "max": percentile(&mut bare, 1.0)},
                    "lookup_with_audit_fsync_ms": {"p50": percentile(&mut audited, 0.5), "p99": percentile(&mut audited, 0.99), "max": percentile(&mut audited, 1.0)},
                    "statuses": statuses,
                    "address_lookup_ms": {"n": addr_ms.len(), "p50": percentile(&mut addr_ms, 0.5), "p99": percentile(&mut addr_ms, 0.99)},
                    "cgnat_lookup_ms": {"n": nat_ms.len(), "p50": percentile(&mut nat_ms, 0.5), "p99": percentile(&mut nat_ms, 0.99)},
                    "cgnat_without_port_ms": {"n": nat_noport_ms.len(), "p50": percentile(&mut nat_noport_ms, 0.5), "p99": percentile(&mut nat_noport_ms, 0.99)},
                    "peak_rss_mib": peak_rss_mib(),
                })
            );
        }
    }
    Ok(())
}
