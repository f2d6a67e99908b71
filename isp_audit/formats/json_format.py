"""``results.json``: the results document itself (schema isp_audit/schema/results-v1.schema.json). Every
other format renders from it, so any past run re-renders from this file alone."""

from __future__ import annotations

import json

from ..evidence.sanitize import json_escaped
from ..results.model import ResultsDocument
from .context import FormatSpec, RenderContext

FORMAT = FormatSpec(name="json", default_file="results.json", order=10)


def render(doc: ResultsDocument, ctx: RenderContext) -> str:
    # Same data once parsed; C1 controls and bidi overrides as \u escapes so `cat results.json` is safe.
    return json_escaped(json.dumps(doc.to_json(), indent=2, ensure_ascii=False)) + "\n"
