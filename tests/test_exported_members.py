"""The public API: a small sorted ``__all__``, every name documented."""

from __future__ import annotations

import pytest

import intakeforms
from intakeforms.settings import load_settings
from intakeforms.store import SqliteStore, open_store
from intakeforms.store.postgres_url import parse_conninfo, split_url


def test_all_is_sorted_and_complete() -> None:
    names = intakeforms.__all__
    assert names == sorted(names)
    public = {n for n in dir(intakeforms) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(intakeforms, n)).__name__ == "module"}
    assert public - modules == set(names)


def test_every_public_name_has_a_docstring() -> None:
    for name in intakeforms.__all__:
        assert getattr(intakeforms, name).__doc__, name


def test_errors_share_one_root() -> None:
    for name in ("FormError", "InvalidAnswers", "SettingsError", "StoreUnavailable"):
        assert issubclass(getattr(intakeforms, name), intakeforms.IntakeError)


def test_settings_error_is_one_class_wherever_it_is_imported_from() -> None:
    from intakeforms import errors, settings

    assert settings.SettingsError is errors.SettingsError is intakeforms.SettingsError
    with pytest.raises(intakeforms.SettingsError, match="INTAKE_RATE_LIMIT"):
        load_settings({"INTAKE_RATE_LIMIT": "often"})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/intake", r"INTAKE_STORE has a 'mysql' URL; write sqlite:///"),
        ("intake.db", r"INTAKE_STORE has no URL scheme"),
        ("sqlite://intake.db", r"a SQLite URL has three slashes"),
        ("sqlite:///intake.db?journal=off", r"unknown SQLite option journal='off'"),
        ("sqlite:///intake.db?timeout=soon", r"timeout='soon' is not a number of seconds"),
        ("postgresql://db/intake?pool_size=0", r"pool_size='0' is not a positive number"),
    ],
)
def test_a_store_url_that_cannot_be_used_is_a_settings_error(url: str, message: str) -> None:
    # Still an IntakeError for callers that catch the root.
    with pytest.raises(intakeforms.SettingsError, match=message) as caught:
        open_store(url)
    assert isinstance(caught.value, intakeforms.IntakeError)


def test_store_url_parsers_raise_settings_errors() -> None:
    with pytest.raises(intakeforms.SettingsError, match="a SQLite URL has three slashes"):
        SqliteStore.from_url("sqlite:///")
    with pytest.raises(intakeforms.SettingsError, match="a PostgreSQL store is"):
        split_url("mysql://db/intake")
    with pytest.raises(intakeforms.SettingsError, match="not a PostgreSQL URL libpq understands"):
        parse_conninfo("postgresql://db/intake?sslmode")
