"""``intakeforms faq gaps``: the searches with no good answer, most frequent first."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from conftest import EXAMPLES
from starlette.testclient import TestClient
from web_helpers import FORMS, settings_for

from intakeforms.cli import main
from intakeforms.faq.load import load_faqs
from intakeforms.web import create_app


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    settings = settings_for(tmp_path)
    app = create_app(FORMS, settings, faqs=load_faqs([EXAMPLES], forms=FORMS))
    with TestClient(app) as client:
        for query in [
            "Pizza delivery?",
            "pizza   DELIVERY?",
            "pizza delivery?",
            "do you sell bicycles",
            "do you sell bicycles",
            "when do winter tyres go on",  # answered: not a gap
            "",  # nothing asked: not a search
        ]:
            assert client.get("/faq/search", params={"q": query, "lang": "en"}).status_code == 200
    return settings.store


def test_gaps_lists_unanswered_queries_most_frequent_first(store_url: str) -> None:
    code, out, err = run("faq", "gaps", "--store", store_url)
    assert code == 0, err
    assert out.splitlines() == ["3  pizza delivery?", "2  do you sell bicycles"]


def test_gaps_as_json_and_limited(store_url: str) -> None:
    code, out, _ = run("faq", "gaps", "--store", store_url, "--json", "--limit", "1")
    assert code == 0
    assert json.loads(out) == [{"q": "pizza delivery?", "count": 3}]


def test_gaps_of_an_empty_store_says_so(tmp_path: Path) -> None:
    code, out, err = run("faq", "gaps", "--store", f"sqlite:///{tmp_path / 'empty.db'}")
    assert code == 0 and out == ""
    assert "no searches without a good answer in the last 30 day(s)" in err


@pytest.mark.parametrize("argv", [["--days", "31"], ["--days", "0"], ["--limit", "0"]])
def test_gaps_refuses_a_window_past_what_is_kept(tmp_path: Path, argv: list[str]) -> None:
    code, _, err = run("faq", "gaps", "--store", f"sqlite:///{tmp_path / 'x.db'}", *argv)
    assert code == 2
    assert "--days must be from 1 to 30" in err
