//! Tests of Pod Security admission against Kubernetes' messages.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure

use serde_json::{Value, json};

use super::*;

fn ns(labels: Value) -> Value {
    labels
}

fn restricted() -> LevelVersion {
    LevelVersion::new(Level::Restricted, Version::Latest)
}

fn baseline() -> LevelVersion {
    LevelVersion::new(Level::Baseline, Version::Latest)
}

fn pod(spec: Value) -> Value {
    json!({"metadata": {"name": "x"}, "spec": spec})
}

/// The reasons and details of `evaluate` on a pod spec.
fn check(lv: LevelVersion, spec: Value) -> String {
    forbidden_detail(&evaluate(lv, &json!({}), &spec))
}

fn compliant_container(name: &str) -> Value {
    json!({"name": name, "image": "nginx", "securityContext": {
        "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}})
}

#[test]
fn policy_psa_restricted_forbidden_message() {
    let labels = ns(json!({ENFORCE_LEVEL_LABEL: "restricted"}));
    let p = pod(json!({"containers": [{"name": "c", "image": "nginx"}]}));
    let err = admit_pod(Some(&labels), &p, "x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "pods \"x\" is forbidden: violates PodSecurity \"restricted:latest\": \
         allowPrivilegeEscalation != false (container \"c\" must set securityContext.allowPrivilegeEscalation=false), \
         unrestricted capabilities (container \"c\" must set securityContext.capabilities.drop=[\"ALL\"]), \
         runAsNonRoot != true (pod or container \"c\" must set securityContext.runAsNonRoot=true), \
         seccompProfile (pod or container \"c\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
    );
    let ok = pod(json!({"containers": [compliant_container("c")]}));
    let out = admit_pod(Some(&labels), &ok, "x").unwrap();
    assert!(out.warnings.is_empty());
    assert_eq!(
        out.audit_annotations[ENFORCE_POLICY_ANNOTATION],
        "restricted:latest"
    );
}

#[test]
fn policy_psa_pod_level_settings_cover_containers() {
    let spec = json!({
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "Localhost", "localhostProfile": "p"}},
        "containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}]
    });
    assert_eq!(check(restricted(), spec), "");
}

#[test]
fn policy_psa_restricted_explicit_bad_values() {
    let spec = json!({
        "securityContext": {"runAsNonRoot": false, "runAsUser": 0, "seccompProfile": {"type": "Unconfined"}},
        "initContainers": [{"name": "i", "securityContext": {"allowPrivilegeEscalation": true,
            "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN", "NET_RAW"]}, "runAsUser": 0}}],
        "containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false,
            "capabilities": {"add": ["NET_BIND_SERVICE"]}, "runAsNonRoot": false,
            "seccompProfile": {"type": "Unconfined"}}}],
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "n", "nfs": {}}, {"name": "ok", "emptyDir": {}}]
    });
    assert_eq!(
        check(restricted(), spec),
        // Restricted replaces baseline's capability and seccomp checks.
        "allowPrivilegeEscalation != false (container \"i\" must set securityContext.allowPrivilegeEscalation=false), \
         unrestricted capabilities (container \"a\" must set securityContext.capabilities.drop=[\"ALL\"]; container \"i\" must not include \"NET_RAW\", \"SYS_ADMIN\" in securityContext.capabilities.add), \
         restricted volume types (volumes \"h\", \"n\" use restricted volume types \"hostPath\", \"nfs\"), \
         runAsNonRoot != true (pod and container \"a\" must not set securityContext.runAsNonRoot=false), \
         runAsUser=0 (pod and container \"i\" must not set runAsUser=0), \
         seccompProfile (pod and container \"a\" must not set securityContext.seccompProfile.type to \"Unconfined\")"
    );
}

