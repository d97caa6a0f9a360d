//! The simulated ISP behind `tdr-gen generate`: subscribers on PPPoE/RADIUS sessions (IPv4 plus
//! an optional delegated IPv6 /56), on DHCP leases, and behind CGNAT (RADIUS sessions with
//! inside addresses and port blocks on a few public addresses). A discrete-event simulation in
//! time order: each action (connect, interim, disconnect, renew, NAS reboot…) emits the events
//! the logs would show, and every binding that ends writes its real holding time to
//! `truth.jsonl`. Memory is bounded by the number of subscribers, not the number of events.
//!
//! Address plan (all documentation, benchmarking or shared space, never routed):
//! public IPv4 pools in 198.18.0.0/15 (PPPoE first, DHCP after it), CGNAT inside addresses in
//! 100.64.0.0/10 (the unattributed subscribers' pool right after the logged one), CGNAT public
//! addresses in 203.0.113.0/24, delegated prefixes /56 from 2001:db8:1000::/36.
//!
//! Gaps in the logs the truth checker must see tdr handle without a false "nobody":
//! * `--cgnat-unattributed-share`: that share of CGNAT subscribers has its inside address
//!   assigned by something whose logs tdr never gets (their RADIUS records are written
//!   nowhere: not in the events, the detail files or the PostgreSQL CSV). They draw inside
//!   addresses from a pool of their own, so a logged subscriber never holds one of those, and
//!   get no delegated IPv6 prefix (it would travel in the same unwritten records). Their port
//!   blocks are logged as everyone's. Truth: their sessions carry `unlogged`, their blocks
//!   `inside_unlogged`.
//! * `--no-interim-share`: that share of RADIUS sessions is logged with Start and Stop only.
//!   Of those, a share lasts days ([`LONG_SESSION`]: half of those with a delegated prefix, a
//!   fifth of the others), and the Stop of a share ([`LATE_STOP_SHARE`]) reaches the RADIUS
//!   server days late ([`LATE_STOP_DELAY`]), as a NAS retransmitting it would: it is written
//!   when it arrives (the detail file of that day, `Timestamp` the arrival and
//!   `Acct-Delay-Time` the delay, so `Timestamp - Acct-Delay-Time` is the real end; in the
//!   events format a line with the real end as `time`, written at the arrival: with
//!   `--split-days` into that day's file). A Stop that would arrive after the run is not
//!   written (truth `stop_pending`). Truth: `no_interim`, `stop_received`.
//!
//! Both default to 0, and draw from a random stream of their own, so a run without them is
//! byte for byte what it was before they existed.

use crate::calendar::Calendar;
use crate::emit::{self, Damage, Ev, LeaseOp, Names, NatOp, SessOp, Sink, SinkCounts};
use crate::error::{GenError, Result};
use crate::identity;
use crate::pool::Pool;
use crate::real::{self, RealFiles, RealOptions};
use crate::timefmt::{self, DAY};
use crate::truth::{EndCause, TruthKind, TruthRecord};
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Instant;

pub const V4_SPACE: (u32, u32) = (0xC612_0000, 1 << 17); // 198.18.0.0/15
pub const INSIDE_SPACE: (u32, u32) = (0x6440_0000, 1 << 22); // 100.64.0.0/10
pub const PUBLIC_SPACE: (u32, u32) = (0xCB00_7100, 256); // 203.0.113.0/24
pub const V6_BASE: u128 = 0x2001_0db8_1000_0000_0000_0000_0000_0000; // 2001:db8:1000::/36
pub const V6_PREFIXES: u32 = 1 << 20; // /56s in the /36
pub const V6_PREFIX_LEN: u8 = 56;
pub const PORT_FIRST: u32 = 1024;
pub const PORT_COUNT: u32 = 65536 - PORT_FIRST;
/// `--no-interim-share` sessions lasting days: the share of those with a delegated prefix,
/// the share of the others, and the range of their length.
pub const LONG_SESSION: (f64, f64, std::ops::RangeInclusive<i64>) = (0.5, 0.2, DAY..=3 * DAY);
/// Share of `--no-interim-share` sessions whose (logged) Stop arrives late, and the range of
/// the delay.
pub const LATE_STOP_SHARE: f64 = 0.25;
pub const LATE_STOP_DELAY: std::ops::RangeInclusive<i64> = DAY / 2..=2 * DAY;

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// Options of `tdr-gen generate`.
#[derive(Args, Debug, Clone, Serialize)]
pub struct GenArgs {
    /// Output directory (created if missing): events.jsonl (or events-YYYYMMDD.jsonl),
    /// truth.jsonl, meta.json.
    #[arg(long)]
    #[serde(skip)]
    pub out: PathBuf,
    /// Number of subscribers.
    #[arg(long, default_value_t = 2000)]
    pub subscribers: u32,
    /// Length of the run in days.
    #[arg(long, default_value_t = 3)]
    pub days: u32,
    /// First day (UTC, YYYY-MM-DD); default: `days` days before today's UTC date.
    #[arg(long)]
    pub start: Option<String>,
    /// Random seed; the same seed and arguments give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write one events-YYYYMMDD.jsonl per UTC day of the event time.
    #[arg(long)]
    pub split_days: bool,
    /// Share of subscribers on PPPoE/RADIUS sessions with a public IPv4 address.
    #[arg(long, default_value_t = 0.5)]
    pub pppoe_share: f64,
    /// Share of subscribers on DHCP leases (the rest are behind CGNAT).
    #[arg(long, default_value_t = 0.25)]
    pub dhcp_share: f64,
    /// Share of RADIUS subscribers (PPPoE and CGNAT) that also get a delegated IPv6 /56.
    #[arg(long, default_value_t = 0.5)]
    pub v6_share: f64,
    /// Number of NAS (BNG) the RADIUS subscribers are spread over.
    #[arg(long, default_value_t = 4)]
    pub nas: u16,
    /// NAS reboots over the run (each ends all that NAS's sessions without Stops).
    #[arg(long, default_value_t = 2)]
    pub nas_reboots: u32,
    /// Seconds between RADIUS interim updates.
    #[arg(long, default_value_t = 300)]
    pub interim_secs: i64,
    /// Mean RADIUS session length in hours (exponential, 1 minute to 3 days).
    #[arg(long, default_value_t = 8.0)]
    pub session_hours: f64,
    /// Mean offline time between sessions or leases in minutes (exponential).
    #[arg(long, default_value_t = 20.0)]
    pub offline_mins: f64,
    /// Share of reconnects that come back within 3–60 s.
    #[arg(long, default_value_t = 0.3)]
    pub quick_reconnect: f64,
    /// DHCP lease time in seconds (renewed at half of it).
    #[arg(long, default_value_t = 3600)]
    pub lease_secs: i64,
    /// Mean time a DHCP device stays online in hours (exponential).
    #[arg(long, default_value_t = 6.0)]
    pub dhcp_online_hours: f64,
    /// Share of DHCP devices that release their lease when going offline (the rest let it
    /// expire).
    #[arg(long, default_value_t = 0.5)]
    pub release_share: f64,
    /// Share of silent lease expiries that the DHCP server logs as an `expire` event.
    #[arg(long, default_value_t = 0.7)]
    pub expire_logged: f64,
    /// Share of address and port-block assignments that reuse the most recently freed one
    /// (another subscriber's address seconds after it was released).
    #[arg(long, default_value_t = 0.1)]
    pub quick_reuse: f64,
    /// Pool size above the number of subscribers using it (0.1 = 10 % spare).
    #[arg(long, default_value_t = 0.1)]
    pub pool_slack: f64,
    /// Ports per CGNAT port block (blocks cover 1024..65535).
    #[arg(long, default_value_t = 1024)]
    pub port_block: u32,
    /// Share of RADIUS sessions whose Stop is not logged.
    #[arg(long, default_value_t = 0.02)]
    pub lost_stop: f64,
    /// Share of lines written twice.
    #[arg(long, default_value_t = 0.01)]
    pub dup: f64,
    /// Lines are displaced by less than this many seconds from time order (at most 600).
    #[arg(long, default_value_t = 180)]
    pub reorder_secs: i64,
    /// Share of events followed by a garbage copy (truncated, time without offset, bad
    /// address).
    #[arg(long, default_value_t = 0.001)]
    pub malformed: f64,
    /// Seconds the CGNAT router's clock runs ahead of true time (its logged times carry it,
    /// the truth does not; keep it within tdr's clock tolerance).
    #[arg(long, default_value_t = 1, allow_hyphen_values = true)]
    pub cgnat_skew_secs: i64,
    /// What to write: `events` (tdr's JSON Lines) or `real` (the producers' own formats,
    /// one file per producer and day, and identity.csv; see real.rs).
    #[arg(long, value_enum, default_value_t = OutputKind::Events)]
    pub output: OutputKind,
    /// `real`: gzip every log file (as logrotate leaves rotated days).
    #[arg(long)]
    pub gzip: bool,
    /// `real`: also write the events as CSV for the PostgreSQL baseline (pg/).
    #[arg(long)]
    pub pg_csv: bool,
    /// `real`: one synthetic Asterisk call per this many events (0 = none).
    #[arg(long, default_value_t = 20)]
    pub events_per_call: u64,
    /// `real`: share of the RADIUS subscribers on IPoE (an Ethernet VLAN port, no PPP) rather
    /// than PPPoE. Default 0, so the benchmark figures in the README reproduce.
    #[arg(long, default_value_t = 0.0)]
    pub ipoe_share: f64,
    /// Share of CGNAT subscribers whose inside address's assignment is logged nowhere (their
    /// RADIUS records are not written), while their port blocks are: a port in such a block
    /// can only be answered `inside_unknown`. Default 0 (then absent from meta.json).
    #[arg(long, default_value_t = 0.0)]
    #[serde(skip_serializing_if = "is_zero")]
    pub cgnat_unattributed_share: f64,
    /// Share of RADIUS sessions logged without Interim-Updates (Start and Stop only); some of
    /// them last days, and some of their Stops arrive days late (`Acct-Delay-Time`). Default 0
    /// (then absent from meta.json).
    #[arg(long, default_value_t = 0.0)]
    #[serde(skip_serializing_if = "is_zero")]
    pub no_interim_share: f64,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    Events,
    Real,
}

