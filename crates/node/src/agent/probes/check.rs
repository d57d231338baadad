//! One run of a probe's action and what it found, in the kubelet's terms:
//! success, a warning (a redirect to another host: success with an
//! Event), a failure with its message, or an error (the probe could not
//! run: the result is thrown away).

use super::action::Action;
use super::grpc;
use crate::agent::exec_sync;
use crate::agent::http_get::{self, Response};
use crate::runtime::Runtime;
use std::time::Duration;
use tokio::net::TcpStream;

/// At most this much of an exec probe's output is kept (the kubelet's
/// `maxReadLength`).
const MAX_OUTPUT: usize = 10 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success(String),
    Warning(String),
    Failure(String),
    Error(String),
}

/// Runs `action` against the container `id` within `timeout`.
pub async fn run(runtime: &Runtime, id: &str, action: &Action, timeout: Duration) -> Outcome {
    match action {
        Action::Exec(command) => match exec_sync::run(runtime, id, command, Some(timeout), MAX_OUTPUT).await {
            Ok(out) if out.exit_code == 0 => Outcome::Success(String::from_utf8_lossy(&out.output).into_owned()),
            Ok(out) => Outcome::Failure(String::from_utf8_lossy(&out.output).into_owned()),
            Err(e @ exec_sync::Error::TimedOut(_)) => Outcome::Failure(e.to_string()),
            Err(e) => Outcome::Error(e.to_string()),
        },
        Action::Http(request) => match tokio::time::timeout(timeout, http_get::get(request)).await {
            Ok(Ok(response)) => http_outcome(&response),
            Ok(Err(message)) => Outcome::Failure(message),
            Err(_) => Outcome::Failure(format!("Get {:?}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)", request.url.to_string())),
        },
        Action::Tcp { host, port } => tcp(host, *port, timeout).await,
        Action::Grpc { host, port, service } => grpc::check(host, *port, service, timeout).await,
    }
}

/// 2xx succeeds, 3xx (a redirect not followed) warns, the rest fails;
/// the body is not part of a failure's message, as the kubelet keeps it
/// out of Events.
pub fn http_outcome(r: &Response) -> Outcome {
    let body = String::from_utf8_lossy(&r.body).into_owned();
    match r.status {
        200..=299 => Outcome::Success(body),
        300..=399 => Outcome::Warning(format!("Probe terminated redirects, Response body: {body}")),
        status => Outcome::Failure(format!("HTTP probe failed with statuscode: {status}")),
    }
}

async fn tcp(host: &str, port: u16, timeout: Duration) -> Outcome {
    let address = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => Outcome::Success(String::new()),
        Ok(Err(e)) => Outcome::Failure(format!("dial tcp {address}: {}", http_get::go_error(&e))),
        Err(_) => Outcome::Failure(format!("dial tcp {address}: i/o timeout")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_judge_http_statuses_as_the_kubelet() {
        let r = |status: u16| http_outcome(&Response { status, body: b"the body".to_vec() });
        assert_eq!(r(200), Outcome::Success("the body".into()));
        assert_eq!(r(204), Outcome::Success("the body".into()));
        assert_eq!(r(302), Outcome::Warning("Probe terminated redirects, Response body: the body".into()));
        assert_eq!(r(399), Outcome::Warning("Probe terminated redirects, Response body: the body".into()));
        assert_eq!(r(404), Outcome::Failure("HTTP probe failed with statuscode: 404".into()));
        assert_eq!(r(503), Outcome::Failure("HTTP probe failed with statuscode: 503".into()));
        assert_eq!(r(199), Outcome::Failure("HTTP probe failed with statuscode: 199".into()));
    }

    #[tokio::test]
    async fn probes_connect_over_tcp() {
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let port = open.local_addr().expect("an address").port();
        assert_eq!(tcp("127.0.0.1", port, Duration::from_secs(1)).await, Outcome::Success(String::new()));
        drop(open);
        assert_eq!(tcp("127.0.0.1", port, Duration::from_secs(1)).await, Outcome::Failure(format!("dial tcp 127.0.0.1:{port}: connect: connection refused")));
    }
}
