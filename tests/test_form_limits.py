"""Every text field of the sharing, PRA and audit forms says its limit (``maxlength``), so a browser stops a long
paste at the limit instead of the server refusing the whole form with everything typed lost (issue 22, 23)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).parent.parent / "src" / "platekeeper" / "web" / "templates"
FORMS = ["sharing", "sharing_agencies", "sharing_agency", "sharing_request", "pra", "pra_request", "system_audit",
         "audit", "partner"]  # fmt: skip
FIELD = re.compile(r"<(input|textarea)\b[^>]*>")
NO_LIMIT = re.compile(r'type="(hidden|date|datetime-local|file|radio|checkbox|number)"')


@pytest.mark.parametrize("name", FORMS)
def test_every_text_field_says_its_limit(name: str) -> None:
    source = (TEMPLATES / f"{name}.html").read_text(encoding="utf-8")
    unlimited = [tag for tag in (m.group(0) for m in FIELD.finditer(source)) if not NO_LIMIT.search(tag)]
    assert [tag for tag in unlimited if "maxlength" not in tag] == []
