"""Checking what the user asked for before the first request reaches the target.

A scan costs logins, traffic and minutes, so a typo must never cost one: every output path is proven
writable (by writing a probe file next to it) and the check selection is proven non-empty before the
preflight request. Each problem is one :class:`~isp_audit.errors.AuditError` line naming the option.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import AuditError
from .evidence.outputs import ReportSpec
from .formats import default_files
from .profile import Profile
from .scanner import select_checks


def split_ids(value: str | None, option: str) -> list[str] | None:
    """``--checks a,b`` as a list; None when the option was not given; an error when it names nothing."""
    if value is None:
        return None
    ids = [v.strip() for v in value.split(",") if v.strip()]
    if not ids:
        raise AuditError(f"{option} {value!r} names no check id; `isp-audit checks` lists them")
    return ids


def checks_to_run(profile: Profile, checks: str | None, skip: str | None) -> tuple[str, ...]:
    """The check ids of this scan; an error when the selection is empty (a scan that proves nothing)."""
    if profile.checks == [] and checks is None:
        raise AuditError("the profile's checks: list is empty; name at least one check (or leave it out for all)")
    selected = select_checks(profile, split_ids(checks, "--checks"), split_ids(skip, "--skip"))
    if not selected:
        raise AuditError("no check left to run: --skip (with the profile's skip:) removes every selected check")
    return selected


def prepare_out_dir(out: Path) -> None:
    """Create the ``--out`` folder (the scan writes its default files there) and prove it writable."""
    if out.exists() and not out.is_dir():
        raise AuditError(f"--out {out} is a file, not a folder; choose a folder")
    blocker = _file_on_the_way(out)
    if blocker is not None:
        raise AuditError(f"--out {out}: {blocker} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AuditError(f"cannot create the --out folder {out}: {exc.strerror or exc}") from exc
    _probe(out, f"cannot write in the --out folder {out}")


def check_report_paths(specs: list[ReportSpec], default_dir: Path | None = None) -> None:
    """Each ``--report FORMAT:PATH`` must name a file in an existing, writable folder. Reports without a
    PATH go to their default file in ``default_dir``; a scan's go in the --out folder, which
    :func:`prepare_out_dir` creates and checks, so it passes no ``default_dir``."""
    for spec in specs:
        if spec.path == "-":
            continue
        if spec.path is not None:
            check_output_file(Path(spec.path), f"--report {spec.fmt}:{spec.path}")
        elif default_dir is not None:
            check_output_file(default_dir / default_files()[spec.fmt], f"--report {spec.fmt}")


def check_output_file(path: Path, option: str) -> None:
    """``path`` can be written as a file: not a folder, its folder exists, and a file can be created there."""
    if path.is_dir():
        raise AuditError(f"{option} is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        blocker = folder if folder.exists() else _file_on_the_way(folder)
        if blocker is not None:
            raise AuditError(f"{option}: {blocker} is a file, not a folder")
        raise AuditError(f"{option}: the folder {folder} does not exist (create it first)")
    if path.exists():
        try:
            with path.open("ab"):  # opens for writing without changing a byte
                pass
        except OSError as exc:
            raise AuditError(f"cannot write {option}: {exc.strerror or exc}") from exc
    else:
        _probe(folder, f"cannot write {option}")


def _file_on_the_way(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` when it is a file (so no folder can be made below it)."""
    for parent in path.parents:
        if parent.exists():
            return parent if not parent.is_dir() else None
    return None


def _probe(folder: Path, message: str) -> None:
    """Create and remove a small file in ``folder``: the only test of writability that holds for root too."""
    try:
        fd, name = tempfile.mkstemp(prefix=".isp-audit-probe-", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise AuditError(f"{message}: {exc.strerror or exc}") from exc
