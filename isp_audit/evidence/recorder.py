"""Collects the evidence of one scan as it happens: steps, screenshots, traffic, cookies and state snapshots.

Everything is redacted on the way in (values become fingerprints) and scrubbed again, value by value, on
the way out.
Screenshots go to disk at once so an aborted scan keeps them; traffic and snapshots are held in memory
and written by :meth:`Recorder.write` at the end, after every secret of the run is known to the redactor.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..analysis.cookies import SetCookieRecord, parse_set_cookie, record_set_cookie
from ..model import Step
from ..state import ClientState
from .redact import Redactor

# Query parameters whose values are treated as secrets even when we never saw them set as a cookie.
SECRET_PARAM = re.compile(
    r"(sess|sid|token|auth|code|state|pass|secret|key|jsessionid|phpsessid|assertion|saml|ticket|otp)", re.I
)
SECRET_HEADER = re.compile(
    r"^(authorization|proxy-authorization|x-api-key|x-auth-token|x-csrf-token|x-xsrf-token)$", re.I
)


@dataclass(frozen=True)
class Exchange:
    """One request and its response, as any client saw it (browser, plain-HTTP replay or login)."""

    client: str
    method: str
    url: str
    req_headers: list[tuple[str, str]]
    status: int
    status_text: str
    resp_headers: list[tuple[str, str]]
    mime: str
    started: str
    elapsed_ms: float

    @classmethod
    def from_requests(cls, client: str, method: str, url: str, request_headers: dict[str, str], resp: Any) -> Exchange:
        """From a ``requests`` response; the raw headers keep every Set-Cookie (the dict view merges them)."""
        headers = resp.raw.headers.items() if resp.raw is not None else resp.headers.items()
        return cls(
            client,
            method,
            url,
            list(request_headers.items()),
            resp.status_code,
            resp.reason or "",
            list(headers),
            resp.headers.get("Content-Type", ""),
            utc_now(),
            resp.elapsed.total_seconds() * 1000,
        )


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Recorder:
    def __init__(self, out_dir: Path | None, redactor: Redactor) -> None:
        self.out_dir = out_dir
        self.redactor = redactor
        self.steps: list[Step] = []
        self._har: dict[str, list[dict[str, Any]]] = {}
        self.set_cookies: list[SetCookieRecord] = []
        self._snapshots: dict[str, dict[str, Any]] = {}
        if out_dir is not None:
            (out_dir / "screenshots").mkdir(parents=True, exist_ok=True)

    # --- steps ---------------------------------------------------------------------------------------
    def step(self, client: str, action: str, detail: str, page: Any = None) -> int:
        """Record one action; with a page, keep a screenshot of what it showed right after."""
        index = len(self.steps) + 1
        shot = None
        if page is not None and self.out_dir is not None:
            name = f"screenshots/{index:03d}-{_slug(client)}-{_slug(action)}.jpg"
            try:
                # JPEG: a third of PNG's encoding time per step, and still legible for an assessor.
                page.screenshot(path=str(self.out_dir / name), type="jpeg", quality=70, timeout=10_000)
                shot = name
            except Exception:  # a page that is mid-navigation or closed: the step still counts
                shot = None
        detail = self.redactor.scrub(detail)
        self.steps.append(Step(index=index, at=utc_now(), client=client, action=action, detail=detail, screenshot=shot))
        return index

    # --- traffic ---------------------------------------------------------------------------------------
    def exchange(self, ex: Exchange) -> None:
        """Add one request/response to the client's HAR, redacting cookie values and credentials."""
        for name, value in ex.resp_headers:
            if name.lower() == "set-cookie":
                parsed = parse_set_cookie(value)
                if parsed is not None:
                    self.redactor.register(parsed.value)
                    self.set_cookies.append(record_set_cookie(parsed, ex.started, ex.client, ex.url, self.redactor.fp))
        entry = {
            "startedDateTime": ex.started,
            "time": round(ex.elapsed_ms, 1),
            "request": {
                "method": ex.method,
                "url": self._url(ex.url),
                "httpVersion": "HTTP/1.1",
                "headers": [{"name": n, "value": self._header(n, v)} for n, v in ex.req_headers],
                "queryString": [],
                "cookies": [],
                "headersSize": -1,
                "bodySize": -1,
            },
            "response": {
                "status": ex.status,
                "statusText": ex.status_text,
                "httpVersion": "HTTP/1.1",
                "headers": [{"name": n, "value": self._header(n, v)} for n, v in ex.resp_headers],
                "cookies": [],
                "content": {"size": -1, "mimeType": ex.mime, "comment": "body omitted"},
                "redirectURL": next((self._url(v) for n, v in ex.resp_headers if n.lower() == "location"), ""),
                "headersSize": -1,
                "bodySize": -1,
            },
            "cache": {},
            "timings": {"send": 0, "wait": round(ex.elapsed_ms, 1), "receive": 0},
        }
        self._har.setdefault(ex.client, []).append(entry)

    def _header(self, name: str, value: str) -> str:
        low = name.lower()
        if low == "cookie":
            pairs = [p.strip().partition("=") for p in value.split(";") if p.strip()]
            return "; ".join(f"{k}={self.redactor.fp(v)}" if v else k for k, _, v in pairs)
        if low == "set-cookie":
            parsed = parse_set_cookie(value)
            return parsed.redacted(self.redactor.fp(parsed.value)) if parsed else "[redacted]"
        if SECRET_HEADER.match(name):
            scheme, _, rest = value.partition(" ")
            return f"{scheme} {self.redactor.fp(rest)}" if rest else self.redactor.fp(value)
        if low in ("location", "referer"):
            return self._url(value)
        return value

    def _url(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.query and ";" not in parts.path:
            return url
        query = [
            (k, self.redactor.fp(v) if v and SECRET_PARAM.search(k) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        # ;jsessionid=… path parameters are a classic session-in-URL leak.
        path = re.sub(r";([^/;=]+)=([^/;?]+)", lambda m: f";{m.group(1)}={self.redactor.fp(m.group(2))}", parts.path)
        return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query, safe=":[]"), parts.fragment))

    # --- snapshots -------------------------------------------------------------------------------------
    def snapshot(self, label: str, state: ClientState) -> dict[str, Any]:
        """Keep a redacted copy of a client state (cookie attributes intact, every value fingerprinted)."""
        snap = {
            "label": label,
            "at": utc_now(),
            "cookies": [
                {
                    "name": c.name,
                    "value_fp": self.redactor.fp(c.value),
                    "domain": c.domain,
                    "path": c.path,
                    "expires": c.expires,
                    "httpOnly": c.http_only,
                    "secure": c.secure,
                    "sameSite": c.same_site,
                }
                for c in state.cookies
            ],
            "localStorage": [
                {"origin": o, "name": n, "value_fp": self.redactor.fp(v)} for o, n, v in state.local_storage
            ],
            "sessionStorage": [
                {"origin": o, "name": n, "value_fp": self.redactor.fp(v)} for o, n, v in state.session_storage
            ],
            "headers": [{"name": n, "value_fp": self.redactor.fp(v)} for n, v in state.headers],
        }
        if state.indexed_db:
            snap["indexedDB"] = [
                {"origin": o, "entry": self.redactor.scrub(n), "value_fp": self.redactor.fp(v)}
                for o, n, v in state.indexed_db
            ]
        self._snapshots[_slug(label)] = snap
        return snap

    # --- output ----------------------------------------------------------------------------------------
    def write(self, tool: str, version: str) -> dict[str, list[str]]:
        """Write HARs, the Set-Cookie log, snapshots and the timeline; return the files by kind."""
        if self.out_dir is None:
            return {}
        files: dict[str, list[str]] = {
            "har": [],
            "states": [],
            "timeline": [],
            "cookies": [],
            "screenshots": [],
        }
        (self.out_dir / "har").mkdir(exist_ok=True)
        for client, entries in self._har.items():
            rel = har_path(client)
            har = {
                "log": {
                    "version": "1.2",
                    "creator": {"name": tool, "version": version},
                    "pages": [],
                    "entries": entries,
                    "comment": f"client {client}; bodies omitted",
                }
            }
            self._write_json(rel, har)
            files["har"].append(rel)
        if self._snapshots:
            (self.out_dir / "states").mkdir(exist_ok=True)
            for slug, snap in self._snapshots.items():
                rel = f"states/{slug}.json"
                self._write_json(rel, snap)
                files["states"].append(rel)
        self._write_json("cookies/set-cookie-log.json", [r.as_json() for r in self.set_cookies])
        files["cookies"].append("cookies/set-cookie-log.json")
        self._write_json("timeline.json", [s.model_dump() for s in self.steps])
        files["timeline"].append("timeline.json")
        files["screenshots"] = [s.screenshot for s in self.steps if s.screenshot]
        return files

    def _write_json(self, rel: str, data: Any) -> None:
        assert self.out_dir is not None
        path = self.out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        # Redact the data, then serialise: scrubbing the JSON text could replace a piece of its syntax.
        text = json.dumps(self.redactor.scrub_obj(json.loads(json.dumps(data, default=str))), indent=2)
        path.write_text(text + "\n", encoding="utf-8")


def har_path(client: str) -> str:
    """Where a simulated client's HAR is written, relative to the output folder."""
    return f"har/{_slug(client)}.har"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "x"
