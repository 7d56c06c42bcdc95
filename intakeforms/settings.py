"""Service settings: ``INTAKE_*`` environment variables over an optional TOML file.

Every setting has an embedded default, so ``intakeforms serve examples/`` runs
with nothing configured: a SQLite file and a mail folder in the working folder.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
import zoneinfo
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
    "portal_algorithms",
]

_RATE = re.compile(r"\s*([0-9]+)\s*/\s*(second|minute|hour|day)\s*")
_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
# The service's public address: scheme, host, optional port and path; no query.
_PUBLIC_URL = re.compile(r"https?://[^/?#\s@]+(?:/[^?#\s]*)?", re.IGNORECASE)
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


class _RandomSecret(str):
    """The secret made up when none is set: what tells :attr:`Settings.secret_is_random`."""

    __slots__ = ()


def _random_secret() -> str:
    return _RandomSecret(secrets.token_urlsafe(32))


#: The shortest shared JWT secret accepted: HS256 wants a key as long as its
#: hash (RFC 7518, 3.2), and a shorter one can be guessed offline from any
#: token a customer holds.
MIN_JWT_SECRET_BYTES = 32


def portal_algorithms(key: str) -> tuple[str, ...]:
    """The JWT algorithms a portal's ``key`` verifies, from what the key is.

    A PEM public key (``-----BEGIN PUBLIC KEY-----``) gives RS256/384/512 for
    RSA (2048 bits or more) and ES256, ES384 or ES512 for an EC key, by its
    curve; Ed25519 gives EdDSA. Any other text is a shared secret for HS256,
    at least :data:`MIN_JWT_SECRET_BYTES` bytes long. The algorithm is never
    taken from a token, so a token cannot choose a weaker one. ``ValueError``
    says what is wrong with the key (never the key itself).
    """
    text = key.strip()
    if not text.startswith("-----BEGIN"):
        if len(text.encode("utf-8")) < MIN_JWT_SECRET_BYTES:
            raise ValueError(
                f"a shared secret must be at least {MIN_JWT_SECRET_BYTES} bytes long "
                "(or give the portal's PEM public key)"
            )
        return ("HS256",)
    if "PRIVATE KEY" in text.split("\n", 1)[0]:
        raise ValueError("that is a private key: give the portal's public key, which is not secret")
    # Imported here: only a service that takes portal tokens needs it.
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        public = load_pem_public_key(text.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        raise ValueError(
            "not a PEM public key; paste the whole key, from -----BEGIN PUBLIC KEY----- "
            "to -----END PUBLIC KEY-----"
        ) from None
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size < 2048:
            raise ValueError(f"the RSA key has {public.key_size} bits; use 2048 or more")
        return ("RS256", "RS384", "RS512")
    if isinstance(public, ec.EllipticCurvePublicKey):
        by_curve = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
        if public.curve.name not in by_curve:
            raise ValueError(
                f"the EC curve {public.curve.name} is not one JWTs use (P-256, P-384, P-521)"
            )
        return (by_curve[public.curve.name],)
    if isinstance(public, ed25519.Ed25519PublicKey):
        return ("EdDSA",)
    raise ValueError("use an RSA, EC (P-256, P-384, P-521) or Ed25519 public key")


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
    #: Signs the time-trap tokens and the links (prefilled forms, status,
    #: drafts). Several, comma-separated: the first signs, every one verifies
    #: (:attr:`secrets`), so a new secret can be put first while links made
    #: with the old one still work. Unset: a random secret per process, so
    #: pages issued before a restart are judged as API posts, not spam.
    secret: str = field(default_factory=_random_secret, repr=False)
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
    #: The site's own stylesheet for the form and thanks pages, linked after
    #: form.css: a path on this site (``/static/site.css``) or an https URL
    #: (its origin is then allowed in those pages' ``style-src``).
    stylesheet: str | None = None
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
    #: Delete raw visitor events (``POST /events``) older than this many days.
    event_retention_days: int = 30
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    max_attempts: int = 10
    #: Processes that build agent emails for each worker (``intakeforms
    #: worker`` and ``serve``); 0 builds them in threads of the worker's process.
    mail_builders: int = 1
    #: A portal's key for the JWTs it signs to prefill forms: a shared HS256
    #: secret, or a PEM public key (RS256/ES256). Unset: no portal tokens.
    portal_jwt_key: str | None = field(default=None, repr=False)
    #: The ``aud`` a portal's JWTs must carry, when set.
    portal_jwt_audience: str | None = None
    #: The ``iss`` a portal's JWTs must carry, when set.
    portal_jwt_issuer: str | None = None
    #: How far back agents are shown a customer's earlier contacts.
    history_days: int = 90
    #: The address customers reach the service at, like
    #: ``https://forms.example.com``: the base of links in emails.
    public_url: str | None = None
    #: The agents' time zone, an IANA name like ``Europe/Helsinki``: times in
    #: agent emails (an email target's own ``timezone`` goes first). Unset: UTC.
    timezone: str | None = None
    # Not a setting: every secret of ``secret`` (filled from it), first signs.
    _verifying: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if "," in self.secret:
            listed = tuple(s.strip() for s in self.secret.split(",") if s.strip())
            object.__setattr__(self, "secret", listed[0] if listed else "")
            object.__setattr__(self, "_verifying", listed)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret that verifies a link or token, the signing one first."""
        if self._verifying[:1] == (self.secret,):
            return self._verifying
        return (self.secret,)

    @property
    def secret_is_random(self) -> bool:
        """True when no secret was set and one was made up for this process:
        whatever it signs dies with the process (links sent by email must not)."""
        return isinstance(self.secret, _RandomSecret)

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
        if isinstance(raw, list) and name == "secret":  # TOML: secret = ["new", "old"]
            return ",".join(str(item) for item in raw)
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


