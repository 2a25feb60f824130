"""spec.secrets end to end: a parameter's ``valueFrom: {secret}`` reaches the cluster, never generate's files."""

from __future__ import annotations

import base64

import yaml

from kfctl.cli.main import cli

SECRET_LINE = "  - {name: registry-db, secretSource: {envSource: {name: KFCTL_TEST_REGISTRY_DB}}}"


def kfdef_with_secret(runner, tmp_path, reference: str = "registry-db"):
    app = tmp_path / "app"
    assert runner.invoke(cli, ["init", str(app), "--components", "model-registry"]).exit_code == 0
    kfdef = app / "kfdef.yaml"
    text = kfdef.read_text().replace(
        "  - name: model-registry\n",
        "  - name: model-registry\n    parameters:\n"
        f"    - name: dbPassword\n      valueFrom: {{secret: {reference}}}\n", 1)
    kfdef.write_text(text.rstrip("\n") + "\n  secrets:\n" + SECRET_LINE + "\n")
    return kfdef


def writes(sim, since: int = 0) -> list[tuple[str, str]]:
    return [(e["resource"], e["name"]) for e in sim.timeline()[since:]
            if e["verb"] in ("apply", "create", "update", "patch", "delete") and not e.get("dry_run")
            and not e["resource"].endswith("reviews")]  # apply's access check asks, it changes nothing


def live_secret(sim) -> dict:
    cluster = sim.cluster
    return cluster.get(cluster.rtype("v1", "Secret"), "kubeflow", "model-registry-db-secrets")


def test_apply_creates_the_secret_the_component_reads_and_a_new_value_reapplies_only_it(
        runner, tmp_path, sim_factory, monkeypatch):
    sim_cluster = sim_factory(behaviour=True, profile="instant")  # workloads become ready
    kfdef = kfdef_with_secret(runner, tmp_path)
    kc = ["--kubeconfig", sim_cluster.kubeconfig_path]
    monkeypatch.setenv("KFCTL_TEST_REGISTRY_DB", "first-Passw0rd")
    first = runner.invoke(cli, [*kc, "apply", "-f", str(kfdef), "-o", "plain", "--timeout", "2m"])
    assert first.exit_code == 0, first.output
    assert "first-Passw0rd" not in first.output
    secret = live_secret(sim_cluster)
    assert base64.b64decode(secret["data"]["MYSQL_ROOT_PASSWORD"]).decode() == "first-Passw0rd"
    cluster = sim_cluster.cluster
    db = cluster.get(cluster.rtype("apps/v1", "Deployment"), "kubeflow", "model-registry-db")
    refs = [e["secretRef"]["name"] for c in db["spec"]["template"]["spec"]["containers"]
            for e in c.get("envFrom", []) if "secretRef" in e]
    assert refs == ["model-registry-db-secrets"]

    mark = len(sim_cluster.timeline())
    same = runner.invoke(cli, [*kc, "apply", "-f", str(kfdef), "-o", "plain", "--timeout", "2m"])
    assert same.exit_code == 0 and " 0 writes" in same.output, same.output

    monkeypatch.setenv("KFCTL_TEST_REGISTRY_DB", "second-Passw0rd")
    mark = len(sim_cluster.timeline())
    second = runner.invoke(cli, [*kc, "apply", "-f", str(kfdef), "-o", "plain", "--timeout", "2m"])
    assert second.exit_code == 0, second.output
    assert base64.b64decode(live_secret(sim_cluster)["data"]["MYSQL_ROOT_PASSWORD"]).decode() == "second-Passw0rd"
    names = {name for _, name in writes(sim_cluster, mark)}
    # the Secret, and the inventory whose render digest (a SHA-256, not the value) changed
    assert names == {"model-registry-db-secrets", "kfctl-app"}, names
    inventory = cluster.get(cluster.rtype("v1", "ConfigMap"), "kubeflow", "kfctl-app")
    assert "second-Passw0rd" not in str(inventory) and "first-Passw0rd" not in str(inventory)

    diff = runner.invoke(cli, [*kc, "diff", "-f", str(kfdef)])
    assert diff.exit_code == 0, diff.output
    monkeypatch.setenv("KFCTL_TEST_REGISTRY_DB", "third-Passw0rd")
    changed = runner.invoke(cli, [*kc, "diff", "-f", str(kfdef)])
    assert changed.exit_code == 3 and "update   Secret/kubeflow/model-registry-db-secrets" in changed.output
    assert "third-Passw0rd" not in changed.output
    assert base64.b64encode(b"third-Passw0rd").decode() not in changed.output


