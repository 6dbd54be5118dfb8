//! `supergraph.watch`: reloads the supergraph file (and the config file) when it changes. The
//! directory is watched,
//! not the file: editors and deployment tools replace a file by writing another and renaming
//! it over, and Kubernetes swaps a ConfigMap's files by re-pointing a symlink (`..data`) in
//! the directory, and a watch on the file itself would be left on the old inode. Any change in
//! the directory re-reads the file; the reloader ignores text it serves already.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

use futures::future::BoxFuture;

#[derive(Debug, thiserror::Error)]
#[error("cannot watch {path}: {reason}")]
pub struct WatchError {
    path: String,
    reason: String,
}

/// A running watch; dropping it stops watching.
pub struct FileWatch {
    _debouncer: Debouncer<notify_debouncer_full::notify::RecommendedWatcher, RecommendedCache>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FileWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What to do with a watched file once it changed: given its path, read it and act.
pub type OnChange = Arc<dyn Fn(PathBuf) -> BoxFuture<'static, ()> + Send + Sync>;

/// Watches `path` and calls `on_change` after each burst of changes has been quiet for
/// `debounce` (one call at a time). Call from within a Tokio runtime.
pub fn watch(
    path: PathBuf,
    debounce: Duration,
    on_change: OnChange,
) -> Result<FileWatch, WatchError> {
    let error = |reason: String| WatchError {
        path: path.display().to_string(),
        reason,
    };
    let (changed, mut changes) = mpsc::unbounded_channel::<()>();
    let mut debouncer =
        new_debouncer(
            debounce,
            None,
            move |result: DebounceEventResult| match result {
                // Only writes, creations, renames and removals: reading the file (as each
                // reload does) is an access event, which must not start another reload.
                Ok(events) => {
                    if events.iter().any(|event| !event.kind.is_access()) {
                        let _ = changed.send(());
                    }
                }
                Err(errors) => {
                    for error in errors {
                        tracing::warn!("watching a file: {error}");
                    }
                }
            },
        )
        .map_err(|e| error(e.to_string()))?;
    for directory in directories(&path) {
        debouncer
            .watch(&directory, RecursiveMode::NonRecursive)
            .map_err(|e| error(format!("{}: {e}", directory.display())))?;
    }
    tracing::info!(path = %path.display(), debounce_ms = debounce.as_millis() as u64, "watching for changes");
    let mut seen = Stamp::of(&path);
    let task = tokio::spawn(async move {
        while changes.recv().await.is_some() {
            // Changes that came in while the last reload ran are one more reload, not many.
            while changes.try_recv().is_ok() {}
            // Other files in the directory change too (a log file written next to it would
            // otherwise reload on every line): act only when this file is another one now.
            let now = Stamp::of(&path);
            if now == seen {
                continue;
            }
            seen = now;
            on_change(path.clone()).await;
        }
    });
    Ok(FileWatch {
        _debouncer: debouncer,
        task,
    })
}

/// What tells one version of the file from another without reading it: where it resolves
/// to (a symlink swap), which file that is (a rename over it), its size and modification
/// time (a write in place).
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    target: Option<PathBuf>,
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Stamp {
    fn of(path: &Path) -> Option<Self> {
        let metadata = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Self {
            target: std::fs::canonicalize(path).ok(),
            inode,
            len: metadata.len(),
            modified: metadata.modified().ok(),
        })
    }
}

/// The file's directory, and the directory of what it links to when it is a symlink elsewhere.
fn directories(path: &Path) -> Vec<PathBuf> {
    let parent = |p: &Path| match p.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut out = vec![parent(path)];
    if let Ok(target) = std::fs::canonicalize(path) {
        let target_parent = parent(&target);
        let same = std::fs::canonicalize(&out[0]).is_ok_and(|p| p == target_parent);
        if !same {
            out.push(target_parent);
        }
    }
    out
}
