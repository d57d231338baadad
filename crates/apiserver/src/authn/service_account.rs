//! ServiceAccount tokens as kube-apiserver v1.33 issues and checks them:
//! bound tokens (TokenRequest: audiences, expiry, optionally bound to a
//! Pod, Secret or Node) and legacy tokens (the never-expiring JWT in a
//! `kubernetes.io/service-account-token` Secret), both ES256 JWTs signed
//! with the cluster's key.
//!
//! [`ServiceAccountKeys::verify`] checks everything the token itself
//! proves; the caller then checks the world still agrees (the
//! ServiceAccount and the bound Pod/Secret/Node exist with the uids the
//! token names, a legacy token still matches its Secret), reporting
//! failures with the [`AuthnError`] variants made for that.

use super::{
    API_AUDIENCE, AUTHENTICATED_GROUP, AuthnError, ISSUER, IssueError, KeyFileError, LEGACY_ISSUER,
    jws, keys,
};
use crate::auth::User;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// TokenRequest validation refuses shorter tokens.
const MIN_EXPIRATION_SECONDS: i64 = 600;
/// TokenRequest validation refuses longer tokens (`1 << 32` seconds).
const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;
/// The clock skew tolerated on `exp`, `nbf` and `iat`, go-jose's default
/// which kube-apiserver uses.
const LEEWAY_SECONDS: i64 = 60;

pub const EXTRA_POD_NAME: &str = "authentication.kubernetes.io/pod-name";
pub const EXTRA_POD_UID: &str = "authentication.kubernetes.io/pod-uid";
pub const EXTRA_NODE_NAME: &str = "authentication.kubernetes.io/node-name";
pub const EXTRA_NODE_UID: &str = "authentication.kubernetes.io/node-uid";
pub const EXTRA_CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";

const SERVICE_ACCOUNT_USER_PREFIX: &str = "system:serviceaccount:";
const ALL_SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts";

/// The DER prefix of a P-256 SubjectPublicKeyInfo holding an uncompressed
/// point: the key id is a hash of that structure, as in Kubernetes.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The object a TokenRequest binds its token to (`spec.boundObjectRef`):
/// `kind` is `Pod`, `Secret` or `Node`, `uid` the object's current uid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundObject {
    pub kind: String,
    pub name: String,
    pub uid: String,
}

/// A name and uid, as the token's claims carry them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectRef {
    pub name: String,
    pub uid: String,
}

/// What a TokenRequest asks for, after the API layer validated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequestSpec {
    pub namespace: String,
    pub sa_name: String,
    pub sa_uid: String,
    /// Empty means the API server's own audience.
    pub audiences: Vec<String>,
    /// Clamped to [600, 2^32] seconds.
    pub expiration_seconds: i64,
    pub bound: Option<BoundObject>,
}

/// What a bound token may carry beyond the request itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BoundExtras {
    /// For a Pod-bound token, the node the Pod is scheduled to (v1.33 puts
    /// it in the token and the user's extra, without checking it later).
    pub node: Option<ObjectRef>,
    /// Kubernetes' `warnafter`: for the kubelet's 3607 s requests that the
    /// server extends to a year, the time (from now) after which using the
    /// token is logged as stale.
    pub warn_after_seconds: Option<i64>,
}

/// What a verified ServiceAccount token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountClaims {
    pub namespace: String,
    pub service_account_name: String,
    /// Empty only if the token did not name one.
    pub service_account_uid: String,
    /// The audiences both the token and the request accept, in the token's
    /// order (a TokenReview's `status.audiences`).
    pub audiences: Vec<String>,
    pub pod: Option<ObjectRef>,
    pub secret: Option<ObjectRef>,
    pub node: Option<ObjectRef>,
    /// For a legacy token, the Secret that must still exist and hold this
    /// very token in `data.token`.
    pub legacy_secret_name: Option<String>,
    pub jti: Option<String>,
    pub issued_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub warn_after: Option<i64>,
}

impl ServiceAccountClaims {
    pub fn is_legacy(&self) -> bool {
        self.legacy_secret_name.is_some()
    }

