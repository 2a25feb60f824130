"""The in-place upgrade 1.10 -> 26.03 (issue #13 item 4) on the realistic sim, with a user's work in place.

An admin installed kfctl's 1.10 default set; a user made a Notebook, a TFJob
and a claim in their namespace. The admin changes only ``spec.version`` to
"26.03" (keeping 1.10's component list, training-operator included: 26.03
still has it, only not by default) and applies. What must hold:

- everything converges, with no write refused for a kind not served or an
  unready webhook;
- the user's objects are untouched: same uid and resourceVersion;
- kfctl writes exactly the objects whose rendering changed or is new, each
  once; an unchanged object is not written;
- prune removes exactly what 26.03 no longer renders (MinIO, a renamed
  RoleBinding), computed from the two renderings, and keeps (and releases)
  the claim ``minio-pvc`` with its data;
- no selector or roleRef changed, so nothing is replaced; the Istio CRDs
  change storage version (v1beta1 -> v1) while still serving v1beta1, so
  nothing stored becomes unreadable;
- the inventory records release 26.03, a re-apply writes nothing, and going
  back to 1.10 is refused.
"""

from __future__ import annotations

import time

from click.testing import CliRunner

from kfctl.cli.main import cli
from kfctl.cluster import connect
from kfctl.deploy import load_deployment
from kfctl.engine.inventory import PART_OF, RELEASED_FROM
from kfctl.engine.inventory import read_inventory
from kfctl.kinds import BUILTIN

from e2e_support import WRITE_VERBS, apply, owned, refused_writes, write_kfdef

USER_NS = "kubeflow-user-example-com"
KEPT_KINDS = {("apiextensions.k8s.io", "CustomResourceDefinition"), ("", "PersistentVolumeClaim")}


#: (group, kind) -> resource, for the custom kinds of both renderings (filled from their CRDs)
PLURALS: dict[tuple[str, str], str] = {}


def learn_plurals(*deployments) -> None:
    for deployment in deployments:
        for ref, node in deployment.plan.nodes.items():
            if ref.kind == "CustomResourceDefinition":
                spec = node.manifest["spec"]
                PLURALS[(spec["group"], spec["names"]["kind"])] = spec["names"]["plural"]


def key(ref) -> tuple[str, str, str]:
    """How the sim's timeline names an object: (resource, namespace, name)."""
    info = BUILTIN.get((ref.group, ref.kind))
    return (info.plural if info else PLURALS[(ref.group, ref.kind)]), ref.namespace or "", ref.name


def user_objects() -> list[dict]:
    """What a user makes in their profile's namespace: a workspace claim, a Notebook mounting it, a TFJob."""
    container = {"name": "tensorflow", "image": "kubeflow/tf-mnist-with-summaries:latest",
                 "command": ["python", "/var/tf_mnist/mnist_with_summaries.py"]}
    return [
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": "ada-workspace", "namespace": USER_NS},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}},
        {"apiVersion": "kubeflow.org/v1", "kind": "Notebook", "metadata": {"name": "ada", "namespace": USER_NS},
         "spec": {"template": {"spec": {
             "containers": [{"name": "ada", "image": "ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-scipy:v1.10.0",
                             "volumeMounts": [{"name": "workspace", "mountPath": "/home/jovyan"}]}],
             "volumes": [{"name": "workspace", "persistentVolumeClaim": {"claimName": "ada-workspace"}}]}}}},
        {"apiVersion": "kubeflow.org/v1", "kind": "TFJob", "metadata": {"name": "mnist", "namespace": USER_NS},
         "spec": {"tfReplicaSpecs": {"Worker": {"replicas": 1, "restartPolicy": "OnFailure",
                                                "template": {"spec": {"containers": [container]}}}}}},
    ]


def remove_application(text: str, application: str) -> str:
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("  - name: "):
            skipping = line.strip() == f"- name: {application}"
        if not skipping:
            out.append(line)
    return "".join(out)


def written(sim, mark: int) -> set[tuple[str, str, str]]:
    return {(e["resource"], e.get("namespace") or "", e["name"]) for e in sim.timeline()[mark:]
            if e["verb"] in WRITE_VERBS and e["verb"] != "delete" and not e.get("dry_run") and e["code"] < 400}


