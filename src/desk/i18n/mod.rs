//! The desk's one catalogue of strings: every text a page shows, in Swedish (the default, for
//! Junet's staff) and English, by key. The tables are split by area only to keep them readable;
//! a test holds every key used in the desk's code against them, and no key twice.

mod cases;
mod common;
mod notices;
mod oversight;

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;

/// A key, its Swedish text and its English text.
pub type Entry = (&'static str, &'static str, &'static str);

const TABLES: &[&[Entry]] = &[
    common::TEXTS,
    cases::TEXTS,
    oversight::TEXTS,
    notices::TEXTS,
];

fn catalogue() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static C: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    C.get_or_init(|| {
        TABLES
            .iter()
            .flat_map(|t| t.iter())
            .map(|(k, sv, en)| (*k, (*sv, *en)))
            .collect()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Sv,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "sv" => Some(Lang::Sv),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Sv => "sv",
            Lang::En => "en",
        }
    }

    /// The language a request's cookie chose; Swedish without one.
    pub fn of(h: &HeaderMap) -> Lang {
        super::cookie(h, super::LANG_COOKIE)
            .and_then(Lang::parse)
            .unwrap_or(Lang::Sv)
    }

    /// The text of `key`; a key missing from the catalogue shows as itself (and fails the
    /// catalogue test).
    pub fn t(self, key: &'static str) -> &'static str {
        match catalogue().get(key) {
            Some((sv, en)) => match self {
                Lang::Sv => sv,
                Lang::En => en,
            },
            None => key,
        }
    }

    /// The text of a key made at run time (a state, a status, an error code): `None` when the
    /// catalogue has none.
    pub fn lookup(self, key: &str) -> Option<&'static str> {
        catalogue().get(key).map(|(sv, en)| match self {
            Lang::Sv => *sv,
            Lang::En => *en,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t("…")` in the desk's sources names a key of the catalogue.
    #[test]
    fn every_key_the_desk_uses_is_in_the_catalogue_once() {
        let mut seen = std::collections::HashSet::new();
        for (k, sv, en) in TABLES.iter().flat_map(|t| t.iter()) {
            assert!(seen.insert(*k), "key {k} is in the catalogue twice");
            assert!(!sv.is_empty() && !en.is_empty(), "{k} lacks a text");
        }
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/desk"
        ))];
        let mut files = Vec::new();
        while let Some(dir) = dirs.pop() {
            for f in std::fs::read_dir(dir).unwrap() {
                let p = f.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        let mut missing = Vec::new();
        for p in files {
            if p.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for part in text.split(".t(\"").skip(1) {
                    let key = &part[..part.find('"').unwrap()];
                    if !catalogue().contains_key(key) {
                        missing.push(format!("{}: {key}", p.display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "keys not in the catalogue: {missing:?}");
    }
}
