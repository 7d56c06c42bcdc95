"""Answer rows written out: as ``Label: value`` lines, or as an HTML table.

Every text put into HTML is escaped here, quotes too, so a customer's
``<b>`` or ``<script>`` shows as the characters they typed.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

__all__ = ["escape", "html_table", "text_rows"]

_CELL = "padding:4px 12px 4px 0;vertical-align:top;text-align:left;"


def escape(text: str) -> str:
    """``text`` for HTML, quotes escaped and line breaks kept as ``<br>``."""
    return html.escape(text, quote=True).replace("\n", "<br>\n")


def text_rows(rows: Iterable[tuple[str, str]]) -> list[str]:
    """One ``Label: value`` line per row, later lines of a value indented."""
    lines = []
    for label, value in rows:
        first, *rest = value.split("\n")
        lines.append(f"{label}: {first}")
        # Later lines of a long answer are indented, so no line of the
        # customer's text can pass for a "Label: value" line of its own.
        lines.extend(f"    {line}" if line else "" for line in rest)
    return lines


def html_table(rows: Iterable[tuple[str, str]], *, styled: bool = True) -> list[str]:
    """The lines of a table with one ``label | value`` row per row, every
    text escaped; ``styled`` (inline styles) for mail, unstyled for a
    helpdesk, which applies its own look."""
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
