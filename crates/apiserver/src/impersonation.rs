//! `Impersonate-User`, `-Group`, `-Uid` and `-Extra-*` headers (`kubectl
//! --as`, `--as-group`): the request runs as someone else when the caller
//! may `impersonate` each of those, as Kubernetes' impersonation filter
//! decides it.

use crate::auth::User;
use crate::authz::{self, Attributes};
use crate::error::ApiError;
use crate::server::ApiServer;
use http::HeaderMap;
use std::collections::BTreeMap;

const SA_PREFIX: &str = "system:serviceaccount:";
const AUTHENTICATED: &str = "system:authenticated";
const UNAUTHENTICATED: &str = "system:unauthenticated";
const ANONYMOUS: &str = "system:anonymous";

fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok().map(str::to_string)).collect()
}

impl ApiServer {
    /// The user a request acts as: `user`, or whom its impersonation
    /// headers name when `user` may impersonate all of it.
    pub(crate) fn impersonate(&self, headers: &HeaderMap, user: User) -> Result<User, ApiError> {
        let groups = values(headers, "impersonate-group");
        let uid = values(headers, "impersonate-uid").into_iter().next();
        let extra = extras(headers)?;
        let Some(target) = values(headers, "impersonate-user").into_iter().next() else {
            if !groups.is_empty() || uid.is_some() || !extra.is_empty() {
                return Err(ApiError::BadRequest(
                    "requested impersonation of groups, uid or extra without impersonating a user".into(),
                ));
            }
            return Ok(user);
        };
        let may = |resource: &str, group: &str, namespace: Option<&str>, name: &str, sub: &str| {
            let attrs = Attributes::resource(user.clone(), "impersonate", namespace, group, resource, sub, name);
            let rbac = self.inner.rbac.snapshot();
            match authz::authorize(&*rbac, &attrs) {
                d if d.is_allowed() => Ok(()),
                d => Err(ApiError::Forbidden(authz::forbidden_message_with_reason(&attrs, d.reason()))),
            }
        };
        let mut as_groups = groups.clone();
        match target.strip_prefix(SA_PREFIX).and_then(|rest| rest.split_once(':')) {
            Some((ns, name)) => {
                may("serviceaccounts", "", Some(ns), name, "")?;
                if groups.is_empty() {
                    as_groups = vec!["system:serviceaccounts".into(), format!("system:serviceaccounts:{ns}")];
                }
            }
            None => may("users", "", None, &target, "")?,
        }
        for g in &groups {
            may("groups", "", None, g, "")?;
        }
        if let Some(uid) = &uid {
            may("uids", "authentication.k8s.io", None, uid, "")?;
        }
        for (key, vals) in &extra {
            for v in vals {
                may("userextras", "authentication.k8s.io", None, v, key)?;
            }
        }
        let implied = if target == ANONYMOUS { UNAUTHENTICATED } else { AUTHENTICATED };
        if !as_groups.iter().any(|g| g == implied) {
            as_groups.push(implied.into());
        }
        Ok(User { name: target, uid: uid.unwrap_or_default(), groups: as_groups, extra })
    }
}

/// `Impersonate-Extra-<key>` headers; the key is percent-encoded in the
/// header name and compared in lower case, as Kubernetes does.
fn extras(headers: &HeaderMap) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        let Some(key) = name.as_str().strip_prefix("impersonate-extra-") else { continue };
        let key = percent_encoding::percent_decode_str(key)
            .decode_utf8()
            .map_err(|_| ApiError::BadRequest(format!("invalid impersonation extra key {key:?}")))?
            .to_lowercase();
        let value = value
            .to_str()
            .map_err(|_| ApiError::BadRequest(format!("invalid impersonation extra value for {key:?}")))?;
        out.entry(key).or_default().push(value.to_string());
    }
    Ok(out)
}
