//! [`Framing::Syslog`](super::Framing::Syslog): syslog over a stream (RFC 6587). A frame that starts with a digit is
//! octet counted (`<len> <msg>`); any other is LF-delimited, as in [`Framing::Lines`](super::Framing::Lines).

use super::{head, trim_lf, Frame, Framer, Framing, Step};
use crate::common::bytes::find_byte;

impl Framer {
    pub(super) fn next_syslog<'a>(&mut self, buf: &'a [u8], pos: usize) -> Step<'a> {
        let rest = &buf[pos..];
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

    /// Skipping the rest of an octet-counted over-long frame: `None` when the skip is not
    /// counted (an over-long line, which ends at its LF).
    pub(super) fn skip_counted(&mut self, rest: &[u8], pos: usize) -> Option<Step<'static>> {
        if self.skip_len == 0 {
            return None;
        }
        let n = self.skip_len.min(rest.len());
        self.skip_len -= n;
        if self.skip_len == 0 {
            self.skipping = false;
        }
        Some(Step::Skip { next: pos + n })
    }
}

#[cfg(test)]
mod tests {
    use crate::framing::{frame_all, tests::data, Framing};

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
}
