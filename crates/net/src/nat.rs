//! Outbound NAT and forwarding for the pod CIDR, in an nftables table of
//! our own (`ip nubis`), written in one atomic batch through `nft`'s JSON
//! interface (the nftables crate): packets from pods to anywhere outside
//! the CIDR are masqueraded, and forwarding to and from pods is accepted
//! even where the host's forward policy drops (as Docker's does); and
//! pods' host ports (`host_ports`) are DNAT rules in a chain of their own,
//! `hostports`, reached from `prerouting` and `output` for packets to one
//! of the node's own addresses, loopback's too (as CNI's portmap with its
//! default `snat`): connections from 127.0.0.0/8 to a pod are masqueraded
//! (the bridge lets such sources out with `route_localnet`, see
//! `pod_network`), and so are those a pod makes to a host port of a pod
//! on the bridge (hairpin: the reply comes back through the node). As
//! kube-proxy does with `route_localnet` on, packets from elsewhere to
//! 127.0.0.0/8 that start a connection are dropped, so no pod reaches
//! what the node serves on loopback. Removing the table removes every
//! rule Nubis made.

use crate::cidr::Cidr;
use nftables::batch::Batch;
use crate::host_ports::{HostPort, Protocol};
use nftables::expr::{CT, Expression, Fib, FibFlag, FibResult, NamedExpression, Payload, PayloadField, Prefix, SetItem};
use nftables::schema::{Chain, FlushObject, NfCmd, NfListObject, Rule, Table};
use nftables::stmt::{JumpTarget, Match, NAT, NATFamily, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};
use std::borrow::Cow;

/// The table's name.
pub const TABLE: &str = "nubis";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("nftables: {0} (is the nft command installed? Debian's package nftables)")]
    Nft(#[from] nftables::helper::NftablesError),
    #[error("turning IPv4 forwarding on: {0}")]
    Forwarding(std::io::Error),
}

fn ip_match(field: &'static str, cidr: Cidr, op: Operator) -> Statement<'static> {
    Statement::Match(Match {
        left: Expression::Named(NamedExpression::Payload(Payload::PayloadField(PayloadField { protocol: "ip".into(), field: field.into() }))),
        right: Expression::Named(NamedExpression::Prefix(Prefix { addr: Box::new(Expression::String(cidr.network.to_string().into())), len: u32::from(cidr.prefix) })),
        op,
    })
}

fn table() -> Table<'static> {
    Table { family: NfFamily::IP, name: TABLE.into(), ..Table::default() }
}

fn chain(name: &'static str, kind: NfChainType, hook: NfHook, prio: i32) -> Chain<'static> {
    Chain {
        family: NfFamily::IP,
        table: TABLE.into(),
        name: name.into(),
        _type: Some(kind),
        hook: Some(hook),
        prio: Some(prio),
        policy: Some(NfChainPolicy::Accept),
        ..Chain::default()
    }
}

fn rule(chain: &'static str, expr: Vec<Statement<'static>>) -> Rule<'static> {
    Rule { family: NfFamily::IP, table: TABLE.into(), chain: chain.into(), expr: Cow::Owned(expr), ..Rule::default() }
}

/// `fib daddr type local`: the packet is for one of the node's addresses.
fn to_this_node() -> Statement<'static> {
    Statement::Match(Match {
        left: Expression::Named(NamedExpression::Fib(Fib { result: FibResult::Type, flags: [FibFlag::Daddr].into() })),
        right: Expression::String("local".into()),
        op: Operator::EQ,
    })
}

/// `ct <key> <op> <value>`, or with several values a lookup in a set
/// (`ct state != { established, related }`: `!=` with flags or-ed
/// together would compare the whole value).
fn ct_match(key: &'static str, op: Operator, values: &[&'static str]) -> Statement<'static> {
    let right = match values {
        [one] => Expression::String((*one).into()),
        many => Expression::Named(NamedExpression::Set(many.iter().map(|v| SetItem::Element(Expression::String((*v).into()))).collect())),
    };
    Statement::Match(Match { left: Expression::Named(NamedExpression::CT(CT { key: key.into(), family: None, dir: None })), right, op })
}

fn payload(protocol: &'static str, field: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(PayloadField { protocol: protocol.into(), field: field.into() })))
}

/// `tcp dport 8080 [ip daddr 192.0.2.1] dnat ip to 10.88.0.5:80`.
fn host_port_rule(p: &HostPort) -> Rule<'static> {
    let protocol = match p.protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    };
    let mut expr = vec![Statement::Match(Match { left: payload(protocol, "dport"), right: Expression::Number(u32::from(p.host_port)), op: Operator::EQ })];
    if let Some(ip) = p.host_ip {
        expr.push(Statement::Match(Match { left: payload("ip", "daddr"), right: Expression::String(ip.to_string().into()), op: Operator::EQ }));
    }
    expr.push(Statement::DNAT(Some(NAT {
        addr: Some(Expression::String(p.pod_ip.to_string().into())),
        family: Some(NATFamily::IP),
        port: Some(Expression::Number(u32::from(p.container_port))),
        flags: None,
    })));
    rule("hostports", expr)
}