impl GenArgs {
    fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        for (name, v) in [
            ("--pppoe-share", self.pppoe_share),
            ("--dhcp-share", self.dhcp_share),
            ("--v6-share", self.v6_share),
            ("--quick-reconnect", self.quick_reconnect),
            ("--release-share", self.release_share),
            ("--expire-logged", self.expire_logged),
            ("--quick-reuse", self.quick_reuse),
            ("--lost-stop", self.lost_stop),
            ("--dup", self.dup),
            ("--malformed", self.malformed),
            ("--ipoe-share", self.ipoe_share),
            ("--cgnat-unattributed-share", self.cgnat_unattributed_share),
            ("--no-interim-share", self.no_interim_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                problems.push(format!("{name} must be between 0 and 1, not {v}"));
            }
        }
        if self.pppoe_share + self.dhcp_share > 1.0 + 1e-9 {
            problems.push("--pppoe-share + --dhcp-share must not exceed 1".to_string());
        }
        if self.subscribers == 0 || self.days == 0 || self.nas == 0 {
            problems.push("--subscribers, --days and --nas must be at least 1".to_string());
        }
        if self.interim_secs < 10 {
            problems.push("--interim-secs must be at least 10".to_string());
        }
        if self.lease_secs < 60 {
            problems.push("--lease-secs must be at least 60".to_string());
        }
        for (name, v) in [
            ("--session-hours", self.session_hours),
            ("--offline-mins", self.offline_mins),
            ("--dhcp-online-hours", self.dhcp_online_hours),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                problems.push(format!("{name} must be positive"));
            }
        }
        if !(0.0..=10.0).contains(&self.pool_slack) {
            problems.push("--pool-slack must be between 0 and 10".to_string());
        }
        if !(-60..=60).contains(&self.cgnat_skew_secs) {
            problems.push("--cgnat-skew-secs must be between -60 and 60".to_string());
        }
        if self.output == OutputKind::Events && (self.gzip || self.pg_csv) {
            problems.push("--gzip and --pg-csv need --output real".to_string());
        }
        if !(0..=600).contains(&self.reorder_secs) {
            problems.push("--reorder-secs must be between 0 and 600".to_string());
        }
        if !(16..=PORT_COUNT).contains(&self.port_block) {
            problems.push(format!("--port-block must be between 16 and {PORT_COUNT}"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(GenError::Usage(problems.join("; ")))
        }
    }

    fn start_time(&self) -> Result<i64> {
        match &self.start {
            Some(s) => timefmt::parse_date(s)
                .ok_or_else(|| GenError::Usage(format!("--start {s:?} is not YYYY-MM-DD"))),
            None => {
                let today = chrono::Utc::now().timestamp().div_euclid(DAY) * DAY;
                Ok(today - i64::from(self.days) * DAY)
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    Pppoe,
    Dhcp,
    Cgnat,
}

#[derive(Clone, Copy, Debug)]
struct NatHold {
    block: u32,
    start: i64,
}

#[derive(Clone, Copy, Debug)]
struct Session {
    id: u64,
    /// Item of the PPPoE pool (Pppoe) or of the inside pool (Cgnat).
    v4: u32,
    v6: Option<u32>,
    start: i64,
    end: i64,
    lost_stop: bool,
    /// Logged without Interim-Updates.
    no_interim: bool,
    /// Seconds after the end its Stop reaches the RADIUS server (a late Stop).
    late_stop: Option<i64>,
    last_seen: i64,
    nat: Option<NatHold>,
}

#[derive(Clone, Copy, Debug)]
struct Lease {
    addr: u32,
    start: i64,
    expires: i64,
    lapsing: bool,
}

struct Sub {
    access: Access,
    /// CGNAT only: the inside address's assignment is logged nowhere.
    unattributed: bool,
    v6: bool,
    nas: u16,
    /// Incremented whenever a session or lease begins or ends; actions carry the value they
    /// were scheduled under and are ignored once it changed.
    gen: u32,
    sess: Option<Session>,
    lease: Option<Lease>,
    prev_v4: Option<u32>,
    prev_v6: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    Reboot(u16),
    Connect(u32),
    Interim(u32, u32),
    Disconnect(u32, u32),
    NatAlloc(u32, u32),
    Renew(u32, u32),
    Offline(u32, u32),
    Expire(u32, u32),
    /// A late Stop reaches the RADIUS server: the key of its event in `Sim::late`.
    LateStop(u32),
}

/// Where each pool's items sit in `Names::addrs`.
#[derive(Clone, Copy, Debug)]
struct Bases {
    pppoe: u32,
    dhcp: u32,
    inside: u32,
    v6: u32,
    public: u32,
    /// The unattributed subscribers' inside addresses (after the public ones, so the others
    /// keep their places whether or not there are any).
    dark: u32,
}

#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct TruthCounts {
    pub session: u64,
    pub lease: u64,
    pub nat: u64,
    pub lost_stop: u64,
    pub nas_reboot: u64,
    pub still_open: u64,
    /// Sessions without Interim-Updates, late Stops written, Stops arriving after the run.
    pub no_interim: u64,
    pub late_stop: u64,
    pub stop_pending: u64,
    /// Sessions of unattributed CGNAT subscribers (logged nowhere).
    pub unlogged: u64,
}

/// The outcome of a run, for the summary line.
#[derive(Debug, Clone)]
pub struct GenSummary {
    pub events: SinkCounts,
    pub truth: TruthCounts,
    pub seconds: f64,
    pub out: PathBuf,
}

impl std::fmt::Display for GenSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = &self.events;
        let t = &self.truth;
        let rate = e.lines as f64 / self.seconds.max(1e-6);
        write!(
            f,
            "tdr-gen: {} events (session {}, lease {}, nat_block {}, nas_reboot {}) \
             + {} duplicates + {} malformed = {} lines, {} MB; \
             {} bindings (session {}, lease {}, nat {}; lost_stop {}, nas_reboot {}, still_open {}); \
             {:.1} s, {:.0} lines/s -> {}",
            e.events(),
            e.session,
            e.lease,
            e.nat_block,
            e.nas_reboot,
            e.duplicates,
            e.malformed,
            e.lines,
            e.bytes / 1_000_000,
            t.session + t.lease + t.nat,
            t.session,
            t.lease,
            t.nat,
            t.lost_stop,
            t.nas_reboot,
            t.still_open,
            self.seconds,
            rate,
            self.out.display()
        )?;
        if t.no_interim + t.unlogged > 0 {
            write!(
                f,
                "; sessions without interims {} (late Stops {}, arriving after the run {}), \
                 unattributed CGNAT sessions {}",
                t.no_interim, t.late_stop, t.stop_pending, t.unlogged
            )?;
        }
        Ok(())
    }
}

