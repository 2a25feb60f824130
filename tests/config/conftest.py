"""Fixtures of the kfctl.config tests: the fake catalog and the KfDef corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfctl.catalog import Catalog, load_catalog

DATA = Path(__file__).resolve().parent.parent / "data"
KFDEFS = DATA / "kfdefs"


@pytest.fixture(scope="session")
def fake_catalog() -> Catalog:
    """Real component names, made-up parameters: facts these tests can rely on."""
    return load_catalog(manifests=DATA / "catalog" / "manifests", platforms=DATA / "catalog" / "platforms")


@pytest.fixture
def kfdefs() -> Path:
    return KFDEFS
