//! Laid-out pages to PDF/A-2b bytes with `pdf-writer`: each used font embedded as a subset
//! (CIDFontType2, Identity-H, CIDToGIDMap Identity, widths from the font's own advances, a
//! ToUnicode map so text can be extracted), an sRGB output intent with the ICC profile
//! embedded, XMP metadata declaring PDF/A-2b and agreeing with the Info dictionary, and a file
//! identifier derived from the content. Nothing here reads a clock or draws randomness.

use std::collections::BTreeMap;
use std::io::Write as _;

use chrono::{Datelike, Timelike};
use flate2::write::ZlibEncoder;
use flate2::Compression;
use pdf_writer::types::{CidFontType, FontFlags, OutputIntentSubtype, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Date, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use sha2::{Digest, Sha256};
use subsetter::GlyphRemapper;
use xmp_writer::{DateTime, LangId, Timezone, XmpWriter};

use super::document::{Color, Document, Op, Style, PAGE_H, PAGE_W};
use super::fonts::{font, Font};

/// The output intent's profile (`assets/icc/`, see its SOURCE.md).
const SRGB_ICC: &[u8] = include_bytes!("../../../assets/icc/sRGB.icc");

const STYLES: [Style; 3] = [Style::Regular, Style::Bold, Style::Mono];

/// What a document embeds of one font.
struct Embedded {
    style: Style,
    /// Resource name in the pages' font dictionary.
    name: &'static [u8],
    /// Original glyph id → the character it shows (first seen), for ToUnicode.
    glyphs: BTreeMap<u16, char>,
    /// New glyph ids (the CIDs) when subset; `None`: the whole font, CID = original gid.
    remapper: Option<GlyphRemapper>,
    program: Vec<u8>,
}

impl Embedded {
    fn cid(&self, gid: u16) -> u16 {
        match &self.remapper {
            Some(r) => r.get(gid).unwrap_or(0),
            None => gid,
        }
    }
}

fn resource_name(style: Style) -> &'static [u8] {
    match style {
        Style::Regular => b"F1",
        Style::Bold => b"F2",
        Style::Mono => b"F3",
    }
}

/// Embeds the glyphs the pages use of each font, in style order (so the output is stable).
fn embed_fonts(pages: &[Vec<Op>]) -> Vec<Embedded> {
    let mut used: BTreeMap<Style, BTreeMap<u16, char>> = BTreeMap::new();
    for op in pages.iter().flatten() {
        if let Op::Text { style, text, .. } = op {
            let f = font(*style);
            let glyphs = used.entry(*style).or_default();
            for c in text.chars() {
                let (gid, shown) = f.glyph(c);
                glyphs.entry(gid).or_insert(shown);
            }
        }
    }
    STYLES
        .iter()
        .filter_map(|s| used.remove(s).map(|g| (*s, g)))
        .map(|(style, glyphs)| {
            let f = font(style);
            let mut remapper = GlyphRemapper::new();
            for gid in glyphs.keys() {
                remapper.remap(*gid);
            }
            // A font the subsetter cannot handle is embedded whole: larger, equally valid.
            let (remapper, program) = match subsetter::subset(f.data, 0, &remapper) {
                Ok(bytes) => (Some(remapper), bytes),
                Err(_) => (None, f.data.to_vec()),
            };
            Embedded {
                style,
                name: resource_name(style),
                glyphs,
                remapper,
                program,
            }
        })
        .collect()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).expect("writing to a Vec");
    e.finish().expect("writing to a Vec")
}

fn set_fill(c: &mut Content, color: Color) {
    match color {
        Color::Gray(g) => c.set_fill_gray(g),
        Color::Rgb(r, g, b) => c.set_fill_rgb(r, g, b),
    };
}

fn set_stroke(c: &mut Content, color: Color) {
    match color {
        Color::Gray(g) => c.set_stroke_gray(g),
        Color::Rgb(r, g, b) => c.set_stroke_rgb(r, g, b),
    };
}

