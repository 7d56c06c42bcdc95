"""Shared helpers: small forms written inline, and the schema checker."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from jsonschema import Draft202012Validator
from smtp_server import SmtpServer

from intakeforms import Form, FormError, load_form_text

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def form_yaml(fields: str, **top: str) -> str:
    """A minimal form around ``fields`` (a YAML list, dedented)."""
    head = {"form": "test", "title": "Test", "locales": "[en]"} | top
    lines = [f"{key}: {value}" for key, value in head.items()]
    body = textwrap.indent(textwrap.dedent(fields).strip(), "  ")
    return "\n".join([*lines, "fields:", body, ""])


def make_form(fields: str, **top: str) -> Form:
    """Load a minimal form around ``fields``."""
    return load_form_text(form_yaml(fields, **top), "test.yaml")


def problems_of(text: str) -> list[tuple[int, int, str]]:
    """(line, column, code) of every problem in a form text; fails if it loads."""
    with pytest.raises(FormError) as caught:
        load_form_text(textwrap.dedent(text).lstrip(), "test.yaml")
    return [(p.line, p.column, p.code) for p in caught.value.problems]


def checked_schema(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for ``schema`` after checking it is valid JSON Schema 2020-12."""
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# One Playwright driver and one Chromium per browser test module, stopped at
# its end: Playwright's sync API allows one driver per thread at a time, and
# while one runs, its event loop counts as running in the main thread, so a
# later test's asyncio.run or anyio.run would be refused.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    from browser import CHROMIUM, CHROMIUM_ARGS

    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A recording SMTP server on loopback, started for one test."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
