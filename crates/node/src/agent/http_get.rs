//! An HTTP GET as the kubelet's probes and hooks make it, from the node
//! to the pod: HTTP or HTTPS (certificate not verified, `tls`), the
//! spec's headers with `User-Agent: kube-probe/1.33` (or `kube-lifecycle`)
//! and `Accept: */*` unless given, no keep-alive, redirects followed up
//! to 10 times while they stay on the same host (one to another host is
//! answered as it is, as `CheckRedirect`'s `ErrUseLastResponse` does), and
//! at most 10 KiB of the body read. Errors read as Go's client writes
//! them (`Get "http://...": dial tcp ...: connect: connection refused`),
//! since they end up in Events users compare with Kubernetes'.

mod tls;
pub mod url;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
pub use url::{Scheme, Url};

/// The most of a body that is read (the kubelet's `maxRespBodyLength`).
pub const MAX_BODY: usize = 10 * 1024;
/// Redirects followed before giving up (Go's default).
const MAX_REDIRECTS: usize = 10;

/// One GET to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub url: Url,
    /// The spec's `httpHeaders`, in order (a `Host` header sets the host).
    pub headers: Vec<(String, String)>,
    /// `kube-probe/1.33` or `kube-lifecycle/1.33`.
    pub user_agent: String,
}

/// The last response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// At most `MAX_BODY` bytes.
    pub body: Vec<u8>,
}

/// Makes the GET (and its redirects); callers put a time limit on it.
pub async fn get(request: &Request) -> Result<Response, String> {
    let first_host = request.url.host.clone();
    let mut url = request.url.clone();
    let mut host_header = header(&request.headers, "host").map(str::to_string);
    let mut followed = 0;
    loop {
        let (response, location) = once(&url, request, host_header.as_deref()).await.map_err(|e| format!("Get {:?}: {e}", url.to_string()))?;
        let Some(location) = location.filter(|_| matches!(response.status, 301 | 302 | 303 | 307 | 308)) else {
            return Ok(response);
        };
        let next = url.join(&location).map_err(|e| format!("Get {:?}: failed to parse Location header {location:?}: {e}", url.to_string()))?;
        if next.host != first_host {
            return Ok(response);
        }
        if followed >= MAX_REDIRECTS {
            return Err(format!("Get {:?}: stopped after {MAX_REDIRECTS} redirects", next.to_string()));
        }
        followed += 1;
        // Go keeps a custom Host only through relative redirects.
        if location.contains("://") || location.starts_with("//") {
            host_header = None;
        }
        url = next;
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// The request's headers as the kubelet sends them.
pub fn headers(request: &Request, host: &str) -> Vec<(String, String)> {
    let mut out = vec![("Host".to_string(), host.to_string())];
    out.extend(request.headers.iter().filter(|(n, _)| !n.eq_ignore_ascii_case("host")).cloned());
    if header(&request.headers, "user-agent").is_none() {
        out.push(("User-Agent".into(), request.user_agent.clone()));
    }
    match header(&request.headers, "accept") {
        None => out.push(("Accept".into(), "*/*".into())),
        // Given empty: no Accept at all.
        Some("") => out.retain(|(n, _)| !n.eq_ignore_ascii_case("accept")),
        Some(_) => {}
    }
    out.push(("Connection".into(), "close".into()));
    out
}

/// One request and its response, with its `Location` when there is one.
async fn once(url: &Url, request: &Request, host_header: Option<&str>) -> Result<(Response, Option<String>), String> {
    let tcp = TcpStream::connect((url.host.as_str(), url.port)).await.map_err(|e| format!("dial tcp {}: {}", url.authority(), go_error(&e)))?;
    let host = host_header.map(str::to_string).unwrap_or_else(|| url.authority());
    match url.scheme {
        Scheme::Http => exchange(tcp, url, request, &host).await,
        Scheme::Https => {
            let name = tls::server_name(&url.host)?;
            let stream = tls::connector()?.connect(name, tcp).await.map_err(|e| format!("tls: {e}"))?;
            exchange(stream, url, request, &host).await
        }
    }
}

async fn exchange<S>(stream: S, url: &Url, request: &Request, host: &str) -> Result<(Response, Option<String>), String>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut send, connection) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut builder = http::Request::get(url.path.as_str());
    for (name, value) in headers(request, host) {
        builder = builder.header(name, value);
    }
    let req = builder.body(Empty::new()).map_err(|e| format!("net/http: invalid header: {e}"))?;
    let result = async {
        let response = send.send_request(req).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let location = response.headers().get(http::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut body = response.into_body();
        let mut read = Vec::new();
        while read.len() < MAX_BODY {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        read.extend_from_slice(&data[..data.len().min(MAX_BODY - read.len())]);
                    }
                }
                // A body cut short still answered the probe.
                Some(Err(_)) | None => break,
            }
        }
        Ok((Response { status, body: read }, location))
    }
    .await;
    driver.abort();
    result
}

