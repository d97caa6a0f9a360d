//! Load for a running `tdr serve` (tools/serve-bench.sh): a syslog TCP sender, and a writer
//! that measures how long a line appended to a followed file takes to be committed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Sends every line of `file` over one TCP connection (LF framing, or RFC 6587 octet counting
/// with `octets`), as fast as the connection takes them. Returns (messages, seconds).
/// `repeat` sends the file that many times.
pub fn send(addr: &str, file: &Path, octets: bool, repeat: u32) -> std::io::Result<(u64, f64)> {
    let s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, s);
    let mut n = 0u64;
    let t = Instant::now();
    for _ in 0..repeat {
        for line in BufReader::with_capacity(1 << 20, std::fs::File::open(file)?).split(b'\n') {
            let line = line?;
            if line.is_empty() {
                continue;
            }
            if octets {
                write!(out, "{} ", line.len())?;
                out.write_all(&line)?;
            } else {
                out.write_all(&line)?;
                out.write_all(b"\n")?;
            }
            n += 1;
        }
    }
    out.flush()?;
    Ok((n, t.elapsed().as_secs_f64()))
}

/// One sample from `/metrics`: the summed value of the lines starting with `name` and holding
/// every string of `labels`.
pub fn metric(http: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let mut s = TcpStream::connect(http).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(
        body.lines()
            .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum(),
    )
}

pub struct Latency {
    pub lines: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// Appends `lines` event lines to `file` (followed by the daemon at `http`) at `rate` a second,
/// and measures for each the time until the daemon's committed offset of the file passes it.
pub fn latency(http: &str, file: &Path, lines: usize, rate: u64) -> std::io::Result<Latency> {
    let written: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let label = format!("file=\"{}\"", file.display());
    let poller = {
        let (written, done, http, label) = (
            written.clone(),
            done.clone(),
            http.to_string(),
            label.clone(),
        );
        std::thread::spawn(move || {
            let mut lat = Vec::new();
            let mut next = 0usize;
            loop {
                let finished = done.load(Ordering::Relaxed);
                let committed =
                    metric(&http, "tdr_checkpoint_offset_bytes", &[&label]).unwrap_or(0.0) as u64;
                let now = Instant::now();
                let w = written.lock().expect("lock");
                while next < w.len() && w[next].0 <= committed {
                    lat.push(now.duration_since(w[next].1).as_secs_f64());
                    next += 1;
                }
                let all = next == w.len();
                drop(w);
                if finished && all {
                    return lat;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    let mut end = f.metadata()?.len();
    let t0 = Instant::now();
    let base = chrono::Utc::now().timestamp() - 60;
    for i in 0..lines {
        let due = Duration::from_secs_f64(i as f64 / rate as f64);
        if let Some(w) = due.checked_sub(t0.elapsed()) {
            std::thread::sleep(w);
        }
        let line = format!(
            r#"{{"kind":"session","op":"start","time":"{}","subscriber":"lat{i}","session":"l{i}","addr":"10.200.{}.{}","nas":"bng9"}}"#,
            tdr::model::fmt_time(base),
            (i / 256) % 256,
            i % 256
        ) + "\n";
        f.write_all(line.as_bytes())?;
        end += line.len() as u64;
        written.lock().expect("lock").push((end, Instant::now()));
    }
    done.store(true, Ordering::Relaxed);
    let mut lat = poller.join().map_err(|_| std::io::Error::other("poller"))?;
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    Ok(Latency {
        lines: lat.len(),
        p50: q(0.50),
        p99: q(0.99),
        max: *lat.last().unwrap_or(&0.0),
    })
}

/// Appends each source file to its destination over `seconds`, all at once and in
/// proportion (every 20 ms each destination gets the share of its source due by then, cut at
/// any byte), as producers logging the same hours side by side would. Returns the seconds
/// taken.
pub fn append(
    pairs: &[(std::path::PathBuf, std::path::PathBuf)],
    seconds: f64,
) -> std::io::Result<f64> {
    let mut files = Vec::new();
    for (src, dst) in pairs {
        let data = std::fs::read(src)?;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dst)?;
        files.push((data, out, 0usize));
    }
    let t0 = Instant::now();
    loop {
        let share = (t0.elapsed().as_secs_f64() / seconds).min(1.0);
        for (data, out, done) in files.iter_mut() {
            let due = ((data.len() as f64 * share) as usize).min(data.len());
            if due > *done {
                out.write_all(&data[*done..due])?;
                *done = due;
            }
        }
        if share >= 1.0 {
            return Ok(t0.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
