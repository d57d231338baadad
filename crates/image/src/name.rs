//! Image names as Docker and Kubernetes normalise them: `nginx` is
//! `docker.io/library/nginx:latest`, `me/app` is `docker.io/me/app:latest`,
//! a first component with a dot, a colon or `localhost` is a registry.

use std::fmt;

/// The default registry of names without one.
pub const DOCKER_HUB: &str = "docker.io";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("invalid image name {name:?}: {why}")]
    Invalid { name: String, why: &'static str },
}

/// A normalised image name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageName {
    /// `docker.io`, `registry.local:5000`.
    pub registry: String,
    /// `library/nginx`.
    pub repository: String,
    /// `latest` unless a digest alone was given.
    pub tag: Option<String>,
    /// `sha256:...` when given.
    pub digest: Option<String>,
}

impl ImageName {
    pub fn parse(name: &str) -> Result<ImageName, Error> {
        let invalid = |why| Error::Invalid { name: name.to_string(), why };
        if name.is_empty() || name.len() > 4096 {
            return Err(invalid("must be 1 to 4096 characters"));
        }
        let (rest, digest) = match name.split_once('@') {
            Some((rest, digest)) => {
                let valid = digest.split_once(':').is_some_and(|(alg, hex)| alg == "sha256" && hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
                if !valid {
                    return Err(invalid("the digest must be sha256: and 64 lowercase hex digits"));
                }
                (rest, Some(digest.to_string()))
            }
            None => (name, None),
        };
        let (path, tag) = match rest.rsplit_once(':') {
            Some((path, tag)) if !tag.contains('/') => (path, Some(tag.to_string())),
            _ => (rest, None),
        };
        if let Some(tag) = &tag {
            let valid = tag.len() <= 128 && tag.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if !valid {
                return Err(invalid("a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"));
            }
        }
        let (registry, repository) = match path.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first.to_string(), rest.to_string()),
            _ => (DOCKER_HUB.to_string(), path.to_string()),
        };
        let registry = if registry == "index.docker.io" { DOCKER_HUB.to_string() } else { registry };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') { format!("library/{repository}") } else { repository };
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && c.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
        };
        if !repository.split('/').all(component_ok) {
            return Err(invalid("a repository is lowercase letters, digits and separators ('.', '_', '-', '/')"));
        }
        // host[:port], the host perhaps a bracketed IPv6 address.
        let port = match registry.strip_prefix('[') {
            Some(v6) => v6.split_once(']').map(|(_, after)| after.strip_prefix(':')).unwrap_or(Some("x")),
            None => registry.split_once(':').map(|(_, port)| port),
        };
        let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if registry.is_empty() || !port_ok || !registry.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) {
            return Err(invalid("the registry must be a host name with an optional port"));
        }
        let tag = if tag.is_none() && digest.is_none() { Some("latest".to_string()) } else { tag };
        Ok(ImageName { registry, repository, tag, digest })
    }

    /// `registry/repository`, without tag or digest.
    pub fn repo(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The tag, else the digest (OCI's `ref.name` in an image layout).
    pub fn tag_or_digest(&self) -> String {
        self.tag.clone().or_else(|| self.digest.clone()).unwrap_or_default()
    }

    /// This name on another registry (a mirror).
    pub fn on_registry(&self, registry: &str) -> ImageName {
        ImageName { registry: registry.to_string(), ..self.clone() }
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ImageName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImageName::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        ImageName::parse(s).map(|n| n.to_string()).unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn name_normalises_as_docker_does() {
        let d = "sha256:".to_string() + &"a".repeat(64);
        assert_eq!(norm("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(norm("nginx:1.27"), "docker.io/library/nginx:1.27");
        assert_eq!(norm("me/app"), "docker.io/me/app:latest");
        assert_eq!(norm("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("localhost/app"), "localhost/app:latest");
        assert_eq!(norm("[::1]:5000/app"), "[::1]:5000/app:latest");
        assert_eq!(norm("127.0.0.1:5000/tools/busybox:v1"), "127.0.0.1:5000/tools/busybox:v1");
        assert_eq!(norm(&format!("nginx@{d}")), format!("docker.io/library/nginx@{d}"));
        assert_eq!(norm(&format!("nginx:1.27@{d}")), format!("docker.io/library/nginx:1.27@{d}"));
        let n = ImageName::parse("registry.local:5000/app").expect("parses");
        assert_eq!((n.registry.as_str(), n.repository.as_str(), n.tag.as_deref()), ("registry.local:5000", "app", Some("latest")));
        assert_eq!(n.on_registry("127.0.0.1:5000").to_string(), "127.0.0.1:5000/app:latest");
    }

    #[test]
    fn name_refuses_what_docker_refuses() {
        for bad in ["", "Nginx", "nginx:", "nginx:-x", "nginx@sha256:abc", "a//b", "app/", "-app", "nginx:a/b", "ngi nx"] {
            assert!(ImageName::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(
            ImageName::parse("Nginx").expect_err("refused").to_string(),
            "invalid image name \"Nginx\": a repository is lowercase letters, digits and separators ('.', '_', '-', '/')"
        );
    }
}
