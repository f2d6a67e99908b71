"""The assessor's attestations: what a scan cannot prove (architecture, procedures, training, monitoring).

An attestations file is YAML, validated strictly (an unknown key is an error naming the key)::

    assessor: Jane Citizen (IRAP)
    items:
      - id: architecture-diagram        # a manual item id of the ISM framework
        status: evidenced               # evidenced | partially evidenced | not evidenced | not applicable
        note: "Architecture v3.2 shows sessions in Redis behind the API gateway"
        attachments: [docs/architecture-v3.2.pdf]   # relative to the attestations file
        date: 2026-11-20

Applying it copies each attachment into the output folder (``attachments/<item-id>/<file>``), so an
evidence pack seals it with the scan's own evidence, and records the copy's SHA-256 on the manual item.
Attestations change only the manual items, never a check's verdict.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .document import refresh_summary
from .errors import AuditError
from .profile import load_yaml_mapping, read_text_file, yaml_line_of

STATUSES = ("evidenced", "partially evidenced", "not evidenced", "not applicable")
ATTACHMENTS_DIR = "attachments"


class AttestationError(AuditError):
    """The attestations file is malformed, names an unknown item, or points at a missing attachment."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ItemModel(_Strict):
    id: str = Field(min_length=1)
    status: Literal["evidenced", "partially evidenced", "not evidenced", "not applicable"]
    note: str | None = None
    attachments: list[str] = []
    date: dt.date | None = None


class _FileModel(_Strict):
    assessor: str = Field(min_length=1)
    items: list[_ItemModel] = []


@dataclass(frozen=True)
class Attestation:
    """One manual item as the assessor attests it; attachments are resolved, existing files."""

    id: str
    status: str
    note: str | None
    attachments: tuple[Path, ...]
    date: dt.date | None


@dataclass(frozen=True)
class Attestations:
    assessor: str
    items: tuple[Attestation, ...]
    source: Path


def manual_item_ids(doc: dict[str, Any]) -> list[str]:
    """The manual item ids of a results document, in document order, without repeats."""
    ids: list[str] = []
    for control in doc.get("controls", []):
        for item in control.get("manual", []):
            if item["id"] not in ids:
                ids.append(item["id"])
    return ids


def load_attestations(path: Path, doc: dict[str, Any]) -> Attestations:
    """Read and validate an attestations file against ``doc``; raise :class:`AttestationError` with one line."""
    path = Path(path)
    text = read_text_file(path, "attestations", AttestationError)
    source = str(path)
    root, data = load_yaml_mapping(
        text, source, AttestationError, "an attestations file is a YAML mapping with `assessor:` and `items:`"
    )
    try:
        parsed = _FileModel.model_validate(data)
    except ValidationError as exc:
        raise AttestationError(_one_line_error(exc, root, source)) from exc

    valid = manual_item_ids(doc)
    base = path.resolve().parent
    items: list[Attestation] = []
    seen: set[str] = set()
    for index, item in enumerate(parsed.items):
        where = _where(root, ("items", index, "id"), source)
        if item.id not in valid:
            raise AttestationError(
                f"{where}: unknown manual item id {item.id!r}; valid ids: {', '.join(valid) or '(none)'}"
            )
        if item.id in seen:
            raise AttestationError(f"{where}: manual item {item.id!r} is attested twice")
        seen.add(item.id)
        files: list[Path] = []
        names: set[str] = set()
        for n, given in enumerate(item.attachments):
            at = _where(root, ("items", index, "attachments", n), source)
            resolved = base / given
            if not resolved.is_file():
                problem = "is not a file" if resolved.exists() else "not found"
                raise AttestationError(f"{at}: attachment {given!r} for {item.id} {problem} (looked for {resolved})")
            if resolved.name in names:
                raise AttestationError(f"{at}: two attachments for {item.id} are named {resolved.name!r}")
            names.add(resolved.name)
            files.append(resolved)
        items.append(Attestation(item.id, item.status, item.note, tuple(files), item.date))
    return Attestations(parsed.assessor, tuple(items), path)


def apply_attestations(doc: dict[str, Any], attestations: Attestations, out_dir: Path) -> None:
    """:func:`with_attestations`, written back into ``doc`` (for callers that hold the document)."""
    new = with_attestations(doc, attestations, out_dir)
    doc.clear()
    doc.update(new)


def with_attestations(doc: dict[str, Any], attestations: Attestations, out_dir: Path) -> dict[str, Any]:
    """Copy attachments into ``out_dir/attachments/<item-id>/``; return a new document with each attestation
    recorded on its manual items (``doc`` itself is left as it was)."""
    doc = copy.deepcopy(doc)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for control in doc.get("controls", []):
        for item in control.get("manual", []):
            by_id.setdefault(item["id"], []).append(item)
    unknown = [a.id for a in attestations.items if a.id not in by_id]
    if unknown:
        raise AttestationError(
            f"{attestations.source}: unknown manual item id {unknown[0]!r}; valid ids: {', '.join(by_id)}"
        )
    for attestation in attestations.items:
        recorded = []
        folder = Path(out_dir) / ATTACHMENTS_DIR / attestation.id
        _drop_stale(folder, {source.name for source in attestation.attachments})
        for source in attestation.attachments:
            target = folder / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                if not (target.exists() and target.samefile(source)):
                    shutil.copyfile(source, target)
            except OSError as exc:
                raise AttestationError(f"cannot copy attachment {source} to {target}: {exc.strerror or exc}") from exc
            recorded.append({"path": f"{ATTACHMENTS_DIR}/{attestation.id}/{source.name}", "sha256": _sha256(target)})
        for item in by_id[attestation.id]:
            item.update(
                {
                    "status": attestation.status,
                    "note": attestation.note,
                    "assessor": attestations.assessor,
                    "date": attestation.date.isoformat() if attestation.date else None,
                    "attachments": [dict(r) for r in recorded],
                }
            )
    refresh_summary(doc)
    return doc


def _drop_stale(folder: Path, keep: set[str]) -> None:
    """Re-applying attestations leaves only the files the current file attaches (no orphan in the pack)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name not in keep and (path.is_file() or path.is_symlink()):
            path.unlink()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _one_line_error(exc: ValidationError, root: Any, source: str) -> str:
    errors = exc.errors()
    # A misspelt key also makes the intended key "missing": name the misspelling, which explains both.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = err["loc"]
    key = ".".join(str(p) for p in loc) or "(top level)"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
    elif err["type"] == "missing":
        message = "required key is missing"
    elif err["type"] == "literal_error" and loc and loc[-1] == "status":
        message = f"status {err.get('input')!r} is not one of {', '.join(STATUSES)}"
    return f"{_where(root, loc, source)}: {key}: {message}"


def _where(root: Any, loc: tuple[Any, ...], source: str) -> str:
    line = yaml_line_of(root, loc)
    return f"{source} line {line}" if line else source