/// One page's content stream, uncompressed.
fn content(ops: &[Op], fonts: &[Embedded]) -> Vec<u8> {
    let mut c = Content::new();
    for op in ops {
        match op {
            Op::Rect {
                x,
                y,
                w,
                h,
                fill,
                stroke,
            } => {
                if let Some(f) = fill {
                    set_fill(&mut c, *f);
                }
                if let Some((s, width)) = stroke {
                    set_stroke(&mut c, *s);
                    c.set_line_width(*width);
                }
                c.rect(*x, *y, *w, *h);
                match (fill, stroke) {
                    (Some(_), Some(_)) => c.fill_nonzero_and_stroke(),
                    (Some(_), None) => c.fill_nonzero(),
                    _ => c.stroke(),
                };
            }
            Op::Line {
                from,
                to,
                width,
                color,
            } => {
                set_stroke(&mut c, *color);
                c.set_line_width(*width);
                c.move_to(from.0, from.1);
                c.line_to(to.0, to.1);
                c.stroke();
            }
            Op::Text {
                x,
                y,
                size,
                style,
                text,
            } => {
                let f = font(*style);
                let e = fonts
                    .iter()
                    .find(|e| e.style == *style)
                    .expect("every used font is embedded");
                let mut bytes = Vec::with_capacity(text.len() * 2);
                for ch in text.chars() {
                    bytes.extend_from_slice(&e.cid(f.glyph(ch).0).to_be_bytes());
                }
                set_fill(&mut c, Color::Gray(0.0));
                c.begin_text();
                c.set_font(Name(e.name), *size);
                c.next_line(*x, *y);
                c.show(Str(&bytes));
                c.end_text();
            }
        }
    }
    c.finish().into_vec()
}

/// Six capital letters naming a subset (PDF 9.6.4), derived from its glyphs.
fn subset_tag(e: &Embedded) -> String {
    let mut h = Sha256::new();
    h.update(e.name);
    for gid in e.glyphs.keys() {
        h.update(gid.to_be_bytes());
    }
    h.finalize()
        .iter()
        .take(6)
        .map(|b| char::from(b'A' + b % 26))
        .collect()
}

/// Writes the five objects of one embedded font; `ids` are type0, cid font, descriptor, font
/// file, ToUnicode.
fn write_font(pdf: &mut Pdf, e: &Embedded, ids: [Ref; 5]) {
    let [type0, cid, descriptor, file, to_unicode] = ids;
    let f: &Font = font(e.style);
    let base = format!("{}+{}", subset_tag(e), f.ps_name);
    let system = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };

    pdf.type0_font(type0)
        .base_font(Name(base.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(to_unicode);

    // Widths by CID, from the font's own advances (PDF/A: they must agree).
    let mut by_cid: BTreeMap<u16, f32> = BTreeMap::new();
    by_cid.insert(0, f.advance_milli(0));
    for gid in e.glyphs.keys() {
        by_cid.insert(e.cid(*gid), f.advance_milli(*gid));
    }
    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(Name(base.as_bytes()))
        .system_info(system)
        .font_descriptor(descriptor)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    {
        // One `first [w w …]` entry per run of consecutive CIDs (a subset's are one run).
        let mut widths = cid_font.widths();
        let mut run: Vec<f32> = Vec::new();
        let mut first = 0u16;
        for (c, w) in &by_cid {
            if !run.is_empty() && usize::from(*c) != usize::from(first) + run.len() {
                widths.consecutive(first, run.drain(..));
            }
            if run.is_empty() {
                first = *c;
            }
            run.push(*w);
        }
        if !run.is_empty() {
            widths.consecutive(first, run);
        }
    }
    cid_font.finish();

    let face = &f.face;
    let bbox = face.global_bounding_box();
    let mut flags = FontFlags::SYMBOLIC;
    if e.style == Style::Mono {
        flags |= FontFlags::FIXED_PITCH;
    } else {
        flags |= FontFlags::SERIF;
    }
    // OS/2 version 1 fonts (DejaVu) have no cap height: the top of 'H' is.
    let cap = face
        .capital_height()
        .or_else(|| {
            face.glyph_index('H')
                .and_then(|g| face.glyph_bounding_box(g))
                .map(|b| b.y_max)
        })
        .unwrap_or(face.ascender());
    pdf.font_descriptor(descriptor)
        .name(Name(base.as_bytes()))
        .flags(flags)
        .bbox(Rect::new(
            f.milli(bbox.x_min),
            f.milli(bbox.y_min),
            f.milli(bbox.x_max),
            f.milli(bbox.y_max),
        ))
        .italic_angle(0.0)
        .ascent(f.milli(face.ascender()))
        .descent(f.milli(face.descender()))
        .cap_height(f.milli(cap))
        .stem_v(if e.style == Style::Bold { 140.0 } else { 80.0 })
        .font_file2(file);

    let compressed = deflate(&e.program);
    pdf.stream(file, &compressed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), e.program.len() as i32);

    let mut cmap = UnicodeCmap::new(Name(b"Adobe-Identity-UCS"), system);
    for (gid, c) in &e.glyphs {
        cmap.pair(e.cid(*gid), *c);
    }
    let cmap = cmap.finish();
    pdf.cmap(to_unicode, &cmap)
        .name(Name(b"Adobe-Identity-UCS"))
        .system_info(system);
}

