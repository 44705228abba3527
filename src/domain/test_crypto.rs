//! Test support: [`RustCrypto`], the unit tests' [`Signatures`] (the Worker's is WebCrypto,
//! exercised by the e2e tests), and [`VerifyNow`], a verifier run to completion at once.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use base64ct::{Base64UrlUnpadded, Encoding};
use p256::ecdsa::signature::Verifier;
use rsa::{pkcs1v15, BigUint, RsaPublicKey};
use serde_json::Value;
use sha2::Sha256;

use super::auth::{AuthError, JwtVerifier};
use super::identity::Identity;
use super::keys::{Alg, KeySet, PublicKey, Signatures};

/// Verifies with RustCrypto from the canonical JWK, as WebCrypto imports it.
pub struct RustCrypto;

impl Signatures for RustCrypto {
    async fn verifies(&self, key: &PublicKey, signed: &[u8], signature: &[u8]) -> bool {
        let jwk: Value = serde_json::from_str(&key.jwk).expect("a canonical JWK");
        let part = |k: &str| Base64UrlUnpadded::decode_vec(jwk[k].as_str().unwrap()).unwrap();
        match key.alg {
            Alg::Rs256 => {
                let (n, e) = (
                    BigUint::from_bytes_be(&part("n")),
                    BigUint::from_bytes_be(&part("e")),
                );
                let key = pkcs1v15::VerifyingKey::<Sha256>::new(RsaPublicKey::new(n, e).unwrap());
                pkcs1v15::Signature::try_from(signature)
                    .is_ok_and(|sig| key.verify(signed, &sig).is_ok())
            }
            Alg::Es256 => {
                let mut point = vec![4];
                point.extend(part("x"));
                point.extend(part("y"));
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
                p256::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|sig| key.verify(signed, &sig).is_ok())
            }
            Alg::EdDsa => {
                let key = ed25519_compact::PublicKey::from_slice(&part("x")).unwrap();
                ed25519_compact::Signature::from_slice(signature)
                    .is_ok_and(|sig| key.verify(signed, &sig).is_ok())
            }
        }
    }
}

/// Polls a future that never waits (every future here is ready at once) to its output.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a test future waited"),
    }
}

/// [`JwtVerifier::verify`] with [`RustCrypto`], run to completion.
pub trait VerifyNow {
    fn verify_now(&self, token: &str, now_ms: i64) -> Result<Identity, AuthError>;
    fn verify_now_with(
        &self,
        fetched: &KeySet,
        token: &str,
        now_ms: i64,
    ) -> Result<Identity, AuthError>;
}

impl VerifyNow for JwtVerifier {
    fn verify_now(&self, token: &str, now_ms: i64) -> Result<Identity, AuthError> {
        self.verify_now_with(&KeySet::default(), token, now_ms)
    }

    fn verify_now_with(
        &self,
        fetched: &KeySet,
        token: &str,
        now_ms: i64,
    ) -> Result<Identity, AuthError> {
        block_on(self.verify(&RustCrypto, fetched, token, now_ms))
    }
}
