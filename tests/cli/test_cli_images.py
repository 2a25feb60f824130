"""``kfctl images``: the plan's images, one per line, as JSON, as copy pairs; ``spec.images`` refused clearly."""

from __future__ import annotations

import json
import re

import pytest

from kfctl.cli.main import cli

KFDEF = """\
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {name: demo}
spec:
  version: "26.03"
  platform: generic
  applications:
  - name: kubeflow-core
  - name: cert-manager
  - name: katib
"""
IMAGES = """\
  images:
    rewrite:
    - {from: quay.io/jetstack, to: registry.internal/jetstack}
    - {from: docker.io, to: "registry.internal:5000/hub"}
    imagePullSecrets: [internal-registry]
"""


def _run(runner, tmp_path, text, *args):
    (tmp_path / "kfdef.yaml").write_text(text)
    return runner.invoke(cli, ["images", "-f", str(tmp_path / "kfdef.yaml"), *args])


def test_one_image_per_line_sorted_and_unique(runner, tmp_path):
    result = _run(runner, tmp_path, KFDEF)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == sorted(set(lines))
    assert "quay.io/jetstack/cert-manager-controller:v1.19.4" in lines
    assert "quay.io/jetstack/cert-manager-acmesolver:v1.19.4" in lines  # told to the controller, in its args
    assert "ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.19.0" in lines  # katib-config
    assert "mysql:8.0" in lines


def test_rewritten_names_json_and_pairs(runner, tmp_path):
    result = _run(runner, tmp_path, KFDEF + IMAGES)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "registry.internal/jetstack/cert-manager-controller:v1.19.4" in lines
    assert "registry.internal:5000/hub/library/mysql:8.0" in lines
    assert not any(line.startswith("quay.io/") for line in lines)
    public = _run(runner, tmp_path, KFDEF + IMAGES, "--public").stdout.splitlines()
    assert public and all(line.startswith("ghcr.io/") for line in public)  # ghcr.io is not rewritten here
    pairs = dict(line.split(" ") for line in _run(runner, tmp_path, KFDEF + IMAGES, "--pairs").stdout.splitlines())
    assert pairs["docker.io/library/mysql:8.0"] == "registry.internal:5000/hub/library/mysql:8.0"  # SOURCE TARGET
    assert pairs["ghcr.io/kubeflow/katib/katib-ui:v0.19.0"] == "ghcr.io/kubeflow/katib/katib-ui:v0.19.0"
    doc = json.loads(_run(runner, tmp_path, KFDEF + IMAGES, "-o", "json").stdout)
    by_name = {i["image"]: i for i in doc["images"]}
    assert doc["namespaces"] == ["cert-manager", "kubeflow"]
    mysql = by_name["registry.internal:5000/hub/library/mysql:8.0"]
    assert mysql["source"] == "mysql:8.0" and mysql["public"] is False
    assert {"component": "katib", "object": "Deployment/kubeflow/katib-mysql", "where": "container katib-mysql",
            "category": "pod"} in mysql["uses"]


def test_show_applies_the_rewrite_and_pull_secrets(runner, tmp_path):
    (tmp_path / "kfdef.yaml").write_text(KFDEF + IMAGES)
    result = runner.invoke(cli, ["show", "-f", str(tmp_path / "kfdef.yaml"), "-c", "cert-manager"])
    assert result.exit_code == 0, result.output
    assert "image: registry.internal/jetstack/cert-manager-webhook:v1.19.4" in result.stdout
    assert "quay.io" not in result.stdout
    assert result.stdout.count("- name: internal-registry") >= 3


@pytest.mark.parametrize("rule, says", [
    ("{from: ghcr.io/kubeflow, to: kubeflow}", "rewrite[0].to: 'kubeflow' does not start with a registry host"),
    ("{from: ghcr.io/kubeflow, to: registry.internal/}", "ends with '/'"),
    ("{from: ghcr.io/kubeflow, to: 'registry.internal/kf:v1'}", "a tag"),
    ("{from: ghcr.io/kubeflow, to: 'https://registry.internal/kf'}", "scheme"),
    ("{from: kubeflow, to: registry.internal/kf}", "rewrite[0].from: 'kubeflow' does not start with a registry host"),
    ("{from: ghcr.io, to: r.internal/a}\n    - {from: ghcr.io, to: r.internal/b}", "'ghcr.io' is rewritten twice"),
    ("{from: ghcr.io}", "missing required field 'to'"),
])
def test_a_bad_rewrite_is_refused_with_its_line(runner, tmp_path, rule, says):
    result = _run(runner, tmp_path, KFDEF + f"  images:\n    rewrite:\n    - {rule}\n")
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert re.search(r"kfdef\.yaml:1[34]:\d+: spec\.images\.rewrite\[[01]\]", result.stderr)


def test_a_bad_pull_secret_name_is_refused(runner, tmp_path):
    result = _run(runner, tmp_path, KFDEF + "  images:\n    imagePullSecrets: [Internal_Registry]\n")
    assert result.exit_code == 2, result.output
    assert "not a valid Secret name" in result.stderr
