"""Load form files: YAML → a checked :class:`~intakeforms.form.Form`.

Every problem in a file is collected (not just the first), each with the
file:line:col a site owner can jump to.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from intakeforms.errors import FormError, Problem
from intakeforms.form import Form
from intakeforms.language.models import FormDefinition
from intakeforms.language.rules import Analysis, analyse
from intakeforms.language.shape import shape_problems
from intakeforms.language.source import MAX_FILE_BYTES, read_map
from intakeforms.validate import check_answer

__all__ = [
    "FORM_SUFFIXES",
    "find_form_files",
    "is_faq_text",
    "load_form",
    "load_form_text",
    "load_forms",
    "read_source",
]

FORM_SUFFIXES = (".yaml", ".yml")

# A top-level key starts a line; an FAQ file has ``faq:`` and no ``form:``.
_FAQ_KEY = re.compile(r"^faq\s*:", re.MULTILINE)
_FORM_KEY = re.compile(r"^form\s*:", re.MULTILINE)


def is_faq_text(text: str) -> bool:
    """Whether YAML text is an FAQ file (top-level ``faq:``) rather than a form.

    Looked at without parsing, so a folder is sorted cheaply; a file with
    both keys is taken for a form and its stray ``faq`` key is reported.
    """
    return bool(_FAQ_KEY.search(text)) and not _FORM_KEY.search(text)


def _check_value(field: Any, raw: Any, analysis: Analysis) -> Any:
    return check_answer(field, raw, analysis)


def load_form_text(text: str, file: str = "<string>") -> Form:
    """Load one form from YAML text; ``file`` names it in error messages."""
    doc = read_map(
        text, file, code="not_a_form", hint="a form file is a map starting with form: <id>"
    )
    try:
        definition = FormDefinition.model_validate(doc.values)
    except ValidationError as exc:
        raise FormError(shape_problems(doc, exc)) from None
    analysis, problems = analyse(doc, definition, _check_value)
    if problems:
        raise FormError(sorted(problems, key=lambda p: (p.line, p.column)))
    version = definition.version or hashlib.sha256(text.encode()).hexdigest()[:12]
    return Form(definition=definition, analysis=analysis, version=version)


def read_source(path: str | Path) -> str:
    """The text of a form or FAQ file; :class:`FormError` when it cannot be read."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FormError(
                [
                    Problem(
                        name,
                        1,
                        1,
                        "file_too_large",
                        f"the file is larger than {MAX_FILE_BYTES // 1024} KiB; "
                        "split it into one file per form",
                    )
                ]
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise FormError(
            [Problem(name, 1, 1, "unreadable", f"cannot read the file: {exc.strerror}")]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormError(
            [Problem(name, 1, 1, "not_utf8", f"the file is not UTF-8 text (byte {exc.start})")]
        ) from None
    return text


def load_form(path: str | Path) -> Form:
    """Load and check one form file; raise :class:`FormError` listing every problem."""
    path = Path(path)
    form = load_form_text(read_source(path), str(path))
    form.path = path
    return form


def find_form_files(paths: Iterable[str | Path]) -> list[Path]:
    """Form files among ``paths``: files as given, folders searched (sorted)."""
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in FORM_SUFFIXES and p.is_file())
            )
        else:
            found.append(path)
    return found


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cycle collector while a folder of files is read.

    Parsing a file makes thousands of short-lived objects (the parser's
    nodes and marks) that hold no cycles: reference counting frees them.
    The collector still ran over them many times a file, and over every form
    loaded before: about a third of the time of loading 1,000 forms. It is
    resumed (if it was on) when the load ends, and finds any cycles then.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Loaded(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def path(self) -> Path | None: ...


_T = TypeVar("_T", bound=_Loaded)


def load_files(
    paths: Iterable[str | Path],
    load: Callable[[str, Path], _T],
    duplicate: Callable[[Path, _T, _T], Problem],
    *,
    faq: bool,
) -> list[_T]:
    """Every file among ``paths`` of one kind, FAQ files (``faq``) or forms,
    each loaded by ``load(text, path)``. Raises one :class:`FormError` with
    the problems of every file, including ``duplicate(path, item, first)``
    for one that uses the id of an earlier one."""
    loaded: list[_T] = []
    problems: list[Problem] = []
    seen: dict[str, _T] = {}
    with _collector_paused():
        for path in find_form_files(paths):
            try:
                text = read_source(path)
                if is_faq_text(text) != faq:
                    continue
                item = load(text, path)
            except FormError as exc:
                problems.extend(exc.problems)
                continue
            if item.id in seen:
                problems.append(duplicate(path, item, seen[item.id]))
                continue
            seen[item.id] = item
            loaded.append(item)
    if problems:
        raise FormError(problems)
    return loaded


def load_forms(paths: Iterable[str | Path]) -> list[Form]:
    """Load every form file among ``paths`` (folders are searched).

    FAQ files (top-level ``faq:``) are skipped: they are not forms. Raises one
    :class:`FormError` with the problems of every file, including two files
    that use the same form id.
    """

    def load(text: str, path: Path) -> Form:
        form = load_form_text(text, str(path))
        form.path = path
        return form

    def duplicate(path: Path, form: Form, first: Form) -> Problem:
        return Problem(
            str(path),
            1,
            1,
            "duplicate_form",
            f"form id {form.id!r} is already used by {first.path}; "
            "every form in a site needs its own id",
        )

    return load_files(paths, load, duplicate, faq=False)
