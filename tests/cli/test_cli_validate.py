"""`kfctl validate`: default files, located errors with exit 2, the resolved component list."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kfctl.catalog import load_catalog
from kfctl.cli import validate as validate_mod
from kfctl.cli.main import cli

DATA = Path(__file__).resolve().parent.parent / "data"
BAD = DATA / "kfdefs" / "bad"
GOOD = DATA / "kfdefs" / "good"


@pytest.fixture(autouse=True)
def fake_catalog(monkeypatch):
    catalog = load_catalog(manifests=DATA / "catalog" / "manifests", platforms=DATA / "catalog" / "platforms")
    monkeypatch.setattr(validate_mod, "load_catalog", lambda: catalog)
    return catalog


def test_valid_file_prints_components_in_dependency_order(runner):
    result = runner.invoke(cli, ["validate", "-f", str(GOOD / "minimal.yaml")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (f"{GOOD / 'minimal.yaml'}: valid KfDef 'my-kubeflow': namespace kubeflow, "
                        "platform generic (the default)")
    assert "  katib requires cert-manager: added" in lines
    order = [line.split(".", 1)[1].split()[0] for line in lines if line[:4].strip().rstrip(".").isdigit()]
    assert order == ["cert-manager", "kubeflow-core", "katib", "notebooks"]
    assert any("cert-manager" in line and "added: required by katib" in line for line in lines)


def test_json_output(runner, monkeypatch):
    monkeypatch.setenv("KFCTL_TEST_S3_KEY", "x")
    result = runner.invoke(cli, ["validate", "-f", str(GOOD / "secrets_and_repos.yaml"), "-o", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["platform"] == "aws" and doc["name"] == "with-secrets"
    assert [c["name"] for c in doc["components"]] == ["cert-manager", "kubeflow-core", "pipelines"]
    assert doc["components"][2]["parameters"] == {"objectStore": "seaweedfs", "storageSize": "50Gi"}
    assert doc["repoApplications"][0]["path"] == "spark/spark-operator"
    assert doc["warnings"] == ["secret 'db-password' (line 26) is a literalSource: its value is plain text in the "
                               "KfDef; prefer envSource and keep the value out of files"]


def test_warnings_go_to_stderr(runner, monkeypatch):
    monkeypatch.delenv("KFCTL_TEST_S3_KEY", raising=False)
    result = runner.invoke(cli, ["validate", "-f", str(GOOD / "secrets_and_repos.yaml")])
    assert result.exit_code == 0
    assert "warning: secret 's3-key': environment variable KFCTL_TEST_S3_KEY is not set" in result.stderr
    assert "warning:" not in result.stdout


def test_default_file_is_kfdef_yaml_then_app_yaml(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 2
    assert "no kfdef.yaml or app.yaml here" in result.stderr
    shutil.copy(BAD / "v1alpha1.yaml", tmp_path / "app.yaml")
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 2
    assert "app.yaml:2:13: apiVersion: kfdef.apps.kubeflow.org/v1alpha1 is kfctl 0.5's format" in result.stderr
    shutil.copy(GOOD / "v1beta1.yaml", tmp_path / "kfdef.yaml")
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("kfdef.yaml: valid KfDef 'beta'")


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bad_file_exits_2_with_a_location_and_no_traceback(runner, path):
    before = path.read_bytes()
    result = runner.invoke(cli, ["validate", "-f", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}:")
    assert "Traceback" not in result.output and "Internal error" not in result.output
    assert path.read_bytes() == before, "validate never rewrites the file"


def test_missing_file_is_exit_2(runner, tmp_path):
    result = runner.invoke(cli, ["validate", "-f", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml: no such file" in result.stderr


@pytest.mark.timeout(60)
def test_real_process_reports_located_errors(tmp_path):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-m", "kfctl", "validate", "-f", str(BAD / "tab-indentation.yaml")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert f"{BAD / 'tab-indentation.yaml'}:8:1: tab character in indentation" in proc.stderr
    assert "Traceback" not in proc.stderr
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: '" + b"x" * (3 * 1024 * 1024) + b"'\n")
    proc = subprocess.run([sys.executable, "-m", "kfctl", "validate", "-f", str(big)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and "file is larger than 1 MiB" in proc.stderr


def _alias_bomb() -> bytes:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("content", "message"), [
    (b"\x7fELF\x02\x01\x01\x00\x00\x00", ":1:8: binary data (a NUL byte)"),
    (b"\xff\xd8\xff\xe0 JFIF", ":1:1: not UTF-8 text (byte 0xff)"),
    (_alias_bomb(), "alias bomb"),
    (b"a: " + b"[" * 200_000 + b"]" * 200_000, ":1:"),
    (b"".join(b" " * i + b"k:\n" for i in range(200)), "nesting deeper than 64 levels"),
    (b"x: 1\n" * 20_000, "problems found (the first 50 are shown)"),
], ids=["binary", "not-utf8", "alias-bomb", "deep-flow", "deep-block", "duplicates"])
def test_hostile_inputs_end_in_exit_2(runner, tmp_path, content, message):
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content)
    result = runner.invoke(cli, ["validate", "-f", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output and "Internal error" not in result.output


def test_kfctl_1x_names_show_where_each_component_comes_from(runner):
    result = runner.invoke(cli, ["validate", "-f", str(GOOD / "gcp_iap.yaml")])
    assert result.exit_code == 0, result.output
    assert ": namespace kubeflow, platform gcp (from plugin KfGcpPlugin)\n" in result.stdout
    assert "  application 'iap-ingress' is provided by platform gcp\n" in result.stdout
    assert any(line.split()[1:] == ["katib", "from", "katib-crds,", "katib-controller"]
               for line in result.stdout.splitlines())
    assert "warning: application 'centraldashboard': kfctl 1.x kustomize parameter 'userid-header'" in result.stderr
