//! Line framing with a length cap. A frame longer than the cap is reported (so it can be
//! quarantined) and skipped up to the next LF; an unterminated tail is held back, because in an
//! append-only file it may be a record still being written.

/// Default cap on one frame, in bytes.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete line without its LF (and without a trailing CR).
    Line(&'a [u8]),
    /// A line longer than the cap; holds its first bytes, for the quarantine record.
    TooLong { head: &'a [u8], len: usize },
}

/// Cuts `buf` into LF-terminated frames. Yields `(offset_of_frame, frame)`; `consumed()` says
/// how many bytes were fully framed, the rest is an incomplete tail.
pub struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
    max: usize,
}

impl<'a> Lines<'a> {
    pub fn new(buf: &'a [u8], max: usize) -> Self {
        Lines { buf, pos: 0, max }
    }

    /// Bytes framed so far (the offset just after the last complete frame).
    pub fn consumed(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, Frame<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.pos..];
        let nl = memchr(b'\n', rest)?;
        let start = self.pos;
        self.pos += nl + 1;
        let mut line = &rest[..nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if line.len() > self.max {
            Some((
                start,
                Frame::TooLong {
                    head: &line[..256.min(line.len())],
                    len: line.len(),
                },
            ))
        } else {
            Some((start, Frame::Line(line)))
        }
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_strips_cr_and_holds_back_the_tail() {
        let buf = b"a\r\nbb\n\nccc";
        let mut it = Lines::new(buf, 10);
        assert_eq!(it.next(), Some((0, Frame::Line(b"a"))));
        assert_eq!(it.next(), Some((3, Frame::Line(b"bb"))));
        assert_eq!(it.next(), Some((6, Frame::Line(b""))));
        assert_eq!(it.next(), None);
        assert_eq!(it.consumed(), 7, "the unterminated 'ccc' is not consumed");
    }

    #[test]
    fn an_overlong_line_is_reported_not_split() {
        let buf = b"0123456789abc\nok\n";
        let v: Vec<_> = Lines::new(buf, 5).collect();
        assert_eq!(
            v[0],
            (
                0,
                Frame::TooLong {
                    head: b"0123456789abc",
                    len: 13
                }
            )
        );
        assert_eq!(v[1], (14, Frame::Line(b"ok")));
    }
}
