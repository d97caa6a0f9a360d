//! [`Framing::Lines`](super::Framing::Lines): one record per LF-terminated line, a trailing CR dropped.

use super::{trim_cr, Framer, Step};
use crate::common::bytes::find_byte;

impl Framer {
    pub(super) fn next_line<'a>(&mut self, buf: &'a [u8], pos: usize) -> Step<'a> {
        let rest = &buf[pos..];
        match find_byte(b'\n', rest) {
            Some(nl) => Step::Frame {
                start: pos,
                next: pos + nl + 1,
                frame: self.capped(trim_cr(&rest[..nl])),
            },
            None => self.overflow(rest, pos),
        }
    }
}

/// Where the rest of a skipped over-long line ends: after its LF.
pub(super) fn skip_end(rest: &[u8]) -> Option<usize> {
    find_byte(b'\n', rest).map(|nl| nl + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::{frame_all, tests::data, Frame, Framing};

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
}
