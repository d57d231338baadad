//! `proto-schema`: generates the static wire schema the apimachinery protobuf
//! decoder walks (`crates/apimachinery/src/protobuf/schema.rs`).
//!
//! Three sources, each for what only it knows:
//! - k8s-pb (prost-generated Rust of the Kubernetes `generated.proto` files):
//!   the messages, their tags, wire kinds and field types;
//! - k8s-openapi: exact JSON names (prost's snake_case loses `podIP`,
//!   `volumeID`, `$ref`) and exact type names, and each kind's apiVersion;
//! - `xtask/data/proto-presence.txt` (from the Go types, see `proto-presence`):
//!   which fields are pointers or lack `omitempty`, so a zero on the wire is
//!   meaningful, and which are embedded inline in the JSON.
//!
//! Both crates are located with `cargo metadata`, so their versions are the
//! ones in Cargo.lock.

mod emit;
mod openapi;
mod pb;
mod presence;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::proto_presence::DATA_FILE;
use pb::{PbKind, PbMessage};

/// The proto packages the decoder covers; messages they reference in other
/// packages are included too.
pub const PACKAGES: &[&str] = &[
    "k8s.io.api.apps.v1",
    "k8s.io.api.authentication.v1",
    "k8s.io.api.authorization.v1",
    "k8s.io.api.autoscaling.v1",
    "k8s.io.api.autoscaling.v2",
    "k8s.io.api.batch.v1",
    "k8s.io.api.coordination.v1",
    "k8s.io.api.core.v1",
    "k8s.io.api.discovery.v1",
    "k8s.io.api.events.v1",
    "k8s.io.api.networking.v1",
    "k8s.io.api.policy.v1",
    "k8s.io.api.rbac.v1",
    "k8s.io.api.scheduling.v1",
    "k8s.io.api.storage.v1",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1",
    "k8s.io.apimachinery.pkg.api.resource",
    "k8s.io.apimachinery.pkg.apis.meta.v1",
    "k8s.io.apimachinery.pkg.runtime",
    "k8s.io.apimachinery.pkg.util.intstr",
];

/// Where the generated table goes, relative to the workspace root.
const OUTPUT: &str = "crates/apimachinery/src/protobuf/schema.rs";

const META: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";
const APIEXT: &str = "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1";

/// Fields Go marks `omitempty` on a non-pointer, yet whose zero is a request
/// in its own right: scaling to zero through the scale subresource.
const KEEP_ZERO_OVERRIDES: &[(&str, &str)] = &[("k8s.io.api.autoscaling.v1.ScaleSpec", "replicas")];

/// Messages whose JSON form is not an object of their fields.
fn special_kind(proto: &str) -> Option<Kind> {
    let (package, name) = proto.rsplit_once('.')?;
    Some(match (package, name) {
        (META, "Time") => Kind::Time,
        (META, "MicroTime") => Kind::MicroTime,
        (META, "Duration") => Kind::Duration,
        (META, "FieldsV1") => Kind::RawJson,
        ("k8s.io.apimachinery.pkg.runtime", "RawExtension") => Kind::RawJson,
        (APIEXT, "JSON") => Kind::RawJson,
        ("k8s.io.apimachinery.pkg.api.resource", "Quantity") => Kind::Quantity,
        ("k8s.io.apimachinery.pkg.util.intstr", "IntOrString") => Kind::IntOrString,
        // Go slice types (`type Verbs []string`) wrapped in a message.
        (META, "Verbs")
        | ("k8s.io.api.authentication.v1", "ExtraValue")
        | ("k8s.io.api.authorization.v1", "ExtraValue") => Kind::StringList,
        (APIEXT, "JSONSchemaPropsOrArray") => Kind::SchemaOr("SchemaOrArray"),
        (APIEXT, "JSONSchemaPropsOrBool") => Kind::SchemaOr("SchemaOrBool"),
        (APIEXT, "JSONSchemaPropsOrStringArray") => Kind::SchemaOr("SchemaOrStrings"),
        _ => return None,
    })
}

/// A field's wire kind as the generated table spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bool,
    I32,
    I64,
    F64,
    Bytes,
    /// A message by fully-qualified proto name.
    Msg(String),
    Map(Box<Kind>),
    Time,
    MicroTime,
    Duration,
    Quantity,
    IntOrString,
    RawJson,
    StringList,
    /// One of the apiextensions `JSONSchemaPropsOr*` unions (variant name).
    SchemaOr(&'static str),
}

#[derive(Debug)]
pub struct Field {
    pub tag: u32,
    pub json: String,
    pub kind: Kind,
    pub repeated: bool,
    pub keep_zero: bool,
    pub inline: bool,
}

