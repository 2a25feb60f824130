"""Paths shared by the renderer tests (a module of its own: `from conftest import` is ambiguous
when several test folders have a conftest.py)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "render"
#: KfDefs of the golden tests, with a user overlay folder beside them (the overlays/ convention)
KFDEFS = DATA / "kfdefs"
USER_OVERLAY = KFDEFS / "overlays"
