"""ResourceQuota admission through the Python kubernetes client: the quota
gets its status, the pod over the limit is refused with Kubernetes' 403."""

import json
import sys

from kubernetes import client, config


def pod(name):
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx:1.27")]),
    )


def main():
    config.load_kube_config()
    core = client.CoreV1Api()
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="pyq")))
    core.create_namespaced_resource_quota(
        "pyq", client.V1ResourceQuota(metadata=client.V1ObjectMeta(name="one"), spec=client.V1ResourceQuotaSpec(hard={"pods": "1"}))
    )
    core.create_namespaced_pod("pyq", pod("first"))
    try:
        core.create_namespaced_pod("pyq", pod("second"))
        raise AssertionError("the pod over the quota was admitted")
    except client.exceptions.ApiException as e:
        assert e.status == 403, e
        status = json.loads(e.body)
        assert status["reason"] == "Forbidden", status
        expected = 'pods "second" is forbidden: exceeded quota: one, requested: pods=1, used: pods=1, limited: pods=1'
        assert status["message"] == expected, status["message"]
    rq = core.read_namespaced_resource_quota("one", "pyq")
    assert rq.status.hard == {"pods": "1"} and rq.status.used == {"pods": "1"}, rq.status
    core.delete_namespaced_pod("first", "pyq")
    assert core.read_namespaced_resource_quota("one", "pyq").status.used == {"pods": "0"}
    core.create_namespaced_pod("pyq", pod("second"))
    print("python quota ok")


if __name__ == "__main__":
    sys.exit(main())
