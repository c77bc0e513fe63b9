//! Publishing the built site: one [`Target`] trait, one file per target.
//!
//! Every target shares [`cache_policy`] (defined in the leaf [`crate::site`], because render
//! writes the same table as the `_headers` file): `status.json` is never cached (pollers must
//! see the latest), HTML briefly, fingerprinted assets for good.

pub mod folder;
pub mod git;
pub mod guard;
pub mod s3;

use std::path::Path;

use futures_util::future::BoxFuture;

use crate::config::Config;
pub use crate::site::{cache_policy, headers_file};

/// What a publish did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Files written because they are new or changed.
    pub uploaded: usize,
    /// Files removed because the new site no longer has them.
    pub deleted: usize,
    /// Files left as they were.
    pub unchanged: usize,
}

/// Publishing failures; each names the target (never its credentials) and the reason.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("publishing to {target} failed: {reason}")]
    Failed { target: String, reason: String },
    #[error("`[publish] target = {target}` is not supported yet: {reason}")]
    Unsupported { target: String, reason: String },
}

/// A place the site goes.
pub trait Target: Send + Sync {
    /// A display name without credentials.
    fn name(&self) -> String;
    /// Publishes the folder `site`; the published site stays consistent if this fails.
    fn publish<'a>(&'a self, site: &'a Path) -> BoxFuture<'a, Result<PublishReport, PublishError>>;

    /// Gets ready for a publish of `site` while the run still probes (once the quick checks are
    /// done, the slowest wait out their deadlines with the machine idle): work done here is
    /// off the publish's path. It must not slow the checks (a latency measured while it
    /// competes for the processor would be wrong): a target that works here does so at the
    /// lowest priority. It may do nothing, and it never changes what is published; a failure
    /// only means the publish does that work itself.
    fn prepare<'a>(&'a self, site: &'a Path) -> BoxFuture<'a, ()> {
        let _ = site;
        Box::pin(async {})
    }
}

/// The target configured in `[publish] target`.
pub fn target(config: &Config) -> Result<Box<dyn Target>, PublishError> {
    let raw = config.publish.target.expose();
    if raw.starts_with("git+") {
        return Ok(Box::new(git::GitTarget::new(raw, &config.base_dir())?));
    }
    if raw.starts_with("s3://") {
        return Ok(Box::new(s3::S3Target::new(config)?));
    }
    // Checked again on the real path, links resolved: the folder is swapped out whole.
    guard::check_place(config, "target").map_err(|e| PublishError::Failed {
        target: config.resolve(raw).display().to_string(),
        reason: format!("{e}; {}", e.help()),
    })?;
    Ok(Box::new(folder::FolderTarget::new(config.resolve(raw))))
}
