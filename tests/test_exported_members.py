"""The public API: a small sorted ``__all__``, every name documented."""

from __future__ import annotations

import intakeforms


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
    for name in ("FormError", "InvalidAnswers", "StoreUnavailable"):
        assert issubclass(getattr(intakeforms, name), intakeforms.IntakeError)
