"""Canary: a known password and known session tokens go through full scans; none may reach disk or terminal.

The demo apps are started in this process with a token factory that issues recognisable values; the
scan runs through the real CLI in a subprocess, so its terminal output is exactly what a user sees.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

from isp_audit.demo.apps import PASSWORD_ENV, ClientSideApp, RunningApp, ServerSideApp
from tests.conftest import run_cli

PASSWORD = "CanaryPassw0rd-" + secrets.token_hex(6)
TOKEN_PREFIX = "CANARYTOKEN"


def _factory() -> callable:
    counter = itertools.count()
    return lambda: f"{TOKEN_PREFIX}{next(counter):03d}{secrets.token_hex(16)}"


def _forms(value: str) -> set[str]:
    """The encodings a leak could take: plain, URL-encoded and base64 (all three alignments)."""
    raw = value.encode()
    forms = {value, quote(value, safe="")}
    for shift in range(3):
        chunk = base64.b64encode(raw[shift:]).decode()[4:-4]
        if len(chunk) >= 8:
            forms.add(chunk)
    return forms


@pytest.mark.parametrize("app_cls", [ServerSideApp, ClientSideApp], ids=["server-side", "client-side"])
def test_no_secret_reaches_any_output(app_cls: type, tmp_path: Path) -> None:
    app = app_cls(token_factory=_factory())
    out = tmp_path / "out"
    with RunningApp(app) as running:
        import os

        os.environ[PASSWORD_ENV] = PASSWORD  # the app reads it per request
        try:
            formats = ("html", "md", "json", "junit", "sarif", "oscal", "csv", "matrix")
            (tmp_path / "reports").mkdir()  # a --report PATH's folder must exist (only --out is created)
            run = run_cli(
                "scan",
                f"{running.url}login",
                "--username",
                "alice",
                "--password-env",
                PASSWORD_ENV,
                "--out",
                str(out),
                "--json",
                "--pack",
                "--zip",
                str(tmp_path / "pack.zip"),
                *(a for f in formats for a in ("--report", f"{f}:{tmp_path / 'reports' / f}")),
                env={PASSWORD_ENV: PASSWORD},
            )
        finally:
            del os.environ[PASSWORD_ENV]
    assert run.code in (0, 1), run.stderr  # the scan really ran
    files = [p for p in tmp_path.rglob("*") if p.is_file()]  # the pack, every report, the zip
    assert len(files) > 8  # results, report, timeline, HARs, states, screenshots...
    haystacks = {str(p.relative_to(tmp_path)): p.read_bytes() for p in files}
    with zipfile.ZipFile(tmp_path / "pack.zip") as pack:  # compressed: search what it unpacks to
        haystacks.update({f"pack.zip!{n}": pack.read(n) for n in pack.namelist()})
    haystacks["<stdout>"] = run.stdout.encode()
    haystacks["<stderr>"] = run.stderr.encode()
    # The tokens the app issued are known only by prefix; every issued value starts with it.
    needles = _forms(PASSWORD) | {TOKEN_PREFIX} | _forms(TOKEN_PREFIX + "000")
    for where, data in haystacks.items():
        for needle in needles:
            assert needle.encode() not in data, f"{needle!r} leaked into {where}"
    # And the evidence still shows the tokens, as fingerprints.
    assert "fp:" in (out / "data" / "results.json").read_text()
    assert "fp:" in (out / "data" / "har" / "http-replay.har").read_text()
