//! A fast, deterministic stream of neutral-format events for benchmarks: PPPoE-like sessions
//! (start, interims, stop, some lost stops) on a shared IPv4 pool, a share with a delegated
//! IPv6 /56, and a share behind CGNAT with port blocks. Used by the benches and `tdr-bench`;
//! the correctness generator with ground truth is `tdr-gen`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub struct Synth {
    rng: StdRng,
    now: i64,
    free: Vec<u32>,
    pending: BinaryHeap<Reverse<(i64, u64, Pending)>>,
    seq: u64,
    subscribers: u32,
    /// Mean seconds between session starts.
    gap: f64,
    pub bindings: u64,
    pub events: u64,
    /// Addresses handed out so far are POOL_BASE .. POOL_BASE + used_pool.
    pub used_pool: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Pending {
    Interim {
        sess: u64,
        sub: u32,
        addr: u32,
        v6: Option<u32>,
        left: u32,
        every: i64,
        stop: i64,
        lost: bool,
    },
    Stop {
        sess: u64,
        sub: u32,
        addr: u32,
        v6: Option<u32>,
        lost: bool,
    },
    NatRelease {
        inside: u32,
        public: u32,
        block: u32,
    },
}

/// 198.18.0.0/15, the benchmarking range: 131 072 addresses.
const POOL_BASE: u32 = 0xC612_0000;

fn v4(a: u32) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::from(a)
}

impl Synth {
    /// `pool` addresses shared by `subscribers`; starting at `start` (unix secs), one session
    /// start every `gap` seconds on average.
    pub fn new(seed: u64, pool: u32, subscribers: u32, start: i64, gap: f64) -> Synth {
        let pool = pool.min(131_072);
        Synth {
            rng: StdRng::seed_from_u64(seed),
            now: start,
            free: (0..pool).rev().map(|i| POOL_BASE + i).collect(),
            pending: BinaryHeap::new(),
            seq: 0,
            subscribers,
            gap,
            bindings: 0,
            events: 0,
            used_pool: 0,
        }
    }

    pub fn now(&self) -> i64 {
        self.now
    }

    fn t(ts: i64, out: &mut String) {
        let d = chrono::DateTime::from_timestamp(ts, 0).unwrap_or_default();
        let _ = write!(out, "{}", d.format("%Y-%m-%dT%H:%M:%SZ"));
    }

    fn session_line(out: &mut String, op: &str, ts: i64, sub: u32, sess: u64, addr: &str) {
        out.push_str(r#"{"kind":"session","op":""#);
        out.push_str(op);
        out.push_str(r#"","time":""#);
        Self::t(ts, out);
        let _ = writeln!(
            out,
            r#"","subscriber":"sub{sub}@isp.example","session":"{sess:016x}","addr":"{addr}","nas":"bng{}","source":"radius"}}"#,
            sess % 8
        );
    }

    fn addrs(addr: u32, v6: Option<u32>) -> Vec<String> {
        let mut v = vec![v4(addr).to_string()];
        if let Some(p) = v6 {
            v.push(format!("2001:db8:{:x}:{:x}00::/56", p >> 8, p & 0xff));
        }
        v
    }

    /// Appends the next event(s) to `out`, in time order. Returns false never (endless).
    pub fn next_into(&mut self, out: &mut String) {
        let next_start = self.now + (self.rng.gen::<f64>() * 2.0 * self.gap) as i64;
        let due = self.pending.peek().map(|Reverse((t, _, _))| *t);
        if due.is_some_and(|t| t <= next_start || self.free.is_empty()) {
            let Reverse((t, _, p)) = self.pending.pop().expect("peeked");
            self.now = self.now.max(t);
            match p {
                Pending::Interim {
                    sess,
                    sub,
                    addr,
                    v6,
                    left,
                    every,
                    stop,
                    lost,
                } => {
                    for a in Self::addrs(addr, v6) {
                        Self::session_line(out, "interim", t, sub, sess, &a);
                        self.events += 1;
                    }
                    let p = if left > 1 {
                        Pending::Interim {
                            sess,
                            sub,
                            addr,
                            v6,
                            left: left - 1,
                            every,
                            stop,
                            lost,
                        }
                    } else {
                        Pending::Stop {
                            sess,
                            sub,
                            addr,
                            v6,
                            lost,
                        }
                    };
                    let at = if left > 1 { t + every } else { stop };
                    self.seq += 1;
                    self.pending.push(Reverse((at, self.seq, p)));
                }
                Pending::Stop {
                    sess,
                    sub,
                    addr,
                    v6,
                    lost,
                } => {
                    if !lost {
                        for a in Self::addrs(addr, v6) {
                            Self::session_line(out, "stop", t, sub, sess, &a);
                            self.events += 1;
                        }
                    }
                    self.free.push(addr);
                }
                Pending::NatRelease {
                    inside,
                    public,
                    block,
                } => {
                    out.push_str(r#"{"kind":"nat_block","op":"release","time":""#);
                    Self::t(t, out);
                    let lo = 1024 + block * 1024;
                    let _ = writeln!(
                        out,
                        r#"","inside":"{}","public":"{}","ports":"{lo}-{}","source":"cgnat"}}"#,
                        v4(inside),
                        v4(public),
                        lo + 1023
                    );
                    self.events += 1;
                }
            }
            return;
        }
        // A new session.
        self.now = next_start;
        let Some(addr) = self.free.pop() else {
            return;
        };
        self.used_pool = self.used_pool.max(addr - POOL_BASE + 1);
        self.seq += 1;
        let sess = self.seq;
        let sub = self.rng.gen_range(0..self.subscribers);
        let v6 = (self.rng.gen::<f64>() < 0.1).then(|| self.rng.gen_range(0..65_536));
        let dur = 60 + (-(1.0 - self.rng.gen::<f64>()).ln() * 3600.0) as i64;
        let interims = self.rng.gen_range(0..3u32);
        let every = (dur / (i64::from(interims) + 1)).max(1);
        let lost = self.rng.gen::<f64>() < 0.02;
        for a in Self::addrs(addr, v6) {
            Self::session_line(out, "start", self.now, sub, sess, &a);
            self.events += 1;
            self.bindings += 1;
        }
        let p = if interims > 0 {
            Pending::Interim {
                sess,
                sub,
                addr,
                v6,
                left: interims,
                every,
                stop: self.now + dur,
                lost,
            }
        } else {
            Pending::Stop {
                sess,
                sub,
                addr,
                v6,
                lost,
            }
        };
        let at = if interims > 0 {
            self.now + every
        } else {
            self.now + dur
        };
        self.pending.push(Reverse((at, sess, p)));
        // 5 % of sessions are CGNAT subscribers: a port block on a shared public address.
        if self.rng.gen::<f64>() < 0.05 {
            let public = 0xCB00_7100 + self.rng.gen_range(0..16); // 203.0.113.0/28
            let block = self.rng.gen_range(0..63);
            out.push_str(r#"{"kind":"nat_block","op":"alloc","time":""#);
            Self::t(self.now, out);
            let lo = 1024 + block * 1024;
            let _ = writeln!(
                out,
                r#"","inside":"{}","public":"{}","ports":"{lo}-{}","source":"cgnat"}}"#,
                v4(addr),
                v4(public),
                lo + 1023
            );
            self.events += 1;
            self.bindings += 1;
            self.seq += 1;
            self.pending.push(Reverse((
                self.now + dur,
                self.seq,
                Pending::NatRelease {
                    inside: addr,
                    public,
                    block,
                },
            )));
        }
    }
}
