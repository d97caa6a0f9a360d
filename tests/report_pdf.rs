//! The PDF/A-2b court report checked with Debian's PDF tools: the fixed IPRED report of
//! `tests/report_golden.rs` (read back from its golden JSON, which that test proves is the
//! report) and a long one of several hundred items.
//!
//! What a tool checks here: `qpdf --check` (syntax, cross-reference table, every stream
//! decodes); `pdfinfo` (page count, PDF 1.7, not encrypted, no JavaScript, the Info entries and
//! the XMP packet with `pdfaid:part` 2 and `pdfaid:conformance` B, their title, author and dates
//! agreeing); `pdffonts` (every font embedded, a subset, with a ToUnicode map); `pdftotext`
//! (the text extracts: Swedish names, the case number, the report's SHA-256, the audit sequence
//! numbers); `qpdf --show-object` (the trailer's file ID, the sRGB output intent);
//! `pdftoppm` (the first page rasterises to something that is not blank). What only the
//! construction in `src/report/pdf/writer.rs` vouches for: glyph widths equal to the font's
//! advances, CIDToGIDMap and CIDSystemInfo as PDF/A wants them, no `.notdef` shown. The full
//! PDF/A validator, veraPDF, is not packaged in Debian 12, so it does not run here.
//!
//! These tests need `qpdf` and `poppler-utils` (tools/test.sh and .ci/run install them); they
//! fail, naming the package, when a tool is missing. `UPDATE_DOCS=1` rewrites
//! `docs/reports/ipred-C-2026-0007.pdf` and its first page, `docs/reports/court-report-p1.png`,
//! which otherwise must equal the rendering.

use std::path::{Path, PathBuf};
use std::process::Command;

use tdr::report::{pdf, sha256_hex, Report};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fixed IPRED report and its SHA-256, from the golden JSON (the canonical rendering).
fn ipred_report() -> (Report, String) {
    let path = root().join("tests/data/golden/ipred-C-2026-0007.json");
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let r: Report = serde_json::from_str(&json).expect("the golden JSON is a report");
    assert_eq!(tdr::report::json::render(&r), json, "golden JSON is stale");
    (r, sha256_hex(json.as_bytes()))
}

/// The fixed report with its items repeated to `n`, renumbered.
fn long_report(n: usize) -> (Report, String) {
    let (mut r, _) = ipred_report();
    let base = r.items.clone();
    r.items = (0..n)
        .map(|i| {
            let mut item = base[i % base.len()].clone();
            item.number = i as u32 + 1;
            item
        })
        .collect();
    r.audit_seqs = (1000..1000 + n as u64).collect();
    let digest = sha256_hex(tdr::report::json::render(&r).as_bytes());
    (r, digest)
}

/// Runs a tool, failing with the Debian package to install when it is missing.
fn run(tool: &str, package: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {tool} ({e}): install the Debian package `{package}` (apt-get install {package})")
    });
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn ok(tool: &str, package: &str, args: &[&str]) -> String {
    let (code, text) = run(tool, package, args);
    assert_eq!(code, 0, "{tool} {args:?} exited {code}:\n{text}");
    text
}

fn write_pdf(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

/// `Key:   value` lines of pdfinfo.
fn info_field(info: &str, key: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("pdfinfo has no {key}:\n{info}"))
        .trim()
        .to_string()
}

