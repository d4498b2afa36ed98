"""The measured recognition accuracy the posted policy states (462.8; Civil Code 1798.90.51(b)(2)(F)).

The held-out figures of platekeeper's own plate recognizer ship beside its weights
(``recognition/weights/<model>.metrics.json``, the numbers of ``docs/<model>-model-card.md``), so the policy states
the accuracy of the model the running config actually reads with, with the date and the sets it was measured on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

from platekeeper.config import Settings

__all__ = ["MeasuredAccuracy", "measured_accuracy"]


@dataclass(frozen=True)
class MeasuredAccuracy:
    """What the policy says of recognition accuracy: the recognizer, and its measured figures when there are any."""

    recognizer: str
    model: str | None
    measured_on: str | None
    metric: str | None
    sets: tuple[dict[str, Any], ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "recognizer": self.recognizer,
            "model": self.model,
            "measured_on": self.measured_on,
            "metric": self.metric,
            "sets": list(self.sets),
        }


def measured_accuracy(settings: Settings) -> MeasuredAccuracy:
    """The figures of the recognizer ``recognition.recognizer`` names: the plate network's metrics file, or none
    (the general OCR, whose accuracy on plates platekeeper has not measured)."""
    recognition = settings.recognition
    if recognition.recognizer != "plate":
        return MeasuredAccuracy(recognition.recognizer, None, None, None, ())
    model = recognition.plate_ocr.model_file
    name = f"{PurePosixPath(model).stem}.metrics.json"
    source = resources.files("platekeeper.recognition").joinpath("weights", name)
    if not source.is_file():
        return MeasuredAccuracy(recognition.recognizer, model, None, None, ())
    data = json.loads(source.read_text(encoding="utf-8"))
    sets = tuple(
        {"name": s["name"], "description": s["description"], "plates": int(s["plates"]), "exact": float(s["exact"])}
        for s in data["sets"]
    )
    return MeasuredAccuracy(recognition.recognizer, model, data["measured_on"], data["metric"], sets)
