//! `tdr check-config`: loads a configuration file and lists every problem in it.

use std::path::Path;
use std::process::ExitCode;

use tdr::config::Config;

use super::Failure;

pub fn check(file: &Path) -> Result<ExitCode, Failure> {
    match Config::load(file) {
        Ok(_) => {
            println!("{}: ok", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(Failure::BadInput(format!("{}: {e}", file.display()))),
    }
}
