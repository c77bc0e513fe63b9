//! `kind = "storage"`: the media volume (or bucket) accepts a write, a read and a delete.

use std::path::PathBuf;

use crate::s3::{S3Config, S3Location};
use crate::secret::EnvString;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{BoxFuture, Outcome, Probe, elapsed_ms};

/// `[[component]] kind = "storage"`: exactly one of `path` and `bucket`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// A local volume that must exist and accept write + read + delete of a small file.
    pub path: Option<EnvString>,
    /// `s3://bucket/prefix`: put + get + delete of a small object, with `[s3]` settings.
    pub bucket: Option<String>,
    /// The parsed `bucket` and a copy of `[s3]`, set when the config is validated. The client
    /// is made when the probe runs: validating a config has no side effects (making a client
    /// reads the `AWS_*` environment and registers its secrets).
    #[serde(skip)]
    pub s3: Option<(S3Location, Option<S3Config>)>,
}

impl StorageConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        match (&self.path, &self.bucket) {
            (Some(_), None) => Ok(()),
            (None, Some(_)) => Ok(()),
            _ => Err("a storage component needs exactly one of `path` and `bucket`".to_owned()),
        }
    }

    async fn check_volume(path: PathBuf) -> Outcome {
        let start = Instant::now();
        let result = tokio::task::spawn_blocking(move || round_trip(&path)).await;
        match result {
            Ok(Ok(())) => {
                let ms = elapsed_ms(start);
                Outcome::up(Some(ms), format!("Write, read and delete in {ms} ms"))
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "Storage check failed.");
                Outcome::down("Local media volume is missing or read-only.")
            }
            Err(_) => Outcome::down("The storage check crashed."),
        }
    }
}

/// A name no other run or process uses: the probe must never touch a real file or object.
fn nonce() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

/// Puts a uniquely named small object, reads it back and deletes it.
async fn check_bucket(location: &S3Location, client: &object_store::aws::AmazonS3) -> Outcome {
    use object_store::{ObjectStoreExt, PutPayload};
    let nonce = nonce();
    let path = location.path(&format!(".upstate-probe-{nonce}"));
    let start = Instant::now();
    let result: Result<(), object_store::Error> = async {
        client
            .put(&path, PutPayload::from(nonce.clone().into_bytes()))
            .await?;
        let back = client.get(&path).await?.bytes().await?;
        client.delete(&path).await?;
        if back.as_ref() != nonce.as_bytes() {
            return Err(object_store::Error::Generic {
                store: "S3",
                source: "read back different bytes".into(),
            });
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            let ms = elapsed_ms(start);
            Outcome::up(Some(ms), format!("Put, get and delete in {ms} ms"))
        }
        Err(e) => Outcome::down(format!(
            "Bucket check failed: {}.",
            crate::s3::error_text(&e)
        )),
    }
}

/// Writes a uniquely named file, reads it back and deletes it.
fn round_trip(dir: &std::path::Path) -> std::io::Result<()> {
    if !dir.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "not a directory",
        ));
    }
    let nonce = nonce();
    let file = dir.join(format!(".upstate-probe-{nonce}"));
    std::fs::write(&file, nonce.as_bytes())?;
    let back = std::fs::read(&file);
    std::fs::remove_file(&file)?;
    if back? != nonce.as_bytes() {
        return Err(std::io::Error::other("read back different bytes"));
    }
    Ok(())
}

impl Probe for StorageConfig {
    fn check(&self, _deadline: Duration) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            match (&self.path, &self.s3) {
                (Some(path), _) => Self::check_volume(PathBuf::from(path.as_str())).await,
                (None, Some((location, settings))) => {
                    match crate::s3::client(settings.as_ref(), &location.bucket) {
                        Ok(client) => check_bucket(location, &client).await,
                        Err(e) => Outcome::down(format!("Bucket check failed: {e}.")),
                    }
                }
                (None, None) => Outcome::down("No storage target configured."),
            }
        })
    }
}
