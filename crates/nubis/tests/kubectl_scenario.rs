//! The kubectl scenario: a user's day with kubectl against the real `nubis`
//! binary, run with the oldest and newest kubectl we support.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;
use support::{Kubectl, Nubis, assert_histogram, metric_sum, parse_metrics};

const SHOP: &str = include_str!("fixtures/shop.yaml");

fn write_fixture(dir: &std::path::Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write fixture");
    p.to_string_lossy().into_owned()
}

fn scenario(version: &str) {
    let nubis = Nubis::start();
    let k = nubis.kubectl(version);
    // The harness falls back to the dispatcher `kubectl` when
    // `kubectl.<version>` is missing: make sure this really is `version`.
    k.assert_client_version(version);
    let tmp = nubis.dir.path();
    let shop = write_fixture(tmp, "shop.yaml", SHOP);

    // The server reports 1.33, and the dispatcher's kubectl pins a version.
    let v = k.ok(&["version", "-o", "json"]);
    assert!(v.contains("\"minor\": \"33\""), "server version: {v}");

    // Namespace create goes through kubectl's protobuf path.
    assert_eq!(k.ok(&["create", "namespace", "shop"]).trim(), "namespace/shop created");
    let ns = k.json(&["get", "namespace", "shop"]);
    assert_eq!(ns["status"]["phase"], "Active");

    // The other generators that send protobuf.
    let out = k.ok(&["create", "deployment", "pb", "-n", "shop", "--image=busybox", "--replicas=0", "--port=8080"]);
    assert_eq!(out.trim(), "deployment.apps/pb created");
    let pb = k.json(&["get", "deployment", "pb", "-n", "shop"]);
    assert_eq!(pb["spec"]["replicas"], 0, "an explicit zero survives the protobuf decoding");
    assert_eq!(pb["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 8080);
    k.ok(&["create", "secret", "generic", "pb", "-n", "shop", "--from-literal=token=abc"]);
    assert_eq!(k.ok(&["get", "secret", "pb", "-n", "shop", "-o", "jsonpath={.data.token}"]), "YWJj");
    k.ok(&["create", "service", "clusterip", "pb", "-n", "shop", "--tcp=80:8080"]);
    let svc = k.json(&["get", "service", "pb", "-n", "shop"]);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    assert!(svc["spec"]["clusterIP"].as_str().is_some_and(|ip| ip.starts_with("10.")), "{svc}");
    k.ok(&["delete", "deployment,secret,service", "pb", "-n", "shop"]);

    // A multi-document apply.
    let out = k.ok(&["apply", "-n", "shop", "-f", &shop]);
    for line in [
        "deployment.apps/web created",
        "service/web created",
        "configmap/shop-config created",
        "secret/shop-secret created",
        "secret/shop-login created",
    ] {
        assert!(out.contains(line), "apply output lacks {line:?}: {out}");
    }

    // Unknown fields: kubectl asks for strict server-side validation.
    let typo = write_fixture(tmp, "typo.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\ndatta:\n  a: b\n");
    let err = k.fails(&["apply", "-n", "shop", "-f", &typo]);
    assert!(err.contains(r#"unknown field "datta""#), "{err}");
    k.fails(&["get", "configmap", "typo", "-n", "shop"]);
    let warned = k.run(&["apply", "-n", "shop", "--validate=warn", "-f", &typo]);
    assert!(warned.status.success(), "{warned:?}");
    assert!(String::from_utf8_lossy(&warned.stderr).contains(r#"unknown field "datta""#), "{warned:?}");
    k.ok(&["delete", "configmap", "typo", "-n", "shop"]);

    // Default columns, -o wide, yaml, json, jsonpath.
    let table = k.ok(&["get", "deployments", "-n", "shop"]);
    let header: Vec<&str> = table.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(header, ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], "{table}");
    assert!(table.lines().nth(1).unwrap_or_default().starts_with("web "), "{table}");
    let wide = k.ok(&["get", "deployments", "-n", "shop", "-o", "wide"]);
    assert!(wide.contains("CONTAINERS") && wide.contains("nginx:1.25") && wide.contains("app=web"), "{wide}");
    let svc = k.ok(&["get", "svc", "web", "-n", "shop"]);
    assert!(svc.contains("ClusterIP") && svc.contains("80/TCP"), "{svc}");
    let yaml = k.ok(&["get", "deployment", "web", "-n", "shop", "-o", "yaml"]);
    assert!(yaml.contains("kind: Deployment") && yaml.contains("revisionHistoryLimit: 10"), "defaults: {yaml}");
    let dep = k.json(&["get", "deployment", "web", "-n", "shop"]);
    assert_eq!(dep["metadata"]["generation"], 1);
    assert_eq!(dep["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(dep["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent");
    let jp = k.ok(&["get", "configmap", "shop-config", "-n", "shop", "-o", "jsonpath={.data.greeting}"]);
    assert_eq!(jp, "hello");
    let secret = k.json(&["get", "secret", "shop-secret", "-n", "shop"]);
    assert_eq!(secret["data"]["password"], "czNjcmV0", "stringData is folded into data");

    // Selectors, -A, sort.
    let by_label = k.ok(&["get", "configmaps,services,deployments", "-n", "shop", "-l", "app=web", "-o", "name"]);
    let mut names: Vec<&str> = by_label.lines().collect();
    names.sort();
    assert_eq!(names, ["configmap/shop-config", "deployment.apps/web", "service/web"]);
    let by_field = k.ok(&["get", "secrets", "-n", "shop", "--field-selector", "type=Opaque", "-o", "name"]);
    assert_eq!(by_field.trim(), "secret/shop-secret");
    let none = k.ok(&["get", "configmaps", "-n", "shop", "--field-selector", "metadata.name=nope", "-o", "name"]);
    assert_eq!(none.trim(), "");
    let all_ns = k.ok(&["get", "namespaces", "-A"]);
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease", "shop"] {
        assert!(all_ns.contains(ns), "{all_ns}");
    }
    let svcs = k.ok(&["get", "services", "-A"]);
    assert!(svcs.lines().next().unwrap_or_default().starts_with("NAMESPACE"), "{svcs}");
    assert!(svcs.contains("kubernetes") && svcs.contains("web"), "{svcs}");
    k.ok(&["create", "configmap", "b-config", "-n", "shop", "--from-literal=k=v"]);
    k.ok(&["create", "configmap", "a-config", "-n", "shop", "--from-literal=k=v"]);
    // --sort-by a field whose order is neither the names' nor the order of
    // creation (the server lists by name): ranks 3, 1, 4, 2 for a..d.
    for (name, rank) in [("rank-a", "3"), ("rank-b", "1"), ("rank-c", "4"), ("rank-d", "2")] {
        k.ok(&["create", "configmap", name, "-n", "shop", &format!("--from-literal=rank={rank}")]);
        k.ok(&["label", "configmap", name, "-n", "shop", "sort-test=yes"]);
    }
    let by_rank = ["rank-b", "rank-d", "rank-a", "rank-c"];
    let sorted = k.ok(&["get", "configmaps", "-n", "shop", "-l", "sort-test=yes", "--sort-by=.data.rank", "-o", "name"]);
    let order: Vec<&str> = sorted.lines().collect();
    let expected: Vec<String> = by_rank.iter().map(|n| format!("configmap/{n}")).collect();
    assert_eq!(order, expected, "-o name sorted by .data.rank");
    // The default columns: kubectl sorts the server's Table rows by the
    // objects embedded in them.
    let table = k.ok(&["get", "configmaps", "-n", "shop", "-l", "sort-test=yes", "--sort-by=.data.rank"]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(header, ["NAME", "DATA", "AGE"], "{table}");
    let rows: Vec<&str> = lines.filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(rows, by_rank, "table sorted by .data.rank:\n{table}");
    let unsorted = k.ok(&["get", "configmaps", "-n", "shop", "-l", "sort-test=yes", "-o", "name"]);
    assert_ne!(unsorted, sorted, "without --sort-by the order differs, so the sort was done");
    k.ok(&["delete", "configmaps", "-n", "shop", "-l", "sort-test=yes"]);

    // A watch sees a change made by another command.
    let mut watch = k
        .cmd(&["get", "configmap", "shop-config", "-n", "shop", "-w", "-o", "jsonpath={.data.greeting}{\"\\n\"}"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kubectl get -w");
    let stdout = watch.stdout.take().expect("watch stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).ok().as_deref(), Some("hello"));
    k.ok(&["patch", "configmap", "shop-config", "-n", "shop", "--type", "merge", "-p", r#"{"data":{"greeting":"bonjour"}}"#]);
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).ok().as_deref(), Some("bonjour"));
    let _ = watch.kill();
    let _ = watch.wait();
    k.ok(&["patch", "configmap", "shop-config", "-n", "shop", "--type", "merge", "-p", r#"{"data":{"greeting":"hello"}}"#]);

    // Re-apply is a no-op; a changed image is "configured" and bumps generation.
    let secret_rv = k.json(&["get", "secret", "shop-secret", "-n", "shop"])["metadata"]["resourceVersion"].clone();
    let out = k.ok(&["apply", "-n", "shop", "-f", &shop]);
    assert!(out.contains("deployment.apps/web unchanged"), "{out}");
    assert!(out.contains("service/web unchanged"), "{out}");
    assert!(out.contains("configmap/shop-config unchanged"), "{out}");
    assert!(out.contains("secret/shop-login unchanged"), "a Secret given as data: {out}");
    // A Secret given as stringData: kubectl's three-way patch always
    // carries stringData (the live object only has data), so kubectl says
    // "configured" as it does against Kubernetes (kubernetes/kubernetes#87736);
    // the patch changes nothing and the server writes nothing.
    assert!(out.contains("secret/shop-secret configured"), "{out}");
    let secret = k.json(&["get", "secret", "shop-secret", "-n", "shop"]);
    assert_eq!(secret["metadata"]["resourceVersion"], secret_rv, "a no-op patch does not write");
    assert_eq!(secret["data"]["password"], "czNjcmV0");
    assert!(secret.get("stringData").is_none(), "{secret}");
    let rv_before = k.json(&["get", "deployment", "web", "-n", "shop"])["metadata"]["resourceVersion"].clone();
    let changed = write_fixture(tmp, "shop2.yaml", &SHOP.replace("nginx:1.25", "nginx:1.26"));
    let diff = k.run(&["diff", "-n", "shop", "-f", &changed]);
    assert_eq!(diff.status.code(), Some(1), "kubectl diff exits 1 when there are differences: {diff:?}");
    let diff_out = String::from_utf8_lossy(&diff.stdout);
    assert!(diff_out.contains("-        image: nginx:1.25") && diff_out.contains("+        image: nginx:1.26"), "{diff_out}");
    let out = k.ok(&["apply", "-n", "shop", "-f", &changed]);
    assert!(out.contains("deployment.apps/web configured"), "{out}");
    assert!(out.contains("configmap/shop-config unchanged"), "{out}");
    assert!(out.contains("service/web unchanged"), "{out}");
    assert!(out.contains("secret/shop-login unchanged"), "{out}");
    let dep = k.json(&["get", "deployment", "web", "-n", "shop"]);
    assert_eq!(dep["metadata"]["generation"], 2);
    assert_ne!(dep["metadata"]["resourceVersion"], rv_before);
    assert_eq!(dep["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26");
    assert_eq!(dep["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"], "shop");

    // label, annotate, three kinds of patch, scale.
    k.ok(&["label", "deployment", "web", "-n", "shop", "stage=prod"]);
    k.ok(&["annotate", "deployment", "web", "-n", "shop", "owner=team-a"]);
    k.ok(&["patch", "deployment", "web", "-n", "shop", "--type", "json", "-p", r#"[{"op":"add","path":"/spec/minReadySeconds","value":5}]"#]);
    k.ok(&["patch", "deployment", "web", "-n", "shop", "--type", "strategic", "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"EXTRA","value":"1"}]}]}}}}"#]);
    k.ok(&["scale", "deployment", "web", "-n", "shop", "--replicas=5"]);
    let dep = k.json(&["get", "deployment", "web", "-n", "shop"]);
    assert_eq!(dep["metadata"]["labels"]["stage"], "prod");
    assert_eq!(dep["metadata"]["annotations"]["owner"], "team-a");
    assert_eq!(dep["spec"]["minReadySeconds"], 5);
    assert_eq!(dep["spec"]["replicas"], 5);
    let env = &dep["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(env.as_array().map(Vec::len), Some(2), "strategic merge keeps MODE and adds EXTRA: {env}");
    let failed = k.fails(&["patch", "deployment", "web", "-n", "shop", "--type", "json", "-p", r#"[{"op":"remove","path":"/spec/nope"}]"#]);
    assert!(!failed.is_empty());

    // edit through $EDITOR.
    let editor = write_fixture(tmp, "editor.sh", "#!/bin/sh\nsed -i 's/currency: EUR/currency: CHF/' \"$1\"\n");
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod editor");
    let out = k.cmd(&["edit", "configmap", "shop-config", "-n", "shop"]).env("EDITOR", &editor).output().expect("edit");
    assert!(out.status.success(), "edit: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(k.ok(&["get", "cm", "shop-config", "-n", "shop", "-o", "jsonpath={.data.currency}"]), "CHF");

    // replace.
    let mut cm = k.json(&["get", "cm", "a-config", "-n", "shop"]);
    cm["data"]["k"] = serde_json::json!("replaced");
    let replaced = write_fixture(tmp, "replace.json", &cm.to_string());
    k.ok(&["replace", "-f", &replaced]);
    assert_eq!(k.ok(&["get", "cm", "a-config", "-n", "shop", "-o", "jsonpath={.data.k}"]), "replaced");
    let stale = k.fails(&["replace", "-f", &replaced]);
    assert!(stale.contains("the object has been modified"), "stale replace: {stale}");

    // Errors read as on Kubernetes.
    let err = k.fails(&["get", "deployment", "nope", "-n", "shop"]);
    assert!(err.contains(r#"deployments.apps "nope" not found"#), "{err}");
    let err = k.fails(&["create", "configmap", "Bad_Name", "-n", "shop"]);
    assert!(err.contains("is invalid"), "{err}");
    let err = k.fails(&["create", "configmap", "x", "-n", "missing-ns"]);
    assert!(err.contains(r#"namespaces "missing-ns" not found"#), "{err}");

    // delete, also orphaning.
    let out = k.ok(&["delete", "configmap", "b-config", "-n", "shop"]);
    assert!(out.contains(r#"configmap "b-config" deleted"#), "{out}");
    let out = k.ok(&["delete", "deployment", "web", "-n", "shop", "--cascade=orphan"]);
    assert!(out.contains(r#"deployment.apps "web" deleted"#), "{out}");
    k.fails(&["get", "deployment", "web", "-n", "shop"]);

    // Discovery, OpenAPI and metrics.
    let resources = k.ok(&["api-resources"]);
    for r in ["deployments", "configmaps", "cronjobs", "ingresses", "leases", "endpointslices", "poddisruptionbudgets"] {
        assert!(resources.contains(r), "api-resources lacks {r}: {resources}");
    }
    let versions = k.ok(&["api-versions"]);
    for v in ["apps/v1", "batch/v1", "v1", "networking.k8s.io/v1", "autoscaling/v2"] {
        assert!(versions.lines().any(|l| l == v), "api-versions lacks {v}: {versions}");
    }
    let explain = k.ok(&["explain", "deployment.spec.template"]);
    assert!(explain.contains("PodTemplateSpec"), "the field's type: {explain}");
    // The field's description and its fields' descriptions, from OpenAPI.
    assert!(explain.contains("Template describes the pods that will be created."), "{explain}");
    assert!(explain.contains("FIELDS"), "{explain}");
    assert!(explain.contains("Specification of the desired behavior of the pod."), "the spec field's docs: {explain}");
    metrics(&k);
}

/// `/metrics` (through `kubectl get --raw`) after the scenario's requests:
/// request counts and latencies by verb and resource, store commit
/// latency, watches.
fn metrics(k: &Kubectl) {
    let text = k.ok(&["get", "--raw", "/metrics"]);
    let all = parse_metrics(&text);
    let requests = |labels: &[(&str, &str)]| metric_sum(&all, "apiserver_request_total", labels);
    // Counts by verb, resource and code, for the requests kubectl made.
    assert!(requests(&[("verb", "create"), ("resource", "namespaces"), ("code", "201")]) >= 1.0, "{text}");
    assert!(requests(&[("verb", "list"), ("resource", "configmaps"), ("code", "200")]) >= 3.0, "{text}");
    assert!(requests(&[("verb", "get"), ("resource", "deployments"), ("code", "200")]) >= 5.0, "{text}");
    assert!(requests(&[("verb", "get"), ("resource", "deployments"), ("code", "404")]) >= 1.0, "kubectl get deployment nope: {text}");
    assert!(requests(&[("verb", "patch"), ("resource", "deployments")]) >= 3.0, "{text}");
    assert!(requests(&[("verb", "patch"), ("resource", "deployments"), ("code", "422")]) >= 1.0, "the failed json patch: {text}");
    assert!(requests(&[("verb", "update"), ("resource", "configmaps"), ("code", "409")]) >= 1.0, "the stale replace: {text}");
    assert!(requests(&[("verb", "delete"), ("resource", "deployments"), ("code", "200")]) >= 1.0, "{text}");
    assert!(requests(&[("verb", "delete"), ("resource", "configmaps"), ("code", "200")]) >= 6.0, "{text}");
    // Subresources are counted as kube-apiserver does: resource/subresource.
    assert!(requests(&[("resource", "deployments/scale")]) >= 1.0, "kubectl scale: {text}");
    // Watches: the `get -w` stream, and the ones open now (the
    // controllers').
    assert!(requests(&[("verb", "watch"), ("resource", "configmaps")]) >= 1.0, "{text}");
    assert!(metric_sum(&all, "apiserver_registered_watchers", &[]) >= 1.0, "{text}");
    // Latency histograms by verb and resource, and the store's commits.
    assert!(assert_histogram(&all, "apiserver_request_duration_seconds", &[("verb", "list"), ("resource", "configmaps")]) >= 3.0);
    assert!(assert_histogram(&all, "apiserver_request_duration_seconds", &[("verb", "create"), ("resource", "namespaces")]) >= 1.0);
    let commits = assert_histogram(&all, "nubis_store_commit_duration_seconds", &[]);
    assert_eq!(commits, metric_sum(&all, "nubis_store_commits_total", &[]), "one latency sample per commit");
    let writes = metric_sum(&all, "nubis_store_writes_total", &[]);
    assert!(writes >= commits && writes >= 20.0, "writes {writes}, commits {commits}");
    assert!(metric_sum(&all, "nubis_store_revision", &[]) >= writes, "{text}");
}

#[test]
fn kubectl_scenario_1_27() {
    scenario("1.27");
}

#[test]
fn kubectl_scenario_1_33() {
    scenario("1.33");
}

/// Kubectl is used by a person in a terminal: make sure the helper reports
/// which binary runs, so a failure names it.
#[test]
fn kubectl_binaries_are_found() {
    for v in ["1.27", "1.33"] {
        let k = Kubectl { bin: support::kubectl_binary(v), kubeconfig: "/dev/null".into() };
        k.assert_client_version(v);
    }
}
