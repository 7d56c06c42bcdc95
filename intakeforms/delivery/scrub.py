"""What remote servers say, made fit to keep in logs and on outbox jobs.

A mail server that refuses a recipient repeats the address
(``550 5.1.1 <matti@example.com>: user unknown``), a helpdesk that refuses a
ticket quotes the field it did not like, and an exception raised while
formatting an answer may carry the answer. Logs and ``outbox.last_error``
keep references, form ids, field names and codes only, so every text that
came from elsewhere goes through a :class:`Scrubber` first:

* anything shaped like an email address (``name@host``, with its angle
  brackets) becomes ``<address>``;
* each answer of the submission (a string of at least
  :data:`MIN_ANSWER_LENGTH` characters, each of its lines, and the forms a
  JSON or HTML echo writes it in) becomes ``<answer>``, case-insensitively;
  so do the names the customer's files had.

SMTP codes (``550``, ``5.1.1``), HTTP statuses and the remote's own error
codes stay: they are what an operator acts on. Answers that are a choice
of the form (``repair``) are the form's words, not the customer's, and are
left alone, as are numbers (a mileage could not be told from a status).
"""

from __future__ import annotations

import html
import json
import re
import traceback
from collections.abc import Collection, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from intakeforms.form import Form
    from intakeforms.store.base import StoredSubmission

__all__ = [
    "ADDRESS",
    "ANSWER",
    "MIN_ANSWER_LENGTH",
    "Scrubber",
    "answer_texts",
    "one_line",
    "scrub_addresses",
    "unforeseen",
]

ADDRESS = "<address>"
ANSWER = "<answer>"
#: Shorter answers ("ja", "no") would blot out words of the message itself.
MIN_ANSWER_LENGTH = 3

# Broad on purpose: a false positive costs a word of an error message, a
# miss costs a customer's address in a log. Angle brackets around it go too.
_ADDRESS = re.compile(r"<?[^\s<>()\[\]{},;:\"@\\]+@[^\s<>()\[\]{},;:\"@\\/']+>?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# An answer that looks like a code is never taken for one: "550", "5.1.1".
_CODE_LIKE = re.compile(r"\d{3}|\d\.\d{1,3}\.\d{1,3}")
_JSON_ESCAPED = re.compile(r'[^\x20-\x7e]|["\\]')
_HTML_ESCAPED = re.compile(r"[<>&\"']")


def scrub_addresses(text: str) -> str:
    """``text`` with every email address replaced by ``<address>``."""
    if "@" not in text:
        return text
    return _ADDRESS.sub(ADDRESS, text)


def unforeseen(exc: BaseException) -> str:
    """An exception nobody expected, told by its type and the innermost
    place of intakeforms it passed (``KeyError in
    intakeforms/targets/zammad.py:57, deliver``): its message may hold any
    value, so it is left out."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/intakeforms/" in f.filename.replace("\\", "/")]
    if not (ours or frames):
        return type(exc).__name__
    frame = (ours or frames)[-1]
    path = frame.filename.replace("\\", "/")
    where = "intakeforms/" + path.rsplit("/intakeforms/", 1)[1] if ours else path
    return f"{type(exc).__name__} in {where}:{frame.lineno}, {frame.name}"


def one_line(text: str, limit: int = 300) -> str:
    """``text`` as one line of at most ``limit`` characters."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _choices(form: Form | None, name: str) -> Collection[str]:
    field = form.fields.get(name) if form is not None else None
    # The type first: asking a pydantic model for an attribute it lacks is slow.
    if field is None or field.type not in ("choice", "multichoice"):
        return ()
    choices = getattr(field, "choices", None)
    return choices if isinstance(choices, dict) else ()


def answer_texts(submission: StoredSubmission, form: Form | None = None) -> list[str]:
    """The customer's own strings in ``submission``: its answers (and each
    of their lines) and its files' names, as they may be echoed back,
    longest first."""
    found: set[str] = set()

    def add(text: str) -> None:
        pieces = text.splitlines() if "\n" in text or "\r" in text else []
        for piece in (text, *pieces):
            piece = piece.strip()
            if len(piece) >= MIN_ANSWER_LENGTH and not _CODE_LIKE.fullmatch(piece):
                found.add(piece)
                # A JSON body writes "ä" as \u00e4 and a quote as \"; an HTML
                # one writes "<" as &lt;. Most answers need neither.
                if _JSON_ESCAPED.search(piece):
                    found.add(json.dumps(piece)[1:-1])
                if _HTML_ESCAPED.search(piece):
                    found.add(html.escape(piece, quote=True))

    for name, value in submission.data.items():
        ours = _choices(form, name)
        for text in _strings(value):
            if text not in ours:
                add(text)
    for file in submission.files:
        add(file.name)
    return sorted(found, key=len, reverse=True)


def _edge(char: str) -> str:
    return r"\b" if char.isalnum() or char == "_" else ""


class Scrubber:
    """Replaces addresses and the given answers in texts (see the module's
    docstring); ``Scrubber.of(submission, form)`` takes a submission's."""

    def __init__(self, answers: Iterable[str] = ()) -> None:
        self._given: list[str] | None = list(answers)
        self._source: tuple[StoredSubmission, Form | None] | None = None
        self._quick: list[str] | None = None
        self._pattern: re.Pattern[str] | None = None

    @classmethod
    def of(cls, submission: StoredSubmission, form: Form | None = None) -> Scrubber:
        """The scrubber for what a delivery of ``submission`` brings back.

        Cheap to make: the answers are gathered when a text may hold one, so
        a worker makes one for every job and pays only for texts to scrub."""
        made = cls()
        made._given = None
        made._source = (submission, form)
        return made

    def _answers(self) -> list[str]:
        if self._given is None:
            assert self._source is not None
            self._given = answer_texts(*self._source)
        return [a for a in self._given if len(a) >= MIN_ANSWER_LENGTH]

    def _may_hold_an_answer(self, text: str) -> bool:
        # Escapes (\u00e4, \", &lt;) need the full list of the forms an
        # answer is echoed in; plain text is checked against the answers
        # as they are, which is what a receipt usually meets.
        if "\\" in text or "&" in text:
            return True
        if self._quick is None:
            if self._source is None:
                quick = self._answers()
            else:
                submission = self._source[0]
                quick = [t for v in submission.data.values() for t in _strings(v)]
                quick += [f.name for f in submission.files]
                quick = [p for t in quick for p in (t, *t.splitlines()) if len(p.strip()) >= 3]
            self._quick = [t.strip().casefold() for t in quick]
        folded = text.casefold()
        return any(answer in folded for answer in self._quick)

    def _compiled(self) -> re.Pattern[str]:
        if self._pattern is None:
            # Longest first, so that an answer is replaced whole rather than
            # a shorter answer inside it; word edges, so that the answer
            # "other" leaves "another" alone.
            answers = sorted(self._answers(), key=len, reverse=True)
            parts = [_edge(a[0]) + re.escape(a) + _edge(a[-1]) for a in answers]
            self._pattern = re.compile(
                "(" + _ADDRESS.pattern + ")" + "".join("|" + p for p in parts), re.IGNORECASE
            )
        return self._pattern

    def __call__(self, text: str) -> str:
        """``text`` without addresses or answers."""
        if not text:
            return text
        if "@" not in text and not self._may_hold_an_answer(text):
            return text  # the usual case: a receipt like "250 OK"
        return self._compiled().sub(
            lambda match: ADDRESS if match.group(1) is not None else ANSWER, text
        )
