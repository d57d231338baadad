"""Custom resources through the Python kubernetes client: a CRD created
with ApiextensionsV1Api is served at once; CustomObjectsApi creates, reads,
lists and patches the status of objects; an invalid object is refused
with field causes; deleting the CRD removes its objects."""

import sys
import time

from kubernetes import client, config
from kubernetes.client.rest import ApiException

GROUP, VERSION, PLURAL = "py.example.com", "v1", "gadgets"


def main():
    config.load_kube_config()
    ext = client.ApiextensionsV1Api()
    objs = client.CustomObjectsApi()
    schema = client.V1JSONSchemaProps(type="object", properties={
        "spec": client.V1JSONSchemaProps(type="object", required=["size"], properties={
            "size": client.V1JSONSchemaProps(type="integer", minimum=1, maximum=5),
            "color": client.V1JSONSchemaProps(type="string", default="blue"),
        }),
        "status": client.V1JSONSchemaProps(type="object", properties={
            "ready": client.V1JSONSchemaProps(type="boolean")}),
    })
    crd = client.V1CustomResourceDefinition(
        metadata=client.V1ObjectMeta(name=f"{PLURAL}.{GROUP}"),
        spec=client.V1CustomResourceDefinitionSpec(
            group=GROUP, scope="Namespaced",
            names=client.V1CustomResourceDefinitionNames(plural=PLURAL, singular="gadget", kind="Gadget", short_names=["gd"]),
            versions=[client.V1CustomResourceDefinitionVersion(
                name=VERSION, served=True, storage=True,
                schema=client.V1CustomResourceValidation(open_apiv3_schema=schema),
                subresources=client.V1CustomResourceSubresources(status={}))]))
    start = time.monotonic()
    ext.create_custom_resource_definition(crd)

    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Gadget", "metadata": {"name": "g1"}, "spec": {"size": 3}}
    created = objs.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, body)
    assert time.monotonic() - start < 1.0, "served within a second"
    assert created["spec"] == {"size": 3, "color": "blue"}, created

    got = objs.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "g1")
    assert got["metadata"]["uid"] == created["metadata"]["uid"]
    listed = objs.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    assert [o["metadata"]["name"] for o in listed["items"]] == ["g1"], listed

    patched = objs.patch_namespaced_custom_object_status(GROUP, VERSION, "default", PLURAL, "g1", {"status": {"ready": True}})
    assert patched["status"] == {"ready": True}, patched

    bad = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Gadget", "metadata": {"name": "g2"}, "spec": {"size": 9}}
    try:
        objs.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, bad)
        raise AssertionError("an invalid Gadget was accepted")
    except ApiException as e:
        assert e.status == 422, e
        assert "spec.size" in e.body and "should be less than or equal to 5" in e.body, e.body

    ext.delete_custom_resource_definition(f"{PLURAL}.{GROUP}")
    try:
        objs.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
        raise AssertionError("the resource outlived its CRD")
    except ApiException as e:
        assert e.status == 404, e
    ext.create_custom_resource_definition(crd)
    again = objs.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    assert again["items"] == [], again

    print("python custom resources ok")


if __name__ == "__main__":
    sys.exit(main())
