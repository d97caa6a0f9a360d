//! Framing: cutting a byte stream into bounded frames, one record each. Every framing has a
//! length cap. A frame longer than the cap is reported (so it can be quarantined) and skipped
//! up to its end; an unterminated tail is held back, because in an append-only file it may be a
//! record still being written.
//!
//! A [`Framer`] is fed the unframed bytes of a stream; it keeps only the state of a skip in
//! progress, so the caller may drop consumed bytes between calls.

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
}

#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete record, without its terminator.
    Data(&'a [u8]),
    /// A record longer than the cap; holds its first bytes and how long it was (when known:
    /// `None` if the record was cut off by the cap before its end was seen).
    TooLong { head: &'a [u8], len: Option<usize> },
    /// An RFC 6587 length field that is not a number or exceeds the cap.
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
        let rest = &buf[pos..];
        if self.skipping {
            return self.skip(buf, pos);
        }
        match self.kind {
            Framing::Lines => match find_byte(b'\n', rest) {
                Some(nl) => {
                    let line = trim_cr(&rest[..nl]);
                    let frame = if line.len() > self.max {
                        Frame::TooLong {
                            head: head(line),
                            len: Some(line.len()),
                        }
                    } else {
                        Frame::Data(line)
                    };
                    Step::Frame {
                        start: pos,
                        next: pos + nl + 1,
                        frame,
                    }
                }
                None => self.overflow(rest, pos),
            },
            Framing::Records => {
                // Skip leading blank lines.
                let mut lead = 0;
                while lead < rest.len() {
                    match find_byte(b'\n', &rest[lead..]) {
                        Some(nl) if is_blank(&rest[lead..lead + nl]) => lead += nl + 1,
                        _ => break,
                    }
                }
                if lead > 0 {
                    return Step::Skip { next: pos + lead };
                }
                match record_end(rest) {
                    Some((end, next)) => {
                        let rec = &rest[..end];
                        let frame = if rec.len() > self.max {
                            Frame::TooLong {
                                head: head(rec),
                                len: Some(rec.len()),
                            }
                        } else {
                            Frame::Data(rec)
                        };
                        Step::Frame {
                            start: pos,
                            next: pos + next,
                            frame,
                        }
                    }
                    None => self.overflow(rest, pos),
                }
            }
            Framing::Statements => {
                let lead = skip_space_and_comments(rest);
                if lead > 0 {
                    return Step::Skip { next: pos + lead };
                }
                match statement_end(rest, self.max) {
                    Scan::End(end) => Step::Frame {
                        start: pos,
                        next: pos + end,
                        frame: Frame::Data(&rest[..end]),
                    },
                    Scan::More => Step::NeedMore,
                    Scan::TooLong => {
                        self.skipping = true;
                        Step::Frame {
                            start: pos,
                            next: pos + self.max,
                            frame: Frame::TooLong {
                                head: head(rest),
                                len: None,
                            },
                        }
                    }
                }
            }
            Framing::Syslog => {
                let lead = rest
                    .iter()
                    .take_while(|b| matches!(b, b'\n' | b'\r' | b' ' | b'\0'))
                    .count();
                if lead > 0 {
                    return Step::Skip { next: pos + lead };
                }
                if rest.first().is_some_and(u8::is_ascii_digit) {
                    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                    if digits == rest.len() {
                        return if digits > 10 {
                            self.bad_length(rest, pos, digits)
                        } else {
                            Step::NeedMore
                        };
                    }
                    if rest[digits] != b' ' || digits > 10 {
                        return self.bad_length(rest, pos, digits);
                    }
                    let len: usize = std::str::from_utf8(&rest[..digits])
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(usize::MAX);
                    let body = digits + 1;
                    if len > self.max {
                        self.skipping = true;
                        self.skip_len = len;
                        let have = (rest.len() - body).min(len);
                        self.skip_len -= have;
                        if self.skip_len == 0 {
                            self.skipping = false;
                        }
                        return Step::Frame {
                            start: pos,
                            next: pos + body + have,
                            frame: Frame::TooLong {
                                head: head(&rest[body..body + have]),
                                len: Some(len),
                            },
                        };
                    }
                    if rest.len() - body < len {
                        return Step::NeedMore;
                    }
                    let msg = &rest[body..body + len];
                    Step::Frame {
                        start: pos,
                        next: pos + body + len,
                        frame: Frame::Data(trim_lf(msg)),
                    }
                } else {
                    let mut lines = Framer::new(Framing::Lines, self.max);
                    let step = lines.next(buf, pos);
                    self.skipping = lines.skipping;
                    step
                }
            }
        }
    }

    /// The stream has ended: what to make of the unframed rest `buf[pos..]`. A rotated or
    /// closed file's last record may lack its terminator; an empty or blank rest is nothing.
    pub fn finish<'a>(&mut self, buf: &'a [u8], pos: usize) -> Option<(usize, Frame<'a>)> {
        let rest = &buf[pos..];
        if self.skipping || rest.iter().all(u8::is_ascii_whitespace) {
            self.skipping = false;
            return None;
        }
        let data = match self.kind {
            Framing::Lines | Framing::Syslog => trim_cr(rest),
            Framing::Records => trim_trailing_space(rest),
            Framing::Statements => trim_trailing_space(rest),
        };
        if data.len() > self.max {
            return Some((
                pos,
                Frame::TooLong {
                    head: head(data),
                    len: Some(data.len()),
                },
            ));
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

    fn bad_length<'a>(&mut self, rest: &'a [u8], pos: usize, digits: usize) -> Step<'a> {
        // Resynchronise at the next LF: the best guess at a frame boundary.
        let next = match find_byte(b'\n', rest) {
            Some(nl) => nl + 1,
            None => {
                self.skipping = true;
                rest.len()
            }
        };
        Step::Frame {
            start: pos,
            next: pos + next,
            frame: Frame::BadLength {
                head: head(&rest[..next.max(digits.min(rest.len()))]),
            },
        }
    }

    /// Skipping the rest of an over-long frame.
    fn skip<'a>(&mut self, buf: &'a [u8], pos: usize) -> Step<'a> {
        let rest = &buf[pos..];
        if rest.is_empty() {
            return Step::NeedMore;
        }
        if self.kind == Framing::Syslog && self.skip_len > 0 {
            let n = self.skip_len.min(rest.len());
            self.skip_len -= n;
            if self.skip_len == 0 {
                self.skipping = false;
            }
            return Step::Skip { next: pos + n };
        }
        let end = match self.kind {
            Framing::Lines | Framing::Syslog => find_byte(b'\n', rest).map(|nl| nl + 1),
            Framing::Records => record_end(rest).map(|(_, next)| next),
            // The dhcpd.leases writer closes every top-level block with "}" alone on a line.
            Framing::Statements => find_sub(rest, b"\n}\n").map(|i| i + 3),
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

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// End of a blank-line separated record: (end of its data, start of what follows the blank
/// line). The data keeps its final LF out.
fn record_end(rest: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(nl) = find_byte(b'\n', &rest[i..]) {
        let line_end = i + nl; // index of this LF
        let next = line_end + 1;
        // Is the line after this LF blank (and terminated)?
        if let Some(nl2) = find_byte(b'\n', &rest[next..]) {
            if is_blank(&rest[next..next + nl2]) {
                return Some((line_end, next + nl2 + 1));
            }
            i = next;
        } else {
            return None;
        }
    }
    None
}

fn skip_space_and_comments(rest: &[u8]) -> usize {
    let mut i = 0;
    loop {
        while i < rest.len() && rest[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < rest.len() && rest[i] == b'#' {
            match find_byte(b'\n', &rest[i..]) {
                Some(nl) => i += nl + 1,
                None => return i, // a comment still being written
            }
        } else {
            return i;
        }
    }
}

enum Scan {
    End(usize),
    More,
    TooLong,
}

/// Scans one top-level statement: ends after a `;` at depth 0 or after the `}` that closes
/// the outermost block.
fn statement_end(rest: &[u8], max: usize) -> Scan {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut esc = false;
    let mut comment = false;
    for (i, &b) in rest.iter().enumerate() {
        if i >= max {
            return Scan::TooLong;
        }
        if comment {
            comment = b != b'\n';
            continue;
        }
        if in_str {
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'#' => comment = true,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Scan::End(i + 1);
                }
            }
            b';' if depth == 0 => return Scan::End(i + 1),
            _ => {}
        }
    }
    if rest.len() > max {
        Scan::TooLong
    } else {
        Scan::More
    }
}

