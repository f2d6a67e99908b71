"""Redaction never corrupts the evidence: a real framework whose logout writes `session=null`.

Measured truth of tests/apps/starlette_session.py (Starlette SessionMiddleware), by hand with requests:
POST /login sets `session=<b64 JSON>.<ts>.<sig>`; GET /account with it answers 200 "Signed in as alice";
POST /logout answers `Set-Cookie: session=null; path=/; expires=Thu, 01 Jan 1970 …`; replaying the
captured cookie afterwards from a new client still answers 200 "Signed in as alice" (client state, no
server record). So logout-invalidates and server-side-state must fail, and token-opacity must fail
(the JSON {"user": "alice"} is readable).

Before the fix `null` was registered as a secret and replaced in the serialised results.json, which then
held `"waiver": [fp:…]` and was no longer JSON; every report rendered from it was lost.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.apps_fixtures import running_app
from tests.conftest import run_cli, write_profile

PASSWORD = "starlette-Pa55-canary-7f3e"
FORMATS = ("json", "html", "md", "junit", "sarif", "oscal", "csv", "matrix")


def test_starlette_null_cookie_keeps_every_output_valid(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with running_app("starlette_session", PASSWORD) as url:
        profile = write_profile(
            tmp_path / "starlette.yaml",
            f"""target:
  base_url: {url}
login:
  url: /login
  username: alice
  password_env: APP_PASSWORD
authenticated:
  url: /account
  expect_text: Signed in as
checks: [server-side-state, logout-invalidates, token-opacity, cookie-attributes]
""",
        )
        reports = [arg for fmt in FORMATS for arg in ("--report", fmt)]
        run = run_cli(
            "scan", "-p", str(profile), "--out", str(out), "--zip", str(tmp_path / "pack.zip"), *reports,
            env={"APP_PASSWORD": PASSWORD},
        )  # fmt: skip
    assert run.code == 1, run.stderr[-2000:]  # findings, not an error
    data = out / "data"  # --zip makes the output folder a BagIt pack; run_cli validated every JSON file in it
    doc = json.loads((data / "results.json").read_text(encoding="utf-8"))
    verdict = {c["check_id"]: c["verdict"] for c in doc["checks"]}
    assert verdict["logout-invalidates"] == "fail"
    assert verdict["server-side-state"] == "fail"
    assert verdict["token-opacity"] == "fail"
    logout_cookies = json.loads((data / "cookies" / "set-cookie-log.json").read_text(encoding="utf-8"))
    assert any(rec["deletes"] for rec in logout_cookies), "the logout's `session=null` was recorded"
    with zipfile.ZipFile(tmp_path / "pack.zip") as pack:
        for name in pack.namelist():
            if name.endswith((".json", ".har", ".sarif")):
                json.loads(pack.read(name))
    for path in [*out.rglob("*"), tmp_path / "pack.zip"]:
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert PASSWORD not in run.stdout + run.stderr
