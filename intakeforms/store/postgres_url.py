"""Reading a PostgreSQL store URL: intakeforms' own options, and libpq's.

``postgresql://user:password@host:port/database?timeout=5&pool_size=10&…``:
``timeout`` and ``pool_size`` are the store's; every other option is
libpq's and is passed on exactly as written. No message ever shows the
password.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from intakeforms.errors import SettingsError

__all__ = ["StoreUrl", "parse_conninfo", "split_url"]


@dataclass(frozen=True, slots=True)
class StoreUrl:
    """A store URL taken apart: libpq's part, and the store's options."""

    conninfo: str
    timeout: float | None
    pool_size: int | None


def split_url(url: str) -> StoreUrl:
    """Take ``timeout`` and ``pool_size`` out of ``url``; the rest is libpq's."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("postgresql", "postgres"):
        raise SettingsError(
            f"INTAKE_STORE has a {parts.scheme!r} URL; a PostgreSQL store is "
            "postgresql://USER@HOST:PORT/DATABASE (intakeforms picks the driver itself)"
        )
    timeout: float | None = None
    pool_size: int | None = None
    kept: list[str] = []
    # libpq's options are passed on exactly as written: decoding and
    # encoding them again would turn a "+" (in a password, say) into a space.
    for option in filter(None, parts.query.split("&")):
        key, _, value = option.partition("=")
        if key == "timeout":
            timeout = _number(key, unquote(value), float)
        elif key == "pool_size":
            pool_size = int(_number(key, unquote(value), int))
        else:
            kept.append(option)
    # libpq knows only the lower-case spellings of the scheme.
    rest = f"postgresql://{parts.netloc}{parts.path}"
    if kept:
        rest += "?" + "&".join(kept)
    return StoreUrl(rest, timeout, pool_size)


def parse_conninfo(conninfo: str) -> dict[str, Any]:
    """libpq's reading of ``conninfo``; an error that names no password."""
    try:
        return conninfo_to_dict(conninfo)
    except psycopg.Error as exc:
        raise SettingsError(
            f"INTAKE_STORE is not a PostgreSQL URL libpq understands ({_hide(exc, conninfo)}); "
            "write postgresql://USER:PASSWORD@HOST:PORT/DATABASE, percent-encoding "
            "special characters, with libpq's options after ?"
        ) from None


def _hide(exc: psycopg.Error, conninfo: str) -> str:
    """libpq's complaint about ``conninfo``, with any password in it masked."""
    said = " ".join(str(exc).split())
    try:
        password = urlsplit(conninfo).password
    except ValueError:  # not even a URL; a key=value string quotes no password back
        password = None
    if password:
        said = said.replace(password, "***").replace(unquote(password), "***")
    return said


def _number(key: str, text: str, kind: Callable[[str], float]) -> float:
    try:
        value = kind(text)
    except ValueError:
        value = -1
    if not 0 < value < float("inf"):  # also refuses nan
        raise SettingsError(f"INTAKE_STORE: {key}={text!r} is not a positive number")
    return value