    /// The user the token authenticates, as Kubernetes builds it.
    pub fn user(&self) -> User {
        let mut extra = BTreeMap::new();
        if let Some(pod) = self
            .pod
            .as_ref()
            .filter(|p| !p.name.is_empty() && !p.uid.is_empty())
        {
            extra.insert(EXTRA_POD_NAME.to_string(), vec![pod.name.clone()]);
            extra.insert(EXTRA_POD_UID.to_string(), vec![pod.uid.clone()]);
        }
        if let Some(jti) = &self.jti {
            extra.insert(EXTRA_CREDENTIAL_ID.to_string(), vec![format!("JTI={jti}")]);
        }
        if let Some(node) = self.node.as_ref().filter(|n| !n.name.is_empty()) {
            extra.insert(EXTRA_NODE_NAME.to_string(), vec![node.name.clone()]);
            if !node.uid.is_empty() {
                extra.insert(EXTRA_NODE_UID.to_string(), vec![node.uid.clone()]);
            }
        }
        User {
            name: format!(
                "{SERVICE_ACCOUNT_USER_PREFIX}{}:{}",
                self.namespace, self.service_account_name
            ),
            uid: self.service_account_uid.clone(),
            groups: vec![
                ALL_SERVICE_ACCOUNTS_GROUP.to_string(),
                format!("{ALL_SERVICE_ACCOUNTS_GROUP}:{}", self.namespace),
                AUTHENTICATED_GROUP.to_string(),
            ],
            extra,
        }
    }

    /// The objects whose existence (with this uid) the token depends on, as
    /// `(resource, name, uid)`: the Pod and Secret live in the token's
    /// namespace; a Node (cluster-scoped) is listed only for a token bound
    /// to the Node itself, since Kubernetes does not check the node a
    /// Pod-bound token names.
    pub fn bound_objects(&self) -> Vec<(&'static str, String, String)> {
        let mut out = Vec::new();
        if let Some(pod) = &self.pod {
            out.push(("pods", pod.name.clone(), pod.uid.clone()));
        }
        if let Some(secret) = &self.secret {
            out.push(("secrets", secret.name.clone(), secret.uid.clone()));
        }
        if let (Some(node), None) = (&self.node, &self.pod) {
            out.push(("nodes", node.name.clone(), node.uid.clone()));
        }
        out
    }
}

/// The cluster's ServiceAccount token key, parsed once.
pub struct ServiceAccountKeys {
    signing: EcdsaKeyPair,
    /// The uncompressed public point, for verification.
    public: Vec<u8>,
    key_id: String,
    encoded_header: String,
    api_audiences: Vec<String>,
    rng: SystemRandom,
}

