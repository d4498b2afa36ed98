"""The audit log exported for an outside auditor (issue 23 item 8): a period and a user, as CSV or JSON Lines, in a
ZIP with the chain's seals over the period and the signed checkpoint that proves the export complete, checked by
``platekeeper audit check-export`` without the database."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from platekeeper.audit.models import AuditEvent
from platekeeper.audit.proof import sign_manifest
from platekeeper.audit.proof_check import check_bundle
from platekeeper.audit.signing import InstallationKey
from tests.conftest import CONTEXT, Harness
from tests.test_cli import _cli


def _period(harness: Harness) -> dict[str, str]:
    today = datetime.now(harness.settings.tz).date()
    return {"since": (today - timedelta(days=1)).isoformat(), "until": (today + timedelta(days=1)).isoformat()}


def _signer(harness: Harness) -> InstallationKey:
    return InstallationKey.load_or_create(harness.settings.data_path(harness.settings.signing.key_file))


def _two_officers_search(harness: Harness) -> None:
    """Dana searches two plates and Eli one: an export of Dana's events must hold hers, and only hers."""
    dana, eli = harness.signed_in("sworn_officer", "dana"), harness.signed_in("sworn_officer", "eli")
    for officer, plate in ((dana, "7ABC123"), (eli, "5SOW350"), (dana, "8XYZ999")):
        assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": plate}).status_code == 200


def _bundle(harness: Harness, fmt: str = "csv", role: str = "auditor") -> bytes:
    client = harness.signed_in(role)
    params = {**_period(harness), "username": "dana", "format": fmt, "proof": "true"}
    response = client.get("/api/v1/audit/export", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].endswith(f'.{fmt}.zip"')
    return response.content


def rebuild_bundle(files: dict[str, bytes], replaced: dict[str, bytes], signer: InstallationKey) -> bytes:
    """What a dishonest exporter holding the installation's key could make: files replaced, the manifest's digests
    updated and signed again."""
    files = {**files, **replaced}
    manifest = json.loads(files["manifest.json"])
    for name in replaced:
        manifest["files"][name] = hashlib.sha256(files[name]).hexdigest()
    unsigned = {k: v for k, v in manifest.items() if k not in ("signature", "key", "public_key")}
    files["manifest.json"] = json.dumps(sign_manifest(signer, unsigned)).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    return buffer.getvalue()


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def test_a_users_period_exports_with_the_checkpoint_that_proves_it_complete(harness: Harness) -> None:
    _two_officers_search(harness)
    data = _bundle(harness)
    files = _entries(data)
    assert {"events.csv", "chain.csv", "checkpoint.json", "manifest.json", "README.txt"} <= set(files)
    rows = list(csv.DictReader(io.StringIO(files["events.csv"].decode())))
    assert rows and {r["username"] for r in rows} == {"dana"}
    searches = [json.loads(r["plate_texts"]) for r in rows if r["action"] == "reads.search"]
    assert searches == [{"plate": "7AB***3"}, {"plate": "8XY***9"}]  # an auditor's export is masked
    manifest = json.loads(files["manifest.json"])
    assert manifest["filters"]["username"] == "dana" and manifest["rows"] == len(rows)
    checkpoint = json.loads(files["checkpoint.json"])
    with harness.database.session() as session:
        head = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == checkpoint["seq"]))
    assert head == checkpoint["hash"]  # the checkpoint names the chain as it is
    assert check_bundle(data, _signer(harness).public) == []
    (exported,) = [e for e in _events(harness) if e.action == "audit.export"]
    assert exported.details["username"] == "dana" and exported.details["proof"] is True
    kept = harness.settings.data_path(harness.settings.audit.checkpoint_file).read_text().splitlines()
    assert json.loads(kept[-1])["reason"] == "export" and json.loads(kept[-1])["seq"] == checkpoint["seq"]
    admin = harness.signed_in("alpr_admin")  # the export's checkpoint, kept outside the database, still verifies
    verified = admin.post("/audit/verify", data={"csrf_token": admin.headers["X-CSRF-Token"]})
    assert "Intact" in verified.text and f"at event {checkpoint['seq']}" in verified.text


def _events(harness: Harness) -> list[AuditEvent]:
    with harness.database.session() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def test_jsonl_bundles_check_too(harness: Harness) -> None:
    _two_officers_search(harness)
    data = _bundle(harness, "jsonl", role="alpr_admin")
    lines = [json.loads(line) for line in _entries(data)["events.jsonl"].decode().splitlines()]
    assert {line["username"] for line in lines} == {"dana"}
    assert {"plate": "7ABC123"} in [line["plate_texts"] for line in lines]  # the administrator sees plates
    assert check_bundle(data, _signer(harness).public) == []


