"""``oscal-assessment-results.json``: an OSCAL 1.1.x assessment-results document for assessors' tooling.

Mapping (see the ISM's own OSCAL catalogue for the identifier style):

* ``metadata``: the operator, and each assessor who attested a manual item, is a party (a person) in the
  ``assessor`` role; the isp-audit project is a party (an organisation) in the ``tool-provider`` role.
  The tool itself is what OSCAL calls an assessment asset: a ``software`` component on an assessment
  platform, named as the ``tool`` actor of every test observation's origin.
* ``import-ap`` is required, and there is no assessment plan: it points at a back-matter resource that says
  so, rather than at an invented plan.
* One ``results[]`` entry per scan. ``reviewed-controls`` selects every control of the document
  (``ism-2066`` …). The target web application is a ``software`` component in the result's
  local definitions and the subject of every observation.
* ``observations``: one per check (method ``TEST``; type ``finding`` when it failed or warned, else
  ``control-objective``), collected when the check started, with the verdict, check id and severity as
  props in :data:`NS`; and one per manual item of each control (method ``EXAMINE``), with its attestation
  status, made by its assessor (else the operator) and collected on its attestation date (else when the
  scan finished). Relevant evidence points at back-matter resources (``#<uuid>``) for results.json and
  every screenshot and HAR the check's steps cite; their ``rlinks`` carry the SHA-256 from ``ctx.hashes`` when
  the renderer was given them (and attachments carry their own recorded SHA-256).
* ``findings``: one per control, targeting the statement ``ism-NNNN_smt``. OSCAL's state is binary:
  ``satisfied`` only when the document's status is ``satisfied``; every other status (not_satisfied,
  review, inconclusive, not_assessed) is ``not-satisfied``, with reason ``fail`` for not_satisfied and
  ``other`` otherwise, the document's status in a prop and the explanation in the remarks.

Every UUID is a UUIDv5 of the run id and a stable name, so the same document renders byte-identically.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

from ..evidence.sanitize import json_escaped
from ..results.model import CheckEntry, Control, ControlStatus, ManualItem, ResultsDocument, Verdict
from .context import FormatSpec, RenderContext

FORMAT = FormatSpec(name="oscal", default_file="oscal-assessment-results.json", order=60)

OSCAL_VERSION = "1.1.2"
# Namespace for isp-audit's own props (placeholder domain: the URI only has to be stable and ours).
NS = "https://isp-audit.dev/ns/oscal"
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, NS)

_VERDICT_TYPES = {Verdict.FAIL: "finding", Verdict.WARN: "finding"}
_STATUS_REASON = {ControlStatus.SATISFIED: "pass", ControlStatus.NOT_SATISFIED: "fail"}
_STATUS_REMARKS = {
    "satisfied": "Every mapped check ran and passed (or was not applicable).",
    "partially_assessed": "Every mapped check that ran passed, but not every mapped check ran, so the control "
    "is only partially assessed. OSCAL's state is binary, so this is reported as not-satisfied.",
    "not_satisfied": "At least one mapped check failed and the failure is not waived.",
    "review": "No unwaived failure, but a mapped check warned or a failure was waived: an assessor must decide. "
    "OSCAL's state is binary, so this is reported as not-satisfied until reviewed.",
    "inconclusive": "A mapped check could not run (error), so the control could not be decided. "
    "OSCAL's state is binary, so this is reported as not-satisfied.",
    "not_assessed": "No mapped check produced a verdict (none ran, or all were not applicable). "
    "OSCAL's state is binary, so this is reported as not-satisfied.",
}
_MEDIA_TYPES = {
    ".json": "application/json",
    ".har": "application/json",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".html": "text/html",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
}
_MANUAL_METHODS = ("EXAMINE", "INTERVIEW", "TEST")


def render(doc: ResultsDocument, ctx: RenderContext) -> str:
    return (
        json_escaped(json.dumps({"assessment-results": assessment_results(doc, ctx)}, indent=2, ensure_ascii=False))
        + "\n"
    )


def make_uuid(run_id: str, name: str) -> str:
    """A deterministic UUIDv5 for ``name`` within one run."""
    return str(uuid.uuid5(_UUID_NAMESPACE, f"{run_id}/{name}"))


def party_uuid(run_id: str, name: str) -> str:
    """A person's party UUID: the operator and an attesting assessor with the same name are one party."""
    return make_uuid(run_id, f"party/{one_line(name)}")


