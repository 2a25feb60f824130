"""Fixtures of the renderer tests: a small fake catalog beside the real platforms."""

from __future__ import annotations

import pytest

from kfctl.catalog import Catalog, load_catalog
from kfctl.render import RenderRequest

from render_paths import DATA, REPO


@pytest.fixture(scope="session")
def fake_catalog() -> Catalog:
    """Bundles alpha, beta and istio from tests/data/render, with the shipped platforms."""
    return load_catalog(DATA / "manifests", REPO / "platforms")


@pytest.fixture
def make_request():
    def make(platform: str = "generic", components=("istio", "alpha", "beta"), **kw) -> RenderRequest:
        return RenderRequest(platform=platform, components=tuple(components), deployment="demo", **kw)
    return make
