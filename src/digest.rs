//! BLAKE3 over several byte strings, each prefixed by its length, so `("ab", "c")` and
//! `("a", "bc")` differ. What the build caches key things by (parsed incidents, incident views,
//! feeds); `render::incremental::Hasher::part` streams the same rule for page digests.
//!
//! Why BLAKE3: a cold build of 10,000 incidents digests every page's inputs and the 100 MB it
//! writes; with SHA-256 that was a twentieth of the build's CPU (more on a machine without SHA
//! instructions). A cryptographic hash still, so no incident text can be crafted to collide
//! with another and leave a page stale.

/// A 256-bit BLAKE3 digest.
pub type Digest = [u8; 32];

/// The digest of `parts`, each delimited by its length.
pub fn of_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Digest {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The digest of some bytes.
pub fn of(bytes: &[u8]) -> Digest {
    blake3::hash(bytes).into()
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