struct Sim<'a> {
    cfg: &'a GenArgs,
    rng: StdRng,
    /// The draws of `--cgnat-unattributed-share` and `--no-interim-share` (a stream of their
    /// own, so `rng`'s is unchanged when they are 0).
    xrng: StdRng,
    t1: i64,
    names: Names,
    bases: Bases,
    subs: Vec<Sub>,
    nas_subs: Vec<Vec<u32>>,
    pppoe: Pool,
    dhcp: Pool,
    inside: Pool,
    dark: Pool,
    v6: Pool,
    blocks: Pool,
    blocks_per_ip: u32,
    reboots: Vec<(i64, u16)>,
    actions: Calendar<Action>,
    /// Late Stops on their way, by key.
    late: std::collections::BTreeMap<u32, Ev>,
    late_seq: u32,
    sink: Sink,
    truth: BufWriter<File>,
    truth_path: PathBuf,
    tc: TruthCounts,
}

fn pool_size(users: u32, slack: f64) -> u32 {
    (f64::from(users) * (1.0 + slack)).ceil() as u32 + 4
}

fn v6_prefix(item: u32) -> u128 {
    V6_BASE | (u128::from(item) << (128 - V6_PREFIX_LEN))
}

impl<'a> Sim<'a> {
    fn new(cfg: &'a GenArgs, t0: i64) -> Result<Self> {
        let mut rng = StdRng::seed_from_u64(cfg.seed);
        let sink_rng = StdRng::seed_from_u64(cfg.seed ^ 0x9E37_79B9_7F4A_7C15);
        let t1 = t0 + i64::from(cfg.days) * DAY;

        let mut subs = Vec::with_capacity(cfg.subscribers as usize);
        let mut nas_subs = vec![Vec::new(); usize::from(cfg.nas)];
        let (mut n_pppoe, mut n_dhcp, mut n_cgnat, mut n_v6) = (0u32, 0u32, 0u32, 0u32);
        for i in 0..cfg.subscribers {
            let u: f64 = rng.gen();
            let access = if u < cfg.pppoe_share {
                n_pppoe += 1;
                Access::Pppoe
            } else if u < cfg.pppoe_share + cfg.dhcp_share {
                n_dhcp += 1;
                Access::Dhcp
            } else {
                n_cgnat += 1;
                Access::Cgnat
            };
            let v6 = access != Access::Dhcp && rng.gen_bool(cfg.v6_share);
            n_v6 += u32::from(v6);
            let nas = (i % u32::from(cfg.nas)) as u16;
            if access != Access::Dhcp {
                nas_subs[usize::from(nas)].push(i);
            }
            subs.push(Sub {
                access,
                unattributed: false,
                v6,
                nas,
                gen: 0,
                sess: None,
                lease: None,
                prev_v4: None,
                prev_v6: None,
            });
        }

        let mut xrng = StdRng::seed_from_u64(cfg.seed ^ 0xD1B5_4A32_D192_ED03);
        let mut n_dark = 0u32;
        if cfg.cgnat_unattributed_share > 0.0 {
            for sub in subs.iter_mut().filter(|s| s.access == Access::Cgnat) {
                if xrng.gen_bool(cfg.cgnat_unattributed_share) {
                    sub.unattributed = true;
                    n_dark += 1;
                    n_v6 -= u32::from(sub.v6);
                    sub.v6 = false;
                }
            }
        }

        let slack = cfg.pool_slack;
        let (pppoe_n, dhcp_n) = (pool_size(n_pppoe, slack), pool_size(n_dhcp, slack));
        let inside_n = pool_size(n_cgnat - n_dark, slack);
        let dark_n = if n_dark > 0 {
            pool_size(n_dark, slack)
        } else {
            0
        };
        let v6_n = pool_size(n_v6, slack);
        let blocks_per_ip = PORT_COUNT / cfg.port_block;
        let block_n = pool_size(n_cgnat, slack);
        let public_n = block_n.div_ceil(blocks_per_ip).max(2);
        let mut problems = Vec::new();
        if u64::from(pppoe_n) + u64::from(dhcp_n) > u64::from(V4_SPACE.1) {
            problems.push(format!(
                "PPPoE and DHCP pools need {} addresses, 198.18.0.0/15 has {}",
                pppoe_n + dhcp_n,
                V4_SPACE.1
            ));
        }
        if u64::from(inside_n) + u64::from(dark_n) > u64::from(INSIDE_SPACE.1) || v6_n > V6_PREFIXES
        {
            problems.push("too many CGNAT or IPv6 subscribers for the address plan".to_string());
        }
        if public_n > PUBLIC_SPACE.1 {
            problems.push(format!(
                "CGNAT needs {public_n} public addresses of {} ports per block, \
                 203.0.113.0/24 has 256 (lower --port-block)",
                cfg.port_block
            ));
        }
        if !problems.is_empty() {
            return Err(GenError::Usage(problems.join("; ")));
        }

        let real = cfg.output == OutputKind::Real;
        let mut names = Names {
            // In the real formats a DHCP subscriber is known by its device's MAC, the
            // identifier both DHCP servers log.
            subscribers: (0..cfg.subscribers)
                .map(|i| match subs[i as usize].access {
                    Access::Dhcp if real => real::mac_of(i).into_boxed_str(),
                    _ => format!("sub-{:07}", i + 1).into_boxed_str(),
                })
                .collect(),
            cgnat_skew: cfg.cgnat_skew_secs,
            addrs: Vec::new(),
            nas: (1..=cfg.nas)
                .map(|i| format!("bng{i}").into_boxed_str())
                .collect(),
        };
        let v4 = |base: u32, i: u32| Ipv4Addr::from(base + i).to_string().into_boxed_str();
        let bases = Bases {
            pppoe: 0,
            dhcp: pppoe_n,
            inside: pppoe_n + dhcp_n,
            v6: pppoe_n + dhcp_n + inside_n,
            public: pppoe_n + dhcp_n + inside_n + v6_n,
            dark: pppoe_n + dhcp_n + inside_n + v6_n + public_n,
        };
        names.addrs.extend((0..pppoe_n).map(|i| v4(V4_SPACE.0, i)));
        names
            .addrs
            .extend((0..dhcp_n).map(|i| v4(V4_SPACE.0, pppoe_n + i)));
        names
            .addrs
            .extend((0..inside_n).map(|i| v4(INSIDE_SPACE.0, i)));
        names.addrs.extend(
            (0..v6_n).map(|i| {
                format!("{}/{V6_PREFIX_LEN}", Ipv6Addr::from(v6_prefix(i))).into_boxed_str()
            }),
        );
        names
            .addrs
            .extend((0..public_n).map(|i| v4(PUBLIC_SPACE.0, i)));
        names
            .addrs
            .extend((0..dark_n).map(|i| v4(INSIDE_SPACE.0, inside_n + i)));

        let mut reboots = Vec::new();
        for _ in 0..cfg.nas_reboots {
            let (lo, hi) = if t1 - t0 > 3 * 3600 {
                (t0 + 3600, t1 - 3600)
            } else {
                (t0 + 1, t1 - 1)
            };
            reboots.push((rng.gen_range(lo..hi), rng.gen_range(0..cfg.nas)));
        }
        reboots.sort_unstable();

        std::fs::create_dir_all(&cfg.out).map_err(|e| GenError::io(&cfg.out, e))?;
        let damage = Damage {
            reorder_secs: cfg.reorder_secs,
            dup: cfg.dup,
            malformed: cfg.malformed,
        };
        let sink = if real {
            let opt = RealOptions {
                gzip: cfg.gzip,
                pg: cfg.pg_csv,
                events_per_call: cfg.events_per_call,
                ipoe_permille: (cfg.ipoe_share * 1000.0).round() as u32,
            };
            let real_rng = StdRng::seed_from_u64(cfg.seed ^ 0x5851_F42D_4C95_7F2D);
            identity::write(&cfg.out.join("identity.csv"), &names, t0, cfg.seed)?;
            Sink::real(
                RealFiles::create(&cfg.out, opt, real_rng)?,
                damage,
                sink_rng,
            )
        } else {
            Sink::create(&cfg.out, cfg.split_days, damage, sink_rng)?
        };
        let truth_path = cfg.out.join("truth.jsonl");
        let truth = File::create(&truth_path).map_err(|e| GenError::io(&truth_path, e))?;

        let mut sim = Sim {
            cfg,
            rng,
            xrng,
            t1,
            names,
            bases,
            subs,
            nas_subs,
            pppoe: Pool::new(pppoe_n),
            dhcp: Pool::new(dhcp_n),
            inside: Pool::new(inside_n),
            dark: Pool::new(dark_n),
            v6: Pool::new(v6_n),
            blocks: Pool::new(public_n * blocks_per_ip),
            blocks_per_ip,
            reboots: reboots.clone(),
            actions: Calendar::new(t0, 8192),
            late: std::collections::BTreeMap::new(),
            late_seq: 0,
            sink,
            truth: BufWriter::with_capacity(1 << 20, truth),
            truth_path,
            tc: TruthCounts::default(),
        };
        for (t, nas) in reboots {
            sim.schedule(t, Action::Reboot(nas));
        }
        for s in 0..cfg.subscribers {
            let t = t0 + sim.rng.gen_range(0..1800);
            sim.schedule(t, Action::Connect(s));
        }
        Ok(sim)
    }

