//! A container's environment as the kubelet makes it
//! (`makeEnvironmentVariables`): `envFrom` ConfigMaps and Secrets first, in
//! order and with their prefixes, then `env` in order, each `value` with
//! its `$(VAR)` references expanded against the variables defined before
//! it, each `valueFrom` read from a ConfigMap or Secret key or the
//! downward API. Reading the API (`fetch`: each ConfigMap and Secret once)
//! is kept apart from composing (`compose`, pure), so the rules are tested
//! on recorded objects.

mod downward;
mod expansion;

pub use expansion::expand;

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{ConfigMap, Container, EnvVarSource, Node, Pod, Secret};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::{Api, ResourceExt};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// What an environment is resolved against besides the pod itself.
pub struct Sources<'a> {
    pub client: &'a kube::Client,
    pub node: &'a str,
    pub host_ip: &'a str,
    pub pod_ip: Option<IpAddr>,
    /// The node's allocatable CPU, memory and ephemeral storage, which a
    /// `resourceFieldRef` to a limit the container does not set gives;
    /// `None` reads them from the Node object when one is needed.
    pub allocatable: Option<Allocatable>,
}

/// A node's allocatable amounts of the resources whose limits the
/// downward API defaults (`status.allocatable`; `None`: not reported).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allocatable {
    pub cpu_millis: Option<i64>,
    pub memory_bytes: Option<i64>,
    pub ephemeral_storage_bytes: Option<i64>,
}

impl Allocatable {
    /// From a Node's `status.allocatable` (a quantity that does not parse
    /// counts as not reported).
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Allocatable {
        let parsed = |name: &str| list.get(name).and_then(|q| apimachinery::validation::Quantity::parse(&q.0).ok());
        Allocatable {
            cpu_millis: parsed("cpu").map(|q| q.milli_value()),
            memory_bytes: parsed("memory").map(|q| q.value()),
            ephemeral_storage_bytes: parsed("ephemeral-storage").map(|q| q.value()),
        }
    }

    pub fn from_node(node: &Node) -> Allocatable {
        node.status.as_ref().and_then(|s| s.allocatable.as_ref()).map(Allocatable::from_list).unwrap_or_default()
    }
}

/// A container's environment and the `envFrom` keys left out of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `NAME=value`, each name once, in the order names were first defined.
    pub vars: Vec<String>,
    pub skipped: Vec<Skipped>,
}

/// Keys of one `envFrom` source that make no environment variable: with
/// the prefix, a name with `=` or NUL cannot be written as `NAME=value`.
/// (Since Kubernetes 1.30 the kubelet passes every other key on, however
/// unusual, so a ConfigMap key like `config.yaml` is a variable too.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// `configMap` or `secret`, as the kubelet's event says.
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    /// The names (prefix and key) left out, sorted.
    pub keys: Vec<String>,
}

impl Skipped {
    /// The message of the kubelet's `InvalidEnvironmentVariableNames`
    /// Warning event on the pod.
    pub fn message(&self) -> String {
        format!(
            "Keys [{}] from the EnvFrom {} {}/{} were skipped since they are considered invalid environment variable names.",
            self.keys.join(", "),
            self.kind,
            self.namespace,
            self.name
        )
    }
}

/// Why a container's environment cannot be made; the texts are the
/// kubelet's, as `CreateContainerConfigError` shows them.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("configmap \"{0}\" not found")]
    ConfigMapNotFound(String),
    #[error("secret \"{0}\" not found")]
    SecretNotFound(String),
    #[error("couldn't find key {key} in ConfigMap {namespace}/{name}")]
    ConfigMapKey { key: String, namespace: String, name: String },
    #[error("couldn't find key {key} in Secret {namespace}/{name}")]
    SecretKey { key: String, namespace: String, name: String },
    /// Reading a ConfigMap or Secret failed other than by its absence.
    #[error("{0}")]
    Read(String),
    #[error("failed to find node object, expected a node: {0}")]
    Node(String),
    #[error("unsupported pod version: {0}")]
    PodVersion(String),
    #[error("field label does not support subscript: {0}")]
    LabelSubscript(String),
    #[error("field label not supported: {0}")]
    FieldLabel(String),
    #[error("fieldPath \"{0}\" does not support subscript")]
    FieldSubscript(String),
    #[error("invalid key subscript in {path}: {reason}")]
    Subscript { path: String, reason: String },
    #[error("unsupported fieldPath: {0}")]
    FieldPath(String),
    #[error("unsupported container resource : {0}")]
    Resource(String),
    #[error("quantity {quantity:?}: {source}")]
    Quantity { quantity: String, source: apimachinery::validation::QuantityError },
}

/// The container's `NAME=value` list, or why it cannot be made (the
/// container then waits with `CreateContainerConfigError`).
pub async fn resolve(sources: &Sources<'_>, pod: &Pod, c: &Container) -> Result<Vec<String>, String> {
    environment(sources, pod, c).await.map(|e| e.vars)
}

