"""Settings from the environment and a TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from intakeforms.settings import Settings, SettingsError, load_settings, parse_rate


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
