"""Endpoints, EndpointSlices and storage binding as a client sees them."""

from __future__ import annotations

from kfctl.sim.behaviour import ClusterShape, ImageRule, Profile
from simb_helpers import deployment, pod, service


def _claim(name: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}, **spec}}


def _claim_phase(kube, name: str) -> str:
    claim = kube.core.read_namespaced_persistent_volume_claim(name, "default")
    return claim.status.phase if claim.status else ""


def test_endpoints_and_slices_list_ready_pods_of_the_selector(behaving) -> None:
    kube = behaving(profile=Profile(images=(ImageRule("slow/*", start=100000),)))
    kube.create(deployment("web", replicas=2), pod("other", labels={"app": "other"}),
                pod("starting", image="slow/app:1", labels={"app": "web"},
                    container={"ports": [{"containerPort": 80, "name": "http"}],
                               "readinessProbe": {"tcpSocket": {"port": "http"}}}),
                service("web", selector={"app": "web"}, port=80, target="http"))
    kube.kubectl("rollout", "status", "deploy/web", "--timeout=20s")

    def subsets():
        ep = kube.core.read_namespaced_endpoints("web", "default")
        s = ep.subsets or []
        return s if s and len(s[0].addresses or []) == 2 and len(s[0].not_ready_addresses or []) == 1 else None
    [subset] = kube.wait(subsets, what="two ready and one unready address")
    ready_pods = {p.metadata.name for p in kube.core.list_namespaced_pod("default", label_selector="app=web").items
                  if p.metadata.name != "starting"}
    assert {a.target_ref.name for a in subset.addresses} == ready_pods
    assert subset.not_ready_addresses[0].target_ref.name == "starting"
    assert [(p.name, p.port) for p in subset.ports] == [("https", 80)]
    [es] = kube.discovery.list_namespaced_endpoint_slice(
        "default", label_selector="kubernetes.io/service-name=web").items
    assert es.address_type == "IPv4" and es.metadata.owner_references[0].kind == "Service"
    assert sorted(e.conditions.ready for e in es.endpoints) == [False, True, True]
    assert "other" not in {e.target_ref.name for e in es.endpoints}
    table = kube.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=web").stdout.split("\n")
    assert table[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert table[1].split()[1:3] == ["IPv4", "80"] and table[1].split()[3].count(".") == 9
    kube.apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 0}})
    kube.wait(lambda: not (kube.core.read_namespaced_endpoints("web", "default").subsets or [{}])[0].addresses,
              what="no ready addresses after scaling to zero")


def test_claim_binds_through_the_default_storage_class(kube) -> None:
    [sc] = kube.storage.list_storage_class().items
    assert sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"] == "true"
    kube.create(_claim("data"))
    kube.wait(lambda: _claim_phase(kube, "data") == "Bound")
    claim = kube.core.read_namespaced_persistent_volume_claim("data", "default")
    assert claim.spec.storage_class_name == sc.metadata.name and claim.status.capacity["storage"] == "2Gi"
    pv = kube.core.read_persistent_volume(claim.spec.volume_name)
    assert pv.status.phase == "Bound" and pv.spec.claim_ref.uid == claim.metadata.uid
    assert kube.kubectl("get", "pvc", "data", "--no-headers").stdout.split()[1:5] == \
        ["Bound", claim.spec.volume_name, "2Gi", "RWO"]
    kube.core.delete_namespaced_persistent_volume_claim("data", "default")
    kube.wait(lambda: not kube.core.list_persistent_volume().items, what="volume reclaimed")


def test_claims_stay_pending_without_a_usable_class(behaving) -> None:
    kube = behaving(shape=ClusterShape(default_storage_class=False))
    kube.create(_claim("plain"), _claim("named", storageClassName="gold"))
    kube.wait(lambda: kube.events(name="plain", reason="FailedBinding") and
              kube.events(name="named", reason="ProvisioningFailed"))
    assert kube.events(name="plain")[0].message == \
        "no persistent volumes available for this claim and no storage class is set"
    assert kube.events(name="named", reason="ProvisioningFailed")[0].message == \
        'storageclass.storage.k8s.io "gold" not found'
    assert _claim_phase(kube, "plain") == "Pending" and _claim_phase(kube, "named") == "Pending"
    kube.storage.create_storage_class({"metadata": {"name": "gold"}, "provisioner": "example.com/disk"})
    kube.wait(lambda: _claim_phase(kube, "named") == "Bound")
    assert _claim_phase(kube, "plain") == "Pending"
    kube.storage.create_storage_class({"metadata": {"name": "std", "annotations": {
        "storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "example.com/disk"})
    kube.wait(lambda: _claim_phase(kube, "plain") == "Bound", what="retroactive default class")
    assert kube.core.read_namespaced_persistent_volume_claim("plain", "default").spec.storage_class_name == "std"


def test_wait_for_first_consumer_binds_once_a_pod_is_scheduled(behaving) -> None:
    kube = behaving(shape=ClusterShape(volume_binding_mode="WaitForFirstConsumer"))
    kube.create(_claim("late"))
    kube.wait(lambda: kube.events(name="late", reason="WaitForFirstConsumer"))
    assert _claim_phase(kube, "late") == "Pending"
    kube.create(pod("user", volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "late"}}]))
    kube.wait(lambda: _claim_phase(kube, "late") == "Bound")
    claim = kube.core.read_namespaced_persistent_volume_claim("late", "default")
    assert claim.metadata.annotations["volume.kubernetes.io/selected-node"] == "sim-node-1"
    kube.wait(lambda: kube.core.read_namespaced_pod("user", "default").status.phase == "Running")


def test_missing_claim_makes_a_pod_unschedulable(kube) -> None:
    kube.create(pod("orphan", volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "nope"}}]))
    event = kube.wait(lambda: kube.events(name="orphan", reason="FailedScheduling"))[0]
    assert 'persistentvolumeclaim "nope" not found' in event.message


def test_load_balancer_services_get_an_address(kube) -> None:
    kube.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gateway"},
                 "spec": {"type": "LoadBalancer", "selector": {"app": "gw"}, "ports": [{"port": 80}]}})
    svc = kube.wait(lambda: (lambda s: s if s.status.load_balancer.ingress else None)(
        kube.core.read_namespaced_service("gateway", "default")), what="a load balancer address")
    assert svc.status.load_balancer.ingress[0].ip.startswith("203.0.113.")
    assert [e.reason for e in kube.events(name="gateway")] == ["EnsuringLoadBalancer", "EnsuredLoadBalancer"]
    assert kube.kubectl("get", "svc", "gateway", "--no-headers").stdout.split()[3].startswith("203.0.113.")


def test_extra_storage_classes_serve_cloud_class_names(behaving) -> None:
    kube = behaving(shape=ClusterShape(extra_storage_classes=("standard-rwo",)))
    names = {sc.metadata.name: (sc.metadata.annotations or {}) for sc in kube.storage.list_storage_class().items}
    assert names == {"standard": {"storageclass.kubernetes.io/is-default-class": "true"}, "standard-rwo": {}}
    kube.create(_claim("cloud", storageClassName="standard-rwo"))
    kube.wait(lambda: _claim_phase(kube, "cloud") == "Bound")
