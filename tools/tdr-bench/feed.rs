//! `tdr-bench feed`: writes event lines into files the way a busy log server does, rotating
//! them both ways, for the crash test (tools/crash-test.sh) and the live-ingest benchmark.
//!
//! * stream `a` (`a/current.log`): rotated by rename + create; the previous rotated file is
//!   then compressed (`current.log.N.gz`, the plain one deleted), as logrotate's
//!   `delaycompress` does.
//! * stream `b` (`b/app.log`): rotated by copytruncate (copied to `app.log.N`, then truncated
//!   in place while the writer keeps its descriptor).
//!
//! Some lines are written in two parts with a pause between, so readers see unterminated
//! lines. Every line is also appended, in write order, to `ledger.jsonl`: what a clean import
//! must give.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

pub struct FeedOptions {
    pub dir: PathBuf,
    pub lines: u64,
    /// Lines per second in all; 0 = as fast as possible.
    pub rate: u64,
    pub rotate_every: u64,
    pub seed: u64,
    /// Time of the first event (Unix seconds).
    pub base: i64,
    /// Share of lines written in two parts (0..1).
    pub split: f64,
}

struct Stream {
    name: &'static str,
    dir: PathBuf,
    file: File,
    lines: u64,
    rotations: u64,
    /// Sessions started and not yet stopped: (index, at line).
    open: std::collections::VecDeque<u64>,
}

fn open_append(p: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(p)
}

impl Stream {
    fn live_path(&self) -> PathBuf {
        match self.name {
            "a" => self.dir.join("current.log"),
            _ => self.dir.join("app.log"),
        }
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.rotations += 1;
        let n = self.rotations;
        let live = self.live_path();
        if self.name == "a" {
            let rotated = self.dir.join(format!("current.log.{n}"));
            std::fs::rename(&live, &rotated)?;
            self.file = open_append(&live)?;
            if n > 1 {
                // Compress the one before (delaycompress): to a name outside the glob, then
                // renamed into place, then the plain file removed.
                let prev = self.dir.join(format!("current.log.{}", n - 1));
                let tmp = self.dir.join(".compressing");
                let data = std::fs::read(&prev)?;
                let mut gz =
                    flate2::write::GzEncoder::new(File::create(&tmp)?, flate2::Compression::fast());
                gz.write_all(&data)?;
                gz.finish()?.sync_all()?;
                std::fs::rename(&tmp, self.dir.join(format!("current.log.{}.gz", n - 1)))?;
                std::fs::remove_file(&prev)?;
            }
        } else {
            std::fs::copy(&live, self.dir.join(format!("app.log.{n}")))?;
            self.file.set_len(0)?;
        }
        Ok(())
    }
}

fn addr(i: u64) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

fn time(t: i64) -> String {
    tdr::model::fmt_time(t)
}

/// Writes the lines; returns how many went to each stream.
pub fn feed(o: &FeedOptions) -> std::io::Result<(u64, u64)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(o.seed);
    let mut streams = Vec::new();
    for name in ["a", "b"] {
        let dir = o.dir.join(name);
        std::fs::create_dir_all(&dir)?;
        let mut s = Stream {
            name,
            dir,
            file: File::open("/dev/null")?,
            lines: 0,
            rotations: 0,
            open: Default::default(),
        };
        s.file = open_append(&s.live_path())?;
        streams.push(s);
    }
    let mut ledger = open_append(&o.dir.join("ledger.jsonl"))?;
    let started = Instant::now();
    let mut next_session = 0u64;
    for j in 0..o.lines {
        if o.rate > 0 {
            let due = Duration::from_secs_f64(j as f64 / o.rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let which = usize::from(rng.gen_bool(0.5));
        let s = &mut streams[which];
        let t = o.base + (j / 10) as i64;
        // Stop the oldest open session once a stream has 50 open; otherwise start one.
        let line = if s.open.len() >= 50 {
            let i = s.open.pop_front().expect("non-empty");
            format!(
                r#"{{"kind":"session","op":"stop","time":"{}","subscriber":"s{i}","session":"x{i}","addr":"{}","nas":"bng1","source":"{}"}}"#,
                time(t),
                addr(i),
                s.name
            )
        } else {
            let i = next_session;
            next_session += 1;
            s.open.push_back(i);
            format!(
                r#"{{"kind":"session","op":"start","time":"{}","subscriber":"s{i}","session":"x{i}","addr":"{}","nas":"bng1","source":"{}"}}"#,
                time(t),
                addr(i),
                s.name
            )
        };
        let bytes = format!("{line}\n");
        if rng.gen_bool(o.split) {
            let cut = rng.gen_range(1..bytes.len());
            s.file.write_all(&bytes.as_bytes()[..cut])?;
            std::thread::sleep(Duration::from_millis(20));
            s.file.write_all(&bytes.as_bytes()[cut..])?;
        } else {
            s.file.write_all(bytes.as_bytes())?;
        }
        ledger.write_all(bytes.as_bytes())?;
        s.lines += 1;
        if s.lines % o.rotate_every == 0 {
            s.rotate()?;
        }
    }
    ledger.sync_all()?;
    Ok((streams[0].lines, streams[1].lines))
}
