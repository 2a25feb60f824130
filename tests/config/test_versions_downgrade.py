"""Which release change is a downgrade (kfctl apply refuses those unless --allow-downgrade)."""

from __future__ import annotations

import pytest

from kfctl.config.versions import downgrade


@pytest.mark.parametrize(("recorded", "wanted", "expected"), [
    ("26.03", "1.10", True),
    ("1.10", "26.03", False),
    ("26.03", "26.03", False),
    ("26.10", "26.03", True),
    ("1.10", "1.9", True),      # numbers, not strings: "1.10" > "1.9"
    ("1.9", "1.10", False),
    (None, "1.10", False),      # never applied, or applied before releases were recorded
    ("", "1.10", False),        # a flat test catalog records no release
    ("26.03", "", False),
])
def test_downgrade_compares_release_numbers(recorded, wanted, expected):
    assert downgrade(recorded, wanted) is expected
