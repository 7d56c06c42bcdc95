"""The ASGI app: HTML form pages, the JSON API, and their defences."""

from intakeforms.web.app import create_app

__all__ = ["create_app"]
