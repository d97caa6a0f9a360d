//! ipfix: NAT events exported over IPFIX (RFC 7011), with the information elements of
//! RFC 8158 ("IPFIX Information Elements for Logging NAT Events").
//!
//! Producers: CGNAT devices that log NAT events as IPFIX data records. Their record layouts,
//! read where each producer writes them (see `tests/data/ipfix/SOURCE.md`):
//!
//! * FD.io VPP's NAT plugin (`src/plugins/nat/lib/ipfix_logging.c`): one template per event
//!   kind. NAT44 sessions: observationTimeMilliseconds (323), natEvent (230),
//!   sourceIPv4Address (8), postNATSourceIPv4Address (225), protocolIdentifier (4),
//!   sourceTransportPort (7), postNAPTSourceTransportPort (227), ingressVRFID (234), natEvent
//!   4/5. NAT64 BIB: the same with sourceIPv6Address (27), natEvent 10/11; NAT64 sessions add
//!   the destination (28, 226, 11, 228), natEvent 6/7. Addresses exhausted (3) and quota
//!   exceeded (13) carry no binding. VPP numbers *messages*, not records, in the header's
//!   sequence number (see below).
//! * Junos (MS-MPC, MS-MIC, MX-SPC3 "Next Gen Services"): the templates of
//!   draft-ietf-behave-ipfix-nat-logging-02, whose natEvent values are *not* the IANA ones
//!   RFC 8158 registered (NAT44 session create/delete 1/2, NAT64 session 4/5, NAT44 BIB 6/7,
//!   NAT64 BIB 8/9, ports exhausted 10, quota exceeded 11, address binding 12/13, port block
//!   allocation/de-allocation 14/15; Juniper's "Mapping Between Field Values for IPFIX Flow
//!   Templates" page). A Junos exporter is read with [`NatEventValues::Draft02`]. Its port
//!   block templates carry observationTimeMilliseconds twice: first the event's time, then
//!   the block's allocation time (nfdump issue #320); the first is the event time here.
//! * Cisco CGN (the vCGN code in VPP 17.01, `plugins/vcgn/cnat_logging.h`): bulk (port block)
//!   add and delete records in templates of their own with ingressVRFID, egressVRFID,
//!   sourceIPv4Address, postNATSourceIPv4Address, portRangeStart, portRangeEnd and *no*
//!   natEvent: the template says add or delete. Such records carry no event type tdr can
//!   read and yield `Seen` only.
//!
//! The message (RFC 7011 §3): a 16-byte header (version 10, length of the whole message,
//! export time in seconds, sequence number, observation domain id), then sets: 2 = template
//! set, 3 = options template set, 256 and up = data set of that template; 4 to 255 are
//! reserved and skipped. Template records define fields as (element id, length) with the
//! enterprise bit adding a 4-byte enterprise number; a length of 65535 is a variable-length
//! field, whose data starts with a 1-byte length, or 255 and a 2-byte length. A set may end
//! in padding shorter than its smallest record. Enterprise-specific and unused elements are
//! skipped by their lengths.
//!
//! State (one parser per exporter transport session: the UDP collector makes one per exporter
//! address and port; a file is one session, which a resumed read replays from its start,
//! [`crate::Format::replays_prefix`]): templates per observation domain, replaced by
//! a new definition of the same id, withdrawn by a template record with field count 0
//! (RFC 7011 §8.1; template id 2 in a template set withdraws every template of the domain,
//! id 3 in an options template set every options template). At most [`MAX_DOMAINS`] domains
//! and [`MAX_TEMPLATES`] templates are held; more is an error.
//!
//! Records lost (RFC 7011 §3.1, §10.3.2): the header's sequence number counts the data
//! records sent before the message in its domain. When a message's number is ahead of the
//! previous message's plus its records, the difference was lost on the way and is added to
//! [`Ipfix::lost_records`], which the collector exports as a metric. A number behind the
//! expected one (a late or repeated message, a restarted exporter, or VPP, which counts
//! messages) counts nothing; one more than 2^16 behind restarts the count from it. A message
//! that could not be read leaves the next number unknown (no gap is counted after it).
//!
//! Events, by natEvent (IANA registry, RFC 8158 §4; the draft-02 numbers for Junos above):
//!
//! | natEvent | event |
//! |---|---|
//! | 4/5 NAT44 session, 6/7 NAT64 session, 8/9 NAT44 BIB, 10/11 NAT64 BIB create/delete | `NatBlock` Alloc/Release, ports (p, p), p = postNAPTSourceTransportPort (227) |
//! | 1/2 NAT translation create/delete (historic) | the same, or a port block when the record has portRangeStart |
//! | 16/17 port block allocation/de-allocation | `NatBlock` Alloc/Release, ports (portRangeStart (361), portRangeEnd (362)) |
//! | 14/15 address binding create/delete | `NatBlock` Alloc/Release, ports (0, 65535): the whole address |
//! | 3, 12, 13, 18 (exhaustion, quota, threshold), any other value, no natEvent | `Seen` (domain nat) at the record's time |
//!
//! inside = sourceIPv6Address (27) when the record has it (NAT64; DS-Lite, where the B4's
//! IPv6 address names the subscriber and sourceIPv4Address is a private address behind it),
//! else sourceIPv4Address (8); public = postNATSourceIPv4Address (225). A port block's end is
//! portRangeEnd; when that is absent or 0 ("not specified"), portRangeStart +
//! (portRangeNumPorts − 1) × portRangeStepSize (a step of 0 or none is 1). A block with a step
//! over 1 holds only every step-th port, but it still spans start..end, and the whole span is
//! the subscriber's to answer for. An address binding (paired address pooling) binds all of
//! a subscriber's traffic to one public address, which others may share: the whole range is
//! stored, and a lookup that also finds another subscriber's port there answers ambiguous.
//!
//! Time of a record: observationTimeMilliseconds (323; the first one, see Junos), else
//! observationTimeSeconds (322), flowStartMilliseconds (152), flowStartSeconds (150),
//! flowEndMilliseconds (153), flowEndSeconds (151), else the message's export time. RFC 8158
//! §4 makes the timestamp (323) mandatory in every NAT event template; the others are for
//! exporters that log NAT fields in flow records. Times are UTC; no zone is needed.
//!
//! Coverage: records without a binding yield `Seen` at their time (one per time and message);
//! a message that yields no event at all (templates only, options data, withdrawals) yields
//! one `Seen` at its export time: the exporter's logging was running.
//!
//! Errors (the whole message is rejected; its raw bytes go to the quarantine): a header that
//! is short, not version 10 or whose length is not the message's; a set or template that
//! overruns; a template id under 256; a field tdr reads with a length it cannot read
//! (addresses 4 or 16 octets, ports 1 or 2, natEvent 1, times 4 or 8); a data set whose
//! template is unknown (`parse.ipfix.unknown_template`: a collector restarted before the
//! exporter re-sent its templates; the message is kept in the quarantine rather than
//! buffered, because a buffer lost at shutdown would lose records silently); a record that
//! overruns its set; a binding event without its addresses or ports, with the unspecified
//! address, or with a port range that ends before it starts or past 65535.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{Domain, Event, NatOp, Origin, UnixSecs};
use crate::{Context, ParseError, Parser};

/// Which numbering of natEvent (IE 230) an exporter uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NatEventValues {
    /// The IANA "NAT Event Type" registry of RFC 8158 (VPP and every exporter that follows
    /// the RFC).
    #[default]
    Rfc8158,
    /// draft-ietf-behave-ipfix-nat-logging-02, as Junos writes them.
    Draft02,
}

impl NatEventValues {
    pub const ALL: [NatEventValues; 2] = [NatEventValues::Rfc8158, NatEventValues::Draft02];

