"""Waivers, the exit-code gate, reassessment diffs and the CI templates, tested on their modules directly.

Synthetic documents cover the rules case by case; the real documents of ``isp-audit demo`` (a
client-side-session app and a server-side one) are the natural "before" and "after" of a fix.
"""

from __future__ import annotations

import copy
import io
import json
import shlex
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from isp_audit.catalogue import load_catalogue, load_framework
from isp_audit.diff import (
    classify,
    diff_documents,
    diff_table,
    render_diff_html,
    render_diff_json,
    render_diff_markdown,
)
from isp_audit.document import refresh_summary
from isp_audit.errors import AuditError
from isp_audit.gate import check_fail_on, exit_code, gate_summary
from isp_audit.waivers import Waiver, apply_waivers, load_waivers, parse_waivers, target_matches
from tests.conftest import typed

REPO = Path(__file__).resolve().parent.parent
TARGET = "https://app.example/"
TODAY = date(2026, 6, 1)


# --- helpers ------------------------------------------------------------------------------------------------


def make_doc(verdicts: dict[str, str], target: str = TARGET, aborted: str | None = None) -> dict[str, Any]:
    """A results document shaped like ``build_document``'s: the verdicts given, nothing else recorded."""
    catalogue = load_catalogue()
    checks = [
        {
            "check_id": cid,
            "title": catalogue[cid].title,
            "severity": catalogue[cid].severity,
            "verdict": verdict,
            "summary": f"{cid} was {verdict}.",
            "evidence": {},
            "steps": [],
            "started_at": "2026-06-01T00:00:00Z",
            "duration_s": 0.0,
            "references": {"ism": catalogue[cid].ism},
            "rationale": catalogue[cid].rationale,
            "how_it_works": catalogue[cid].how_it_works,
            "remediation": catalogue[cid].remediation.model_dump(),
            "waiver": None,
        }
        for cid, verdict in verdicts.items()
    ]
    controls = [
        {
            "id": c.id,
            "title": c.title,
            "statement": c.statement,
            "note": c.note,
            "checks": [x for x in c.checks if x in verdicts],
            "not_run": [x for x in c.checks if x not in verdicts],
            "status": "not_assessed",
        }
        for c in load_framework("ism").controls
    ]
    doc = {
        "schema_version": "1",
        "run_id": f"run-{target}-{len(verdicts)}",
        "tool": {"name": "isp-audit", "version": "0.1.0"},
        "target": target,
        "profile": {"name": "test", "path": None, "sha256": None},
        "operator": "tester@ci",
        "started_at": "2026-06-01T00:00:00Z",
        "finished_at": "2026-06-01T00:01:00Z",
        "policy": {"name": "ism", "entropy_samples": 1000},
        "oracle": "GET /account → 200",
        "session_tokens": [],
        "token_trials": [],
        "checks": checks,
        "controls": controls,
        "steps": [],
        "stats": {"logins": 1, "browser_requests": 1, "http_requests": 0, "clients": 1},
        "files": {},
        "aborted": aborted,
        "provenance": {"tool": {"name": "isp-audit", "version": "0.1.0"}},
        "summary": {},
    }
    refresh_summary(doc)
    return doc


def waiver(check: str = "cookie-attributes", target: str = TARGET, expires: date = date(2027, 3, 31)) -> Waiver:
    return Waiver(check=check, target=target, justification="gateway adds Secure", owner="jane@x", expires=expires)


def waiver_yaml(**overrides: Any) -> str:
    entry = {
        "check": "cookie-attributes",
        "target": TARGET,
        "justification": "gateway adds Secure; JIRA-123",
        "owner": "jane.citizen@agency.gov.au",
        "expires": "2027-03-31",
    }
    entry.update(overrides)
    entry = {k: v for k, v in entry.items() if v is not None}
    return yaml.safe_dump({"waivers": [entry]})


