"""The portfolio file: shared ``defaults:`` and a list of ``targets:`` (profile paths or inline profiles).

Paths are relative to the portfolio file. ``${VAR}`` is substituted in every string value, as in profiles.
Every mistake is one line naming the file, the line and the key, raised before any traffic.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..envsubst import expand_env
from ..errors import AuditError
from ..profile import Profile, load_profile, load_yaml_mapping, read_text_file, yaml_line_of

# Files the portfolio writes beside the targets' folders: no target may be named like one of them.
SUMMARY_FILES = ("portfolio.json", "portfolio.html", "portfolio.md", "portfolio.junit.xml", "portfolio.sarif",
                 "portfolio.csv", "controls-matrix.csv")  # fmt: skip
_SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


M = TypeVar("M", bound=BaseModel)


class PortfolioError(AuditError):
    """The portfolio file is malformed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Strict):
    """What every target shares unless the command line says otherwise."""

    policy: str | None = None
    checks: list[str] | None = None
    skip: list[str] | None = None
    waivers: str | None = None
    attestations: str | None = None
    fail_on: str | None = None
    advisory: bool | None = None
    max_time: str | None = None
    entropy_samples: int | None = None

    @field_validator("checks", "skip", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value


class ProfileRef(_Strict):
    name: str | None = None
    profile: str


@dataclass(frozen=True)
class PortfolioTarget:
    """One target: its folder name, its validated profile and where the profile came from."""

    name: str
    index: int  # position in the file's targets: list
    profile: Profile
    profile_path: Path | None  # None for an inline profile
    kind: Literal["file", "inline"]


@dataclass(frozen=True)
class Portfolio:
    path: Path
    sha256: str
    defaults: Defaults
    targets: tuple[PortfolioTarget, ...]

    def resolve(self, value: str | None) -> Path | None:
        """A path from the file (waivers, attestations), relative to the portfolio file's folder."""
        return None if value is None else (self.path.parent / value)


def load_portfolio(path: Path) -> Portfolio:
    """Read, substitute and validate a portfolio file; :class:`PortfolioError` (one line) on any mistake."""
    source = str(path)
    text = read_text_file(path, "portfolio", PortfolioError)
    root, data = load_yaml_mapping(text, source, PortfolioError, "a portfolio is a YAML mapping with `targets:`")
    data = expand_env(data, source, PortfolioError, lambda loc: yaml_line_of(root, loc))
    unknown = sorted(set(data) - {"defaults", "targets"})
    if unknown:
        raise _error(source, root, (unknown[0],), "unknown key (a portfolio has defaults: and targets:)")
    defaults = _validated(Defaults, data.get("defaults") or {}, source, root, ("defaults",))
    items = data.get("targets")
    if not isinstance(items, list) or not items:
        raise _error(source, root, ("targets",), "give a list of at least one target (profile path or inline)")
    targets = tuple(_target(path, item, i, root) for i, item in enumerate(items))
    _unique_names(targets, source)
    return Portfolio(path, hashlib.sha256(text.encode()).hexdigest(), defaults, targets)


def _target(path: Path, item: Any, index: int, root: Any) -> PortfolioTarget:
    source, loc = str(path), ("targets", index)
    if isinstance(item, str):
        item = {"profile": item}
    if not isinstance(item, dict):
        raise _error(source, root, loc, "a target is a profile path, {name, profile} or an inline profile")
    if "profile" in item:
        ref = _validated(ProfileRef, item, source, root, loc)
        file = path.parent / ref.profile
        profile = load_profile(file)
        return PortfolioTarget(target_name(ref.name or profile.name or file.stem), index, profile, file, "file")
    profile = _validated(Profile, item, source, root, loc)
    return PortfolioTarget(target_name(profile.display_name), index, profile, None, "inline")


def target_name(text: str) -> str:
    """A target's folder name: lower case letters, digits, ``.``, ``_`` and ``-`` (others become ``-``)."""
    name = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")[:63]
    return name if _SAFE_NAME.fullmatch(name) else "target"


def _unique_names(targets: tuple[PortfolioTarget, ...], source: str) -> None:
    seen: set[str] = set()
    for t in targets:
        if t.name in seen:
            raise PortfolioError(f"{source}: two targets are named {t.name!r}; give each a distinct name:")
        if t.name in SUMMARY_FILES:
            raise PortfolioError(f"{source}: a target may not be named {t.name!r} (a summary file's name)")
        seen.add(t.name)


def _validated(model: type[M], data: Any, source: str, root: Any, loc: tuple[Any, ...]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        message = err["msg"].removeprefix("Value error, ")
        message = {"extra_forbidden": "unknown key", "missing": "required key is missing"}.get(err["type"], message)
        raise _error(source, root, (*loc, *err["loc"]), message) from exc


def _error(source: str, root: Any, loc: tuple[Any, ...], message: str) -> PortfolioError:
    line = yaml_line_of(root, loc)
    key = ".".join(str(p) for p in loc)
    return PortfolioError(f"{source}{f' line {line}' if line else ''}: {key}: {message}")