    /// The name in configuration files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            NatEventValues::Rfc8158 => "rfc8158",
            NatEventValues::Draft02 => "draft-02",
        }
    }

    pub fn from_name(s: &str) -> Option<NatEventValues> {
        NatEventValues::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// Observation domains one parser holds at most.
pub const MAX_DOMAINS: usize = 256;
/// Templates (and options templates) one parser holds at most, all domains together.
pub const MAX_TEMPLATES: usize = 2048;
/// Fields one template may have.
pub const MAX_FIELDS: usize = 1024;

/// How far behind the expected sequence number a message may be and still be taken for a
/// late one (beyond it, the exporter restarted its numbering).
const SEQ_WINDOW: u32 = 1 << 16;
/// The latest time a record may have: 9999-12-31T23:59:59Z.
const MAX_TIME: UnixSecs = 253_402_300_799;
const HEADER: usize = 16;
const VARIABLE: u16 = 65535;

fn err(code: &'static str, reason: impl Into<String>) -> ParseError {
    ParseError::new(code, reason)
}

/// The fields a record is read for. Each slot holds the first field of its element.
#[derive(Clone, Copy)]
enum Slot {
    NatEvent,
    SrcV4,
    SrcV6,
    PostNatV4,
    PostNaptPort,
    RangeStart,
    RangeEnd,
    RangeStep,
    RangeNum,
    ObsMs,
    ObsS,
    StartMs,
    StartS,
    EndMs,
    EndS,
}

const SLOTS: usize = 15;
/// The time slots, in the order they are preferred.
const TIME_SLOTS: [(Slot, bool); 6] = [
    (Slot::ObsMs, true),
    (Slot::ObsS, false),
    (Slot::StartMs, true),
    (Slot::StartS, false),
    (Slot::EndMs, true),
    (Slot::EndS, false),
];

/// The slot an IANA element fills, its name and the lengths tdr reads it in.
fn slot_of(ie: u16) -> Option<(Slot, &'static str, &'static [u16])> {
    Some(match ie {
        230 => (Slot::NatEvent, "natEvent (230)", &[1]),
        8 => (Slot::SrcV4, "sourceIPv4Address (8)", &[4]),
        27 => (Slot::SrcV6, "sourceIPv6Address (27)", &[16]),
        225 => (Slot::PostNatV4, "postNATSourceIPv4Address (225)", &[4]),
        227 => (
            Slot::PostNaptPort,
            "postNAPTSourceTransportPort (227)",
            &[1, 2],
        ),
        361 => (Slot::RangeStart, "portRangeStart (361)", &[1, 2]),
        362 => (Slot::RangeEnd, "portRangeEnd (362)", &[1, 2]),
        363 => (Slot::RangeStep, "portRangeStepSize (363)", &[1, 2]),
        364 => (Slot::RangeNum, "portRangeNumPorts (364)", &[1, 2]),
        323 => (Slot::ObsMs, "observationTimeMilliseconds (323)", &[8]),
        322 => (Slot::ObsS, "observationTimeSeconds (322)", &[4]),
        152 => (Slot::StartMs, "flowStartMilliseconds (152)", &[8]),
        150 => (Slot::StartS, "flowStartSeconds (150)", &[4]),
        153 => (Slot::EndMs, "flowEndMilliseconds (153)", &[8]),
        151 => (Slot::EndS, "flowEndSeconds (151)", &[4]),
        _ => return None,
    })
}

const ABSENT: u16 = u16::MAX;

/// Where each slot's field is in a record (offset, length), [`ABSENT`] when the template has
/// no such field.
#[derive(Clone, Copy)]
struct Layout {
    off: [u16; SLOTS],
    len: [u8; SLOTS],
}

impl Layout {
    fn get<'a>(&self, rec: &'a [u8], s: Slot) -> Option<&'a [u8]> {
        let i = s as usize;
        let off = self.off[i];
        if off == ABSENT {
            return None;
        }
        let off = usize::from(off);
        rec.get(off..off + usize::from(self.len[i]))
    }

    fn has(&self, s: Slot) -> bool {
        self.off[s as usize] != ABSENT
    }
}

struct Template {
    options: bool,
    /// Each field's length in order ([`VARIABLE`] for a variable-length one).
    lens: Box<[u16]>,
    /// The fields that fill a slot: (field index, slot), by field index.
    slot_fields: Box<[(u16, u8)]>,
    /// Each slot's length (every field tdr reads has a fixed length).
    slot_len: [u8; SLOTS],
    /// Every field fixed: the record length and where the slots are.
    fixed: Option<(usize, Layout)>,
    /// The shortest record (variable-length fields empty): a set's padding is shorter.
    min_len: usize,
}

impl Template {
    /// The length of the record at the start of `body` and where its slots are.
    fn layout(&self, body: &[u8]) -> Result<(usize, Layout), ParseError> {
        if let Some(f) = self.fixed {
            return Ok(f);
        }
        let overrun = || {
            err(
                "parse.ipfix.bad_record",
                "a data record runs past the end of its set",
            )
        };
        let mut layout = Layout {
            off: [ABSENT; SLOTS],
            len: self.slot_len,
        };
        let mut slots = self.slot_fields.iter().peekable();
        let mut at = 0usize;
        for (i, &len) in self.lens.iter().enumerate() {
            let n = if len == VARIABLE {
                let first = *body.get(at).ok_or_else(overrun)?;
                if first < 255 {
                    at += 1;
                    usize::from(first)
                } else {
                    let b = body.get(at + 1..at + 3).ok_or_else(overrun)?;
                    at += 3;
                    usize::from(u16::from_be_bytes([b[0], b[1]]))
                }
            } else {
                usize::from(len)
            };
            if let Some(&(_, slot)) = slots.next_if(|(fi, _)| usize::from(*fi) == i) {
                // Records of a message fit in 65535 octets: an offset in one fits in a u16
                // below ABSENT unless the record overruns, which the check below catches.
                layout.off[usize::from(slot)] = u16::try_from(at).unwrap_or(ABSENT - 1);
            }
            at += n;
            if at > body.len() {
                return Err(overrun());
            }
        }
        Ok((at, layout))
    }
}

#[derive(Default)]
struct ObsDomain {
    templates: HashMap<u16, Template>,
    /// The sequence number the next message should have; `None` until a message was read
    /// whole.
    next_seq: Option<u32>,
}

/// The parser of one exporter transport session.
pub struct Ipfix {
    origin: Origin,
    values: NatEventValues,
    domains: HashMap<u32, ObsDomain>,
    templates: usize,
    lost: u64,
    records: u64,
}

impl Ipfix {
    pub fn new(ctx: &Context) -> Self {
        Ipfix {
            origin: ctx.origin(),
            values: ctx.nat_event_values,
            domains: HashMap::new(),
            templates: 0,
            lost: 0,
            records: 0,
        }
    }

    /// Data records (options data included) of the messages read whole since the parser was
    /// made.
    pub fn records_read(&self) -> u64 {
        self.records
    }

    /// Data records the exporter numbered but that never arrived (sequence gaps), all
    /// observation domains together, since the parser was made.
    pub fn lost_records(&self) -> u64 {
        self.lost
    }

    /// Templates and options templates known now, all observation domains together.
    pub fn templates_known(&self) -> usize {
        self.templates
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// An unsigned integer of 1 to 8 octets (reduced-size encoding, RFC 7011 §6.2).
fn uint(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |v, &x| (v << 8) | u64::from(x))
}

/// What a natEvent value means for the binding it logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One port: postNAPTSourceTransportPort.
    Port,
    /// A historic create/delete: a port block when the record has portRangeStart, else one
    /// port.
    PortOrBlock,
    /// portRangeStart..portRangeEnd.
    Block,
    /// The whole address.
    Address,
}

