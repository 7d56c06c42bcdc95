"""``intakeforms admin``: staff accounts made, listed and removed from the
command line, the password read from stdin, and the admin log printed."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import anyio
import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette
from web_helpers import settings_for

from intakeforms.cli import main
from intakeforms.store import Store, open_store
from intakeforms.web.admin_auth import COOKIE, StaffGate

PASSWORD = "correct horse battery"
T = TypeVar("T")


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'intake.db'}"


def in_store(url: str, work: Callable[[Store], Awaitable[T]]) -> T:
    """What ``work`` returns, run on the store at ``url``."""

    async def opened() -> T:
        store = open_store(url)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return anyio.run(opened)


def test_add_user_takes_the_first_line_of_stdin(url: str) -> None:
    code, out, err = run(
        "admin", "add-user", "anna", "--store", url, stdin=f"{PASSWORD} \nnext line\n"
    )
    assert code == 0, err
    assert out == "added anna: they can sign in at /admin/login\n"

    async def hashed(store: Store) -> str:
        account = await store.staff_account("anna")
        assert account is not None
        return account.password_hash

    kept = in_store(url, hashed)
    assert kept.startswith("$argon2id$") and PASSWORD not in kept
    assert PasswordHasher().verify(kept, f"{PASSWORD} ")  # spaces are the password's own
    code, out, _ = run("admin", "log", "--store", url)
    assert code == 0
    [line] = out.splitlines()
    assert line.endswith("  (cli)  staff.add  anna")


@pytest.mark.parametrize(
    ("name", "stdin", "says"),
    [
        ("anna", "too short\n", "must be 12 to 1024 characters long"),
        ("anna", "", "must be 12 to 1024 characters long"),
        ("Anna Virtanen", f"{PASSWORD}\n", "'Anna Virtanen' is not a staff name"),
        ("(cli)", f"{PASSWORD}\n", "is not a staff name"),
    ],
)
def test_add_user_refuses_a_bad_name_or_password(
    url: str, name: str, stdin: str, says: str
) -> None:
    code, out, err = run("admin", "add-user", name, "--store", url, stdin=stdin)
    assert (code, out) == (2, "")
    assert says in err
    assert PASSWORD not in err
    code, out, err = run("admin", "users", "--store", url, "--json")
    assert json.loads(out) == []


def test_add_user_refuses_a_name_that_is_taken(url: str) -> None:
    assert run("admin", "add-user", "anna", "--store", url, stdin=PASSWORD)[0] == 0
    code, _, err = run("admin", "add-user", "anna", "--store", url, stdin=f"{PASSWORD}!\n")
    assert code == 1
    assert "there is already a staff account 'anna'" in err
    assert "intakeforms admin remove-user anna" in err


def test_users_lists_names_and_last_sign_in(url: str) -> None:
    code, _, err = run("admin", "users", "--store", url)
    assert code == 0 and "no staff accounts" in err
    for name in ("bertil", "anna"):
        run("admin", "add-user", name, "--store", url, stdin=PASSWORD)
    code, out, _ = run("admin", "users", "--store", url)
    lines = out.splitlines()
    assert lines[0].split() == ["name", "added", "last", "signed", "in"]
    assert [line.split()[0] for line in lines[1:]] == ["anna", "bertil"]
    assert all(line.endswith("never") for line in lines[1:])
    rows = json.loads(run("admin", "users", "--store", url, "--json")[1])
    assert [(r["name"], r["last_login_at"]) for r in rows] == [("anna", None), ("bertil", None)]


def test_remove_user_ends_their_sessions(url: str) -> None:
    run("admin", "add-user", "anna", "--store", url, stdin=PASSWORD)

    async def start(store: Store) -> object:
        return await store.start_staff_session("browser-token", "anna", "csrf")

    assert in_store(url, start) is not None
    code, out, _ = run("admin", "remove-user", "anna", "--store", url)
    assert (code, out) == (0, "removed anna; their sessions have ended\n")

    async def session(store: Store) -> object:
        return await store.staff_session("browser-token")

    assert in_store(url, session) is None
    code, _, err = run("admin", "remove-user", "anna", "--store", url)
    assert code == 1 and "there is no staff account 'anna'" in err


def test_log_newest_first_limited_and_as_json(url: str) -> None:
    async def fill(store: Store) -> None:
        await store.log_admin_action("anna", "login")
        await store.log_admin_action("anna", "spam.release", "CAR-4F7K2Q")
        await store.log_admin_action("", "login_failed", detail="unknown_name")

    in_store(url, fill)
    code, out, _ = run("admin", "log", "--store", url, "--limit", "2")
    assert code == 0
    assert [line.split("  ")[1:] for line in out.splitlines()] == [
        ["?", "login_failed", "", "unknown_name"],
        ["anna", "spam.release", "CAR-4F7K2Q"],
    ]
    rows = json.loads(run("admin", "log", "--store", url, "--json")[1])
    assert [(r["staff"], r["action"], r["target"]) for r in rows] == [
        ("", "login_failed", None),
        ("anna", "spam.release", "CAR-4F7K2Q"),
        ("anna", "login", None),
    ]
    assert run("admin", "log", "--store", url, "--limit", "0")[0] == 2


def test_a_user_added_through_a_pipe_signs_in(tmp_path: Path, url: str) -> None:
    added = subprocess.run(
        [sys.executable, "-m", "intakeforms", "admin", "add-user", "anna", "--store", url],
        input=f"{PASSWORD}\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    assert PASSWORD not in added.stdout + added.stderr

    async def sign_in() -> httpx.Response:
        store = open_store(url)
        await store.open()

        async def ready() -> None:
            return None

        try:
            gate = StaffGate(store, settings_for(tmp_path), ready)
            transport = httpx.ASGITransport(app=Starlette(routes=gate.routes()))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.post("/admin/login", data={"name": "anna", "password": PASSWORD})
        finally:
            await store.close()

    answer = anyio.run(sign_in)
    assert answer.status_code == 303
    assert answer.cookies.get(COOKIE)


class Terminal(io.StringIO):
    """Standard input that is a terminal: the password is asked for."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("second", "code"), [(PASSWORD, 0), (f"{PASSWORD}?", 2)])
def test_on_a_terminal_the_password_is_asked_twice(
    url: str, monkeypatch: pytest.MonkeyPatch, second: str, code: int
) -> None:
    answers = iter([PASSWORD, second])
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", ask)
    monkeypatch.setattr(sys, "stdin", Terminal())
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(["admin", "add-user", "anna", "--store", url]) == code
    assert prompts == ["Password: ", "The same again: "]
    if code:
        assert "the two passwords differ; nothing was added" in err.getvalue()
    assert PASSWORD not in out.getvalue() + err.getvalue()
