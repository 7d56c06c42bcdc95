"""FAQ search: hit rates on a realistic test set, no-answer queries, bad input."""

from __future__ import annotations

import pytest
from faq_queries import ENTRIES, QUERIES

from intakeforms.faq.search import THRESHOLD, FaqSearch, LanguageIndex, SearchEntry

LANGUAGES = ("fi", "sv", "en")


@pytest.fixture(scope="module")
def faq() -> FaqSearch:
    return FaqSearch(ENTRIES)


def test_the_test_set_is_large_and_varied() -> None:
    assert len(QUERIES) >= 100
    for language in LANGUAGES:
        mine = [q for q in QUERIES if q[0] == language]
        assert len(mine) >= 30
        assert any(expected is None for _, _, expected in mine)
    assert 15 <= len(ENTRIES["fi"]) == len(ENTRIES["sv"]) == len(ENTRIES["en"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_hit_rates(faq: FaqSearch, language: str) -> None:
    answerable = [(q, e) for lang, q, e in QUERIES if lang == language and e is not None]
    top1 = top3 = 0
    for query, expected in answerable:
        ids = [hit.id for hit in faq.search(query, language, limit=3)]
        top1 += ids[:1] == [expected]
        top3 += expected in ids
    rate1, rate3 = top1 / len(answerable), top3 / len(answerable)
    print(f"\nFAQ search {language}: top-1 {rate1:.2f}, top-3 {rate3:.2f} ({len(answerable)})")
    assert rate3 >= 0.9


@pytest.mark.parametrize(("language", "query"), [(lang, q) for lang, q, e in QUERIES if e is None])
def test_no_answer_beats_a_wrong_one(faq: FaqSearch, language: str, query: str) -> None:
    assert faq.search(query, language) == []


@pytest.mark.parametrize(
    ("language", "query", "expected"),
    [
        ("fi", "talvirenkaiden vaihto", "winter-tyres"),
        ("fi", "renkaanvaihtoon", "winter-tyres"),
        ("fi", "talvirenkat", "winter-tyres"),
        ("sv", "däckhotellet", "tyre-hotel"),
        ("en", "refrigerant refill", "air-conditioning"),
    ],
)
def test_inflection_compounds_typos_and_answer_words(
    faq: FaqSearch, language: str, query: str, expected: str
) -> None:
    hits = faq.search(query, language)
    assert hits[0].id == expected
    assert THRESHOLD <= hits[0].score <= 1.0


def test_results_are_best_first_and_limited(faq: FaqSearch) -> None:
    hits = faq.search("huolto hinta aika auto", "fi", limit=2)
    assert len(hits) <= 2
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert faq.search("talvirenkaat", "fi", limit=0) == []


@pytest.mark.parametrize("query", ["", "   ", "?!", "ja tai on"])
def test_empty_or_meaningless_query_finds_nothing(faq: FaqSearch, query: str) -> None:
    assert faq.search(query, "fi") == []


def test_a_long_query_is_cut_not_refused(faq: FaqSearch) -> None:
    long = "talvirenkaiden vaihto " + "x" * 300 + " rengashotelli"
    hits = faq.search(long, "fi")
    assert hits[0].id == "winter-tyres"
    assert "tyre-hotel" not in [hit.id for hit in hits]


def test_form_keeps_its_entries_and_those_for_all(faq: FaqSearch) -> None:
    assert [h.id for h in faq.search("sijaisauto", "fi", form="car-service")][:1] == [
        "courtesy-car"
    ]
    assert "courtesy-car" not in [h.id for h in faq.search("sijaisauto", "fi", form="other")]
    assert faq.search("talvirenkaat", "fi", form="other")[0].id == "winter-tyres"


def test_unknown_language_is_the_callers_concern(faq: FaqSearch) -> None:
    assert faq.languages == frozenset(LANGUAGES)
    with pytest.raises(KeyError):
        faq.search("winter tyres", "de")


def test_a_language_without_stemmer_still_matches_words() -> None:
    index = LanguageIndex([SearchEntry("a", "Winterreifen wechseln", "Ab Oktober.")], "de")
    assert [hit.id for hit in index.search("winterreifen")] == ["a"]
    assert index.search("") == []


def test_an_empty_faq_finds_nothing() -> None:
    assert LanguageIndex([], "fi").search("talvirenkaat") == []
