//! The event stream as tdr imports it (`--format events`, JSON Lines): the event type, its
//! hand-written line format, and the sink that applies log-shipping damage — bounded
//! reordering, exact duplicates, garbage lines — and writes one file or one file per UTC day.
//!
//! The sink receives events in time order and holds only those within the reorder window:
//! each line gets a sort key of its time plus a random delay below `reorder_secs`, so a line
//! can only be overtaken by lines less than `reorder_secs` older than itself. Lines wait in
//! one bucket per second of their key and are written a second at a time.
//!
//! A late event (a RADIUS Stop a NAS retransmitted for days, [`Sink::push_late`]) is pushed
//! when it arrives and written where a line arriving then goes: its time is still the real
//! event time (the real formats say when it arrived and how late it is).

use crate::error::{GenError, Result};
use crate::real::{RealFiles, Stream};
use crate::timefmt::{self, DAY};
use rand::rngs::StdRng;
use rand::Rng;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessOp {
    Start,
    Interim,
    Stop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseOp {
    Assign,
    Renew,
    Release,
    Expire,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatOp {
    Alloc,
    Release,
}

/// One log event. Subscribers, addresses and NAS are indices into [`Names`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ev {
    Session {
        op: SessOp,
        t: i64,
        sub: u32,
        session: u64,
        addr: u32,
        /// The delegated IPv6 prefix the same session holds, if any (a second line in the
        /// events format, a second attribute of the same RADIUS record).
        v6: Option<u32>,
        nas: u16,
    },
    Lease {
        op: LeaseOp,
        t: i64,
        sub: u32,
        addr: u32,
        expires: Option<i64>,
    },
    Nat {
        op: NatOp,
        t: i64,
        inside: u32,
        public: u32,
        lo: u16,
        hi: u16,
    },
    Reboot {
        t: i64,
        nas: u16,
    },
}

impl Ev {
    pub fn time(&self) -> i64 {
        match *self {
            Ev::Session { t, .. }
            | Ev::Lease { t, .. }
            | Ev::Nat { t, .. }
            | Ev::Reboot { t, .. } => t,
        }
    }
}

/// The string forms of subscribers, addresses and NAS, formatted once.
#[derive(Default)]
pub struct Names {
    pub subscribers: Vec<Box<str>>,
    pub addrs: Vec<Box<str>>,
    pub nas: Vec<Box<str>>,
    /// Seconds the CGNAT router's clock runs ahead of true time (its log times carry it).
    pub cgnat_skew: i64,
}

pub const SOURCE_RADIUS: &str = "radius";
pub const SOURCE_DHCP: &str = "dhcp";
pub const SOURCE_CGNAT: &str = "cgnat";

fn push_time(out: &mut Vec<u8>, t: i64) {
    out.extend_from_slice(&timefmt::rfc3339(t));
}

fn push_hex16(out: &mut Vec<u8>, v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..16).rev() {
        out.push(HEX[((v >> (i * 4)) & 0xf) as usize]);
    }
}

