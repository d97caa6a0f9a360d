//! Files and folders that hold personal data or keys, created private whatever the umask:
//! folders 0700, files 0600, never through a symbolic link.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` (and its missing parents) 0700, and makes an existing `dir` 0700.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, Permissions::from_mode(0o700))
}

/// Creates `path` as a new file, 0600: refused if anything (a file, a symbolic link) is
/// already there, so an answer is never written into a file someone else prepared.
pub fn create_new_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_private_dir_is_0700_and_a_new_file_0600_whatever_the_umask() {
        let d = tempfile::tempdir().unwrap();
        // SAFETY: umask only changes this process's file-creation mask.
        let old = unsafe { libc::umask(0o022) };
        let dir = d.path().join("a/b");
        create_private_dir(&dir).unwrap();
        let f = dir.join("out");
        create_new_private(&f).unwrap();
        unsafe { libc::umask(old) };
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_new_private_file_is_not_written_through_a_symlink_or_over_a_file() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        std::fs::write(&target, "x").unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(create_new_private(&link).is_err());
        assert!(create_new_private(&target).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "x");
    }
}
