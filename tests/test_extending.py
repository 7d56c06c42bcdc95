"""A target kind of one's own, as docs/extending.md shows: the chat example,
registered from Python or found through an entry point, loaded, checked,
published to editors and delivered by the real worker to a loopback server."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from http_server import HttpServer
from pydantic import BaseModel, ConfigDict
from web_helpers import settings_for

from intakeforms import (
    DeliveryJob,
    Form,
    FormError,
    TargetKind,
    Worker,
    language_schema,
    load_form_text,
    mail_transport,
    open_store,
    register_target,
    submit,
    target_kinds,
    unregister_target,
)
from intakeforms.language import target_kinds as registry
from intakeforms.store import OutboxJob

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "plugins" / "chat_target.py"

FORM = """\
form: booking
title: {fi: Huoltovaraus, en: Service booking}
locales: [fi, en]
fields:
  - {name: plate, type: plate, region: FI, label: Plate, required: true}
  - {name: notes, type: textarea, label: Notes}
deliver:
  - chat: {url_env: TEST_CHAT_URL, prefix: Uusi yhteydenotto}
"""


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chat_target", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["chat_target"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def chat() -> Iterator[TargetKind]:
    kind: TargetKind = load_example().KIND
    register_target(kind)
    yield kind
    unregister_target(kind.name)


@pytest.fixture
def server() -> Iterator[HttpServer]:
    with HttpServer() as running:
        running.routes["/chat"] = lambda request: (200, {}, b"ok")
        yield running


async def submit_and_deliver(
    form: Form,
    answers: dict[str, Any],
    tmp_path: Path,
    *,
    locale: str | None = None,
    builders: int = 0,
) -> tuple[str, OutboxJob]:
    """Submit through intake.submit into a real SQLite store, run the real
    worker once (retries at their latest: ``rand`` 1), and return the
    reference and its one job."""
    settings = settings_for(tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 'intake.db'}")
    await store.open()
    try:
        receipt = await submit(store, form, answers, locale=locale)
        worker = Worker(
            store=store,
            forms={form.id: form},
            settings=settings,
            transport=mail_transport(settings),
            builders=builders,
            rand=lambda: 1.0,
        )
        try:
            assert await worker.run_once() == 1
        finally:
            await worker.close()
        (job,) = await store.outbox(receipt.reference)
    finally:
        await store.close()
    return receipt.reference, job


def test_a_form_cannot_name_a_kind_nobody_registered() -> None:
    with pytest.raises(FormError) as caught:
        load_form_text(FORM, "booking.yaml")
    (problem,) = caught.value.problems
    assert str(problem).startswith("booking.yaml:8:5: deliver[0].chat: unknown key 'chat'")


@pytest.mark.usefixtures("chat")
def test_the_kinds_own_check_reports_at_the_key() -> None:
    with pytest.raises(FormError) as caught:
        load_form_text(FORM.replace("TEST_CHAT_URL", "https://chat.example/hook"), "b.yaml")
    (problem,) = caught.value.problems
    assert problem.code == "invalid_value"
    assert str(problem) == (
        "b.yaml:8:21: deliver[0].chat.url_env: url_env names an environment variable, "
        "like SERVICE_CHAT_URL"
    )
    with pytest.raises(FormError, match=r"deliver\[0\]\.chat\.colour: unknown key 'colour'"):
        load_form_text(FORM.replace("prefix:", "colour:"), "c.yaml")


@pytest.mark.usefixtures("chat")
def test_editors_are_offered_the_kind() -> None:
    deliver = language_schema()["$defs"]["DeliverTarget"]["properties"]
    assert list(deliver) == ["email", "webhook", "zendesk", "freshdesk", "zammad", "chat"]
    assert deliver["chat"]["anyOf"][0] == {"$ref": "#/$defs/ChatTarget"}


@pytest.mark.anyio
async def test_a_submission_reaches_the_chat(
    chat: TargetKind, server: HttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_CHAT_URL", f"{server.url}/chat")
    reference, job = await submit_and_deliver(
        load_form_text(FORM), {"plate": "abc-123", "notes": "Brakes squeak"}, tmp_path, locale="fi"
    )
    assert (job.target, job.status, job.receipt) == ("chat:0", "delivered", "chat HTTP 200")
    (request,) = server.requests
    assert request.json() == {"text": f"Uusi yhteydenotto: Huoltovaraus, {reference}"}
    assert b"Brakes" not in request.body and b"ABC" not in request.body


@pytest.mark.anyio
async def test_a_chat_that_is_down_is_retried(
    chat: TargetKind, server: HttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_CHAT_URL", f"{server.url}/chat")
    server.replies.append((503, {}, b"busy"))
    _, job = await submit_and_deliver(load_form_text(FORM), {"plate": "abc-123"}, tmp_path)
    assert (job.status, job.last_error) == ("pending", "the chat webhook answered HTTP 503")


def test_a_package_entry_point_registers_the_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A package as pip installs it: its module and a dist-info naming the entry point.
    (tmp_path / "chat_target.py").write_text(EXAMPLE.read_text(encoding="utf-8"))
    info = tmp_path / "chat_target-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: chat-target\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[intakeforms.targets]\nchat = chat_target:KIND\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "chat_target", raising=False)
    monkeypatch.setattr(registry, "_ENTRY_POINTS_LOADED", False)
    try:
        assert "chat" in target_kinds()
        form = load_form_text(FORM)
        assert form.definition.deliver[0].kind == "chat"
    finally:
        unregister_target("chat")


def test_a_broken_entry_point_is_skipped_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    info = tmp_path / "broken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[intakeforms.targets]\nfax = no_such_module:KIND\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_ENTRY_POINTS_LOADED", False)
    assert "fax" not in target_kinds()
    assert "target entry point 'fax' (no_such_module:KIND) is not used" in caplog.text


def test_a_name_is_checked_and_taken_once(chat: TargetKind) -> None:
    with pytest.raises(Exception, match="registered already; pass replace=True"):
        register_target(TargetKind("chat", chat.model, chat.deliver))
    with pytest.raises(Exception, match="a name is lowercase letters"):
        register_target(TargetKind("Chat-Room", chat.model, chat.deliver))
    with pytest.raises(Exception, match="taken by the confirmation"):
        register_target(TargetKind("autoreply", chat.model, chat.deliver))


def test_the_docs_show_the_example_as_it_is() -> None:
    text = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert EXAMPLE.read_text(encoding="utf-8") in blocks


# A kind that sends mail, at module level so that a build process can
# unpickle a form that names it (and still not know the kind).
class Notice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    to: str


def prepare_notice(job: DeliveryJob, target: Notice) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = "intake@example.com", target.to
    message["Subject"] = f"Notice {job.submission.reference}"
    message.set_content("See the ticket.")
    return message


async def deliver_notice(job: DeliveryJob, target: Notice) -> str:
    assert job.transport is not None
    return await job.transport.send(job.prepared)


@pytest.mark.anyio
async def test_a_mail_kind_registered_from_python_is_prepared_beside_build_processes(
    tmp_path: Path,
) -> None:
    """Build processes know the kinds of their start; one registered from
    Python only is prepared in the worker's own process instead."""
    register_target(TargetKind("notice", Notice, deliver_notice, prepare=prepare_notice))
    try:
        form = load_form_text(
            "form: n\ntitle: N\nfields:\n  - {name: a, type: text, label: A}\n"
            "deliver:\n  - notice: {to: desk@example.com}\n"
        )
        reference, job = await submit_and_deliver(form, {"a": "x"}, tmp_path, builders=1)
    finally:
        unregister_target("notice")
    assert job.status == "delivered", job.last_error
    (written,) = settings_for(tmp_path).mail_dir.glob("*.eml")
    assert f"Subject: Notice {reference}" in written.read_text(encoding="utf-8")
