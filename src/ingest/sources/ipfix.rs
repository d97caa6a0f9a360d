//! IPFIX collector: NAT event records over UDP (RFC 7011 §10.3: one message a datagram,
//! IANA port 4739), parsed by [`crate::parse::format::ipfix`] and sent to the pipeline like
//! any other source's chunks.
//!
//! One parser per exporter transport session, which over UDP is the exporter's address and
//! port (RFC 7011 §10.3.1): its templates, per observation domain, and its sequence numbers.
//! At most `max_exporters` are held; a datagram from a new exporter beyond that evicts the
//! one idle longest, with its templates (counted in `tdr_ipfix_exporters_evicted_total`): its
//! next data sets are quarantined until it sends its templates again, as after a restart.
//!
//! Who may export is the listener's to say: a datagram from outside `allow` is dropped before
//! anything is parsed and counted (`tdr_ipfix_packets_total{outcome="not_allowed"}`), never
//! by address. A message that does not parse — a data set whose template is not known yet
//! included — goes to the quarantine whole, its origin `udp <listen> from exporter` (as for
//! syslog over UDP, the sender's address is not written there; it is kept with the bindings
//! it made, as evidence). Records the exporters numbered but that never arrived are counted
//! in `tdr_ipfix_lost_records_total`. UDP has no brake: what the kernel's receive buffer
//! cannot hold is dropped by the kernel and shown in `tdr_udp_kernel_drops`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc::Sender, watch};

use super::udp::{Datagram, UdpBatches};
use crate::config::IpfixSource;
use crate::ingest::frames::Chunk;
use crate::ingest::pipeline::{Input, ToCore};
use crate::ingest::Shared;
use crate::parse::format::ipfix::Ipfix;
use crate::parse::framing::Frame;
use crate::parse::Format;
use crate::telemetry::Metrics;

/// Binds a listener (before the daemon says it is ready: a port in use is a start failure).
pub async fn bind(src: &IpfixSource) -> Result<UdpSocket, String> {
    let s = UdpSocket::bind(src.listen)
        .await
        .map_err(|e| format!("ipfix {} (udp {}): {e}", src.name, src.listen))?;
    super::syslog::set_recv_buffer(std::os::fd::AsRawFd::as_raw_fd(&s), 8 << 20);
    Ok(s)
}

/// One exporter's parser and when it last sent.
struct Exporter {
    parser: Ipfix,
    last: Instant,
}

/// The metrics of one listener, looked up once.
struct Counters {
    parsed: Counter,
    rejected: Counter,
    not_allowed: Counter,
    records: Counter,
    lost: Counter,
    evicted: Counter,
    templates: Gauge,
    exporters: Gauge,
}

impl Counters {
    fn new(m: &Metrics, name: &str) -> Counters {
        let l = || vec![("listener", name.to_string())];
        let outcome = |o: &str| {
            m.ipfix_packets
                .get_or_create(&vec![
                    ("listener", name.to_string()),
                    ("outcome", o.to_string()),
                ])
                .clone()
        };
        Counters {
            parsed: outcome("parsed"),
            rejected: outcome("rejected"),
            not_allowed: outcome("not_allowed"),
            records: m.ipfix_records.get_or_create(&l()).clone(),
            lost: m.ipfix_lost_records.get_or_create(&l()).clone(),
            evicted: m.ipfix_exporters_evicted.get_or_create(&l()).clone(),
            templates: m.ipfix_templates.get_or_create(&l()).clone(),
            exporters: m.ipfix_exporters.get_or_create(&l()).clone(),
        }
    }
}

/// The exporters of one listener.
struct Exporters {
    src: Arc<IpfixSource>,
    map: HashMap<SocketAddr, Exporter>,
    c: Counters,
}

impl Exporters {
    /// The parser of `peer`, made (evicting the idlest exporter at the cap) when new.
    fn get(&mut self, peer: SocketAddr, now: i64) -> &mut Exporter {
        if !self.map.contains_key(&peer) && self.map.len() >= self.src.max_exporters {
            let idlest = self.map.iter().min_by_key(|(_, e)| e.last).map(|(a, _)| *a);
            if let Some(gone) = idlest.and_then(|a| self.map.remove(&a)) {
                self.c
                    .templates
                    .dec_by(gone.parser.templates_known() as i64);
                self.c.evicted.inc();
                tracing::info!(listener = %self.src.name, "IPFIX exporter evicted: max_exporters reached");
            }
        }
        let src = &self.src;
        let e = self.map.entry(peer).or_insert_with(|| Exporter {
            parser: Ipfix::new(&src.stream.context(&src.name, now)),
            last: Instant::now(),
        });
        e.last = Instant::now();
        self.c.exporters.set(self.map.len() as i64);
        self.map.get_mut(&peer).expect("just made")
    }

