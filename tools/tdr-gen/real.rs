//! The real formats `tdr-gen generate --output real` writes: what the ISP's producers would
//! have logged for the simulated events, one file per producer and UTC day (rotation by day),
//! optionally gzip-compressed as logrotate leaves them.
//!
//! | producer | files | tdr format |
//! |---|---|---|
//! | FreeRADIUS `rlm_detail`, one folder per NAS | `radacct/<nas-ip>/detail-YYYYMMDD` | `radius-detail` |
//! | accel-ppp's own log (the last NAS, when there are two or more, is an accel-ppp BRAS: its RADIUS verbose Accounting-Request lines) | `accel/<nas-ip>/accel-ppp.log-YYYYMMDD` | `accel-ppp` |
//! | ISC dhcpd via syslog (DHCP subscribers not 3 mod 4 that are 0 mod 3, see [`dhcp_server`]) | `dhcpd/dhcpd.log-YYYYMMDD` | `dhcpd-syslog --lease-time <lease-secs>` |
//! | Kea legal log hook (1 mod 3) | `kea/kea-legal.YYYYMMDD.txt` | `kea-legal` |
//! | Kea's own lease log, file output (2 mod 3; offers, allocations, releases, reclamations) | `kea/kea-dhcp4.log-YYYYMMDD` | `kea-log` |
//! | MikroTik RouterOS via remote syslog, BSD format (DHCP subscribers 3 mod 4, before the split by 3; RouterOS 6 and 7 wordings alternate): `assigned`, and `deassigned` for every release and expiry, no renewals and no lease time | `mikrotik/routeros.log-YYYYMMDD` | `mikrotik-dhcp` |
//! | Juniper MX service PIC via syslog (a quarter of the CGNAT subscribers, by inside address) | `cgnat/juniper-nat.log-YYYYMMDD` | `juniper-nat` |
//! | Juniper MX-SPC3 / SRX Next Gen Services via syslog (a quarter; structured and text forms alternate) | `cgnat/junos-ngs-nat.log-YYYYMMDD` | `junos-ngs-nat` |
//! | a CGNAT exporting NetFlow v9 NAT events to nfcapd, read back with `nfdump -o json` (a quarter) | `cgnat/nfdump-nat.json-YYYYMMDD` | `nfdump-nat` |
//! | a CGNAT exporting RFC 8158 port-block events over IPFIX, kept as a file of messages (RFC 5655; a quarter): the template first, then one message per event | `cgnat/ipfix-nat.ipfix-YYYYMMDD` | `ipfix` |
//! | Asterisk `cdr_csv` (synthetic calls, no truth) | `cdr-csv/Master.csv-YYYYMMDD` | `asterisk-cdr` |
//!
//! A late RADIUS Stop (`--no-interim-share`: a NAS retransmitting it for days) is written
//! when it arrives, into the detail file of that day: header and `Timestamp` the arrival,
//! `Acct-Delay-Time` the delay, `Event-Timestamp` the real end (FreeRADIUS's reading,
//! `Timestamp - Acct-Delay-Time`, gives the real end).
//!
//! All times are UTC (import with `--tz UTC`). The CGNAT router's clock runs `cgnat_skew`
//! seconds ahead of true time (`Names::cgnat_skew`) (the truth keeps true time). DHCP subscribers are named by their
//! MAC, as both DHCP servers log them. A damaged copy keeps the record's shape but carries an
//! address no parser accepts, so it is quarantined rather than read as another binding.
//!
//! With `pg` the same events (duplicates included, damaged copies left out, as a loader script
//! would reject them) are also written as CSV for the PostgreSQL baseline:
//! `pg/events-YYYYMMDD.csv` with the columns of `PG_COLUMNS`.

use crate::emit::{Ev, LeaseOp, Names, NatOp, SessOp};
use crate::error::{GenError, Result};
use crate::timefmt::{self, DAY};
use chrono::DateTime;
use flate2::write::GzEncoder;
use rand::rngs::StdRng;
use rand::Rng;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The CSV columns of the PostgreSQL baseline's staging table, in order.
pub const PG_COLUMNS: &str = "kind,op,time,subscriber,addr,session,inside,public,lo,hi,expires";

/// One output stream (a producer); each gets one file per day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stream {
    Radius(u16),
    Accel(u16),
    Dhcpd,
    Kea,
    KeaLog,
    RouterOs,
    Juniper,
    JunosNgs,
    Nfdump,
    Ipfix,
    Asterisk,
    Pg,
}

/// The CGNAT producers, by the inside address's index: the subscribers behind each router.
const NAT_STREAMS: [Stream; 4] = [
    Stream::Juniper,
    Stream::JunosNgs,
    Stream::Nfdump,
    Stream::Ipfix,
];

/// The IPFIX template of the port-block exporter (RFC 8158 §4.4): observationTimeMilliseconds,
/// natEvent, sourceIPv4Address, postNATSourceIPv4Address, portRangeStart, portRangeEnd.
const IPFIX_TEMPLATE: [(u16, u16); 6] = [(323, 8), (230, 1), (8, 4), (225, 4), (361, 2), (362, 2)];
const IPFIX_TEMPLATE_ID: u16 = 256;

/// An IPFIX message (RFC 7011 §3.1) of one set, exported at `secs` in observation domain 1.
fn ipfix_message(out: &mut Vec<u8>, secs: i64, seq: u32, set_id: u16, set: &[u8]) {
    let len = 16 + 4 + set.len();
    out.extend_from_slice(&10u16.to_be_bytes());
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&(secs as u32).to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(&set_id.to_be_bytes());
    out.extend_from_slice(&((4 + set.len()) as u16).to_be_bytes());
    out.extend_from_slice(set);
}

/// What a stream's file starts with (binary: IPFIX's template message, exported at `t`).
fn file_header(stream: Stream, t: i64) -> Vec<u8> {
    match stream {
        Stream::Ipfix => {
            let mut set = Vec::new();
            set.extend_from_slice(&IPFIX_TEMPLATE_ID.to_be_bytes());
            set.extend_from_slice(&(IPFIX_TEMPLATE.len() as u16).to_be_bytes());
            for (ie, len) in IPFIX_TEMPLATE {
                set.extend_from_slice(&ie.to_be_bytes());
                set.extend_from_slice(&len.to_be_bytes());
            }
            let mut out = Vec::new();
            ipfix_message(&mut out, t, 0, 2, &set);
            out
        }
        _ => framing_of(stream).0.as_bytes().to_vec(),
    }
}

