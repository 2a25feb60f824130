"""The package's layers, enforced: data flows one way, and only kfctl/cluster talks to Kubernetes.

catalog (the shipped bundles) -> config (a KfDef and its selection of the catalog) -> render -> plan ->
engine -> cli, with kfctl/cluster
the only module that imports the official ``kubernetes`` client, and the
simulated cluster (kfctl/sim) importing nothing of kfctl beyond itself. Every
import counts, also those inside functions (lazy imports are still imports).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kfctl"

#: stage -> the kfctl stages it may not import (later stages, and the cluster client)
FORBIDDEN = {
    "catalog": {"config", "render", "plan", "engine", "cli", "cluster", "sim", "deploy", "repos"},
    "config": {"render", "plan", "engine", "cli", "cluster", "sim", "deploy"},
    "render": {"config", "repos", "pipeline", "plan", "engine", "cli", "cluster", "sim", "deploy"},
    "plan": {"engine", "cli", "cluster", "sim", "deploy"},
    "engine": {"cli", "cluster", "sim", "deploy"},
    "cluster": {"cli", "engine", "sim", "deploy"},
    "repos": {"plan", "engine", "cli", "cluster", "sim", "deploy"},
}


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-node.level])
            found.extend((node.lineno, f"{base}.{node.module or ''}".rstrip(".")) for _ in [0])
    return found


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def stage_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0].removesuffix(".py") if len(parts) > 1 or parts[0] != "__init__.py" else ""


def test_only_the_cluster_module_imports_kubernetes():
    bad = [f"{p.relative_to(PACKAGE.parent)}:{line}: {name}" for p in modules() for line, name in imports(p)
           if (name == "kubernetes" or name.startswith("kubernetes.")) and stage_of(p) != "cluster"]
    assert bad == []


def test_the_simulated_cluster_imports_nothing_of_kfctl():
    bad = [f"{p.relative_to(PACKAGE.parent)}:{line}: {name}" for p in modules() if stage_of(p) == "sim"
           for line, name in imports(p) if name.startswith("kfctl.") and not name.startswith("kfctl.sim")]
    assert bad == []


@pytest.mark.parametrize("stage", sorted(FORBIDDEN))
def test_data_flows_one_way(stage):
    bad = []
    for p in modules():
        if stage_of(p) != stage:
            continue
        for line, name in imports(p):
            parts = name.split(".")
            if parts[0] == "kfctl" and len(parts) > 1 and parts[1] in FORBIDDEN[stage]:
                bad.append(f"{p.relative_to(PACKAGE.parent)}:{line}: {name}")
    assert bad == []


def test_the_checker_sees_a_violation(tmp_path):
    # the walk must catch imports inside functions too
    fake = tmp_path / "m.py"
    fake.write_text("import os\n\ndef f():\n    from kfctl.cluster import connect\n    import kubernetes.client\n")
    assert imports(fake) == [(1, "os"), (4, "kfctl.cluster.connect"), (5, "kubernetes.client")]


def test_the_engine_and_the_error_classes_load_without_the_kubernetes_client():
    import subprocess
    import sys

    code = ("import sys\n"
            "import kfctl.errors, kfctl.cluster, kfctl.cluster.errors, kfctl.engine.apply, kfctl.engine.diff\n"
            "import kfctl.engine.delete, kfctl.deploy\n"
            "from kfctl.cluster import KindNotServed\n"
            "assert KindNotServed is kfctl.errors.KindNotServed\n"
            "print(sorted(m for m in sys.modules if m == 'kubernetes' or m.startswith('kubernetes.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=PACKAGE.parent)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
