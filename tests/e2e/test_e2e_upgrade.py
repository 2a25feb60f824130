"""Upgrades: a parameter change writes only what it changes; a removed component is pruned exactly.

Objects created by hand, or owned by another deployment, are never touched.
"""

from __future__ import annotations

from kfctl.cluster import connect
from kfctl.deploy import load_deployment
from kfctl.engine.inventory import PART_OF
from kfctl.kinds import BUILTIN

from e2e_support import apply, owned, write_kfdef

COMPONENTS = "kubeflow-core,cert-manager,istio,notebooks,tensorboard"


def set_parameter(kfdef, application: str, name: str, value: str) -> None:
    text = kfdef.read_text()
    marker = f"  - name: {application}\n"
    assert marker in text
    kfdef.write_text(text.replace(marker, f"{marker}    parameters:\n    - {{name: {name}, value: {value!r}}}\n", 1))


def remove_application(kfdef, application: str) -> None:
    lines = kfdef.read_text().splitlines(keepends=True)
    out, skipping = [], False
    for line in lines:
        if line.startswith("  - name: "):
            skipping = line.strip() == f"- name: {application}"
        if not skipping:
            out.append(line)
    kfdef.write_text("".join(out))


def applied_names(sim, since: int) -> set[tuple[str, str, str]]:
    return {(e["resource"], e.get("namespace") or "", e["name"]) for e in sim.timeline()[since:]
            if e["verb"] in ("apply", "create", "update", "patch") and not e.get("dry_run")}


def plural(ref) -> str:
    info = BUILTIN.get((ref.group, ref.kind))
    return info.plural if info else ref.kind.lower() + "s"


def test_parameter_change_writes_only_what_changes_and_prune_removes_exactly_a_component(tmp_path, kube):
    sim = kube()
    kfdef = write_kfdef(tmp_path / "kf", components=COMPONENTS)
    before, result = apply(sim, kfdef)
    assert result.ok, result.problems[:5]
    cluster = connect(sim.kubeconfig_path, None)
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "by-hand", "namespace": "kubeflow"}})
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "theirs", "namespace": "kubeflow", "labels": {PART_OF: "applyset-someone-else-v1"}}})
    untouched = {name: cluster.get("v1", "ConfigMap", "kubeflow", name)["metadata"]["resourceVersion"]
                 for name in ("by-hand", "theirs")}

    set_parameter(kfdef, "notebooks", "defaultCpu", "1")
    after = load_deployment(kfdef)
    changed = {ref for ref, node in after.plan.nodes.items() if node.manifest != before.plan.nodes[ref].manifest}
    assert changed, "the parameter must change something"
    mark = len(sim.timeline())
    _, result = apply(sim, kfdef)
    assert result.ok
    written = applied_names(sim, mark)
    expected = {(plural(r), r.namespace, r.name) for r in changed}
    assert {w for w in written if w[2] != "kfctl-kf"} == expected  # the inventory's own status aside
    assert result.writes == len(expected) + len(written - expected)

    remove_application(kfdef, "tensorboard")
    smaller = load_deployment(kfdef)
    gone = set(after.plan.nodes) - set(smaller.plan.nodes)
    assert gone and {after.plan.nodes[r].component for r in gone} == {"tensorboard"}
    _, result = apply(sim, kfdef)
    assert result.ok
    kept = {r for r in gone if r.kind in ("CustomResourceDefinition", "PersistentVolumeClaim")}
    assert set(result.pruned) == {str(r) for r in gone - kept}
    assert set(result.kept) == {str(r) for r in kept}
    assert set(owned(sim, smaller)) == set(smaller.plan.nodes)
    for name, version in untouched.items():
        assert cluster.get("v1", "ConfigMap", "kubeflow", name)["metadata"]["resourceVersion"] == version
