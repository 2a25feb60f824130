"""Retries: transient errors are retried with backoff, permanent ones pass through at once."""

from __future__ import annotations

import random

import pytest

from kfctl.cluster.errors import ApiError
from kfctl.engine.retry import Backoff, Retrying, call_with_retry

FAST = Backoff(base=0.001, cap=0.002, attempts=4)


def test_backoff_grows_with_jitter_and_honours_retry_after():
    rng = random.Random(1)
    delays = [Backoff(base=0.2, cap=10).delay(n, rng=rng) for n in range(1, 8)]
    assert all(0.1 <= d for d in delays) and delays[-1] > delays[0]
    assert max(delays) <= 10
    assert Backoff().delay(1, retry_after=3) == 3


def test_transient_errors_are_retried_then_succeed():
    calls: list[int] = []
    seen: list[int] = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ApiError("throttled", status=429)
        return "ok"

    assert call_with_retry(flaky, backoff=FAST, on_retry=lambda exc, attempt, delay: seen.append(attempt)) == "ok"
    assert seen == [1, 2]


def test_permanent_errors_and_exhausted_attempts_raise():
    calls: list[int] = []

    def invalid():
        calls.append(1)
        raise ApiError("bad", status=422)

    with pytest.raises(ApiError):
        call_with_retry(invalid, backoff=FAST)
    assert len(calls) == 1

    def down():
        calls.append(1)
        raise ApiError("down", status=503)

    calls.clear()
    with pytest.raises(ApiError):
        call_with_retry(down, backoff=FAST)
    assert len(calls) == FAST.attempts


def test_retrying_wraps_request_methods_only():
    class Fake:
        def __init__(self):
            self.n = 0

        def get(self, *args):
            self.n += 1
            if self.n == 1:
                raise ApiError("connection reset", transient=True)
            return {"args": args}

        def watch(self, *args, **kwargs):
            return "not wrapped"

        def close(self):
            return "its own"

    fake = Fake()
    wrapped = Retrying(fake, backoff=FAST)
    assert wrapped.get("v1", "ConfigMap", "ns", "x") == {"args": ("v1", "ConfigMap", "ns", "x")}
    assert wrapped.watch("v1", "ConfigMap") == "not wrapped"
    assert wrapped.close() == "its own"
