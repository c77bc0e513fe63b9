//! `store = "s3://bucket/prefix"`: history in any S3-compatible object store, so a run on a
//! fresh CI runner (no disk that survives it) still sees what earlier runs saw.
//!
//! Every object is replaced whole with one PUT, which S3 makes atomic: a reader sees the old or
//! the new object, never half. There is no file lock on S3, so the run lock is an object created
//! with a conditional put (`If-None-Match: *`): exactly one of two overlapping runs creates it.
//! A run that dies cannot delete its lock, so a lock older than [`S3Store::stale_after`] is
//! taken over, again conditionally (`If-Match` on the ETag seen), so two waiters cannot both
//! take over the same stale lock.
//!
//! The [`Store`] trait is synchronous and is called both from `spawn_blocking` threads and from
//! inside the CLI's runtime, where `block_on` would panic. So the store owns a small runtime on
//! its own thread and hands it each request through a channel; callers only wait on a plain
//! `std` channel, which is allowed anywhere.
//!
//! The helpers shared with the S3 publish target and the storage probe (URL parsing, client
//! settings, error text) live in the leaf module [`crate::s3`], so all read `[s3]` the same way.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::{HistoryError, Store, StoreLock};
use crate::config::Config;
pub use crate::s3::{S3Location, client, error_text};
use crate::secret::redact_url;

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A current-thread runtime on its own thread, running whatever it is sent. It stops when the
/// last sender (the store, or a lock that outlives it) is dropped.
#[derive(Clone)]
struct Worker {
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
}

impl Worker {
    fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (jobs, mut inbox) = tokio::sync::mpsc::unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name("upstate-s3-history".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    while let Some(job) = inbox.recv().await {
                        tokio::spawn(job);
                    }
                });
            })?;
        Ok(Self { jobs })
    }

    /// Runs `future` on the worker and waits for it; `None` if the worker is gone.
    fn run<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.jobs
            .send(Box::pin(async move {
                let _ = reply.send(future.await);
            }))
            .ok()?;
        answer.recv().ok()
    }
}

/// A history store under `s3://bucket/prefix`.
pub struct S3Store {
    location: S3Location,
    client: Arc<AmazonS3>,
    worker: Worker,
    /// How long to wait for another run's lock.
    pub lock_wait: Duration,
    /// A lock older than this is from a run that died and is taken over. Runs hold the lock
    /// only while probing and rendering, which the per-probe deadlines keep far below this.
    pub stale_after: Duration,
}

impl S3Store {
    /// A store for `url` (`s3://bucket/prefix`) with the client settings of `config`.
    pub fn new(config: &Config, url: &str) -> Result<Self, HistoryError> {
        let location = S3Location::parse(url).map_err(|reason| HistoryError::Io {
            file: redact_url(url),
            reason,
        })?;
        let io = |reason: String| HistoryError::Io {
            file: location.url(),
            reason,
        };
        let client = client(config.s3.as_ref(), &location.bucket).map_err(io)?;
        let worker = Worker::start().map_err(|e| io(e.to_string()))?;
        Ok(Self {
            location,
            client: Arc::new(client),
            worker,
            lock_wait: Duration::from_secs(120),
            stale_after: Duration::from_secs(600),
        })
    }

    fn io(&self, key: &str, reason: String) -> HistoryError {
        HistoryError::Io {
            file: self.describe(key),
            reason,
        }
    }

    /// Runs one request on the worker, mapping a stopped worker to an error on `key`.
    fn call<T: Send + 'static>(
        &self,
        key: &str,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, HistoryError> {
        self.worker
            .run(future)
            .ok_or_else(|| self.io(key, "the S3 client thread stopped".to_owned()))
    }
}

/// The run lock: the `lock` object, deleted when this is dropped.
struct S3Lock {
    client: Arc<AmazonS3>,
    path: Path,
    worker: Worker,
}

impl StoreLock for S3Lock {}

impl Drop for S3Lock {
    fn drop(&mut self) {
        let client = self.client.clone();
        let path = self.path.clone();
        let done = self.worker.run(async move { client.delete(&path).await });
        match done {
            Some(Ok(())) => {}
            // The next run will find the lock and wait, then take it over once it is stale.
            Some(Err(e)) => tracing::warn!(
                error = %error_text(&e),
                "Could not delete the history lock object; the next run will wait for it to go stale."
            ),
            None => tracing::warn!("Could not delete the history lock object: worker stopped."),
        }
    }
}

/// What one attempt at taking the lock found.
enum Attempt {
    Taken,
    TookOverStale,
    /// Gone by the time we looked at it: try again at once.
    Released,
    Held,
}

