//! Bearer-token authentication: the static token file (`--token-auth-file`)
//! and ServiceAccount tokens (signed JWTs, bound and legacy), as
//! kube-apiserver v1.33 authenticates them. Pure logic plus file reading:
//! looking up the objects a token is bound to is the caller's job.

mod bearer;
mod csv;
mod error;
mod jws;
mod keys;
mod service_account;
mod token_file;

pub use bearer::{bearer_token, websocket_bearer_token};
pub use csv::CsvError;
pub use error::{AuthnError, IssueError, KeyFileError, TokenFileError};
pub use service_account::{
    BoundExtras, BoundObject, EXTRA_CREDENTIAL_ID, EXTRA_NODE_NAME, EXTRA_NODE_UID, EXTRA_POD_NAME,
    EXTRA_POD_UID, ObjectRef, ServiceAccountClaims, ServiceAccountKeys, TokenRequestSpec,
};
pub use token_file::TokenFile;

/// The issuer of bound ServiceAccount tokens, kube-apiserver's
/// `--service-account-issuer` in a cluster whose domain is `cluster.local`.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// The issuer of legacy, secret-based ServiceAccount tokens.
pub const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";

/// The audience the API server itself answers to (`--api-audiences`, which
/// defaults to the issuer).
pub const API_AUDIENCE: &str = ISSUER;

/// The group every authenticated user is in.
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";