/// The container's environment with the `envFrom` keys it leaves out.
pub async fn environment(sources: &Sources<'_>, pod: &Pod, c: &Container) -> Result<Environment, String> {
    let wanted = Wanted::of(c, sources.allocatable.is_none().then_some(sources.node));
    let objects = fetch(sources.client.clone(), pod.namespace().unwrap_or_default(), wanted).await;
    let node = downward::Node { name: sources.node, host_ip: sources.host_ip, pod_ips: sources.pod_ip.iter().map(|ip| ip.to_string()).collect() };
    let allocatable = match sources.allocatable {
        Some(a) => Ok(a),
        None => objects.allocatable.clone().unwrap_or_else(|| Ok(Allocatable::default())),
    };
    compose(&Inputs { node, allocatable }, pod, c, &objects).map_err(|e| e.to_string())
}

/// The objects a container's environment names: each ConfigMap and
/// Secret once however often it is named, and this node when a
/// `resourceFieldRef` may need its allocatable amounts.
#[derive(Debug, Default, PartialEq, Eq)]
struct Wanted {
    config_maps: BTreeSet<String>,
    secrets: BTreeSet<String>,
    node: Option<String>,
}

impl Wanted {
    fn of(c: &Container, node: Option<&str>) -> Wanted {
        let mut w = Wanted::default();
        for from in c.env_from.iter().flatten() {
            if let Some(r) = &from.config_map_ref {
                w.config_maps.insert(r.name.clone());
            } else if let Some(r) = &from.secret_ref {
                w.secrets.insert(r.name.clone());
            }
        }
        // A non-empty `value` wins over `valueFrom`, and the sources are
        // taken in `value_from`'s order, so nothing unused is read.
        for from in c.env.iter().flatten().filter(|e| e.value.as_deref().unwrap_or("").is_empty()).filter_map(|e| e.value_from.as_ref()) {
            if from.field_ref.is_some() {
                continue;
            }
            if from.resource_field_ref.is_some() {
                w.node = node.map(str::to_string);
            } else if let Some(r) = &from.config_map_key_ref {
                w.config_maps.insert(r.name.clone());
            } else if let Some(r) = &from.secret_key_ref {
                w.secrets.insert(r.name.clone());
            }
        }
        w
    }
}

/// What the API answered for one object.
#[derive(Debug, Clone)]
enum Lookup<T> {
    Found(T),
    Missing,
    Failed(String),
}

/// The objects `Wanted` named, as read.
#[derive(Debug, Default)]
struct Objects {
    config_maps: HashMap<String, Lookup<ConfigMap>>,
    secrets: HashMap<String, Lookup<Secret>>,
    allocatable: Option<Result<Allocatable, String>>,
}

fn lookup<T>(got: Result<Option<T>, kube::Error>) -> Lookup<T> {
    match got {
        Ok(Some(o)) => Lookup::Found(o),
        Ok(None) => Lookup::Missing,
        Err(kube::Error::Api(status)) => Lookup::Failed(status.message),
        Err(e) => Lookup::Failed(e.to_string()),
    }
}

/// Reads what `wanted` names. The future owns what it uses, so it
/// borrows nothing from the worker that awaits it.
fn fetch(client: kube::Client, namespace: String, wanted: Wanted) -> BoxFuture<'static, Objects> {
    Box::pin(async move {
        let mut objects = Objects::default();
        let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
        for name in wanted.config_maps {
            let got = lookup(config_maps.get_opt(&name).await);
            objects.config_maps.insert(name, got);
        }
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
        for name in wanted.secrets {
            let got = lookup(secrets.get_opt(&name).await);
            objects.secrets.insert(name, got);
        }
        if let Some(name) = wanted.node {
            objects.allocatable = Some(match lookup(Api::<Node>::all(client).get_opt(&name).await) {
                Lookup::Found(node) => Ok(Allocatable::from_node(&node)),
                Lookup::Missing => Err(format!("nodes \"{name}\" not found")),
                Lookup::Failed(e) => Err(e),
            });
        }
        objects
    })
}

/// Everything but the API objects that an environment is composed from.
struct Inputs<'a> {
    node: downward::Node<'a>,
    allocatable: Result<Allocatable, String>,
}