/// An IO error as Go words it (`connect: connection refused`).
pub fn go_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connect: connection refused".into(),
        io::ErrorKind::TimedOut => "i/o timeout".into(),
        io::ErrorKind::HostUnreachable => "connect: no route to host".into(),
        io::ErrorKind::NetworkUnreachable => "connect: network is unreachable".into(),
        io::ErrorKind::ConnectionReset => "read: connection reset by peer".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn request(port: u16, path: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            url: Url::new(Scheme::Http, "127.0.0.1", port, path),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            user_agent: "kube-probe/1.33".into(),
        }
    }

    /// A server answering each connection with the next canned response;
    /// the requests it read come back on the channel.
    async fn serve(responses: Vec<String>) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let port = listener.local_addr().expect("an address").port();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            for response in responses {
                let Ok((mut s, _)) = listener.accept().await else { return };
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                while !got.ends_with(b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&got).into_owned());
                let _ = s.write_all(response.as_bytes()).await;
            }
        });
        (port, rx)
    }

    fn answer(status: &str, extra: &str, body: &str) -> String {
        format!("HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
    }

    #[tokio::test]
    async fn http_get_sends_the_kubelets_headers() {
        let (port, mut requests) = serve(vec![answer("200 OK", "", "fine")]).await;
        let r = get(&request(port, "healthz?full=1", &[("X-Custom", "yes"), ("Host", "web.example")])).await.expect("answers");
        assert_eq!(r, Response { status: 200, body: b"fine".to_vec() });
        let sent = requests.recv().await.expect("a request");
        assert!(sent.starts_with("GET /healthz?full=1 HTTP/1.1\r\n"), "{sent}");
        for line in ["Host: web.example", "X-Custom: yes", "User-Agent: kube-probe/1.33", "Accept: */*", "Connection: close"] {
            assert!(sent.contains(&format!("{line}\r\n")), "{line} in {sent}");
        }
        let custom = request(1, "/", &[("user-agent", "mine"), ("Accept", "")]);
        let h = headers(&custom, "x:1");
        assert!(h.iter().any(|(n, v)| n == "user-agent" && v == "mine") && !h.iter().any(|(n, _)| n == "User-Agent" || n.eq_ignore_ascii_case("accept")), "{h:?}");
    }

    #[tokio::test]
    async fn http_get_follows_redirects_on_the_same_host_only() {
        let (port, mut requests) = serve(vec![answer("302 Found", "Location: /next\r\n", ""), answer("404 Not Found", "", "gone")]).await;
        let r = get(&request(port, "/start", &[])).await.expect("answers");
        assert_eq!(r.status, 404);
        assert!(requests.recv().await.is_some_and(|r| r.starts_with("GET /start ")));
        assert!(requests.recv().await.is_some_and(|r| r.starts_with("GET /next ")));

        let (port, _) = serve(vec![answer("301 Moved Permanently", "Location: http://elsewhere.example/\r\n", "moved")]).await;
        let r = get(&request(port, "/", &[])).await.expect("answers");
        assert_eq!(r, Response { status: 301, body: b"moved".to_vec() }, "another host: the redirect is the answer");

        let loops: Vec<String> = (0..12).map(|_| answer("307 Temporary Redirect", "Location: /again\r\n", "")).collect();
        let (port, _) = serve(loops).await;
        let e = get(&request(port, "/", &[])).await.expect_err("too many");
        assert_eq!(e, format!("Get \"http://127.0.0.1:{port}/again\": stopped after 10 redirects"));
    }

    #[tokio::test]
    async fn http_get_over_https_does_not_verify_the_certificate() {
        let cert = rcgen::generate_simple_self_signed(vec!["somewhere.example".to_string()]).expect("a certificate");
        let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).expect("a key");
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .expect("a server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let port = listener.local_addr().expect("an address").port();
        tokio::spawn(async move {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let Ok(mut tls) = acceptor.accept(tcp).await else { return };
            let mut buf = vec![0u8; 4096];
            let _ = tls.read(&mut buf).await;
            let _ = tls.write_all(answer("200 OK", "", "secure").as_bytes()).await;
            let _ = tls.shutdown().await;
        });
        let mut r = request(port, "/", &[]);
        r.url.scheme = Scheme::Https;
        assert_eq!(get(&r).await, Ok(Response { status: 200, body: b"secure".to_vec() }));
    }

    #[tokio::test]
    async fn http_get_reads_at_most_10_kib_and_words_errors_as_go() {
        let big = "x".repeat(MAX_BODY + 100);
        let (port, _) = serve(vec![answer("200 OK", "", &big)]).await;
        assert_eq!(get(&request(port, "/", &[])).await.map(|r| r.body.len()), Ok(MAX_BODY));
        let closed = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let port = closed.local_addr().expect("an address").port();
        drop(closed);
        let e = get(&request(port, "/x", &[])).await.expect_err("refused");
        assert_eq!(e, format!("Get \"http://127.0.0.1:{port}/x\": dial tcp 127.0.0.1:{port}: connect: connection refused"));
    }
}