fn push_u16(out: &mut Vec<u8>, v: u16) {
    let mut buf = [0u8; 5];
    let mut n = v;
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Session ids are 16 hex digits, as accel-ppp writes them.
pub fn session_id(v: u64) -> String {
    let mut out = Vec::with_capacity(16);
    push_hex16(&mut out, v);
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends the event's JSON line (with the trailing newline) to `out`.
pub fn format_line(ev: &Ev, names: &Names, out: &mut Vec<u8>) {
    match *ev {
        Ev::Session {
            op,
            t,
            sub,
            session,
            addr,
            v6,
            nas,
        } => {
            for a in std::iter::once(addr).chain(v6) {
                session_line(
                    op,
                    t,
                    names.subscribers[sub as usize].as_bytes(),
                    session,
                    names.addrs[a as usize].as_bytes(),
                    names.nas[nas as usize].as_bytes(),
                    out,
                );
            }
        }
        Ev::Lease {
            op,
            t,
            sub,
            addr,
            expires,
        } => {
            lease_line(op, t, names, sub, addr, expires, out);
        }
        Ev::Nat { .. } | Ev::Reboot { .. } => other_line(ev, names, out),
    }
}

fn session_line(
    op: SessOp,
    t: i64,
    subscriber: &[u8],
    session: u64,
    addr: &[u8],
    nas: &[u8],
    out: &mut Vec<u8>,
) {
    {
        {
            out.extend_from_slice(b"{\"kind\":\"session\",\"op\":\"");
            out.extend_from_slice(match op {
                SessOp::Start => b"start".as_slice(),
                SessOp::Interim => b"interim",
                SessOp::Stop => b"stop",
            });
            out.extend_from_slice(b"\",\"time\":\"");
            push_time(out, t);
            out.extend_from_slice(b"\",\"subscriber\":\"");
            out.extend_from_slice(subscriber);
            out.extend_from_slice(b"\",\"session\":\"");
            push_hex16(out, session);
            out.extend_from_slice(b"\",\"addr\":\"");
            out.extend_from_slice(addr);
            out.extend_from_slice(b"\",\"nas\":\"");
            out.extend_from_slice(nas);
            out.extend_from_slice(b"\",\"source\":\"");
            out.extend_from_slice(SOURCE_RADIUS.as_bytes());
            out.extend_from_slice(b"\"}\n");
        }
    }
}

fn lease_line(
    op: LeaseOp,
    t: i64,
    names: &Names,
    sub: u32,
    addr: u32,
    expires: Option<i64>,
    out: &mut Vec<u8>,
) {
    {
        {
            out.extend_from_slice(b"{\"kind\":\"lease\",\"op\":\"");
            out.extend_from_slice(match op {
                LeaseOp::Assign => b"assign".as_slice(),
                LeaseOp::Renew => b"renew",
                LeaseOp::Release => b"release",
                LeaseOp::Expire => b"expire",
            });
            out.extend_from_slice(b"\",\"time\":\"");
            push_time(out, t);
            out.extend_from_slice(b"\",\"subscriber\":\"");
            out.extend_from_slice(names.subscribers[sub as usize].as_bytes());
            out.extend_from_slice(b"\",\"addr\":\"");
            out.extend_from_slice(names.addrs[addr as usize].as_bytes());
            if let Some(e) = expires {
                out.extend_from_slice(b"\",\"expires\":\"");
                push_time(out, e);
            }
            out.extend_from_slice(b"\",\"source\":\"");
            out.extend_from_slice(SOURCE_DHCP.as_bytes());
            out.extend_from_slice(b"\"}\n");
        }
    }
}

fn other_line(ev: &Ev, names: &Names, out: &mut Vec<u8>) {
    match *ev {
        Ev::Session { .. } | Ev::Lease { .. } => {}
        Ev::Nat {
            op,
            t,
            inside,
            public,
            lo,
            hi,
        } => {
            out.extend_from_slice(b"{\"kind\":\"nat_block\",\"op\":\"");
            out.extend_from_slice(match op {
                NatOp::Alloc => b"alloc".as_slice(),
                NatOp::Release => b"release",
            });
            out.extend_from_slice(b"\",\"time\":\"");
            push_time(out, t + names.cgnat_skew);
            out.extend_from_slice(b"\",\"inside\":\"");
            out.extend_from_slice(names.addrs[inside as usize].as_bytes());
            out.extend_from_slice(b"\",\"public\":\"");
            out.extend_from_slice(names.addrs[public as usize].as_bytes());
            out.extend_from_slice(b"\",\"ports\":\"");
            push_u16(out, lo);
            out.push(b'-');
            push_u16(out, hi);
            out.extend_from_slice(b"\",\"source\":\"");
            out.extend_from_slice(SOURCE_CGNAT.as_bytes());
            out.extend_from_slice(b"\"}\n");
        }
        Ev::Reboot { t, nas } => {
            out.extend_from_slice(b"{\"kind\":\"nas_reboot\",\"time\":\"");
            push_time(out, t);
            out.extend_from_slice(b"\",\"nas\":\"");
            out.extend_from_slice(names.nas[nas as usize].as_bytes());
            out.extend_from_slice(b"\",\"source\":\"");
            out.extend_from_slice(SOURCE_RADIUS.as_bytes());
            out.extend_from_slice(b"\"}\n");
        }
    }
}

const BAD_ADDRS: [&str; 5] = [
    "198.51.100.256",
    "2001:db8::g1",
    "300.1.2.3",
    "not-an-address",
    "198.18.0",
];

/// Damages a well-formed line (ending in `\n`) in one of three ways: truncated JSON, a time
/// without offset, or an invalid address. Returns the damaged line, ending in `\n`.
pub fn corrupt(line: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let kind = rng.gen_range(0..3u8);
    let find = |pat: &[u8]| body.windows(pat.len()).position(|w| w == pat);
    let mut out = match kind {
        1 => find(b"\"time\":\"").map(|p| {
            // The value is 20 bytes, "YYYY-MM-DDTHH:MM:SSZ"; drop the "Z".
            let z = p + 8 + 19;
            let mut v = body.to_vec();
            v.remove(z);
            v
        }),
        2 => find(b"\"addr\":\"")
            .map(|p| p + 8)
            .or_else(|| find(b"\"inside\":\"").map(|p| p + 10))
            .and_then(|from| {
                let len = body[from..].iter().position(|&b| b == b'"')?;
                let mut v = body[..from].to_vec();
                v.extend_from_slice(BAD_ADDRS[rng.gen_range(0..BAD_ADDRS.len())].as_bytes());
                v.extend_from_slice(&body[from + len..]);
                Some(v)
            }),
        _ => None,
    }
    .unwrap_or_else(|| {
        // Cut in the second half (as a writer dying mid-line would), losing at least the
        // closing brace.
        let hi = body.len().saturating_sub(1).max(2);
        let cut = rng
            .gen_range((body.len() / 2).clamp(1, hi - 1)..hi)
            .min(body.len());
        body[..cut].to_vec()
    });
    out.push(b'\n');
    out
}

/// What the sink writes: counts for the summary.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct SinkCounts {
    pub session: u64,
    pub lease: u64,
    pub nat_block: u64,
    pub nas_reboot: u64,
    pub duplicates: u64,
    pub malformed: u64,
    /// Late events (counted in their kind too).
    pub late: u64,
    pub lines: u64,
    pub bytes: u64,
}

impl SinkCounts {
    pub fn events(&self) -> u64 {
        self.session + self.lease + self.nat_block + self.nas_reboot
    }
}

enum Item {
    Ev(Ev),
    /// An event that reached its producer's log at `received`, after its time.
    Late {
        ev: Ev,
        received: i64,
    },
    Raw {
        t: i64,
        stream: Option<Stream>,
        line: Box<[u8]>,
    },
}

/// What the sink writes: the events format, or the producers' own formats.
pub enum Output {
    Events(Files),
    Real(Box<RealFiles>),
}

struct Queued {
    key: i64,
    seq: u64,
    item: Item,
}

/// Where lines go: one file, or one file per UTC day of the line's event time.
pub enum Files {
    One {
        path: PathBuf,
        w: BufWriter<File>,
    },
    PerDay {
        dir: PathBuf,
        open: BTreeMap<i64, (PathBuf, BufWriter<File>)>,
        created: BTreeSet<i64>,
    },
}

const BUF: usize = 1 << 20;

impl Files {
    fn write(&mut self, t: i64, line: &[u8]) -> Result<()> {
        match self {
            Files::One { path, w } => w.write_all(line).map_err(|e| GenError::io(path, e)),
            Files::PerDay { dir, open, created } => {
                let day = t.div_euclid(DAY);
                // Lines are displaced by less than ten minutes, so once a line of `day`
                // arrives, the days before the previous one get no more lines.
                while let Some(first) = open.first_entry() {
                    if *first.key() >= day - 1 {
                        break;
                    }
                    let (path, mut w) = first.remove();
                    w.flush().map_err(|e| GenError::io(&path, e))?;
                }
                let (path, w) = match open.entry(day) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(v) => {
                        let path = dir.join(format!("events-{}.jsonl", timefmt::day_stamp(t)));
                        let file = if created.insert(day) {
                            File::create(&path)
                        } else {
                            OpenOptions::new().append(true).open(&path)
                        }
                        .map_err(|e| GenError::io(&path, e))?;
                        v.insert((path, BufWriter::with_capacity(BUF, file)))
                    }
                };
                w.write_all(line).map_err(|e| GenError::io(path, e))
            }
        }
    }

    fn flush(&mut self) -> Result<()> {
        match self {
            Files::One { path, w } => w.flush().map_err(|e| GenError::io(path, e)),
            Files::PerDay { open, .. } => {
                for (path, w) in open.values_mut() {
                    w.flush().map_err(|e| GenError::io(path, e))?;
                }
                Ok(())
            }
        }
    }
}

