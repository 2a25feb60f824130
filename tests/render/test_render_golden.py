"""Golden files: a small deployment's full output per platform, pinned byte for byte.

Regenerate after an intended change with ``KFCTL_UPDATE_GOLDEN=1 pytest tests/render``
and review the diff.
"""

from __future__ import annotations

import os

import pytest

from kfctl.render import render, to_yaml

from conftest import DATA

PLATFORMS = ["generic", "local", "gcp", "aws", "azure"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_golden(fake_catalog, make_request, platform):
    text = to_yaml(render(make_request(platform, overlays=(DATA / "user-overlay",)), fake_catalog))
    golden = DATA / "golden" / f"{platform}.yaml"
    if os.environ.get("KFCTL_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text(), f"{golden} differs: review, then regenerate with KFCTL_UPDATE_GOLDEN=1"


def test_every_shipped_platform_has_a_golden(fake_catalog):
    assert sorted(fake_catalog.platforms) == sorted(PLATFORMS)
