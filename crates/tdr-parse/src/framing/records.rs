//! [`Framing::Records`](super::Framing::Records): records separated by one or more blank lines (FreeRADIUS
//! `detail`).

use super::{Framer, Step};
use crate::common::bytes::find_byte;

impl Framer {
    pub(super) fn next_record<'a>(&mut self, buf: &'a [u8], pos: usize) -> Step<'a> {
        let rest = &buf[pos..];
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
            Some((end, next)) => Step::Frame {
                start: pos,
                next: pos + next,
                frame: self.capped(&rest[..end]),
            },
            None => self.overflow(rest, pos),
        }
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// End of a blank-line separated record: (end of its data, start of what follows the blank
/// line). The data keeps its final LF out.
pub(super) fn record_end(rest: &[u8]) -> Option<(usize, usize)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::{frame_all, tests::data, Framing};

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
}
