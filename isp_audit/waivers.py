"""Waivers: a failure the system owner has accepted, for a while, with a reason and a name attached.

A waiver file is YAML::

    waivers:
      - check: cookie-attributes          # a check id (`isp-audit checks` lists them)
        target: https://app.example/      # the scanned base URL, exact or a glob (see below)
        justification: "Served only behind the gateway that adds Secure; fix tracked in JIRA-123"
        owner: jane.citizen@agency.gov.au
        expires: 2027-03-31               # last day the waiver holds; from the next day it is EXPIRED

Rules, chosen so a waiver never hides anything:

* A waiver covers only a check whose verdict is ``fail``. An ``error`` means the experiment could not
  run (nothing was proven either way), and a ``warn`` does not fail a run, so neither can be waived.
* The verdict stays ``fail``; the check gets ``check["waiver"] = {justification, owner, expires,
  status: "active"}``, reports show it as waived, and the ISM control it feeds becomes "review", not
  "satisfied" (``isp_audit.document.control_status``).
* A waiver holds up to and including its ``expires`` date. After that, a waiver that still matches a
  failing check is marked ``status: "expired"`` on the check, does not waive it, and fails the run
  (``isp_audit.gate``) so the risk acceptance is reviewed.
* A waiver that matches no failing check (other target, check passed, check not run) is reported as
  unused, with the reason, so stale waivers get removed. It never fails the run.
* ``target`` matches the document's ``target`` exactly (scheme and host case-insensitively, a trailing
  ``/`` optional) or as a glob: ``*`` matches within one URL part (never across ``/``), ``**`` matches
  anything, ``?`` one character. So ``https://*.agency.gov.au/`` matches ``https://app.agency.gov.au/``
  but not ``https://evil.example/x.agency.gov.au/``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .catalogue import load_catalogue
from .document import refresh_summary
from .errors import AuditError
from .profile import read_text_file, reject_duplicate_keys

WAIVABLE_VERDICTS = ("fail",)


class Waiver(BaseModel):
    """One accepted failure of one check on one target (or a glob of targets), until a date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str
    target: str
    justification: str
    owner: str
    expires: date

    @field_validator("check", "target", "justification", "owner", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value.strip() if isinstance(value, str) else value

    @field_validator("expires", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        # Only a calendar date: YAML's 2027-03-31 (a date) or the same text quoted. Numbers would be
        # read as Unix timestamps by pydantic, and a date-time is more precision than a waiver has.
        if isinstance(value, datetime):
            raise ValueError("a date (YYYY-MM-DD), not a date and time")
        if isinstance(value, date):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError as exc:
                raise ValueError(f"not a valid date: {value.strip()!r}") from exc
        raise ValueError(f"a date (YYYY-MM-DD), not {value!r}")

    def expired(self, today: date) -> bool:
        """Past its last day: a waiver holds up to and including ``expires``."""
        return today > self.expires

    def matches_target(self, target: str) -> bool:
        return target_matches(self.target, target)

    def label(self) -> str:
        return f"{self.check} on {self.target} (owner {self.owner}, expires {self.expires.isoformat()})"


class WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    waivers: list[Waiver]


@dataclass(frozen=True)
class WaiverUse:
    """A waiver and what became of it in one document: the check it matched, or why it matched nothing."""

    waiver: Waiver
    check_id: str | None = None
    reason: str = ""

    def __str__(self) -> str:
        return self.waiver.label() + (f": {self.reason}" if self.reason else "")


@dataclass(frozen=True)
class WaiverOutcome:
    """What applying a waiver file did: waivers applied (active), expired but matching, unused (stale)."""

    applied: list[WaiverUse] = field(default_factory=list)
    expired: list[WaiverUse] = field(default_factory=list)
    unused: list[WaiverUse] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per waiver that needs attention, for stderr."""
        out = [f"waiver applied: {u}" for u in self.applied]
        out += [f"waiver EXPIRED (does not waive; fails the run): {u}" for u in self.expired]
        out += [f"waiver unused: {u}" for u in self.unused]
        return out


def load_waivers(path: Path) -> list[Waiver]:
    """Read and validate a waiver file; every problem is one :class:`AuditError` line naming where."""
    text = read_text_file(path, "waivers", AuditError)
    return parse_waivers(text, str(path))


def parse_waivers(text: str, source: str = "<waivers>") -> list[Waiver]:
    try:
        data = yaml.safe_load(text)
        reject_duplicate_keys(yaml.compose(text), source, AuditError)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise AuditError(f"{source}{where}: not valid YAML: {problem}") from exc
    if data is None:
        data = {"waivers": []}
    if not isinstance(data, dict):
        raise AuditError(f"{source}: a waiver file is a YAML mapping with a `waivers:` list")
    try:
        parsed = WaiverFile.model_validate(data)
    except ValidationError as exc:
        raise AuditError(f"{source}: {_describe(exc)}") from exc
    catalogue = load_catalogue()
    for i, waiver in enumerate(parsed.waivers):
        if waiver.check not in catalogue:
            raise AuditError(
                f"{source}: waivers[{i}].check: unknown check id {waiver.check!r}; `isp-audit checks` lists them"
            )
    return list(parsed.waivers)


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = err["loc"]
    key = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(loc))
    if err["type"] == "extra_forbidden":
        return f"{key}: unknown key {str(loc[-1])!r}"
    if err["type"] == "missing":
        return f"{key}: required key {str(loc[-1])!r} is missing"
    return f"{key or '(top level)'}: {err['msg'].removeprefix('Value error, ')}"


def with_waivers(
    doc: dict[str, Any], waivers: list[Waiver], today: date | None = None
) -> tuple[dict[str, Any], WaiverOutcome]:
    """A new document whose failing checks carry the waiver that covers them (summary recomputed), and
    what became of each waiver. ``doc`` itself is left as it was.

    Each failing check takes the best matching waiver: an active one (the latest expiry) before an
    expired one. Other waivers matching the same check are reported unused ("another waiver covers it").
    Waivers set on the document before are replaced, so applying a file twice gives the same result.
    """
    marks, outcome = match_waivers(doc, waivers, today or date.today())
    new = copy.deepcopy(doc)
    for check in new["checks"]:
        check["waiver"] = marks.get(check["check_id"])
    refresh_summary(new)
    return new, outcome


def apply_waivers(doc: dict[str, Any], waivers: list[Waiver], today: date | None = None) -> WaiverOutcome:
    """:func:`with_waivers`, written back into ``doc`` (for callers that hold the document)."""
    new, outcome = with_waivers(doc, waivers, today)
    doc.clear()
    doc.update(new)
    return outcome


def match_waivers(
    doc: dict[str, Any], waivers: list[Waiver], today: date
) -> tuple[dict[str, dict[str, Any]], WaiverOutcome]:
    """The waiver mark for each failing check a waiver covers (by check id), and each waiver's use."""
    target = str(doc.get("target", ""))
    checks = {c["check_id"]: c for c in doc["checks"]}
    marks: dict[str, dict[str, Any]] = {}
    applied: list[WaiverUse] = []
    expired: list[WaiverUse] = []
    unused: list[WaiverUse] = []
    candidates: dict[str, list[Waiver]] = {}
    for waiver in waivers:
        check = checks.get(waiver.check)
        if not waiver.matches_target(target):
            unused.append(WaiverUse(waiver, None, f"target does not match {target}"))
        elif check is None:
            unused.append(WaiverUse(waiver, None, "the check did not run"))
        elif check["verdict"] not in WAIVABLE_VERDICTS:
            note = " (and the waiver has expired)" if waiver.expired(today) else ""
            unused.append(WaiverUse(waiver, None, f"the check's verdict is {check['verdict']}, not fail{note}"))
        else:
            candidates.setdefault(waiver.check, []).append(waiver)
    for check_id, found in candidates.items():
        # Active before expired; among those, the one that holds longest.
        ranked = sorted(found, key=lambda w: (not w.expired(today), w.expires), reverse=True)
        best, rest = ranked[0], ranked[1:]
        status = "expired" if best.expired(today) else "active"
        marks[check_id] = {
            "justification": best.justification,
            "owner": best.owner,
            "expires": best.expires.isoformat(),
            "target": best.target,
            "status": status,
        }
        (expired if status == "expired" else applied).append(WaiverUse(best, check_id))
        unused += [WaiverUse(w, None, f"another waiver covers {check_id}") for w in rest]
    return marks, WaiverOutcome(applied=applied, expired=expired, unused=unused)


def target_matches(pattern: str, target: str) -> bool:
    """Whether a waiver's ``target`` (exact URL or glob) covers the scanned ``target`` URL."""
    pat, url = _normalise(pattern), _normalise(target)
    if not any(ch in pat for ch in "*?"):
        return pat.rstrip("/") == url.rstrip("/")
    regex = _glob_regex(pat)
    return any(regex.fullmatch(u) for u in {url, url.rstrip("/"), url.rstrip("/") + "/"})


def _normalise(url: str) -> str:
    """Lower-case the scheme and host (they are case-insensitive); leave the path as it is."""
    url = url.strip()
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, parts.fragment))


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
