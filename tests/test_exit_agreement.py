"""One exit status, one control roll-up: the process exit code, the terminal summary line and the pack's
run.json agree in every case (waived, expired waiver, advisory, fail-on), and a scan limited with --checks
never shows ISM-2066 "satisfied" on the evidence of the checks that ran, in any format.

Real scans of the built-in demo apps through the CLI, as a CI job runs them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from isp_audit.demo.apps import PASSWORD_ENV, ClientSideApp, RunningApp, ServerSideApp
from isp_audit.results.model import ResultsDocument

from .conftest import run_cli

PASSWORD = "agreement-pw-1"
FAILING_CHECK = "cookie-attributes"  # medium: the client-side app's tracking cookie lacks HttpOnly


@pytest.fixture(scope="module")
def client_side_url() -> Iterator[str]:
    import os

    os.environ[PASSWORD_ENV] = PASSWORD
    with RunningApp(ClientSideApp()) as app:
        yield app.url


def _waiver_file(folder: Path, target: str, expires: str) -> Path:
    entry = {
        "check": FAILING_CHECK,
        "target": target,
        "justification": "gateway adds HttpOnly; JIRA-1",
        "owner": "jane@agency.example",
        "expires": expires,
    }
    path = folder / "waivers.yaml"
    path.write_text(yaml.safe_dump({"waivers": [entry]}), encoding="utf-8")
    return path


CASES = {
    # name: (extra options, waiver expiry or None, expected exit code)
    "unwaived failure": ([], None, 1),
    "failure below --fail-on": (["--fail-on", "high"], None, 0),
    "advisory": (["--advisory"], None, 0),
    "active waiver": ([], "2999-12-31", 0),
    "expired waiver with --fail-on none": (["--fail-on", "none"], "2000-01-01", 1),
    "expired waiver with --advisory": (["--advisory"], "2000-01-01", 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_run_json_the_terminal_and_the_exit_code_agree(tmp_path: Path, client_side_url: str, case: str) -> None:
    options, expires, expected = CASES[case]
    if expires:
        options = [*options, "--waivers", str(_waiver_file(tmp_path, client_side_url, expires))]
    out = tmp_path / "out"
    run = run_cli(
        "scan", client_side_url, "--username", "alice", "--password-env", PASSWORD_ENV,
        "--checks", FAILING_CHECK, "--out", str(out), "--pack", *options,
        env={PASSWORD_ENV: PASSWORD},
    )  # fmt: skip
    summary = [line for line in run.stderr.splitlines() if re.search(r"; exit \d+", line)]
    assert len(summary) == 1, run.stderr[-2000:]
    terminal_code = int(re.search(r"; exit (\d+)", summary[0]).group(1))  # type: ignore[union-attr]
    recorded = json.loads((out / "data" / "run.json").read_text(encoding="utf-8"))["exit"]
    assert (run.code, terminal_code, recorded["code"]) == (expected, expected, expected), (summary, recorded)
    results = json.loads((out / "data" / "results.json").read_text(encoding="utf-8"))
    check = next(c for c in results["checks"] if c["check_id"] == FAILING_CHECK)
    assert check["verdict"] == "fail"  # the verdict itself never changes; only what it means for the run
    if expires:
        assert check["waiver"]["status"] == ("active" if expires > "2026" else "expired")


@pytest.fixture(scope="module")
def partial_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A server-side demo scan limited to one passing ISM-2066 check, with every report format."""
    import os

    os.environ[PASSWORD_ENV] = PASSWORD
    out = tmp_path_factory.mktemp("partial") / "out"
    formats = ("html", "md", "junit", "sarif", "oscal", "csv", "matrix")
    with RunningApp(ServerSideApp()) as app:
        run = run_cli(
            "scan", app.url, "--username", "alice", "--password-env", PASSWORD_ENV,
            "--checks", "server-side-state", "--out", str(out), *(f"--report={f}" for f in formats),
            env={PASSWORD_ENV: PASSWORD},
        )  # fmt: skip
    assert run.code == 0, run.stderr[-2000:]
    return out, run.stderr


def test_a_checks_subset_leaves_ism_2066_partially_assessed_in_every_format(partial_scan: tuple[Path, str]) -> None:
    out, stderr = partial_scan
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [(c["check_id"], c["verdict"]) for c in doc["checks"]] == [("server-side-state", "pass")]
    control = next(c for c in doc["controls"] if c["id"] == "ISM-2066")
    assert control["status"] == "partially_assessed" and doc["summary"]["ism_2066"] == "partially_assessed"
    assert "rotate-on-login" in control["not_run"]
    assert ResultsDocument.from_json(doc).to_json() == doc  # the typed model reads and writes results.json
    not_run = "rotate-on-login"

    assert re.search(rf"ISM-2066: partially assessed \(not run: [^)]*{not_run}", stderr)
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "**PARTIALLY ASSESSED** (mapped checks not run:" in markdown and f"`{not_run}`" in markdown
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "partially assessed" in html and f"not run: {', '.join(control['not_run'])}" in html
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    assert 'name="ism_2066_status" value="partially_assessed"' in junit and not_run in junit
    sarif = json.loads((out / "results.sarif").read_text(encoding="utf-8"))
    props = sarif["runs"][0]["properties"]
    assert props["ism2066"] == "partially_assessed" and not_run in props["controls_not_run"]["ISM-2066"]
    oscal = (out / "oscal-assessment-results.json").read_text(encoding="utf-8")
    assert '"satisfied"' not in oscal.replace('"not-satisfied"', "") and "partially assessed" in oscal
    matrix = list(csv.reader(io.StringIO((out / "controls-matrix.csv").read_text(encoding="utf-8-sig"))))
    row = next(r for r in matrix if r and "ISM-2066" in r[0])
    assert "Partially assessed" in " ".join(row) and not_run in " ".join(row)
    assert "satisfied" not in (out / "checks.csv").read_text(encoding="utf-8-sig").lower()


def test_a_past_results_json_loads_into_the_typed_model_and_round_trips(partial_scan: tuple[Path, str]) -> None:
    """Documents written before ``status`` existed on waivers (absent means active) still load, gate and
    write back unchanged; the roll-up is recomputed from the checks, never trusted from the file."""
    out, _ = partial_scan
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    doc["checks"][0].update(verdict="fail", waiver={"justification": "j", "owner": "o", "expires": "2030-01-01"})
    for control in doc["controls"]:
        control["status"] = "satisfied"  # what an older isp-audit wrote for a --checks subset
    model = ResultsDocument.from_json(doc)
    assert model.to_json() == doc
    assert model.checks[0].waiver is not None and model.checks[0].waiver.is_active() and model.checks[0].waived
    rolled = model.rolled_up()
    ism = next(c for c in rolled.controls if c.id == "ISM-2066")
    assert ism.status == "review" and rolled.summary.verdicts["waived"] == 1
    assert model.exit_status().code == 0 and model.exit_status(advisory=True).code == 0
    doc["checks"][0]["waiver"]["status"] = "expired"
    assert ResultsDocument.from_json(doc).exit_status("none").code == 1
