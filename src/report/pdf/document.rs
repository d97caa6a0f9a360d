//! The document model ([`Document`], [`Block`], [`Text`]) and its layout on A4 pages: line
//! wrapping, tables whose rows move (or, when taller than a page, split) to the next page with
//! the header repeated, headings kept with what follows, and the footer with "Sida n av m".
//!
//! Layout only places text and lines; it knows no PDF syntax (that is `writer.rs`).

use super::fonts::font;

/// A4 in points.
pub(super) const PAGE_W: f32 = 595.276;
pub(super) const PAGE_H: f32 = 841.89;
const MARGIN_X: f32 = 56.0;
const TOP: f32 = PAGE_H - 56.0;
/// The lowest a body line may reach; the footer sits below.
const BOTTOM: f32 = 62.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN_X;

const BODY: f32 = 9.5;
const SMALL: f32 = 8.0;
const LEADING: f32 = 1.3;
const CELL_PAD_X: f32 = 3.5;
const CELL_PAD_Y: f32 = 2.5;
const BOX_PAD: f32 = 6.0;

/// How a piece of text is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Style {
    /// DejaVu Serif.
    Regular,
    /// DejaVu Serif Bold.
    Bold,
    /// DejaVu Sans Mono: identifiers, digests, codes.
    Mono,
}

/// A run of text in one style.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub style: Style,
    pub text: String,
}

/// Text that wraps: a sequence of styled spans. A `'\n'` in a span is a line break; other
/// whitespace separates words (runs of it count as one space). A word wider than the line is
/// broken between characters (digests, long identifiers).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Text {
    pub spans: Vec<Span>,
}

impl Text {
    /// Regular text.
    pub fn plain(s: impl Into<String>) -> Text {
        Text::default().with(Style::Regular, s)
    }
    /// Bold text.
    pub fn bold(s: impl Into<String>) -> Text {
        Text::default().with(Style::Bold, s)
    }
    /// Monospace text.
    pub fn mono(s: impl Into<String>) -> Text {
        Text::default().with(Style::Mono, s)
    }
    /// This text followed by `s` in `style`.
    pub fn with(mut self, style: Style, s: impl Into<String>) -> Text {
        self.spans.push(Span {
            style,
            text: s.into(),
        });
        self
    }
    /// This text followed by regular `s`.
    pub fn with_plain(self, s: impl Into<String>) -> Text {
        self.with(Style::Regular, s)
    }
    /// This text followed by bold `s`.
    pub fn with_bold(self, s: impl Into<String>) -> Text {
        self.with(Style::Bold, s)
    }
    /// This text followed by monospace `s`.
    pub fn with_mono(self, s: impl Into<String>) -> Text {
        self.with(Style::Mono, s)
    }
    /// All the text, without styles.
    pub fn to_plain_string(&self) -> String {
        self.spans.iter().map(|s| s.text.as_str()).collect()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::plain(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::plain(s)
    }
}

/// A table: relative column widths, an optional header row (repeated on every page the table
/// continues on) and rows of cells. With `label_column` the first column is set in bold on a
/// grey ground, as the labels of a key/value table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub widths: Vec<f32>,
    pub header: Option<Vec<Text>>,
    pub rows: Vec<Vec<Text>>,
    pub label_column: bool,
}

/// One part of a document, laid out top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// The document's title: large and bold.
    Title(String),
    /// A section heading with a rule under it; never the last thing on a page.
    Heading(String),
    /// A smaller heading inside a section; never the last thing on a page.
    Subheading(String),
    /// Body text.
    Paragraph(Text),
    /// Smaller body text (notes, explanations).
    Small(Text),
    /// Labels and their values, two columns (labels 28% of the width, so that a SHA-256 in
    /// monospace fits on one line beside them).
    KeyValue(Vec<(String, Text)>),
    /// A table.
    Table(Table),
    /// Monospace lines, each broken between characters where wider than the page (digests).
    Mono(Vec<String>),
    /// Text in a framed box, for what a reader must not miss (warnings).
    Notice(Text),
    /// Vertical space in points (dropped at the top of a page).
    Space(f32),
    /// Start a new page.
    PageBreak,
}

