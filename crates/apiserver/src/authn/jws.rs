//! Compact JWS signed with ES256 (ECDSA P-256 over SHA-256, the signature
//! as fixed-width `r || s`), the one algorithm our ServiceAccount tokens
//! use. Accepting exactly one algorithm, named in code rather than taken
//! from the token, rules out the `alg: none` and algorithm-confusion
//! attacks general JOSE libraries must guard against.

use super::AuthnError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED, EcdsaKeyPair, UnparsedPublicKey};

pub const ALGORITHM: &str = "ES256";

/// The header every token carries: `{"alg":"ES256","kid":"<kid>"}`, as
/// kube-apiserver writes it, already base64url-encoded.
pub fn encoded_header(key_id: &str) -> String {
    let header = serde_json::json!({"alg": ALGORITHM, "kid": key_id});
    URL_SAFE_NO_PAD.encode(header.to_string())
}

/// `header.payload.signature`.
pub fn sign(
    key: &EcdsaKeyPair,
    rng: &SystemRandom,
    encoded_header: &str,
    payload: &[u8],
) -> Option<String> {
    let mut token = String::with_capacity(encoded_header.len() + payload.len() * 4 / 3 + 100);
    token.push_str(encoded_header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let signature = key.sign(rng, token.as_bytes()).ok()?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
    Some(token)
}

/// The three parts of a compact JWS, the payload decoded. Nothing here is
/// verified yet.
pub struct Parts<'t> {
    signed: &'t str,
    header: &'t str,
    signature: &'t str,
    pub payload: Vec<u8>,
}

pub fn split(token: &str) -> Result<Parts<'_>, AuthnError> {
    let mut it = token.split('.');
    let (Some(header), Some(encoded_payload), Some(signature), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(AuthnError::NotAJwt);
    };
    let payload = URL_SAFE_NO_PAD
        .decode(encoded_payload)
        .map_err(|_| AuthnError::NotAJwt)?;
    let signed = &token[..header.len() + 1 + encoded_payload.len()];
    Ok(Parts {
        signed,
        header,
        signature,
        payload,
    })
}

/// Checks the header names ES256 and nothing we would have to understand
/// (`crit`), and the signature against `public_key` (an uncompressed P-256
/// point).
pub fn verify(parts: &Parts<'_>, public_key: &[u8]) -> Result<(), AuthnError> {
    #[derive(serde::Deserialize)]
    struct Header {
        alg: String,
        #[serde(default)]
        crit: Option<serde_json::Value>,
    }
    let header = URL_SAFE_NO_PAD
        .decode(parts.header)
        .map_err(|_| AuthnError::NotAJwt)?;
    let header: Header = serde_json::from_slice(&header).map_err(|_| AuthnError::NotAJwt)?;
    if header.alg != ALGORITHM {
        return Err(AuthnError::UnsupportedAlgorithm(header.alg));
    }
    if header.crit.is_some() {
        return Err(AuthnError::InvalidSignature);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(parts.signature)
        .map_err(|_| AuthnError::InvalidSignature)?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public_key)
        .verify(parts.signed.as_bytes(), &signature)
        .map_err(|_| AuthnError::InvalidSignature)
}
