"""Parity of kfctl's 26.03 bundles with upstream Kubeflow 26.03 (issue #13 item 3).

``bench/parity.py`` builds upstream 26.03's kustomize path(s) for each component
of 26.03's default set and compares them with kfctl's rendering (generic
platform): kinds and names, images, CRD versions and schemas, webhook rules and
selectors, Service and container ports, probes. Every difference must be
explained in ``tests/manifests/parity_allowances.yaml`` (reasons pointing at
manifests/README.md), and every explanation must still match a difference.
Upstream is built once per module (about 20 s of kustomize).
"""

from __future__ import annotations

import copy
import importlib.util
import sys

import pytest

from tests.shared_data import REPO_ROOT, shared_path, upstream_tarball

_spec = importlib.util.spec_from_file_location("kfctl_bench_parity", REPO_ROOT / "bench" / "parity.py")
parity = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = parity
_spec.loader.exec_module(parity)

COMPONENTS = parity.compared_components()


@pytest.fixture(scope="module")
def objects():
    """(upstream objects per component, kfctl objects per component), built once."""
    upstream = upstream_tarball("26.03").parent
    shared_path("upstream", "remote", "jobset-v0.10.1-manifests.yaml")
    return parity.upstream_objects(upstream, COMPONENTS), parity.kfctl_objects(COMPONENTS)


@pytest.fixture(scope="module")
def rows(objects):
    return {row.component: row for row in parity.compare(*objects)}


@pytest.fixture(scope="module")
def allowances():
    return parity.load_allowances()


def test_every_26_03_component_has_its_upstream_paths():
    release = parity.load_catalog(release=parity.RELEASE)
    assert set(COMPONENTS) == set(parity.UPSTREAM_PATHS) == set(release.components), (
        "every 26.03 component is compared with an upstream path")
    # that every path builds is test_every_component_is_compared's business (kustomize fails on a missing one)


def test_every_component_is_compared(rows):
    assert set(rows) == set(COMPONENTS)
    for name, row in rows.items():
        assert row.upstream > 0 and row.kfctl > 0, f"{name}: nothing compared ({row})"
        assert row.matched > 0.9 * row.kfctl, f"{name}: only {row.matched} of {row.kfctl} objects found upstream"


@pytest.mark.parametrize("component", COMPONENTS)
def test_no_unexplained_difference(rows, allowances, component):
    _, unexplained, _ = parity.explain(rows[component].differences, allowances)
    assert unexplained == [], (
        f"{component}: {len(unexplained)} difference(s) from upstream 26.03 without a reason in "
        "tests/manifests/parity_allowances.yaml (run bench/parity.py --unexplained):\n  " + "\n  ".join(unexplained))


def test_every_allowance_still_explains_a_difference(rows, allowances):
    every = [d for row in rows.values() for d in row.differences]
    _, _, used = parity.explain(every, allowances)
    stale = sorted(set(allowances) - used)
    assert stale == [], "allowances that match no difference any more (remove them):\n  " + "\n  ".join(stale)


def test_no_crd_schema_prunes_what_upstream_accepts(rows):
    pruned = [d for row in rows.values() for d in row.differences if d.endswith(":pruned")]
    assert pruned == []


def test_the_table_counts_each_aspect(rows, allowances):
    text = parity.table(list(rows.values()), allowances)
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.split()}
    for name, row in rows.items():
        cells = lines[name]
        assert [int(c) for c in cells[1:4]] == [row.upstream, row.kfctl, row.matched]
        assert int(cells[-1]) == 0 and int(cells[-2]) == len(row.differences)
        assert sum(int(c) for c in cells[4:-2]) == len(row.differences)


