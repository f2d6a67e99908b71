"""The results document (``results.json``, schema version 1): a scan as self-contained, versioned data.

Every output format renders from this document alone, so ``isp-audit report results.json`` can re-render
any past scan: it therefore carries, next to the verdicts and evidence, the catalogue entry of each check
(references, rationale, remediation) and the ISM controls with their manual items, as they were when the
scan ran. Waivers and attestations are applied to the document, never to the scan's own results.
"""

from __future__ import annotations

import getpass
import json
import os
import platform
import socket
import uuid
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import __version__
from .catalogue import CheckMeta, Framework, load_catalogue, load_framework
from .errors import AuditError
from .model import ScanResult
from .results.model import VERDICTS, ResultsDocument, refresh_json

SCHEMA_VERSION = "1"
__all__ = ["VERDICTS", "build_document", "load_document", "load_results", "refresh_summary"]


def build_document(
    result: ScanResult,
    *,
    profile_path: str | None = None,
    profile_sha256: str | None = None,
    operator: str | None = None,
) -> dict[str, Any]:
    """The results document for one scan, with catalogue metadata and ISM control roll-ups."""
    catalogue = load_catalogue()
    framework = load_framework("ism")
    checks = []
    for check in result.checks:
        entry = {**check.model_dump(), "severity": check.severity.value, "verdict": check.verdict.value}
        entry.update(_catalogue_entry(catalogue[check.check_id]))
        entry["waiver"] = None
        checks.append(entry)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": str(uuid.uuid4()),
        "tool": {"name": result.tool, "version": result.version},
        "target": result.target,
        "profile": {"name": result.profile_name, "path": profile_path, "sha256": profile_sha256},
        "operator": operator or default_operator(),
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "policy": result.policy,
        "oracle": result.oracle,
        "session_tokens": list(result.session_tokens),
        "token_trials": list(result.token_trials),
        "checks": checks,
        "controls": [],
        "steps": [s.model_dump() for s in result.steps],
        "stats": result.stats.model_dump(),
        "files": result.files,
        "aborted": result.aborted,
        "provenance": provenance(result.browser),
        "summary": {},
    }
    doc["controls"] = _controls(framework, doc)
    refresh_summary(doc)
    return doc


def _catalogue_entry(meta: CheckMeta) -> dict[str, Any]:
    return {
        "references": {
            "ism": meta.ism,
            "asvs_4": meta.asvs_4,
            "asvs_5": meta.asvs_5,
            "wstg": meta.wstg,
            "nist": meta.nist,
            "cwe": meta.cwe,
        },
        "rationale": meta.rationale,
        "how_it_works": meta.how_it_works,
        "remediation": meta.remediation.model_dump(),
    }


def _controls(framework: Framework, doc: dict[str, Any]) -> list[dict[str, Any]]:
    ran = {c["check_id"] for c in doc["checks"]}
    controls = []
    for control in framework.controls:
        controls.append(
            {
                "id": control.id,
                "title": control.title,
                "statement": control.statement,
                "note": control.note,
                "checks": [c for c in control.checks if c in ran],
                "not_run": [c for c in control.checks if c not in ran],
                "status": "not_assessed",
                "manual": [
                    {**m.model_dump(), "status": "not yet evidenced", "note": None, "attachments": []}
                    for m in control.manual
                ],
            }
        )
    return controls


def refresh_summary(doc: dict[str, Any]) -> None:
    """Recompute control statuses and verdict counts (after waivers or attestations changed)."""
    refresh_json(doc)


def default_operator() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def provenance(browser: str) -> dict[str, Any]:
    """What produced the evidence: versions, and the CI run when there is one."""

    def pkg(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    ci_vars = (
        "CI",
        "GITHUB_RUN_ID",
        "GITHUB_SHA",
        "GITHUB_REPOSITORY",
        "GITHUB_WORKFLOW",
        "CI_PIPELINE_ID",
        "CI_JOB_ID",
        "CI_COMMIT_SHA",
        "CI_PROJECT_PATH",
        "BUILD_ID",
        "BUILD_URL",
    )
    return {
        "tool": {"name": "isp-audit", "version": __version__},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "playwright": pkg("playwright"),
        "browser": browser,
        "catalogue_version": __version__,
        "ci": {k: os.environ[k] for k in ci_vars if os.environ.get(k)},
    }


def load_results(path: Path) -> ResultsDocument:
    """A past run's typed results document (results.json, an output folder or a pack): every report
    re-renders from it alone. A file that is not a valid results document is one AuditError line."""
    data = load_document(path)
    try:
        return ResultsDocument.from_json(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise AuditError(f"{path} is not a valid isp-audit results document: {where}: {err['msg']}") from exc


def load_document(path: Path) -> dict[str, Any]:
    """Read a results.json (or a pack's data/results.json) and check its schema version."""
    if path.is_dir():
        for candidate in (path / "results.json", path / "data" / "results.json"):
            if candidate.is_file():
                path = candidate
                break
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AuditError(f"cannot read results {path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("schema_version") != SCHEMA_VERSION:
        raise AuditError(f"{path} is not an isp-audit results document (schema version {SCHEMA_VERSION})")
    return doc
