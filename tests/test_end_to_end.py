"""Issue-level acceptance: one scan writes every format and they validate; the CI templates' own commands
work; a fix shows up in a reassessment diff. Real apps, real browser, the real command line."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.apps_fixtures import running_app
from tests.conftest import REPO, run_cli
from tests.test_formats_machine import results_validator, sarif_validator, trestle_validate

PASSWORD = "e2e-Pa55-word"
ENV = {"APP_PASSWORD": PASSWORD, "FIXTURE_PASSWORD": PASSWORD}


def write_profile(folder: Path, url: str, extra: str = "") -> Path:
    path = folder / "isp-audit.yaml"
    path.write_text(
        f"name: flask-session zoo app\ntarget:\n  base_url: {url}\nlogin:\n  url: /login\n  username: alice\n"
        f"  password_env: APP_PASSWORD\npolicy:\n  entropy_samples: 300\n{extra}",
        encoding="utf-8",
    )
    return path


def ci_scan_command(ci_file: str) -> list[str]:
    """The `isp-audit scan …` line of a CI template, as its shell would split it (variables filled in)."""
    text = (REPO / "docs" / "ci" / ci_file).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    scripts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and node.strip().startswith("isp-audit scan"):
            scripts.append(node)

    walk(data)
    assert len(scripts) == 1, scripts
    line = re.sub(r"\$\{?\{?\s*[A-Za-z_.]+\s*\}?\}?", "ci-user", scripts[0])
    args = shlex.split(line)
    assert args[:2] == ["isp-audit", "scan"]
    return args[1:]


@pytest.mark.parametrize("ci_file", ["github-actions.yml", "gitlab-ci.yml"])
def test_ci_template_commands_work(tmp_path: Path, ci_file: str) -> None:
    """Run exactly the scan command a CI template runs, against a zoo app, from a repository-like folder."""
    args = ci_scan_command(ci_file)
    with running_app("flask_serverside", PASSWORD) as url:
        write_profile(tmp_path, url)
        run = run_cli(*args, env=ENV, cwd=tmp_path)
    # Flask-Session's defaults fail high-severity checks (rotation, fixation): --fail-on high gives 1.
    assert run.code == 1, run.stderr
    assert "at or above high" in run.stderr
    assert run_cli("verify", str(tmp_path / "evidence")).code == 0
    sarif = json.loads((tmp_path / "isp-audit.sarif").read_text())
    sarif_validator().validate(sarif)
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
        for loc in r["locations"]
    }
    assert uris == {"isp-audit.yaml"}  # anchored to the committed profile, as GitHub code scanning needs
    junit = ET.fromstring((tmp_path / "isp-audit-junit.xml").read_bytes())
    assert int(junit.get("failures", "0")) >= 2


def test_one_scan_writes_every_format_and_each_validates(tmp_path: Path) -> None:
    attachment = tmp_path / "architecture.pdf"
    attachment.write_bytes(b"%PDF-1.4 architecture diagram placeholder")
    (tmp_path / "attest.yaml").write_text(
        "assessor: Test Assessor\nitems:\n  - id: architecture-diagram\n    status: evidenced\n"
        "    note: sessions live in the server's store\n    attachments: [architecture.pdf]\n",
        encoding="utf-8",
    )
    out, reports = tmp_path / "out", tmp_path / "reports"
    reports.mkdir()  # a --report PATH's folder must exist (only --out is created)
    formats = ["html", "md", "json", "junit", "sarif", "oscal", "csv", "matrix"]
    with running_app("django_db", PASSWORD) as url:
        profile = write_profile(tmp_path, url)
        run = run_cli(
            "scan",
            "-p",
            str(profile),
            "--out",
            str(out),
            "--pack",
            "--zip",
            str(tmp_path / "pack.zip"),
            "--attestations",
            str(tmp_path / "attest.yaml"),
            "--operator",
            "tester",
            *(a for f in formats for a in ("--report", f"{f}:{reports / f}")),
            env=ENV,
            cwd=tmp_path,
        )
    assert run.code in (0, 1), run.stderr
    doc = json.loads((reports / "json").read_text())
    results_validator().validate(doc)
    assert doc["operator"] == "tester"
    manual = {m["id"]: m for c in doc["controls"] for m in c["manual"]}
    assert manual["architecture-diagram"]["status"] == "evidenced"
    sarif_validator().validate(json.loads((reports / "sarif").read_text()))
    trestle_validate(json.loads((reports / "oscal").read_text())["assessment-results"])
    suite = ET.fromstring((reports / "junit").read_bytes())
    assert len(suite.findall(".//testcase")) == len(doc["checks"])
    rows = list(csv.DictReader(io.StringIO((reports / "csv").read_text())))
    assert [r["check_id"] for r in rows] == [c["check_id"] for c in doc["checks"]]
    matrix = list(csv.DictReader(io.StringIO((reports / "matrix").read_text())))
    assert {r["Control"] for r in matrix} >= {"ISM-2066", "ISM-2063", "ISM-2065"}
    assert "ISM-2066" in (reports / "md").read_text() and "<!DOCTYPE html>" in (reports / "html").read_text()
    # The pack holds everything, the attachment included, and both the folder and the zip verify.
    assert (out / "data" / "attachments" / "architecture-diagram" / "architecture.pdf").is_file()
    assert run_cli("verify", str(out)).code == 0
    assert run_cli("verify", str(tmp_path / "pack.zip")).code == 0
    # Any past scan re-renders from results.json alone.
    again = run_cli("report", str(out), "--report", f"sarif:{tmp_path / 'again.sarif'}")
    assert again.code == 0
    assert (
        json.loads((tmp_path / "again.sarif").read_text())["runs"][0]["results"]
        == json.loads((reports / "sarif").read_text())["runs"][0]["results"]
    )
    # Tampering is caught and named.
    (out / "data" / "results.json").write_text("{}", encoding="utf-8")
    tampered = run_cli("verify", str(out))
    assert tampered.code == 1 and "altered: data/results.json" in tampered.stderr
    with zipfile.ZipFile(tmp_path / "pack.zip") as z:
        assert any(n.endswith("data/run.json") for n in z.namelist())


def test_diff_shows_the_fix_after_switching_to_the_compliant_configuration(tmp_path: Path) -> None:
    checks = "rotate-on-login,session-fixation,cookie-attributes,logout-invalidates"
    for mode in ("default", "hardened"):
        with running_app("flask_serverside", PASSWORD, {"FIXTURE_MODE": mode}) as url:
            profile = write_profile(tmp_path, url)
            run = run_cli("scan", "-p", str(profile), "--out", str(tmp_path / mode), "--checks", checks, env=ENV)
            assert run.code in (0, 1), run.stderr
    diff = run_cli(
        "diff",
        str(tmp_path / "default"),
        str(tmp_path / "hardened"),
        "--report",
        "md:-",
        "--report",
        f"html:{tmp_path / 'diff.html'}",
    )
    assert diff.code == 0, diff.stderr
    for check_id in ("rotate-on-login", "session-fixation", "cookie-attributes"):
        assert re.search(rf"{check_id}.*fixed", diff.stdout, re.I), diff.stdout
    assert re.search(r"\b[3-9] fixed, 0 regressed", diff.stdout), diff.stdout
    html = (tmp_path / "diff.html").read_text()
    assert "<script" not in html.lower()
