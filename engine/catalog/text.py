"""Small text helpers shared by the catalogue and the transformations."""

from __future__ import annotations

import html
import re
import unicodedata

_SLUG_STRIP = re.compile(r"[^a-z0-9]+")
_TAG = re.compile(r"<[^>]*>")
_BLOCK = re.compile(r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|table)\b[^>]*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\u00a0]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def slugify(text: str, separator: str = "-") -> str:
    """Lowercase ASCII letters, digits and `separator` ("Crème brûlée" -> "creme-brulee")."""
    return _SLUG_STRIP.sub(separator, ascii_fold(text).lower()).strip(separator)


def strip_html(text: str) -> str:
    """Remove tags and unescape entities, collapsing whitespace to single spaces."""
    return _SPACES.sub(" ", html.unescape(_TAG.sub(" ", text)).replace("\n", " ")).strip()


def html_to_text(text: str) -> str:
    """Plain text that keeps paragraph and list breaks as newlines."""
    with_breaks = _BLOCK.sub("\n", text)
    plain = html.unescape(_TAG.sub("", with_breaks))
    return _NEWLINES.sub("\n", _SPACES.sub(" ", plain)).strip()