/// The text of the first `<tag>` element in `xml` (the value of an rdf:li inside it, if any).
fn xmp_value(xml: &str, tag: &str) -> String {
    let start = xml
        .find(&format!("<{tag}"))
        .unwrap_or_else(|| panic!("no <{tag}> in the XMP:\n{xml}"));
    let rest = &xml[start..];
    let end = rest.find(&format!("</{tag}>")).expect("closed");
    let inner = &rest[rest.find('>').unwrap() + 1..end];
    let inner = match inner.find("<rdf:li") {
        Some(i) => {
            let li = &inner[i..];
            &li[li.find('>').unwrap() + 1..li.find("</rdf:li>").unwrap()]
        }
        None => inner,
    };
    inner
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// Checks that hold for every rendered report; returns (page count, extracted text).
fn check_pdf(path: &str, r: &Report, digest: &str) -> (usize, String) {
    // Structure: qpdf exits 0 only without errors or warnings.
    let check = ok("qpdf", "qpdf", &["--check", path]);
    assert!(
        check.contains("No syntax or stream encoding errors found"),
        "{check}"
    );
    let trailer = ok("qpdf", "qpdf", &["--show-object=trailer", path]);
    assert!(trailer.contains("/ID ["), "no file ID: {trailer}");
    assert!(!trailer.contains("/Encrypt"), "{trailer}");

    // Info, metadata, encryption, scripts.
    let info = ok("pdfinfo", "poppler-utils", &["-isodates", path]);
    assert_eq!(info_field(&info, "PDF version"), "1.7");
    assert_eq!(info_field(&info, "Encrypted"), "no");
    assert_eq!(info_field(&info, "JavaScript"), "no");
    assert_eq!(info_field(&info, "Page size"), "595.276 x 841.89 pts (A4)");
    let title = info_field(&info, "Title");
    assert_eq!(
        title,
        format!("{} — utlämnanderapport {}", r.csp_id, r.request_id)
    );
    assert_eq!(info_field(&info, "Author"), r.csp_id);
    let created = info_field(&info, "CreationDate");
    let want_date = chrono::DateTime::from_timestamp(r.generated_at, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    assert!(created.starts_with(&want_date), "{created} vs {want_date}");
    assert_eq!(info_field(&info, "ModDate"), created);
    let pages: usize = info_field(&info, "Pages").parse().unwrap();

    let meta = ok("pdfinfo", "poppler-utils", &["-meta", path]);
    assert_eq!(xmp_value(&meta, "pdfaid:part"), "2", "{meta}");
    assert_eq!(xmp_value(&meta, "pdfaid:conformance"), "B", "{meta}");
    // The Info dictionary and the XMP say the same (PDF/A-2 6.6.3).
    assert_eq!(xmp_value(&meta, "dc:title"), title);
    assert_eq!(xmp_value(&meta, "dc:creator"), r.csp_id);
    assert_eq!(xmp_value(&meta, "xmp:CreateDate"), format!("{want_date}Z"));
    assert_eq!(xmp_value(&meta, "xmp:ModifyDate"), format!("{want_date}Z"));
    assert_eq!(
        xmp_value(&meta, "pdf:Producer"),
        info_field(&info, "Producer")
    );
    assert_eq!(
        xmp_value(&meta, "xmp:CreatorTool"),
        info_field(&info, "Creator")
    );

    // The sRGB output intent with its profile.
    let catalog = ok("qpdf", "qpdf", &["--show-object=1", path]);
    assert!(catalog.contains("/OutputIntents"), "{catalog}");
    assert!(catalog.contains("/GTS_PDFA1"), "{catalog}");
    assert!(catalog.contains("/DestOutputProfile"), "{catalog}");
    assert!(catalog.contains("/Metadata"), "{catalog}");

    // Fonts: every one embedded, subset, with a ToUnicode map.
    let fonts = ok("pdffonts", "poppler-utils", &[path]);
    let rows: Vec<&str> = fonts
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(rows.len() >= 2, "{fonts}");
    for row in &rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name type... encoding emb sub uni object ID
        let n = cols.len();
        assert!(n >= 7, "{row}");
        let (emb, sub, uni) = (cols[n - 5], cols[n - 4], cols[n - 3]);
        assert_eq!(
            (emb, sub, uni),
            ("yes", "yes", "yes"),
            "font not embedded/subset/mapped: {row}"
        );
        assert!(row.contains("CID TrueType"), "{row}");
        assert!(row.contains("Identity-H"), "{row}");
    }

    // Text: extractable, Swedish letters intact.
    let text = ok("pdftotext", "poppler-utils", &["-enc", "UTF-8", path, "-"]);
    assert!(text.contains(digest), "SHA-256 not in the text");
    assert!(text.contains(&r.case.case_number));
    assert!(text.contains(&r.csp_id));
    assert!(text.contains("Granskningsloggens"));

    // No transparency, no actions or scripts anywhere in the file.
    let raw = std::fs::read(path).unwrap();
    let raw = String::from_utf8_lossy(&raw);
    for banned in [
        "/SMask",
        "/CA ",
        "/ca ",
        "/JavaScript",
        "/JS ",
        "/AA",
        "/OpenAction",
    ] {
        assert!(!raw.contains(banned), "{banned} in the PDF");
    }
    (pages, text)
}

/// Rasterises page 1 in grey at 50 dpi and returns the share of non-white pixels.
fn ink_on_first_page(dir: &Path, path: &str) -> f64 {
    let prefix = dir.join("page");
    ok(
        "pdftoppm",
        "poppler-utils",
        &[
            "-gray",
            "-r",
            "50",
            "-f",
            "1",
            "-l",
            "1",
            path,
            prefix.to_str().unwrap(),
        ],
    );
    let pgm = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pgm"))
        .expect("pdftoppm wrote a .pgm");
    let data = std::fs::read(pgm).unwrap();
    // Binary PGM: "P5" width height maxval, each after whitespace, then the samples.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while data[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !data[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    assert_eq!(fields[3], "255");
    let samples = &data[i + 1..];
    assert_eq!(samples.len(), w * h);
    // A4 at 50 dpi (poppler rounds the width up or down).
    assert!((412..=414).contains(&w) && h == 585, "{w}x{h}");
    let dark = samples.iter().filter(|&&v| v < 160).count();
    dark as f64 / samples.len() as f64
}

#[test]
fn the_fixed_ipred_report_is_pdfa_with_its_text_fonts_and_metadata() {
    let (r, digest) = ipred_report();
    let bytes = pdf::render(&r, &digest);
    assert_eq!(bytes, pdf::render(&r, &digest), "not deterministic");
    docs(&bytes);
    let dir = tempfile::tempdir().unwrap();
    let path = write_pdf(dir.path(), "ipred.pdf", &bytes);
    let (pages, text) = check_pdf(&path, &r, &digest);
    assert!(pages >= 2, "{pages}");
    for want in [
        "Åsa Öberg",
        "Karl Lindqvist",
        "PMÄ 1234-26",
        "Patent- och marknadsdomstolen",
        "Upphovsrättslagen (1960:729) 53 c §",
        "412–419, 431",
        "SKYDDADE PERSONUPPGIFTER",
        "Informationsföreläggande",
        "Ärendet",
        "Godkännanden",
        "legal-cecilia",
        "5f2b9c0e4a7d1863c2e9f0b47a1d3e8c6b5a49f2e1d0c7b8a6958473e2d1c0b9",
        "±5 s",
        "outside_retention",
        &format!("Sida 1 av {pages}"),
        &format!("Sida {pages} av {pages}"),
    ] {
        assert!(text.contains(want), "{want:?} not in the extracted text");
    }
    // Item 3 is ambiguous: none of its candidates is named.
    assert!(!text.contains("candidate 1 ("));

    let ink = ink_on_first_page(dir.path(), &path);
    assert!(ink > 0.01 && ink < 0.5, "page 1 ink share {ink}");
}

#[test]
fn a_report_of_hundreds_of_items_runs_over_many_pages() {
    let (r, digest) = long_report(300);
    let started = std::time::Instant::now();
    let bytes = pdf::render(&r, &digest);
    let took = started.elapsed();
    let dir = tempfile::tempdir().unwrap();
    let path = write_pdf(dir.path(), "long.pdf", &bytes);
    let (pages, text) = check_pdf(&path, &r, &digest);
    assert!(pages > 50, "{pages} pages for 300 items");
    eprintln!(
        "300 items: {pages} pages, {} bytes, rendered in {took:?}",
        bytes.len()
    );
    assert!(text.contains("Post 300 av 300"));
    assert!(text.contains("1000–1299"));
    assert!(text.contains(&format!("Sida {pages} av {pages}")));
    // Subset fonts keep a long report small.
    assert!(bytes.len() < 2_000_000, "{} bytes", bytes.len());
    let ink = ink_on_first_page(dir.path(), &path);
    assert!(ink > 0.01, "page 1 ink share {ink}");
}

/// The README's example: the PDF and its first page, rewritten with `UPDATE_DOCS=1`.
fn docs(bytes: &[u8]) {
    let dir = root().join("docs/reports");
    let pdf_path = dir.join("ipred-C-2026-0007.pdf");
    if std::env::var("UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&pdf_path, bytes).unwrap();
        let prefix = dir.join("court-report-p1");
        ok(
            "pdftoppm",
            "poppler-utils",
            &[
                "-png",
                "-r",
                "80",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                pdf_path.to_str().unwrap(),
                prefix.to_str().unwrap(),
            ],
        );
        return;
    }
    let committed = std::fs::read(&pdf_path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_DOCS=1 writes it)", pdf_path.display()));
    assert!(
        committed == bytes,
        "{} differs from the rendering (UPDATE_DOCS=1 rewrites it and its page image)",
        pdf_path.display()
    );
}
