//! What `/metrics` shows, in the Prometheus text format. Counters are bumped where things
//! happen; the gauges that describe state (checkpoint lag, partitions, disk, oldest record,
//! kernel UDP drops) are computed when scraped. Labels name sources, formats, files and error
//! codes, never a record's content.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

fn histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0,
    ])
}

/// Where a followed file stands: its size as last seen and how far it is committed.
#[derive(Debug, Clone)]
pub struct FileLag {
    pub source: String,
    pub size: u64,
    pub committed: u64,
    /// When the committed offset last caught up with the size (or the file was first seen).
    pub caught_up: Instant,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub events: Family<Labels, Counter>,
    pub frames: Family<Labels, Counter>,
    pub quarantined: Family<Labels, Counter>,
    pub batch_seconds: Histogram,
    pub commit_delay_seconds: Histogram,
    pub batches: Counter,
    pub syslog_messages: Family<Labels, Counter>,
    pub syslog_connections: Family<Labels, Gauge>,
    /// Syslog datagrams and connections refused before parsing, by listener and reason
    /// (`not_allowed`, `too_many_connections`, `handshake_timeout`, `handshake_failed`,
    /// `idle_timeout`): never the sender's address.
    pub syslog_refused: Family<Labels, Counter>,
    /// Spool entries refused unread (`symlink`, `not_a_file`), by reason.
    pub spool_refused: Family<Labels, Counter>,
    /// IPFIX datagrams by listener and outcome (`parsed`, `rejected`: quarantined,
    /// `not_allowed`: an exporter outside `allow`, dropped unread): never the exporter.
    pub ipfix_packets: Family<Labels, Counter>,
    /// IPFIX data records read, by listener.
    pub ipfix_records: Family<Labels, Counter>,
    /// Data records exporters numbered that never arrived (sequence gaps), by listener.
    pub ipfix_lost_records: Family<Labels, Counter>,
    /// Templates known, all exporters of a listener together.
    pub ipfix_templates: Family<Labels, Gauge>,
    /// Exporters (address and port) a listener holds templates for.
    pub ipfix_exporters: Family<Labels, Gauge>,
    /// Exporters dropped (with their templates) to make room for a new one.
    pub ipfix_exporters_evicted: Family<Labels, Counter>,
    /// RADIUS accounting datagrams by listener and outcome (`acknowledged`, `duplicate`,
    /// `unknown_client`, `bad_authenticator`, `malformed`): never the client's address.
    pub radius_requests: Family<Labels, Counter>,
    pub expired_partitions: Counter,
    lag_bytes: Family<Labels, Gauge>,
    committed_offset: Family<Labels, Gauge>,
    lag_seconds: Family<Labels, Gauge>,
    udp_kernel_drops: Family<Labels, Gauge>,
    partitions: Gauge,
    store_bytes: Gauge,
    oldest_record_age: Gauge,
    audit_entries_gauge: Gauge,
    ready_gauge: Gauge,
    /// Cases past their due time and not answered; cases due within `legal.due_soon`
    /// (counts only: never a case id, type or authority).
    cases_overdue: Gauge,
    cases_due_soon: Gauge,
    /// IPRED notices whose window is open and not sent, and those whose window has closed.
    notices_due: Gauge,
    notices_late: Gauge,
    /// The audit log's entry count (its head sequence).
    pub audit_entries: AtomicU64,
    /// Followed files, by path.
    pub files: Mutex<HashMap<String, FileLag>>,
    /// UDP listeners (name, local port) whose kernel drop counts are read at scrape time.
    pub udp_ports: Mutex<Vec<(String, u16)>>,
}

impl Metrics {
    /// Reads the kernel's drop count of UDP listener `name` at each scrape (its bound address,
    /// if the socket has one).
    pub fn watch_udp(&self, name: &str, local: std::io::Result<std::net::SocketAddr>) {
        if let Ok(a) = local {
            self.udp_ports
                .lock()
                .expect("metrics lock")
                .push((name.to_string(), a.port()));
        }
    }

