//! Links and addresses over rtnetlink: the pods' bridge, a veth pair per
//! pod (one end on the bridge, hairpin on; the other moved into the pod's
//! namespace as `eth0` with its address and a default route through the
//! bridge). Each call opens its netlink socket on the calling thread, so
//! it acts on that thread's network namespace.

use futures::TryStreamExt;
use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVeth};
use rtnetlink::{Handle, LinkBridge, LinkBridgePort, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {source}")]
    Netlink { what: String, source: rtnetlink::Error },
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("link {0:?} not found")]
    Missing(String),
}

/// The pod's end of its veth, as the pod sees it.
pub const POD_LINK: &str = "eth0";

fn nl(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> Error {
    let what = what.into();
    move |source| Error::Netlink { what, source }
}

/// Whether a netlink error says the thing exists already.
fn exists(e: &rtnetlink::Error) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if m.raw_code() == -rustix::io::Errno::EXIST.raw_os_error())
}

/// Runs `work` with a netlink handle bound to this thread's namespace.
pub fn with_netlink<T>(work: impl AsyncFnOnce(Handle) -> Result<T, Error>) -> Result<T, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|source| Error::Io { what: "starting a netlink runtime".into(), source })?;
    runtime.block_on(async move {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(|source| Error::Io { what: "opening a netlink socket".into(), source })?;
        let task = tokio::spawn(connection);
        let out = work(handle).await;
        task.abort();
        out
    })
}

/// The index of the link named `name`, if there is one.
pub async fn index_of(handle: &Handle, name: &str) -> Result<Option<u32>, Error> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(link)) => Ok(Some(link.header.index)),
        Ok(None) => Ok(None),
        Err(rtnetlink::Error::NetlinkError(m)) if m.raw_code() == -rustix::io::Errno::NODEV.raw_os_error() => Ok(None),
        Err(e) => Err(nl(format!("looking up link {name:?}"))(e)),
    }
}

/// Adds `ip/prefix` to the link unless it has it.
async fn add_address(handle: &Handle, index: u32, ip: Ipv4Addr, prefix: u8, what: &str) -> Result<(), Error> {
    match handle.address().add(index, IpAddr::V4(ip), prefix).execute().await {
        Ok(()) => Ok(()),
        Err(e) if exists(&e) => Ok(()),
        Err(e) => Err(nl(format!("adding {ip}/{prefix} to {what}"))(e)),
    }
}

/// The bridge `name`, made if missing, with `gateway/prefix`, up; its
/// index.
pub async fn ensure_bridge(handle: &Handle, name: &str, gateway: Ipv4Addr, prefix: u8) -> Result<u32, Error> {
    if index_of(handle, name).await?.is_none() {
        match handle.link().add(LinkBridge::new(name).build()).execute().await {
            Ok(()) => {}
            Err(e) if exists(&e) => {}
            Err(e) => return Err(nl(format!("creating bridge {name:?}"))(e)),
        }
    }
    let index = index_of(handle, name).await?.ok_or_else(|| Error::Missing(name.to_string()))?;
    add_address(handle, index, gateway, prefix, name).await?;
    handle.link().set(LinkUnspec::new_with_index(index).up().build()).execute().await.map_err(nl(format!("bringing {name:?} up")))?;
    Ok(index)
}

/// A veth pair in one request: `host` on the bridge and up, its peer
/// made directly inside the namespace bound at `netns` as `eth0`. Made
/// there, the peer is never moved between namespaces nor renamed: both
/// take the kernel's routing lock for a grace period, which serialized
/// concurrent pod starts behind one another.
pub async fn add_veth(handle: &Handle, host: &str, bridge: u32, netns: &Path) -> Result<(), Error> {
    let ns = std::fs::File::open(netns).map_err(|source| Error::Io { what: format!("opening {}", netns.display()), source })?;
    let peer = LinkMessageBuilder::<LinkUnspec>::new().name(POD_LINK.to_string()).setns_by_fd(ns.as_raw_fd()).build();
    let pair = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
        .name(host.to_string())
        .controller(bridge)
        .up()
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
        .build();
    handle.link().add(pair).execute().await.map_err(nl(format!("creating veth {host:?}")))?;
    set_hairpin(handle, host).await
}

/// Hairpin on the bridge port `host`: a pod reaching itself through a
/// service address gets its own packets back through it.
pub async fn set_hairpin(handle: &Handle, host: &str) -> Result<(), Error> {
    let index = index_of(handle, host).await?.ok_or_else(|| Error::Missing(host.to_string()))?;
    handle
        .link()
        .set_port(LinkBridgePort::new(index).hairpin(true).build())
        .execute()
        .await
        .map_err(nl(format!("turning hairpin on for {host:?}")))
}

/// Inside the pod's namespace: `eth0` with `ip/prefix`, up, with `lo` up
/// and a default route through `gateway`. Doing it again changes nothing.
pub async fn configure_pod_side(handle: &Handle, ip: Ipv4Addr, prefix: u8, gateway: Ipv4Addr) -> Result<(), Error> {
    let index = index_of(handle, POD_LINK).await?.ok_or_else(|| Error::Missing(POD_LINK.to_string()))?;
    add_address(handle, index, ip, prefix, POD_LINK).await?;
    handle.link().set(LinkUnspec::new_with_index(index).up().build()).execute().await.map_err(nl("bringing eth0 up"))?;
    if let Some(lo) = index_of(handle, "lo").await? {
        handle.link().set(LinkUnspec::new_with_index(lo).up().build()).execute().await.map_err(nl("bringing lo up"))?;
    }
    let route = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gateway).output_interface(index).build();
    match handle.route().add(route).execute().await {
        Ok(()) => Ok(()),
        Err(e) if exists(&e) => Ok(()),
        Err(e) => Err(nl(format!("adding the default route via {gateway}"))(e)),
    }
}

/// Deletes the link `name`; not there is fine (a veth's peer goes with it).
pub async fn delete(handle: &Handle, name: &str) -> Result<(), Error> {
    let Some(index) = index_of(handle, name).await? else { return Ok(()) };
    match handle.link().del(index).execute().await {
        Ok(()) => Ok(()),
        Err(rtnetlink::Error::NetlinkError(m)) if m.raw_code() == -rustix::io::Errno::NODEV.raw_os_error() => Ok(()),
        Err(e) => Err(nl(format!("deleting link {name:?}"))(e)),
    }
}
