//! Reads k8s-openapi's sources for what prost loses: exact JSON field names,
//! the exact case of type names, and each resource's apiVersion and kind.
//!
//! k8s-openapi generates one file per OpenAPI definition; its `Deserialize`
//! impl maps every JSON name to the Rust field (`"podIP" => Field::Key_pod_ip`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use regex::Regex;
use walkdir::WalkDir;

/// The Kubernetes release whose definitions come first; later releases only
/// fill in what it lacks (k8s-pb may be generated from a newer release).
pub const PRIMARY_VERSION: &str = "v1_33";

#[derive(Debug, Default)]
pub struct Definition {
    /// The exact type name, e.g. `AWSElasticBlockStoreVolumeSource`.
    pub name: String,
    /// (JSON name, Rust field name) pairs.
    pub fields: Vec<(String, String)>,
    /// (apiVersion, kind) when the definition is a resource.
    pub resource: Option<(String, String)>,
}

/// Definitions by fully-qualified proto name (`k8s.io.api.core.v1.Pod`).
pub fn read(src: &Path) -> anyhow::Result<BTreeMap<String, Definition>> {
    let mut versions: Vec<String> = fs::read_dir(src)?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("v1_"))
        .collect();
    versions.sort_by_key(|v| {
        (
            v != PRIMARY_VERSION,
            v.trim_start_matches("v1_").parse::<u32>().unwrap_or(0),
        )
    });
    anyhow::ensure!(
        versions.first().map(String::as_str) == Some(PRIMARY_VERSION),
        "k8s-openapi has no {PRIMARY_VERSION}"
    );

    let definition = Regex::new(r"// Generated from definition (\S+)")?;
    let field = Regex::new(r#""([^"]+)" => Field::Key_(\w+),"#)?;
    let api_version = Regex::new(r#"const API_VERSION: &'static str = "([^"]*)";"#)?;
    let kind = Regex::new(r#"const KIND: &'static str = "([^"]*)";"#)?;

    let mut defs: BTreeMap<String, Definition> = BTreeMap::new();
    for version in versions {
        for entry in WalkDir::new(src.join(&version)).sort_by_file_name() {
            let entry = entry?;
            if entry.path().extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = fs::read_to_string(entry.path())?;
            let Some(def) = definition.captures(&text) else {
                continue;
            };
            let Some((proto, name)) = proto_name(&def[1]) else {
                continue;
            };
            let d = defs.entry(proto).or_default();
            if d.name.is_empty() {
                d.name = name;
            }
            for c in field.captures_iter(&text) {
                if !d.fields.iter().any(|(json, _)| json == &c[1]) {
                    d.fields.push((c[1].to_string(), c[2].to_string()));
                }
            }
            if d.resource.is_none()
                && let (Some(v), Some(k)) = (api_version.captures(&text), kind.captures(&text))
            {
                d.resource = Some((v[1].to_string(), k[1].to_string()));
            }
        }
    }
    defs.values_mut().for_each(|d| d.fields.sort());
    Ok(defs)
}

/// `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON` ->
/// (`k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON`, `JSON`).
fn proto_name(definition: &str) -> Option<(String, String)> {
    let rest = definition.strip_prefix("io.k8s.")?;
    let name = rest.rsplit('.').next()?.to_string();
    Some((format!("k8s.io.{}", rest.replace('-', "_")), name))
}
