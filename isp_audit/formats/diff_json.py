"""The reassessment (``isp-audit diff``) as JSON, for pipelines that post-process it."""

from __future__ import annotations

import json

from ..evidence.sanitize import json_escaped
from ..results.diff import DocDiff


def render(d: DocDiff) -> str:
    """The comparison as JSON, for pipelines that post-process it."""
    return json_escaped(json.dumps(d.to_dict(), indent=2, ensure_ascii=False)) + "\n"
