"""Service settings: ``INTAKE_*`` environment variables over an optional TOML file.

Every setting has an embedded default, so ``intakeforms serve examples/`` runs
with nothing configured: a SQLite file and a mail folder in the working folder.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

# SettingsError lives with the other errors; imported from here too, as before.
from intakeforms.errors import SettingsError

__all__ = [
    "MetricsPlan",
    "Settings",
    "SettingsError",
    "load_settings",
    "metrics_plan",
    "parse_rate",
]

_RATE = re.compile(r"\s*([0-9]+)\s*/\s*(second|minute|hour|day)\s*")
_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
# What a browser sends as Origin: scheme://host[:port], nothing after it.
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")


def parse_rate(text: str) -> tuple[int, int] | None:
    """``30/minute`` → (30, 60); ``0`` → None (no limit)."""
    if text.strip() == "0":
        return None
    found = _RATE.fullmatch(text)
    if not found:
        raise SettingsError(
            f"INTAKE_RATE_LIMIT={text!r} is not a rate; write it like 30/minute "
            "(per second, minute, hour or day), or 0 to turn the limit off"
        )
    return int(found.group(1)), _PERIODS[found.group(2)]


_ON = ("1", "true", "yes", "on")
_OFF = ("", "0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class MetricsPlan:
    """Where ``/metrics`` is served: on the service's port, or on ``address``."""

    address: tuple[str, int] | None = None

    @property
    def on_service_port(self) -> bool:
        """Whether ``/metrics`` is a route of the service itself."""
        return self.address is None


def metrics_plan(value: str | None) -> MetricsPlan | None:
    """Read ``INTAKE_METRICS``: None when metrics are off.

    ``true`` → on the service's port; ``127.0.0.1:9464`` or ``[::1]:9464`` →
    on that address only. Anything else raises
    :class:`SettingsError` saying what to write.
    """
    text = (value or "").strip()
    if text.lower() in _OFF:
        return None
    if text.lower() in _ON:
        return MetricsPlan()
    host, colon, port_text = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if colon and host and port_text.isdigit() and 0 < int(port_text) < 65536:
        return MetricsPlan((host, int(port_text)))
    raise SettingsError(
        f"INTAKE_METRICS={text!r}: write true (GET /metrics on the service's own port) or "
        "HOST:PORT like 127.0.0.1:9464 (a port of its own, the one way for a worker); "
        "leave it unset to turn metrics off"
    )


@dataclass(frozen=True)
class Settings:
    """Everything the service can be told; see docs/settings.md."""

    #: ``sqlite:///file.db`` or ``postgresql://…``
    store: str = field(default="sqlite:///intake.db", repr=False)  # may hold a password
    #: ``smtp://user:pass@host:port`` (STARTTLS when offered) or ``smtps://…``;
    #: unset: mail is written as .eml files into ``mail_dir``.
    smtp_url: str | None = field(default=None, repr=False)  # may hold a password
    mail_from: str = "intakeforms@localhost"
    mail_dir: Path = Path("mail")
    #: Uploaded files, stored under random names; never served.
    upload_dir: Path = Path("uploads")
    #: Signs the time-trap tokens. Unset: a random secret per process, so
    #: pages issued before a restart are judged as API posts, not spam.
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    #: Origins allowed to embed the forms and post to the API (CORS);
    #: ``*`` allows every site.
    allowed_origins: tuple[str, ...] = ()
    #: Per client and form, like ``30/minute``; ``0`` turns it off.
    rate_limit: str = "30/minute"
    #: Judge every post by the time-trap token, JSON clients included.
    require_token: bool = False
    #: A form sent sooner than this after its page was issued is spam.
    min_fill_seconds: float = 3.0
    #: A token older than this is not judged (a customer who left the tab open).
    token_max_age_seconds: int = 86_400
    #: Largest request body; bigger ones get 413 however they are sent.
    max_body_bytes: int = 25 * 1024 * 1024
    #: Largest JSON or urlencoded body (no files).
    max_json_bytes: int = 256 * 1024
    #: The CSP ``frame-ancestors`` value: who may show the pages in a frame.
    frame_ancestors: str = "'self'"
    #: Behind a reverse proxy: take scheme, host and client address from
    #: ``X-Forwarded-Proto``, ``X-Forwarded-Host`` and ``X-Forwarded-For``.
    trust_proxy: bool = False
    #: How many trusted proxies stand in front: the client address is the
    #: ``proxy_hops``-th entry of ``X-Forwarded-For`` counted from the right.
    proxy_hops: int = 1
    #: ``GET /metrics`` (Prometheus text) is served only when this is set:
    #: ``true`` on the service's port, or ``HOST:PORT`` on a port of its own.
    metrics: str | None = None
    #: Erase delivered submissions older than this many days; unset: keep.
    retention_days: int | None = None
    #: Delete quarantined spam older than this many days.
    spam_retention_days: int = 30
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    max_attempts: int = 10
    #: Processes that build agent emails for each worker (``intakeforms
    #: worker`` and ``serve``); 0 builds them in threads of the worker's process.
    mail_builders: int = 1

    def rate(self) -> tuple[int, int] | None:
        """The rate limit as (requests, seconds), or None when off."""
        return parse_rate(self.rate_limit)


