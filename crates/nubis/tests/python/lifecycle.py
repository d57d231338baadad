"""The object lifecycle through the Python kubernetes client (which sends
requests without a Content-Type on some calls)."""

import json
import sys
import threading

from kubernetes import client, config, watch


def main():
    config.load_kube_config()
    core = client.CoreV1Api()
    apps = client.AppsV1Api()

    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="py")))
    ns = core.read_namespace("py")
    assert ns.status.phase == "Active", ns.status

    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cfg", labels={"app": "py"}), data={"a": "1"})
    created = core.create_namespaced_config_map("py", cm)
    assert created.metadata.uid

    events = []
    started = threading.Event()

    def watch_cms():
        w = watch.Watch()
        started.set()
        for ev in w.stream(core.list_namespaced_config_map, "py",
                           resource_version=created.metadata.resource_version, timeout_seconds=10):
            events.append((ev["type"], ev["object"].metadata.name))
            if len(events) >= 2:
                w.stop()

    t = threading.Thread(target=watch_cms)
    t.start()
    started.wait()

    patched = core.patch_namespaced_config_map("cfg", "py", {"data": {"b": "2"}})
    assert patched.data == {"a": "1", "b": "2"}, patched.data
    core.delete_namespaced_config_map("cfg", "py")
    t.join(15)
    assert events == [("MODIFIED", "cfg"), ("DELETED", "cfg")], events

    # Replace (PUT) with the object as read, then again with the same,
    # now stale, resourceVersion: 409 Conflict, and nothing changes.
    core.create_namespaced_config_map(
        "py", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="rep"), data={"a": "1"}))
    read = core.read_namespaced_config_map("rep", "py")
    read.data = {"a": "2", "b": "3"}
    replaced = core.replace_namespaced_config_map("rep", "py", read)
    assert replaced.data == {"a": "2", "b": "3"}, replaced.data
    assert replaced.metadata.uid == read.metadata.uid
    assert int(replaced.metadata.resource_version) > int(read.metadata.resource_version), (
        read.metadata.resource_version, replaced.metadata.resource_version)
    read.data = {"a": "stale"}
    try:
        core.replace_namespaced_config_map("rep", "py", read)
        raise AssertionError("a replace with a stale resourceVersion succeeded")
    except client.exceptions.ApiException as e:
        assert e.status == 409, e
        status = json.loads(e.body)
        assert status["reason"] == "Conflict", status
        assert "the object has been modified" in status["message"], status
    after = core.read_namespaced_config_map("rep", "py")
    assert after.data == {"a": "2", "b": "3"}, after.data
    assert after.metadata.resource_version == replaced.metadata.resource_version

    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels={"app": "web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "web"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="nginx")]),
            ),
        ),
    )
    apps.create_namespaced_deployment("py", dep)
    got = apps.read_namespaced_deployment("web", "py")
    assert got.spec.template.spec.containers[0].image_pull_policy == "Always", got.spec.template.spec
    assert got.spec.strategy.type == "RollingUpdate"
    scale = apps.read_namespaced_deployment_scale("web", "py")
    assert scale.spec.replicas == 2
    apps.patch_namespaced_deployment_scale("web", "py", {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment("web", "py").spec.replicas == 4
    listed = apps.list_namespaced_deployment("py", label_selector="app=web")
    assert len(listed.items) == 0, "the deployment has no labels of its own"
    try:
        core.read_namespaced_config_map("cfg", "py")
        raise AssertionError("deleted config map still readable")
    except client.exceptions.ApiException as e:
        assert e.status == 404, e
    print("python lifecycle ok")


if __name__ == "__main__":
    sys.exit(main())
