"""Security headers on every response: a CSP with no inline script, nosniff."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeaders", "content_security_policy"]


def content_security_policy(
    frame_ancestors: str,
    *,
    img: Sequence[str] = (),
    style: Sequence[str] = (),
    form_action: Sequence[str] = (),
) -> str:
    """The service's CSP, with more origins allowed for images, stylesheets
    and form targets (a form's logo, the site stylesheet, its thanks page)."""
    extra = {"img": " ".join(img), "style": " ".join(style), "form": " ".join(form_action)}
    more = {key: f" {value}" if value else "" for key, value in extra.items()}
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self'{more['style']}; "
        f"img-src 'self' data:{more['img']}; connect-src 'self'; "
        f"form-action 'self'{more['form']}; base-uri 'none'; frame-ancestors {frame_ancestors}"
    )


class SecurityHeaders:
    """Adds the security headers to every response (a middleware)."""

    def __init__(self, app: ASGIApp, frame_ancestors: str) -> None:
        self.app = app
        self.csp = content_security_policy(frame_ancestors).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy", self.csp),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                headers.extend((name, value) for name, value in extra if name not in names)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
