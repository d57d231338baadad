//! How registries are reached: which speak plain HTTP
//! (`--insecure-registry HOST:PORT`), which have mirrors
//! (`--registry-mirror docker.io=http://127.0.0.1:5000`, tried in order
//! before the registry itself, as containerd's `hosts.toml` mirrors are),
//! and the credentials of `imagePullSecrets`
//! (`kubernetes.io/dockerconfigjson`).

use crate::name::ImageName;
use base64::Engine;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("invalid registry mirror {0:?}: expected REGISTRY=URL, e.g. docker.io=http://127.0.0.1:5000")]
    Mirror(String),
    #[error("invalid registry {0:?}: expected HOST or HOST:PORT")]
    Host(String),
    #[error("invalid docker config: {0}")]
    DockerConfig(String),
}

/// One place to pull a registry's images from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host[:port]`.
    pub host: String,
    /// Plain HTTP instead of HTTPS.
    pub plain_http: bool,
}

/// The registries' configuration of one node.
#[derive(Debug, Clone, Default)]
pub struct Registries {
    insecure: BTreeSet<String>,
    mirrors: BTreeMap<String, Vec<Endpoint>>,
}

fn valid_host(host: &str) -> bool {
    !host.is_empty() && !host.contains(['/', ' ', '@']) && host.bytes().all(|b| b.is_ascii_graphic())
}

impl Registries {
    /// From `--insecure-registry` and `--registry-mirror` values.
    pub fn new(insecure: &[String], mirrors: &[String]) -> Result<Registries, Error> {
        let mut r = Registries::default();
        for host in insecure {
            let host = host.trim_start_matches("http://").trim_end_matches('/');
            if !valid_host(host) {
                return Err(Error::Host(host.to_string()));
            }
            r.insecure.insert(host.to_string());
        }
        for m in mirrors {
            let (registry, url) = m.split_once('=').ok_or_else(|| Error::Mirror(m.clone()))?;
            let (plain_http, host) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
                (Some(h), _) => (true, h),
                (None, Some(h)) => (false, h),
                (None, None) => (false, url),
            };
            let host = host.trim_end_matches('/');
            let registry = if registry == "index.docker.io" { crate::name::DOCKER_HUB } else { registry };
            if !valid_host(registry) || !valid_host(host) {
                return Err(Error::Mirror(m.clone()));
            }
            r.mirrors.entry(registry.to_string()).or_default().push(Endpoint { host: host.to_string(), plain_http });
        }
        Ok(r)
    }

    /// Whether `host` is reached over plain HTTP.
    pub fn plain_http(&self, host: &str) -> bool {
        self.insecure.contains(host) || self.mirrors.values().flatten().any(|e| e.host == host && e.plain_http)
    }

    /// Where to pull `name` from, in order: its mirrors, then its registry.
    pub fn endpoints(&self, name: &ImageName) -> Vec<Endpoint> {
        let mut out = self.mirrors.get(&name.registry).cloned().unwrap_or_default();
        out.push(Endpoint { host: name.registry.clone(), plain_http: self.insecure.contains(&name.registry) });
        out
    }

    /// Every host reached over plain HTTP.
    pub fn plain_http_hosts(&self) -> Vec<String> {
        let mut hosts: BTreeSet<String> = self.insecure.clone();
        hosts.extend(self.mirrors.values().flatten().filter(|e| e.plain_http).map(|e| e.host.clone()));
        hosts.into_iter().collect()
    }
}

/// A user name and password for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential").field("username", &self.username).finish_non_exhaustive()
    }
}

/// Credentials by registry, from docker config files (the contents of
/// `kubernetes.io/dockerconfigjson` Secrets), matched as the kubelet does:
/// by host, `index.docker.io`'s legacy URL standing for `docker.io`.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    by_host: Vec<(String, Credential)>,
}

