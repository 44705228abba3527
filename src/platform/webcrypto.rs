//! JWT signatures checked by the runtime's WebCrypto (`crypto.subtle`): RS256, ES256 and
//! EdDSA verify in native code, so the Wasm carries no RSA or curve arithmetic for them.
//! Each key is imported once per isolate from its canonical public JWK
//! (`domain::keys::PublicKey`) and kept in a bounded map.

use wasm_bindgen::prelude::*;
use worker::js_sys::{futures::JsFuture, Promise};

use crate::domain::keys::{PublicKey, Signatures};

// The bytes are copied at once: they are views into the Wasm memory, which the awaits that
// follow may grow or reuse. The promise of an import is kept, so requests arriving together
// share one import; a key that fails to import is dropped and verifies nothing.
#[wasm_bindgen(inline_js = "
const ALGORITHMS = {
  RS256: [{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, { name: 'RSASSA-PKCS1-v1_5' }],
  ES256: [{ name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' }],
  EdDSA: [{ name: 'Ed25519' }, { name: 'Ed25519' }],
};
const MAX_KEYS = 64;
const keys = new Map();
export async function verifySignature(alg, jwk, signed, signature) {
  signed = signed.slice();
  signature = signature.slice();
  const [importAlg, verifyAlg] = ALGORITHMS[alg];
  let key = keys.get(jwk);
  if (key === undefined) {
    if (keys.size >= MAX_KEYS) keys.clear();
    key = crypto.subtle.importKey('jwk', JSON.parse(jwk), importAlg, false, ['verify']);
    keys.set(jwk, key);
  }
  try {
    key = await key;
  } catch (_) {
    keys.delete(jwk);
    return false;
  }
  try {
    return await crypto.subtle.verify(verifyAlg, key, signature, signed);
  } catch (_) {
    return false;
  }
}")]
extern "C" {
    #[wasm_bindgen(js_name = verifySignature)]
    fn verify_signature(alg: &str, jwk: &str, signed: &[u8], signature: &[u8]) -> Promise;
}

/// [`Signatures`] by WebCrypto.
pub struct WebCrypto;

impl Signatures for WebCrypto {
    async fn verifies(&self, key: &PublicKey, signed: &[u8], signature: &[u8]) -> bool {
        let promise = verify_signature(key.alg.name(), &key.jwk, signed, signature);
        JsFuture::from(promise)
            .await
            .is_ok_and(|valid| valid.as_bool() == Some(true))
    }
}
