"""``POST /events`` in the OpenAPI document (see :mod:`intakeforms.web.events`)."""

from __future__ import annotations

from typing import Any

from intakeforms.store import EVENT_CHANNELS, EVENT_KINDS
from intakeforms.web.events import MAX_AGO_MS, MAX_BATCH, MAX_BODY

__all__ = ["events_paths", "events_schemas"]


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}},
    }


def events_paths() -> dict[str, Any]:
    """The path of visitor events."""
    body = {
        "oneOf": [
            {"$ref": "#/components/schemas/Event"},
            {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Event"},
                "minItems": 1,
                "maxItems": MAX_BATCH,
            },
        ]
    }
    return {
        "/events": {
            "post": {
                "summary": "What a visitor did on a form, for the statistics",
                "description": (
                    f"One event or a list of up to {MAX_BATCH}. text/plain (what "
                    "navigator.sendBeacon sends) is read as JSON too. A request with "
                    "one bad event is refused whole; nothing of it is stored. Nothing "
                    "about the client is kept."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": body},
                        "text/plain": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "204": {"description": "Accepted; written within a second"},
                    "400": _error("The body is not JSON, or an event is not an object."),
                    "403": _error("The Origin is not allowed (origin_not_allowed)."),
                    "413": _error(f"The body is larger than {MAX_BODY} bytes (too_large)."),
                    "415": _error("The body is neither JSON nor text (unsupported_media_type)."),
                    "422": _error(
                        "An event that cannot be counted (no_events, too_many_events, "
                        "unknown_key, invalid_session, unknown_form, invalid_channel, "
                        "invalid_event, unknown_field, unknown_code, invalid_ago); field "
                        "says where."
                    ),
                    "429": _error("Too many requests from this client (rate_limited)."),
                },
            }
        }
    }


def events_schemas() -> dict[str, Any]:
    """The schema of one event."""
    return {
        "Event": {
            "type": "object",
            "required": ["session", "form", "channel", "event"],
            "additionalProperties": False,
            "properties": {
                "session": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9_-]{8,64}$",
                    "description": "A random id the page makes per visit",
                },
                "form": {"type": "string", "description": "A form's id"},
                "channel": {"type": "string", "enum": list(EVENT_CHANNELS)},
                "event": {"type": "string", "enum": list(EVENT_KINDS)},
                "field": {
                    "type": ["string", "null"],
                    "description": "The question it is about: a field of the form",
                },
                "code": {
                    "type": ["string", "null"],
                    "description": "For error: the validation error's code",
                },
                "ago": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": MAX_AGO_MS,
                    "description": (
                        "How many milliseconds before it was sent the event happened "
                        "(a page holds events to send them together); it is dated then"
                    ),
                },
            },
        }
    }
