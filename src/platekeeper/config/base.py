"""What every config section shares: the strict base model, the error, and the validated field types."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MiB = 1024 * 1024


CODE_PATTERN = r"^[a-z][a-z0-9_]{1,40}$"


class ConfigError(Exception):
    """The configuration is invalid; the message names each field and the rule it breaks."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def section(model: Callable[[], object], description: str) -> Any:
    """A nested section of the tree: its own defaults where the file leaves it out."""
    return Field(default_factory=model, description=description)


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from exc
    return value


RegexPattern = Annotated[str, AfterValidator(_compiles)]
"""A config field holding a regular expression: refused at load time, naming the field, when it does not compile."""