impl Credentials {
    /// Adds the `auths` of one docker config (`{"auths": {...}}`).
    pub fn add_docker_config(&mut self, json: &[u8]) -> Result<(), Error> {
        let config: serde_json::Value = serde_json::from_slice(json).map_err(|e| Error::DockerConfig(e.to_string()))?;
        let auths = config.get("auths").and_then(|a| a.as_object()).ok_or_else(|| Error::DockerConfig("no \"auths\" object".into()))?;
        for (key, entry) in auths {
            let field = |f: &str| entry.get(f).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let (username, password) = match entry.get("auth").and_then(|a| a.as_str()).filter(|a| !a.is_empty()) {
                Some(auth) => {
                    let decoded = base64::engine::general_purpose::STANDARD.decode(auth).map_err(|e| Error::DockerConfig(format!("{key}: auth: {e}")))?;
                    let decoded = String::from_utf8(decoded).map_err(|_| Error::DockerConfig(format!("{key}: auth is not UTF-8")))?;
                    let (u, p) = decoded.split_once(':').ok_or_else(|| Error::DockerConfig(format!("{key}: auth is not user:password")))?;
                    (u.to_string(), p.to_string())
                }
                None => (field("username"), field("password")),
            };
            self.by_host.push((host_of(key), Credential { username, password }));
        }
        Ok(())
    }

    /// The credential for `registry`, the first config's first match.
    pub fn for_registry(&self, registry: &str) -> Option<&Credential> {
        self.by_host.iter().find(|(h, _)| h == registry).map(|(_, c)| c)
    }
}

/// The registry host a docker config key names (`https://index.docker.io/v1/`,
/// `registry.local:5000`, `http://host/path`).
fn host_of(key: &str) -> String {
    let rest = key.split_once("://").map_or(key, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or_default();
    match host {
        "index.docker.io" | "registry-1.docker.io" => crate::name::DOCKER_HUB.to_string(),
        h => h.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_mirrors_come_first_and_plain_http_is_per_host() {
        let r = Registries::new(&["registry.local:5000".into()], &["docker.io=http://127.0.0.1:5000".into(), "docker.io=https://mirror.example".into()]).expect("valid");
        let nginx = ImageName::parse("nginx").expect("a name");
        assert_eq!(
            r.endpoints(&nginx),
            [
                Endpoint { host: "127.0.0.1:5000".into(), plain_http: true },
                Endpoint { host: "mirror.example".into(), plain_http: false },
                Endpoint { host: "docker.io".into(), plain_http: false },
            ]
        );
        let local = ImageName::parse("registry.local:5000/app").expect("a name");
        assert_eq!(r.endpoints(&local), [Endpoint { host: "registry.local:5000".into(), plain_http: true }]);
        assert_eq!(r.plain_http_hosts(), ["127.0.0.1:5000", "registry.local:5000"]);
        assert_eq!(Registries::new(&[], &["docker.io".into()]).expect_err("no URL"), Error::Mirror("docker.io".into()));
        assert!(Registries::new(&["a b".into()], &[]).is_err());
    }

    #[test]
    fn registries_credentials_from_docker_configs() {
        let mut c = Credentials::default();
        let auth = base64::engine::general_purpose::STANDARD.encode("me:secret");
        c.add_docker_config(format!(r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{auth}"}}, "registry.local:5000": {{"username": "u", "password": "p"}}}}}}"#).as_bytes()).expect("valid");
        assert_eq!(c.for_registry("docker.io"), Some(&Credential { username: "me".into(), password: "secret".into() }));
        assert_eq!(c.for_registry("registry.local:5000").map(|c| c.username.as_str()), Some("u"));
        assert!(c.for_registry("other").is_none());
        assert!(!format!("{:?}", c).contains("secret"), "passwords stay out of logs");
        assert!(c.add_docker_config(br#"{"auths": {"x": {"auth": "bm9jb2xvbg=="}}}"#).is_err(), "auth without a colon");
        assert!(c.add_docker_config(b"{}").is_err());
    }
}
