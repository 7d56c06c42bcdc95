"""File answers and size limits."""

from __future__ import annotations

import pytest

from intakeforms.fields import FieldProblem
from intakeforms.fields.files import check_files, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [("10 MB", 10_000_000), ("512 KiB", 524_288), ("1.5MB", 1_500_000), ("100", 100), (42, 42)],
)
def test_sizes(text: str | int, size: int) -> None:
    assert parse_size(text) == size


def test_bad_size_says_how_to_write_it() -> None:
    with pytest.raises(ValueError, match="like 10 MB"):
        parse_size("ten megs")


def test_files_are_checked_one_by_one() -> None:
    ok = {"name": "a.pdf", "type": "application/pdf", "size": 10}
    assert check_files([ok], accept=["application/pdf"], max_bytes=10, max_files=1) == [ok]
    cases = [
        ([ok, ok], "too_many_files"),
        ([ok | {"size": 11}], "file_too_large"),
        ([ok | {"type": "text/html"}], "file_type"),
        ([ok | {"extra": 1}], "invalid_file"),
        ([ok | {"size": True}], "invalid_file"),
        ([ok | {"size": -1}], "invalid_file"),
        (ok, "not_list"),
    ]
    for value, expected in cases:
        with pytest.raises(FieldProblem) as caught:
            check_files(value, accept=["application/pdf"], max_bytes=10, max_files=1)
        assert caught.value.code == expected
