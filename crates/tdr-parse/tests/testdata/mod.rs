//! The golden test data under the repository's `tests/data/<format>/`, shared by the golden
//! tests (`mod testdata;`) and the bench (`#[path]`). Kept out of the library so that its
//! `toml` is only a dev-dependency; `tools/fuzz.sh` seeds the fuzz corpus from the same files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tdr_parse::model::{parse_time, Class};
use tdr_parse::{Context, Format, NatEventValues};

/// `tests/data` of the repository.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

/// The context for golden input `input`, from `<input>.ctx.toml` if it exists: `tz`,
/// `source` (default "test"), `reference` (RFC 3339; default 2030-01-01T00:00:00Z), `template`,
/// `lease_time`, `timestamp_format`, `class`, `nat_event_values` (ipfix). Panics on a bad file (test data).
pub fn context(input: &Path) -> Context {
    let mut ctx = Context::new(
        "test",
        parse_time("2030-01-01T00:00:00Z").expect("constant time"),
    );
    let ctx_path = PathBuf::from(format!("{}.ctx.toml", input.display()));
    if let Ok(text) = std::fs::read_to_string(&ctx_path) {
        let t: BTreeMap<String, toml::Value> = toml::from_str(&text).expect("ctx.toml parses");
        for (k, v) in t {
            let s = || v.as_str().expect("string value").to_string();
            match k.as_str() {
                "tz" => ctx.tz = Some(s().parse().expect("tz name")),
                "source" => ctx.source = s(),
                "reference" => ctx.reference = parse_time(&s()).expect("reference time"),
                "template" => ctx.template = Some(s()),
                "timestamp_format" => ctx.timestamp_format = Some(s()),
                "lease_time" => ctx.lease_time = Some(v.as_integer().expect("int") as u32),
                "class" => ctx.class = Class::parse(&s()).expect("class"),
                "nat_event_values" => {
                    ctx.nat_event_values =
                        NatEventValues::from_name(&s()).expect("nat_event_values name")
                }
                other => panic!("{}: unknown key {other}", ctx_path.display()),
            }
        }
    }
    ctx
}

/// The golden inputs of `format` (files with an `.expected.jsonl` beside them), sorted.
pub fn inputs(format: Format) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir().join(format.name())) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| PathBuf::from(format!("{}.expected.jsonl", p.display())).exists())
        .collect();
    v.sort();
    v
}
