"""The dashboard's charts: SVG pictures a screen reader can name, each with
words and a table that say everything the picture shows, in fi, sv and en,
with no style attribute (the page's CSP forbids inline style) and every
text escaped.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest

from intakeforms.render_charts import (
    Chart,
    channel_chart,
    error_chart,
    funnel_chart,
    nice_top,
    volume_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [dt.date(2026, 5, 1) + dt.timedelta(days=n) for n in range(7)]
CAR = [3, 0, 5, 1, 0, 0, 2]
RETURNS = [0, 1, 0, 0, 4, 0, 0]

FIELDS = [
    {"field": "plate", "reached": 40, "answered": 38, "errors": 9, "dropped": 2,
     "codes": {"invalid_plate": 7, "required": 2}},
    {"field": "model", "reached": 36, "answered": 30, "errors": 0, "dropped": 12, "codes": {}},
    {"field": "email", "reached": 20, "answered": 20, "errors": 3, "dropped": 1,
     "codes": {"invalid_email": 3}},
]  # fmt: skip
LABELS = {"plate": "Registration plate", "model": "Make and model", "email": "Email"}


def picture(chart: Chart) -> ET.Element:
    """The chart's SVG, parsed (it must be well-formed XML)."""
    return ET.fromstring(str(chart.svg))


def assert_accessible(chart: Chart) -> None:
    svg = picture(chart)
    assert svg.get("role") == "img"
    title = svg.find(f"{SVG}title")
    assert title is not None and title.text == chart.title
    assert svg.get("aria-labelledby") == title.get("id") == f"{chart.id}-title"
    assert svg.get("aria-describedby") == f"{chart.id}-summary"
    assert chart.summary
    assert "style=" not in str(chart.svg) and "<script" not in str(chart.svg)


def volume() -> Chart:
    return volume_chart(
        [
            ("Car service", list(zip(DAYS, CAR, strict=True))),
            ("Returns", list(zip(DAYS, RETURNS, strict=True))),
        ],
        locale="en",
    )


def test_the_volume_chart_draws_a_line_per_form_with_its_numbers() -> None:
    chart = volume()
    assert_accessible(chart)
    lines = picture(chart).findall(f"{SVG}polyline")
    assert [line.findtext(f"{SVG}title") for line in lines] == ["Car service", "Returns"]
    # Different patterns as well as colours; the legend shows the same ones.
    assert [line.get("class") for line in lines] == [
        "chart-line chart-series-0",
        "chart-line chart-series-1",
    ]
    assert chart.legend == (("Car service", "chart-series-0"), ("Returns", "chart-series-1"))
    assert chart.kind == "line"
    assert chart.table.head == ("Date", "Car service", "Returns")
    assert chart.table.rows[0] == ("May 1", "3", "0")
    assert [row[1:] for row in chart.table.rows] == [
        (str(c), str(r)) for c, r in zip(CAR, RETURNS, strict=True)
    ]
    assert chart.summary == (
        "16 submissions from May 1 to May 7. Car service: 11, most on May 3 (5). "
        "Returns: 5, most on May 5 (4)."
    )


def test_the_highest_point_is_at_the_top_of_the_axis() -> None:
    lines = picture(volume()).findall(f"{SVG}polyline")
    heights = [float(point.split(",")[1]) for point in lines[0].get("points", "").split()]
    # 5 is the largest count and the axis goes to 5: the highest point is at the top.
    assert min(heights) == pytest.approx(12.0)
    assert heights[1] == max(heights)  # 0 lies on the bottom line
    labels = [t.text for t in picture(volume()).iter(f"{SVG}text")]
    assert labels[:6] == ["0", "1", "2", "3", "4", "5"]


def test_a_period_without_submissions_says_so() -> None:
    chart = volume_chart([("Car service", [(day, 0) for day in DAYS])], locale="en")
    assert chart.summary == "No submissions from May 1 to May 7."
    assert_accessible(chart)


@pytest.mark.parametrize(
    ("largest", "top", "step"),
    [
        (0, 1, 1),
        (1, 1, 1),
        (3, 3, 1),
        (5, 5, 1),
        (7, 8, 2),
        (13, 15, 5),
        (98, 100, 20),
        (1234, 1500, 500),
        (50_000, 50_000, 10_000),
    ],
)
def test_the_value_axis_ends_at_a_round_number(largest: int, top: int, step: int) -> None:
    assert nice_top(largest) == (top, step)


