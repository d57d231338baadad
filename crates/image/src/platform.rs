//! The node's platform, and which manifest of a multi-arch index runs on
//! it (containerd's default matcher: same OS and architecture, a variant
//! that matches or is unset; attestation manifests never match).

use oci_spec::image::{Descriptor, ImageIndex};

/// An OS, architecture and variant as OCI spells them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// This machine: Linux, with Rust's architecture in Go's words.
    pub fn host() -> Platform {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", Some("v8")),
            "arm" => ("arm", Some("v7")),
            "x86" => ("386", None),
            "powerpc64" => ("ppc64le", None),
            "riscv64" => ("riscv64", None),
            "s390x" => ("s390x", None),
            other => (other, None),
        };
        Platform { os: "linux".into(), architecture: architecture.into(), variant: variant.map(Into::into) }
    }

    fn matches(&self, d: &Descriptor) -> bool {
        let Some(p) = d.platform() else { return false };
        let variant_ok = match (p.variant().as_deref(), self.variant.as_deref()) {
            (None, _) | (_, None) => true,
            (Some(theirs), Some(ours)) => theirs == ours,
        };
        p.os().to_string() == self.os && p.architecture().to_string() == self.architecture && variant_ok
    }

    /// The index's manifest for this platform: an exact variant before an
    /// unset one.
    pub fn choose<'a>(&self, index: &'a ImageIndex) -> Option<&'a Descriptor> {
        let candidates = || index.manifests().iter().filter(|d| self.matches(d));
        candidates()
            .find(|d| d.platform().as_ref().and_then(|p| p.variant().as_deref()) == self.variant.as_deref())
            .or_else(|| candidates().next())
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> ImageIndex {
        let m = |digit: char, platform: serde_json::Value| {
            serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": format!("sha256:{}", digit.to_string().repeat(64)), "platform": platform})
        };
        serde_json::from_value(serde_json::json!({
            "schemaVersion": 2,
            "manifests": [
                m('1', serde_json::json!({"os": "unknown", "architecture": "unknown"})),
                m('2', serde_json::json!({"os": "linux", "architecture": "arm", "variant": "v6"})),
                m('3', serde_json::json!({"os": "linux", "architecture": "arm64"})),
                m('4', serde_json::json!({"os": "linux", "architecture": "arm64", "variant": "v8"})),
                m('5', serde_json::json!({"os": "linux", "architecture": "amd64"})),
                m('6', serde_json::json!({"os": "windows", "architecture": "amd64"})),
            ]
        }))
        .expect("an index")
    }

    fn pick(os: &str, arch: &str, variant: Option<&str>) -> Option<String> {
        let p = Platform { os: os.into(), architecture: arch.into(), variant: variant.map(Into::into) };
        p.choose(&index()).map(|d| d.digest().digest()[..1].to_string())
    }

    #[test]
    fn platform_picks_the_manifest_for_the_node() {
        assert_eq!(pick("linux", "amd64", None).as_deref(), Some("5"));
        assert_eq!(pick("linux", "arm64", Some("v8")).as_deref(), Some("4"), "the exact variant first");
        assert_eq!(pick("linux", "arm64", None).as_deref(), Some("3"));
        assert_eq!(pick("linux", "arm", Some("v7")), None, "another variant does not run");
        assert_eq!(pick("linux", "s390x", None), None);
    }
}
