"""File answers and size limits."""

from __future__ import annotations

import pytest
from conftest import make_form

from intakeforms import FormError
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


def test_other_names_of_a_type_are_understood_as_it() -> None:
    form = make_form(
        """
        - name: receipt
          type: file
          label: Receipt
          accept: [image/jpg, IMAGE/PNG, application/x-pdf]
        """
    )
    assert vars(form.fields["receipt"])["accept"] == ["image/jpeg", "image/png", "application/pdf"]
    (spec,) = form.spec()["fields"]
    assert spec["accept"] == ["image/jpeg", "image/png", "application/pdf"]
    assert form.json_schema()["properties"]["receipt"]["items"]["properties"]["type"] == {
        "enum": ["image/jpeg", "image/png", "application/pdf"]
    }
    # What the upload check tells a JPEG photo as is accepted.
    photo = {"name": "auto.jpg", "type": "image/jpeg", "size": 1000}
    assert form.validate({"receipt": [photo]}) == {"receipt": [photo]}


@pytest.mark.parametrize(
    ("written", "hint"),
    [("text/plain", ""), ("image/jpe", " (did you mean 'image/jpeg'?)"), ("image/svg+xml", "")],
)
def test_a_type_no_upload_is_recognised_as_is_refused(written: str, hint: str) -> None:
    with pytest.raises(FormError) as caught:
        make_form(f"- {{name: f, type: file, label: F, accept: [image/png, {written}]}}")
    (problem,) = caught.value.problems
    assert problem.code == "unknown_media_type"
    assert problem.message.startswith(
        f"fields[0].accept[1]: {written!r} is not a type an upload is recognised as{hint},"
    )
