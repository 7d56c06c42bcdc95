"""``intakeforms stats``: the figures of the forms as a table, JSON or CSV,
on a store seeded with the known scenario of test_stats.py."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import anyio
import pytest
from conftest import form_yaml
from test_stats import EXPECTED, FIELDS, seed
from test_store_backends import Backend, backend

from intakeforms.cli import main

__all__ = ["backend"]  # the fixture, shared with test_store_backends

PERIOD = ("--since", "2025-03-03", "--until", "2025-03-04")


@pytest.fixture
def forms(tmp_path: Path) -> Path:
    folder = tmp_path / "forms"
    folder.mkdir()
    (folder / "car-service.yaml").write_text(form_yaml(FIELDS, form="car-service"))
    other = "- {name: question, type: text, label: Question}"
    (folder / "other-form.yaml").write_text(form_yaml(other, form="other-form"))
    return folder


@pytest.fixture
def seeded(backend: Backend) -> str:
    async def work() -> None:
        store = backend.make()
        async with store:
            await seed(store)

    anyio.run(work)
    return backend.url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_one_form_as_json_is_the_figures(
    seeded: str, forms: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("stats", "--forms", str(forms), "--store", seeded, *PERIOD)
    status, out, err = run(capsys, *args, "--form", "car-service", "--json")
    assert (status, err) == (0, "")
    assert json.loads(out) == EXPECTED
    status, out, _ = run(capsys, *args, "--json")
    assert status == 0
    listed = json.loads(out)
    assert [f["form"] for f in listed] == ["car-service", "other-form"]
    assert listed[0] == EXPECTED
    assert (listed[1]["views"], listed[1]["submissions"]) == (1, 1)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_form_as_a_table(
    seeded: str, forms: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "stats", "--forms", str(forms), "--store", seeded, *PERIOD)
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "2025-03-03 to 2025-03-04 (UTC)",
        "form         views  starts  submissions  completion  median time",
        "car-service      9       7            5      55.6 %        100 s",
        "other-form       1       1            1     100.0 %          0 s",
    ]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_one_form_as_a_table(seeded: str, forms: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("stats", "--forms", str(forms), "--store", seeded, *PERIOD, "--form", "car-service")
    status, out, err = run(capsys, *argv)
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "car-service: 2025-03-03 to 2025-03-04 (UTC)",
        "",
        "        views  starts  submissions  completion  median time  p90 time",
        "all         9       7            5      55.6 %        100 s    2400 s",
        "form        5       4            3      60.0 %",
        "chat        2       2            2     100.0 %",
        "inline      2       1            0       0.0 %",
        "",
        "question  reached  answered  errors  dropped  error codes",
        "plate           6         6       0        0  -",
        "model           5         3       2        1  required 2",
        "email           4         3       2        1  invalid_format 2",
        "",
        "FAQ: 4 searches, 2 helpful, 1 deflected",
        "no good answer:",
        "  2  pizza delivery?",
    ]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_csv_is_a_row_per_form_or_per_question(
    seeded: str, forms: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("stats", "--forms", str(forms), "--store", seeded, *PERIOD, "--csv")
    status, out, _ = run(capsys, *args)
    assert status == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [
        [
            "form",
            "from",
            "to",
            "views",
            "starts",
            "submissions",
            "completion_rate",
            "median_seconds",
            "p90_seconds",
        ],
        ["car-service", "2025-03-03", "2025-03-04", "9", "7", "5", "0.5556", "100", "2400"],
        ["other-form", "2025-03-03", "2025-03-04", "1", "1", "1", "1.0", "0", "0"],
    ]
    status, out, _ = run(capsys, *args, "--form", "car-service")
    assert status == 0
    assert list(csv.reader(io.StringIO(out))) == [
        ["form", "from", "to", "field", "reached", "answered", "errors", "dropped", "codes"],
        ["car-service", "2025-03-03", "2025-03-04", "plate", "6", "6", "0", "0", ""],
        ["car-service", "2025-03-03", "2025-03-04", "model", "5", "3", "2", "1", "required:2"],
        [
            "car-service",
            "2025-03-03",
            "2025-03-04",
            "email",
            "4",
            "3",
            "2",
            "1",
            "invalid_format:2",
        ],
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--since", "March"), "--since 'March' is not a date; write YYYY-MM-DD"),
        (("--until", "2025-02-30"), "--until '2025-02-30' is not a date"),
        (("--since", "2025-03-05", "--until", "2025-03-04"), "--until 2025-03-04 is before"),
        (("--form", "no-such"), "no form 'no-such' in --forms (there are: car-service, other"),
    ],
)
def test_bad_input_is_a_usage_error(
    tmp_path: Path,
    forms: Path,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    message: str,
) -> None:
    store = f"sqlite:///{tmp_path / 'intake.db'}"
    status, out, err = run(capsys, "stats", "--forms", str(forms), "--store", store, *argv)
    assert (status, out) == (2, "")
    assert message in err
    assert not (tmp_path / "intake.db").exists()  # refused before the store is opened


def test_json_and_csv_together_are_refused(
    tmp_path: Path, forms: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["stats", "--forms", str(forms), "--json", "--csv"])
    assert done.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_forms_that_do_not_load_are_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.yaml").write_text("form: broken\n")
    status, out, err = run(capsys, "stats", "--forms", str(tmp_path))
    assert (status, out) == (1, "")
    assert "broken.yaml:" in err
    status, _, err = run(capsys, "stats", "--forms", str(tmp_path / "nothing"))
    assert status == 1 and err


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_purge_with_the_forms_rolls_up_before_it_deletes(
    seeded: str, forms: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = run(capsys, "purge", "--store", seeded, "--forms", str(forms))
    assert (status, err) == (0, "")
    rolled = [line for line in out.splitlines() if line.startswith("statistics:")]
    assert rolled and rolled[0].startswith("statistics: rolled up ")
    assert int(rolled[0].split()[3]) > 2  # every day from the first event to yesterday
    assert "visitor events: deleted 43 before " in out  # every event of the scenario
    assert "not rolled up" not in out
    args = ("stats", "--forms", str(forms), "--store", seeded, *PERIOD, "--json")
    status, out, _ = run(capsys, *args, "--form", "car-service")
    # The FAQ's query texts are blanked after 30 days: only the counts stay.
    faq = {**EXPECTED["faq"], "no_answer": []}
    assert (status, json.loads(out)) == (0, {**EXPECTED, "faq": faq})


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_purge_without_the_forms_says_it_did_not_roll_up(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "purge", "--store", seeded)
    assert status == 0
    assert "statistics:" not in out
    assert "not rolled up into the statistics (give --forms)" in out


def test_a_folder_without_forms_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "stats", "--forms", str(tmp_path))
    assert (status, out) == (1, "")
    assert f"intakeforms stats: no forms found in {tmp_path}" in err
