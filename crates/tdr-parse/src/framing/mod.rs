//! Framing: cutting a byte stream into bounded frames, one record each. Every framing has a
//! length cap. A frame longer than the cap is reported (so it can be quarantined) and skipped
//! up to its end; an unterminated tail is held back, because in an append-only file it may be a
//! record still being written.
//!
//! A [`Framer`] is fed the unframed bytes of a stream; it keeps only the state of a skip in
//! progress, so the caller may drop consumed bytes between calls. Each [`Framing`] is cut in
//! its own file: `lines.rs`, `records.rs`, `statements.rs`, `octet_counting.rs` (syslog) and
//! `ipfix.rs` (binary IPFIX messages, cut by the length in their header).

mod ipfix;
mod lines;
mod octet_counting;
mod records;
mod statements;

/// Default cap on one frame, in bytes.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;

/// How many bytes of an over-long frame are kept for the quarantine record.
pub const TOO_LONG_HEAD: usize = 256;

/// How a format's records are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One record per LF-terminated line (a trailing CR is dropped).
    Lines,
    /// Records separated by one or more blank lines (FreeRADIUS `detail`).
    Records,
    /// Top-level statements ending in `;` or in a brace block (`dhcpd.leases`), with quoted
    /// strings, backslash escapes and `#` comments.
    Statements,
    /// Syslog over a stream: RFC 6587 octet counting (`<len> <msg>`) when a frame starts with a
    /// digit, otherwise LF-delimited.
    Syslog,
    /// Binary IPFIX messages one after another (an IPFIX file, RFC 5655, or a TCP transport
    /// session), each cut by the length in its 16-byte header (RFC 7011 §3.1).
    Ipfix,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete record, without its terminator.
    Data(&'a [u8]),
    /// A record longer than the cap; holds its first bytes and how long it was (when known:
    /// `None` if the record was cut off by the cap before its end was seen).
    TooLong { head: &'a [u8], len: Option<usize> },
    /// An RFC 6587 length field that is not a number or exceeds the cap; for IPFIX, a header
    /// that is not version 10 with a length of at least 16 (and the bytes up to the next one).
    BadLength { head: &'a [u8] },
    /// The unterminated rest of a stream that ended (see [`Framer::finish`]): a record the
    /// writer may have stopped in the middle of. Only self-delimiting formats may parse it; a
    /// cut line can look valid (`10.0.0.12` cut to `10.0.0.1`).
    Tail(&'a [u8]),
}

/// One step of framing.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// A frame starting at `start`; the next one starts at or after `next`.
    Frame {
        start: usize,
        next: usize,
        frame: Frame<'a>,
    },
    /// Bytes up to `next` were part of an over-long frame already reported, or blank
    /// separators; nothing to parse.
    Skip { next: usize },
    /// The rest of the buffer is an incomplete frame: more bytes are needed (or the stream
    /// ended, see [`Framer::finish`]).
    NeedMore,
}

#[derive(Debug, Clone)]
pub struct Framer {
    kind: Framing,
    max: usize,
    /// Inside an over-long frame already reported: skip to its end.
    skipping: bool,
    /// For octet counting: bytes of the current over-long frame still to skip.
    skip_len: usize,
}

impl Framer {
    pub fn new(kind: Framing, max: usize) -> Self {
        Framer {
            kind,
            max,
            skipping: false,
            skip_len: 0,
        }
    }

    pub fn kind(&self) -> Framing {
        self.kind
    }

    /// The next step for `buf[pos..]`.
    pub fn next<'a>(&mut self, buf: &'a [u8], pos: usize) -> Step<'a> {
        if self.skipping {
            return self.skip(buf, pos);
        }
        match self.kind {
            Framing::Lines => self.next_line(buf, pos),
            Framing::Records => self.next_record(buf, pos),
            Framing::Statements => self.next_statement(buf, pos),
            Framing::Syslog => self.next_syslog(buf, pos),
            Framing::Ipfix => self.next_ipfix(buf, pos),
        }
    }

    /// The stream has ended: what to make of the unframed rest `buf[pos..]`. A rotated or
    /// closed file's last record may lack its terminator; an empty or blank rest is nothing.
    pub fn finish<'a>(&mut self, buf: &'a [u8], pos: usize) -> Option<(usize, Frame<'a>)> {
        let rest = &buf[pos..];
        // Binary messages have no blank separators: any byte left is part of a message.
        let blank = if self.kind == Framing::Ipfix {
            rest.is_empty()
        } else {
            rest.iter().all(u8::is_ascii_whitespace)
        };
        if self.skipping || blank {
            self.skipping = false;
            self.skip_len = 0;
            return None;
        }
        let data = match self.kind {
            Framing::Ipfix => rest,
            Framing::Lines | Framing::Syslog => trim_cr(rest),
            Framing::Records => trim_trailing_space(rest),
            Framing::Statements => trim_trailing_space(rest),
        };
        if data.len() > self.max {
            return Some((pos, self.capped(data)));
        }
        // A record whose last line is whole lacks only the blank separator, which writers
        // omit at the end of a file; anything else was cut mid-line.
        if self.kind == Framing::Records && rest.ends_with(b"\n") {
            return Some((pos, Frame::Data(data)));
        }
        Some((pos, Frame::Tail(data)))
    }

    /// No terminator in `rest`: wait for more, unless the frame is already over the cap.
    fn overflow<'a>(&mut self, rest: &'a [u8], pos: usize) -> Step<'a> {
        if rest.len() <= self.max + 2 {
            return Step::NeedMore;
        }
        self.skipping = true;
        Step::Frame {
            start: pos,
            next: pos + rest.len(),
            frame: Frame::TooLong {
                head: head(rest),
                len: None,
            },
        }
    }

    /// A whole record: its data, or over the cap, its head and length.
    fn capped<'a>(&self, data: &'a [u8]) -> Frame<'a> {
        if data.len() > self.max {
            Frame::TooLong {
                head: head(data),
                len: Some(data.len()),
            }
        } else {
            Frame::Data(data)
        }
    }

    /// Skipping the rest of an over-long frame.
    fn skip<'a>(&mut self, buf: &'a [u8], pos: usize) -> Step<'a> {
        let rest = &buf[pos..];
        if rest.is_empty() {
            return Step::NeedMore;
        }
        if matches!(self.kind, Framing::Syslog | Framing::Ipfix) {
            if let Some(step) = self.skip_counted(rest, pos) {
                return step;
            }
        }
        let end = match self.kind {
            Framing::Ipfix => return self.resync_ipfix(buf, pos),
            Framing::Lines | Framing::Syslog => lines::skip_end(rest),
            Framing::Records => records::record_end(rest).map(|(_, next)| next),
            Framing::Statements => statements::skip_end(rest),
        };
        match end {
            Some(n) => {
                self.skipping = false;
                Step::Skip { next: pos + n }
            }
            // Keep a few bytes: the terminator may straddle the read boundary.
            None if rest.len() > 4 => Step::Skip {
                next: pos + rest.len() - 3,
            },
            None => Step::NeedMore,
        }
    }
}

