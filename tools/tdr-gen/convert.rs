//! `tdr-gen convert`: rewrites an `events` file as the real log formats the producing software
//! writes — FreeRADIUS v3 `detail` records for sessions and NAS reboots, Kea legal-log lines
//! for leases, Juniper ASP port-block lines for NAT blocks — plus Asterisk `cdr_csv` lines for
//! synthetic calls, so imports and benches run on real formats at scale. Times are written in
//! UTC (import with `--tz UTC`).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use chrono::DateTime;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tdr_parse::model::{Event, LeaseOp, NatOp, SessionOp};

use crate::error::{GenError, Result};
use crate::real::{call_line, kea_duration};

#[derive(clap::Args, Debug)]
pub struct ConvertArgs {
    /// The events file (from `tdr-gen generate`).
    #[arg(long)]
    pub events: PathBuf,
    /// Output directory: radius.detail, kea-legal.log, juniper-nat.log, Master.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// Stop after this many input bytes (0 = all).
    #[arg(long, default_value_t = 0)]
    pub max_bytes: u64,
    /// One synthetic call per this many events.
    #[arg(long, default_value_t = 20)]
    pub events_per_call: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

fn ctime(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%a %b %e %H:%M:%S %Y").to_string())
        .unwrap_or_default()
}

fn ymd_hms(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// A stable MAC for a subscriber id (the converted logs need one where the events have a name).
fn mac_of(s: &str) -> String {
    let h = s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let b = h.to_be_bytes();
    format!(
        "02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[3], b[4], b[5], b[6], b[7]
    )
}

pub fn convert(args: &ConvertArgs) -> Result<String> {
    let io = |p: &PathBuf| {
        let p = p.clone();
        move |e: std::io::Error| GenError::io(&p, e)
    };
    std::fs::create_dir_all(&args.out).map_err(io(&args.out))?;
    let open = |name: &str| -> Result<BufWriter<std::fs::File>> {
        let p = args.out.join(name);
        Ok(BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(&p).map_err(io(&p))?,
        ))
    };
    let mut radius = open("radius.detail")?;
    let mut kea = open("kea-legal.log")?;
    let mut nat = open("juniper-nat.log")?;
    let mut cdr = open("Master.csv")?;
    let input = std::fs::File::open(&args.events).map_err(io(&args.events))?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let (mut bytes, mut n, mut calls) = (0u64, 0u64, 0u64);
    let mut rec = String::with_capacity(1024);
    let mut acct_id = 0u64;
    for line in BufReader::with_capacity(1 << 20, input).lines() {
        let line = line.map_err(io(&args.events))?;
        bytes += line.len() as u64 + 1;
        if args.max_bytes > 0 && bytes > args.max_bytes {
            break;
        }
        let Ok(ev) = tdr_parse::format::events::parse_line(line.as_bytes(), "gen") else {
            continue;
        };
        n += 1;
        rec.clear();
        match &ev {
            Event::Session {
                op,
                time,
                subscriber,
                session,
                target,
                nas,
                ..
            } => {
                acct_id += 1;
                let status = match op {
                    SessionOp::Start => "Start",
                    SessionOp::Interim => "Interim-Update",
                    SessionOp::Stop => "Stop",
                };
                let addr_attr = if target.v4 {
                    format!("\tFramed-IP-Address = {}\n", target.ip())
                } else if target.is_host() {
                    format!("\tFramed-IPv6-Address = {}\n", target.ip())
                } else {
                    format!("\tDelegated-IPv6-Prefix = {target}\n")
                };
                let delay = rng.gen_range(0..3);
                let _ = write!(
                    rec,
                    "{}\n\tPacket-Type = Accounting-Request\n\tAcct-Session-Id = \"{session}\"\n\
                     \tAcct-Status-Type = {status}\n\tUser-Name = \"{subscriber}\"\n\
                     \tNAS-Identifier = \"{nas}\"\n\tNAS-Port-Type = Virtual\n\
                     \tNAS-Port-Id = \"ppp{}\"\n\tService-Type = Framed-User\n\
                     \tFramed-Protocol = PPP\n{addr_attr}\
                     \tCalling-Station-Id = \"{}\"\n\tCalled-Station-Id = \"eth1\"\n\
                     \tAcct-Input-Octets = {}\n\tAcct-Output-Octets = {}\n\
                     \tAcct-Input-Gigawords = 0\n\tAcct-Output-Gigawords = 0\n\
                     \tAcct-Session-Time = {}\n\tAcct-Authentic = RADIUS\n\
                     \tEvent-Timestamp = \"{} UTC\"\n\tAcct-Delay-Time = {delay}\n\
                     \tClient-IP-Address = 10.255.0.1\n\tAcct-Unique-Session-Id = \"{:016x}\"\n\
                     \tTimestamp = {}\n\n",
                    ctime(*time + delay),
                    acct_id % 65_536,
                    mac_of(subscriber),
                    rng.gen::<u32>(),
                    rng.gen::<u32>(),
                    rng.gen_range(0..86_400),
                    DateTime::from_timestamp(*time, 0)
                        .map(|d| d.format("%b %e %Y %H:%M:%S").to_string())
                        .unwrap_or_default(),
                    acct_id,
                    *time + delay,
                );
                radius.write_all(rec.as_bytes()).map_err(io(&args.out))?;
            }
            Event::NasReboot { time, nas, .. } => {
                let _ = write!(
                    rec,
                    "{}\n\tAcct-Status-Type = Accounting-On\n\tNAS-Identifier = \"{nas}\"\n\
                     \tAcct-Session-Id = \"00000000\"\n\tAcct-Delay-Time = 0\n\
                     \tTimestamp = {time}\n\n",
                    ctime(*time)
                );
                radius.write_all(rec.as_bytes()).map_err(io(&args.out))?;
            }
            Event::Lease {
                op,
                time,
                subscriber,
                target,
                expires,
                ..
            } => {
                let what = match op {
                    LeaseOp::Assign => "assigned",
                    LeaseOp::Renew => "renewed",
                    LeaseOp::Release => "released",
                    // Kea's legal log has no expiry line.
                    LeaseOp::Expire => continue,
                };
                let addr = target.ip();
                let dur = match (op, expires) {
                    (LeaseOp::Release, _) => String::new(),
                    (_, Some(e)) => format!(" for {}", kea_duration(e - time)),
                    (_, None) => " for infinite duration".to_string(),
                };
                let prep = if *op == LeaseOp::Release {
                    "from"
                } else {
                    "to"
                };
                let _ = writeln!(
                    rec,
                    "{} UTC Address: {addr} has been {what}{dur} {prep} a device with hardware address: hwtype=1 {}",
                    ymd_hms(*time),
                    mac_of(subscriber)
                );
                kea.write_all(rec.as_bytes()).map_err(io(&args.out))?;
            }
            Event::NatBlock {
                op,
                time,
                inside,
                public,
                ports,
                ..
            } => {
                let kind = match op {
                    NatOp::Alloc => "ALLOC",
                    NatOp::Release => "RELEASE",
                };
                let d = DateTime::from_timestamp(*time, 0).unwrap_or_default();
                let _ = writeln!(
                    rec,
                    "<14>{} mx1 (FPC Slot 1, PIC Slot 0) {} [FWNAT]:ASP_NAT_PORT_BLOCK_{kind}: {inside} -> {public}:{}-{}",
                    d.format("%b %e %H:%M:%S"),
                    ymd_hms(*time),
                    ports.0,
                    ports.1
                );
                nat.write_all(rec.as_bytes()).map_err(io(&args.out))?;
            }
            // Nothing to convert: coverage marks and lease-database states have no line of
            // their own in these producers' logs.
            Event::Cdr(_) | Event::Seen { .. } | Event::Free { .. } => {}
        }
        if n % args.events_per_call == 0 {
            calls += 1;
            let line = call_line(&mut rng, calls, ev.time());
            cdr.write_all(line.as_bytes()).map_err(io(&args.out))?;
        }
    }
    for w in [&mut radius, &mut kea, &mut nat, &mut cdr] {
        w.flush().map_err(io(&args.out))?;
    }
    Ok(format!(
        "converted {n} events ({bytes} bytes) and wrote {calls} calls into {}",
        args.out.display()
    ))
}