def by_id(doc: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(c for c in doc["checks"] if c["check_id"] == check_id)


@pytest.fixture(scope="session")
def demo_docs(demo_output: Path) -> dict[str, dict[str, Any]]:
    """The two demo apps' real results documents, from the shared run of ``isp-audit demo``."""
    return {
        name: json.loads((demo_output / name / "results.json").read_text()) for name in ("client-side", "server-side")
    }


# --- loading waiver files ------------------------------------------------------------------------------------


def test_the_example_waiver_file_loads() -> None:
    waivers = load_waivers(REPO / "docs" / "waivers.example.yaml")
    assert [w.check for w in waivers] == ["cookie-attributes", "concurrent-sessions"]
    assert waivers[0].expires == date(2027, 3, 31)


def test_a_quoted_date_and_an_empty_file_are_accepted() -> None:
    assert parse_waivers(waiver_yaml(expires="2027-03-31"))[0].expires == date(2027, 3, 31)
    assert parse_waivers("") == []
    assert parse_waivers("waivers: []") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (waiver_yaml(colour="blue"), "unknown key 'colour'"),
        ("waivers: []\nwaiver: []\n", "unknown key 'waiver'"),
        (waiver_yaml(check="cookie-atributes"), "unknown check id 'cookie-atributes'"),
        (waiver_yaml(owner=None), "required key 'owner' is missing"),
        (waiver_yaml(justification="  "), "must not be empty"),
        (waiver_yaml(expires="31/03/2027"), "expires"),
        (waiver_yaml(expires="2027-02-30"), "not a valid date"),
        (waiver_yaml(expires=20270331), "expires"),
        ("waivers:\n  - check: [unclosed\n", "not valid YAML"),
        ("- just a list\n", "a YAML mapping with a `waivers:` list"),
    ],
    ids=[
        "unknown-key",
        "unknown-top-level-key",
        "unknown-check",
        "missing-field",
        "empty-field",
        "bad-date-format",
        "impossible-date",
        "number-date",
        "bad-yaml",
        "not-a-mapping",
    ],
)
def test_bad_waiver_files_are_one_line_errors(text: str, expected: str) -> None:
    with pytest.raises(AuditError) as info:
        parse_waivers(text, "w.yaml")
    message = str(info.value)
    assert expected in message
    assert message.startswith("w.yaml")
    assert "\n" not in message


def test_a_missing_waiver_file_is_an_audit_error(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="cannot read waivers"):
        load_waivers(tmp_path / "nope.yaml")


# --- applying waivers ----------------------------------------------------------------------------------------


def test_an_active_waiver_marks_the_failure_but_keeps_it_a_failure() -> None:
    doc = make_doc({"cookie-attributes": "fail", "token-opacity": "pass"})
    assert next(c for c in doc["controls"] if c["id"] == "ISM-2063")["status"] == "not_satisfied"
    outcome = apply_waivers(doc, [waiver()], today=TODAY)
    check = by_id(doc, "cookie-attributes")
    assert check["verdict"] == "fail"
    assert check["waiver"]["status"] == "active"
    assert check["waiver"]["owner"] == "jane@x" and check["waiver"]["expires"] == "2027-03-31"
    assert check["waiver"]["justification"] == "gateway adds Secure"
    assert [u.check_id for u in outcome.applied] == ["cookie-attributes"]
    assert outcome.expired == [] and outcome.unused == []
    assert doc["summary"]["verdicts"]["fail"] == 1 and doc["summary"]["verdicts"]["waived"] == 1
    # A waived failure never makes a control satisfied: it needs review.
    assert next(c for c in doc["controls"] if c["id"] == "ISM-2063")["status"] == "review"


def test_a_waiver_holds_through_its_last_day_and_expires_the_day_after() -> None:
    last_day = date(2026, 6, 1)
    doc = make_doc({"cookie-attributes": "fail"})
    assert apply_waivers(doc, [waiver(expires=last_day)], today=last_day).applied
    doc = make_doc({"cookie-attributes": "fail"})
    outcome = apply_waivers(doc, [waiver(expires=last_day)], today=date(2026, 6, 2))
    assert outcome.applied == [] and [u.check_id for u in outcome.expired] == ["cookie-attributes"]
    assert by_id(doc, "cookie-attributes")["waiver"]["status"] == "expired"
    assert by_id(doc, "cookie-attributes")["verdict"] == "fail"
    assert any("EXPIRED" in line for line in outcome.lines())


def test_an_expired_waiver_does_not_count_as_waived_in_the_summary() -> None:
    doc = make_doc({"cookie-attributes": "fail"})
    apply_waivers(doc, [waiver(expires=date(2026, 1, 1))], today=TODAY)
    assert doc["summary"]["verdicts"]["waived"] == 0
    assert next(c for c in doc["controls"] if c["id"] == "ISM-2063")["status"] == "not_satisfied"


