//! The case register: one JSON file per case under `<data_dir>/legal/cases/`, ids
//! `C-<year>-<nnnn>` in order of registration. Every change runs under the register lock and
//! is written atomically (see `files.rs`).

use std::path::{Path, PathBuf};

use super::case::{Case, CaseError};
use super::files::{self, RegisterError};
use crate::error::ErrorKind;

/// Either error a register operation can end in.
#[derive(Debug, thiserror::Error)]
pub enum CaseStoreError {
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error(transparent)]
    Register(#[from] RegisterError),
}

impl CaseStoreError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            CaseStoreError::Case(c) => c.kind(),
            CaseStoreError::Register(r) => r.kind(),
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

fn case_path(data_dir: &Path, id: &str) -> Option<PathBuf> {
    // Ids are ours (C-YYYY-NNNN); anything else cannot name a file.
    let ok = id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| files::cases_dir(data_dir).join(format!("{id}.json")))
}

pub fn get(data_dir: &Path, id: &str) -> Result<Case, CaseStoreError> {
    let path = case_path(data_dir, id).ok_or_else(|| CaseError::NotFound(id.to_string()))?;
    files::read_json(&path)?.ok_or_else(|| CaseError::NotFound(id.to_string()).into())
}

/// Every case, in order of registration.
pub fn list(data_dir: &Path) -> Result<Vec<Case>, RegisterError> {
    let dir = files::cases_dir(data_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RegisterError::Read(e.to_string())),
    };
    let mut out = Vec::new();
    for e in entries {
        let path = e.map_err(|e| RegisterError::Read(e.to_string()))?.path();
        if path.extension().is_some_and(|x| x == "json") {
            if let Some(c) = files::read_json::<Case>(&path)? {
                out.push(c);
            }
        }
    }
    out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(out)
}

/// Stores a new case under the next free id of its year; `make` builds it given the id.
pub fn create(
    data_dir: &Path,
    year: i32,
    make: impl FnOnce(String) -> Case,
) -> Result<Case, RegisterError> {
    let _lock = files::lock(data_dir)?;
    let prefix = format!("C-{year}-");
    let mut next = 1;
    if let Ok(entries) = std::fs::read_dir(files::cases_dir(data_dir)) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(n) = name
                .strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(".json"))
                .and_then(|n| n.parse::<u32>().ok())
            {
                next = next.max(n + 1);
            }
        }
    }
    let case = make(format!("{prefix}{next:04}"));
    let path = case_path(data_dir, &case.id).expect("generated ids are valid");
    files::write_json(&path, &case)?;
    Ok(case)
}

/// Changes a case under the register lock: `f` sees the current version and either changes
/// it (stored atomically) or refuses (nothing is written).
pub fn update<R>(
    data_dir: &Path,
    id: &str,
    f: impl FnOnce(&mut Case) -> Result<R, CaseError>,
) -> Result<(Case, R), CaseStoreError> {
    let _lock = files::lock(data_dir)?;
    let mut case = get(data_dir, id)?;
    let r = f(&mut case)?;
    let path = case_path(data_dir, id).expect("get() accepted the id");
    files::write_json(&path, &case)?;
    Ok((case, r))
}
