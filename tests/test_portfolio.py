"""``isp-audit scan --targets``: a real portfolio of both demo apps, one unreachable address and one failing
login, audited two at a time; every summary format checked against the targets' own results (SARIF against
its schema)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from jsonschema import Draft7Validator, Draft202012Validator

from isp_audit.demo.runner import EXPECTED
from isp_audit.document import load_document
from isp_audit.errors import AuditError
from isp_audit.evidence.pack import verify_pack
from isp_audit.portfolio.file import load_portfolio
from isp_audit.portfolio.model import PortfolioDocument
from isp_audit.portfolio.run import parse_shard, shard_targets
from tests.conftest import CliRun, run_cli
from tests.portfolio_fixtures import FAST_CHECKS, PASSWORD, DemoPair, demo_pair, write_portfolio

__all__ = ["demo_pair"]
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
AUDITED = {"server": "server-side", "client-app": "client-side"}  # target name -> demo app it is


@pytest.fixture(scope="module")
def portfolio(demo_pair: DemoPair, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CliRun]:
    folder = tmp_path_factory.mktemp("portfolio")
    path = write_portfolio(folder, demo_pair)
    out = folder / "out"
    run = run_cli("scan", "--targets", str(path), "--jobs", "2", "--pack", "--out", str(out), env=demo_pair.env)
    return out, run


def test_unreachable_and_failed_login_are_recorded_and_the_others_audited(
    portfolio: tuple[Path, CliRun],
) -> None:
    out, run = portfolio
    assert run.code == 2, run.stderr  # the worst target: one could not be audited
    assert "Traceback" not in run.stderr and run.stdout == ""
    assert "[unreachable] exit 2: not_audited: cannot reach http://127.0.0.1:" in run.stderr
    assert "not audited or incomplete: unreachable, wrong-password" in run.stderr
    doc = PortfolioDocument.model_validate_json((out / "portfolio.json").read_bytes())
    assert [t.name for t in doc.targets] == ["server", "client-app", "unreachable", "wrong-password"]  # file order
    gone, refused = doc.targets[2], doc.targets[3]
    assert gone.status == "not_audited" and gone.exit_code == 2 and "cannot reach" in (gone.error or "")
    # A failed login: the scan started, so its evidence so far is kept (and packed), but nothing was assessed.
    assert refused.status == "incomplete" and refused.exit_code == 2 and "login" in (refused.error or "")
    assert load_document(out / "wrong-password")["aborted"] == refused.error
    for record in doc.targets[:2]:
        # Each audited target is its own intact evidence pack, with the verdicts its demo app was built for
        # and the exit code its own run recorded (the one-target rule).
        assert record.status == "audited" and record.packed, record
        assert verify_pack(out / record.folder).ok
        results = load_document(out / record.folder)
        want = EXPECTED[AUDITED[record.name]]
        assert {c["check_id"]: c["verdict"] for c in results["checks"]} == {c: want[c] for c in FAST_CHECKS}
        run_json = json.loads((out / record.folder / "data" / "run.json").read_text())
        assert run_json["exit"]["code"] == record.exit_code, run_json["exit"]
    assert [t.exit_code for t in doc.targets] == [0, 1, 2, 2]  # server-side passes these checks; client-side fails
    # The password reaches no file of the portfolio (summaries, packs) and not the terminal.
    assert PASSWORD not in run.stderr
    assert not [p for p in out.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    # portfolio.json matches its own JSON Schema (derived from the typed model).
    schema = PortfolioDocument.model_json_schema()
    Draft202012Validator.check_schema(schema)
    errors = list(Draft202012Validator(schema).iter_errors(json.loads((out / "portfolio.json").read_text())))
    assert not errors, errors[0].message


def test_sarif_has_one_valid_run_per_target(portfolio: tuple[Path, CliRun]) -> None:
    out, _ = portfolio
    log = json.loads((out / "portfolio.sarif").read_text())
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    errors = list(Draft7Validator(schema).iter_errors(log))
    assert not errors, errors[0].message
    runs = log["runs"]
    names = ["server", "client-app", "unreachable", "wrong-password"]
    assert [r["automationDetails"]["id"] for r in runs] == [f"isp-audit/{n}/" for n in names]
    failing = {r["ruleId"] for r in runs[1]["results"] if r["level"] == "error"}
    assert failing == {"ISM2066/cookie-attributes"}
    assert runs[2]["invocations"][0]["executionSuccessful"] is False
    assert "cannot reach" in runs[2]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]


def test_junit_has_one_testsuite_per_target(portfolio: tuple[Path, CliRun]) -> None:
    out, _ = portfolio
    root = ET.parse(out / "portfolio.junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["server", "client-app", "unreachable", "wrong-password"]
    assert [c.get("name") for c in suites["server"].iter("testcase")] == list(FAST_CHECKS)
    assert suites["client-app"].get("failures") == "1"
    failed = [c.get("name") for c in suites["client-app"].iter("testcase") if c.find("failure") is not None]
    assert failed == ["cookie-attributes"]
    assert suites["unreachable"].get("errors") == "1" and suites["unreachable"].get("tests") == "1"
    # The failed login: an errored "audit" testcase, then the checks the abort left as errors.
    cases = list(suites["wrong-password"].iter("testcase"))
    assert cases[0].get("name") == "audit" and "login" in cases[0].find("error").get("message")
    assert suites["wrong-password"].get("errors") == str(len(cases))


def test_csv_html_markdown_and_controls_matrix_agree_with_the_targets(portfolio: tuple[Path, CliRun]) -> None:
    out, _ = portfolio
    documented = [*AUDITED, "wrong-password"]  # the failed login's document lists its checks as errors
    verdicts = {n: {c["check_id"]: c["verdict"] for c in load_document(out / n)["checks"]} for n in documented}
    ism = {name: next(c["status"] for c in load_document(out / name)["controls"] if c["id"] == "ISM-2066")
           for name in AUDITED}  # fmt: skip
    rows = list(csv.DictReader(io.StringIO((out / "portfolio.csv").read_text())))
    assert {(r["target"], r["check"]): r["verdict"] for r in rows if r["check"]} == {
        (n, c): v for n, vs in verdicts.items() for c, v in vs.items()
    }
    assert [r["verdict"] for r in rows if r["target"] == "unreachable"] == ["not audited"]
    assert [r["verdict"] for r in rows if r["target"] == "wrong-password" and not r["check"]] == ["incomplete"]

    matrix = list(csv.reader(io.StringIO((out / "controls-matrix.csv").read_text())))
    assert matrix[0] == ["control", "title", "server", "client-app", "unreachable", "wrong-password"]
    row = next(r for r in matrix if r[0] == "ISM-2066")
    assert row[2:] == [ism["server"], ism["client-app"], "not audited", "incomplete"]

    soup = BeautifulSoup((out / "portfolio.html").read_text(), "html.parser")
    apps = soup.select("#apps tr")[1:]
    assert [r.find("td").contents[0].get_text() for r in apps] == [
        "server",
        "client-app",
        "unreachable",
        "wrong-password",
    ]
    assert apps[2].find("a") is None and not (out / "unreachable").exists()  # nothing to link to
    assert "cannot reach" in apps[2].get_text()
    controls = {r.find("td").contents[0]: [td.get_text() for td in r.find_all("td")[1:]]
                for r in soup.select("#controls tr")[1:]}  # fmt: skip
    assert controls["ISM-2066"] == [ism["server"].replace("_", " "), ism["client-app"].replace("_", " "),
                                    "not audited", "incomplete"]  # fmt: skip

    markdown = (out / "portfolio.md").read_text()
    assert "| client-app | 1 | 1 |" in markdown and "| unreachable |" in markdown
    assert f"| ISM-2066 | {ism['server'].replace('_', ' ')} | {ism['client-app'].replace('_', ' ')} |" in markdown


def test_the_terminal_shows_one_row_per_target(portfolio: tuple[Path, CliRun]) -> None:
    _, run = portfolio
    table = run.stderr[run.stderr.index("portfolio: 4 target(s)") :]
    for name in ("server", "client-app", "unreachable", "wrong-password"):
        assert f"│ {name}" in table


def test_a_log_gets_no_live_rows(portfolio: tuple[Path, CliRun]) -> None:
    """stderr is not a terminal here: the finished targets' lines and the table, no rows, no control codes."""
    _, run = portfolio
    assert "\x1b" not in run.stderr and "\r" not in run.stderr, repr(run.stderr[:500])
    assert "targets 0/4 done" not in run.stderr and "checks 0/2" not in run.stderr
    assert "[server] exit 0" in run.stderr