def test_waivers_that_match_no_failing_check_are_reported_unused() -> None:
    doc = make_doc({"cookie-attributes": "pass", "token-opacity": "fail", "rotate-on-login": "error"})
    waivers = [
        waiver("cookie-attributes"),  # the check passes now: the waiver is stale
        waiver("token-opacity", target="https://other.example/"),  # another target
        waiver("logout-invalidates"),  # the check did not run
        waiver("rotate-on-login"),  # error cannot be waived: nothing was proven
    ]
    outcome = apply_waivers(doc, waivers, today=TODAY)
    assert outcome.applied == [] and outcome.expired == []
    reasons = {u.waiver.check: u.reason for u in outcome.unused}
    assert "verdict is pass" in reasons["cookie-attributes"]
    assert "target does not match" in reasons["token-opacity"]
    assert "did not run" in reasons["logout-invalidates"]
    assert "verdict is error" in reasons["rotate-on-login"]
    assert all(c["waiver"] is None for c in doc["checks"])


def test_an_active_waiver_wins_over_an_expired_one_for_the_same_check() -> None:
    doc = make_doc({"cookie-attributes": "fail"})
    old, new = waiver(expires=date(2026, 1, 1)), waiver(expires=date(2027, 1, 1))
    outcome = apply_waivers(doc, [old, new], today=TODAY)
    assert [u.waiver for u in outcome.applied] == [new]
    assert outcome.expired == []
    assert [u.waiver for u in outcome.unused] == [old] and "another waiver" in outcome.unused[0].reason


def test_applying_waivers_again_replaces_the_earlier_marks() -> None:
    doc = make_doc({"cookie-attributes": "fail"})
    apply_waivers(doc, [waiver()], today=TODAY)
    apply_waivers(doc, [], today=TODAY)
    assert by_id(doc, "cookie-attributes")["waiver"] is None
    assert doc["summary"]["verdicts"]["waived"] == 0


@pytest.mark.parametrize(
    ("pattern", "target", "matches"),
    [
        ("https://app.example/", "https://app.example/", True),
        ("https://app.example", "https://app.example/", True),
        ("HTTPS://App.Example/", "https://app.example/", True),
        ("https://app.example/", "https://app.example.evil/", False),
        ("https://app.example/", "http://app.example/", False),
        ("https://*.example/", "https://app.example/", True),
        ("https://*.example/", "https://a.b.example/", True),
        ("https://*.example/", "https://evil.test/x.example/", False),
        ("https://*.example/", "https://app.example/portal/", False),
        ("https://app.example/**", "https://app.example/portal/x/", True),
        ("https://app.example/**", "https://app.example/", True),
        ("https://app?.example/", "https://app1.example/", True),
        ("**", "https://anything.example/", True),
    ],
)
def test_target_matching(pattern: str, target: str, matches: bool) -> None:
    assert target_matches(pattern, target) is matches


def test_a_glob_waiver_applies_to_the_matching_target() -> None:
    doc = make_doc({"cookie-attributes": "fail"}, target="https://app.staging.agency.gov.au/")
    outcome = apply_waivers(doc, [waiver(target="https://*.staging.agency.gov.au/")], today=TODAY)
    assert [u.check_id for u in outcome.applied] == ["cookie-attributes"]


# --- the exit code -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [("critical", 0), ("high", 1), ("medium", 1), ("low", 1), ("info", 1), ("none", 0), ("HIGH", 1)],
)
def test_exit_code_follows_fail_on(fail_on: str, code: int) -> None:
    doc = make_doc({"logout-invalidates": "fail", "token-opacity": "pass"})  # logout-invalidates is high
    assert by_id(doc, "logout-invalidates")["severity"] == "high"
    assert exit_code(doc, fail_on) == code


def test_a_low_failure_fails_only_at_low_and_below() -> None:
    doc = make_doc({"concurrent-sessions": "fail", "token-opacity": "pass"})  # low severity
    assert exit_code(doc) == 1  # the default "low": every failure counts
    assert exit_code(doc, "medium") == 0
    assert "1 below" in gate_summary(doc, "medium")


def test_warn_and_pass_never_fail_and_errors_are_named() -> None:
    doc = make_doc({"cookie-attributes": "warn", "token-opacity": "pass", "rotate-on-login": "error"})
    assert exit_code(doc) == 0
    line = gate_summary(doc)
    assert "could not run (rotate-on-login)" in line and line.endswith("exit 0")


def test_waived_failures_do_not_fail_the_run() -> None:
    doc = make_doc({"cookie-attributes": "fail", "logout-invalidates": "fail"})
    apply_waivers(doc, [waiver("cookie-attributes"), waiver("logout-invalidates")], today=TODAY)
    assert exit_code(doc) == 0
    assert gate_summary(doc, "high") == "1 failure at or above high (1 waived), 1 below; exit 0"


