"""Canary: a known password and known session tokens go through full scans; none may reach disk or terminal.

The demo apps are started in this process with a token factory that issues recognisable values; the
scan runs through the real CLI in a subprocess, so its terminal output is exactly what a user sees.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import os
import secrets
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

from isp_audit.demo.apps import PASSWORD_ENV, ClientSideApp, RunningApp, ServerSideApp
from tests.apps.encoding_zoo import EchoEverywhereApp, lower_escapes
from tests.apps.spa_drawn import USERNAME as SPA_USERNAME
from tests.apps.spa_drawn import DrawnSpaApp
from tests.conftest import CliRun, run_cli

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


FORMATS = ("html", "md", "json", "junit", "sarif", "oscal", "csv", "matrix")


def _scan(url: str, password: str, tmp_path: Path, *extra: str, path: str = "login", user: str = "alice") -> CliRun:
    """A full CLI scan with every report format, the pack and the zip; the app reads the password per request."""
    os.environ[PASSWORD_ENV] = password
    (tmp_path / "reports").mkdir(exist_ok=True)  # a --report folder must exist (it is never created silently)
    try:
        return run_cli(
            "scan",
            f"{url}{path}",
            "--username",
            user,
            "--password-env",
            PASSWORD_ENV,
            "--out",
            str(tmp_path / "out"),
            "--json",
            "--pack",
            "--zip",
            str(tmp_path / "pack.zip"),
            *(a for f in FORMATS for a in ("--report", f"{f}:{tmp_path / 'reports' / f}")),
            *extra,
            env={PASSWORD_ENV: password},
        )
    finally:
        del os.environ[PASSWORD_ENV]


def _haystacks(tmp_path: Path, run: CliRun) -> dict[str, bytes]:
    """Every output: the pack, every report, every zip's unpacked members, stdout and stderr."""
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) > 8  # results, report, timeline, HARs, states, screenshots...
    haystacks = {str(p.relative_to(tmp_path)): p.read_bytes() for p in files}
    for archive in (p for p in files if p.suffix == ".zip"):  # compressed: search what it unpacks to
        with zipfile.ZipFile(archive) as pack:
            haystacks.update({f"{archive.name}!{n}": pack.read(n) for n in pack.namelist()})
    haystacks["<stdout>"] = run.stdout.encode()
    haystacks["<stderr>"] = run.stderr.encode()
    return haystacks


def _assert_absent(needles: set[str], haystacks: dict[str, bytes]) -> None:
    for where, data in haystacks.items():
        for needle in needles:
            assert needle.encode() not in data, f"{needle!r} leaked into {where}"


@pytest.mark.parametrize("app_cls", [ServerSideApp, ClientSideApp], ids=["server-side", "client-side"])
def test_no_secret_reaches_any_output(app_cls: type, tmp_path: Path) -> None:
    app = app_cls(token_factory=_factory())
    with RunningApp(app) as running:
        run = _scan(running.url, PASSWORD, tmp_path)
    assert run.code in (0, 1), run.stderr  # the scan really ran
    # The tokens the app issued are known only by prefix; every issued value starts with it.
    needles = _forms(PASSWORD) | {TOKEN_PREFIX} | _forms(TOKEN_PREFIX + "000")
    _assert_absent(needles, _haystacks(tmp_path, run))
    # And the evidence still shows the tokens, as fingerprints.
    out = tmp_path / "out"
    assert "fp:" in (out / "data" / "results.json").read_text()
    assert "fp:" in (out / "data" / "har" / "http-replay.har").read_text()


# A password a target can mangle every way: spaces, quotes, markup, a "%41" that URL-decoding would
# turn into "A", "+" and "/" that base64 and forms treat specially, and characters beyond ASCII.
HOSTILE_PASSWORD = 'Cän4ry pa+ss/%41 "q" <&> ' + secrets.token_hex(4)


def _encoded_forms(value: str) -> set[str]:
    """The value as a target may echo it: plain, percent-escaped (either case, whole or reserved only),
    base64 and base64url at all three alignments, hex in either case, JSON- and HTML-escaped, reversed."""
    raw = value.encode()
    forms = {
        value,
        value[::-1],
        quote(value, safe=""),
        lower_escapes(value),
        "".join(f"%{b:02X}" for b in raw),
        "".join(f"%{b:02x}" for b in raw),
        raw.hex(),
        raw.hex().upper(),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value),
    }
    for shift in range(3):
        chunk = base64.b64encode(raw[shift:]).decode()[:-4]  # the last group may mix with what follows
        forms |= {chunk, chunk.replace("+", "-").replace("/", "_")}
    return {f for f in forms if len(f) >= 8}


