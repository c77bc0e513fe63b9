//! The SSH host key, read from a real key exchange and proven: `kind = "ssh"` with
//! `fingerprint` (see [`super::ssh`]).
//!
//! Only the first half of RFC 4253's exchange is done: KEXINIT both ways, then
//! curve25519-sha256 (RFC 8731) — our ephemeral key out, the server's host key, ephemeral key
//! and signature back. The signature over the exchange hash is verified with the host key, so a
//! server (or a man in the middle) that merely *sends* the expected key without holding its
//! private half does not pass. Then the connection is dropped: no NEWKEYS, no login, nothing
//! encrypted is ever sent.
//!
//! Hand-written on aws-lc-rs (already in the build for rustls) rather than `russh`: that crate
//! adds ~70 crates (a second set of RustCrypto curves, ciphers and KDFs) for the one thing this
//! probe needs, and the part written here is only packet framing and the hash's inputs.

use aws_lc_rs::agreement::{self, EphemeralPrivateKey, X25519};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// Our identification line (RFC 4253 §4.2), sent before reading the server's.
pub(crate) const CLIENT_ID: &str = "SSH-2.0-upstate_probe";

/// The host key algorithms verified here, in the order offered.
pub(crate) static HOST_KEY_ALGORITHMS: [&str; 6] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
];

const KEX: &str = "curve25519-sha256,curve25519-sha256@libssh.org";
/// Offered only so the server's negotiation succeeds; nothing is ever encrypted.
const CIPHERS: &str = "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com";
const MACS: &str =
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-256,hmac-sha2-512-etm@openssh.com,hmac-sha2-512";

const MSG_DISCONNECT: u8 = 1;
const MSG_KEXINIT: u8 = 20;
const MSG_KEX_ECDH_INIT: u8 = 30;
const MSG_KEX_ECDH_REPLY: u8 = 31;
/// Host keys, certificates and RSA signatures fit well within this; anything longer is refused.
const MAX_PACKET: usize = 64 * 1024;

/// What the exchange proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostKey {
    /// The key's type, as in `known_hosts` (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`).
    pub(crate) key_type: String,
    /// `SHA256:` and the unpadded base64 of the key blob's SHA-256, as `ssh-keygen -lf` prints.
    pub(crate) fingerprint: String,
    /// The algorithm names the server offered for its host keys (from its KEXINIT).
    pub(crate) offered: Vec<String>,
}

/// The `SHA256:…` fingerprint of a public key blob.
pub(crate) fn fingerprint(blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(Sha256::digest(blob))
    )
}

/// Runs the key exchange on `stream`, which has already sent [`CLIENT_ID`] and read the
/// server's identification line `server_id`. `algorithms` are the host key algorithms offered.
pub(crate) async fn exchange<S>(
    stream: &mut S,
    server_id: &str,
    algorithms: &[&str],
) -> Result<HostKey, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let client_kexinit = kexinit(algorithms)?;
    write_packet(stream, &client_kexinit).await?;
    let server_kexinit = read_kexinit(stream).await?;
    let offered = server_lists(&server_kexinit)?;
    let rng = SystemRandom::new();
    let ephemeral = EphemeralPrivateKey::generate(&X25519, &rng)
        .map_err(|_| "Cannot generate a key-exchange key.".to_owned())?;
    let q_c = ephemeral
        .compute_public_key()
        .map_err(|_| "Cannot generate a key-exchange key.".to_owned())?;
    let mut init = vec![MSG_KEX_ECDH_INIT];
    put_string(&mut init, q_c.as_ref());
    write_packet(stream, &init).await?;
    let reply = read_until(stream, MSG_KEX_ECDH_REPLY).await?;
    let mut reader = Reader::new(reply.get(1..).unwrap_or_default());
    let (k_s, q_s, sig) = (reader.string()?, reader.string()?, reader.string()?);
    let shared = agreement::agree_ephemeral(
        ephemeral,
        agreement::UnparsedPublicKey::new(&X25519, q_s),
        "The server's key-exchange key is invalid.".to_owned(),
        |k| Ok(k.to_vec()),
    )?;
    let mut hash = Sha256::new();
    for part in [
        CLIENT_ID.as_bytes(),
        server_id.as_bytes(),
        client_kexinit.as_slice(),
        server_kexinit.as_slice(),
        k_s,
        q_c.as_ref(),
        q_s,
    ] {
        hash.update(ssh_string(part));
    }
    hash.update(mpint(&shared));
    let exchange_hash = hash.finalize();
    let key_type = verify(k_s, sig, &exchange_hash)?;
    Ok(HostKey {
        key_type,
        fingerprint: fingerprint(k_s),
        offered,
    })
}

