"""``report.html``: one self-contained file for humans (inline CSS, screenshots as data URIs, no script).

Everything that came from the target (titles, URLs, cookie names, summaries) goes through Jinja2's
autoescaping, and a Content-Security-Policy meta tag forbids scripts outright, so a hostile page title
or cookie name cannot run in the assessor's browser.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ..resources import resource_dir
from . import RenderContext

VERDICT_ORDER = ("fail", "error", "warn", "pass", "not_applicable")
MAX_EXCHANGES = 60  # per client: enough to follow the story, not a full HAR viewer


def render(doc: dict[str, Any], ctx: RenderContext) -> str:
    env = Environment(
        loader=FileSystemLoader(str(resource_dir("templates"))),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty"] = lambda obj: json.dumps(obj, indent=2, default=str, ensure_ascii=False)
    env.filters["ticks"] = _ticks
    env.filters["label"] = lambda v: str(v).replace("_", " ")
    steps = {s["index"]: s for s in doc.get("steps", [])}
    return env.get_template("report.html.j2").render(
        doc=doc,
        steps=steps,
        shots={path: _data_uri(path, data) for path, data in ctx.assets.items() if path.startswith("screenshots/")},
        exchanges=_exchanges(ctx),
        hashes=ctx.hashes,
    )


def _ticks(text: str) -> Markup:
    """Show `name` spans as code. Escaping happens first, so target-supplied text stays inert."""
    return Markup(re.sub(r"`([^`<>]+)`", r"<code>\1</code>", str(escape(text))))


def _data_uri(path: str, data: bytes) -> str:
    mime = "image/png" if path.endswith(".png") else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _exchanges(ctx: RenderContext) -> dict[str, list[dict[str, Any]]]:
    """Redacted request/response excerpts per client from the (already sanitized) HAR files."""
    out: dict[str, list[dict[str, Any]]] = {}
    for path, data in sorted(ctx.assets.items()):
        if not path.startswith("har/"):
            continue
        try:
            entries = json.loads(data)["log"]["entries"]
        except (ValueError, KeyError, TypeError):
            continue
        rows = []
        for entry in entries[:MAX_EXCHANGES]:
            interesting = [
                f"{h['name']}: {h['value']}"
                for h in entry["response"]["headers"]
                if h["name"].lower() in ("set-cookie", "location")
            ]
            rows.append(
                {
                    "time": entry["startedDateTime"],
                    "request": f"{entry['request']['method']} {entry['request']['url']}",
                    "status": entry["response"]["status"],
                    "headers": interesting,
                }
            )
        out[path.removeprefix("har/").removesuffix(".har")] = rows
    return out
