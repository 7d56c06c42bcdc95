"""A site's FAQ files, ready to answer: one index per language, built at load.

:class:`FaqLibrary` is what the service holds: every FAQ file of the forms
folder searched as one, each entry's answer turned from Markdown into
sanitised HTML once, and the site's forms indexed as topics so that the
customer's own words can propose the form to fill ("topic from words").

Answers are Markdown written by the site owner, rendered with markdown-it
(CommonMark) with raw HTML off: a ``<script>`` in YAML comes out as text,
``javascript:`` links are not links, and images are not loaded (an answer
shown in a customer's chat must not call a third party).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markdown_it import MarkdownIt

from intakeforms.faq.load import Faq
from intakeforms.faq.models import FaqEntry
from intakeforms.faq.search import FaqSearch, Hit, SearchEntry
from intakeforms.form import Form
from intakeforms.i18n import negotiate

__all__ = ["TOPIC_THRESHOLD", "FaqLibrary", "FaqResult", "TopicHit", "answer_html"]

_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable("image")

#: Topics are proposed from the forms' own texts and from the FAQ entries
#: offered before one form only; an entry offered before several says
#: little about which one the customer needs.
_TELLING_FORMS = 1

#: The lowest score of a proposed topic. Lower than the answers' threshold:
#: a form's texts are few words, and a topic is only proposed (the list of
#: all topics stays beside it), where a wrong answer would mislead.
TOPIC_THRESHOLD = 0.15


def answer_html(markdown: str) -> str:
    """An answer's Markdown as HTML safe to put in a page (no raw HTML, no images)."""
    html: str = _MARKDOWN.render(markdown)
    return html


@dataclass(frozen=True)
class FaqResult:
    """One answer found for a query, in the language searched."""

    faq: str
    id: str
    question: str
    answer_html: str
    score: float


@dataclass(frozen=True)
class TopicHit:
    """A form the customer's words seem to be about."""

    form: str
    score: float


class FaqLibrary:
    """Every FAQ of a site and its forms, searchable per language."""

    def __init__(self, faqs: Iterable[Faq], forms: Iterable[Form] = ()) -> None:
        self.faqs = {faq.id: faq for faq in faqs}
        forms = list(forms)
        self._form_ids = [form.id for form in forms]
        languages = list(
            dict.fromkeys(code for faq in self.faqs.values() for code in faq.locales)
        ) or list(dict.fromkeys(code for form in forms for code in form.locales))
        #: The languages searched; the first is the default for any other.
        self.languages = languages or ["en"]
        self._entries = {
            language: [
                _search_entry(faq, entry, language)
                for faq in self.faqs.values()
                for entry in faq.entries
            ]
            for language in self.languages
        }
        self._search = FaqSearch(self._entries)
        self._html: dict[tuple[str, str, str], str] = {}
        self._topics = FaqSearch(
            {
                language: [_topic_entry(form, language) for form in forms]
                for language in self.languages
            },
            TOPIC_THRESHOLD,
        )
        self._offered = {
            form_id
            for faq in self.faqs.values()
            for entry in faq.entries
            for form_id in (entry.forms or self._form_ids)
        }

    def language(self, requested: str | None, accept_language: str | None = None) -> str:
        """The language to search in: ``requested`` (or its base language)
        when some FAQ has it, else the best of ``Accept-Language``, else the
        default (the first FAQ file's first locale)."""
        return negotiate(self.languages, requested, accept_language)

    def offered_before(self, form: str) -> bool:
        """Whether some entry is offered before ``form``."""
        return form in self._offered

    def entry(self, faq: str, entry: str) -> tuple[Faq, FaqEntry] | None:
        """The FAQ file and entry with these ids, or ``None``."""
        found = self.faqs.get(faq)
        item = found.entry(entry) if found is not None else None
        return None if found is None or item is None else (found, item)

    def search(
        self, query: str, language: str, *, form: str | None = None, limit: int = 5
    ) -> list[FaqResult]:
        """The answers for ``query`` in ``language``, best first; none when
        nothing matches well. ``form`` keeps the entries offered before it."""
        language = language if language in self.languages else self.languages[0]
        return [self._result(hit, language) for hit in self._hits(query, language, form, limit)]

    def topics(self, query: str, language: str, *, limit: int = 3) -> list[TopicHit]:
        """The forms ``query`` seems to be about, best first; none when unclear.

        A form scores by its own texts (title, description, questions and
        choices) and by the answers found that are offered before it alone
        (or before very few forms).
        """
        language = language if language in self.languages else self.languages[0]
        scores: dict[str, float] = {
            hit.id: hit.score for hit in self._topics.search(query, language, limit=limit)
        }
        for hit in self._hits(query, language, None, 5):
            faq_id, entry_id = hit.id.split("/", 1)
            entry = self.faqs[faq_id].entry(entry_id)
            if entry is not None and 0 < len(entry.forms) <= _TELLING_FORMS:
                for form_id in entry.forms:
                    scores[form_id] = max(scores.get(form_id, 0.0), hit.score)
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        return [TopicHit(form_id, score) for form_id, score in ranked[:limit]]

    def answer(self, faq: Faq, entry: FaqEntry, language: str) -> str:
        """The entry's answer in ``language`` (else the FAQ's default) as safe HTML."""
        key = (faq.id, entry.id, language)
        if key not in self._html:
            self._html[key] = answer_html(faq.text(entry.answer, language))
        return self._html[key]

    def _hits(self, query: str, language: str, form: str | None, limit: int) -> Sequence[Hit]:
        return self._search.search(query, language, limit=limit, form=form)

    def _result(self, hit: Hit, language: str) -> FaqResult:
        faq_id, entry_id = hit.id.split("/", 1)
        faq = self.faqs[faq_id]
        entry = faq.entry(entry_id)
        assert entry is not None  # the index holds only the library's entries
        return FaqResult(
            faq=faq_id,
            id=entry_id,
            question=faq.text(entry.question, language),
            answer_html=self.answer(faq, entry, language),
            score=round(hit.score, 3),
        )


def _search_entry(faq: Faq, entry: FaqEntry, language: str) -> SearchEntry:
    # Several FAQ files may use the same entry id: the index names both parts.
    return SearchEntry(
        id=f"{faq.id}/{entry.id}",
        question=faq.text(entry.question, language),
        answer=faq.text(entry.answer, language),
        keywords=tuple(entry.keywords.get(language, ())),
        forms=tuple(entry.forms),
    )


def _topic_entry(form: Form, language: str) -> SearchEntry:
    spec = form.spec(language if language in form.locales else form.default_locale)
    words: list[str] = [spec.get("description") or ""]
    for field in spec["fields"]:
        words.append(field.get("label") or "")
        words.extend(choice.get("label") or "" for choice in field.get("choices") or ())
    return SearchEntry(id=form.id, question=spec["title"], answer=" ".join(words))
