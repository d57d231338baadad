"""RBAC and identity through the Python kubernetes client: the admin binds
alice to `admin` in her namespace; as alice, access reviews, rules
reviews, whoami and a 403 with Kubernetes' words; a TokenRequest token
used as a bearer token and checked with a TokenReview.

Usage: tenancy.py ADMIN_KUBECONFIG ALICE_KUBECONFIG"""

import sys

from kubernetes import client, config
from kubernetes.client.rest import ApiException


def api(kubeconfig):
    return config.new_client_from_config(config_file=kubeconfig)


def main():
    admin = api(sys.argv[1])
    alice = api(sys.argv[2])
    core = client.CoreV1Api(admin)
    rbac = client.RbacAuthorizationV1Api(admin)
    for ns in ("py-alice", "py-bob"):
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    rbac.create_namespaced_role_binding("py-alice", client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="alice-admin"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="admin"),
        subjects=[client.RbacV1Subject(kind="User", name="alice", api_group="rbac.authorization.k8s.io")]))

    authz = client.AuthorizationV1Api(alice)

    def can(verb, resource, namespace):
        review = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(verb=verb, resource=resource, namespace=namespace)))
        return authz.create_self_subject_access_review(review).status.allowed

    assert can("create", "pods", "py-alice")
    assert can("delete", "secrets", "py-alice")
    assert not can("list", "pods", "py-bob")
    assert not can("list", "secrets", None)

    rules = authz.create_self_subject_rules_review(client.V1SelfSubjectRulesReview(
        spec=client.V1SelfSubjectRulesReviewSpec(namespace="py-alice"))).status
    assert not rules.incomplete
    assert any("pods" in (r.resources or []) and "create" in r.verbs for r in rules.resource_rules), rules

    # The admin asks about alice (SubjectAccessReview).
    sar = client.AuthorizationV1Api(admin).create_subject_access_review(client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(user="alice", resource_attributes=client.V1ResourceAttributes(
            verb="get", resource="configmaps", namespace="py-bob"))))
    assert sar.status.allowed is False, sar.status

    who = client.AuthenticationV1Api(alice).create_self_subject_review(client.V1SelfSubjectReview())
    assert who.status.user_info.username == "alice", who.status
    assert "system:authenticated" in who.status.user_info.groups

    client.CoreV1Api(alice).create_namespaced_config_map(
        "py-alice", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="mine"), data={"a": "1"}))
    try:
        client.CoreV1Api(alice).list_namespaced_pod("py-bob")
        raise AssertionError("alice listed pods in py-bob")
    except ApiException as e:
        assert e.status == 403, e
        assert 'User \\"alice\\" cannot list resource \\"pods\\" in API group \\"\\" in the namespace \\"py-bob\\"' in e.body \
            or 'User "alice" cannot list resource "pods" in API group "" in the namespace "py-bob"' in e.body, e.body

    # A ServiceAccount token from TokenRequest, used as a bearer token.
    core.create_namespaced_service_account("py-alice", client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="bot")))
    rbac.create_namespaced_role_binding("py-alice", client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="bot-view"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="view"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="bot", namespace="py-alice")]))
    tr = core.create_namespaced_service_account_token("bot", "py-alice", client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)))
    token = tr.status.token
    assert tr.status.expiration_timestamp is not None

    conf = client.Configuration()
    conf.host = admin.configuration.host
    conf.ssl_ca_cert = admin.configuration.ssl_ca_cert
    conf.api_key = {"authorization": "Bearer " + token}
    bot = client.ApiClient(conf)
    names = [cm.metadata.name for cm in client.CoreV1Api(bot).list_namespaced_config_map("py-alice").items]
    assert "mine" in names, names
    try:
        client.CoreV1Api(bot).delete_namespaced_config_map("mine", "py-alice")
        raise AssertionError("a viewer deleted a ConfigMap")
    except ApiException as e:
        assert e.status == 403, e

    review = client.AuthenticationV1Api(admin).create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token)))
    assert review.status.authenticated, review.status
    assert review.status.user.username == "system:serviceaccount:py-alice:bot"
    bad = client.AuthenticationV1Api(admin).create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token="not-a-token")))
    assert not bad.status.authenticated

    print("python tenancy ok")


if __name__ == "__main__":
    sys.exit(main())
