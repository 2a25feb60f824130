"""`kfctl init` pins spec.version: the default release (26.03) unless --version names another."""

from __future__ import annotations

import pytest
import yaml

from kfctl.catalog import load_releases
from kfctl.cli.main import cli

SHIPPED = load_releases()


def test_init_defaults_to_26_03_and_pins_it(runner, tmp_path):
    app = tmp_path / "kf"
    result = runner.invoke(cli, ["init", str(app)])
    assert result.exit_code == 0, result.output
    assert "Kubeflow 26.03" in result.stdout
    doc = yaml.safe_load((app / "kfdef.yaml").read_text())
    assert doc["spec"]["version"] == "26.03"
    assert [a["name"] for a in doc["spec"]["applications"]] == \
        list(SHIPPED.catalog("26.03").platform("generic").components)
    result = runner.invoke(cli, ["validate", "-f", str(app / "kfdef.yaml")])
    assert result.exit_code == 0, result.output
    assert "platform generic, Kubeflow 26.03\n" in result.stdout
    assert "spec.version" not in result.stderr  # pinned: no warning


@pytest.mark.parametrize("version", ["1.10", "v1.10.2"])
def test_init_version_1_10_writes_1_10s_default_set(runner, tmp_path, version):
    app = tmp_path / "old"
    result = runner.invoke(cli, ["init", str(app), "--version", version, "--platform", "local"])
    assert result.exit_code == 0, result.output
    text = (app / "kfdef.yaml").read_text()
    assert '  version: "1.10"\n' in text
    doc = yaml.safe_load(text)
    assert [a["name"] for a in doc["spec"]["applications"]] == \
        list(SHIPPED.catalog("1.10").platform("local").components)
    assert "training-operator" in text
    result = runner.invoke(cli, ["validate", "-f", str(app / "kfdef.yaml"), "-o", "json"])
    assert result.exit_code == 0, result.output
    assert '"release": "1.10"' in result.stdout


@pytest.mark.parametrize("version", ["9.9", "v1.2-branch", "latest"])
def test_init_refuses_a_version_it_has_no_release_for(runner, tmp_path, version):
    app = tmp_path / "kf"
    result = runner.invoke(cli, ["init", str(app), "--version", version])
    assert result.exit_code == 2
    assert f"--version {version!r}" in result.stderr and "known releases: 1.10, 26.03" in result.stderr
    assert not app.exists()


def test_version_lists_the_releases(runner):
    result = runner.invoke(cli, ["version"])
    assert result.exit_code == 0
    assert "kubeflow-releases: 1.10, 26.03 (default)\n" in result.stdout
