"""One classifier for every replay and extra login: authenticated, rejected, or a fault.

A fault is an answer that says nothing about the session: a 5xx, a 429, a timeout, a reset connection, a
body over the size cap, a browser navigation error. Read as "not authenticated" it would turn an overloaded
or hostile server into a pass (a 503 after logout looks like a rejected replay; a 429 on a second login
looks like a session limit). So a fault is retried a bounded number of times and, if it persists, ends the
experiment with the fault named: never a rejection.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from enum import StrEnum
from http import HTTPStatus
from typing import TypeVar

import requests

from ..errors import AuditError
from ..oracle import Observation, Oracle

RETRIES = 2  # after the first attempt
BACKOFF_S = (0.3, 1.0)  # wait before retry 1, 2
RETRY_WINDOW_S = 20.0  # no retry starts later than this after the first attempt began

T = TypeVar("T")


class Outcome(StrEnum):
    AUTHENTICATED = "authenticated"
    REJECTED = "rejected"
    FAULT = "fault"


class ServerFault(AuditError):
    """The target kept answering with a fault, so the experiment could not be judged (the check errs)."""


def status_fault(status: int) -> str | None:
    """``"answered 503 Service Unavailable"`` for a status that is a fault, else None."""
    if status == 429 or 500 <= status <= 599:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "server error"
        return f"answered {status} {phrase}"
    return None


def classify(oracle: Oracle, obs: Observation) -> tuple[Outcome, str]:
    """The outcome of one observation, with the reason in a few words. Faults are decided before the
    oracle looks, so no oracle (status, redirect, text) can read a 503 page as "not logged in"."""
    fault = status_fault(obs.status)
    if fault is not None:
        return Outcome.FAULT, fault
    authenticated, reason = oracle.judge(obs)
    return (Outcome.AUTHENTICATED if authenticated else Outcome.REJECTED), reason


def exception_fault(exc: BaseException) -> str:
    """A transport failure in a few words: ``timed out``, ``dropped the connection (ConnectionError)``,
    ``failed to load (net::ERR_EMPTY_RESPONSE)``; anything else by its type and first line."""
    if isinstance(exc, requests.Timeout):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, requests.ConnectionError):
        return f"dropped the connection ({type(exc).__name__})"
    cause = exc.__cause__ or exc  # the browser's navigation error behind the lab's AuditError
    text = (str(cause).strip().splitlines() or [""])[0]
    net_error = re.search(r"net::ERR_[A-Z_]+", text)
    if net_error:
        return f"failed to load ({net_error.group(0)})"
    return f"failed: {type(cause).__name__}" + (f" ({text[:160]})" if text else "")


def summarise(faults: list[str]) -> str:
    """``"answered 503 Service Unavailable 3 times"``, or the distinct faults in order."""
    distinct = list(dict.fromkeys(faults))
    if len(distinct) == 1:
        return f"{distinct[0]} {len(faults)} time{'s' if len(faults) > 1 else ''}"
    return "; then ".join(distinct) + f" ({len(faults)} attempts)"


def with_retries(attempt: Callable[[], T], fault_of: Callable[[T], str | None]) -> tuple[T, list[str]]:
    """Run ``attempt`` until it is not a fault, at most 1 + RETRIES times within RETRY_WINDOW_S.

    Returns the last result and the faults seen on the way (empty when the first attempt was clean).
    """
    started = time.monotonic()
    faults: list[str] = []
    result = attempt()
    while (fault := fault_of(result)) is not None:
        faults.append(fault)
        if len(faults) > RETRIES or time.monotonic() - started > RETRY_WINDOW_S:
            break
        time.sleep(BACKOFF_S[len(faults) - 1])
        result = attempt()
    return result, faults
