//! Tenancy with RBAC, driven by kubectl with separate kubeconfigs: alice
//! administers `ns-alice` only; what she can and cannot do, what `kubectl
//! auth can-i` says about it, impersonation, ServiceAccount tokens from
//! TokenRequest, and the static token file.

mod support;

use std::time::Duration;
use support::{Kubectl, Nubis};

const V: &str = "1.33";

/// A cluster with `ns-alice` and `ns-bob`, alice bound to `admin` in hers.
fn cluster() -> (Nubis, Kubectl, Kubectl) {
    let nubis = Nubis::start();
    let admin = nubis.kubectl(V);
    admin.ok(&["create", "namespace", "ns-alice"]);
    admin.ok(&["create", "namespace", "ns-bob"]);
    admin.ok(&["create", "rolebinding", "alice-admin", "-n", "ns-alice", "--clusterrole=admin", "--user=alice"]);
    admin.ok(&["create", "configmap", "bobs", "-n", "ns-bob", "--from-literal=k=v"]);
    let alice = nubis.kubectl_as(V, &nubis.user_kubeconfig("alice", &[]));
    (nubis, admin, alice)
}

#[test]
fn rbac_tenant_admin_is_confined_to_her_namespace() {
    let (_nubis, admin, alice) = cluster();

    // Everything in her namespace.
    alice.ok(&["create", "deployment", "web", "-n", "ns-alice", "--image=nginx"]);
    alice.ok(&["create", "secret", "generic", "db", "-n", "ns-alice", "--from-literal=password=x"]);
    alice.ok(&["get", "secrets", "-n", "ns-alice"]);
    alice.ok(&["scale", "deployment", "web", "-n", "ns-alice", "--replicas=3"]);
    alice.ok(&["create", "role", "reader", "-n", "ns-alice", "--verb=get,list", "--resource=pods"]);
    alice.ok(&["create", "rolebinding", "bob-views", "-n", "ns-alice", "--clusterrole=view", "--user=bob"]);
    alice.ok(&["delete", "deployment", "web", "-n", "ns-alice"]);

    // Nothing in bob's, with Kubernetes' words.
    let err = alice.fails(&["get", "pods", "-n", "ns-bob"]);
    assert!(
        err.contains(r#"Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "ns-bob""#),
        "{err}"
    );
    let err = alice.fails(&["get", "configmap", "bobs", "-n", "ns-bob"]);
    assert!(
        err.contains(r#"configmaps "bobs" is forbidden: User "alice" cannot get resource "configmaps" in API group "" in the namespace "ns-bob""#),
        "{err}"
    );
    let err = alice.fails(&["create", "deployment", "x", "-n", "ns-bob", "--image=nginx"]);
    assert!(err.contains(r#"cannot create resource "deployments" in API group "apps" in the namespace "ns-bob""#), "{err}");

    // No Secrets cluster-wide, no cluster-scoped objects.
    let err = alice.fails(&["get", "secrets", "--all-namespaces"]);
    assert!(
        err.contains(r#"secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" at the cluster scope"#),
        "{err}"
    );
    let err = alice.fails(&["get", "namespaces"]);
    assert!(err.contains(r#"cannot list resource "namespaces" in API group "" at the cluster scope"#), "{err}");

    // She cannot make herself cluster-admin, neither cluster-wide ...
    let err = alice.fails(&["create", "clusterrolebinding", "me", "--clusterrole=cluster-admin", "--user=alice"]);
    assert!(
        err.contains(r#"clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "alice" cannot create resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope"#),
        "{err}"
    );
    // ... nor in her namespace (escalation prevention) ...
    let err = alice.fails(&["create", "rolebinding", "me", "-n", "ns-alice", "--clusterrole=cluster-admin", "--user=alice"]);
    assert!(err.contains(r#"rolebindings.rbac.authorization.k8s.io "me" is forbidden: user "alice""#), "{err}");
    assert!(err.contains("is attempting to grant RBAC permissions not currently held"), "{err}");
    // ... nor by writing a Role with more than she holds.
    let err = alice.fails(&["create", "role", "big", "-n", "ns-alice", "--verb=*", "--resource=nodes"]);
    assert!(err.contains("is attempting to grant RBAC permissions not currently held"), "{err}");
    // A binding to a role that does not exist is 404, as in Kubernetes.
    let err = alice.fails(&["create", "rolebinding", "ghost", "-n", "ns-alice", "--role=nope", "--user=bob"]);
    assert!(err.contains(r#"roles.rbac.authorization.k8s.io "nope" not found"#), "{err}");

    // The admin sees what she made.
    let rb = admin.json(&["get", "rolebinding", "bob-views", "-n", "ns-alice"]);
    assert_eq!(rb["subjects"][0]["name"], "bob");
}

#[test]
fn rbac_auth_can_i_answers_as_kubernetes() {
    let (_nubis, admin, alice) = cluster();
    let yes = |k: &Kubectl, args: &[&str]| {
        let mut a = vec!["auth", "can-i"];
        a.extend_from_slice(args);
        let out = k.run(&a);
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(text == "yes" || text == "no", "can-i {args:?}: {text} / {}", String::from_utf8_lossy(&out.stderr));
        text == "yes"
    };
    assert!(yes(&alice, &["create", "pods", "-n", "ns-alice"]));
    assert!(yes(&alice, &["delete", "secrets", "-n", "ns-alice"]));
    assert!(yes(&alice, &["get", "deployments.apps/scale", "-n", "ns-alice"]));
    assert!(yes(&alice, &["get", "pods/log", "-n", "ns-alice"]));
    assert!(!yes(&alice, &["list", "pods", "-n", "ns-bob"]));
    assert!(!yes(&alice, &["get", "secrets", "--all-namespaces"]));
    assert!(!yes(&alice, &["create", "namespaces"]));
    assert!(!yes(&alice, &["create", "clusterrolebindings"]));
    assert!(yes(&alice, &["get", "/api"]));
    assert!(!yes(&alice, &["get", "/metrics"]));
    // The admin asks on her behalf (SubjectAccessReview via impersonation).
    assert!(yes(&admin, &["create", "pods", "-n", "ns-alice", "--as=alice"]));
    assert!(!yes(&admin, &["create", "pods", "-n", "ns-bob", "--as=alice"]));
    assert!(!yes(&admin, &["get", "configmaps", "-n", "ns-alice", "--as=carol", "--as-group=viewers"]));

    // --list shows exactly her rights: the admin role's rules in her
    // namespace plus what every authenticated user has.
    let list = alice.ok(&["auth", "can-i", "--list", "-n", "ns-alice"]);
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].starts_with("Resources") && lines[0].contains("Non-Resource URLs"), "{list}");
    let row = |resource: &str| -> String {
        lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(resource))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("no row for {resource} in:\n{list}"))
    };
    // Verbs in the order kubectl merges them from the aggregated rules, as
    // a real cluster prints them.
    assert_eq!(row("pods"), "pods [] [] [create delete deletecollection patch update get list watch]");
    assert_eq!(row("secrets"), "secrets [] [] [get list watch create delete deletecollection patch update]");
    assert_eq!(row("pods/log"), "pods/log [] [] [get list watch]");
    assert_eq!(row("deployments.apps/scale"), "deployments.apps/scale [] [] [create delete deletecollection patch update get list watch]");
    assert_eq!(row("selfsubjectaccessreviews.authorization.k8s.io"), "selfsubjectaccessreviews.authorization.k8s.io [] [] [create]");
    assert_eq!(row("rolebindings.rbac.authorization.k8s.io"), "rolebindings.rbac.authorization.k8s.io [] [] [create delete deletecollection get list patch update watch]");
    assert!(lines.iter().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["[/api/*]", "[]", "[get]"]), "{list}");
    assert!(!list.contains("nodes"), "no cluster-scoped rights: {list}");
    let elsewhere = alice.ok(&["auth", "can-i", "--list", "-n", "ns-bob"]);
    assert!(!elsewhere.lines().any(|l| l.starts_with("pods ")), "{elsewhere}");
    assert!(elsewhere.contains("selfsubjectreviews.authentication.k8s.io"), "{elsewhere}");

    // whoami through SelfSubjectReview.
    let who = alice.ok(&["auth", "whoami"]);
    assert!(who.contains("alice") && who.contains("system:authenticated"), "{who}");
}

#[test]
fn rbac_impersonation_needs_the_impersonate_verb() {
    let (nubis, admin, alice) = cluster();
    // The admin may impersonate; the request then runs as alice.
    let err = admin.fails(&["get", "pods", "-n", "ns-bob", "--as=alice"]);
    assert!(err.contains(r#"User "alice" cannot list resource "pods""#), "{err}");
    admin.ok(&["get", "pods", "-n", "ns-alice", "--as=alice"]);
    let who = admin.ok(&["auth", "whoami", "--as=alice", "--as-group=team", "-o", "json"]);
    let who: serde_json::Value = serde_json::from_str(&who).expect("whoami json");
    assert_eq!(who["status"]["userInfo"]["username"], "alice");
    assert_eq!(who["status"]["userInfo"]["groups"], serde_json::json!(["team", "system:authenticated"]));

    // Alice may not, until she is allowed to impersonate bob only.
    let err = alice.fails(&["get", "pods", "-n", "ns-alice", "--as=bob"]);
    assert!(
        err.contains(r#"users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope"#),
        "{err}"
    );
    admin.ok(&["create", "clusterrole", "be-bob", "--verb=impersonate", "--resource=users", "--resource-name=bob"]);
    admin.ok(&["create", "clusterrolebinding", "alice-be-bob", "--clusterrole=be-bob", "--user=alice"]);
    let err = alice.fails(&["get", "configmaps", "-n", "ns-bob", "--as=bob"]);
    assert!(err.contains(r#"User "bob" cannot list resource "configmaps""#), "{err}");
    let err = alice.fails(&["get", "pods", "--as=carol"]);
    assert!(err.contains(r#"users "carol" is forbidden"#), "{err}");
    drop(nubis);
}

#[test]
fn authn_service_account_tokens_work_and_expire() {
    let (mut nubis, admin, _alice) = cluster();
    admin.ok(&["create", "serviceaccount", "robot", "-n", "ns-alice"]);
    admin.ok(&["create", "rolebinding", "robot-view", "-n", "ns-alice", "--clusterrole=view", "--serviceaccount=ns-alice:robot"]);
    let token = admin.ok(&["create", "token", "robot", "-n", "ns-alice", "--duration=10m"]).trim().to_string();
    let robot = nubis.kubectl_as(V, &nubis.token_kubeconfig("robot", &token));

    let who = robot.ok(&["auth", "whoami", "-o", "json"]);
    let who: serde_json::Value = serde_json::from_str(&who).expect("whoami json");
    assert_eq!(who["status"]["userInfo"]["username"], "system:serviceaccount:ns-alice:robot");
    assert_eq!(
        who["status"]["userInfo"]["groups"],
        serde_json::json!(["system:serviceaccounts", "system:serviceaccounts:ns-alice", "system:authenticated"])
    );
    robot.ok(&["get", "configmaps", "-n", "ns-alice"]);
    let err = robot.fails(&["create", "configmap", "x", "-n", "ns-alice"]);
    assert!(err.contains(r#"User "system:serviceaccount:ns-alice:robot" cannot create resource "configmaps""#), "{err}");

    // TokenReview agrees, and says who it is.
    let review = admin.ok_stdin(
        &["create", "-o", "json", "-f", "-"],
        &format!(r#"{{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{{"token":"{token}"}}}}"#),
    );
    let review: serde_json::Value = serde_json::from_str(&review).expect("review json");
    assert_eq!(review["status"]["authenticated"], true, "{review}");
    assert_eq!(review["status"]["user"]["username"], "system:serviceaccount:ns-alice:robot");

    // A token bound to a Secret dies with it.
    admin.ok(&["create", "secret", "generic", "anchor", "-n", "ns-alice"]);
    let bound = admin
        .ok(&["create", "token", "robot", "-n", "ns-alice", "--bound-object-kind=Secret", "--bound-object-name=anchor"])
        .trim()
        .to_string();
    let anchored = nubis.kubectl_as(V, &nubis.token_kubeconfig("anchored", &bound));
    anchored.ok(&["get", "configmaps", "-n", "ns-alice"]);
    admin.ok(&["delete", "secret", "anchor", "-n", "ns-alice"]);
    let err = anchored.fails(&["get", "configmaps", "-n", "ns-alice"]);
    assert!(err.contains("Unauthorized"), "{err}");

    // Deleting the ServiceAccount ends its tokens too, but not before:
    // the 10-minute token still works now, and expires with time. The
    // server is restarted under a clock 2 hours ahead (libfaketime, from
    // Debian's `faketime` package).
    robot.ok(&["get", "configmaps", "-n", "ns-alice"]);
    nubis.stop();
    let lib = libfaketime();
    nubis.spawn_env(&[("LD_PRELOAD", &lib), ("FAKETIME", "+2h"), ("DONT_FAKE_MONOTONIC", "1")]);
    let err = robot.fails(&["get", "configmaps", "-n", "ns-alice"]);
    assert!(err.contains("Unauthorized"), "an expired token is refused: {err}");
    nubis.kubectl(V).ok(&["get", "configmaps", "-n", "ns-alice"]);
}

/// libfaketime's shared object, wherever Debian's multiarch layout put it.
fn libfaketime() -> String {
    let found = std::fs::read_dir("/usr/lib").into_iter().flatten().flatten().find_map(|arch| {
        let p = arch.path().join("faketime/libfaketime.so.1");
        p.exists().then(|| p.display().to_string())
    });
    found.expect("libfaketime.so.1 (Debian package faketime) is installed")
}

#[test]
fn authn_static_token_file_is_reloaded() {
    let (nubis, admin, _alice) = cluster();
    let path = nubis.data_dir().join("tokens.csv");
    std::fs::write(&path, "s3cret-carol,carol,uid-carol,\"viewers,ops\"\n").expect("write tokens.csv");
    admin.ok(&["create", "clusterrolebinding", "viewers-view", "--clusterrole=view", "--group=viewers"]);
    let carol = nubis.kubectl_as(V, &nubis.token_kubeconfig("carol", "s3cret-carol"));
    let mut who = String::new();
    for _ in 0..100 {
        let out = carol.run(&["auth", "whoami", "-o", "json"]);
        if out.status.success() {
            who = String::from_utf8_lossy(&out.stdout).into_owned();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let who: serde_json::Value = serde_json::from_str(&who).expect("carol is known within 10 s");
    assert_eq!(who["status"]["userInfo"]["username"], "carol");
    assert_eq!(who["status"]["userInfo"]["uid"], "uid-carol");
    assert_eq!(who["status"]["userInfo"]["groups"], serde_json::json!(["viewers", "ops", "system:authenticated"]));
    carol.ok(&["get", "configmaps", "-n", "ns-bob"]);
    carol.fails(&["get", "secrets", "-n", "ns-bob"]);

    // Removing her line removes her.
    std::fs::write(&path, "other,dave,uid-dave,\n").expect("write tokens.csv");
    let mut refused = false;
    for _ in 0..100 {
        if !carol.run(&["get", "configmaps", "-n", "ns-bob"]).status.success() {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(refused, "carol's token still works 10 s after it was removed");
    let bad = nubis.kubectl_as(V, &nubis.token_kubeconfig("nobody", "wrong"));
    assert!(bad.fails(&["get", "pods"]).contains("Unauthorized"));
}

#[test]
fn rbac_python_client() {
    let nubis = Nubis::start();
    let alice = nubis.user_kubeconfig("alice", &[]);
    support::run_python("tenancy.py", &nubis.kubeconfig(), &[nubis.kubeconfig().as_os_str(), alice.as_os_str()], "python tenancy ok");
}