    pub fn new() -> Metrics {
        let m = Metrics {
            registry: Mutex::new(Registry::with_prefix("tdr")),
            events: Family::default(),
            frames: Family::default(),
            quarantined: Family::default(),
            batch_seconds: histogram(),
            commit_delay_seconds: histogram(),
            batches: Counter::default(),
            syslog_messages: Family::default(),
            syslog_connections: Family::default(),
            syslog_refused: Family::default(),
            spool_refused: Family::default(),
            ipfix_packets: Family::default(),
            ipfix_records: Family::default(),
            ipfix_lost_records: Family::default(),
            ipfix_templates: Family::default(),
            ipfix_exporters: Family::default(),
            ipfix_exporters_evicted: Family::default(),
            radius_requests: Family::default(),
            expired_partitions: Counter::default(),
            lag_bytes: Family::default(),
            committed_offset: Family::default(),
            lag_seconds: Family::default(),
            udp_kernel_drops: Family::default(),
            partitions: Gauge::default(),
            store_bytes: Gauge::default(),
            oldest_record_age: Gauge::default(),
            audit_entries_gauge: Gauge::default(),
            ready_gauge: Gauge::default(),
            cases_overdue: Gauge::default(),
            cases_due_soon: Gauge::default(),
            notices_due: Gauge::default(),
            notices_late: Gauge::default(),
            audit_entries: AtomicU64::new(0),
            files: Mutex::new(HashMap::new()),
            udp_ports: Mutex::new(Vec::new()),
        };
        {
            let mut r = m.registry.lock().expect("fresh lock");
            r.register(
                "events",
                "Events applied, by source, format and outcome (accepted: new facts; duplicate: \
                 already stored; expired: older than retention, not stored)",
                m.events.clone(),
            );
            r.register(
                "frames",
                "Records read, by source, format and outcome (events, ignored, quarantined)",
                m.frames.clone(),
            );
            r.register(
                "quarantined",
                "Records refused and quarantined, by source and error code",
                m.quarantined.clone(),
            );
            r.register(
                "batch_write_seconds",
                "Time to write one batch to RocksDB",
                m.batch_seconds.clone(),
            );
            r.register(
                "commit_delay_seconds",
                "From a record being read to the batch holding it being committed",
                m.commit_delay_seconds.clone(),
            );
            r.register("batches", "Batches committed", m.batches.clone());
            r.register(
                "udp_kernel_drops",
                "Datagrams the kernel dropped on a syslog or IPFIX UDP socket (receive buffer \
                 full), from /proc/net/udp",
                m.udp_kernel_drops.clone(),
            );
            r.register(
                "syslog_messages",
                "Syslog messages received, by listener",
                m.syslog_messages.clone(),
            );
            r.register(
                "syslog_connections",
                "Open syslog TCP/TLS connections, by listener",
                m.syslog_connections.clone(),
            );
            r.register(
                "syslog_refused",
                "Syslog datagrams and connections refused before parsing, by listener and reason",
                m.syslog_refused.clone(),
            );
            r.register(
                "radius_requests",
                "RADIUS accounting datagrams, by listener and outcome (acknowledged: committed \
                 and answered; duplicate: a retransmission, answered or left to its first copy's \
                 answer; unknown_client, bad_authenticator, malformed: dropped unanswered)",
                m.radius_requests.clone(),
            );
            r.register(
                "spool_refused",
                "Spool entries refused unread (a symlink, not a regular file), by reason",
                m.spool_refused.clone(),
            );
            r.register(
                "ipfix_packets",
                "IPFIX datagrams received, by listener and outcome (parsed; rejected: \
                 quarantined; not_allowed: exporter outside allow, dropped unread)",
                m.ipfix_packets.clone(),
            );
            r.register(
                "ipfix_records",
                "IPFIX data records read, by listener",
                m.ipfix_records.clone(),
            );
            r.register(
                "ipfix_lost_records",
                "IPFIX data records the exporters numbered but that never arrived (sequence \
                 gaps), by listener",
                m.ipfix_lost_records.clone(),
            );
            r.register(
                "ipfix_templates",
                "IPFIX templates known, all exporters of a listener together",
                m.ipfix_templates.clone(),
            );
            r.register(
                "ipfix_exporters",
                "IPFIX exporters (address and port) a listener holds templates for",
                m.ipfix_exporters.clone(),
            );
            r.register(
                "ipfix_exporters_evicted",
                "IPFIX exporters dropped with their templates to make room for a new one \
                 (max_exporters)",
                m.ipfix_exporters_evicted.clone(),
            );
            r.register(
                "checkpoint_lag_bytes",
                "Bytes of a followed file not yet committed",
                m.lag_bytes.clone(),
            );
            r.register(
                "checkpoint_offset_bytes",
                "Offset up to which a followed file is committed",
                m.committed_offset.clone(),
            );
            r.register(
                "checkpoint_lag_seconds",
                "How long a followed file has had bytes not yet committed",
                m.lag_seconds.clone(),
            );
            r.register(
                "partitions",
                "Day partitions in the store",
                m.partitions.clone(),
            );
            r.register(
                "store_bytes",
                "Bytes the store takes on disk",
                m.store_bytes.clone(),
            );
            r.register(
                "oldest_record_age_seconds",
                "Age of the start of the oldest day partition held",
                m.oldest_record_age.clone(),
            );
            r.register(
                "expired_partitions",
                "Day partitions dropped by retention since start",
                m.expired_partitions.clone(),
            );
            r.register(
                "audit_entries",
                "Entries in the audit log",
                m.audit_entries_gauge.clone(),
            );
            r.register(
                "cases_overdue",
                "Cases past their due time and not answered (legal::due)",
                m.cases_overdue.clone(),
            );
            r.register(
                "cases_due_soon",
                "Cases due within legal.due_soon and not answered",
                m.cases_due_soon.clone(),
            );
            r.register(
                "notices_due",
                "IPRED notices to subscribers whose window is open and not yet sent (URL 53 h §)",
                m.notices_due.clone(),
            );
            r.register(
                "notices_late",
                "IPRED notices whose window closed before they were sent",
                m.notices_late.clone(),
            );
            r.register(
                "ready",
                "1 when the store is open and the audit log verified at start",
                m.ready_gauge.clone(),
            );
        }
        m
    }

