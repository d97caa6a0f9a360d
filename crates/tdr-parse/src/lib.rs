//! tdr-parse: the normalised event model and the parsers. A parser is a pure function (plus
//! a little per-stream state, such as a CSV header) from one bounded frame of bytes to
//! normalised events; the framers cut a byte stream into frames. No IO, no clock, no storage.

pub mod common;
pub mod format;
pub mod framing;
pub mod model;
pub mod radius;
#[cfg(test)]
mod testing;

/// The paths the formats had before they moved under [`format`] and [`common`], kept so code
/// written against them still builds; new code uses the paths above.
#[doc(hidden)]
pub use {common::syslog, format::events};

pub use chrono_tz::Tz;
pub use format::ipfix::NatEventValues;

use framing::Framing;
use model::{Class, Event, Origin, UnixSecs};

use std::fmt;

/// Why a frame did not parse. `code` is stable (quarantine files, metrics labels and API errors
/// all use it); `reason` is for people and never contains the frame's personal data beyond
/// naming which field was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub code: &'static str,
    pub reason: String,
}

impl ParseError {
    pub fn new(code: &'static str, reason: impl Into<String>) -> Self {
        ParseError {
            code,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// The input formats `tdr import --format` accepts ([`Format::about`] says what each reads).
/// Parsed from and shown as its [`name`](Format::name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Events,
    RadiusDetail,
    DhcpdSyslog,
    DhcpdLeases,
    KeaLegal,
    KeaLeases,
    JuniperNat,
    JunosNgsNat,
    NfdumpNat,
    VppNat,
    Jool,
    AsteriskCdr,
    FreeswitchCdr,
    KeaLog,
    MikrotikDhcp,
    AccelPpp,
    Ipfix,
}

impl Format {
    pub const ALL: [Format; 17] = [
        Format::Events,
        Format::RadiusDetail,
        Format::DhcpdSyslog,
        Format::DhcpdLeases,
        Format::KeaLegal,
        Format::KeaLeases,
        Format::JuniperNat,
        Format::JunosNgsNat,
        Format::NfdumpNat,
        Format::VppNat,
        Format::Jool,
        Format::AsteriskCdr,
        Format::FreeswitchCdr,
        Format::KeaLog,
        Format::MikrotikDhcp,
        Format::AccelPpp,
        Format::Ipfix,
    ];

    /// The name used on the command line, in checkpoints and in `tests/data/<name>/`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Events => "events",
            Format::RadiusDetail => "radius-detail",
            Format::DhcpdSyslog => "dhcpd-syslog",
            Format::DhcpdLeases => "dhcpd-leases",
            Format::KeaLegal => "kea-legal",
            Format::KeaLeases => "kea-leases",
            Format::JuniperNat => "juniper-nat",
            Format::JunosNgsNat => "junos-ngs-nat",
            Format::NfdumpNat => "nfdump-nat",
            Format::VppNat => "vpp-nat",
            Format::Jool => "jool",
            Format::AsteriskCdr => "asterisk-cdr",
            Format::FreeswitchCdr => "freeswitch-cdr",
            Format::KeaLog => "kea-log",
            Format::MikrotikDhcp => "mikrotik-dhcp",
            Format::AccelPpp => "accel-ppp",
            Format::Ipfix => "ipfix",
        }
    }

    pub fn from_name(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }

    /// What the format is, in one line (the command line's help).
    pub fn about(self) -> &'static str {
        match self {
            Format::Events => "tdr's neutral JSON Lines event format (see README)",
            Format::RadiusDetail => "FreeRADIUS v3/v4 and GNU Radius `detail` accounting files",
            Format::DhcpdSyslog => "ISC dhcpd syslog lines (RFC 3164/5424 header or none)",
            Format::DhcpdLeases => "ISC `dhcpd.leases` (v4 and v6)",
            Format::KeaLegal => "Kea forensic (legal) log hook files",
            Format::KeaLeases => "Kea memfile lease CSV (`kea-leases4.csv`, `kea-leases6.csv`)",
            Format::JuniperNat => "Juniper ASP/JSERVICES NAT port-block allocation syslog",
            Format::JunosNgsNat => {
                "Junos Next Gen Services / SRX RT_SRC_NAT_PBA port-block syslog (text or structured)"
            }
            Format::NfdumpNat => "NetFlow v9 / IPFIX NAT events as `nfdump -o json` prints them",
            Format::VppNat => "VPP NAT RFC 5424 mapping and session logs",
            Format::Jool => "Jool NAT64 BIB and session log lines",
            Format::AsteriskCdr => "Asterisk `cdr_csv` Master.csv",
            Format::FreeswitchCdr => "FreeSWITCH `mod_cdr_csv` with a template",
            Format::KeaLog => "Kea DHCPv4/DHCPv6 server log (file, journald or syslog)",
            Format::MikrotikDhcp => "MikroTik RouterOS DHCP server assigned/deassigned syslog",
            Format::AccelPpp => "accel-ppp BRAS log (RADIUS accounting verbose lines)",
            Format::Ipfix => "NAT events in binary IPFIX messages (RFC 7011, RFC 8158)",
        }
    }

    pub fn framing(self) -> Framing {
        match self {
            Format::RadiusDetail => Framing::Records,
            Format::DhcpdLeases => Framing::Statements,
            Format::Ipfix => Framing::Ipfix,
            _ => Framing::Lines,
        }
    }

    /// Formats whose times carry no zone (or only an ambiguous abbreviation): they need the
    /// producer's time zone (`--tz`). RADIUS detail uses the epoch `Timestamp` when present
    /// and needs the zone only for records without one.
    pub fn needs_tz(self) -> bool {
        matches!(
            self,
            Format::DhcpdSyslog
                | Format::KeaLegal
                | Format::AsteriskCdr
                | Format::FreeswitchCdr
                | Format::JuniperNat
                | Format::NfdumpNat
                | Format::KeaLog
                | Format::MikrotikDhcp
                | Format::AccelPpp
        )
    }

    /// Formats whose records are syslog messages, header included: over a syslog listener
    /// they get the whole message. Every other format gets only the message body.
    pub fn syslog_native(self) -> bool {
        matches!(
            self,
            Format::DhcpdSyslog
                | Format::JuniperNat
                | Format::JunosNgsNat
                | Format::VppNat
                | Format::Jool
                | Format::KeaLog
                | Format::MikrotikDhcp
                | Format::AccelPpp
        )
    }

    /// Formats whose first line is a header the rest of the file depends on: a resumed
    /// import must feed it to the parser again.
    pub fn has_header(self) -> bool {
        matches!(self, Format::KeaLeases)
    }

    /// Formats whose parser keeps state from any earlier record of the stream (IPFIX
    /// templates): a resumed read must feed the parser every record before its checkpoint
    /// again, dropping their events.
    pub fn replays_prefix(self) -> bool {
        matches!(self, Format::Ipfix)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not one of [`Format::ALL`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format {given:?}; expected one of: {}", Format::ALL.map(Format::name).join(", "))]
pub struct UnknownFormat {
    pub given: String,
}

impl std::str::FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        Format::from_name(s).ok_or_else(|| UnknownFormat {
            given: s.to_string(),
        })
    }
}

/// What a parser is told about the stream it reads.
#[derive(Debug, Clone)]
pub struct Context {
    /// Source name given to events that carry none (e.g. `bng1-radius`).
    pub source: String,
    /// Retention class of the stream's records.
    pub class: Class,
    /// The producer's local time zone, for formats that write local times.
    pub tz: Option<Tz>,
    /// A time no record of the stream is later than (by more than a day): the file's
    /// modification time. Syslog headers without a year take the latest year that puts them
    /// at or before it.
    pub reference: UnixSecs,
    /// FreeSWITCH `mod_cdr_csv` template text (`--template`); `None` = the built-in default.
    pub template: Option<String>,
    /// Lease time to assume where a log line does not say it (ISC dhcpd syslog: the server's
    /// `default-lease-time`); `None` = dhcpd's default of 43200 s.
    pub lease_time: Option<u32>,
    /// Kea legal log `timestamp-format` (strftime, `%Q` = microseconds); `None` = Kea's
    /// default `%Y-%m-%d %H:%M:%S %Z`.
    pub timestamp_format: Option<String>,
    /// IPFIX: which numbering of natEvent the exporter uses (RFC 8158's, or Junos's
    /// draft-02 one).
    pub nat_event_values: NatEventValues,
}