def _check_continuity(settings: Settings) -> None:
    """The secrets, the portal's JWT key and the public address: checked at
    start, so a link never fails for a setting nobody could have used."""
    if not settings.secret:
        raise SettingsError(
            "INTAKE_SECRET is empty: write a long random string (several, comma-separated, "
            "to change it: the first signs, all verify), or leave it unset"
        )
    key = settings.portal_jwt_key
    if key is not None:
        try:
            portal_algorithms(key)
        except ValueError as exc:
            raise SettingsError(f"INTAKE_PORTAL_JWT_KEY: {exc}") from None
    else:
        for name in ("portal_jwt_audience", "portal_jwt_issuer"):
            if getattr(settings, name) is not None:
                raise SettingsError(
                    f"INTAKE_{name.upper()} is set but INTAKE_PORTAL_JWT_KEY is not: set the "
                    "portal's key (a shared secret or a PEM public key) too"
                )
    if settings.history_days < 1:
        raise SettingsError(
            f"INTAKE_HISTORY_DAYS={settings.history_days}: write a whole number of 1 or more"
        )
    url = settings.public_url
    if url is not None and not _PUBLIC_URL.fullmatch(url):
        raise SettingsError(
            f"INTAKE_PUBLIC_URL={url!r}: write the address customers reach the service at, "
            "with https:// (or http://) and the host, and the path if it is mounted under one, "
            "with no query: https://forms.example.com"
        )


def _check_stylesheet(url: str | None) -> None:
    if url is not None and not re.fullmatch(r"(https://[^\s/?#]+)?/[^\s\"'<>]*", url):
        raise SettingsError(
            f"INTAKE_STYLESHEET={url!r}: write a path on this site (/static/site.css) or an "
            "https:// URL (https://www.example.com/forms.css)"
        )


def _check_timezone(name: str) -> None:
    # The same test as the email target's timezone (present.values.time_zone),
    # kept here: settings import nothing of the package but its errors.
    try:
        if not name or name != name.strip() or name.startswith(("/", ".")):
            raise ValueError(name)
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise SettingsError(
            f"INTAKE_TIMEZONE={name!r} is not a time zone; write an IANA name like "
            "Europe/Helsinki, Europe/Stockholm or UTC (or leave it unset for UTC)"
        ) from None


def load_settings(
    environ: Mapping[str, str] | None = None, file: str | Path | None = None
) -> Settings:
    """Settings from ``file`` (TOML, keys like ``rate_limit``), then
    ``INTAKE_*`` variables over it. ``INTAKE_SETTINGS`` names the file when
    ``file`` is not given."""
    env = os.environ if environ is None else environ
    file = file or env.get("INTAKE_SETTINGS")
    values: dict[str, Any] = {}
    known = {f.name: f.type for f in fields(Settings) if not f.name.startswith("_")}
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
    if values.get("public_url"):
        values["public_url"] = values["public_url"].rstrip("/")
    pem = values.get("portal_jwt_key") or ""
    if pem.startswith("-----BEGIN") and "\\n" in pem:
        # A PEM key in one environment variable, its line breaks written as \n.
        values["portal_jwt_key"] = pem.replace("\\n", "\n")
    settings = replace(Settings(), **values)
    settings.rate()  # fail at start, not on the first request
    metrics_plan(settings.metrics)
    settings = replace(settings, allowed_origins=_origins(settings.allowed_origins))
    for name in ("proxy_hops", "spam_retention_days", "retention_days", "event_retention_days"):
        value = getattr(settings, name)
        if value is not None and value < 1:
            raise SettingsError(f"INTAKE_{name.upper()}={value}: write a whole number of 1 or more")
    _check_continuity(settings)
    if settings.timezone is not None:
        _check_timezone(settings.timezone)
    _check_stylesheet(settings.stylesheet)
    if settings.mail_builders < 0:
        raise SettingsError(
            f"INTAKE_MAIL_BUILDERS={settings.mail_builders}: write how many build processes "
            "each worker starts, 0 or more (0 builds agent emails in threads)"
        )
    return settings
