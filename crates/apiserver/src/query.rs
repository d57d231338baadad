//! The query parameters of API requests (list options, watch options, write
//! options), parsed once and validated with Kubernetes' messages.

use crate::error::ApiError;

/// `fieldValidation`: what to do about unknown or duplicate fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

/// `resourceVersionMatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RvMatch {
    NotOlderThan,
    Exact,
}

#[derive(Debug, Clone, Default)]
pub struct Query {
    pub watch: bool,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<RvMatch>,
    pub timeout_seconds: Option<u64>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    pub dry_run: bool,
    pub field_validation: FieldValidation,
    pub field_manager: Option<String>,
    pub force: Option<bool>,
    pub propagation_policy: Option<String>,
    pub grace_period_seconds: Option<i64>,
    pub include_object: Option<String>,
}

fn parse_bool(name: &str, v: &str) -> Result<bool, ApiError> {
    match v {
        "true" | "1" | "True" | "TRUE" => Ok(true),
        "false" | "0" | "False" | "FALSE" | "" => Ok(false),
        _ => Err(ApiError::BadRequest(format!("invalid value {v:?} for parameter {name}: expected true or false"))),
    }
}

fn parse_int<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, ApiError> {
    v.parse()
        .map_err(|_| ApiError::BadRequest(format!("invalid value {v:?} for parameter {name}: expected an integer")))
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Query, ApiError> {
        let mut q = Query::default();
        let Some(raw) = raw else { return Ok(q) };
        for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
            let v = v.as_ref();
            match k.as_ref() {
                "watch" => q.watch = parse_bool("watch", v)?,
                "labelSelector" => q.label_selector = Some(v.to_string()).filter(|s| !s.is_empty()),
                "fieldSelector" => q.field_selector = Some(v.to_string()).filter(|s| !s.is_empty()),
                "limit" => {
                    let n: i64 = parse_int("limit", v)?;
                    q.limit = usize::try_from(n).ok().filter(|n| *n > 0);
                }
                "continue" => q.continue_token = Some(v.to_string()).filter(|s| !s.is_empty()),
                "resourceVersion" => q.resource_version = Some(v.to_string()).filter(|s| !s.is_empty()),
                "resourceVersionMatch" => {
                    q.resource_version_match = match v {
                        "" => None,
                        "NotOlderThan" => Some(RvMatch::NotOlderThan),
                        "Exact" => Some(RvMatch::Exact),
                        other => {
                            return Err(ApiError::BadRequest(format!(
                                "resourceVersionMatch: Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\""
                            )));
                        }
                    }
                }
                "timeoutSeconds" => q.timeout_seconds = Some(parse_int("timeoutSeconds", v)?),
                "allowWatchBookmarks" => q.allow_watch_bookmarks = parse_bool("allowWatchBookmarks", v)?,
                "sendInitialEvents" => q.send_initial_events = Some(parse_bool("sendInitialEvents", v)?),
                "dryRun" => match v {
                    "All" => q.dry_run = true,
                    "" => {}
                    other => {
                        return Err(ApiError::BadRequest(format!(
                            "dryRun: Unsupported value: {other:?}: supported values: \"All\""
                        )));
                    }
                },
                "fieldValidation" => {
                    q.field_validation = match v {
                        "Ignore" => FieldValidation::Ignore,
                        "Warn" | "" => FieldValidation::Warn,
                        "Strict" => FieldValidation::Strict,
                        other => {
                            return Err(ApiError::BadRequest(format!(
                                "fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""
                            )));
                        }
                    }
                }
                "fieldManager" => q.field_manager = Some(v.to_string()).filter(|s| !s.is_empty()),
                "force" => q.force = Some(parse_bool("force", v)?),
                "propagationPolicy" => q.propagation_policy = Some(v.to_string()).filter(|s| !s.is_empty()),
                "gracePeriodSeconds" => q.grace_period_seconds = Some(parse_int("gracePeriodSeconds", v)?),
                "includeObject" => {
                    apimachinery::table::IncludeObject::parse(v).map_err(|e| ApiError::BadRequest(e.to_string()))?;
                    q.include_object = Some(v.to_string());
                }
                // pretty, orphanDependents and others are accepted and ignored, as
                // Kubernetes ignores unknown query parameters.
                _ => {}
            }
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parses_list_options() {
        let q = Query::parse(Some("labelSelector=app%3Dweb&limit=500&resourceVersion=0&watch=1&dryRun=All"))
            .expect("valid query");
        assert_eq!(q.label_selector.as_deref(), Some("app=web"));
        assert_eq!(q.limit, Some(500));
        assert_eq!(q.resource_version.as_deref(), Some("0"));
        assert!(q.watch && q.dry_run);
    }

    #[test]
    fn query_rejects_bad_values() {
        assert!(Query::parse(Some("limit=abc")).is_err());
        assert!(Query::parse(Some("dryRun=Some")).is_err());
        assert!(Query::parse(Some("fieldValidation=Loud")).is_err());
        assert!(Query::parse(Some("resourceVersionMatch=Newest")).is_err());
    }
}
