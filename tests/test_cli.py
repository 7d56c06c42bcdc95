"""The command line: check, schema and submit."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

from intakeforms.cli import main


def test_check_examples_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES)]) == 0
    # The OK line is the command's result: on stdout, where a script reads it.
    captured = capsys.readouterr()
    assert re.fullmatch(r"\d+ form\(s\) OK, 1 FAQ file\(s\)\n", captured.out)
    assert captured.err == ""


def test_check_prints_file_line_col_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("form: good\ntitle: G\nfields: [{name: a, type: text, label: A}]\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("form: bad\ntitle: B\nfields:\n  - {name: a, type: emial, label: A}\n")
    assert main(["check", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"{bad}:4:21: fields[0].type: unknown field type 'emial' (did you mean 'email'?); "
        "the types are text, textarea, email, phone, url, hidden, integer, number, choice, "
        "multichoice, boolean, consent, date, time, file, plate, vin, iban, postal_code, "
        "national_id, business_id, section, page"
    ]
    assert "1 problem(s) in 1 of 2 file(s)" in captured.err


def test_check_folder_finds_duplicate_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a.yaml", "b.yml"):
        (tmp_path / name).write_text(
            "form: same\ntitle: S\nfields: [{name: a, type: text, label: A}]\n"
        )
    (tmp_path / "notes.txt").write_text("not a form")
    assert main(["check", str(tmp_path)]) == 1
    assert "duplicate_form" not in capsys.readouterr().out  # messages, not codes
    with pytest.raises(Exception, match="already used"):
        from intakeforms import load_forms

        load_forms([tmp_path])


def test_check_with_no_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path)]) == 1
    assert "no .yaml" in capsys.readouterr().err


def test_check_missing_and_non_utf8_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("title: Hyv\xe4\n".encode("latin-1"))
    assert main(["check", str(tmp_path / "missing.yaml"), str(latin)]) == 1
    out = capsys.readouterr().out
    assert "missing.yaml:1:1: cannot read the file" in out
    assert "latin.yaml:1:1: the file is not UTF-8" in out


def test_schema_of_a_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", str(EXAMPLES / "car-service" / "car-service.yaml")]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["properties"]["plate"]["title"] == "Rekisterinumero"


def test_schema_of_a_broken_form(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("form: bad\n")
    assert main(["schema", str(bad)]) == 1
    assert f"{bad}:1:1: missing required key 'title'" in capsys.readouterr().err


def test_schema_of_the_language(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--language"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "fields" in schema["properties"]


def test_schema_needs_an_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 2
    assert "--language" in capsys.readouterr().err


def test_installed_command_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "intakeforms", "check", str(EXAMPLES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_operations_and_privacy_commands_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    listed = capsys.readouterr().out
    for command in ("worker", "outbox", "show", "spam", "export", "erase", "purge"):
        assert f"    {command} " in listed


def test_privacy_commands_need_their_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["erase"], ["export"], ["spam"], ["spam", "delete"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2
        assert "required" in capsys.readouterr().err


def test_the_metrics_setting_is_checked_before_a_worker_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTAKE_STORE", f"sqlite:///{tmp_path / 'intake.db'}")
    monkeypatch.setenv("INTAKE_METRICS", "port 9464")
    assert main(["worker", str(EXAMPLES), "--once"]) == 1
    assert "INTAKE_METRICS='port 9464': write true" in capsys.readouterr().err
    assert not (tmp_path / "intake.db").exists()


def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    # ``intakeforms export REF | head``: the reader closes the pipe early.
    command = [sys.executable, "-m", "intakeforms", "schema", "--language"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.read(10)
        process.stdout.close()
        errors = process.stderr.read().decode()
        assert process.wait(timeout=30) in (0, 1)
    assert "Traceback" not in errors


def _closed_pipe_run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``intakeforms ARGV | head`` where head has already left: stdout is a
    pipe whose reading end is closed, and Python buffers stdout as it does
    for anyone (no PYTHONUNBUFFERED), so the output is written at the end."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    reading, writing = os.pipe()
    os.close(reading)
    try:
        return subprocess.run(
            [sys.executable, "-m", "intakeforms", *argv],
            stdout=writing,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
    finally:
        os.close(writing)


def test_show_and_help_into_a_closed_pipe_end_quietly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'intake.db'}"
    form = str(EXAMPLES / "car-service" / "car-service.yaml")
    answers = str(EXAMPLES / "car-service" / "answers.json")
    assert main(["submit", form, "--data", answers, "--store", store]) == 0
    reference = capsys.readouterr().out.strip()
    for argv in (
        ["show", reference, "--store", store],
        ["outbox", "--store", store, "list"],
        ["--help"],
        ["check", str(EXAMPLES)],
    ):
        done = _closed_pipe_run(argv)
        assert done.stderr == "", (argv, done.stderr)
        # Not 120 (Python's status for a failed flush at exit).
        assert done.returncode in (0, 1), argv


def test_show_piped_into_head_keeps_the_first_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'intake.db'}"
    form = str(EXAMPLES / "car-service" / "car-service.yaml")
    answers = str(EXAMPLES / "car-service" / "answers.json")
    assert main(["submit", form, "--data", answers, "--store", store]) == 0
    reference = capsys.readouterr().out.strip()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    command = (
        f"{shlex.quote(sys.executable)} -m intakeforms show {reference} --store {store} | head -n 2"
    )
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert done.stdout == f'{{\n  "reference": "{reference}",\n'
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_submit_stores_as_the_service_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'intake.db'}"
    form = str(EXAMPLES / "car-service" / "car-service.yaml")
    answers = str(EXAMPLES / "car-service" / "answers.json")
    args = ["submit", form, "--data", answers, "--locale", "fi", "--store", store, "--key", "k1"]
    assert main(args) == 0
    reference = capsys.readouterr().out.strip()
    assert reference.startswith("CAR-") and len(reference) == 10
    # The same key again: the same submission, nothing new stored.
    assert main(args) == 0
    assert capsys.readouterr().out == f"{reference}  (already stored with this key)\n"
    assert main(["show", reference, "--store", store]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["locale"], shown["data"]["plate"]) == ("fi", "ABC-123")
    assert [job["target"] for job in shown["deliveries"]] == ["email:0"]


def test_submit_lists_what_is_wrong_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'intake.db'}"
    data = tmp_path / "answers.json"
    data.write_text(json.dumps({"plate": "not a plate", "mileage": -5}), encoding="utf-8")
    form = str(EXAMPLES / "car-service" / "car-service.yaml")
    assert main(["submit", form, "--data", str(data), "--store", store]) == 1
    err = capsys.readouterr().err
    assert "plate: " in err and "(invalid_plate)" in err and "mileage: " in err
    assert main(["outbox", "--store", store, "list"]) == 0
    assert capsys.readouterr().out.startswith("pending: 0  claimed: 0")
    answers = str(EXAMPLES / "car-service" / "answers.json")
    assert main(["submit", form, "--data", answers, "--store", store, "--locale", "de"]) == 2
    assert "--locale de: the form car-service is in fi, sv, en" in capsys.readouterr().err
    data.write_text("[1, 2]", encoding="utf-8")
    assert main(["submit", form, "--data", str(data), "--store", store]) == 1
    assert "must hold one JSON object of answers" in capsys.readouterr().err