def _convert(name: str, kind: Any, raw: Any) -> Any:
    text = str(raw).strip()
    try:
        if kind in ("bool", bool):
            if isinstance(raw, bool):
                return raw
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError("write true or false")
        if kind in ("int", int):
            return int(text)
        if kind == "int | None":
            return None if text == "" else int(text)
        if kind in ("float", float):
            return float(text)
        if kind in ("Path", Path):
            return Path(text)
        if "tuple" in str(kind):
            items = raw if isinstance(raw, list) else text.split(",")
            return tuple(str(i).strip().rstrip("/") for i in items if str(i).strip())
    except ValueError as exc:
        raise SettingsError(f"INTAKE_{name.upper()}={text!r}: {exc}") from None
    return None if text == "" and "None" in str(kind) else text


def _origins(origins: tuple[str, ...]) -> tuple[str, ...]:
    # Compared with what browsers send, which is lower case: an entry that
    # could never match would refuse its site without a word.
    checked = []
    for origin in origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin.lower()):
            raise SettingsError(
                f"INTAKE_ALLOWED_ORIGINS: {origin!r} is not an origin; write the scheme and "
                "host, and the port if it is not the default, with no path: "
                "https://shop.example or http://localhost:8080; or * to allow every site"
            )
        checked.append(origin.lower())
    return tuple(checked)


def load_settings(
    environ: Mapping[str, str] | None = None, file: str | Path | None = None
) -> Settings:
    """Settings from ``file`` (TOML, keys like ``rate_limit``), then
    ``INTAKE_*`` variables over it. ``INTAKE_SETTINGS`` names the file when
    ``file`` is not given."""
    env = os.environ if environ is None else environ
    file = file or env.get("INTAKE_SETTINGS")
    values: dict[str, Any] = {}
    known = {f.name: f.type for f in fields(Settings)}
    if file:
        try:
            with open(file, "rb") as handle:
                loaded = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read the settings file {file}: {exc}") from None
        for key, raw in loaded.items():
            if key not in known:
                raise SettingsError(f"{file}: unknown setting {key!r}; see docs/settings.md")
            values[key] = _convert(key, known[key], raw)
    for key, kind in known.items():
        raw = env.get(f"INTAKE_{key.upper()}")
        if raw is not None:
            values[key] = _convert(key, kind, raw)
    settings = replace(Settings(), **values)
    settings.rate()  # fail at start, not on the first request
    metrics_plan(settings.metrics)
    settings = replace(settings, allowed_origins=_origins(settings.allowed_origins))
    for name in ("proxy_hops", "spam_retention_days", "retention_days"):
        value = getattr(settings, name)
        if value is not None and value < 1:
            raise SettingsError(f"INTAKE_{name.upper()}={value}: write a whole number of 1 or more")
    if settings.mail_builders < 0:
        raise SettingsError(
            f"INTAKE_MAIL_BUILDERS={settings.mail_builders}: write how many build processes "
            "each worker starts, 0 or more (0 builds agent emails in threads)"
        )
    return settings
