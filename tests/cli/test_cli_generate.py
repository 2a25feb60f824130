"""``kfctl generate`` / ``build``: a kustomize tree from a KfDef, regenerated exactly."""

from __future__ import annotations

from pathlib import Path

import yaml

from kfctl.cli.main import cli

KFDEF = """\
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata:
  name: demo
  namespace: {namespace}
spec:
  platform: {platform}
  applications:
{apps}
{plugins}"""


def _kfdef(folder: Path, apps=("kubeflow-core",), platform="generic", namespace="kubeflow", params="",
           plugins="") -> Path:
    lines = "\n".join(f"  - name: {a}" for a in apps)
    path = folder / "kfdef.yaml"
    path.write_text(KFDEF.format(apps=lines + params, platform=platform, namespace=namespace, plugins=plugins))
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_generate_writes_kustomize_tree_and_reruns_identically(runner, tmp_path):
    kfdef = _kfdef(tmp_path)
    result = runner.invoke(cli, ["generate", "-f", str(kfdef)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "kustomize"
    assert "written" in result.output and str(out) in result.output
    top = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert top["resources"] == ["kubeflow-core"]
    before = _files(out)
    result = runner.invoke(cli, ["generate", "-f", str(kfdef)])
    assert result.exit_code == 0 and "no changes" in result.output
    assert _files(out) == before


def test_changed_kfdef_is_regenerated_and_dropped_components_removed(runner, tmp_path):
    kfdef = _kfdef(tmp_path, apps=("kubeflow-core", "cert-manager"))
    assert runner.invoke(cli, ["build", "-f", str(kfdef), "-o", str(tmp_path / "o")]).exit_code == 0
    assert (tmp_path / "o/cert-manager").is_dir()
    params = "\n    parameters:\n    - {name: podSecurityEnforce, value: restricted}"
    _kfdef(tmp_path, apps=("kubeflow-core",), params=params)
    result = runner.invoke(cli, ["generate", "k8s", "-f", str(kfdef), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "o/cert-manager").exists()
    namespace = (tmp_path / "o/kubeflow-core/00-namespace.yaml").read_text()
    assert "pod-security.kubernetes.io/enforce: restricted" in namespace


def test_default_file_and_legacy_platform_word(runner, tmp_path, monkeypatch):
    _kfdef(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["generate", "platform"])
    assert result.exit_code == 0, result.output
    assert "`generate platform` writes the whole tree" in result.output
    assert (tmp_path / "kustomize/kustomization.yaml").is_file()


def test_overlays_beside_the_kfdef_and_from_the_command_line(runner, tmp_path):
    kfdef = _kfdef(tmp_path, namespace="ml")
    (tmp_path / "overlays").mkdir()
    (tmp_path / "overlays/10-ns.yaml").write_text(
        "patches:\n  - target: {kind: Namespace, name: ml}\n    patch: {metadata: {labels: {team: a}}}\n")
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "10-cm.yaml").write_text(
        "resources:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: site}, data: {a: b}}\n")
    result = runner.invoke(cli, ["generate", "-f", str(kfdef), "--overlay", str(extra)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "kustomize"
    assert "team: a" in (out / "kubeflow-core/00-namespace.yaml").read_text()
    site = yaml.safe_load((out / "user/overlay-10-cm.yaml").read_text())
    assert site["metadata"]["namespace"] == "ml"


def test_platform_plugin_spec_sets_platform_parameters(runner, tmp_path):
    plugins = ("  plugins:\n  - kind: KfGcpPlugin\n    spec:\n      project: my-project\n"
               "      ipName: kf-ip\n      ingress: iap\n")
    kfdef = _kfdef(tmp_path, apps=("istio",), platform="gcp", plugins=plugins)
    result = runner.invoke(cli, ["generate", "-f", str(kfdef)])
    assert result.exit_code == 0, result.output
    ingress = (tmp_path / "kustomize/istio/overlay-10-gateway.yaml").read_text()
    assert "kubernetes.io/ingress.global-static-ip-name: kf-ip" in ingress


def test_demo_defaults_are_warned_about(runner, tmp_path):
    kfdef = _kfdef(tmp_path, apps=("katib",))
    result = runner.invoke(cli, ["generate", "-f", str(kfdef)])
    assert result.exit_code == 0, result.output
    assert "warning: katib.mysqlPassword keeps its demo default" in result.stderr
    params = "\n    parameters:\n    - {name: mysqlPassword, value: s3cret-enough}"
    _kfdef(tmp_path, apps=("katib",), params=params)
    result = runner.invoke(cli, ["generate", "-f", str(kfdef)])
    assert "katib.mysqlPassword" not in result.stderr


def test_bad_kfdef_is_exit_2_with_location(runner, tmp_path):
    kfdef = _kfdef(tmp_path, apps=("kubeflow-cor",))
    result = runner.invoke(cli, ["generate", "-f", str(kfdef)])
    assert result.exit_code == 2
    assert "kfdef.yaml:" in result.output and "unknown component 'kubeflow-cor'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "kustomize").exists()


def test_bad_platform_parameter_is_exit_2(runner, tmp_path):
    plugins = "  plugins:\n  - kind: KfGcpPlugin\n    spec: {ingress: nginx}\n"
    kfdef = _kfdef(tmp_path, platform="gcp", plugins=plugins)
    result = runner.invoke(cli, ["generate", "-f", str(kfdef)])
    assert result.exit_code == 2
    assert "kfdef.yaml:12:" in result.output and "spec.plugins[0].spec.ingress" in result.output


def test_refuses_to_overwrite_a_users_file(runner, tmp_path):
    kfdef = _kfdef(tmp_path)
    (tmp_path / "kustomize").mkdir()
    (tmp_path / "kustomize/kustomization.yaml").write_text("resources: [mine]\n")
    result = runner.invoke(cli, ["generate", "-f", str(kfdef)])
    assert result.exit_code == 2
    assert "would overwrite files it did not write: kustomization.yaml" in result.output
    assert (tmp_path / "kustomize/kustomization.yaml").read_text() == "resources: [mine]\n"
