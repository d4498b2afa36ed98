"""Setting the session cookie: HttpOnly, SameSite=Lax, Secure over TLS (or always, by config)."""

from __future__ import annotations

from fastapi import Request, Response

from platekeeper.config import Settings
from platekeeper.web.deps import SESSION_COOKIE

__all__ = ["set_session_cookie"]


def set_session_cookie(request: Request, response: Response, token: str, settings: Settings) -> None:
    """Attach the session cookie; it lives no longer than the session's maximum age."""
    mode = settings.web.secure_cookies
    secure = mode == "always" or (mode == "auto" and request.url.scheme == "https")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.web.session_max_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )
