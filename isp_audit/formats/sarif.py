"""``results.sarif``: SARIF 2.1.0 for GitHub code scanning (and any other SARIF consumer).

One run; one rule per check in the document; one result per check that failed, warned or could not run
(pass and not_applicable produce none). GitHub rejects a whole upload when a result has no physical
location or an ``http(s)`` artifact URI, and a web-application finding has no source line, so every
result is anchored to the repository-relative profile file that declares the target (line 1), and the
URL travels in ``message.text`` and ``properties.url``. When the scan had no profile file (quick mode, the
demo) results are anchored to the stable pseudo-file :data:`PSEUDO_ANCHOR`, and the run says so in a
tool notification and in ``run.properties.anchor``. ``ruleId`` and ``partialFingerprints`` depend only on
the check and the target's origin, so GitHub tracks one alert per check and target across scans.

Small static helpers, one per SARIF object, each testable on its own (the shape of semgrep's
``formatter/sarif.py``). The operator (user@host) is deliberately left out: SARIF is uploaded to a
code-hosting service, and the results document keeps it.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from pathlib import PureWindowsPath
from typing import Any
from urllib.parse import quote, urlsplit

from ..evidence.sanitize import json_escaped
from ..results.model import CheckEntry, ResultsDocument, Severity, Verdict, Waiver
from .context import FormatSpec, RenderContext

FORMAT = FormatSpec(name="sarif", default_file="results.sarif", order=50)

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
# Placeholder until the project has a public home: replace with the real repository or documentation URL.
INFORMATION_URI = "https://github.com/isp-audit/isp-audit"
RULE_PREFIX = "ISM2066"
FINGERPRINT_KEY = "ispAudit/v1"
PSEUDO_ANCHOR = "isp-audit.yaml"

# GitHub maps security-severity to critical (>= 9.0), high (7.0-8.9), medium (4.0-6.9) and low (0.1-3.9).
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
RULE_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# Verdicts that become results, and their SARIF level; pass and not_applicable produce no result.
RESULT_LEVEL = {Verdict.FAIL: "error", Verdict.WARN: "warning", Verdict.ERROR: "note"}


def render(doc: ResultsDocument, ctx: RenderContext) -> str:
    return json_escaped(json.dumps(sarif_log(doc), indent=2, ensure_ascii=False)) + "\n"


def sarif_log(doc: ResultsDocument) -> dict[str, Any]:
    """The whole SARIF log for one results document: a single run."""
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [sarif_run(doc)]}


def sarif_run(doc: ResultsDocument) -> dict[str, Any]:
    checks = doc.checks
    uri, note = artifact_uri(doc.profile.path)
    rule_index = {c.check_id: i for i, c in enumerate(checks)}
    results = [r for c in checks if (r := check_to_result(c, doc, rule_index[c.check_id], uri)) is not None]
    anchor = {"uri": uri, "note": note}
    return {
        "tool": {
            "driver": {
                "name": doc.tool.name,
                "version": doc.tool.version,
                "informationUri": INFORMATION_URI,
                "rules": [check_to_rule(c) for c in checks],
            }
        },
        "invocations": [invocation(doc, note)],
        "results": results,
        "properties": {
            "runId": doc.run_id,
            "target": doc.target,
            "profile": doc.profile.name,
            "policy": doc.policy.to_json(),
            "ism2066": doc.summary.ism_2066,
            "controls": {c.id: c.status.value for c in doc.controls},
            "controls_not_run": {c.id: list(c.not_run) for c in doc.controls if c.not_run},
            "anchor": anchor,
        },
    }


def rule_id(check_id: str) -> str:
    """The stable SARIF ruleId of a check: ``ISM2066/<check-id>``."""
    return f"{RULE_PREFIX}/{check_id}"


def rule_name(check_id: str) -> str:
    """CamelCase rule name (SARIF §3.49.7 recommends an identifier-like name): token-in-url -> TokenInUrl."""
    return "".join(part[:1].upper() + part[1:] for part in check_id.split("-") if part)


def rule_tags(check: CheckEntry) -> list[str]:
    """``security`` first (GitHub's security view needs it), then ISM, CWE and WSTG ids, without repeats.

    CWE ids appear twice: as ``CWE-613`` for people, and as ``external/cwe/cwe-613``, the form GitHub
    recognises (CodeQL's convention).
    """
    refs = check.references
    tags = ["security", *refs.ism, *refs.cwe]
    tags += [f"external/cwe/{c.lower()}" for c in refs.cwe]
    tags += refs.wstg
    return list(dict.fromkeys(tags))


def security_severity(severity: Severity) -> str:
    """GitHub's numeric security-severity (a string) for a catalogue severity."""
    return SECURITY_SEVERITY.get(severity, SECURITY_SEVERITY[Severity.MEDIUM])


def help_uri(check_id: str) -> str:
    """Where the check is documented: its catalogue entry in the repository (placeholder URL)."""
    return f"{INFORMATION_URI}/blob/main/checks/{check_id}.yaml"


def rule_help(check: CheckEntry) -> dict[str, str]:
    """How the check works and how to fix a failure, as plain text and Markdown."""
    how = check.how_it_works.strip()
    fix = check.remediation.summary.strip()
    refs = check.references
    ref_line = ", ".join(
        [*refs.ism, *refs.wstg, *refs.cwe]
        + [f"ASVS 5.0 {r}" for r in refs.asvs_5]
        + [f"ASVS 4.0.3 {r}" for r in refs.asvs_4]
    )
    text = f"How it works: {how}\n\nRemediation: {fix}"
    markdown = f"**How it works**\n\n{how}\n\n**Remediation**\n\n{fix}"
    stacks = check.remediation.stacks
    if stacks:
        markdown += "\n\n" + "\n".join(f"- **{stack}**: {hint}" for stack, hint in stacks.items())
    if ref_line:
        text += f"\n\nReferences: {ref_line}"
        markdown += f"\n\n**References**: {ref_line}"
    return {"text": text, "markdown": markdown}


def check_to_rule(check: CheckEntry) -> dict[str, Any]:
    """A SARIF reportingDescriptor (rule) from a check's catalogue entry."""
    severity = check.severity
    return {
        "id": rule_id(check.check_id),
        "name": rule_name(check.check_id),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.rationale or check.title},
        "defaultConfiguration": {"level": RULE_LEVEL.get(severity, "warning")},
        "helpUri": help_uri(check.check_id),
        "help": rule_help(check),
        "properties": {
            "tags": rule_tags(check),
            "security-severity": security_severity(severity),
            "precision": "high",
        },
    }


def target_origin(url: str) -> str:
    """scheme://host[:port], lower-cased, without the default port: the part of the target that names it."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def fingerprint(rule: str, origin: str, check_id: str) -> str:
    """The partial fingerprint GitHub deduplicates on: sha256 of ``ruleId|origin|check_id``."""
    return hashlib.sha256(f"{rule}|{origin}|{check_id}".encode()).hexdigest()


def artifact_uri(profile_path: str | None) -> tuple[str, str | None]:
    """The repository-relative URI results are anchored to, and a note when it is not the profile file itself.

    A relative profile path is used as given (normalised, forward slashes, percent-encoded). An absolute
    path, or one climbing out of the working folder, cannot be related to the repository checkout, so its
    file name is used. Without a profile file, :data:`PSEUDO_ANCHOR` stands in.
    """
    if not profile_path:
        return PSEUDO_ANCHOR, (
            f"The scan ran without a profile file, so every result is anchored to the pseudo-file "
            f"{PSEUDO_ANCHOR} (line 1); the target URL is in each result's message and properties.url."
        )
    path = profile_path.replace("\\", "/")
    absolute = path.startswith("/") or bool(PureWindowsPath(profile_path).drive)
    norm = posixpath.normpath(path)
    if absolute or norm == ".." or norm.startswith("../"):
        name = posixpath.basename(norm) or PSEUDO_ANCHOR
        return quote(name, safe="/"), (
            f"The profile path is not relative to the repository, so results are anchored to its file name "
            f"{name!r} (line 1)."
        )
    return quote(norm, safe="/"), None


def suppression(waiver: Waiver) -> dict[str, Any]:
    """An accepted external suppression for an actively waived failure (GitHub shows the alert as dismissed).

    An expired waiver waives nothing (``Waiver.is_active``): its result is not suppressed.
    """
    justification = waiver.justification or "waived"
    extra = [f"{label} {value}" for label, value in (("owner", waiver.owner), ("expires", waiver.expires)) if value]
    if extra:
        justification += f" ({', '.join(extra)})"
    return {"kind": "external", "status": "accepted", "justification": justification}


def location(uri: str) -> dict[str, Any]:
    """The physical location every result carries: the anchor file, line 1."""
    return {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": 1}}}


def check_to_result(check: CheckEntry, doc: ResultsDocument, index: int, uri: str) -> dict[str, Any] | None:
    """The SARIF result for a check, or None when its verdict is pass or not_applicable."""
    level = RESULT_LEVEL.get(check.verdict)
    if level is None:
        return None
    rid = rule_id(check.check_id)
    result: dict[str, Any] = {
        "ruleId": rid,
        "ruleIndex": index,
        "level": level,
        "message": {"text": f"{check.summary} (target {doc.target})"},
        "locations": [location(uri)],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(rid, target_origin(doc.target), check.check_id)},
        "properties": {
            "url": doc.target,
            "verdict": check.verdict.value,
            "severity": check.severity.value,
            "evidence": doc.evidence_files(check, include_results=False),
            "run_id": doc.run_id,
        },
    }
    if check.waiver is not None:
        result["properties"]["waiver"] = check.waiver.model_dump(mode="json", exclude_unset=True)
        if check.waived:
            result["suppressions"] = [suppression(check.waiver)]
    return result


def invocation(doc: ResultsDocument, anchor_note: str | None) -> dict[str, Any]:
    """The run's invocation: successful unless the scan aborted, with its start and end times."""
    notifications = []
    if doc.aborted:
        notifications.append({"level": "error", "message": {"text": f"Scan incomplete: {doc.aborted}"}})
    if anchor_note:
        notifications.append({"level": "note", "message": {"text": anchor_note}})
    inv: dict[str, Any] = {
        "executionSuccessful": not doc.aborted,
        "startTimeUtc": doc.started_at,
        "endTimeUtc": doc.finished_at,
    }
    if notifications:
        inv["toolExecutionNotifications"] = notifications
    return inv
