//! The in-process transport: a `kube::Client` whose requests go straight to
//! the embedded API server's handler, as one identity, without a socket or
//! TLS in between. The built-in controllers use it inside `nubis up`, on
//! the same code path as any other client.

use apiserver::ApiServer;
use apiserver::auth::User;
use futures::future::BoxFuture;
use std::convert::Infallible;
use std::task::{Context, Poll};

/// The identity of the built-in controllers: kube-controller-manager's
/// user name, in `system:masters` (Kubernetes gives each controller its own
/// ServiceAccount and role; see docs/ARCHITECTURE.md).
pub fn controller_manager() -> User {
    User {
        name: "system:kube-controller-manager".into(),
        groups: vec![apiserver::auth::MASTERS_GROUP.into(), "system:authenticated".into()],
        ..Default::default()
    }
}

/// The node agent of node `name`, as a kubelet's credentials name it
/// (`system:node:<name>` in `system:nodes`); in process it is trusted as
/// the controller manager is, until a Node authorizer limits it to its
/// own node's objects.
pub fn node(name: &str) -> User {
    User {
        name: format!("system:node:{name}"),
        groups: vec![apiserver::auth::MASTERS_GROUP.into(), "system:nodes".into(), "system:authenticated".into()],
        ..Default::default()
    }
}

#[derive(Clone)]
struct InProcess {
    server: ApiServer,
    user: User,
}

impl tower::Service<http::Request<kube::client::Body>> for InProcess {
    type Response = http::Response<apiserver::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<kube::client::Body>) -> Self::Future {
        let (server, user) = (self.server.clone(), self.user.clone());
        Box::pin(async move { Ok(server.handle(req, Some(user)).await) })
    }
}

/// A client acting as `user` against `server`.
pub fn client(server: ApiServer, user: User) -> kube::Client {
    kube::Client::new(InProcess { server, user }, "default")
}