/// Our KEXINIT payload (RFC 4253 §7.1).
fn kexinit(algorithms: &[&str]) -> Result<Vec<u8>, String> {
    let mut cookie = [0u8; 16];
    getrandom::fill(&mut cookie).map_err(|e| format!("No randomness: {e}."))?;
    let mut payload = vec![MSG_KEXINIT];
    payload.extend_from_slice(&cookie);
    let host_keys = algorithms.join(",");
    for list in [
        KEX, &host_keys, CIPHERS, CIPHERS, MACS, MACS, "none", "none", "", "",
    ] {
        put_string(&mut payload, list.as_bytes());
    }
    payload.push(0); // first_kex_packet_follows
    payload.extend_from_slice(&[0; 4]); // reserved
    Ok(payload)
}

/// The server's host key algorithms, after checking it can do curve25519-sha256.
fn server_lists(payload: &[u8]) -> Result<Vec<String>, String> {
    let mut reader = Reader::new(payload.get(17..).unwrap_or_default());
    let kex = String::from_utf8_lossy(reader.string()?).into_owned();
    let host_keys = String::from_utf8_lossy(reader.string()?).into_owned();
    if !kex
        .split(',')
        .any(|k| k == "curve25519-sha256" || k == "curve25519-sha256@libssh.org")
    {
        return Err(format!(
            "The server offers no curve25519-sha256 key exchange (it offers {}), so its host key cannot be checked.",
            super::http::truncate(&kex, 120)
        ));
    }
    Ok(host_keys.split(',').map(str::to_owned).collect())
}

/// Verifies `sig` over `hash` with the host key `k_s`; returns the key's type.
fn verify(k_s: &[u8], sig: &[u8], hash: &[u8]) -> Result<String, String> {
    let mut key = Reader::new(k_s);
    let key_type = String::from_utf8_lossy(key.string()?).into_owned();
    let mut blob = Reader::new(sig);
    let sig_type = String::from_utf8_lossy(blob.string()?).into_owned();
    let sig_bytes = blob.string()?;
    let bad = || {
        format!(
            "The server's {key_type} signature over the key exchange does not verify: it does not hold that key's private half."
        )
    };
    let ok = match (key_type.as_str(), sig_type.as_str()) {
        ("ssh-ed25519", "ssh-ed25519") => {
            let public = key.string()?;
            UnparsedPublicKey::new(&signature::ED25519, public)
                .verify(hash, sig_bytes)
                .is_ok()
        }
        ("ssh-rsa", "rsa-sha2-256" | "rsa-sha2-512") => {
            let (e, n) = (key.string()?, key.string()?);
            let algorithm = if sig_type == "rsa-sha2-512" {
                &signature::RSA_PKCS1_2048_8192_SHA512
            } else {
                &signature::RSA_PKCS1_2048_8192_SHA256
            };
            RsaPublicKeyComponents {
                n: strip_zeros(n),
                e: strip_zeros(e),
            }
            .verify(algorithm, hash, sig_bytes)
            .is_ok()
        }
        (ecdsa, same) if ecdsa.starts_with("ecdsa-sha2-nistp") && ecdsa == same => {
            let (_curve, point) = (key.string()?, key.string()?);
            let (algorithm, width): (_, usize) = match ecdsa {
                "ecdsa-sha2-nistp256" => (&signature::ECDSA_P256_SHA256_FIXED, 32),
                "ecdsa-sha2-nistp384" => (&signature::ECDSA_P384_SHA384_FIXED, 48),
                "ecdsa-sha2-nistp521" => (&signature::ECDSA_P521_SHA512_FIXED, 66),
                other => return Err(format!("Unsupported host key type {other}.")),
            };
            let mut inner = Reader::new(sig_bytes);
            let fixed = [inner.string()?, inner.string()?].iter().try_fold(
                Vec::new(),
                |mut out, part| {
                    let part = strip_zeros(part);
                    let pad = width.checked_sub(part.len()).ok_or_else(bad)?;
                    out.resize(out.len() + pad, 0);
                    out.extend_from_slice(part);
                    Ok::<_, String>(out)
                },
            )?;
            UnparsedPublicKey::new(algorithm, point)
                .verify(hash, &fixed)
                .is_ok()
        }
        _ => {
            return Err(format!(
                "The server signed with {sig_type} for a {key_type} key, which this probe cannot verify."
            ));
        }
    };
    if ok { Ok(key_type) } else { Err(bad()) }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

/// An SSH `string`: a u32 length, then the bytes.
fn ssh_string(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 4);
    put_string(&mut out, bytes);
    out
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// An SSH `mpint` of an unsigned big-endian number (RFC 4251 §5): no leading zeros, and a zero
/// byte first when the top bit is set.
fn mpint(unsigned: &[u8]) -> Vec<u8> {
    let digits = strip_zeros(unsigned);
    let mut body = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_some_and(|b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(digits);
    ssh_string(&body)
}

/// Reads SSH wire types from a payload, failing on truncation rather than panicking.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    fn string(&mut self) -> Result<&'a [u8], String> {
        let truncated = || "The server sent a truncated key-exchange packet.".to_owned();
        let len_bytes: [u8; 4] = self
            .bytes
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(truncated)?;
        let len = usize::try_from(u32::from_be_bytes(len_bytes)).map_err(|_| truncated())?;
        let value = self.bytes.get(4..4 + len).ok_or_else(truncated)?;
        self.bytes = self.bytes.get(4 + len..).unwrap_or_default();
        Ok(value)
    }
}