/// Damage knobs of the sink.
#[derive(Clone, Copy, Debug)]
pub struct Damage {
    pub reorder_secs: i64,
    pub dup: f64,
    pub malformed: f64,
}

pub struct Sink {
    /// `buckets[s % len]` holds the lines whose key falls in second `s`, for
    /// `base <= s <= base + reorder_secs`.
    buckets: Vec<Vec<Queued>>,
    /// The first second whose lines are not written yet.
    base: i64,
    pending: usize,
    seq: u64,
    error: Option<GenError>,
    damage: Damage,
    rng: StdRng,
    out: Output,
    line: Vec<u8>,
    pub counts: SinkCounts,
}

impl Sink {
    /// Writes to `dir/events.jsonl`, or to `dir/events-YYYYMMDD.jsonl` with `split_days`.
    pub fn create(dir: &Path, split_days: bool, damage: Damage, rng: StdRng) -> Result<Self> {
        Ok(Self::new(
            Output::Events(Files::create(dir, split_days)?),
            damage,
            rng,
        ))
    }

    /// Writes the producers' formats through `real`.
    pub fn real(real: RealFiles, damage: Damage, rng: StdRng) -> Self {
        Self::new(Output::Real(Box::new(real)), damage, rng)
    }

    fn new(out: Output, damage: Damage, rng: StdRng) -> Self {
        let slots = usize::try_from(damage.reorder_secs.max(0)).unwrap_or(0) + 2;
        Sink {
            buckets: (0..slots).map(|_| Vec::new()).collect(),
            base: i64::MIN,
            pending: 0,
            seq: 0,
            error: None,
            damage,
            rng,
            out,
            line: Vec::with_capacity(256),
            counts: SinkCounts::default(),
        }
    }
}

