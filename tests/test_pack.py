"""Evidence packs (BagIt) and attestations, on the real output of ``isp-audit demo``.

The demo runs once per session into a temporary folder; each test packs or tampers with its own copy.
Where the ``bagit`` package is installed (``bagit>=1.9``), it validates the packs as an independent verifier.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from isp_audit.attestations import AttestationError, apply_attestations, load_attestations, manual_item_ids
from isp_audit.catalogue import load_framework
from isp_audit.document import load_document, load_results
from isp_audit.errors import AuditError
from isp_audit.evidence.pack import make_pack, verify_pack, write_zip
from isp_audit.results.model import ResultsDocument
from tests.conftest import DEMO_PASSWORD

REPO = Path(__file__).resolve().parent.parent
PASSWORD = DEMO_PASSWORD  # the shared demo run uses it; the canary looks for it
APPS = ("server-side", "client-side")
TAG_FILES = {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt"}


@pytest.fixture(scope="session")
def demo_out(demo_output: Path) -> Path:
    for app in APPS:
        assert (demo_output / app / "results.json").is_file()
    return demo_output


@pytest.fixture
def app_dir(demo_out: Path, tmp_path: Path) -> Path:
    """A private copy of the server-side app's output folder."""
    return Path(shutil.copytree(demo_out / "server-side", tmp_path / "evidence"))


def _pack(folder: Path, **kwargs: Any) -> Path:
    return make_pack(folder, load_results(folder / "results.json"), **kwargs)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _fields(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines())


# ---------------------------------------------------------------------------------------------------------
# Packing


def test_make_pack_builds_a_bagit_bag_in_place(app_dir: Path) -> None:
    before = {p.relative_to(app_dir).as_posix(): p.read_bytes() for p in _files(app_dir)}
    doc = load_document(app_dir / "results.json")

    assert make_pack(app_dir, ResultsDocument.from_json(doc)) == app_dir

    assert {p.name for p in app_dir.iterdir()} == TAG_FILES | {"data"}
    data = app_dir / "data"
    for rel, body in before.items():  # every file moved under data/, unchanged
        assert (data / rel).read_bytes() == body
    payload = {p.relative_to(app_dir).as_posix() for p in _files(data)}
    assert payload == {f"data/{rel}" for rel in before} | {"data/run.json"}

    assert (app_dir / "bagit.txt").read_text() == "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    info = _fields((app_dir / "bag-info.txt").read_text(encoding="utf-8"))
    size = sum((app_dir / p).stat().st_size for p in payload)
    assert info["Payload-Oxum"] == f"{size}.{len(payload)}"
    assert info["Source-Organization"] == "isp-audit"
    assert info["Contact-Name"] == doc["operator"]
    assert info["External-Identifier"] == doc["run_id"]
    assert info["External-Description"] == f"ISM-2066 session management evidence for {doc['target']}"
    assert info["Bag-Software-Agent"].startswith("isp-audit ")
    assert len(info["Bagging-Date"]) == 10

    lines = (app_dir / "manifest-sha256.txt").read_text().splitlines()
    assert lines == sorted(lines, key=lambda line: line.split("  ", 1)[1])
    listed = {}
    for line in lines:
        digest, rel = line.split("  ", 1)
        assert "\\" not in rel and rel.startswith("data/")
        listed[rel] = digest
    assert listed == {p: hashlib.sha256((app_dir / p).read_bytes()).hexdigest() for p in payload}
    tags = dict(reversed(line.split("  ", 1)) for line in (app_dir / "tagmanifest-sha256.txt").read_text().splitlines())
    assert set(tags) == {"bagit.txt", "bag-info.txt", "manifest-sha256.txt"}
    assert all(tags[n] == hashlib.sha256((app_dir / n).read_bytes()).hexdigest() for n in tags)

    run = json.loads((data / "run.json").read_text(encoding="utf-8"))
    assert run["run_id"] == doc["run_id"]
    assert run["tool"] == {"name": "isp-audit", "version": doc["tool"]["version"]}
    assert run["python"] and run["playwright"] and run["browser"] == doc["provenance"]["browser"]
    assert run["catalogue"]["version"] and len(run["catalogue"]["sha256"]) == 64
    assert run["profile"] == doc["profile"] and run["operator"] == doc["operator"]
    assert run["targets"] == [doc["target"]]
    assert (run["started_at"], run["finished_at"]) == (doc["started_at"], doc["finished_at"])
    assert run["exit"]["code"] == (1 if doc["summary"]["verdicts"]["fail"] else 0)
    assert run["summary"] == doc["summary"]
    assert set(run["ci"]) == {"run_id", "commit", "environment"}

    report = verify_pack(app_dir)
    assert report.ok, report
    assert report.files_checked == len(payload)
    assert (report.altered, report.missing, report.added, report.problems) == ([], [], [], [])


