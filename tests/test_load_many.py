"""A site with many forms: a folder of hundreds loads whole, its problems keep
their places, and the load leaves the interpreter as it found it."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from conftest import EXAMPLES

from intakeforms import load_forms
from intakeforms.errors import FormError

CAR = (EXAMPLES / "car-service" / "car-service.yaml").read_text("utf-8")
ANSWERS = json.loads((EXAMPLES / "car-service" / "answers.json").read_text("utf-8"))


def _write_copies(folder: Path, count: int) -> None:
    for i in range(count):
        text = CAR.replace("\nform: car-service\n", f"\nform: car-service-{i:03d}\n")
        (folder / f"car-service-{i:03d}.yaml").write_text(text, encoding="utf-8")


def test_a_folder_of_many_forms_loads_and_each_form_works(tmp_path: Path) -> None:
    _write_copies(tmp_path, 300)
    forms = load_forms([tmp_path])
    assert [form.id for form in forms] == [f"car-service-{i:03d}" for i in range(300)]
    for form in (forms[0], forms[150], forms[-1]):
        assert form.validate(ANSWERS, locale="en")["plate"] == "ABC-123"
        assert form.json_schema()["properties"]["plate"]["title"] == "Rekisterinumero"


def test_problems_among_many_files_keep_their_places(tmp_path: Path) -> None:
    _write_copies(tmp_path, 120)
    (tmp_path / "car-service-050.yaml").write_text(
        "form: broken\ntitle: T\nfields:\n  - name: a\n    type: text\n    label: A\n"
        "    colour: red\n",
        encoding="utf-8",
    )
    (tmp_path / "car-service-099.yaml").write_text(
        "form: twice\ntitle: T\ntitle: U\nfields: []\n", encoding="utf-8"
    )
    with pytest.raises(FormError) as caught:
        load_forms([tmp_path])
    found = {(Path(p.file).name, p.line, p.column, p.code) for p in caught.value.problems}
    assert ("car-service-050.yaml", 7, 5, "unknown_key") in found
    assert ("car-service-099.yaml", 3, 1, "duplicate_key") in found
    assert len(caught.value.problems) == 2


def test_the_garbage_collector_is_left_as_it_was(tmp_path: Path) -> None:
    _write_copies(tmp_path, 3)
    (tmp_path / "bad.yaml").write_text("form: [\n", encoding="utf-8")
    assert gc.isenabled()
    with pytest.raises(FormError):
        load_forms([tmp_path])
    assert gc.isenabled()
    gc.disable()
    try:
        with pytest.raises(FormError):
            load_forms([tmp_path])
        assert not gc.isenabled()
    finally:
        gc.enable()
