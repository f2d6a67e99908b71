"""Settling like a user: before the logged-in view is judged, wait (bounded) for what the oracle expects.

A single-page app draws its logged-in look some time after the load event (after its own API calls, or a
login dialog closing). Judging the page at once reads a half-drawn page as "not logged in".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from playwright.sync_api import Error as PlaywrightError

from ..net.http import check_size
from ..oracle import Observation, Oracle
from .clients import Client

EXPECT_WAIT_S = 10.0  # the longest wait for the expected element or text to appear

_TEXT_SHOWN_JS = """t => (document.body && document.body.innerText.includes(t))
  || document.documentElement.outerHTML.includes(t)"""


def wait_for_expected(
    client: Client, oracle: Oracle, obs: Observation, check_time: Callable[[], None], limit_s: float = EXPECT_WAIT_S
) -> tuple[Observation, float]:
    """``obs`` read again once the oracle's element and text are on the page (or after ``limit_s``), and
    the seconds waited.

    Only a browser page oracle with expect_selector or expect_text waits; a page already showing them is
    judged at once. ``check_time`` stops the wait at the current deadline (it raises once it has passed).
    """
    if (
        limit_s <= 0
        or oracle.request is not None
        or not (oracle.expect_selector or oracle.expect_text)
        or oracle.judge(obs)[0]
    ):
        return obs, 0.0
    check_time()
    started = time.monotonic()
    until = started + limit_s
    page = client.page
    try:
        if oracle.expect_selector:
            page.wait_for_selector(oracle.expect_selector, state="attached", timeout=_ms_left(until))
        if oracle.expect_text:
            page.wait_for_function(_TEXT_SHOWN_JS, arg=oracle.expect_text, timeout=_ms_left(until))
    except PlaywrightError:
        pass  # not shown within the wait: the page as it is now is judged (and the failure says what is missing)
    html = page.content()
    check_size(html, "the page")
    return replace(obs, final_url=page.url, html=html), time.monotonic() - started


def replay_wait(waited_at_login: float) -> float:
    """How long a replay waits for the expected element: none when the logged-in page showed it at once
    (a rejected replay must not cost seconds), else twice what the logged-in page took, within the bound."""
    return 0.0 if waited_at_login < 0.05 else min(EXPECT_WAIT_S, max(1.0, 2 * waited_at_login))


def _ms_left(until: float) -> float:
    return max(1.0, (until - time.monotonic()) * 1000)