    fn schedule(&mut self, t: i64, a: Action) {
        if t < self.t1 {
            self.actions.push(t, a);
        }
    }

    fn emit(&mut self, ev: Ev) {
        self.sink.push(ev, &self.names);
    }

    fn exp(&mut self, mean: f64) -> f64 {
        let u: f64 = self.rng.gen();
        -mean * (1.0 - u).ln()
    }

    fn offline_gap(&mut self) -> i64 {
        if self.rng.gen_bool(self.cfg.quick_reconnect) {
            self.rng.gen_range(3..=60)
        } else {
            (self.exp(self.cfg.offline_mins * 60.0) as i64).clamp(10, 7 * DAY)
        }
    }

    fn run(&mut self) -> Result<()> {
        let mut batch = Vec::new();
        while let Some(t) = self.actions.next_batch(&mut batch) {
            self.sink.advance(t, &self.names)?;
            for &(_, a) in &batch {
                self.handle(t, a)?;
            }
        }
        let t1 = self.t1;
        for s in 0..self.subs.len() as u32 {
            if self.subs[s as usize].sess.is_some() {
                self.end_session(t1, s, EndCause::StillOpen)?;
            }
            if self.subs[s as usize].lease.is_some() {
                self.end_lease(t1, s, EndCause::StillOpen)?;
            }
        }
        self.sink.finish(&self.names)?;
        self.truth
            .flush()
            .map_err(|e| GenError::io(&self.truth_path, e))
    }

    fn handle(&mut self, t: i64, a: Action) -> Result<()> {
        match a {
            Action::Reboot(nas) => self.reboot(t, nas)?,
            Action::Connect(s) => self.connect(t, s),
            Action::Interim(s, g) => self.interim(t, s, g),
            Action::Disconnect(s, g) => {
                if self.subs[s as usize].gen == g {
                    let lost = self.subs[s as usize].sess.is_some_and(|x| x.lost_stop);
                    let cause = if lost {
                        EndCause::LostStop
                    } else {
                        EndCause::Stop
                    };
                    self.end_session(t, s, cause)?;
                    let gap = self.offline_gap();
                    self.schedule(t + gap, Action::Connect(s));
                }
            }
            Action::NatAlloc(s, g) => self.nat_alloc(t, s, g),
            Action::Renew(s, g) => self.renew(t, s, g),
            Action::Offline(s, g) => self.offline(t, s, g)?,
            Action::Expire(s, g) => {
                if self.subs[s as usize].gen == g {
                    self.end_lease(t, s, EndCause::Expiry)?;
                    let gap = self.offline_gap();
                    self.schedule(t + gap, Action::Connect(s));
                }
            }
            Action::LateStop(k) => {
                if let Some(ev) = self.late.remove(&k) {
                    self.sink.push_late(ev, t, &self.names);
                }
            }
        }
        Ok(())
    }

    fn connect(&mut self, t: i64, s: u32) {
        let sub = &self.subs[s as usize];
        match sub.access {
            Access::Dhcp => self.lease_assign(t, s),
            Access::Pppoe | Access::Cgnat => {
                let nas = sub.nas;
                // A NAS about to reboot would kill the session within seconds; its subscribers
                // come back after the reboot instead.
                if let Some(&(r, _)) = self
                    .reboots
                    .iter()
                    .find(|&&(r, n)| n == nas && r >= t && r <= t + 10)
                {
                    let d = self.rng.gen_range(10..=300);
                    self.schedule(r + d, Action::Connect(s));
                    return;
                }
                self.session_start(t, s);
            }
        }
    }

    fn session_start(&mut self, t: i64, s: u32) {
        let cfg = self.cfg;
        let sub = &self.subs[s as usize];
        let (access, want_v6, prev_v4, prev_v6) = (sub.access, sub.v6, sub.prev_v4, sub.prev_v6);
        let unattributed = sub.unattributed;
        let pool = match access {
            Access::Pppoe => &mut self.pppoe,
            _ if unattributed => &mut self.dark,
            _ => &mut self.inside,
        };
        let Some(v4) = pool.take(&mut self.rng, cfg.quick_reuse, prev_v4) else {
            let d = self.rng.gen_range(60..=300);
            self.schedule(t + d, Action::Connect(s));
            return;
        };
        let v6 = if want_v6 {
            self.v6.take(&mut self.rng, cfg.quick_reuse, prev_v6)
        } else {
            None
        };
        let mut dur = (self.exp(cfg.session_hours * 3600.0) as i64).clamp(60, 3 * DAY);
        let id: u64 = self.rng.gen();
        let lost_stop = self.rng.gen_bool(cfg.lost_stop);
        let nat_delay = self.rng.gen_range(0..=2);
        let (mut no_interim, mut late_stop) = (false, None);
        if cfg.no_interim_share > 0.0 && !unattributed && self.xrng.gen_bool(cfg.no_interim_share) {
            no_interim = true;
            let long = if v6.is_some() {
                LONG_SESSION.0
            } else {
                LONG_SESSION.1
            };
            if self.xrng.gen_bool(long) {
                dur = self.xrng.gen_range(LONG_SESSION.2);
            }
            if !lost_stop && self.xrng.gen_bool(LATE_STOP_SHARE) {
                late_stop = Some(self.xrng.gen_range(LATE_STOP_DELAY));
            }
        }
        let sub = &mut self.subs[s as usize];
        sub.gen += 1;
        let gen = sub.gen;
        sub.sess = Some(Session {
            id,
            v4,
            v6,
            start: t,
            end: t + dur,
            lost_stop,
            no_interim,
            late_stop,
            last_seen: t,
            nat: None,
        });
        self.emit_session(SessOp::Start, t, s);
        if !no_interim && t + cfg.interim_secs < t + dur {
            self.schedule(t + cfg.interim_secs, Action::Interim(s, gen));
        }
        self.schedule(t + dur, Action::Disconnect(s, gen));
        if access == Access::Cgnat {
            self.schedule(t + nat_delay, Action::NatAlloc(s, gen));
        }
    }

    /// The index in `Names::addrs` of `s`'s IPv4 address `item` (of its pool).
    fn v4_index(&self, s: u32, item: u32) -> u32 {
        let sub = &self.subs[s as usize];
        match sub.access {
            Access::Pppoe => self.bases.pppoe + item,
            Access::Dhcp => self.bases.dhcp + item,
            Access::Cgnat if sub.unattributed => self.bases.dark + item,
            Access::Cgnat => self.bases.inside + item,
        }
    }

    /// The session event of `s`'s current session (both its addresses); `None` without a
    /// session or for an unattributed subscriber, whose records are written nowhere.
    fn session_ev(&self, op: SessOp, t: i64, s: u32) -> Option<Ev> {
        let sub = &self.subs[s as usize];
        let sess = sub.sess.filter(|_| !sub.unattributed)?;
        Some(Ev::Session {
            op,
            t,
            sub: s,
            session: sess.id,
            addr: self.v4_index(s, sess.v4),
            v6: sess.v6.map(|p| self.bases.v6 + p),
            nas: sub.nas,
        })
    }