def identity(cluster, obj: dict) -> tuple[str, str]:
    meta = obj["metadata"]
    live = cluster.get(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])
    assert live is not None, f"{obj['kind']}/{meta['name']} is gone"
    return live["metadata"]["uid"], live["metadata"]["resourceVersion"]


def wait_bound(cluster, namespace: str, name: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        claim = cluster.get("v1", "PersistentVolumeClaim", namespace, name)
        if (claim.get("status") or {}).get("phase") == "Bound" or time.monotonic() > deadline:
            return claim
        time.sleep(0.1)


def test_upgrade_1_10_to_26_03_in_place_keeps_the_users_work_and_writes_only_what_changed(tmp_path, kube_sim):
    sim = kube_sim()
    kfdef = write_kfdef(tmp_path / "kf", version="1.10")
    assert 'version: "1.10"' in kfdef.read_text() and "  - name: training-operator\n" in kfdef.read_text()
    wall, start = time.monotonic(), sim.clock.now()
    old, result = apply(sim, kfdef)
    install = (sim.clock.now() - start, time.monotonic() - wall, result.writes)
    assert result.ok, [(str(o.ref), o.message) for o in result.problems][:10]

    cluster = connect(sim.kubeconfig_path, None)
    # the user's namespace as the Profile controller labels it, then their work
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": USER_NS, "labels": {
        "app.kubernetes.io/part-of": "kubeflow-profile", "istio-injection": "enabled",
        "katib.kubeflow.org/metrics-collector-injection": "enabled", "pipelines.kubeflow.org/enabled": "true"}}})
    for obj in user_objects():
        cluster.apply(obj)
    assert (wait_bound(cluster, USER_NS, "ada-workspace").get("status") or {}).get("phase") == "Bound"
    minio = wait_bound(cluster, "kubeflow", "minio-pvc")
    sim.sync()
    users = {obj["kind"]: identity(cluster, obj) for obj in user_objects()}

    # the admin's change: spec.version only
    text = kfdef.read_text()
    kfdef.write_text(text.replace('version: "1.10"', 'version: "26.03"', 1))
    new = load_deployment(kfdef)
    assert new.selection.release == "26.03" and "training-operator" in new.selection.names
    before, after = old.plan.nodes, new.plan.nodes
    learn_plurals(old, new)
    gone = set(before) - set(after)
    added = set(after) - set(before)
    changed = {r for r in set(before) & set(after) if before[r].manifest != after[r].manifest}
    unchanged = set(before) & set(after) - changed
    kept = {r for r in gone if (r.group, r.kind) in KEPT_KINDS}
    assert {str(r) for r in kept} == {"PersistentVolumeClaim/kubeflow/minio-pvc"}
    assert {(r.kind, r.name) for r in gone - kept} >= {("Deployment", "minio"), ("Service", "minio-service")}
    assert unchanged and changed and added

    # what an upgrade must not need: an immutable selector or roleRef changed (the engine would replace
    # the object), or a CRD no longer listing a version it stored (the API server would refuse it)
    for ref in changed:
        was, now = before[ref].manifest, after[ref].manifest
        if ref.kind in ("Deployment", "StatefulSet", "DaemonSet"):
            assert was["spec"]["selector"] == now["spec"]["selector"], ref
        if ref.kind.endswith("RoleBinding"):
            assert was["roleRef"] == now["roleRef"], ref
        if ref.kind == "CustomResourceDefinition":
            stored = {v["name"] for v in was["spec"]["versions"] if v.get("storage")}
            assert stored <= {v["name"] for v in now["spec"]["versions"] if v.get("served")}, ref

    mark = len(sim.timeline())
    wall, start = time.monotonic(), sim.clock.now()
    _, result = apply(sim, kfdef)
    upgrade = (sim.clock.now() - start, time.monotonic() - wall, result.writes)
    assert result.ok, [(str(o.ref), o.message) for o in result.problems][:10]
    assert (refused := refused_writes(sim)) == [], [(e["code"], e["verb"], e["name"]) for e in refused]

    # writes: each changed or new object once, nothing unchanged; the inventory; the kept claim released
    writes = [e for e in sim.timeline()[mark:] if e["verb"] in WRITE_VERBS and not e.get("dry_run") and e["code"] < 400]
    applied = [(e["resource"], e.get("namespace") or "", e["name"]) for e in writes if e["verb"] != "delete"]
    deleted = {(e["resource"], e.get("namespace") or "", e["name"]) for e in writes if e["verb"] == "delete"}
    inventory = ("configmaps", "kubeflow", "kfctl-kf")
    release = key(next(iter(kept)))
    objects = [w for w in applied if w not in (inventory, release)]
    assert sorted(objects) == sorted(key(r) for r in changed | added)  # each exactly once
    assert not {key(r) for r in unchanged} & set(applied)
    assert applied.count(release) == 1 and 1 <= applied.count(inventory) <= 2
    assert deleted == {key(r) for r in gone - kept}  # pruned, and nothing replaced
    assert result.writes == len(writes)

    # prune: exactly what 26.03 no longer has; the claim kept, released, with its volume
    assert set(result.pruned) == {str(r) for r in gone - kept}
    assert set(result.kept) == {str(r) for r in kept}
    claim = cluster.get("v1", "PersistentVolumeClaim", "kubeflow", "minio-pvc")
    assert claim["metadata"]["uid"] == minio["metadata"]["uid"] and claim["status"]["phase"] == "Bound"
    assert PART_OF not in claim["metadata"].get("labels", {})
    assert claim["metadata"]["annotations"][RELEASED_FROM] == new_set_id(new)
    assert set(owned(sim, new)) == set(after)

    # the user's objects: not written at all
    assert {obj["kind"]: identity(cluster, obj) for obj in user_objects()} == users

    # the Istio CRDs now store v1 and still serve v1beta1, which they stored before
    crd = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "virtualservices.networking.istio.io")
    assert [v["name"] for v in crd["spec"]["versions"] if v["storage"]] == ["v1"]
    assert {v["name"] for v in crd["spec"]["versions"] if v["served"]} >= {"v1beta1", "v1"}
    assert crd["status"]["storedVersions"] == ["v1beta1", "v1"]  # so 26.03 may not leave v1beta1 out

    recorded = read_inventory(cluster, "kf", "kubeflow")
    assert recorded is not None and recorded.status["release"] == "26.03"
    assert recorded.status["components"]["pipelines"] == new.status()["components"]["pipelines"]

    # a re-apply writes nothing
    _, again = apply(sim, kfdef)
    assert again.ok and again.writes == 0

    # Trainer arrives beside training-operator: both run, nothing of training-operator's is written
    upgraded = kfdef.read_text()
    kfdef.write_text(upgraded.replace("  - name: training-operator\n", "  - name: trainer\n  - name: training-operator\n", 1))
    mark = len(sim.timeline())
    both, result = apply(sim, kfdef)
    learn_plurals(both)
    assert result.ok and not result.pruned, [(str(o.ref), o.message) for o in result.problems][:10]
    trainer = {r for r, n in both.plan.nodes.items() if n.component == "trainer"}
    assert trainer == set(both.plan.nodes) - set(after)
    # Katib runs TrainJob trials once Trainer is there: its configuration changes, nothing else
    retuned = {r for r in after if after[r].manifest != both.plan.nodes[r].manifest}
    assert {both.plan.nodes[r].component for r in retuned} <= {"katib"}
    assert {w for w in written(sim, mark) if w != inventory} == {key(r) for r in trainer | retuned}
    assert {obj["kind"]: identity(cluster, obj) for obj in user_objects()} == users

    # dropping training-operator (26.03's defaults leave it out): its controller goes, its CRDs and the
    # user's TFJob stay
    kfdef.write_text(remove_application(kfdef.read_text(), "training-operator"))
    without = load_deployment(kfdef)
    operator = {r for r, n in both.plan.nodes.items() if n.component == "training-operator"}
    assert operator == set(both.plan.nodes) - set(without.plan.nodes)
    crds = {r for r in operator if r.kind == "CustomResourceDefinition"}
    assert {r.name for r in crds} >= {"tfjobs.kubeflow.org", "pytorchjobs.kubeflow.org"}
    _, result = apply(sim, kfdef)
    assert result.ok
    assert set(result.pruned) == {str(r) for r in operator - crds} and set(result.kept) == {str(r) for r in crds}
    assert cluster.get("apps/v1", "Deployment", "kubeflow", "training-operator") is None
    assert {obj["kind"]: identity(cluster, obj) for obj in user_objects()} == users

    # going back to 1.10 is refused before any write
    mark = len(sim.timeline())
    kfdef.write_text(text)
    down = CliRunner().invoke(cli, ["--kubeconfig", sim.kubeconfig_path, "apply", "-f", str(kfdef), "-o", "plain"])
    assert down.exit_code == 2, down.output
    assert "26.03" in down.output and "1.10" in down.output and "--allow-downgrade" in down.output
    assert not [e for e in sim.timeline()[mark:] if e["verb"] in WRITE_VERBS and not e.get("dry_run")
                and not e["resource"].endswith("reviews")]  # access reviews ask, they change nothing
    cluster.close()
    print(f"\n1.10 install: {install[0]:.0f} sim s, {install[1]:.1f} s wall, {install[2]} writes, {len(before)} objects"
          f"\nupgrade to 26.03: {upgrade[0]:.0f} sim s, {upgrade[1]:.1f} s wall, {upgrade[2]} writes "
          f"({len(changed)} changed + {len(added)} new objects, {len(deleted)} pruned, 1 claim released, "
          f"{applied.count(inventory)} inventory), {len(unchanged)} unchanged objects not written")


