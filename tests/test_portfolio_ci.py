"""The CI portfolio templates (docs/ci/*-portfolio.yml): they parse, shard over a matrix and merge in a final
job, and their commands work. The commands are read out of the files and run verbatim by bash, with two
shards, against a real portfolio (both demo apps, one unreachable address, one failing login); then the merge."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from isp_audit.evidence.pack import verify_pack
from isp_audit.portfolio.model import PortfolioDocument
from tests.conftest import REPO, assert_json_outputs_valid
from tests.portfolio_fixtures import DemoPair, demo_pair, write_portfolio

__all__ = ["demo_pair"]
GITHUB = REPO / "docs" / "ci" / "github-actions-portfolio.yml"
GITLAB = REPO / "docs" / "ci" / "gitlab-ci-portfolio.yml"


def github_commands() -> tuple[list[int], dict[str, str], str, str]:
    """(matrix shards, the shard job's env, the shard command, the merge command) of the GitHub workflow."""
    jobs = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))["jobs"]
    shard_runs = [s["run"] for s in jobs["shards"]["steps"] if "isp-audit scan" in s.get("run", "")]
    merge_runs = [s["run"] for s in jobs["merge"]["steps"] if "isp-audit merge" in s.get("run", "")]
    assert len(shard_runs) == 1 and len(merge_runs) == 1
    assert jobs["merge"]["needs"] == "shards" and jobs["merge"]["if"] == "always()"
    return jobs["shards"]["strategy"]["matrix"]["shard"], jobs["shards"]["env"], shard_runs[0], merge_runs[0]


def gitlab_commands() -> tuple[list[str], str, str, str]:
    """(SHARD_INDEX values, SHARD_TOTAL, the shard command, the merge command) of the GitLab jobs."""
    jobs = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    shard, merge = jobs["isp-audit-shard"], jobs["isp-audit-merge"]
    (matrix,) = shard["parallel"]["matrix"]
    (shard_cmd,) = shard["script"]
    (merge_cmd,) = merge["script"]
    assert merge["when"] == "always" and merge["stage"] == "report" and shard["stage"] == "audit"
    return matrix["SHARD_INDEX"], shard["variables"]["SHARD_TOTAL"], shard_cmd, merge_cmd


def test_both_templates_shard_over_a_matrix_with_the_same_commands() -> None:
    shards, env, gh_scan, gh_merge = github_commands()
    indexes, total, gl_scan, gl_merge = gitlab_commands()
    assert env == {"SHARD_INDEX": "${{ matrix.shard }}", "SHARD_TOTAL": "${{ strategy.job-total }}"}
    assert [str(s) for s in shards] == indexes and total == str(len(indexes))
    # One test below runs them; they must be the same commands on both platforms.
    assert (gh_scan, gh_merge) == (gl_scan, gl_merge)
    assert "--targets isp-audit-portfolio.yaml" in gh_scan and '--shard "$SHARD_INDEX/$SHARD_TOTAL"' in gh_scan


def _bash(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def ci_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """PATH with an ``isp-audit`` that is this checkout's (as ``pip install`` would provide it)."""
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "isp-audit"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m isp_audit "$@"\n', encoding="utf-8")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": pythonpath}


def test_two_shards_and_the_merge_with_the_templates_commands(
    demo_pair: DemoPair, ci_env: dict[str, str], tmp_path: Path
) -> None:
    shards, _, scan_cmd, merge_cmd = github_commands()
    write_portfolio(tmp_path, demo_pair, "isp-audit-portfolio.yaml")
    env = {**ci_env, **demo_pair.env}
    for k in shards:  # each runner: its own shard folder, which the artifact step hands to the merge job
        shard = _bash(scan_cmd, tmp_path, {**env, "SHARD_INDEX": str(k), "SHARD_TOTAL": str(len(shards))})
        assert "Traceback" not in shard.stderr, shard.stderr
        assert (tmp_path / f"shard-{k}" / "portfolio.json").is_file(), shard.stderr
    merged = _bash(merge_cmd, tmp_path, env)
    assert merged.returncode == 2, merged.stderr  # the unreachable target decides
    assert "not audited or incomplete: unreachable, wrong-password" in merged.stderr

    # The merged output is one evidence pack holding the summaries and every target's pack, whole.
    assert verify_pack(tmp_path / "portfolio").ok
    out = tmp_path / "portfolio" / "data"
    doc = PortfolioDocument.model_validate_json((out / "portfolio.json").read_bytes())
    assert doc.shards == ("1/2", "2/2")
    assert [(t.name, t.exit_code) for t in doc.targets] == [
        ("server", 0),
        ("client-app", 1),
        ("unreachable", 2),
        ("wrong-password", 2),
    ]
    for record in (doc.targets[0], doc.targets[1], doc.targets[3]):
        assert verify_pack(out / record.folder).ok  # each target's pack kept whole
    assert len(json.loads((out / "portfolio.sarif").read_text())["runs"]) == 4
    assert_json_outputs_valid(out)

    # A sealed portfolio merges again as it is (all its shards inside); altered, it is refused.
    again = _bash("isp-audit merge portfolio --out remerged", tmp_path, env)
    assert again.returncode == 2 and (tmp_path / "remerged" / "server" / "bagit.txt").is_file(), again.stderr
    (out / "portfolio.md").write_text("# nothing failed\n")
    sealed = _bash("isp-audit merge portfolio --out remerged-2", tmp_path, env)
    assert sealed.returncode == 2 and "portfolio pack portfolio is NOT intact" in sealed.stderr, sealed.stderr

    # A pack altered after its shard wrote it is refused, naming it; so is a merge without every shard.
    victim = next(p for p in (tmp_path / "shard-1" / "server" / "data").glob("*.html"))
    victim.write_text(victim.read_text() + "<!-- edited -->")
    refused = _bash("isp-audit merge shard-* --out again", tmp_path, env)
    assert refused.returncode == 2 and "NOT intact" in refused.stderr and "shard-1/server" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    shutil.rmtree(tmp_path / "again", ignore_errors=True)
    partial = _bash("isp-audit merge shard-2 --out again", tmp_path, env)
    assert partial.returncode == 2 and "shard 1/2 missing" in partial.stderr, partial.stderr
