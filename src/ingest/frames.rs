//! From bytes to parsed frames: what `tdr import` and `tdr serve` share. A reader frames its
//! stream, parses each frame and hands [`Chunk`]s of results (events, rejections, and where a
//! checkpoint may move) to the thread that applies them.

use crate::model::Event;
use crate::parse::framing::{Frame, Framer, Step, DEFAULT_MAX_FRAME};
use crate::parse::{Format, Parser};

use super::quarantine::escape;

/// A frame that did not parse, ready for the quarantine.
pub struct Rejected {
    pub code: &'static str,
    pub reason: String,
    pub raw: String,
}

pub enum Outcome {
    /// The frame parsed to this many events (the next ones in the chunk's `events`).
    Events(usize),
    Rejected(Rejected),
    /// Refused, and already in the quarantine from an earlier read of the same bytes (a
    /// restart after a crash): counted, not recorded twice.
    AlreadyQuarantined,
}

/// One frame: where it starts, what it parsed to, and, when it ends a whole record (the
/// parser holds nothing back), the offset a checkpoint may move to.
pub struct Item {
    pub offset: u64,
    pub safe_next: Option<u64>,
    pub format: Format,
    pub outcome: Outcome,
}

/// Frames from a reader to the applier, with their events in one flat list.
pub struct Chunk {
    pub items: Vec<Item>,
    pub events: Vec<Event>,
    /// Set on the last chunk of a file import: the offset where the stream ended.
    pub end: Option<u64>,
}

/// Frames per message from a reader to the applier.
pub const ITEMS_PER_CHUNK: usize = 4096;

impl Chunk {
    pub fn new() -> Chunk {
        Chunk {
            items: Vec::with_capacity(ITEMS_PER_CHUNK),
            events: Vec::with_capacity(ITEMS_PER_CHUNK),
            end: None,
        }
    }

    pub fn is_full(&self) -> bool {
        self.items.len() >= ITEMS_PER_CHUNK
    }

    /// Parses `frame` (its bytes `whole` as read, for the quarantine when it is refused
    /// unparsed) with `parser` and adds the outcome. `next`: the offset just after it.
    pub fn push_frame(
        &mut self,
        format: Format,
        parser: &mut dyn Parser,
        frame: Frame<'_>,
        whole: &[u8],
        offset: u64,
        next: u64,
    ) {
        let outcome = match crate::parse::frame_outcome(format, frame) {
            Ok(d) => {
                let before = self.events.len();
                match parser.parse(d, &mut self.events) {
                    Ok(()) => Outcome::Events(self.events.len() - before),
                    Err(e) => {
                        self.events.truncate(before);
                        Outcome::Rejected(Rejected {
                            code: e.code,
                            reason: e.reason,
                            raw: escape(d),
                        })
                    }
                }
            }
            Err(e) => Outcome::Rejected(Rejected {
                code: e.code,
                reason: e.reason,
                raw: escape(&whole[..whole.len().min(crate::parse::framing::TOO_LONG_HEAD)]),
            }),
        };
        self.items.push(Item {
            offset,
            safe_next: (!parser.pending()).then_some(next),
            format,
            outcome,
        });
    }

    /// Adds a frame refused before any parser saw it (a message whose program has no format).
    pub fn push_rejected(&mut self, format: Format, offset: u64, next: u64, r: Rejected) {
        self.items.push(Item {
            offset,
            safe_next: Some(next),
            format,
            outcome: Outcome::Rejected(r),
        });
    }
}

impl Default for Chunk {
    fn default() -> Self {
        Chunk::new()
    }
}

/// One byte stream of one format: its framer and its parser.
pub struct FrameParser {
    pub format: Format,
    framer: Framer,
    pub parser: Box<dyn Parser>,
}

impl FrameParser {
    pub fn new(format: Format, parser: Box<dyn Parser>) -> FrameParser {
        FrameParser {
            format,
            framer: Framer::new(format.framing(), DEFAULT_MAX_FRAME),
            parser,
        }
    }

