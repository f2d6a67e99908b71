"""``report.html``: one self-contained file for humans (inline CSS, screenshots as data URIs, no script).

Each screenshot is embedded once, however many checks cite its step (see :class:`Screenshot`).

Everything that came from the target (titles, URLs, cookie names, summaries) goes through Jinja2's
autoescaping, and a Content-Security-Policy meta tag forbids scripts outright, so a hostile page title
or cookie name cannot run in the assessor's browser.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ..evidence.sanitize import visible
from ..resources import resource_dir
from ..results.model import ResultsDocument
from .context import FormatSpec, RenderContext

FORMAT = FormatSpec(name="html", default_file="report.html", order=20)

VERDICT_ORDER = ("fail", "error", "warn", "pass", "not_applicable")
DEFAULT_SHOT_SIZE = (1100, 720)  # the lab's viewport, for an image whose header cannot be read
MAX_EXCHANGES = 60  # per client: enough to follow the story, not a full HAR viewer


def render(doc: ResultsDocument, ctx: RenderContext) -> str:
    env = Environment(
        loader=FileSystemLoader(str(resource_dir("templates"))),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_visible,
    )
    env.filters["pretty"] = lambda obj: json.dumps(obj, indent=2, default=str, ensure_ascii=False)
    env.filters["ticks"] = ticks
    env.filters["label"] = lambda v: str(v).replace("_", " ")
    shots = _screenshots(doc, ctx)
    return env.get_template("report.html.j2").render(
        doc=doc,
        steps=doc.steps_by_index(),
        shots=shots,
        exchanges=_exchanges(ctx),
        hashes=ctx.hashes,
    )


@dataclass(frozen=True)
class Screenshot:
    """One screenshot, embedded once in the report (an SVG ``<image>`` in a hidden ``<defs>``) and shown
    wherever a check cites its step through ``<use>``: the shared login steps are cited by most checks,
    and embedding each citation again made reports tens of megabytes."""

    ref: str  # the element id the citations point at
    data_uri: str
    width: int
    height: int


def _screenshots(doc: ResultsDocument, ctx: RenderContext) -> dict[str, Screenshot]:
    """The screenshots the checks cite, by path; files with the same bytes share one embedding."""
    steps = doc.steps_by_index()
    cited = {steps[i].screenshot for c in doc.checks for i in c.steps if i in steps}
    by_content: dict[bytes, Screenshot] = {}
    shots: dict[str, Screenshot] = {}
    for path, data in sorted(ctx.assets.items()):
        if path.startswith("screenshots/") and path in cited:
            if data not in by_content:
                width, height = image_size(data) or DEFAULT_SHOT_SIZE
                by_content[data] = Screenshot(f"shot-{len(by_content)}", _data_uri(path, data), width, height)
            shots[path] = by_content[data]
    return shots


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG from its header, or None when it is neither."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start-of-frame segment
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def _visible(value: Any) -> Any:
    """Every value the template prints: controls and bidi overrides shown as escapes (isp_audit.evidence.sanitize)."""
    if isinstance(value, Markup):
        return Markup(visible(value, keep_lines=True))
    return visible(value, keep_lines=True) if isinstance(value, str) else value


def ticks(text: Any) -> Markup:
    """Show `name` spans as code. Escaping happens first, so target-supplied text stays inert."""
    return Markup(re.sub(r"`([^`<>]+)`", r"<code>\1</code>", str(escape(str(text)))))


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