/// A document to render as PDF/A-2b with [`Document::to_pdf`]: metadata and blocks.
///
/// Pages are A4 with 20 mm side margins; every page has a footer with `footer` on the left and
/// "Sida n av m" on the right. The output depends on nothing but the document (no clock, no
/// randomness): the same document gives the same bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Title (PDF Info and XMP `dc:title`).
    pub title: String,
    /// Author (Info `Author`, XMP `dc:creator`): the operator.
    pub author: String,
    /// Subject (Info `Subject`, XMP `dc:description`); empty for none.
    pub subject: String,
    /// Keywords (Info `Keywords`, XMP `pdf:Keywords`); empty for none.
    pub keywords: String,
    /// BCP 47 language of the text, e.g. "sv-SE" (catalog `Lang`, XMP `dc:language`).
    pub language: String,
    /// Unix seconds: creation and modification date. Pass the time the content is of (a
    /// report's `generated_at`), never the wall clock, so the bytes are reproducible.
    pub created: i64,
    /// Left part of every page's footer.
    pub footer: String,
    pub blocks: Vec<Block>,
}

impl Document {
    /// A document with the given title and no content.
    pub fn new(title: impl Into<String>, author: impl Into<String>, created: i64) -> Document {
        Document {
            title: title.into(),
            author: author.into(),
            subject: String::new(),
            keywords: String::new(),
            language: "sv-SE".into(),
            created,
            footer: String::new(),
            blocks: Vec::new(),
        }
    }

    /// Appends a block.
    pub fn push(&mut self, block: Block) -> &mut Self {
        self.blocks.push(block);
        self
    }

    /// The document as PDF/A-2b bytes.
    pub fn to_pdf(&self) -> Vec<u8> {
        super::writer::write(self, &self.layout())
    }

    /// The pages as drawing operations, footers included.
    pub(super) fn layout(&self) -> Vec<Vec<Op>> {
        let mut l = Layout::new();
        for b in &self.blocks {
            l.block(b);
        }
        let mut pages = l.pages;
        let n = pages.len();
        for (i, ops) in pages.iter_mut().enumerate() {
            footer(ops, &self.footer, i + 1, n);
        }
        pages
    }
}

/// A colour: device grey or sRGB (the document's output intent is sRGB).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Color {
    Gray(f32),
    Rgb(f32, f32, f32),
}

const BLACK: Color = Color::Gray(0.0);
const RULE: Color = Color::Gray(0.45);
const LABEL_FILL: Color = Color::Gray(0.93);
const NOTICE_FILL: Color = Color::Rgb(1.0, 0.96, 0.94);
const NOTICE_STROKE: Color = Color::Rgb(0.65, 0.0, 0.0);

/// A drawing operation on a page, in PDF coordinates (points, origin bottom left).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Op {
    /// Text on one line; `y` is the baseline.
    Text {
        x: f32,
        y: f32,
        size: f32,
        style: Style,
        text: String,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
        color: Color,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<Color>,
        stroke: Option<(Color, f32)>,
    },
}

/// One styled piece of a laid-out line, `x` from the line's start.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Run {
    pub style: Style,
    pub text: String,
    pub x: f32,
}

/// A laid-out line.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Line {
    pub runs: Vec<Run>,
    pub width: f32,
}

impl Line {
    fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    fn push_char(&mut self, style: Style, c: char, w: f32) {
        match self.runs.last_mut() {
            Some(r) if r.style == style => r.text.push(c),
            _ => self.runs.push(Run {
                style,
                text: c.to_string(),
                x: self.width,
            }),
        }
        self.width += w;
    }
}

enum Token {
    /// Characters with no whitespace between them, possibly in several styles.
    Word(Vec<(Style, char)>),
    Space(Style),
    Break,
}

fn tokens(text: &Text) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word: Vec<(Style, char)> = Vec::new();
    for span in &text.spans {
        for c in span.text.chars() {
            if c == '\n' || c.is_whitespace() {
                if !word.is_empty() {
                    out.push(Token::Word(std::mem::take(&mut word)));
                }
                out.push(if c == '\n' {
                    Token::Break
                } else {
                    Token::Space(span.style)
                });
            } else {
                word.push((span.style, c));
            }
        }
    }
    if !word.is_empty() {
        out.push(Token::Word(word));
    }
    out
}

