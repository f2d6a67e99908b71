"""``report.html``: the human report, rendered with Jinja2 from the shipped templates (autoescaped)."""

from __future__ import annotations

import json
import re

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ..catalogue import load_catalogue
from ..model import ScanResult
from ..resources import resource_dir


def render(result: ScanResult) -> str:
    env = Environment(
        loader=FileSystemLoader(str(resource_dir("templates"))),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty"] = lambda obj: json.dumps(obj, indent=2, default=str)
    env.filters["ticks"] = _ticks
    steps = {s.index: s for s in result.steps}
    return env.get_template("report.html.j2").render(
        result=result,
        catalogue=load_catalogue(),
        steps=steps,
        counts={
            v: sum(1 for c in result.checks if c.verdict == v)
            for v in ("pass", "fail", "warn", "not_applicable", "error")
        },
    )


def _ticks(text: str) -> Markup:
    """Show `name` spans as code. Escaping happens first, so target-supplied text stays inert."""
    return Markup(re.sub(r"`([^`<>]+)`", r"<code>\1</code>", str(escape(text))))
