"""The public API: a small sorted ``__all__``, every name documented."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_docs_and_examples_import_only_the_public_api() -> None:
    """What people copy is the public API: ``from intakeforms import ...``."""
    root = Path(__file__).resolve().parent.parent
    internal = re.compile(
        r"^\s*(?:>>> |\.\.\. )?(?:from intakeforms\.[\w.]+ import|import intakeforms\.)"
    )
    pages = [*sorted((root / "docs").glob("*.md")), root / "README.md"]
    pages += sorted((root / "plugins").glob("*.py"))
    found = [
        f"{page.relative_to(root)}:{number}: {line.strip()}"
        for page in pages
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if internal.match(line)
    ]
    assert not found, "\n".join(found)


def test_one_exception_tree_drawn_at_the_top_of_errors_py() -> None:
    from intakeforms import errors

    def subclasses(cls: type) -> list[type]:
        below: list[type] = cls.__subclasses__()
        return [cls, *(c for sub in below for c in subclasses(sub))]

    tree = errors.__doc__ or ""
    ours = [
        c for c in subclasses(intakeforms.IntakeError) if c.__module__.startswith("intakeforms")
    ]
    assert {c.__module__ for c in ours} == {"intakeforms.errors"}, [
        f"{c.__module__}.{c.__name__}" for c in ours if c.__module__ != "intakeforms.errors"
    ]
    assert [
        c.__name__ for c in ours if f"── {c.__name__}" not in tree and c.__name__ != "IntakeError"
    ] == []
    assert {c.__name__ for c in ours} <= set(intakeforms.__all__)


def test_every_public_name_is_in_the_python_api_page() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "python-api.md").read_text("utf-8")
    missing = [name for name in intakeforms.__all__ if f"`{name}" not in page]
    assert not missing, f"docs/python-api.md does not mention {missing}"


def test_importing_the_package_loads_no_web_framework_http_client_or_driver() -> None:
    # Checking forms from the command line stays quick: the service, the
    # worker, httpx and psycopg load when something uses them.
    import subprocess
    import sys

    code = (
        "import sys, intakeforms\n"
        "print(sorted(m for m in ('starlette', 'httpx', 'psycopg', 'intakeforms.delivery',"
        " 'intakeforms.web') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
