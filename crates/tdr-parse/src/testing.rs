//! What the parsers' unit tests share.

use std::net::IpAddr;

use crate::model::{Event, NatOp, UnixSecs};
use crate::{ParseError, Parser};

/// A NAT binding's fields, for comparing in tests.
pub type NatParts = (NatOp, UnixSecs, IpAddr, IpAddr, (u16, u16));

/// The fields of a [`Event::NatBlock`]; panics on any other kind.
pub fn nat_block(e: &Event) -> NatParts {
    match e {
        Event::NatBlock {
            op,
            time,
            inside,
            public,
            ports,
            ..
        } => (*op, *time, *inside, *public, *ports),
        e => panic!("not a nat block: {e:?}"),
    }
}

/// Parses `lines` one frame each, as the importer does (a failed frame keeps no event): the
/// events and each frame's result.
pub fn run_lines(p: &mut dyn Parser, lines: &[&str]) -> (Vec<Event>, Vec<Result<(), ParseError>>) {
    let mut out = Vec::new();
    let mut res = Vec::new();
    for l in lines {
        let keep = out.len();
        let r = p.parse(l.as_bytes(), &mut out);
        if r.is_err() {
            out.truncate(keep);
        }
        res.push(r);
    }
    (out, res)
}