def test_generate_and_show_never_hold_the_value(runner, tmp_path, monkeypatch):
    kfdef = kfdef_with_secret(runner, tmp_path)
    monkeypatch.setenv("KFCTL_TEST_REGISTRY_DB", "never-in-Git-42")
    value = "never-in-Git-42"
    encoded = base64.b64encode(value.encode()).decode()
    out = tmp_path / "out"
    result = runner.invoke(cli, ["generate", "-f", str(kfdef), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Secret/kubeflow/model-registry-db-secrets" in result.output and "secrets.example.yaml" in result.output
    files = {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()}
    for rel, text in files.items():
        assert value not in text and encoded not in text, rel
    example = files["secrets.example.yaml"]
    assert "name: model-registry-db-secrets" in example
    assert "MYSQL_ROOT_PASSWORD: '<withheld: the value of KfDef secret registry-db>'" in example
    assert "secrets.example.yaml" not in files["kustomization.yaml"]
    tree = [doc for rel, text in files.items() if rel.endswith(".yaml") and rel != "secrets.example.yaml"
            for doc in yaml.safe_load_all(text) if doc]
    assert not [d for d in tree if d.get("kind") == "Secret" and d["metadata"]["name"] == "model-registry-db-secrets"]
    # the workloads still read the Secret, which someone must create for a GitOps deployment
    assert any(e.get("secretRef", {}).get("name") == "model-registry-db-secrets" for d in tree
               if d.get("kind") == "Deployment" for c in d["spec"]["template"]["spec"]["containers"]
               for e in c.get("envFrom", []))
    again = runner.invoke(cli, ["generate", "-f", str(kfdef), "-o", str(out)])
    assert again.exit_code == 0 and "no changes" in again.output  # byte-identical, whatever the value
    monkeypatch.setenv("KFCTL_TEST_REGISTRY_DB", "another-value-43")
    assert "no changes" in runner.invoke(cli, ["generate", "-f", str(kfdef), "-o", str(out)]).output
    shown = runner.invoke(cli, ["show", "-f", str(kfdef), "-c", "model-registry"])
    assert shown.exit_code == 0 and value not in shown.output and encoded not in shown.output
    assert "kfctl.dev/secret-values: 'withheld: MYSQL_ROOT_PASSWORD" in shown.output
    # generate needs no value at all (CI without credentials)
    monkeypatch.delenv("KFCTL_TEST_REGISTRY_DB")
    assert runner.invoke(cli, ["generate", "-f", str(kfdef), "-o", str(out)]).exit_code == 0


def test_unknown_secret_name_is_exit_2_naming_the_line(runner, tmp_path, sim_cluster, monkeypatch):
    kfdef = kfdef_with_secret(runner, tmp_path, reference="registry-dbb")
    monkeypatch.setenv("KFCTL_TEST_REGISTRY_DB", "x-Passw0rd")
    line = kfdef.read_text().splitlines().index("      valueFrom: {secret: registry-dbb}") + 1
    before = len(sim_cluster.timeline())
    for command in (["validate"], ["generate", "-o", str(tmp_path / "out")], ["apply"], ["diff"]):
        result = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, *command, "-f", str(kfdef)])
        assert result.exit_code == 2, (command, result.output)
        assert f"{kfdef}:{line}:" in result.output
        assert "takes secret 'registry-dbb', which spec.secrets does not declare (did you mean 'registry-db'?)" \
            in result.output
    assert len(sim_cluster.timeline()) == before
    assert not (tmp_path / "out").exists()


def test_value_from_on_a_parameter_that_is_not_secret_is_refused(runner, tmp_path):
    kfdef = kfdef_with_secret(runner, tmp_path)
    kfdef.write_text(kfdef.read_text().replace("name: dbPassword", "name: storageClassName"))
    result = runner.invoke(cli, ["validate", "-f", str(kfdef)])
    assert result.exit_code == 2
    assert "parameter 'storageClassName' of model-registry is not a secret" in result.output
    assert "secret parameters of model-registry: dbPassword" in result.output


def test_dry_run_needs_no_secret_value(runner, tmp_path, monkeypatch):
    kfdef = kfdef_with_secret(runner, tmp_path)
    monkeypatch.delenv("KFCTL_TEST_REGISTRY_DB", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    result = runner.invoke(cli, ["apply", "-f", str(kfdef), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "KFCTL_TEST_REGISTRY_DB is not set (kfctl apply will need it)" in result.stderr