impl std::fmt::Debug for ServiceAccountKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKeys")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKeys {
    /// The key at `path` (PKCS#8 PEM), created there on first use.
    pub fn load_or_create(path: &Path) -> Result<ServiceAccountKeys, KeyFileError> {
        let der = keys::load_or_create(path)?;
        ServiceAccountKeys::from_pkcs8(&der).map_err(|reason| KeyFileError::Rejected {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// A fresh key that lives in memory only (tests, throwaway servers).
    pub fn generate() -> Result<ServiceAccountKeys, KeyFileError> {
        let der = keys::generate()?;
        ServiceAccountKeys::from_pkcs8(&der).map_err(|_| KeyFileError::Generate)
    }

    fn from_pkcs8(der: &[u8]) -> Result<ServiceAccountKeys, String> {
        let rng = SystemRandom::new();
        let signing = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|e| e.to_string())?;
        let public = signing.public_key().as_ref().to_vec();
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(&public);
        let key_id = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &spki));
        Ok(ServiceAccountKeys {
            encoded_header: jws::encoded_header(&key_id),
            signing,
            public,
            key_id,
            api_audiences: vec![API_AUDIENCE.to_string()],
            rng,
        })
    }

    /// The `kid` of every token this key signs: base64url of the SHA-256
    /// of the public key's SubjectPublicKeyInfo DER, as Kubernetes derives it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key as the JWK Set `/openid/v1/jwks` serves.
    pub fn jwks(&self) -> serde_json::Value {
        let (x, y) = self.public[1..].split_at(32);
        serde_json::json!({"keys": [{
            "use": "sig",
            "kty": "EC",
            "kid": self.key_id,
            "crv": "P-256",
            "alg": jws::ALGORITHM,
            "x": URL_SAFE_NO_PAD.encode(x),
            "y": URL_SAFE_NO_PAD.encode(y),
        }]})
    }

    /// A bound token and its expiry (RFC 3339, as `status.expirationTimestamp`).
    pub fn issue_bound(&self, spec: &TokenRequestSpec) -> Result<(String, String), IssueError> {
        self.issue_bound_with(spec, &BoundExtras::default())
    }

    /// As [`ServiceAccountKeys::issue_bound`], with the node of a Pod-bound
    /// token and a `warnafter`.
    pub fn issue_bound_with(
        &self,
        spec: &TokenRequestSpec,
        extras: &BoundExtras,
    ) -> Result<(String, String), IssueError> {
        self.issue_bound_at(spec, extras, now())
    }

    fn issue_bound_at(
        &self,
        spec: &TokenRequestSpec,
        extras: &BoundExtras,
        now: i64,
    ) -> Result<(String, String), IssueError> {
        let exp = now
            + spec
                .expiration_seconds
                .clamp(MIN_EXPIRATION_SECONDS, MAX_EXPIRATION_SECONDS);
        let expires =
            jiff::Timestamp::from_second(exp).map_err(|_| IssueError::ExpiryOutOfRange(exp))?;
        let mut private = Private {
            namespace: spec.namespace.clone(),
            serviceaccount: Ref {
                name: spec.sa_name.clone(),
                uid: spec.sa_uid.clone(),
            },
            warnafter: extras
                .warn_after_seconds
                .filter(|w| *w != 0)
                .map(|w| now + w),
            ..Private::default()
        };
        if let Some(bound) = &spec.bound {
            let r = Ref {
                name: bound.name.clone(),
                uid: bound.uid.clone(),
            };
            match bound.kind.as_str() {
                "Pod" => {
                    private.pod = Some(r);
                    private.node = extras.node.as_ref().map(|n| Ref {
                        name: n.name.clone(),
                        uid: n.uid.clone(),
                    });
                }
                "Secret" => private.secret = Some(r),
                "Node" => private.node = Some(r),
                other => return Err(IssueError::UnsupportedBoundKind(other.to_string())),
            }
        }
        let audiences = if spec.audiences.is_empty() {
            self.api_audiences.clone()
        } else {
            spec.audiences.clone()
        };
        let payload = Payload {
            aud: Some(audiences),
            exp: Some(exp),
            iat: Some(now),
            iss: ISSUER.to_string(),
            jti: Some(uuid::Uuid::new_v4().to_string()),
            kubernetes: Some(private),
            nbf: Some(now),
            sub: Some(format!(
                "{SERVICE_ACCOUNT_USER_PREFIX}{}:{}",
                spec.namespace, spec.sa_name
            )),
            ..Payload::default()
        };
        Ok((self.sign(&payload)?, expires.to_string()))
    }

    /// The never-expiring token the token controller puts in a
    /// `kubernetes.io/service-account-token` Secret.
    pub fn issue_legacy(
        &self,
        namespace: &str,
        sa_name: &str,
        sa_uid: &str,
        secret_name: &str,
    ) -> Result<String, IssueError> {
        let payload = Payload {
            iss: LEGACY_ISSUER.to_string(),
            legacy_namespace: Some(namespace.to_string()),
            legacy_secret_name: Some(secret_name.to_string()),
            legacy_sa_name: Some(sa_name.to_string()),
            legacy_sa_uid: Some(sa_uid.to_string()),
            sub: Some(format!(
                "{SERVICE_ACCOUNT_USER_PREFIX}{namespace}:{sa_name}"
            )),
            ..Payload::default()
        };
        self.sign(&payload)
    }

    fn sign(&self, payload: &Payload) -> Result<String, IssueError> {
        let json = serde_json::to_vec(payload)?;
        jws::sign(&self.signing, &self.rng, &self.encoded_header, &json).ok_or(IssueError::Signing)
    }

    /// Checks a token's signature, issuer, audiences (`audiences` are the
    /// ones the request accepts; empty means the API server's own) and
    /// validity period, and returns its claims.
    pub fn verify(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<ServiceAccountClaims, AuthnError> {
        self.verify_at(token, audiences, now())
    }

    fn verify_at(
        &self,
        token: &str,
        requested: &[String],
        now: i64,
    ) -> Result<ServiceAccountClaims, AuthnError> {
        #[derive(Deserialize)]
        struct IssuerOnly {
            #[serde(default)]
            iss: Option<String>,
        }
        let parts = jws::split(token)?;
        // As kube-apiserver, a token from another issuer is not ours to
        // judge, so that is decided before the signature is looked at.
        let issuer: IssuerOnly =
            serde_json::from_slice(&parts.payload).map_err(|_| AuthnError::NotAJwt)?;
        let legacy = match issuer.iss.as_deref().unwrap_or_default() {
            ISSUER => false,
            LEGACY_ISSUER => true,
            other => return Err(AuthnError::UnknownIssuer(other.to_string())),
        };
        jws::verify(&parts, &self.public)?;
        let payload: Payload = serde_json::from_slice(&parts.payload)
            .map_err(|e| AuthnError::MalformedClaims(e.to_string()))?;

        // Tokens without audiences (legacy ones) are good for the API
        // server's own audiences only.
        let token_audiences = match &payload.aud {
            Some(a) if !a.is_empty() => a.as_slice(),
            _ => self.api_audiences.as_slice(),
        };
        let requested = if requested.is_empty() {
            self.api_audiences.as_slice()
        } else {
            requested
        };
        let audiences: Vec<String> = token_audiences
            .iter()
            .filter(|a| requested.contains(a))
            .cloned()
            .collect();
        if audiences.is_empty() {
            return Err(AuthnError::AudienceMismatch {
                token: token_audiences.to_vec(),
                requested: requested.to_vec(),
            });
        }

        if legacy {
            legacy_claims(payload, audiences)
        } else {
            bound_claims(payload, audiences, now)
        }
    }
}