/// The batch that (re)writes the table: made if missing, emptied, filled.
pub fn batch(cidr: Cidr, host_ports: &[HostPort]) -> nftables::schema::Nftables<'static> {
    let mut b = Batch::new();
    b.add(NfListObject::Table(table()));
    b.add_cmd(NfCmd::Flush(FlushObject::Table(table())));
    b.add(NfListObject::Chain(chain("postrouting", NfChainType::NAT, NfHook::Postrouting, 100)));
    b.add(NfListObject::Chain(chain("forward", NfChainType::Filter, NfHook::Forward, 0)));
    b.add(NfListObject::Chain(chain("prerouting", NfChainType::NAT, NfHook::Prerouting, -100)));
    b.add(NfListObject::Chain(chain("output", NfChainType::NAT, NfHook::Output, -100)));
    b.add(NfListObject::Chain(chain("input", NfChainType::Filter, NfHook::Input, 0)));
    b.add(NfListObject::Chain(Chain { family: NfFamily::IP, table: TABLE.into(), name: "hostports".into(), ..Chain::default() }));
    let loopback = Cidr { network: std::net::Ipv4Addr::new(127, 0, 0, 0), prefix: 8 };
    b.add(NfListObject::Rule(rule("postrouting", vec![ip_match("saddr", cidr, Operator::EQ), ip_match("daddr", cidr, Operator::NEQ), Statement::Masquerade(None)])));
    b.add(NfListObject::Rule(rule("postrouting", vec![ip_match("saddr", loopback, Operator::EQ), ip_match("daddr", cidr, Operator::EQ), Statement::Masquerade(None)])));
    b.add(NfListObject::Rule(rule("postrouting", vec![ct_match("status", Operator::IN, &["dnat"]), ip_match("saddr", cidr, Operator::EQ), ip_match("daddr", cidr, Operator::EQ), Statement::Masquerade(None)])));
    b.add(NfListObject::Rule(rule(
        "input",
        vec![ip_match("daddr", loopback, Operator::EQ), ip_match("saddr", loopback, Operator::NEQ), ct_match("state", Operator::NEQ, &["established", "related"]), Statement::Drop(None)],
    )));
    b.add(NfListObject::Rule(rule("forward", vec![ip_match("saddr", cidr, Operator::EQ), Statement::Accept(None)])));
    b.add(NfListObject::Rule(rule("forward", vec![ip_match("daddr", cidr, Operator::EQ), Statement::Accept(None)])));
    let jump = || Statement::Jump(JumpTarget { target: "hostports".into() });
    b.add(NfListObject::Rule(rule("prerouting", vec![to_this_node(), jump()])));
    b.add(NfListObject::Rule(rule("output", vec![to_this_node(), jump()])));
    for p in host_ports {
        b.add(NfListObject::Rule(host_port_rule(p)));
    }
    b.to_nftables()
}

/// Writes the table for `cidr` with `host_ports` and turns IPv4
/// forwarding on, in this thread's network namespace.
pub fn ensure(cidr: Cidr, host_ports: &[HostPort]) -> Result<(), Error> {
    nftables::helper::apply_ruleset(&batch(cidr, host_ports))?;
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").map_err(Error::Forwarding)
}

/// Removes the table; not there is fine.
pub fn remove() -> Result<(), Error> {
    let mut b = Batch::new();
    // Adding first makes the delete succeed when the table is missing.
    b.add(NfListObject::Table(table()));
    b.delete(NfListObject::Table(table()));
    nftables::helper::apply_ruleset(&b.to_nftables())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nat_batch_masquerades_what_leaves_the_pod_cidr() {
        let web = HostPort { protocol: Protocol::Tcp, host_port: 8080, host_ip: None, pod_ip: std::net::Ipv4Addr::new(10, 88, 0, 5), container_port: 80 };
        let json = serde_json::to_value(batch(Cidr::parse("10.88.0.0/16").expect("valid"), &[web])).expect("encodes");
        let text = json.to_string();
        assert!(text.contains(r#""masquerade":null"#), "{text}");
        assert!(text.contains(r#""op":"!=""#) && text.contains(r#""prefix":{"addr":"10.88.0.0","len":16}"#), "{text}");
        assert!(text.contains(r#""flush":{"table""#), "{text}");
        assert!(text.contains(r#""dnat":{"addr":"10.88.0.5","family":"ip","port":80}"#), "{text}");
        assert!(text.contains(r#""jump":{"target":"hostports"}"#) && text.contains(r#""fib":{"result":"type","flags":["daddr"]}"#), "{text}");
    }
}
