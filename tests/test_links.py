"""Signed links: prefilled forms, portal JWTs, status pages and drafts."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import pickle
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from intakeforms import (
    Form,
    InvalidAnswers,
    LinkClaims,
    LinkDamaged,
    LinkError,
    LinkExpired,
    load_form,
    load_form_text,
    load_settings,
    make_link,
    parse_duration,
    read_token,
)
from intakeforms.links import (
    DRAFT_DAYS,
    LinkMaker,
    PortalKey,
    make_draft_token,
    make_status_token,
    make_token,
    read_draft_token,
    read_status_token,
)

ROOT = Path(__file__).resolve().parent.parent
SECRET = "the-service-secret-of-at-least-32-characters"
OLD = "the-secret-before-it-was-changed-last-spring"
PORTAL_SECRET = "a-shared-secret-with-the-portal-of-32-bytes+"
NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
VALUES = {
    "plate": "abc123",
    "model": "Toyota Corolla",
    "email": "matti@example.com",
    "service": "annual",
}


@pytest.fixture(scope="module")
def car() -> Form:
    return load_form(ROOT / "examples" / "car-service" / "car-service.yaml")


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


# -- made and read back ------------------------------------------------------------


def test_a_link_opens_its_form_with_the_values_normalised_and_locked(car: Form) -> None:
    url = make_link(
        car, VALUES, secret=SECRET, lock=["plate"], base_url="https://forms.example.com/"
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "forms.example.com",
        "/forms/car-service",
    )
    claims = read_token(token_of(url), "car-service", secrets=[SECRET])
    assert claims == LinkClaims(
        "car-service", {**VALUES, "plate": "ABC-123"}, ("plate",), None, None
    )
    # Relative without a base: the path the service serves.
    assert make_link(car, VALUES, secret=SECRET).startswith("/forms/car-service?t=")


def test_a_token_shows_neither_secret_nor_values_in_its_repr_or_errors(car: Form) -> None:
    token = token_of(make_link(car, VALUES, secret=SECRET))
    claims = read_token(token, "car-service", secrets=[SECRET])
    assert "matti" not in repr(claims) and "ABC-123" not in repr(claims)
    with pytest.raises(LinkDamaged) as caught:
        read_token(token[:-3] + "AAA", "car-service", secrets=[SECRET])
    assert token[:20] not in str(caught.value)
    assert "matti" not in str(caught.value)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature
        lambda t: ("X" if t[0] != "X" else "Y") + t[1:],  # the payload
        lambda t: t[: len(t) // 2],  # cut short, as a mail program may wrap it
        lambda t: t.replace(".", ""),
        lambda t: "not-a-token",
        lambda t: "",
        lambda t: "x" * 20_000,
    ],
)
def test_a_tampered_token_is_damaged(car: Form, change: object) -> None:
    token = token_of(make_link(car, VALUES, secret=SECRET))
    with pytest.raises(LinkDamaged) as caught:
        read_token(change(token), "car-service", secrets=[SECRET])  # type: ignore[operator]
    assert caught.value.reason in ("signature", "malformed")
    assert isinstance(caught.value, LinkError)


def test_values_changed_and_signed_again_with_another_secret_are_damaged(car: Form) -> None:
    forged = make_token("car-service", {"plate": "ZZZ-999"}, secret="someone-elses-secret")
    with pytest.raises(LinkDamaged, match="signature"):
        read_token(forged, "car-service", secrets=[SECRET])


def test_a_token_for_one_form_is_damaged_for_another(car: Form) -> None:
    token = token_of(make_link(car, {"email": "matti@example.com"}, secret=SECRET))
    with pytest.raises(LinkDamaged):
        read_token(token, "product-return", secrets=[SECRET])


def test_an_expired_link_says_when_it_expired(car: Form) -> None:
    token = make_token(
        "car-service", {"plate": "ABC-123"}, secret=SECRET, expires=parse_duration("7d"), now=NOW
    )
    day_before = NOW + dt.timedelta(days=6, hours=23)
    assert read_token(token, "car-service", secrets=[SECRET], now=day_before).expires == (
        NOW + dt.timedelta(days=7)
    )
    with pytest.raises(LinkExpired) as caught:
        read_token(token, "car-service", secrets=[SECRET], now=NOW + dt.timedelta(days=7))
    assert caught.value.expired_at == NOW + dt.timedelta(days=7)
    assert "2026-03-09 09:30 UTC" in str(caught.value)
    # A damaged token is damaged, however old: expiry is read only once it is genuine.
    with pytest.raises(LinkDamaged):
        read_token(token + "x", "car-service", secrets=[SECRET], now=NOW + dt.timedelta(days=30))


def test_a_link_made_now_expires_from_now(car: Form) -> None:
    url = make_link(car, VALUES, secret=SECRET, expires=dt.timedelta(minutes=15))
    expires = read_token(token_of(url), "car-service", secrets=[SECRET]).expires
    assert expires is not None
    assert dt.timedelta(minutes=14) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=15)


def test_a_single_use_link_carries_its_own_id(car: Form) -> None:
    first = read_token(
        token_of(make_link(car, VALUES, secret=SECRET, once=True)), "car-service", secrets=[SECRET]
    )
    second = read_token(
        token_of(make_link(car, VALUES, secret=SECRET, once=True)), "car-service", secrets=[SECRET]
    )
    assert first.jti is not None and re.fullmatch(r"[0-9a-f]{32}", first.jti)
    assert second.jti != first.jti
    plain = read_token(
        token_of(make_link(car, VALUES, secret=SECRET)), "car-service", secrets=[SECRET]
    )
    assert plain.jti is None


def test_rotation_the_first_secret_signs_and_every_one_verifies(car: Form) -> None:
    before = load_settings({"INTAKE_SECRET": OLD})
    old_link = make_link(car, VALUES, secret=before.secret)
    after = load_settings({"INTAKE_SECRET": f"{SECRET},{OLD}"})
    assert after.secret == SECRET and after.secrets == (SECRET, OLD)
    # Links sent before the change still work ...
    assert read_token(token_of(old_link), "car-service", secrets=after.secrets).values
    # ... new ones are signed with the new secret ...
    new_link = make_link(car, VALUES, secret=after.secret)
    read_token(token_of(new_link), "car-service", secrets=[SECRET])
    with pytest.raises(LinkDamaged):
        read_token(token_of(new_link), "car-service", secrets=[OLD])
    # ... and once the old secret is taken off the list, the old links stop.
    with pytest.raises(LinkDamaged):
        read_token(
            token_of(old_link),
            "car-service",
            secrets=load_settings({"INTAKE_SECRET": SECRET}).secrets,
        )


def test_claims_of_a_genuine_token_with_the_wrong_shape_are_damaged() -> None:
    from intakeforms.links.base import serializer

    sign = serializer("intakeforms.link:car-service", [SECRET]).dumps
    payload: object
    for payload in (
        ["not", "a", "dict"],
        {"f": "car-service", "d": "plate=ABC-123", "l": [], "e": None, "j": None},
        {"f": "car-service", "d": {"plate": "ABC-123"}, "l": ["model"], "e": None, "j": None},
        {"f": "car-service", "d": {}, "l": [], "e": "tomorrow", "j": None},
        {"f": "car-service", "d": {}, "l": [], "e": None, "j": 7},
        {"f": "billing-question", "d": {}, "l": [], "e": None, "j": None},
    ):
        with pytest.raises(LinkDamaged):
            read_token(str(sign(payload)), "car-service", secrets=[SECRET])


# -- the values a link gives --------------------------------------------------------


def test_an_invalid_value_is_refused_naming_its_field(car: Form) -> None:
    with pytest.raises(InvalidAnswers) as caught:
        make_link(car, {**VALUES, "plate": "12", "mileage": "lots"}, secret=SECRET)
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("plate", "invalid_plate"),
        ("mileage", "not_integer"),
    ]
    assert "lots" not in str(caught.value)


def test_an_unknown_question_is_refused(car: Form) -> None:
    with pytest.raises(InvalidAnswers) as caught:
        make_link(car, {"plat": "ABC-123"}, secret=SECRET)
    assert [(e.field, e.code) for e in caught.value.errors] == [("plat", "unknown_field")]


def test_only_the_given_values_are_checked(car: Form) -> None:
    # Required questions left out are the customer's to answer; a blank value
    # is left out of the link; a question asked only for repairs may be given.
    url = make_link(
        car, {"plate": "abc-123", "phone": "", "symptoms": "Brakes squeal"}, secret=SECRET
    )
    assert read_token(token_of(url), "car-service", secrets=[SECRET]).values == {
        "plate": "ABC-123",
        "symptoms": "Brakes squeal",
    }


def test_lock_names_given_values_only(car: Form) -> None:
    with pytest.raises(ValueError, match="cannot lock 'model'"):
        make_link(car, {"plate": "ABC-123"}, secret=SECRET, lock=["model"])
    with pytest.raises(ValueError, match="cannot lock 'phone'"):
        make_link(car, {"plate": "ABC-123", "phone": " "}, secret=SECRET, lock=["phone"])


def test_a_link_never_carries_a_file_or_a_sensitive_answer() -> None:
    form = load_form_text(
        "form: claim\ntitle: Claim\nlocales: [en]\nfields:\n"
        "  - {name: name, type: text, label: Name}\n"
        "  - {name: hetu, type: national_id, region: FI, label: Id}\n"
        "  - {name: notes, type: text, label: Health, sensitive: true}\n"
        "  - {name: photo, type: file, label: Photo}\n"
    )
    for name, value in (("hetu", "131052-308T"), ("notes", "asthma"), ("photo", "x.png")):
        with pytest.raises(ValueError, match=f"cannot give '{name}'") as caught:
            make_link(form, {"name": "Ann", name: value}, secret=SECRET)
        assert value not in str(caught.value)


def test_many_links_from_one_maker(car: Form) -> None:
    maker = LinkMaker(car, secret=SECRET, base_url="https://forms.example.com")
    links = [maker.link({"plate": f"ABC-{n}"}, lock=["plate"], once=True) for n in range(1, 51)]
    read = [read_token(token_of(u), "car-service", secrets=[SECRET]) for u in links]
    assert [c.values["plate"] for c in read] == [f"ABC-{n}" for n in range(1, 51)]
    assert len({c.jti for c in read}) == 50
    with pytest.raises(ValueError, match="INTAKE_SECRET"):
        LinkMaker(car, secret="")


# -- durations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", dt.timedelta(seconds=30)),
        ("15m", dt.timedelta(minutes=15)),
        ("12h", dt.timedelta(hours=12)),
        ("7d", dt.timedelta(days=7)),
        (" 90d ", dt.timedelta(days=90)),
    ],
)
def test_durations(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["7", "7w", "0d", "-1d", "1.5h", "d", "", "7 days", "99999d"])
def test_durations_that_are_not(text: str) -> None:
    with pytest.raises(ValueError, match=r"30s|3650d"):
        parse_duration(text)


# -- a portal's JWTs ------------------------------------------------------------------


def portal_token(key: object, algorithm: str = "HS256", **claims: object) -> str:
    body = {
        "form": "car-service",
        "data": {"plate": "ABC-123", "email": "matti@example.com"},
        "lock": ["plate"],
        "aud": "intake",
        "iss": "https://portal.example.com",
        "exp": int((NOW + dt.timedelta(hours=1)).timestamp()),
        **claims,
    }
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=algorithm)  # type: ignore[arg-type]


HS_PORTAL = PortalKey(PORTAL_SECRET, "intake", "https://portal.example.com")


def read_portal(token: str, portal: PortalKey = HS_PORTAL) -> LinkClaims:
    return read_token(token, "car-service", secrets=[SECRET], portal=portal, now=NOW)


def test_a_portal_jwt_gives_its_values_lock_and_id() -> None:
    claims = read_portal(portal_token(PORTAL_SECRET, jti="order-1234"))
    assert claims.values == {"plate": "ABC-123", "email": "matti@example.com"}
    assert (claims.locked, claims.jti) == (("plate",), "order-1234")
    assert claims.expires == NOW + dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "someone-else"}, "audience"),
        ({"aud": None}, "audience"),
        ({"iss": "https://evil.example.com"}, "issuer"),
        ({"iss": None}, "issuer"),
        ({"form": "product-return"}, "form"),
        ({"lock": ["model"]}, "malformed"),
        ({"data": ["plate"]}, "malformed"),
    ],
)
def test_a_portal_jwt_must_be_for_us_and_this_form(claims: dict[str, Any], reason: str) -> None:
    with pytest.raises(LinkDamaged) as caught:
        read_portal(portal_token(PORTAL_SECRET, **claims))
    assert caught.value.reason == reason


def test_a_portal_jwt_not_valid_yet_is_damaged() -> None:
    # pyjwt reads nbf against the clock, with a minute's leeway for the portal's.
    soon = int(dt.datetime.now(dt.UTC).timestamp()) + 7200
    with pytest.raises(LinkDamaged) as caught:
        read_portal(portal_token(PORTAL_SECRET, nbf=soon))
    assert caught.value.reason == "not_yet"


def test_an_expired_portal_jwt_is_expired() -> None:
    token = portal_token(PORTAL_SECRET, exp=int((NOW - dt.timedelta(minutes=1)).timestamp()))
    with pytest.raises(LinkExpired):
        read_portal(token)


def test_a_portal_jwt_signed_with_another_key_or_algorithm_is_damaged() -> None:
    with pytest.raises(LinkDamaged, match="signature"):
        read_portal(portal_token("another-portals-secret-also-32-bytes-long"))
    with pytest.raises(LinkDamaged, match="algorithm"):
        read_portal(portal_token(PORTAL_SECRET * 2, algorithm="HS512"))  # HS512 wants 64 bytes
    unsigned = jwt.encode({"form": "car-service", "data": {}}, None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(LinkDamaged, match="algorithm"):
        read_portal(unsigned)


def test_without_a_portal_key_a_jwt_is_damaged() -> None:
    with pytest.raises(LinkDamaged) as caught:
        read_token(portal_token(PORTAL_SECRET), "car-service", secrets=[SECRET])
    assert caught.value.reason == "portal"
    assert "INTAKE_PORTAL_JWT_KEY" in str(caught.value)


def pem(public: object) -> str:
    return public.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def hs256_by_hand(key: bytes) -> str:
    """A JWT signed HS256 with ``key``, which pyjwt itself refuses to make
    when the key is a PEM public key (the algorithm-confusion attack)."""

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"form": "car-service", "data": {}, "aud": "intake"}).encode())
    signature = b64(hmac.new(key, header + b"." + body, hashlib.sha256).digest())
    return (header + b"." + body + b"." + signature).decode()


def test_a_portal_signs_with_its_private_key_and_we_verify_with_the_public_one() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    portal = PortalKey(pem(private.public_key()), "intake", "https://portal.example.com")
    assert portal.algorithms == ("RS256", "RS384", "RS512")
    assert read_portal(portal_token(private, "RS256"), portal).values["plate"] == "ABC-123"
    # Another portal's key, and the old trick of signing HS256 with the public key.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(LinkDamaged, match="signature"):
        read_portal(portal_token(other, "RS256"), portal)
    with pytest.raises(LinkDamaged, match="algorithm"):
        read_portal(hs256_by_hand(pem(private.public_key()).encode()), portal)


def test_an_ec_portal_key_takes_its_curves_algorithm() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    portal = PortalKey(pem(private.public_key()))
    assert portal.algorithms == ("ES256",)
    token = portal_token(private, "ES256", aud=None, iss=None)
    assert read_portal(token, portal).locked == ("plate",)
    with pytest.raises(LinkDamaged, match="audience"):
        read_portal(portal_token(private, "ES256", iss=None), portal)  # an aud we never asked for


def test_portal_keys_from_settings() -> None:
    assert PortalKey.from_settings(load_settings({})) is None
    settings = load_settings(
        {"INTAKE_PORTAL_JWT_KEY": PORTAL_SECRET, "INTAKE_PORTAL_JWT_AUDIENCE": "intake"}
    )
    portal = PortalKey.from_settings(settings)
    assert portal is not None and (portal.audience, portal.issuer) == ("intake", None)
    assert PORTAL_SECRET not in repr(portal)


# -- status pages and drafts ----------------------------------------------------------


def test_a_status_token_is_bound_to_its_reference() -> None:
    token = make_status_token("CAR-4F7K2Q", secret=SECRET)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    read_status_token(token, "CAR-4F7K2Q", secrets=[SECRET])
    read_status_token(token, "CAR-4F7K2Q", secrets=[OLD, SECRET])  # rotation
    for reference, secrets, given in (
        ("CAR-4F7K2R", [SECRET], token),
        ("CAR-4F7K2Q", [OLD], token),
        ("CAR-4F7K2Q", [SECRET], token[:-1]),
        ("CAR-4F7K2Q", [SECRET], "ä" * 43),
        ("CAR-4F7K2Q", [SECRET], ""),
    ):
        with pytest.raises(LinkDamaged):
            read_status_token(given, reference, secrets=secrets)


def test_a_draft_token_holds_its_id_for_its_form_for_seven_days() -> None:
    draft = "0123456789abcdef0123456789abcdef"
    token = make_draft_token(draft, "car-service", secret=OLD, now=NOW)
    later = NOW + dt.timedelta(days=DRAFT_DAYS) - dt.timedelta(seconds=1)
    assert read_draft_token(token, "car-service", secrets=[SECRET, OLD], now=later) == draft
    with pytest.raises(LinkExpired):
        read_draft_token(token, "car-service", secrets=[OLD], now=NOW + dt.timedelta(days=7))
    with pytest.raises(LinkDamaged):
        read_draft_token(token, "product-return", secrets=[OLD], now=NOW)
    with pytest.raises(LinkDamaged):
        read_draft_token(token, "car-service", secrets=[SECRET], now=NOW)
    # A prefill token is no draft token, and the other way round.
    with pytest.raises(LinkDamaged):
        read_token(token, "car-service", secrets=[OLD], now=NOW)
    with pytest.raises(ValueError, match="32 lower-case hex"):
        make_draft_token("../etc", "car-service", secret=SECRET)


def test_link_errors_survive_pickling() -> None:
    # A worker process may raise them to its parent.
    damaged = pickle.loads(pickle.dumps(LinkDamaged("form")))
    assert (damaged.reason, str(damaged)) == ("form", str(LinkDamaged("form")))
    expired = pickle.loads(pickle.dumps(LinkExpired(NOW)))
    assert expired.expired_at == NOW
