//! The files the kubelet writes for a pod and mounts into its containers:
//! `/etc/hosts` (localhost, the pod's address with its hostname and, with
//! a subdomain, its fully qualified name; `hostAliases`), `/etc/hostname`,
//! and `/etc/resolv.conf` as `dnsPolicy` and `dnsConfig` say (the host's
//! resolver until the cluster has DNS of its own).

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use std::net::Ipv4Addr;

/// The cluster's DNS domain.
const CLUSTER_DOMAIN: &str = "cluster.local";
/// Longest host name a Linux UTS namespace takes.
const MAX_HOSTNAME: usize = 63;

/// The pod's host name: `spec.hostname`, else its name (cut to 63
/// characters, and off a trailing `-` or `.`, as the kubelet does); with
/// `setHostnameAsFQDN` and a subdomain, the fully qualified name.
pub fn hostname(pod: &Pod) -> String {
    let spec = pod.spec.as_ref();
    let short = spec.and_then(|s| s.hostname.clone()).filter(|h| !h.is_empty()).unwrap_or_else(|| {
        let name = pod.name_any();
        let cut: String = name.chars().take(MAX_HOSTNAME).collect();
        cut.trim_end_matches(['-', '.']).to_string()
    });
    match (fqdn(pod, &short), spec.and_then(|s| s.set_hostname_as_fqdn)) {
        (Some(full), Some(true)) => full,
        _ => short,
    }
}

/// `<hostname>.<subdomain>.<namespace>.svc.<cluster domain>` when the pod
/// has a subdomain.
fn fqdn(pod: &Pod, short: &str) -> Option<String> {
    let subdomain = pod.spec.as_ref()?.subdomain.clone().filter(|s| !s.is_empty())?;
    Some(format!("{short}.{subdomain}.{}.svc.{CLUSTER_DOMAIN}", pod.namespace().unwrap_or_default()))
}

/// The pod's `/etc/hosts`.
pub fn hosts(pod: &Pod, ip: Ipv4Addr) -> String {
    let short = hostname_short(pod);
    let mut out = String::from("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n");
    match fqdn(pod, &short) {
        Some(full) => out.push_str(&format!("{ip}\t{full}\t{short}\n")),
        None => out.push_str(&format!("{ip}\t{short}\n")),
    }
    let aliases = pod.spec.as_ref().and_then(|s| s.host_aliases.clone()).unwrap_or_default();
    if !aliases.is_empty() {
        out.push_str("\n# Entries added by HostAliases.\n");
        for alias in aliases {
            let names = alias.hostnames.unwrap_or_default();
            if !names.is_empty() {
                out.push_str(&format!("{}\t{}\n", alias.ip, names.join("\t")));
            }
        }
    }
    out
}

fn hostname_short(pod: &Pod) -> String {
    let name = hostname(pod);
    name.split('.').next().unwrap_or(&name).to_string()
}

/// The pod's `/etc/resolv.conf` from the host's: `dnsPolicy: None` takes
/// only `dnsConfig`; the others start from the host's resolver (there is
/// no cluster DNS yet for `ClusterFirst`) and add `dnsConfig`'s
/// nameservers, searches and options, as the kubelet merges them.
pub fn resolv_conf(pod: &Pod, host: &str) -> String {
    let spec = pod.spec.as_ref();
    let policy = spec.and_then(|s| s.dns_policy.as_deref()).unwrap_or("ClusterFirst");
    let config = spec.and_then(|s| s.dns_config.clone()).unwrap_or_default();
    let (mut nameservers, mut searches, mut options) = (Vec::new(), Vec::new(), Vec::new());
    if policy != "None" {
        for line in host.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => nameservers.extend(words.map(str::to_string)),
                Some("search") => searches = words.map(str::to_string).collect(),
                Some("options") => options.extend(words.map(str::to_string)),
                _ => {}
            }
        }
    }
    for ns in config.nameservers.unwrap_or_default() {
        if !nameservers.contains(&ns) {
            nameservers.push(ns);
        }
    }
    for s in config.searches.unwrap_or_default() {
        if !searches.contains(&s) {
            searches.push(s);
        }
    }
    for o in config.options.unwrap_or_default() {
        let text = match o.value {
            Some(v) => format!("{}:{v}", o.name.unwrap_or_default()),
            None => o.name.unwrap_or_default(),
        };
        let key = text.split(':').next().unwrap_or_default().to_string();
        options.retain(|existing: &String| existing.split(':').next() != Some(key.as_str()));
        options.push(text);
    }
    // The resolver reads at most 3 nameservers and 32 search domains.
    nameservers.truncate(3);
    searches.truncate(32);
    let mut out = String::new();
    for ns in &nameservers {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    if !searches.is_empty() {
        out.push_str(&format!("search {}\n", searches.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(spec: serde_json::Value) -> Pod {
        let mut spec = spec;
        spec["containers"] = serde_json::json!([{"name": "c"}]);
        serde_json::from_value(serde_json::json!({"metadata": {"name": "web-0", "namespace": "shop"}, "spec": spec})).expect("a pod")
    }

    #[test]
    fn etc_files_hosts_name_the_pod_its_subdomain_and_aliases() {
        let plain = pod(serde_json::json!({}));
        assert!(hosts(&plain, Ipv4Addr::new(10, 88, 0, 5)).ends_with("10.88.0.5\tweb-0\n"));
        assert_eq!(hostname(&plain), "web-0");
        let named = pod(serde_json::json!({"hostname": "db", "subdomain": "cluster", "hostAliases": [{"ip": "1.2.3.4", "hostnames": ["foo.local", "bar"]}]}));
        let text = hosts(&named, Ipv4Addr::new(10, 88, 0, 6));
        assert!(text.contains("10.88.0.6\tdb.cluster.shop.svc.cluster.local\tdb\n"), "{text}");
        assert!(text.ends_with("# Entries added by HostAliases.\n1.2.3.4\tfoo.local\tbar\n"), "{text}");
        assert_eq!(hostname(&named), "db");
        let fqdn = pod(serde_json::json!({"hostname": "db", "subdomain": "cluster", "setHostnameAsFQDN": true}));
        assert_eq!(hostname(&fqdn), "db.cluster.shop.svc.cluster.local");
        let long = serde_json::from_value::<Pod>(serde_json::json!({"metadata": {"name": format!("{}-x", "a".repeat(62))}, "spec": {"containers": [{"name": "c"}]}})).expect("a pod");
        assert_eq!(hostname(&long), "a".repeat(62), "cut to 63 and off the trailing dash");
    }

    #[test]
    fn etc_files_resolv_conf_follows_dns_policy_and_config() {
        let host = "nameserver 192.168.1.1\nsearch lan\noptions edns0 ndots:1\n";
        assert_eq!(resolv_conf(&pod(serde_json::json!({})), host), "nameserver 192.168.1.1\nsearch lan\noptions edns0 ndots:1\n");
        let merged = pod(serde_json::json!({"dnsConfig": {"nameservers": ["8.8.8.8"], "searches": ["shop.svc"], "options": [{"name": "ndots", "value": "5"}]}}));
        assert_eq!(resolv_conf(&merged, host), "nameserver 192.168.1.1\nnameserver 8.8.8.8\nsearch lan shop.svc\noptions edns0 ndots:5\n");
        let none = pod(serde_json::json!({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"]}}));
        assert_eq!(resolv_conf(&none, host), "nameserver 1.1.1.1\n");
    }
}
