"""The generate output folder: kustomize layout, byte-identical reruns, ownership, pruning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kfctl.errors import InputError
from kfctl.render import render
from kfctl.render import writer

from render_paths import USER_OVERLAY

KUBECTL = Path(sys.executable).parent / "kubectl"


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_layout(fake_catalog, make_request, tmp_path):
    rendering = render(make_request("aws", overlays=(USER_OVERLAY,)), fake_catalog)
    report = writer.write(rendering, tmp_path / "out")
    files = sorted(_snapshot(tmp_path / "out"))
    assert files == [".kfctl-generated.yaml", "alpha/00-crd.yaml", "alpha/10-app.yaml", "alpha/kustomization.yaml",
                     "alpha/overlay-10-site.yaml", "beta/00-namespace.yaml", "beta/10-beta.yaml",
                     "beta/kustomization.yaml", "istio/00-gateway.yaml", "istio/kustomization.yaml",
                     "istio/overlay-10-gateway.yaml", "kustomization.yaml", "platform/kustomization.yaml",
                     "platform/overlay-00-storage.yaml"]
    top = yaml.safe_load((tmp_path / "out/kustomization.yaml").read_text())
    assert top["resources"] == ["platform", "istio", "alpha", "beta"]
    assert top["sortOptions"] == {"order": "fifo"}
    assert yaml.safe_load((tmp_path / "out/alpha/kustomization.yaml").read_text())["resources"] == [
        "00-crd.yaml", "10-app.yaml", "overlay-10-site.yaml"]
    assert set(report.written) == set(files) - {".kfctl-generated.yaml"}
    assert (tmp_path / "out/alpha/10-app.yaml").stat().st_mode & 0o044  # readable like any file


def test_unchanged_request_is_byte_identical_and_untouched(fake_catalog, make_request, tmp_path):
    out = tmp_path / "out"
    writer.write(render(make_request("local"), fake_catalog), out)
    before = _snapshot(out)
    report = writer.write(render(make_request("local"), fake_catalog), out)
    assert not report.changed and report.written == ()
    assert _snapshot(out) == before


def test_changed_request_is_always_regenerated(fake_catalog, make_request, tmp_path):
    out = tmp_path / "out"
    writer.write(render(make_request(), fake_catalog), out)
    report = writer.write(render(make_request(parameters={"alpha": {"replicas": 4}}), fake_catalog), out)
    assert report.written == ("alpha/10-app.yaml",)
    assert "replicas: 4" in (out / "alpha/10-app.yaml").read_text()


def test_dropped_component_files_are_removed_but_user_files_kept(fake_catalog, make_request, tmp_path):
    out = tmp_path / "out"
    writer.write(render(make_request(), fake_catalog), out)
    (out / "beta/NOTES.md").write_text("mine")
    (out / "README.md").write_text("mine")
    report = writer.write(render(make_request(components=("istio", "alpha")), fake_catalog), out)
    assert set(report.removed) == {"beta/00-namespace.yaml", "beta/10-beta.yaml", "beta/kustomization.yaml"}
    assert (out / "beta/NOTES.md").read_text() == "mine" and (out / "README.md").read_text() == "mine"
    assert yaml.safe_load((out / "kustomization.yaml").read_text())["resources"] == ["istio", "alpha"]
    report = writer.write(render(make_request(components=("istio",)), fake_catalog), out)
    assert not (out / "alpha").exists()  # emptied folders go too


def test_edited_file_of_dropped_component_is_kept_and_reported(fake_catalog, make_request, tmp_path):
    out = tmp_path / "out"
    writer.write(render(make_request(), fake_catalog), out)
    (out / "beta/10-beta.yaml").write_text("# my edit\n")
    report = writer.write(render(make_request(components=("istio", "alpha")), fake_catalog), out)
    assert report.kept == ("beta/10-beta.yaml",)
    assert (out / "beta/10-beta.yaml").read_text() == "# my edit\n"
    assert "beta/10-beta.yaml" in (out / writer.MARKER).read_text()


def test_never_overwrites_a_file_it_did_not_write(fake_catalog, make_request, tmp_path):
    out = tmp_path / "out"
    (out / "alpha").mkdir(parents=True)
    (out / "alpha/10-app.yaml").write_text("user content\n")
    with pytest.raises(InputError, match=r"would overwrite files it did not write: alpha/10-app.yaml"):
        writer.write(render(make_request(), fake_catalog), out)
    assert (out / "alpha/10-app.yaml").read_text() == "user content\n"
    assert not (out / "kustomization.yaml").exists()  # nothing written at all


def test_broken_marker_is_an_input_error(fake_catalog, make_request, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / writer.MARKER).write_text("files: [1, 2]\n")
    with pytest.raises(InputError, match="ownership marker"):
        writer.write(render(make_request(), fake_catalog), out)
    (out / writer.MARKER).write_text("files: {'../../etc/passwd': abc}\n")
    with pytest.raises(InputError, match="outside the output folder"):
        writer.write(render(make_request(), fake_catalog), out)


@pytest.mark.parametrize("platform", ["local", "gcp"])
def test_real_kubectl_kustomize_builds_the_same_objects(fake_catalog, make_request, tmp_path, platform):
    rendering = render(make_request(platform, overlays=(USER_OVERLAY,),
                                    platform_parameters={"ingress": "iap"} if platform == "gcp" else {}),
                       fake_catalog)
    writer.write(rendering, tmp_path / "out")
    proc = subprocess.run([str(KUBECTL), "kustomize", str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    built = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert built == [r.to_dict() for r in rendering.resources]


def test_same_overlay_file_name_in_two_folders_keeps_order(fake_catalog, make_request, tmp_path):
    folders = []
    for i in (1, 2):
        folder = tmp_path / f"ov{i}"
        folder.mkdir()
        (folder / "10-site.yaml").write_text(
            f"component: alpha\nresources:\n  - {{apiVersion: v1, kind: ConfigMap, metadata: {{name: c{i}}}}}\n")
        folders.append(folder)
    rendering = render(make_request(overlays=tuple(folders)), fake_catalog)
    writer.write(rendering, tmp_path / "out")
    listed = yaml.safe_load((tmp_path / "out/alpha/kustomization.yaml").read_text())["resources"]
    assert listed[-2:] == ["overlay-10-site.yaml", "overlay-10-site-2.yaml"]
    assert "name: c2" in (tmp_path / "out/alpha/overlay-10-site-2.yaml").read_text()