def test_the_channel_chart_compares_views_starts_and_submissions() -> None:
    chart = channel_chart(
        {
            "form": {"views": 98, "starts": 69, "submissions": 4, "completion_rate": 0.04},
            "chat": {"views": 49, "starts": 31, "submissions": 1, "completion_rate": 0.02},
            "inline": {"views": 0, "starts": 0, "submissions": 0, "completion_rate": 0.0},
        },
        locale="en",
    )
    assert_accessible(chart)
    assert chart.table.head == ("Channel", "Views", "Started", "Submitted")
    assert chart.table.rows == (
        ("Hosted form", "98", "69", "4"),
        ("Chat", "49", "31", "1"),
        ("Inline form", "0", "0", "0"),
    )
    assert chart.summary.startswith("Hosted form: 98 views, 69 started, 4 submitted.")
    bars = picture(chart).findall(f"{SVG}rect")
    assert len(bars) == 9
    widths = [float(bar.get("width", "")) for bar in bars]
    assert widths[0] == max(widths) and widths[6:] == [0, 0, 0]


def test_the_funnel_names_the_question_where_most_gave_up() -> None:
    chart = funnel_chart(FIELDS, LABELS, form="Car service", locale="en")
    assert_accessible(chart)
    assert chart.title == "How far visits got: Car service"
    assert chart.summary == "Most visits that gave up stopped at “Make and model” (12)."
    assert chart.table.rows[1] == ("Make and model", "36", "30", "12")
    nobody = [{**f, "dropped": 0} for f in FIELDS]
    assert funnel_chart(nobody, LABELS, form="C", locale="en").summary == (
        "No visit gave up before submitting."
    )
    empty = [{**f, "reached": 0, "answered": 0, "dropped": 0} for f in FIELDS]
    assert "No visit reached" in funnel_chart(empty, LABELS, form="C", locale="en").summary


def test_the_error_hot_spots_are_question_and_code_pairs_most_first() -> None:
    chart = error_chart(FIELDS, LABELS, form="Car service", locale="en")
    assert_accessible(chart)
    assert chart.table.head == ("Question", "Error", "Times shown")
    assert chart.table.rows == (
        ("Registration plate", "invalid_plate", "7"),
        ("Email", "invalid_email", "3"),
        ("Registration plate", "required", "2"),
    )
    assert chart.summary == "Most errors: “Registration plate”, invalid_plate (7)."
    assert len(error_chart(FIELDS, LABELS, form="C", locale="en", limit=2).table.rows) == 2
    calm = [{**f, "codes": {}} for f in FIELDS]
    assert error_chart(calm, LABELS, form="C", locale="en").summary == (
        "No errors were shown in the period."
    )


def test_every_text_drawn_is_escaped_and_a_long_label_is_cut() -> None:
    labels = {**LABELS, "plate": "<script>alert(1)</script> & a very long label indeed, longer"}
    chart = funnel_chart(FIELDS, labels, form="<b>Car</b>", locale="en")
    assert "<script>" not in str(chart.svg) and "<b>" not in str(chart.svg)
    drawn = [t.text or "" for t in picture(chart).iter(f"{SVG}text")]
    assert any(text.endswith("…") and len(text) <= 38 for text in drawn)
    # The whole label is in the table and in the tooltip.
    assert chart.table.rows[0][0] == labels["plate"]
    assert labels["plate"] in [t.text for t in picture(chart).iter(f"{SVG}title")]


@pytest.mark.parametrize(
    ("locale", "title", "day", "number"),
    [
        ("fi", "Lähetykset päivittäin aiheittain", "1.5.", "1 234"),
        ("sv", "Inskick per dag och ämne", "1 maj", "1 234"),
        ("en", "Submissions per day, by topic", "May 1", "1,234"),
    ],
)
def test_the_words_dates_and_numbers_are_the_staffs_language(
    locale: str, title: str, day: str, number: str
) -> None:
    chart = volume_chart([("Car", [(DAYS[0], 1234), (DAYS[1], 0)])], locale=locale)
    assert chart.title == title
    # Finnish and Swedish group digits with a no-break space.
    assert tuple(cell.replace("\xa0", " ") for cell in chart.table.rows[0]) == (day, number)
    assert re.search(rf"\b{re.escape(number)}\b", chart.summary.replace("\xa0", " "))