pub fn find_byte(needle: u8, hay: &[u8]) -> Option<usize> {
    memchr::memchr(needle, hay)
}

fn find_sub(hay: &[u8], needle: &[u8]) -> Option<usize> {
    find(hay, needle)
}

/// First occurrence of `needle` in `hay`; `None` for an empty needle.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

/// Last occurrence of `needle` in `hay`; `None` for an empty needle.
pub fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::rfind(hay, needle)
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
mod tests {
    use super::*;

    fn data(v: &[(usize, Frame<'_>)]) -> Vec<(usize, String)> {
        v.iter()
            .map(|(o, f)| match f {
                Frame::Data(d) | Frame::Tail(d) => (*o, String::from_utf8_lossy(d).into_owned()),
                Frame::TooLong { len, .. } => (*o, format!("<too long {len:?}>")),
                Frame::BadLength { .. } => (*o, "<bad length>".into()),
            })
            .collect()
    }

    #[test]
    fn lines_strip_cr_and_hold_back_the_tail() {
        let buf = b"a\r\nbb\n\nccc";
        let mut f = Framer::new(Framing::Lines, 10);
        assert_eq!(
            f.next(buf, 0),
            Step::Frame {
                start: 0,
                next: 3,
                frame: Frame::Data(b"a")
            }
        );
        assert!(matches!(f.next(buf, 3), Step::Frame { next: 6, .. }));
        assert!(matches!(f.next(buf, 6), Step::Frame { next: 7, .. }));
        assert_eq!(f.next(buf, 7), Step::NeedMore, "'ccc' is held back");
        assert_eq!(f.finish(buf, 7), Some((7, Frame::Tail(b"ccc"))));
    }

    #[test]
    fn an_overlong_line_is_reported_once_and_skipped() {
        let buf = b"0123456789abc\nok\n";
        assert_eq!(
            data(&frame_all(Framing::Lines, 5, buf)),
            vec![(0, "<too long Some(13)>".into()), (14, "ok".into())]
        );
        // Without its LF yet: reported as soon as it passes the cap, then skipped to the LF.
        let mut f = Framer::new(Framing::Lines, 5);
        let part = b"0123456789";
        assert!(matches!(
            f.next(part, 0),
            Step::Frame {
                frame: Frame::TooLong { len: None, .. },
                ..
            }
        ));
        let more = b"abc\nok\n";
        assert_eq!(f.next(more, 0), Step::Skip { next: 4 });
        assert!(matches!(
            f.next(more, 4),
            Step::Frame {
                frame: Frame::Data(b"ok"),
                ..
            }
        ));
    }

    #[test]
    fn records_are_separated_by_blank_lines() {
        let buf = b"\nTue Jun  9 00:03:48 2015\n\tA = 1\n\n\n  \nWed\n\tB = 2\n\nThu\n\tC";
        let v = data(&frame_all(Framing::Records, 1000, buf));
        assert_eq!(
            v,
            vec![
                (1, "Tue Jun  9 00:03:48 2015\n\tA = 1".into()),
                (38, "Wed\n\tB = 2".into()),
                (50, "Thu\n\tC".into()),
            ]
        );
        // The unterminated last record is held back until the stream ends.
        let mut f = Framer::new(Framing::Records, 1000);
        assert_eq!(f.next(b"Thu\n\tC = 3\n", 0), Step::NeedMore);
    }

    #[test]
    fn statements_respect_strings_comments_and_nesting() {
        let buf = b"# header\nauthoring-byte-order little-endian;\n\nlease 10.0.0.1 {\n  uid \"a}\\\";{\";\n  on expiry { log(\"x\"); }\n  # } not the end\n}\nlease 10.0.0.2 {\n  starts";
        let v = data(&frame_all(Framing::Statements, 1000, buf));
        assert_eq!(v[0].1, "authoring-byte-order little-endian;");
        assert!(v[1].1.starts_with("lease 10.0.0.1 {"));
        assert!(v[1].1.ends_with("# } not the end\n}"));
        assert_eq!(v[2].1, "lease 10.0.0.2 {\n  starts", "the tail at the end");
        let mut f = Framer::new(Framing::Statements, 1000);
        assert_eq!(f.next(b"lease 1.2.3.4 { starts 1;", 0), Step::NeedMore);
    }

    #[test]
    fn syslog_stream_mixes_octet_counting_and_lines() {
        let buf = b"11 <13>1 - - x\n<13>hello\n5 abcde";
        let v = data(&frame_all(Framing::Syslog, 100, buf));
        assert_eq!(v[0].1, "<13>1 - - x");
        assert_eq!(v[1].1, "<13>hello");
        assert_eq!(v[2].1, "abcde");
        let v = data(&frame_all(Framing::Syslog, 100, b"12x <13>\nok\n"));
        assert_eq!(v[0].1, "<bad length>");
        assert_eq!(v[1].1, "ok");
        let v = data(&frame_all(Framing::Syslog, 4, b"10 0123456789ok\n"));
        assert_eq!(v[0].1, "<too long Some(10)>");
        assert_eq!(v[1].1, "ok");
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_frame_with_progress_and_bounded_frames(
            bytes in proptest::collection::vec(proptest::sample::select(b"ab \n\r\t;{}\"\\#0123456789<>".to_vec()), 0..400),
            max in 1usize..40,
        ) {
            for kind in [Framing::Lines, Framing::Records, Framing::Statements, Framing::Syslog] {
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