def control_id(ism_id: str) -> str:
    """ISM-2066 -> ism-2066 (the ASD OSCAL catalogue's control id)."""
    return ism_id.lower()


def statement_id(ism_id: str) -> str:
    """ISM-2066 -> ism-2066_smt (the catalogue's statement part)."""
    return f"{control_id(ism_id)}_smt"


def prop(name: str, value: Any) -> dict[str, str] | None:
    """An isp-audit prop, or None when the value is empty (OSCAL values must be non-blank)."""
    text = " ".join(str(value).split()) if value is not None else ""
    return {"name": name, "ns": NS, "value": text} if text else None


def props(*items: dict[str, str] | None) -> list[dict[str, str]]:
    return [p for p in items if p is not None]


def one_line(text: Any) -> str:
    """OSCAL titles and names may not contain line breaks or surrounding blanks."""
    return " ".join(str(text).split()) or "untitled"


def media_type(path: str) -> str | None:
    dot = path.rfind(".")
    return _MEDIA_TYPES.get(path[dot:].lower()) if dot >= 0 else None


def _omit_empty(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop None values and empty lists: OSCAL arrays, when present, hold at least one item."""
    return {k: v for k, v in obj.items() if v is not None and v != []}


class _Resources:
    """Back-matter resources, one per cited file (by path), in first-cited order."""

    def __init__(self, run_id: str, hashes: dict[str, str]) -> None:
        self.run_id = run_id
        self.hashes = hashes
        self.items: dict[str, dict[str, Any]] = {}

    def file(self, path: str, title: str, kind: str, sha256: str | None = None) -> str:
        """The back-matter UUID of a file resource, created on first use."""
        if path not in self.items:
            digest = self.hashes.get(path) or sha256
            rlink = _omit_empty({"href": quote(path, safe="/"), "media-type": media_type(path)})
            if digest:
                rlink["hashes"] = [{"algorithm": "SHA-256", "value": digest}]
            self.items[path] = {
                "uuid": make_uuid(self.run_id, f"resource/file/{path}"),
                "title": one_line(title),
                "props": props(prop("evidence-kind", kind)),
                "rlinks": [rlink],
            }
        return str(self.items[path]["uuid"])


def evidence_title(doc: ResultsDocument, path: str) -> str:
    """A human title for an evidence file, from the step that took the screenshot or the client of a HAR."""
    if path.startswith("har/"):
        return f"HAR of client {path[4:].removesuffix('.har')} (sanitized)"
    for step in doc.steps:
        if step.screenshot == path:
            return f"Screenshot after step {step.index} ({step.client}: {step.action})"
    return path


def assessment_results(doc: ResultsDocument, ctx: RenderContext) -> dict[str, Any]:
    """The ``assessment-results`` object (the value under the document's single top-level key)."""
    run_id = doc.run_id
    ids = {
        name: make_uuid(run_id, name)
        for name in ("assessment-results", "result", "tool-provider", "target", "tool", "platform")
    }
    ids["operator"] = party_uuid(run_id, doc.operator or "unknown")
    resources = _Resources(run_id, dict(ctx.hashes))
    no_plan = make_uuid(run_id, "resource/no-assessment-plan")
    results_json = resources.file("results.json", "isp-audit results document (results.json)", "results")
    if doc.profile.path:
        resources.file(doc.profile.path, f"Target profile {doc.profile.name}", "profile", doc.profile.sha256)

    observations = [check_observation(doc, c, ids, resources, results_json) for c in doc.checks]
    observations += [
        manual_observation(doc, control, item, ids, resources) for control in doc.controls for item in control.manual
    ]
    findings = [control_finding(doc, control) for control in doc.controls]
    return {
        "uuid": ids["assessment-results"],
        "metadata": metadata(doc, ids),
        "import-ap": {
            "href": f"#{no_plan}",
            "remarks": "No assessment plan exists; this reference resolves to a back-matter resource saying so.",
        },
        "results": [result(doc, ids, observations, findings)],
        "back-matter": {"resources": [_no_plan_resource(no_plan), *resources.items.values()]},
    }


def _no_plan_resource(no_plan: str) -> dict[str, Any]:
    return {
        "uuid": no_plan,
        "title": "No assessment plan",
        "description": "This assessment was not performed under an OSCAL assessment plan: isp-audit ran "
        "the checks of its catalogue against the target named in the results. import-ap points here "
        "because OSCAL requires it; no plan exists.",
    }


def assessors(doc: ResultsDocument) -> list[str]:
    """The people named in the document, operator first, then each assessor who attested a manual item."""
    names = [one_line(doc.operator or "unknown")]
    names += [one_line(m.assessor) for c in doc.controls for m in c.manual if m.assessor]
    return list(dict.fromkeys(names))


def metadata(doc: ResultsDocument, ids: dict[str, str]) -> dict[str, Any]:
    tool = doc.tool
    profile_name = doc.profile.name or doc.target
    people = [{"uuid": party_uuid(doc.run_id, name), "type": "person", "name": name} for name in assessors(doc)]
    return {
        "title": one_line(f"ISM session management assessment results: {profile_name}"),
        "last-modified": doc.finished_at,
        "version": one_line(tool.version),
        "oscal-version": OSCAL_VERSION,
        "props": props(prop("run-id", doc.run_id), prop("schema-version", doc.schema_version)),
        "roles": [
            {
                "id": "assessor",
                "title": "Assessor",
                "description": "The person or account that ran the scan, and anyone who attested a manual item.",
            },
            {
                "id": "tool-provider",
                "title": "Assessment tool provider",
                "description": "The provider of the automated assessment tool that ran the experiments.",
            },
        ],
        "parties": [
            *people,
            {
                "uuid": ids["tool-provider"],
                "type": "organization",
                "name": one_line(tool.name),
                "remarks": f"Provider of {tool.name} {tool.version}; the tool itself is the software "
                "component in the result's assessment assets, named as the tool actor of each test observation.",
            },
        ],
        "responsible-parties": [
            {"role-id": "assessor", "party-uuids": [p["uuid"] for p in people]},
            {"role-id": "tool-provider", "party-uuids": [ids["tool-provider"]]},
        ],
    }


def local_definitions(doc: ResultsDocument, ids: dict[str, str]) -> dict[str, Any]:
    """The target as a component, and the tool and platform as assessment assets."""
    return {
        "components": [
            {
                "uuid": ids["target"],
                "type": "software",
                "title": one_line(doc.profile.name or doc.target),
                "description": f"The web application at {doc.target}, as reached by the scan: the subject of "
                "every observation.",
                "props": [prop("target-url", doc.target)],
                "links": [{"href": doc.target, "text": "Target URL"}],
                "status": {"state": "operational"},
            }
        ],
        "assessment-assets": _assessment_assets(doc, ids),
    }


def _assessment_assets(doc: ResultsDocument, ids: dict[str, str]) -> dict[str, Any]:
    tool, prov = doc.tool, doc.provenance
    platform = {
        "uuid": ids["platform"],
        "title": one_line(f"{tool.name} {tool.version} on {prov.platform or 'unknown'}"),
        "props": props(
            prop("python", prov.python),
            prop("playwright", prov.playwright),
            prop("ci", ", ".join(f"{k}={v}" for k, v in sorted(prov.ci.items()))),
        ),
        "uses-components": [{"component-uuid": ids["tool"]}],
    }
    return {
        "components": [
            {
                "uuid": ids["tool"],
                "type": "software",
                "title": one_line(f"{tool.name} {tool.version}"),
                "description": "Automated assessment tool: drives a real browser and plain HTTP clients "
                "against the target and records each experiment as evidence.",
                "props": props(prop("version", tool.version), prop("browser", prov.browser)),
                "status": {"state": "operational"},
            }
        ],
        "assessment-platforms": [_omit_empty(platform)],
    }


def result(
    doc: ResultsDocument, ids: dict[str, str], observations: list[dict[str, Any]], findings: list[dict[str, Any]]
) -> dict[str, Any]:
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in doc.summary.verdicts.items())
    aborted = doc.aborted
    entry = {
        "uuid": ids["result"],
        "title": one_line(f"Session management tests of {doc.target}"),
        "description": f"isp-audit {doc.tool.version} tested how {doc.target} manages sessions, by "
        f"experiment with a real browser (ISM-2066 and related controls). Verdicts: {counts or 'none'}.",
        "start": doc.started_at,
        "end": doc.finished_at,
        "props": props(
            prop("run-id", doc.run_id),
            prop("ism-2066-status", doc.summary.ism_2066),
            prop("policy", doc.policy.name),
            prop("scan-complete", "false" if aborted else "true"),
        ),
        "local-definitions": local_definitions(doc, ids),
        "reviewed-controls": {
            "description": "The ISM controls mapped to isp-audit's checks.",
            "control-selections": [{"include-controls": [{"control-id": control_id(c.id)} for c in doc.controls]}],
        },
        "observations": observations,
        "findings": findings,
        "remarks": f"The scan stopped early: {aborted}. Statuses reflect only the checks that ran."
        if aborted
        else None,
    }
    return _omit_empty(entry)


def _origins(party: str, tool: str | None = None) -> list[dict[str, Any]]:
    """Who made an observation: the tool (for tests) and the party in the assessor role."""
    actors = [{"type": "tool", "actor-uuid": tool}] if tool else []
    actors.append({"type": "party", "actor-uuid": party, "role-id": "assessor"})
    return [{"actors": actors}]


def _subjects(doc: ResultsDocument, ids: dict[str, str]) -> list[dict[str, Any]]:
    return [{"subject-uuid": ids["target"], "type": "component", "title": one_line(doc.target)}]


def check_observation(
    doc: ResultsDocument, check: CheckEntry, ids: dict[str, str], resources: _Resources, results_json: str
) -> dict[str, Any]:
    """One TEST observation per check, with its evidence files as relevant evidence."""
    cid = check.check_id
    evidence = [
        {
            "href": f"#{results_json}",
            "description": f"The results document; this check's verdict and evidence are the entry of checks[] "
            f"with check_id {cid}.",
        }
    ]
    for path in doc.evidence_files(check, include_results=False):
        kind = "har" if path.startswith("har/") else "screenshot"
        title = evidence_title(doc, path)
        evidence.append({"href": f"#{resources.file(path, title, kind)}", "description": title})
    waiver_status, remarks = _waiver_remarks(check)
    return _omit_empty(
        {
            "uuid": make_uuid(doc.run_id, f"observation/check/{cid}"),
            "title": one_line(check.title),
            "description": check.summary or check.title,
            "props": props(
                prop("check-id", cid),
                prop("verdict", check.verdict.value),
                prop("severity", check.severity.value),
                prop("ism-controls", ", ".join(check.references.ism)),
                prop("waiver-status", waiver_status),
            ),
            "methods": ["TEST"],
            "types": [_VERDICT_TYPES.get(check.verdict, "control-objective")],
            "origins": _origins(ids["operator"], ids["tool"]),
            "subjects": _subjects(doc, ids),
            "relevant-evidence": evidence,
            "collected": check.started_at or doc.started_at,
            "remarks": remarks,
        }
    )


def _waiver_remarks(check: CheckEntry) -> tuple[str | None, str | None]:
    """The waiver's status for the props ("active" only when it waives the failure) and a remark naming it."""
    waiver = check.waiver
    if waiver is None:
        return None, None
    status = check.waiver_state or "inactive"  # a waiver on a check that did not fail waives nothing
    remarks = f"Waiver ({status}): {waiver.justification}"
    remarks += "".join(
        f"; {label} {value}" for label, value in (("owner", waiver.owner), ("expires", waiver.expires)) if value
    )
    return status, remarks


def manual_method(item: ManualItem) -> str:
    """EXAMINE (documents and records) unless the item names another OSCAL method."""
    method = (item.method or "EXAMINE").upper()
    return method if method in _MANUAL_METHODS else "EXAMINE"


def manual_observation(
    doc: ResultsDocument, control: Control, item: ManualItem, ids: dict[str, str], resources: _Resources
) -> dict[str, Any]:
    """One observation per manual item: what to examine, and its attestation status and attachments."""
    evidence = []
    for attachment in item.attachments:
        if attachment.path:
            res = resources.file(attachment.path, f"Attachment: {attachment.path}", "attachment", attachment.sha256)
            evidence.append({"href": f"#{res}", "description": f"Attachment for {item.title}: {attachment.path}"})
    remarks = f"Good evidence: {item.good}" if item.good else None
    if item.note:
        remarks = f"{remarks}\n\nNote: {item.note}" if remarks else f"Note: {item.note}"
    return _omit_empty(
        {
            "uuid": make_uuid(doc.run_id, f"observation/manual/{control.id}/{item.id}"),
            "title": one_line(f"{control.id}: {item.title}"),
            "description": item.ask or item.title,
            "props": props(
                prop("control-id", control_id(control.id)),
                prop("manual-item-id", item.id),
                prop("attestation-status", item.status),
                prop("attestation-date", item.date),
            ),
            "methods": [manual_method(item)],
            "types": ["control-objective"],
            "origins": _origins(party_uuid(doc.run_id, item.assessor) if item.assessor else ids["operator"]),
            "subjects": _subjects(doc, ids),
            "relevant-evidence": evidence,
            "collected": f"{item.date}T00:00:00Z" if item.date else doc.finished_at,
            "remarks": remarks,
        }
    )


def finding_state(status: ControlStatus) -> tuple[str, str]:
    """(state, reason) for a document control status: only "satisfied" is satisfied."""
    if status == "satisfied":
        return "satisfied", "pass"
    return "not-satisfied", _STATUS_REASON.get(status, "other")


def control_finding(doc: ResultsDocument, control: Control) -> dict[str, Any]:
    """One finding per control, on its statement, linking the observations of its checks and manual items."""
    run_id = doc.run_id
    status = control.status.value
    state, reason = finding_state(control.status)
    related = [make_uuid(run_id, f"observation/check/{c}") for c in control.checks]
    related += [make_uuid(run_id, f"observation/manual/{control.id}/{m.id}") for m in control.manual]
    return _omit_empty(
        {
            "uuid": make_uuid(run_id, f"finding/{control.id}"),
            "title": one_line(f"{control.id}: {control.title}"),
            "description": control.statement or control.title,
            "props": props(prop("control-status", status), prop("control-id", control_id(control.id))),
            "target": {
                "type": "statement-id",
                "target-id": statement_id(control.id),
                "status": {"state": state, "reason": reason, "remarks": " ".join(_finding_notes(doc, control))},
            },
            "related-observations": [{"observation-uuid": u} for u in related],
            "remarks": control.note,
        }
    )


def _finding_notes(doc: ResultsDocument, control: Control) -> list[str]:
    """What the status means, the mapped checks that did not run, manual items by status, an early stop."""
    manual: dict[str, int] = {}
    for m in control.manual:
        manual[m.status or "not yet evidenced"] = manual.get(m.status or "not yet evidenced", 0) + 1
    notes = [_STATUS_REMARKS.get(control.status, f"isp-audit status: {control.status.value}.")]
    if control.not_run:
        notes.append(f"Mapped checks not run: {', '.join(control.not_run)}.")
    if manual:
        counts = ", ".join(f"{n} {status}" for status, n in manual.items())
        notes.append(f"Manual items (the scan alone cannot prove them): {counts}.")
    if doc.aborted:
        notes.append(f"The scan stopped early: {doc.aborted}.")
    return notes
