//! What `tdr serve` reads and where it listens: `[serve]`, `[[file]]`, `[[syslog]]` and
//! `[[ipfix]]`. Validated with the rest of the file, every problem named at once.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;

use crate::model::Class;
use crate::parse::{Context, Format, NatEventValues, Tz};

/// How a stream's records are read: the format, and what the parser is told about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    pub format: Format,
    pub class: Class,
    pub tz: Option<Tz>,
    pub template: Option<String>,
    pub lease_time: Option<u32>,
    pub timestamp_format: Option<String>,
    /// ipfix: the exporter's numbering of natEvent (`nat_event_values`).
    pub nat_event_values: NatEventValues,
}

impl Stream {
    pub fn new(format: Format) -> Stream {
        Stream {
            format,
            class: Class::Security,
            tz: None,
            template: None,
            lease_time: None,
            timestamp_format: None,
            nat_event_values: NatEventValues::default(),
        }
    }

    /// The parser context for a stream of source `source`, with `reference` as the time no
    /// record is later than.
    pub fn context(&self, source: &str, reference: i64) -> Context {
        let mut c = Context::new(source, reference);
        c.class = self.class;
        c.tz = self.tz;
        c.template = self.template.clone();
        c.lease_time = self.lease_time;
        c.timestamp_format = self.timestamp_format.clone();
        c.nat_event_values = self.nat_event_values;
        c
    }
}

/// A `[[file]]` source: files matching a glob, followed as they grow and rotate.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSource {
    pub name: String,
    /// A glob (`/var/log/freeradius/radacct/*/detail-*`). Rotated names (`detail-*.gz`,
    /// `messages.1`) should match too, so what was written just before a rotation is read.
    pub path: String,
    pub stream: Stream,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    /// `client_ca`: the CA file a sender's client certificate must chain to; `None` only when
    /// the listener says `client_auth = "none"` (any client that completes the handshake).
    Tls {
        cert: PathBuf,
        key: PathBuf,
        client_ca: Option<PathBuf>,
    },
}

impl Transport {
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls { .. } => "tls",
        }
    }
}

/// A `[[syslog]]` listener. TCP and TLS accept both RFC 6587 framings (octet counting and
/// LF) per message.
#[derive(Debug, Clone, PartialEq)]
pub struct SyslogSource {
    pub name: String,
    pub listen: SocketAddr,
    pub transport: Transport,
    /// The body format of messages whose program has no entry in `programs`; `None` =
    /// such messages are quarantined (`syslog.unknown_program`).
    pub format: Option<Format>,
    /// Program tag (RFC 3164 TAG / RFC 5424 APP-NAME) → format.
    pub programs: Vec<(String, Format)>,
    /// Class, time zone and format options shared by every format of the listener.
    pub stream: Stream,
    /// The networks a sender may be in (`allow`); anything else is dropped before parsing.
    /// Default: loopback only.
    pub allow: Vec<IpNet>,
    /// Timeouts and caps of TCP/TLS connections.
    pub limits: Limits,
}

/// A TCP/TLS listener's bounds: how long a handshake and an idle connection may take, how
/// many connections it holds at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `handshake_timeout_secs`: a TLS handshake not done by then is dropped.
    pub handshake_timeout_secs: u64,
    /// `idle_timeout_secs`: a connection that sends nothing for this long is closed.
    pub idle_timeout_secs: u64,
    /// `max_connections`: connections beyond this are closed on accept.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            handshake_timeout_secs: 10,
            idle_timeout_secs: 300,
            max_connections: 256,
        }
    }
}

/// An `[[ipfix]]` listener: IPFIX NAT event records over UDP (RFC 7011 §10.3), one parser
/// per exporter (address and port).
#[derive(Debug, Clone, PartialEq)]
pub struct IpfixSource {
    pub name: String,
    /// The UDP address it listens on (IANA's IPFIX port is 4739).
    pub listen: SocketAddr,
    /// The networks an exporter may be in; anything else is dropped before parsing.
    /// Default: loopback only.
    pub allow: Vec<IpNet>,
    /// Class and natEvent numbering of its records (format `ipfix`).
    pub stream: Stream,
    /// `max_exporters`: exporters (address and port) whose templates are held at once; a new
    /// one beyond it evicts the one idle longest.
    pub max_exporters: usize,
}

impl IpfixSource {
    /// Whether an exporter at `peer` may send to this listener (an IPv4-mapped IPv6 address
    /// is taken as the IPv4 address it carries).
    pub fn allows(&self, peer: std::net::IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.allow.iter().any(|n| n.contains(&peer))
    }
}

/// The senders a listener accepts without an `allow` key: this host only.
pub fn loopback() -> Vec<IpNet> {
    vec![
        "127.0.0.0/8".parse().expect("literal"),
        "::1/128".parse().expect("literal"),
    ]
}

impl SyslogSource {
    /// Whether a sender at `peer` may send to this listener (an IPv4-mapped IPv6 address is
    /// taken as the IPv4 address it carries).
    pub fn allows(&self, peer: std::net::IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.allow.iter().any(|n| n.contains(&peer))
    }

    /// The format of a message from `program`.
    pub fn format_of(&self, program: Option<&str>) -> Option<Format> {
        program
            .and_then(|p| {
                self.programs
                    .iter()
                    .find(|(name, _)| name == p)
                    .map(|(_, f)| *f)
            })
            .or(self.format)
    }

    /// Every format this listener may parse.
    pub fn formats(&self) -> BTreeSet<&'static str> {
        self.programs
            .iter()
            .map(|(_, f)| f.name())
            .chain(self.format.map(|f| f.name()))
            .collect()
    }
}

/// `[serve]`: the daemon's own settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Serve {
    /// `/metrics` and `/health`.
    pub http_listen: SocketAddr,
    /// The spool folder: files dropped here are read like a file source (`events` format at
    /// the top, `<format>/` subfolders in that format). `None` = no spool.
    pub spool: Option<PathBuf>,
    /// How often files are checked when no change notification came (and the only check when
    /// notifications are unavailable).
    pub poll_interval_ms: u64,
    /// The longest an event waits before the batch holding it is committed.
    pub flush_interval_ms: u64,
    /// How often expired partitions are dropped.
    pub retention_interval_secs: u64,
    /// HTTPS for the API, `/metrics` and `/health`: PEM certificate chain and key. Without
    /// them the listener speaks plain HTTP, which is allowed on a loopback address only.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The operator's name as disclosure reports give it (the CSP id).
    pub operator: String,
    /// The Unix socket the CLI talks to the daemon over. `None`: `<data_dir>/run/tdr.sock`
    /// (see [`Config::socket_path`](super::Config::socket_path)).
    pub socket: Option<PathBuf>,
    /// The group the socket is given (0660): the people who use the command line.
    pub socket_group: Option<String>,
    /// How long a client may take to send a request's headers.
    pub http_header_timeout_secs: u64,
    /// How long a connection may stay open with nothing sent either way.
    pub http_idle_timeout_secs: u64,
    /// At most this many HTTP connections at once per listener; more wait to be accepted.
    pub http_max_connections: u64,
    /// A desk session unused this long is signed out.
    pub desk_idle_timeout_secs: u64,
}

impl Serve {
    pub fn defaults() -> Serve {
        Serve {
            http_listen: "127.0.0.1:9514".parse().expect("literal"),
            spool: None,
            poll_interval_ms: 1000,
            flush_interval_ms: 200,
            retention_interval_secs: 3600,
            tls: None,
            operator: "Junet AB".into(),
            socket: None,
            socket_group: None,
            http_header_timeout_secs: 10,
            http_idle_timeout_secs: 60,
            http_max_connections: 256,
            desk_idle_timeout_secs: 15 * 60,
        }
    }
}

/// The listeners `tdr serve` opens without a configuration file: syslog on 127.0.0.1:5514,
/// UDP and TCP, from this host only, reading the NAT formats that carry their own time zone.
/// Never `events`: tdr's own format names its records' facts, so a listener must ask for it.
pub fn default_syslog() -> Vec<SyslogSource> {
    [Transport::Udp, Transport::Tcp]
        .into_iter()
        .map(|transport| SyslogSource {
            name: format!("syslog-{}", transport.name()),
            listen: "127.0.0.1:5514".parse().expect("literal"),
            transport,
            format: None,
            programs: default_programs(),
            stream: Stream::new(Format::VppNat),
            allow: loopback(),
            limits: Limits::default(),
        })
        .collect()
}

