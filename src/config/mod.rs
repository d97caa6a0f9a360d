//! The one TOML configuration file: strict (unknown keys are errors), validated in one pass
//! that lists every problem at once. Without a file tdr runs on the embedded defaults.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Months, Utc};
use ipnet::IpNet;

use crate::calendar::Span;
use crate::model::{Class, UnixSecs};

pub mod notice;
pub mod radius;
pub mod sources;
pub use notice::{NoticeSettings, Payer, Rate};
pub use radius::{RadiusClient, RadiusSource};
pub use sources::{FileSource, IpfixSource, Limits, Serve, Stream, SyslogSource, Transport};

/// A retention period: calendar months or days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Days(u32),
    Months(u32),
}

impl Period {
    /// The oldest instant still inside the period, seen from `now`.
    pub fn cutoff(&self, now: UnixSecs) -> UnixSecs {
        match *self {
            Period::Days(d) => now - i64::from(d) * 86_400,
            Period::Months(m) => DateTime::<Utc>::from_timestamp(now, 0)
                .and_then(|t| t.checked_sub_months(Months::new(m)))
                .map(|t| t.timestamp())
                .unwrap_or(i64::MIN / 2),
        }
    }

    /// When data from `t` leaves this period: the first instant whose cutoff is past `t`.
    pub fn ends(&self, t: UnixSecs) -> UnixSecs {
        match *self {
            Period::Days(d) => t + i64::from(d) * 86_400,
            Period::Months(m) => DateTime::<Utc>::from_timestamp(t, 0)
                .and_then(|t| t.checked_add_months(Months::new(m)))
                .map(|t| t.timestamp())
                .unwrap_or(i64::MAX / 2),
        }
    }

    pub fn parse(s: &str) -> Option<Period> {
        let s = s.trim();
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
        let n: u32 = num.parse().ok()?;
        if n == 0 {
            return None;
        }
        match unit.trim() {
            "d" | "day" | "days" => Some(Period::Days(n)),
            "month" | "months" => Some(Period::Months(n)),
            _ => None,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Days(d) => write!(f, "{d} days"),
            Period::Months(m) => write!(f, "{m} months"),
        }
    }
}

/// How long a case has when its order names no deadline, counted from the Swedish day it was
/// registered (see [`crate::calendar::Span::after`]), and how far ahead "due soon" looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueDefaults {
    /// "Without delay" (LEK 9 kap.): 2 working days.
    pub law_enforcement: Span,
    /// The court's time limit when the order gives none: 1 month.
    pub ipred: Span,
    /// The ISP's own abuse investigation: 5 working days.
    pub abuse: Span,
    /// GDPR art. 12(3): one month of receipt.
    pub access: Span,
    /// A case is "due soon" when it is due within this span of today: 2 working days.
    pub soon: Span,
}

