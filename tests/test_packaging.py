"""The catalogue and the code stay in step, and a built wheel carries the catalogue and templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from isp_audit.catalogue import load_catalogue, load_framework
from isp_audit.checks import REGISTRY
from tests.conftest import REPO


def test_every_catalogued_check_has_an_implementation_and_vice_versa() -> None:
    """The registry is built from the catalogue; every check module in the folder must be catalogued."""
    folder = Path(REGISTRY["token-opacity"].__code__.co_filename).parent
    modules = {p.stem.replace("_", "-") for p in folder.glob("*.py") if "def run(" in p.read_text()}
    assert set(load_catalogue()) == set(REGISTRY) == modules
    assert [m.run_order for m in load_catalogue().values()].count(0) == 0
    assert len({m.run_order for m in load_catalogue().values()}) == len(REGISTRY), "run_order values are unique"


def test_framework_maps_every_check_and_agrees_with_the_catalogue() -> None:
    """The ISM mapping lives apart from the checks; both directions must agree."""
    catalogue = load_catalogue()
    framework = load_framework("ism")
    mapped = {c for control in framework.controls for c in control.checks}
    assert mapped == set(catalogue)
    for control in framework.controls:
        for check_id in control.checks:
            assert control.id in catalogue[check_id].ism, (control.id, check_id)
    for meta in catalogue.values():
        for ism in meta.ism:
            assert meta.id in next(c for c in framework.controls if c.id == ism).checks, (ism, meta.id)
    ism_2066 = next(c for c in framework.controls if c.id == "ISM-2066")
    assert {m.id for m in ism_2066.manual} >= {"architecture-diagram", "session-log-monitoring"}


def test_catalogue_entries_are_complete() -> None:
    for meta in load_catalogue().values():
        assert meta.ism[0] == "ISM-2066", meta.id  # ISM-2066 first, neighbours after
        assert meta.cwe and meta.wstg and (meta.asvs_4 or meta.asvs_5), meta.id
        assert all(len(hint) > 30 for hint in meta.remediation.stacks.values()), meta.id  # concrete per stack
        assert "pass" in meta.verdicts and len(meta.verdicts) >= 3, meta.id  # each verdict's criterion is documented


def test_wheel_ships_catalogue_and_templates(tmp_path: Path) -> None:
    """`pip install .` must work without the source tree: build the wheel and run from it alone."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("isp_audit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "isp_audit/_templates/report.html.j2" in names
    for check_id in REGISTRY:
        assert f"isp_audit/_catalogue/{check_id}.yaml" in names
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    # Run from the installed copy only (cwd outside the repo, the repo not on sys.path).
    code = (
        "import isp_audit, isp_audit.catalogue as c, isp_audit.resources as r;"
        f"assert isp_audit.__file__.startswith({str(target)!r}), isp_audit.__file__;"
        "print(len(c.load_catalogue()), r.resource_dir('templates'))"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            f"import sys; sys.path[:0] = [{str(target)!r}] + "
            f"{[p for p in sys.path if 'site-packages' in p]!r}; " + code,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    count, templates = out.stdout.split()
    assert int(count) == len(REGISTRY)
    assert templates.startswith(str(target)) and templates.endswith("_templates")
