"""The staff dashboard's charts: SVG drawn on the server, each with its words.

A :class:`Chart` is an SVG picture (``role="img"``, named by its
``<title>``) and its text alternative: a sentence or two saying what it
shows (:attr:`Chart.summary`) and a table of every number drawn
(:attr:`Chart.table`). The picture never holds a number the table lacks,
so a reader who cannot see it misses nothing.

No script and no ``style`` attribute: colours and line patterns are CSS
classes (``chart-series-N``) in ``admin.css``, so the page runs under
``style-src 'self'``. Series differ by line pattern as well as colour (a
reader who tells no colours apart still can), and every text drawn is
escaped.

:func:`volume_chart` draws submissions per day, a line per form (topic);
:func:`channel_chart` views, starts and submissions per channel;
:func:`funnel_chart` how far visits got through one form's questions;
:func:`error_chart` which questions drew which errors most.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from babel.dates import format_skeleton
from babel.numbers import format_decimal
from markupsafe import Markup, escape

from intakeforms.i18n import N_, gettext_for

__all__ = [
    "CHART_TEXTS",
    "Chart",
    "ChartTable",
    "channel_chart",
    "error_chart",
    "funnel_chart",
    "nice_top",
    "volume_chart",
]

#: Every word the charts say, by key; translated per chart.
CHART_TEXTS: dict[str, str] = {
    # Translators: the title of a line chart with one line per form.
    "volume": N_("Submissions per day, by topic"),
    "volume_none": N_("No submissions from {start} to {end}."),
    # Translators: {total} submissions in the period, then one {forms} part per form.
    "volume_summary": N_("{total} submissions from {start} to {end}. {forms}"),
    # Translators: one form in a chart's summary; {date} is its busiest day.
    "volume_form": N_("{form}: {count}, most on {date} ({most})."),
    # Translators: a form without submissions in a chart's summary.
    "volume_form_none": N_("{form}: none."),
    "date": N_("Date"),
    "channels": N_("Visits by channel"),
    # Translators: {channel} is like "Chat"; the numbers are visits.
    "channel_summary": N_("{channel}: {views} views, {starts} started, {submissions} submitted."),
    "channel": N_("Channel"),
    "form": N_("Hosted form"),
    "chat": N_("Chat"),
    "inline": N_("Inline form"),
    "views": N_("Views"),
    "starts": N_("Started"),
    "submissions": N_("Submitted"),
    # Translators: {form} is the form's title.
    "funnel": N_("How far visits got: {form}"),
    "funnel_none": N_("No visit reached a question of this form in the period."),
    # Translators: the question where most visits that never submitted stopped.
    "funnel_summary": N_("Most visits that gave up stopped at “{question}” ({dropped})."),
    "funnel_nobody": N_("No visit gave up before submitting."),
    "question": N_("Question"),
    "reached": N_("Reached"),
    "answered": N_("Answered"),
    "dropped": N_("Gave up here"),
    # Translators: {form} is the form's title.
    "errors": N_("Errors shown, by question: {form}"),
    "errors_none": N_("No errors were shown in the period."),
    # Translators: {code} is an error's code, like invalid_format.
    "errors_summary": N_("Most errors: “{question}”, {code} ({count})."),
    "error_code": N_("Error"),
    "error_count": N_("Times shown"),
}

# The picture's size in SVG units; it scales to the page's width.
_WIDTH = 640
_LINE_HEIGHT = 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 16, 12, 28
# Horizontal bars: room for the labels on the left, a bar's thickness.
_LABEL_WIDTH = 250
_BAR = 12
_GAP = 10
# A label drawn longer than this is cut (the table has it whole).
_LABEL_CHARACTERS = 38


@dataclass(frozen=True)
class ChartTable:
    """The numbers of a chart: ``head`` names the columns, the first cell of
    each row heads it."""

    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Chart:
    """One chart: ``id`` (unique on the page, for the ids of its parts), its
    ``title``, ``summary`` (the words a reader who cannot see it gets), the
    ``svg`` markup, the ``table`` of its numbers, the ``legend`` (the
    name of each series with its CSS class) and its ``kind`` (``line`` or
    ``bar``: what the legend's keys look like)."""

    id: str
    title: str
    summary: str
    svg: Markup
    table: ChartTable
    legend: tuple[tuple[str, str], ...] = ()
    kind: str = "bar"


def _text(key: str, locale: str) -> str:
    return gettext_for(CHART_TEXTS[key], locale)


def _number(value: float, locale: str) -> str:
    return str(format_decimal(value, locale=locale.replace("-", "_")))


def _day(day: dt.date, locale: str) -> str:
    return str(format_skeleton("MMMd", day, locale=locale.replace("-", "_")))


def _cut(label: str) -> str:
    return label if len(label) <= _LABEL_CHARACTERS else label[: _LABEL_CHARACTERS - 1] + "…"


def _series_class(index: int) -> str:
    # Six colours and patterns, then again: a dashboard has few topics.
    return f"chart-series-{index % 6}"


def nice_top(largest: float) -> tuple[float, float]:
    """The top of a value axis at or above ``largest``, and its step: the
    smallest step of 1, 2 or 5 times a power of ten (at least 1: counts)
    that reaches ``largest`` in five steps or fewer."""
    if largest <= 0:
        return 1.0, 1.0
    power = 10.0 ** max(0, math.floor(math.log10(largest / 5)))
    step = next(
        m * power * scale
        for scale in (1, 10)
        for m in (1, 2, 5)
        if math.ceil(largest / (m * power * scale)) <= 5
    )
    return step * math.ceil(largest / step), step


def _svg(chart_id: str, title: str, height: int, body: list[str]) -> Markup:
    """The ``<svg>`` around ``body`` (markup already escaped)."""
    head = (
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-summary" '
        'focusable="false" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text is escaped


def _value_axis(top: float, step: float, locale: str, height: int) -> list[str]:
    """Grid lines and their labels of a vertical value axis."""
    parts = []
    bottom = height - _BOTTOM
    ticks = round(top / step)
    for n in range(ticks + 1):
        value = n * step
        y = bottom - (bottom - _TOP) * value / top
        parts.append(
            f'<line class="chart-grid" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="chart-label" x="{_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(_number(value, locale))}</text>'
        )
    return parts


def volume_chart(
    per_form: Sequence[tuple[str, Sequence[tuple[dt.date, int]]]],
    *,
    locale: str,
    chart_id: str = "volume",
) -> Chart:
    """Submissions per day, a line per form: ``per_form`` is ``(title,
    [(day, count), …])`` for each form, every form over the same days."""
    days = [day for day, _ in per_form[0][1]] if per_form else []
    title = _text("volume", locale)
    height = _LINE_HEIGHT
    largest = max((count for _, counts in per_form for _, count in counts), default=0)
    top, step = nice_top(largest)
    body = _value_axis(top, step, locale, height)
    bottom, plot = height - _BOTTOM, _WIDTH - _LEFT - _RIGHT
    span = max(len(days) - 1, 1)

    def x(index: int) -> float:
        return _LEFT + plot * index / span

    # A date under the axis every few days, so that they never overlap.
    every = max(1, math.ceil(len(days) / 8))
    for index, day in enumerate(days):
        if index % every == 0:
            body.append(
                f'<text class="chart-label" x="{x(index):.1f}" y="{height - 8}" '
                f'text-anchor="middle">{escape(_day(day, locale))}</text>'
            )
    legend = []
    for number, (form, counts) in enumerate(per_form):
        css = _series_class(number)
        legend.append((form, css))
        points = " ".join(
            f"{x(i):.1f},{bottom - (bottom - _TOP) * count / top:.1f}"
            for i, (_, count) in enumerate(counts)
        )
        body.append(f'<polyline class="chart-line {css}" points="{points}"><title>')
        body.append(f"{escape(form)}</title></polyline>")
    start = _day(days[0], locale) if days else ""
    end = _day(days[-1], locale) if days else ""
    total = sum(count for _, counts in per_form for _, count in counts)
    if total == 0:
        summary = _text("volume_none", locale).format(start=start, end=end)
    else:
        parts = []
        for form, counts in per_form:
            busiest, most = max(counts, key=lambda item: item[1])
            if not most:
                parts.append(_text("volume_form_none", locale).format(form=form))
                continue
            parts.append(
                _text("volume_form", locale).format(
                    form=form,
                    count=_number(sum(c for _, c in counts), locale),
                    date=_day(busiest, locale),
                    most=_number(most, locale),
                )
            )
        summary = _text("volume_summary", locale).format(
            total=_number(total, locale), start=start, end=end, forms=" ".join(parts)
        )
    table = ChartTable(
        head=(_text("date", locale), *(form for form, _ in per_form)),
        rows=tuple(
            (
                _day(day, locale),
                *(_number(counts[i][1], locale) for _, counts in per_form),
            )
            for i, day in enumerate(days)
        ),
    )
    svg = _svg(chart_id, title, height, body)
    return Chart(chart_id, title, summary, svg, table, tuple(legend), kind="line")


def _bars(
    chart_id: str,
    title: str,
    groups: Sequence[tuple[str, Sequence[int]]],
    measures: Sequence[str],
    locale: str,
) -> tuple[Markup, tuple[tuple[str, str], ...]]:
    """Horizontal bars: a group of bars (one per measure) per labelled row."""
    per_group = len(measures) * _BAR + _GAP
    height = _TOP + max(len(groups), 1) * per_group + _GAP
    largest = max((value for _, values in groups for value in values), default=0)
    top = max(float(largest), 1.0)
    plot = _WIDTH - _LABEL_WIDTH - _RIGHT - 40  # room for the number after a bar
    body = []
    for row, (label, values) in enumerate(groups):
        y = _TOP + row * per_group
        middle = y + len(measures) * _BAR / 2 + 4
        body.append(
            f'<text class="chart-label" x="{_LABEL_WIDTH - 8}" y="{middle:.1f}" '
            f'text-anchor="end">{escape(_cut(label))}<title>{escape(label)}</title></text>'
        )
        for number, value in enumerate(values):
            width = plot * value / top
            top_y = y + number * _BAR
            body.append(
                f'<rect class="chart-bar {_series_class(number)}" x="{_LABEL_WIDTH}" '
                f'y="{top_y}" width="{width:.1f}" height="{_BAR - 2}"/>'
                f'<text class="chart-value" x="{_LABEL_WIDTH + width + 4:.1f}" '
                f'y="{top_y + _BAR - 3}">{escape(_number(value, locale))}</text>'
            )
    body.append(
        f'<line class="chart-axis" x1="{_LABEL_WIDTH}" x2="{_LABEL_WIDTH}" '
        f'y1="{_TOP - 4}" y2="{height - _GAP + 4}"/>'
    )
    legend = tuple((name, _series_class(n)) for n, name in enumerate(measures))
    return _svg(chart_id, title, height, body), legend


def channel_chart(
    by_channel: Mapping[str, Mapping[str, Any]], *, locale: str, chart_id: str = "channels"
) -> Chart:
    """Views, starts and submissions per channel (``by_channel`` as in the
    figures' JSON: ``{"form"|"chat"|"inline": {"views", "starts", "submissions"}}``)."""
    measures = ("views", "starts", "submissions")
    names = [_text(m, locale) for m in measures]
    groups = [
        (_text(channel, locale), [int(figures.get(m, 0)) for m in measures])
        for channel, figures in by_channel.items()
    ]
    title = _text("channels", locale)
    svg, legend = _bars(chart_id, title, groups, names, locale)
    summary = " ".join(
        _text("channel_summary", locale).format(
            channel=label, **{m: _number(v, locale) for m, v in zip(measures, values, strict=True)}
        )
        for label, values in groups
    )
    rows = tuple((label, *(_number(v, locale) for v in values)) for label, values in groups)
    table = ChartTable((_text("channel", locale), *names), rows)
    return Chart(chart_id, title, summary, svg, table, legend)


def funnel_chart(
    fields: Sequence[Mapping[str, Any]],
    labels: Mapping[str, str],
    *,
    form: str,
    locale: str,
    chart_id: str = "funnel",
) -> Chart:
    """How many visits reached, answered and gave up at each question of one
    form: ``fields`` as in the figures' JSON, ``labels`` the questions' labels
    by name, ``form`` the form's title."""
    measures = ("reached", "answered", "dropped")
    names = [_text(m, locale) for m in measures]
    groups = [
        (labels.get(str(f["field"]), str(f["field"])), [int(f.get(m, 0)) for m in measures])
        for f in fields
    ]
    title = _text("funnel", locale).format(form=form)
    svg, legend = _bars(chart_id, title, groups, names, locale)
    if not any(values[0] for _, values in groups):
        summary = _text("funnel_none", locale)
    else:
        label, values = max(groups, key=lambda group: group[1][2])
        summary = (
            _text("funnel_summary", locale).format(
                question=label, dropped=_number(values[2], locale)
            )
            if values[2]
            else _text("funnel_nobody", locale)
        )
    rows = tuple((label, *(_number(v, locale) for v in values)) for label, values in groups)
    table = ChartTable((_text("question", locale), *names), rows)
    return Chart(chart_id, title, summary, svg, table, legend)


def error_chart(
    fields: Sequence[Mapping[str, Any]],
    labels: Mapping[str, str],
    *,
    form: str,
    locale: str,
    limit: int = 10,
    chart_id: str = "errors",
) -> Chart:
    """The question and error code pairs shown most (up to ``limit``), from
    the ``codes`` of each of ``fields`` (the figures' JSON)."""
    pairs = sorted(
        (
            (int(count), labels.get(str(f["field"]), str(f["field"])), str(code))
            for f in fields
            for code, count in (f.get("codes") or {}).items()
            if count
        ),
        key=lambda pair: (-pair[0], pair[1], pair[2]),
    )[:limit]
    title = _text("errors", locale).format(form=form)
    groups = [(f"{label} – {code}", [count]) for count, label, code in pairs]
    svg, _ = _bars(chart_id, title, groups, [_text("error_count", locale)], locale)
    if not pairs:
        summary = _text("errors_none", locale)
    else:
        count, label, code = pairs[0]
        summary = _text("errors_summary", locale).format(
            question=label, code=code, count=_number(count, locale)
        )
    rows = tuple((label, code, _number(count, locale)) for count, label, code in pairs)
    head = (_text("question", locale), _text("error_code", locale), _text("error_count", locale))
    return Chart(chart_id, title, summary, svg, ChartTable(head, rows))
