"""Hidden questions: answered by the page (its address, the widget's
attributes), never asked, checked like a line of text, never required."""

from __future__ import annotations

import pytest
from conftest import checked_schema, make_form, problems_of

from intakeforms import FieldError, FormError, InvalidAnswers, load_form_text
from intakeforms.fields.hidden import HIDDEN, HIDDEN_CONTROL, HiddenField
from intakeforms.fields.registry import TYPES
from intakeforms.render import render_form_page

ORDER = """\
- {name: order, type: hidden, label: Order number, pattern: "[0-9]{4,10}", max_length: 10}
- {name: campaign, type: hidden, label: Campaign}
- {name: question, type: textarea, label: Your question, required: true}
"""


def errors(form: object, answers: dict[str, object]) -> dict[str, str]:
    with pytest.raises(InvalidAnswers) as caught:
        form.validate(answers)  # type: ignore[attr-defined]
    return {e.field: e.code for e in caught.value.errors}


# -- the model ------------------------------------------------------------------


def test_it_is_a_builtin_type_with_text_limits() -> None:
    assert TYPES["hidden"] is HIDDEN
    field = HiddenField(name="campaign", type="hidden", label={"*": "Campaign"})
    assert field.max_length == 200 and field.pattern is None and not field.required
    assert HIDDEN.when is None  # no condition may read what anyone can change
    assert HIDDEN.contact is None


# -- answers --------------------------------------------------------------------


def test_an_answer_is_a_trimmed_line_within_its_pattern_and_length() -> None:
    form = make_form(ORDER)
    answers = form.validate({"order": " 1234 ", "campaign": "spring-2026", "question": "Where?"})
    assert dict(answers) == {"order": "1234", "campaign": "spring-2026", "question": "Where?"}
    assert errors(form, {"order": "12a4", "question": "x"}) == {"order": "pattern"}
    assert errors(form, {"order": "12345678901", "question": "x"}) == {"order": "too_long"}
    assert errors(form, {"campaign": "a\nb", "question": "x"}) == {"campaign": "control_characters"}
    assert errors(form, {"campaign": "x" * 201, "question": "x"}) == {"campaign": "too_long"}
    assert errors(form, {"campaign": 5, "question": "x"}) == {"campaign": "not_text"}


def test_it_is_never_required_so_an_address_without_it_is_fine() -> None:
    form = make_form(ORDER)
    assert dict(form.validate({"question": "Where is my parcel?"})) == {
        "question": "Where is my parcel?"
    }


def test_the_schema_and_the_spec_say_the_same() -> None:
    form = make_form(ORDER)
    schema = form.json_schema()
    assert schema["properties"]["order"]["pattern"] == "^(?:[0-9]{4,10})$"
    assert schema["properties"]["order"]["maxLength"] == 10
    assert "order" not in schema.get("required", [])
    validator = checked_schema(schema)
    assert validator.is_valid({"order": "1234", "question": "x"})
    assert not validator.is_valid({"order": "12a4", "question": "x"})
    assert not validator.is_valid({"campaign": "a\nb", "question": "x"})
    order = form.spec("en")["fields"][0]
    # The widgets are told it is never asked.
    assert order["input"] == {"control": HIDDEN_CONTROL, "type": "hidden"}
    assert (order["required"], order["max_length"], order["label"]) == (False, 10, "Order number")


def test_the_page_has_a_hidden_input_not_a_question() -> None:
    form = make_form(ORDER)
    html = render_form_page(form.spec("en"), action="/x", values={"order": "1234"})
    assert '<input value="1234" id="field-order" name="order" type="hidden"' in html
    assert 'for="field-order"' not in html  # no label: nothing is asked
    assert "Order number" not in html
    assert 'for="field-question"' in html


def test_an_error_on_it_links_nowhere() -> None:
    form = make_form(ORDER)
    html = render_form_page(
        form.spec("en"),
        action="/x",
        values={"order": "12a4"},
        errors=[FieldError("order", "pattern", "Check the answer.")],
    )
    assert 'href="#field-order"' not in html
    assert "Check the answer." in html


# -- load-time errors -------------------------------------------------------------


def test_required_is_refused_where_it_is_written() -> None:
    found = problems_of(
        """\
        form: shop
        title: Shop
        fields:
          - name: order
            type: hidden
            label: Order number
            required: true
        """
    )
    assert found == [(7, 15, "invalid_value")]
    with pytest.raises(FormError) as caught:
        load_form_text(
            "form: shop\ntitle: Shop\nfields:\n"
            "  - {name: order, type: hidden, label: Order, required: true}\n",
            "shop.yaml",
        )
    (problem,) = caught.value.problems
    assert str(problem).startswith("shop.yaml:4:57: fields[0].required: a hidden question")
    assert "remove required: true" in problem.message


def test_keys_it_does_not_have_are_refused() -> None:
    found = problems_of(
        """\
        form: shop
        title: Shop
        fields:
          - name: order
            type: hidden
            label: Order number
            unit: pcs
        """
    )
    assert found == [(7, 5, "unknown_key")]


def test_an_unsafe_pattern_is_refused() -> None:
    found = problems_of(
        """\
        form: shop
        title: Shop
        fields:
          - name: order
            type: hidden
            label: Order number
            pattern: '(..)\\1'
        """
    )
    assert found == [(7, 14, "unsafe_pattern")]


def test_a_label_is_needed_for_the_agents() -> None:
    found = problems_of(
        """\
        form: shop
        title: Shop
        fields:
          - name: order
            type: hidden
        """
    )
    assert [code for _, _, code in found] == ["missing_key"]


def test_a_default_must_be_an_answer_it_takes() -> None:
    form = make_form("- {name: campaign, type: hidden, label: Campaign, default: none}")
    assert form.spec("en")["fields"][0]["default"] == "none"
    found = problems_of(
        """\
        form: shop
        title: Shop
        fields:
          - name: order
            type: hidden
            label: Order number
            pattern: "[0-9]+"
            default: abc
        """
    )
    assert [code for _, _, code in found] == ["invalid_default"]


def test_no_condition_may_read_it() -> None:
    found = problems_of(
        """\
        form: shop
        title: Shop
        fields:
          - name: campaign
            type: hidden
            label: Campaign
          - name: note
            type: text
            label: Note
            when: {campaign: spring}
        """
    )
    assert [code for _, _, code in found] == ["invalid_condition"]
