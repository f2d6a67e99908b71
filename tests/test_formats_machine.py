"""Machine-readable formats: the results.json schema, SARIF 2.1.0 for code scanning, OSCAL assessment results.

One real demo run (both demo apps) feeds every test; the documents are copied before any mutation.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from isp_audit.document import refresh_summary
from isp_audit.formats import RenderContext, oscal, sarif
from tests.conftest import typed

REPO = Path(__file__).resolve().parent.parent
RESULTS_SCHEMA = REPO / "isp_audit" / "schema" / "results-v1.schema.json"
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
APPS = ("server-side", "client-side")
UUID_HREF = re.compile(r"^#([0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$")


@pytest.fixture(scope="session")
def demo(demo_output: Path) -> dict[str, tuple[dict[str, Any], RenderContext]]:
    """Both demo apps' results documents, each with the evidence hashes a renderer is given."""
    loaded = {}
    for app in APPS:
        root = demo_output / app
        doc = json.loads((root / "results.json").read_text(encoding="utf-8"))
        hashes = {
            p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }
        loaded[app] = (doc, RenderContext(hashes=hashes))
    return loaded


def fresh(demo: dict[str, tuple[dict[str, Any], RenderContext]], app: str) -> tuple[dict[str, Any], RenderContext]:
    doc, ctx = demo[app]
    return copy.deepcopy(doc), ctx


# --- results.json schema --------------------------------------------------------------------------------


def results_validator() -> Draft202012Validator:
    schema = json.loads(RESULTS_SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("app", APPS)
def test_demo_documents_validate_against_the_results_schema(demo, app: str) -> None:
    doc, _ = demo[app]
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in results_validator().iter_errors(doc)]
    assert errors == []


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


MUTILATIONS = {
    "bad verdict": lambda d: _set(d, ("checks", 0, "verdict"), "passed"),
    "missing key": lambda d: d.pop("run_id"),
    "missing check key": lambda d: d["checks"][0].pop("summary"),
    "wrong schema version": lambda d: _set(d, ("schema_version",), "2"),
    "bad control status": lambda d: _set(d, ("controls", 0, "status"), "compliant"),
    "bad token fingerprint": lambda d: _set(d, ("session_tokens", 0, "fingerprint"), "fp:NOT-HEX"),
    "raw token instead of fingerprint": lambda d: _set(d, ("session_tokens", 0, "fingerprint"), "a" * 32),
    "local time": lambda d: _set(d, ("started_at",), "2026-01-31T10:15:02+11:00"),
    "not a time": lambda d: _set(d, ("steps", 0, "at"), "yesterday"),
    "bad severity": lambda d: _set(d, ("checks", 0, "severity"), "severe"),
    "evidence not an object": lambda d: _set(d, ("checks", 0, "evidence"), ["x"]),
    "absolute evidence path": lambda d: _set(d, ("files", "har"), ["/etc/passwd"]),
    "waiver without justification": lambda d: _set(d, ("checks", 0, "waiver"), {"owner": "x", "expires": "2027-01-01"}),
    "waiver with a bad status": lambda d: _set(
        d, ("checks", 0, "waiver"), {"justification": "j", "owner": "o", "expires": "2027-01-01", "status": "maybe"}
    ),
    "unknown attestation status": lambda d: _set(d, ("controls", 0, "manual", 0, "status"), "done"),
}


@pytest.mark.parametrize("name", MUTILATIONS)
def test_the_results_schema_rejects_mutilated_documents(demo, name: str) -> None:
    doc, _ = fresh(demo, "client-side")
    MUTILATIONS[name](doc)
    assert list(results_validator().iter_errors(doc)), f"{name} was accepted"


def test_the_results_schema_leaves_evidence_open_and_accepts_waivers(demo) -> None:
    doc, _ = fresh(demo, "client-side")
    doc["checks"][0]["evidence"] = {"anything": [1, {"nested": None}]}
    doc["checks"][0]["waiver"] = {
        "justification": "compensating WAF rule",
        "owner": "ops@agency.gov.au",
        "expires": "2027-01-01",
        "target": "http://127.0.0.1:*/",
        "status": "active",
    }
    attest(doc)
    assert list(results_validator().iter_errors(doc)) == []


