"""What the in-place upgrade 1.10 -> 26.03 meets, read from the two renderings on every platform.

An admin upgrades by changing ``spec.version`` and keeping 1.10's components
(training-operator too, which 26.03 keeps as an optional component). The
API server refuses some changes to a live object, and these tests show
which of them this upgrade makes (README.md, "Upgrading"):

- a Deployment/StatefulSet/DaemonSet selector or a binding's roleRef
  (immutable: the engine would delete and re-create the object): none change;
- a CRD leaving out a version that 1.10 stored (the API server refuses to drop
  a version still in ``status.storedVersions``): none do. Istio's CRDs move
  their storage version from v1beta1 to v1 and keep serving v1beta1;
- a CRD dropping a conversion webhook: 1.10 has none, so none is dropped;
- what 26.03 no longer renders, which prune deletes: MinIO and a renamed
  RoleBinding; the claim ``minio-pvc`` is kept by the keep rule.
"""

from __future__ import annotations

import pytest

from kfctl.catalog import load_releases
from kfctl.render import RenderRequest, render

RELEASES = load_releases()
OLD, NEW = RELEASES.catalog("1.10"), RELEASES.catalog("26.03")
COMPONENTS = sorted(OLD.components)  # 1.10's whole set: every default set of 1.10 is part of it
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


def rendered(catalog, platform: str) -> dict[tuple[str, str, str], dict]:
    request = RenderRequest(platform=platform, components=catalog.resolve(COMPONENTS).order)
    return {(r.body["kind"], r.body["metadata"].get("namespace", ""), r.body["metadata"]["name"]): dict(r.body)
            for r in render(request, catalog).resources}


@pytest.fixture(scope="module", params=sorted(NEW.platforms))
def renderings(request):
    return rendered(OLD, request.param), rendered(NEW, request.param)


def test_no_immutable_field_changes(renderings):
    old, new = renderings
    both = set(old) & set(new)
    for key in sorted(both):
        was, now = old[key], new[key]
        if key[0] in WORKLOADS:
            assert was["spec"]["selector"] == now["spec"]["selector"], key
        if key[0].endswith("RoleBinding"):
            assert was["roleRef"] == now["roleRef"], key


def test_no_crd_drops_a_version_1_10_stored_nor_a_conversion_webhook(renderings):
    old, new = renderings
    moved = []
    for key in sorted(k for k in set(old) & set(new) if k[0] == "CustomResourceDefinition"):
        was, now = old[key]["spec"], new[key]["spec"]
        stored = {v["name"] for v in was["versions"] if v.get("storage")}
        served = {v["name"] for v in now["versions"] if v.get("served")}
        assert stored <= served, f"{key[2]} drops {stored - served}, which 1.10 stored"
        assert (was.get("conversion") or {}).get("strategy", "None") == "None", key
        if stored != {v["name"] for v in now["versions"] if v.get("storage")}:
            moved.append(key[2])
    assert moved and all(name.endswith(".istio.io") for name in moved)


def test_prune_set_is_minio_and_a_renamed_binding(renderings):
    old, new = renderings
    gone = {(kind, name) for kind, _, name in set(old) - set(new)}
    assert gone == {("Deployment", "minio"), ("Service", "minio-service"), ("PersistentVolumeClaim", "minio-pvc"),
                    ("NetworkPolicy", "minio"), ("AuthorizationPolicy", "minio-service"),
                    ("DestinationRule", "ml-pipeline-minio"),
                    ("RoleBinding", "cert-manager-cert-manager-tokenrequest")}