#[derive(Debug)]
pub struct Message {
    pub name: String,
    pub fields: Vec<Field>,
}

/// Where the inputs came from, for the generated header.
pub struct Sources {
    pub pb: String,
    pub openapi: String,
}

pub fn run(root: &Path) -> anyhow::Result<()> {
    let (pb_src, openapi_src, sources) = locate_sources(root)?;
    let pb = pb::read(&pb_src)?;
    let defs = openapi::read(&openapi_src)?;
    let presence = presence::read(&root.join(DATA_FILE))?;

    let mut warnings = Vec::new();
    let messages = build(&pb, &defs, &presence, &mut warnings)?;
    let kinds = resource_kinds(&defs, &messages);

    let text = emit::render(&messages, &kinds, &sources)?;
    let out = root.join(OUTPUT);
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
    for w in &warnings {
        eprintln!("note: {w}");
    }
    println!(
        "wrote {} ({} messages, {} kinds)",
        out.display(),
        messages.len(),
        kinds.len()
    );
    Ok(())
}

fn locate_sources(root: &Path) -> anyhow::Result<(PathBuf, PathBuf, Sources)> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1"])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let find = |name: &str| -> anyhow::Result<(PathBuf, String)> {
        let pkg = meta["packages"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .with_context(|| {
                format!("{name} is not in the dependency graph; is it an xtask dependency?")
            })?;
        let manifest = pkg["manifest_path"]
            .as_str()
            .context("package without manifest_path")?;
        let dir = Path::new(manifest)
            .parent()
            .context("manifest without a directory")?;
        let version = pkg["version"].as_str().unwrap_or("?");
        Ok((dir.join("src"), format!("{name} {version}")))
    };
    let (pb, pb_version) = find("k8s-pb")?;
    let (openapi, openapi_version) = find("k8s-openapi")?;
    Ok((
        pb,
        openapi,
        Sources {
            pb: pb_version,
            openapi: openapi_version,
        },
    ))
}

