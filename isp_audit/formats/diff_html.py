"""The reassessment (``isp-audit diff``) as one self-contained HTML file: inline CSS, no script, everything
escaped. The page is ``templates/diff.html.j2``."""

from __future__ import annotations

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from .. import __version__
from ..resources import resource_dir
from ..results.diff import DocDiff, label, run_rows, waiver_active, waiver_expired, waiver_note
from ..results.model import Waiver
from .html import ticks


def _verdict_html(verdict: str | None, waiver: Waiver | None) -> Markup:
    if verdict is None:
        return Markup('<span class="meta">not run</span>')
    out = Markup('<span class="v v-{0}">{1}</span>').format(verdict, label(verdict))
    if waiver_active(waiver):
        out += Markup(' <span class="v v-waived">waived</span>')
    elif waiver_expired(waiver):
        out += Markup(' <span class="v v-fail">waiver expired</span>')
    return out


def render(d: DocDiff) -> str:
    """The reassessment report as one self-contained HTML file: inline CSS, no script, everything escaped."""
    env = Environment(
        loader=FileSystemLoader(str(resource_dir("templates"))), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["label"] = label
    env.filters["ticks"] = ticks
    env.filters["slug"] = lambda s: str(s).replace(" ", "-")
    runs = run_rows(d)
    return env.get_template("diff.html.j2").render(
        d=d, runs=runs, verdict=_verdict_html, waiver_note=waiver_note, version=__version__
    )
