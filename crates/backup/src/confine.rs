//! Whether a local path stays inside given directories once `.`, `..` and symlinks are
//! resolved, for paths that may not exist yet (a download directory, a bucket to create).
//!
//! Owns that resolution and the "inside" test. It reads the file system and changes nothing;
//! which directories a path must stay inside is the caller's to say.

use std::io;
use std::path::{Component, Path, PathBuf};

/// `path` as the file system would follow it: every existing component resolved (symlinks
/// included, so `..` after a symlink leaves the link's target, as the kernel does), the
/// missing rest appended with its `.` and `..` applied. A symlink whose target is missing is an
/// error: creating a file through it would create the target, wherever it points.
pub fn resolve(path: &Path) -> io::Result<PathBuf> {
    if !path.is_absolute() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not an absolute path", path.display()),
        ));
    }
    let mut resolved = PathBuf::from("/");
    let mut existing = true;
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir | Component::CurDir => {}
            // `resolved` is a real directory (or a lexical path below the last real one), so
            // its parent is the physical parent.
            Component::ParentDir => {
                resolved.pop();
            }
            Component::Normal(name) => {
                resolved.push(name);
                if !existing {
                    continue;
                }
                match std::fs::canonicalize(&resolved) {
                    Ok(real) => resolved = real,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        match std::fs::symlink_metadata(&resolved) {
                            Ok(meta) if meta.file_type().is_symlink() => {
                                return Err(io::Error::new(
                                    io::ErrorKind::InvalidInput,
                                    format!(
                                        "{} is a symbolic link to a missing target",
                                        resolved.display()
                                    ),
                                ));
                            }
                            // Created between the two calls (uploads into one new directory
                            // run at once): resolve it as it is now.
                            Ok(_) => resolved = std::fs::canonicalize(&resolved)?,
                            Err(_) => existing = false,
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(resolved)
}

/// The first of `roots` that `path` resolves inside (a root itself counts), both resolved
/// with [`resolve`]; `None` when it is inside none, or cannot be resolved.
pub fn root_of<'a>(path: &Path, roots: &'a [PathBuf]) -> Option<&'a Path> {
    let path = resolve(path).ok()?;
    roots
        .iter()
        .find(|root| resolve(root).is_ok_and(|root| path.starts_with(root)))
        .map(PathBuf::as_path)
}

/// Whether `path` resolves inside one of `roots`.
pub fn is_inside(path: &Path, roots: &[PathBuf]) -> bool {
    root_of(path, roots).is_some()
}

/// Whether two paths resolve to the same place.
pub fn same(a: &Path, b: &Path) -> bool {
    matches!((resolve(a), resolve(b)), (Ok(a), Ok(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_parts_follow_symlinks_and_missing_parts_stay_lexical() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let roots = [root.clone()];

        assert_eq!(
            resolve(&root.join("a/./new/x")).unwrap(),
            root.join("a/new/x")
        );
        assert!(is_inside(&root.join("a/new/../b"), &roots));
        assert!(is_inside(&root, &roots), "a root is inside itself");
        assert!(!is_inside(&root.join("../outside"), &roots));
        assert!(!is_inside(&root.join("a/../../outside/x"), &roots));
        assert!(
            !is_inside(&root.join("link/new"), &roots),
            "through a symlink"
        );
        assert_eq!(
            resolve(&root.join("link/new")).unwrap(),
            outside.join("new")
        );
        // `..` after a symlink leaves its target, not the link's directory.
        assert_eq!(resolve(&root.join("link/..")).unwrap(), base);
        assert!(
            !is_inside(&base.join("rootish"), &roots),
            "a prefix is not a parent"
        );
        assert!(resolve(Path::new("relative/x")).is_err());

        std::os::unix::fs::symlink(base.join("missing"), root.join("dangling")).unwrap();
        assert!(resolve(&root.join("dangling/x")).is_err());
        assert!(!is_inside(&root.join("dangling"), &roots));
        assert!(same(&root.join("link"), &outside));
        assert!(!same(&root, &outside));
    }
}