/// Lower-case alphanumerics only, so `podIP`, `pod_ip` and `$ref`/`ref` meet.
fn norm(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn lower_camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn build(
    pb: &[PbMessage],
    defs: &BTreeMap<String, openapi::Definition>,
    presence: &HashMap<(String, u32), presence::Presence>,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Vec<Message>> {
    // Exact proto names: prost re-cases `AWSElasticBlockStoreVolumeSource`;
    // the OpenAPI definitions and the Go types keep the original.
    let mut exact: HashMap<String, String> = HashMap::new();
    for name in defs.keys().chain(presence.keys().map(|(m, _)| m)) {
        exact
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| name.clone());
    }
    let proto_name = |package: &str, rust: &str| -> String {
        let guess = format!("{package}.{rust}");
        exact
            .get(&guess.to_ascii_lowercase())
            .cloned()
            .unwrap_or(guess)
    };
    let by_name: HashMap<String, &PbMessage> = pb
        .iter()
        .map(|m| (proto_name(&m.package, &m.rust_name), m))
        .collect();

    let mut queue: Vec<String> = by_name
        .iter()
        .filter(|(name, m)| PACKAGES.contains(&m.package.as_str()) && special_kind(name).is_none())
        .map(|(name, _)| name.clone())
        .collect();
    queue.sort();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();

    while let Some(name) = queue.pop() {
        if !done.insert(name.clone()) {
            continue;
        }
        let m = by_name[&name];
        let def = defs.get(&name);
        let mut fields = Vec::new();
        for f in &m.fields {
            let kind = to_kind(&f.kind, &proto_name);
            let mut refs = Vec::new();
            collect_refs(&kind, &mut refs);
            for r in refs {
                if !done.contains(&r) {
                    if !by_name.contains_key(&r) {
                        bail!(
                            "{name}.{} refers to {r}, which k8s-pb does not define",
                            f.rust_name
                        );
                    }
                    queue.push(r);
                }
            }

            let facts = presence
                .get(&(name.clone(), f.tag))
                .cloned()
                .unwrap_or_default();
            let from_openapi = def.and_then(|d| {
                d.fields
                    .iter()
                    .find(|(json, rust)| *rust == f.rust_name || norm(json) == norm(&f.rust_name))
                    .map(|(json, _)| json.clone())
            });
            let mut inline = facts.inline;
            let json = match (&from_openapi, inline) {
                (Some(json), false) => {
                    if !facts.json.is_empty() && facts.json != *json {
                        warnings.push(format!(
                            "{name}.{}: Go says {:?}, k8s-openapi {json:?}; using k8s-openapi",
                            f.rust_name, facts.json
                        ));
                    }
                    json.clone()
                }
                (Some(json), true) => bail!(
                    "{name}.{}: Go embeds it inline, but k8s-openapi has a field {json:?}",
                    f.rust_name
                ),
                (None, true) => lower_camel(&f.rust_name),
                (None, false) => {
                    if def.is_some() && inline_by_shape(&kind, def, defs) {
                        warnings.push(format!(
                            "{name}.{}: no JSON field; inline by shape (not in the presence data)",
                            f.rust_name
                        ));
                        inline = true;
                        lower_camel(&f.rust_name)
                    } else if !facts.json.is_empty() {
                        facts.json.clone()
                    } else {
                        let guess = lower_camel(&f.rust_name);
                        if def.is_some() {
                            warnings.push(format!(
                                "{name}.{}: no JSON name known; guessing {guess:?}",
                                f.rust_name
                            ));
                        }
                        guess
                    }
                }
            };
            let zero_matters = matches!(
                kind,
                Kind::Str
                    | Kind::Bool
                    | Kind::I32
                    | Kind::I64
                    | Kind::F64
                    | Kind::Bytes
                    | Kind::IntOrString
            );
            let keep_zero = zero_matters
                && !f.repeated
                && (facts.pointer
                    || facts.required
                    || KEEP_ZERO_OVERRIDES
                        .iter()
                        .any(|(m, j)| *m == name && *j == json));
            fields.push(Field {
                tag: f.tag,
                json,
                kind,
                repeated: f.repeated,
                keep_zero,
                inline,
            });
        }
        fields.sort_by_key(|f| f.tag);
        if let Some(w) = fields.windows(2).find(|w| w[0].tag == w[1].tag) {
            bail!("{name}: tag {} twice", w[0].tag);
        }
        out.push(Message { name, fields });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn to_kind(k: &PbKind, proto_name: &dyn Fn(&str, &str) -> String) -> Kind {
    match k {
        PbKind::String => Kind::Str,
        PbKind::Bool => Kind::Bool,
        PbKind::Int32 => Kind::I32,
        PbKind::Int64 => Kind::I64,
        PbKind::Double => Kind::F64,
        PbKind::Bytes => Kind::Bytes,
        PbKind::Message(package, rust) => {
            let name = proto_name(package, rust);
            special_kind(&name).unwrap_or(Kind::Msg(name))
        }
        PbKind::Map(v) => Kind::Map(Box::new(to_kind(v, proto_name))),
    }
}

fn collect_refs(kind: &Kind, out: &mut Vec<String>) {
    match kind {
        Kind::Msg(name) => out.push(name.clone()),
        Kind::Map(v) => collect_refs(v, out),
        Kind::SchemaOr(_) => out.push(format!("{APIEXT}.JSONSchemaProps")),
        _ => {}
    }
}

/// A message field with no JSON counterpart whose own fields all appear in the
/// parent's JSON is an embedded struct (`json:",inline"`).
fn inline_by_shape(
    kind: &Kind,
    parent: Option<&openapi::Definition>,
    defs: &BTreeMap<String, openapi::Definition>,
) -> bool {
    let (Kind::Msg(target), Some(parent)) = (kind, parent) else {
        return false;
    };
    let Some(embedded) = defs.get(target) else {
        return false;
    };
    !embedded.fields.is_empty()
        && embedded
            .fields
            .iter()
            .all(|(json, _)| parent.fields.iter().any(|(p, _)| p == json))
}

/// (apiVersion, kind, message) for every resource in the covered packages,
/// plus `DeleteOptions`, which clients send in any group's version.
fn resource_kinds(
    defs: &BTreeMap<String, openapi::Definition>,
    messages: &[Message],
) -> Vec<(String, String, String)> {
    let known: BTreeSet<&str> = messages.iter().map(|m| m.name.as_str()).collect();
    let mut kinds = BTreeSet::new();
    for (name, def) in defs {
        let Some((api_version, kind)) = &def.resource else {
            continue;
        };
        let package = name.rsplit_once('.').map_or("", |(p, _)| p);
        // meta/v1 "resources" (Status, APIGroup) are responses, never bodies.
        if PACKAGES.contains(&package) && package != META && known.contains(name.as_str()) {
            kinds.insert((api_version.clone(), kind.clone(), name.clone()));
        }
    }
    let versions: BTreeSet<String> = kinds
        .iter()
        .map(|(v, _, _)| v.clone())
        .chain(["meta.k8s.io/v1".to_string()])
        .collect();
    for v in versions {
        kinds.insert((v, "DeleteOptions".into(), format!("{META}.DeleteOptions")));
    }
    kinds.into_iter().collect()
}
