"""Text for FAQ search: normalising, tokenising, stemming and character n-grams.

People type inflected words (``renkaanvaihtoon``), compounds (``däckhotellet``)
and typos (``talvirenkat``). Snowball stemmers (PyStemmer) take care of most
inflection; character n-grams of the stems match the parts of compounds and
survive a wrong letter, since most of a word's n-grams stay intact.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Protocol

import Stemmer  # PyStemmer ships no type hints: see the mypy overrides in pyproject.toml

__all__ = ["MAX_QUERY_CHARS", "STEMMERS", "features", "normalise", "tokens"]

MAX_QUERY_CHARS = 200
"""Longer queries are cut to this many characters, not refused."""

STEMMERS = {"fi": "finnish", "sv": "swedish", "en": "english"}
"""The languages with a stemmer; others are searched by n-grams alone."""

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that say nothing about the topic: without them "how do I" or "miten
# voin" would pull up every answer that happens to contain them.
_STOPWORDS = {
    "fi": _words(
        """ja tai on ei se ne ole olla oli voi voin voiko voinko voitteko voitko
        miten kuinka mikä mitä mitkä missä mistä mihin milloin kun jos että
        kanssa minä mä mun minun minulla minua meidän te teillä teidän teiltä
        teille sinä sä sun onko onks onkos pitää pitääkö saako saanko
        kannattaa kannattaako tarvitseeko täytyykö myös vielä jo nyt sitten
        joka jotka tämä tuo nämä olen ollut kanssanne kautta siitä sen sitä
        mulla mulle mut mun mitäs miksi millainen miten ko kiitos hei moi"""
    ),
    "sv": _words(
        """och eller är inte det den de att en ett jag mig min mitt mina du dig
        din er ni vi oss vår hur vad var när vilken vilka vilket kan kunna får
        man måste ska skall bör till för på av med om från hos har hade finns
        något någon här där så också redan nu sedan som vid efter innan mycket
        går gör göra behöver tack hej"""
    ),
    "en": _words(
        """a an the and or is are be was were do does did i me my we our you your
        how what when where which who why can could should would will shall to
        for of on in at by with from about it its this that there here have has
        had get got need any please hi hello thanks"""
    ),
}


def normalise(text: str) -> str:
    """Case-folded NFKC text, cut to :data:`MAX_QUERY_CHARS` characters."""
    return unicodedata.normalize("NFKC", text[:MAX_QUERY_CHARS]).casefold()


def tokens(text: str, language: str) -> list[str]:
    """The stems of the words of ``text`` that carry meaning, in order."""
    stop: frozenset[str] = _STOPWORDS.get(language, frozenset())
    words = [w for w in _WORD.findall(normalise(text)) if w not in stop]
    stemmer = _stemmer(language)
    if stemmer is None:
        return words
    return [stem for stem in stemmer.stemWords(words) if stem]


def features(text: str, language: str) -> set[str]:
    """The search features of ``text``: whole stems and their 3- and 4-grams."""
    found: set[str] = set()
    for stem in tokens(text, language):
        found.add("=" + stem)
        padded = f"<{stem}>"
        for size in (3, 4):
            for start in range(len(padded) - size + 1):
                found.add(padded[start : start + size])
    return found


class _Stemmer(Protocol):
    def stemWords(self, words: list[str]) -> list[str]: ...  # noqa: N802  (PyStemmer's name)


@cache
def _stemmer(language: str) -> _Stemmer | None:
    name = STEMMERS.get(language)
    if name is None:
        return None
    stemmer: _Stemmer = Stemmer.Stemmer(name)
    return stemmer
