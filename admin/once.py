"""One-time form tokens for the POSTs whose answer shows a secret once (creating an API key or a user, resetting a
password). That answer cannot be a redirect without keeping the secret somewhere, so it is the POST's own page, and
a reload (or Back then Forward) sends the same form again. Each such form carries a random token in a hidden field;
the session remembers the last tokens used, and a form sent again with a used token creates nothing."""

from __future__ import annotations

import secrets

from flask import session

FIELD = "once"
KEEP = 20  # the last tokens used, enough for any page left open; the session cookie stays small
_SESSION_KEY = "used_once"
_MAX_LENGTH = 64  # token_urlsafe(16) is 22 characters; anything longer is not ours


def new_token() -> str:
    """A fresh token for one form (called from templates: each form gets its own)."""
    return secrets.token_urlsafe(16)


def first_use(token: str | None) -> bool | None:
    """Mark `token` used: True the first time, False when it was used already (the form was sent again), None when
    the form carries no valid token (a stale page from before tokens, or a hand-made request)."""
    if not token or len(token) > _MAX_LENGTH or not token.replace("-", "").replace("_", "").isalnum():
        return None
    used: list[str] = list(session.get(_SESSION_KEY, []))
    if token in used:
        return False
    session[_SESSION_KEY] = [*used, token][-KEEP:]
    return True
