//! The few URLs a probe or hook GET needs: the one built from the spec
//! (`scheme://host:port/path`) and the targets of its redirects, resolved
//! against it as a browser (and Go's client) would.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    /// The spec's scheme (`HTTP`, `HTTPS`, any case; empty is HTTP).
    pub fn parse(s: &str) -> Result<Scheme, String> {
        match s.to_ascii_lowercase().as_str() {
            "" | "http" => Ok(Scheme::Http),
            "https" => Ok(Scheme::Https),
            other => Err(format!("unsupported protocol scheme {other:?}")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: Scheme,
    /// A name or an address, IPv6 without brackets.
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Url {
    /// The URL of a spec's GET: a path without its leading `/` gets one.
    pub fn new(scheme: Scheme, host: &str, port: u16, path: &str) -> Url {
        let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
        Url { scheme, host: host.trim_start_matches('[').trim_end_matches(']').to_string(), port, path }
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub fn authority(&self) -> String {
        if self.host.contains(':') { format!("[{}]:{}", self.host, self.port) } else { format!("{}:{}", self.host, self.port) }
    }

    /// Where a redirect's `Location` leads from here.
    pub fn join(&self, location: &str) -> Result<Url, String> {
        let location = location.split('#').next().unwrap_or_default().trim();
        if let Some((scheme, rest)) = location.split_once("://")
            && !scheme.contains(['/', '?'])
        {
            return absolute(Scheme::parse(scheme)?, rest);
        }
        if let Some(rest) = location.strip_prefix("//") {
            return absolute(self.scheme, rest);
        }
        let (base_path, _) = split_query(&self.path);
        let path = if location.is_empty() {
            self.path.clone()
        } else if location.starts_with('/') {
            location.to_string()
        } else if location.starts_with('?') {
            format!("{base_path}{location}")
        } else {
            let dir = base_path.rsplit_once('/').map(|(d, _)| d).unwrap_or_default();
            format!("{dir}/{location}")
        };
        let (p, query) = split_query(&path);
        Ok(Url { path: format!("{}{}", remove_dot_segments(p), query), ..self.clone() })
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme.as_str(), self.authority(), self.path)
    }
}

/// `authority/path?query` after `scheme://`.
fn absolute(scheme: Scheme, rest: &str) -> Result<Url, String> {
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let authority = authority.rsplit_once('@').map(|(_, a)| a).unwrap_or(authority);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| format!("invalid host in {rest:?}"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in {rest:?}"));
    }
    let port = match port.filter(|p| !p.is_empty()) {
        Some(p) => p.parse().map_err(|_| format!("invalid port {p:?}"))?,
        None => scheme.default_port(),
    };
    let path = if path.is_empty() || path.starts_with('?') { format!("/{path}") } else { path.to_string() };
    let (p, query) = split_query(&path);
    Ok(Url { scheme, host: host.to_string(), port, path: format!("{}{}", remove_dot_segments(p), query) })
}

fn split_query(path: &str) -> (&str, &str) {
    path.find('?').map(|i| path.split_at(i)).unwrap_or((path, ""))
}

/// RFC 3986's `remove_dot_segments` for an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, s) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *s {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::new(Scheme::Http, "10.88.0.5", 8080, "/a/b?x=1")
    }

    #[test]
    fn http_get_urls_resolve_redirects_as_browsers_do() {
        assert_eq!(base().to_string(), "http://10.88.0.5:8080/a/b?x=1");
        assert_eq!(Url::new(Scheme::Https, "fd00::1", 443, "healthz").to_string(), "https://[fd00::1]:443/healthz");
        let join = |l: &str| base().join(l).map(|u| u.to_string());
        assert_eq!(join("/ok").as_deref(), Ok("http://10.88.0.5:8080/ok"));
        assert_eq!(join("c").as_deref(), Ok("http://10.88.0.5:8080/a/c"));
        assert_eq!(join("../c?y=2#frag").as_deref(), Ok("http://10.88.0.5:8080/c?y=2"));
        assert_eq!(join("?y=2").as_deref(), Ok("http://10.88.0.5:8080/a/b?y=2"));
        assert_eq!(join("https://10.88.0.5/secure").as_deref(), Ok("https://10.88.0.5:443/secure"));
        assert_eq!(join("//example.com:81").as_deref(), Ok("http://example.com:81/"));
        assert_eq!(join("http://[fd00::2]:90/x/./y").as_deref(), Ok("http://[fd00::2]:90/x/y"));
        assert_eq!(join("ftp://x/").map_err(|e| e.contains("unsupported protocol scheme")), Err(true));
        assert_eq!(Scheme::parse("HTTPS"), Ok(Scheme::Https));
    }
}
