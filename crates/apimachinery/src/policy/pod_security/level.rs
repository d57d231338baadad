//! Pod Security levels and versions and the namespace labels that choose
//! them (`pod-security.kubernetes.io/{enforce,audit,warn}[-version]`).

use std::fmt;

use serde_json::Value;

use crate::validation::field::{FieldError, Path};
use crate::validation::json::string_map;

pub const ENFORCE_LEVEL_LABEL: &str = "pod-security.kubernetes.io/enforce";
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";
pub const AUDIT_LEVEL_LABEL: &str = "pod-security.kubernetes.io/audit";
pub const AUDIT_VERSION_LABEL: &str = "pod-security.kubernetes.io/audit-version";
pub const WARN_LEVEL_LABEL: &str = "pod-security.kubernetes.io/warn";
pub const WARN_VERSION_LABEL: &str = "pod-security.kubernetes.io/warn-version";

/// A Pod Security Standard, from least to most strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    /// Kubernetes' `ParseLevel`: an unknown level fails closed to
    /// `restricted` alongside the error.
    pub fn parse(s: &str) -> Result<Level, Level> {
        match s {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err(Level::Restricted),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

/// A policy version: `v1.<minor>` or `latest` (newer than any number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V1(u32),
    Latest,
}

impl Version {
    /// Kubernetes' `ParseVersion`: `latest` or `v1.<minor>` without leading
    /// zeros; anything else falls back to `latest` alongside the error.
    pub fn parse(s: &str) -> Result<Version, Version> {
        if s == "latest" {
            return Ok(Version::Latest);
        }
        let minor = s.strip_prefix("v1.").filter(|m| {
            !m.is_empty()
                && m.bytes().all(|b| b.is_ascii_digit())
                && (m.len() == 1 || !m.starts_with('0'))
        });
        minor
            .and_then(|m| m.parse().ok())
            .map(Version::V1)
            .ok_or(Version::Latest)
    }

    /// The minor version the checks compare against (`latest` beyond all).
    pub(crate) fn minor(self) -> u32 {
        match self {
            Version::V1(m) => m,
            Version::Latest => u32::MAX,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::V1(m) => write!(f, "v1.{m}"),
            Version::Latest => f.write_str("latest"),
        }
    }
}

/// A level at a version, printed as Kubernetes does: `restricted:latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    pub level: Level,
    pub version: Version,
}

impl LevelVersion {
    pub const PRIVILEGED_LATEST: LevelVersion = LevelVersion {
        level: Level::Privileged,
        version: Version::Latest,
    };

    pub fn new(level: Level, version: Version) -> Self {
        LevelVersion { level, version }
    }
}

impl fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.level.as_str(), self.version)
    }
}

/// The three modes of a namespace's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub enforce: LevelVersion,
    pub audit: LevelVersion,
    pub warn: LevelVersion,
}

impl Default for Policy {
    /// The API server's default configuration: privileged:latest everywhere.
    fn default() -> Self {
        Policy {
            enforce: LevelVersion::PRIVILEGED_LATEST,
            audit: LevelVersion::PRIVILEGED_LATEST,
            warn: LevelVersion::PRIVILEGED_LATEST,
        }
    }
}

impl Policy {
    pub fn fully_privileged(&self) -> bool {
        [self.enforce, self.audit, self.warn]
            .iter()
            .all(|lv| lv.level == Level::Privileged)
    }
}

const LEVEL_ERROR: &str = "must be one of privileged, baseline, restricted";
const VERSION_ERROR: &str = "must be \"latest\" or \"v1.x\"";

