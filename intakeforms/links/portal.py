"""A portal's own JWTs (pyjwt): verified with its key, never with ours."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from intakeforms.errors import LinkDamaged
from intakeforms.links.base import LinkClaims, claims
from intakeforms.settings import portal_algorithms

if TYPE_CHECKING:
    from intakeforms.settings import Settings

__all__ = ["PortalKey", "read_jwt"]


@dataclass(frozen=True)
class PortalKey:
    """How a portal's JWTs are verified: its ``key`` (a shared HS256 secret or
    a PEM public key), and the ``aud`` and ``iss`` its tokens must carry when
    set. The algorithms follow from the key, never from a token.
    ``ValueError`` when the key cannot be used."""

    key: str = field(repr=False)
    audience: str | None = None
    issuer: str | None = None
    algorithms: tuple[str, ...] = field(init=False)
    _verifier: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        algorithms = portal_algorithms(self.key)
        object.__setattr__(self, "algorithms", algorithms)
        verifier: Any = self.key
        if not algorithms[0].startswith("HS"):
            # Parsed once: pyjwt would parse the PEM again for every token.
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            verifier = load_pem_public_key(self.key.strip().encode("ascii"))
        object.__setattr__(self, "_verifier", verifier)

    @classmethod
    def from_settings(cls, settings: Settings) -> PortalKey | None:
        """The portal key the settings name (``INTAKE_PORTAL_JWT_*``), or None."""
        if settings.portal_jwt_key is None:
            return None
        return cls(
            settings.portal_jwt_key, settings.portal_jwt_audience, settings.portal_jwt_issuer
        )


def read_jwt(token: str, form_id: str, portal: PortalKey, now: dt.datetime | None) -> LinkClaims:
    """A portal's JWT verified with ``portal`` and read as claims for ``form_id``:
    ``form``, ``data`` (the values), ``lock``, ``exp`` and ``jti``."""
    # Imported here: most services never take a portal's tokens.
    import jwt

    try:
        given = jwt.decode(
            token,
            portal._verifier,
            algorithms=list(portal.algorithms),
            audience=portal.audience,
            issuer=portal.issuer,
            # exp is checked below, against ``now``, as our own tokens are.
            options={"verify_exp": False},
            leeway=60,  # the portal's clock and ours may differ a little
        )
    except jwt.InvalidAudienceError:
        raise LinkDamaged("audience") from None
    except jwt.InvalidIssuerError:
        raise LinkDamaged("issuer") from None
    except jwt.MissingRequiredClaimError as exc:
        reason = {"aud": "audience", "iss": "issuer"}.get(exc.claim, "malformed")
        raise LinkDamaged(reason) from None
    except jwt.InvalidAlgorithmError:
        raise LinkDamaged("algorithm") from None
    except jwt.ImmatureSignatureError:
        raise LinkDamaged("not_yet") from None
    except jwt.InvalidSignatureError:
        raise LinkDamaged("signature") from None
    except jwt.InvalidTokenError:
        raise LinkDamaged("malformed") from None
    if given.get("form") != form_id:
        raise LinkDamaged("form")
    values = given.get("data", {})
    return claims(form_id, values, given.get("lock"), given.get("exp"), given.get("jti"), now)