impl Default for DueDefaults {
    fn default() -> Self {
        DueDefaults {
            law_enforcement: Span::WorkingDays(2),
            ipred: Span::Months(1),
            abuse: Span::WorkingDays(5),
            access: Span::Months(1),
            soon: Span::WorkingDays(2),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Retention {
    pub security: Period,
    pub billing: Period,
    pub statutory: Period,
}

impl Retention {
    pub fn of(&self, class: Class) -> Period {
        match class {
            Class::Security => self.security,
            Class::Billing => self.billing,
            Class::Statutory => self.statutory,
        }
    }

    /// The oldest instant any class may still hold, seen from `now`.
    pub fn floor(&self, now: UnixSecs) -> UnixSecs {
        Class::ALL
            .iter()
            .map(|c| self.of(*c).cutoff(now))
            .min()
            .unwrap_or(now)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub data_dir: PathBuf,
    pub retention: Retention,
    /// Clock tolerance (±) in seconds.
    pub tolerance_secs: i64,
    pub session_timeout_secs: i64,
    pub reorder_window_secs: i64,
    /// How long after a session was last seen a late Stop still merges into it.
    pub stop_wait_secs: i64,
    /// A time is covered by a source when it has an event within this many seconds.
    pub coverage_gap_secs: i64,
    pub address_space: Vec<IpNet>,
    pub cgnat_public: Vec<IpNet>,
    /// fsync the write-ahead log with every batch.
    pub sync_writes: bool,
    pub batch_events: usize,
    /// IANA zone of producers that log local times without a zone (`ingest.local_timezone`);
    /// `tdr import --tz` overrides it. No default: a guessed zone shifts every record.
    pub local_timezone: Option<String>,
    /// How long an approved case that names no deadline may run, in days after its
    /// registration (`legal.case_max_days`); a case with a deadline ends with that day.
    pub case_max_days: u32,
    /// When a case is due when its order names no deadline (`legal.due_*`).
    pub due: DueDefaults,
    /// `[legal.notice]`: the IPRED notice to the subscriber.
    pub notice: NoticeSettings,
    /// `[[legal.compensation]]`: the rates of the compensation ledger.
    pub compensation: Vec<Rate>,
    /// `tdr serve`: its own settings, and the sources it reads.
    pub serve: Serve,
    pub files: Vec<FileSource>,
    pub syslog: Vec<SyslogSource>,
    pub ipfix: Vec<IpfixSource>,
    /// `[[radius]]`: RADIUS accounting servers.
    pub radius: Vec<RadiusSource>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./tdr-data"),
            retention: Retention {
                security: Period::Months(6),
                billing: Period::Months(6),
                statutory: Period::Months(6),
            },
            tolerance_secs: 2,
            session_timeout_secs: 7200,
            reorder_window_secs: 600,
            stop_wait_secs: 2 * 86_400,
            coverage_gap_secs: 900,
            address_space: vec![
                "0.0.0.0/0".parse().expect("literal"),
                "::/0".parse().expect("literal"),
            ],
            cgnat_public: Vec::new(),
            sync_writes: true,
            batch_events: 200_000,
            local_timezone: None,
            case_max_days: 90,
            due: DueDefaults::default(),
            notice: NoticeSettings::default(),
            compensation: Vec::new(),
            serve: Serve {
                spool: Some(PathBuf::from("./tdr-data/incoming")),
                ..Serve::defaults()
            },
            files: Vec::new(),
            syslog: sources::default_syslog(),
            ipfix: Vec::new(),
            radius: Vec::new(),
        }
    }
}

/// Every problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} problem(s) in the configuration:", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The keys each table may have; anything else is an error.
const SCHEMA: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "version",
            "data_dir",
            "retention",
            "attribution",
            "network",
            "store",
            "ingest",
            "legal",
            "serve",
            "file",
            "syslog",
            "ipfix",
            "radius",
        ],
    ),
    ("retention", &["security", "billing", "statutory"]),
    (
        "attribution",
        &[
            "tolerance_secs",
            "session_timeout_secs",
            "reorder_window_secs",
            "stop_wait_secs",
            "coverage_gap_secs",
        ],
    ),
    ("network", &["address_space", "cgnat_public"]),
    ("store", &["sync_writes", "batch_events"]),
    ("ingest", &["local_timezone"]),
    (
        "legal",
        &[
            "case_max_days",
            "due_law_enforcement",
            "due_ipred",
            "due_abuse",
            "due_access",
            "due_soon",
            "notice",
            "compensation",
        ],
    ),
];

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigErrors(vec![format!("cannot read {}: {e}", path.display())]))?;
        Config::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Config, ConfigErrors> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigErrors(vec![format!("not valid TOML: {e}")]))?;
        let mut c = Config::default();
        let mut errs = Vec::new();
        for (section, allowed) in SCHEMA {
            let t = if section.is_empty() {
                Some(&table)
            } else {
                match table.get(*section) {
                    None => None,
                    Some(toml::Value::Table(t)) => Some(t),
                    Some(_) => {
                        errs.push(format!("`{section}` must be a table ([{section}])"));
                        None
                    }
                }
            };
            if let Some(t) = t {
                for k in t.keys() {
                    if !allowed.contains(&k.as_str()) {
                        let name = if section.is_empty() {
                            k.clone()
                        } else {
                            format!("{section}.{k}")
                        };
                        errs.push(format!("unknown key `{name}`"));
                    }
                }
            }
        }
        let get = |section: &str, key: &str| -> Option<&toml::Value> {
            match table.get(section) {
                Some(toml::Value::Table(t)) => t.get(key),
                _ => None,
            }
        };
        if let Some(v) = table.get("version") {
            if v.as_integer() != Some(1) {
                errs.push("`version` must be 1".into());
            }
        }
        if let Some(v) = table.get("data_dir") {
            match v.as_str() {
                Some(s) if !s.is_empty() => c.data_dir = PathBuf::from(s),
                _ => errs.push("`data_dir` must be a non-empty string".into()),
            }
        }
        for (key, slot) in [
            ("security", &mut c.retention.security),
            ("billing", &mut c.retention.billing),
            ("statutory", &mut c.retention.statutory),
        ] {
            if let Some(v) = get("retention", key) {
                match v.as_str().and_then(Period::parse) {
                    Some(p) => *slot = p,
                    None => errs.push(format!(
                        "`retention.{key}` must be a period like \"6 months\" or \"183 days\""
                    )),
                }
            }
        }
        for (key, slot, min, max) in [
            ("tolerance_secs", &mut c.tolerance_secs, 0, 300),
            (
                "session_timeout_secs",
                &mut c.session_timeout_secs,
                60,
                30 * 86_400,
            ),
            ("reorder_window_secs", &mut c.reorder_window_secs, 0, 86_400),
            ("stop_wait_secs", &mut c.stop_wait_secs, 0, 30 * 86_400),
            ("coverage_gap_secs", &mut c.coverage_gap_secs, 60, 86_400),
        ] {
            if let Some(v) = get("attribution", key) {
                match v.as_integer() {
                    Some(n) if (min..=max).contains(&n) => *slot = n,
                    _ => errs.push(format!(
                        "`attribution.{key}` must be an integer from {min} to {max}"
                    )),
                }
            }
        }
        for (key, slot) in [
            ("address_space", &mut c.address_space),
            ("cgnat_public", &mut c.cgnat_public),
        ] {
            if let Some(v) = get("network", key) {
                match v.as_array() {
                    Some(items) => {
                        let mut nets = Vec::new();
                        for (i, item) in items.iter().enumerate() {
                            match item.as_str().and_then(|s| s.parse::<IpNet>().ok()) {
                                Some(n) => nets.push(n.trunc()),
                                None => errs.push(format!(
                                    "`network.{key}[{i}]` is not a CIDR prefix like \"192.0.2.0/24\""
                                )),
                            }
                        }
                        *slot = nets;
                    }
                    None => errs.push(format!("`network.{key}` must be a list of CIDR prefixes")),
                }
            }
        }
        if let Some(v) = get("store", "sync_writes") {
            match v.as_bool() {
                Some(b) => c.sync_writes = b,
                None => errs.push("`store.sync_writes` must be true or false".into()),
            }
        }
        if let Some(v) = get("store", "batch_events") {
            match v.as_integer() {
                Some(n) if (1..=1_000_000).contains(&n) => c.batch_events = n as usize,
                _ => errs.push("`store.batch_events` must be an integer from 1 to 1000000".into()),
            }
        }
        if let Some(v) = get("ingest", "local_timezone") {
            match v.as_str() {
                Some(z) if z.parse::<crate::parse::Tz>().is_ok() => {
                    c.local_timezone = Some(z.to_string())
                }
                _ => errs.push(
                    "`ingest.local_timezone` must be an IANA time zone name like \"Europe/Stockholm\""
                        .into(),
                ),
            }
        }
        if let Some(v) = get("legal", "case_max_days") {
            match v.as_integer() {
                Some(n) if (1..=3650).contains(&n) => c.case_max_days = n as u32,
                _ => errs.push("`legal.case_max_days` must be an integer from 1 to 3650".into()),
            }
        }
        for (key, slot) in [
            ("due_law_enforcement", &mut c.due.law_enforcement),
            ("due_ipred", &mut c.due.ipred),
            ("due_abuse", &mut c.due.abuse),
            ("due_access", &mut c.due.access),
            ("due_soon", &mut c.due.soon),
        ] {
            if let Some(v) = get("legal", key) {
                match v.as_str().and_then(Span::parse) {
                    Some(span) => *slot = span,
                    None => errs.push(format!(
                        "`legal.{key}` must be a span like \"2 working days\", \"30 days\" or \"1 month\""
                    )),
                }
            }
        }
        (c.notice, c.compensation) = notice::parse(&table, &mut errs);
        let zone = c.local_timezone.as_deref().and_then(|z| z.parse().ok());
        let sources = sources::parse(&table, zone, &c.data_dir, &mut errs);
        c.serve = sources.serve;
        c.files = sources.files;
        c.syslog = sources.syslog;
        c.ipfix = sources.ipfix;
        c.radius = sources.radius;
        if errs.is_empty() {
            Ok(c)
        } else {
            Err(ConfigErrors(errs))
        }
    }

    /// Moves the data directory (`--data-dir`); a spool left at its default moves with it.
    pub fn set_data_dir(&mut self, dir: &Path) {
        if self.serve.spool.as_deref() == Some(self.data_dir.join("incoming").as_path()) {
            self.serve.spool = Some(dir.join("incoming"));
        }
        self.data_dir = dir.to_path_buf();
    }

    /// Where the daemon listens for the CLI: `serve.socket`, or `<data_dir>/run/tdr.sock`.
    pub fn socket_path(&self) -> PathBuf {
        self.serve
            .socket
            .clone()
            .unwrap_or_else(|| self.data_dir.join("run").join("tdr.sock"))
    }

    /// Whether `ip` is in the ISP's configured address space.
    pub fn is_our_address(&self, ip: std::net::IpAddr) -> bool {
        self.address_space.iter().any(|n| n.contains(&ip))
    }

    pub fn is_cgnat_public(&self, ip: std::net::IpAddr) -> bool {
        self.cgnat_public.iter().any(|n| n.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_defaults() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn a_full_file_is_read() {
        let c = Config::parse(
            r#"
version = 1
data_dir = "/var/lib/tdr"
[retention]
billing = "90 days"
[attribution]
tolerance_secs = 5
[network]
address_space = ["192.0.2.0/24", "2001:db8::/32"]
cgnat_public = ["203.0.113.0/28"]
[store]
sync_writes = false
[ingest]
local_timezone = "Europe/Stockholm"
[legal]
case_max_days = 30
due_ipred = "4 months"
due_law_enforcement = "1 working day"
"#,
        )
        .unwrap();
        assert_eq!(c.case_max_days, 30);
        assert_eq!(c.due.ipred, Span::Months(4));
        assert_eq!(c.due.law_enforcement, Span::WorkingDays(1));
        assert_eq!(c.due.access, Span::Months(1));
        assert_eq!(Config::default().case_max_days, 90);
        assert_eq!(c.local_timezone.as_deref(), Some("Europe/Stockholm"));
        assert_eq!(c.retention.billing, Period::Days(90));
        assert_eq!(c.retention.security, Period::Months(6));
        assert_eq!(c.tolerance_secs, 5);
        assert!(c.is_our_address("192.0.2.9".parse().unwrap()));
        assert!(!c.is_our_address("198.51.100.1".parse().unwrap()));
        assert!(c.is_cgnat_public("203.0.113.3".parse().unwrap()));
        assert!(!c.sync_writes);
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let e = Config::parse(
            r#"
colour = "blue"
[retention]
security = "forever"
[attribution]
tolerance_secs = -1
clock = 3
[network]
address_space = ["192.0.2.0/24", "not-a-net"]
[ingest]
local_timezone = "CET+1"
[legal]
case_max_days = 0
due_access = "1 fortnight"
"#,
        )
        .unwrap_err();
        let all = e.to_string();
        assert_eq!(e.0.len(), 8, "{all}");
        for needle in [
            "unknown key `colour`",
            "retention.security",
            "attribution.tolerance_secs",
            "unknown key `attribution.clock`",
            "network.address_space[1]",
            "ingest.local_timezone",
            "legal.case_max_days",
            "legal.due_access",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in {all}");
        }
    }

    #[test]
    fn six_calendar_months_back() {
        let now = crate::model::parse_time("2026-11-21T00:00:00Z").unwrap();
        assert_eq!(
            Period::Months(6).cutoff(now),
            crate::model::parse_time("2026-05-21T00:00:00Z").unwrap()
        );
        assert_eq!(Period::Days(1).cutoff(now), now - 86_400);
        assert_eq!(Period::parse("6 months"), Some(Period::Months(6)));
        assert_eq!(Period::parse("183d"), Some(Period::Days(183)));
        assert_eq!(Period::parse("0 days"), None);
    }
}
