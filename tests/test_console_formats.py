"""The console's number and size filters: counts, decimals and file sizes in the user's language."""

from __future__ import annotations

from typing import Any

import pytest

NNBSP = "\u202f"  # French groups digits with a narrow no-break space


def _filters(settings: Any, lang: str) -> tuple[Any, Any, Any]:
    from tests.console_support import console_app

    app = console_app(settings, admin_locale=lang)
    context = app.test_request_context("/")
    return context, app.jinja_env.filters["number"], app.jinja_env.filters["filesize"]


@pytest.mark.parametrize(
    ("lang", "count", "measure", "fixed"),
    [("en", "2,494", "0.25", "1,234.6"), ("fr", f"2{NNBSP}494", "0,25", f"1{NNBSP}234,6")],
)
def test_numbers_follow_the_locale(sqlite_db, lang: str, count: str, measure: str, fixed: str) -> None:
    context, number, _filesize = _filters(sqlite_db, lang)
    with context:
        assert number(2494) == count
        assert number(0.25) == measure
        assert number(1234.56, 1) == fixed
        assert number(3.0, 0) == "3"
        assert number(None) == ""


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", ["0 bytes", "812 bytes", "1.7 MB", "3.0 MB", "12 kB", "1.0 MB", "45 GB", "3,000 TB"]),
        ("fr", ["0 octets", "812 octets", "1,7 Mo", "3,0 Mo", "12 ko", "1,0 Mo", "45 Go", f"3{NNBSP}000 To"]),
    ],
)
def test_file_sizes_for_people(sqlite_db, lang: str, expected: list[str]) -> None:
    context, _number, filesize = _filters(sqlite_db, lang)
    sizes = [0, 812, 1_672_169, 2_961_641, 12_345, 999_999, 45_000_000_000, 3 * 10**15]
    with context:
        assert [filesize(size) for size in sizes] == expected
        assert filesize(None) == ""
