"""The response classifier: which answers are faults, and how far a fault is retried."""

from __future__ import annotations

import time

import pytest

from isp_audit.net.classify import BACKOFF_S, RETRIES, Outcome, classify, status_fault, summarise, with_retries
from isp_audit.oracle import Observation, Oracle


@pytest.mark.parametrize(
    ("status", "fault"),
    [
        (200, None),
        (302, None),
        (401, None),
        (403, None),
        (404, None),
        (429, "answered 429 Too Many Requests"),
        (500, "answered 500 Internal Server Error"),
        (503, "answered 503 Service Unavailable"),
        (599, "answered 599 server error"),
    ],
)
def test_only_5xx_and_429_are_faults(status: int, fault: str | None) -> None:
    assert status_fault(status) == fault


def test_a_fault_is_decided_before_any_oracle_looks() -> None:
    # An oracle that only wants status 200 would read a 503 as "not authenticated": the classifier must not.
    oracle = Oracle("http://127.0.0.1/account", expect_status=200)
    page = "<p>Signed in as alice</p>"
    assert classify(oracle, Observation(oracle.url, oracle.url, 503, page))[0] is Outcome.FAULT
    assert classify(oracle, Observation(oracle.url, oracle.url, 401, page))[0] is Outcome.REJECTED
    assert classify(oracle, Observation(oracle.url, oracle.url, 200, page))[0] is Outcome.AUTHENTICATED


def test_a_persistent_fault_is_retried_a_bounded_number_of_times() -> None:
    attempts: list[float] = []

    def always_busy() -> str:
        attempts.append(time.monotonic())
        return "answered 503 Service Unavailable"

    _, faults = with_retries(always_busy, lambda r: r)
    assert len(attempts) == 1 + RETRIES
    assert attempts[-1] - attempts[0] >= sum(BACKOFF_S[:RETRIES]) * 0.9  # it backed off between attempts
    assert summarise(faults) == "answered 503 Service Unavailable 3 times"


def test_a_transient_fault_is_retried_and_the_clean_answer_kept() -> None:
    answers = iter(["answered 502 Bad Gateway", None])
    result, faults = with_retries(lambda: next(answers), lambda r: r)
    assert result is None
    assert faults == ["answered 502 Bad Gateway"]


def test_different_faults_are_all_named() -> None:
    faults = ["answered 503 Service Unavailable", "timed out (ReadTimeout)", "timed out (ReadTimeout)"]
    assert summarise(faults) == "answered 503 Service Unavailable; then timed out (ReadTimeout) (3 attempts)"