impl Context {
    pub fn new(source: &str, reference: UnixSecs) -> Self {
        Context {
            source: source.to_string(),
            class: Class::Security,
            tz: None,
            reference,
            template: None,
            lease_time: None,
            timestamp_format: None,
            nat_event_values: NatEventValues::default(),
        }
    }

    /// The source and class the stream's events carry.
    pub fn origin(&self) -> Origin {
        Origin::new(self.source.as_str(), self.class)
    }
}

/// A format's parser for one stream.
pub trait Parser: Send {
    /// Parses one frame, appending its events to `out`. A frame may yield no event (a
    /// DHCPDISCOVER carries no binding) or several (a RADIUS record with an IPv4 address and a
    /// delegated prefix). On error nothing of this frame is kept.
    fn parse(&mut self, frame: &[u8], out: &mut Vec<Event>) -> Result<(), ParseError>;

    /// True while the parser holds part of a record spanning frames (Kea continuation
    /// lines): a checkpoint must not be taken between such frames.
    fn pending(&self) -> bool {
        false
    }

    /// Moves the stream's reference time (see [`Context::reference`]) later: a stream read
    /// for days (a syslog connection, a followed file) must not place a year-less header
    /// against the day it was opened.
    fn set_reference(&mut self, _reference: UnixSecs) {}
}

/// Why a parser could not be set up (not a record error: the whole stream is refused).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("format {0} writes local times without a zone: give its time zone (--tz, e.g. Europe/Stockholm)")]
    NeedsTz(&'static str),
    #[error("{0}")]
    Invalid(String),
}

/// The parser for `format` on a stream described by `ctx`.
pub fn parser(format: Format, ctx: &Context) -> Result<Box<dyn Parser>, SetupError> {
    if format.needs_tz() && ctx.tz.is_none() {
        return Err(SetupError::NeedsTz(format.name()));
    }
    use format::*;
    Ok(match format {
        Format::Events => Box::new(events::EventsParser::new(ctx)),
        Format::RadiusDetail => Box::new(radius_detail::RadiusDetail::new(ctx)),
        Format::DhcpdSyslog => Box::new(dhcpd_syslog::DhcpdSyslog::new(ctx)),
        Format::DhcpdLeases => Box::new(dhcpd_leases::DhcpdLeases::new(ctx)),
        Format::KeaLegal => Box::new(kea_legal::KeaLegal::new(ctx)?),
        Format::KeaLeases => Box::new(kea_leases::KeaLeases::new(ctx)),
        Format::JuniperNat => Box::new(juniper_nat::JuniperNat::new(ctx)),
        Format::JunosNgsNat => Box::new(junos_ngs_nat::JunosNgsNat::new(ctx)),
        Format::NfdumpNat => Box::new(nfdump_nat::NfdumpNat::new(ctx)),
        Format::VppNat => Box::new(vpp_nat::VppNat::new(ctx)),
        Format::Jool => Box::new(jool::Jool::new(ctx)),
        Format::AsteriskCdr => Box::new(asterisk_cdr::AsteriskCdr::new(ctx)),
        Format::FreeswitchCdr => Box::new(freeswitch_cdr::FreeswitchCdr::new(ctx)?),
        Format::KeaLog => Box::new(kea_log::KeaLog::new(ctx)?),
        Format::MikrotikDhcp => Box::new(mikrotik_dhcp::MikrotikDhcp::new(ctx)),
        Format::AccelPpp => Box::new(accel_ppp::AccelPpp::new(ctx)),
        Format::Ipfix => Box::new(ipfix::Ipfix::new(ctx)),
    })
}