fn bound_claims(
    payload: Payload,
    audiences: Vec<String>,
    now: i64,
) -> Result<ServiceAccountClaims, AuthnError> {
    // go-jose's order: not-before, expiry, issued-at.
    if payload.nbf.is_some_and(|nbf| now + LEEWAY_SECONDS < nbf) {
        return Err(AuthnError::NotYetValid);
    }
    let exp = payload.exp.ok_or(AuthnError::MissingExpiry)?;
    if now - LEEWAY_SECONDS > exp {
        return Err(AuthnError::Expired);
    }
    if payload.iat.is_some_and(|iat| now + LEEWAY_SECONDS < iat) {
        return Err(AuthnError::IssuedInTheFuture);
    }
    let k = payload
        .kubernetes
        .ok_or(AuthnError::MissingClaim("kubernetes.io"))?;
    if k.namespace.is_empty() {
        return Err(AuthnError::MissingClaim("namespace"));
    }
    if k.serviceaccount.name.is_empty() {
        return Err(AuthnError::MissingClaim("serviceAccountName"));
    }
    let object = |r: Ref| ObjectRef {
        name: r.name,
        uid: r.uid,
    };
    Ok(ServiceAccountClaims {
        namespace: k.namespace,
        service_account_name: k.serviceaccount.name,
        service_account_uid: k.serviceaccount.uid,
        audiences,
        pod: k.pod.map(object),
        secret: k.secret.map(object),
        node: k.node.map(object),
        legacy_secret_name: None,
        jti: payload.jti.filter(|j| !j.is_empty()),
        issued_at: payload.iat,
        expires_at: Some(exp),
        warn_after: k.warnafter,
    })
}

fn legacy_claims(
    payload: Payload,
    audiences: Vec<String>,
) -> Result<ServiceAccountClaims, AuthnError> {
    let required = |v: Option<String>, claim: &'static str| {
        v.filter(|s| !s.is_empty())
            .ok_or(AuthnError::MissingClaim(claim))
    };
    let sub = required(payload.sub, "sub")?;
    let namespace = required(payload.legacy_namespace, "namespace")?;
    let secret_name = required(payload.legacy_secret_name, "secretName")?;
    let sa_name = required(payload.legacy_sa_name, "serviceAccountName")?;
    let sa_uid = required(payload.legacy_sa_uid, "serviceAccountUID")?;
    let subject_matches = sub
        .strip_prefix(SERVICE_ACCOUNT_USER_PREFIX)
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(ns, name)| ns == namespace && name == sa_name);
    if !subject_matches {
        return Err(AuthnError::InvalidSubject);
    }
    Ok(ServiceAccountClaims {
        namespace,
        service_account_name: sa_name,
        service_account_uid: sa_uid,
        audiences,
        pod: None,
        secret: None,
        node: None,
        legacy_secret_name: Some(secret_name),
        jti: None,
        issued_at: None,
        expires_at: None,
        warn_after: None,
    })
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// A token's payload, bound and legacy claims together. Fields are in the
/// order Kubernetes' tokens have them (sorted), so ours look the same.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Payload {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "audience"
    )]
    aud: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "numeric_date"
    )]
    exp: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "numeric_date"
    )]
    iat: Option<i64>,
    #[serde(default)]
    iss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    #[serde(
        rename = "kubernetes.io",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    kubernetes: Option<Private>,
    #[serde(
        rename = "kubernetes.io/serviceaccount/namespace",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    legacy_namespace: Option<String>,
    #[serde(
        rename = "kubernetes.io/serviceaccount/secret.name",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    legacy_secret_name: Option<String>,
    #[serde(
        rename = "kubernetes.io/serviceaccount/service-account.name",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    legacy_sa_name: Option<String>,
    #[serde(
        rename = "kubernetes.io/serviceaccount/service-account.uid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    legacy_sa_uid: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "numeric_date"
    )]
    nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
}

