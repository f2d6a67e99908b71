"""Where the shipped catalogue and templates are: inside the installed wheel, or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
# In a wheel, hatch copies the top-level folders into the package under these names (pyproject.toml).
_IN_WHEEL = {"checks": _PACKAGE / "_catalogue", "templates": _PACKAGE / "_templates"}


def resource_dir(name: str) -> Path:
    """The ``checks`` or ``templates`` folder, wherever this copy of isp-audit keeps it."""
    packaged = _IN_WHEEL[name]
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name


def package_path(name: str) -> Path:
    """A data folder that lives inside the package itself (e.g. ``schema``, ``data``)."""
    return _PACKAGE / name