fn classify(values: NatEventValues, v: u8) -> Option<(NatOp, Shape)> {
    use NatOp::{Alloc, Release};
    Some(match values {
        NatEventValues::Rfc8158 => match v {
            1 => (Alloc, Shape::PortOrBlock),
            2 => (Release, Shape::PortOrBlock),
            4 | 6 | 8 | 10 => (Alloc, Shape::Port),
            5 | 7 | 9 | 11 => (Release, Shape::Port),
            14 => (Alloc, Shape::Address),
            15 => (Release, Shape::Address),
            16 => (Alloc, Shape::Block),
            17 => (Release, Shape::Block),
            _ => return None,
        },
        NatEventValues::Draft02 => match v {
            1 | 4 | 6 | 8 => (Alloc, Shape::Port),
            2 | 5 | 7 | 9 => (Release, Shape::Port),
            12 => (Alloc, Shape::Address),
            13 => (Release, Shape::Address),
            14 => (Alloc, Shape::Block),
            15 => (Release, Shape::Block),
            _ => return None,
        },
    })
}

fn missing(what: &str) -> ParseError {
    err(
        "parse.ipfix.missing_field",
        format!("the NAT event record has no {what}"),
    )
}

fn bad_range(why: &str) -> ParseError {
    err("parse.ipfix.bad_port_range", why.to_string())
}

/// The port range of a port block record.
fn block(l: &Layout, rec: &[u8]) -> Result<(u16, u16), ParseError> {
    let get = |s| l.get(rec, s).map(uint);
    let start = get(Slot::RangeStart).ok_or_else(|| missing("portRangeStart (361)"))?;
    if start == 0 {
        return Err(bad_range("portRangeStart is 0 (not specified)"));
    }
    let end = match (get(Slot::RangeEnd), get(Slot::RangeNum)) {
        (Some(e), _) if e != 0 => e,
        (_, Some(n)) if n != 0 => {
            let step = get(Slot::RangeStep).filter(|&s| s != 0).unwrap_or(1);
            start + (n - 1) * step
        }
        _ => {
            return Err(missing(
                "portRangeEnd (362) or portRangeNumPorts (364) (absent or 0)",
            ))
        }
    };
    if end < start {
        return Err(bad_range("portRangeEnd is before portRangeStart"));
    }
    if end > 65535 {
        return Err(bad_range(
            "portRangeStart + (portRangeNumPorts - 1) * portRangeStepSize is past 65535",
        ));
    }
    Ok((start as u16, end as u16))
}

impl Ipfix {
    /// The event one data record yields.
    fn record(
        &self,
        l: &Layout,
        rec: &[u8],
        export_time: UnixSecs,
    ) -> Result<(UnixSecs, Option<Event>), ParseError> {
        let mut time = export_time;
        for (slot, ms) in TIME_SLOTS {
            if let Some(b) = l.get(rec, slot) {
                let v = uint(b);
                let secs = if ms { v / 1000 } else { v };
                if secs > MAX_TIME as u64 {
                    return Err(err(
                        "parse.ipfix.bad_time",
                        "the record's time is after the year 9999",
                    ));
                }
                time = secs as UnixSecs;
                break;
            }
        }
        let Some(ev) = l.get(rec, Slot::NatEvent) else {
            return Ok((time, None));
        };
        let Some((op, shape)) = classify(self.values, ev[0]) else {
            return Ok((time, None));
        };
        let public = l
            .get(rec, Slot::PostNatV4)
            .ok_or_else(|| missing("postNATSourceIPv4Address (225)"))?;
        let public = IpAddr::V4(Ipv4Addr::new(public[0], public[1], public[2], public[3]));
        let inside = match (l.get(rec, Slot::SrcV6), l.get(rec, Slot::SrcV4)) {
            (Some(b), _) => {
                let a: [u8; 16] = b.try_into().expect("checked when the template was read");
                IpAddr::V6(Ipv6Addr::from(a))
            }
            (None, Some(b)) => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
            (None, None) => return Err(missing("sourceIPv4Address (8) or sourceIPv6Address (27)")),
        };
        if inside.is_unspecified() || public.is_unspecified() {
            return Err(err(
                "parse.ipfix.bad_address",
                "an address of the binding is the unspecified address (0.0.0.0 or ::)",
            ));
        }
        let port = || {
            l.get(rec, Slot::PostNaptPort)
                .map(|b| {
                    let p = uint(b) as u16;
                    (p, p)
                })
                .ok_or_else(|| missing("postNAPTSourceTransportPort (227)"))
        };
        let ports = match shape {
            Shape::Port => port()?,
            Shape::PortOrBlock if l.has(Slot::RangeStart) => block(l, rec)?,
            Shape::PortOrBlock => port()?,
            Shape::Block => block(l, rec)?,
            Shape::Address => (0, 65535),
        };
        Ok((
            time,
            Some(Event::nat_block(
                &self.origin,
                op,
                time,
                inside,
                public,
                ports,
            )),
        ))
    }
}

/// Reads one template (or options template) record at `b[at..]`: (template id, the
/// template or `None` for a withdrawal, bytes used).
fn template_record(
    b: &[u8],
    at: usize,
    options: bool,
) -> Result<(u16, Option<Template>, usize), ParseError> {
    let cut = || {
        err(
            "parse.ipfix.bad_template",
            "a template record runs past the end of its set",
        )
    };
    let id = be16(b, at);
    let count = usize::from(be16(b, at + 2));
    if count == 0 {
        return Ok((id, None, 4));
    }
    if id < 256 {
        return Err(err(
            "parse.ipfix.bad_template_id",
            format!("template id {id} is under 256"),
        ));
    }
    if count > MAX_FIELDS {
        return Err(err(
            "parse.ipfix.bad_template",
            format!("template {id} has {count} fields, more than the {MAX_FIELDS} tdr holds"),
        ));
    }
    let mut p = at + 4;
    if options {
        if b.len() < p + 2 {
            return Err(cut());
        }
        let scope = usize::from(be16(b, p));
        if scope == 0 || scope > count {
            return Err(err(
                "parse.ipfix.bad_template",
                format!(
                    "options template {id} has a scope field count of 0 or over its field count"
                ),
            ));
        }
        p += 2;
    }
    let mut lens = Vec::with_capacity(count);
    let mut slot_fields = Vec::new();
    let mut fields = [ABSENT; SLOTS];
    let mut fixed_off = [ABSENT; SLOTS];
    let mut slot_len = [0u8; SLOTS];
    let mut off = 0usize;
    let mut fixed = true;
    let mut min_len = 0usize;
    for i in 0..count {
        if b.len() < p + 4 {
            return Err(cut());
        }
        let raw = be16(b, p);
        let len = be16(b, p + 2);
        let enterprise = raw & 0x8000 != 0;
        p += 4;
        if enterprise {
            if b.len() < p + 4 {
                return Err(cut());
            }
            p += 4;
        }
        lens.push(len);
        if !enterprise {
            if let Some((slot, name, ok)) = slot_of(raw) {
                let s = slot as usize;
                if fields[s] == ABSENT {
                    if !ok.contains(&len) {
                        return Err(err(
                            "parse.ipfix.bad_field_length",
                            format!(
                                "template {id} gives {name} {} octets; tdr reads it in {}",
                                if len == VARIABLE {
                                    "a variable number of".to_string()
                                } else {
                                    len.to_string()
                                },
                                ok.iter()
                                    .map(u16::to_string)
                                    .collect::<Vec<_>>()
                                    .join(" or ")
                            ),
                        ));
                    }
                    fields[s] = i as u16;
                    slot_fields.push((i as u16, s as u8));
                    slot_len[s] = len as u8;
                    if fixed {
                        fixed_off[s] = off as u16;
                    }
                }
            }
        }
        if len == VARIABLE {
            fixed = false;
            min_len += 1;
        } else {
            off += usize::from(len);
            min_len += usize::from(len);
        }
    }
    if min_len == 0 {
        return Err(err(
            "parse.ipfix.bad_template",
            format!("template {id} defines records of no octets"),
        ));
    }
    let fixed = (fixed && off <= usize::from(u16::MAX - 1)).then_some((
        off,
        Layout {
            off: fixed_off,
            len: slot_len,
        },
    ));
    Ok((
        id,
        Some(Template {
            options,
            lens: lens.into_boxed_slice(),
            slot_fields: slot_fields.into_boxed_slice(),
            slot_len,
            fixed,
            min_len,
        }),
        p - at,
    ))
}

