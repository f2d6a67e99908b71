"""``results.json``: the scan as data. Every other format can be rendered from this."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from ..model import ScanResult

SCHEMA_VERSION = "1"


def to_dict(result: ScanResult) -> dict[str, Any]:
    data = asdict(result)
    data = {"schema_version": SCHEMA_VERSION, **data}
    data["summary"] = {
        v: sum(1 for c in result.checks if c.verdict == v) for v in ("pass", "fail", "warn", "not_applicable", "error")
    }
    return data


def render(result: ScanResult) -> str:
    return json.dumps(to_dict(result), indent=2, default=str) + "\n"
