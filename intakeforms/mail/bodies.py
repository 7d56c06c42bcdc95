"""The text and HTML bodies of the agent email and the confirmation.

Both are one :class:`Body`: an intro, for the confirmation the reference
standing out, for the agent email what the submission's context tells
(:mod:`intakeforms.mail.context`), the answer rows, and notes below them,
written out twice. A plain body is ``Label: value`` lines, later lines of an
answer indented; an HTML body is a page with inline styles only (mail
clients drop ``<style>`` blocks and never fetch stylesheets, and nothing
here may load from the network), every text escaped, no script. The one
link a body may hold is the service's own (:attr:`Body.link`: the
confirmation's status page, the draft mail's way back to the form), never
one from an answer.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from intakeforms.mail.context import Notice, notice_html, notice_lines
from intakeforms.present import escape, html_table, text_rows

__all__ = ["Body"]

_REFERENCE = "font-family:monospace;font-size:1.3em;letter-spacing:0.05em;"


def _plain_body(
    intro: str,
    rows: Sequence[tuple[str, str]],
    footer: Sequence[str],
    notices: Sequence[Notice] = (),
) -> str:
    """``intro``, a blank line, the ``notices`` (each followed by a blank
    line), one ``Label: value`` line per row, then the ``footer`` lines after
    another blank line."""
    lines = [intro, "", *notice_lines(notices), *text_rows(rows)]
    if footer:
        lines.extend(["", *footer])
    return "\n".join(lines) + "\n"


def _html_page(title: str, locale: str, body: Iterable[str]) -> str:
    """An HTML document titled ``title`` (escaped here) in ``locale``
    around the ``body`` lines (escaped by the caller)."""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{html.escape(locale)}">',
        '<head><meta charset="utf-8">',
        f"<title>{escape(title)}</title></head>",
        '<body style="font-family:sans-serif;line-height:1.4;">',
        *body,
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


@dataclass(frozen=True)
class Body:
    """What a mail says, before it is written as text and as HTML.

    ``reference`` is ``(label, value, note)``: the reference the customer
    will quote, shown large, and what to do with it. ``notices`` come
    after the intro, before the rows (the agent email's context). With a
    ``heading`` the rows come under it, and both are left out when there are
    no rows; without one the rows always follow the intro. ``quiet`` notes
    are grey in HTML: the confirmation's small print. ``link`` is
    ``(text, url)``: an address of the service itself (never one from an
    answer), shown after the reference, in full in the plain body.
    """

    intro: str
    rows: Sequence[tuple[str, str]]
    notes: Sequence[str]
    reference: tuple[str, str, str] | None = None
    heading: str | None = None
    quiet: bool = False
    notices: Sequence[Notice] = ()
    link: tuple[str, str] | None = None

    def plain(self) -> str:
        """The text/plain body."""
        head = [self.intro]
        if self.reference is not None:
            label, value, note = self.reference
            head += ["", f"{label}: {value}", note]
        if self.link is not None:
            text, url = self.link
            head += ["", text, url]
        if self.heading is None:
            return _plain_body("\n".join(head), self.rows, self.notes, self.notices)
        if not self.rows:
            return "\n".join([*head, "", *notice_lines(self.notices), *self.notes]) + "\n"
        notices = notice_lines(self.notices)
        return _plain_body("\n".join([*head, "", *notices, self.heading]), self.rows, self.notes)

    def html(self, title: str, locale: str) -> str:
        """The text/html body, a page titled ``title`` in ``locale``."""
        body = [f"<p>{escape(self.intro)}</p>"]
        if self.reference is not None:
            label, value, note = self.reference
            body += [
                f'<p style="font-size:1.25em;">{escape(label)}: '
                f'<strong style="{_REFERENCE}">{escape(value)}</strong></p>',
                f"<p>{escape(note)}</p>",
            ]
        if self.link is not None:
            text, url = self.link
            href = html.escape(url, quote=True)
            body.append(f'<p>{escape(text)}<br><a href="{href}">{href}</a></p>')
        body += notice_html(self.notices)
        if self.heading is None:
            body += html_table(self.rows)
        elif self.rows:
            body.append(
                f'<h2 style="font-size:1.1em;margin-top:1.5em;">{escape(self.heading)}</h2>'
            )
            body += html_table(self.rows)
        style = ' style="color:#555;"' if self.quiet else ""
        body += [f"<p{style}>{escape(line)}</p>" for line in self.notes]
        return _html_page(title, locale, body)
