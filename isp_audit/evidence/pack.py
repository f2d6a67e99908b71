"""Evidence packs: an output folder turned into a BagIt 1.0 bag (RFC 8493), and checked again later.

A pack is the output folder itself, rearranged in place so that existing verifiers understand it::

    <out>/
      bagit.txt                  BagIt-Version, Tag-File-Character-Encoding
      bag-info.txt               Bagging-Date, Payload-Oxum, Source-Organization, Contact-Name (operator) …
      manifest-sha256.txt        "<hex>  data/<path>", sorted; also checkable with `sha256sum -c`
      tagmanifest-sha256.txt     hashes of bagit.txt, bag-info.txt and manifest-sha256.txt
      data/
        run.json                 provenance: versions, profile hash, operator, CI, times, exit status
        results.json report.html timeline.json har/ screenshots/ states/ cookies/ attachments/ …

Only the standard library writes and verifies packs (hashlib, zipfile), so a pack can be checked on
a machine without isp-audit's dependencies, and verification never extracts a zip: members are hashed
straight from the archive, and a member or manifest path that could leave the bag (``../``, absolute)
is reported as a problem and never opened.

Why not the Library of Congress ``bagit`` package (it stays a test dependency that cross-checks every
pack, tests/test_pack.py): measured with bagit 1.9.0, ``make_bag`` writes ``BagIt-Version: 0.97`` (these
packs are RFC 8493 1.0) and ``os.chdir``s the whole process while it works; ``Bag.validate`` checks
folders only (a zip would have to be extracted, which this module never does), and given a malformed
manifest line it raises one ``BagError`` that names neither the altered nor the missing payload files,
while ``isp-audit verify`` must name every altered, missing and added file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO, Any

from .. import __version__
from ..errors import AuditError
from ..resources import resource_dir
from ..results.model import ExitStatus, ResultsDocument

BAGIT_VERSION = "1.0"
MANIFEST = "manifest-sha256.txt"
TAGMANIFEST = "tagmanifest-sha256.txt"
TAG_FILES = ("bagit.txt", "bag-info.txt", MANIFEST)
RUN_JSON = "run.json"
SOURCE_ORGANIZATION = "isp-audit"
# Algorithms a foreign bag may use in manifest-<alg>.txt (RFC 8493 §2.4); packs written here use sha256.
_ALGORITHMS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
_MANIFEST_NAME = re.compile(r"^(tag)?manifest-([a-z0-9]+)\.txt$")
_MANIFEST_LINE = re.compile(r"^([0-9A-Fa-f]+)[ \t]+(.+)$")
_CHUNK = 1 << 20
_CI_RUN_ID = ("GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILD_ID")
_CI_COMMIT = ("GITHUB_SHA", "CI_COMMIT_SHA")


# ---------------------------------------------------------------------------------------------------------
# Writing


def make_pack(
    out_dir: Path, doc: ResultsDocument, *, zip_to: Path | None = None, status: ExitStatus | None = None
) -> Path:
    """Turn the output folder ``out_dir`` into a BagIt bag in place; with ``zip_to``, also zip it.

    Every existing file moves under ``data/``; ``data/run.json`` records provenance from ``doc`` and the
    run's exit ``status`` (the one the process exits with; default: the document's with no options).
    Raises :class:`AuditError` (one line) when the folder is already a pack, holds a symbolic link or
    a special file, or belongs to another run than ``doc``. Returns ``out_dir``.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise AuditError(f"cannot pack {out_dir}: not a folder")
    if any((out_dir / name).exists() for name in ("bagit.txt", MANIFEST, TAGMANIFEST)):
        raise AuditError(
            f"{out_dir} is already an evidence pack (bagit.txt/manifest present); verify it instead of packing again"
        )
    if (out_dir / RUN_JSON).exists():
        raise AuditError(f"cannot pack {out_dir}: it already holds a {RUN_JSON}, which the pack writes itself")
    if zip_to is not None and _is_within(Path(zip_to), out_dir):
        raise AuditError(f"the zip {zip_to} must be written outside the folder being packed ({out_dir})")
    _refuse_links(out_dir)
    _check_same_run(out_dir, doc)

    _move_into_data(out_dir)
    data = out_dir / "data"
    (data / RUN_JSON).write_text(
        json.dumps(run_record(doc, status), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )

    _seal(out_dir, lambda oxum: _bag_info(doc, oxum))

    if zip_to is not None:
        try:
            write_zip(out_dir, Path(zip_to), doc)
        except OSError as exc:
            raise AuditError(f"packed {out_dir}, but writing the zip {zip_to} failed: {exc.strerror or exc}") from exc
    return out_dir


def seal_folder(out_dir: Path, description: str) -> Path:
    """Turn a folder that is no one run's (a merged portfolio: summaries and whole target packs) into a
    BagIt bag in place, so ``isp-audit verify`` checks all of it at once; the packs inside stay whole."""
    if any((out_dir / name).exists() for name in ("bagit.txt", MANIFEST, TAGMANIFEST)):
        raise AuditError(f"{out_dir} is already an evidence pack")
    _refuse_links(out_dir)
    _move_into_data(out_dir)
    info = [("Source-Organization", SOURCE_ORGANIZATION), ("External-Description", description),
            ("Bagging-Date", _utc_now().date().isoformat())]  # fmt: skip
    _seal(out_dir, lambda oxum: [*info, ("Payload-Oxum", oxum), ("Bag-Software-Agent", f"isp-audit {__version__}")])
    return out_dir


def _seal(out_dir: Path, bag_info: Callable[[str], list[tuple[str, str]]]) -> None:
    """The manifest of ``out_dir/data``, then the tag files and the tag manifest that pins them."""
    payload = sorted(_payload_entries(out_dir / "data"))  # (bag path, size, sha256)
    oxum = f"{sum(size for _, size, _ in payload)}.{len(payload)}"
    _write_tag(out_dir / MANIFEST, "".join(f"{digest}  {_encode_path(p)}\n" for p, _, digest in payload))
    _write_tag(out_dir / "bagit.txt", f"BagIt-Version: {BAGIT_VERSION}\nTag-File-Character-Encoding: UTF-8\n")
    _write_tag(out_dir / "bag-info.txt", "".join(f"{k}: {_one_line(v)}\n" for k, v in bag_info(oxum)))
    tag_lines = [f"{_sha256_file(out_dir / name)}  {name}\n" for name in sorted(TAG_FILES)]
    _write_tag(out_dir / TAGMANIFEST, "".join(tag_lines))


def run_record(doc: ResultsDocument, status: ExitStatus | None = None) -> dict[str, Any]:
    """The provenance written to ``data/run.json``: what produced the evidence, for whom, when, and how it
    ended (``status``, as the process exits; default: the document gated with the default options)."""
    prov = doc.provenance
    ci = dict(prov.ci)
    status = status or doc.exit_status()
    return {
        "format": "isp-audit run record 1",
        "run_id": doc.run_id,
        "tool": prov.tool.model_dump(mode="json"),
        "python": prov.python,
        "platform": prov.platform,
        "playwright": prov.playwright,
        "browser": prov.browser,
        "catalogue": {
            "version": prov.catalogue_version,
            # The document does not carry the catalogue's hash: the shipped catalogue is hashed at pack time.
            "sha256": prov.catalogue_sha256 or catalogue_sha256(),
            "sha256_source": "scan" if prov.catalogue_sha256 else "pack",
        },
        "results_schema_version": doc.schema_version,
        "profile": doc.profile.model_dump(mode="json", exclude_unset=True),
        "targets": [doc.target] if doc.target else [],
        "operator": doc.operator,
        "ci": {
            "run_id": next((ci[k] for k in _CI_RUN_ID if ci.get(k)), None),
            "commit": next((ci[k] for k in _CI_COMMIT if ci.get(k)), None),
            "environment": ci,
        },
        "started_at": doc.started_at,
        "finished_at": doc.finished_at,
        "exit": status.to_json(),
        "summary": doc.summary.model_dump(mode="json"),
        "packed_at": _utc_now().isoformat(timespec="seconds").replace("+00:00", "Z"),
        "packed_by": f"isp-audit {__version__}",
    }


def catalogue_sha256() -> str:
    """One SHA-256 over the shipped check catalogue and frameworks (file paths and contents, in path order)."""
    folder = resource_dir("checks")
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*.yaml") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        digest.update(f"{rel}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def write_zip(bag_dir: Path, zip_to: Path, doc: ResultsDocument | None = None) -> Path:
    """Zip a bag with one top folder named after it; members in sorted order with fixed times and modes."""
    bag_dir = Path(bag_dir)
    top = bag_dir.resolve().name or "evidence"
    stamp = _zip_time(doc.finished_at if doc else None)
    members = sorted(
        (rel, path) for rel, path in _walk_files(bag_dir) if rel != zip_to.name or path.resolve() != zip_to.resolve()
    )
    zip_to.parent.mkdir(parents=True, exist_ok=True)
    partial = zip_to.with_name(f".{zip_to.name}.{uuid.uuid4().hex}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for rel, path in members:
                info = zipfile.ZipInfo(f"{top}/{rel}", date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                with path.open("rb") as src, zf.open(info, "w") as dst:
                    while chunk := src.read(_CHUNK):
                        dst.write(chunk)
        os.replace(partial, zip_to)
    finally:
        partial.unlink(missing_ok=True)
    return zip_to


def _bag_info(doc: ResultsDocument, oxum: str) -> list[tuple[str, str]]:
    target = doc.target or "an unnamed target"
    return [
        ("Source-Organization", SOURCE_ORGANIZATION),
        ("Contact-Name", doc.operator or "unknown"),
        ("External-Description", f"ISM-2066 session management evidence for {target}"),
        ("External-Identifier", doc.run_id or "unknown"),
        ("Bagging-Date", _utc_now().date().isoformat()),
        ("Payload-Oxum", oxum),
        ("Bag-Software-Agent", f"isp-audit {__version__}"),
    ]


def _move_into_data(out_dir: Path) -> None:
    """Move every entry of ``out_dir`` under ``out_dir/data`` (even one already called ``data``), or nothing."""
    staging = out_dir / f".isp-audit-packing-{uuid.uuid4().hex}"
    entries = sorted(out_dir.iterdir())
    staging.mkdir()
    moved: list[str] = []
    try:
        for entry in entries:
            entry.rename(staging / entry.name)
            moved.append(entry.name)
        staging.rename(out_dir / "data")
    except OSError as exc:
        for name in moved:
            (staging / name).rename(out_dir / name)
        staging.rmdir()
        raise AuditError(f"cannot pack {out_dir}: moving files under data/ failed: {exc.strerror or exc}") from exc


def _refuse_links(out_dir: Path) -> None:
    for root, dirs, files in os.walk(out_dir):
        for name in dirs + files:
            path = Path(root) / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                rel = path.relative_to(out_dir).as_posix()
                raise AuditError(f"cannot pack {out_dir}: {rel} is a symbolic link; evidence must be regular files")
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                rel = path.relative_to(out_dir).as_posix()
                raise AuditError(f"cannot pack {out_dir}: {rel} is not a regular file")


def _check_same_run(out_dir: Path, doc: ResultsDocument) -> None:
    """Refuse to seal one run's evidence with another run's provenance."""
    results = out_dir / "results.json"
    if not results.is_file():
        return
    try:
        on_disk = json.loads(results.read_text(encoding="utf-8")).get("run_id")
    except (OSError, ValueError, AttributeError):
        return
    if on_disk and doc.run_id and on_disk != doc.run_id:
        raise AuditError(f"cannot pack {out_dir}: its results.json is run {on_disk}, not run {doc.run_id}")


def _payload_entries(data: Path) -> Iterator[tuple[str, int, str]]:
    for rel, path in _walk_files(data):
        yield f"data/{rel}", path.stat().st_size, _sha256_file(path)


def _walk_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Regular files under ``root`` as (posix path relative to root, path); symbolic links are not followed."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if stat.S_ISREG(path.lstat().st_mode):
                yield path.relative_to(root).as_posix(), path


def _open_binary(path: Path) -> IO[bytes]:
    return path.open("rb")


def _write_tag(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))


def _sha256_file(path: Path) -> str:
    with path.open("rb") as fh:
        return _digest(fh, "sha256")


def _digest(fh: IO[bytes], algorithm: str) -> str:
    h = hashlib.new(algorithm)
    while chunk := fh.read(_CHUNK):
        h.update(chunk)
    return h.hexdigest()


def _encode_path(path: str) -> str:
    """RFC 8493 §2.1.3: percent-encode %, CR and LF in manifest paths."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _decode_path(path: str) -> str:
    return re.sub(r"%(25|0[AaDd])", lambda m: chr(int(m.group(1), 16)), path)


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _zip_time(finished_at: Any) -> tuple[int, int, int, int, int, int]:
    """The run's end time (UTC) for every zip member, so the same bag always zips to the same bytes."""
    try:
        when = datetime.fromisoformat(str(finished_at).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return (1980, 1, 1, 0, 0, 0)
    if when.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (when.year, when.month, when.day, when.hour, when.minute, when.second & ~1)


# ---------------------------------------------------------------------------------------------------------
# Verifying


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of re-checking a pack. Paths are relative to the bag (``data/results.json``)."""

    ok: bool
    altered: list[str] = field(default_factory=list)  # payload files whose hash no longer matches
    missing: list[str] = field(default_factory=list)  # in the manifest, absent from the bag
    added: list[str] = field(default_factory=list)  # under data/, absent from the manifest
    problems: list[str] = field(default_factory=list)  # structure, tag files, unsafe paths
    files_checked: int = 0

    def lines(self) -> list[str]:
        """One line per finding, for the terminal."""
        out = [f"altered: {p}" for p in self.altered]
        out += [f"missing: {p}" for p in self.missing]
        out += [f"added: {p}" for p in self.added]
        out += [f"problem: {p}" for p in self.problems]
        return out


@dataclass
class _Bag:
    """A bag's regular files by bag-relative path, each with a way to open it, whatever holds them."""

    files: dict[str, Callable[[], IO[bytes]]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def read_text(self, name: str) -> str | None:
        if name not in self.files:
            return None
        with self.files[name]() as fh:
            raw = fh.read()
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.problems.append(f"{name} is not UTF-8 text")
            return None

    def digest(self, name: str, algorithm: str) -> str:
        with self.files[name]() as fh:
            return _digest(fh, algorithm)


def verify_pack(path: Path) -> VerifyReport:
    """Re-check a pack (a bag folder, or a .zip holding one): every payload hash, the tag manifest and the layout."""
    path = Path(path)
    if path.is_dir():
        bag = _bag_from_folder(path)
    elif path.is_file() and zipfile.is_zipfile(path):
        try:
            return _verify_zip(path)
        except (zipfile.BadZipFile, OSError) as exc:
            return VerifyReport(ok=False, problems=[f"{path.name}: unreadable zip: {exc}"])
    elif path.exists():
        return VerifyReport(ok=False, problems=[f"{path} is neither a bag folder nor a zip of one"])
    else:
        return VerifyReport(ok=False, problems=[f"{path} does not exist"])
    return _verify(bag)


def _verify_zip(path: Path) -> VerifyReport:
    with zipfile.ZipFile(path) as zf:
        return _verify(_bag_from_zip(zf))


def _bag_from_folder(root: Path) -> _Bag:
    bag = _Bag()
    for dirpath, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            mode = full.lstat().st_mode
            if stat.S_ISLNK(mode):
                bag.problems.append(f"{rel} is a symbolic link (not followed)")
            elif stat.S_ISREG(mode):
                bag.files[rel] = partial(_open_binary, full)
                bag.sizes[rel] = full.lstat().st_size
            elif not stat.S_ISDIR(mode):
                bag.problems.append(f"{rel} is not a regular file")
    return bag


def _bag_from_zip(zf: zipfile.ZipFile) -> _Bag:
    """Index a zip's members without extracting any; unsafe names are problems, never opened."""
    bag = _Bag()
    safe: list[zipfile.ZipInfo] = []
    seen: set[str] = set()
    for info in zf.infolist():
        name = info.filename
        if _unsafe(name.rstrip("/")):
            bag.problems.append(f"unsafe zip member {name!r} (path leaves the bag; not extracted)")
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            bag.problems.append(f"zip member {name!r} is a symbolic link (not followed)")
            continue
        if info.is_dir():
            continue
        if name in seen:
            bag.problems.append(f"zip member {name!r} appears more than once")
            continue
        seen.add(name)
        safe.append(info)
    names = [i.filename for i in safe]
    if "bagit.txt" in names:
        prefix = ""
    else:
        tops = {n.split("/", 1)[0] for n in names if "/" in n}
        loose = [n for n in names if "/" not in n]
        if len(tops) != 1 or loose:
            bag.problems.append("the zip does not hold one bag: expected bagit.txt at its root or in one top folder")
            return bag
        prefix = f"{tops.pop()}/"
    for info in safe:
        if not info.filename.startswith(prefix):
            continue
        rel = info.filename[len(prefix) :]
        bag.files[rel] = partial(zf.open, info)
        bag.sizes[rel] = info.file_size
    return bag


def _unsafe(path: str) -> bool:
    """True for a path that is absolute, has a drive or backslash, or has an empty, '.' or '..' component."""
    if not path or path.startswith("/") or "\\" in path or re.match(r"^[A-Za-z]:", path) or "\0" in path:
        return True
    return any(part in ("", ".", "..") for part in path.split("/"))


def _verify(bag: _Bag) -> VerifyReport:
    problems = bag.problems
    _check_declaration(bag)
    if "fetch.txt" in bag.files:
        problems.append("fetch.txt present: the bag relies on files fetched from elsewhere (not supported)")

    manifests = sorted(n for n in bag.files if (m := _MANIFEST_NAME.match(n)) and not m.group(1))
    tagmanifests = sorted(n for n in bag.files if (m := _MANIFEST_NAME.match(n)) and m.group(1))
    if MANIFEST not in bag.files:
        problems.append(f"no {MANIFEST}")
    if TAGMANIFEST not in bag.files:
        problems.append(f"no {TAGMANIFEST}: the tag files (bag-info.txt, manifest) are not protected")

    payload = sorted(n for n in bag.files if n.startswith("data/"))
    check = _check_payload(bag, manifests)
    added = sorted(set(payload) - check.listed)
    for name in tagmanifests:
        _check_tag_manifest(bag, name, manifests)
    _check_oxum(bag, payload)
    ok = not (check.altered or check.missing or added or problems)
    return VerifyReport(
        ok=ok,
        altered=sorted(check.altered),
        missing=sorted(check.missing),
        added=added,
        problems=list(problems),
        files_checked=len(check.hashed),
    )


@dataclass
class _PayloadCheck:
    """What the payload manifests say against the payload: files listed, hashed, altered and missing."""

    listed: set[str] = field(default_factory=set)
    hashed: set[str] = field(default_factory=set)
    altered: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)


def _check_payload(bag: _Bag, manifests: list[str]) -> _PayloadCheck:
    check = _PayloadCheck()
    for name in manifests:
        algorithm = _MANIFEST_NAME.match(name).group(2)  # type: ignore[union-attr]
        for digest, rel in _read_manifest(bag, name, algorithm, payload=True):
            check.listed.add(rel)
            if rel not in bag.files:
                check.missing.add(rel)
                continue
            check.hashed.add(rel)
            if bag.digest(rel, algorithm) != digest.lower():
                check.altered.add(rel)
    return check


def _check_tag_manifest(bag: _Bag, name: str, manifests: list[str]) -> None:
    """A tag manifest's hashes hold, and tagmanifest-sha256.txt covers every tag file and manifest."""
    algorithm = _MANIFEST_NAME.match(name).group(2)  # type: ignore[union-attr]
    covered: set[str] = set()
    for digest, rel in _read_manifest(bag, name, algorithm, payload=False):
        covered.add(rel)
        if rel not in bag.files:
            bag.problems.append(f"{name}: {rel} is listed but absent")
        elif bag.digest(rel, algorithm) != digest.lower():
            bag.problems.append(f"{name}: {rel} does not match its recorded hash (tag file altered)")
    if name != TAGMANIFEST:
        return
    for tag in sorted(n for n in bag.files if not n.startswith("data/") and not _MANIFEST_NAME.match(n)):
        if tag not in covered:
            bag.problems.append(f"{name}: tag file {tag} is not listed (unprotected)")
    for manifest in manifests:
        if manifest not in covered:
            bag.problems.append(f"{name}: {manifest} is not listed (unprotected)")


def _check_declaration(bag: _Bag) -> None:
    text = bag.read_text("bagit.txt")
    if text is None:
        if "bagit.txt" not in bag.files:
            bag.problems.append("no bagit.txt: not a BagIt bag")
        return
    fields = _parse_fields(text)
    version = fields.get("BagIt-Version")
    if version not in ("1.0", "0.97"):
        bag.problems.append(f"bagit.txt: BagIt-Version is {version!r}, expected 1.0")
    encoding = fields.get("Tag-File-Character-Encoding", "")
    if encoding.upper().replace("_", "-") not in ("UTF-8", "UTF8"):
        bag.problems.append(f"bagit.txt: Tag-File-Character-Encoding is {encoding!r}, expected UTF-8")


def _parse_fields(text: str) -> dict[str, str]:
    """``Label: value`` lines of bagit.txt / bag-info.txt (continuation lines start with whitespace)."""
    fields: dict[str, str] = {}
    last: str | None = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and last is not None:
            fields[last] += " " + line.strip()
        elif ":" in line:
            label, _, value = line.partition(":")
            last = label.strip()
            fields.setdefault(last, value.strip())
    return fields


def _read_manifest(bag: _Bag, name: str, algorithm: str, *, payload: bool) -> Iterator[tuple[str, str]]:
    """(hex digest, bag path) per line; malformed lines and unsafe or misplaced paths become problems."""
    if algorithm not in _ALGORITHMS:
        bag.problems.append(f"{name}: unsupported checksum algorithm {algorithm!r}")
        return
    text = bag.read_text(name)
    if text is None:
        return
    seen: set[str] = set()
    for number, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        match = _MANIFEST_LINE.match(line)
        if not match or len(match.group(1)) != _ALGORITHMS[algorithm]:
            bag.problems.append(f"{name} line {number}: malformed entry {line[:80]!r}")
            continue
        digest, rel = match.group(1), _decode_path(match.group(2))
        if _unsafe(rel) or PurePosixPath(rel).is_absolute():
            bag.problems.append(f"{name} line {number}: unsafe path {rel!r} (leaves the bag; not followed)")
            continue
        if payload and not rel.startswith("data/"):
            bag.problems.append(f"{name} line {number}: {rel!r} is outside data/")
            continue
        if not payload and (rel.startswith("data/") or rel == name):
            bag.problems.append(f"{name} line {number}: {rel!r} is not a tag file")
            continue
        if rel in seen:
            bag.problems.append(f"{name} line {number}: {rel!r} is listed twice")
            continue
        seen.add(rel)
        yield digest, rel


def _check_oxum(bag: _Bag, payload: list[str]) -> None:
    text = bag.read_text("bag-info.txt")
    if text is None:
        return
    oxum = _parse_fields(text).get("Payload-Oxum")
    if oxum is None:
        return
    actual = f"{sum(bag.sizes[p] for p in payload)}.{len(payload)}"
    if not re.fullmatch(r"\d+\.\d+", oxum):
        bag.problems.append(f"bag-info.txt: Payload-Oxum {oxum!r} is malformed")
    elif oxum != actual:
        bag.problems.append(f"bag-info.txt: Payload-Oxum is {oxum} but the payload is {actual} (bytes.files)")
