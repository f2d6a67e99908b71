"""The check catalogue: one YAML file per check in ``checks/``, validated on load.

The catalogue holds what a check *means* (title, severity, standards references, rationale, remediation);
the code in ``isp_audit.checks`` holds what it *does*. A test keeps the two in step.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .errors import AuditError
from .resources import resource_dir


class CheckMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    severity: Literal["critical", "high", "medium", "low", "info"]
    ism: list[str]
    asvs_4: list[str] = []
    asvs_5: list[str] = []
    wstg: list[str] = []
    nist: list[str] = []
    cwe: list[str] = []
    rationale: str
    how_it_works: str
    remediation: str
    evidence: list[str] = []

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


def _load_one(path: Path) -> CheckMeta:
    try:
        return CheckMeta.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise AuditError(f"catalogue file {path.name} is invalid: {str(exc).splitlines()[0]}") from exc