impl Store for S3Store {
    fn describe(&self, key: &str) -> String {
        let base = self.location.url();
        if key.is_empty() {
            base
        } else {
            format!("{base}/{key}")
        }
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, HistoryError> {
        let client = self.client.clone();
        let path = self.location.path(key);
        let result = self.call(key, async move {
            match client.get(&path).await {
                Ok(found) => found.bytes().await.map(|b| Some(b.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        result.map_err(|e| self.io(key, error_text(&e)))
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), HistoryError> {
        let client = self.client.clone();
        let path = self.location.path(key);
        let payload = PutPayload::from(bytes.to_vec());
        let result = self.call(key, async move { client.put(&path, payload).await })?;
        result.map(drop).map_err(|e| self.io(key, error_text(&e)))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, HistoryError> {
        let client = self.client.clone();
        let under = self.location.path(prefix.trim_matches('/'));
        let listing_root = under.as_ref().is_empty();
        let result = self.call(prefix, async move {
            let stream = if listing_root {
                client.list(None)
            } else {
                client.list(Some(&under))
            };
            stream.try_collect::<Vec<_>>().await
        })?;
        let found = result.map_err(|e| self.io(prefix, error_text(&e)))?;
        let mut keys: Vec<String> = found
            .iter()
            .filter_map(|meta| self.location.relative(&meta.location))
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn delete(&self, key: &str) -> Result<(), HistoryError> {
        let client = self.client.clone();
        let path = self.location.path(key);
        let result = self.call(key, async move {
            match client.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        })?;
        result.map_err(|e| self.io(key, error_text(&e)))
    }

    /// S3 has no rename: copy (server side), then delete the original. A crash in between leaves
    /// both, which `repair` handles by moving the original again.
    fn rename(&self, from: &str, to: &str) -> Result<(), HistoryError> {
        let client = self.client.clone();
        let (source, dest) = (self.location.path(from), self.location.path(to));
        let result = self.call(from, async move {
            client.copy(&source, &dest).await?;
            client.delete(&source).await
        })?;
        result.map_err(|e| self.io(from, error_text(&e)))
    }

    fn lock(&self) -> Result<Box<dyn StoreLock>, HistoryError> {
        let path = self.location.path("lock");
        let start = std::time::Instant::now();
        let mut said = false;
        loop {
            let client = self.client.clone();
            let target = path.clone();
            let stale_after = self.stale_after;
            let attempt = self.call("lock", async move {
                try_lock(&client, &target, stale_after).await
            })?;
            match attempt.map_err(|e| self.io("lock", error_text(&e)))? {
                Attempt::Taken => {}
                Attempt::TookOverStale => tracing::warn!(
                    lock = %self.describe("lock"),
                    "Took over a history lock left by a run that did not finish."
                ),
                Attempt::Released => continue,
                Attempt::Held if start.elapsed() < self.lock_wait => {
                    if !said {
                        said = true;
                        // The holder wrote its pid and start time into the lock object.
                        let holder = self
                            .get("lock")
                            .ok()
                            .flatten()
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_else(|| "an unknown run".to_owned());
                        tracing::warn!(
                            lock = %self.describe("lock"),
                            holder = %holder,
                            wait_secs = self.lock_wait.as_secs(),
                            "Waiting for another run to release the history lock."
                        );
                    }
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                }
                Attempt::Held => {
                    return Err(HistoryError::Locked {
                        file: self.describe("lock"),
                    });
                }
            }
            return Ok(Box::new(S3Lock {
                client: self.client.clone(),
                path,
                worker: self.worker.clone(),
            }));
        }
    }
}

/// One attempt: create the lock if absent; replace it if stale and unchanged since we looked.
async fn try_lock(
    client: &AmazonS3,
    path: &Path,
    stale_after: Duration,
) -> Result<Attempt, object_store::Error> {
    let body = || {
        PutPayload::from(
            serde_json::json!({
                "pid": std::process::id(),
                "at": chrono::Utc::now().to_rfc3339(),
            })
            .to_string(),
        )
    };
    match client
        .put_opts(path, body(), PutOptions::from(PutMode::Create))
        .await
    {
        Ok(_) => return Ok(Attempt::Taken),
        Err(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
        ) => {}
        Err(e) => return Err(e),
    }
    let meta = match client.head(path).await {
        Ok(meta) => meta,
        // Released between our put and our look: try again at once.
        Err(object_store::Error::NotFound { .. }) => return Ok(Attempt::Released),
        Err(e) => return Err(e),
    };
    // Compared with this machine's clock: a clock far ahead of the server's would take over a
    // live lock early, which is why the bound is many times a run's length.
    let age = chrono::Utc::now().signed_duration_since(meta.last_modified);
    let stale = age.to_std().is_ok_and(|age| age > stale_after);
    if !stale {
        return Ok(Attempt::Held);
    }
    let seen = UpdateVersion {
        e_tag: meta.e_tag,
        version: meta.version,
    };
    match client
        .put_opts(path, body(), PutOptions::from(PutMode::Update(seen)))
        .await
    {
        Ok(_) => Ok(Attempt::TookOverStale),
        // Another waiter took it over first.
        Err(
            object_store::Error::Precondition { .. }
            | object_store::Error::AlreadyExists { .. }
            | object_store::Error::NotFound { .. },
        ) => Ok(Attempt::Held),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_prefix_and_refuses_credentials() {
        let l = S3Location::parse("s3://bucket/a/b/").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("bucket", "a/b"));
        assert_eq!(l.url(), "s3://bucket/a/b");
        assert_eq!(l.path("raw/x.json").as_ref(), "a/b/raw/x.json");
        assert_eq!(
            l.relative(&Path::from("a/b/raw/x.json")).as_deref(),
            Some("raw/x.json")
        );
        assert_eq!(l.relative(&Path::from("a/bc/x")), None);
        let root = S3Location::parse("s3://bucket").unwrap();
        assert_eq!(
            (root.prefix.as_str(), root.url()),
            ("", "s3://bucket".to_owned())
        );
        assert_eq!(root.path("lock").as_ref(), "lock");
        let err = S3Location::parse("s3://key:s3cr3t-value@bucket/p").unwrap_err();
        assert!(!err.contains("s3cr3t-value"), "{err}");
        assert!(S3Location::parse("s3:///p").is_err());
        assert!(S3Location::parse("s3://b/../p").is_err());
        assert!(S3Location::parse("gs://b/p").is_err());
    }
}
