//! SHA-256 over several byte strings, each prefixed by its length, so `("ab", "c")` and
//! `("a", "bc")` differ. What the build caches key things by (parsed incidents, incident views,
//! feeds); `render::incremental::Hasher::part` streams the same rule for page digests.

use sha2::{Digest as _, Sha256};

/// A SHA-256 digest.
pub type Digest = [u8; 32];

/// The digest of `parts`, each delimited by its length.
pub fn of_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Digest {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_delimited() {
        assert_ne!(of_parts([&b"ab"[..], b"c"]), of_parts([&b"a"[..], b"bc"]));
        assert_eq!(of_parts([&b"a"[..]]), of_parts([&b"a"[..]]));
    }
}