def attest(doc: dict[str, Any]) -> dict[str, Any]:
    """Record an attestation on the first manual item, as isp_audit.attestations does."""
    item = doc["controls"][0]["manual"][0]
    item.update(
        {
            "status": "evidenced",
            "note": "Architecture v3.2 shows sessions in Redis",
            "assessor": "Jane Citizen (IRAP)",
            "date": "2026-11-20",
            "attachments": [{"path": f"attachments/{item['id']}/arch.pdf", "sha256": "ab" * 32}],
        }
    )
    return item


# --- SARIF ----------------------------------------------------------------------------------------------


def sarif_validator() -> Draft7Validator:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    # This copy keeps the root object under definitions/Root instead of at the top level (where the
    # official file has it): taken as is it would accept anything. Validate against the root either way.
    if "properties" not in schema and "Root" in schema.get("definitions", {}):
        schema = {**schema, "$ref": "#/definitions/Root"}
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def test_the_sarif_validator_is_not_vacuous() -> None:
    validator = sarif_validator()
    assert list(validator.iter_errors({}))
    no_message = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "r"}]}]}
    assert list(validator.iter_errors(no_message))


def render_sarif(doc: dict[str, Any], ctx: RenderContext | None = None) -> dict[str, Any]:
    text = sarif.render(typed(doc), ctx or RenderContext())
    assert isinstance(text, str)
    return json.loads(text)


@pytest.mark.parametrize("app", APPS)
def test_sarif_validates_and_every_result_is_anchored_to_a_file(demo, app: str) -> None:
    doc, ctx = demo[app]
    log = render_sarif(doc, ctx)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in sarif_validator().iter_errors(log)]
    assert errors == []
    (run,) = log["runs"]
    assert run["results"], "the demo apps both have warnings or failures"
    for result in run["results"]:
        assert result["locations"], "GitHub rejects a result without a location"
        for loc in result["locations"]:
            uri = loc["physicalLocation"]["artifactLocation"]["uri"]
            assert uri and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", uri), uri
            assert not uri.startswith("/")
            assert loc["physicalLocation"]["region"]["startLine"] == 1
        assert doc["target"] in result["message"]["text"]
        assert result["properties"]["url"] == doc["target"]
        assert result["properties"]["run_id"] == doc["run_id"]
    # The demo has no profile file: a stable pseudo-file, and the run says so.
    assert doc["profile"]["path"] is None
    assert {loc["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"] for loc in r["locations"]} == {
        sarif.PSEUDO_ANCHOR
    }
    assert run["properties"]["anchor"]["note"]
    assert any(n["level"] == "note" for n in run["invocations"][0]["toolExecutionNotifications"])


@pytest.mark.parametrize("app", APPS)
def test_sarif_results_are_exactly_the_failures_warnings_and_errors(demo, app: str) -> None:
    doc, _ = demo[app]
    run = render_sarif(doc)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [sarif.rule_id(c["check_id"]) for c in doc["checks"]]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert len(by_rule) == len(run["results"])
    for check in doc["checks"]:
        rid = sarif.rule_id(check["check_id"])
        if check["verdict"] in ("pass", "not_applicable"):
            assert rid not in by_rule
        else:
            assert by_rule[rid]["level"] == {"fail": "error", "warn": "warning", "error": "note"}[check["verdict"]]
            assert by_rule[rid]["properties"]["verdict"] == check["verdict"]
            assert rules[by_rule[rid]["ruleIndex"]]["id"] == rid
    for rule, check in zip(rules, doc["checks"], strict=True):
        tags = rule["properties"]["tags"]
        assert tags[0] == "security" and set(check["references"]["ism"]) <= set(tags)
        assert set(check["references"]["cwe"]) <= set(tags) and set(check["references"]["wstg"]) <= set(tags)
        assert rule["properties"]["security-severity"] == sarif.SECURITY_SEVERITY[check["severity"]]
        float(rule["properties"]["security-severity"])
        assert rule["shortDescription"]["text"] == check["title"]
        assert check["remediation"]["summary"] in rule["help"]["markdown"]
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", rule["name"])