/// Variables in the order their names were first defined; a later
/// definition replaces the value in place.
#[derive(Default)]
struct Vars {
    list: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl Vars {
    fn set(&mut self, name: &str, value: String) {
        match self.index.get(name) {
            Some(&i) => self.list[i].1 = value,
            None => {
                self.index.insert(name.to_string(), self.list.len());
                self.list.push((name.to_string(), value));
            }
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|&i| self.list[i].1.as_str())
    }
}

/// The environment from the pod, the container and the objects read.
fn compose(inputs: &Inputs<'_>, pod: &Pod, c: &Container, objects: &Objects) -> Result<Environment, Error> {
    let namespace = pod.namespace().unwrap_or_default();
    let mut vars = Vars::default();
    let mut skipped = Vec::new();
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.as_deref().unwrap_or("");
        let (kind, name, entries): (_, _, Vec<(&String, String)>) = if let Some(r) = &from.config_map_ref {
            match objects.config_maps.get(&r.name).unwrap_or(&Lookup::Missing) {
                Lookup::Found(cm) => ("configMap", &r.name, cm.data.iter().flatten().map(|(k, v)| (k, v.clone())).collect()),
                Lookup::Missing if r.optional == Some(true) => continue,
                Lookup::Missing => return Err(Error::ConfigMapNotFound(r.name.clone())),
                Lookup::Failed(e) => return Err(Error::Read(e.clone())),
            }
        } else if let Some(r) = &from.secret_ref {
            match objects.secrets.get(&r.name).unwrap_or(&Lookup::Missing) {
                Lookup::Found(s) => ("secret", &r.name, s.data.iter().flatten().map(|(k, v)| (k, text(&v.0))).collect()),
                Lookup::Missing if r.optional == Some(true) => continue,
                Lookup::Missing => return Err(Error::SecretNotFound(r.name.clone())),
                Lookup::Failed(e) => return Err(Error::Read(e.clone())),
            }
        } else {
            continue;
        };
        let mut left_out = Vec::new();
        for (key, value) in entries {
            let var = format!("{prefix}{key}");
            if var.contains(['=', '\0']) {
                left_out.push(var);
            } else {
                vars.set(&var, value);
            }
        }
        if !left_out.is_empty() {
            left_out.sort();
            skipped.push(Skipped { kind, namespace: namespace.clone(), name: name.clone(), keys: left_out });
        }
    }
    for e in c.env.iter().flatten() {
        let value = match (e.value.as_deref(), &e.value_from) {
            // Service links would be looked up after the container's own
            // variables; there are none yet.
            (Some(v), _) if !v.is_empty() => expansion::expand_with(v, |name| vars.get(name)),
            (_, Some(from)) => match value_from(inputs, pod, c, objects, &namespace, from)? {
                Some(v) => v,
                // An optional source that is absent defines nothing, so an
                // earlier definition of the name stays.
                None => continue,
            },
            _ => String::new(),
        };
        vars.set(&e.name, value);
    }
    Ok(Environment { vars: vars.list.into_iter().map(|(k, v)| format!("{k}={v}")).collect(), skipped })
}

/// A `valueFrom`'s value; `None` for an optional key or object that is not there.
fn value_from(inputs: &Inputs<'_>, pod: &Pod, c: &Container, objects: &Objects, namespace: &str, from: &EnvVarSource) -> Result<Option<String>, Error> {
    if let Some(fs) = &from.field_ref {
        return downward::field(pod, &inputs.node, fs).map(Some);
    }
    if let Some(rs) = &from.resource_field_ref {
        return downward::resource(c, inputs.allocatable.as_ref().map_err(String::as_str), rs).map(Some);
    }
    if let Some(r) = &from.config_map_key_ref {
        let optional = r.optional == Some(true);
        let cm = match objects.config_maps.get(&r.name).unwrap_or(&Lookup::Missing) {
            Lookup::Found(cm) => cm,
            Lookup::Missing if optional => return Ok(None),
            Lookup::Missing => return Err(Error::ConfigMapNotFound(r.name.clone())),
            Lookup::Failed(e) => return Err(Error::Read(e.clone())),
        };
        // Only `data`: the kubelet never puts `binaryData` in an environment.
        return match cm.data.as_ref().and_then(|d| d.get(&r.key)) {
            Some(v) => Ok(Some(v.clone())),
            None if optional => Ok(None),
            None => Err(Error::ConfigMapKey { key: r.key.clone(), namespace: namespace.to_string(), name: r.name.clone() }),
        };
    }
    if let Some(r) = &from.secret_key_ref {
        let optional = r.optional == Some(true);
        let secret = match objects.secrets.get(&r.name).unwrap_or(&Lookup::Missing) {
            Lookup::Found(s) => s,
            Lookup::Missing if optional => return Ok(None),
            Lookup::Missing => return Err(Error::SecretNotFound(r.name.clone())),
            Lookup::Failed(e) => return Err(Error::Read(e.clone())),
        };
        return match secret.data.as_ref().and_then(|d| d.get(&r.key)) {
            Some(v) => Ok(Some(text(&v.0))),
            None if optional => Ok(None),
            None => Err(Error::SecretKey { key: r.key.clone(), namespace: namespace.to_string(), name: r.name.clone() }),
        };
    }
    // A source of a kind not known here gives the empty value, as the
    // kubelet's does.
    Ok(Some(String::new()))
}

/// Secret bytes as an environment value: environments here are UTF-8, so
/// bytes that are not become U+FFFD.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests;
