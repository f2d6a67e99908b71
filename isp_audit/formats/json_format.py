"""``results.json``: the results document itself. Every other format renders from it."""

from __future__ import annotations

import json
from typing import Any

from ..sanitize import json_escaped
from .context import FormatSpec, RenderContext

FORMAT = FormatSpec(name="json", default_file="results.json", order=10)


def render(doc: dict[str, Any], ctx: RenderContext) -> str:
    # Same data once parsed; C1 controls and bidi overrides as \u escapes so `cat results.json` is safe.
    return json_escaped(json.dumps(doc, indent=2, default=str, ensure_ascii=False)) + "\n"
