"""Continuity in the OpenAPI document: link and draft tokens, drafts, status."""

from __future__ import annotations

from typing import Any

__all__ = ["TOKENS", "draft_path", "status_path"]


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}},
    }


#: The page's and the spec's ``?t=`` (a signed link) and ``?d=`` (a draft link).
TOKENS: list[dict[str, Any]] = [
    {
        "name": "t",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "A signed link's token (intakeforms link, make_link, a portal's JWT): "
        "the form opens with its answers, the locked ones read-only",
    },
    {
        "name": "d",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "A draft link's token, from the email of 'Continue by email later'",
    },
]


def draft_path(form_id: str) -> dict[str, Any]:
    """``POST /forms/{form}/drafts``."""
    return {
        "post": {
            "summary": "Keep the answers so far and email the customer a link to continue",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["email"],
                            "properties": {
                                "data": {"type": "object"},
                                "email": {"type": "string", "format": "email"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "202": {
                    "description": "Kept for 7 days; the email goes out shortly",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["expires_at"],
                                "properties": {
                                    "expires_at": {"type": "string", "format": "date-time"}
                                },
                            }
                        }
                    },
                },
                "400": _error("The body is not a JSON object (malformed_json, not_object)."),
                "403": _error("The Origin is not allowed (origin_not_allowed)."),
                "404": _error(
                    "There is no such form (unknown_form), or continue later is not "
                    "set up here: INTAKE_PUBLIC_URL and INTAKE_SECRET (drafts_off)."
                ),
                "413": _error("The body is larger than 64 KB (too_large)."),
                "415": _error("The body is not JSON (unsupported_media_type)."),
                "422": _error("The email address is missing or invalid (invalid_email)."),
                "429": _error("Too many drafts from this client or for this address."),
                "503": _error("The store cannot write; nothing was kept."),
            },
        }
    }


def status_path() -> dict[str, Any]:
    """``GET /status/{reference}``."""
    return {
        "/status/{reference}": {
            "get": {
                "summary": "What became of a contact, from the link in its confirmation",
                "parameters": [
                    {
                        "name": "reference",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "t",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "The status token of that reference",
                    },
                ],
                "responses": {
                    "200": {"description": "The status page", "content": {"text/html": {}}},
                    "400": {"description": "A damaged token", "content": {"text/html": {}}},
                    "404": _error("There is no such contact (unknown_reference)."),
                },
            }
        }
    }
