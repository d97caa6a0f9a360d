//! [`Framing::Ipfix`](super::Framing::Ipfix): a byte stream of IPFIX messages (RFC 7011 §3.1),
//! as an IPFIX file holds them (RFC 5655: messages one after another, nothing between) or a
//! TCP transport session carries them. Each message starts with a 16-byte header whose
//! version is 10 and whose second field is the message's length in octets, header included;
//! the framer cuts by that length. A UDP datagram is one message and needs no framing.
//!
//! Outcomes, as for the other framings: a message whose length is over the cap is reported
//! `TooLong` (with its length) and skipped by that length; a header that is not IPFIX
//! (version not 10, or a length under 16) is reported `BadLength` once, then the framer looks
//! for the next plausible header (the bytes `00 0a` followed by a length of at least 16) and
//! goes on from there; a stream that ends inside a message leaves a `Tail`. Nothing between
//! messages is skipped silently: bytes that are not a message are inside a `BadLength`.

use super::{head, Frame, Framer, Step};

/// The fixed header: version, length, export time, sequence number, observation domain.
pub(super) const HEADER_LEN: usize = 16;

/// Version and length of the header at the start of `b` (at least 4 bytes).
fn version_length(b: &[u8]) -> (u16, usize) {
    (
        u16::from_be_bytes([b[0], b[1]]),
        usize::from(u16::from_be_bytes([b[2], b[3]])),
    )
}

impl Framer {
    pub(super) fn next_ipfix<'a>(&mut self, buf: &'a [u8], pos: usize) -> Step<'a> {
        let rest = &buf[pos..];
        if rest.len() < 4 {
            return Step::NeedMore;
        }
        let (version, len) = version_length(rest);
        if version != 10 || len < HEADER_LEN {
            // Not a message boundary: report it once, then look for the next header.
            self.skipping = true;
            return Step::Frame {
                start: pos,
                next: pos + 1,
                frame: Frame::BadLength { head: head(rest) },
            };
        }
        if len > self.max {
            let have = rest.len().min(len);
            self.skip_len = len - have;
            self.skipping = self.skip_len > 0;
            return Step::Frame {
                start: pos,
                next: pos + have,
                frame: Frame::TooLong {
                    head: head(&rest[..have]),
                    len: Some(len),
                },
            };
        }
        if rest.len() < len {
            return Step::NeedMore;
        }
        Step::Frame {
            start: pos,
            next: pos + len,
            frame: Frame::Data(&rest[..len]),
        }
    }

    /// After a bad header: skips to the next plausible message header in `buf[pos..]` (the
    /// bytes `00 0a` and a length of at least 16), and frames it when it starts right here.
    pub(super) fn resync_ipfix<'a>(&mut self, buf: &'a [u8], pos: usize) -> Step<'a> {
        let rest = &buf[pos..];
        let mut i = 0;
        while let Some(off) = memchr::memchr(0, &rest[i..]) {
            let at = i + off;
            if rest.len() < at + 4 {
                // Maybe a header cut by the read: keep it for the next call.
                return if at == 0 {
                    Step::NeedMore
                } else {
                    Step::Skip { next: pos + at }
                };
            }
            let (version, len) = version_length(&rest[at..]);
            if version == 10 && len >= HEADER_LEN {
                self.skipping = false;
                return if at == 0 {
                    self.next_ipfix(buf, pos)
                } else {
                    Step::Skip { next: pos + at }
                };
            }
            i = at + 1;
        }
        if rest.is_empty() {
            Step::NeedMore
        } else {
            Step::Skip {
                next: pos + rest.len(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::framing::{frame_all, Frame, Framer, Framing, Step};

    fn msg(len: u16, fill: u8) -> Vec<u8> {
        let mut m = vec![0, 10];
        m.extend_from_slice(&len.to_be_bytes());
        m.resize(usize::from(len), fill);
        m
    }

    fn kinds(v: &[(usize, Frame<'_>)]) -> Vec<(usize, String)> {
        v.iter()
            .map(|(o, f)| {
                (
                    *o,
                    match f {
                        Frame::Data(d) => format!("data {}", d.len()),
                        Frame::Tail(d) => format!("tail {}", d.len()),
                        Frame::TooLong { len, .. } => format!("too long {len:?}"),
                        Frame::BadLength { .. } => "bad".to_string(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn messages_are_cut_by_their_header_length() {
        let mut buf = msg(20, 1);
        buf.extend(msg(16, 2));
        buf.extend(&msg(30, 3)[..10]);
        assert_eq!(
            kinds(&frame_all(Framing::Ipfix, 1000, &buf)),
            vec![
                (0, "data 20".into()),
                (20, "data 16".into()),
                (36, "tail 10".into())
            ]
        );
        // A message still arriving is waited for.
        let mut f = Framer::new(Framing::Ipfix, 1000);
        assert_eq!(f.next(&msg(30, 3)[..29], 0), Step::NeedMore);
        assert_eq!(f.next(&[0, 10, 0], 0), Step::NeedMore);
    }

    #[test]
    fn a_bad_header_is_reported_once_then_the_next_header_is_found() {
        let mut buf = b"garbage\n".to_vec();
        buf.extend(msg(16, 1));
        buf.extend([0, 9, 0, 40, 0, 10, 0, 3]); // version 9; version 10 with length 3
        buf.extend(msg(18, 0));
        assert_eq!(
            kinds(&frame_all(Framing::Ipfix, 1000, &buf)),
            vec![
                (0, "bad".into()),
                (8, "data 16".into()),
                (24, "bad".into()),
                (32, "data 18".into())
            ]
        );
        // Garbage to the end: one report, nothing more.
        assert_eq!(
            kinds(&frame_all(Framing::Ipfix, 1000, b"\x01\x02\x03\x04\x05")),
            vec![(0, "bad".into())]
        );
    }

    #[test]
    fn an_overlong_message_is_reported_and_skipped_by_its_length() {
        let mut buf = msg(100, 7);
        buf.extend(msg(16, 1));
        assert_eq!(
            kinds(&frame_all(Framing::Ipfix, 64, &buf)),
            vec![(0, "too long Some(100)".into()), (100, "data 16".into())]
        );
        // Across reads: the rest of it is skipped when it comes.
        let mut f = Framer::new(Framing::Ipfix, 64);
        let first = &buf[..40];
        assert!(matches!(
            f.next(first, 0),
            Step::Frame {
                next: 40,
                frame: Frame::TooLong { len: Some(100), .. },
                ..
            }
        ));
        let second = &buf[40..];
        assert_eq!(f.next(second, 0), Step::Skip { next: 60 });
        assert!(matches!(
            f.next(second, 60),
            Step::Frame {
                frame: Frame::Data(_),
                ..
            }
        ));
    }
}
