"""The config tree: defaults follow policy 462, and a bad config names the field and the rule."""

from __future__ import annotations

import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from platekeeper.config import ConfigError, Settings, load_settings
from platekeeper.permissions import PLATE_DATA_PERMISSIONS


def test_defaults_follow_the_policy() -> None:
    settings = load_settings()
    assert [p.code for p in settings.access.purposes] == [
        "criminal_investigation",
        "wanted_person",
        "sanctions_enforcement",
        "crime_prevention",
        "crime_analysis",
    ]
    assert set(settings.access.roles) == {
        "sworn_officer",
        "supervisor",
        "records",
        "parking_animal_control",
        "records_manager",
        "alpr_admin",
        "auditor",
        "partner",
        "vendor_maintenance",
    }
    assert not set(settings.access.roles["vendor_maintenance"].permissions) & PLATE_DATA_PERMISSIONS
    assert not set(settings.access.roles["auditor"].permissions) & PLATE_DATA_PERMISSIONS
    assert settings.retention.days == 365
    assert settings.audits.per_year == 2
    assert {c.code for c in settings.access.courses} == {"equipment_operation", "policy_review"}
    assert settings.resolved_database_url.endswith("var/platekeeper.db")
    assert settings.web.session_idle_minutes <= 30


def _write(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "platekeeper.yaml"
    path.write_text(text)
    monkeypatch.setenv("PLATEKEEPER_CONFIG", str(path))


@pytest.mark.parametrize(
    ("yaml_text", "field", "rule"),
    [
        ("retention:\n  days: 5\n", "retention.days", "greater than or equal to 30"),
        ("audits:\n  per_year: 1\n", "audits.per_year", "greater than or equal to 2"),
        ("audits:\n  performer_role: sworn_officer\n", "audits.performer_role", "462.6(c)"),
        ("audits:\n  approver_role: vendor_maintenance\n", "audits.approver_role", "462.6(c)"),
        ("audits:\n  sample_size: 0\n", "audits.sample_size", "greater than or equal to 5"),
        ("agency:\n  timezone: Mars/Olympus\n", "agency.timezone", "unknown IANA time zone"),
        (
            "access:\n  roles:\n    vendor_maintenance:\n      label: Vendor\n      maintenance_only: true\n"
            "      permissions: [reads.search]\n",
            "access.roles.vendor_maintenance.permissions",
            "plate-data",
        ),
        (
            "access:\n  roles:\n    alpr_admin:\n      label: Admin\n"
            "      permissions: [users.manage, reads.everything]\n",
            "access.roles.alpr_admin.permissions",
            "unknown permission",
        ),
        ("ingest:\n  max_batch_reads: lots\n", "ingest.max_batch_reads", "valid integer"),
        ("retention:\n  dayz: 30\n", "retention.dayz", "Extra inputs are not permitted"),
        ("recognition:\n  recognizer: tesseract\n", "recognition", "must be one of plate, rapidocr"),
        (
            "recognition:\n  detector:\n    retry_long_side: -1\n",
            "recognition.detector.retry_long_side",
            "greater than or equal to 0",
        ),
    ],
)
def test_bad_config_names_field_and_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yaml_text: str, field: str, rule: str
) -> None:
    _write(tmp_path, yaml_text, monkeypatch)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert field in str(error.value) and rule in str(error.value)


def test_environment_overrides_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "retention:\n  days: 400\nsearch:\n  page_size: 20\n", monkeypatch)
    monkeypatch.setenv("PLATEKEEPER_RETENTION__DAYS", "500")
    monkeypatch.setenv("PLATEKEEPER_DATABASE_URL", "postgresql+psycopg://db.example/alpr")
    settings = load_settings()
    assert settings.retention.days == 500 and settings.search.page_size == 20
    assert settings.resolved_database_url == "postgresql+psycopg://db.example/alpr"


def test_the_readme_configuration_example_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    examples = [block.split("```", 1)[0] for block in readme.split("```yaml\n")[1:]]
    assert len(examples) >= 2  # the deployment behind a proxy, and the configuration section's
    for example in examples:  # every YAML example in the README is a configuration that loads
        _write(tmp_path, example, monkeypatch)
        load_settings()
    configuration = readme.split("## Configuration", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    _write(tmp_path, configuration, monkeypatch)
    settings = load_settings()
    assert settings.agency.name == "Example Police Department"
    assert settings.recognition.plates.regions == ("us-ca", "us-nv")


def test_detector_second_looks_are_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "recognition:\n  detector:\n    retry_long_side: 0\n    closeup_fraction: 0.5\n", monkeypatch)
    detector = load_settings().recognition.detector
    assert (detector.retry_long_side, detector.closeup_fraction, detector.closeup_long_side) == (0, 0.5, 320)


def test_missing_named_config_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATEKEEPER_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match=r"nope\.yaml"):
        load_settings()


def test_cli_refuses_to_start_with_a_bad_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "retention:\n  days: 5\n", monkeypatch)
    result = subprocess.run(
        [sys.executable, "-m", "platekeeper", "db", "upgrade"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert "retention.days" in result.stderr and "greater than or equal to 30" in result.stderr


def test_dashboard_purpose_must_be_authorized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "alerts:\n  dashboard_purpose: protest_monitoring\n", monkeypatch)
    with pytest.raises(ConfigError, match=r"alerts\.dashboard_purpose"):
        load_settings()


def _sections(model: type[BaseModel], path: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """Every field of the tree under model, with its dotted path (lists and maps of sections included)."""
    for name, info in model.model_fields.items():
        where = f"{path}.{name}" if path else name
        yield where, info
        pending = [info.annotation]
        while pending:
            kind = pending.pop()
            pending.extend(typing.get_args(kind))
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                yield from _sections(kind, where)


def test_every_config_field_says_what_it_is() -> None:
    fields = dict(_sections(Settings))
    assert {"web.trusted_proxies", "access.roles.label", "alerts.clets_results.code"} <= set(fields)
    undocumented = sorted(path for path, info in fields.items() if not (info.description or "").strip())
    assert undocumented == [], f"config fields without a description: {undocumented}"


@pytest.mark.parametrize(
    ("section", "field"), [("access", "case_number_pattern"), ("alerts", "clets_reference_pattern")]
)
def test_a_regular_expression_field_must_compile(section: str, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"{section}\.{field}: not a valid regular expression"):
        load_settings(**{section: {field: "^[A-Z"}})