/// One unencrypted binary packet (RFC 4253 §6): length, padding length, payload, padding.
async fn write_packet<S: AsyncWrite + Unpin>(stream: &mut S, payload: &[u8]) -> Result<(), String> {
    let unpadded = 4 + 1 + payload.len();
    let mut padding = 8 - unpadded % 8;
    if padding < 4 {
        padding += 8;
    }
    let length = u32::try_from(1 + payload.len() + padding)
        .map_err(|_| "The packet is too large.".to_owned())?;
    let mut packet = Vec::with_capacity(unpadded + padding);
    packet.extend_from_slice(&length.to_be_bytes());
    #[allow(clippy::cast_possible_truncation)] // padding is 4..=11
    packet.push(padding as u8);
    packet.extend_from_slice(payload);
    let mut pad = vec![0u8; padding];
    getrandom::fill(&mut pad).map_err(|e| format!("No randomness: {e}."))?;
    packet.extend_from_slice(&pad);
    stream
        .write_all(&packet)
        .await
        .map_err(|e| format!("The server dropped the connection: {e}."))?;
    stream
        .flush()
        .await
        .map_err(|e| format!("The server dropped the connection: {e}."))
}

async fn read_packet<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Vec<u8>, String> {
    let dropped = |e: std::io::Error| {
        format!("The server dropped the connection during the key exchange: {e}.")
    };
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await.map_err(dropped)?;
    let len = usize::try_from(u32::from_be_bytes(len)).unwrap_or(usize::MAX);
    if !(5..=MAX_PACKET).contains(&len) {
        return Err(format!(
            "The server sent a key-exchange packet of {len} bytes: not SSH."
        ));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await.map_err(dropped)?;
    let padding = usize::from(body.first().copied().unwrap_or_default());
    body.get(1..len.saturating_sub(padding))
        .map(<[u8]>::to_vec)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| "The server sent a malformed key-exchange packet.".to_owned())
}

/// The next packet of type `wanted`, skipping IGNORE/DEBUG and the like; DISCONNECT is an error.
async fn read_until<S: AsyncRead + Unpin>(stream: &mut S, wanted: u8) -> Result<Vec<u8>, String> {
    for _ in 0..16 {
        let payload = read_packet(stream).await?;
        match payload.first().copied() {
            Some(t) if t == wanted => return Ok(payload),
            Some(MSG_DISCONNECT) => {
                let mut reader = Reader::new(payload.get(5..).unwrap_or_default());
                let why = reader
                    .string()
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .unwrap_or_default();
                return Err(format!(
                    "The server ended the key exchange: {}.",
                    super::http::truncate(why.trim_end_matches('.'), 120)
                ));
            }
            _ => {}
        }
    }
    Err("The server never sent its key-exchange reply.".to_owned())
}

async fn read_kexinit<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Vec<u8>, String> {
    read_until(stream, MSG_KEXINIT).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpint_follows_rfc_4251() {
        // The RFC's own examples: 0x80 needs a leading zero; leading zeros are dropped.
        assert_eq!(mpint(&[0x80]), vec![0, 0, 0, 2, 0x00, 0x80]);
        assert_eq!(mpint(&[0x00, 0x12, 0x34]), vec![0, 0, 0, 2, 0x12, 0x34]);
        assert_eq!(mpint(&[0, 0]), vec![0, 0, 0, 0]);
    }

    /// A server that presents the right host key but cannot sign with it (a man in the middle
    /// replaying the public key) fails; the real holder passes.
    #[test]
    fn a_host_key_without_its_signature_does_not_verify() {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
        let Ok(pkcs8) = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()) else {
            panic!("no key")
        };
        let Ok(pair) = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()) else {
            panic!("no key")
        };
        let mut k_s = ssh_string(b"ssh-ed25519");
        k_s.extend(ssh_string(pair.public_key().as_ref()));
        let sig_over = |hash: &[u8]| {
            let mut blob = ssh_string(b"ssh-ed25519");
            blob.extend(ssh_string(pair.sign(hash).as_ref()));
            blob
        };
        let hash = Sha256::digest(b"this exchange");
        assert_eq!(
            verify(&k_s, &sig_over(&hash), &hash),
            Ok("ssh-ed25519".to_owned())
        );
        let replayed = sig_over(&Sha256::digest(b"another exchange"));
        let refused = verify(&k_s, &replayed, &hash);
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("does not hold that key's private half")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_truncated_string_is_an_error_not_a_panic() {
        let mut r = Reader::new(&[0, 0, 0, 9, 1, 2]);
        assert!(r.string().is_err());
        let mut r = Reader::new(&[0, 0]);
        assert!(r.string().is_err());
    }
}
