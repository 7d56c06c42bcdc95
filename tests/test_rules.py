"""Author mistakes: each reported with its code and file:line:col."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import form_yaml, make_form, problems_of

from intakeforms import FormError, InvalidAnswers, load_form_text
from intakeforms.cli import main
from intakeforms.fields.choice import ChoiceField
from intakeforms.fields.numbers import IntegerField

BASE = """\
form: car-service
title: {en: Car service, fi: Huolto}
locales: [fi, en]
fields:
"""


def test_unknown_key_suggests_the_right_one() -> None:
    text = BASE + "  - name: plate\n    type: text\n    lable: {en: P, fi: R}\n"
    try:
        load_form_text(text, "car.yaml")
    except FormError as exc:
        (problem,) = exc.problems
        assert str(problem) == (
            "car.yaml:7:5: fields[0].lable: unknown key 'lable' (did you mean 'label'?)"
        )
    else:
        raise AssertionError("loaded a form with an unknown key")


def test_unknown_top_level_key() -> None:
    assert problems_of(BASE.replace("locales", "locale") + "  - {name: a, type: text, label: A}\n")[
        :1
    ] == [(3, 1, "unknown_key")]


def test_unknown_field_type_suggests() -> None:
    text = BASE + "  - name: email\n    type: emial\n    label: E\n"
    try:
        load_form_text(text, "car.yaml")
    except FormError as exc:
        (problem,) = exc.problems
        assert (problem.line, problem.column, problem.code) == (6, 11, "unknown_field_type")
        assert "did you mean 'email'?" in problem.message
    else:
        raise AssertionError


def test_missing_type_and_label() -> None:
    found = problems_of(BASE + "  - name: a\n    label: A\n  - name: b\n    type: text\n")
    assert (5, 5, "missing_key") in found
    assert (7, 5, "missing_key") in found


def test_duplicate_field_names() -> None:
    found = problems_of(
        BASE + "  - {name: a, type: text, label: A}\n  - {name: a, type: text, label: B}\n"
    )
    assert found == [(6, 12, "duplicate_field")]


def test_duplicate_yaml_keys() -> None:
    assert problems_of(BASE + "  - name: a\n    name: b\n    type: text\n    label: A\n") == [
        (6, 5, "duplicate_key")
    ]


def test_when_naming_unknown_field() -> None:
    text = BASE + (
        "  - {name: service, type: choice, label: S, choices: {repair: R}}\n"
        "  - {name: notes, type: text, label: N, when: {servise: repair}}\n"
    )
    found = problems_of(text)
    assert found == [(6, 48, "unknown_field_reference")]


def test_when_message_suggests_field() -> None:
    text = form_yaml(
        """
        - {name: service, type: choice, label: S, choices: {repair: R}}
        - {name: notes, type: text, label: N, when: {servise: repair}}
        """
    )
    try:
        load_form_text(text, "t.yaml")
    except FormError as exc:
        assert "did you mean 'service'?" in exc.problems[0].message
    else:
        raise AssertionError


def test_when_with_unknown_choice_and_operator() -> None:
    text = form_yaml(
        """
        - {name: service, type: choice, label: S, choices: {repair: R, annual: A}}
        - {name: km, type: integer, label: K}
        - {name: a, type: text, label: A, when: {service: repiar}}
        - {name: b, type: text, label: B, when: {km: {gte: many}}}
        - {name: c, type: text, label: C, when: {km: {over: 5}}}
        - {name: d, type: text, label: D, when: {a: x}}
        - {name: e, type: text, label: E, when: {service: {gt: repair}}}
        """
    )
    codes = _problems(text)
    assert [c for _, c, _ in codes] == ["invalid_condition"] * 5
    assert "did you mean 'repair'?" in codes[0][2]
    assert "'over'" in codes[2][2]
    assert "text" in codes[3][2]


def _problems(text: str) -> list[tuple[int, str, str]]:
    try:
        load_form_text(text, "t.yaml")
    except FormError as exc:
        return [(p.line, p.code, p.message) for p in exc.problems]
    raise AssertionError("the form loaded")


def test_condition_cycle() -> None:
    text = form_yaml(
        """
        - {name: a, type: boolean, label: A, when: {b: true}}
        - {name: b, type: boolean, label: B, when: {a: true}}
        """
    )
    assert [c for _, c, _ in _problems(text)] == ["condition_cycle"]


def test_summary_naming_unknown_field() -> None:
    text = form_yaml("- {name: plate, type: text, label: P}", summary='"{plate} {modle}"')
    ((line, code, message),) = _problems(text)
    assert (line, code) == (4, "unknown_field_reference")
    assert "{modle}" in message


def test_choice_without_choices() -> None:
    assert [
        c for _, c, _ in _problems(form_yaml("- {name: a, type: choice, label: A, choices: {}}"))
    ] == ["no_choices"]


def test_min_over_max() -> None:
    text = form_yaml(
        """
        - {name: a, type: integer, label: A, min: 10, max: 5}
        - {name: b, type: text, label: B, min_length: 10, max_length: 5}
        - {name: c, type: date, label: C, min: 2026-02-01, max: 2026-01-01}
        - {name: d, type: time, label: D, min: "17:00", max: "08:00"}
        """
    )
    assert [c for _, c, _ in _problems(text)] == ["min_over_max"] * 4


def test_missing_translation_and_unknown_locales() -> None:
    text = BASE + "  - name: a\n    type: text\n    label: {en: A, sv: B}\n"
    found = problems_of(text)
    assert (7, 20, "unknown_locale") in found  # sv is not one of the form's locales
    assert (7, 12, "missing_translation") in found  # fi is missing
    assert problems_of(
        BASE.replace("[fi, en]", "[fi, en, xx]") + "  - {name: a, type: text, label: A}\n"
    ) == [(3, 19, "unknown_locale")]


def test_id_that_is_not_a_slug() -> None:
    assert problems_of(
        "form: Car_Service\ntitle: T\nfields: [{name: a, type: text, label: A}]\n"
    ) == [(1, 7, "invalid_slug")]


def test_bad_field_name() -> None:
    found = problems_of("form: a\ntitle: T\nfields: [{name: First Name, type: text, label: A}]\n")
    assert found == [(3, 17, "invalid_name")]


def test_unsafe_and_invalid_patterns() -> None:
    text = form_yaml(
        r"""
        - {name: a, type: text, label: A, pattern: '(a)\1'}
        - {name: b, type: text, label: B, pattern: '(?=a)a'}
        - {name: c, type: text, label: C, pattern: '[a-'}
        """
    )
    assert [c for _, c, _ in _problems(text)] == [
        "unsafe_pattern",
        "unsafe_pattern",
        "invalid_pattern",
    ]


def test_yaml_11_values_stay_strings_where_strings_are_meant() -> None:
    form = make_form(
        """
        - name: answer
          type: choice
          label: NO
          choices: {NO: Norway, 0123: Code, "12:30": Lunch}
          default: NO
        - {name: zip, type: postal_code, region: FI, label: Zip, default: 00100}
        """
    )
    field = form.fields["answer"]
    assert isinstance(field, ChoiceField)
    assert list(field.choices) == ["NO", "0123", "12:30"]
    assert field.label == {"*": "NO"}
    assert form.analysis.defaults == {"answer": "NO", "zip": "00100"}


def test_numbers_and_booleans_where_meant() -> None:
    form = make_form("- {name: km, type: integer, label: K, min: 0, max: 2000000, required: yes}")
    field = form.fields["km"]
    assert isinstance(field, IntegerField)
    assert (field.min, field.max, field.required) == (0, 2_000_000, True)


def test_invalid_default_is_reported() -> None:
    text = form_yaml("- {name: km, type: integer, label: K, max: 10, default: 20}")
    assert [c for _, c, _ in _problems(text)] == ["invalid_default"]


def test_bad_values_say_what_to_write() -> None:
    text = form_yaml("- {name: km, type: integer, label: K, required: maybe, max: lots}")
    messages = [m for _, _, m in _problems(text)]
    assert any("write true or false" in m for m in messages)
    assert any("integer" in m for m in messages)


def test_unknown_region() -> None:
    text = form_yaml("- {name: p, type: plate, label: P, region: XX}")
    ((_, code, message),) = _problems(text)
    assert code == "unknown_region" and "FI" in message


def test_delivery_targets_checked() -> None:
    text = form_yaml(
        "- {name: a, type: text, label: A}",
        deliver=(
            "[{email: {to: [not-an-address], locale: de}},"
            " {webhook: {url: ftp://x, secret_env: my secret}}, {}]"
        ),
    )
    codes = [c for _, c, _ in _problems(text)]
    assert codes.count("invalid_value") == 3
    assert "unknown_locale" in codes and "invalid_target" in codes


def test_every_problem_is_reported_at_once() -> None:
    text = BASE + (
        "  - {name: a, type: integer, label: {en: A}, min: 5, max: 1}\n"
        "  - {name: a, type: choice, label: {en: B, fi: B}, choices: {}}\n"
    )
    assert len(problems_of(text)) == 4


def test_a_form_is_a_map() -> None:
    assert problems_of("- a\n- b\n") == [(1, 1, "not_a_form")]


def test_date_bounds_and_file_limits() -> None:
    text = form_yaml(
        """
        - {name: d, type: date, label: D, min: tomorrow}
        - {name: f, type: file, label: F, max_size: lots, accept: [images]}
        - {name: t, type: time, label: T, max: "25:00"}
        """
    )
    assert [c for _, c, _ in _problems(text)] == ["invalid_value"] * 4


def test_pattern_that_only_some_engines_read() -> None:
    # RE2 reads \p{L}; Python's engine (used by JSON Schema validators) does not.
    text = form_yaml(r"- {name: a, type: text, label: A, pattern: '\p{L}+'}")
    assert [c for _, c, _ in _problems(text)] == ["invalid_pattern"]


def test_texts_must_not_be_empty_or_lists() -> None:
    text = form_yaml(
        """
        - {name: a, type: text, label: " "}
        - {name: b, type: text, label: {en: ""}}
        """
    )
    assert [c for _, c, _ in _problems(text)] == ["empty_text", "empty_text"]
    ((_, code, message),) = _problems(form_yaml("- {name: a, type: text, label: [A, B]}"))
    assert code == "invalid_value"
    assert "map from locale to text" in message


def test_one_reply_to_only() -> None:
    text = form_yaml(
        """
        - {name: a, type: email, label: A, role: reply_to}
        - {name: b, type: email, label: B, role: reply_to}
        """
    )
    assert [c for _, c, _ in _problems(text)] == ["duplicate_role"]


def test_summary_templates() -> None:
    field = "- {name: a, type: text, label: A}"
    assert [c for _, c, _ in _problems(form_yaml(field, summary='"{a:>10}"'))] == ["invalid_value"]
    assert [c for _, c, _ in _problems(form_yaml(field, summary='"{a"'))] == ["invalid_value"]
    assert make_form(field, summary='"{{literal}} {a}"').definition.summary == "{{literal}} {a}"


def test_conditions_on_consent_and_values() -> None:
    form = make_form(
        """
        - {name: ok, type: consent, label: OK}
        - {name: why, type: text, label: Why, when: {ok: false}}
        """
    )
    assert dict(form.validate({"ok": True})) == {"ok": True}
    text = form_yaml(
        """
        - {name: ok, type: boolean, label: OK}
        - {name: a, type: text, label: A, when: {ok: [[true]]}}
        - {name: b, type: text, label: B, when: {ok: maybe}}
        - {name: c, type: text, label: C, when: {ok: {in: [true, maybe]}}}
        """
    )
    assert [c for _, c, _ in _problems(text)] == ["invalid_condition"] * 3


def test_multichoice_min_beyond_choices() -> None:
    text = form_yaml("- {name: m, type: multichoice, label: M, choices: {a: A}, min: 2}")
    assert [c for _, c, _ in _problems(text)] == ["min_over_max"]


def test_duplicate_locale() -> None:
    text = form_yaml("- {name: a, type: text, label: A}", locales="[en, en]")
    assert [c for _, c, _ in _problems(text)] == ["duplicate_locale"]


def test_blank_choice_key() -> None:
    text = form_yaml('- {name: c, type: choice, label: C, choices: {" ": Blank}}')
    assert [c for _, c, _ in _problems(text)] == ["invalid_value"]


def test_bad_reference_prefix() -> None:
    text = form_yaml("- {name: a, type: text, label: A}", reference_prefix="car")
    ((_, code, message),) = _problems(text)
    assert code == "invalid_value"
    assert "capital letters" in message


def test_patterns_that_browsers_or_python_read_differently() -> None:
    text = form_yaml(
        """
        - {name: a, type: text, label: A, pattern: '[[:alpha:]]+'}
        - {name: b, type: text, label: B, pattern: '(?i)abc'}
        - {name: c, type: text, label: C, pattern: '(?P<x>a)'}
        - {name: d, type: text, label: D, pattern: '[a-'}
        - {name: e, type: text, label: E, pattern: 'a{2,1}'}
        """
    )
    assert [c for _, c, _ in _problems(text)] == ["invalid_pattern"] * 5


def test_misspelt_type_key() -> None:
    ((_, code, message),) = _problems(form_yaml("- {name: a, typ: text, label: A}"))
    assert code == "unknown_key"
    assert "did you mean 'type'?" in message


def test_misspelt_key_in_a_helpdesk_target() -> None:
    text = form_yaml(
        "- {name: a, type: text, label: A}",
        deliver="[{zendesk: {subdomain: acme, email: a@acme.example, token_evn: ZT}}]",
    )
    ((_, code, message),) = _problems(text)
    assert code == "unknown_key"
    assert "did you mean 'token_env'?" in message


INTERNAL = [
    "service@garage.local",
    "service@garage.internal",
    "service@garage.lan",
    "service@garage.home.arpa",
    "service@garage.localhost",
    "service@garage.test",
    "root@localhost",
    "postmaster@mailhost",
]


def test_agents_on_internal_domains_pass_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: `intakeforms check` said "not an email address" for .local,
    # .home.arpa, .localhost, .test and one-label hosts.
    addresses = ", ".join(INTERNAL)
    text = form_yaml(
        "- {name: email, type: email, role: reply_to, label: Email}",
        deliver=(
            f"[{{email: {{to: [{addresses}], cc: [Team@Garage.Local]}}}}, "
            "{zendesk: {url: 'https://help.garage.local', email: agent@garage.local, "
            "token_env: ZENDESK_TOKEN}}]"
        ),
    )
    path = tmp_path / "internal.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["check", str(path)]) == 0, capsys.readouterr().err
    form = load_form_text(text, "internal.yaml")
    target = form.definition.deliver[0].email
    assert target is not None and target.to == INTERNAL


@pytest.mark.parametrize(
    "address",
    [
        "service at garage.local",
        "service@garage..local",
        "service@-garage.local",
        "service@.local",
        "service@garage.invalid",
        "service@garage.onion",
        "service@1.0.0.127.in-addr.arpa",
        "service@garage.local\nBcc: x@example.com",
    ],
)
def test_agent_addresses_are_still_checked(address: str) -> None:
    text = form_yaml(
        "- {name: a, type: text, label: A}", deliver=f"[{{email: {{to: [{json.dumps(address)}]}}}}]"
    )
    [(_, _, code)] = problems_of(text)
    assert code == "invalid_value"


@pytest.mark.parametrize("address", ["x@garage.local", "x@garage.localhost", "x@mailhost"])
def test_customers_on_internal_domains_are_still_refused(address: str) -> None:
    form = make_form("- {name: email, type: email, label: Email}")
    with pytest.raises(InvalidAnswers) as caught:
        form.validate({"email": address})
    assert [(e.field, e.code) for e in caught.value.errors] == [("email", "invalid_email")]


@pytest.mark.parametrize(
    ("yaml_text", "says"),
    [
        (
            "form: x\ntitle: X\nlocales: fi\nfields:\n  - {name: a, type: text, label: A}\n",
            "locales: locales takes a list: write locales: [fi, en], or each item on a "
            "line of its own below, indented and starting with '- '",
        ),
        (
            "form: x\ntitle: X\nfields:\n  name: a\n  type: text\n  label: A\n",
            "fields: fields takes a list: write fields: [{name: email, type: email, "
            "label: Email}], or each item",
        ),
        (
            "form: x\ntitle: X\nfields:\n  - {name: a, type: choice, label: A, choices: [a, b]}\n",
            "fields[0].choices: choices takes a map from key to text: write choices: "
            "{yes: Yes, no: No}",
        ),
    ],
)
def test_a_list_or_map_mistake_shows_what_to_write(yaml_text: str, says: str) -> None:
    with pytest.raises(FormError) as caught:
        load_form_text(yaml_text, "f.yaml")
    (problem,) = caught.value.problems
    assert problem.code == "invalid_value"
    assert problem.message.startswith(says)