def test_gate_summary_names_the_count_the_waived_and_the_code() -> None:
    doc = make_doc({"logout-invalidates": "fail", "rotate-on-login": "fail", "token-opacity": "pass"})
    apply_waivers(doc, [waiver("rotate-on-login")], today=TODAY)
    assert exit_code(doc, "high") == 1
    assert gate_summary(doc, "high") == "2 failures at or above high (1 waived); exit 1"
    assert gate_summary(doc, "critical") == "no failures at or above critical, 2 below; exit 0"


def test_an_expired_waiver_fails_the_run_whatever_fail_on_but_not_an_advisory_one() -> None:
    doc = make_doc({"concurrent-sessions": "fail"})
    outcome = apply_waivers(doc, [waiver("concurrent-sessions", expires=date(2026, 1, 1))], today=TODAY)
    assert outcome.expired
    for fail_on in ("low", "critical", "none"):
        assert exit_code(doc, fail_on, expired_waivers=True) == 1
        assert exit_code(doc, fail_on) == 1  # the document's own marks count too
    assert "1 expired waiver (fails the run)" in gate_summary(doc, "critical", expired_waivers=True)
    assert exit_code(doc, "low", advisory=True, expired_waivers=True) == 0
    assert gate_summary(doc, advisory=True).endswith("exit 0 (--advisory)")


def test_advisory_exits_0_with_failures_but_an_aborted_scan_is_still_2() -> None:
    doc = make_doc({"logout-invalidates": "fail"})
    assert exit_code(doc, advisory=True) == 0
    aborted = make_doc({"logout-invalidates": "fail"}, aborted="login failed: no password field")
    assert exit_code(aborted) == 2
    assert exit_code(aborted, advisory=True) == 2
    assert exit_code(aborted, "none") == 2
    assert gate_summary(aborted) == "scan incomplete: login failed: no password field; exit 2"


def test_fail_on_none_reports_failures_without_failing() -> None:
    doc = make_doc({"logout-invalidates": "fail", "cookie-attributes": "fail"})
    apply_waivers(doc, [waiver()], today=TODAY)
    assert exit_code(doc, "none") == 0
    assert gate_summary(doc, "none").startswith("2 failures (1 waived) (--fail-on none")


def test_unknown_fail_on_is_an_audit_error() -> None:
    assert check_fail_on(" Medium ") == "medium"
    with pytest.raises(AuditError, match="unknown --fail-on 'severe'"):
        exit_code(make_doc({}), "severe")


def test_waivers_and_gate_on_a_real_document(demo_docs: dict[str, dict[str, Any]]) -> None:
    doc = copy.deepcopy(demo_docs["client-side"])
    failing = [c["check_id"] for c in doc["checks"] if c["verdict"] == "fail"]
    assert "cookie-attributes" in failing and exit_code(doc) == 1
    waivers = [waiver(cid, target=doc["target"]) for cid in failing]
    outcome = apply_waivers(doc, waivers, today=TODAY)
    assert sorted(u.check_id for u in outcome.applied) == sorted(failing)
    assert doc["summary"]["verdicts"]["waived"] == len(failing)
    assert doc["summary"]["ism_2066"] == "review"
    assert exit_code(doc) == 0
    assert exit_code(doc, expired_waivers=True) == 1


# --- reassessment diffs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "change"),
    [
        ("fail", "pass", "fixed"),
        ("error", "not_applicable", "fixed"),
        ("warn", "pass", "fixed"),
        ("fail", "warn", "improved"),
        ("pass", "fail", "regressed"),
        ("not_applicable", "error", "regressed"),
        ("warn", "fail", "regressed"),
        ("pass", "warn", "regressed"),
        ("fail", "fail", "still failing"),
        ("fail", "error", "still failing"),
        ("pass", "pass", "unchanged"),
        ("warn", "warn", "unchanged"),
        ("pass", "not_applicable", "changed"),
        (None, "fail", "new"),
        ("pass", None, "removed"),
    ],
)
def test_classify(old: str | None, new: str | None, change: str) -> None:
    assert classify(old, new) == change


