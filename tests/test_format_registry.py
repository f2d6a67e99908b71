"""The format registry: a module that declares FORMAT is a format, and nothing else needs to know."""

from __future__ import annotations

import json
import pkgutil
from pathlib import Path

import isp_audit.formats as formats_pkg
from isp_audit.formats import default_files, formats, render
from isp_audit.formats.context import RenderContext
from tests.conftest import typed


def test_every_declared_format_is_registered_once_in_its_order() -> None:
    assert formats() == ("json", "html", "md", "junit", "sarif", "oscal", "csv", "matrix")
    files = default_files()
    assert len(set(files.values())) == len(files), "two formats would write the same default file"
    assert files["json"] == "results.json"  # the document itself, which `report` re-renders from


def test_modules_without_a_declaration_are_not_formats() -> None:
    names = {m.name for m in pkgutil.iter_modules(formats_pkg.__path__)}
    assert {"context", "diff_html", "diff_json", "diff_markdown"} <= names
    assert not {"context", "diff_html", "diff_json", "diff_markdown"} & set(formats())


def test_render_dispatches_to_the_declaring_module(demo_output: Path) -> None:
    # The json format is results.json itself: a past run's file, read into the typed model, renders back
    # byte for byte (the model keeps every key and its order).
    text = (demo_output / "server-side" / "results.json").read_text(encoding="utf-8")
    assert render("json", typed(json.loads(text)), RenderContext()) == text
