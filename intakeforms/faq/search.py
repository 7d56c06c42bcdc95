"""Search in FAQ entries, one index per language, in process.

Each entry is turned into features (whole stems and their character 3- and
4-grams, see :mod:`intakeforms.faq.text`). A query scores an entry by the
share of its own feature weight that the entry covers, each feature weighted
by its BM25 inverse document frequency, so rare words count and common ones
barely do, and features found only in the answer count less than those of
the question and keywords. The score lies between 0 and 1 whatever the size
of the FAQ, which is what lets one threshold say "nothing matches well":
below :data:`THRESHOLD` an entry is not returned, since no answer beats a
wrong one.

Unknown languages are the caller's concern: :attr:`FaqSearch.languages` lists
those indexed, and the caller falls back to the FAQ's default language.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from intakeforms.faq.text import features

__all__ = [
    "ANSWER_WEIGHT",
    "THRESHOLD",
    "FaqSearch",
    "Hit",
    "LanguageIndex",
    "SearchEntry",
]

ANSWER_WEIGHT = 0.4
"""How much a feature found only in the answer counts against the question's."""

STEM_BOOST = 3.0
"""A whole-stem match counts as much as this many n-grams: exact words win."""

THRESHOLD = 0.27
"""The lowest score returned, calibrated on the test set in tests/."""


@dataclass(frozen=True)
class SearchEntry:
    """One FAQ entry in one language, as the search sees it."""

    id: str
    question: str
    answer: str
    keywords: Sequence[str] = ()
    forms: tuple[str, ...] = ()
    """The forms the entry is offered before; empty: before all."""


@dataclass(frozen=True)
class Hit:
    """An entry that matches a query, with its score between 0 and 1."""

    id: str
    score: float


@dataclass
class LanguageIndex:
    """The index of the entries of one language."""

    entries: Sequence[SearchEntry]
    language: str
    threshold: float = THRESHOLD
    """The lowest score returned."""
    _postings: dict[str, dict[int, float]] = field(init=False, repr=False)
    _idf: dict[str, float] = field(init=False, repr=False)
    _unknown_idf: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        postings: dict[str, dict[int, float]] = {}
        for number, entry in enumerate(self.entries):
            main = features(" ".join([entry.question, *entry.keywords]), self.language)
            for feature in main:
                postings.setdefault(feature, {})[number] = 1.0
            for feature in features(entry.answer, self.language) - main:
                postings.setdefault(feature, {})[number] = ANSWER_WEIGHT
        count = len(self.entries)
        self._postings = postings
        self._idf = {
            feature: _idf(count, len(docs)) * _boost(feature) for feature, docs in postings.items()
        }
        self._unknown_idf = _idf(count, 0)

    def search(self, query: str, limit: int = 5, form: str | None = None) -> list[Hit]:
        """The entries matching ``query``, best first, at most ``limit``.

        With ``form``, only the entries offered before that form (and those
        offered before all); an empty or meaningless query finds nothing, and
        a query longer than 200 characters is cut, not refused.
        """
        wanted = features(query, self.language)
        if not wanted or limit <= 0:
            return []
        total = 0.0
        scores: dict[int, float] = {}
        for feature in wanted:
            docs = self._postings.get(feature)
            if docs is None:
                total += self._unknown_idf * _boost(feature)
                continue
            idf = self._idf[feature]
            total += idf
            for number, weight in docs.items():
                scores[number] = scores.get(number, 0.0) + idf * weight
        floor = self.threshold * total
        ranked = sorted(
            (
                (score, number)
                for number, score in scores.items()
                if score >= floor and _offered(self.entries[number], form)
            ),
            key=lambda item: (-item[0], item[1]),
        )
        return [Hit(self.entries[number].id, score / total) for score, number in ranked[:limit]]


class FaqSearch:
    """Search over the entries of several languages, one index each."""

    def __init__(
        self, entries: Mapping[str, Iterable[SearchEntry]], threshold: float = THRESHOLD
    ) -> None:
        self._indexes = {
            language: LanguageIndex(list(items), language, threshold)
            for language, items in entries.items()
        }

    @property
    def languages(self) -> frozenset[str]:
        """The languages indexed; searching another one is the caller's error."""
        return frozenset(self._indexes)

    def search(
        self, query: str, language: str, limit: int = 5, form: str | None = None
    ) -> list[Hit]:
        """The entries of ``language`` matching ``query``, best first.

        Raises ``KeyError`` for a language not in :attr:`languages`.
        """
        return self._indexes[language].search(query, limit=limit, form=form)


def _idf(count: int, frequency: int) -> float:
    return math.log(1.0 + (count - frequency + 0.5) / (frequency + 0.5))


def _boost(feature: str) -> float:
    return STEM_BOOST if feature.startswith("=") else 1.0


def _offered(entry: SearchEntry, form: str | None) -> bool:
    return form is None or not entry.forms or form in entry.forms
