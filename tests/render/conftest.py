"""Fixtures of the renderer tests: a small fake catalog beside the real platforms."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfctl.catalog import Catalog, load_catalog
from kfctl.render import RenderRequest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "render"
#: KfDefs of the golden tests, with a user overlay folder beside them (the overlays/ convention)
KFDEFS = DATA / "kfdefs"
USER_OVERLAY = KFDEFS / "overlays"


@pytest.fixture(scope="session")
def fake_catalog() -> Catalog:
    """Bundles alpha, beta and istio from tests/data/render, with the shipped platforms."""
    return load_catalog(DATA / "manifests", REPO / "platforms")


@pytest.fixture
def make_request():
    def make(platform: str = "generic", components=("istio", "alpha", "beta"), **kw) -> RenderRequest:
        return RenderRequest(platform=platform, components=tuple(components), deployment="demo", **kw)
    return make
