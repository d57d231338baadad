//! Reads the prost-generated messages of k8s-pb: tags, wire kinds and field types.

use std::fs;
use std::path::Path;

use anyhow::{Context, bail};
use syn::{GenericArgument, Item, LitStr, PathArguments, Type};
use walkdir::WalkDir;

/// A message as prost generated it; names are prost's, not yet the proto's.
#[derive(Debug)]
pub struct PbMessage {
    /// Proto package, e.g. `k8s.io.api.core.v1`.
    pub package: String,
    /// prost's CamelCase name (`AwsElasticBlockStoreVolumeSource`).
    pub rust_name: String,
    pub fields: Vec<PbField>,
}

#[derive(Debug)]
pub struct PbField {
    /// prost's snake_case name without `r#`.
    pub rust_name: String,
    pub tag: u32,
    pub kind: PbKind,
    pub repeated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PbKind {
    String,
    Bool,
    Int32,
    Int64,
    Double,
    Bytes,
    /// (package, prost name) of the referenced message.
    Message(String, String),
    /// A `map<string, V>`; maps in the Kubernetes protos only have string keys.
    Map(Box<PbKind>),
}

pub fn read(src: &Path) -> anyhow::Result<Vec<PbMessage>> {
    let mut out = Vec::new();
    for entry in WalkDir::new(src).sort_by_file_name() {
        let entry = entry?;
        if entry.file_name() != "mod.rs" {
            continue;
        }
        let rel = entry
            .path()
            .parent()
            .and_then(|p| p.strip_prefix(src).ok())
            .context("mod.rs outside src")?;
        let module: Vec<String> = rel
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        let text = fs::read_to_string(entry.path())?;
        let file = syn::parse_file(&text)
            .with_context(|| format!("parsing {}", entry.path().display()))?;
        for item in file.items {
            let Item::Struct(s) = item else { continue };
            let mut fields = Vec::new();
            for f in &s.fields {
                let Some(attr) = f.attrs.iter().find(|a| a.path().is_ident("prost")) else {
                    continue;
                };
                let name = f
                    .ident
                    .as_ref()
                    .context("tuple struct in k8s-pb")?
                    .to_string();
                let rust_name = name.trim_start_matches("r#").to_string();
                fields.push(
                    read_field(attr, &f.ty, &module, rust_name)
                        .with_context(|| format!("{}::{}", module.join("::"), s.ident))?,
                );
            }
            if fields.is_empty() && !is_prost_message(&s.attrs) {
                continue;
            }
            out.push(PbMessage {
                package: format!("k8s.io.{}", module.join(".")),
                rust_name: s.ident.to_string(),
                fields,
            });
        }
    }
    Ok(out)
}

fn is_prost_message(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("derive")
            && a.meta
                .require_list()
                .is_ok_and(|l| l.tokens.to_string().contains("Message"))
    })
}

fn read_field(
    attr: &syn::Attribute,
    ty: &Type,
    module: &[String],
    rust_name: String,
) -> anyhow::Result<PbField> {
    let mut scalar: Option<String> = None;
    let mut map: Option<String> = None;
    let mut tag: Option<u32> = None;
    let mut repeated = false;
    attr.parse_nested_meta(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        match key.as_str() {
            "tag" => {
                tag = Some(
                    meta.value()?
                        .parse::<LitStr>()?
                        .value()
                        .parse()
                        .map_err(|e| meta.error(e))?,
                )
            }
            "btree_map" | "hash_map" => map = Some(meta.value()?.parse::<LitStr>()?.value()),
            "packed" => {
                meta.value()?.parse::<LitStr>()?;
            }
            "bytes" => {
                if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<LitStr>()?;
                }
                scalar = Some(key);
            }
            "repeated" => repeated = true,
            "optional" | "required" | "boxed" => {}
            other => scalar = Some(other.to_string()),
        }
        Ok(())
    })?;
    let tag = tag.context("prost field without a tag")?;

    let kind = if let Some(map) = map {
        let (key, value) = map
            .split_once(',')
            .context("map attribute without a value type")?;
        if key.trim() != "string" {
            bail!("map key {key} is not a string");
        }
        PbKind::Map(Box::new(scalar_kind(value.trim(), ty, module)?))
    } else {
        scalar_kind(
            scalar.as_deref().context("prost field without a type")?,
            ty,
            module,
        )?
    };
    Ok(PbField {
        rust_name,
        tag,
        kind,
        repeated,
    })
}

fn scalar_kind(name: &str, ty: &Type, module: &[String]) -> anyhow::Result<PbKind> {
    Ok(match name {
        "string" => PbKind::String,
        "bool" => PbKind::Bool,
        "int32" => PbKind::Int32,
        "int64" => PbKind::Int64,
        "double" => PbKind::Double,
        "bytes" => PbKind::Bytes,
        "message" => {
            let path = innermost(ty).context("message field without a type path")?;
            let (package, name) = resolve(path, module)?;
            PbKind::Message(package, name)
        }
        other => bail!("unsupported prost type {other}"),
    })
}

/// The message type inside `Option<..>`, `Vec<..>`, `Box<..>` or a map's value.
fn innermost(ty: &Type) -> Option<&syn::Path> {
    let Type::Path(tp) = ty else { return None };
    let last = tp.path.segments.last()?;
    match &last.arguments {
        PathArguments::AngleBracketed(args) => {
            let inner = args.args.iter().rev().find_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })?;
            innermost(inner)
        }
        _ => Some(&tp.path),
    }
}

/// Resolves a (possibly `super::`-relative) type path to (proto package, name).
fn resolve(path: &syn::Path, module: &[String]) -> anyhow::Result<(String, String)> {
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let (name, prefix) = segs.split_last().context("empty type path")?;
    let mut abs: Vec<String> = module.to_vec();
    let mut rest = prefix;
    if rest.first().is_some_and(|s| s == "crate") {
        abs.clear();
        rest = &rest[1..];
    }
    while rest.first().is_some_and(|s| s == "super") {
        abs.pop().context("super:: beyond the crate root")?;
        rest = &rest[1..];
    }
    abs.extend(rest.iter().cloned());
    Ok((format!("k8s.io.{}", abs.join(".")), name.clone()))
}