#[test]
fn policy_psa_baseline_checks() {
    let spec = json!({
        "hostNetwork": true, "hostIPC": true,
        "securityContext": {"sysctls": [{"name": "kernel.shm_rmid_forced"}, {"name": "net.core.somaxconn"}, {"name": "kernel.msgmax"}],
            "seLinuxOptions": {"type": "spc_t"}, "windowsOptions": {"hostProcess": true},
            "appArmorProfile": {"type": "Unconfined"}},
        "containers": [
            {"name": "a", "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 9, "hostPort": 10}],
             "securityContext": {"privileged": true, "capabilities": {"add": ["CHOWN", "SYS_TIME"]},
                 "procMount": "Unmasked", "seLinuxOptions": {"user": "u", "role": "r"},
                 "seccompProfile": {"type": "Unconfined"}}},
            {"name": "b", "ports": [{"containerPort": 81, "hostPort": 0}],
             "securityContext": {"privileged": false, "windowsOptions": {"hostProcess": true}}}
        ],
        "volumes": [{"name": "h", "hostPath": {"path": "/var"}}]
    });
    assert_eq!(
        check(baseline(), spec),
        "forbidden AppArmor profile (pod must not set AppArmor profile type to \"Unconfined\"), \
         non-default capabilities (container \"a\" must not include \"SYS_TIME\" in securityContext.capabilities.add), \
         host namespaces (hostNetwork=true, hostIPC=true), \
         hostPath volumes (volume \"h\"), \
         hostPort (container \"a\" uses hostPorts 10, 8080), \
         privileged (container \"a\" must not set securityContext.privileged=true), \
         procMount (container \"a\" must not set securityContext.procMount to \"Unmasked\"), \
         seLinuxOptions (pod and container \"a\" set forbidden securityContext.seLinuxOptions: type \"spc_t\"; user may not be set; role may not be set), \
         seccompProfile (container \"a\" must not set securityContext.seccompProfile.type to \"Unconfined\"), \
         forbidden sysctls (net.core.somaxconn, kernel.msgmax), \
         hostProcess (pod and container \"b\" must not set securityContext.windowsOptions.hostProcess=true)"
    );
    assert_eq!(
        check(LevelVersion::PRIVILEGED_LATEST, json!({"hostPID": true})),
        ""
    );
}

#[test]
fn policy_psa_apparmor_annotations() {
    let meta = json!({"annotations": {
        "container.apparmor.security.beta.kubernetes.io/a": "unconfined",
        "container.apparmor.security.beta.kubernetes.io/b": "localhost/prof",
        "container.apparmor.security.beta.kubernetes.io/c": "runtime/default"}});
    let spec = json!({"containers": [{"name": "a", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]});
    // joinQuote wraps without escaping, so the annotation's quotes stay bare.
    assert_eq!(
        forbidden_detail(&evaluate(baseline(), &meta, &spec)),
        "forbidden AppArmor profiles (container \"a\" and annotation must not set AppArmor profile type to \
         \"Unconfined\", \"container.apparmor.security.beta.kubernetes.io/a=\"unconfined\"\")"
    );
}

#[test]
fn policy_psa_versions_select_checks() {
    let bare = json!({"containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": false,
        "runAsNonRoot": true, "runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"},
        "capabilities": {"add": ["SYS_ADMIN"]}}}],
        "securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem"}]}});
    let at = |level, minor| check(LevelVersion::new(level, Version::V1(minor)), bare.clone());
    // Before 1.22 restricted uses baseline's capability check; runAsUser
    // arrives in 1.23; tcp_rmem becomes safe in 1.32.
    assert_eq!(
        at(Level::Restricted, 21),
        "non-default capabilities (container \"c\" must not include \"SYS_ADMIN\" in securityContext.capabilities.add), \
         forbidden sysctls (net.ipv4.tcp_rmem)"
    );
    assert_eq!(
        at(Level::Restricted, 23),
        "forbidden sysctls (net.ipv4.tcp_rmem), \
         unrestricted capabilities (container \"c\" must set securityContext.capabilities.drop=[\"ALL\"]; container \"c\" must not include \"SYS_ADMIN\" in securityContext.capabilities.add), \
         runAsUser=0 (container \"c\" must not set runAsUser=0)"
    );
    assert!(!at(Level::Restricted, 33).contains("sysctls"));
    // Versions newer than any check behave like the newest.
    assert_eq!(at(Level::Restricted, 99), check(restricted(), bare.clone()));
    let engine = json!({"containers": [{"name": "c", "securityContext": {"seLinuxOptions": {"type": "container_engine_t"}}}]});
    assert!(
        check(
            LevelVersion::new(Level::Baseline, Version::V1(30)),
            engine.clone()
        )
        .starts_with("seLinuxOptions")
    );
    assert_eq!(
        check(LevelVersion::new(Level::Baseline, Version::V1(31)), engine),
        ""
    );
}

#[test]
fn policy_psa_seccomp_annotations_before_1_19() {
    let meta = json!({"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined",
        "container.seccomp.security.alpha.kubernetes.io/c": "docker/default"}});
    let spec = json!({"containers": [{"name": "c", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]});
    let old = LevelVersion::new(Level::Baseline, Version::V1(18));
    assert_eq!(
        forbidden_detail(&evaluate(old, &meta, &spec)),
        "seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod=\"unconfined\")"
    );
    assert_eq!(
        forbidden_detail(&evaluate(baseline(), &meta, &spec)),
        "seccompProfile (container \"c\" must not set securityContext.seccompProfile.type to \"Unconfined\")"
    );
}

#[test]
fn policy_psa_windows_pods_skip_linux_checks() {
    let spec = json!({"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": true},
        "containers": [{"name": "c"}]});
    assert_eq!(check(restricted(), spec.clone()), "");
    // Before 1.25 the exemption did not exist.
    assert!(
        check(LevelVersion::new(Level::Restricted, Version::V1(24)), spec)
            .starts_with("allowPrivilegeEscalation")
    );
}

