//! The three typefaces a [`super::Document`] is set in, compiled into the binary
//! (`assets/fonts/`, DejaVu, see its SOURCE.md): the product never reads system fonts. Maps
//! characters to glyphs and measures text; no shaping (no kerning, no ligatures), which Latin
//! script with precomposed Swedish letters does not need.

use std::sync::LazyLock;

use ttf_parser::{Face, GlyphId};

use super::document::Style;

/// One embedded TrueType font.
pub(super) struct Font {
    /// The whole font file.
    pub data: &'static [u8],
    /// PostScript name, the base of the PDF font name.
    pub ps_name: &'static str,
    pub face: Face<'static>,
    /// Glyph used for a character the font lacks: U+FFFD, else `?`. Never `.notdef`, which
    /// PDF/A forbids text to show.
    fallback: (u16, char),
}

impl Font {
    fn load(data: &'static [u8], ps_name: &'static str) -> Font {
        let face = Face::parse(data, 0).expect("embedded font parses");
        let fallback = ['\u{FFFD}', '?']
            .into_iter()
            .find_map(|c| face.glyph_index(c).map(|g| (g.0, c)))
            .expect("embedded font has U+FFFD or '?'");
        Font {
            data,
            ps_name,
            face,
            fallback,
        }
    }

    /// The glyph that shows `c` and the character it stands for in extracted text (`c` itself,
    /// or the fallback's character when the font lacks `c`).
    pub fn glyph(&self, c: char) -> (u16, char) {
        match self.face.glyph_index(c) {
            Some(g) if g.0 != 0 => (g.0, c),
            _ => self.fallback,
        }
    }

    /// A glyph's advance in thousandths of the em (PDF glyph space).
    pub fn advance_milli(&self, gid: u16) -> f32 {
        let adv = self.face.glyph_hor_advance(GlyphId(gid)).unwrap_or(0);
        f32::from(adv) * 1000.0 / f32::from(self.face.units_per_em())
    }

    /// The width of `c` set at `size` points.
    pub fn char_width(&self, c: char, size: f32) -> f32 {
        self.advance_milli(self.glyph(c).0) * size / 1000.0
    }

    /// The width of `s` set at `size` points.
    pub fn width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.char_width(c, size)).sum()
    }

    /// A font-unit quantity in thousandths of the em.
    pub fn milli(&self, units: i16) -> f32 {
        f32::from(units) * 1000.0 / f32::from(self.face.units_per_em())
    }
}

static REGULAR: LazyLock<Font> = LazyLock::new(|| {
    Font::load(
        include_bytes!("../../../assets/fonts/DejaVuSerif.ttf"),
        "DejaVuSerif",
    )
});
static BOLD: LazyLock<Font> = LazyLock::new(|| {
    Font::load(
        include_bytes!("../../../assets/fonts/DejaVuSerif-Bold.ttf"),
        "DejaVuSerif-Bold",
    )
});
static MONO: LazyLock<Font> = LazyLock::new(|| {
    Font::load(
        include_bytes!("../../../assets/fonts/DejaVuSansMono.ttf"),
        "DejaVuSansMono",
    )
});

/// The font a style is set in.
pub(super) fn font(style: Style) -> &'static Font {
    match style {
        Style::Regular => &REGULAR,
        Style::Bold => &BOLD,
        Style::Mono => &MONO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_font_has_the_swedish_letters_and_the_report_symbols() {
        for style in [Style::Regular, Style::Bold, Style::Mono] {
            let f = font(style);
            for c in "åäöÅÄÖéü§–—→±·…".chars() {
                assert_eq!(f.glyph(c).1, c, "{} lacks {c}", f.ps_name);
            }
        }
    }

    #[test]
    fn a_missing_character_falls_back_to_a_real_glyph() {
        let f = font(Style::Regular);
        // A private-use character: in no font.
        let (gid, c) = f.glyph('\u{E000}');
        assert_ne!(gid, 0, ".notdef must never be shown");
        assert_eq!(c, '\u{FFFD}');
        // Control characters have no glyph either.
        assert_eq!(f.glyph('\u{7}').1, '\u{FFFD}');
    }

    #[test]
    fn mono_is_fixed_pitch_and_wider_text_measures_wider() {
        let m = font(Style::Mono);
        assert_eq!(m.width("iiii", 10.0), m.width("WWWW", 10.0));
        let r = font(Style::Regular);
        assert!(r.width("WWWW", 10.0) > r.width("iiii", 10.0));
        assert!((r.width("ab", 20.0) - 2.0 * r.width("ab", 10.0)).abs() < 1e-3);
    }
}
