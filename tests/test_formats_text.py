"""The text formats (Markdown report, checks CSV, controls matrix, JUnit XML) on real results documents.

One real demo run (both demo apps, about 40 s) feeds every test: its results.json files are the documents,
and the evidence folders give the render context. Variants are derived from copies: a hostile one with
payloads in every field the target can influence, one with a waived (and one with an expired) failure,
one with an errored check, one aborted.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from isp_audit.document import refresh_summary
from isp_audit.evidence.outputs import context_for
from isp_audit.formats import RenderContext, csv_format, junit, markdown, matrix
from tests.conftest import typed

REPO = Path(__file__).resolve().parent.parent
APPS = ("server-side", "client-side")

SCRIPT = "</td><script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil")'
JS_LINK = "[click](javascript:alert(1))"
HOSTILE = f"{SCRIPT} | pipe {FORMULA} {JS_LINK} \x00\x07 ```fence``` `tick` line\nbreak\r\n# heading @here"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="session")
def demo(demo_output: Path) -> dict[str, tuple[dict[str, Any], RenderContext]]:
    loaded = {}
    for app in APPS:
        folder = demo_output / app
        loaded[app] = (json.loads((folder / "results.json").read_text("utf-8")), context_for(folder))
    return loaded


def doc_of(demo: dict[str, tuple[dict[str, Any], RenderContext]], app: str) -> dict[str, Any]:
    return copy.deepcopy(demo[app][0])


def first(doc: dict[str, Any], verdict: str) -> dict[str, Any]:
    return next(c for c in doc["checks"] if c["verdict"] == verdict)


def waive(doc: dict[str, Any], status: str = "active", justification: str = "Gateway adds Secure; JIRA-123") -> str:
    check = next(c for c in doc["checks"] if c["verdict"] == "fail" and not c.get("waiver"))
    check["waiver"] = {"justification": justification, "owner": "jane@agency.gov.au", "expires": "2099-01-01"}
    if status != "active":
        check["waiver"]["status"] = status
    refresh_summary(doc)
    return check["check_id"]


def hostile(doc: dict[str, Any]) -> dict[str, Any]:
    """Payloads in every field the scanned application can influence (and a few it cannot, for good measure)."""
    doc = copy.deepcopy(doc)
    doc["target"] = f"{FORMULA}/{SCRIPT}|x"
    doc["operator"] = f"@evil {SCRIPT}"
    doc["oracle"] = HOSTILE
    doc["profile"]["name"] = HOSTILE
    doc["policy"]["name"] = FORMULA
    doc["policy"]["description"] = HOSTILE
    for check in doc["checks"]:
        check["summary"] = f"{FORMULA} {HOSTILE}"
        check["title"] = f"+{HOSTILE}"
        check["evidence"]["page_title"] = HOSTILE
        check["evidence"]["nested"] = {"cookie": f"`{SCRIPT}`", "link": JS_LINK, "fence": "````"}
        check["remediation"]["summary"] = f"@SUM(1+1) {HOSTILE}"
    for token in doc["session_tokens"]:
        token["name"] = HOSTILE
        token["identified_by"] = HOSTILE
    for step in doc["steps"]:
        step["detail"] = f"cookie `{SCRIPT}` and cookie `a|b` {HOSTILE}"
        step["action"] = f"-{HOSTILE}"
    doc["steps"][0]["screenshot"] = "javascript:alert(1)"
    doc["steps"][1]["screenshot"] = "../../etc/passwd"
    for control in doc["controls"]:
        for item in control["manual"]:
            item["note"] = HOSTILE
            item["attachments"] = [{"path": f"{FORMULA}.pdf", "sha256": "ab" * 32}]
    return doc


# --- Markdown ---


def _md_parser() -> MarkdownIt:
    # Raw HTML allowed, as GitHub and most wikis allow it: escaping must be what keeps it out.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _outside_code(md: str) -> str:
    md = re.sub(r"^(`{3,})json\n.*?^\1$", "", md, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", md)


def _table_blocks(md: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in md.split("\n"):
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    return blocks


def _delimiters(row: str) -> int:
    """Cell-separating pipes: not backslash-escaped (an even run of backslashes before it)."""
    return sum(1 for m in re.finditer(r"(\\*)\|", row) if len(m.group(1)) % 2 == 0)


def _assert_markdown_safe(md: str) -> None:
    assert "\x00" not in md and "\x07" not in md
    # No "<" the renderer could read as markup: every one is backslash-escaped (or \u003c inside JSON).
    assert not re.search(r"(?:^|[^\\])(?:\\\\)*<", md, flags=re.M)
    assert "](javascript:" not in md
    for block in _table_blocks(md):
        widths = {_delimiters(row) for row in block}
        assert len(widths) == 1, block
    html = _md_parser().render(md)
    assert "<script" not in html.lower()
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(h.startswith("screenshots/") for h in hrefs), hrefs
    assert "<img" not in html
    tokens = _md_parser().parse(md)
    row_cells: list[int] = []
    for token in tokens:
        if token.type == "table_open":
            row_cells = []
        elif token.type == "tr_open":
            row_cells.append(0)
        elif token.type in ("th_open", "td_open"):
            row_cells[-1] += 1
        elif token.type == "table_close":
            assert len(set(row_cells)) == 1, row_cells


@pytest.mark.parametrize("app", APPS)
def test_markdown_carries_the_report(demo: Any, app: str) -> None:
    doc, ctx = demo[app][0], demo[app][1]
    md = markdown.render(typed(doc), ctx)
    _assert_markdown_safe(md)
    for heading in ("# ISM-2066", "## Executive summary", "## ISM controls", "## What a scan cannot prove"):
        assert heading in md
    assert "## Checks in detail" in md and "## Full timeline" in md and "## Evidence files" in md
    status = doc["summary"]["ism_2066"].replace("_", " ").upper()
    assert f"**ISM-2066 status:** **{status}**" in md
    assert f"`{doc['target']}`" in md and doc["operator"].replace("@", "\\@") in md
    for check in doc["checks"]:
        assert f"| `{check['check_id']}` |" in md
        assert f"(`{check['check_id']}`)" in md  # its detail section
    for control in doc["controls"]:
        assert f"| {control['id']} |" in md
        for item in control["manual"]:
            assert item["title"] in md
    sections = md.split("\n### ")
    for check in doc["checks"]:
        section = next(s for s in sections if s.split("\n", 1)[0].endswith(f"(`{check['check_id']}`)"))
        assert ("**How to fix:**" in section) == (check["verdict"] in ("fail", "warn", "error"))
        assert "```json" in section
        for index in check["steps"]:
            shot = next(s for s in doc["steps"] if s["index"] == index)["screenshot"]
            if shot:
                assert f"[screenshot]({shot})" in section
    # The fenced evidence is the same data as the document's.
    blocks = re.findall(r"^(`{3,})json\n(.*?)^\1$", md, flags=re.S | re.M)
    assert [json.loads(body) for _, body in blocks] == [c["evidence"] for c in doc["checks"]]


def test_markdown_escapes_hostile_text(demo: Any) -> None:
    doc = hostile(doc_of(demo, "client-side"))
    waive(doc, justification=HOSTILE)
    md = markdown.render(typed(doc), demo["client-side"][1])
    _assert_markdown_safe(md)
    assert "\\<script\\>" in md  # shown, not dropped
    assert "\\[click\\]\\(javascript:alert(1))" in md
    assert "\\| pipe" in md
    assert "[screenshot](javascript" not in md and "[screenshot](../" not in md
    # Hostile evidence still round-trips as JSON from its fence.
    blocks = re.findall(r"^(`{3,})json\n(.*?)^\1$", md, flags=re.S | re.M)
    assert json.loads(blocks[0][1])["nested"]["link"] == JS_LINK
    assert all(len(fence) >= 5 for fence, _ in blocks)  # longer than the "````" inside
    # A heading-looking line in a summary stays inside its paragraph.
    assert "\n# heading" not in md and "\n\\# heading" not in md


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cookie `sid` was replaced", "cookie `sid` was replaced"),  # the checks' `name` convention
        ("cookie `<b>` and `a|b` then `ok`", "cookie \\`\\<b\\>\\` and \\`a\\|b\\` then `ok`"),
        ("a ```x``` b", "a \\`\\`\\`x\\`\\`\\` b"),
        ("see [x](javascript:y) <img>", "see \\[x\\]\\(javascript:y) \\<img\\>"),
        ("SESSION_ENGINE and _em_ and __Host-", "SESSION_ENGINE and \\_em\\_ and \\_\\_Host-"),
        ("1. not a list", "1\\. not a list"),
        ("- not a list", "\\- not a list"),
        ("two\nlines\x00", "two lines\\\\x00"),  # a control character is shown as its escape
        ("a\x1b]0;pwn\x07b\u202ec\x9b", "a\\\\x1b\\]0;pwn\\\\x07b\\\\u202ec\\\\x9b"),
        ("http://evil.example www.evil.example", "http\\://evil.example www\\.evil.example"),
        ("&lt; $x$ @team #1 ~~s~~ *b*", "\\&lt; \\$x\\$ \\@team \\#1 \\~\\~s\\~\\~ \\*b\\*"),
    ],
)
def test_markdown_inline_escaping(text: str, expected: str) -> None:
    assert markdown.inline(text) == expected
    html = _md_parser().render(markdown.inline(text))
    assert "<a " not in html and "<img" not in html and "<em>" not in html and "<b>" not in html


def test_markdown_shows_waivers_and_aborted_scans(demo: Any) -> None:
    doc = doc_of(demo, "client-side")
    waived = waive(doc)
    doc["aborted"] = "login failed: the password field was not found"
    refresh_summary(doc)
    md = markdown.render(typed(doc), RenderContext())
    assert "> **The scan could not be completed:** login failed" in md
    assert "**ISM-2066 status:** **INCOMPLETE**" in md
    assert f"| `{waived}` | FAIL (waived) |" in md
    assert "**Waiver:** Gateway adds Secure; JIRA-123 (owner jane\\@agency.gov.au, expires 2099-01-01)" in md
    assert "5 failed (1 waived)" in md
    assert "## Evidence files" not in md  # no hashes without a context


# --- checks.csv ---


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("app", APPS)
def test_csv_has_one_row_per_check(demo: Any, app: str) -> None:
    doc = doc_of(demo, app)
    text = csv_format.render(typed(doc), demo[app][1])
    assert text.startswith(",".join(csv_format.COLUMNS) + "\r\n") and text.endswith("\r\n")
    header, *rows = _rows(text)
    assert tuple(header) == csv_format.COLUMNS
    assert [r[header.index("check_id")] for r in rows] == [c["check_id"] for c in doc["checks"]]
    for row, check in zip(rows, doc["checks"], strict=True):
        record = dict(zip(header, row, strict=True))
        assert record["verdict"] == check["verdict"] and record["waived"] == "no"
        assert record["target"] == doc["target"] and record["run_id"] == doc["run_id"]
        assert record["ism"] == "; ".join(check["references"]["ism"])
        assert record["evidence_steps"] == "; ".join(str(i) for i in check["steps"])


def test_csv_neutralises_formulas_and_shows_waivers(demo: Any) -> None:
    doc = hostile(doc_of(demo, "client-side"))
    waived = waive(doc)
    expired = waive(doc, status="expired") if sum(c["verdict"] == "fail" for c in doc["checks"]) > 1 else None
    text = csv_format.render(typed(doc), RenderContext())
    assert "\x00" not in text and "\x07" not in text
    header, *rows = _rows(text)
    assert len(rows) == len(doc["checks"])
    for row in rows:
        assert len(row) == len(header)
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row), row
    record = {r[header.index("check_id")]: dict(zip(header, r, strict=True)) for r in rows}
    any_row = next(iter(record.values()))
    assert any_row["summary"].startswith("'" + FORMULA)
    assert any_row["target"].startswith("'" + FORMULA)
    assert any_row["title"].startswith("'+")
    assert any_row["remediation_summary"].startswith("'@SUM")
    assert "line\nbreak" in any_row["summary"]  # newlines survive, quoted
    assert record[waived]["waived"] == "yes" and record[waived]["waiver_owner"] == "jane@agency.gov.au"
    assert record[waived]["waiver_expires"] == "2099-01-01"
    if expired:
        assert record[expired]["waived"] == "expired"


def test_safe_cell() -> None:
    assert csv_format.safe_cell("=1+1") == "'=1+1"
    assert csv_format.safe_cell("\t=1") == "'\t=1"
    assert csv_format.safe_cell("\x00=1") == "\\x00=1"  # shown as an escape; no formula is unmasked
    assert csv_format.safe_cell("a=1") == "a=1"
    assert csv_format.safe_cell(None) == ""
    assert csv_format.safe_cell("x" * 40_000).endswith("(truncated)")


# --- controls matrix ---

EXPECTED_OUTCOMES = {
    "satisfied": "Effective",
    "not_satisfied": "Not effective",
    "review": "Requires review",
    "inconclusive": "Not assessed (test could not complete)",
    "not_assessed": "Not assessed",
}


def _matrix_variants(demo: Any) -> list[dict[str, Any]]:
    errored = doc_of(demo, "server-side")
    first(errored, "pass")["verdict"] = "error"  # a control it feeds becomes inconclusive
    for check in errored["checks"]:
        if check["check_id"] == "token-entropy":
            check["verdict"] = "not_applicable"  # ISM-2065 becomes not assessed
    refresh_summary(errored)
    return [doc_of(demo, "server-side"), doc_of(demo, "client-side"), errored]


def test_matrix_maps_every_status(demo: Any) -> None:
    seen = set()
    for doc in _matrix_variants(demo):
        header, *rows = _rows(matrix.render(typed(doc), RenderContext()))
        assert tuple(header) == matrix.COLUMNS
        assert [r[0] for r in rows] == [c["id"] for c in doc["controls"]]
        for row, control in zip(rows, doc["controls"], strict=True):
            record = dict(zip(header, row, strict=True))
            assert record["Assessment outcome"] == EXPECTED_OUTCOMES[control["status"]]
            assert record["Assessor notes"] == ""
            assert record["Check IDs"].split("\n") == (control["checks"] or [""])
            for check_id in control["checks"]:
                assert f"{check_id}: " in record["Observations"]
            seen.add(control["status"])
    assert seen == set(EXPECTED_OUTCOMES)


def test_matrix_cites_hashed_evidence(demo: Any) -> None:
    doc, ctx = demo["server-side"]
    header, *rows = _rows(matrix.render(typed(doc), ctx))
    evidence = dict(zip(header, rows[0], strict=True))["Evidence files"].split("\n")
    assert evidence[0] == f"results.json (sha256:{ctx.hashes['results.json']})"
    assert any(line.startswith("report.html (sha256:") for line in evidence)
    assert any(line.startswith("screenshots/") for line in evidence)
    assert any(line.startswith("har/") for line in evidence)
    for line in evidence:
        path, _, digest = line.partition(" (sha256:")
        assert digest[:-1] == ctx.hashes[path]


def test_matrix_neutralises_formulas_and_notes_waivers(demo: Any) -> None:
    doc = hostile(doc_of(demo, "client-side"))
    waived = waive(doc)
    doc["aborted"] = "the target stopped answering"
    text = matrix.render(typed(doc), RenderContext())
    assert "\x00" not in text
    header, *rows = _rows(text)
    assert len(rows) == len(doc["controls"])
    for row in rows:
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row), row
        assert row[header.index("Assessment outcome")].endswith("(scan incomplete)")
    observations = "\n".join(r[header.index("Observations")] for r in rows)
    assert re.search(rf"^{waived}: FAIL — .*\[WAIVED: Gateway adds Secure", observations, flags=re.M)
    assert "Manual — " in observations
    # Manual attachments are cited with their hash (mid-cell, where a spreadsheet reads no formula).
    assert f"\n{FORMULA}.pdf (sha256:{'ab' * 32})" in "\n".join(r[header.index("Evidence files")] for r in rows)


# --- JUnit ---


def _suite(xml: str) -> ET.Element:
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == "testsuites" and root.get("name") == "isp-audit"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    for attr in ("tests", "failures", "errors", "skipped", "time", "timestamp"):
        assert root.get(attr) == suites[0].get(attr)
    return suites[0]


def _assert_counts(suite: ET.Element, doc: dict[str, Any], extra_errors: int = 0) -> None:
    checks = doc["checks"]
    waived = [c for c in checks if c["verdict"] == "fail" and (c.get("waiver") or {}).get("status") != "expired"]
    waived = [c for c in waived if c.get("waiver")]
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases) == len(checks) + extra_errors
    assert int(suite.get("failures")) == sum(c["verdict"] == "fail" for c in checks) - len(waived)
    assert int(suite.get("errors")) == sum(c["verdict"] == "error" for c in checks) + extra_errors
    assert int(suite.get("skipped")) == sum(c["verdict"] == "not_applicable" for c in checks) + len(waived)
    assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
    assert int(suite.get("errors")) == sum(1 for c in cases if c.find("error") is not None)
    assert int(suite.get("skipped")) == sum(1 for c in cases if c.find("skipped") is not None)
    names = [c.get("name") for c in cases]
    assert len(set(names)) == len(names)
    for case in cases:
        out = case.find("system-out")
        assert out is not None and "results.json" in out.text


@pytest.mark.parametrize("app", APPS)
def test_junit_counts_match_verdicts(demo: Any, app: str) -> None:
    doc, ctx = demo[app]
    suite = _suite(junit.render(typed(doc), ctx))
    _assert_counts(suite, doc)
    assert suite.get("name") == f"ISM-2066 {doc['target']}"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["target"] == doc["target"] and props["run_id"] == doc["run_id"]
    assert props["policy"] == doc["policy"]["name"] and props["operator"] == doc["operator"]
    assert props["ism_2066_status"] == doc["summary"]["ism_2066"]
    cases = {c.get("name").split(":")[0]: c for c in suite.findall("testcase")}
    for check in doc["checks"]:
        case = cases[check["check_id"]]
        assert case.get("classname") == "isp_audit." + check["check_id"].replace("-", "_")
        assert float(case.get("time")) == pytest.approx(check["duration_s"], abs=0.001)
        if check["verdict"] == "warn":
            assert case.find("system-out").text.startswith("WARNING: ")
        if check["verdict"] == "fail":
            failure = case.find("failure")
            assert failure.get("type") == check["severity"]
            assert "How to fix:" in failure.text and "results.json" in failure.text
        for index in check["steps"]:
            shot = next(s for s in doc["steps"] if s["index"] == index)["screenshot"]
            if shot:
                assert shot in case.find("system-out").text


def test_junit_waived_failure_is_skipped_and_expired_one_fails(demo: Any) -> None:
    doc = doc_of(demo, "client-side")
    waived = waive(doc)
    expired = waive(doc, status="expired")
    suite = _suite(junit.render(typed(doc), RenderContext()))
    _assert_counts(suite, doc)
    cases = {c.get("name").split(":")[0]: c for c in suite.findall("testcase")}
    skipped = cases[waived].find("skipped")
    assert cases[waived].find("failure") is None and skipped is not None
    assert skipped.get("message") == "waived: Gateway adds Secure; JIRA-123 (jane@agency.gov.au, expires 2099-01-01)"
    assert cases[expired].find("failure") is not None and "expired" in cases[expired].find("failure").text


def test_junit_errors_and_aborted_scans_fail_the_suite(demo: Any) -> None:
    doc = doc_of(demo, "server-side")
    errored = first(doc, "pass")
    errored["verdict"] = "error"
    doc["aborted"] = "the target stopped answering"
    refresh_summary(doc)
    suite = _suite(junit.render(typed(doc), RenderContext()))
    _assert_counts(suite, doc, extra_errors=1)
    cases = {c.get("name").split(":")[0]: c for c in suite.findall("testcase")}
    assert cases[errored["check_id"]].find("error").get("type") == "error"
    assert "the target stopped answering" in cases["scan"].find("error").get("message")


def test_junit_is_well_formed_with_hostile_text(demo: Any) -> None:
    doc = hostile(doc_of(demo, "client-side"))
    waive(doc, justification=HOSTILE + "x" * 600)
    xml = junit.render(typed(doc), demo["client-side"][1])
    assert "\x00" not in xml and "\x07" not in xml and "<script" not in xml
    suite = _suite(xml)
    _assert_counts(suite, doc)
    assert suite.get("name") == f"ISM-2066 {doc['target']}"  # escaped by ElementTree, intact once parsed
    for element in suite.iter():
        for attr in ("message",):
            if element.get(attr) is not None:
                assert len(element.get(attr)) <= junit.MESSAGE_LIMIT
    summary = suite.find("testcase/system-out").text
    assert SCRIPT in summary and JS_LINK in summary
