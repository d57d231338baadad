//! Why a token was not accepted, why one could not be issued, and why the
//! token file or the signing key could not be read. [`AuthnError`]'s
//! messages are those kube-apiserver puts in a TokenReview's `status.error`.

use std::path::PathBuf;

/// A bearer token that does not authenticate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthnError {
    /// Not three base64url parts with a JSON header and payload.
    #[error("token is not a jwt in compact serialization")]
    NotAJwt,
    /// A JWT from an issuer this server does not know (an OIDC provider's, say).
    #[error("token issuer {0:?} is invalid")]
    UnknownIssuer(String),
    #[error("token signature algorithm {0:?} is not supported, expected \"ES256\"")]
    UnsupportedAlgorithm(String),
    #[error("invalid signature: the token was not signed by this cluster's service account key")]
    InvalidSignature,
    #[error("service account token claims could not be decoded: {0}")]
    MalformedClaims(String),
    #[error("token audiences {} is invalid for the target audiences {}", go_quoted(.token), go_quoted(.requested))]
    AudienceMismatch {
        token: Vec<String>,
        requested: Vec<String>,
    },
    #[error("service account token has expired")]
    Expired,
    #[error("service account token is not valid yet")]
    NotYetValid,
    #[error("service account token is issued in the future")]
    IssuedInTheFuture,
    #[error("service account token has no expiry")]
    MissingExpiry,
    /// A claim the token must carry is absent or empty (named as Kubernetes
    /// names it: `sub`, `namespace`, `secretName`, ...).
    #[error("{0} claim is missing")]
    MissingClaim(&'static str),
    #[error("sub claim is invalid")]
    InvalidSubject,
    // The variants below are for the caller, which looks up the objects a
    // verified token names, so it can report them as Kubernetes does.
    #[error("service account {namespace}/{name} has been deleted")]
    ServiceAccountDeleted { namespace: String, name: String },
    #[error("service account UID ({actual}) does not match claim ({claim})")]
    ServiceAccountUidMismatch { actual: String, claim: String },
    /// The Pod, Secret or Node the token is bound to is gone or being deleted.
    #[error("service account token has been invalidated")]
    Invalidated,
    /// `kind` is `pod`, `secret` or `node`.
    #[error("{kind} UID ({actual}) does not match service account {kind} ref claim ({claim})")]
    BoundUidMismatch {
        kind: &'static str,
        actual: String,
        claim: String,
    },
    /// A legacy token whose Secret now holds another token.
    #[error("token does not match server's copy")]
    LegacyTokenMismatch,
}

impl AuthnError {
    /// Whether the token is simply not one of ours. Kubernetes' union
    /// authenticator then tries the next authenticator and, when none
    /// claims the token, a TokenReview says `authenticated: false` with no
    /// `status.error`.
    pub fn is_unrecognized(&self) -> bool {
        matches!(self, AuthnError::NotAJwt | AuthnError::UnknownIssuer(_))
    }
}

/// Go's `%q` of a `[]string`, which Kubernetes' audience message uses.
fn go_quoted(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

/// A ServiceAccount token that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("cannot bind a token to an object of kind {0:?}: expected Pod, Secret or Node")]
    UnsupportedBoundKind(String),
    #[error("signing the token failed")]
    Signing,
    #[error("token expiry {0} is out of the range of timestamps")]
    ExpiryOutOfRange(i64),
    #[error("encoding the token claims: {0}")]
    Encoding(#[from] serde_json::Error),
}

/// The static token file could not be used (the last good content stays).
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("reading token file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("token file {path}: {source}")]
    Csv {
        path: PathBuf,
        source: crate::authn::csv::CsvError,
    },
    #[error(
        "token file {path} must have at least 3 columns (token, user name, user uid) on line {line}, found {found}"
    )]
    TooFewColumns {
        path: PathBuf,
        line: usize,
        found: usize,
    },
}

/// The ServiceAccount signing key could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("reading service account key {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing service account key {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "service account key {path}: expected a PEM \"PRIVATE KEY\" (PKCS#8) block, found {found}"
    )]
    NotPem { path: PathBuf, found: String },
    #[error("service account key {path}: expected a PKCS#8 ECDSA P-256 private key: {reason}")]
    Rejected { path: PathBuf, reason: String },
    #[error("generating a service account key failed")]
    Generate,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn authn_error_audience_message_is_kubernetes_one() {
        let e = AuthnError::AudienceMismatch {
            token: vec!["vault".into(), "a b".into()],
            requested: vec!["https://kubernetes.default.svc.cluster.local".into()],
        };
        assert_eq!(
            e.to_string(),
            r#"token audiences ["vault" "a b"] is invalid for the target audiences ["https://kubernetes.default.svc.cluster.local"]"#
        );
        assert!(!e.is_unrecognized());
        assert!(AuthnError::NotAJwt.is_unrecognized());
    }

    #[test]
    fn authn_error_bound_uid_message() {
        let e = AuthnError::BoundUidMismatch {
            kind: "pod",
            actual: "b".into(),
            claim: "a".into(),
        };
        assert_eq!(
            e.to_string(),
            "pod UID (b) does not match service account pod ref claim (a)"
        );
    }
}