/// What a stream's file starts and ends with (nfdump's JSON array).
fn framing_of(stream: Stream) -> (&'static str, &'static str) {
    match stream {
        Stream::Nfdump => ("[\n", "]\n"),
        _ => ("", ""),
    }
}

/// Knobs of the real-format writer.
#[derive(Clone, Copy, Debug)]
pub struct RealOptions {
    pub gzip: bool,
    pub pg: bool,
    /// One synthetic call per this many events (0 = no calls).
    pub events_per_call: u64,
    /// Per mille of RADIUS subscribers on IPoE rather than PPPoE.
    pub ipoe_permille: u32,
}

enum Out {
    Plain(BufWriter<File>),
    Gz(GzEncoder<BufWriter<File>>),
}

impl Out {
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Out::Plain(w) => w.write_all(b),
            Out::Gz(w) => w.write_all(b),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Out::Plain(mut w) => w.flush(),
            Out::Gz(w) => w.finish()?.flush(),
        }
    }
}

pub struct RealFiles {
    dir: PathBuf,
    opt: RealOptions,
    /// Open files by stream and day; a day's file is closed (and its gzip member finished)
    /// once its stream writes a line two days later.
    open: BTreeMap<Stream, BTreeMap<i64, (PathBuf, Out)>>,
    rng: StdRng,
    rec: String,
    /// The record of a binary stream (IPFIX), in place of `rec`.
    bin: Vec<u8>,
    /// IPFIX: data records exported so far (the message header's sequence number).
    ipfix_seq: u32,
    acct_unique: u64,
    events: u64,
    calls: u64,
}

/// The MAC a DHCP subscriber's device has (locally administered, unique per index).
pub fn mac_of(sub: u32) -> String {
    let b = sub.to_be_bytes();
    format!("02:5e:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3])
}

fn fmt_time(t: i64, f: &str) -> String {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.format(f).to_string())
        .unwrap_or_default()
}

/// A lease duration as Kea's legal log writes it.
pub fn kea_duration(secs: i64) -> String {
    let (d, r) = (secs / DAY, secs % DAY);
    let (h, m, s) = (r / 3600, (r % 3600) / 60, r % 60);
    if d > 0 {
        format!("{d} days {h} hrs {m} mins {s} secs")
    } else {
        format!("{h} hrs {m} mins {s} secs")
    }
}

/// The DHCP servers of the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DhcpServer {
    Dhcpd,
    KeaLegal,
    KeaLog,
    RouterOs,
}

/// Which DHCP server serves subscriber `sub`: RouterOS for 3 mod 4, the others by `sub` mod 3.
pub fn dhcp_server(sub: u32) -> DhcpServer {
    if sub % 4 == 3 {
        return DhcpServer::RouterOs;
    }
    match sub % 3 {
        0 => DhcpServer::Dhcpd,
        1 => DhcpServer::KeaLegal,
        _ => DhcpServer::KeaLog,
    }
}

/// Whether `sub`'s DHCP server logs every end of a lease, expiries included (RouterOS's
/// `deassigned`); the others log an expiry only sometimes (`--expire-logged`).
pub fn logs_every_lease_end(sub: u32) -> bool {
    dhcp_server(sub) == DhcpServer::RouterOs
}

/// Whether NAS `nas` is the accel-ppp BRAS: the last one, when there are two or more.
fn is_accel(names: &Names, nas: u16) -> bool {
    names.nas.len() >= 2 && usize::from(nas) == names.nas.len() - 1
}

/// The file of `stream` for the day of `t`.
fn path_of(dir: &Path, gzip: bool, stream: Stream, t: i64) -> PathBuf {
    let day = timefmt::day_stamp(t);
    let rel = match stream {
        Stream::Radius(n) => format!("radacct/10.255.0.{}/detail-{day}", n + 1),
        Stream::Accel(n) => format!("accel/10.255.0.{}/accel-ppp.log-{day}", n + 1),
        Stream::Dhcpd => format!("dhcpd/dhcpd.log-{day}"),
        Stream::KeaLog => format!("kea/kea-dhcp4.log-{day}"),
        Stream::Kea => format!("kea/kea-legal.{day}.txt"),
        Stream::RouterOs => format!("mikrotik/routeros.log-{day}"),
        Stream::Juniper => format!("cgnat/juniper-nat.log-{day}"),
        Stream::JunosNgs => format!("cgnat/junos-ngs-nat.log-{day}"),
        Stream::Nfdump => format!("cgnat/nfdump-nat.json-{day}"),
        Stream::Ipfix => format!("cgnat/ipfix-nat.ipfix-{day}"),
        Stream::Asterisk => format!("cdr-csv/Master.csv-{day}"),
        Stream::Pg => format!("pg/events-{day}.csv"),
    };
    let mut p = dir.join(rel);
    if gzip && stream != Stream::Pg {
        p.as_mut_os_string().push(".gz");
    }
    p
}

/// Ends a stream's file (its closing text) and flushes it.
fn close(stream: Stream, mut out: Out) -> std::io::Result<()> {
    out.write_all(framing_of(stream).1.as_bytes())?;
    out.finish()
}

/// Addresses no parser accepts, to damage a copy with.
const BAD_V4: [&str; 3] = ["198.18.300.7", "198.18.0", "19.8.18.0.1"];

