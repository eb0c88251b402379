//! Files: written safely, whole (a crash or a concurrent reader never sees half of one) and
//! private (state and credentials are the user's alone), and read bounded and interruptible
//! (token files, pages, `--config @FILE`, config and credentials).

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file,
/// never a torn one: write a temporary file beside it, fsync, rename, fsync the directory.
///
/// The temporary file is created with mode 0600 on Unix (tempfile's default), so the new file
/// is private to its owner from the first byte: a secret is never briefly world-readable.
///
/// Only a regular file is replaced: renaming over a device or a FIFO (`--state /dev/null` run as
/// root) would destroy it, so that is refused. A symlink is followed, so a state or credentials
/// file kept elsewhere through a link stays linked.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let resolved;
    let path = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", path.display()),
            ));
        }
        Ok(_) => {
            resolved = std::fs::canonicalize(path)?;
            resolved.as_path()
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => path,
        Err(e) => return Err(e),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(&temporary_prefix(path))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Reads a text file of at most `limit` bytes; a larger one (or an endless device such as
/// `/dev/zero`) is an error of kind `FileTooLarge` after reading `limit + 1` bytes, never
/// more. Invalid UTF-8 is an `InvalidData` error.
///
/// Any file will do, a FIFO included (`plan -f <(envsubst < tokens.toml)`): opening one waits
/// for its writer, and reading it for the writer to write or close, and nothing interrupts a
/// thread blocked there. So the read runs on a thread of its own and the run awaits it, where
/// Ctrl-C or SIGTERM still ends the run at once (the thread is abandoned; it ends with the
/// process, or when its writer comes).
pub(crate) async fn read_text(path: &Path, limit: u64) -> io::Result<String> {
    let path = path.to_path_buf();
    off_thread(move || read_text_now(&path, limit)).await
}

/// [`read_text`] for a file rtctl itself writes (the credentials file), read where nothing
/// can wait: anything but a regular file there is refused before it is opened, so a FIFO or
/// a device cannot block the run.
pub(crate) fn read_own_text(path: &Path, limit: u64) -> io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file",
        ));
    }
    read_text_now(path, limit)
}

/// Runs blocking `work` (a read that may wait on a FIFO, a terminal, stdin) on a plain thread
/// and awaits its result, so the runtime stays free to notice a signal. A plain thread, not
/// the runtime's blocking pool: the runtime's shutdown waits for the pool, and a read
/// abandoned after a signal must not hold up the process's exit.
pub(crate) async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("rtctl-read".into())
        .spawn(move || {
            let _ = tx.send(work());
        })?;
    rx.await.unwrap_or_else(|_| {
        Err(io::Error::other(
            "the reading thread ended without a result",
        ))
    })
}

pub(crate) fn read_text_now(path: &Path, limit: u64) -> io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    File::open(path)?.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("it is larger than {}", size(limit)),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

/// `1 MiB`, `64 KiB`.
pub(crate) fn size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// The name a temporary copy of `path` starts with: `.NAME.tmp-`, so leftovers of one file
/// (a write cut short by a kill) can be told from another's.
fn temporary_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.tmp-")
}

/// Removes temporary copies of `path` left by writes that were cut short. Only for a caller
/// that holds `path`'s lock: nobody else can be writing one.
pub(crate) fn remove_leftovers(path: &Path) {
    let prefix = temporary_prefix(path);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Creates `dir` and its parents, readable only by the user where they are new (0700).
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn reads_are_bounded_even_from_an_endless_device() {
        let err = read_text(Path::new("/dev/zero"), 1024).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert!(err.to_string().contains("1 KiB"), "{err}");
        let err = read_own_text(Path::new("/dev/zero"), 1024).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_to_replace_what_is_not_a_regular_file() {
        let err = write_atomically(Path::new("/dev/null"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("/dev/null is not a regular file"));
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomically(dir.path(), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[cfg(unix)]
    #[test]
    fn writes_through_a_symlink_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.json");
        std::fs::write(&target, b"old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }
}
