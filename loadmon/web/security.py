"""Sessions, CSRF and the login requirement.

The session is one signed cookie (itsdangerous, key from :func:`loadmon.service.users.web_secret`)
holding the user id and a CSRF token; every visitor gets one (the login form needs its token
too) and logging in starts a new one. A POST must carry the session's token in the form field
``csrf_token`` or the ``X-CSRF-Token`` header, else 403. Pages without a session redirect to
/login; /api/* answers 401.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "loadmon_session"


@dataclass(frozen=True, kw_only=True)
class Session:
    csrf: str
    user_id: int | None = None
    #: the OAuth state of a Connect Strava under way (signed, so the browser cannot change it; never shown)
    strava_state: str | None = field(default=None, repr=False)


class Sessions:
    def __init__(self, secret: str, *, max_age_s: int, https_only: bool) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="loadmon-session")
        self.max_age_s = max_age_s
        self.https_only = https_only

    def read(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data: Any = self._signer.loads(raw, max_age=self.max_age_s)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        uid = data.get("uid")
        state = data.get("strava_state")
        return Session(csrf=data["csrf"], user_id=uid if isinstance(uid, int) else None,
                       strava_state=state if isinstance(state, str) else None)

    @staticmethod
    def new(user_id: int | None = None) -> Session:
        return Session(csrf=secrets.token_urlsafe(32), user_id=user_id)

    def write(self, request: Request, response: Response, session: Session) -> None:
        secure = self.https_only or request.url.scheme == "https"
        data: dict[str, Any] = {"csrf": session.csrf, "uid": session.user_id}
        if session.strava_state:
            data["strava_state"] = session.strava_state
        response.set_cookie(COOKIE, self._signer.dumps(data),
                            max_age=self.max_age_s, httponly=True, samesite="lax", secure=secure, path="/")

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


def with_strava_state(session: Session, state: str | None) -> Session:
    """``session`` with the OAuth state of a Connect Strava (None: none under way)."""
    return replace(session, strava_state=state)


def csrf_ok(session: Session | None, supplied: str | None) -> bool:
    return bool(session and supplied and hmac.compare_digest(session.csrf.encode(), supplied.encode()))