fn default_programs() -> Vec<(String, Format)> {
    vec![
        ("NAT".into(), Format::VppNat),
        ("kernel".into(), Format::Jool),
    ]
}

type Table = toml::Table;

/// What `tdr serve` reads: its own settings and every source.
pub(super) struct Sources {
    pub serve: Serve,
    pub files: Vec<FileSource>,
    pub syslog: Vec<SyslogSource>,
    pub ipfix: Vec<IpfixSource>,
    pub radius: Vec<super::RadiusSource>,
}

/// Reads `[serve]`, `[[file]]`, `[[syslog]]`, `[[ipfix]]` and `[[radius]]` from `table`, adding every
/// problem to `errs`. `zone` is `ingest.local_timezone`, the default zone of every stream.
pub(super) fn parse(
    table: &Table,
    zone: Option<Tz>,
    data_dir: &std::path::Path,
    errs: &mut Vec<String>,
) -> Sources {
    let mut serve = Serve::defaults();
    let mut spool = Some(data_dir.join("incoming"));
    if let Some(t) = table_of(table, "serve", errs) {
        check_keys(
            t,
            "serve",
            &[
                "http_listen",
                "spool",
                "poll_interval_ms",
                "flush_interval_ms",
                "retention_interval_secs",
                "tls_cert",
                "tls_key",
                "operator",
                "socket",
                "socket_group",
                "http_header_timeout_secs",
                "http_idle_timeout_secs",
                "http_max_connections",
                "desk_idle_timeout_secs",
            ],
            errs,
        );
        let readable = |key: &str, errs: &mut Vec<String>| -> Option<PathBuf> {
            match t.get(key) {
                None => None,
                Some(toml::Value::String(p)) => match std::fs::File::open(p) {
                    Ok(_) => Some(PathBuf::from(p)),
                    Err(e) => {
                        errs.push(format!("`serve.{key}`: cannot read {p}: {e}"));
                        None
                    }
                },
                Some(_) => {
                    errs.push(format!("`serve.{key}` must be the path of a PEM file"));
                    None
                }
            }
        };
        let cert = readable("tls_cert", errs);
        let key = readable("tls_key", errs);
        match (t.contains_key("tls_cert"), t.contains_key("tls_key")) {
            (true, false) => {
                errs.push("`serve.tls_key` is missing: `serve.tls_cert` needs it".into())
            }
            (false, true) => {
                errs.push("`serve.tls_cert` is missing: `serve.tls_key` needs it".into())
            }
            _ => {}
        }
        serve.tls = cert.zip(key);
        if let Some(v) = t.get("operator") {
            match v.as_str().map(str::trim) {
                Some(s) if !s.is_empty() => serve.operator = s.to_string(),
                _ => errs.push("`serve.operator` must be the operator's name".into()),
            }
        }
        if let Some(v) = t.get("http_listen") {
            match v.as_str().and_then(|s| s.parse().ok()) {
                Some(a) => serve.http_listen = a,
                None => errs.push(
                    "`serve.http_listen` must be an address and port like \"127.0.0.1:9514\""
                        .into(),
                ),
            }
        }
        if let Some(v) = t.get("socket") {
            match v.as_str() {
                Some(s) if !s.is_empty() && s.len() < 100 => serve.socket = Some(PathBuf::from(s)),
                _ => errs.push(
                    "`serve.socket` must be the path of a Unix socket (under 100 bytes)".into(),
                ),
            }
        }
        if let Some(v) = t.get("socket_group") {
            match v.as_str() {
                Some(s) if !s.is_empty() => serve.socket_group = Some(s.to_string()),
                _ => errs.push("`serve.socket_group` must be a group name".into()),
            }
        }
        if let Some(v) = t.get("spool") {
            match v {
                toml::Value::String(s) if s.is_empty() => spool = None,
                toml::Value::String(s) => spool = Some(PathBuf::from(s)),
                toml::Value::Boolean(false) => spool = None,
                _ => errs.push("`serve.spool` must be a folder path, or false for none".into()),
            }
        }
        for (key, slot, min, max) in [
            ("poll_interval_ms", &mut serve.poll_interval_ms, 10, 60_000),
            ("flush_interval_ms", &mut serve.flush_interval_ms, 1, 10_000),
            (
                "retention_interval_secs",
                &mut serve.retention_interval_secs,
                60,
                86_400,
            ),
            (
                "http_header_timeout_secs",
                &mut serve.http_header_timeout_secs,
                1,
                300,
            ),
            (
                "http_idle_timeout_secs",
                &mut serve.http_idle_timeout_secs,
                1,
                3600,
            ),
            (
                "http_max_connections",
                &mut serve.http_max_connections,
                1,
                65_536,
            ),
            (
                "desk_idle_timeout_secs",
                &mut serve.desk_idle_timeout_secs,
                60,
                8 * 3600,
            ),
        ] {
            if let Some(v) = t.get(key) {
                match v.as_integer() {
                    Some(n) if (min as i64..=max as i64).contains(&n) => *slot = n as u64,
                    _ => errs.push(format!(
                        "`serve.{key}` must be an integer from {min} to {max}"
                    )),
                }
            }
        }
    }
    serve.spool = spool;
    let tls_asked =
        matches!(table.get("serve"), Some(toml::Value::Table(t)) if t.contains_key("tls_cert"));
    if !serve.http_listen.ip().is_loopback() && !tls_asked {
        errs.push(format!(
            "`serve.http_listen` {} is not a loopback address: plain HTTP is refused there; \
             set `serve.tls_cert` and `serve.tls_key` for HTTPS",
            serve.http_listen
        ));
    }

    let mut names = BTreeSet::new();
    if !table.contains_key("syslog") {
        // The default listeners keep their names: no source may take one of them.
        names.extend(default_syslog().into_iter().map(|s| s.name));
    }
    let mut files = Vec::new();
    for (i, t) in array_of(table, "file", errs).into_iter().enumerate() {
        let at = format!("file[{i}]");
        check_keys(
            t,
            &at,
            &[
                "name",
                "path",
                "format",
                "timezone",
                "class",
                "template",
                "lease_time",
                "timestamp_format",
                "nat_event_values",
            ],
            errs,
        );
        let name = source_name(t, &at, &mut names, errs);
        let path = match t.get("path").map(|v| v.as_str()) {
            None => {
                errs.push(format!(
                    "`{at}.path` is missing: a glob like \"/var/log/radius/detail-*\""
                ));
                None
            }
            Some(Some(p)) if glob::Pattern::new(p).is_ok() && !p.is_empty() => Some(p.to_string()),
            Some(_) => {
                errs.push(format!("`{at}.path` is not a valid glob pattern"));
                None
            }
        };
        let format = format_key(t, "format", &at, true, errs);
        let stream = format.and_then(|f| stream_of(t, f, &at, zone, errs));
        if let (Some(name), Some(path), Some(stream)) = (name, path, stream) {
            files.push(FileSource { name, path, stream });
        }
    }

    let mut syslog = default_syslog();
    if table.contains_key("syslog") {
        syslog.clear();
    }
    let mut listens = BTreeSet::new();
    for (i, t) in array_of(table, "syslog", errs).into_iter().enumerate() {
        let at = format!("syslog[{i}]");
        check_keys(
            t,
            &at,
            &[
                "name",
                "listen",
                "transport",
                "format",
                "programs",
                "timezone",
                "class",
                "template",
                "lease_time",
                "timestamp_format",
                "tls_cert",
                "tls_key",
                "client_ca",
                "client_auth",
                "allow",
                "handshake_timeout_secs",
                "idle_timeout_secs",
                "max_connections",
            ],
            errs,
        );
        let name = source_name(t, &at, &mut names, errs);
        let allow = allow_of(t, &at, errs);
        let limits = limits_of(t, &at, errs);
        let listen = match t
            .get("listen")
            .map(|v| v.as_str().and_then(|s| s.parse::<SocketAddr>().ok()))
        {
            None => {
                errs.push(format!(
                    "`{at}.listen` is missing: an address and port like \"0.0.0.0:514\""
                ));
                None
            }
            Some(None) => {
                errs.push(format!(
                    "`{at}.listen` must be an address and port like \"0.0.0.0:514\""
                ));
                None
            }
            Some(Some(a)) => Some(a),
        };
        let transport = match t.get("transport").map(|v| v.as_str()) {
            None | Some(Some("udp")) => Some(Transport::Udp),
            Some(Some("tcp")) => Some(Transport::Tcp),
            Some(Some("tls")) => {
                let mut file = |key: &str| tls_file(t, &at, key, errs);
                let cert = file("tls_cert");
                let key = file("tls_key");
                let client_ca = match (t.get("client_ca"), t.get("client_auth")) {
                    (Some(_), Some(_)) => {
                        errs.push(format!(
                            "`{at}`: `client_ca` and `client_auth` exclude each other"
                        ));
                        None
                    }
                    (Some(_), None) => file("client_ca").map(Some),
                    (None, Some(v)) if v.as_str() == Some("none") => Some(None),
                    (None, Some(_)) => {
                        errs.push(format!(
                            "`{at}.client_auth` can only be \"none\" (set `client_ca` to \
                             require client certificates)"
                        ));
                        None
                    }
                    (None, None) => {
                        errs.push(format!(
                            "`{at}.client_ca` is missing: a TLS listener requires client \
                             certificates signed by this CA (or says `client_auth = \"none\"`)"
                        ));
                        None
                    }
                };
                match (cert, key, client_ca) {
                    (Some(cert), Some(key), Some(client_ca)) => Some(Transport::Tls {
                        cert,
                        key,
                        client_ca,
                    }),
                    _ => None,
                }
            }
            Some(_) => {
                errs.push(format!(
                    "`{at}.transport` must be \"udp\", \"tcp\" or \"tls\""
                ));
                None
            }
        };
        if let Some(Transport::Udp | Transport::Tcp) = &transport {
            for key in ["tls_cert", "tls_key", "client_ca", "client_auth"] {
                if t.contains_key(key) {
                    errs.push(format!("`{at}.{key}` is only for transport \"tls\""));
                }
            }
        }
        if let (Some(l), Some(tr)) = (listen, &transport) {
            let udp = matches!(tr, Transport::Udp);
            if !listens.insert((l, udp)) {
                errs.push(format!(
                    "`{at}.listen`: {l} is already used by another {} listener",
                    if udp { "UDP" } else { "TCP/TLS" }
                ));
            }
        }
        let errs_before_format = errs.len();
        let format = format_key(t, "format", &at, false, errs);
        let mut programs = Vec::new();
        match t.get("programs") {
            None => {}
            Some(toml::Value::Table(p)) => {
                for (prog, v) in p {
                    match v.as_str().and_then(Format::from_name) {
                        Some(f) => programs.push((prog.clone(), f)),
                        None => errs.push(format!(
                            "`{at}.programs.{prog}` is not a format (one of: {})",
                            format_names()
                        )),
                    }
                }
            }
            Some(_) => errs.push(format!(
                "`{at}.programs` must be a table of program = \"format\""
            )),
        }
        if format == Some(Format::Ipfix) || programs.iter().any(|(_, f)| *f == Format::Ipfix) {
            errs.push(format!(
                "`{at}`: format ipfix is binary IPFIX, not syslog: use an [[ipfix]] listener"
            ));
        }
        // Unless a bad `format` or `programs` was already named: `programs = {}` alone
        // must not drop the listener silently.
        if format.is_none() && programs.is_empty() && errs.len() == errs_before_format {
            errs.push(format!(
                "`{at}` needs `format` (the message body format) or `programs` (format per program tag)"
            ));
        }
        // Every format the listener may use must be able to run with its options.
        let mut stream = None;
        for f in format.into_iter().chain(programs.iter().map(|(_, f)| *f)) {
            match stream_of(t, f, &at, zone, errs) {
                Some(s) if stream.is_none() => stream = Some(s),
                Some(_) => {}
                None => {
                    stream = None;
                    break;
                }
            }
        }
        if let (Some(name), Some(listen), Some(transport), Some(stream)) =
            (name, listen, transport, stream)
        {
            syslog.push(SyslogSource {
                name,
                listen,
                transport,
                format,
                programs,
                stream,
                allow,
                limits,
            });
        }
    }
    let ipfix = ipfix_sources(table, zone, &mut names, &listens, errs);
    let radius = super::radius::parse(table, &mut names, errs);
    Sources {
        serve,
        files,
        syslog,
        ipfix,
        radius,
    }
}