impl RealFiles {
    pub fn create(dir: &Path, opt: RealOptions, rng: StdRng) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| GenError::io(dir, e))?;
        Ok(RealFiles {
            dir: dir.to_path_buf(),
            opt,
            open: BTreeMap::new(),
            rng,
            rec: String::with_capacity(1024),
            bin: Vec::with_capacity(64),
            ipfix_seq: 0,
            acct_unique: 0,
            events: 0,
            calls: 0,
        })
    }

    /// Appends `bytes` to `stream`'s file of the day of `t`.
    fn write(&mut self, stream: Stream, t: i64, bytes: &[u8]) -> Result<()> {
        let day = t.div_euclid(DAY);
        let days = self.open.entry(stream).or_default();
        // Lines are displaced by less than ten minutes: a stream that reached `day` writes
        // nothing more into the days before the previous one.
        while let Some(first) = days.first_entry() {
            if *first.key() >= day - 1 {
                break;
            }
            let (p, out) = first.remove();
            close(stream, out).map_err(|e| GenError::io(&p, e))?;
        }
        // A line for a day already closed (impossible within the reorder bound) goes into
        // the oldest open file rather than reopening a finished gzip file.
        let day = match days.first_key_value() {
            Some((&first, _)) if day < first => first,
            _ => day,
        };
        let (p, out) = match days.entry(day) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                let path = path_of(&self.dir, self.opt.gzip, stream, day * DAY);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| GenError::io(parent, e))?;
                }
                let f = File::create(&path).map_err(|e| GenError::io(&path, e))?;
                let w = BufWriter::with_capacity(1 << 20, f);
                let mut out = if self.opt.gzip && stream != Stream::Pg {
                    Out::Gz(GzEncoder::new(w, flate2::Compression::fast()))
                } else {
                    Out::Plain(w)
                };
                out.write_all(&file_header(stream, day * DAY))
                    .map_err(|e| GenError::io(&path, e))?;
                if stream == Stream::Pg {
                    out.write_all(PG_COLUMNS.as_bytes())
                        .and_then(|()| out.write_all(b"\n"))
                        .map_err(|e| GenError::io(&path, e))?;
                }
                v.insert((path, out))
            }
        };
        out.write_all(bytes).map_err(|e| GenError::io(p, e))
    }

    pub fn finish(&mut self) -> Result<()> {
        for (stream, days) in std::mem::take(&mut self.open) {
            for (_, (p, out)) in days {
                close(stream, out).map_err(|e| GenError::io(&p, e))?;
            }
        }
        Ok(())
    }

    /// Writes `ev` as its producer logs it (and as CSV rows for PostgreSQL), plus a synthetic
    /// call every `events_per_call` events. `received`: the event reaches the log only then
    /// (a late RADIUS Stop; other kinds ignore it).
    pub fn write_event(&mut self, ev: &Ev, names: &Names, received: Option<i64>) -> Result<u64> {
        let (stream, t) = self.format(ev, names, None, received);
        let bytes = self.bytes_of(stream).to_vec();
        let n = bytes.len() as u64;
        self.write(stream, t, &bytes)?;
        if self.opt.pg {
            self.pg_rows(ev, names, t)?;
        }
        self.events += 1;
        if self.opt.events_per_call > 0 && self.events.is_multiple_of(self.opt.events_per_call) {
            self.call(t)?;
        }
        Ok(n)
    }

    /// The record of `ev` with its address replaced by one no parser accepts: the stream
    /// and bytes of a damaged copy.
    pub fn damaged(&mut self, ev: &Ev, names: &Names) -> (Stream, i64, Vec<u8>) {
        let bad = BAD_V4[self.rng.gen_range(0..BAD_V4.len())];
        let (stream, t) = self.format(ev, names, Some(bad), None);
        (stream, t, self.bytes_of(stream).to_vec())
    }

    /// What the last `format` wrote for `stream`.
    fn bytes_of(&self, stream: Stream) -> &[u8] {
        if stream == Stream::Ipfix {
            &self.bin
        } else {
            self.rec.as_bytes()
        }
    }

    pub fn write_raw(&mut self, stream: Stream, t: i64, bytes: &[u8]) -> Result<()> {
        self.write(stream, t, bytes)
    }

    /// Formats `ev` into `self.rec`; `bad` replaces its (first) IPv4 address; `received`
    /// makes a session record one the server received then (its delay in `Acct-Delay-Time`).
    /// Returns the stream and the time that picks the day's file.
    fn format(
        &mut self,
        ev: &Ev,
        names: &Names,
        bad: Option<&str>,
        received: Option<i64>,
    ) -> (Stream, i64) {
        self.rec.clear();
        let rec = &mut self.rec;
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
                self.acct_unique += 1;
                if is_accel(names, nas) {
                    let status = match op {
                        SessOp::Start => "Start",
                        SessOp::Interim => "Interim-Update",
                        SessOp::Stop => "Stop",
                    };
                    let ip = bad.unwrap_or(&names.addrs[addr as usize]);
                    let user = &names.subscribers[sub as usize];
                    let _ = write!(
                        rec,
                        "[{}]:  info: ppp{}:{user}: send [RADIUS(1) Accounting-Request id={} \
                         <User-Name \"{user}\"> <NAS-Identifier \"{}\"> <NAS-IP-Address 10.255.0.{}> \
                         <NAS-Port {}> <NAS-Port-Id \"ppp{}\"> <NAS-Port-Type Ethernet> \
                         <Service-Type Framed-User> <Framed-Protocol PPP> \
                         <Calling-Station-Id \"{}\"> <Acct-Status-Type {status}> \
                         <Acct-Authentic RADIUS> <Acct-Session-Id \"{session:016x}\"> \
                         <Acct-Session-Time {}> <Framed-IP-Address {ip}>",
                        fmt_time(t, "%Y-%m-%d %H:%M:%S"),
                        sub % 4000,
                        self.acct_unique % 256,
                        names.nas[nas as usize],
                        nas + 1,
                        sub % 4000,
                        sub % 4000,
                        mac_of(sub),
                        if op == SessOp::Start { 0 } else { self.rng.gen_range(1..86_400) },
                    );
                    if let Some(p) = v6 {
                        let _ = write!(rec, " <Delegated-IPv6-Prefix {}>", names.addrs[p as usize]);
                    }
                    if op == SessOp::Stop {
                        rec.push_str(" <Acct-Terminate-Cause User-Request>");
                    }
                    rec.push_str("]\n");
                    // The BRAS logs when it sends: a Stop retransmitted to the RADIUS server
                    // is logged at its time.
                    return (Stream::Accel(nas), t);
                }
                let status = match op {
                    SessOp::Start => "Start",
                    SessOp::Interim => "Interim-Update",
                    SessOp::Stop => "Stop",
                };
                let delay = match received {
                    Some(r) => r - t,
                    None => self.rng.gen_range(0..3),
                };
                let ip = bad.unwrap_or(&names.addrs[addr as usize]);
                // PPPoE: a virtual port and PPP framing. IPoE (a share of subscribers): the
                // VLAN pair on an Ethernet port, no PPP, the user name from option 82.
                let ipoe = self.opt.ipoe_permille > 0
                    && (sub.wrapping_mul(2_654_435_761) >> 7) % 1000 < self.opt.ipoe_permille;
                let port = if ipoe {
                    format!(
                        "\tNAS-Port-Type = Ethernet\n\tNAS-Port-Id = \"xe-1/0/{}.{}:{}-{}\"\n\
                         \tService-Type = Framed-User\n",
                        sub % 4,
                        100 + sub % 400,
                        100 + sub % 400,
                        sub % 4000
                    )
                } else {
                    format!(
                        "\tNAS-Port-Type = Virtual\n\tNAS-Port-Id = \"0/1/0/{}\"\n\
                         \tService-Type = Framed-User\n\tFramed-Protocol = PPP\n",
                        sub % 4000
                    )
                };
                let _ = write!(
                    rec,
                    "{}\n\tAcct-Session-Id = \"{session:016x}\"\n\tAcct-Status-Type = {status}\n\
                     \tUser-Name = \"{}\"\n\tNAS-IP-Address = 10.255.0.{}\n\
                     \tNAS-Identifier = \"{}\"\n{port}\tFramed-IP-Address = {ip}\n",
                    fmt_time(t + delay, "%a %b %e %H:%M:%S %Y"),
                    names.subscribers[sub as usize],
                    nas + 1,
                    names.nas[nas as usize],
                );
                if let Some(p) = v6 {
                    let _ = writeln!(rec, "\tDelegated-IPv6-Prefix = {}", names.addrs[p as usize]);
                }
                let _ = write!(
                    rec,
                    "\tCalling-Station-Id = \"{}\"\n\tAcct-Authentic = RADIUS\n",
                    mac_of(sub)
                );
                if op != SessOp::Start {
                    let _ = write!(
                        rec,
                        "\tAcct-Session-Time = {}\n\tAcct-Input-Octets = {}\n\
                         \tAcct-Output-Octets = {}\n\tAcct-Input-Packets = {}\n\
                         \tAcct-Output-Packets = {}\n",
                        self.rng.gen_range(0..86_400),
                        self.rng.gen::<u32>(),
                        self.rng.gen::<u32>(),
                        self.rng.gen_range(0..5_000_000),
                        self.rng.gen_range(0..5_000_000),
                    );
                }
                if op == SessOp::Stop {
                    rec.push_str("\tAcct-Terminate-Cause = User-Request\n");
                }
                let _ = write!(
                    rec,
                    "\tEvent-Timestamp = \"{} UTC\"\n\tAcct-Delay-Time = {delay}\n\
                     \tTmp-String-9 = \"ai:\"\n\tAcct-Unique-Session-Id = \"{:032x}\"\n\
                     \tTimestamp = {}\n\n",
                    fmt_time(t, "%b %e %Y %H:%M:%S"),
                    self.acct_unique,
                    t + delay,
                );
                (Stream::Radius(nas), received.unwrap_or(t))
            }
            Ev::Reboot { t, nas } if is_accel(names, nas) => {
                let _ = writeln!(
                    rec,
                    "[{}]:  info: send [RADIUS(1) Accounting-Request id=0 <NAS-Identifier \"{}\"> \
                     <NAS-IP-Address 10.255.0.{}> <Acct-Status-Type Accounting-On> <Acct-Session-Id \"0\">]",
                    fmt_time(t, "%Y-%m-%d %H:%M:%S"),
                    names.nas[nas as usize],
                    nas + 1,
                );
                (Stream::Accel(nas), t)
            }
            Ev::Reboot { t, nas } => {
                let _ = write!(
                    rec,
                    "{}\n\tAcct-Status-Type = Accounting-On\n\tNAS-IP-Address = 10.255.0.{}\n\
                     \tNAS-Identifier = \"{}\"\n\tAcct-Session-Id = \"00000000\"\n\
                     \tAcct-Delay-Time = 0\n\tEvent-Timestamp = \"{} UTC\"\n\tTimestamp = {t}\n\n",
                    fmt_time(t, "%a %b %e %H:%M:%S %Y"),
                    nas + 1,
                    names.nas[nas as usize],
                    fmt_time(t, "%b %e %Y %H:%M:%S"),
                );
                (Stream::Radius(nas), t)
            }
            Ev::Lease {
                op,
                t,
                sub,
                addr,
                expires,
            } => {
                let ip = bad.unwrap_or(&names.addrs[addr as usize]);
                let mac = mac_of(sub);
                let server = dhcp_server(sub);
                if server == DhcpServer::RouterOs {
                    // RouterOS with `bsd-syslog=yes`: its own header, no topics. It logs no
                    // renewal; `deassigned` for a release and an expiry alike. Its MACs are
                    // upper case; RouterOS 7 says `for` and adds the host name.
                    let verb = match op {
                        LeaseOp::Assign => "assigned",
                        LeaseOp::Renew => return (Stream::RouterOs, t),
                        LeaseOp::Release | LeaseOp::Expire => "deassigned",
                    };
                    let head = fmt_time(t, "<30>%b %e %H:%M:%S MikroTik dhcp1");
                    let mac = mac.to_uppercase();
                    let _ = if (sub / 4) % 2 == 0 {
                        let prep = if op == LeaseOp::Assign { "to" } else { "from" };
                        writeln!(rec, "{head} {verb} {ip} {prep} {mac}")
                    } else {
                        writeln!(rec, "{head} {verb} {ip} for {mac} host-{sub}")
                    };
                    return (Stream::RouterOs, t);
                }
                if server == DhcpServer::KeaLog {
                    // Kea's own log (file output, debug level 40 for the reclamations): an
                    // allocation answering a DISCOVER follows its offer.
                    let head = |t: i64, ms: u32| {
                        format!(
                            "{}.{ms:03} INFO  [kea-dhcp4.leases/2187.139872] ",
                            fmt_time(t, "%Y-%m-%d %H:%M:%S")
                        )
                    };
                    let label = format!("[hwtype=1 {mac}], cid=[01:{mac}]");
                    let tid = self.rng.gen::<u32>();
                    let life = match expires {
                        Some(e) => format!(" for {} seconds", e - t),
                        None => String::new(),
                    };
                    match op {
                        LeaseOp::Assign => {
                            let _ = write!(
                                rec,
                                "{}DHCP4_LEASE_OFFER {label}, tid=0x{tid:x}: lease {ip} will be offered\n\
                                 {}DHCP4_LEASE_ALLOC {label}, tid=0x{tid:x}: lease {ip} has been allocated{life}\n",
                                head(t, 100),
                                head(t, 350),
                            );
                        }
                        LeaseOp::Renew => {
                            let _ = writeln!(
                                rec,
                                "{}DHCP4_LEASE_ALLOC {label}, tid=0x{tid:x}: lease {ip} has been allocated{life}",
                                head(t, 200),
                            );
                        }
                        LeaseOp::Release => {
                            let _ = writeln!(
                                rec,
                                "{}DHCP4_RELEASE {label}, tid=0x{tid:x}: address {ip} was released properly.",
                                head(t, 300),
                            );
                        }
                        LeaseOp::Expire => {
                            let _ = writeln!(
                                rec,
                                "{}ALLOC_ENGINE_V4_LEASE_RECLAIM {label}: reclaiming expired lease for address {ip}",
                                head(t, 400).replace("INFO  [kea-dhcp4.leases", "DEBUG [kea-dhcp4.alloc-engine"),
                            );
                        }
                    }
                    return (Stream::KeaLog, t);
                }
                if server == DhcpServer::Dhcpd {
                    // ISC dhcpd through syslog: the whole exchange, as one server logs it.
                    let head = fmt_time(t, "%b %e %H:%M:%S dhcp1 dhcpd[2211]: ");
                    let via = format!("via 10.{}.{}.1", 1 + (sub >> 16) % 200, (sub >> 8) & 255);
                    match op {
                        LeaseOp::Assign => {
                            let _ = write!(
                                rec,
                                "{head}DHCPDISCOVER from {mac} {via}\n\
                                 {head}DHCPOFFER on {ip} to {mac} {via}\n\
                                 {head}DHCPREQUEST for {ip} (10.0.0.53) from {mac} {via}\n\
                                 {head}DHCPACK on {ip} to {mac} {via}\n"
                            );
                        }
                        LeaseOp::Renew => {
                            let _ = write!(
                                rec,
                                "{head}DHCPREQUEST for {ip} from {mac} {via}\n\
                                 {head}DHCPACK on {ip} to {mac} {via}\n"
                            );
                        }
                        LeaseOp::Release => {
                            let _ =
                                writeln!(rec, "{head}DHCPRELEASE of {ip} from {mac} {via} (found)");
                        }
                        // dhcpd logs no expiry (FORMATS.md §2a): the lease time says it.
                        LeaseOp::Expire => {}
                    }
                    (Stream::Dhcpd, t)
                } else {
                    let (what, prep) = match op {
                        LeaseOp::Assign => ("assigned", "to"),
                        LeaseOp::Renew => ("renewed", "to"),
                        LeaseOp::Release => ("released", "from"),
                        // Kea's legal log has no expiry line either.
                        LeaseOp::Expire => return (Stream::Kea, t),
                    };
                    let dur = match (op, expires) {
                        (LeaseOp::Release, _) => String::new(),
                        (_, Some(e)) => format!(" for {}", kea_duration(e - t)),
                        (_, None) => " for infinite duration".to_string(),
                    };
                    let _ = writeln!(
                        rec,
                        "{} UTC Address: {ip} has been {what}{dur} {prep} a device with hardware address: hwtype=1 {mac}, client-id: 01:{mac} connected via relay at address: 10.{}.{}.1",
                        fmt_time(t, "%Y-%m-%d %H:%M:%S"),
                        1 + (sub >> 16) % 200,
                        (sub >> 8) & 255,
                    );
                    (Stream::Kea, t)
                }
            }
            Ev::Nat {
                op,
                t,
                inside,
                public,
                lo,
                hi,
            } => {
                let kind = match op {
                    NatOp::Alloc => "ALLOC",
                    NatOp::Release => "RELEASE",
                };
                let pub_ip = bad.unwrap_or(&names.addrs[public as usize]);
                let inside_ip = &names.addrs[inside as usize];
                // The router's clock (its log times carry the skew).
                let device = t + names.cgnat_skew;
                let stream = NAT_STREAMS[inside as usize % NAT_STREAMS.len()];
                match stream {
                    Stream::Juniper => {
                        let _ = writeln!(
                            rec,
                            "<14>{} mx1-cgn (FPC Slot 1, PIC Slot 0) {} [FWNAT]:ASP_NAT_PORT_BLOCK_{kind}: {inside_ip} -> {pub_ip}:{lo}-{hi}",
                            fmt_time(t, "%b %e %H:%M:%S"),
                            fmt_time(device, "%Y-%m-%d %H:%M:%S"),
                        );
                    }
                    // RT_NAT on an MX-SPC3: the structured form and the text form alternate
                    // (by port block), both with the device's epoch.
                    Stream::JunosNgs if (lo / 256) % 2 == 0 => {
                        let _ = writeln!(
                            rec,
                            "<14>1 {} mx304-cgn1 RT_NAT - RT_SRC_NAT_PBA_{kind} [junos@2636.1.1.1.2.137 internal-ip=\"{inside_ip}\" block-used=\"{}\" block-max-per-host=\"4\" block-port-low=\"{lo}\" block-port-high=\"{hi}\" reflexive-ip=\"{pub_ip}\" nat-pool-name=\"CGN_POOL\" logical-system-id=\"0\" epoch-time-64=\"{device:x}\"]",
                            fmt_time(device, "%Y-%m-%dT%H:%M:%S%.3f+00:00"),
                            u8::from(op == NatOp::Alloc),
                        );
                    }
                    Stream::JunosNgs => {
                        let verb = match op {
                            NatOp::Alloc => "allocates",
                            NatOp::Release => "releases",
                        };
                        let _ = writeln!(
                            rec,
                            "<14>{} srx4600-1 RT_NAT: RT_SRC_NAT_PBA_{kind}: Subscriber {inside_ip} used/maximum [{}/4] blocks, {verb} port block [{lo}-{hi}] from {pub_ip} in source pool CGN_POOL lsys_id: 0 epoch 0x{device:x}",
                            fmt_time(device, "%b %e %H:%M:%S"),
                            u8::from(op == NatOp::Alloc),
                        );
                    }
                    // One IPFIX message per event (RFC 8158 port block allocation 16 /
                    // de-allocation 17). A damaged copy names a template never defined: it
                    // cannot be read, so it is quarantined (no address is "invalid" in binary).
                    Stream::Ipfix => {
                        self.bin.clear();
                        let event: u8 = match op {
                            NatOp::Alloc => 16,
                            NatOp::Release => 17,
                        };
                        let v4 = |s: &str| {
                            s.parse::<std::net::Ipv4Addr>()
                                .map(|a| a.octets())
                                .unwrap_or([0; 4])
                        };
                        let mut set = Vec::with_capacity(21);
                        set.extend_from_slice(&((device * 1000) as u64).to_be_bytes());
                        set.push(event);
                        set.extend_from_slice(&v4(inside_ip));
                        set.extend_from_slice(&v4(pub_ip));
                        set.extend_from_slice(&lo.to_be_bytes());
                        set.extend_from_slice(&hi.to_be_bytes());
                        let id = if bad.is_some() {
                            999
                        } else {
                            IPFIX_TEMPLATE_ID
                        };
                        ipfix_message(&mut self.bin, device, self.ipfix_seq, id, &set);
                        self.ipfix_seq = self.ipfix_seq.wrapping_add(1);
                    }
                    // nfdump -o json of the NetFlow v9 port block event the router exported
                    // (nfdump prints the collector's receive time and the event time in the
                    // process's zone: TZ=UTC).
                    _ => {
                        let (id, what) = match op {
                            NatOp::Alloc => (16, "Port block allocation"),
                            NatOp::Release => (17, "Port block de-allocation"),
                        };
                        let _ = write!(
                            rec,
                            "{{\n\t\"type\" : \"EVENT\",\n\t\"sampled\" : 0,\n\t\"export_sysid\" : 1,\n\
                             \t\"received\" : \"{}.{}\",\n\t\"proto\" : 0,\n\t\"src4_addr\" : \"{inside_ip}\",\n\
                             \t\"dst4_addr\" : \"0.0.0.0\",\n\t\"ip4_router\" : \"10.255.1.1\",\n\
                             \t\"src4_xlt_ip\" : \"{pub_ip}\",\n\t\"dst4_xlt_ip\" : \"0.0.0.0\",\n\
                             \t\"nat_event_id\" : \"{id}\",\n\t\"nat_event\" : \"{what}\",\n\
                             \t\"t_event\" : \"{}.0\",\n\t\"pblock_start\" : \"{lo}\",\n\
                             \t\"pblock_end\" : \"{hi}\",\n\t\"pblock_step\" : \"1\",\n\
                             \t\"pblock_size\" : \"{}\",\n\t\"label\" : \"<none>\"\n}},\n",
                            fmt_time(t + 1, "%Y-%m-%dT%H:%M:%S"),
                            self.rng.gen_range(0..1000),
                            fmt_time(device, "%Y-%m-%dT%H:%M:%S"),
                            u32::from(hi) - u32::from(lo) + 1,
                        );
                    }
                }
                (stream, t)
            }
        }
    }

    /// The CSV rows of `ev` (its real time), into the file of the day of `day_of`.
    fn pg_rows(&mut self, ev: &Ev, names: &Names, day_of: i64) -> Result<()> {
        self.rec.clear();
        let rec = &mut self.rec;
        let ts = |t: i64| timefmt::rfc3339_string(t);
        match *ev {
            Ev::Session {
                op,
                t,
                sub,
                session,
                addr,
                v6,
                ..
            } => {
                let op = match op {
                    SessOp::Start => "start",
                    SessOp::Interim => "interim",
                    SessOp::Stop => "stop",
                };
                for a in std::iter::once(addr).chain(v6) {
                    let _ = writeln!(
                        rec,
                        "session,{op},{},{},{},{session:016x},,,,,",
                        ts(t),
                        names.subscribers[sub as usize],
                        names.addrs[a as usize]
                    );
                }
            }
            Ev::Reboot { t, nas } => {
                let _ = writeln!(
                    rec,
                    "nas_reboot,,{},,,{},,,,,",
                    ts(t),
                    names.nas[nas as usize]
                );
            }
            Ev::Lease {
                op,
                t,
                sub,
                addr,
                expires,
            } => {
                let op = match op {
                    LeaseOp::Assign => "assign",
                    LeaseOp::Renew => "renew",
                    LeaseOp::Release => "release",
                    LeaseOp::Expire => "expire",
                };
                let _ = writeln!(
                    rec,
                    "lease,{op},{},{},{},,,,,,{}",
                    ts(t),
                    names.subscribers[sub as usize],
                    names.addrs[addr as usize],
                    expires.map(ts).unwrap_or_default()
                );
            }
            Ev::Nat {
                op,
                t,
                inside,
                public,
                lo,
                hi,
            } => {
                let op = match op {
                    NatOp::Alloc => "alloc",
                    NatOp::Release => "release",
                };
                let _ = writeln!(
                    rec,
                    "nat,{op},{},,,,{},{},{lo},{hi},",
                    ts(t + names.cgnat_skew),
                    names.addrs[inside as usize],
                    names.addrs[public as usize]
                );
            }
        }
        let rec = std::mem::take(&mut self.rec);
        let r = self.write(Stream::Pg, day_of, rec.as_bytes());
        self.rec = rec;
        r
    }

    /// A synthetic call between a subscriber line and the PSTN, as Asterisk's cdr_csv writes
    /// it (no truth: calls are load, not attribution).
    fn call(&mut self, t: i64) -> Result<()> {
        self.calls += 1;
        let line = call_line(&mut self.rng, self.calls, t);
        self.write(Stream::Asterisk, t, line.as_bytes())
    }
}