/// Kubernetes' `PolicyToEvaluate` with the default policy: the policy the
/// namespace labels (`metadata.labels` as JSON) select, and the label errors.
/// A policy is always returned: a bad enforce level fails closed
/// (`restricted`), bad audit and warn levels fail open (`privileged`), bad
/// versions become `latest`. Namespace create/update must reject the errors;
/// pod admission evaluates the returned policy anyway.
pub fn policy_from_labels(labels: Option<&Value>) -> (Policy, Vec<FieldError>) {
    let labels = string_map(labels);
    let get = |key: &str| labels.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let path = Path::new("metadata").child("labels");
    let mut errs = Vec::new();
    let mut p = Policy::default();
    let level = |key: &str, on_error: Level, errs: &mut Vec<FieldError>| {
        get(key).map(|v| {
            Level::parse(v).map_err(|_| {
                errs.push(FieldError::invalid(&path.key(key), v, LEVEL_ERROR));
                on_error
            })
        })
    };
    let enforce_level = level(ENFORCE_LEVEL_LABEL, Level::Restricted, &mut errs);
    let has_enforce_level = matches!(enforce_level, Some(Ok(_)));
    if let Some(l) = enforce_level {
        p.enforce.level = l.unwrap_or_else(|l| l);
    }
    let version = |key: &str, errs: &mut Vec<FieldError>| {
        get(key).map(|v| {
            Version::parse(v).unwrap_or_else(|latest| {
                errs.push(FieldError::invalid(&path.key(key), v, VERSION_ERROR));
                latest
            })
        })
    };
    if let Some(v) = version(ENFORCE_VERSION_LABEL, &mut errs) {
        p.enforce.version = v;
    }
    if let Some(l) = level(AUDIT_LEVEL_LABEL, Level::Privileged, &mut errs) {
        p.audit.level = l.unwrap_or_else(|l| l);
    }
    if let Some(v) = version(AUDIT_VERSION_LABEL, &mut errs) {
        p.audit.version = v;
    }
    let has_warn_level = get(WARN_LEVEL_LABEL).is_some();
    if let Some(l) = level(WARN_LEVEL_LABEL, Level::Privileged, &mut errs) {
        p.warn.level = l.unwrap_or_else(|l| l);
    }
    let warn_version = version(WARN_VERSION_LABEL, &mut errs);
    if let Some(v) = warn_version {
        p.warn.version = v;
    }
    // A stricter enforce level also warns, so users see violations before
    // they are denied (e.g. on workload templates).
    if !has_warn_level && has_enforce_level && p.enforce.level > p.warn.level {
        p.warn.level = p.enforce.level;
        if warn_version.is_none() {
            p.warn.version = p.enforce.version;
        }
    }
    (p, errs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policy_psa_parse_versions() {
        assert_eq!(Version::parse("latest"), Ok(Version::Latest));
        assert_eq!(Version::parse("v1.0"), Ok(Version::V1(0)));
        assert_eq!(Version::parse("v1.33"), Ok(Version::V1(33)));
        for bad in ["v1.033", "v2.1", "1.25", "v1.", "v1.x", "Latest"] {
            assert_eq!(Version::parse(bad), Err(Version::Latest), "{bad}");
        }
        assert!(Version::V1(40) < Version::Latest);
        assert_eq!(
            LevelVersion::new(Level::Baseline, Version::V1(29)).to_string(),
            "baseline:v1.29"
        );
    }

    #[test]
    fn policy_psa_labels_and_warn_default() {
        let (p, errs) = policy_from_labels(Some(&json!({
            ENFORCE_LEVEL_LABEL: "restricted", ENFORCE_VERSION_LABEL: "v1.30"
        })));
        assert!(errs.is_empty());
        assert_eq!(p.enforce.to_string(), "restricted:v1.30");
        assert_eq!(p.audit.to_string(), "privileged:latest");
        // Warn follows a stricter enforce, version included.
        assert_eq!(p.warn.to_string(), "restricted:v1.30");

        let (p, _) = policy_from_labels(Some(&json!({
            ENFORCE_LEVEL_LABEL: "baseline", WARN_VERSION_LABEL: "v1.25"
        })));
        assert_eq!(p.warn.to_string(), "baseline:v1.25");
        assert!(policy_from_labels(None).0.fully_privileged());
    }

    #[test]
    fn policy_psa_invalid_labels_fail_closed_for_enforce() {
        let (p, errs) = policy_from_labels(Some(&json!({
            ENFORCE_LEVEL_LABEL: "strict", WARN_LEVEL_LABEL: "nope", AUDIT_VERSION_LABEL: "v2"
        })));
        assert_eq!(p.enforce.level, Level::Restricted);
        assert_eq!(p.warn.level, Level::Privileged);
        assert_eq!(p.audit.version, Version::Latest);
        let msgs: Vec<String> = errs.iter().map(FieldError::message).collect();
        assert_eq!(
            msgs,
            [
                "metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"strict\": must be one of privileged, baseline, restricted",
                "metadata.labels[pod-security.kubernetes.io/audit-version]: Invalid value: \"v2\": must be \"latest\" or \"v1.x\"",
                "metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: \"nope\": must be one of privileged, baseline, restricted",
            ]
        );
    }
}
