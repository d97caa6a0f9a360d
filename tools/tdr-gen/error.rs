//! The one error type of tdr-gen: IO (with the path), bad arguments, and bad input lines
//! (with file and line number). No panics on IO; `main` maps these to exit code 2.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum GenError {
    /// Reading or writing a file (or stdout) failed.
    Io { path: PathBuf, source: io::Error },
    /// An argument is out of range or inconsistent with another.
    Usage(String),
    /// A line of an input file (truth, expect, answers) could not be understood.
    Input {
        path: PathBuf,
        line: u64,
        reason: String,
    },
}

impl GenError {
    pub fn io(path: &Path, source: io::Error) -> Self {
        GenError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn input(path: &Path, line: u64, reason: impl Into<String>) -> Self {
        GenError::Input {
            path: path.to_path_buf(),
            line,
            reason: reason.into(),
        }
    }

    /// True when the error is a closed pipe on output (`tdr-gen queries | head`), which is
    /// not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, GenError::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for GenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            GenError::Usage(msg) => write!(f, "{msg}"),
            GenError::Input { path, line, reason } => {
                write!(f, "{}:{line}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for GenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GenError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, GenError>;
