//! Where a request carries its bearer token: the `Authorization` header, or
//! for browsers' WebSockets (which cannot set headers) a
//! `Sec-WebSocket-Protocol` entry, as kube-apiserver reads them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;

/// The token of `Authorization: Bearer <token>`. As kube-apiserver: the
/// header is trimmed, the scheme is case-insensitive, the token is the
/// second space-separated word (anything after it is ignored), and an
/// empty token is no token.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let mut parts = value.splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return None;
    }
    Some(token)
}

const WEBSOCKET_PROTOCOL_PREFIX: &str = "base64url.bearer.authorization.k8s.io.";

/// The token a WebSocket client put in `Sec-WebSocket-Protocol` as
/// `base64url.bearer.authorization.k8s.io.<base64url(token)>`. The caller
/// must drop that entry from the header before the request goes on, as
/// kube-apiserver does, so the token is not echoed back.
pub fn websocket_bearer_token(headers: &HeaderMap) -> Option<String> {
    if !headers
        .get(http::header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        })
    {
        return None;
    }
    if !headers
        .get(http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"))
    {
        return None;
    }
    headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix(WEBSOCKET_PROTOCOL_PREFIX))
        .and_then(|encoded| URL_SAFE_NO_PAD.decode(encoded).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn authn_bearer_header_parsing() {
        assert_eq!(bearer_token(&auth("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&auth("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&auth("BEARER abc")), Some("abc"));
        assert_eq!(bearer_token(&auth("  Bearer abc  ")), Some("abc"));
        assert_eq!(bearer_token(&auth("Bearer abc trailing")), Some("abc"));
        assert_eq!(bearer_token(&auth("Bearer ")), None);
        assert_eq!(bearer_token(&auth("Bearer")), None);
        // Two spaces: the second word is empty, as in Kubernetes.
        assert_eq!(bearer_token(&auth("Bearer  abc")), None);
        assert_eq!(bearer_token(&auth("Basic YWxpY2U6eA==")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn authn_bearer_websocket_protocol() {
        let mut h = HeaderMap::new();
        h.insert(http::header::CONNECTION, "Upgrade".parse().unwrap());
        h.insert(http::header::UPGRADE, "websocket".parse().unwrap());
        let encoded = URL_SAFE_NO_PAD.encode("my.token");
        h.insert(
            http::header::SEC_WEBSOCKET_PROTOCOL,
            format!("v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.{encoded}")
                .parse()
                .unwrap(),
        );
        assert_eq!(websocket_bearer_token(&h).as_deref(), Some("my.token"));
        h.remove(http::header::UPGRADE);
        assert_eq!(websocket_bearer_token(&h), None);
    }
}
