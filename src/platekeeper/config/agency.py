"""The agency: its name, organization and time zone, and the custodian of the data."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from platekeeper.config.base import StrictModel


class AgencyConfig(StrictModel):
    name: str = Field(
        "Example Police Department",
        min_length=2,
        max_length=120,
        description="The agency's name, shown on every page and in reports.",
    )
    organization: str = Field(
        "EXPD",
        min_length=2,
        max_length=40,
        description="Organization recorded with every access (Civil Code 1798.90.52).",
    )
    timezone: str = Field("America/Los_Angeles", description="IANA time zone in which times are shown.")
    custodian_title: str = Field(
        "Administration and Investigations Bureau Commander",
        description="Title of the ALPR administrator and custodian of records (462.4).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value