#[test]
fn policy_psa_workload_warnings() {
    let labels = json!({ENFORCE_LEVEL_LABEL: "baseline", WARN_LEVEL_LABEL: "restricted", AUDIT_LEVEL_LABEL: "restricted"});
    let deploy = json!({"spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}});
    let out = admit_workload(Some(&labels), "apps", "deployments", &deploy);
    let want = "would violate PodSecurity \"restricted:latest\": \
        allowPrivilegeEscalation != false (container \"web\" must set securityContext.allowPrivilegeEscalation=false), \
        unrestricted capabilities (container \"web\" must set securityContext.capabilities.drop=[\"ALL\"]), \
        runAsNonRoot != true (pod or container \"web\" must set securityContext.runAsNonRoot=true), \
        seccompProfile (pod or container \"web\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")";
    assert_eq!(out.warnings, [want]);
    assert_eq!(out.audit_annotations[AUDIT_VIOLATIONS_ANNOTATION], want);
    let cron = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"hostPID": true, "containers": []}}}}}});
    let out = admit_workload(
        Some(&json!({WARN_LEVEL_LABEL: "baseline"})),
        "batch",
        "cronjobs",
        &cron,
    );
    assert_eq!(
        out.warnings,
        ["would violate PodSecurity \"baseline:latest\": host namespaces (hostPID=true)"]
    );
    // A pod that passes enforce still gets the warn level's warning.
    let pod = pod(json!({"containers": [{"name": "web"}]}));
    let out = admit_pod(Some(&labels), &pod, "x").unwrap();
    assert_eq!(out.warnings, [want]);
    assert!(
        admit_workload(None, "apps", "deployments", &deploy)
            .warnings
            .is_empty()
    );
    assert!(pod_spec_of("", "services", &deploy).is_none());
}

#[test]
fn policy_psa_invalid_labels_enforce_restricted() {
    let labels = json!({ENFORCE_LEVEL_LABEL: "bogus"});
    let err = admit_pod(
        Some(&labels),
        &pod(json!({"containers": [{"name": "c"}]})),
        "x",
    )
    .unwrap_err();
    assert_eq!(err.policy.to_string(), "restricted:latest");
    assert_eq!(validate_namespace_labels(Some(&labels)).len(), 1);
    let out = admit_pod(
        Some(&labels),
        &pod(json!({"containers": [compliant_container("c")]})),
        "x",
    )
    .unwrap();
    assert_eq!(
        out.audit_annotations["error"],
        "Failed to parse policy: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"bogus\": must be one of privileged, baseline, restricted"
    );
}

#[test]
fn policy_psa_namespace_update_and_existing_pods() {
    let old = json!({ENFORCE_LEVEL_LABEL: "baseline"});
    let (errs, check_pods) = namespace_update(
        Some(&json!({ENFORCE_LEVEL_LABEL: "restricted"})),
        Some(&old),
    );
    assert!(errs.is_empty() && check_pods);
    // Relaxing or keeping the level needs no pod check.
    assert!(
        !namespace_update(
            Some(&json!({ENFORCE_LEVEL_LABEL: "privileged"})),
            Some(&old)
        )
        .1
    );
    assert!(!namespace_update(Some(&old), Some(&old)).1);
    // Unchanged invalid labels are tolerated; new ones are rejected.
    let bad = json!({ENFORCE_LEVEL_LABEL: "x"});
    assert!(namespace_update(Some(&bad), Some(&bad)).0.is_empty());
    assert_eq!(namespace_update(Some(&bad), Some(&old)).0.len(), 1);

    let host = |name: &str| json!({"metadata": {"name": name}, "spec": {"hostNetwork": true, "containers": []}});
    let pods = [
        host("b"),
        host("a"),
        host("c"),
        json!({"metadata": {"name": "ok"}, "spec": {"containers": []}}),
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "securityContext": {"privileged": true}}]}}),
    ];
    assert_eq!(
        existing_pod_warnings("ns", baseline(), &pods),
        [
            "existing pods in namespace \"ns\" violate the new PodSecurity enforce level \"baseline:latest\"",
            "a (and 2 other pods): host namespaces",
            "p: privileged",
        ]
    );
}

#[test]
fn policy_psa_significant_updates() {
    let p = json!({"spec": {"containers": [{"name": "a", "image": "x"}]}});
    let mut q = p.clone();
    assert!(!is_significant_pod_update(&q, &p));
    q["metadata"] = json!({"labels": {"a": "b"}});
    assert!(!is_significant_pod_update(&q, &p));
    q["spec"]["containers"][0]["image"] = json!("y");
    assert!(is_significant_pod_update(&q, &p));
    let mut e = p.clone();
    e["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox"}]);
    assert!(is_significant_pod_update(&e, &p));
    assert!(ignores_pod_subresource("status") && !ignores_pod_subresource("ephemeralcontainers"));
}