def test_diff_before_and_after_the_fix_shows_the_fixes_and_no_regressions(
    demo_docs: dict[str, dict[str, Any]],
) -> None:
    d = diff_documents(typed(demo_docs["client-side"]), typed(demo_docs["server-side"]))
    fixed = {c.check_id for c in d.by_change("fixed")}
    assert {"server-side-state", "logout-invalidates", "rotate-on-login", "token-opacity"} <= fixed
    assert d.by_change("regressed") == [] and d.by_change("still failing") == []
    assert d.counts["fixed"] == len(fixed) and d.headline().startswith(f"{len(fixed)} fixed, 0 regressed")
    change = next(c for c in d.checks if c.check_id == "logout-invalidates")
    assert (change.old_verdict, change.new_verdict) == ("fail", "pass")
    assert change.old_summary and change.new_summary and change.old_summary != change.new_summary
    ism = next(c for c in d.controls if c.id == "ISM-2066")
    assert (ism.old_status, ism.change) == ("not_satisfied", "better")
    # The demo apps listen on different ports: comparing them is allowed, and flagged.
    assert any("DIFFERENT TARGETS" in w for w in d.warnings)
    md = render_diff_markdown(d)
    assert "# ISM-2066 reassessment" in md and f"**{d.headline()}.**" in md
    assert "| logout-invalidates | high | **fixed** | fail | pass |" in md
    assert "DIFFERENT TARGETS" in md
    html = render_diff_html(d)
    assert "logout-invalidates" in html and "c-fixed" in html and "DIFFERENT TARGETS" in html
    assert "<script" not in html.lower()
    assert json.loads(render_diff_json(d))["counts"]["regressed"] == 0
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(diff_table(d))
    text = console.export_text()
    assert "server-side-state" in text and "fixed" in text


def test_diff_the_other_way_round_shows_regressions(demo_docs: dict[str, dict[str, Any]]) -> None:
    d = diff_documents(typed(demo_docs["server-side"]), typed(demo_docs["client-side"]))
    regressed = {c.check_id for c in d.by_change("regressed")}
    assert {"server-side-state", "logout-invalidates", "rotate-on-login", "token-opacity"} <= regressed
    assert d.by_change("fixed") == []
    assert d.checks[0].change == "regressed"  # what needs attention comes first
    assert next(c for c in d.controls if c.id == "ISM-2066").change == "worse"
    assert "| server-side-state | high | **regressed** | pass | fail |" in render_diff_markdown(d)
    assert "c-regressed" in render_diff_html(d)


def test_a_document_compared_with_itself_is_unchanged_and_flagged(demo_docs: dict[str, dict[str, Any]]) -> None:
    doc = demo_docs["client-side"]
    d = diff_documents(typed(doc), typed(doc))
    assert {c.change for c in d.checks} <= {"unchanged", "still failing"}
    assert d.counts["still failing"] == sum(1 for c in doc["checks"] if c["verdict"] in ("fail", "error"))
    assert any("same run" in w for w in d.warnings)
    assert not any("DIFFERENT TARGETS" in w for w in d.warnings)


def test_diff_flags_different_policies_and_shows_new_removed_and_waived_checks() -> None:
    old = make_doc({"cookie-attributes": "fail", "token-opacity": "fail", "jwt-hygiene": "pass"})
    new = make_doc({"cookie-attributes": "fail", "token-opacity": "pass", "token-entropy": "warn"})
    new["policy"] = {"name": "nist-800-63b-4-aal2"}
    new["run_id"], new["started_at"] = "run-after", "2026-07-01T00:00:00Z"
    apply_waivers(new, [waiver()], today=TODAY)
    d = diff_documents(typed(old), typed(new))
    changes = {c.check_id: c.change for c in d.checks}
    assert changes == {
        "cookie-attributes": "still failing",
        "token-opacity": "fixed",
        "token-entropy": "new",
        "jwt-hygiene": "removed",
    }
    assert any("DIFFERENT POLICIES" in w for w in d.warnings)
    assert not any("TARGETS" in w for w in d.warnings)
    md = render_diff_markdown(d)
    assert "| cookie-attributes | medium | **still failing** | fail | fail (waived) |" in md
    assert "waived until 2027-03-31 by jane@x" in md
    assert "1 fixed, 0 regressed, 1 still failing (1 new, 1 removed)" in md
    html = render_diff_html(d)
    assert "v-waived" in html and "DIFFERENT POLICIES" in html


def test_diff_flags_changed_policy_settings() -> None:
    old, new = make_doc({"token-entropy": "pass"}), make_doc({"token-entropy": "pass"})
    new["policy"] = {"name": "ism", "entropy_samples": 5000}
    new["run_id"] = "other"
    assert any("POLICY SETTINGS DIFFER (entropy_samples)" in w for w in diff_documents(typed(old), typed(new)).warnings)


