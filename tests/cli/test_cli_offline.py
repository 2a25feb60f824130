"""``--offline`` on the commands that build (apply, diff, generate, show): nothing fetched, every missing URL named."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfctl.cli.main import cli
from kfctl.errors import EXIT_INPUT

MINI = Path(__file__).resolve().parents[1] / "data" / "repos" / "mini"
MINI_URL = "https://github.com/kubeflow/manifests//common/kubeflow-namespace/base?ref=v1.10.2"
OTHER_URLS = ("https://github.com/example/widgets//deploy?ref=v1", "https://files.example/extra.yaml")


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("KFCTL_OFFLINE", raising=False)
    other = tmp_path / "other-repo" / "pkg"
    other.mkdir(parents=True)
    (other / "kustomization.yaml").write_text("resources:\n" + "".join(f"- {u}\n" for u in OTHER_URLS))
    file = tmp_path / "site" / "kfdef.yaml"
    file.parent.mkdir()
    file.write_text(f"""apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {{name: offline, namespace: kubeflow}}
spec:
  repos:
  - {{name: mini, uri: {MINI}}}
  - {{name: other, uri: {tmp_path / 'other-repo'}}}
  applications:
  - {{name: one, kustomizeConfig: {{repoRef: {{name: mini, path: remote}}}}}}
  - {{name: two, kustomizeConfig: {{repoRef: {{name: other, path: pkg}}}}}}
""")
    return file


@pytest.mark.parametrize("command", [["show"], ["generate"], ["apply"], ["apply", "--dry-run"], ["diff"]])
def test_offline_names_every_missing_url_of_every_application_at_once(runner, site, tmp_path, command):
    kubeconfig = tmp_path / "no-such-kubeconfig"
    result = runner.invoke(cli, ["--kubeconfig", str(kubeconfig), *command, "-f", str(site), "--offline"])
    assert result.exit_code == EXIT_INPUT, result.output
    assert "--offline, and 3 URLs are not in kfctl's cache" in result.stderr
    for url in (MINI_URL, *OTHER_URLS):
        assert url in result.stderr
    assert "application 'one'" in result.stderr and "application 'two'" in result.stderr
    assert not (site.parent / "kfdef.lock.yaml").exists()
    assert not (site.parent / "kustomize").exists()


def test_the_environment_variable_means_offline_too(runner, site, monkeypatch):
    monkeypatch.setenv("KFCTL_OFFLINE", "1")
    result = runner.invoke(cli, ["show", "-f", str(site)])
    assert result.exit_code == EXIT_INPUT and MINI_URL in result.stderr