    /// Emits one session event per address of `s`'s current session.
    fn emit_session(&mut self, op: SessOp, t: i64, s: u32) {
        if let Some(ev) = self.session_ev(op, t, s) {
            self.emit(ev);
        }
    }

    fn interim(&mut self, t: i64, s: u32, g: u32) {
        let sub = &mut self.subs[s as usize];
        if sub.gen != g {
            return;
        }
        let Some(sess) = sub.sess.as_mut() else {
            return;
        };
        sess.last_seen = t;
        let end = sess.end;
        self.emit_session(SessOp::Interim, t, s);
        let next = t + self.cfg.interim_secs;
        if next < end {
            self.schedule(next, Action::Interim(s, g));
        }
    }

    fn nat_alloc(&mut self, t: i64, s: u32, g: u32) {
        let sub = &self.subs[s as usize];
        if sub.gen != g || sub.sess.is_none_or(|x| x.nat.is_some()) {
            return;
        }
        let Some(block) = self.blocks.take(&mut self.rng, self.cfg.quick_reuse, None) else {
            return;
        };
        if let Some(sess) = self.subs[s as usize].sess.as_mut() {
            sess.nat = Some(NatHold { block, start: t });
            let inside = sess.v4;
            let ev = self.nat_event(NatOp::Alloc, t, self.v4_index(s, inside), block);
            self.emit(ev);
        }
    }

    fn block_ports(&self, block: u32) -> (u32, u16, u16) {
        let ip = block / self.blocks_per_ip;
        let lo = PORT_FIRST + (block % self.blocks_per_ip) * self.cfg.port_block;
        let hi = lo + self.cfg.port_block - 1;
        (self.bases.public + ip, lo as u16, hi as u16)
    }

    /// The event of `block` (to the inside address at index `inside` of `Names::addrs`).
    fn nat_event(&self, op: NatOp, t: i64, inside: u32, block: u32) -> Ev {
        let (public, lo, hi) = self.block_ports(block);
        Ev::Nat {
            op,
            t,
            inside,
            public,
            lo,
            hi,
        }
    }

    /// Ends `s`'s session at `t`: logs what `cause` lets the logs show, frees its addresses
    /// and port block, and writes its truth.
    fn end_session(&mut self, t: i64, s: u32, cause: EndCause) -> Result<()> {
        let mut cause = cause;
        let mut stop_received = None;
        if cause == EndCause::Stop {
            match self.subs[s as usize].sess.and_then(|x| x.late_stop) {
                None => self.emit_session(SessOp::Stop, t, s),
                Some(delay) => {
                    // The NAS retransmits the Stop until the server takes it, `delay` later.
                    stop_received = Some(t + delay);
                    if t + delay < self.t1 {
                        if let Some(ev) = self.session_ev(SessOp::Stop, t, s) {
                            self.late_seq += 1;
                            self.late.insert(self.late_seq, ev);
                            self.schedule(t + delay, Action::LateStop(self.late_seq));
                            self.tc.late_stop += 1;
                        }
                    } else {
                        cause = EndCause::StopPending;
                    }
                }
            }
        }
        let sub = &mut self.subs[s as usize];
        let Some(sess) = sub.sess.take() else {
            return Ok(());
        };
        sub.gen += 1;
        sub.prev_v4 = Some(sess.v4);
        sub.prev_v6 = sess.v6;
        let (access, nas, unattributed) = (sub.access, sub.nas, sub.unattributed);
        self.tc.no_interim += u64::from(sess.no_interim);
        self.tc.stop_pending += u64::from(cause == EndCause::StopPending);
        self.tc.unlogged += u64::from(unattributed);
        let session = emit::session_id(sess.id);
        let confirmed = if unattributed {
            sess.start
        } else if cause == EndCause::Stop {
            t
        } else {
            sess.last_seen
        };
        let v4 = self.v4_index(s, sess.v4);
        if let Some(hold) = sess.nat {
            let nat_cause = if cause == EndCause::StillOpen {
                EndCause::StillOpen
            } else {
                self.emit(self.nat_event(NatOp::Release, t, v4, hold.block));
                EndCause::Release
            };
            let (public, lo, hi) = self.block_ports(hold.block);
            let public = self.names.addrs[public as usize].to_string();
            let rec = TruthRecord {
                kind: TruthKind::Nat,
                target: public.clone(),
                subscriber: None,
                public: Some(public),
                ports: Some(format!("{lo}-{hi}")),
                inside: Some(self.names.addrs[v4 as usize].to_string()),
                session: Some(session.clone()),
                nas: None,
                start: timefmt::rfc3339_string(hold.start),
                end: timefmt::rfc3339_string(t),
                confirmed_until: timefmt::rfc3339_string(t),
                start_logged: true,
                end_logged: nat_cause.end_logged(),
                end_cause: nat_cause,
                no_interim: false,
                stop_received: None,
                unlogged: false,
                inside_unlogged: unattributed,
            };
            self.write_truth(&rec)?;
            self.blocks.release(hold.block);
        }
        let mut targets = vec![v4];
        if let Some(p) = sess.v6 {
            targets.push(self.bases.v6 + p);
        }
        for target in targets {
            let rec = TruthRecord {
                kind: TruthKind::Session,
                target: self.names.addrs[target as usize].to_string(),
                subscriber: Some(self.names.subscribers[s as usize].to_string()),
                public: None,
                ports: None,
                inside: None,
                session: Some(session.clone()),
                nas: Some(self.names.nas[usize::from(nas)].to_string()),
                start: timefmt::rfc3339_string(sess.start),
                end: timefmt::rfc3339_string(t),
                confirmed_until: timefmt::rfc3339_string(confirmed),
                start_logged: !unattributed,
                end_logged: cause.end_logged() && !unattributed,
                end_cause: cause,
                no_interim: sess.no_interim,
                stop_received: stop_received.map(timefmt::rfc3339_string),
                unlogged: unattributed,
                inside_unlogged: false,
            };
            self.write_truth(&rec)?;
        }
        match access {
            Access::Pppoe => self.pppoe.release(sess.v4),
            Access::Cgnat if unattributed => self.dark.release(sess.v4),
            Access::Cgnat => self.inside.release(sess.v4),
            Access::Dhcp => {}
        }
        if let Some(p) = sess.v6 {
            self.v6.release(p);
        }
        Ok(())
    }

    fn reboot(&mut self, t: i64, nas: u16) -> Result<()> {
        self.emit(Ev::Reboot { t, nas });
        for i in 0..self.nas_subs[usize::from(nas)].len() {
            let s = self.nas_subs[usize::from(nas)][i];
            if self.subs[s as usize].sess.is_some() {
                self.end_session(t, s, EndCause::NasReboot)?;
                let d = self.rng.gen_range(10..=600);
                self.schedule(t + d, Action::Connect(s));
            }
        }
        Ok(())
    }

    fn lease_assign(&mut self, t: i64, s: u32) {
        let cfg = self.cfg;
        let prev = self.subs[s as usize].prev_v4;
        // A returning DHCP client asks for its previous address; half the time it is
        // still free and granted.
        let again = prev.filter(|&p| self.rng.gen_bool(0.5) && self.dhcp.take_specific(p));
        let item = match again {
            Some(p) => Some(p),
            None => self.dhcp.take(&mut self.rng, cfg.quick_reuse, prev),
        };
        let Some(addr) = item else {
            let d = self.rng.gen_range(60..=300);
            self.schedule(t + d, Action::Connect(s));
            return;
        };
        let online = (self.exp(cfg.dhcp_online_hours * 3600.0) as i64).clamp(60, 14 * DAY);
        let sub = &mut self.subs[s as usize];
        sub.gen += 1;
        let gen = sub.gen;
        let expires = t + cfg.lease_secs;
        sub.lease = Some(Lease {
            addr,
            start: t,
            expires,
            lapsing: false,
        });
        self.emit(Ev::Lease {
            op: LeaseOp::Assign,
            t,
            sub: s,
            addr: self.bases.dhcp + addr,
            expires: Some(expires),
        });
        self.schedule(t + cfg.lease_secs / 2, Action::Renew(s, gen));
        self.schedule(t + online, Action::Offline(s, gen));
    }