/// Call number `c` at `t`, between a subscriber line and the PSTN, as one `Master.csv` line
/// of Asterisk's cdr_csv (70 % answered).
pub fn call_line(rng: &mut StdRng, c: u64, t: i64) -> String {
    let answered = rng.gen_bool(0.7);
    let ring = rng.gen_range(1..20);
    let talk = if answered { rng.gen_range(5..1800) } else { 0 };
    let a = format!("+4670{:07}", rng.gen_range(0..10_000_000));
    let b = format!("08{:06}", rng.gen_range(0..1_000_000));
    let ymd = |t: i64| fmt_time(t, "%Y-%m-%d %H:%M:%S");
    format!(
        "\"\",\"{a}\",\"{b}\",\"from-internal\",\"\"\"{a}\"\" <{a}>\",\"PJSIP/{a}-{c:08x}\",\"PJSIP/trunk-{:08x}\",\"Dial\",\"PJSIP/{b}@trunk,60\",\"{}\",{},\"{}\",{},{},\"{}\",\"DOCUMENTATION\",\"{t}.{c}\",\"\"\n",
        c + 1,
        ymd(t),
        if answered {
            format!("\"{}\"", ymd(t + ring))
        } else {
            String::new()
        },
        ymd(t + ring + talk),
        ring + talk,
        talk,
        if answered { "ANSWERED" } else { "NO ANSWER" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use tdr_parse::model::{Event, Target};
    use tdr_parse::{parse_all, Context, Format};

    const T: i64 = 1_793_700_000; // 2026-11-03T10:00:00Z

    fn names() -> Names {
        Names {
            subscribers: vec!["sub-0000001".into(), "02:5e:00:00:00:01".into()],
            addrs: vec![
                "198.18.0.7".into(),
                "2001:db8:1000:100::/56".into(),
                "203.0.113.2".into(),
                "100.64.0.9".into(),
                "100.64.0.10".into(),
                "100.64.0.11".into(),
                "100.64.0.12".into(),
            ],
            nas: vec!["bng1".into(), "bras1".into()],
            cgnat_skew: 1,
        }
    }

    fn writer() -> RealFiles {
        let opt = RealOptions {
            gzip: false,
            pg: false,
            events_per_call: 0,
            ipoe_permille: 0,
        };
        let dir = std::env::temp_dir();
        RealFiles::create(&dir, opt, StdRng::seed_from_u64(1)).unwrap()
    }

    fn parse(stream: Stream, bytes: &[u8]) -> (Vec<Event>, usize) {
        let (format, lease) = match stream {
            Stream::Radius(_) => (Format::RadiusDetail, None),
            Stream::Dhcpd => (Format::DhcpdSyslog, Some(3600)),
            Stream::Kea => (Format::KeaLegal, None),
            Stream::Accel(_) => (Format::AccelPpp, None),
            Stream::KeaLog => (Format::KeaLog, None),
            Stream::RouterOs => (Format::MikrotikDhcp, None),
            Stream::Juniper => (Format::JuniperNat, None),
            Stream::JunosNgs => (Format::JunosNgsNat, None),
            Stream::Nfdump => (Format::NfdumpNat, None),
            Stream::Ipfix => (Format::Ipfix, None),
            s => panic!("no format for {s:?}"),
        };
        let mut ctx = Context::new("gen", T + 86_400);
        ctx.tz = Some(chrono_tz::UTC);
        ctx.lease_time = lease;
        // A record of a binary stream is read after its file's header (IPFIX's template).
        let mut all = file_header(stream, T);
        if stream != Stream::Ipfix {
            all.clear();
        }
        all.extend_from_slice(bytes);
        let (events, errors) = parse_all(format, &ctx, &all).unwrap();
        // Coverage marks (a DHCPDISCOVER shows the server logging) are no bindings.
        let records = events.into_iter().filter(Event::is_record).collect();
        (records, errors.len())
    }

    /// A Stop the NAS retransmitted for two days goes into the detail file of the day it
    /// arrived, and reads back as the real end.
    #[test]
    fn a_late_stop_is_written_when_it_arrives_and_reads_as_the_real_end() {
        let n = names();
        let mut w = writer();
        let stop = Ev::Session {
            op: SessOp::Stop,
            t: T,
            sub: 0,
            session: 7,
            addr: 0,
            v6: Some(1),
            nas: 0,
        };
        let received = T + 2 * DAY + 17;
        let (stream, day_of) = w.format(&stop, &n, None, Some(received));
        assert_eq!((stream, day_of), (Stream::Radius(0), received));
        assert!(w.rec.contains("\tAcct-Delay-Time = 172817\n"), "{}", w.rec);
        assert!(
            w.rec.contains(&format!("\tTimestamp = {received}\n")),
            "{}",
            w.rec
        );
        assert!(w.rec.starts_with("Thu Nov  5 10:00:17 2026\n"), "{}", w.rec);
        let (events, errors) = parse(stream, w.bytes_of(stream));
        assert_eq!(errors, 0, "{}", w.rec);
        assert_eq!(events.len(), 2);
        for e in &events {
            assert!(matches!(
                e,
                Event::Session {
                    op: tdr_parse::model::SessionOp::Stop,
                    ..
                }
            ));
            assert_eq!(e.time(), T);
        }
        let dir = tempfile::tempdir().unwrap();
        let opt = RealOptions {
            gzip: false,
            pg: true,
            events_per_call: 0,
            ipoe_permille: 0,
        };
        let mut files = RealFiles::create(dir.path(), opt, StdRng::seed_from_u64(1)).unwrap();
        files.write_event(&stop, &n, Some(received)).unwrap();
        files.finish().unwrap();
        let detail = dir.path().join("radacct/10.255.0.1/detail-20261105");
        let (events, _) = parse(Stream::Radius(0), &std::fs::read(detail).unwrap());
        assert!(events.iter().all(|e| e.time() == T) && events.len() == 2);
        let pg = std::fs::read_to_string(dir.path().join("pg/events-20261105.csv")).unwrap();
        assert!(pg.contains("session,stop,2026-11-03T10:00:00Z,"), "{pg}");
    }

    /// Every record the writer produces parses, with the producer's parser, to the event it
    /// stands for; every damaged copy is rejected rather than read as another binding.
    #[test]
    fn records_parse_back_and_damaged_copies_are_rejected() {
        for ipoe in [0, 1000] {
            records_parse_back(ipoe);
        }
    }

    fn records_parse_back(ipoe_permille: u32) {
        let n = names();
        let mut w = writer();
        w.opt.ipoe_permille = ipoe_permille;
        let cases = [
            Ev::Session {
                op: SessOp::Start,
                t: T,
                sub: 0,
                session: 7,
                addr: 0,
                v6: Some(1),
                nas: 0,
            },
            Ev::Session {
                op: SessOp::Stop,
                t: T,
                sub: 0,
                session: 7,
                addr: 0,
                v6: None,
                nas: 0,
            },
            Ev::Lease {
                op: LeaseOp::Assign,
                t: T,
                sub: 0,
                addr: 0,
                expires: Some(T + 3600),
            },
            Ev::Lease {
                op: LeaseOp::Renew,
                t: T,
                sub: 1,
                addr: 0,
                expires: Some(T + 3600),
            },
            Ev::Lease {
                op: LeaseOp::Release,
                t: T,
                sub: 1,
                addr: 0,
                expires: None,
            },
            Ev::Reboot { t: T, nas: 0 },
        ];
        // Every CGNAT producer (by inside address), allocations and releases, both of the
        // Junos NGS forms (by block).
        let nat = (3..7).flat_map(|inside| {
            [
                (NatOp::Alloc, 2048),
                (NatOp::Release, 2048),
                (NatOp::Alloc, 2304),
            ]
            .map(|(op, lo)| Ev::Nat {
                op,
                t: T,
                inside,
                public: 2,
                lo,
                hi: lo + 255,
            })
        });
        // The accel-ppp BRAS (the last NAS): a session with a delegated prefix, its stop, its
        // Accounting-On.
        let accel = [
            Ev::Session {
                op: SessOp::Start,
                t: T,
                sub: 0,
                session: 9,
                addr: 0,
                v6: Some(1),
                nas: 1,
            },
            Ev::Session {
                op: SessOp::Stop,
                t: T,
                sub: 0,
                session: 9,
                addr: 0,
                v6: None,
                nas: 1,
            },
            Ev::Reboot { t: T, nas: 1 },
        ];
        // Kea's own log (2 mod 3), and RouterOS (3 mod 4; 3 writes the version 6 wording, 7
        // version 7's), which logs no renewal, so there is none to read back.
        let ops = [
            (LeaseOp::Assign, Some(T + 3600)),
            (LeaseOp::Renew, Some(T + 3600)),
            (LeaseOp::Release, None),
            (LeaseOp::Expire, None),
        ];
        let dhcp = [2u32, 5, 3, 7].into_iter().flat_map(|sub| {
            ops.into_iter()
                .filter(move |(op, _)| !(logs_every_lease_end(sub) && *op == LeaseOp::Renew))
                .map(move |(op, expires)| Ev::Lease {
                    op,
                    t: T,
                    sub,
                    addr: 0,
                    expires,
                })
        });
        let cases: Vec<Ev> = cases
            .into_iter()
            .chain(nat)
            .chain(accel)
            .chain(dhcp)
            .collect();
        for ev in cases {
            let (stream, _) = w.format(&ev, &n, None, None);
            if let (Ev::Session { .. }, Stream::Radius(_)) = (&ev, stream) {
                let ipoe = w.rec.contains("NAS-Port-Type = Ethernet");
                assert_eq!(ipoe, ipoe_permille == 1000, "{}", w.rec);
                assert_eq!(!ipoe, w.rec.contains("Framed-Protocol = PPP"), "{}", w.rec);
            }
            let (events, errors) = parse(stream, w.bytes_of(stream));
            assert_eq!(errors, 0, "{ev:?}: {}", w.rec);
            let first = events
                .first()
                .unwrap_or_else(|| panic!("{ev:?} gave no event"));
            let skew = if matches!(ev, Ev::Nat { .. }) { 1 } else { 0 };
            assert_eq!(first.time(), T + skew, "{ev:?}");
            match (&ev, first) {
                (
                    Ev::Session { v6, .. },
                    Event::Session {
                        subscriber, target, ..
                    },
                ) => {
                    assert_eq!(subscriber, "sub-0000001");
                    assert_eq!(*target, Target::host("198.18.0.7".parse().unwrap()));
                    assert_eq!(events.len(), 1 + usize::from(v6.is_some()));
                }
                (
                    Ev::Lease { sub, expires, .. },
                    Event::Lease {
                        subscriber,
                        expires: e,
                        ends_logged,
                        ..
                    },
                ) => {
                    assert_eq!(subscriber, &mac_of(*sub));
                    let routeros = logs_every_lease_end(*sub);
                    assert_eq!(stream == Stream::RouterOs, routeros, "{ev:?}");
                    assert_eq!(*ends_logged, routeros, "{ev:?}");
                    // RouterOS logs no lease time.
                    let want = if routeros { None } else { *expires };
                    assert_eq!(*e, want, "{ev:?}");
                }
                (Ev::Nat { op, lo, hi, .. }, Event::NatBlock { ports, op: got, .. }) => {
                    assert_eq!(*ports, (*lo, *hi));
                    assert_eq!(
                        *got,
                        match op {
                            NatOp::Alloc => tdr_parse::model::NatOp::Alloc,
                            NatOp::Release => tdr_parse::model::NatOp::Release,
                        }
                    );
                }
                (Ev::Reboot { nas: i, .. }, Event::NasReboot { nas, .. }) => {
                    assert_eq!(nas, &format!("10.255.0.{}", i + 1))
                }
                (ev, got) => panic!("{ev:?} parsed as {got:?}"),
            }
            if matches!(ev, Ev::Reboot { .. }) {
                continue;
            }
            let (stream, _, bad) = w.damaged(&ev, &n);
            let (events, errors) = parse(stream, &bad);
            assert!(
                errors >= 1,
                "{ev:?}: damaged copy accepted: {}",
                String::from_utf8_lossy(&bad)
            );
            assert!(events.is_empty(), "{ev:?}: damaged copy gave {events:?}");
        }
    }
}
