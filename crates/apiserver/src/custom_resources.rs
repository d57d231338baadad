//! Serving custom resources: what each served version of an established
//! CustomResourceDefinition needs at request time (its schema, printer
//! columns, scale paths, storage version), and the registry and OpenAPI
//! entries that make it appear in discovery. `controller` decides which
//! CRDs are served and cleans up deleted ones; `objects` applies a
//! version's schema to the objects written through it.

mod controller;
pub(crate) mod objects;

pub(crate) use controller::{reconcile, spawn_controller};

use apimachinery::crd::{self, ScaleSubresource, StructuralSchema};
use apimachinery::registry::{Resource, Subresources};
use apimachinery::table::CustomTable;
use parking_lot::RwLock;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Where CRDs are stored.
pub(crate) const CRD_PREFIX: &str = "/registry/apiextensions.k8s.io/customresourcedefinitions/";

/// The finalizer a CRD gets when it is deleted, removed once its objects are.
pub(crate) const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// One served version of a custom resource.
pub struct CustomVersion {
    pub resource: Resource,
    /// Objects are stored at this version; with conversion `None` only
    /// `apiVersion` differs between versions.
    pub storage_version: String,
    pub schema: Option<StructuralSchema>,
    /// The raw `openAPIV3Schema`, for OpenAPI documents.
    pub openapi_schema: Option<Arc<Value>>,
    pub table: CustomTable,
    pub scale: Option<ScaleSubresource>,
}

impl CustomVersion {
    /// The served versions of an established CRD, under the names it was
    /// accepted with.
    fn all_of(crd: &Value) -> Vec<CustomVersion> {
        let names = crd::accepted_names_of(crd);
        let group = crd::group(crd).to_string();
        let storage_version = crd::storage_version(crd).unwrap_or_default().to_string();
        crd::served_versions(crd)
            .into_iter()
            .map(|version| {
                let subresources = crd::subresources(crd, version);
                let columns = crd::printer_columns(crd, version).unwrap_or_default();
                let (table, _) = CustomTable::new(&columns);
                CustomVersion {
                    resource: Resource {
                        group: group.clone(),
                        version: version.to_string(),
                        kind: names.kind.clone(),
                        plural: names.plural.clone(),
                        singular: names.singular.clone(),
                        short_names: names.short_names.clone(),
                        categories: names.categories.clone(),
                        namespaced: crd::is_namespaced(crd),
                        subresources: Subresources {
                            status: subresources.status,
                            scale: subresources.scale.is_some(),
                        },
                        has_generation: true,
                        create_only: false,
                        read_only: false,
                    },
                    storage_version: storage_version.clone(),
                    schema: crd::structural_schema(crd, version),
                    openapi_schema: crd::version_schema(crd, version).cloned().map(Arc::new),
                    table,
                    scale: subresources.scale,
                }
            })
            .collect()
    }

    /// The resource's OpenAPI entry.
    pub fn openapi_spec(&self) -> openapi::ResourceSpec {
        let r = &self.resource;
        let spec = openapi::ResourceSpec::new(&r.group, &r.version, &r.kind, &r.plural, r.namespaced)
            .with_subresources(r.subresources.status, r.subresources.scale);
        match &self.openapi_schema {
            Some(schema) => spec.with_custom_schema(schema.clone()),
            None => spec,
        }
    }
}

/// The custom resources being served, by (group, version, plural).
#[derive(Default)]
pub struct CustomResources {
    served: RwLock<HashMap<(String, String, String), Arc<CustomVersion>>>,
    /// One reconcile at a time.
    reconciling: tokio::sync::Mutex<()>,
}

impl CustomResources {
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<CustomVersion>> {
        self.served.read().get(&(group.to_string(), version.to_string(), plural.to_string())).cloned()
    }

    /// Serves exactly the versions of `crds`; returns the registry
    /// resources to add to the built-in ones.
    fn install(&self, crds: &[Value]) -> Vec<Resource> {
        let versions: HashMap<_, _> = crds
            .iter()
            .flat_map(CustomVersion::all_of)
            .map(|v| {
                let r = &v.resource;
                ((r.group.clone(), r.version.clone(), r.plural.clone()), Arc::new(v))
            })
            .collect();
        let resources = versions.values().map(|v| v.resource.clone()).collect();
        *self.served.write() = versions;
        resources
    }
}
