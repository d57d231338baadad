//! The pod network for real, inside a network namespace each test makes
//! as its private host (so the machine's own network is never touched):
//! bridge, veths, addresses, routes, nftables. Needs root and `nft`
//! (Debian's nftables; `.ci/run` installs it).

use net::host_ports::{HostPort, Protocol};
use net::link::{self, with_netlink};
use net::{Cidr, PodNetwork, netns};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

fn link_exists(name: &str) -> bool {
    let name = name.to_string();
    with_netlink(async move |h| link::index_of(&h, &name).await).expect("netlink").is_some()
}

/// Serves one connection on `addr` inside the namespace at `ns`: reads a
/// line, answers it back with the peer's address.
fn echo_server(ns: &Path, addr: SocketAddr) -> std::thread::JoinHandle<String> {
    let listener = netns::run_in(ns, move || TcpListener::bind(addr)).expect("enters").expect("binds");
    std::thread::spawn(move || {
        let (mut s, peer) = listener.accept().expect("accepts");
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).expect("reads");
        s.write_all(&buf[..n]).expect("writes");
        peer.ip().to_string()
    })
}

fn talk(addr: SocketAddr) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.write_all(b"ping")?;
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[test]
fn net_pods_reach_each_other_and_the_host_and_leave_nothing_needs_root() {
    netns::run_in_new(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let cidr = Cidr::parse("10.88.0.0/16").expect("valid");
        let network = PodNetwork::open(cidr, "nubis0", dir.path(), &dir.path().join("netns")).expect("opens");
        let a = network.setup("default_a_uid1").expect("pod a");
        let b = network.setup("default_b_uid2").expect("pod b");
        assert_eq!((a.ip.to_string(), b.ip.to_string()), ("10.88.0.2".to_string(), "10.88.0.3".to_string()));
        assert_eq!(network.setup("default_a_uid1").expect("again"), a, "setting up again changes nothing");
        assert!(link_exists("nubis0") && link_exists(&a.host_link) && link_exists(&b.host_link));

        // Pod to pod over the bridge; the source is the pod's own address.
        let server = echo_server(&a.netns, SocketAddr::new(a.ip.into(), 8080));
        let answer = netns::run_in(&b.netns, move || talk(SocketAddr::new(a.ip.into(), 8080))).expect("enters").expect("pod b reaches pod a");
        assert_eq!(answer, "ping");
        assert_eq!(server.join().expect("served"), b.ip.to_string(), "no NAT inside the pod CIDR");

        // Host to pod.
        let server = echo_server(&a.netns, SocketAddr::new(a.ip.into(), 8081));
        assert_eq!(talk(SocketAddr::new(a.ip.into(), 8081)).expect("the host reaches pod a"), "ping");
        assert_eq!(server.join().expect("served"), cidr.gateway().to_string());

        // A host port: the node's own address, port 18080, reaches pod a's
        // 8082, for connections the node makes and (prerouting) others.
        let mapping = HostPort { protocol: Protocol::Tcp, host_port: 18080, host_ip: None, pod_ip: a.ip, container_port: 8082 };
        network.set_host_ports("default_a_uid1", vec![mapping.clone()]).expect("maps");
        let taken = network.set_host_ports("default_b_uid2", vec![HostPort { pod_ip: b.ip, ..mapping.clone() }]).err().map(|e| e.to_string());
        assert_eq!(taken.as_deref(), Some("pod network: host port 18080/tcp is already taken by pod default_a_uid1"));
        let server = echo_server(&a.netns, SocketAddr::new(a.ip.into(), 8082));
        assert_eq!(talk(SocketAddr::new(cidr.gateway().into(), 18080)).expect("the node's port reaches pod a"), "ping");
        server.join().expect("served");
        // On loopback too, masqueraded to the bridge's address.
        assert!(std::process::Command::new("ip").args(["link", "set", "lo", "up"]).status().expect("runs ip").success());
        let server = echo_server(&a.netns, SocketAddr::new(a.ip.into(), 8082));
        assert_eq!(talk(SocketAddr::from(([127, 0, 0, 1], 18080))).expect("127.0.0.1's port reaches pod a"), "ping");
        assert_eq!(server.join().expect("served"), cidr.gateway().to_string());
        // And from a pod on the bridge (hairpin through the node): the
        // reply finds its way back because the source is the node's.
        let server = echo_server(&a.netns, SocketAddr::new(a.ip.into(), 8082));
        let gateway = cidr.gateway();
        let answer = netns::run_in(&b.netns, move || talk(SocketAddr::new(gateway.into(), 18080))).expect("enters").expect("pod b reaches pod a's host port");
        assert_eq!(answer, "ping");
        assert_eq!(server.join().expect("served"), cidr.gateway().to_string());
        // A pod cannot reach what the node serves on loopback, though the
        // bridge routes 127.0.0.0/8 now: even a pod that sends 127.0.0.2
        // to the node (its loopback route replaced, as a pod with
        // NET_ADMIN could) has its connection dropped.
        // (A datagram: a TCP handshake would fail anyway, as the pod takes
        // the 127.0.0.1 source of the node's answer for a martian.)
        let listener = std::net::UdpSocket::bind(("127.0.0.2", 18099)).expect("binds on the node's loopback");
        listener.set_read_timeout(Some(Duration::from_secs(1))).expect("a timeout");
        let ip_in = |ns: &Path, args: &[&str]| std::process::Command::new("nsenter").arg(format!("--net={}", ns.display())).arg("ip").args(args).status().expect("runs ip").success();
        assert!(ip_in(&b.netns, &["route", "del", "local", "127.0.0.0/8", "dev", "lo", "table", "local"]));
        assert!(ip_in(&b.netns, &["route", "add", "127.0.0.2/32", "via", &cidr.gateway().to_string(), "dev", "eth0"]));
        let b_ip = b.ip;
        let sent = netns::run_in(&b.netns, move || std::net::UdpSocket::bind((b_ip, 0)).and_then(|s| s.send_to(b"sneak", ("127.0.0.2", 18099)))).expect("enters");
        assert_eq!(sent.expect("the pod sends"), 5);
        let mut buf = [0u8; 16];
        assert!(listener.recv_from(&mut buf).is_err(), "a pod reached the node's loopback");
        assert!(ip_in(&b.netns, &["route", "del", "127.0.0.2/32"]));
        assert!(ip_in(&b.netns, &["route", "add", "local", "127.0.0.0/8", "dev", "lo", "table", "local"]));
        let input = std::process::Command::new("nft").args(["list", "chain", "ip", "nubis", "input"]).output().expect("runs nft");
        assert!(String::from_utf8_lossy(&input.stdout).contains("ip daddr 127.0.0.0/8 ip saddr != 127.0.0.0/8 ct state != { established, related } drop"), "{}", String::from_utf8_lossy(&input.stdout));
        let ruleset = std::process::Command::new("nft").args(["list", "chain", "ip", "nubis", "hostports"]).output().expect("runs nft");
        assert!(String::from_utf8_lossy(&ruleset.stdout).contains("tcp dport 18080 dnat to 10.88.0.2:8082"), "{}", String::from_utf8_lossy(&ruleset.stdout));

        // A pod's own namespace: eth0 and lo.
        let inside = netns::run_in(&a.netns, || (link_exists("eth0"), link_exists("lo"))).expect("enters");
        assert_eq!(inside, (true, true));

        // A pod side that lost its address (and with it its route) gets
        // both back from a second setup, on the same veth.
        let ip_in_b = |args: &[&str]| std::process::Command::new("nsenter").arg(format!("--net={}", b.netns.display())).arg("ip").args(args).output().expect("runs ip");
        assert!(ip_in_b(&["address", "flush", "dev", "eth0"]).status.success());
        assert!(ip_in_b(&["-4", "route", "show", "default"]).stdout.is_empty(), "pod b is off the network");
        assert_eq!(network.setup("default_b_uid2").expect("again"), b);
        let server = echo_server(&b.netns, SocketAddr::new(b.ip.into(), 8083));
        let answer = netns::run_in(&a.netns, move || talk(SocketAddr::new(b.ip.into(), 8083))).expect("enters").expect("pod a reaches pod b again");
        assert_eq!(answer, "ping");
        server.join().expect("served");

        // The NAT table, in this namespace only.
        let ruleset = std::process::Command::new("nft").args(["list", "table", "ip", "nubis"]).output().expect("runs nft");
        let text = String::from_utf8_lossy(&ruleset.stdout);
        assert!(text.contains("ip saddr 10.88.0.0/16 ip daddr != 10.88.0.0/16 masquerade"), "{text}");

        // Tear-down leaves nothing behind, its host ports included.
        network.teardown("default_a_uid1").expect("tears down");
        let ruleset = std::process::Command::new("nft").args(["list", "chain", "ip", "nubis", "hostports"]).output().expect("runs nft");
        assert!(!String::from_utf8_lossy(&ruleset.stdout).contains("dnat"), "{}", String::from_utf8_lossy(&ruleset.stdout));
        network.teardown("default_a_uid1").expect("again is fine");
        assert!(!link_exists(&a.host_link));
        assert!(!a.netns.exists());
        assert_eq!(network.pods(), ["default_b_uid2"]);
        // The address is not handed out again at once.
        assert_eq!(network.setup("default_c_uid3").expect("pod c").ip.to_string(), "10.88.0.4");
        for id in ["default_b_uid2", "default_c_uid3"] {
            network.teardown(id).expect("tears down");
        }
        network.remove().expect("removes");
        assert!(!link_exists("nubis0"));
        let gone = std::process::Command::new("nft").args(["list", "table", "ip", "nubis"]).output().expect("runs nft");
        assert!(!gone.status.success(), "the table is gone");
    })
    .expect("a private host namespace");
}
