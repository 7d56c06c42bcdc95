"""JSON answers that cannot fail to encode, the service's error shape, and
the addresses and language names its pages share."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

__all__ = ["LANGUAGE_NAMES", "Answer", "errors", "mounted"]

#: Each language's name in itself, for the language switchers.
LANGUAGE_NAMES = {"fi": "Suomi", "sv": "Svenska", "en": "English"}


def mounted(request: Request, suffix: str) -> str:
    """``suffix`` (a path of the service) as seen from outside: under the
    prefix the app is mounted at, if any."""
    return f"{request.scope.get('root_path', '')}{suffix}"


class Answer(JSONResponse):
    """A JSON response whose body can always be written.

    A posted string may hold a lone surrogate (``"\\ud800"`` is valid JSON
    but no UTF-8); were it echoed back, plain encoding would raise and the
    customer would get a 500. Such text is written with JSON escapes instead,
    which any client reads back as it sent it.
    """

    def render(self, content: Any) -> bytes:
        """The body as UTF-8 JSON; ASCII with escapes when UTF-8 cannot hold it."""
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


def errors(status: int, code: str, message: str, field: str = "", **headers: str) -> Answer:
    """The service's error answer: ``{"errors": [{"field", "code", "message"}]}``."""
    body = {"errors": [{"field": field, "code": code, "message": message}]}
    return Answer(body, status_code=status, headers=headers or None)