impl Files {
    fn create(dir: &Path, split_days: bool) -> Result<Self> {
        Ok(if split_days {
            Files::PerDay {
                dir: dir.to_path_buf(),
                open: BTreeMap::new(),
                created: BTreeSet::new(),
            }
        } else {
            let path = dir.join("events.jsonl");
            let file = File::create(&path).map_err(|e| GenError::io(&path, e))?;
            Files::One {
                path,
                w: BufWriter::with_capacity(BUF, file),
            }
        })
    }
}

impl Sink {
    fn enqueue(&mut self, t: i64, item: Item) {
        let jitter = if self.damage.reorder_secs > 0 {
            self.rng.gen_range(0..self.damage.reorder_secs * 1000)
        } else {
            0
        };
        self.seq += 1;
        let key = t * 1000 + jitter;
        let slot = key.div_euclid(1000).rem_euclid(self.buckets.len() as i64) as usize;
        self.buckets[slot].push(Queued {
            key,
            seq: self.seq,
            item,
        });
        self.pending += 1;
    }

    /// Accepts the next event; events must arrive in non-decreasing time order. A write
    /// error is kept and returned by the next `advance` or `finish`.
    pub fn push(&mut self, ev: Ev, names: &Names) {
        if self.error.is_none() {
            if let Err(e) = self.advance(ev.time(), names) {
                self.error = Some(e);
            }
        }
        match ev {
            Ev::Session { v6, .. } => self.counts.session += 1 + u64::from(v6.is_some()),
            Ev::Lease { .. } => self.counts.lease += 1,
            Ev::Nat { .. } => self.counts.nat_block += 1,
            Ev::Reboot { .. } => self.counts.nas_reboot += 1,
        }
        let t = ev.time();
        self.enqueue(t, Item::Ev(ev));
        if self.damage.dup > 0.0 && self.rng.gen_bool(self.damage.dup) {
            // Counted in events, as the other counts are (a session with a prefix is two).
            self.counts.duplicates += match ev {
                Ev::Session { v6: Some(_), .. } => 2,
                _ => 1,
            };
            self.enqueue(t, Item::Ev(ev));
        }
        if self.damage.malformed > 0.0 && self.rng.gen_bool(self.damage.malformed) {
            self.counts.malformed += 1;
            let (stream, bad) = match &mut self.out {
                Output::Events(_) => {
                    self.line.clear();
                    format_line(&ev, names, &mut self.line);
                    // A session with a prefix has two lines: damage the first.
                    let first = self
                        .line
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(self.line.len(), |p| p + 1);
                    (None, corrupt(&self.line[..first], &mut self.rng))
                }
                Output::Real(real) => {
                    let (stream, _, bad) = real.damaged(&ev, names);
                    (Some(stream), bad)
                }
            };
            self.enqueue(
                t,
                Item::Raw {
                    t,
                    stream,
                    line: bad.into_boxed_slice(),
                },
            );
        }
    }