impl Parser for Ipfix {
    fn parse(&mut self, frame: &[u8], out: &mut Vec<Event>) -> Result<(), ParseError> {
        if frame.len() < HEADER {
            return Err(err(
                "parse.ipfix.short_header",
                format!(
                    "{} octets: shorter than the 16-octet IPFIX message header",
                    frame.len()
                ),
            ));
        }
        let version = be16(frame, 0);
        if version != 10 {
            return Err(err(
                "parse.ipfix.bad_version",
                format!("version {version}, not 10 (IPFIX)"),
            ));
        }
        let length = usize::from(be16(frame, 2));
        if length != frame.len() {
            return Err(err(
                "parse.ipfix.bad_length",
                format!(
                    "the header says {length} octets; the message has {}",
                    frame.len()
                ),
            ));
        }
        let export_time = UnixSecs::from(be32(frame, 4));
        let seq = be32(frame, 8);
        let domain_id = be32(frame, 12);
        if !self.domains.contains_key(&domain_id) && self.domains.len() >= MAX_DOMAINS {
            return Err(err(
                "parse.ipfix.too_many_domains",
                format!("more than {MAX_DOMAINS} observation domains from one exporter"),
            ));
        }
        let mut dom = self.domains.remove(&domain_id).unwrap_or_default();
        if let Some(expected) = dom.next_seq {
            let ahead = seq.wrapping_sub(expected);
            if ahead != 0 && ahead < 1 << 31 {
                self.lost += u64::from(ahead);
            }
        }
        let before = out.len();
        let result = self.sets(&mut dom, frame, export_time, out);
        dom.next_seq = match (&result, dom.next_seq) {
            (Err(_), _) => None,
            (Ok(records), Some(expected)) => {
                let behind = expected.wrapping_sub(seq);
                if behind != 0 && behind < SEQ_WINDOW {
                    // A late message: the next one still follows the latest seen.
                    Some(expected)
                } else {
                    Some(seq.wrapping_add(*records))
                }
            }
            (Ok(records), None) => Some(seq.wrapping_add(*records)),
        };
        self.domains.insert(domain_id, dom);
        self.records += u64::from(result?);
        if out.len() == before {
            out.push(Event::seen(&self.origin, export_time, Domain::Nat));
        }
        Ok(())
    }
}

impl Ipfix {
    /// Reads the sets of a message whose header is valid; returns how many data records it
    /// held.
    fn sets(
        &mut self,
        dom: &mut ObsDomain,
        msg: &[u8],
        export_time: UnixSecs,
        out: &mut Vec<Event>,
    ) -> Result<u32, ParseError> {
        let mut records = 0u32;
        // One Seen per time and message.
        let mut last_seen = None;
        let mut pos = HEADER;
        while pos < msg.len() {
            if msg.len() - pos < 4 {
                return Err(err(
                    "parse.ipfix.bad_set_length",
                    "the message ends inside a set header",
                ));
            }
            let set_id = be16(msg, pos);
            let set_len = usize::from(be16(msg, pos + 2));
            if set_len < 4 || pos + set_len > msg.len() {
                return Err(err(
                    "parse.ipfix.bad_set_length",
                    format!(
                        "set {set_id} is {set_len} octets long: under 4 or past the end of the message"
                    ),
                ));
            }
            let body = &msg[pos + 4..pos + set_len];
            pos += set_len;
            match set_id {
                2 | 3 => self.template_set(dom, body, set_id == 3)?,
                0..=255 => {} // reserved (RFC 7011 §3.3.2): nothing tdr can read
                id => {
                    let Some(t) = dom.templates.get(&id) else {
                        return Err(err(
                            "parse.ipfix.unknown_template",
                            format!(
                                "a data set of template {id}, which the exporter has not \
                                 defined in this session (yet): its records cannot be read"
                            ),
                        ));
                    };
                    records = records.wrapping_add(self.data_set(
                        t,
                        body,
                        export_time,
                        &mut last_seen,
                        out,
                    )?);
                }
            }
        }
        Ok(records)
    }

    fn template_set(
        &mut self,
        dom: &mut ObsDomain,
        body: &[u8],
        options: bool,
    ) -> Result<(), ParseError> {
        let mut at = 0;
        // What is left after the last record, under 4 octets, is padding.
        while body.len() - at >= 4 {
            let (id, t, used) = template_record(body, at, options)?;
            at += used;
            match t {
                Some(t) => {
                    let new = !dom.templates.contains_key(&id);
                    if new && self.templates >= MAX_TEMPLATES {
                        return Err(err(
                            "parse.ipfix.too_many_templates",
                            format!("more than {MAX_TEMPLATES} templates from one exporter"),
                        ));
                    }
                    dom.templates.insert(id, t);
                    self.templates += usize::from(new);
                }
                None if (id == 2 && !options) || (id == 3 && options) => {
                    // Withdraw every template (or every options template) of the domain.
                    let n = dom.templates.len();
                    dom.templates.retain(|_, t| t.options != options);
                    self.templates -= n - dom.templates.len();
                }
                None if id >= 256 => {
                    if dom.templates.remove(&id).is_some() {
                        self.templates -= 1;
                    }
                }
                None => {
                    return Err(err(
                        "parse.ipfix.bad_template_id",
                        format!("withdrawal of template id {id}, which is under 256"),
                    ))
                }
            }
        }
        padding(&body[at..], "template")
    }

    /// The events of one data set; returns how many records it held.
    fn data_set(
        &self,
        t: &Template,
        body: &[u8],
        export_time: UnixSecs,
        last_seen: &mut Option<UnixSecs>,
        out: &mut Vec<Event>,
    ) -> Result<u32, ParseError> {
        let mut at = 0;
        let mut n = 0u32;
        while body.len() - at >= t.min_len {
            let (len, layout) = t.layout(&body[at..])?;
            let rec = &body[at..at + len];
            at += len;
            n += 1;
            if t.options {
                continue;
            }
            match self.record(&layout, rec, export_time)? {
                (_, Some(e)) => out.push(e),
                (time, None) => {
                    if *last_seen != Some(time) {
                        out.push(Event::seen(&self.origin, time, Domain::Nat));
                        *last_seen = Some(time);
                    }
                }
            }
        }
        padding(&body[at..], "data")?;
        Ok(n)
    }
}