/// `[[ipfix]]`: UDP listeners for IPFIX NAT event records.
fn ipfix_sources(
    table: &Table,
    zone: Option<Tz>,
    names: &mut BTreeSet<String>,
    syslog_listens: &BTreeSet<(SocketAddr, bool)>,
    errs: &mut Vec<String>,
) -> Vec<IpfixSource> {
    let mut out = Vec::new();
    let mut listens = BTreeSet::new();
    for (i, t) in array_of(table, "ipfix", errs).into_iter().enumerate() {
        let at = format!("ipfix[{i}]");
        check_keys(
            t,
            &at,
            &[
                "name",
                "listen",
                "allow",
                "class",
                "nat_event_values",
                "max_exporters",
            ],
            errs,
        );
        let name = source_name(t, &at, names, errs);
        let allow = allow_of(t, &at, errs);
        let listen = match t
            .get("listen")
            .map(|v| v.as_str().and_then(|s| s.parse::<SocketAddr>().ok()))
        {
            None => {
                errs.push(format!(
                    "`{at}.listen` is missing: a UDP address and port like \"0.0.0.0:4739\""
                ));
                None
            }
            Some(None) => {
                errs.push(format!(
                    "`{at}.listen` must be a UDP address and port like \"0.0.0.0:4739\""
                ));
                None
            }
            Some(Some(a)) => {
                if syslog_listens.contains(&(a, true)) || !listens.insert(a) {
                    errs.push(format!(
                        "`{at}.listen`: {a} is already used by another UDP listener"
                    ));
                }
                Some(a)
            }
        };
        let mut max_exporters = 64;
        if let Some(v) = t.get("max_exporters") {
            match v.as_integer() {
                Some(n) if (1..=4096).contains(&n) => max_exporters = n as usize,
                _ => errs.push(format!(
                    "`{at}.max_exporters` must be an integer from 1 to 4096"
                )),
            }
        }
        let stream = stream_of(t, Format::Ipfix, &at, zone, errs);
        if let (Some(name), Some(listen), Some(stream)) = (name, listen, stream) {
            out.push(IpfixSource {
                name,
                listen,
                allow,
                stream,
                max_exporters,
            });
        }
    }
    out
}

/// `allow`: the networks senders may be in (default: loopback only).
fn allow_of(t: &Table, at: &str, errs: &mut Vec<String>) -> Vec<IpNet> {
    let Some(v) = t.get("allow") else {
        return loopback();
    };
    let Some(items) = v.as_array() else {
        errs.push(format!(
            "`{at}.allow` must be a list of CIDR prefixes like [\"10.0.0.0/8\"]"
        ));
        return Vec::new();
    };
    let mut nets = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str().and_then(|s| s.parse::<IpNet>().ok()) {
            Some(n) => nets.push(n.trunc()),
            None => errs.push(format!(
                "`{at}.allow[{i}]` is not a CIDR prefix like \"10.0.0.0/8\""
            )),
        }
    }
    if items.is_empty() {
        errs.push(format!(
            "`{at}.allow` is empty: no sender could reach the listener (remove it instead)"
        ));
    }
    nets
}

/// `handshake_timeout_secs`, `idle_timeout_secs`, `max_connections`.
fn limits_of(t: &Table, at: &str, errs: &mut Vec<String>) -> Limits {
    let mut l = Limits::default();
    let mut max = l.max_connections as u64;
    for (key, slot, min, top) in [
        (
            "handshake_timeout_secs",
            &mut l.handshake_timeout_secs,
            1,
            300,
        ),
        ("idle_timeout_secs", &mut l.idle_timeout_secs, 1, 86_400),
        ("max_connections", &mut max, 1, 65_536),
    ] {
        if let Some(v) = t.get(key) {
            match v.as_integer() {
                Some(n) if (min..=top).contains(&n) => *slot = n as u64,
                _ => errs.push(format!(
                    "`{at}.{key}` must be an integer from {min} to {top}"
                )),
            }
        }
    }
    l.max_connections = max as usize;
    l
}

fn format_names() -> String {
    Format::ALL.map(|f| f.name()).join(", ")
}

fn table_of<'a>(table: &'a Table, key: &str, errs: &mut Vec<String>) -> Option<&'a Table> {
    match table.get(key) {
        None => None,
        Some(toml::Value::Table(t)) => Some(t),
        Some(_) => {
            errs.push(format!("`{key}` must be a table ([{key}])"));
            None
        }
    }
}

