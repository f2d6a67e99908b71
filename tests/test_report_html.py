"""The HTML report opened in the real browser: self-contained, inert, readable, even for a hostile target.

A target controls much of what a report shows (cookie names, URLs, page text that becomes evidence), so
the test scans an app that plants HTML and script payloads in exactly those places, then opens the report
in Chromium and watches for any script, dialog, console error or network request. A screenshot of the
rendered report is kept in test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from werkzeug.wrappers import Request, Response

from isp_audit.demo.apps import PASSWORD_ENV, RunningApp, ServerSideApp
from isp_audit.document import build_document
from isp_audit.evidence.outputs import ReportSpec, write_reports
from isp_audit.results.model import ResultsDocument
from tests.conftest import REPO, scan_in_process

PAYLOAD = '<script>window.__pwned=1;alert("xss")</script><img src=x onerror="window.__pwned=2">'
ARTIFACTS = REPO / "test-artifacts"


class HostileApp(ServerSideApp):
    """Puts script payloads where a report will show them: a cookie name, a URL, a page title."""

    title = "<script>alert('title')</script>Hostile"

    def login_page(self, request: Request) -> Response:
        resp = super().login_page(request)
        # A cookie name cannot hold "=", so this payload has none.
        resp.headers.add("Set-Cookie", "<script>alert(6)</script>=1; Path=/")
        return resp

    def login(self, request: Request) -> Response:
        resp = super().login(request)
        if resp.status_code == 302:
            resp.headers["Location"] = "/account?next=%3Cscript%3Ealert(4)%3C/script%3E"
        return resp


@pytest.fixture(scope="module")
def hostile_report(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hostile")
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSWORD_ENV, "hostile-Pa55-word")
    try:
        with RunningApp(HostileApp()) as app:
            result = scan_in_process(
                browser,
                {
                    "name": f"shop {PAYLOAD}",
                    "target": {"base_url": app.url},
                    "login": {"url": "/login", "username": "alice", "password_env": PASSWORD_ENV},
                },
                out,
                ("cookie-attributes", "rotate-on-login", "logout-invalidates", "server-side-state", "token-in-url"),
            )
    finally:
        mp.undo()
    doc = build_document(result)
    # And where the scan itself would not put them: every free-text field a future check might fill.
    doc["checks"][0]["summary"] += f" {PAYLOAD} [x](javascript:alert(5))"
    doc["checks"][0]["evidence"]["note"] = PAYLOAD
    doc["steps"][0]["detail"] += PAYLOAD
    doc["session_tokens"][0]["name"] = PAYLOAD
    write_reports(ResultsDocument.from_json(doc), out, [ReportSpec("html", None)])
    return out / "report.html"


def test_report_is_self_contained_and_inert(browser: Browser, hostile_report: Path) -> None:
    html = hostile_report.read_text(encoding="utf-8")
    assert "<script" not in html.lower().replace("&lt;script", "")  # only escaped forms remain
    assert 'onerror="window' not in html
    assert "data:image/jpeg;base64," in html  # screenshots embedded, not linked
    page = browser.new_page()
    console_errors: list[str] = []
    dialogs: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.goto(hostile_report.as_uri())
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("window.__pwned === undefined")
    assert dialogs == [] and console_errors == [] and requests == []
    # The payloads are shown as text, so an assessor can see what the target tried.
    assert "window.__pwned=1" in page.inner_text("body")
    assert page.locator("text=ISM-2066 session management audit").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "hostile-report.png"), full_page=False)
    page.close()


def test_report_prints_to_pdf(browser: Browser, hostile_report: Path, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto(hostile_report.as_uri())
    pdf = page.pdf(format="A4")
    page.close()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


def test_hostile_cookie_name_reached_the_evidence_escaped(hostile_report: Path) -> None:
    results = json.loads((hostile_report.parent / "results.json").read_text())
    other = results["checks"][0]["evidence"].get("other_cookies", [])
    assert any("<script>" in c["cookie"] for c in other), other  # the browser kept it; the report escapes it
    assert "&lt;script&gt;alert(6)" in hostile_report.read_text(encoding="utf-8")


def test_each_screenshot_is_embedded_once_and_shown_wherever_cited(browser: Browser, hostile_report: Path) -> None:
    html = hostile_report.read_text(encoding="utf-8")
    doc = json.loads((hostile_report.parent / "results.json").read_text())
    steps = {s["index"]: s for s in doc["steps"]}
    citations = [steps[i]["screenshot"] for c in doc["checks"] for i in c["steps"] if steps[i]["screenshot"]]
    cited = set(citations)
    assert len(citations) > len(cited), "precondition: several checks cite the same (login) screenshot"
    blobs = {base64.b64encode((hostile_report.parent / shot).read_bytes()).decode() for shot in cited}
    assert html.count("data:image/") == len(blobs)  # files with the same bytes share one embedding too
    for blob in blobs:
        assert html.count(blob) == 1
    page = browser.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(hostile_report.as_uri())
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    shown = page.locator("svg.shot")
    assert shown.count() == len(citations)
    # Each citation paints the picture (CSP allows data: images in SVG too): what it shows changes when the
    # one embedded image is taken away.
    ends = (0, shown.count() - 1)
    painted = [shown.nth(i).screenshot(type="png") for i in ends]
    for i in ends:
        box = shown.nth(i).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50
    page.evaluate("document.querySelectorAll('defs image').forEach(e => e.remove())")
    blank = [shown.nth(i).screenshot(type="png") for i in ends]
    assert all(len(p) > 2 * len(b) for p, b in zip(painted, blank, strict=True))
    assert console_errors == []
    page.close()