def test_hostile_text_is_escaped_in_the_html_and_markdown(demo_docs: dict[str, dict[str, Any]]) -> None:
    old = copy.deepcopy(demo_docs["client-side"])
    new = copy.deepcopy(demo_docs["server-side"])
    hostile = "<script>alert(1)</script>"
    by_id(new, "logout-invalidates")["summary"] = f"token `{hostile}` | injected"
    by_id(new, "logout-invalidates")["title"] = hostile
    new["target"] = f"https://app.example/?q={hostile}"
    new["operator"] = f'"><img src=x onerror=alert(1)>{hostile}'
    d = diff_documents(typed(old), typed(new))
    html = render_diff_html(d)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    md = render_diff_markdown(d)
    assert hostile not in md and "&lt;script&gt;" in md
    assert "\\| injected" in md  # a pipe cannot break the Markdown table
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(diff_table(d))
    assert "alert(1)" in console.export_text()  # rich prints it as text, never as markup


# --- CI templates --------------------------------------------------------------------------------------------

# The flags the lead wires into `isp-audit scan` for CI, and the scan's own options the templates use.
CI_FLAGS = {"--report", "--pack", "--zip", "--fail-on", "--advisory", "--waivers", "--attestations", "--operator"}
SCAN_FLAGS = {"--profile", "--out"}


def _scan_commands(texts: list[str]) -> list[list[str]]:
    out = []
    for text in texts:
        for line in text.replace("\\\n", " ").splitlines():
            if "isp-audit scan" in line:
                out.append(shlex.split(line[line.index("isp-audit scan") :]))
    return out


def _flags(argv: list[str]) -> set[str]:
    return {a.split("=", 1)[0] for a in argv if a.startswith("-")}


def test_github_actions_template() -> None:
    wf = yaml.safe_load((REPO / "docs" / "ci" / "github-actions.yml").read_text())
    assert wf.get("on", wf.get(True))  # YAML 1.1 reads the key `on` as True
    assert wf["permissions"]["security-events"] == "write"
    steps = wf["jobs"]["isp-audit"]["steps"]
    uses = {s.get("uses", "").split("@")[0]: s for s in steps}
    sarif = uses["github/codeql-action/upload-sarif"]
    assert sarif["uses"].endswith("@v3") and sarif["with"]["category"] == "isp-audit"
    assert sarif["if"].startswith("always()")
    junit = uses["mikepenz/action-junit-report"]
    assert junit["uses"].endswith("@v4") and "always()" in junit["if"]
    assert junit["with"]["report_paths"] == "isp-audit-junit.xml"
    artifact = uses["actions/upload-artifact"]
    assert artifact["uses"].endswith("@v4") and artifact["if"] == "always()" and "evidence/" in artifact["with"]["path"]
    runs = [s["run"] for s in steps if "run" in s]
    assert any("pip install ./" in r for r in runs)
    scan_step = next(s for s in steps if "isp-audit scan" in s.get("run", ""))
    assert scan_step["env"]["APP_PASSWORD"] == "${{ secrets.APP_PASSWORD }}"
    (argv,) = _scan_commands(runs)
    assert _flags(argv) <= CI_FLAGS | SCAN_FLAGS
    assert argv[argv.index("--fail-on") + 1] == "high" and "--pack" in argv
    assert "sarif:isp-audit.sarif" in argv and "junit:isp-audit-junit.xml" in argv


def test_gitlab_ci_template() -> None:
    ci = yaml.safe_load((REPO / "docs" / "ci" / "gitlab-ci.yml").read_text())
    job = ci["isp-audit"]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "isp-audit-junit.xml"
    assert "evidence/" in job["artifacts"]["paths"]
    assert any("apt-get install" in line and "chromium" in line for line in job["before_script"])
    (argv,) = _scan_commands(job["script"])
    assert _flags(argv) <= CI_FLAGS | SCAN_FLAGS
    assert argv[argv.index("--fail-on") + 1] == "high" and "--pack" in argv


def test_ci_readme_documents_the_flags_and_exit_codes() -> None:
    text = (REPO / "docs" / "ci" / "README.md").read_text()
    for flag in ("--report FORMAT[:PATH]", "--pack", "--fail-on", "--advisory", "--waivers"):
        assert flag in text
    for code in ("| 0 |", "| 1 |", "| 2 |"):
        assert code in text
    (argv,) = _scan_commands([text.split("```sh", 1)[1].split("```", 1)[0]])
    assert _flags(argv) <= CI_FLAGS | SCAN_FLAGS