/// The end of a set after its last record: padding, which RFC 7011 §3.3.1 requires to be
/// zeros. Anything else is a record cut short.
fn padding(rest: &[u8], kind: &str) -> Result<(), ParseError> {
    if rest.iter().all(|&b| b == 0) {
        Ok(())
    } else {
        Err(err(
            "parse.ipfix.bad_record",
            format!(
                "a {kind} set ends in {} octets that are neither a record nor zero padding",
                rest.len()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::testing::{nat_block, NatParts};

    /// A set: id, length, body.
    fn set(id: u16, body: &[u8]) -> Vec<u8> {
        let mut s = id.to_be_bytes().to_vec();
        s.extend(((body.len() + 4) as u16).to_be_bytes());
        s.extend(body);
        s
    }

    /// A template record: (element, length) pairs; an element over 0x7fff is enterprise
    /// 2636's element `ie & 0x7fff`.
    fn tmpl(id: u16, fields: &[(u16, u16)]) -> Vec<u8> {
        let mut r = id.to_be_bytes().to_vec();
        r.extend((fields.len() as u16).to_be_bytes());
        for &(ie, len) in fields {
            r.extend(ie.to_be_bytes());
            r.extend(len.to_be_bytes());
            if ie & 0x8000 != 0 {
                r.extend(2636u32.to_be_bytes());
            }
        }
        r
    }

    fn msg(export: u32, seq: u32, domain: u32, sets: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = sets.concat();
        let mut m = vec![0, 10];
        m.extend(((body.len() + 16) as u16).to_be_bytes());
        m.extend(export.to_be_bytes());
        m.extend(seq.to_be_bytes());
        m.extend(domain.to_be_bytes());
        m.extend(body);
        m
    }

    const T: u32 = 1_795_255_200; // 2026-11-21T10:00:00Z
    const MS: u64 = 1_795_255_200_123;

    /// VPP's NAT44 session template (ipfix_logging.c).
    const VPP44: &[(u16, u16)] = &[
        (323, 8),
        (230, 1),
        (8, 4),
        (225, 4),
        (4, 1),
        (7, 2),
        (227, 2),
        (234, 4),
    ];

    fn vpp44(ms: u64, ev: u8, inside: [u8; 4], public: [u8; 4], port: u16) -> Vec<u8> {
        let mut r = ms.to_be_bytes().to_vec();
        r.push(ev);
        r.extend(inside);
        r.extend(public);
        r.push(6);
        r.extend(40000u16.to_be_bytes());
        r.extend(port.to_be_bytes());
        r.extend(0u32.to_be_bytes());
        r
    }

    /// An RFC 8158 port block template.
    const PBA: &[(u16, u16)] = &[
        (323, 8),
        (230, 1),
        (8, 4),
        (225, 4),
        (361, 2),
        (362, 2),
        (363, 2),
        (364, 2),
    ];

    fn pba(ev: u8, inside: [u8; 4], range: [u16; 4]) -> Vec<u8> {
        let mut r = MS.to_be_bytes().to_vec();
        r.push(ev);
        r.extend(inside);
        r.extend([198, 51, 100, 7]);
        for p in range {
            r.extend(p.to_be_bytes());
        }
        r
    }

    fn parser() -> Ipfix {
        Ipfix::new(&Context::new("cgn", 0))
    }

    fn run(p: &mut Ipfix, m: &[u8]) -> Result<Vec<Event>, ParseError> {
        let mut out = Vec::new();
        p.parse(m, &mut out)?;
        Ok(out)
    }

    fn nats(v: &[Event]) -> Vec<NatParts> {
        v.iter().map(nat_block).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn code(p: &mut Ipfix, m: &[u8]) -> &'static str {
        run(p, m).unwrap_err().code
    }

    fn seen(time: u32) -> Event {
        Event::Seen {
            time: i64::from(time),
            domain: Domain::Nat,
            source: "cgn".into(),
        }
    }

    #[test]
    fn vpp_nat44_sessions_with_their_template_in_the_same_message() {
        let mut p = parser();
        let mut data = vpp44(MS, 4, [10, 0, 0, 1], [198, 51, 100, 1], 1025);
        data.extend(vpp44(MS + 2000, 5, [10, 0, 0, 1], [198, 51, 100, 1], 1025));
        let m = msg(T, 0, 1, &[set(2, &tmpl(256, VPP44)), set(256, &data)]);
        assert_eq!(
            nats(&run(&mut p, &m).unwrap()),
            vec![
                (
                    NatOp::Alloc,
                    i64::from(T),
                    ip("10.0.0.1"),
                    ip("198.51.100.1"),
                    (1025, 1025)
                ),
                (
                    NatOp::Release,
                    i64::from(T) + 2,
                    ip("10.0.0.1"),
                    ip("198.51.100.1"),
                    (1025, 1025)
                ),
            ]
        );
        assert_eq!(p.templates_known(), 1);
        // The template stays known for later messages.
        let m = msg(
            T,
            2,
            1,
            &[set(256, &vpp44(MS, 4, [10, 0, 0, 2], [198, 51, 100, 1], 7))],
        );
        assert_eq!(nats(&run(&mut p, &m).unwrap())[0].2, ip("10.0.0.2"));
        assert_eq!(p.lost_records(), 0);
        assert_eq!(p.records_read(), 3);
    }

    #[test]
    fn nat64_and_ds_lite_inside_is_the_ipv6_address() {
        let mut p = parser();
        let t = tmpl(
            300,
            &[(323, 8), (230, 1), (27, 16), (8, 4), (225, 4), (227, 2)],
        );
        let mut r = MS.to_be_bytes().to_vec();
        r.push(10); // NAT64 BIB create
        r.extend("2001:db8::5".parse::<Ipv6Addr>().unwrap().octets());
        r.extend([192, 168, 1, 10]);
        r.extend([198, 51, 100, 4]);
        r.extend(2000u16.to_be_bytes());
        let m = msg(T, 0, 1, &[set(2, &t), set(300, &r)]);
        assert_eq!(
            nats(&run(&mut p, &m).unwrap()),
            vec![(
                NatOp::Alloc,
                i64::from(T),
                ip("2001:db8::5"),
                ip("198.51.100.4"),
                (2000, 2000)
            )]
        );
    }

    #[test]
    fn port_blocks_span_start_to_end_whatever_the_step() {
        let mut p = parser();
        let mut data = pba(16, [10, 0, 0, 1], [1024, 1535, 1, 512]);
        // End given, step 4: still 2048..4095.
        data.extend(pba(17, [10, 0, 0, 2], [2048, 4095, 4, 512]));
        // End 0 ("not specified"): start + (num - 1) * step.
        data.extend(pba(16, [10, 0, 0, 3], [1536, 0, 1, 512]));
        data.extend(pba(16, [10, 0, 0, 4], [5000, 0, 2, 100]));
        let m = msg(T, 0, 1, &[set(2, &tmpl(256, PBA)), set(256, &data)]);
        let got = nats(&run(&mut p, &m).unwrap());
        assert_eq!(
            got.iter().map(|g| (g.0, g.4)).collect::<Vec<_>>(),
            vec![
                (NatOp::Alloc, (1024, 1535)),
                (NatOp::Release, (2048, 4095)),
                (NatOp::Alloc, (1536, 2047)),
                (NatOp::Alloc, (5000, 5198)),
            ]
        );
    }

    #[test]
    fn an_address_binding_holds_the_whole_range() {
        let mut p = parser();
        let t = tmpl(256, &[(323, 8), (230, 1), (8, 4), (225, 4)]);
        let mut r = MS.to_be_bytes().to_vec();
        r.push(14);
        r.extend([10, 0, 0, 9, 198, 51, 100, 9]);
        let m = msg(T, 0, 1, &[set(2, &t), set(256, &r)]);
        assert_eq!(nats(&run(&mut p, &m).unwrap())[0].4, (0, 65535));
    }

    #[test]
    fn junos_draft_02_values() {
        let mut ctx = Context::new("cgn", 0);
        ctx.nat_event_values = NatEventValues::Draft02;
        let mut p = Ipfix::new(&ctx);
        // 14 is a port block allocation in draft-02 (an address binding in RFC 8158).
        let m = msg(
            T,
            0,
            1,
            &[
                set(2, &tmpl(256, PBA)),
                set(256, &pba(14, [10, 0, 0, 1], [1024, 1535, 1, 512])),
            ],
        );
        assert_eq!(nats(&run(&mut p, &m).unwrap())[0].4, (1024, 1535));
        // 1/2: NAT44 session create/delete; 10, 11 (ports exhausted, quota): no binding.
        let mut data = vpp44(MS, 1, [10, 0, 0, 1], [198, 51, 100, 1], 9);
        data.extend(vpp44(MS, 2, [10, 0, 0, 1], [198, 51, 100, 1], 9));
        data.extend(vpp44(MS, 10, [10, 0, 0, 1], [198, 51, 100, 1], 9));
        data.extend(vpp44(MS, 11, [10, 0, 0, 1], [198, 51, 100, 1], 9));
        let m = msg(T, 1, 1, &[set(2, &tmpl(257, VPP44)), set(257, &data)]);
        let out = run(&mut p, &m).unwrap();
        assert_eq!(
            nats(&out[..2]).iter().map(|g| g.0).collect::<Vec<_>>(),
            vec![NatOp::Alloc, NatOp::Release]
        );
        assert_eq!(out[2..], [seen(T)]);
        // The same records under RFC 8158: 10/11 are NAT64 BIB create/delete.
        let mut p = parser();
        let out = run(
            &mut p,
            &msg(T, 1, 1, &[set(2, &tmpl(257, VPP44)), set(257, &data)]),
        )
        .unwrap();
        assert_eq!(out.len(), 4);
        assert!(matches!(
            out[2],
            Event::NatBlock {
                op: NatOp::Alloc,
                ..
            }
        ));
    }

    #[test]
    fn a_historic_create_with_a_port_range_is_a_block() {
        let mut p = parser();
        let m = msg(
            T,
            0,
            1,
            &[
                set(2, &tmpl(256, PBA)),
                set(256, &pba(1, [10, 0, 0, 1], [1536, 0, 1, 512])),
            ],
        );
        assert_eq!(nats(&run(&mut p, &m).unwrap())[0].4, (1536, 2047));
    }

    #[test]
    fn records_without_a_binding_mark_coverage_once_per_time() {
        let mut p = parser();
        // VPP's addresses-exhausted template: time, natEvent 3, natPoolId.
        let t = tmpl(256, &[(323, 8), (230, 1), (283, 4)]);
        let mut data = Vec::new();
        for ms in [MS, MS + 1, MS + 5000] {
            data.extend(ms.to_be_bytes());
            data.push(3);
            data.extend(7u32.to_be_bytes());
        }
        // Cisco CGN's bulk add record: no natEvent at all.
        let cisco = tmpl(
            265,
            &[(234, 4), (235, 4), (8, 4), (225, 4), (361, 2), (362, 2)],
        );
        let rec = [
            0, 0, 0, 1, 0, 0, 0, 2, 10, 0, 0, 1, 198, 51, 100, 1, 4, 0, 5, 255,
        ];
        let m = msg(
            T,
            0,
            1,
            &[
                set(2, &[t, cisco].concat()),
                set(256, &data),
                set(265, &rec),
            ],
        );
        assert_eq!(
            run(&mut p, &m).unwrap(),
            vec![seen(T), seen(T + 5), seen(T)]
        );
    }

    #[test]
    fn a_message_of_templates_only_marks_coverage_at_its_export_time() {
        let mut p = parser();
        assert_eq!(
            run(&mut p, &msg(T, 0, 1, &[set(2, &tmpl(256, VPP44))])).unwrap(),
            vec![seen(T)]
        );
        assert_eq!(
            run(&mut p, &msg(T + 1, 0, 1, &[])).unwrap(),
            vec![seen(T + 1)]
        );
    }

    #[test]
    fn the_time_falls_back_to_other_elements_then_the_export_time() {
        let mut p = parser();
        let t = tmpl(
            256,
            &[(150, 4), (152, 8), (230, 1), (8, 4), (225, 4), (227, 2)],
        );
        let mut r = (T + 7).to_be_bytes().to_vec();
        r.extend((u64::from(T + 9) * 1000).to_be_bytes());
        r.extend([4, 10, 0, 0, 1, 198, 51, 100, 1, 0, 80]);
        let m = msg(T, 0, 1, &[set(2, &t), set(256, &r)]);
        assert_eq!(
            nats(&run(&mut p, &m).unwrap())[0].1,
            i64::from(T + 9),
            "flowStartMilliseconds first"
        );
        let t = tmpl(257, &[(230, 1), (8, 4), (225, 4), (227, 2)]);
        let m = msg(
            T + 3,
            0,
            1,
            &[
                set(2, &t),
                set(257, &[4, 10, 0, 0, 1, 198, 51, 100, 1, 0, 80]),
            ],
        );
        assert_eq!(
            nats(&run(&mut p, &m).unwrap())[0].1,
            i64::from(T + 3),
            "export time"
        );
    }

    /// Junos port block records carry observationTimeMilliseconds twice: the event's time,
    /// then the allocation's (nfdump issue #320). The first is the event's.
    #[test]
    fn the_first_of_two_observation_times_is_the_event_time() {
        let mut ctx = Context::new("cgn", 0);
        ctx.nat_event_values = NatEventValues::Draft02;
        let mut p = Ipfix::new(&ctx);
        let t = tmpl(
            256,
            &[
                (323, 8),
                (230, 1),
                (8, 4),
                (225, 4),
                (361, 2),
                (362, 2),
                (323, 8),
            ],
        );
        let mut r = (MS + 60_000).to_be_bytes().to_vec();
        r.extend([15, 10, 0, 0, 1, 198, 51, 100, 1, 4, 0, 5, 255]);
        r.extend(MS.to_be_bytes());
        let m = msg(T, 0, 1, &[set(2, &t), set(256, &r)]);
        assert_eq!(
            nats(&run(&mut p, &m).unwrap()),
            vec![(
                NatOp::Release,
                i64::from(T) + 60,
                ip("10.0.0.1"),
                ip("198.51.100.1"),
                (1024, 1535)
            )]
        );
    }

    #[test]
    fn templates_are_withdrawn_replaced_and_kept_per_domain() {
        let mut p = parser();
        run(
            &mut p,
            &msg(
                T,
                0,
                1,
                &[set(2, &[tmpl(256, VPP44), tmpl(257, PBA)].concat())],
            ),
        )
        .unwrap();
        run(&mut p, &msg(T, 0, 2, &[set(2, &tmpl(256, PBA))])).unwrap();
        assert_eq!(p.templates_known(), 3);
        // Domain 2's template 256 is a port block one; domain 1's is VPP's.
        let m = msg(
            T,
            0,
            2,
            &[set(256, &pba(16, [10, 0, 0, 1], [1024, 1535, 1, 512]))],
        );
        assert_eq!(nats(&run(&mut p, &m).unwrap())[0].4, (1024, 1535));
        let m = msg(
            T,
            0,
            1,
            &[set(256, &vpp44(MS, 4, [10, 0, 0, 1], [198, 51, 100, 1], 9))],
        );
        assert_eq!(nats(&run(&mut p, &m).unwrap())[0].4, (9, 9));
        // Withdraw 256 in domain 1: its data is unknown now, domain 2's is not.
        run(&mut p, &msg(T, 1, 1, &[set(2, &[1, 0, 0, 0])])).unwrap();
        assert_eq!(p.templates_known(), 2);
        let m = msg(
            T,
            1,
            1,
            &[set(256, &vpp44(MS, 4, [10, 0, 0, 1], [198, 51, 100, 1], 9))],
        );
        assert_eq!(code(&mut p, &m), "parse.ipfix.unknown_template");
        // A new definition replaces the old one.
        run(&mut p, &msg(T, 1, 1, &[set(2, &tmpl(257, VPP44))])).unwrap();
        assert_eq!(p.templates_known(), 2);
        let m = msg(
            T,
            1,
            1,
            &[set(257, &vpp44(MS, 5, [10, 0, 0, 1], [198, 51, 100, 1], 9))],
        );
        assert_eq!(nats(&run(&mut p, &m).unwrap())[0].0, NatOp::Release);
        // Withdraw them all (id 2): domain 2 keeps its own; an options template survives.
        let opt = [&[1u8, 44, 0, 2, 0, 1][..], &[0, 144, 0, 4, 0, 41, 0, 8]].concat();
        run(&mut p, &msg(T, 2, 1, &[set(3, &opt)])).unwrap();
        run(&mut p, &msg(T, 2, 1, &[set(2, &[0, 2, 0, 0])])).unwrap();
        assert_eq!(p.templates_known(), 2);
        assert_eq!(
            code(
                &mut p,
                &msg(
                    T,
                    2,
                    1,
                    &[set(257, &vpp44(MS, 5, [10, 0, 0, 1], [198, 51, 100, 1], 9))]
                )
            ),
            "parse.ipfix.unknown_template"
        );
        run(&mut p, &msg(T, 2, 1, &[set(3, &[0, 3, 0, 0])])).unwrap();
        assert_eq!(p.templates_known(), 1);
        // Withdrawing a template never defined changes nothing.
        run(&mut p, &msg(T, 2, 1, &[set(2, &[3, 0, 0, 0])])).unwrap();
        assert_eq!(p.templates_known(), 1);
    }

    #[test]
    fn options_records_are_read_past_and_count_in_the_sequence() {
        let mut p = parser();
        let opt = [&[1u8, 44, 0, 2, 0, 1][..], &[0, 144, 0, 4, 0, 41, 0, 8]].concat();
        let data = [[0u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5]; 3].concat();
        let m = msg(T, 10, 1, &[set(3, &opt), set(300, &data)]);
        assert_eq!(run(&mut p, &m).unwrap(), vec![seen(T)]);
        run(&mut p, &msg(T, 13, 1, &[])).unwrap();
        assert_eq!(p.lost_records(), 0);
    }

    #[test]
    fn variable_length_and_enterprise_fields_are_skipped() {
        let mut p = parser();
        // natPoolName (284) variable, an enterprise element, then the binding fields.
        let t = tmpl(
            256,
            &[
                (323, 8),
                (284, 65535),
                (0x8000 | 5, 4),
                (230, 1),
                (8, 4),
                (225, 4),
                (227, 2),
            ],
        );
        let mut data = Vec::new();
        for name in [&b"pool-a"[..], &[b'x'; 300][..], &b""[..]] {
            data.extend(MS.to_be_bytes());
            if name.len() < 255 {
                data.push(name.len() as u8);
            } else {
                data.push(255);
                data.extend((name.len() as u16).to_be_bytes());
            }
            data.extend(name);
            data.extend([0, 0, 0, 0, 4, 10, 0, 0, 1, 198, 51, 100, 1, 0, 99]);
        }
        let m = msg(T, 0, 1, &[set(2, &t), set(256, &data)]);
        assert_eq!(
            nats(&run(&mut p, &m).unwrap()),
            vec![
                (
                    NatOp::Alloc,
                    i64::from(T),
                    ip("10.0.0.1"),
                    ip("198.51.100.1"),
                    (99, 99)
                );
                3
            ]
        );
    }

    #[test]
    fn sequence_gaps_count_the_records_lost() {
        let mut p = parser();
        let rec = |port| vpp44(MS, 4, [10, 0, 0, 1], [198, 51, 100, 1], port);
        run(&mut p, &msg(T, 100, 1, &[set(2, &tmpl(256, VPP44))])).unwrap();
        run(
            &mut p,
            &msg(T, 100, 1, &[set(256, &[rec(1), rec(2)].concat())]),
        )
        .unwrap();
        assert_eq!(p.lost_records(), 0);
        // 102 expected; 105 came: 3 lost.
        run(&mut p, &msg(T, 105, 1, &[set(256, &rec(3))])).unwrap();
        assert_eq!(p.lost_records(), 3);
        // A late one (103) counts nothing and does not move the expected number (106).
        run(&mut p, &msg(T, 103, 1, &[set(256, &rec(4))])).unwrap();
        run(&mut p, &msg(T, 106, 1, &[set(256, &rec(5))])).unwrap();
        assert_eq!(p.lost_records(), 3);
        // Domains count apart: domain 2 starts fresh.
        run(&mut p, &msg(T, 9, 2, &[set(2, &tmpl(256, VPP44))])).unwrap();
        run(&mut p, &msg(T, 9, 2, &[])).unwrap();
        assert_eq!(p.lost_records(), 3);
        // A restarted exporter (far behind) restarts the count; wrapping past 2^32 is fine.
        run(&mut p, &msg(T, 0, 1, &[set(256, &rec(6))])).unwrap();
        run(&mut p, &msg(T, 1, 1, &[])).unwrap();
        assert_eq!(p.lost_records(), 3);
        let mut q = parser();
        run(
            &mut q,
            &msg(
                T,
                u32::MAX,
                1,
                &[
                    set(2, &tmpl(256, VPP44)),
                    set(256, &[rec(1), rec(2)].concat()),
                ],
            ),
        )
        .unwrap();
        run(&mut q, &msg(T, 3, 1, &[])).unwrap();
        assert_eq!(q.lost_records(), 2);
        // After a message that could not be read (its own gap counts: its header is sound),
        // the next number is unknown: no gap.
        run(&mut q, &msg(T, 50, 1, &[set(999, &[1, 2, 3, 4])])).unwrap_err();
        assert_eq!(q.lost_records(), 49);
        run(&mut q, &msg(T, 70, 1, &[])).unwrap();
        assert_eq!(q.lost_records(), 49);
    }

    /// VPP numbers messages, not records: its sequence runs behind the records' count and
    /// must never show as loss.
    #[test]
    fn an_exporter_numbering_messages_shows_no_loss() {
        let mut p = parser();
        run(&mut p, &msg(T, 0, 1, &[set(2, &tmpl(256, VPP44))])).unwrap();
        let data: Vec<u8> = (0..50)
            .flat_map(|i| vpp44(MS, 4, [10, 0, 0, 1], [198, 51, 100, 1], i))
            .collect();
        for seq in 0..3000 {
            run(&mut p, &msg(T, seq, 1, &[set(256, &data)])).unwrap();
        }
        assert_eq!(p.lost_records(), 0);
    }

    #[test]
    fn each_error_code() {
        let mut p = parser();
        let ok = msg(T, 0, 1, &[set(2, &tmpl(256, VPP44))]);
        assert_eq!(code(&mut p, &ok[..10]), "parse.ipfix.short_header");
        let mut v9 = ok.clone();
        v9[1] = 9;
        assert_eq!(code(&mut p, &v9), "parse.ipfix.bad_version");
        assert_eq!(
            code(&mut p, &[&ok[..], &[0]].concat()),
            "parse.ipfix.bad_length"
        );
        // A set longer than the message, a set of length 2, a cut set header.
        let mut m = msg(T, 0, 1, &[set(2, &tmpl(256, VPP44))]);
        m[19] += 4;
        assert_eq!(code(&mut p, &m), "parse.ipfix.bad_set_length");
        assert_eq!(
            code(&mut p, &msg(T, 0, 1, &[vec![0, 2, 0, 2]])),
            "parse.ipfix.bad_set_length"
        );
        assert_eq!(
            code(&mut p, &msg(T, 0, 1, &[vec![0, 2]])),
            "parse.ipfix.bad_set_length"
        );
        // Templates: cut, id under 256, too many fields, empty records, bad scope count.
        let t = tmpl(256, VPP44);
        assert_eq!(
            code(
                &mut p,
                &msg(T, 0, 1, &[set(2, &[&t[..], &[1, 2]].concat())])
            ),
            "parse.ipfix.bad_record"
        );
        assert_eq!(
            code(&mut p, &msg(T, 0, 1, &[set(2, &t[..t.len() - 2])])),
            "parse.ipfix.bad_template"
        );
        assert_eq!(
            code(&mut p, &msg(T, 0, 1, &[set(2, &t[..t.len() - 4])])),
            "parse.ipfix.bad_template"
        );
        assert_eq!(
            code(&mut p, &msg(T, 0, 1, &[set(2, &tmpl(255, VPP44))])),
            "parse.ipfix.bad_template_id"
        );
        assert_eq!(
            code(&mut p, &msg(T, 0, 1, &[set(2, &[0, 7, 0, 0])])),
            "parse.ipfix.bad_template_id"
        );
        assert_eq!(
            code(
                &mut p,
                &msg(T, 0, 1, &[set(2, &tmpl(256, &[(1, 4); 1025]))])
            ),
            "parse.ipfix.bad_template"
        );
        assert_eq!(
            code(&mut p, &msg(T, 0, 1, &[set(2, &tmpl(256, &[(1, 0)]))])),
            "parse.ipfix.bad_template"
        );
        assert_eq!(
            code(
                &mut p,
                &msg(T, 0, 1, &[set(3, &[1, 0, 0, 1, 0, 2, 0, 1, 0, 4])])
            ),
            "parse.ipfix.bad_template"
        );
        assert_eq!(
            code(
                &mut p,
                &msg(T, 0, 1, &[set(3, &[1, 0, 0, 1, 0, 0, 0, 1, 0, 4])])
            ),
            "parse.ipfix.bad_template"
        );
        // Elements tdr reads, in lengths it cannot read.
        for f in [
            (8, 16),
            (225, 65535),
            (227, 4),
            (230, 2),
            (323, 4),
            (322, 8),
            (27, 4),
        ] {
            assert_eq!(
                code(&mut p, &msg(T, 0, 1, &[set(2, &tmpl(256, &[f]))])),
                "parse.ipfix.bad_field_length",
                "{f:?}"
            );
        }
        // Data: unknown template, a record cut short, a variable field past its set.
        let mut p = parser();
        run(&mut p, &ok).unwrap();
        let r = vpp44(MS, 4, [10, 0, 0, 1], [198, 51, 100, 1], 1);
        assert_eq!(
            code(&mut p, &msg(T, 0, 1, &[set(300, &r)])),
            "parse.ipfix.unknown_template"
        );
        assert_eq!(
            code(&mut p, &msg(T, 0, 1, &[set(256, &r[..20])])),
            "parse.ipfix.bad_record"
        );
        run(
            &mut p,
            &msg(T, 0, 1, &[set(2, &tmpl(257, &[(284, 65535), (230, 1)]))]),
        )
        .unwrap();
        assert_eq!(
            code(&mut p, &msg(T, 0, 1, &[set(257, &[9, 1, 2])])),
            "parse.ipfix.bad_record"
        );
        assert_eq!(
            code(&mut p, &msg(T, 0, 1, &[set(257, &[255, 1])])),
            "parse.ipfix.bad_record"
        );
        // Binding events without what they need.
        run(
            &mut p,
            &msg(
                T,
                0,
                1,
                &[set(2, &tmpl(258, &[(230, 1), (8, 4), (227, 2)]))],
            ),
        )
        .unwrap();
        assert_eq!(
            code(&mut p, &msg(T, 0, 1, &[set(258, &[4, 10, 0, 0, 1, 0, 1])])),
            "parse.ipfix.missing_field"
        );
        run(
            &mut p,
            &msg(
                T,
                0,
                1,
                &[set(2, &tmpl(259, &[(230, 1), (225, 4), (227, 2)]))],
            ),
        )
        .unwrap();
        assert_eq!(
            code(&mut p, &msg(T, 0, 1, &[set(259, &[4, 10, 0, 0, 1, 0, 1])])),
            "parse.ipfix.missing_field"
        );
        run(
            &mut p,
            &msg(
                T,
                0,
                1,
                &[set(2, &tmpl(260, &[(230, 1), (8, 4), (225, 4)]))],
            ),
        )
        .unwrap();
        assert_eq!(
            code(
                &mut p,
                &msg(T, 0, 1, &[set(260, &[4, 10, 0, 0, 1, 1, 1, 1, 1])])
            ),
            "parse.ipfix.missing_field"
        );
        assert_eq!(
            code(
                &mut p,
                &msg(T, 0, 1, &[set(260, &[16, 10, 0, 0, 1, 1, 1, 1, 1])])
            ),
            "parse.ipfix.missing_field"
        );
        assert_eq!(
            code(
                &mut p,
                &msg(T, 0, 1, &[set(260, &[14, 0, 0, 0, 0, 1, 1, 1, 1])])
            ),
            "parse.ipfix.bad_address"
        );
        run(&mut p, &msg(T, 0, 1, &[set(2, &tmpl(261, PBA))])).unwrap();
        for (range, want) in [
            ([0, 10, 1, 1], "parse.ipfix.bad_port_range"),
            ([10, 5, 1, 1], "parse.ipfix.bad_port_range"),
            ([60000, 0, 10, 1000], "parse.ipfix.bad_port_range"),
            ([1024, 0, 1, 0], "parse.ipfix.missing_field"),
        ] {
            assert_eq!(
                code(
                    &mut p,
                    &msg(T, 0, 1, &[set(261, &pba(16, [10, 0, 0, 1], range))])
                ),
                want,
                "{range:?}"
            );
        }
        run(
            &mut p,
            &msg(T, 0, 1, &[set(2, &tmpl(262, &[(323, 8), (230, 1)]))]),
        )
        .unwrap();
        assert_eq!(
            code(
                &mut p,
                &msg(
                    T,
                    0,
                    1,
                    &[set(262, &[&u64::MAX.to_be_bytes()[..], &[3]].concat())]
                )
            ),
            "parse.ipfix.bad_time"
        );
    }

    #[test]
    fn templates_and_domains_are_bounded() {
        let mut p = parser();
        for d in 0..MAX_DOMAINS as u32 {
            run(&mut p, &msg(T, 0, d, &[])).unwrap();
        }
        assert_eq!(
            code(&mut p, &msg(T, 0, 9999, &[])),
            "parse.ipfix.too_many_domains"
        );
        let mut p = parser();
        let mut id = 256u16;
        let mut result = Ok(Vec::new());
        while result.is_ok() {
            let many: Vec<u8> = (0..100).flat_map(|i| tmpl(id + i, &[(1, 4)])).collect();
            id += 100;
            result = run(&mut p, &msg(T, 0, 1, &[set(2, &many)]));
        }
        assert_eq!(result.unwrap_err().code, "parse.ipfix.too_many_templates");
        assert_eq!(p.templates_known(), MAX_TEMPLATES);
    }

    #[test]
    fn reserved_sets_and_zero_padding_are_skipped() {
        let mut p = parser();
        let t = tmpl(256, VPP44);
        let mut data = vpp44(MS, 4, [10, 0, 0, 1], [198, 51, 100, 1], 1);
        data.extend([0, 0]);
        let m = msg(
            T,
            0,
            1,
            &[
                set(2, &[&t[..], &[0, 0]].concat()),
                set(100, &[1, 2, 3]),
                set(256, &data),
            ],
        );
        assert_eq!(nats(&run(&mut p, &m).unwrap()).len(), 1);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut p = parser();
            let _ = p.parse(&bytes, &mut Vec::new());
        }

        /// Messages made of valid headers and sets whose contents are random never panic,
        /// and parsing is deterministic.
        #[test]
        fn random_sets_never_panic(
            sets in proptest::collection::vec((
                proptest::sample::select(vec![2u16, 3, 4, 256, 257, 300]),
                proptest::collection::vec(proptest::sample::select(vec![0u8, 1, 2, 4, 8, 16, 255, 0x80, 230 / 2, 225, 227, 1, 0, 0, 1, 0]), 0..60),
            ), 0..5),
        ) {
            let sets: Vec<Vec<u8>> = sets.iter().map(|(id, b)| set(*id, b)).collect();
            let m = msg(T, 0, 1, &sets);
            let mut p = parser();
            let mut q = parser();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            prop_assert_eq!(p.parse(&m, &mut a), q.parse(&m, &mut b));
            prop_assert_eq!(a, b);
        }

        /// A NAT44 session record written the way VPP writes it reads back.
        #[test]
        fn round_trip(ms in 0u64..253_402_300_799_000, create in any::<bool>(), inside in 1u32.., public in 1u32.., port in any::<u16>(), seq in any::<u32>(), domain in any::<u32>()) {
            let mut p = parser();
            let ev = if create { 4 } else { 5 };
            let r = vpp44(ms, ev, inside.to_be_bytes(), public.to_be_bytes(), port);
            let m = msg(T, seq, domain, &[set(2, &tmpl(256, VPP44)), set(256, &r)]);
            let op = if create { NatOp::Alloc } else { NatOp::Release };
            prop_assert_eq!(
                nats(&run(&mut p, &m).unwrap()),
                vec![(op, (ms / 1000) as i64, IpAddr::V4(Ipv4Addr::from(inside)), IpAddr::V4(Ipv4Addr::from(public)), (port, port))]
            );
        }
    }
}
