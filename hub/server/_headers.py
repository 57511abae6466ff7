"""Security headers: ``nosniff`` on every response, a strict CSP and friends on HTML (#11).

The pages use no script at all, so the CSP allows none (``default-src 'none'``): a
README that slipped through rendering and sanitizing still could not run any.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_CSP_DIRECTIVES = (
    "default-src 'none'",  # no script, frame, font, connection or object from anywhere
    "style-src 'self'",  # the hub's stylesheet only; no inline style
    "img-src 'self' https:",  # README images over https, as PyPI shows them; no data:
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",  # never framed (clickjacking)
)
CONTENT_SECURITY_POLICY = "; ".join(_CSP_DIRECTIVES)
HTML_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers without CSP level 2
    "Referrer-Policy": "same-origin",  # a README's outbound link never sees the hub's URL
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders:
    """ASGI middleware adding the headers to each response that does not set them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_headers(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_headers(headers: MutableHeaders) -> None:
    """``nosniff`` always; the HTML set when the body is HTML (pages and simple index)."""
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if "html" in headers.get("content-type", ""):
        for name, value in HTML_HEADERS.items():
            headers.setdefault(name, value)
