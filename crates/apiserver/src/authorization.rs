//! The RBAC decision for each request, and the 403 Kubernetes gives when
//! there is no rule for it.

use crate::auth::User;
use crate::authz::{self, Attributes};
use crate::error::ApiError;
use crate::request_info::RequestInfo;
use crate::server::ApiServer;

/// What a request asks to do, in the authorizer's terms.
pub(crate) fn attributes(user: &User, info: &RequestInfo, method: &http::Method, path: &str) -> Attributes {
    match info {
        RequestInfo::Resource(r) => Attributes::resource(
            user.clone(),
            r.verb.as_str(),
            r.namespace.as_deref(),
            &r.group,
            &r.resource,
            r.subresource.as_deref().unwrap_or_default(),
            r.name.as_deref().unwrap_or_default(),
        ),
        RequestInfo::Discovery { .. } | RequestInfo::NonResource(_) => {
            // HEAD reads, as GET; other methods are their own verb.
            let verb = if method == http::Method::HEAD { "get".into() } else { method.as_str().to_ascii_lowercase() };
            Attributes::non_resource(user.clone(), &verb, path)
        }
    }
}

impl ApiServer {
    /// Allows the request or answers Kubernetes' Forbidden.
    pub(crate) fn authorize(&self, attrs: &Attributes) -> Result<(), ApiError> {
        let rbac = self.inner.rbac.snapshot();
        let decision = authz::authorize(&*rbac, attrs);
        if decision.is_allowed() {
            return Ok(());
        }
        Err(ApiError::Forbidden(authz::forbidden_message_with_reason(attrs, decision.reason())))
    }
}
