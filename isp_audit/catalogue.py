"""The check catalogue: one YAML file per check in ``checks/``, validated on load.

The catalogue holds what a check *means* (title, severity, standards references, rationale, remediation);
the code in ``isp_audit.checks`` holds what it *does*. A test keeps the two in step.
"""

from __future__ import annotations

import textwrap
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .errors import AuditError
from .resources import resource_dir

STACKS = ("django", "flask", "express", "spring", "aspnet_core", "rails", "php")


class Remediation(BaseModel):
    """How to fix a failure: a general statement, then concrete hints for common stacks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    summary: str
    stacks: dict[Literal["django", "flask", "express", "spring", "aspnet_core", "rails", "php"], str]

    @field_validator("stacks")
    @classmethod
    def _every_stack(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [s for s in STACKS if s not in value]
        if missing:
            raise ValueError(f"remediation.stacks lacks {', '.join(missing)}")
        return value


class CheckMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    severity: Literal["critical", "high", "medium", "low", "info"]
    # Where the check runs in a scan (lower first). The one place the order is declared: checks that use the
    # baseline's live session first, the logout experiment after them, then the checks that read everything
    # the scan saw, and token-entropy last (its sampling creates many sessions, which can evict live ones
    # from a bounded session store).
    run_order: int
    ism: list[str]
    asvs_4: list[str] = []
    asvs_5: list[str] = []
    wstg: list[str] = []
    nist: list[str] = []
    cwe: list[str] = []
    rationale: str
    how_it_works: str
    remediation: Remediation
    verdicts: dict[Literal["pass", "fail", "warn", "not_applicable", "error"], str]
    evidence: list[str]
    # The verdict each demo app (isp_audit.demo) was built to get; the demo succeeds only on exactly these.
    demo: dict[Literal["server-side", "client-side"], Literal["pass", "fail", "warn", "not_applicable", "error"]]

    @field_validator("id")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not value.replace("-", "").isalnum() or value.lower() != value:
            raise ValueError("check ids are lower-case kebab-case")
        return value

    @field_validator("ism")
    @classmethod
    def _ism_ids(cls, value: list[str]) -> list[str]:
        if not value or any(not v.startswith("ISM-") for v in value):
            raise ValueError("ism lists at least one ISM-NNNN control")
        return value


@cache
def load_catalogue() -> dict[str, CheckMeta]:
    """All catalogued checks by id, in file-name order."""
    folder = resource_dir("checks")
    out: dict[str, CheckMeta] = {}
    for path in sorted(folder.glob("*.yaml")):
        meta = _load_one(path)
        if meta.id != path.stem:
            raise AuditError(f"catalogue file {path.name}: id {meta.id!r} does not match the file name")
        out[meta.id] = meta
    return out


def checks_in_run_order() -> list[CheckMeta]:
    """The catalogued checks in the order a scan runs them."""
    return sorted(load_catalogue().values(), key=lambda meta: (meta.run_order, meta.id))


def demo_expectations() -> dict[str, dict[str, str]]:
    """Per demo app, the verdict each check was built to get, read from the catalogue's ``demo:`` keys."""
    apps: dict[str, dict[str, str]] = {}
    for meta in checks_in_run_order():
        for app, verdict in meta.demo.items():
            apps.setdefault(app, {})[meta.id] = verdict
    return apps


def _load_one(path: Path) -> CheckMeta:
    try:
        return CheckMeta.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise AuditError(f"catalogue file {path.name} is invalid: {str(exc).splitlines()[0]}") from exc


class ManualItem(BaseModel):
    """Evidence no scan can produce (architecture, procedures, training, monitoring): the auditor attests it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    ask: str  # what to request from the system owner
    good: str  # what good evidence looks like


class ControlMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    statement: str
    checks: list[str]
    manual: list[ManualItem] = []
    note: str | None = None


class Framework(BaseModel):
    """A compliance framework's controls mapped to checks: kept apart from the checks themselves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    version: str
    source: str
    controls: list[ControlMapping]


@cache
def load_framework(name: str = "ism") -> Framework:
    path = resource_dir("checks") / "frameworks" / f"{name}.yaml"
    try:
        framework = Framework.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise AuditError(f"framework file {path.name} is invalid: {str(exc).splitlines()[0]}") from exc
    known = load_catalogue()
    for control in framework.controls:
        unknown = [c for c in control.checks if c not in known]
        if unknown:
            raise AuditError(f"framework {name}: {control.id} maps unknown checks {', '.join(unknown)}")
    return framework


def explain_text(meta: CheckMeta) -> str:
    """A catalogue entry as plain text for the terminal (``isp-audit explain``)."""
    refs = [
        ("ISM", meta.ism),
        ("ASVS 4.0.3", meta.asvs_4),
        ("ASVS 5.0.0", meta.asvs_5),
        ("WSTG", meta.wstg),
        ("NIST", meta.nist),
        ("CWE", meta.cwe),
    ]
    lines = [f"{meta.id}: {meta.title} (severity {meta.severity})", ""]
    lines += [f"  {name:11} {', '.join(values)}" for name, values in refs if values]
    lines += ["", "Why it matters", _indent(meta.rationale), "", "How it is tested", _indent(meta.how_it_works)]
    lines += ["", "Verdicts"] + [f"  {v:15} {text}" for v, text in meta.verdicts.items()]
    lines += ["", "How to fix", _indent(meta.remediation.summary)]
    lines += [f"  {stack:12} {hint}" for stack, hint in meta.remediation.stacks.items()]
    lines += ["", "Evidence kept", *(f"  - {e}" for e in meta.evidence), ""]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join(textwrap.wrap(" ".join(text.split()), 100, initial_indent="  ", subsequent_indent="  "))
