"""Settling like a user: before the logged-in view is judged, wait (bounded) for what the oracle expects.

A single-page app draws its logged-in look some time after the load event (after its own API calls, or a
login dialog closing). Judging the page at once reads a half-drawn page as "not logged in".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from playwright.sync_api import Error as PlaywrightError

from ..http import check_size
from ..oracle import Observation, Oracle
from .clients import Client

EXPECT_WAIT_S = 10.0  # the longest wait for the expected element or text to appear

_TEXT_SHOWN_JS = """t => (document.body && document.body.innerText.includes(t))
  || document.documentElement.outerHTML.includes(t)"""


def wait_for_expected(client: Client, oracle: Oracle, obs: Observation, check_time: Callable[[], None]) -> Observation:
    """``obs`` read again once the oracle's element and text are on the page, or after the bounded wait.

    Only a browser page oracle with expect_selector or expect_text waits; a page already showing them is
    judged at once. ``check_time`` stops the wait at the current deadline (it raises once it has passed).
    """
    if oracle.request is not None or not (oracle.expect_selector or oracle.expect_text) or oracle.judge(obs)[0]:
        return obs
    check_time()
    until = time.monotonic() + EXPECT_WAIT_S
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
    return replace(obs, final_url=page.url, html=html)


def _ms_left(until: float) -> float:
    return max(1.0, (until - time.monotonic()) * 1000)
