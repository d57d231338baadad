//! Who is calling: a client certificate, else a bearer token (the static
//! token file, then ServiceAccount JWTs, whose ServiceAccount and bound
//! object must still exist as the token names them).

use crate::auth::User;
use crate::authn::{AuthnError, ServiceAccountClaims};
use crate::error::ApiError;
use crate::server::ApiServer;
use apimachinery::object::ObjectExt;
use http::HeaderMap;
use serde_json::Value;

/// A bound object or ServiceAccount deleted longer ago than this no longer
/// vouches for its tokens (Kubernetes' grace for in-flight requests).
const DELETION_GRACE_SECONDS: i64 = 60;

/// A token that authenticated: the user and the audiences it is good for.
pub struct TokenUser {
    pub user: User,
    pub audiences: Vec<String>,
}

impl ApiServer {
    /// The user of a request: its client certificate, else its bearer
    /// token. A token that does not authenticate is 401, as in Kubernetes.
    pub(crate) fn authenticate(&self, headers: &HeaderMap, cert_user: Option<User>) -> Result<Option<User>, ApiError> {
        if cert_user.is_some() {
            return Ok(cert_user);
        }
        let Some(token) = crate::authn::bearer_token(headers) else { return Ok(None) };
        match self.authenticate_token(token, &[]) {
            Ok(found) => Ok(Some(found.user)),
            Err(reason) => {
                tracing::debug!(%reason, "bearer token rejected");
                Err(ApiError::Unauthorized)
            }
        }
    }

    /// Authenticates a bearer token for `audiences` (empty: the API
    /// server's own): the static token file first, then ServiceAccount
    /// tokens.
    pub fn authenticate_token(&self, token: &str, audiences: &[String]) -> Result<TokenUser, AuthnError> {
        if let Some(user) = self.inner.tokens.as_ref().and_then(|t| t.authenticate(token)) {
            let audiences =
                if audiences.is_empty() { vec![crate::authn::API_AUDIENCE.to_string()] } else { audiences.to_vec() };
            return Ok(TokenUser { user, audiences });
        }
        let Some(keys) = self.inner.sa_keys.as_ref() else { return Err(AuthnError::NotAJwt) };
        let claims = keys.verify(token, audiences)?;
        self.check_still_valid(&claims, token)?;
        Ok(TokenUser { user: claims.user(), audiences: claims.audiences.clone() })
    }

    /// Kubernetes' second half of token validation: the objects the token
    /// names must still exist, with the uids it names, and not have been
    /// deleted more than a minute ago.
    fn check_still_valid(&self, claims: &ServiceAccountClaims, token: &str) -> Result<(), AuthnError> {
        let ns = &claims.namespace;
        if let Some(secret_name) = &claims.legacy_secret_name {
            let secret = self.object(&format!("/registry/core/secrets/{ns}/{secret_name}"));
            let secret = secret.filter(|s| !deleted_long_ago(s)).ok_or(AuthnError::Invalidated)?;
            let held = secret.pointer("/data/token").and_then(Value::as_str).unwrap_or_default();
            if base64_decode(held).as_deref() != Some(token.as_bytes()) {
                return Err(AuthnError::LegacyTokenMismatch);
            }
        }
        let sa_name = &claims.service_account_name;
        let sa = self.object(&format!("/registry/core/serviceaccounts/{ns}/{sa_name}")).ok_or_else(|| {
            AuthnError::ServiceAccountDeleted { namespace: ns.clone(), name: sa_name.clone() }
        })?;
        let sa_uid = sa.uid().unwrap_or_default();
        if !claims.service_account_uid.is_empty() && sa_uid != claims.service_account_uid {
            return Err(AuthnError::ServiceAccountUidMismatch {
                actual: sa_uid.to_string(),
                claim: claims.service_account_uid.clone(),
            });
        }
        if deleted_long_ago(&sa) {
            return Err(AuthnError::Invalidated);
        }
        for (resource, name, uid) in claims.bound_objects() {
            let key = match resource {
                "nodes" => format!("/registry/core/nodes/{name}"),
                _ => format!("/registry/core/{resource}/{ns}/{name}"),
            };
            let obj = self.object(&key).ok_or(AuthnError::Invalidated)?;
            let actual = obj.uid().unwrap_or_default();
            if actual != uid {
                return Err(AuthnError::BoundUidMismatch {
                    kind: match resource {
                        "pods" => "pod",
                        "secrets" => "secret",
                        _ => "node",
                    },
                    actual: actual.to_string(),
                    claim: uid,
                });
            }
            if deleted_long_ago(&obj) {
                return Err(AuthnError::Invalidated);
            }
        }
        Ok(())
    }

    fn object(&self, key: &str) -> Option<Value> {
        self.inner.store.get(key).and_then(|kv| serde_json::from_slice(&kv.value).ok())
    }
}

fn deleted_long_ago(obj: &Value) -> bool {
    let Some(ts) = obj.pointer("/metadata/deletionTimestamp").and_then(Value::as_str) else { return false };
    match ts.parse::<jiff::Timestamp>() {
        Ok(t) => t.as_second() < jiff::Timestamp::now().as_second() - DELETION_GRACE_SECONDS,
        Err(_) => false,
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}
