"""The customer's earlier contacts, as agents see them beside a submission.

The store finds a customer's earlier submissions by their contact keys
(:func:`intakeforms.intake.contact_keys`: the same email address or phone
number, hashed) within ``INTAKE_HISTORY_DAYS``
(:meth:`~intakeforms.store.Store.earlier_contacts`). Agents see each by its
reference, its form's title, when it was sent and the form's ``summary``
line of its answers, never the answers themselves; one whose answers were
erased shows as erased.

A :class:`History` is made once, where the store is at hand (the delivery
worker), with each line already written for every language of the form
being delivered, so that whatever builds the mail, ticket or webhook (a
build process, a thread) needs neither the store nor the other forms. It
holds no answer, only summary lines.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from intakeforms.i18n import N_, gettext_for
from intakeforms.mail.context import Notice
from intakeforms.present import cap, localized, one_line, submitted, summary

if TYPE_CHECKING:
    from intakeforms.form import Form

__all__ = [
    "HISTORY_TEXTS",
    "Contact",
    "History",
    "HistoryEntry",
    "history_items",
    "history_notice",
    "make_history",
]

#: The words of the history section, in the agents' language.
HISTORY_TEXTS: dict[str, str] = {
    # Translators: the heading above the list of the customer's earlier
    # submissions in the agent email and tickets; {days} is a number.
    "heading": N_("Earlier contacts from this customer (last {days} days):"),
    # Translators: in the list of earlier contacts, instead of the summary
    # of a submission whose answers were erased.
    "erased": N_("answers erased"),
}

#: A summary line longer than this is cut: it is one line of a list.
_MAX_SUMMARY = 150


class Contact(Protocol):
    """One earlier submission as the store returns it
    (:class:`~intakeforms.store.EarlierContact`)."""

    @property
    def reference(self) -> str: ...

    @property
    def form(self) -> str: ...

    @property
    def submitted_at(self) -> dt.datetime: ...

    @property
    def erased(self) -> bool: ...

    @property
    def data(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One earlier contact, written for each language of the delivered form.

    ``titles`` and ``summaries`` map a locale to the earlier form's title
    and its ``summary`` line of the earlier answers (the title again when
    that form has no ``summary``); ``summaries`` is empty when the answers
    were erased (``erased``). ``form`` is the earlier form's id.
    """

    reference: str
    form: str
    submitted_at: dt.datetime
    titles: Mapping[str, str]
    summaries: Mapping[str, str] = field(default_factory=dict, repr=False)
    erased: bool = False

    def title(self, locale: str | None) -> str:
        """The earlier form's title in ``locale`` (else the first there is)."""
        return localized(self.titles, locale) if self.titles else self.form

    def summary(self, locale: str | None) -> str | None:
        """The summary line in ``locale``; None when the answers were erased."""
        if self.erased or not self.summaries:
            return None
        return localized(self.summaries, locale)

    def line(self, locale: str, zone: str | None = None) -> str:
        """``REFERENCE · title · date · summary`` for agents reading ``locale``
        (the summary left out when it is only the title again), the date in
        the IANA time zone ``zone`` (UTC when None)."""
        title = self.title(locale)
        parts = [self.reference, title, submitted(self.submitted_at, locale, zone)]
        text = self.summary(locale)
        if self.erased:
            parts.append(gettext_for(HISTORY_TEXTS["erased"], locale))
        elif text and text != title:
            parts.append(text)
        return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class History:
    """The earlier contacts of a submission's customer, newest first, found
    within the last ``days`` days."""

    days: int
    entries: tuple[HistoryEntry, ...] = ()

    def texts(self) -> list[str]:
        """Every summary line, so that what a server says back can be kept
        without them (:class:`~intakeforms.delivery.scrub.Scrubber`)."""
        return [text for entry in self.entries for text in entry.summaries.values()]


def _entry(contact: Contact, form: Form | None, locales: Sequence[str]) -> HistoryEntry:
    reference = one_line(contact.reference)
    if form is None:
        # A form no longer loaded: its id stands for its title, and no
        # summary can be written without its template.
        return HistoryEntry(
            reference, contact.form, contact.submitted_at, {}, erased=contact.erased
        )
    titles = {locale: one_line(form.title(locale)) for locale in locales}
    data = contact.data
    if contact.erased or data is None:
        return HistoryEntry(reference, form.id, contact.submitted_at, titles, erased=True)
    summaries = {
        locale: cap(one_line(summary(form, data, locale)), _MAX_SUMMARY) for locale in locales
    }
    return HistoryEntry(reference, form.id, contact.submitted_at, titles, summaries)


def make_history(
    contacts: Iterable[Contact],
    forms: Mapping[str, Form],
    *,
    days: int,
    locales: Sequence[str],
) -> History:
    """The :class:`History` of ``contacts`` (as the store returns them,
    newest first), each written for ``locales`` (the delivered form's) with
    its own form from ``forms``."""
    entries = tuple(_cached_entry(c, forms.get(c.form), tuple(locales)) for c in contacts)
    return History(days=days, entries=entries)


#: Entries written lately, by what decides their text. A customer's earlier
#: contacts come back with each of their later ones (and each target of
#: one), and their summaries never change until they are erased; writing
#: them (numbers and dates for three languages) is most of a look-up.
_ENTRIES: OrderedDict[tuple[Any, ...], HistoryEntry] = OrderedDict()
_MAX_ENTRIES = 2048


def _cached_entry(contact: Contact, form: Form | None, locales: tuple[str, ...]) -> HistoryEntry:
    key = (
        contact.reference,
        contact.erased or contact.data is None,
        contact.submitted_at,
        id(form),
        None if form is None else form.version,
        locales,
    )
    entry = _ENTRIES.get(key)
    if entry is None:
        entry = _ENTRIES[key] = _entry(contact, form, list(locales))
        if len(_ENTRIES) > _MAX_ENTRIES:
            _ENTRIES.popitem(last=False)
    else:
        _ENTRIES.move_to_end(key)
    return entry


def history_notice(history: History | None, locale: str, zone: str | None = None) -> Notice | None:
    """The history as a notice above the answers, in ``locale``, dates in
    the IANA time zone ``zone`` (UTC when None); None when there is nothing
    earlier."""
    if history is None or not history.entries:
        return None
    heading = gettext_for(HISTORY_TEXTS["heading"], locale).format(days=history.days)
    return Notice((heading,), tuple(entry.line(locale, zone) for entry in history.entries))


def history_items(history: History | None, locale: str | None) -> list[dict[str, Any]]:
    """The history as the webhook sends it: ``reference``, ``form`` (its
    id), ``submitted_at`` (ISO 8601, UTC) and ``summary`` (in ``locale``;
    null when the answers were erased), newest first."""
    if history is None:
        return []
    items = []
    for entry in history.entries:
        moment = entry.submitted_at
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        items.append(
            {
                "reference": entry.reference,
                "form": entry.form,
                "submitted_at": moment.astimezone(dt.UTC).isoformat(),
                "summary": entry.summary(locale),
            }
        )
    return items
