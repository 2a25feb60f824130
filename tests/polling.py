"""Waiting in tests for what a cluster does on its own time: poll a check until it holds, or fail saying what."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait(check: Callable[[], Any], what: str, timeout: float = 15.0, poll: float = 0.02) -> Any:
    """Call ``check`` until it returns something truthy and return that; after ``timeout`` seconds fail with
    ``what`` and the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value {value!r}")
        time.sleep(poll)