    /// Parses one datagram from `peer` into `chunk`.
    fn handle(&mut self, chunk: &mut Chunk, peer: SocketAddr, d: &[u8], offset: u64, now: i64) {
        let e = self.get(peer, now);
        let (templates, lost, records) = (
            e.parser.templates_known(),
            e.parser.lost_records(),
            e.parser.records_read(),
        );
        let before = chunk.items.len();
        chunk.push_frame(
            Format::Ipfix,
            &mut e.parser,
            Frame::Data(d),
            d,
            offset,
            offset + 1,
        );
        let rejected = chunk.items[before..]
            .iter()
            .any(|i| matches!(i.outcome, crate::ingest::frames::Outcome::Rejected(_)));
        let p = &e.parser;
        let (t, l, r) = (p.templates_known(), p.lost_records(), p.records_read());
        self.c.templates.inc_by(t as i64 - templates as i64);
        self.c.lost.inc_by(l - lost);
        self.c.records.inc_by(r - records);
        if rejected {
            self.c.rejected.inc();
        } else {
            self.c.parsed.inc();
        }
    }
}

/// Runs a bound listener until `stop` turns true.
pub async fn run(
    src: IpfixSource,
    sock: UdpSocket,
    shared: Arc<Shared>,
    tx: Sender<ToCore>,
    mut stop: watch::Receiver<bool>,
) {
    let src = Arc::new(src);
    let c = Counters::new(&shared.metrics, &src.name);
    c.exporters.set(0);
    let mut exporters = Exporters {
        src: src.clone(),
        map: HashMap::new(),
        c,
    };
    let origin: Arc<str> = Arc::from(format!("udp {} from exporter", src.listen).as_str());
    let source: Arc<str> = Arc::from(src.name.as_str());
    let stream_id: Arc<str> = Arc::from("ipfix-udp");
    // IPFIX messages are at most 65535 octets. Every event of a chunk has the chunk's
    // exporter: a datagram from another exporter starts the next chunk.
    let mut batches = UdpBatches::new(65_536);
    let mut seq = 0u64;
    while batches.wait(&sock, &mut stop).await {
        let mut chunk = Chunk::new();
        let read_at = Instant::now();
        let now = shared.clock.now();
        while !chunk.is_full() {
            match batches.next(&sock, |ip| src.allows(ip)) {
                None => break,
                Some(Datagram::Refused) => {
                    exporters.c.not_allowed.inc();
                }
                Some(Datagram::Data(peer, data)) => {
                    exporters.handle(&mut chunk, peer, data, seq, now);
                    seq += 1;
                }
                Some(Datagram::Failed(e)) => {
                    tracing::warn!(listener = %src.name, error = %e, "UDP receive failed");
                }
            }
        }
        if chunk.items.is_empty() {
            continue;
        }
        let input = Input {
            source: source.clone(),
            origin: origin.clone(),
            stream_id: stream_id.clone(),
            chunk,
            checkpoint: None,
            file_offset: None,
            read_at,
            place: None,
            peer: batches.sender(),
            on_commit: None,
        };
        if tx.send(ToCore::Data(input)).await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(max: usize) -> IpfixSource {
        IpfixSource {
            name: "cgn".into(),
            listen: "127.0.0.1:4739".parse().unwrap(),
            allow: crate::config::sources::loopback(),
            stream: crate::config::Stream::new(Format::Ipfix),
            max_exporters: max,
        }
    }

    /// A message of one template (VPP's NAT44 session layout).
    fn template_message() -> Vec<u8> {
        let mut t = vec![1u8, 0, 0, 8];
        for (ie, len) in [
            (323u16, 8u16),
            (230, 1),
            (8, 4),
            (225, 4),
            (4, 1),
            (7, 2),
            (227, 2),
            (234, 4),
        ] {
            t.extend(ie.to_be_bytes());
            t.extend(len.to_be_bytes());
        }
        let mut set = vec![0u8, 2];
        set.extend(((t.len() + 4) as u16).to_be_bytes());
        set.extend(t);
        let mut m = vec![0u8, 10];
        m.extend(((set.len() + 16) as u16).to_be_bytes());
        m.extend([0u8; 12]);
        m.extend(set);
        m
    }

    #[test]
    fn the_idlest_exporter_is_evicted_with_its_templates() {
        let metrics = Metrics::new();
        let mut ex = Exporters {
            src: Arc::new(source(2)),
            map: HashMap::new(),
            c: Counters::new(&metrics, "cgn"),
        };
        let mut chunk = Chunk::new();
        let m = template_message();
        for port in [1000, 1001, 1000, 1002] {
            let peer = SocketAddr::from(([127, 0, 0, 1], port));
            ex.handle(&mut chunk, peer, &m, 0, 0);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        // 1001 was idle longest when 1002 came.
        assert_eq!(ex.map.len(), 2);
        assert!(!ex
            .map
            .contains_key(&SocketAddr::from(([127, 0, 0, 1], 1001))));
        assert_eq!(ex.c.evicted.get(), 1);
        assert_eq!(
            ex.c.templates.get(),
            2,
            "the evicted exporter's template is gone"
        );
        assert_eq!(ex.c.exporters.get(), 2);
        assert_eq!(ex.c.parsed.get(), 4);
        // A message that does not parse is counted as rejected.
        ex.handle(
            &mut chunk,
            SocketAddr::from(([127, 0, 0, 1], 1000)),
            b"xx",
            0,
            0,
        );
        assert_eq!(ex.c.rejected.get(), 1);
    }
}
