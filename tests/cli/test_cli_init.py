"""`kfctl init`: a commented kfdef.yaml that validates, never overwriting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kfctl.catalog import load_catalog
from kfctl.cli import init as init_mod
from kfctl.cli import validate as validate_mod
from kfctl.cli.main import cli

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(autouse=True)
def fake_catalog(monkeypatch):
    catalog = load_catalog(manifests=DATA / "catalog" / "manifests", platforms=DATA / "catalog" / "platforms")
    monkeypatch.setattr(init_mod, "load_catalog", lambda: catalog)
    monkeypatch.setattr(validate_mod, "load_catalog", lambda: catalog)
    return catalog


def test_init_writes_a_file_that_validates(runner, tmp_path, fake_catalog):
    app = tmp_path / "my-kf"
    result = runner.invoke(cli, ["init", str(app), "--platform", "gcp"])
    assert result.exit_code == 0, result.output
    text = (app / "kfdef.yaml").read_text()
    assert "  name: my-kf\n" in text and "  platform: gcp\n" in text
    for comp in fake_catalog.platforms["gcp"].components:
        assert f"  - name: {comp}\n" in text
    result = runner.invoke(cli, ["validate", "-f", str(app / "kfdef.yaml")])
    assert result.exit_code == 0, result.output
    assert "valid KfDef 'my-kf': namespace kubeflow, platform gcp\n" in result.stdout


def test_init_with_components_and_namespace(runner, tmp_path):
    app = tmp_path / "team"
    result = runner.invoke(cli, ["init", str(app), "--components", "katib, tensorboard", "--namespace", "ml",
                                 "--name", "team-a"])
    assert result.exit_code == 0, result.output
    text = (app / "kfdef.yaml").read_text()
    assert "  name: team-a\n  namespace: ml\n" in text
    assert [line for line in text.splitlines() if line.startswith("  - name:")] == [
        "  - name: katib", "  - name: tensorboard"]
    result = runner.invoke(cli, ["validate", "-f", str(app / "kfdef.yaml")])
    assert "katib requires cert-manager: added" in result.stdout


def test_init_refuses_to_overwrite(runner, tmp_path):
    app = tmp_path / "kf"
    assert runner.invoke(cli, ["init", str(app)]).exit_code == 0
    (app / "kfdef.yaml").write_text("mine\n")
    result = runner.invoke(cli, ["init", str(app), "--platform", "aws"])
    assert result.exit_code == 2
    assert "kfdef.yaml already exists: kfctl init never overwrites a KfDef" in result.stderr
    assert (app / "kfdef.yaml").read_text() == "mine\n"


@pytest.mark.parametrize(("args", "message"), [
    (["--components", "katbi"], "unknown component 'katbi'\nhint: did you mean 'katib'?"),
    (["--platform", "gpc"], "unknown platform 'gpc'\nhint: did you mean 'gcp'?"),
    (["--components", " , "], "--components is empty"),
    (["--namespace", "Kube_Flow"], "namespace 'Kube_Flow' is not a valid DNS-1123 label"),
])
def test_init_bad_options_exit_2_and_write_nothing(runner, tmp_path, args, message):
    app = tmp_path / "kf"
    result = runner.invoke(cli, ["init", str(app), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (app / "kfdef.yaml").exists()


def test_folder_name_that_is_no_dns_label_asks_for_name(runner, tmp_path):
    result = runner.invoke(cli, ["init", str(tmp_path / "My KF")])
    assert result.exit_code == 2
    assert "deployment name 'My KF' is not a valid DNS-1123 label\nhint: pass --name" in result.stderr


def test_init_target_that_is_a_file(runner, tmp_path):
    target = tmp_path / "afile"
    target.write_text("x")
    result = runner.invoke(cli, ["init", str(target)])
    assert result.exit_code == 2
    assert "afile' is a file" in result.stderr


@pytest.mark.timeout(60)
def test_real_process_init_then_validate_with_the_shipped_catalog(tmp_path):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    app = tmp_path / "shipped"
    proc = subprocess.run([sys.executable, "-m", "kfctl", "init", str(app)], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "kfctl", "validate"], cwd=app, capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("kfdef.yaml: valid KfDef 'shipped'")
    assert "Components, in dependency order:" in proc.stdout
