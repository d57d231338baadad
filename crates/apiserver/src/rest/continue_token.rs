//! The `continue` token of paginated lists: the revision the list is pinned
//! to and the last key returned, opaque to clients (base64 JSON, like
//! Kubernetes' own token).

use crate::error::ApiError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContinueToken {
    /// Token format version.
    pub v: String,
    /// The revision every page of the list reflects.
    pub rv: i64,
    /// The last key returned; the next page starts after it.
    pub start: String,
}

impl ContinueToken {
    pub fn new(rv: i64, start: String) -> Self {
        ContinueToken { v: "meta.k8s.io/v1".into(), rv, start }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(s: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::BadRequest("continue key is not valid: illegal base64 data".to_string());
        let bytes = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| bad())?;
        let t: ContinueToken = serde_json::from_slice(&bytes)
            .map_err(|_| ApiError::BadRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)".into()))?;
        if t.v != "meta.k8s.io/v1" || t.rv <= 0 {
            return Err(ApiError::BadRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)".into()));
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_continue_token_round_trips() {
        let t = ContinueToken::new(42, "/registry/core/configmaps/a/b".into());
        assert_eq!(ContinueToken::decode(&t.encode()).ok(), Some(t));
        assert!(ContinueToken::decode("!!!").is_err());
        assert!(ContinueToken::decode("e30").is_err());
    }
}