def test_the_bagit_library_validates_the_pack(app_dir: Path) -> None:
    bagit = pytest.importorskip("bagit")
    _pack(app_dir)
    bag = bagit.Bag(str(app_dir))
    bag.validate()  # raises BagValidationError on any problem
    assert bag.info["External-Identifier"] == load_document(app_dir / "data" / "results.json")["run_id"]


def test_sha256sum_checks_the_manifest(app_dir: Path) -> None:
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum is not installed")
    _pack(app_dir)
    proc = subprocess.run(
        ["sha256sum", "--check", "--strict", "manifest-sha256.txt"],
        cwd=app_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAILED" not in proc.stdout


def test_zip_of_the_pack_verifies_and_is_deterministic(app_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "zips" / "evidence.zip"
    doc = load_results(app_dir / "results.json")
    make_pack(app_dir, doc, zip_to=archive)

    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
    assert names == sorted(names)
    assert all(n.startswith(f"{app_dir.name}/") for n in names)
    assert f"{app_dir.name}/bagit.txt" in names and f"{app_dir.name}/data/results.json" in names
    report = verify_pack(archive)
    assert report.ok, report
    assert report.files_checked == verify_pack(app_dir).files_checked

    again = write_zip(app_dir, tmp_path / "again.zip", doc)
    assert again.read_bytes() == archive.read_bytes()


def test_packing_twice_is_a_clear_error(app_dir: Path) -> None:
    _pack(app_dir)
    doc = load_results(app_dir / "data" / "results.json")
    with pytest.raises(AuditError, match="already an evidence pack") as caught:
        make_pack(app_dir, doc)
    assert "\n" not in str(caught.value)
    assert verify_pack(app_dir).ok  # the pack was left untouched


def test_pack_refuses_another_runs_document_and_a_zip_inside_the_bag(app_dir: Path) -> None:
    doc = load_results(app_dir / "results.json")
    with pytest.raises(AuditError, match="is run"):
        make_pack(app_dir, doc.model_copy(update={"run_id": "00000000-0000-0000-0000-000000000000"}))
    with pytest.raises(AuditError, match="outside the folder"):
        make_pack(app_dir, doc, zip_to=app_dir / "pack.zip")
    assert not (app_dir / "bagit.txt").exists() and (app_dir / "results.json").is_file()


# ---------------------------------------------------------------------------------------------------------
# Tampering


def test_one_changed_byte_is_reported_as_that_file_altered(app_dir: Path) -> None:
    _pack(app_dir)
    results = app_dir / "data" / "results.json"
    body = bytearray(results.read_bytes())
    body[10] ^= 0x01
    results.write_bytes(bytes(body))

    report = verify_pack(app_dir)
    assert not report.ok
    assert report.altered == ["data/results.json"]
    assert (report.missing, report.added, report.problems) == ([], [], [])


def test_a_deleted_screenshot_is_reported_missing(app_dir: Path) -> None:
    _pack(app_dir)
    shot = sorted((app_dir / "data" / "screenshots").iterdir())[0]
    shot.unlink()

    report = verify_pack(app_dir)
    assert not report.ok
    assert report.missing == [f"data/screenshots/{shot.name}"]
    assert (report.altered, report.added) == ([], [])
    assert any("Payload-Oxum" in p for p in report.problems)


def test_an_added_file_is_reported_added(app_dir: Path) -> None:
    _pack(app_dir)
    (app_dir / "data" / "extra.txt").write_text("not part of the evidence\n")

    report = verify_pack(app_dir)
    assert not report.ok
    assert report.added == ["data/extra.txt"]
    assert (report.altered, report.missing) == ([], [])
    assert any("Payload-Oxum" in p for p in report.problems)


def test_an_edited_bag_info_breaks_the_tag_manifest(app_dir: Path) -> None:
    _pack(app_dir)
    info = app_dir / "bag-info.txt"
    info.write_text(info.read_text(encoding="utf-8").replace("Contact-Name: ", "Contact-Name: Mallory "), "utf-8")

    report = verify_pack(app_dir)
    assert not report.ok
    assert (report.altered, report.missing, report.added) == ([], [], [])
    assert any("tagmanifest-sha256.txt" in p and "bag-info.txt" in p for p in report.problems), report.problems


def test_structural_problems_are_reported(app_dir: Path) -> None:
    _pack(app_dir)
    manifest = app_dir / "manifest-sha256.txt"
    text = manifest.read_text()
    bagit_hash = hashlib.sha256((app_dir / "bagit.txt").read_bytes()).hexdigest()
    manifest.write_text(
        text + "not a manifest line\n" + f"{bagit_hash}  data/../bagit.txt\n" + f"{'0' * 64}  /etc/passwd\n"
    )

    problems = verify_pack(app_dir).problems
    assert any("line" in p and "malformed" in p for p in problems)
    assert any("unsafe path 'data/../bagit.txt'" in p for p in problems)
    assert any("unsafe path '/etc/passwd'" in p for p in problems)
    assert any("tagmanifest" in p and "manifest-sha256.txt" in p for p in problems)

    (app_dir / "bagit.txt").unlink()
    assert any("no bagit.txt" in p for p in verify_pack(app_dir).problems)


def test_a_zip_member_escaping_the_bag_is_a_problem_and_never_extracted(app_dir: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.zip"
    _pack(app_dir, zip_to=good)
    evil = tmp_path / "work" / "evil.zip"
    evil.parent.mkdir()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr(zipfile.ZipInfo("../evil"), b"escaped\n")
        dst.writestr(zipfile.ZipInfo(f"{app_dir.name}/data/../../evil2"), b"escaped\n")
    with zipfile.ZipFile(evil) as zf:
        assert "../evil" in zf.namelist()  # the member really carries the traversal

    cwd = Path.cwd()
    report = verify_pack(evil)
    assert not report.ok
    assert any("'../evil'" in p and "unsafe" in p for p in report.problems)
    assert any("evil2" in p and "unsafe" in p for p in report.problems)
    for folder in (tmp_path, evil.parent, cwd, cwd.parent):
        assert not (folder / "evil").exists() and not (folder / "evil2").exists()


def test_a_tampered_zip_member_is_reported_altered(app_dir: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.zip"
    _pack(app_dir, zip_to=good)
    bad = tmp_path / "bad.zip"
    target = f"{app_dir.name}/data/timeline.json"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info, body.replace(b"[", b" ", 1) if info.filename == target else body)
    report = verify_pack(bad)
    assert report.altered == ["data/timeline.json"]
    assert (report.missing, report.added, report.problems) == ([], [], [])


def test_verify_of_something_that_is_not_a_pack(tmp_path: Path) -> None:
    assert not verify_pack(tmp_path / "nothing").ok
    (tmp_path / "plain").mkdir()
    report = verify_pack(tmp_path / "plain")
    assert not report.ok and any("bagit.txt" in p for p in report.problems)


# ---------------------------------------------------------------------------------------------------------
# Attestations


def _attestations(tmp_path: Path, body: dict[str, Any]) -> Path:
    path = tmp_path / "auditor" / "attestations.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def _manual(doc: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(m for c in doc["controls"] for m in c["manual"] if m["id"] == item_id)


def test_attestations_are_applied_copied_hashed_and_packed(app_dir: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "auditor" / "docs" / "architecture-v3.2.pdf"
    pdf.parent.mkdir(parents=True)
    pdf.write_bytes(b"%PDF-1.4\n% isp-audit test attachment\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    path = _attestations(
        tmp_path,
        {
            "assessor": "Jane Citizen (IRAP)",
            "items": [
                {
                    "id": "architecture-diagram",
                    "status": "evidenced",
                    "note": "Architecture v3.2 shows sessions in Redis behind the API gateway",
                    "attachments": ["docs/architecture-v3.2.pdf"],
                    "date": "2026-11-20",
                },
                {"id": "idp-single-logout", "status": "not applicable", "note": "no single sign-on"},
            ],
        },
    )
    doc = load_document(app_dir / "results.json")
    attestations = load_attestations(path, doc)
    assert attestations.assessor == "Jane Citizen (IRAP)"

    apply_attestations(doc, attestations, app_dir)

    item = _manual(doc, "architecture-diagram")
    digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert item["status"] == "evidenced"
    assert item["note"].startswith("Architecture v3.2")
    assert item["assessor"] == "Jane Citizen (IRAP)" and item["date"] == "2026-11-20"
    assert item["attachments"] == [{"path": "attachments/architecture-diagram/architecture-v3.2.pdf", "sha256": digest}]
    assert (app_dir / item["attachments"][0]["path"]).read_bytes() == pdf.read_bytes()
    assert _manual(doc, "idp-single-logout")["status"] == "not applicable"
    assert _manual(doc, "staff-training-records")["status"] == "not yet evidenced"
    assert doc["summary"]["verdicts"]  # refreshed, still present

    (app_dir / "results.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    make_pack(app_dir, ResultsDocument.from_json(doc))
    manifest = (app_dir / "manifest-sha256.txt").read_text()
    assert f"{digest}  data/attachments/architecture-diagram/architecture-v3.2.pdf\n" in manifest
    assert verify_pack(app_dir).ok
    packed = load_document(app_dir)
    assert _manual(packed, "architecture-diagram")["attachments"][0]["sha256"] == digest


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"id": "architecture-diagramm", "status": "evidenced"}, "unknown manual item id 'architecture-diagramm'"),
        ({"id": "architecture-diagram", "status": "evidenced", "notes": "typo"}, "unknown key 'notes'"),
        ({"id": "architecture-diagram", "status": "done"}, "status 'done' is not one of evidenced"),
        (
            {"id": "architecture-diagram", "status": "evidenced", "attachments": ["docs/nowhere.pdf"]},
            "attachment 'docs/nowhere.pdf' for architecture-diagram not found",
        ),
    ],
    ids=["unknown-id", "unknown-key", "bad-status", "missing-attachment"],
)
def test_attestation_errors_are_one_line(app_dir: Path, tmp_path: Path, item: dict[str, Any], expected: str) -> None:
    path = _attestations(tmp_path, {"assessor": "Jane Citizen (IRAP)", "items": [item]})
    doc = load_document(app_dir / "results.json")
    with pytest.raises(AttestationError) as caught:
        load_attestations(path, doc)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message and str(path) in message and " line " in message
    if item["id"] == "architecture-diagramm":
        assert all(i in message for i in manual_item_ids(doc))  # the valid ids are listed
    assert isinstance(caught.value, AuditError)  # the CLI maps it to one line and exit 2


def test_unknown_top_level_key_is_named(app_dir: Path, tmp_path: Path) -> None:
    path = _attestations(tmp_path, {"asessor": "typo", "items": []})
    with pytest.raises(AttestationError, match="unknown key 'asessor'"):
        load_attestations(path, load_document(app_dir / "results.json"))


def test_the_example_file_lists_every_ism_manual_item_and_loads(app_dir: Path) -> None:
    example = REPO / "docs" / "attestations.example.yaml"
    framework_ids = [m.id for c in load_framework("ism").controls for m in c.manual]
    listed = [i["id"] for i in yaml.safe_load(example.read_text(encoding="utf-8"))["items"]]
    assert listed == framework_ids
    text = example.read_text(encoding="utf-8")
    for control in load_framework("ism").controls:
        for m in control.manual:  # the guidance is the framework's own ask/good text
            assert " ".join(m.good.split()[:6]) in " ".join(text.replace("#", " ").split())
    attestations = load_attestations(example, load_document(app_dir / "results.json"))
    assert [a.id for a in attestations.items] == framework_ids


# ---------------------------------------------------------------------------------------------------------
# Canary


def _leak_forms(value: str) -> set[bytes]:
    raw = value.encode()
    forms = {raw, quote(value, safe="").encode()}
    for shift in range(3):
        chunk = base64.b64encode(raw[shift:])[4:-4]
        if len(chunk) >= 8:
            forms.add(chunk)
    return forms


@pytest.mark.parametrize("app", APPS)
def test_the_demo_password_is_in_no_packed_file(demo_out: Path, tmp_path: Path, app: str) -> None:
    folder = Path(shutil.copytree(demo_out / app, tmp_path / app))
    archive = tmp_path / f"{app}.zip"
    _pack(folder, zip_to=archive)
    forms = _leak_forms(PASSWORD)
    files = _files(folder)
    assert len(files) > 20
    for path in files:
        body = path.read_bytes()
        assert not any(f in body for f in forms), f"the demo password leaked into {path}"
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            body = zf.read(name)
            assert not any(f in body for f in forms), f"the demo password leaked into {archive}:{name}"