def test_sarif_rule_ids_and_fingerprints_are_stable(demo) -> None:
    doc, ctx = fresh(demo, "client-side")
    first, second = sarif.render(typed(doc), ctx), sarif.render(typed(doc), ctx)
    assert first == second
    # Another scan of the same target (new run id, new times) keeps ruleIds and fingerprints, so GitHub
    # tracks the same alerts; another target gets other fingerprints.
    again = copy.deepcopy(doc)
    again["run_id"] = "00000000-0000-4000-8000-000000000000"
    again["started_at"] = again["finished_at"]

    def keys(d: dict[str, Any]) -> list[tuple[str, str]]:
        return [(r["ruleId"], r["partialFingerprints"]["ispAudit/v1"]) for r in render_sarif(d)["runs"][0]["results"]]

    assert keys(again) == keys(doc)
    assert all(re.fullmatch(r"ISM2066/[a-z0-9-]+", rid) and len(fp) == 64 for rid, fp in keys(doc))
    elsewhere = copy.deepcopy(doc)
    elsewhere["target"] = "https://app.example.gov.au/"
    assert {fp for _, fp in keys(elsewhere)}.isdisjoint({fp for _, fp in keys(doc)})


def test_waiving_a_failure_adds_an_accepted_suppression(demo) -> None:
    doc, _ = fresh(demo, "client-side")
    failed = next(c for c in doc["checks"] if c["verdict"] == "fail")
    failed["waiver"] = {
        "justification": "Risk accepted until the rewrite",
        "owner": "CISO",
        "expires": "2027-06-30",
        "status": "active",
    }
    refresh_summary(doc)
    results = {r["ruleId"]: r for r in render_sarif(doc)["runs"][0]["results"]}
    waived = results[sarif.rule_id(failed["check_id"])]
    (supp,) = waived["suppressions"]
    assert supp["kind"] == "external" and supp["status"] == "accepted"
    assert "Risk accepted until the rewrite" in supp["justification"] and "CISO" in supp["justification"]
    assert all("suppressions" not in r for rid, r in results.items() if rid != waived["ruleId"])
    assert not list(sarif_validator().iter_errors(render_sarif(doc)))
    # An expired waiver waives nothing: the result stays unsuppressed, the waiver shown in its properties.
    failed["waiver"]["status"] = "expired"
    refresh_summary(doc)
    expired = {r["ruleId"]: r for r in render_sarif(doc)["runs"][0]["results"]}[waived["ruleId"]]
    assert "suppressions" not in expired and expired["properties"]["waiver"]["status"] == "expired"


def test_sarif_reports_errors_as_notes_and_an_aborted_scan_as_unsuccessful(demo) -> None:
    doc, _ = fresh(demo, "server-side")
    passed = next(c for c in doc["checks"] if c["verdict"] == "pass")
    passed["verdict"] = "error"
    doc["aborted"] = "the login stopped working"
    log = render_sarif(doc)
    run = log["runs"][0]
    assert {r["ruleId"]: r["level"] for r in run["results"]}[sarif.rule_id(passed["check_id"])] == "note"
    assert run["invocations"][0]["executionSuccessful"] is False
    assert not list(sarif_validator().iter_errors(log))


def test_sarif_anchors_to_the_repository_relative_profile_file(demo) -> None:
    doc, _ = fresh(demo, "server-side")
    doc["profile"]["path"] = "./profiles\\intranet app.yaml"
    run = render_sarif(doc)["runs"][0]
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"] for loc in r["locations"]}
    assert uris == {"profiles/intranet%20app.yaml"}
    assert run["properties"]["anchor"]["note"] is None
    assert "toolExecutionNotifications" not in run["invocations"][0]


