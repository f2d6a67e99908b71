"""token-in-url: no session token value appears in any URL, Location or Referer header the scan saw."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ._shared import describe, token_values
from .api import CheckOutcome, Lab, SecretIndex, Verdict, contains

# Servlet-style URL rewriting puts the session ID in a path parameter, whatever the cookie is called.
PATH_SESSION_PARAM = re.compile(r";(jsessionid|phpsessid|sid|sessionid)=", re.I)
MIN_VALUE_LENGTH = 8  # shorter values would match by accident


def _where(url: str, value: str) -> str:
    parts = urlsplit(url)
    for name, part in (("path", parts.path), ("query", parts.query), ("fragment", parts.fragment)):
        if contains(part, value):
            return name
    return "URL"


def run(lab: Lab) -> CheckOutcome:
    fp = lab.fp
    values = token_values(lab)
    # A token counts in any encoding a URL can carry it in (escaped in either case, base64, hex…).
    owner = {v: label for label, vs in values.items() for v in vs if len(v) >= MIN_VALUE_LENGTH}
    index = SecretIndex(owner)
    findings = []
    seen = lab.urls_seen()
    for client, kind, url in ((s.client, s.source, s.url) for s in seen):
        for value in index.search(url):
            findings.append(
                {
                    "client": client,
                    "in": kind,
                    "part": _where(url, value),
                    "token": owner[value],
                    "fingerprint": fp(value),
                    "url": url,
                }
            )
        if PATH_SESSION_PARAM.search(url):
            findings.append(
                {"client": client, "in": kind, "part": "path parameter", "token": "URL rewriting", "url": url}
            )
    inspected = len(seen)
    evidence = {
        "urls_inspected": inspected,
        "by_kind": {k: sum(1 for s in seen if s.source == k) for k in ("request", "Location", "Referer")},
        "token_values_checked": {label: len(v) for label, v in values.items()},
        "findings": findings[:50],
    }
    if findings:
        places = describe(sorted({f"{f['token']} in a {f['in']} {f['part']}" for f in findings}))
        return CheckOutcome(
            Verdict.FAIL,
            f"Searched {inspected} URLs (requests, Location and Referer headers): found {places}; "
            f"first at {findings[0]['url']}.",
            evidence,
        )
    counted = sum(len(v) for v in values.values())
    return CheckOutcome(
        Verdict.PASS,
        f"Searched {inspected} URLs the scan saw (requests, Location and Referer headers, path parameters) for "
        f"{counted} session token value(s) of {describe(list(values))}: none appears.",
        evidence,
    )