/// What a frame is for `format`: bytes to parse, or why it is refused unparsed (over the cap,
/// a bad length, or the cut-off tail of a stream in a format where a cut record can look
/// whole; only the self-delimiting JSON of `events` parses a tail).
pub fn frame_outcome(format: Format, frame: framing::Frame<'_>) -> Result<&[u8], ParseError> {
    use framing::Frame;
    match frame {
        Frame::Data(d) => Ok(d),
        Frame::Tail(d) if format == Format::Events => Ok(d),
        Frame::Tail(_) => Err(ParseError::new(
            "frame.truncated",
            "the file ends inside a record (its writer stopped mid-record); not parsed because a \
             cut value can look valid",
        )),
        Frame::TooLong { len, .. } => Err(ParseError::new(
            "frame.too_long",
            match len {
                Some(len) => format!(
                    "record of {len} bytes exceeds the {}-byte cap",
                    framing::DEFAULT_MAX_FRAME
                ),
                None => format!("record exceeds the {}-byte cap", framing::DEFAULT_MAX_FRAME),
            },
        )),
        Frame::BadLength { .. } if format.framing() == framing::Framing::Ipfix => {
            Err(ParseError::new(
                "frame.bad_length",
                "not an IPFIX message header (version 10, length at least 16): the bytes up \
                 to the next header",
            ))
        }
        Frame::BadLength { .. } => Err(ParseError::new(
            "frame.bad_length",
            "octet-counting length is not a number within the cap",
        )),
    }
}

/// Events and rejected frames (offset, error) of a whole input.
pub type ParseAll = (Vec<Event>, Vec<(usize, ParseError)>);

/// Frames `input` the way `format` is framed and parses every frame: for fuzzing, benches and
/// golden tests. Returns the events and, for each frame that failed, its offset and error.
pub fn parse_all(format: Format, ctx: &Context, input: &[u8]) -> Result<ParseAll, SetupError> {
    let mut p = parser(format, ctx)?;
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for (off, frame) in framing::frame_all(format.framing(), framing::DEFAULT_MAX_FRAME, input) {
        match frame_outcome(format, frame) {
            Ok(d) => {
                let keep = events.len();
                if let Err(e) = p.parse(d, &mut events) {
                    events.truncate(keep);
                    errors.push((off, e));
                }
            }
            Err(e) => errors.push((off, e)),
        }
    }
    Ok((events, errors))
}

/// The fuzzing entry point (`fuzz/`): frames and parses `data` as `format` under several
/// contexts (zones with and without DST, a tiny frame cap so the over-long paths run too) and
/// checks what must hold for any input: parsing is deterministic and no frame exceeds its cap.
pub fn fuzz_one(format: Format, data: &[u8]) {
    for tz in [Tz::UTC, Tz::Europe__Stockholm] {
        let mut ctx = Context::new("fuzz", 1_795_255_200);
        ctx.tz = Some(tz);
        let first = parse_all(format, &ctx, data);
        let again = parse_all(format, &ctx, data);
        assert_eq!(first, again, "parsing must be deterministic");
    }
    for (_, f) in framing::frame_all(format.framing(), 64, data) {
        if let framing::Frame::Data(d) | framing::Frame::Tail(d) = f {
            assert!(d.len() <= 64, "a frame over its cap");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_parse_back_and_an_unknown_one_lists_them() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
            assert_eq!(f.to_string(), f.name());
        }
        let e = "radius".parse::<Format>().unwrap_err();
        assert_eq!(e.given, "radius");
        let msg = e.to_string();
        assert!(
            msg.starts_with("unknown format \"radius\"; expected one of: events, radius-detail, ")
        );
        assert!(
            msg.ends_with(", freeswitch-cdr, kea-log, mikrotik-dhcp, accel-ppp, ipfix"),
            "{msg}"
        );
    }
}
