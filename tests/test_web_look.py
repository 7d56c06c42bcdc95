"""A form's look on the hosted pages: the theme's stylesheet, the site's
stylesheet setting, the pages' Content-Security-Policy, the icon, and the
redirect to the form's own thanks page, through the real app over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from web_helpers import CAR_ANSWERS, FORMS, settings_for

from intakeforms import Form
from intakeforms.errors import SettingsError
from intakeforms.load import load_form_text
from intakeforms.settings import Settings, load_settings
from intakeforms.web import create_app
from intakeforms.web.headers import content_security_policy
from intakeforms.web.look import _contrast, accent_css, page_policy
from intakeforms.web.submissions import thanks_address

THEMED = """
form: themed
title: {en: Themed}
locales: [en]
reference_prefix: THM
thanks:
  url: "https://shop.example/kiitos?from=form"
  text: {en: "Thanks! We call you today."}
theme: {accent: "#ffd400", logo: "https://cdn.example/logo.svg"}
fields:
  - name: name
    type: text
    label: {en: Name}
    required: true
"""

SAID = """
form: said
title: {en: Said}
locales: [en]
reference_prefix: SAY
thanks: {text: {en: "Thanks! We call you today."}}
fields:
  - name: name
    type: text
    label: {en: Name}
"""


def themed() -> list[Form]:
    return [load_form_text(THEMED, "themed.yaml"), load_form_text(SAID, "said.yaml"), *FORMS]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = settings_for(tmp_path, stylesheet="https://www.shop.example/forms.css")
    with TestClient(create_app(themed(), settings), follow_redirects=False) as http:
        yield http


def token_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(_[a-z]+)" value="([^"]*)"', html))


# -- the accent ------------------------------------------------------------------------


@pytest.mark.parametrize("accent", ["#0b5fff", "#ffd400", "#ffffff", "#000000", "#00A0E0"])
def test_the_accent_always_reads_on_white_and_under_white_text(accent: str) -> None:
    css = accent_css(accent)
    found = re.search(r"--intake-accent: (#[0-9a-f]{6});", css)
    assert found is not None
    assert _contrast(found.group(1), "#ffffff") >= 4.5
    assert "--intake-accent-hover" in css and "--intake-accent-text: #ffffff" in css


def test_a_dark_enough_accent_is_kept() -> None:
    assert "--intake-accent: #0b5fff;" in accent_css("#0B5FFF")


@pytest.mark.parametrize("bad", ["red", "#fff", "#0b5fff;}body{", "url(x)"])
def test_an_accent_that_is_not_a_colour_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a colour"):
        accent_css(bad)


# -- the policy ------------------------------------------------------------------------


def test_the_policy_opens_only_the_origins_a_form_needs() -> None:
    form = load_form_text(THEMED, "themed.yaml")
    settings = Settings(stylesheet="https://www.shop.example/forms.css")
    policy = page_policy(form, settings)["content-security-policy"]
    assert "img-src 'self' data: https://cdn.example;" in policy
    assert "style-src 'self' https://www.shop.example;" in policy
    assert "form-action 'self' https://shop.example;" in policy
    assert "script-src 'self';" in policy
    plain = page_policy(FORMS[0], Settings())["content-security-policy"]
    assert plain == content_security_policy("'self'")


def test_thanks_address_keeps_the_query() -> None:
    assert thanks_address("https://x.example/k?a=1", "CAR-1") == (
        "https://x.example/k?a=1&reference=CAR-1"
    )
    assert thanks_address("https://x.example/k", "CAR-1") == "https://x.example/k?reference=CAR-1"


# -- the setting -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["/static/site.css", "https://www.example.com/forms.css"])
def test_stylesheet_setting(value: str) -> None:
    assert load_settings({"INTAKE_STYLESHEET": value}).stylesheet == value


@pytest.mark.parametrize("value", ["site.css", "http://x.example/a.css", "javascript:x", "/a b"])
def test_stylesheet_setting_says_what_to_write(value: str) -> None:
    with pytest.raises(SettingsError, match=r"INTAKE_STYLESHEET=.*path on this site"):
        load_settings({"INTAKE_STYLESHEET": value})


# -- over HTTP -------------------------------------------------------------------------


def test_the_form_page_links_its_theme_and_says_its_policy(
    client: TestClient,
) -> None:
    page = client.get("/forms/themed")
    assert page.status_code == 200
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page.text)
    assert links[0] == "/assets/form.css"
    assert re.fullmatch(r"/forms/themed/theme\.css\?v=[0-9a-f]{12}", links[1])
    assert links[2] == "https://www.shop.example/forms.css"
    assert 'src="https://cdn.example/logo.svg"' in page.text
    policy = page.headers["content-security-policy"]
    assert "form-action 'self' https://shop.example;" in policy
    css = client.get(links[1])
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "--intake-accent:" in css.text
    assert "max-age" in css.headers["cache-control"]
    # A form without a theme has no such stylesheet.
    assert client.get("/forms/car-service/theme.css").status_code == 404
    assert client.get("/forms/nothing/theme.css").status_code == 404


def test_favicon_ico_is_the_svg_icon(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")


def test_a_browser_is_sent_to_the_forms_own_thanks_page(
    client: TestClient,
) -> None:
    page = client.get("/forms/themed")
    sent = client.post("/forms/themed/submissions", data={**token_of(page.text), "name": "Matti"})
    assert sent.status_code == 303
    location = sent.headers["location"]
    assert re.fullmatch(
        r"https://shop\.example/kiitos\?from=form&reference=THM-[0-9A-Z]{6}", location
    )
    # An API client still gets its reference as JSON.
    api = client.post("/forms/themed/submissions", json={"name": "Matti"})
    assert api.status_code == 201 and api.json()["reference"].startswith("THM-")


def test_a_thanks_text_is_said_on_the_services_thanks_page(
    client: TestClient,
) -> None:
    page = client.get("/forms/said")
    sent = client.post("/forms/said/submissions", data={**token_of(page.text), "name": "Matti"})
    assert sent.status_code == 201
    assert "Thanks! We call you today." in sent.text
    assert "We have received your message" not in sent.text


def test_car_service_answers_still_thank_as_before(client: TestClient) -> None:
    page = client.get("/forms/car-service?lang=en")
    answers = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in CAR_ANSWERS.items()}
    sent = client.post(
        "/forms/car-service/submissions?lang=en", data={**token_of(page.text), **answers}
    )
    assert sent.status_code == 201
    assert "We have received your message" in sent.text