/// Breaks `text` set at `size` into lines no wider than `max`: greedy, at spaces, and between
/// characters inside a word wider than a line. Always at least one line (maybe empty).
pub(super) fn wrap(text: &Text, size: f32, max: f32) -> Vec<Line> {
    let width = |st: Style, c: char| font(st).char_width(c, run_size(st, size));
    let mut lines = Vec::new();
    let mut cur = Line::default();
    let mut space: Option<Style> = None;
    for tok in tokens(text) {
        match tok {
            Token::Break => {
                lines.push(std::mem::take(&mut cur));
                space = None;
            }
            Token::Space(st) => {
                if !cur.is_empty() {
                    space = Some(st);
                }
            }
            Token::Word(chars) => {
                let w: f32 = chars.iter().map(|&(st, c)| width(st, c)).sum();
                if let Some(st) = space.take() {
                    let sw = width(st, ' ');
                    if cur.width + sw + w <= max {
                        cur.push_char(st, ' ', sw);
                    } else {
                        lines.push(std::mem::take(&mut cur));
                    }
                }
                for (st, c) in chars {
                    let cw = width(st, c);
                    if !cur.is_empty() && cur.width + cw > max {
                        lines.push(std::mem::take(&mut cur));
                    }
                    cur.push_char(st, c, cw);
                }
            }
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Page state while blocks are placed.
struct Layout {
    pages: Vec<Vec<Op>>,
    /// Top of the free space on the current page.
    y: f32,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a page")
    }

    /// Nothing placed on this page yet.
    fn fresh(&self) -> bool {
        self.y >= TOP
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `h` fits below `y` (or the page is still empty).
    fn ensure(&mut self, h: f32) {
        if self.y - h < BOTTOM && !self.fresh() {
            self.new_page();
        }
    }

    fn space(&mut self, h: f32) {
        if !self.fresh() {
            self.y = (self.y - h).max(BOTTOM);
        }
    }

    /// Draws `line` with its top at `top`.
    fn draw_line(&mut self, line: &Line, x: f32, top: f32, size: f32) {
        let baseline = top - size;
        for r in &line.runs {
            let text = r.text.trim_end().to_string();
            if text.is_empty() {
                continue;
            }
            self.ops().push(Op::Text {
                x: x + r.x,
                y: baseline,
                size: run_size(r.style, size),
                style: r.style,
                text,
            });
        }
    }

    /// Lines one after another, breaking pages between them.
    fn lines(&mut self, lines: &[Line], x: f32, size: f32) {
        let lh = size * LEADING;
        for line in lines {
            self.ensure(lh);
            let top = self.y;
            self.draw_line(line, x, top, size);
            self.y -= lh;
        }
    }

    fn block(&mut self, b: &Block) {
        match b {
            Block::Title(s) => {
                let size = 16.0;
                let lines = wrap(&Text::bold(s.as_str()), size, CONTENT_W);
                self.lines(&lines, MARGIN_X, size);
                self.space(4.0);
            }
            Block::Heading(s) => self.heading(s, 12.5, 14.0, true),
            Block::Subheading(s) => self.heading(s, 10.5, 8.0, false),
            Block::Paragraph(t) => {
                self.lines(&wrap(t, BODY, CONTENT_W), MARGIN_X, BODY);
                self.space(4.0);
            }
            Block::Small(t) => {
                self.lines(&wrap(t, SMALL, CONTENT_W), MARGIN_X, SMALL);
                self.space(4.0);
            }
            Block::KeyValue(rows) => self.table(&Table {
                widths: vec![1.0, 2.6],
                header: None,
                rows: rows
                    .iter()
                    .map(|(k, v)| vec![Text::bold(k.as_str()), v.clone()])
                    .collect(),
                label_column: true,
            }),
            Block::Table(t) => self.table(t),
            Block::Mono(lines) => {
                for s in lines {
                    let lines = wrap(&Text::mono(s.as_str()), BODY, CONTENT_W);
                    self.lines(&lines, MARGIN_X, BODY);
                }
                self.space(4.0);
            }
            Block::Notice(t) => self.notice(t),
            Block::Space(h) => self.space(*h),
            Block::PageBreak => {
                if !self.fresh() {
                    self.new_page();
                }
            }
        }
    }

    fn heading(&mut self, s: &str, size: f32, before: f32, rule: bool) {
        let lines = wrap(&Text::bold(s), size, CONTENT_W);
        let h = before + lines.len() as f32 * size * LEADING + 3.0;
        // Keep the heading with at least three lines of what follows.
        self.ensure(h + 3.0 * BODY * LEADING);
        self.space(before);
        self.lines(&lines, MARGIN_X, size);
        if rule {
            let y = self.y + 1.5;
            self.ops().push(Op::Line {
                from: (MARGIN_X, y),
                to: (MARGIN_X + CONTENT_W, y),
                width: 0.8,
                color: BLACK,
            });
        }
        self.y -= 3.0;
    }

    fn notice(&mut self, t: &Text) {
        let lh = BODY * LEADING;
        let lines = wrap(t, BODY, CONTENT_W - 2.0 * BOX_PAD);
        let mut rest: &[Line] = &lines;
        while !rest.is_empty() {
            let whole = rest.len() as f32 * lh + 2.0 * BOX_PAD;
            self.ensure(whole.min(TOP - BOTTOM));
            let fit = (((self.y - BOTTOM - 2.0 * BOX_PAD) / lh).floor().max(1.0)) as usize;
            let n = fit.min(rest.len());
            let h = n as f32 * lh + 2.0 * BOX_PAD;
            let top = self.y;
            self.ops().push(Op::Rect {
                x: MARGIN_X,
                y: top - h,
                w: CONTENT_W,
                h,
                fill: Some(NOTICE_FILL),
                stroke: Some((NOTICE_STROKE, 1.2)),
            });
            for (i, line) in rest[..n].iter().enumerate() {
                self.draw_line(
                    line,
                    MARGIN_X + BOX_PAD,
                    top - BOX_PAD - i as f32 * lh,
                    BODY,
                );
            }
            self.y = top - h;
            rest = &rest[n..];
            if !rest.is_empty() {
                self.new_page();
            }
        }
        self.space(5.0);
    }

    fn table(&mut self, t: &Table) {
        let ncols = t
            .widths
            .len()
            .max(t.header.as_ref().map_or(0, Vec::len))
            .max(t.rows.iter().map(Vec::len).max().unwrap_or(0));
        if ncols == 0 {
            return;
        }
        let total: f32 = (0..ncols)
            .map(|i| t.widths.get(i).copied().unwrap_or(1.0).max(0.01))
            .sum();
        let widths: Vec<f32> = (0..ncols)
            .map(|i| t.widths.get(i).copied().unwrap_or(1.0).max(0.01) / total * CONTENT_W)
            .collect();
        let layout_row = |cells: &[Text]| -> Vec<Vec<Line>> {
            (0..ncols)
                .map(|i| {
                    let empty = Text::default();
                    let cell = cells.get(i).unwrap_or(&empty);
                    wrap(cell, BODY, widths[i] - 2.0 * CELL_PAD_X)
                })
                .collect()
        };
        let header = t.header.as_ref().map(|h| {
            let bold: Vec<Text> = h
                .iter()
                .map(|c| Text {
                    spans: c
                        .spans
                        .iter()
                        .map(|s| Span {
                            style: if s.style == Style::Mono {
                                Style::Mono
                            } else {
                                Style::Bold
                            },
                            text: s.text.clone(),
                        })
                        .collect(),
                })
                .collect();
            layout_row(&bold)
        });
        let lh = BODY * LEADING;
        let row_h = |cells: &[Vec<Line>]| {
            cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * lh + 2.0 * CELL_PAD_Y
        };
        let header_h = header.as_deref().map_or(0.0, row_h);
        let capacity = TOP - BOTTOM - header_h;

        let first_h = t.rows.first().map_or(0.0, |r| row_h(&layout_row(r)));
        self.ensure(header_h + first_h.min(capacity));
        if let Some(h) = &header {
            self.row(h, &widths, 0, usize::MAX, true, false);
        }
        for cells in &t.rows {
            let cells = layout_row(cells);
            let height = row_h(&cells);
            let lines = cells.iter().map(Vec::len).max().unwrap_or(1);
            let mut from = 0;
            loop {
                let avail = self.y - BOTTOM;
                let left = (lines - from) as f32 * lh + 2.0 * CELL_PAD_Y;
                if left <= avail {
                    self.row(&cells, &widths, from, usize::MAX, false, t.label_column);
                    break;
                }
                let fit = ((avail - 2.0 * CELL_PAD_Y) / lh).floor();
                // Split a row only when it would not fit on a page of its own.
                if height > capacity && fit >= 1.0 {
                    let n = fit as usize;
                    self.row(&cells, &widths, from, from + n, false, t.label_column);
                    from += n;
                }
                self.new_page();
                if let Some(h) = &header {
                    self.row(h, &widths, 0, usize::MAX, true, false);
                }
            }
        }
        self.space(6.0);
    }

    /// Draws lines `from..to` of each cell as one row at `y`.
    fn row(
        &mut self,
        cells: &[Vec<Line>],
        widths: &[f32],
        from: usize,
        to: usize,
        header: bool,
        label_column: bool,
    ) {
        let lh = BODY * LEADING;
        let n = cells
            .iter()
            .map(|c| c.len().min(to).saturating_sub(from))
            .max()
            .unwrap_or(0)
            .max(1);
        let h = n as f32 * lh + 2.0 * CELL_PAD_Y;
        let top = self.y;
        let mut x = MARGIN_X;
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let filled = header || (label_column && i == 0);
            self.ops().push(Op::Rect {
                x,
                y: top - h,
                w: *w,
                h,
                fill: filled.then_some(LABEL_FILL),
                stroke: Some((RULE, 0.5)),
            });
            let end = cell.len().min(to);
            for (j, line) in cell.get(from..end).unwrap_or(&[]).iter().enumerate() {
                self.draw_line(line, x + CELL_PAD_X, top - CELL_PAD_Y - j as f32 * lh, BODY);
            }
            x += w;
        }
        self.y = top - h;
    }
}

/// Monospace is set slightly smaller than the serif beside it: its glyphs are larger.
fn run_size(style: Style, size: f32) -> f32 {
    size * match style {
        Style::Mono => 0.92,
        _ => 1.0,
    }
}

fn footer(ops: &mut Vec<Op>, left: &str, page: usize, pages: usize) {
    let y = 36.0;
    ops.push(Op::Line {
        from: (MARGIN_X, y + SMALL + 4.0),
        to: (MARGIN_X + CONTENT_W, y + SMALL + 4.0),
        width: 0.5,
        color: RULE,
    });
    let right = format!("Sida {page} av {pages}");
    let right_w = font(Style::Regular).width(&right, SMALL);
    ops.push(Op::Text {
        x: MARGIN_X + CONTENT_W - right_w,
        y,
        size: SMALL,
        style: Style::Regular,
        text: right,
    });
    let room = CONTENT_W - right_w - 12.0;
    let line = wrap(&Text::plain(left), SMALL, room)
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut text: String = line.runs.iter().map(|r| r.text.as_str()).collect();
    if text.trim().chars().count() < left.trim().chars().count() {
        while !text.is_empty() && font(Style::Regular).width(&format!("{text}…"), SMALL) > room {
            text.pop();
        }
        text.push('…');
    }
    if !text.trim().is_empty() {
        ops.push(Op::Text {
            x: MARGIN_X,
            y,
            size: SMALL,
            style: Style::Regular,
            text: text.trim_end().to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(line: &Line) -> String {
        line.runs.iter().map(|r| r.text.as_str()).collect()
    }

    fn page_texts(ops: &[Op]) -> Vec<&str> {
        ops.iter()
            .filter_map(|o| match o {
                Op::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn wrap_breaks_at_spaces_within_the_width() {
        let t =
            Text::plain("Åsa Öberg bor på Storgatan 1 i Stockholm och har abonnemang hos Junet");
        let max = 120.0;
        let lines = wrap(&t, BODY, max);
        assert!(lines.len() > 2, "{}", lines.len());
        for l in &lines {
            assert!(l.width <= max + 1e-3, "{} > {max}", l.width);
            assert!(!text_of(l).starts_with(' '), "{:?}", text_of(l));
        }
        let joined: Vec<String> = lines
            .iter()
            .map(|l| text_of(l).trim_end().to_string())
            .collect();
        assert_eq!(
            joined.join(" "),
            "Åsa Öberg bor på Storgatan 1 i Stockholm och har abonnemang hos Junet"
        );
    }

    #[test]
    fn wrap_breaks_a_word_wider_than_the_line_between_characters() {
        let digest = "5f2b9c0e4a7d1863c2e9f0b47a1d3e8c6b5a49f2e1d0c7b8a6958473e2d1c0b9";
        let lines = wrap(&Text::mono(digest), BODY, 100.0);
        assert!(lines.len() >= 3);
        let back: String = lines.iter().map(text_of).collect();
        assert_eq!(back, digest);
        for l in &lines {
            assert!(l.width <= 100.0 + 1e-3);
        }
    }

    #[test]
    fn wrap_keeps_styles_hard_breaks_and_collapses_spaces() {
        let t = Text::mono("found").with_plain(" —   one subscriber\nnext line");
        let lines = wrap(&t, BODY, 1000.0);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].runs[0].style, Style::Mono);
        assert_eq!(lines[0].runs[0].text, "found");
        assert_eq!(text_of(&lines[0]), "found — one subscriber");
        assert!(lines[0].runs[1].x > 0.0);
        assert_eq!(text_of(&lines[1]), "next line");
        assert_eq!(wrap(&Text::default(), BODY, 100.0).len(), 1);
    }

    fn long_doc(n: usize) -> Document {
        let mut d = Document::new("Test", "Junet AB", 0);
        d.footer = "Junet AB · C-1".into();
        d.push(Block::Title("Rapport".into()));
        d.push(Block::Table(Table {
            widths: vec![1.0, 4.0],
            header: Some(vec!["Post".into(), "Värde".into()]),
            rows: (1..=n)
                .map(|i| vec![Text::plain(i.to_string()), Text::plain(format!("rad {i}"))])
                .collect(),
            label_column: false,
        }));
        d
    }

    #[test]
    fn a_long_table_breaks_pages_repeats_its_header_and_numbers_the_pages() {
        let pages = long_doc(200).layout();
        assert!(pages.len() >= 3, "{}", pages.len());
        let n = pages.len();
        for (i, ops) in pages.iter().enumerate() {
            let texts = page_texts(ops);
            assert!(texts.contains(&"Post"), "header on page {}", i + 1);
            let label = format!("Sida {} av {n}", i + 1);
            assert!(texts.contains(&label.as_str()), "{label}");
            for op in ops {
                if let Op::Text { y, .. } = op {
                    assert!(*y > 20.0 && *y < PAGE_H - 40.0, "{y}");
                }
            }
        }
        // Every row once, in order.
        let rows: Vec<String> = pages
            .iter()
            .flat_map(|p| page_texts(p))
            .filter(|t| t.starts_with("rad "))
            .map(str::to_string)
            .collect();
        let want: Vec<String> = (1..=200).map(|i| format!("rad {i}")).collect();
        assert_eq!(rows, want);
    }

    #[test]
    fn a_row_taller_than_a_page_is_split_not_lost() {
        let long: String = (0..1500).map(|i| format!("ord{i} ")).collect();
        let mut d = Document::new("T", "A", 0);
        d.push(Block::KeyValue(vec![(
            "Lång".into(),
            Text::plain(long.clone()),
        )]));
        let pages = d.layout();
        assert!(pages.len() >= 2);
        let all: String = pages
            .iter()
            .flat_map(|p| page_texts(p))
            .filter(|t| t.starts_with("ord"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(all, long.trim_end());
    }

    #[test]
    fn a_heading_is_not_left_at_the_bottom_of_a_page() {
        let mut d = Document::new("T", "A", 0);
        // Fill the first page to just above the bottom.
        let line_h = BODY * LEADING;
        let n = ((TOP - BOTTOM) / line_h) as usize - 2;
        d.push(Block::Paragraph(Text::plain(
            (0..n)
                .map(|i| format!("l{i}"))
                .collect::<Vec<_>>()
                .join("\n"),
        )));
        d.push(Block::Heading("Rubrik".into()));
        d.push(Block::Paragraph(Text::plain("efter")));
        let pages = d.layout();
        assert_eq!(pages.len(), 2);
        assert!(page_texts(&pages[1]).contains(&"Rubrik"));
        assert!(!page_texts(&pages[0]).contains(&"Rubrik"));
    }

    #[test]
    fn a_long_footer_is_shortened_to_fit_beside_the_page_number() {
        let mut ops = Vec::new();
        footer(&mut ops, &"Junet AB · ".repeat(40), 1, 1);
        let left = ops
            .iter()
            .find_map(|o| match o {
                Op::Text { x, text, .. } if *x == MARGIN_X => Some(text.clone()),
                _ => None,
            })
            .unwrap();
        assert!(left.ends_with('…'));
        assert!(font(Style::Regular).width(&left, SMALL) < CONTENT_W);
    }
}
