"""The OpenAPI 3.1 document of the service, with each form's own schema.

Paths are listed per form (``/forms/car-service/submissions``), so a client
generator or a fuzzer sees exactly what each form accepts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from intakeforms.form import Form
from intakeforms.version import __version__
from intakeforms.web.openapi_continuity import TOKENS, draft_path, status_path
from intakeforms.web.openapi_events import events_paths, events_schemas
from intakeforms.web.openapi_faq import faq_paths, faq_schemas

__all__ = ["openapi_document"]

_ERRORS: dict[str, Any] = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        }
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}},
    }


_LANG = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "Language of texts and messages; else Accept-Language, else the form's first.",
}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": (
        "Repeat a submission safely: the same key returns the first reference. "
        "At most 200 printable characters; a longer key is refused (400 "
        "invalid_idempotency_key), never cut."
    ),
}


def _form_paths(form: Form) -> dict[str, Any]:
    base = f"/forms/{form.id}"
    ref = {"$ref": f"#/components/schemas/{form.id}"}
    common = {
        "400": _error(
            "The body is not valid JSON (malformed_json), not an object (not_object), "
            "nests too deep (too_deep), names an answer with a control character or "
            "invalid Unicode (invalid_name), has an unusable idempotency key "
            "(invalid_idempotency_key), or is unreadable form data (malformed_form)."
        ),
        "403": _error("The Origin is not allowed (origin_not_allowed)."),
        "413": _error(
            "The body is too large, or its text answers are, whatever the encoding (too_large)."
        ),
        "415": _error("The content type is not JSON, urlencoded or multipart."),
        "422": _error("Some answers are invalid; every problem is listed."),
        "429": _error("Too many requests; see Retry-After."),
    }
    return {
        base: {
            "get": {
                "summary": f"The HTML form page of {form.id}",
                "parameters": [_LANG, *TOKENS],
                "responses": {
                    "200": {"description": "HTML", "content": {"text/html": {}}},
                    "400": {
                        "description": "A damaged or foreign link token",
                        "content": {"text/html": {}},
                    },
                },
            }
        },
        f"{base}/schema.json": {
            "get": {
                "summary": "The JSON Schema 2020-12 of a submission",
                "responses": {
                    "200": {
                        "description": "JSON Schema",
                        "content": {"application/schema+json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        f"{base}/spec.json": {
            "get": {
                "summary": "The localized descriptor the widgets render from",
                "parameters": [_LANG, *TOKENS],
                "responses": {
                    "200": {
                        "description": "Spec",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "403": common["403"],
                },
            }
        },
        f"{base}/submissions": {
            "post": {
                "summary": f"Submit answers to {form.id}",
                "parameters": [_LANG, _IDEMPOTENCY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": ref},
                        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                        "multipart/form-data": {"schema": {"type": "object"}},
                    },
                },
                "responses": {
                    "201": {
                        "description": "Stored; the reference to quote",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Receipt"}
                            },
                            "text/html": {},
                        },
                    },
                    **common,
                    "409": _error(
                        "A single-use link was used already (link_used); the first "
                        "reference is in the body's reference."
                    ),
                    "503": _error("The store cannot write; nothing was stored."),
                },
            }
        },
        f"{base}/drafts": draft_path(form.id),
        f"{base}/validate": {
            "post": {
                "summary": "Check some answers without submitting",
                "parameters": [_LANG],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {
                    "200": {
                        "description": "Errors of the answers given, and their normalised values",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Check"}}
                        },
                    },
                    **{k: v for k, v in common.items() if k != "422"},
                },
            }
        },
    }


def openapi_document(forms: Iterable[Form], base: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 description of the service for ``forms``."""
    forms = list(forms)
    paths: dict[str, Any] = {
        "/forms": {
            "get": {
                "summary": "The forms of this site",
                "parameters": [_LANG],
                "responses": {
                    "200": {
                        "description": "Forms",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/FormSummary"},
                                }
                            }
                        },
                    },
                    "403": _error("The Origin is not allowed (origin_not_allowed)."),
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Liveness, and whether the store can write",
                "responses": {
                    "200": {"description": "Healthy", "content": {"application/json": {}}},
                    "503": {
                        "description": "The store cannot write: "
                        '{"status": "failing", "store": "failing"}',
                        "content": {"application/json": {}},
                    },
                },
            }
        },
        **{
            f"/widget.{kind}": {
                "get": {
                    "summary": f"The embeddable widgets' {what}",
                    "parameters": [
                        {
                            "name": "v",
                            "in": "query",
                            "required": False,
                            "description": "A content hash: the answer is then cached for good",
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {"description": what, "content": {media: {}}},
                        "304": {"description": "Not modified (If-None-Match)"},
                    },
                }
            }
            for kind, what, media in (
                ("js", "Script", "text/javascript"),
                ("css", "Stylesheet", "text/css"),
            )
        },
    }
    schemas: dict[str, Any] = {
        "Errors": _ERRORS,
        "Receipt": {
            "type": "object",
            "required": ["reference"],
            "properties": {
                "reference": {
                    "type": "string",
                    "pattern": "^[A-Z][A-Z0-9]{0,9}-[0-9A-HJKMNP-TV-Z]{6}$",
                }
            },
        },
        "Check": {
            "type": "object",
            "required": ["valid", "errors", "values"],
            "properties": {
                "valid": {"type": "boolean"},
                "errors": _ERRORS["properties"]["errors"],
                "values": {"type": "object"},
            },
        },
        "FormSummary": {
            "type": "object",
            "required": ["id", "title", "locales", "url"],
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "locales": {"type": "array", "items": {"type": "string"}},
                "url": {"type": "string"},
            },
        },
    }
    paths.update(faq_paths())
    paths.update(status_path())
    paths.update(events_paths())
    schemas.update(faq_schemas())
    schemas.update(events_schemas())
    for form in forms:
        paths.update(_form_paths(form))
        schema = {k: v for k, v in form.json_schema().items() if k != "$schema"}
        schemas[form.id] = schema
    return {
        "openapi": "3.1.0",
        "info": {"title": "intakeforms", "version": __version__},
        "servers": [{"url": base or "/"}],
        "paths": paths,
        "components": {"schemas": schemas},
    }