    fn renew(&mut self, t: i64, s: u32, g: u32) {
        let lease_secs = self.cfg.lease_secs;
        let sub = &mut self.subs[s as usize];
        if sub.gen != g {
            return;
        }
        let Some(lease) = sub.lease.as_mut().filter(|l| !l.lapsing) else {
            return;
        };
        lease.expires = t + lease_secs;
        let addr = lease.addr;
        self.emit(Ev::Lease {
            op: LeaseOp::Renew,
            t,
            sub: s,
            addr: self.bases.dhcp + addr,
            expires: Some(t + lease_secs),
        });
        self.schedule(t + lease_secs / 2, Action::Renew(s, g));
    }

    fn offline(&mut self, t: i64, s: u32, g: u32) -> Result<()> {
        if self.subs[s as usize].gen != g {
            return Ok(());
        }
        if self.rng.gen_bool(self.cfg.release_share) {
            self.end_lease(t, s, EndCause::Release)?;
            let gap = self.offline_gap();
            self.schedule(t + gap, Action::Connect(s));
        } else {
            // The device goes silent: no more renews; the lease runs out at its expiry.
            let sub = &mut self.subs[s as usize];
            sub.gen += 1;
            let gen = sub.gen;
            if let Some(lease) = sub.lease.as_mut() {
                lease.lapsing = true;
                let at = lease.expires;
                self.schedule(at, Action::Expire(s, gen));
            }
        }
        Ok(())
    }

    /// Ends `s`'s lease at `t` (release, expiry or end of run) and writes its truth.
    fn end_lease(&mut self, t: i64, s: u32, cause: EndCause) -> Result<()> {
        let sub = &mut self.subs[s as usize];
        let Some(lease) = sub.lease.take() else {
            return Ok(());
        };
        sub.gen += 1;
        sub.prev_v4 = Some(lease.addr);
        let addr = self.bases.dhcp + lease.addr;
        match cause {
            EndCause::Release => self.emit(Ev::Lease {
                op: LeaseOp::Release,
                t,
                sub: s,
                addr,
                expires: None,
            }),
            // RouterOS logs every expiry (its `deassigned`); the others only sometimes. The
            // draw is made either way, so the rest of the run does not shift.
            EndCause::Expiry
                if self.rng.gen_bool(self.cfg.expire_logged)
                    | crate::real::logs_every_lease_end(s) =>
            {
                self.emit(Ev::Lease {
                    op: LeaseOp::Expire,
                    t,
                    sub: s,
                    addr,
                    expires: None,
                })
            }
            _ => {}
        }
        let rec = TruthRecord {
            kind: TruthKind::Lease,
            target: self.names.addrs[addr as usize].to_string(),
            subscriber: Some(self.names.subscribers[s as usize].to_string()),
            public: None,
            ports: None,
            inside: None,
            session: None,
            nas: None,
            start: timefmt::rfc3339_string(lease.start),
            end: timefmt::rfc3339_string(t),
            confirmed_until: timefmt::rfc3339_string(t),
            start_logged: true,
            end_logged: cause.end_logged(),
            end_cause: cause,
            no_interim: false,
            stop_received: None,
            unlogged: false,
            inside_unlogged: false,
        };
        self.write_truth(&rec)?;
        self.dhcp.release(lease.addr);
        Ok(())
    }

    fn write_truth(&mut self, rec: &TruthRecord) -> Result<()> {
        match rec.kind {
            TruthKind::Session => self.tc.session += 1,
            TruthKind::Lease => self.tc.lease += 1,
            TruthKind::Nat => self.tc.nat += 1,
        }
        match rec.end_cause {
            EndCause::LostStop => self.tc.lost_stop += 1,
            EndCause::NasReboot => self.tc.nas_reboot += 1,
            EndCause::StillOpen => self.tc.still_open += 1,
            _ => {}
        }
        let path = &self.truth_path;
        serde_json::to_writer(&mut self.truth, rec)
            .map_err(|e| GenError::io(path, std::io::Error::other(e)))?;
        self.truth
            .write_all(b"\n")
            .map_err(|e| GenError::io(path, e))
    }

    fn write_meta(&self, t0: i64) -> Result<()> {
        let last_public = self.bases.dark - 1;
        let publics: Vec<&str> = (self.bases.public..=last_public)
            .map(|i| &*self.names.addrs[i as usize])
            .collect();
        let meta = serde_json::json!({
            "generator": "tdr-gen",
            "start": timefmt::rfc3339_string(t0),
            "end": timefmt::rfc3339_string(self.t1),
            "address_space": {
                "ipv4": ["198.18.0.0/15", "100.64.0.0/10", "203.0.113.0/24"],
                "ipv6": ["2001:db8:1000::/36"],
            },
            "cgnat_public": publics,
            "cgnat_inside": "100.64.0.0/10",
            "port_block": self.cfg.port_block,
            "interim_secs": self.cfg.interim_secs,
            "lease_secs": self.cfg.lease_secs,
            "nas": self.names.nas.iter().map(|n| &**n).collect::<Vec<_>>(),
            "sources": [emit::SOURCE_RADIUS, emit::SOURCE_DHCP, emit::SOURCE_CGNAT],
            "args": self.cfg,
        });
        let path = self.cfg.out.join("meta.json");
        let text = serde_json::to_string_pretty(&meta)
            .map_err(|e| GenError::io(&path, std::io::Error::other(e)))?;
        std::fs::write(&path, text + "\n").map_err(|e| GenError::io(&path, e))
    }
}

/// `tdr-gen generate`: simulates the ISP and writes events, truth and meta into `args.out`.
pub fn generate(args: &GenArgs) -> Result<GenSummary> {
    args.validate()?;
    let began = Instant::now();
    let t0 = args.start_time()?;
    let mut sim = Sim::new(args, t0)?;
    sim.run()?;
    sim.write_meta(t0)?;
    Ok(GenSummary {
        events: sim.sink.counts.clone(),
        truth: sim.tc.clone(),
        seconds: began.elapsed().as_secs_f64(),
        out: args.out.clone(),
    })
}

