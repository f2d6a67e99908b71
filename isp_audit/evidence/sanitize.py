"""Making text that came from a scanned application safe to show: the one place that decides what is unsafe.

A target controls page titles, cookie and claim names, URLs and status texts, and all of them end up in the
terminal, in Markdown tickets and in spreadsheets. Three things can go wrong there:

* a terminal obeys escape sequences (ESC, CSI, OSC; and the single-byte C1 forms such as U+009B): a cookie
  name can retitle the window, hide lines, or write a fake verdict over the real one;
* bidirectional overrides (U+202A–U+202E, U+2066–U+2069, and the marks U+200E, U+200F, U+061C) make text
  display in an order other than the one it is stored in ("Trojan Source");
* a spreadsheet runs a cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or CR) as a formula.

:func:`visible` rewrites every such character as a visible ``\\xNN`` / ``\\uNNNN`` escape, so the reader still
sees that the target sent it, but nothing acts on it. Everything that prints or writes target text goes
through here: the terminal (``console.py``, ``cli.py``, ``diff.py``), Markdown and CSV (``formats``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.segment import Segment
from rich.text import Text

# C0 controls except tab, DEL, C1 controls, bidi overrides/isolates/marks, lone surrogates
# (which cannot even be encoded to UTF-8), and the two non-characters XML 1.0 forbids.
_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
# The same, but keeping line feeds too: for multi-line text whose layout is the author's own.
_UNSAFE_KEEP_LINES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
# OWASP CSV injection: cells starting with these are formulas (or become one after a spreadsheet trims).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: Any, *, keep_lines: bool = False) -> str:
    """``value`` as text in which every control, escape-sequence introducer and bidi override is shown as a
    ``\\xNN``/``\\uNNNN`` escape. Tabs are kept; line feeds are escaped too unless ``keep_lines``."""
    text = "" if value is None else str(value)
    return (_UNSAFE_KEEP_LINES if keep_lines else _UNSAFE).sub(_escape, text)


def json_escaped(text: str) -> str:
    """JSON text (``ensure_ascii=False``) with the unsafe characters as JSON ``\\uNNNN`` escapes: the same data
    once parsed, but nothing a terminal or a bidi-aware viewer acts on. JSON itself escapes C0 already."""
    return _UNSAFE_KEEP_LINES.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def is_clean(text: str, *, keep_lines: bool = True) -> bool:
    """True when ``text`` holds none of the characters :func:`visible` would escape."""
    return not (_UNSAFE_KEEP_LINES if keep_lines else _UNSAFE).search(text)


def spreadsheet_cell(value: Any, limit: int | None = None) -> str:
    """A spreadsheet cell that cannot run as a formula nor carry terminal escapes: unsafe characters are
    shown as escapes, and OWASP's leading ``'`` is added when the cell starts like a formula."""
    text = visible(value, keep_lines=True)
    if limit is not None and len(text) > limit:
        text = text[:limit] + " … (truncated)"
    if text.startswith(FORMULA_TRIGGERS):
        text = "'" + text
    return text


def terminal_text(value: Any, style: str = "") -> Text:
    """Target text for a rich console: escapes shown visibly, and a :class:`~rich.text.Text` so that ``[...]``
    in it is never read as markup, whatever the console's markup setting."""
    return Text(visible(value, keep_lines=True), style=style)


class SafeConsole(Console):
    """A rich console that shows any unsafe character in what it prints as an escape, whatever the caller
    passed: the last line of defence behind :func:`terminal_text`. Rich's own colours and cursor moves are
    added after this point (styles and control segments), so they still work."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            seg if seg.control else Segment(visible(seg.text, keep_lines=True), seg.style, seg.control)
            for seg in buffer
        )
