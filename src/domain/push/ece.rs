//! RFC 8291 message encryption for Web Push, in the `aes128gcm` content coding of RFC 8188:
//! an ECDH agreement between a fresh (ephemeral) P-256 key of ours and the browser's
//! `p256dh` key, mixed with the browser's auth secret into the content key and nonce
//! (HKDF-SHA256), then one AES-128-GCM record. The caller hands in the ephemeral key and the
//! salt, so the RFC's own test vector can be replayed exactly.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;

use super::PushError;

/// The record size written in the header: one record holds any push (4096 bytes at most).
pub const RECORD_SIZE: u32 = 4096;
/// The padding delimiter of the last (here: only) record (RFC 8188 §2).
const LAST_RECORD: u8 = 0x02;

/// The fresh randomness of one push: our ephemeral private key and the salt.
pub struct Ephemeral {
    pub secret: [u8; 32],
    pub salt: [u8; 16],
}

/// Encrypts `plaintext` for the browser whose keys are `ua_public` (65-byte uncompressed
/// point) and `auth_secret` (16 bytes); returns the whole request body:
/// `salt(16) rs(4) idlen(1) keyid(65, our public key)` then the record.
pub fn encrypt(
    plaintext: &[u8],
    ua_public: &[u8],
    auth_secret: &[u8],
    eph: &Ephemeral,
) -> Result<Vec<u8>, PushError> {
    if plaintext.len() + 1 + 16 > RECORD_SIZE as usize {
        return Err(PushError::TooLarge(plaintext.len()));
    }
    let ua = PublicKey::from_sec1_bytes(ua_public).map_err(|_| PushError::BadKey("p256dh"))?;
    let ours =
        SecretKey::from_slice(&eph.secret).map_err(|_| PushError::BadKey("ephemeral key"))?;
    let as_public = ours.public_key().to_encoded_point(false);
    let shared = p256::ecdh::diffie_hellman(ours.to_nonzero_scalar(), ua.as_affine());
    let (cek, nonce) = derive(
        shared.raw_secret_bytes(),
        auth_secret,
        ua_public,
        as_public.as_bytes(),
        &eph.salt,
    );
    let mut record = Vec::with_capacity(plaintext.len() + 1);
    record.extend_from_slice(plaintext);
    record.push(LAST_RECORD);
    let cipher = Aes128Gcm::new(&cek.into());
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), record.as_slice())
        .map_err(|_| PushError::TooLarge(plaintext.len()))?;
    let mut body = Vec::with_capacity(86 + sealed.len());
    body.extend_from_slice(&eph.salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(as_public.as_bytes().len() as u8);
    body.extend_from_slice(as_public.as_bytes());
    body.extend_from_slice(&sealed);
    Ok(body)
}

/// RFC 8291 §3.3-3.4: IKM from the ECDH secret and the auth secret (bound to both public
/// keys), then the content key and nonce from the IKM and the salt (RFC 8188 §2.2-2.3).
fn derive(
    ecdh_secret: &[u8],
    auth_secret: &[u8],
    ua_public: &[u8],
    as_public: &[u8],
    salt: &[u8],
) -> ([u8; 16], [u8; 12]) {
    let mut key_info = Vec::with_capacity(14 + 65 + 65);
    key_info.extend_from_slice(b"WebPush: info\0");
    key_info.extend_from_slice(ua_public);
    key_info.extend_from_slice(as_public);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth_secret), ecdh_secret)
        .expand(&key_info, &mut ikm)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .expect("16 bytes is a valid HKDF-SHA256 length");
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
        .expect("12 bytes is a valid HKDF-SHA256 length");
    (cek, nonce)
}