fn head(b: &[u8]) -> &[u8] {
    &b[..TOO_LONG_HEAD.min(b.len())]
}

fn trim_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn trim_lf(l: &[u8]) -> &[u8] {
    let l = l.strip_suffix(b"\n").unwrap_or(l);
    trim_cr(l)
}

fn trim_trailing_space(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    &b[..b.len() - n]
}

/// Frames a whole buffer (tests, fuzzing, benches): every step until more input would be
/// needed, then the end of the stream.
pub fn frame_all(kind: Framing, max: usize, buf: &[u8]) -> Vec<(usize, Frame<'_>)> {
    let mut f = Framer::new(kind, max);
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        match f.next(buf, pos) {
            Step::Frame { start, next, frame } => {
                out.push((start, frame));
                assert!(next > pos, "framing must make progress");
                pos = next;
            }
            Step::Skip { next } => {
                assert!(next > pos, "framing must make progress");
                pos = next;
            }
            Step::NeedMore => break,
        }
    }
    if let Some(last) = f.finish(buf, pos) {
        out.push(last);
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Each frame as text, for comparing in tests.
    pub(crate) fn data(v: &[(usize, Frame<'_>)]) -> Vec<(usize, String)> {
        v.iter()
            .map(|(o, f)| match f {
                Frame::Data(d) | Frame::Tail(d) => (*o, String::from_utf8_lossy(d).into_owned()),
                Frame::TooLong { len, .. } => (*o, format!("<too long {len:?}>")),
                Frame::BadLength { .. } => (*o, "<bad length>".into()),
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_frame_with_progress_and_bounded_frames(
            bytes in proptest::collection::vec(proptest::sample::select(b"ab \n\r\t;{}\"\\#0123456789<>".to_vec()), 0..400),
            max in 1usize..40,
        ) {
            for kind in [Framing::Lines, Framing::Records, Framing::Statements, Framing::Syslog, Framing::Ipfix] {
                for (off, f) in frame_all(kind, max, &bytes) {
                    proptest::prop_assert!(off <= bytes.len());
                    if let Frame::Data(d) | Frame::Tail(d) = f {
                        proptest::prop_assert!(d.len() <= max, "{kind:?} frame over the cap");
                    }
                }
            }
        }
    }
}
