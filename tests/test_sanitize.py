"""The one sanitising rule (isp_audit.evidence.sanitize) and the YAML duplicate-key rule, as units."""

from __future__ import annotations

import io
import json

import pytest
from rich.text import Text

from isp_audit.errors import ProfileError
from isp_audit.evidence.sanitize import SafeConsole, is_clean, json_escaped, spreadsheet_cell, visible
from isp_audit.profile import parse_profile

HOSTILE = "a\x1b]0;pwn\x07b\x1b[2Jc\x9b31md\u202ee\u2066f\ud800g\x7fh\ri\nj\tk"


def test_visible_escapes_every_unsafe_character_and_keeps_the_rest() -> None:
    shown = visible(HOSTILE)
    assert is_clean(shown, keep_lines=False)
    assert shown == ("a\\x1b]0;pwn\\x07b\\x1b[2Jc\\x9b31md\\u202ee\\u2066f\\ud800g\\x7fh\\x0di\\x0aj\tk")
    assert visible(HOSTILE, keep_lines=True).endswith("h\\x0di\nj\tk")
    assert visible("héllo — ok ✓") == "héllo — ok ✓"  # ordinary Unicode is untouched
    assert visible(None) == ""


def test_json_escapes_are_the_same_data() -> None:
    doc = {"claim\x9b": "v\u202e", "ok": "é"}
    text = json_escaped(json.dumps(doc, ensure_ascii=False))
    assert is_clean(text) and "é" in text
    assert json.loads(text) == doc


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("@x", "'@x"), ("-1", "'-1"), ("\x1b=1", "\\x1b=1")],
)
def test_spreadsheet_cells_are_inert(cell: str, expected: str) -> None:
    assert spreadsheet_cell(cell) == expected


def test_safe_console_shows_escapes_but_keeps_its_own_colours() -> None:
    console = SafeConsole(file=io.StringIO(), force_terminal=True, color_system="standard")
    console.print(Text("x\x1b]0;pwn\x07y", style="red"), "plain\x9bz")
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[31m" in out  # rich's own SGR for "red" survives
    assert "\x1b]" not in out and "\x9b" not in out
    assert "x\\x1b]0;pwny" in out and "plain\\x9bz" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "target: {base_url: 'http://h/'}\nlogin: {url: /l, username: a}\nlogin: {url: /m, username: b}\n",
            "<profile> line 3: duplicate key 'login'",
        ),
        (
            "base: &b {url: /l, username: a}\ntarget: {base_url: 'http://h/'}\nlogin: *b\nx: [*b, *b]\n",
            "<profile> line 1: base: unknown key",
        ),  # aliases are shared nodes, not duplicates
        (
            "target: {base_url: 'http://h/', scope: [{a: 1, a: 2}]}\nlogin: {url: /l, username: a}\n",
            "<profile> line 1: duplicate key 'a'",
        ),
    ],
)
def test_duplicate_yaml_keys_are_named_with_their_line(text: str, message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile(text)
    assert str(caught.value).startswith(message), str(caught.value)
