"""FAQ search quality: intakeforms' search against BM25 libraries, on the test set.

Each contender indexes the test FAQ of ``tests/faq_queries.py`` (question,
keywords and answer of each entry, per language) and answers its queries:

* ``intakeforms``: Snowball stems (PyStemmer) and their character 3- and
  4-grams, IDF-weighted coverage, answer words weighted 0.4, threshold 0.27.
* ``bm25s+stem``: ``bm25s`` (BM25, Lucene variant) over PyStemmer stems.
* ``bm25s+lemma``: ``bm25s`` over ``simplemma`` lemmas.
* ``bm25s+stem+ngrams``: ``bm25s`` over stems and their 3- and 4-grams.

Printed per language: top-1 and top-3 hit rates on the answerable queries,
and how many of the no-answer queries got an answer (BM25 scores are not
bounded, so the bm25s contenders answer whenever any word matches; the
figure shows what a threshold must then be invented for).

Not a dependency of intakeforms: ``pip install bm25s simplemma`` to run it.
Run: ``.venv/bin/python benchmarks/compare_faq_search.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import bm25s  # noqa: E402
import simplemma  # noqa: E402
import Stemmer  # noqa: E402
from faq_queries import ENTRIES, QUERIES  # noqa: E402

from intakeforms.faq.search import LanguageIndex, SearchEntry  # noqa: E402
from intakeforms.faq.text import normalise  # noqa: E402

_SNOWBALL = {"fi": "finnish", "sv": "swedish", "en": "english"}
Search = Callable[[str], list[str]]


def _text(entry: SearchEntry) -> str:
    return f"{entry.question} {' '.join(entry.keywords)} {entry.answer}"


def _words(text: str) -> list[str]:
    return [w for w in normalise(text).split() if len(w) > 1]


def _bm25(entries: Sequence[SearchEntry], analyse: Callable[[str], list[str]]) -> Search:
    corpus = [analyse(_text(e)) for e in entries]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenization.Tokenized(*_ids(corpus)), show_progress=False)
    vocabulary = _ids(corpus)[1]

    def search(query: str) -> list[str]:
        known = [vocabulary[t] for t in analyse(query) if t in vocabulary]
        if not known:
            return []
        scores = retriever.get_scores(known)
        ranked = sorted(range(len(entries)), key=lambda i: -scores[i])
        return [entries[i].id for i in ranked[:3] if scores[i] > 0]

    return search


def _ids(corpus: list[list[str]]) -> tuple[list[list[int]], dict[str, int]]:
    vocabulary: dict[str, int] = {}
    ids = [[vocabulary.setdefault(t, len(vocabulary)) for t in doc] for doc in corpus]
    return ids, vocabulary


def _stems(language: str) -> Callable[[str], list[str]]:
    stemmer = Stemmer.Stemmer(_SNOWBALL[language])
    return lambda text: list(stemmer.stemWords(_words(text)))


def _lemmas(language: str) -> Callable[[str], list[str]]:
    return lambda text: [simplemma.lemmatize(w, lang=language) for w in _words(text)]


def _stems_and_grams(language: str) -> Callable[[str], list[str]]:
    stems = _stems(language)

    def analyse(text: str) -> list[str]:
        out = []
        for stem in stems(text):
            out.append(f"={stem}")
            padded = f"<{stem}>"
            out.extend(padded[i : i + n] for n in (3, 4) for i in range(len(padded) - n + 1))
        return out

    return analyse


def contenders(language: str) -> dict[str, Search]:
    entries = ENTRIES[language]
    ours = LanguageIndex(entries, language)
    return {
        "intakeforms": lambda q: [hit.id for hit in ours.search(q, limit=3)],
        "bm25s+stem": _bm25(entries, _stems(language)),
        "bm25s+lemma": _bm25(entries, _lemmas(language)),
        "bm25s+stem+ngrams": _bm25(entries, _stems_and_grams(language)),
    }


def main() -> None:
    print(f"{'contender':<20} {'lang':<4} {'top-1':>6} {'top-3':>6} {'no-answer answered':>19}")
    for language in ("fi", "sv", "en"):
        queries = [(q, e) for lang, q, e in QUERIES if lang == language]
        answerable = [(q, e) for q, e in queries if e is not None]
        unanswerable = [q for q, e in queries if e is None]
        for name, search in contenders(language).items():
            found = {q: search(q) for q, _ in queries}
            top1 = sum(found[q][:1] == [e] for q, e in answerable) / len(answerable)
            top3 = sum(e in found[q] for q, e in answerable) / len(answerable)
            wrong = sum(bool(found[q]) for q in unanswerable)
            print(
                f"{name:<20} {language:<4} {top1:>6.2f} {top3:>6.2f}"
                f" {f'{wrong} of {len(unanswerable)}':>19}"
            )


if __name__ == "__main__":
    main()