pub(super) fn array_of<'a>(table: &'a Table, key: &str, errs: &mut Vec<String>) -> Vec<&'a Table> {
    match table.get(key) {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, v) in items.iter().enumerate() {
                match v {
                    toml::Value::Table(t) => out.push(t),
                    _ => errs.push(format!("`{key}[{i}]` must be a table ([[{key}]])")),
                }
            }
            out
        }
        Some(_) => {
            errs.push(format!("`{key}` must be a list of tables ([[{key}]])"));
            Vec::new()
        }
    }
}

/// A listener's PEM file `key` (transport "tls"): its path when it can be opened; otherwise
/// the problem is named.
pub(super) fn tls_file(t: &Table, at: &str, key: &str, errs: &mut Vec<String>) -> Option<PathBuf> {
    match t.get(key).and_then(|v| v.as_str()) {
        None => {
            errs.push(format!(
                "`{at}.{key}` is missing: transport \"tls\" needs a PEM file"
            ));
            None
        }
        Some(p) => match std::fs::File::open(p) {
            Ok(_) => Some(PathBuf::from(p)),
            Err(e) => {
                errs.push(format!("`{at}.{key}`: cannot read {p}: {e}"));
                None
            }
        },
    }
}

pub(super) fn check_keys(t: &Table, at: &str, allowed: &[&str], errs: &mut Vec<String>) {
    for k in t.keys() {
        if !allowed.contains(&k.as_str()) {
            errs.push(format!("unknown key `{at}.{k}`"));
        }
    }
}

pub(super) fn source_name(
    t: &Table,
    at: &str,
    names: &mut BTreeSet<String>,
    errs: &mut Vec<String>,
) -> Option<String> {
    match t.get("name").map(|v| v.as_str()) {
        None => {
            errs.push(format!("`{at}.name` is missing: every source needs a name"));
            None
        }
        Some(Some(n))
            if !n.is_empty()
                && n.len() <= 64
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') =>
        {
            if names.insert(n.to_string()) {
                Some(n.to_string())
            } else {
                errs.push(format!(
                    "`{at}.name`: the name {n:?} is used by another source"
                ));
                None
            }
        }
        Some(_) => {
            errs.push(format!(
                "`{at}.name` must be 1 to 64 letters, digits, '-', '_' or '.'"
            ));
            None
        }
    }
}

fn format_key(
    t: &Table,
    key: &str,
    at: &str,
    required: bool,
    errs: &mut Vec<String>,
) -> Option<Format> {
    match t.get(key) {
        None => {
            if required {
                errs.push(format!(
                    "`{at}.{key}` is missing (one of: {})",
                    format_names()
                ));
            }
            None
        }
        Some(v) => match v.as_str().and_then(Format::from_name) {
            Some(f) => Some(f),
            None => {
                errs.push(format!(
                    "`{at}.{key}` is not a format (one of: {})",
                    format_names()
                ));
                None
            }
        },
    }
}

