"""The OpenAPI document, and a fuzzing run against it that finds no 500."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from web_helpers import FORMS, settings_for

from intakeforms.web import create_app

# The operations are collected at import, so the app (and its store folder)
# is made then too.
_FOLDER = Path(tempfile.mkdtemp(prefix="intake-openapi-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
APP = create_app(FORMS, settings_for(_FOLDER))
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)


@SCHEMA.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_input_makes_a_server_error(case: schemathesis.Case[Any]) -> None:
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