def test_no_encoded_secret_reaches_any_output(tmp_path: Path) -> None:
    """A hostile app echoes the password and the session ID base64-, percent- and hex-encoded into pages,
    headers, URLs and storage (IndexedDB too); none of it, in any form, may reach an output."""
    app = EchoEverywhereApp()
    with RunningApp(app) as running:
        # token-entropy's samples are never recorded; skipping it keeps the list of issued IDs short.
        run = _scan(running.url, HOSTILE_PASSWORD, tmp_path, "--skip", "token-entropy")
    assert run.code in (0, 1), run.stderr
    assert 0 < len(app.issued) < 300
    results = json.loads((tmp_path / "out" / "data" / "results.json").read_text())
    verdicts = {c["check_id"]: c["verdict"] for c in results["checks"]}
    assert verdicts["token-in-url"] == "fail" and verdicts["token-in-web-storage"] == "fail", verdicts
    needles = _encoded_forms(HOSTILE_PASSWORD).union(*(_encoded_forms(sid) for sid in app.issued))
    _assert_absent(needles, _haystacks(tmp_path, run))


def _jwt_forms(token: str) -> set[str]:
    """A JWT leaks through its signature (the header and claims are no secret, and reports may show claims)."""
    return {token, quote(token, safe="")} | _forms(token.rsplit(".", 1)[1])


def test_no_storage_token_or_password_reaches_any_output_of_a_request_oracle_scan(tmp_path: Path) -> None:
    # A single-page app (tests/apps/spa_drawn.py): the JWT lives in localStorage and travels as a Bearer
    # header; the oracle is derived from the app's own API traffic and every replay sends that header over
    # plain HTTP. The header, the storage snapshots, the derived oracle and the HARs are new places to leak.
    app = DrawnSpaApp(PASSWORD)
    with RunningApp(app) as running:  # type: ignore[arg-type]
        run = _scan(running.url, PASSWORD, tmp_path, path="", user=SPA_USERNAME)
    assert run.code in (0, 1), run.stderr
    assert len(app.issued) >= 2, app.issued  # the baseline login and the checks' own logins
    needles = _forms(PASSWORD) | {f for token in app.issued for f in _jwt_forms(token)}
    _assert_absent(needles, _haystacks(tmp_path, run))
    assert "Authorization" in (tmp_path / "out" / "data" / "results.json").read_text()  # the header was used


def test_no_secret_reaches_any_output_of_a_portfolio(tmp_path: Path) -> None:
    # Two targets audited at once: per-target packs plus the portfolio summaries in every format.
    servers = [ServerSideApp(token_factory=_factory()), ClientSideApp(token_factory=_factory())]
    os.environ[PASSWORD_ENV] = PASSWORD
    try:
        with RunningApp(servers[0]) as first, RunningApp(servers[1]) as second:
            login = f"{{url: /login, username: alice, password_env: {PASSWORD_ENV}}}"
            (tmp_path / "portfolio.yaml").write_text(
                "targets:\n"
                f"  - {{name: server, target: {{base_url: '{first.url}'}}, login: {login}}}\n"
                f"  - {{name: client, target: {{base_url: '{second.url}'}}, login: {login}}}\n",
                encoding="utf-8",
            )
            run = run_cli(
                "scan",
                "--targets",
                str(tmp_path / "portfolio.yaml"),
                "--jobs",
                "2",
                "--pack",
                "--out",
                str(tmp_path / "out"),
                env={PASSWORD_ENV: PASSWORD},
            )
    finally:
        del os.environ[PASSWORD_ENV]
    assert run.code in (0, 1), run.stderr
    assert (tmp_path / "out" / "portfolio.json").exists()
    needles = _forms(PASSWORD) | {TOKEN_PREFIX} | _forms(TOKEN_PREFIX + "000")
    _assert_absent(needles, _haystacks(tmp_path, run))
