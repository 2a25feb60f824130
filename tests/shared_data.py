"""Where the tests find ``../shared/`` (upstream Kubeflow releases as test data), and what happens without it.

``shared/`` sits beside the repository root. A bare clone has no such folder: tests
that need it are skipped with a reason, so the suite passes there. CI sets
``KFCTL_REQUIRE_SHARED=1`` (``.ci/run``), and then a missing file is a failure,
so CI can never go green by skipping them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = (REPO_ROOT / ".." / "shared").resolve()
UPSTREAM = SHARED / "upstream"


def required() -> bool:
    """True where ``shared/`` must be present (CI)."""
    return os.environ.get("KFCTL_REQUIRE_SHARED", "") not in ("", "0")


def shared_path(*parts: str) -> Path:
    """The path under ``shared/``; skips the test when it is absent (fails instead where it is required)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = (f"test data missing: {path} (the shared/ folder must sit beside the repository; "
                   "see shared/upstream/README.md)")
        if required():
            pytest.fail(message + "; KFCTL_REQUIRE_SHARED=1 makes this a failure")
        pytest.skip(message)
    return path


def upstream_tarball(version: str) -> Path:
    """``shared/upstream/kubeflow-manifests-<version>.tar.gz`` (``v1.9.1``, ``v1.10.2``, ``26.03``)."""
    return shared_path("upstream", f"kubeflow-manifests-{version}.tar.gz")
