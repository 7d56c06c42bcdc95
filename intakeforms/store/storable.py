"""What a store can keep: text both backends store alike, checked before saving.

A submission that cannot be stored must fail alone, early, and say which
answer is the matter, so that the web layer can answer the customer (4xx)
and every other save goes on. Two kinds of text cannot be stored:

- a lone surrogate (``"\\ud800"``), which is not a Unicode scalar value and
  has no UTF-8 encoding: SQLite and PostgreSQL both take UTF-8;
- the NUL character (U+0000), which PostgreSQL text and ``jsonb`` cannot
  hold. SQLite could, but both backends refuse it so that they behave alike.

Messages name the field (and the key path inside it), never the value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from intakeforms.errors import UnstorableSubmission
from intakeforms.store.checks import clean_note
from intakeforms.store.records import NewSubmission

__all__ = [
    "UnstorableSubmission",
    "check_targets",
    "clean_text",
    "encode_context",
    "encode_data",
    "problem_in",
    "spam_reason",
    "text_problem",
    "texts_in",
]


def encode_data(new: NewSubmission) -> str:
    """``new.data`` as the JSON text both stores keep (readable UTF-8, sorted
    keys), after checking every text of the submission can be stored.

    Raises :class:`UnstorableSubmission` naming the field otherwise, and
    ``TypeError`` for data that is not JSON at all (a caller's mistake).
    """
    try:
        text = json.dumps(dict(new.data), ensure_ascii=False, sort_keys=True, allow_nan=False)
    except ValueError:  # NaN or infinity, or an integer too long to write
        field = _culprit(new.data)
        raise UnstorableSubmission(
            field,
            "not_json",
            f"the submission cannot be stored: a number in {field!r} has no JSON form "
            "(NaN, infinity, or too many digits); refuse such numbers when validating",
        ) from None
    except RecursionError:
        raise UnstorableSubmission(
            "", "too_large", "the submission cannot be stored: its answers are nested too deeply"
        ) from None
    # The usual case costs one encoding; only a suspect submission is walked
    # through to find the answer to name (and "\\u0000" may be harmless text).
    suspect = "\\u0000" in text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        suspect = True
    found = problem_in(new, answers=suspect)
    if found is not None:
        raise found
    _check_context(new)
    return text


def encode_context(new: NewSubmission) -> str | None:
    """``new.context`` as the JSON text both stores keep (like the answers),
    or None when there is none. :func:`encode_data` checks it first."""
    if new.context is None:
        return None
    return json.dumps(dict(new.context), ensure_ascii=False, sort_keys=True, allow_nan=False)


def _check_context(new: NewSubmission) -> None:
    """Refuse a context no store can keep, naming ``context`` (the service
    makes it, so this is a mistake of the caller's, never the customer's)."""
    try:
        text = encode_context(new)
    except ValueError:
        raise UnstorableSubmission(
            "context",
            "not_json",
            "the submission cannot be stored: its context holds a number with no JSON "
            "form (NaN, infinity, or too many digits)",
        ) from None
    except RecursionError:
        raise UnstorableSubmission(
            "context",
            "too_large",
            "the submission cannot be stored: its context is nested too deeply",
        ) from None
    if text is None or ("\\u0000" not in text and text_problem(text) is None):
        return
    assert new.context is not None
    for where, value in _in_value(new.context):
        problem = text_problem(value)
        if problem is not None:
            code, what = problem
            place = f"context.{where}" if where else "context"
            raise UnstorableSubmission(
                place, code, f"the submission cannot be stored: {place!r} holds {what}"
            )


def problem_in(new: NewSubmission, *, answers: bool = True) -> UnstorableSubmission | None:
    """The first text of ``new`` that no store can keep, as an error; or None.

    ``answers=False`` skips ``data`` (when its JSON text was checked already).
    """
    for where, text in _texts(new, answers):
        problem = text_problem(text)
        if problem is not None:
            code, what = problem
            return UnstorableSubmission(
                where,
                code,
                f"the submission cannot be stored: {where!r} holds {what}; refuse such "
                "text when validating",
            )
    return None


def spam_reason(new: NewSubmission) -> str:
    """The reason kept with a submission: only spam has one. It is the
    service's own words, so it is cleaned rather than refused."""
    if not new.spam:
        return ""
    reason = new.spam_reason.encode("utf-8", "backslashreplace").decode("utf-8")
    return clean_note(reason)


def check_targets(targets: Sequence[str]) -> None:
    """Refuse targets a release could not queue: a repeated or empty name,
    or one no store can keep (a caller's mistake, before any SQL)."""
    if isinstance(targets, str):
        raise TypeError(f"targets must be a list of target names, not the text {targets!r}")
    if len(set(targets)) != len(targets):
        raise ValueError(f"targets {list(targets)!r} name a target twice")
    for target in targets:
        if not target or text_problem(target) is not None:
            raise ValueError(f"target {_shown(target)!r} is not a target name like 'email:0'")


def clean_text(text: str) -> str:
    """``text`` with what no store can keep (NUL, a lone surrogate) replaced
    by U+FFFD: for text a customer typed that is kept only to be counted."""
    text = text.replace("\x00", "\N{REPLACEMENT CHARACTER}")
    if text_problem(text) is None:
        return text
    return "".join("\N{REPLACEMENT CHARACTER}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def text_problem(text: str) -> tuple[str, str] | None:
    """Why no store can keep ``text`` as (code, words), or None when it can."""
    if "\x00" in text:
        return "nul_character", "a NUL character (U+0000), which PostgreSQL cannot store"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "lone_surrogate", "a lone surrogate, which is not a Unicode character"
    return None


def _texts(new: NewSubmission, answers: bool) -> Iterator[tuple[str, str]]:
    """Every text of ``new`` with where it is; answers first."""
    if answers:
        yield from _in_value(new.data)
    yield "form", new.form
    yield "form_version", new.form_version
    yield "locale", new.locale
    for target in new.targets:
        yield "targets", target
    if new.idempotency_key is not None:
        yield "idempotency_key", new.idempotency_key
    if new.client is not None:
        yield "client", new.client
    for key in new.contact_keys:
        yield "contact_keys", key
    for file in new.files:
        where = f"files of {_shown(file.field)}"
        for text in (file.field, file.name, file.content_type, file.path):
            yield where, text


def texts_in(data: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every text in ``data`` (keys and values, however deep) with where it
    is, like ``name`` or ``items[2].note``; no recursion, so any depth."""
    return _in_value(data)


def _in_value(data: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    # A stack, not recursion: answers nested ten thousand deep must not
    # raise RecursionError here.
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, Mapping):
            inner = [(_join(path, key), key, item) for key, item in value.items()]
            for where, key, _ in inner:
                if isinstance(key, str):
                    yield where, key
            stack.extend((where, item) for where, _, item in reversed(inner))
        elif isinstance(value, list | tuple):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))


def _join(path: str, key: object) -> str:
    name = _shown(key) if isinstance(key, str) else repr(key)
    return f"{path}.{name}" if path else name


def _shown(name: str) -> str:
    """A field name fit for a message: a bad character is escaped, not echoed."""
    if text_problem(name) is None:
        return name
    return name.encode("unicode_escape").decode("ascii")


def _culprit(data: Mapping[str, Any]) -> str:
    """The top-level answer whose value JSON cannot write, when one can be told."""
    for key, value in data.items():
        try:
            json.dumps(value, allow_nan=False)
        except (ValueError, RecursionError):
            return _shown(str(key))
        except TypeError:
            continue
    return ""