def test_a_bundle_from_another_installation_or_changed_is_refused(harness: Harness, tmp_path: Path) -> None:
    _two_officers_search(harness)
    data = _bundle(harness)
    other = InstallationKey.load_or_create(tmp_path / "other.key")
    assert any("not signed by" in p for p in check_bundle(data, other.public))
    files = _entries(data)
    files["events.csv"] = b"\n".join(files["events.csv"].splitlines()[:-1]) + b"\n"  # one of dana's events dropped
    changed = io.BytesIO()
    with zipfile.ZipFile(changed, "w") as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    assert any("events.csv" in p for p in check_bundle(changed.getvalue(), _signer(harness).public))


def test_a_re_signed_export_that_leaves_out_an_event_is_caught_by_the_chain(harness: Harness) -> None:
    """Even the installation's own key cannot make a short export pass: the seals over the period name every event
    of the user, and they link up to the signed checkpoint."""
    _two_officers_search(harness)
    data = _bundle(harness)
    signer = _signer(harness)
    files = _entries(data)
    kept = files["events.csv"].decode().splitlines()
    short = rebuild_bundle(files, {"events.csv": ("\n".join(kept[:-1]) + "\n").encode()}, signer)
    assert any("missing from events.csv" in p for p in check_bundle(short, signer.public))
    chain = files["chain.csv"].decode().splitlines()
    cut = rebuild_bundle(files, {"chain.csv": ("\n".join(chain[:-1]) + "\n").encode()}, signer)
    assert any("checkpoint" in p for p in check_bundle(cut, signer.public))
    relabelled = [line.replace(",eli,", ",dana,") for line in chain]
    lie = rebuild_bundle(files, {"chain.csv": ("\n".join(relabelled) + "\n").encode()}, signer)
    assert check_bundle(lie, signer.public) != []


def test_an_export_needs_its_period_and_a_user_that_is_plain(harness: Harness) -> None:
    auditor = harness.signed_in("auditor")
    bad = auditor.get("/api/v1/audit/export", params={"proof": "true"})
    assert bad.status_code == 400 and "since" in bad.text
    long = auditor.get("/api/v1/audit/export", params={**_period(harness), "username": "x" * 65, "proof": "true"})
    assert long.status_code == 422 and "username" in long.text


def test_the_page_links_the_bundles(harness: Harness) -> None:
    auditor = harness.signed_in("auditor")
    page = auditor.get("/audit", params={**_period(harness), "username": "dana"})
    assert "proof=true" in page.text and "format=jsonl" in page.text
    link = page.text.split('href="/audit/export?', 1)[1]
    assert "username=dana" in link.split('"', 1)[0]


@pytest.mark.slow
def test_cli_exports_a_bundle_and_checks_it(harness: Harness, tmp_path: Path, database_url: str) -> None:
    _two_officers_search(harness)
    harness.user("lee", "auditor")
    period = _period(harness)
    out = tmp_path / "dana.zip"
    env_dir = harness.settings.data_dir.parent
    exported = _cli(
        env_dir, database_url, "audit", "export", "--as", "lee", "--since", period["since"], "--until",
        period["until"], "--user", "dana", "--format", "jsonl", "--out", str(out),
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert "events of dana" in exported.stdout and out.exists()
    checked = _cli(env_dir, database_url, "audit", "check-export", str(out))
    assert checked.returncode == 0, checked.stderr + checked.stdout
    assert "complete" in checked.stdout
    public = tmp_path / "public.pem"
    public.write_text(_signer(harness).public_pem)
    with_key = _cli(env_dir, database_url, "audit", "check-export", str(out), "--public-key", str(public))
    assert with_key.returncode == 0, with_key.stderr
    broken = tmp_path / "broken.zip"
    broken.write_bytes(out.read_bytes()[:-40])
    assert _cli(env_dir, database_url, "audit", "check-export", str(broken)).returncode == 1
    missing = _cli(env_dir, database_url, "audit", "export", "--as", "lee", "--user", "dana", "--out", str(out))
    assert missing.returncode == 2 and "since" in missing.stderr
    untrained = harness.user("kim", "auditor", trained=False)
    refused = _cli(
        env_dir, database_url, "audit", "export", "--as", untrained, "--since", period["since"], "--out", str(out)
    )
    assert refused.returncode == 2 and "training" in refused.stderr


@pytest.mark.parametrize("manifest", [b"[1, 2]", b"null", b"{}", b'{"type": "platekeeper.audit-export/1"}'])
def test_a_malformed_bundle_is_named_never_raised(manifest: bytes) -> None:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as bundle:
        bundle.writestr("manifest.json", manifest)
    problems = check_bundle(packed.getvalue())
    assert problems and all(isinstance(p, str) for p in problems)
