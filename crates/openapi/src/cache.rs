//! Serialized documents ready to serve, built on first request rather than
//! at start-up, and rebuilt only when the set of served resources changes.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::hash;
use crate::resource::{ResourceSpec, group_version_path};
use crate::{v2, v2_proto, v3};

/// One serialized document with its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    body: Bytes,
    hash: String,
}

impl Served {
    fn new(body: Vec<u8>) -> Self {
        let hash = hash::digest(&body);
        Served {
            body: Bytes::from(body),
            hash,
        }
    }

    /// The JSON document (`application/json`).
    pub fn body(&self) -> Bytes {
        self.body.clone()
    }

    /// The digest of the body: the `hash` query parameter of v3 URLs.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The ETag header value, quoted.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.hash)
    }
}

struct V3 {
    index: Served,
    group_versions: BTreeMap<String, Served>,
}

/// The documents of one resource set; each is built the first time it is
/// asked for.
pub struct Documents {
    resources: Vec<ResourceSpec>,
    /// JSON and protobuf, built together from one document.
    v2: OnceLock<(Served, Served)>,
    v3: OnceLock<V3>,
}

impl Documents {
    /// Cheap: nothing is built until a document is asked for.
    pub fn new(resources: Vec<ResourceSpec>) -> Self {
        Documents {
            resources,
            v2: OnceLock::new(),
            v3: OnceLock::new(),
        }
    }

    pub fn resources(&self) -> &[ResourceSpec] {
        &self.resources
    }

    fn v2_both(&self) -> &(Served, Served) {
        self.v2.get_or_init(|| {
            let document = v2::v2(&self.resources);
            // Serializing a Value cannot fail: its keys are strings.
            let json = serde_json::to_vec(&document).unwrap_or_default();
            (
                Served::new(json),
                Served::new(v2_proto::v2_protobuf(&document)),
            )
        })
    }

    /// `/openapi/v2` as JSON.
    pub fn v2(&self) -> &Served {
        &self.v2_both().0
    }

    /// `/openapi/v2` in protobuf, which is what kubectl asks for (see
    /// [`crate::V2_PROTOBUF_ACCEPT`] and [`crate::V2_PROTOBUF_CONTENT_TYPE`]).
    pub fn v2_protobuf(&self) -> &Served {
        &self.v2_both().1
    }

    fn v3_all(&self) -> &V3 {
        self.v3.get_or_init(|| {
            let documents = v3::v3_documents(&self.resources);
            let index = Served::new(serde_json::to_vec(&v3::index(&documents)).unwrap_or_default());
            let group_versions = documents
                .into_iter()
                .map(|(path, body)| (path, Served::new(body)))
                .collect();
            V3 {
                index,
                group_versions,
            }
        })
    }

    /// `/openapi/v3`.
    pub fn v3_index(&self) -> &Served {
        &self.v3_all().index
    }

    /// `/openapi/v3/<path>`, where `path` is a key of the index (`api/v1`,
    /// `apis/apps/v1`), without leading slash or query.
    pub fn v3(&self, path: &str) -> Option<&Served> {
        self.v3_all().group_versions.get(path)
    }

    /// The document of one group version (`""` for the core group).
    pub fn v3_group_version(&self, group: &str, version: &str) -> Option<&Served> {
        self.v3(&group_version_path(group, version))
    }
}

/// Holds the documents of the most recent resource set. Cheap to create;
/// the API server keeps one and asks it on every OpenAPI request.
#[derive(Default)]
pub struct DocumentCache {
    current: Mutex<Option<Arc<Documents>>>,
}

impl DocumentCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The documents of `resources`, reused while the set stays the same
    /// (in the same order) and replaced when it changes.
    pub fn documents(&self, resources: &[ResourceSpec]) -> Arc<Documents> {
        let mut current = self.current.lock();
        if let Some(documents) = current.as_ref()
            && documents.resources == resources
        {
            return documents.clone();
        }
        let documents = Arc::new(Documents::new(resources.to_vec()));
        *current = Some(documents.clone());
        documents
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::resource::tests::builtin_resources;

    #[test]
    fn openapi_cache_builds_once_per_resource_set() {
        let cache = DocumentCache::new();
        let resources = builtin_resources();
        let first = cache.documents(&resources);
        let again = cache.documents(&resources);
        assert!(Arc::ptr_eq(&first, &again));
        let served = first.v3_group_version("apps", "v1").cloned();
        let index: serde_json::Value =
            serde_json::from_slice(&first.v3_index().body()).unwrap_or_default();
        let url = format!(
            "/openapi/v3/apis/apps/v1?hash={}",
            served.as_ref().map(Served::hash).unwrap_or_default()
        );
        assert_eq!(index["paths"]["apis/apps/v1"]["serverRelativeURL"], url);
        assert_eq!(
            served.as_ref().map(Served::etag),
            served.as_ref().map(|s| format!("\"{}\"", s.hash()))
        );
        assert!(first.v3("apis/apps/v2").is_none());
        // The protobuf form starts with field 1 (swagger) = "2.0".
        assert_eq!(first.v2_protobuf().body()[..5], [0x0a, 3, b'2', b'.', b'0']);
        assert_ne!(first.v2().hash(), first.v2_protobuf().hash());

        let fewer = &resources[..3];
        let other = cache.documents(fewer);
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(other.v3("apis/apps/v1"), None);
    }

    #[test]
    fn openapi_build_time_of_both_documents() {
        let clock = |f: &dyn Fn() -> usize| {
            // std's Instant is banned in the project for testable time; a
            // wall clock is enough to print a duration here.
            let start = std::time::SystemTime::now();
            let size = f();
            (start.elapsed().unwrap_or(Duration::ZERO), size)
        };
        let resources = builtin_resources();
        let (builtins, _) = clock(&|| crate::definitions::builtins().definitions.len());
        let documents = Documents::new(resources);
        let (v2, v2_size) = clock(&|| documents.v2().body().len());
        let (v3, v3_size) = clock(&|| {
            documents.v3_index();
            documents
                .v3_group_version("", "v1")
                .map(|s| s.body().len())
                .unwrap_or_default()
        });
        println!(
            "openapi build: definitions {builtins:?} (zero if another test built them first), v2 {v2:?} ({v2_size} bytes), all v3 {v3:?} (core/v1 {v3_size} bytes)"
        );
        assert!(v2_size > 100_000);
    }
}
