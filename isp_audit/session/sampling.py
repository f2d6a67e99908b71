"""Collecting fresh session tokens for the entropy analysis, as cheaply as the application allows.

In order of preference: plain-HTTP GETs when an anonymous visit already issues the token (no login at all);
a form login replayed over plain HTTP when the token is issued at login by a classic HTML form; real browser
logins otherwise (single-page apps, scripted logins). Every loop is bounded by a count and a time budget.
Sampled values stay in memory: they are secrets, and only statistics about them are ever written.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from ..analysis.cookies import parse_set_cookie
from ..errors import LoginFailed
from ..net.classify import ServerFault, status_fault
from ..net.http import send
from ..net.httplogin import FormLoginError, form_login
from ..state import StateItem
from .streams import Sample, Stop, Taken, gather

if TYPE_CHECKING:
    from .kit import SessionKit
    from .records import LoginRecord, TokenSample


def collect(lab: SessionKit, token: StateItem, want: int) -> TokenSample:
    """Fresh values of ``token`` (same kind and name), up to ``want``, within the policy's time budget
    (scaled with the measured cost of one token, see :func:`isp_audit.session.streams.gather`)."""
    started = time.monotonic()
    record = lab.live_login()
    if token.kind == "cookie":
        url = _anonymous_issuer(lab, record, token.name)
        if url:
            sample = _by_get(lab, url, token.name, want, started)
            if len(sample.values) >= min(want, 20):
                return sample.frozen(want, started)
        form_sample = _by_form_login(lab, token.name, want, started)
        if form_sample is not None and len(form_sample.values) >= min(want, 5):
            return form_sample.frozen(want, started)
    browser_want = min(want, lab.policy.entropy_browser_samples)
    return _by_browser(lab, token, browser_want, started).frozen(browser_want, started)


def _anonymous_issuer(lab: SessionKit, record: LoginRecord, name: str) -> str | None:
    """A URL whose response sets cookie ``name`` for a client without cookies, if one does.

    Asked in this order, one probe each: the login page, the base URL, then the other pages that issued it
    (a protected page last: it may count each anonymous hit as a failed login, as Adminer does, locking the
    IP out after 30, and sampling asks the chosen page hundreds of times).
    """
    if not any(i.kind == "cookie" and i.name == name for i in lab.session_items(record.pre_login)):
        return None
    pages = record.arrival.pages if record.arrival is not None else ()
    issuers = [p.url for p in pages if any(i.kind == "cookie" and i.name == name for i in p.issued)]
    issuers += [r.url for r in lab.set_cookies() if r.cookie == name and not r.deletes][:1]
    candidates = dict.fromkeys([*(p.url for p in pages[-1:]), lab.profile.base_url, *issuers])
    return next((url for url in candidates if issuers and _sets_cookie(lab, url, name)), None)


def _sets_cookie(lab: SessionKit, url: str, name: str) -> bool:
    if not lab.profile.in_scope(url):
        return False
    try:
        resp = send("GET", url, _headers(lab), deadline_s=lab.http.deadline_s)
    except requests.RequestException:
        return False
    finally:
        lab.note_http_requests(1)
    return bool(_set_cookie_values(resp, name))


def _set_cookie_values(resp: requests.Response, name: str) -> list[str]:
    headers = resp.raw.headers.getlist("Set-Cookie") if resp.raw is not None else []
    out = []
    for header in headers:
        parsed = parse_set_cookie(header)
        if parsed is not None and parsed.name == name and parsed.value and not parsed.deletes:
            out.append(parsed.value)
    return out


def _headers(lab: SessionKit) -> dict[str, str]:
    return {"User-Agent": lab.http.user_agent, "Accept": "text/html,*/*"}


def _by_get(lab: SessionKit, url: str, name: str, want: int, started: float) -> Sample:
    sample = Sample(
        method=f"plain-HTTP GET {urlsplit(url).path or '/'} without cookies (the anonymous visit "
        "is issued the same session cookie)"
    )
    lab.profile.scope.require(url)
    headers = _headers(lab)

    def one() -> Taken:
        try:  # each exchange is a fresh client: no cookie is ever sent
            resp = send("GET", url, headers, deadline_s=lab.http.deadline_s)
        except requests.RequestException as exc:
            raise Stop(f"a plain-HTTP GET failed ({exc})", http_requests=1) from exc
        values = _set_cookie_values(resp, name)
        if not values:
            fault = status_fault(resp.status_code)
            raise Stop(f"the GET {fault}" if fault else "a response set no such cookie", http_requests=1)
        return Taken(values[-1], http_requests=1)

    gather(lab, one, want, sample, started, parallel=True)
    return sample


def _by_form_login(lab: SessionKit, name: str, want: int, started: float) -> Sample | None:
    """Replay the login form over plain HTTP, once per sample (exchanges counted, not each recorded)."""
    login = lab.profile.login
    if login.mode == "steps" or login.totp_secret_env or not login.url:
        return None  # scripted or MFA logins need the browser
    login_url = lab.profile.url(login.url)
    sample = Sample(method=f"the login form at {urlsplit(login_url).path} replayed over plain HTTP")
    username, password = lab.username, lab.password

    def one() -> Taken:
        session = lab.http_session(record=False)
        try:
            final = form_login(session, login_url, username, password)
        except (FormLoginError, requests.RequestException) as exc:
            raise Stop(f"the replayed form login failed ({exc})", http_requests=session.requests) from exc
        values = [v for n, v in session.set_cookie_values if n == name]
        if not values:
            fault = status_fault(final.status_code)  # a rate limit, not a login that issues no token
            reason = f"the replayed form login {fault}" if fault else "the replayed form login issued no such cookie"
            raise Stop(reason, http_requests=session.requests)
        return Taken(values[-1], http_requests=session.requests, logins=1)

    gather(lab, one, want, sample, started, parallel=True)
    return sample


def _by_browser(lab: SessionKit, token: StateItem, want: int, started: float) -> Sample:
    # One stream: Playwright's sync API belongs to the thread that started it.
    sample = Sample(method="real browser logins (the token is not issued to plain HTTP)")
    count = iter(range(1, want + 1))

    def one() -> Taken:
        try:
            _, post = lab.extra_login(f"entropy-{next(count)}")
        except (LoginFailed, ServerFault) as exc:  # e.g. a rate limit: keep the tokens already collected
            raise Stop(f"a browser login failed ({exc})") from exc
        item = post.find_named(token.kind, token.name)
        if item is None:
            raise Stop("a login issued no such token")
        return Taken(item.value)

    gather(lab, one, want, sample, started, parallel=False)
    return sample