    /// A followed file's size as just seen (`committed`: its checkpoint when first seen).
    pub fn file_seen(&self, path: &str, source: &str, size: u64, committed: u64) {
        let mut files = self.files.lock().expect("metrics lock");
        let e = files.entry(path.to_string()).or_insert_with(|| FileLag {
            source: source.to_string(),
            size,
            committed,
            caught_up: Instant::now(),
        });
        if e.committed >= e.size {
            e.caught_up = Instant::now();
        }
        e.size = size;
    }

    pub fn file_committed(&self, path: &str, offset: u64) {
        let mut files = self.files.lock().expect("metrics lock");
        if let Some(e) = files.get_mut(path) {
            e.committed = offset;
            if offset >= e.size {
                e.caught_up = Instant::now();
            }
        }
    }

    pub fn file_gone(&self, path: &str) {
        self.files.lock().expect("metrics lock").remove(path);
    }

    /// The case clocks' counts, as `legal::due::counts` gives them at scrape time.
    pub fn set_cases(&self, overdue: u64, due_soon: u64) {
        self.cases_overdue.set(overdue as i64);
        self.cases_due_soon.set(due_soon as i64);
    }

    /// The IPRED notices' counts, as `legal::notice::Counts` gives them at scrape time.
    pub fn set_notices(&self, due: u64, late: u64) {
        self.notices_due.set(due as i64);
        self.notices_late.set(late as i64);
    }

    /// The text exposition, with the state gauges brought up to date.
    pub fn render(&self, store: &crate::store::Store, ready: bool, now: i64) -> String {
        self.lag_bytes.clear();
        self.lag_seconds.clear();
        self.committed_offset.clear();
        for (path, f) in self.files.lock().expect("metrics lock").iter() {
            let labels = vec![("source", f.source.clone()), ("file", path.clone())];
            let behind = f.size.saturating_sub(f.committed);
            self.lag_bytes.get_or_create(&labels).set(behind as i64);
            self.committed_offset
                .get_or_create(&labels)
                .set(f.committed as i64);
            let secs = if behind > 0 {
                f.caught_up.elapsed().as_secs() as i64
            } else {
                0
            };
            self.lag_seconds.get_or_create(&labels).set(secs);
        }
        let days = store.partitions().unwrap_or_default();
        self.partitions.set(days.len() as i64);
        self.oldest_record_age
            .set(days.first().map(|d| (now - d * 86_400).max(0)).unwrap_or(0));
        self.store_bytes.set(store.disk_bytes() as i64);
        self.audit_entries_gauge
            .set(self.audit_entries.load(Ordering::Relaxed) as i64);
        self.ready_gauge.set(i64::from(ready));
        for (name, port) in self.udp_ports.lock().expect("metrics lock").iter() {
            if let Some(d) = kernel_udp_drops(*port) {
                self.udp_kernel_drops
                    .get_or_create(&vec![("listener", name.clone())])
                    .set(d as i64);
            }
        }
        let mut out = String::new();
        let r = self.registry.lock().expect("metrics lock");
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &r);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The kernel's drop count for UDP sockets bound to `port` (the last column of
/// /proc/net/udp and /proc/net/udp6).
fn kernel_udp_drops(port: u16) -> Option<u64> {
    let mut total = None;
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Some(d) = udp_drops_in(&text, port) {
                *total.get_or_insert(0) += d;
            }
        }
    }
    total
}

/// The summed `drops` column of the sockets bound to `port` in a /proc/net/udp table.
fn udp_drops_in(table: &str, port: u16) -> Option<u64> {
    let mut total = None;
    for line in table.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let Some((_, p)) = cols.get(1).and_then(|local| local.rsplit_once(':')) else {
            continue;
        };
        if u16::from_str_radix(p, 16).ok() != Some(port) {
            continue;
        }
        if let Some(d) = cols.last().and_then(|d| d.parse::<u64>().ok()) {
            *total.get_or_insert(0) += d;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_udp_drops_are_read_for_the_listener_port_only() {
        // /proc/net/udp as Linux 6.x prints it: port 5514 = 0x158A.
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  120: 0100007F:158A 00000000:0000 07 00000000 00034000 00:00000000 00000000     0        0 41312 2 0000000000000000 17
  121: 00000000:0202 00000000:0000 07 00000000 00000000 00:00000000 00000000     0        0 41313 2 0000000000000000 5
";
        assert_eq!(udp_drops_in(table, 5514), Some(17));
        assert_eq!(udp_drops_in(table, 514), Some(5));
        assert_eq!(udp_drops_in(table, 9999), None);
    }

    #[test]
    fn lag_is_what_is_seen_minus_what_is_committed() {
        let m = Metrics::new();
        m.file_seen("/var/log/a", "radius", 1000, 400);
        m.file_committed("/var/log/a", 900);
        let files = m.files.lock().unwrap();
        let f = &files["/var/log/a"];
        assert_eq!(f.size - f.committed, 100);
    }
}
