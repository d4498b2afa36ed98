"""The `platekeeper read` contract, through a tiny Typer app wrapping read_command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from platekeeper.recognition.cli import read_command

app = typer.Typer()
app.command("read")(read_command)


@app.command("version")
def _version() -> None:  # a second command keeps "read" a sub-command, as in platekeeper's app
    """Unused."""


runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["read", *args])


@pytest.fixture(scope="module")
def scene(data_dir: Path) -> Path:
    return data_dir / "scenes" / "br" / "AYO9034.jpg"


def test_json_contract(models_ready: None, scene: Path) -> None:
    result = run("--json", str(scene))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    record = lines[0]
    assert set(record) == {"image", "ms", "plates"}
    assert record["image"] == str(scene) and isinstance(record["ms"], float)
    plates = record["plates"]
    assert plates and plates == sorted(plates, key=lambda p: -p["confidence"])
    for plate in plates:
        assert set(plate) == {"text", "confidence", "box", "region", "candidates"}
        assert plate["text"].isalnum() and plate["text"] == plate["text"].upper()
        assert 0.0 <= plate["confidence"] <= 1.0
        assert len(plate["box"]) == 4 and all(isinstance(v, int) for v in plate["box"])
        assert plate["region"] is None or isinstance(plate["region"], str)
        assert all(set(c) == {"text", "confidence"} for c in plate["candidates"])
    assert plates[0]["text"].replace("0", "O") == "AYO9O34"


def test_bad_files_fail_others_still_read(models_ready: None, scene: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    result = run("--json", str(empty), str(scene), str(text))
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [r["image"] for r in records] == [str(scene)]
    assert "empty.jpg: empty file" in result.stderr
    assert "notes.png: not a supported image" in result.stderr


def test_crops_and_annotate(models_ready: None, data_dir: Path, tmp_path: Path) -> None:
    crop = data_dir / "crops" / "us" / "ak1165.jpg"
    out = tmp_path / "annotated"
    result = run("--json", "--crops", "--annotate", str(out), str(crop))
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.splitlines()[0])
    assert record["plates"][0]["text"] == "FUW999"
    assert record["plates"][0]["region"] is None  # the default plate recognizer reads the number only
    assert (out / "ak1165.annotated.jpg").is_file()


def test_plain_output(models_ready: None, scene: Path) -> None:
    result = run(str(scene))
    assert result.exit_code == 0
    assert "AYO9O34" in result.stdout.replace("0", "O")


def test_recognizer_choice(models_ready: None, data_dir: Path) -> None:
    crop = str(data_dir / "crops" / "us" / "ak1165.jpg")
    general = run("--crops", "--json", "--recognizer", "rapidocr", crop)
    assert general.exit_code == 0, general.output
    record = json.loads(general.stdout.splitlines()[0])
    assert record["plates"][0]["text"] == "FUW999" and record["plates"][0]["region"] == "us-ak"
    bad = run("--recognizer", "tesseract", crop)
    assert bad.exit_code == 2 and "plate, rapidocr" in bad.output


def test_platekeeper_read_is_the_engine_command_and_loads_nothing_heavy_until_run() -> None:
    """`platekeeper read` is read_command itself (a copy once lacked an option), and the CLI stays quick to start."""
    import subprocess
    import sys

    from platekeeper.cli import app as platekeeper_app

    assert any(c.name == "read" and c.callback is read_command for c in platekeeper_app.registered_commands)
    probe = "import sys, platekeeper.cli; print(sorted(m for m in ('cv2', 'onnxruntime') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_platekeeper_read_recognizer_option(models_ready: None, data_dir: Path) -> None:
    from platekeeper.cli import app as platekeeper_app

    crop = str(data_dir / "crops" / "us" / "ak1165.jpg")
    result = runner.invoke(platekeeper_app, ["read", "--crops", "--json", "--recognizer", "rapidocr", crop])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["plates"][0]["region"] == "us-ak"


def test_regions_option(models_ready: None, data_dir: Path) -> None:
    from platekeeper.cli import app as platekeeper_app

    # A Brazilian grey plate whose bar-shaped 1 reads as I: OELI145 fits a European pattern unless the
    # cameras are said to be in Brazil.
    scene = str(data_dir / "scenes" / "br" / "OEL1145.jpg")
    result = runner.invoke(platekeeper_app, ["read", "--json", "--regions", "br", scene])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["plates"][0]["text"] == "OEL1145"
    bad = runner.invoke(platekeeper_app, ["read", "--regions", "br,atlantis", scene])
    assert bad.exit_code == 2 and "'atlantis' names no known region" in bad.output
