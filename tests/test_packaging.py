"""The wheel carries the code, the shipped catalog (kfctl/_data) and the KfDef schema and template.

Built offline (``--no-isolation``: hatchling comes from the test extra), into
tmp_path, from the source tree.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out),
                           str(REPO)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (path,) = out.glob("kfctl-*.whl")
    with zipfile.ZipFile(path) as zf:
        yield zf


@pytest.mark.timeout(300)
def test_wheel_has_the_catalog_schema_and_template(wheel):
    names = set(wheel.namelist())
    assert "kfctl/config/kfdef.schema.json" in names
    assert "kfctl/config/kfdef.yaml.j2" in names
    assert "kfctl/cli/main.py" in names
    components = {tuple(n.split("/")[3:5]) for n in names if n.startswith("kfctl/_data/manifests/") and
                  n.endswith("/component.yaml")}
    assert {("1.10", c) for c in ("katib", "istio", "cert-manager", "kubeflow-core")} <= components
    assert {"kfctl/_data/manifests/1.10/release.yaml", "kfctl/_data/manifests/26.03/release.yaml"} <= names
    assert any(n.startswith("kfctl/_data/platforms/generic/") for n in names)
    schema = json.loads(wheel.read("kfctl/config/kfdef.schema.json"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert not any(n.startswith("tests/") for n in names)


@pytest.mark.timeout(300)
def test_wheel_declares_the_console_script(wheel):
    entry = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    assert "kfctl = kfctl.cli.main:main" in wheel.read(entry).decode()


@pytest.mark.timeout(300)
def test_unpacked_wheel_runs_init_and_validate_from_its_own_data(wheel, tmp_path):
    site = tmp_path / "site"
    wheel.extractall(site)
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    probe = subprocess.run([sys.executable, "-c", "import kfctl, kfctl.paths as p; print(kfctl.__file__); "
                            "print(p.manifests_dir())"], capture_output=True, text=True, env=env, cwd=tmp_path,
                           timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == [str(site / "kfctl" / "__init__.py"),
                                         str(site / "kfctl" / "_data" / "manifests")]
    app = tmp_path / "from-wheel"
    init = subprocess.run([sys.executable, "-m", "kfctl", "init", str(app), "--components", "katib"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert init.returncode == 0, init.stderr
    check = subprocess.run([sys.executable, "-m", "kfctl", "validate"], capture_output=True, text=True, env=env,
                           cwd=app, timeout=60)
    assert check.returncode == 0, check.stderr
    assert "katib requires cert-manager: added" in check.stdout