/// The names of the event files `generate` wrote into `dir`, in day order.
#[cfg(test)]
pub fn event_files(dir: &std::path::Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| GenError::io(dir, e))? {
        let entry = entry.map_err(|e| GenError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("events") && name.ends_with(".jsonl") {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
pub mod tests_support {
    use super::GenArgs;
    use clap::Parser;
    use std::path::Path;

    #[derive(Parser)]
    #[command(args_override_self = true)]
    pub struct Cmd {
        #[command(flatten)]
        pub args: GenArgs,
    }

    /// Default arguments for a small run into `dir`.
    pub fn args(dir: &Path, subscribers: u32, days: u32) -> GenArgs {
        let (subs, days) = (subscribers.to_string(), days.to_string());
        let argv = [
            "gen",
            "--out",
            dir.to_str().unwrap_or("."),
            "--subscribers",
            &subs,
            "--days",
            &days,
            "--start",
            "2026-11-01",
        ];
        Cmd::parse_from(argv).args
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::Cmd;
    use super::*;
    use crate::truth::TruthKind;
    use clap::Parser;
    use std::collections::BTreeMap;
    use std::path::Path;

    fn run(dir: &Path, extra: &[&str]) -> GenSummary {
        let out = dir.to_str().unwrap();
        let mut argv = vec![
            "gen",
            "--out",
            out,
            "--subscribers",
            "300",
            "--days",
            "2",
            "--start",
            "2026-11-01",
            "--nas-reboots",
            "3",
            "--lost-stop",
            "0.05",
            "--dup",
            "0.02",
            "--malformed",
            "0.005",
        ];
        argv.extend_from_slice(extra);
        generate(&Cmd::parse_from(argv).args).unwrap()
    }

    fn read(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    fn truth(dir: &Path) -> Vec<TruthRecord> {
        std::fs::read_to_string(dir.join("truth.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The well-formed events of all event files, in file order, with their times.
    fn events(dir: &Path) -> (Vec<(i64, serde_json::Value)>, u64) {
        let mut good = Vec::new();
        let mut bad = 0;
        for f in event_files(dir).unwrap() {
            for line in std::fs::read_to_string(f).unwrap().lines() {
                let v: Option<serde_json::Value> = serde_json::from_str(line).ok();
                let parsed = v.and_then(|v| {
                    let time = v["time"].as_str()?;
                    if !time.ends_with('Z') {
                        return None;
                    }
                    let t = timefmt::parse_rfc3339(time)?;
                    for k in ["addr", "inside", "public"] {
                        if let Some(a) = v[k].as_str() {
                            let ok = a.parse::<std::net::IpAddr>().is_ok()
                                || a.parse::<ipnet::IpNet>().is_ok();
                            if !ok {
                                return None;
                            }
                        }
                    }
                    Some((t, v))
                });
                match parsed {
                    Some(p) => good.push(p),
                    None => bad += 1,
                }
            }
        }
        (good, bad)
    }

    fn secs(s: &str) -> i64 {
        timefmt::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let sa = run(a.path(), &[]);
        let sb = run(b.path(), &[]);
        run(c.path(), &["--seed", "2"]);
        assert_eq!(sa.events, sb.events);
        for f in ["events.jsonl", "truth.jsonl", "meta.json"] {
            assert!(
                read(&a.path().join(f)) == read(&b.path().join(f)),
                "{f} differs"
            );
        }
        assert!(read(&a.path().join("events.jsonl")) != read(&c.path().join("events.jsonl")));
        assert!(sa.events.session > 10_000 && sa.events.lease > 500);
        assert!(sa.events.nat_block > 100 && sa.events.nas_reboot == 3);
    }

    #[test]
    fn damage_knobs_do_not_change_the_truth() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        run(a.path(), &[]);
        run(
            b.path(),
            &["--dup", "0", "--malformed", "0", "--reorder-secs", "0"],
        );
        assert!(read(&a.path().join("truth.jsonl")) == read(&b.path().join("truth.jsonl")));
    }

    #[test]
    fn truth_bindings_of_one_target_never_overlap() {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &["--quick-reuse", "0.5"]);
        let mut by_target: BTreeMap<(String, Option<String>), Vec<TruthRecord>> = BTreeMap::new();
        for r in truth(dir.path()) {
            let (s, e, cu) = (secs(&r.start), secs(&r.end), secs(&r.confirmed_until));
            assert!(s <= cu && cu <= e, "{r:?}");
            assert_eq!(r.end_logged, r.end_cause.end_logged() && !r.unlogged);
            assert_eq!(r.kind == TruthKind::Nat, r.subscriber.is_none());
            by_target
                .entry((r.target.clone(), r.ports.clone()))
                .or_default()
                .push(r);
        }
        let mut reused = 0;
        for list in by_target.values_mut() {
            list.sort_by_key(|r| secs(&r.start));
            for w in list.windows(2) {
                assert!(
                    secs(&w[0].end) <= secs(&w[1].start),
                    "overlap: {:?} {:?}",
                    w[0],
                    w[1]
                );
                if w[0].subscriber != w[1].subscriber && w[0].kind != TruthKind::Nat {
                    reused += 1;
                }
            }
        }
        assert!(reused > 100, "addresses should pass between subscribers");
    }

    #[test]
    fn every_event_lies_within_its_truth_binding() {
        let dir = tempfile::tempdir().unwrap();
        // The CGNAT router's clock on true time: its logged times are then real times.
        let summary = run(dir.path(), &["--cgnat-skew-secs", "0"]);
        let truth = truth(dir.path());
        let (events, bad) = events(dir.path());
        assert_eq!(bad, summary.events.malformed);
        assert_eq!(
            events.len() as u64,
            summary.events.events() + summary.events.duplicates
        );
        let mut sessions = BTreeMap::new();
        type Spans<K> = BTreeMap<K, Vec<(i64, i64)>>;
        let mut leases: Spans<(&str, &str)> = BTreeMap::new();
        let mut blocks: Spans<(&str, &str, &str)> = BTreeMap::new();
        for r in &truth {
            let span = (secs(&r.start), secs(&r.end));
            match r.kind {
                TruthKind::Session => {
                    let key = (r.session.clone().unwrap(), r.target.clone());
                    assert!(sessions.insert(key, r).is_none());
                }
                TruthKind::Lease => leases
                    .entry((r.target.as_str(), r.subscriber.as_deref().unwrap()))
                    .or_default()
                    .push(span),
                TruthKind::Nat => blocks
                    .entry((
                        r.target.as_str(),
                        r.ports.as_deref().unwrap(),
                        r.inside.as_deref().unwrap(),
                    ))
                    .or_default()
                    .push(span),
            }
        }
        let mut reboots = Vec::new();
        let mut stops = 0;
        for (t, v) in &events {
            let t = *t;
            let s = |k: &str| v[k].as_str().unwrap();
            match v["kind"].as_str().unwrap() {
                "session" => {
                    let r = sessions
                        .get(&(s("session").to_string(), s("addr").to_string()))
                        .unwrap_or_else(|| panic!("no truth for {v}"));
                    let (start, end) = (secs(&r.start), secs(&r.end));
                    assert!(start <= t && t <= end, "{v} outside {r:?}");
                    assert_eq!(Some(s("subscriber")), r.subscriber.as_deref());
                    assert_eq!(Some(s("nas")), r.nas.as_deref());
                    match v["op"].as_str().unwrap() {
                        "start" => assert_eq!(t, start),
                        "stop" => {
                            stops += 1;
                            assert_eq!(t, end);
                            assert_eq!(r.end_cause, EndCause::Stop);
                        }
                        _ => assert!(t < end && t <= secs(&r.confirmed_until)),
                    }
                }
                "lease" => {
                    let spans = &leases[&(s("addr"), s("subscriber"))];
                    assert!(
                        spans.iter().any(|&(a, b)| a <= t && t <= b),
                        "{v} outside its leases"
                    );
                }
                "nat_block" => {
                    let spans = &blocks[&(s("public"), s("ports"), s("inside"))];
                    assert!(spans.iter().any(|&(a, b)| a <= t && t <= b), "{v}");
                }
                "nas_reboot" => reboots.push((t, s("nas").to_string())),
                k => panic!("unknown kind {k}"),
            }
        }
        assert!(stops > 0);
        for r in &truth {
            if r.end_cause == EndCause::NasReboot {
                let at = (secs(&r.end), r.nas.clone().unwrap());
                assert!(reboots.contains(&at), "no reboot event for {r:?}");
            }
        }
    }

    #[test]
    fn reorder_displacement_stays_below_the_bound() {
        for (reorder, extra) in [("180", false), ("600", true)] {
            let dir = tempfile::tempdir().unwrap();
            let mut args = vec!["--reorder-secs", reorder];
            if extra {
                args.push("--split-days");
            }
            run(dir.path(), &args);
            let bound: i64 = reorder.parse().unwrap();
            let (events, _) = events(dir.path());
            let mut latest = events[0].0;
            let mut displaced = 0;
            for (t, _) in &events {
                assert!(latest - t < bound, "displaced by {} s", latest - t);
                displaced += u64::from(latest > *t);
                latest = latest.max(*t);
            }
            assert!(displaced > 1000, "reordering should happen");
        }
    }

    #[test]
    fn split_days_writes_the_same_lines_per_day() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        run(a.path(), &[]);
        run(b.path(), &["--split-days"]);
        let files = event_files(b.path()).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["events-20261101.jsonl", "events-20261102.jsonl"]);
        let mut one: Vec<String> = std::fs::read_to_string(a.path().join("events.jsonl"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let mut split = Vec::new();
        for f in &files {
            let day = &f.file_name().unwrap().to_string_lossy()[7..15].to_string();
            for line in std::fs::read_to_string(f).unwrap().lines() {
                if let Some(p) = line.find("\"time\":\"") {
                    let date = line[p + 8..p + 18].replace('-', "");
                    assert_eq!(&date, day);
                }
                split.push(line.to_string());
            }
        }
        one.sort();
        split.sort();
        assert!(one == split);
    }

    #[test]
    fn the_new_knobs_at_zero_change_no_byte() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        run(a.path(), &[]);
        run(
            b.path(),
            &["--cgnat-unattributed-share", "0", "--no-interim-share", "0"],
        );
        for f in ["events.jsonl", "truth.jsonl", "meta.json"] {
            assert!(
                read(&a.path().join(f)) == read(&b.path().join(f)),
                "{f} differs"
            );
        }
        let meta = String::from_utf8(read(&a.path().join("meta.json"))).unwrap();
        assert!(!meta.contains("unattributed") && !meta.contains("no_interim"));
    }

    fn is_inside(a: &str) -> bool {
        a.parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| u32::from(a) & 0xFFC0_0000 == INSIDE_SPACE.0)
    }

    #[test]
    fn unattributed_cgnat_subscribers_leave_only_their_port_blocks_in_the_logs() {
        let extra = [
            "--cgnat-unattributed-share",
            "0.3",
            "--cgnat-skew-secs",
            "0",
        ];
        let dir = tempfile::tempdir().unwrap();
        let summary = run(dir.path(), &extra);
        assert!(summary.truth.unlogged > 20, "{summary}");
        let truth = truth(dir.path());
        let mut dark_subs = std::collections::BTreeSet::new();
        let mut dark = std::collections::BTreeSet::new();
        let mut lit = std::collections::BTreeSet::new();
        for r in truth.iter().filter(|r| r.kind == TruthKind::Session) {
            if r.unlogged {
                assert!(is_inside(&r.target), "{r:?}");
                assert!(!r.start_logged && !r.end_logged, "{r:?}");
                assert_eq!(r.confirmed_until, r.start);
                dark_subs.insert(r.subscriber.clone().unwrap());
                dark.insert(r.target.clone());
            } else if is_inside(&r.target) {
                lit.insert(r.target.clone());
            }
        }
        // A pool of their own, and no delegated prefix.
        assert!(dark.is_disjoint(&lit) && !lit.is_empty());
        for r in &truth {
            if r.kind == TruthKind::Session && dark_subs.contains(r.subscriber.as_ref().unwrap()) {
                assert!(r.unlogged, "{r:?}");
            }
            if r.kind == TruthKind::Nat {
                let inside = r.inside.as_ref().unwrap();
                assert_eq!(r.inside_unlogged, dark.contains(inside), "{r:?}");
            }
        }
        let (events, _) = events(dir.path());
        let mut dark_blocks = 0;
        for (_, v) in &events {
            match v["kind"].as_str().unwrap() {
                "session" => {
                    assert!(!dark.contains(v["addr"].as_str().unwrap()), "{v}");
                    assert!(
                        !dark_subs.contains(v["subscriber"].as_str().unwrap()),
                        "{v}"
                    );
                }
                "nat_block" => {
                    dark_blocks += u32::from(dark.contains(v["inside"].as_str().unwrap()))
                }
                _ => {}
            }
        }
        assert!(dark_blocks > 20);

        // The same in the producers' formats: not a RADIUS record, but the port blocks.
        let real = tempfile::tempdir().unwrap();
        run(
            real.path(),
            &[&extra[..], &["--output", "real", "--pg-csv"][..]].concat(),
        );
        let text = |sub: &str| {
            let mut all = String::new();
            for entry in walk(&real.path().join(sub)) {
                all.push_str(&String::from_utf8_lossy(&read(&entry)));
            }
            all
        };
        let (radius, juniper, pg) = (text("radacct"), text("cgnat"), text("pg"));
        // The IPFIX exporter's files are binary: its addresses are four octets.
        let ipfix: Vec<u8> = walk(&real.path().join("cgnat"))
            .iter()
            .filter(|p| p.to_string_lossy().contains("ipfix"))
            .flat_map(|p| read(p))
            .collect();
        for a in &dark {
            assert!(
                !radius.contains(&format!("= {a}\n")),
                "{a} in a detail file"
            );
            // As each CGNAT producer names the inside address (juniper-nat, junos-ngs-nat's
            // two forms, nfdump's JSON).
            assert!(
                [
                    format!("{a} -> "),
                    format!("internal-ip=\"{a}\""),
                    format!("Subscriber {a} "),
                    format!("\"src4_addr\" : \"{a}\""),
                ]
                .iter()
                .any(|f| juniper.contains(f.as_str()))
                    || ipfix.windows(4).any(|w| a
                        .parse::<std::net::Ipv4Addr>()
                        .is_ok_and(|ip| w == ip.octets())),
                "{a} not in the NAT logs"
            );
        }
        for line in pg.lines().filter(|l| l.starts_with("session,")) {
            let addr = line.split(',').nth(4).unwrap();
            assert!(!dark.contains(addr), "{line}");
        }
        for s in &dark_subs {
            assert!(
                !radius.contains(&format!("\"{s}\"")),
                "{s} in a detail file"
            );
        }
    }

    /// Every file under `dir`.
    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out.sort();
        out
    }

    #[test]
    fn sessions_without_interims_last_days_and_their_stops_arrive_late() {
        let dir = tempfile::tempdir().unwrap();
        let summary = run(
            dir.path(),
            &[
                "--no-interim-share",
                "0.4",
                "--days",
                "4",
                "--split-days",
                "--cgnat-skew-secs",
                "0",
            ],
        );
        let t = &summary.truth;
        assert!(
            t.no_interim > 100 && t.late_stop > 10 && t.stop_pending > 5,
            "{summary}"
        );
        assert_eq!(summary.events.late, t.late_stop);
        let truth = truth(dir.path());
        let sessions: Vec<&TruthRecord> = truth
            .iter()
            .filter(|r| r.kind == TruthKind::Session)
            .collect();
        let quiet: BTreeMap<&str, &TruthRecord> = sessions
            .iter()
            .filter(|r| r.no_interim)
            .map(|r| (r.session.as_deref().unwrap(), *r))
            .collect();
        let long = quiet
            .values()
            .filter(|r| secs(&r.end) - secs(&r.start) >= DAY)
            .count();
        assert!(long > 20, "{long} sessions of a day or more");
        let mut late = 0;
        for r in &sessions {
            match (r.end_cause, &r.stop_received) {
                (EndCause::Stop, Some(at)) => {
                    late += 1;
                    assert!(r.no_interim && r.end_logged && r.confirmed_until == r.end);
                    assert!(secs(at) - secs(&r.end) >= DAY / 2);
                }
                (EndCause::StopPending, Some(at)) => {
                    assert!(r.no_interim && !r.end_logged);
                    assert!(secs(at) >= secs("2026-11-05T00:00:00Z"));
                    assert_eq!(r.confirmed_until, r.start);
                }
                (EndCause::StopPending, None) => panic!("{r:?}"),
                (_, Some(_)) => panic!("{r:?}"),
                _ => {}
            }
            if r.no_interim && r.end_cause != EndCause::Stop {
                assert_eq!(r.confirmed_until, r.start, "{r:?}");
            }
        }
        assert!(late > 10);
        // Stops by session: the file they are in, and their time.
        let mut stops: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
        for f in event_files(dir.path()).unwrap() {
            let day = f.file_name().unwrap().to_string_lossy()[7..15].to_string();
            for line in std::fs::read_to_string(&f).unwrap().lines() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                if v["kind"] != "session" {
                    continue;
                }
                let (Some(id), Some(time)) = (v["session"].as_str(), v["time"].as_str()) else {
                    continue;
                };
                let Some(t) = timefmt::parse_rfc3339(time) else {
                    continue;
                };
                if quiet.contains_key(id) {
                    assert_ne!(v["op"], "interim", "{v}");
                    if v["op"] == "stop" {
                        stops
                            .entry(id.to_string())
                            .or_default()
                            .push((day.clone(), t));
                    }
                }
            }
        }
        for (id, r) in &quiet {
            let got = stops.get(*id).map(Vec::as_slice).unwrap_or(&[]);
            match (r.end_cause, &r.stop_received) {
                (EndCause::Stop, Some(at)) => {
                    // Written on the day it arrived, with the real end as its time.
                    let day = timefmt::day_stamp(secs(at));
                    assert!(!got.is_empty(), "{r:?}");
                    assert!(
                        got.iter().all(|(d, t)| *d == day && *t == secs(&r.end)),
                        "{got:?}"
                    );
                }
                (EndCause::Stop, None) => {
                    assert!(got.iter().all(|(_, t)| *t == secs(&r.end)) && !got.is_empty());
                }
                _ => assert!(got.is_empty(), "{r:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn rejects_bad_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().to_str().unwrap();
        for bad in [
            ["--lost-stop", "1.5"],
            ["--reorder-secs", "601"],
            ["--pppoe-share", "0.9"],
            ["--start", "2026-13-01"],
            ["--subscribers", "0"],
            ["--no-interim-share", "1.5"],
            ["--cgnat-unattributed-share", "2"],
        ] {
            let mut argv = vec!["gen", "--out", out, "--dhcp-share", "0.25"];
            argv.extend_from_slice(&bad);
            let err = generate(&Cmd::parse_from(argv).args).unwrap_err();
            assert!(matches!(err, GenError::Usage(_)), "{bad:?}: {err}");
        }
    }
}