    /// Frames and parses `buf`, whose first byte is at stream offset `base`, into `chunk`;
    /// `full` is called whenever the chunk is full (return false to stop). With `finish` (the
    /// stream ended and is complete) an unterminated last record is a record too; otherwise
    /// it is left for the next call. Returns how many bytes of `buf` were consumed.
    pub fn feed(
        &mut self,
        buf: &[u8],
        base: u64,
        finish: bool,
        chunk: &mut Chunk,
        full: &mut dyn FnMut(&mut Chunk) -> bool,
    ) -> Option<usize> {
        let (format, parser) = (self.format, &mut *self.parser);
        for_each_frame(&mut self.framer, buf, finish, &mut |start, next, frame| {
            chunk.push_frame(
                format,
                parser,
                frame,
                &buf[start..next],
                base + start as u64,
                base + next as u64,
            );
            !chunk.is_full() || full(chunk)
        })
    }
}

/// Feeds `parser` the whole frames of `prefix` (the part of a stream before its checkpoint)
/// and drops their events: a resumed read of a format whose parser keeps state from earlier
/// records ([`Format::replays_prefix`]: IPFIX templates) starts where an unbroken read would
/// have been. Rejected frames were quarantined when they were first read.
pub fn replay(
    format: Format,
    parser: &mut dyn Parser,
    mut prefix: impl std::io::Read,
) -> std::io::Result<()> {
    let mut framer = Framer::new(format.framing(), DEFAULT_MAX_FRAME);
    let mut buf: Vec<u8> = Vec::new();
    let mut scratch = Vec::new();
    let mut read = vec![0u8; 1 << 20];
    loop {
        let n = prefix.read(&mut read)?;
        buf.extend_from_slice(&read[..n]);
        let pos = for_each_frame(&mut framer, &buf, false, &mut |_, _, frame| {
            if let Frame::Data(d) = frame {
                let _ = parser.parse(d, &mut scratch);
                scratch.clear();
            }
            true
        })
        .unwrap_or(buf.len());
        buf.drain(..pos);
        if n == 0 {
            return Ok(());
        }
    }
}

/// Cuts `buf` into frames from its start and calls `each(start, next, frame)` for each (false
/// stops). With `finish` (the stream ended and is complete) an unterminated last record is a
/// frame too; otherwise it is left for the next call. Returns how many bytes were consumed,
/// `None` when `each` stopped.
pub fn for_each_frame(
    framer: &mut Framer,
    buf: &[u8],
    finish: bool,
    each: &mut dyn FnMut(usize, usize, Frame<'_>) -> bool,
) -> Option<usize> {
    let mut pos = 0;
    while pos < buf.len() {
        let (start, next, frame) = match framer.next(buf, pos) {
            Step::Frame { start, next, frame } => (start, next, frame),
            Step::Skip { next } => {
                pos = next;
                continue;
            }
            Step::NeedMore if finish => match framer.finish(buf, pos) {
                Some((start, frame)) => (start, buf.len(), frame),
                None => break,
            },
            Step::NeedMore => break,
        };
        pos = next;
        if !each(start, next, frame) {
            return None;
        }
    }
    Some(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resumed IPFIX read knows the templates defined before its checkpoint.
    #[test]
    fn a_replayed_prefix_restores_the_parser_state() {
        let file = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/ipfix/vpp-nat44.ipfix"),
        )
        .unwrap();
        // After the four template messages and the first data message.
        let frames = crate::parse::framing::frame_all(
            crate::parse::framing::Framing::Ipfix,
            DEFAULT_MAX_FRAME,
            &file,
        );
        let start = frames[5].0;
        let ctx = crate::parse::Context::new("cgn", 0);
        let fresh = |prefix: &[u8]| {
            let mut fp = FrameParser::new(
                Format::Ipfix,
                crate::parse::parser(Format::Ipfix, &ctx).unwrap(),
            );
            replay(Format::Ipfix, &mut *fp.parser, prefix).unwrap();
            let mut chunk = Chunk::new();
            fp.feed(&file[start..], start as u64, true, &mut chunk, &mut |_| {
                true
            });
            chunk
        };
        let resumed = fresh(&file[..start]);
        assert!(
            resumed
                .items
                .iter()
                .all(|i| matches!(i.outcome, Outcome::Events(_))),
            "every data set read"
        );
        assert_eq!(resumed.events.len(), 6 + 2 + 8);
        // Without the replay the templates are unknown.
        let cold = fresh(&[]);
        assert!(cold
            .items
            .iter()
            .all(|i| matches!(i.outcome, Outcome::Rejected(_))));
    }
}
