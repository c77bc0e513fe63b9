//! The default store: a folder. Writes go to a temporary file in the same folder, are synced,
//! then renamed over the old file, so a crash leaves either the old or the new file, never half.
//! An advisory lock on `lock` keeps two overlapping runs (cron plus a manual run) from
//! interleaving; the OS drops it when a process dies, so a killed run never leaves a stale lock.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{HistoryError, Store, StoreLock};

/// A history folder.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// How long to wait for another run's lock.
    pub lock_wait: Duration,
}

impl LocalStore {
    /// A store in `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            lock_wait: Duration::from_secs(120),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn io(&self, key: &str, e: std::io::Error) -> HistoryError {
        HistoryError::Io {
            file: self.path(key).display().to_string(),
            reason: e.to_string(),
        }
    }
}

struct FileLock(#[allow(dead_code)] File);

impl StoreLock for FileLock {}

impl Store for LocalStore {
    fn describe(&self, key: &str) -> String {
        self.path(key).display().to_string()
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, HistoryError> {
        match std::fs::read(self.path(key)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(key, e)),
        }
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), HistoryError> {
        let path = self.path(key);
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.io(key, e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| self.io(key, e))?;
        tmp.write_all(bytes).map_err(|e| self.io(key, e))?;
        tmp.as_file().sync_all().map_err(|e| self.io(key, e))?;
        tmp.persist(&path).map_err(|e| self.io(key, e.error))?;
        // Make the rename itself durable.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, HistoryError> {
        let dir = self.path(prefix);
        let mut out = Vec::new();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            let entries = match std::fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.io(prefix, e)),
            };
            for entry in entries.flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(&self.root) {
                    let name = rel.to_string_lossy().replace('\\', "/");
                    // Temporary files of an interrupted write are not history.
                    if !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(".tmp"))
                    {
                        out.push(name);
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<(), HistoryError> {
        match std::fs::remove_file(self.path(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io(key, e)),
        }
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), HistoryError> {
        std::fs::rename(self.path(from), self.path(to)).map_err(|e| self.io(from, e))
    }

    fn lock(&self) -> Result<Box<dyn StoreLock>, HistoryError> {
        std::fs::create_dir_all(&self.root).map_err(|e| self.io("", e))?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path("lock"))
            .map_err(|e| self.io("lock", e))?;
        let start = Instant::now();
        let mut said = false;
        loop {
            match file.try_lock() {
                Ok(()) => {
                    // Who holds it, for a run that has to wait (best effort: the lock itself
                    // is the flock, not these bytes).
                    let holder = format!(
                        "pid {} since {}",
                        std::process::id(),
                        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
                    );
                    let _ = file.set_len(0).and_then(|()| {
                        let mut f = &file;
                        f.write_all(holder.as_bytes())
                    });
                    return Ok(Box::new(FileLock(file)));
                }
                Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < self.lock_wait => {
                    if !said {
                        said = true;
                        let holder = std::fs::read_to_string(self.path("lock"))
                            .ok()
                            .filter(|h| !h.trim().is_empty())
                            .unwrap_or_else(|| "an unknown process".to_owned());
                        tracing::warn!(
                            lock = %self.describe("lock"),
                            holder = %holder.trim(),
                            wait_secs = self.lock_wait.as_secs(),
                            "Waiting for another run to release the history lock."
                        );
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(HistoryError::Locked {
                        file: self.describe("lock"),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(self.io("lock", e)),
            }
        }
    }
}
