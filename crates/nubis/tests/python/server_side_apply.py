"""Server-side apply through the Python kubernetes client: the dynamic
client's server_side_apply (create, two managers, a conflict, a forced
apply) and the typed API with the apply content type."""

from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException


def deployment(replicas):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]},
            },
        },
    }


def managers(obj):
    return sorted((e["manager"], e["operation"]) for e in obj["metadata"]["managedFields"])


def main():
    config.load_kube_config()
    api_client = client.ApiClient()
    dyn = dynamic.DynamicClient(api_client)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")

    created = deployments.server_side_apply(body=deployment(2), field_manager="py-a").to_dict()
    assert created["spec"]["replicas"] == 2, created["spec"]
    assert managers(created) == [("py-a", "Apply")], managers(created)

    try:
        deployments.server_side_apply(body=deployment(4), field_manager="py-b")
        raise AssertionError("a conflicting apply succeeded")
    except dynamic.exceptions.ConflictError as e:
        assert 'conflict with \\"py-a\\": .spec.replicas' in e.body, e.body

    forced = deployments.server_side_apply(body=deployment(4), field_manager="py-b", force_conflicts=True).to_dict()
    assert forced["spec"]["replicas"] == 4
    assert managers(forced) == [("py-a", "Apply"), ("py-b", "Apply")], managers(forced)

    # The typed API with the apply content type.
    core = client.CoreV1Api()
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}}
    got = core.patch_namespaced_config_map(
        "cfg", "default", cm, field_manager="py-typed", _content_type="application/apply-patch+yaml"
    )
    assert got.data == {"a": "1"}, got.data
    assert [(e.manager, e.operation) for e in got.metadata.managed_fields] == [("py-typed", "Apply")]
    try:
        core.patch_namespaced_config_map("cfg", "default", cm, _content_type="application/apply-patch+yaml")
        raise AssertionError("an apply without fieldManager succeeded")
    except ApiException as e:
        assert e.status == 422, e

    print("python server-side apply ok")


if __name__ == "__main__":
    main()