/// The stream options of table `t` for `format`; `None` (with the problems added) when they
/// cannot run it.
fn stream_of(
    t: &Table,
    format: Format,
    at: &str,
    zone: Option<Tz>,
    errs: &mut Vec<String>,
) -> Option<Stream> {
    let before = errs.len();
    let mut s = Stream::new(format);
    s.tz = zone;
    if let Some(v) = t.get("timezone") {
        match v.as_str().and_then(|z| z.parse::<Tz>().ok()) {
            Some(z) => s.tz = Some(z),
            None => errs.push(format!(
                "`{at}.timezone` must be an IANA time zone name like \"Europe/Stockholm\""
            )),
        }
    }
    if let Some(v) = t.get("class") {
        match v.as_str().and_then(Class::parse) {
            Some(c) => s.class = c,
            None => errs.push(format!(
                "`{at}.class` must be \"security\", \"billing\" or \"statutory\""
            )),
        }
    }
    if let Some(v) = t.get("template") {
        match v.as_str() {
            Some(x) => s.template = Some(x.to_string()),
            None => errs.push(format!("`{at}.template` must be a string")),
        }
    }
    if let Some(v) = t.get("timestamp_format") {
        match v.as_str() {
            Some(x) => s.timestamp_format = Some(x.to_string()),
            None => errs.push(format!("`{at}.timestamp_format` must be a string")),
        }
    }
    if let Some(v) = t.get("lease_time") {
        match v.as_integer() {
            Some(n) if (1..=i64::from(u32::MAX)).contains(&n) => s.lease_time = Some(n as u32),
            _ => errs.push(format!(
                "`{at}.lease_time` must be a positive number of seconds"
            )),
        }
    }
    if let Some(v) = t.get("nat_event_values") {
        let names = NatEventValues::ALL
            .map(NatEventValues::name)
            .join("\" or \"");
        match v.as_str().and_then(NatEventValues::from_name) {
            Some(_) if format != Format::Ipfix => {
                errs.push(format!("`{at}.nat_event_values` is only for format ipfix"))
            }
            Some(n) => s.nat_event_values = n,
            None => errs.push(format!(
                "`{at}.nat_event_values` must be \"{names}\" (Junos writes draft-02's numbers)"
            )),
        }
    }
    if errs.len() > before {
        return None;
    }
    if let Err(e) = crate::parse::parser(format, &s.context("check", 0)) {
        let why = match e {
            crate::parse::SetupError::NeedsTz(f) => format!(
                "format {f} writes local times without a zone: set `{at}.timezone` or \
                 `ingest.local_timezone`"
            ),
            crate::parse::SetupError::Invalid(m) => m,
        };
        errs.push(format!("`{at}`: {why}"));
        return None;
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Period};

    /// Every problem `text` has (the test fails if it parses).
    fn problems(text: &str) -> Vec<String> {
        match Config::parse(text) {
            Ok(_) => panic!("parsed without a problem:\n{text}"),
            Err(e) => e.0,
        }
    }

    /// The one problem `text` has.
    fn problem(text: &str) -> String {
        let p = problems(text);
        assert_eq!(p.len(), 1, "expected one problem, got {p:#?}");
        p.into_iter().next().expect("one")
    }

    fn ok(text: &str) -> Config {
        Config::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    const FORMATS: &str = "one of: events, radius-detail, dhcpd-syslog, dhcpd-leases, \
        kea-legal, kea-leases, juniper-nat, junos-ngs-nat, nfdump-nat, vpp-nat, jool, asterisk-cdr, freeswitch-cdr, kea-log, \
        mikrotik-dhcp, accel-ppp, ipfix";

    #[test]
    fn file_and_syslog_sources_are_read_with_their_options() {
        let c = ok(r#"
[[file]]
name = "bng1.radius"
path = "/var/log/freeradius/radacct/*/detail-*"
format = "radius-detail"
class = "billing"
timezone = "UTC"
[[file]]
name = "voip"
path = "/var/log/freeswitch/cdr-csv/*.csv"
format = "freeswitch-cdr"
class = "statutory"
timezone = "Europe/Stockholm"
template = "example"
[[syslog]]
name = "dhcp"
listen = "[::]:514"
programs = { dhcpd = "dhcpd-syslog" }
format = "events"
timezone = "Europe/Stockholm"
lease_time = 3600
"#);
        assert_eq!(c.files.len(), 2);
        let f = &c.files[0];
        assert_eq!(
            (f.name.as_str(), f.path.as_str()),
            ("bng1.radius", "/var/log/freeradius/radacct/*/detail-*")
        );
        assert_eq!(f.stream.format, Format::RadiusDetail);
        assert_eq!(f.stream.class, Class::Billing);
        assert_eq!(f.stream.tz, Some(Tz::UTC));
        let f = &c.files[1];
        assert_eq!(f.stream.class, Class::Statutory);
        assert_eq!(f.stream.template.as_deref(), Some("example"));
        assert_eq!(c.syslog.len(), 1);
        let s = &c.syslog[0];
        assert_eq!(s.listen, "[::]:514".parse::<SocketAddr>().unwrap());
        assert_eq!(s.transport, Transport::Udp, "udp is the default transport");
        assert_eq!(s.format_of(Some("dhcpd")), Some(Format::DhcpdSyslog));
        assert_eq!(s.format_of(Some("sshd")), Some(Format::Events));
        assert_eq!(s.format_of(None), Some(Format::Events));
        assert_eq!(s.stream.lease_time, Some(3600));
        assert_eq!(s.stream.tz, Some(Tz::Europe__Stockholm));
        assert_eq!(
            s.formats().into_iter().collect::<Vec<_>>(),
            ["dhcpd-syslog", "events"]
        );
    }

    #[test]
    fn an_unknown_key_in_serve_file_or_syslog_is_named() {
        assert_eq!(
            problem("[serve]\nhttp_port = 9514"),
            "unknown key `serve.http_port`"
        );
        assert_eq!(
            problem(
                "[[file]]\nname = \"r\"\npath = \"/var/log/r\"\nformat = \"events\"\nglob = \"x\""
            ),
            "unknown key `file[0].glob`"
        );
        assert_eq!(
            problem(
                "[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:514\"\nformat = \"events\"\nport = 514"
            ),
            "unknown key `syslog[0].port`"
        );
    }

    #[test]
    fn a_file_source_without_name_path_or_format_is_refused() {
        let p = problems("[[file]]\nclass = \"security\"");
        assert_eq!(
            p,
            [
                "`file[0].name` is missing: every source needs a name".to_string(),
                "`file[0].path` is missing: a glob like \"/var/log/radius/detail-*\"".into(),
                format!("`file[0].format` is missing ({FORMATS})"),
            ]
        );
    }

    #[test]
    fn a_bad_source_name_is_refused() {
        for bad in [
            "\"\"",
            "\"bng 1\"",
            "\"a/b\"",
            "7",
            format!("\"{}\"", "x".repeat(65)).as_str(),
        ] {
            assert_eq!(
                problem(&format!(
                    "[[file]]\nname = {bad}\npath = \"/var/log/r\"\nformat = \"events\""
                )),
                "`file[0].name` must be 1 to 64 letters, digits, '-', '_' or '.'",
                "name {bad}"
            );
        }
        ok(&format!(
            "[[file]]\nname = \"{}\"\npath = \"/var/log/r\"\nformat = \"events\"",
            "x".repeat(64)
        ));
    }

    #[test]
    fn two_sources_cannot_share_a_name() {
        let text = r#"
[[file]]
name = "radius"
path = "/var/log/a"
format = "events"
[[file]]
name = "radius"
path = "/var/log/b"
format = "events"
[[syslog]]
name = "radius"
listen = "0.0.0.0:514"
format = "events"
"#;
        assert_eq!(
            problems(text),
            [
                "`file[1].name`: the name \"radius\" is used by another source",
                "`syslog[0].name`: the name \"radius\" is used by another source",
            ]
        );
    }

    #[test]
    fn a_source_cannot_take_the_name_of_a_default_listener() {
        let file = "[[file]]\nname = \"syslog-udp\"\npath = \"/var/log/a\"\nformat = \"events\"\n";
        assert_eq!(
            problem(file),
            "`file[0].name`: the name \"syslog-udp\" is used by another source"
        );
        // Without the defaults the name is free.
        let c = ok(&format!("syslog = []\n{file}"));
        assert_eq!(c.files[0].name, "syslog-udp");
    }

    #[test]
    fn a_bad_glob_is_refused() {
        for bad in ["\"/var/log/[radius\"", "\"/var/log/***\"", "\"\"", "5"] {
            assert_eq!(
                problem(&format!(
                    "[[file]]\nname = \"r\"\npath = {bad}\nformat = \"events\""
                )),
                "`file[0].path` is not a valid glob pattern",
                "path {bad}"
            );
        }
    }

    #[test]
    fn an_unknown_format_is_refused_with_the_list_of_formats() {
        assert_eq!(
            problem("[[file]]\nname = \"r\"\npath = \"/var/log/r\"\nformat = \"freeradius\""),
            format!("`file[0].format` is not a format ({FORMATS})")
        );
        assert_eq!(
            problem("[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:514\"\nformat = \"syslog\""),
            format!("`syslog[0].format` is not a format ({FORMATS})")
        );
    }

    #[test]
    fn a_format_writing_local_times_needs_a_time_zone() {
        let file = "[[file]]\nname = \"kea\"\npath = \"/var/log/kea/kea-legal*.txt\"\nformat = \"kea-legal\"\n";
        assert_eq!(
            problem(file),
            "`file[0]`: format kea-legal writes local times without a zone: set \
             `file[0].timezone` or `ingest.local_timezone`"
        );
        let listener = "[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:514\"\nprograms = { dhcpd = \"dhcpd-syslog\" }\n";
        assert_eq!(
            problem(listener),
            "`syslog[0]`: format dhcpd-syslog writes local times without a zone: set \
             `syslog[0].timezone` or `ingest.local_timezone`"
        );
        // ingest.local_timezone is every source's default zone ...
        let c = ok(&format!(
            "[ingest]\nlocal_timezone = \"Europe/Stockholm\"\n{file}{listener}"
        ));
        assert_eq!(c.files[0].stream.tz, Some(Tz::Europe__Stockholm));
        assert_eq!(c.syslog[0].stream.tz, Some(Tz::Europe__Stockholm));
        // ... and a source's own `timezone` wins over it.
        let c = ok(&format!(
            "[ingest]\nlocal_timezone = \"Europe/Stockholm\"\n{file}timezone = \"UTC\"\n"
        ));
        assert_eq!(c.files[0].stream.tz, Some(Tz::UTC));
        // Formats whose times carry an offset need none.
        ok("[[file]]\nname = \"e\"\npath = \"/var/log/e\"\nformat = \"events\"");
    }

    #[test]
    fn options_the_parser_refuses_are_named_with_the_source() {
        assert_eq!(
            problem(
                "[[file]]\nname = \"fs\"\npath = \"/var/log/fs/*.csv\"\nformat = \"freeswitch-cdr\"\n\
                 timezone = \"UTC\"\ntemplate = \"${caller_id_number}\""
            ),
            "`file[0]`: freeswitch-cdr template: it has no ${start_stamp}, and a record needs its \
             start time"
        );
    }

    #[test]
    fn a_bad_time_zone_is_refused() {
        for bad in ["\"CET+1\"", "\"Europe/Stokholm\"", "1"] {
            assert_eq!(
                problem(&format!(
                    "[[file]]\nname = \"a\"\npath = \"/var/log/a\"\nformat = \"asterisk-cdr\"\ntimezone = {bad}"
                )),
                "`file[0].timezone` must be an IANA time zone name like \"Europe/Stockholm\"",
                "timezone {bad}"
            );
        }
    }

    #[test]
    fn a_bad_class_is_refused() {
        assert_eq!(
            problem(
                "[[file]]\nname = \"a\"\npath = \"/var/log/a\"\nformat = \"events\"\nclass = \"legal\""
            ),
            "`file[0].class` must be \"security\", \"billing\" or \"statutory\""
        );
        assert_eq!(
            problem(
                "[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:514\"\nformat = \"events\"\nclass = \"Security\""
            ),
            "`syslog[0].class` must be \"security\", \"billing\" or \"statutory\""
        );
    }

    #[test]
    fn a_bad_lease_time_or_option_type_is_refused() {
        let base = "[[file]]\nname = \"d\"\npath = \"/var/log/d\"\nformat = \"dhcpd-syslog\"\ntimezone = \"UTC\"\n";
        for bad in ["0", "-5", "4294967296", "\"1h\""] {
            assert_eq!(
                problem(&format!("{base}lease_time = {bad}")),
                "`file[0].lease_time` must be a positive number of seconds",
                "lease_time {bad}"
            );
        }
        assert_eq!(
            ok(&format!("{base}lease_time = 4294967295")).files[0]
                .stream
                .lease_time,
            Some(u32::MAX)
        );
        assert_eq!(
            problem(&format!("{base}template = 1")),
            "`file[0].template` must be a string"
        );
        assert_eq!(
            problem(&format!("{base}timestamp_format = true")),
            "`file[0].timestamp_format` must be a string"
        );
    }

    #[test]
    fn a_bad_listen_address_is_refused() {
        for bad in [
            "\"0.0.0.0\"",
            "\"localhost:514\"",
            "\"0.0.0.0:70000\"",
            "\"::1:514\"",
            "514",
        ] {
            assert_eq!(
                problem(&format!(
                    "[[syslog]]\nname = \"s\"\nlisten = {bad}\nformat = \"events\""
                )),
                "`syslog[0].listen` must be an address and port like \"0.0.0.0:514\"",
                "listen {bad}"
            );
        }
        assert_eq!(
            problem("[[syslog]]\nname = \"s\"\nformat = \"events\""),
            "`syslog[0].listen` is missing: an address and port like \"0.0.0.0:514\""
        );
        assert_eq!(
            problem("[serve]\nhttp_listen = \"localhost:9514\""),
            "`serve.http_listen` must be an address and port like \"127.0.0.1:9514\""
        );
    }

    fn listener(name: &str, listen: &str, transport: &str) -> String {
        format!(
            "[[syslog]]\nname = \"{name}\"\nlisten = \"{listen}\"\ntransport = \"{transport}\"\nformat = \"events\"\n"
        )
    }

    #[test]
    fn two_listeners_of_one_transport_cannot_share_an_address() {
        // UDP and TCP on one port are two different sockets.
        let c = ok(&(listener("u", "0.0.0.0:514", "udp") + &listener("t", "0.0.0.0:514", "tcp")));
        assert_eq!(c.syslog.len(), 2);
        // Two of one transport on one address and port are not.
        assert_eq!(
            problem(
                &(listener("u1", "0.0.0.0:514", "udp") + &listener("u2", "0.0.0.0:514", "udp"))
            ),
            "`syslog[1].listen`: 0.0.0.0:514 is already used by another UDP listener"
        );
        // TCP and TLS both need a TCP port.
        let (cert, key) = pem_files();
        let tls = format!(
            "{}tls_cert = \"{}\"\ntls_key = \"{}\"\nclient_auth = \"none\"\n",
            listener("t2", "0.0.0.0:514", "tls"),
            cert.path().display(),
            key.path().display()
        );
        assert_eq!(
            problem(&(listener("t1", "0.0.0.0:514", "tcp") + &tls)),
            "`syslog[1].listen`: 0.0.0.0:514 is already used by another TCP/TLS listener"
        );
        // Another port, or another address, is fine.
        ok(&(listener("u1", "0.0.0.0:514", "udp") + &listener("u2", "0.0.0.0:515", "udp")));
        ok(&(listener("u1", "127.0.0.1:514", "udp") + &listener("u2", "192.0.2.1:514", "udp")));
    }

    #[test]
    fn an_unknown_transport_is_refused() {
        for bad in ["\"relp\"", "\"UDP\"", "6"] {
            assert_eq!(
                problem(&format!(
                    "[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:514\"\ntransport = {bad}\nformat = \"events\""
                )),
                "`syslog[0].transport` must be \"udp\", \"tcp\" or \"tls\"",
                "transport {bad}"
            );
        }
    }

    /// Two readable files standing in for a certificate and its key (their content is checked
    /// when the listener starts, not here).
    fn pem_files() -> (tempfile::NamedTempFile, tempfile::NamedTempFile) {
        (
            tempfile::NamedTempFile::new().unwrap(),
            tempfile::NamedTempFile::new().unwrap(),
        )
    }

    #[test]
    fn tls_needs_a_readable_certificate_and_key() {
        assert_eq!(
            problems(&listener("s", "0.0.0.0:6514", "tls")),
            [
                "`syslog[0].tls_cert` is missing: transport \"tls\" needs a PEM file",
                "`syslog[0].tls_key` is missing: transport \"tls\" needs a PEM file",
                "`syslog[0].client_ca` is missing: a TLS listener requires client certificates \
                 signed by this CA (or says `client_auth = \"none\"`)",
            ]
        );
        let (cert, key) = pem_files();
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let p = problem(&format!(
            "{}tls_cert = \"{}\"\ntls_key = \"{}\"\nclient_auth = \"none\"\n",
            listener("s", "0.0.0.0:6514", "tls"),
            missing.display(),
            key.path().display()
        ));
        let want = format!("`syslog[0].tls_cert`: cannot read {}: ", missing.display());
        assert!(p.starts_with(&want), "{p}");
        let c = ok(&format!(
            "{}tls_cert = \"{}\"\ntls_key = \"{}\"\nclient_ca = \"{}\"\n",
            listener("s", "0.0.0.0:6514", "tls"),
            cert.path().display(),
            key.path().display(),
            cert.path().display()
        ));
        assert_eq!(
            c.syslog[0].transport,
            Transport::Tls {
                cert: cert.path().to_path_buf(),
                key: key.path().to_path_buf(),
                client_ca: Some(cert.path().to_path_buf()),
            }
        );
        // Without client certificates only when the listener says so.
        let c = ok(&format!(
            "{}tls_cert = \"{}\"\ntls_key = \"{}\"\nclient_auth = \"none\"\n",
            listener("s", "0.0.0.0:6514", "tls"),
            cert.path().display(),
            key.path().display(),
        ));
        assert!(matches!(
            c.syslog[0].transport,
            Transport::Tls {
                client_ca: None,
                ..
            }
        ));
        let p = problem(&format!(
            "{}tls_cert = \"{}\"\ntls_key = \"{}\"\nclient_auth = \"optional\"\n",
            listener("s", "0.0.0.0:6514", "tls"),
            cert.path().display(),
            key.path().display(),
        ));
        assert!(
            p.starts_with("`syslog[0].client_auth` can only be \"none\""),
            "{p}"
        );
        assert_eq!(c.syslog[0].transport.name(), "tls");
    }

    #[test]
    fn tls_files_are_only_for_tls() {
        let (cert, key) = pem_files();
        let files = format!(
            "tls_cert = \"{}\"\ntls_key = \"{}\"\n",
            cert.path().display(),
            key.path().display()
        );
        assert_eq!(
            problems(&(listener("s", "0.0.0.0:514", "udp") + &files)),
            [
                "`syslog[0].tls_cert` is only for transport \"tls\"",
                "`syslog[0].tls_key` is only for transport \"tls\"",
            ]
        );
        // The default transport (udp) too.
        let no_transport = format!(
            "[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:514\"\nformat = \"events\"\ntls_cert = \"{}\"\n",
            cert.path().display()
        );
        assert_eq!(
            problem(&no_transport),
            "`syslog[0].tls_cert` is only for transport \"tls\""
        );
    }

    #[test]
    fn a_listener_needs_a_format_or_programs() {
        let want = "`syslog[0]` needs `format` (the message body format) or `programs` (format \
                    per program tag)";
        assert_eq!(
            problem("[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:514\""),
            want
        );
        // An empty `programs` table reads nothing either: refused, not silently dropped.
        assert_eq!(
            problem("[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:514\"\nprograms = {}"),
            want
        );
        // Either alone is enough.
        let c = ok(
            "[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:514\"\nprograms = { tdr = \"events\" }",
        );
        assert_eq!(c.syslog[0].format_of(Some("tdr")), Some(Format::Events));
        assert_eq!(c.syslog[0].format_of(Some("sshd")), None);
        assert_eq!(c.syslog[0].format_of(None), None);
        ok("[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:514\"\nformat = \"vpp-nat\"");
    }

    #[test]
    fn a_bad_program_format_is_named() {
        // Only the bad entry is named, not also "needs format or programs".
        assert_eq!(
            problem(
                "[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:514\"\nprograms = { dhcpd = \"dhcp\" }"
            ),
            format!("`syslog[0].programs.dhcpd` is not a format ({FORMATS})")
        );
        assert_eq!(
            problem("[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:514\"\nprograms = \"dhcpd\""),
            "`syslog[0].programs` must be a table of program = \"format\""
        );
    }

    #[test]
    fn without_a_syslog_key_the_two_default_listeners_stay() {
        let c = ok("");
        let local: SocketAddr = "127.0.0.1:5514".parse().unwrap();
        assert_eq!(
            c.syslog
                .iter()
                .map(|s| (s.name.as_str(), s.listen, s.transport.name()))
                .collect::<Vec<_>>(),
            [("syslog-udp", local, "udp"), ("syslog-tcp", local, "tcp")]
        );
        for s in &c.syslog {
            // Never tdr's own events, and from this host only.
            assert!(!s.formats().contains("events"), "{}", s.name);
            assert_eq!(s.format_of(Some("tdr")), None);
            assert!(s.allows("127.0.0.1".parse().unwrap()) && s.allows("::1".parse().unwrap()));
            assert!(s.allows("::ffff:127.0.0.1".parse().unwrap()));
            assert!(!s.allows("10.0.0.5".parse().unwrap()));
        }
        // Only formats that need no time zone.
        for s in &c.syslog {
            assert!(s
                .formats()
                .iter()
                .all(|f| !Format::from_name(f).unwrap().needs_tz()));
        }
        // `syslog = []` opens none.
        assert!(ok("syslog = []").syslog.is_empty());
        // Listing one replaces both defaults.
        let c = ok(&listener("only", "0.0.0.0:514", "tcp"));
        assert_eq!(c.syslog.len(), 1);
        assert_eq!(c.syslog[0].name, "only");
        // `syslog` must be a list of tables.
        assert_eq!(
            problem("syslog = false"),
            "`syslog` must be a list of tables ([[syslog]])"
        );
        assert_eq!(
            problem("[syslog]\nlisten = \"0.0.0.0:514\""),
            "`syslog` must be a list of tables ([[syslog]])"
        );
    }

    #[test]
    fn the_spool_defaults_to_incoming_in_the_data_dir_and_can_be_turned_off() {
        assert_eq!(
            ok("").serve.spool,
            Some(std::path::PathBuf::from("./tdr-data/incoming"))
        );
        assert_eq!(
            ok("data_dir = \"/srv/tdr\"").serve.spool,
            Some(std::path::PathBuf::from("/srv/tdr/incoming"))
        );
        // [serve] without `spool` keeps the default.
        assert_eq!(
            ok("data_dir = \"/srv/tdr\"\n[serve]\npoll_interval_ms = 500")
                .serve
                .spool,
            Some(std::path::PathBuf::from("/srv/tdr/incoming"))
        );
        assert_eq!(
            ok("[serve]\nspool = \"/srv/drop\"").serve.spool,
            Some(std::path::PathBuf::from("/srv/drop"))
        );
        assert_eq!(ok("[serve]\nspool = false").serve.spool, None);
        assert_eq!(ok("[serve]\nspool = \"\"").serve.spool, None);
        for bad in ["true", "1", "[\"/srv\"]"] {
            assert_eq!(
                problem(&format!("[serve]\nspool = {bad}")),
                "`serve.spool` must be a folder path, or false for none",
                "spool {bad}"
            );
        }
    }

    #[test]
    fn intervals_outside_their_range_are_refused() {
        for (key, bad, range) in [
            ("poll_interval_ms", "9", "10 to 60000"),
            ("poll_interval_ms", "60001", "10 to 60000"),
            ("flush_interval_ms", "0", "1 to 10000"),
            ("flush_interval_ms", "1.5", "1 to 10000"),
            ("retention_interval_secs", "59", "60 to 86400"),
            ("retention_interval_secs", "\"1h\"", "60 to 86400"),
            ("retention_interval_secs", "-3600", "60 to 86400"),
        ] {
            assert_eq!(
                problem(&format!("[serve]\n{key} = {bad}")),
                format!("`serve.{key}` must be an integer from {range}"),
                "{key} = {bad}"
            );
        }
        let s = ok("[serve]\npoll_interval_ms = 10\nflush_interval_ms = 10000\nretention_interval_secs = 86400").serve;
        assert_eq!(
            (
                s.poll_interval_ms,
                s.flush_interval_ms,
                s.retention_interval_secs
            ),
            (10, 10_000, 86_400)
        );
        let d = ok("").serve;
        assert_eq!(
            d.http_listen,
            "127.0.0.1:9514".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            (
                d.poll_interval_ms,
                d.flush_interval_ms,
                d.retention_interval_secs
            ),
            (1000, 200, 3600)
        );
        assert_eq!(problem("serve = 1"), "`serve` must be a table ([serve])");
    }

    #[test]
    fn every_mistake_of_a_file_is_reported_at_once() {
        let text = r#"
[serve]
http_listen = "9514"
poll_interval_ms = 0
colour = "blue"

[[file]]
name = "radius"
path = "/var/log/[radius"
format = "radius-detail"

[[file]]
name = "radius"
path = "/var/log/kea/*"
format = "kea-legal"

[[file]]
path = "/var/log/asterisk/Master.csv"
format = "asterisk-cdr"
timezone = "Europe/Stockholm"
class = "forever"

[[syslog]]
name = "udp"
listen = "0.0.0.0:514"
programs = { dhcpd = "isc" }

[[syslog]]
name = "udp2"
listen = "0.0.0.0:514"
transport = "udp"
format = "events"
tls_key = "/etc/tdr/tls/key.pem"

[[syslog]]
name = "tls"
listen = "0.0.0.0:6514"
transport = "tls"
format = "events"
"#;
        let p = problems(text);
        let want = [
            "unknown key `serve.colour`",
            "`serve.http_listen` must be an address and port",
            "`serve.poll_interval_ms` must be an integer from 10 to 60000",
            "`file[0].path` is not a valid glob pattern",
            "`file[1].name`: the name \"radius\" is used by another source",
            "`file[1]`: format kea-legal writes local times without a zone",
            "`file[2].name` is missing",
            "`file[2].class` must be",
            "`syslog[0].programs.dhcpd` is not a format",
            "`syslog[1].tls_key` is only for transport \"tls\"",
            "`syslog[1].listen`: 0.0.0.0:514 is already used by another UDP listener",
            "`syslog[2].tls_cert` is missing",
            "`syslog[2].tls_key` is missing",
            "`syslog[2].client_ca` is missing",
        ];
        assert_eq!(p.len(), want.len(), "{p:#?}");
        for w in want {
            assert!(p.iter().any(|m| m.contains(w)), "missing {w:?} in {p:#?}");
        }
        // The rendered error says how many there are.
        let shown = Config::parse(text).unwrap_err().to_string();
        assert!(
            shown.starts_with("14 problem(s) in the configuration:\n"),
            "{shown}"
        );
    }

    /// The example configuration shipped in systemd/, with its TLS files replaced by
    /// readable temporary files.
    #[test]
    fn the_example_configuration_is_valid() {
        let example = include_str!("../../systemd/tdr.toml");
        let (cert, key) = pem_files();
        let cert_path = "/etc/tdr/tls/tdr.crt.pem";
        let key_path = "/etc/tdr/tls/tdr.key.pem";
        let ca_path = "/etc/tdr/tls/syslog-ca.pem";
        let radsec_ca_path = "/etc/tdr/tls/radsec-ca.pem";
        assert!(
            example.contains(cert_path)
                && example.contains(key_path)
                && example.contains(ca_path)
                && example.contains(radsec_ca_path)
        );
        let text = example
            .replace(cert_path, &cert.path().display().to_string())
            .replace(key_path, &key.path().display().to_string())
            .replace(ca_path, &cert.path().display().to_string())
            .replace(radsec_ca_path, &cert.path().display().to_string());
        let c = ok(&text);

        assert_eq!(c.data_dir, std::path::PathBuf::from("/var/lib/tdr"));
        for class in Class::ALL {
            assert_eq!(c.retention.of(class), Period::Months(6));
        }
        assert_eq!(c.tolerance_secs, 2);
        assert_eq!(c.local_timezone.as_deref(), Some("Europe/Stockholm"));
        for ours in [
            "192.0.2.1",
            "198.51.100.200",
            "2001:db8:1::1",
            "100.64.3.4",
            "203.0.113.9",
        ] {
            assert!(c.is_our_address(ours.parse().unwrap()), "{ours}");
        }
        assert!(!c.is_our_address("8.8.8.8".parse().unwrap()));
        // Every CGNAT public address is also one tdr answers for.
        assert!(c.is_cgnat_public("203.0.113.9".parse().unwrap()));
        assert!(!c.is_cgnat_public("100.64.3.4".parse().unwrap()));
        for net in &c.cgnat_public {
            assert!(c.is_our_address(net.network()) && c.is_our_address(net.broadcast()));
        }

        assert_eq!(
            c.serve.http_listen,
            "127.0.0.1:9514".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            c.serve.spool,
            Some(std::path::PathBuf::from("/var/lib/tdr/incoming"))
        );
        assert_eq!(
            (
                c.serve.poll_interval_ms,
                c.serve.flush_interval_ms,
                c.serve.retention_interval_secs
            ),
            (1000, 200, 3600)
        );

        let files: Vec<_> = c
            .files
            .iter()
            .map(|f| (f.name.as_str(), f.stream.format, f.stream.class))
            .collect();
        assert_eq!(
            files,
            [
                ("bng-radius", Format::RadiusDetail, Class::Security),
                ("kea-legal", Format::KeaLegal, Class::Security),
                ("voip-cdr", Format::AsteriskCdr, Class::Statutory),
                ("kea-log", Format::KeaLog, Class::Security),
                ("bras-accel", Format::AccelPpp, Class::Security),
                ("cgnat-nfdump", Format::NfdumpNat, Class::Security),
            ]
        );
        // The globs match the live files and their rotated names.
        for (i, path) in [
            "/var/log/freeradius/radacct/10.0.0.1/detail-20261121",
            "/var/log/freeradius/radacct/10.0.0.1/detail-20261120.gz",
            "/var/log/kea/kea-legal.20261121.txt",
            "/var/log/kea/kea-legal.20261120.txt.gz",
            "/var/log/asterisk/cdr-csv/Master.csv",
            "/var/log/asterisk/cdr-csv/Master.csv.1",
        ]
        .iter()
        .enumerate()
        {
            let glob = glob::Pattern::new(&c.files[i / 2].path).unwrap();
            assert!(
                glob.matches(path),
                "{} should match {path}",
                c.files[i / 2].path
            );
        }
        for f in &c.files {
            // nfdump exports with TZ=UTC; everything else logs Swedish time.
            let zone = if f.name == "cgnat-nfdump" {
                Tz::UTC
            } else {
                Tz::Europe__Stockholm
            };
            assert_eq!(f.stream.tz, Some(zone), "{}", f.name);
        }

        let listeners: Vec<_> = c
            .syslog
            .iter()
            .map(|s| (s.name.as_str(), s.listen.to_string(), s.transport.name()))
            .collect();
        assert_eq!(
            listeners,
            [
                ("syslog-udp", "0.0.0.0:514".to_string(), "udp"),
                ("syslog-tcp", "0.0.0.0:514".to_string(), "tcp"),
                ("syslog-tls", "0.0.0.0:6514".to_string(), "tls"),
                ("cgnat", "0.0.0.0:5140".to_string(), "udp"),
                ("cgnat-ngs", "0.0.0.0:5141".to_string(), "udp"),
                ("mikrotik", "0.0.0.0:5142".to_string(), "udp"),
            ]
        );
        assert_eq!(
            c.syslog[4].format_of(Some("RT_NAT")),
            Some(Format::JunosNgsNat)
        );
        assert_eq!(c.syslog[5].format_of(None), Some(Format::MikrotikDhcp));
        let r = &c.radius[0];
        assert_eq!((r.name.as_str(), r.listen.port()), ("bng-acct", 1813));
        assert!(r.tls.is_none());
        assert!(r.clients.iter().all(|c| c
            .network
            .contains(&"10.255.0.1".parse::<std::net::IpAddr>().unwrap())));
        let t = &c.radius[1];
        assert_eq!((t.name.as_str(), t.listen.port()), ("radsec", 2083));
        assert_eq!(
            t.tls.as_ref().map(|t| t.client_ca.clone()),
            Some(cert.path().to_path_buf())
        );
        assert_eq!(t.clients[0].secret_file, None, "RFC 6614's radsec");
        assert_eq!(
            c.syslog[2].transport,
            Transport::Tls {
                cert: cert.path().to_path_buf(),
                key: key.path().to_path_buf(),
                client_ca: Some(cert.path().to_path_buf()),
            },
            "the example's TLS listener requires client certificates"
        );
        for s in &c.syslog {
            // Only the management network may send, and nobody may send tdr's own events.
            assert!(!s.allows("8.8.8.8".parse().unwrap()), "{}", s.name);
            assert!(s.allows("10.255.0.1".parse().unwrap()), "{}", s.name);
            assert!(!s.formats().contains("events"), "{}", s.name);
        }
        for s in &c.syslog[..3] {
            assert_eq!(s.format_of(Some("dhcpd")), Some(Format::DhcpdSyslog));
            assert_eq!(s.format_of(Some("tdr")), None);
            assert_eq!(
                s.format_of(Some("sshd")),
                None,
                "{}: others are not read",
                s.name
            );
            assert_eq!(s.stream.tz, Some(Tz::Europe__Stockholm));
            assert_eq!(s.stream.lease_time, Some(86_400));
        }
        let cgnat = &c.syslog[3];
        assert_eq!(cgnat.format_of(None), Some(Format::JuniperNat));
        assert_eq!(
            cgnat.format_of(Some("jservices-nat")),
            Some(Format::JuniperNat)
        );
        assert_eq!(cgnat.stream.tz, Some(Tz::UTC));
    }

    #[test]
    fn ipfix_listeners_are_read_and_every_bad_key_is_named() {
        let c = ok(r#"
[[ipfix]]
name = "cgn"
listen = "0.0.0.0:4739"
allow = ["10.255.0.0/24"]
class = "statutory"
[[ipfix]]
name = "mx"
listen = "[::]:4740"
nat_event_values = "draft-02"
max_exporters = 8
"#);
        assert_eq!(c.ipfix.len(), 2);
        let a = &c.ipfix[0];
        assert_eq!(a.listen, "0.0.0.0:4739".parse::<SocketAddr>().unwrap());
        assert_eq!(a.stream.format, Format::Ipfix);
        assert_eq!(a.stream.class, Class::Statutory);
        assert_eq!(a.stream.nat_event_values, NatEventValues::Rfc8158);
        assert_eq!(a.max_exporters, 64);
        assert!(a.allows("10.255.0.9".parse().unwrap()));
        assert!(!a.allows("127.0.0.1".parse().unwrap()));
        let b = &c.ipfix[1];
        assert_eq!(b.stream.nat_event_values, NatEventValues::Draft02);
        assert_eq!(b.max_exporters, 8);
        assert!(
            b.allows("::ffff:127.0.0.1".parse().unwrap()),
            "loopback by default"
        );
        assert_eq!(
            b.stream.context("mx", 0).nat_event_values,
            NatEventValues::Draft02
        );

        let p = problems(
            r#"
[[ipfix]]
listen = "4739"
allow = "10.0.0.0/8"
class = "top-secret"
nat_event_values = "junos"
max_exporters = 0
port = 4739
"#,
        );
        assert_eq!(
            p,
            [
                "unknown key `ipfix[0].port`".to_string(),
                "`ipfix[0].name` is missing: every source needs a name".into(),
                "`ipfix[0].allow` must be a list of CIDR prefixes like [\"10.0.0.0/8\"]".into(),
                "`ipfix[0].listen` must be a UDP address and port like \"0.0.0.0:4739\"".into(),
                "`ipfix[0].max_exporters` must be an integer from 1 to 4096".into(),
                "`ipfix[0].class` must be \"security\", \"billing\" or \"statutory\"".into(),
                "`ipfix[0].nat_event_values` must be \"rfc8158\" or \"draft-02\" (Junos writes draft-02's numbers)".into(),
            ]
        );
        assert_eq!(
            problem("[[ipfix]]\nname = \"x\""),
            "`ipfix[0].listen` is missing: a UDP address and port like \"0.0.0.0:4739\""
        );
    }

    #[test]
    fn an_ipfix_port_is_not_shared_and_ipfix_is_no_syslog_format() {
        assert_eq!(
            problem(
                "[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:4739\"\nformat = \"vpp-nat\"\n\
                 [[ipfix]]\nname = \"i\"\nlisten = \"0.0.0.0:4739\""
            ),
            "`ipfix[0].listen`: 0.0.0.0:4739 is already used by another UDP listener"
        );
        // A TCP syslog listener may share the number.
        ok("[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:4739\"\ntransport = \"tcp\"\nformat = \"vpp-nat\"\n\
            [[ipfix]]\nname = \"i\"\nlisten = \"0.0.0.0:4739\"");
        assert_eq!(
            problem("[[ipfix]]\nname = \"s\"\nlisten = \"0.0.0.0:4739\"\n[[ipfix]]\nname = \"s\"\nlisten = \"0.0.0.0:4740\""),
            "`ipfix[1].name`: the name \"s\" is used by another source"
        );
        assert_eq!(
            problem("[[syslog]]\nname = \"s\"\nlisten = \"0.0.0.0:514\"\nformat = \"ipfix\""),
            "`syslog[0]`: format ipfix is binary IPFIX, not syslog: use an [[ipfix]] listener"
        );
        assert_eq!(
            problem("[[file]]\nname = \"r\"\npath = \"/var/log/r\"\nformat = \"events\"\nnat_event_values = \"draft-02\""),
            "`file[0].nat_event_values` is only for format ipfix"
        );
        let c = ok("[[file]]\nname = \"r\"\npath = \"/srv/ipfix/*.ipfix\"\nformat = \"ipfix\"\nnat_event_values = \"draft-02\"");
        assert_eq!(c.files[0].stream.nat_event_values, NatEventValues::Draft02);
    }
}