# --- input checked before any traffic ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0/2", "3/2", "2", "a/b", "1/0"])
def test_a_bad_shard_is_one_line(value: str) -> None:
    with pytest.raises(AuditError, match="--shard"):
        parse_shard(value)


def test_shards_are_disjoint_and_cover_the_portfolio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVER_URL", "http://127.0.0.1:1/")
    pair = DemoPair("http://127.0.0.1:1/", "http://127.0.0.1:2/")
    targets = load_portfolio(write_portfolio(tmp_path, pair)).targets
    for n in (1, 2, 3, 5):
        slices = [shard_targets(targets, (k, n)) for k in range(1, n + 1)]
        assert sorted(t.index for s in slices for t in s) == [0, 1, 2, 3]
        assert slices == [shard_targets(targets, (k, n)) for k in range(1, n + 1)]  # deterministic


@pytest.mark.parametrize(
    ("edit", "env", "message"),
    [
        (lambda t: t, {}, "portfolio.yaml line 5: targets.0.target.base_url: environment variable SERVER_URL is not"),
        (lambda t: t.replace("name: unreachable", "name: server"), {"SERVER_URL": "http://127.0.0.1:1/"},
         "two targets are named 'server'"),
        (lambda t: t.replace("defaults:", "defaults:\n  colour: red"), {"SERVER_URL": "http://127.0.0.1:1/"},
         "portfolio.yaml line 2: defaults.colour: unknown key"),
        (lambda t: t, {"SERVER_URL": "http://127.0.0.1:1/", "X": "--shard 9/2"}, "--shard '9/2'"),
        (lambda t: t, {"SERVER_URL": "http://127.0.0.1:1/", "X": "--jobs 0"}, "--jobs 0: give at least 1"),
        (lambda t: t, {"SERVER_URL": "http://127.0.0.1:1/", "X": "--zip x.zip"}, "--zip cannot be combined"),
    ],
)  # fmt: skip
def test_portfolio_mistakes_are_one_line_exit_2(tmp_path: Path, edit, env: dict[str, str], message: str) -> None:
    path = write_portfolio(tmp_path, DemoPair("http://127.0.0.1:1/", "http://127.0.0.1:2/"))
    path.write_text(edit(path.read_text()), encoding="utf-8")
    extra = env.pop("X", "").split()
    run = run_cli("scan", "--targets", str(path), "--out", str(tmp_path / "out"), *extra, env=env)
    assert run.code == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("isp-audit: error: "), run.stderr
    assert message in lines[0], lines[0]
    assert not (tmp_path / "out").exists()  # nothing started
