"""``intakeforms link``: one prefilled link, or one per customer of a CSV file."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from intakeforms import LinkClaims, LinkDamaged, read_token
from intakeforms.cli import main

ROOT = Path(__file__).resolve().parent.parent
CAR = str(ROOT / "examples" / "car-service" / "car-service.yaml")
EVERY = str(ROOT / "tests" / "forms" / "every-type.yaml")
SECRET = "campaign-secret-shared-with-the-service-1234"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def claims_of(url: str, form: str = "car-service", secret: str = SECRET) -> LinkClaims:
    return read_token(parse_qs(urlsplit(url).query)["t"][0], form, secrets=[secret])


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INTAKE_SETTINGS", "INTAKE_PUBLIC_URL", "INTAKE_PORTAL_JWT_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTAKE_SECRET", SECRET)


def write(path: Path, text: str, encoding: str = "utf-8") -> str:
    path.write_text(text, encoding=encoding)
    return str(path)


# -- one link ---------------------------------------------------------------------


def test_one_link_with_values_lock_expiry_and_single_use() -> None:
    code, out, err = run(
        "link", CAR, "--set", "plate=abc123", "model=Volvo V70", "--set", "service=annual",
        "--lock", "plate", "--expires", "7d", "--once", "--base-url", "https://forms.example.com",
    )  # fmt: skip
    assert (code, err) == (0, "")
    [url] = out.splitlines()
    assert url.startswith("https://forms.example.com/forms/car-service?t=")
    claims = claims_of(url)
    assert claims.values == {"plate": "ABC-123", "model": "Volvo V70", "service": "annual"}
    assert claims.locked == ("plate",) and claims.jti is not None
    assert claims.expires is not None
    left = claims.expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=6, hours=23) < left <= dt.timedelta(days=7)


def test_the_base_comes_from_the_public_url_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_PUBLIC_URL", "https://asiointi.example.fi/lomakkeet/")
    code, out, err = run("link", CAR, "--set", "plate=ABC-123")
    assert (code, err) == (0, "")
    assert out.startswith("https://asiointi.example.fi/lomakkeet/forms/car-service?t=")


def test_without_a_base_the_link_is_relative_and_says_so() -> None:
    code, out, err = run("link", CAR, "--set", "plate=ABC-123")
    assert code == 0 and out.startswith("/forms/car-service?t=")
    assert "no --base-url and no INTAKE_PUBLIC_URL" in err


def test_the_first_of_several_secrets_signs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_SECRET", f"{SECRET}, an-older-secret-still-verifying-links")
    code, out, _ = run("link", CAR, "--set", "plate=ABC-123")
    assert code == 0
    assert claims_of(out.strip()).values == {"plate": "ABC-123"}
    with pytest.raises(LinkDamaged):
        claims_of(out.strip(), secret="an-older-secret-still-verifying-links")


def test_without_intake_secret_it_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTAKE_SECRET")
    code, out, err = run("link", CAR, "--set", "plate=ABC-123")
    assert (code, out) == (2, "")
    assert "INTAKE_SECRET is not set" in err and "no service accepts" in err


def test_the_secret_may_come_from_the_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INTAKE_SECRET")
    settings = write(tmp_path / "intake.toml", f'secret = ["{SECRET}", "old-one"]\n')
    code, out, _ = run("link", CAR, "--set", "plate=ABC-123", "--settings", settings)
    assert code == 0 and claims_of(out.strip()).values == {"plate": "ABC-123"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "plat=ABC-123"], "--set: 'plat' is not a question of car-service (did you"),
        (["--set", "plate"], "--set item 1 is not FIELD=VALUE"),
        (["--set", "plate=ABC-123", "--lock", "modle"], "--lock: 'modle' is not a question"),
        (["--set", "plate=ABC-123", "--expires", "1w"], "--expires: '1w' is not a duration"),
        (["--set", "plate=ABC-123", "--base-url", "forms.example.com"], "--base-url: write"),
    ],
)  # fmt: skip
def test_usage_mistakes_exit_2_saying_what(argv: list[str], message: str) -> None:
    code, out, err = run("link", CAR, *argv)
    assert (code, out) == (2, "")
    assert message in err


def test_a_value_that_does_not_fit_is_named_by_its_field_not_shown() -> None:
    code, out, err = run("link", CAR, "--set", "plate=NOT-A-PLATE-42", "mileage=lots")
    assert (code, out) == (1, "")
    assert "plate: " in err and "(invalid_plate)" in err and "mileage: " in err
    assert "NOT-A-PLATE" not in err and "lots" not in err


def test_locking_a_question_with_no_value() -> None:
    code, out, err = run("link", CAR, "--set", "plate=ABC-123", "--lock", "model")
    assert (code, out) == (1, "")
    assert "cannot lock 'model'" in err


def test_a_broken_form_file_is_reported_where_it_is_broken(tmp_path: Path) -> None:
    form = write(tmp_path / "broken.yaml", "form: broken\ntitle: X\nlocales: [en]\nfields: 7\n")
    code, out, err = run("link", form, "--set", "a=b")
    assert (code, out) == (1, "")
    assert err.startswith(f"{form}:4:")


# -- a campaign from a CSV file -------------------------------------------------------


def test_one_link_per_row_in_order_with_the_set_values_for_all(tmp_path: Path) -> None:
    customers = write(
        tmp_path / "customers.csv",
        "name,email,plate,model\n"
        "Matti Meikäläinen,matti@example.com,abc123,Toyota Corolla\n"
        'Liisa Virtanen,liisa@example.com,xyz-9,"Volvo V70, 2012"\n'
        "\n",
    )
    code, out, err = run(
        "link", CAR, "--csv", customers, "--set", "service=annual", "--lock", "plate",
        "--base-url", "https://forms.example.com",
    )  # fmt: skip
    assert (code, err) == (0, "")
    first, second = (claims_of(url) for url in out.splitlines())
    assert first.values == {
        "service": "annual",
        "name": "Matti Meikäläinen",
        "email": "matti@example.com",
        "plate": "ABC-123",
        "model": "Toyota Corolla",
    }
    assert second.values["plate"] == "XYZ-9" and second.values["model"] == "Volvo V70, 2012"
    assert first.locked == second.locked == ("plate",)


def test_a_spreadsheets_semicolons_bom_and_empty_cells(tmp_path: Path) -> None:
    # Excel in Finland saves "CSV" with semicolons and a byte-order mark.
    customers = write(
        tmp_path / "asiakkaat.csv",
        "\ufeffname;phone;extras\nAnn;040 1234567;wash,wax\nBo;;\n",
    )
    code, out, _ = run("link", EVERY, "--csv", customers, "--base-url", "https://f.example")
    assert code == 0
    ann, bo = (claims_of(url, "every-type") for url in out.splitlines())
    assert ann.values == {"name": "Ann", "phone": "+358401234567", "extras": ["wash", "wax"]}
    assert bo.values == {"name": "Bo"}  # empty cells are the customer's to fill


def test_every_row_that_does_not_fit_is_named_and_nothing_printed(tmp_path: Path) -> None:
    customers = write(
        tmp_path / "customers.csv",
        "name,email,plate\n"
        "Matti,matti@example.com,ABC-123\n"
        "Liisa,liisa-at-example.com,XYZ-9\n"
        "Pekka,pekka@example.com,12345678\n"
        "Only two,cells\n",
    )
    code, out, err = run("link", CAR, "--csv", customers, "--lock", "plate")
    assert (code, out) == (1, "")
    lines = [line for line in err.splitlines() if "row" in line]
    assert lines[0].startswith(f"intakeforms link: {customers} row 3: email: ")
    assert lines[0].endswith("(invalid_email)")
    assert lines[1].startswith(f"intakeforms link: {customers} row 4: plate: ")
    assert lines[2] == (
        f"intakeforms link: {customers} row 5: 2 cells where the header names 3 columns"
    )
    assert lines[3] == "intakeforms link: 3 row(s) do not fit car-service; no links were printed"
    assert "liisa-at" not in err and "12345678" not in err


def test_a_row_without_a_locked_value(tmp_path: Path) -> None:
    customers = write(tmp_path / "c.csv", "plate,model\nABC-123,Saab\n,Volvo\n")
    code, out, err = run("link", CAR, "--csv", customers, "--lock", "plate")
    assert (code, out) == (1, "")
    assert f"{customers} row 3: cannot lock 'plate'" in err


def test_many_bad_rows_are_counted_after_the_first_twenty(tmp_path: Path) -> None:
    rows = "".join(f"{n}\n" for n in range(50))
    customers = write(tmp_path / "c.csv", "plate\n" + rows)
    code, _, err = run("link", CAR, "--csv", customers)
    assert code == 1
    assert err.count("(invalid_plate)") == 20
    assert "... and 30 more row(s) with errors" in err
    assert "50 row(s) do not fit" in err


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("name,plat\n", "row 1: column 'plat' is not a question of car-service (did you mean"),
        ("name,,plate\n", "row 1: column 2 has no name"),
        ("plate,plate\n", "row 1: column 'plate' appears twice"),
        ("plate,service\n", "row 1: column 'service' is given by --set too"),
    ],
)  # fmt: skip
def test_columns_that_are_not_questions(tmp_path: Path, header: str, message: str) -> None:
    customers = write(tmp_path / "c.csv", header + "x,y\n")
    code, out, err = run("link", CAR, "--csv", customers, "--set", "service=annual")
    assert (code, out) == (1, "")
    assert message in err


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    code, _, err = run("link", CAR, "--csv", str(tmp_path / "missing.csv"))
    assert code == 1 and "cannot read" in err
    empty = write(tmp_path / "empty.csv", "")
    code, _, err = run("link", CAR, "--csv", empty)
    assert code == 1 and "is empty; its first row names the questions" in err
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name\nMäkinen\n".encode("latin-1"))
    code, _, err = run("link", CAR, "--csv", str(latin))
    assert code == 1 and "is not a UTF-8 CSV file" in err


def test_a_large_campaign_is_shared_among_processes_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intakeforms import cli_link

    monkeypatch.setattr(cli_link, "PARALLEL_FROM", 100)
    monkeypatch.setattr(cli_link, "_CHUNK", 40)
    rows = "".join(f"ABC-{n},customer{n}@example.com\n" for n in range(1, 301))
    customers = write(tmp_path / "c.csv", "plate,email\n" + rows)
    code, out, err = run("link", CAR, "--csv", customers, "--once", "--base-url", "https://f.ex")
    assert (code, err) == (0, "")
    claims = [claims_of(url) for url in out.splitlines()]
    assert [c.values["plate"] for c in claims] == [f"ABC-{n}" for n in range(1, 301)]
    assert len({c.jti for c in claims}) == 300
    # A bad row among many is still named by its row.
    bad = write(tmp_path / "bad.csv", "plate,email\n" + rows + "ABC-1,nobody\n")
    code, out, err = run("link", CAR, "--csv", bad)
    assert (code, out) == (1, "")
    assert f"{bad} row 302: email: " in err