def _find(objs, kind, name):
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def test_a_changed_rendering_is_reported_as_unexplained(objects, allowances):
    """Each aspect the comparison claims to check: a change to kfctl's rendering shows up as a new difference."""
    upstream, kfctl = objects
    changed = copy.deepcopy(kfctl)
    katib = changed["katib"]
    controller = _find(katib, "Deployment", "katib-controller")
    container = controller["spec"]["template"]["spec"]["containers"][0]
    container["image"] = "example.invalid/katib-controller:v0"
    container["ports"] = [{"containerPort": 1234}]
    container.pop("readinessProbe", None)
    _find(katib, "Service", "katib-controller")["spec"]["ports"][0]["port"] = 4444
    _find(katib, "ServiceAccount", "katib-controller")["apiVersion"] = "v2"
    experiments = _find(katib, "CustomResourceDefinition", "experiments.kubeflow.org")
    experiments["spec"]["versions"][0]["served"] = False
    hook = _find(katib, "ValidatingWebhookConfiguration", "katib.kubeflow.org")
    hook["webhooks"][0]["rules"][0]["operations"] = ["DELETE"]
    hook["webhooks"][0]["clientConfig"]["service"]["path"] = "/elsewhere"
    certs = _find(changed["cert-manager"], "CustomResourceDefinition", "certificates.cert-manager.io")
    certs["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"].pop("dnsNames")
    runtime = _find(changed["kserve"], "ClusterServingRuntime", "kserve-sklearnserver")
    runtime["spec"]["containers"][0]["image"] = "example.invalid/sklearnserver:v0"
    changed["katib"] = [o for o in katib if not (o["kind"] == "Deployment" and o["metadata"]["name"] == "katib-ui")]
    changed["katib"].append({"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "not-upstream", "namespace": "kubeflow"}})
    rows = {row.component: row for row in parity.compare(upstream, changed)}
    _, unexplained, _ = parity.explain(rows["katib"].differences + rows["cert-manager"].differences, allowances)
    aspects = {d.split(":")[1] for d in unexplained}
    assert aspects >= {"api-version", "image", "container-ports", "probes", "service-ports", "crd-versions", "webhook",
                       "missing", "extra", "crd-spec-fields"}, unexplained
    assert "katib:missing:Deployment/kubeflow/katib-ui" in unexplained
    hook_key = f"katib:webhook:ValidatingWebhookConfiguration/katib.kubeflow.org/{hook['webhooks'][0]['name']}"
    assert {hook_key + "/rules", hook_key + "/service"} <= set(unexplained)
    assert "katib:extra:ConfigMap/kubeflow/not-upstream" in unexplained
    _, kserve_unexplained, _ = parity.explain(rows["kserve"].differences, allowances)
    assert kserve_unexplained == [
        "kserve:image:ClusterServingRuntime/kserve-sklearnserver:example.invalid/sklearnserver:v0"]
    assert any(d.startswith("cert-manager:crd-spec-fields:") and d.endswith(":pruned") for d in unexplained)


def test_kustomize_name_hashes_are_left_out_of_upstream_names():
    key = parity.object_key
    generated = {"kind": "ConfigMap", "metadata": {"name": "oauth2-proxy-9t2b5k7hgd", "namespace": "oauth2-proxy"}}
    assert key(generated, set(), upstream=True) == "ConfigMap/oauth2-proxy/oauth2-proxy"
    assert key(generated, set(), upstream=False) == "ConfigMap/oauth2-proxy/oauth2-proxy-9t2b5k7hgd"
    plain = {"kind": "ConfigMap", "metadata": {"name": "inferenceservice-config", "namespace": "kubeflow"}}
    assert key(plain, set(), upstream=True) == "ConfigMap/kubeflow/inferenceservice-config"
    deployment = {"kind": "Deployment", "metadata": {"name": "model-registry-9t2b5k7hgd"}}
    assert key(deployment, set(), upstream=True) == "Deployment/kubeflow/model-registry-9t2b5k7hgd"
    assert key({"kind": "ClusterRole", "metadata": {"name": "x", "namespace": "kubeflow"}},
               {"ClusterRole"}, upstream=True) == "ClusterRole/x"
