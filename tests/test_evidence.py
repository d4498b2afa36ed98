"""Evidence packages (462.9): a held case's reads on portable media, with a signed manifest and a custody record."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from platekeeper.cli import app as cli_app
from platekeeper.retention.service import verify_package
from tests.conftest import Harness
from tests.retention_helpers import age, hold, ingest_reads, read_with


def _held_case(harness: Harness) -> tuple[dict, object, list[str]]:
    _, key = harness.camera("North")
    ids = ingest_reads(harness, key, read_with("6EVD001", (11, 22, 33)), read_with("6EVD001", (44, 55, 66)))
    age(harness, ids[:1], 400)
    records, manager = harness.signed_in("records", "clerk"), harness.signed_in("records_manager", "boss")
    made = hold(records, manager, scope="reads", read_ids=ids)
    return made, records, ids


def _unzip(data: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(into)
    (folder,) = into.iterdir()
    return folder


def _public(harness: Harness):
    return harness.client.app.state.platekeeper.signing_key.public


def test_an_exported_package_holds_the_case_and_verifies(harness: Harness, tmp_path: Path) -> None:
    made, records, ids = _held_case(harness)
    response = records.post(f"/api/v1/holds/{made['id']}/evidence", json={"booking_number": "P-2026-0815"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    folder = _unzip(response.content, tmp_path / "unzipped")
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"reads.csv", "reads.json", "audit-events.jsonl", "manifest.json", "chain-of-custody.html"} <= names
    assert (folder / "chain-of-custody.pdf").read_bytes().startswith(b"%PDF")
    assert sum(1 for n in names if n.startswith("images/")) == 2
    assert all(i in (folder / "reads.csv").read_text() for i in ids)
    custody = (folder / "chain-of-custody.html").read_text()
    assert "P-2026-0815" in custody and "clerk" in custody and made["case_number"] in custody
    assert '"holds.decide"' in (folder / "audit-events.jsonl").read_text()
    assert verify_package(folder, _public(harness)) == []
    listed = records.get(f"/api/v1/holds/{made['id']}").json()["exports"]
    assert [e["booking_number"] for e in listed] == ["P-2026-0815"]
    kept = Path(harness.settings.data_dir) / "evidence"
    assert [p.suffix for p in kept.iterdir()] == [".zip"]


def test_tampering_names_the_file(harness: Harness, tmp_path: Path) -> None:
    made, records, _ = _held_case(harness)
    data = records.post(f"/api/v1/holds/{made['id']}/evidence", json={"booking_number": "P-1"}).content
    public = _public(harness)
    altered = _unzip(data, tmp_path / "a")
    raw = bytearray((altered / "reads.csv").read_bytes())
    raw[-2] ^= 1  # one byte
    (altered / "reads.csv").write_bytes(bytes(raw))
    assert verify_package(altered, public) == ["reads.csv: altered (its SHA-256 differs from the manifest's)"]
    added = _unzip(data, tmp_path / "b")
    (added / "notes.txt").write_text("added later")
    assert verify_package(added, public) == ["notes.txt: added (not in the manifest)"]
    removed = _unzip(data, tmp_path / "c")
    (removed / "audit-events.jsonl").unlink()
    assert verify_package(removed, public) == [
        "audit-events.jsonl: removed (listed in the manifest, missing from the package)"
    ]
    resigned = _unzip(data, tmp_path / "d")
    manifest = (resigned / "manifest.json").read_text().replace('"P-1"', '"P-2"')
    (resigned / "manifest.json").write_text(manifest)
    assert any("changed after signing" in p for p in verify_package(resigned, public))
    mangled = _unzip(data, tmp_path / "e")
    signed = json.loads((mangled / "manifest.json").read_text())
    signed["document"]["files"] = ["reads.csv"]  # a list where the map of names to digests was
    (mangled / "manifest.json").write_text(json.dumps(signed))
    assert "its file list is not a map" in verify_package(mangled, public)[-1]
    env = {
        "PLATEKEEPER_DATA_DIR": str(harness.settings.data_dir),
        "PLATEKEEPER_DATABASE_URL": harness.settings.database_url,
    }
    zipped = tmp_path / "package.zip"
    zipped.write_bytes(data)
    assert CliRunner().invoke(cli_app, ["evidence", "verify", str(zipped)], env=env).exit_code == 0
    bad = CliRunner().invoke(cli_app, ["evidence", "verify", str(altered)], env=env)
    assert bad.exit_code == 1 and "reads.csv: altered" in bad.output
    (tmp_path / "empty").mkdir()
    assert CliRunner().invoke(cli_app, ["evidence", "verify", str(tmp_path / "empty")], env=env).exit_code == 2
    shutil.rmtree(tmp_path / "empty")


def test_evidence_needs_an_active_hold_and_a_booking_number(harness: Harness) -> None:
    _, key = harness.camera("North")
    ids = ingest_reads(harness, key, read_with("6EVD002", (1, 1, 1)))
    records = harness.signed_in("records")
    pending = hold(records, None, scope="reads", read_ids=ids)
    refused = records.post(f"/api/v1/holds/{pending['id']}/evidence", json={"booking_number": "P-1"})
    assert refused.status_code == 409 and refused.json()["field"] == "status"
    approved = hold(records, harness.signed_in("records_manager"), scope="reads", read_ids=ids)
    bad = records.post(f"/api/v1/holds/{approved['id']}/evidence", json={"booking_number": "../../etc"})
    assert bad.status_code == 400 and bad.json()["field"] == "booking_number"
    assert records.post("/api/v1/holds/999999/evidence", json={"booking_number": "P-1"}).status_code == 404
    assert (
        harness.signed_in("sworn_officer")
        .post(f"/api/v1/holds/{approved['id']}/evidence", json={"booking_number": "P-1"})
        .status_code
        == 403
    )
