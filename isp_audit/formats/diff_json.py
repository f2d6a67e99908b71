"""The reassessment (``isp-audit diff``) as JSON, for pipelines that post-process it."""

from __future__ import annotations

import json

from ..results.diff import DocDiff
from ..sanitize import json_escaped


def render(d: DocDiff) -> str:
    """The comparison as JSON, for pipelines that post-process it."""
    return json_escaped(json.dumps(d.to_dict(), indent=2, ensure_ascii=False)) + "\n"
