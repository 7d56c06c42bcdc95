"""Building the app for tests: real SQLite store in a temporary folder."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from conftest import EXAMPLES, ROOT

from intakeforms import Form, load_forms
from intakeforms.settings import Settings

FORMS: list[Form] = load_forms([EXAMPLES, ROOT / "tests" / "forms"])
REFERENCE = re.compile(r"^CAR-[0-9A-HJKMNP-TV-Z]{6}$")

CAR_ANSWERS: dict[str, Any] = {
    "plate": "abc123",
    "model": "Toyota Corolla",
    "mileage": 184000,
    "service": "repair",
    "symptoms": "Kolisee.",
    "name": "Matti Meikäläinen",
    "email": "matti@example.com",
    "privacy": True,
}


def settings_for(tmp_path: Path, **changes: Any) -> Settings:
    """Settings that keep everything inside ``tmp_path``."""
    base = Settings(
        store=f"sqlite:///{tmp_path / 'intake.db'}",
        mail_dir=tmp_path / "mail",
        upload_dir=tmp_path / "uploads",
        secret="test-secret",
        rate_limit="0",
        min_fill_seconds=0,
    )
    return replace(base, **changes)


def token_from(html: str) -> str:
    """The time-trap token of a rendered page."""
    found = re.search(r'name="_token" value="([^"]+)"', html)
    assert found, "the page has no token"
    return found.group(1)
