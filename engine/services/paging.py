"""Page tokens of the services' keyset-paginated lists: an opaque `{"before": id}` the caller hands back."""

from __future__ import annotations

import base64

import orjson

from engine.errors import InvalidRequest


def encode_token(last_id: int) -> str:
    """The token of the page after the row `last_id` (rows are listed newest, i.e. highest id, first)."""
    return base64.urlsafe_b64encode(orjson.dumps({"before": last_id})).decode()


def decode_token(token: str) -> int:
    try:
        return int(orjson.loads(base64.urlsafe_b64decode(token.encode()))["before"])
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise InvalidRequest("malformed page token", "page_token") from None


def encode_after(last_key: str) -> str:
    """The token of the page after the row whose sort key is `last_key` (lists sorted by a text key, ascending)."""
    return base64.urlsafe_b64encode(orjson.dumps({"after": last_key})).decode()


def decode_after(token: str) -> str:
    try:
        value = orjson.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise InvalidRequest("malformed page token", "page_token") from None
    if not isinstance(value, str):
        raise InvalidRequest("malformed page token", "page_token")
    return value