/// Text for the Info dictionary and XMP: no control characters (XML 1.0 forbids most).
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn producer() -> String {
    format!("tdr {}", env!("CARGO_PKG_VERSION"))
}

/// The PDF/A-2b file for laid-out `pages` of `doc`.
pub(super) fn write(doc: &Document, pages: &[Vec<Op>]) -> Vec<u8> {
    let fonts = embed_fonts(pages);
    let streams: Vec<Vec<u8>> = pages.iter().map(|p| content(p, &fonts)).collect();

    let title = clean(&doc.title);
    let author = clean(&doc.author);
    let subject = clean(&doc.subject);
    let keywords = clean(&doc.keywords);
    let language = clean(&doc.language);
    let created = chrono::DateTime::from_timestamp(doc.created, 0).unwrap_or_default();
    let producer = producer();

    // The file identifier: a digest of everything the document shows and says about itself.
    let mut h = Sha256::new();
    for s in [&title, &author, &subject, &keywords, &language] {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    }
    h.update(doc.created.to_be_bytes());
    for s in &streams {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s);
    }
    let digest = h.finalize();
    let file_id = digest[..16].to_vec();
    let hex_id = hex::encode(&file_id);
    let uuid = format!(
        "uuid:{}-{}-{}-{}-{}",
        &hex_id[0..8],
        &hex_id[8..12],
        &hex_id[12..16],
        &hex_id[16..20],
        &hex_id[20..32]
    );

    let mut pdf = Pdf::new();
    pdf.set_version(1, 7);
    pdf.set_file_id((file_id.clone(), file_id));

    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog_id = alloc();
    let tree_id = alloc();
    let info_id = alloc();
    let meta_id = alloc();
    let icc_id = alloc();
    let font_ids: Vec<[Ref; 5]> = fonts
        .iter()
        .map(|_| [alloc(), alloc(), alloc(), alloc(), alloc()])
        .collect();
    let page_ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc())).collect();

    let mut catalog = pdf.catalog(catalog_id);
    catalog.pages(tree_id).metadata(meta_id);
    if !language.is_empty() {
        catalog.lang(TextStr(&language));
    }
    catalog
        .output_intents()
        .push()
        .subtype(OutputIntentSubtype::PDFA)
        .output_condition_identifier(TextStr("sRGB IEC61966-2.1"))
        .output_condition(TextStr("sRGB IEC61966-2.1"))
        .info(TextStr("sRGB IEC61966-2.1"))
        .dest_output_profile(icc_id);
    catalog.finish();

    pdf.pages(tree_id)
        .kids(page_ids.iter().map(|(p, _)| *p))
        .count(page_ids.len() as i32);
    for ((page_id, content_id), stream) in page_ids.iter().zip(&streams) {
        let mut page = pdf.page(*page_id);
        page.parent(tree_id)
            .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .contents(*content_id);
        {
            let mut res = page.resources();
            let mut dict = res.fonts();
            for (e, ids) in fonts.iter().zip(&font_ids) {
                dict.pair(Name(e.name), ids[0]);
            }
        }
        page.finish();
        let compressed = deflate(stream);
        pdf.stream(*content_id, &compressed)
            .filter(Filter::FlateDecode);
    }
    for (e, ids) in fonts.iter().zip(&font_ids) {
        write_font(&mut pdf, e, *ids);
    }

    let icc = deflate(SRGB_ICC);
    pdf.icc_profile(icc_id, &icc)
        .n(3)
        .filter(Filter::FlateDecode);

    let date = Date::new(created.year() as u16)
        .month(created.month() as u8)
        .day(created.day() as u8)
        .hour(created.hour() as u8)
        .minute(created.minute() as u8)
        .second(created.second() as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0);
    let mut info = pdf.document_info(info_id);
    info.title(TextStr(&title))
        .author(TextStr(&author))
        .creator(TextStr(&producer))
        .producer(TextStr(&producer))
        .creation_date(date)
        .modified_date(date);
    if !subject.is_empty() {
        info.subject(TextStr(&subject));
    }
    if !keywords.is_empty() {
        info.keywords(TextStr(&keywords));
    }
    info.finish();

    let xmp_date = DateTime::new(
        created.year() as u16,
        created.month() as u8,
        created.day() as u8,
        created.hour() as u8,
        created.minute() as u8,
        created.second() as u8,
        Timezone::Utc,
    );
    let mut xmp = XmpWriter::new();
    xmp.title([(None::<LangId>, title.as_str())])
        .creator([author.as_str()])
        .format("application/pdf")
        .creator_tool(&producer)
        .producer(&producer)
        .create_date(xmp_date)
        .modify_date(xmp_date)
        .metadata_date(xmp_date)
        .document_id(&uuid)
        .instance_id(&uuid)
        .pdfa_part(2)
        .pdfa_conformance("B");
    if !language.is_empty() {
        xmp.language([LangId(&language)]);
    }
    if !subject.is_empty() {
        xmp.description([(None::<LangId>, subject.as_str())]);
    }
    if !keywords.is_empty() {
        xmp.pdf_keywords(&keywords);
    }
    let xmp = xmp.finish(None);
    // PDF/A: the metadata stream is not compressed.
    pdf.metadata(meta_id, xmp.as_bytes());

    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::pdf::{Block, Text};
    use ttf_parser::{Face, GlyphId};

    fn pages() -> Vec<Vec<Op>> {
        let mut d = Document::new("T", "A", 0);
        d.push(Block::Title("Åsa Öberg — PMÄ 1234-26".into()))
            .push(Block::Paragraph(
                Text::plain("Ärendet gäller ±5 s \u{E000}").with_mono(" 0123 abcdef →"),
            ));
        d.layout()
    }

    #[test]
    fn the_width_array_agrees_with_the_embedded_subset() {
        let pages = pages();
        let fonts = embed_fonts(&pages);
        assert_eq!(fonts.len(), 3);
        for e in &fonts {
            let f = font(e.style);
            assert!(e.remapper.is_some(), "{} not subset", f.ps_name);
            assert!(e.program.len() < f.data.len() / 4, "{}", e.program.len());
            let sub = Face::parse(&e.program, 0).expect("the subset parses");
            for gid in e.glyphs.keys() {
                let cid = e.cid(*gid);
                assert_ne!(cid, 0, "a shown glyph became .notdef");
                // CIDToGIDMap is Identity: the CID is the subset's glyph id.
                assert_eq!(
                    sub.glyph_hor_advance(GlyphId(cid)),
                    f.face.glyph_hor_advance(GlyphId(*gid)),
                    "{} gid {gid}",
                    f.ps_name
                );
            }
        }
    }

    #[test]
    fn no_text_shows_notdef_and_every_glyph_maps_back_to_its_character() {
        let pages = pages();
        let fonts = embed_fonts(&pages);
        for op in pages.iter().flatten() {
            if let Op::Text { style, text, .. } = op {
                let e = fonts.iter().find(|e| e.style == *style).unwrap();
                for c in text.chars() {
                    let (gid, shown) = font(*style).glyph(c);
                    assert_ne!(e.cid(gid), 0, "{c:?}");
                    assert_eq!(e.glyphs[&gid], shown);
                }
            }
        }
        // The private-use character has no glyph: it is shown, and extracted, as U+FFFD.
        let regular = fonts.iter().find(|e| e.style == Style::Regular).unwrap();
        assert!(regular.glyphs.values().any(|c| *c == '\u{FFFD}'));
    }

    #[test]
    fn metadata_text_loses_control_characters() {
        assert_eq!(clean("a\u{1}b\nc"), "a b c");
    }
}
