"""``results.json``: the results document itself. Every other format renders from it."""

from __future__ import annotations

import json
from typing import Any

from . import RenderContext


def render(doc: dict[str, Any], ctx: RenderContext) -> str:
    return json.dumps(doc, indent=2, default=str, ensure_ascii=False) + "\n"
