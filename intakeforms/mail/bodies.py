"""The text and HTML bodies mail and tickets are written with.

A plain body is ``Label: value`` lines, later lines of an answer indented;
an HTML body is a page with inline styles only (mail clients drop
``<style>`` blocks and never fetch stylesheets, and nothing here may load
from the network), every text escaped, no script and no link.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence

from babel.dates import format_date, format_time

__all__ = ["escape", "html_page", "html_table", "plain_body", "submitted"]

_CELL = "padding:4px 12px 4px 0;vertical-align:top;text-align:left;"


def submitted(moment: dt.datetime, locale: str) -> str:
    """When a submission was sent, in UTC, written for ``locale``; a time
    without a zone (an old stored row) is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    utc = moment.astimezone(dt.UTC)
    day = format_date(utc.date(), format="medium", locale=locale)
    time = format_time(utc.time(), format="short", locale=locale)
    return f"{day} {time} UTC"


def plain_body(intro: str, rows: Sequence[tuple[str, str]], footer: Sequence[str]) -> str:
    """``intro``, a blank line, one ``Label: value`` line per row, then the
    ``footer`` lines after another blank line."""
    lines = [intro, ""]
    for label, value in rows:
        first, *rest = value.split("\n")
        lines.append(f"{label}: {first}")
        # Later lines of a long answer are indented, so no line of the
        # customer's text can pass for a "Label: value" line of its own.
        lines.extend(f"    {line}" if line else "" for line in rest)
    if footer:
        lines.extend(["", *footer])
    return "\n".join(lines) + "\n"


def escape(text: str) -> str:
    """``text`` for HTML, quotes escaped and line breaks kept as ``<br>``."""
    return html.escape(text, quote=True).replace("\n", "<br>\n")


def html_table(rows: Iterable[tuple[str, str]], *, styled: bool = True) -> list[str]:
    """The lines of a table with one ``label | value`` row per row, every
    text escaped; ``styled`` for mail, unstyled for a helpdesk, which
    applies its own look."""
    table = '<table style="border-collapse:collapse;">' if styled else "<table>"
    cell = f' style="{_CELL}"' if styled else ""
    return [
        table,
        *(
            f'<tr><th scope="row"{cell}>{escape(label)}</th><td{cell}>{escape(value)}</td></tr>'
            for label, value in rows
        ),
        "</table>",
    ]


def html_page(title: str, locale: str, body: Iterable[str]) -> str:
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
