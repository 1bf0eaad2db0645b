"""GTIN/EAN/UPC check digits (GS1 mod-10)."""

from __future__ import annotations

GTIN_LENGTHS = (8, 12, 13, 14)


def gtin_check_digit(body: str) -> int:
    """Check digit for the digits `body` (the code without its last digit)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def is_valid_gtin(code: str | None) -> bool:
    """True for an 8, 12, 13 or 14 digit code whose last digit is the right check digit."""
    if not code or not code.isdigit() or len(code) not in GTIN_LENGTHS:
        return False
    return gtin_check_digit(code[:-1]) == int(code[-1])


def gtin_problem(code: str) -> str | None:
    """Why `code` is not a valid EAN/GTIN, or None when it is."""
    if not code.isdigit():
        return f"EAN {code!r} must contain digits only"
    if len(code) not in GTIN_LENGTHS:
        return f"EAN {code!r} has {len(code)} digits (expected 8, 12, 13 or 14)"
    if not is_valid_gtin(code):
        return f"EAN {code!r} has a bad check digit (expected {gtin_check_digit(code[:-1])})"
    return None


def normalize_gtin(code: str | None, length: int = 14) -> str | None:
    """Left-pad a valid GTIN with zeros to `length` digits; None when it is not a valid GTIN."""
    if not is_valid_gtin(code):
        return None
    assert code is not None
    return code.zfill(length) if len(code) <= length else None