def test_sarif_helpers() -> None:
    assert sarif.rule_name("token-in-web-storage") == "TokenInWebStorage"
    assert sarif.target_origin("HTTPS://App.Example:443/login?x=1") == "https://app.example"
    assert sarif.target_origin("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert sarif.target_origin("http://[::1]:80/") == "http://[::1]"
    assert sarif.artifact_uri(None) == (sarif.PSEUDO_ANCHOR, sarif.artifact_uri(None)[1])
    assert sarif.artifact_uri("profiles/app.yaml") == ("profiles/app.yaml", None)
    uri, note = sarif.artifact_uri("/home/ci/repo/profiles/app.yaml")
    assert uri == "app.yaml" and note
    uri, note = sarif.artifact_uri("C:\\work\\app.yaml")
    assert uri == "app.yaml" and note
    assert sarif.artifact_uri("../elsewhere/app.yaml")[0] == "app.yaml"
    assert sarif.security_severity("critical") == "9.5"
    assert sarif.fingerprint("r", "o", "c") == hashlib.sha256(b"r|o|c").hexdigest()


# --- OSCAL ----------------------------------------------------------------------------------------------


def render_oscal(doc: dict[str, Any], ctx: RenderContext) -> dict[str, Any]:
    text = oscal.render(typed(doc), ctx)
    assert isinstance(text, str)
    return json.loads(text)


def trestle_validate(ar: dict[str, Any]) -> None:
    """Load the inner object with compliance-trestle's generated pydantic-v2 models (raises when invalid)."""
    from trestle.oscal.assessment_results import AssessmentResults

    AssessmentResults.model_validate(ar)


@pytest.mark.parametrize("app", APPS)
def test_oscal_assessment_results_load_with_trestle_and_map_the_document(demo, app: str) -> None:
    doc, ctx = demo[app]
    ar = render_oscal(doc, ctx)["assessment-results"]
    trestle_validate(ar)
    assert ar["metadata"]["oscal-version"] == "1.1.2"
    assert ar["metadata"]["last-modified"] == doc["finished_at"]
    (result,) = ar["results"]
    (selection,) = result["reviewed-controls"]["control-selections"]
    control_ids = [c["control-id"] for c in selection["include-controls"]]
    assert "ism-2066" in control_ids
    assert control_ids == [c["id"].lower() for c in doc["controls"]]

    observations = {o["uuid"]: o for o in result["observations"]}
    tests = [o for o in result["observations"] if o["methods"] == ["TEST"]]
    assert len(tests) == len(doc["checks"])
    for obs, check in zip(tests, doc["checks"], strict=True):
        prop = {p["name"]: p["value"] for p in obs["props"]}
        assert prop["check-id"] == check["check_id"] and prop["verdict"] == check["verdict"]
        assert obs["collected"] == check["started_at"] and obs["description"] == check["summary"]
        assert obs["subjects"][0]["type"] == "component"
    manual = [o for o in result["observations"] if o["methods"] != ["TEST"]]
    assert len(manual) == sum(len(c["manual"]) for c in doc["controls"]) > 0
    assert all(o["methods"] in (["EXAMINE"], ["INTERVIEW"]) for o in manual)
    assert all(any(p["name"] == "attestation-status" for p in o["props"]) for o in manual)

    findings = result["findings"]
    assert len(findings) == len(doc["controls"])
    for finding, control in zip(findings, doc["controls"], strict=True):
        target = finding["target"]
        assert target["type"] == "statement-id" and target["target-id"] == f"{control['id'].lower()}_smt"
        expected = "satisfied" if control["status"] == "satisfied" else "not-satisfied"
        assert target["status"]["state"] == expected
        if control["status"] not in ("satisfied", "not_satisfied"):
            assert target["status"]["reason"] == "other" and target["status"]["remarks"]
        related = {r["observation-uuid"] for r in finding.get("related-observations", [])}
        assert related <= set(observations)
        related_checks = {p["value"] for u in related for p in observations[u]["props"] if p["name"] == "check-id"}
        assert related_checks == set(control["checks"])


def test_the_demo_covers_satisfied_and_not_satisfied_controls(demo) -> None:
    states = set()
    for app in APPS:
        doc, ctx = demo[app]
        result = render_oscal(doc, ctx)["assessment-results"]["results"][0]
        status = {c["id"].lower() + "_smt": c["status"] for c in doc["controls"]}
        states |= {(status[f["target"]["target-id"]], f["target"]["status"]["state"]) for f in result["findings"]}
    assert ("satisfied", "satisfied") in states
    assert ("not_satisfied", "not-satisfied") in states
    assert ("review", "not-satisfied") in states


@pytest.mark.parametrize("app", APPS)
def test_oscal_evidence_resolves_to_back_matter_with_the_sha256_of_each_file(demo, app: str) -> None:
    doc, ctx = demo[app]
    ar = render_oscal(doc, ctx)["assessment-results"]
    resources = {r["uuid"]: r for r in ar["back-matter"]["resources"]}
    assert UUID_HREF.match(ar["import-ap"]["href"])
    no_plan = resources[ar["import-ap"]["href"][1:]]
    assert "no plan" in no_plan["description"].lower() and "rlinks" not in no_plan
    cited = set()
    for obs in ar["results"][0]["observations"]:
        for ev in obs.get("relevant-evidence", []):
            match = UUID_HREF.match(ev["href"])
            assert match and match.group(1) in resources, ev
            cited.add(match.group(1))
    files = {r["rlinks"][0]["href"]: r for r in resources.values() if "rlinks" in r}
    assert "results.json" in files
    assert any(h.startswith("screenshots/") for h in files) and any(h.startswith("har/") for h in files)
    for href, res in files.items():
        (digest,) = res["rlinks"][0]["hashes"]
        assert digest == {"algorithm": "SHA-256", "value": ctx.hashes[href]}
        assert res["uuid"] in cited
    # Every screenshot a check's steps cite is in the back matter.
    steps = {s["index"]: s for s in doc["steps"]}
    shots = {steps[i]["screenshot"] for c in doc["checks"] for i in c["steps"] if steps[i]["screenshot"]}
    assert shots <= set(files)
    uuids = [u for u in re.findall(r'"uuid": "([^"]+)"', json.dumps(ar))]
    assert len(uuids) == len(set(uuids))


def test_oscal_without_hashes_omits_them_and_still_loads(demo) -> None:
    doc, _ = fresh(demo, "server-side")
    ar = render_oscal(doc, RenderContext())["assessment-results"]
    trestle_validate(ar)
    assert all("hashes" not in link for r in ar["back-matter"]["resources"] for link in r.get("rlinks", []))


def test_oscal_is_byte_identical_across_renders_and_derived_from_the_run_id(demo) -> None:
    doc, ctx = fresh(demo, "client-side")
    first = oscal.render(typed(doc), ctx)
    assert first == oscal.render(typed(copy.deepcopy(doc)), ctx)
    other = copy.deepcopy(doc)
    other["run_id"] = "00000000-0000-4000-8000-000000000000"
    assert (
        json.loads(oscal.render(typed(other), ctx))["assessment-results"]["uuid"]
        != json.loads(first)["assessment-results"]["uuid"]
    )


def test_oscal_waived_failure_and_aborted_scan(demo) -> None:
    doc, ctx = fresh(demo, "client-side")
    control = next(c for c in doc["controls"] if c["id"] == "ISM-2065")
    check = next(c for c in doc["checks"] if c["check_id"] in control["checks"])
    check["verdict"] = "fail"
    check["waiver"] = {
        "justification": "legacy cookie retired next release",
        "owner": "app team",
        "expires": "2027-01-31",
        "status": "active",
    }
    doc["aborted"] = "the target stopped answering"
    refresh_summary(doc)
    assert control["status"] == "review"
    ar = render_oscal(doc, ctx)["assessment-results"]
    trestle_validate(ar)
    result = ar["results"][0]
    finding = next(f for f in result["findings"] if f["target"]["target-id"] == "ism-2065_smt")
    status = finding["target"]["status"]
    assert (status["state"], status["reason"]) == ("not-satisfied", "other")
    assert {"name": "control-status", "ns": oscal.NS, "value": "review"} in finding["props"]
    obs = next(
        o
        for o in result["observations"]
        if {"name": "check-id", "ns": oscal.NS, "value": check["check_id"]} in o["props"]
    )
    assert "legacy cookie retired" in obs["remarks"]
    assert {"name": "waiver-status", "ns": oscal.NS, "value": "active"} in obs["props"]
    assert "stopped answering" in result["remarks"]


def test_oscal_attested_manual_item_names_its_assessor_and_hashes_its_attachment(demo) -> None:
    doc, ctx = fresh(demo, "server-side")
    item = attest(doc)
    assert not list(results_validator().iter_errors(doc))
    ar = render_oscal(doc, ctx)["assessment-results"]
    trestle_validate(ar)
    parties = {p["name"]: p["uuid"] for p in ar["metadata"]["parties"]}
    assert {doc["operator"], "Jane Citizen (IRAP)"} <= set(parties)
    (assessors,) = [r for r in ar["metadata"]["responsible-parties"] if r["role-id"] == "assessor"]
    assert parties["Jane Citizen (IRAP)"] in assessors["party-uuids"]
    obs = next(
        o
        for o in ar["results"][0]["observations"]
        if {"name": "manual-item-id", "ns": oscal.NS, "value": item["id"]} in o["props"]
    )
    assert obs["methods"] == ["EXAMINE"] and obs["collected"] == "2026-11-20T00:00:00Z"
    assert {"name": "attestation-status", "ns": oscal.NS, "value": "evidenced"} in obs["props"]
    assert obs["origins"][0]["actors"][0]["actor-uuid"] == parties["Jane Citizen (IRAP)"]
    resources = {r["uuid"]: r for r in ar["back-matter"]["resources"]}
    (evidence,) = obs["relevant-evidence"]
    (link,) = resources[evidence["href"][1:]]["rlinks"]
    assert link["href"] == item["attachments"][0]["path"]
    assert link["hashes"] == [{"algorithm": "SHA-256", "value": "ab" * 32}]
