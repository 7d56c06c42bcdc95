"""Settings from the environment and a TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from intakeforms.settings import (
    Settings,
    SettingsError,
    load_settings,
    parse_rate,
    portal_algorithms,
)


def test_embedded_defaults() -> None:
    settings = load_settings({})
    assert settings.store == "sqlite:///intake.db"
    assert settings.smtp_url is None
    assert settings.rate() == (30, 60)
    assert len(settings.secret) > 20
    assert load_settings({}).secret != settings.secret  # random per process


def test_environment_over_file(tmp_path: Path) -> None:
    file = tmp_path / "intake.toml"
    file.write_text(
        'store = "sqlite:///from-file.db"\nrate_limit = "5/second"\n'
        'allowed_origins = ["https://a.example", "https://b.example/"]\n'
    )
    settings = load_settings({"INTAKE_SETTINGS": str(file), "INTAKE_RATE_LIMIT": "0"})
    assert settings.store == "sqlite:///from-file.db"
    assert settings.rate() is None
    assert settings.allowed_origins == ("https://a.example", "https://b.example")


def test_types_are_converted() -> None:
    settings = load_settings(
        {
            "INTAKE_REQUIRE_TOKEN": "yes",
            "INTAKE_MAX_BODY_BYTES": "1000",
            "INTAKE_MIN_FILL_SECONDS": "1.5",
            "INTAKE_UPLOAD_DIR": "/tmp/up",
            "INTAKE_ALLOWED_ORIGINS": "https://a.example, https://b.example",
            "INTAKE_SMTP_URL": "",
        }
    )
    assert settings.require_token is True
    assert (settings.max_body_bytes, settings.min_fill_seconds) == (1000, 1.5)
    assert settings.upload_dir == Path("/tmp/up")
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.smtp_url is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"INTAKE_RATE_LIMIT": "lots"}, "INTAKE_RATE_LIMIT"),
        ({"INTAKE_MAX_BODY_BYTES": "big"}, "INTAKE_MAX_BODY_BYTES"),
        ({"INTAKE_REQUIRE_TOKEN": "maybe"}, "INTAKE_REQUIRE_TOKEN"),
        ({"INTAKE_MAIL_BUILDERS": "-1"}, "INTAKE_MAIL_BUILDERS"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings({}, tmp_path / "missing.toml")
    file = tmp_path / "x.toml"
    file.write_text("rate_limt = '1/second'\n")
    with pytest.raises(SettingsError, match="unknown setting 'rate_limt'"):
        load_settings({}, file)


def test_rates() -> None:
    assert parse_rate("30/minute") == (30, 60)
    assert parse_rate(" 2 / hour ") == (2, 3600)
    assert parse_rate("0") is None
    assert Settings(rate_limit="1/day").rate() == (1, 86400)


def test_repr_holds_no_secret_or_password() -> None:
    # Settings end up in logs and tracebacks; the secret and the passwords in
    # the store and SMTP URLs must not.
    settings = load_settings(
        {
            "INTAKE_SECRET": "s3cret-signing-key",
            "INTAKE_SMTP_URL": "smtp://agent:hunter2@127.0.0.1:2525",
            "INTAKE_STORE": "postgresql://intake:pa55word@127.0.0.1/test",
        }
    )
    shown = repr(settings)
    for secret in ("s3cret-signing-key", "hunter2", "pa55word"):
        assert secret not in shown
    assert "rate_limit='30/minute'" in shown


def test_retention_and_proxy_settings() -> None:
    settings = load_settings(
        {"INTAKE_RETENTION_DAYS": "90", "INTAKE_PROXY_HOPS": "2", "INTAKE_METRICS": "true"}
    )
    assert (settings.retention_days, settings.proxy_hops, settings.metrics) == (90, 2, "true")
    defaults = load_settings({})
    assert (defaults.retention_days, defaults.spam_retention_days) == (None, 30)
    assert defaults.proxy_hops == 1
    assert defaults.metrics is None
    for name in ("INTAKE_RETENTION_DAYS", "INTAKE_SPAM_RETENTION_DAYS", "INTAKE_PROXY_HOPS"):
        with pytest.raises(SettingsError, match=name):
            load_settings({name: "0"})
    with pytest.raises(SettingsError, match="INTAKE_RETENTION_DAYS"):
        load_settings({"INTAKE_RETENTION_DAYS": "a week"})


def test_a_metrics_setting_that_cannot_be_used_stops_the_start() -> None:
    # Read with the other settings, so serve and worker say it in one line.
    with pytest.raises(SettingsError, match="INTAKE_METRICS='yesplease': write true"):
        load_settings({"INTAKE_METRICS": "yesplease"})
    assert load_settings({"INTAKE_METRICS": "127.0.0.1:9464"}).metrics == "127.0.0.1:9464"


# -- secrets, portal keys, history and the public address (signed links) ------------


def test_several_secrets_the_first_signs_every_one_verifies(tmp_path: Path) -> None:
    settings = load_settings({"INTAKE_SECRET": " new-secret , old-secret ,"})
    assert settings.secret == "new-secret"  # what signs, time-trap tokens included
    assert settings.secrets == ("new-secret", "old-secret")
    assert "old-secret" not in repr(settings) and "new-secret" not in repr(settings)
    file = tmp_path / "intake.toml"
    file.write_text('secret = ["from-file", "older"]\nrate_limit = "5/second"\n')
    assert load_settings({}, file).secrets == ("from-file", "older")
    one = load_settings({"INTAKE_SECRET": "only-one"})
    assert one.secrets == ("only-one",) and not one.secret_is_random


def test_an_unset_secret_is_random_and_says_so() -> None:
    settings = load_settings({})
    assert settings.secret_is_random
    assert settings.secrets == (settings.secret,)


def test_an_empty_secret_is_refused() -> None:
    for value in ("", " , "):
        with pytest.raises(SettingsError, match="INTAKE_SECRET is empty"):
            load_settings({"INTAKE_SECRET": value})


def _public_pem(kind: str) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if kind == "private":
        private = ec.generate_private_key(ec.SECP256R1())
        written = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return written.decode("ascii")
    public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey
    if kind.startswith("rsa"):
        size = int(kind[3:] or 2048)
        public = rsa.generate_private_key(public_exponent=65537, key_size=size).public_key()
    else:
        curve = ec.SECP256K1() if kind == "secp256k1" else ec.SECP384R1()
        public = ec.generate_private_key(curve).public_key()
    written = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return written.decode("ascii")


def test_portal_keys() -> None:
    shared = "a-shared-secret-with-the-portal-of-32-bytes+"
    settings = load_settings(
        {
            "INTAKE_PORTAL_JWT_KEY": shared,
            "INTAKE_PORTAL_JWT_AUDIENCE": "intake",
            "INTAKE_PORTAL_JWT_ISSUER": "https://portal.example.com",
        }
    )
    assert (settings.portal_jwt_audience, settings.portal_jwt_issuer) == (
        "intake",
        "https://portal.example.com",
    )
    assert shared not in repr(settings)
    assert portal_algorithms(shared) == ("HS256",)
    assert portal_algorithms(_public_pem("rsa")) == ("RS256", "RS384", "RS512")
    assert portal_algorithms(_public_pem("p384")) == ("ES384",)
    # A PEM key in one environment variable, its line breaks written as \n.
    escaped = _public_pem("rsa").replace("\n", "\\n")
    assert "BEGIN PUBLIC KEY" in str(
        load_settings({"INTAKE_PORTAL_JWT_KEY": escaped}).portal_jwt_key
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("short", "at least 32 bytes"),
        (
            "-----BEGIN PUBLIC KEY-----\nnot really\n-----END PUBLIC KEY-----",
            "not a PEM public key",
        ),
        ("private", "that is a private key"),
        ("rsa1024", "1024 bits; use 2048 or more"),
        ("secp256k1", "the EC curve secp256k1 is not one JWTs use"),
    ],
)
def test_portal_keys_that_cannot_be_used(key: str, message: str) -> None:
    if key in ("private", "rsa1024", "secp256k1"):
        key = _public_pem(key)
    with pytest.raises(SettingsError, match=f"INTAKE_PORTAL_JWT_KEY: .*{message}") as caught:
        load_settings({"INTAKE_PORTAL_JWT_KEY": key})
    assert key not in str(caught.value)


def test_a_portal_audience_without_its_key() -> None:
    with pytest.raises(SettingsError, match="INTAKE_PORTAL_JWT_AUDIENCE is set but"):
        load_settings({"INTAKE_PORTAL_JWT_AUDIENCE": "intake"})


def test_history_days_and_the_public_url() -> None:
    defaults = load_settings({})
    assert (defaults.history_days, defaults.public_url) == (90, None)
    settings = load_settings(
        {"INTAKE_HISTORY_DAYS": "30", "INTAKE_PUBLIC_URL": "https://forms.example.com/intake/"}
    )
    assert (settings.history_days, settings.public_url) == (
        30,
        "https://forms.example.com/intake",
    )
    for value in ("0", "-5", "a month"):
        with pytest.raises(SettingsError, match="INTAKE_HISTORY_DAYS"):
            load_settings({"INTAKE_HISTORY_DAYS": value})
    for value in ("forms.example.com", "ftp://forms.example.com", "https://x.example/?a=1"):
        with pytest.raises(SettingsError, match="INTAKE_PUBLIC_URL"):
            load_settings({"INTAKE_PUBLIC_URL": value})


def test_the_agents_time_zone() -> None:
    assert load_settings({}).timezone is None
    assert load_settings({"INTAKE_TIMEZONE": "Europe/Helsinki"}).timezone == "Europe/Helsinki"
    for value in ("Europe/Helsingfors", "EET+2", "/etc/localtime", "../zoneinfo/UTC"):
        with pytest.raises(SettingsError) as caught:
            load_settings({"INTAKE_TIMEZONE": value})
        assert str(caught.value) == (
            f"INTAKE_TIMEZONE={value!r} is not a time zone; write an IANA name like "
            "Europe/Helsinki, Europe/Stockholm or UTC (or leave it unset for UTC)"
        )
