"""``kfctl show``: the rendered objects as YAML on stdout."""

from __future__ import annotations

import yaml

from kfctl.catalog import load_catalog
from kfctl.cli.main import cli
from kfctl.render import RenderRequest, render

KFDEF = """\
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {name: demo}
spec:
  platform: local
  applications:
  - name: kubeflow-core
  - name: cert-manager
    parameters:
    - {name: logLevel, value: 4}
"""


def test_show_prints_the_rendering(runner, tmp_path):
    (tmp_path / "kfdef.yaml").write_text(KFDEF)
    result = runner.invoke(cli, ["show", "-f", str(tmp_path / "kfdef.yaml")])
    assert result.exit_code == 0, result.output
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert result.stdout.startswith("---\napiVersion: ")
    catalog = load_catalog()
    order = catalog.resolve(["kubeflow-core", "cert-manager"]).order
    expected = render(RenderRequest(platform="local", components=order, deployment="demo",
                                    parameters={"cert-manager": {"logLevel": 4}}), catalog)
    assert docs == [r.to_dict() for r in expected.resources]


def test_show_one_component(runner, tmp_path):
    (tmp_path / "kfdef.yaml").write_text(KFDEF)
    result = runner.invoke(cli, ["show", "-f", str(tmp_path / "kfdef.yaml"), "--component", "kubeflow-core"])
    assert result.exit_code == 0, result.output
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert docs and {d["metadata"]["labels"]["app.kubernetes.io/component"] for d in docs} == {"kubeflow-core"}


def test_show_unknown_component_is_exit_2(runner, tmp_path):
    (tmp_path / "kfdef.yaml").write_text(KFDEF)
    result = runner.invoke(cli, ["show", "-f", str(tmp_path / "kfdef.yaml"), "-c", "kubeflow-cor"])
    assert result.exit_code == 2
    assert "component 'kubeflow-cor' is not part of this deployment" in result.output
    assert "did you mean 'kubeflow-core'" in result.output


def test_show_missing_default_file_is_exit_2(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["show"])
    assert result.exit_code == 2
    assert "kfdef.yaml" in result.output