/// The `kubernetes.io` claim of a bound token.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Private {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<Ref>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pod: Option<Ref>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<Ref>,
    #[serde(default)]
    serviceaccount: Ref,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "numeric_date"
    )]
    warnafter: Option<i64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Ref {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    uid: String,
}

/// `aud` is a string or an array of strings (RFC 7519).
fn audience<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|a| match a {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    }))
}

/// A NumericDate: seconds since the epoch, possibly fractional.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    // `as` saturates, which is what an absurd date deserves.
    Ok(n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: i64 = 1_700_000_000; // 2023-11-14T22:13:20Z

    fn keys() -> ServiceAccountKeys {
        ServiceAccountKeys::generate().unwrap()
    }

    fn spec() -> TokenRequestSpec {
        TokenRequestSpec {
            namespace: "ns1".into(),
            sa_name: "builder".into(),
            sa_uid: "sa-uid".into(),
            audiences: vec![],
            expiration_seconds: 3600,
            bound: None,
        }
    }

    fn decode_part(token: &str, index: usize) -> Value {
        let part = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    fn api() -> Vec<String> {
        vec![API_AUDIENCE.to_string()]
    }

    #[test]
    fn authn_sa_bound_round_trip_with_exact_claims() {
        let k = keys();
        let mut s = spec();
        s.bound = Some(BoundObject {
            kind: "Pod".into(),
            name: "web-0".into(),
            uid: "pod-uid".into(),
        });
        let extras = BoundExtras {
            node: Some(ObjectRef {
                name: "node-a".into(),
                uid: "node-uid".into(),
            }),
            warn_after_seconds: Some(3607),
        };
        let (token, expires) = k.issue_bound_at(&s, &extras, NOW).unwrap();
        assert_eq!(expires, "2023-11-14T23:13:20Z");

        assert_eq!(
            decode_part(&token, 0),
            json!({"alg": "ES256", "kid": k.key_id()})
        );
        let payload = decode_part(&token, 1);
        let jti = payload["jti"].as_str().unwrap().to_string();
        assert_eq!(jti.len(), 36);
        assert_eq!(
            payload,
            json!({
                "aud": ["https://kubernetes.default.svc.cluster.local"],
                "exp": NOW + 3600,
                "iat": NOW,
                "iss": "https://kubernetes.default.svc.cluster.local",
                "jti": jti,
                "kubernetes.io": {
                    "namespace": "ns1",
                    "node": {"name": "node-a", "uid": "node-uid"},
                    "pod": {"name": "web-0", "uid": "pod-uid"},
                    "serviceaccount": {"name": "builder", "uid": "sa-uid"},
                    "warnafter": NOW + 3607,
                },
                "nbf": NOW,
                "sub": "system:serviceaccount:ns1:builder",
            })
        );
        // The keys are in Kubernetes' (sorted) order on the wire.
        let raw = String::from_utf8(
            URL_SAFE_NO_PAD
                .decode(token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert!(raw.starts_with(r#"{"aud":["#), "{raw}");

        let claims = k.verify_at(&token, &[], NOW + 10).unwrap();
        assert_eq!(
            claims,
            ServiceAccountClaims {
                namespace: "ns1".into(),
                service_account_name: "builder".into(),
                service_account_uid: "sa-uid".into(),
                audiences: api(),
                pod: Some(ObjectRef {
                    name: "web-0".into(),
                    uid: "pod-uid".into()
                }),
                secret: None,
                node: Some(ObjectRef {
                    name: "node-a".into(),
                    uid: "node-uid".into()
                }),
                legacy_secret_name: None,
                jti: Some(jti.clone()),
                issued_at: Some(NOW),
                expires_at: Some(NOW + 3600),
                warn_after: Some(NOW + 3607),
            }
        );
        let user = claims.user();
        assert_eq!(user.name, "system:serviceaccount:ns1:builder");
        assert_eq!(user.uid, "sa-uid");
        assert_eq!(
            user.groups,
            vec![
                "system:serviceaccounts",
                "system:serviceaccounts:ns1",
                "system:authenticated"
            ]
        );
        let extra: Vec<(&str, Vec<String>)> = user
            .extra
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        assert_eq!(
            extra,
            vec![
                (
                    "authentication.kubernetes.io/credential-id",
                    vec![format!("JTI={jti}")]
                ),
                (
                    "authentication.kubernetes.io/node-name",
                    vec!["node-a".to_string()]
                ),
                (
                    "authentication.kubernetes.io/node-uid",
                    vec!["node-uid".to_string()]
                ),
                (
                    "authentication.kubernetes.io/pod-name",
                    vec!["web-0".to_string()]
                ),
                (
                    "authentication.kubernetes.io/pod-uid",
                    vec!["pod-uid".to_string()]
                ),
            ]
        );
        // The node of a Pod-bound token is information, not a binding.
        assert_eq!(
            claims.bound_objects(),
            vec![("pods", "web-0".to_string(), "pod-uid".to_string())]
        );
        assert!(!claims.is_legacy());
    }

    #[test]
    fn authn_sa_unbound_secret_and_node_bindings() {
        let k = keys();
        let (token, _) = k
            .issue_bound_at(&spec(), &BoundExtras::default(), NOW)
            .unwrap();
        let claims = k.verify_at(&token, &[], NOW).unwrap();
        assert_eq!(claims.bound_objects(), vec![]);
        assert_eq!(claims.warn_after, None);
        assert_eq!(
            claims.user().extra.keys().collect::<Vec<_>>(),
            vec![EXTRA_CREDENTIAL_ID]
        );
        assert!(
            decode_part(&token, 1)["kubernetes.io"]
                .get("warnafter")
                .is_none()
        );

        let mut s = spec();
        s.bound = Some(BoundObject {
            kind: "Secret".into(),
            name: "s".into(),
            uid: "s-uid".into(),
        });
        // A node only rides along with a Pod.
        let node = BoundExtras {
            node: Some(ObjectRef {
                name: "n".into(),
                uid: "u".into(),
            }),
            ..Default::default()
        };
        let (token, _) = k.issue_bound_at(&s, &node, NOW).unwrap();
        let claims = k.verify_at(&token, &[], NOW).unwrap();
        assert_eq!(
            claims.bound_objects(),
            vec![("secrets", "s".to_string(), "s-uid".to_string())]
        );
        assert_eq!(claims.node, None);

        s.bound = Some(BoundObject {
            kind: "Node".into(),
            name: "n1".into(),
            uid: "n1-uid".into(),
        });
        let (token, _) = k.issue_bound_at(&s, &BoundExtras::default(), NOW).unwrap();
        let claims = k.verify_at(&token, &[], NOW).unwrap();
        assert_eq!(
            claims.bound_objects(),
            vec![("nodes", "n1".to_string(), "n1-uid".to_string())]
        );
        assert_eq!(
            claims.user().extra.get(EXTRA_NODE_NAME),
            Some(&vec!["n1".to_string()])
        );

        s.bound = Some(BoundObject {
            kind: "ConfigMap".into(),
            name: "c".into(),
            uid: "c".into(),
        });
        let e = k
            .issue_bound_at(&s, &BoundExtras::default(), NOW)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot bind a token to an object of kind \"ConfigMap\": expected Pod, Secret or Node"
        );
    }

    #[test]
    fn authn_sa_expiration_is_clamped() {
        let k = keys();
        let mut s = spec();
        s.expiration_seconds = 60;
        let (token, _) = k.issue_bound_at(&s, &BoundExtras::default(), NOW).unwrap();
        assert_eq!(decode_part(&token, 1)["exp"], json!(NOW + 600));
        s.expiration_seconds = i64::MAX;
        let (token, _) = k.issue_bound_at(&s, &BoundExtras::default(), NOW).unwrap();
        assert_eq!(decode_part(&token, 1)["exp"], json!(NOW + (1i64 << 32)));
    }

    #[test]
    fn authn_sa_expired_and_not_yet_valid_rejected() {
        let k = keys();
        let (token, _) = k
            .issue_bound_at(&spec(), &BoundExtras::default(), NOW)
            .unwrap();
        // Within the minute of leeway both ways it is still good.
        assert!(k.verify_at(&token, &[], NOW + 3600 + 60).is_ok());
        assert!(k.verify_at(&token, &[], NOW - 60).is_ok());
        assert_eq!(
            k.verify_at(&token, &[], NOW + 3600 + 61),
            Err(AuthnError::Expired)
        );
        assert_eq!(
            k.verify_at(&token, &[], NOW - 61),
            Err(AuthnError::NotYetValid)
        );
        assert_eq!(
            AuthnError::Expired.to_string(),
            "service account token has expired"
        );
        // And with the real clock, a token issued now verifies.
        let (token, _) = k.issue_bound(&spec()).unwrap();
        assert!(k.verify(&token, &[]).is_ok());
    }

    #[test]
    fn authn_sa_wrong_audience_rejected() {
        let k = keys();
        let mut s = spec();
        s.audiences = vec!["vault".into(), "nats".into()];
        let (token, _) = k.issue_bound_at(&s, &BoundExtras::default(), NOW).unwrap();
        let e = k.verify_at(&token, &[], NOW).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"token audiences ["vault" "nats"] is invalid for the target audiences ["https://kubernetes.default.svc.cluster.local"]"#
        );
        let claims = k
            .verify_at(&token, &["nats".to_string(), "other".to_string()], NOW)
            .unwrap();
        assert_eq!(claims.audiences, vec!["nats".to_string()]);
    }

    #[test]
    fn authn_sa_tampered_token_rejected() {
        let k = keys();
        let (token, _) = k
            .issue_bound_at(&spec(), &BoundExtras::default(), NOW)
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();

        // A payload naming another ServiceAccount under the old signature.
        let mut payload = decode_part(&token, 1);
        payload["kubernetes.io"]["serviceaccount"]["name"] = json!("admin");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            parts[2]
        );
        assert_eq!(
            k.verify_at(&forged, &[], NOW),
            Err(AuthnError::InvalidSignature)
        );

        // A flipped bit in the signature.
        let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        sig[10] ^= 1;
        let flipped = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&sig));
        assert_eq!(
            k.verify_at(&flipped, &[], NOW),
            Err(AuthnError::InvalidSignature)
        );

        // Signed by another cluster's key.
        let (other, _) = keys()
            .issue_bound_at(&spec(), &BoundExtras::default(), NOW)
            .unwrap();
        assert_eq!(
            k.verify_at(&other, &[], NOW),
            Err(AuthnError::InvalidSignature)
        );

        // `alg: none` with no signature.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            parts[1]
        );
        assert_eq!(
            k.verify_at(&none, &[], NOW),
            Err(AuthnError::UnsupportedAlgorithm("none".into()))
        );

        // Not ours at all.
        assert_eq!(k.verify_at("abc", &[], NOW), Err(AuthnError::NotAJwt));
        assert_eq!(k.verify_at("a.b.c.d", &[], NOW), Err(AuthnError::NotAJwt));
        let foreign = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(r#"{"iss":"https://accounts.google.com"}"#),
            parts[2]
        );
        let e = k.verify_at(&foreign, &[], NOW).unwrap_err();
        assert_eq!(
            e,
            AuthnError::UnknownIssuer("https://accounts.google.com".into())
        );
        assert!(e.is_unrecognized());
    }

    #[test]
    fn authn_sa_legacy_round_trip() {
        let k = keys();
        let token = k
            .issue_legacy("ns1", "builder", "sa-uid", "builder-token-x7k2p")
            .unwrap();
        assert_eq!(
            decode_part(&token, 1),
            json!({
                "iss": "kubernetes/serviceaccount",
                "kubernetes.io/serviceaccount/namespace": "ns1",
                "kubernetes.io/serviceaccount/secret.name": "builder-token-x7k2p",
                "kubernetes.io/serviceaccount/service-account.name": "builder",
                "kubernetes.io/serviceaccount/service-account.uid": "sa-uid",
                "sub": "system:serviceaccount:ns1:builder",
            })
        );
        // No expiry: good years later.
        let claims = k.verify_at(&token, &[], NOW + 100 * 365 * 86400).unwrap();
        assert_eq!(
            claims,
            ServiceAccountClaims {
                namespace: "ns1".into(),
                service_account_name: "builder".into(),
                service_account_uid: "sa-uid".into(),
                audiences: api(),
                pod: None,
                secret: None,
                node: None,
                legacy_secret_name: Some("builder-token-x7k2p".into()),
                jti: None,
                issued_at: None,
                expires_at: None,
                warn_after: None,
            }
        );
        assert!(claims.is_legacy());
        assert_eq!(claims.bound_objects(), vec![]);
        let user = claims.user();
        assert_eq!(user.name, "system:serviceaccount:ns1:builder");
        assert!(user.extra.is_empty());
        // Only the API server's audience is implied.
        assert!(matches!(
            k.verify_at(&token, &["vault".to_string()], NOW),
            Err(AuthnError::AudienceMismatch { .. })
        ));
    }

    #[test]
    fn authn_sa_legacy_claims_must_be_complete_and_consistent() {
        let k = keys();
        let forge = |payload: Value| k.sign(&serde_json::from_value(payload).unwrap()).unwrap();
        let base = json!({
            "iss": "kubernetes/serviceaccount",
            "kubernetes.io/serviceaccount/namespace": "ns1",
            "kubernetes.io/serviceaccount/secret.name": "s",
            "kubernetes.io/serviceaccount/service-account.name": "builder",
            "kubernetes.io/serviceaccount/service-account.uid": "u",
            "sub": "system:serviceaccount:ns1:builder",
        });
        let mut p = base.clone();
        p["sub"] = json!("system:serviceaccount:other:builder");
        assert_eq!(
            k.verify_at(&forge(p), &[], NOW),
            Err(AuthnError::InvalidSubject)
        );
        let mut p = base.clone();
        p.as_object_mut()
            .unwrap()
            .remove("kubernetes.io/serviceaccount/service-account.uid");
        let e = k.verify_at(&forge(p), &[], NOW).unwrap_err();
        assert_eq!(e.to_string(), "serviceAccountUID claim is missing");
    }

    #[test]
    fn authn_sa_bound_token_needs_expiry_and_private_claims() {
        let k = keys();
        let forge = |payload: Value| k.sign(&serde_json::from_value(payload).unwrap()).unwrap();
        let no_exp = json!({"iss": ISSUER, "kubernetes.io": {"namespace": "a", "serviceaccount": {"name": "b"}}});
        assert_eq!(
            k.verify_at(&forge(no_exp), &[], NOW),
            Err(AuthnError::MissingExpiry)
        );
        let no_private = json!({"iss": ISSUER, "exp": NOW + 100});
        assert_eq!(
            k.verify_at(&forge(no_private), &[], NOW),
            Err(AuthnError::MissingClaim("kubernetes.io"))
        );
        // A single-string `aud` and fractional dates are read too.
        let loose = json!({"iss": ISSUER, "aud": "x", "exp": (NOW + 100) as f64 + 0.5,
            "kubernetes.io": {"namespace": "a", "serviceaccount": {"name": "b"}}});
        let claims = k.verify_at(&forge(loose), &["x".to_string()], NOW).unwrap();
        assert_eq!(
            (claims.audiences, claims.expires_at),
            (vec!["x".to_string()], Some(NOW + 100))
        );
    }

    #[test]
    fn authn_sa_key_persisted_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sa.key");
        let first = ServiceAccountKeys::load_or_create(&path).unwrap();
        let (token, _) = first.issue_bound(&spec()).unwrap();
        let second = ServiceAccountKeys::load_or_create(&path).unwrap();
        assert_eq!(first.key_id(), second.key_id());
        assert_eq!(
            second.verify(&token, &[]).unwrap().service_account_name,
            "builder"
        );
        assert_eq!(first.key_id().len(), 43);

        let jwks = second.jwks();
        assert_eq!(jwks["keys"][0]["kid"], json!(first.key_id()));
        assert_eq!(jwks["keys"][0]["crv"], json!("P-256"));
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwks["keys"][0]["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
    }
}
