//! `target = "s3://bucket/prefix"`: the site in any S3-compatible bucket, served by its CDN.
//!
//! S3 has no way to swap a whole folder at once, so the order of uploads is what keeps readers
//! from seeing a broken page: assets first (a new page must never reference an asset that is
//! not there yet), then the other pages, then `status.json` and `api/`, and `index.html` last.
//! Objects the new site no longer has are deleted only once everything new is in place.
//!
//! Uploads are incremental: `.upstate-manifest.json` in the prefix maps every published path to
//! the SHA-256 of its bytes, and only paths whose hash changed are uploaded. The manifest is
//! written last, after the uploads and deletions, so a run killed half-way leaves the old
//! manifest and the next run re-uploads everything it cannot prove is in place.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3;
use object_store::{
    Attribute, AttributeValue, Attributes, ObjectStore, ObjectStoreExt, PutMultipartOptions,
    PutOptions, PutPayload, WriteMultipart,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{PublishError, PublishReport, Target, cache_policy};
use crate::config::Config;
use crate::config::secret::redact_url;
use crate::s3::{S3Location, client, error_text};
use futures_util::future::BoxFuture;

/// The manifest's name in the target prefix.
pub const MANIFEST: &str = ".upstate-manifest.json";

/// Files above this go up in parts: one failed request then costs one part, not the whole file.
const MULTIPART_ABOVE: usize = 8 * 1024 * 1024;

/// Requests in flight at once within one upload phase.
const CONCURRENCY: usize = 8;

/// An S3-compatible bucket and prefix.
#[derive(Debug, Clone)]
pub struct S3Target {
    location: S3Location,
    client: Arc<AmazonS3>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    /// Site path → lowercase hex SHA-256 of the published bytes; empty for an old file whose
    /// deletion failed (the next run deletes it).
    files: BTreeMap<String, String>,
}

impl S3Target {
    /// The target in `[publish] target`, with the client settings of `[s3]`. No network I/O.
    pub fn new(config: &Config) -> Result<Self, PublishError> {
        let raw = config.publish.target.expose();
        let location = S3Location::parse(raw).map_err(|reason| PublishError::Failed {
            target: redact_url(raw),
            reason,
        })?;
        let client = client(config.s3.as_ref(), &location.bucket).map_err(|reason| {
            PublishError::Failed {
                target: location.url(),
                reason,
            }
        })?;
        Ok(Self {
            location,
            client: Arc::new(client),
        })
    }

    fn fail(&self, reason: String) -> PublishError {
        PublishError::Failed {
            target: self.location.url(),
            reason,
        }
    }

    /// The old manifest; an absent or unreadable one means nothing is proven to be in place.
    async fn old_manifest(&self) -> Result<Manifest, PublishError> {
        let found = match self.client.get(&self.location.path(MANIFEST)).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => return Ok(Manifest::default()),
            Err(e) => return Err(self.fail(format!("reading {MANIFEST}: {}", error_text(&e)))),
        };
        let bytes = found
            .bytes()
            .await
            .map_err(|e| self.fail(format!("reading {MANIFEST}: {}", error_text(&e))))?;
        Ok(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "The publish manifest is unreadable; every file is uploaded again.");
            Manifest::default()
        }))
    }

    /// Every object under the prefix: site path → size.
    async fn existing(&self) -> Result<BTreeMap<String, u64>, PublishError> {
        let under = self.location.path("");
        let stream = if under.as_ref().is_empty() {
            self.client.list(None)
        } else {
            self.client.list(Some(&under))
        };
        let objects: Vec<_> = stream
            .try_collect()
            .await
            .map_err(|e| self.fail(format!("listing the target: {}", error_text(&e))))?;
        Ok(objects
            .into_iter()
            .filter_map(|meta| Some((self.location.relative(&meta.location)?, meta.size)))
            .collect())
    }

    async fn upload(&self, path: &str, bytes: &[u8]) -> Result<(), PublishError> {
        let (content_type, cache_control) = cache_policy(path);
        let attributes = Attributes::from_iter([
            (Attribute::ContentType, AttributeValue::from(content_type)),
            (Attribute::CacheControl, AttributeValue::from(cache_control)),
        ]);
        let location = self.location.path(path);
        let failed =
            |e: object_store::Error| self.fail(format!("uploading {path}: {}", error_text(&e)));
        if bytes.len() <= MULTIPART_ABOVE {
            let options = PutOptions {
                attributes,
                ..PutOptions::default()
            };
            self.client
                .put_opts(&location, PutPayload::from(bytes.to_vec()), options)
                .await
                .map_err(failed)?;
            return Ok(());
        }
        let options = PutMultipartOptions {
            attributes,
            ..PutMultipartOptions::default()
        };
        let upload = self
            .client
            .put_multipart_opts(&location, options)
            .await
            .map_err(failed)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, MULTIPART_ABOVE);
        writer.write(bytes);
        // `finish` aborts the upload (removing uploaded parts) when a part or the completion fails.
        writer.finish().await.map_err(failed)?;
        Ok(())
    }

    async fn run(&self, site: &Path) -> Result<PublishReport, PublishError> {
        let dir = site.to_path_buf();
        let new = tokio::task::spawn_blocking(move || super::folder::files(&dir))
            .await
            .map_err(|e| self.fail(format!("reading the built site: {e}")))?
            .map_err(|e| self.fail(format!("reading the built site: {e}")))?;
        let hashes: BTreeMap<String, String> = new
            .iter()
            .filter(|(path, _)| path.as_str() != MANIFEST)
            .map(|(path, bytes)| (path.clone(), format!("{:x}", Sha256::digest(bytes))))
            .collect();

        // Read before writing anything: an unreachable target fails the run with nothing changed.
        let old = self.old_manifest().await?;
        let existing = self.existing().await?;

        let mut report = PublishReport::default();
        let mut phases: [Vec<(&str, &[u8])>; 5] = Default::default();
        for (path, hash) in &hashes {
            let Some(bytes) = new.get(path) else { continue };
            // Unchanged only if the manifest says so *and* the object is there at that size.
            let in_place = old.files.get(path) == Some(hash)
                && existing.get(path) == Some(&(bytes.len() as u64));
            if in_place {
                report.unchanged += 1;
            } else {
                phases[phase(path)].push((path.as_str(), bytes.as_slice()));
            }
        }
        for files in &phases {
            futures_util::stream::iter(files.iter().map(Ok))
                .try_for_each_concurrent(CONCURRENCY, |(path, bytes)| self.upload(path, bytes))
                .await?;
            report.uploaded += files.len();
        }

        // Only paths an earlier publish put there: a prefix shared with other data (say, the
        // history store under the same bucket root) is never emptied.
        let gone: Vec<(String, object_store::path::Path)> = old
            .files
            .keys()
            .filter(|path| !hashes.contains_key(*path) && existing.contains_key(*path))
            .map(|path| (path.clone(), self.location.path(path)))
            .collect();
        let deletions = gone.into_iter().map(|(path, location)| {
            let client = self.client.clone();
            async move { (path, client.delete(&location).await) }
        });
        let deleted: Vec<_> = futures_util::stream::iter(deletions)
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut files = hashes;
        for (path, result) in deleted {
            // A leftover old file harms nobody: report it, don't fail, and keep it in the
            // manifest (with no hash) so the next run deletes it.
            match result {
                Ok(()) => report.deleted += 1,
                Err(e) => {
                    tracing::warn!(
                        target_url = %self.location.url(),
                        path = %path,
                        error = %error_text(&e),
                        "Could not delete a file the new site no longer has."
                    );
                    files.insert(path, String::new());
                }
            }
        }

        // Last: until this is written, the old manifest makes the next run redo this one.
        let manifest = Manifest { version: 1, files };
        let manifest_bytes = serde_json::to_vec(&manifest)
            .map_err(|e| self.fail(format!("writing {MANIFEST}: {e}")))?;
        self.upload(MANIFEST, &manifest_bytes).await?;
        Ok(report)
    }
}

/// Upload order: assets, other files, `status.json`, `api/`, `index.html`.
fn phase(path: &str) -> usize {
    if path.starts_with("assets/") {
        0
    } else if path == "index.html" {
        4
    } else if path.starts_with("api/") {
        3
    } else if path == "status.json" {
        2
    } else {
        1
    }
}

impl Target for S3Target {
    fn name(&self) -> String {
        self.location.url()
    }

    fn publish<'a>(&'a self, site: &'a Path) -> BoxFuture<'a, Result<PublishReport, PublishError>> {
        Box::pin(self.run(site))
    }
}

#[cfg(test)]
mod tests {
    use super::phase;

    #[test]
    fn assets_go_first_and_the_front_page_last() {
        let mut paths = vec![
            "index.html",
            "api/v2/summary.json",
            "status.json",
            "components/web.html",
            "assets/js/app.js",
        ];
        paths.sort_by_key(|p| phase(p));
        assert_eq!(
            paths,
            [
                "assets/js/app.js",
                "components/web.html",
                "status.json",
                "api/v2/summary.json",
                "index.html"
            ]
        );
    }
}
