"""The static type check, as part of the test suite: mypy over kfctl/ with pyproject.toml's settings.

Strict for the typed core (engine, plan, config, cluster, errors), lenient
elsewhere, the simulated cluster not checked yet (see ``[tool.mypy]``). mypy
comes with the test extra; its cache (``.mypy_cache``) keeps a warm run under a
second, a cold one takes about 20 s.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_mypy_reports_no_errors() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=280)
    output = (proc.stdout + proc.stderr).strip()
    assert "No module named mypy" not in output, "mypy is missing: install the test extra (pip install -e '.[test]')"
    assert proc.returncode == 0, f"mypy reports errors (run `.venv/bin/python -m mypy` to see them):\n{output}"
    # the configuration still points at the package: an empty `files` would also succeed
    checked = re.search(r"no issues found in (\d+) source files", output)
    assert checked, output
    modules = sum(1 for _ in (REPO / "kfctl").rglob("*.py"))
    assert int(checked.group(1)) >= modules, f"mypy checked {checked.group(1)} files of kfctl's {modules}"
