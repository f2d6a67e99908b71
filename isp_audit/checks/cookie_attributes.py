"""cookie-attributes (ISM-2063): the session cookies' Secure, HttpOnly, SameSite, prefix, scope and lifetime.

Judged on the raw Set-Cookie header that set the value the user's browser kept (the browser's parsed jar
would hide a missing SameSite, which Chromium defaults to Lax). Other cookies are listed, never failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._shared import describe, setters_of
from .api import AttributeValue, CheckOutcome, Cookie, Lab, LoginRecord, SetCookieRecord, StateItem, Verdict
from .api import attribute as _attr


def judge_cookie(name: str, attributes: Mapping[str, AttributeValue], https: bool) -> tuple[list[str], list[str]]:
    """(failures, warnings) for one session cookie's Set-Cookie attributes."""
    fails: list[str] = []
    warns: list[str] = []
    secure = _attr(attributes, "Secure") is not None
    if _attr(attributes, "HttpOnly") is None:
        fails.append("no HttpOnly (scripts can read it)")
    if not secure:
        if https:
            fails.append("no Secure (sent over plain HTTP too)")
        else:
            warns.append("no Secure, and Secure cannot be judged on a plain-HTTP target")
    same_site = _attr(attributes, "SameSite")
    if same_site is None or same_site is True:
        fails.append("no SameSite attribute")
    elif str(same_site).lower() == "none":
        (warns if secure else fails).append(
            "SameSite=None (sent on cross-site requests)" + ("" if secure else " without Secure, which browsers reject")
        )
    elif str(same_site).lower() not in ("lax", "strict"):
        fails.append(f"invalid SameSite={same_site}")
    domain = _attr(attributes, "Domain")
    path = _attr(attributes, "Path")
    if name.startswith("__Host-"):
        if not secure or domain or path != "/":
            fails.append("__Host- prefix rules broken (needs Secure, Path=/ and no Domain)")
    elif name.startswith("__Secure-"):
        if not secure:
            fails.append("__Secure- prefix without Secure")
    else:
        warns.append("no __Host- prefix")
    if domain:
        warns.append(f"Domain={domain} shares it with every subdomain")
    lifetime = _attr(attributes, "Max-Age") or _attr(attributes, "Expires")
    if lifetime:
        key = "Max-Age" if _attr(attributes, "Max-Age") else "Expires"
        warns.append(f"persistent ({key}={lifetime}): kept on disk across browser restarts")
    return fails, warns


def _kept_setter(lab: Lab, record: LoginRecord, token: StateItem) -> SetCookieRecord | None:
    """The Set-Cookie header that set the value the user's browser actually kept.

    Only the logged-in browser's own responses count (a target can send a perfect header to other clients,
    e.g. to plain-HTTP replays of the same value), matched by fingerprint, never by value; and of those, a
    header whose attributes disagree with what the browser stored was rejected by it and set nothing.
    """
    own = [r for r in setters_of(lab, token) if r.client == record.client_name]
    kept = next((c for c in record.post_login.cookies if c.name == token.name and c.value == token.value), None)
    agreeing = [r for r in own if kept is None or _agrees(dict(r.attributes), kept)]
    candidates = agreeing or own
    return candidates[-1] if candidates else None


def _agrees(attributes: Mapping[str, AttributeValue], kept: Cookie) -> bool:
    """Whether a header with these attributes could have produced the cookie the browser kept."""
    path = _attr(attributes, "Path")
    return (
        (_attr(attributes, "HttpOnly") is not None) == kept.http_only
        and (_attr(attributes, "Secure") is not None) == kept.secure
        and (not isinstance(path, str) or not path.startswith("/") or path == kept.path)
    )


def run(lab: Lab) -> CheckOutcome:
    """Each session cookie of the live login is judged on the raw Set-Cookie header that set the value the
    browser kept (Secure, HttpOnly, SameSite, prefix, Domain, lifetime); a cookie set by script fails."""
    record = lab.live_login()
    https = lab.target_is_https
    cookies = [t for t in record.tokens.tokens if t.kind == "cookie"]
    if not cookies:
        return CheckOutcome(
            Verdict.NOT_APPLICABLE,
            f"No session cookie: the session travels in {describe([t.label for t in record.tokens.tokens])}.",
            {},
        )
    rows = []
    all_fails: list[str] = []
    all_warns: list[str] = []
    for token in cookies:
        row, fails, warns = _judge_session_cookie(lab, record, token, https)
        rows.append(row)
        all_fails += [f"`{token.name}` {f}" for f in fails]
        all_warns += [f"`{token.name}` {w}" for w in warns]
    evidence = {
        "target_scheme": "https" if https else "http",
        "session_cookies": rows,
        # Listed for the record; session rules are never applied to them.
        "other_cookies": _other_cookies(lab, {t.name for t in cookies}),
    }
    headers = describe([f"`{r['set_cookie']}`" for r in rows if r["set_cookie"]])
    if all_fails:
        return CheckOutcome(
            Verdict.FAIL, f"Session cookie Set-Cookie {headers}: {describe(all_fails + all_warns)}.", evidence
        )
    if all_warns:
        return CheckOutcome(Verdict.WARN, f"Session cookie Set-Cookie {headers}: {describe(all_warns)}.", evidence)
    return CheckOutcome(
        Verdict.PASS,
        f"Session cookie Set-Cookie {headers}: Secure, HttpOnly, SameSite and the __Host- prefix are set, "
        "no Domain, not persistent.",
        evidence,
    )


def _judge_session_cookie(
    lab: Lab, record: LoginRecord, token: StateItem, https: bool
) -> tuple[dict[str, Any], list[str], list[str]]:
    """One session cookie's evidence row, failures and warnings, judged on the header that set it."""
    setter = _kept_setter(lab, record, token)
    if setter is None:
        fails = ["set by script (document.cookie), not by Set-Cookie, so it cannot be HttpOnly"]
        return {"cookie": token.name, "fingerprint": lab.fp(token.value), "set_cookie": None, "fails": fails}, fails, []
    fails, warns = judge_cookie(token.name, dict(setter.attributes), https)
    row = {
        "cookie": token.name,
        "fingerprint": lab.fp(token.value),
        "set_cookie": setter.header,
        "set_by": setter.url,
        "fails": fails,
        "warnings": warns,
    }
    return row, fails, warns


def _other_cookies(lab: Lab, session_names: set[str]) -> list[dict[str, str]]:
    """Every other cookie the target set, with the first header that set it."""
    set_cookies = lab.set_cookies()
    others = sorted({r.cookie for r in set_cookies if r.cookie not in session_names})
    return [{"cookie": name, "set_cookie": next(r.header for r in set_cookies if r.cookie == name)} for name in others]
