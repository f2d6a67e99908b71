"""``junit.xml``: the scan as test results, for CI systems (GitLab test reports, Jenkins, GitHub actions
such as mikepenz/action-junit-report or dorny/test-reporter).

JUnit XML has no formal specification; this follows the de facto shape CI tools read (Jenkins xunit's
junit-10.xsd): ``<testsuites>`` holding one ``<testsuite name="ISM-2066 <target>">`` with the run's
``<properties>``, and one ``<testcase>`` per check, ``classname="isp_audit.<check_id>"`` and
``name="<check_id>: <title>"`` (unique, since check ids are).

Verdicts map onto what CI understands:

* fail → ``<failure message=summary type=severity>``, with the summary, the remediation and the evidence
  paths in the body (GitLab ignores ``message``, so the body repeats it);
* fail with an active waiver → ``<skipped message="waived: justification (owner, expires)">``: visible, but
  an accepted risk does not fail the suite; a waiver that has expired no longer waives, so the check is a
  ``<failure>`` that says so;
* error → ``<error type="error">``: the experiment could not run, which must never read as a pass;
* not_applicable → ``<skipped>``;
* warn → passes, with ``WARNING: <summary>`` in ``<system-out>``;
* pass → passes.

Every testcase's ``<system-out>`` carries the summary and the evidence files it cites (the screenshots and
HAR files of its timeline steps, and results.json), all relative to the evidence folder. An aborted scan
adds one ``<error>`` testcase, ``isp_audit.scan``, so an incomplete run cannot look green.

The XML is built with ElementTree, which escapes markup; characters XML 1.0 forbids (NUL and most C0
controls, which a hostile page title or cookie name can carry) are stripped first, so the file is always
well-formed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from ..results.model import CheckEntry, ResultsDocument, Verdict
from .context import FormatSpec, RenderContext
from .csv_format import clean_text

FORMAT = FormatSpec(name="junit", default_file="junit.xml", order=40)

MESSAGE_LIMIT = 500
SUITES_NAME = "isp-audit"


def render(doc: ResultsDocument, ctx: RenderContext) -> str:
    cases = [_testcase(doc, check) for check in doc.checks]
    if doc.aborted:
        cases.append(_aborted_case(doc))
    counts = {
        "tests": len(cases),
        "failures": sum(1 for _, kind in cases if kind == "failure"),
        "errors": sum(1 for _, kind in cases if kind == "error"),
        "skipped": sum(1 for _, kind in cases if kind == "skipped"),
    }
    elapsed = _elapsed(doc)
    timestamp = _timestamp(doc.started_at)
    common = {k: str(v) for k, v in counts.items()} | {"time": f"{elapsed:.3f}"}
    if timestamp:
        common["timestamp"] = timestamp

    root = ET.Element("testsuites", {"name": SUITES_NAME, **common})
    suite = ET.SubElement(root, "testsuite", {"name": _text(f"ISM-2066 {doc.target}"), **common})
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(doc):
        ET.SubElement(properties, "property", {"name": name, "value": _text(value)})
    for case, _ in cases:
        suite.append(case)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _properties(doc: ResultsDocument) -> list[tuple[str, Any]]:
    not_run = doc.ism_2066_not_run
    return [
        ("target", doc.target),
        ("run_id", doc.run_id),
        ("policy", doc.policy.name),
        ("ism_2066_status", doc.summary.ism_2066),
        *([("ism_2066_not_run", ", ".join(not_run))] if not_run else []),
        ("operator", doc.operator),
        ("profile", doc.profile.name),
        ("started_at", doc.started_at),
        ("finished_at", doc.finished_at),
        ("tool", f"{doc.tool.name} {doc.tool.version}".strip()),
    ]


def _testcase(doc: ResultsDocument, check: CheckEntry) -> tuple[ET.Element, str]:
    """The ``<testcase>`` for one check, and how CI counts it: failure, error, skipped or passed."""
    case = ET.Element(
        "testcase",
        {
            "classname": "isp_audit." + re.sub(r"[^A-Za-z0-9_]", "_", check.check_id),
            "name": _text(f"{check.check_id}: {check.title}"),
            "time": f"{max(check.duration_s, 0.0):.3f}",
        },
    )
    evidence = doc.evidence_files(check)
    kind, out = _outcome(case, check, evidence)
    system_out = ET.SubElement(case, "system-out")
    system_out.text = _text("\n".join([*out, _evidence_text(evidence)]))
    return case, kind


def _outcome(case: ET.Element, check: CheckEntry, evidence: list[str]) -> tuple[str, list[str]]:
    """Add the verdict's element to ``case``; return how CI counts it and the lines of ``<system-out>``."""
    summary = _text(check.summary)
    waiver = check.waiver
    if check.waiver_state == "active" and waiver is not None:
        note = f"waived: {waiver.justification} ({waiver.owner}, expires {waiver.expires})"
        ET.SubElement(case, "skipped", {"message": _message(note)})
        return "skipped", [f"WAIVED FAILURE: {summary}", _text(note)]
    match check.verdict:
        case Verdict.FAIL:
            body = [summary]
            if check.waiver_state == "expired" and waiver is not None:
                body.append(
                    f"A waiver for this failure expired on {waiver.expires} (owner {waiver.owner}): "
                    "it no longer covers it."
                )
            body += [f"How to fix: {check.remediation.summary}", _evidence_text(evidence)]
            failure = ET.SubElement(case, "failure", {"message": _message(summary), "type": _text(check.severity)})
            failure.text = _text("\n\n".join(body))
            return "failure", [summary]
        case Verdict.ERROR:
            error = ET.SubElement(case, "error", {"message": _message(summary), "type": "error"})
            error.text = _text(f"The experiment could not run, so nothing was proven either way.\n\n{summary}")
            return "error", [summary]
        case Verdict.NOT_APPLICABLE:
            ET.SubElement(case, "skipped", {"message": _message(f"not applicable: {summary}")})
            return "skipped", [summary]
        case Verdict.WARN:
            return "passed", [f"WARNING: {summary}"]
    return "passed", [summary]


def _aborted_case(doc: ResultsDocument) -> tuple[ET.Element, str]:
    reason = _text(doc.aborted)
    case = ET.Element("testcase", {"classname": "isp_audit.scan", "name": "scan: the scan ran to completion"})
    case.set("time", "0.000")
    error = ET.SubElement(case, "error", {"message": _message(f"scan aborted: {reason}"), "type": "aborted"})
    error.text = f"The scan could not be completed: {reason}\nChecks that did not run were not assessed."
    ET.SubElement(case, "system-out").text = "Evidence:\n  results.json"
    return case, "error"


def _evidence_text(paths: list[str]) -> str:
    return "Evidence:\n" + "\n".join(f"  {_text(p)}" for p in paths)


def _text(value: Any) -> str:
    return clean_text(value)


def _message(value: Any) -> str:
    text = " ".join(_text(value).split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _elapsed(doc: ResultsDocument) -> float:
    """The run's wall time: checks share the browser experiments, so their own durations do not add up to it."""
    start, end = _parse(doc.started_at), _parse(doc.finished_at)
    if start and end and (start.tzinfo is None) == (end.tzinfo is None) and end >= start:
        return (end - start).total_seconds()
    return sum(max(c.duration_s, 0.0) for c in doc.checks)


def _timestamp(value: Any) -> str | None:
    # junit-10.xsd wants a bare YYYY-MM-DDThh:mm:ss; the document's times are UTC.
    parsed = _parse(value)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S") if parsed else None
