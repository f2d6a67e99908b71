"""token-entropy sampling over concurrent streams, on a budget that scales with the cost of one token.

A real server (the demo's server-side app) answers every request 50 ms late and counts, itself, the tokens
it issues and the requests in flight at once. A 2 s budget on one stream could not collect 200 tokens
there; over concurrent streams, with the budget scaled by the measured cost of one token, it does, and
never with more than ``concurrency`` requests in flight.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from isp_audit.checks import REGISTRY
from isp_audit.checks.api import TokenSample, Verdict
from isp_audit.demo.apps import PASSWORD_ENV, RunningApp, ServerSideApp
from isp_audit.session.records import TIME_BUDGET_REACHED
from tests.conftest import scan_in_process
from tests.fakelab import fake_lab

DELAY_S = 0.05
PASSWORD = "streams-Pa55-word"


class SlowApp(ServerSideApp):
    """Every answer 50 ms late; counts issued session ids and the most cookieless requests in flight."""

    def __init__(self) -> None:
        super().__init__(self._issue)
        self.issued = 0
        self.in_flight = 0
        self.peak = 0
        self.counter = threading.Lock()

    def _issue(self) -> str:
        with self.counter:
            self.issued += 1
        return secrets.token_urlsafe(32)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        sampling = "HTTP_COOKIE" not in environ  # the sampler's requests carry no cookie
        if sampling:
            with self.counter:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(DELAY_S)
            return super().__call__(environ, start_response)
        finally:
            if sampling:
                with self.counter:
                    self.in_flight -= 1


@pytest.fixture
def password_env() -> Iterable[None]:
    os.environ[PASSWORD_ENV] = PASSWORD
    yield
    os.environ.pop(PASSWORD_ENV, None)


def _entropy_row(browser: Browser, app: SlowApp, tmp_path: Path, concurrency: int | None, samples: int = 200) -> dict:
    policy: dict[str, object] = {"entropy_samples": samples, "entropy_time_budget": "2s"}
    if concurrency is not None:
        policy["concurrency"] = concurrency
    with RunningApp(app) as running:
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": running.url},
                "login": {"url": "/login", "username": "alice", "password_env": PASSWORD_ENV},
                "authenticated": {"url": "/account", "expect_text": "Signed in as"},
                "policy": policy,
            },
            tmp_path,
            ("token-entropy",),
        )
    check = result.checks[0]
    assert check.verdict is not Verdict.ERROR, check.summary
    return check.evidence["tokens"][0]


@pytest.mark.usefixtures("password_env")
def test_concurrent_sampling_reaches_the_wanted_sample_within_the_scaled_budget(
    browser: Browser, tmp_path: Path
) -> None:
    app = SlowApp()
    row = _entropy_row(browser, app, tmp_path, concurrency=None)  # the default: 4
    assert row["collected"] == 200, row
    assert app.issued >= 200  # the server itself issued them
    assert 2 <= app.peak <= 4, f"{app.peak} requests were in flight at once (concurrency 4)"
    assert row["streams"] == 4


@pytest.mark.usefixtures("password_env")
def test_one_stream_never_has_two_requests_in_flight(browser: Browser, tmp_path: Path) -> None:
    app = SlowApp()
    row = _entropy_row(browser, app, tmp_path, concurrency=1, samples=40)
    assert app.peak == 1
    assert row["collected"] == 40 and row["streams"] == 1


def _short(values: list[str]) -> TokenSample:
    issued = tuple(1000.0 + i for i in range(len(values)))
    return TokenSample(tuple(values), issued, "plain-HTTP GET /", TIME_BUDGET_REACHED, 1000, 20.0, 20.0, 4)


def test_a_budget_that_ends_short_says_how_many_and_how_long_the_same_way_each_time() -> None:
    summaries = set()
    for _ in range(2):
        lab = fake_lab(sample=_short([secrets.token_urlsafe(32) for _ in range(50)]))
        outcome = REGISTRY["token-entropy"](lab)
        assert outcome.verdict is Verdict.WARN, outcome.summary
        assert outcome.evidence["tokens"][0]["shortfall"] in outcome.summary
        summaries.add(outcome.evidence["tokens"][0]["shortfall"])
    assert summaries == {
        "collected 50 of 1000 tokens in 20 s; a conclusive run needs about 400 s: "
        "raise entropy_time_budget (policy) or lower the sample size to 321 (still conclusive)"
    }


def test_a_short_sample_below_what_any_conclusive_test_needs_asks_for_more_tokens_not_only_time() -> None:
    # Browser-login sampling asks for 30 tokens by default; urlsafe tokens need 321 for a conclusive test, so
    # "more time for the 30" (the old advice, zoo: Gradio) would never make it conclusive.
    values = tuple(secrets.token_urlsafe(32) for _ in range(10))
    issued = tuple(1000.0 + i for i in range(10))
    sample = TokenSample(values, issued, "real browser logins", TIME_BUDGET_REACHED, 30, 20.0, 20.0, 1)
    outcome = REGISTRY["token-entropy"](fake_lab(sample=sample))
    assert outcome.verdict is Verdict.WARN, outcome.summary
    assert outcome.evidence["tokens"][0]["shortfall"] == (
        "collected 10 of 30 tokens in 20 s; a conclusive analysis needs 321 tokens, about 642 s at this rate: "
        "raise the sample size and entropy_time_budget (policy)"
    )