def new_set_id(deployment) -> str:
    from kfctl.engine.inventory import applyset_id

    return applyset_id(deployment.name, deployment.namespace)


def ready_endpoints(cluster, namespace: str, service: str) -> int:
    endpoints = cluster.get("v1", "Endpoints", namespace, service) or {}
    return sum(len(s.get("addresses") or []) for s in endpoints.get("subsets") or [])


def test_upgrade_with_no_prune_keeps_minio_serving_beside_seaweedfs_until_the_next_apply(tmp_path, kube_sim):
    """README's copy procedure: apply 26.03 with --no-prune, copy MinIO's bucket into SeaweedFS, apply again."""
    sim = kube_sim()
    kfdef = write_kfdef(tmp_path / "kf", version="1.10", components="kubeflow-core,cert-manager,istio,pipelines")
    old, result = apply(sim, kfdef)
    assert result.ok
    kfdef.write_text(kfdef.read_text().replace('version: "1.10"', 'version: "26.03"', 1))
    new = load_deployment(kfdef)
    gone = set(old.plan.nodes) - set(new.plan.nodes)
    claim = {r for r in gone if r.kind == "PersistentVolumeClaim"}
    assert {r.name for r in claim} == {"minio-pvc"}

    _, result = apply(sim, kfdef, prune=False)
    assert result.ok and not result.pruned and not result.kept and not result.pending_prune
    cluster = connect(sim.kubeconfig_path, None)
    try:
        # both stores run and answer on their Services: an S3 client can copy from one to the other
        for name, service in (("minio", "minio-service"), ("seaweedfs", "seaweedfs")):
            deployment = cluster.get("apps/v1", "Deployment", "kubeflow", name)
            assert (deployment.get("status") or {}).get("readyReplicas", 0) >= 1, name
            assert ready_endpoints(cluster, "kubeflow", service) >= 1, service
        members = {m.ref for m in read_inventory(cluster, "kf", "kubeflow").members}
        assert gone <= members  # still the deployment's: the next apply prunes them

        mark = len(sim.timeline())
        _, result = apply(sim, kfdef)
        assert result.ok
        assert set(result.pruned) == {str(r) for r in gone - claim} and set(result.kept) == {str(r) for r in claim}
        writes = [(e["verb"], e["resource"], e["name"]) for e in sim.timeline()[mark:]
                  if e["verb"] in WRITE_VERBS and not e.get("dry_run") and e["code"] < 400]
        objects = [w for w in writes if w[2] != "kfctl-kf"]
        assert sorted(w[2] for w in objects if w[0] == "delete") == sorted(r.name for r in gone - claim)
        assert [w for w in objects if w[0] != "delete"] == [("patch", "persistentvolumeclaims", "minio-pvc")]
        assert cluster.get("apps/v1", "Deployment", "kubeflow", "minio") is None
        assert cluster.get("v1", "PersistentVolumeClaim", "kubeflow", "minio-pvc")["status"]["phase"] == "Bound"
    finally:
        cluster.close()
