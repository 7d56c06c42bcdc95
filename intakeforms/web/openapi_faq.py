"""The ``/faq`` routes in the OpenAPI document (see :mod:`intakeforms.web.faq`)."""

from __future__ import annotations

from typing import Any

__all__ = ["faq_paths", "faq_schemas"]


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}},
    }


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_RATE = _error("Too many requests from this client (rate_limited); see Retry-After.")


def faq_paths() -> dict[str, Any]:
    """The paths of FAQ search, answer pages and feedback."""
    return {
        "/faq/search": {
            "get": {
                "summary": "Answers for the customer's words, best first",
                "description": (
                    "Inflected, compound and misspelt words match. When nothing "
                    "matches well, results is empty. Without form, topics "
                    "proposes the forms the words are about."
                ),
                "parameters": [
                    _query("q", "The customer's words; cut at 200 characters", {"type": "string"}),
                    _query(
                        "lang",
                        "Language; an unknown one searches the FAQ's default",
                        {"type": "string"},
                    ),
                    _query(
                        "form",
                        "Only the answers offered before this form (and before all)",
                        {"type": "string"},
                    ),
                    _query(
                        "limit",
                        "The most results",
                        {"type": "integer", "minimum": 1, "maximum": 10, "default": 5},
                    ),
                    _query(
                        "channel",
                        "Where the search is made, for the statistics",
                        {"type": "string", "enum": ["chat", "form", "inline", "api"]},
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "The answers",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/FaqSearch"}
                            }
                        },
                    },
                    "400": _error("limit is not a whole number from 1 to 10 (invalid_limit)."),
                    "403": _error("The Origin is not allowed (origin_not_allowed)."),
                    "404": _error("There is no such form (unknown_form)."),
                    "429": _RATE,
                },
            }
        },
        "/faq/{faq}/{entry}": {
            "get": {
                "summary": "One answer as an HTML page",
                "parameters": [
                    {"name": "faq", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "entry", "in": "path", "required": True, "schema": {"type": "string"}},
                    _query("lang", "Language of the page", {"type": "string"}),
                ],
                "responses": {
                    "200": {"description": "The answer", "content": {"text/html": {}}},
                    "404": _error("There is no such answer (unknown_entry)."),
                },
            }
        },
        "/faq/feedback": {
            "post": {
                "summary": "What the customer did with an answer",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/FaqFeedback"}}
                    },
                },
                "responses": {
                    "204": {"description": "Recorded"},
                    "400": _error("The body is not a JSON object (malformed_json, not_object)."),
                    "403": _error("The Origin is not allowed (origin_not_allowed)."),
                    "404": _error("There is no such search (unknown_search)."),
                    "413": _error("The body is larger than 2 KB (too_large)."),
                    "415": _error("The body is not JSON (unsupported_media_type)."),
                    "422": _error(
                        "An event, search or entry that cannot be recorded "
                        "(invalid_event, unknown_search, unknown_entry)."
                    ),
                    "429": _RATE,
                    "503": _error("The store cannot record it right now (unavailable)."),
                },
            }
        },
    }


def faq_schemas() -> dict[str, Any]:
    """The schemas of the answers and the feedback."""
    return {
        "FaqSearch": {
            "type": "object",
            "required": ["search", "lang", "results"],
            "properties": {
                "search": {
                    "type": ["string", "null"],
                    "description": "The search's id for feedback and the submission's _faq; "
                    "null for an empty query",
                },
                "lang": {"type": "string"},
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["faq", "id", "question", "answer_html", "score", "url"],
                        "properties": {
                            "faq": {"type": "string"},
                            "id": {"type": "string"},
                            "question": {"type": "string"},
                            "answer_html": {"type": "string"},
                            "score": {"type": "number", "minimum": 0, "maximum": 1},
                            "url": {"type": "string"},
                        },
                    },
                },
                "topics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["form", "title", "score"],
                        "properties": {
                            "form": {"type": "string"},
                            "title": {"type": "string"},
                            "score": {"type": "number"},
                        },
                    },
                },
            },
        },
        "FaqFeedback": {
            "type": "object",
            "required": ["search", "event"],
            "properties": {
                "search": {"type": "string", "maxLength": 64},
                "entry": {
                    "type": ["string", "null"],
                    "description": "A result's id; may be left out for continued",
                },
                "event": {
                    "type": "string",
                    "enum": ["opened", "helpful", "not_helpful", "continued"],
                },
            },
        },
    }