    /// Accepts an event that arrives at `received` (non-decreasing, as for `push`), later than
    /// its time: a NAS's retransmitted Stop. Written as arriving then (the events format:
    /// after the lines of `received`, into that day's file with `--split-days`; the real
    /// formats: into the producer's file of that day, marked as delayed). No damage copies.
    pub fn push_late(&mut self, ev: Ev, received: i64, names: &Names) {
        if self.error.is_none() {
            if let Err(e) = self.advance(received, names) {
                self.error = Some(e);
            }
        }
        match ev {
            Ev::Session { v6, .. } => self.counts.session += 1 + u64::from(v6.is_some()),
            Ev::Lease { .. } => self.counts.lease += 1,
            Ev::Nat { .. } => self.counts.nat_block += 1,
            Ev::Reboot { .. } => self.counts.nas_reboot += 1,
        }
        self.counts.late += 1;
        self.enqueue(received, Item::Late { ev, received });
    }

    /// Writes every queued line whose key lies before second `now` (no event at or after
    /// `now` can precede them).
    pub fn advance(&mut self, now: i64, names: &Names) -> Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        while self.base < now {
            if self.pending == 0 {
                self.base = now;
                break;
            }
            self.write_second(names)?;
        }
        Ok(())
    }

    /// Writes the lines of second `base`, in key order, and moves on to the next second.
    fn write_second(&mut self, names: &Names) -> Result<()> {
        let slot = self.base.rem_euclid(self.buckets.len() as i64) as usize;
        let mut lines = std::mem::take(&mut self.buckets[slot]);
        lines.sort_unstable_by_key(|q| (q.key, q.seq));
        self.pending -= lines.len();
        for q in lines.drain(..) {
            self.counts.lines += 1;
            match q.item {
                Item::Ev(ev) => match &mut self.out {
                    Output::Events(files) => {
                        self.line.clear();
                        format_line(&ev, names, &mut self.line);
                        self.counts.bytes += self.line.len() as u64;
                        files.write(ev.time(), &self.line)?;
                    }
                    Output::Real(real) => {
                        self.counts.bytes += real.write_event(&ev, names, None)?
                    }
                },
                Item::Late { ev, received } => match &mut self.out {
                    Output::Events(files) => {
                        self.line.clear();
                        format_line(&ev, names, &mut self.line);
                        self.counts.bytes += self.line.len() as u64;
                        files.write(received, &self.line)?;
                    }
                    Output::Real(real) => {
                        self.counts.bytes += real.write_event(&ev, names, Some(received))?
                    }
                },
                Item::Raw { t, stream, line } => {
                    self.counts.bytes += line.len() as u64;
                    match (&mut self.out, stream) {
                        (Output::Events(files), _) => files.write(t, &line)?,
                        (Output::Real(real), Some(stream)) => real.write_raw(stream, t, &line)?,
                        (Output::Real(_), None) => {}
                    }
                }
            }
        }
        self.buckets[slot] = lines;
        self.base += 1;
        Ok(())
    }

    /// Writes everything still queued and flushes the files.
    pub fn finish(&mut self, names: &Names) -> Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        while self.pending > 0 {
            self.write_second(names)?;
        }
        match &mut self.out {
            Output::Events(files) => files.flush(),
            Output::Real(real) => real.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn names() -> Names {
        Names {
            subscribers: vec!["sub-0000001".into()],
            addrs: vec![
                "198.18.0.7".into(),
                "2001:db8:1000:100::/56".into(),
                "203.0.113.2".into(),
            ],
            nas: vec!["bng1".into()],
            cgnat_skew: 0,
        }
    }

    #[test]
    fn lines_are_valid_json_of_the_import_format() {
        let n = names();
        let evs = [
            Ev::Session {
                op: SessOp::Start,
                t: 1_793_700_000,
                sub: 0,
                session: 0xabc,
                addr: 1,
                v6: None,
                nas: 0,
            },
            Ev::Lease {
                op: LeaseOp::Assign,
                t: 1_793_700_000,
                sub: 0,
                addr: 0,
                expires: Some(1_793_703_600),
            },
            Ev::Lease {
                op: LeaseOp::Release,
                t: 1_793_700_000,
                sub: 0,
                addr: 0,
                expires: None,
            },
            Ev::Nat {
                op: NatOp::Alloc,
                t: 1_793_700_000,
                inside: 0,
                public: 2,
                lo: 1024,
                hi: 2047,
            },
            Ev::Reboot {
                t: 1_793_700_000,
                nas: 0,
            },
        ];
        let mut out = Vec::new();
        for ev in &evs {
            out.clear();
            format_line(ev, &n, &mut out);
            assert_eq!(out.last(), Some(&b'\n'));
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(v["time"], "2026-11-03T10:00:00Z");
        }
        out.clear();
        format_line(&evs[0], &n, &mut out);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"kind\":\"session\",\"op\":\"start\",\"time\":\"2026-11-03T10:00:00Z\",\
             \"subscriber\":\"sub-0000001\",\"session\":\"0000000000000abc\",\
             \"addr\":\"2001:db8:1000:100::/56\",\"nas\":\"bng1\",\"source\":\"radius\"}\n"
        );
        out.clear();
        format_line(&evs[3], &n, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["ports"], "1024-2047");
    }

    #[test]
    fn corrupted_lines_are_rejected_by_a_strict_reader() {
        let n = names();
        let mut rng = StdRng::seed_from_u64(3);
        let ev = Ev::Session {
            op: SessOp::Interim,
            t: 1_793_700_000,
            sub: 0,
            session: 1,
            addr: 0,
            v6: None,
            nas: 0,
        };
        let mut line = Vec::new();
        format_line(&ev, &n, &mut line);
        for _ in 0..200 {
            let bad = corrupt(&line, &mut rng);
            assert_eq!(bad.last(), Some(&b'\n'));
            assert_eq!(bad.iter().filter(|&&b| b == b'\n').count(), 1);
            let ok = serde_json::from_slice::<serde_json::Value>(&bad)
                .ok()
                .filter(|v| {
                    v["time"]
                        .as_str()
                        .and_then(timefmt::parse_rfc3339)
                        .is_some()
                        && v["addr"]
                            .as_str()
                            .is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok())
                });
            assert!(ok.is_none(), "accepted: {}", String::from_utf8_lossy(&bad));
        }
    }
}
