"""CsvWriter: every output read back with the csv module, field by field."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.errors import OutputError, TemplateError
from engine.formats.base import ColumnInfo, ValueKind
from engine.formats.csv import CsvWriter
from engine.formats.registry import get_writer
from tests.formats_helpers import folder_names, make_ctx, run_writer

BOM = "\ufeff".encode()

TEXTS = [
    "Crème brûlée, œuf; Straße 日本",
    'He said "hi"',
    "two\nlines",
    "windows\r\nbreak",
    "semi;colon, comma\ttab",
    "  spaced  ",
    "",
]


def write_csv(tmp_path: Path, columns: list[Any], rows: list[list[Any]], **options: Any) -> tuple[Path, int]:
    ctx = make_ctx(tmp_path, columns, options, writer=CsvWriter)
    (out,) = run_writer(CsvWriter, ctx, rows)
    assert out.path == tmp_path / "export-1.csv"
    assert out.content_type == "text/csv"
    return out.path, out.rows


def read_csv(path: Path, encoding: str, separator: str = ";", terminator: str = "\r\n") -> list[list[str]]:
    text = path.read_bytes().decode(encoding)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=separator, lineterminator=terminator))


def test_registered() -> None:
    assert get_writer("csv") is CsvWriter


@pytest.mark.parametrize("separator", [";", ",", "\t"])
@pytest.mark.parametrize("quoting", ["minimal", "all"])
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8"])
def test_text_round_trips(tmp_path: Path, separator: str, quoting: str, encoding: str) -> None:
    rows = [[str(i), text] for i, text in enumerate(TEXTS)]
    path, count = write_csv(tmp_path, ["N", "Text"], rows, separator=separator, quoting=quoting, encoding=encoding)
    raw = path.read_bytes()
    assert raw.startswith(BOM) == (encoding == "utf-8-sig")
    assert count == len(TEXTS)
    got = read_csv(path, "utf-8-sig", separator)  # utf-8-sig also reads a file without BOM
    assert got == [["N", "Text"], *rows]
    lines = raw.removeprefix(BOM).decode().split("\r\n")
    if quoting == "all":
        assert lines[0] == f'"N"{separator}"Text"'
        assert lines[1] == f'"0"{separator}"{TEXTS[0]}"'
    else:
        assert lines[0] == f"N{separator}Text"
        assert lines[2] == f'1{separator}"He said ""hi"""'


@pytest.mark.parametrize(
    ("separator", "expected"),
    [(";", ";"), (",", ","), ("\t", "\t"), ("tab", "\t"), ("comma", ","), ("semicolon", ";"), ("\\t", "\t")],
)
def test_separator_aliases(tmp_path: Path, separator: str, expected: str) -> None:
    assert CsvWriter.validate_options({"separator": separator})["separator"] == expected
    path, _ = write_csv(tmp_path, ["A", "B"], [["1", "2"]], separator=separator)
    assert path.read_bytes().removeprefix(BOM) == f"A{expected}B\r\n1{expected}2\r\n".encode()


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("text", None, ""),
        ("text", "plain", "plain"),
        ("bool", True, "1"),
        ("bool", False, "0"),
        ("bool", None, ""),
        ("integer", 42, "42"),
        ("integer", -7, "-7"),
        ("integer", True, "1"),  # a bool in an integer column stays a bool
        ("integer", 10**20, "100000000000000000000"),
        ("decimal", Decimal("1.250"), "1.250"),
        ("decimal", Decimal("-0.5"), "-0.5"),
        ("decimal", Decimal("1E+3"), "1000"),
        ("decimal", Decimal("1E-8"), "0.00000001"),
        ("money", Decimal("49.9"), "49.90"),
        ("money", Decimal("12.345"), "12.35"),  # half up, as money is rounded
        ("money", Decimal("-3.50"), "-3.50"),
        ("money", Decimal("1E+2"), "100.00"),
        ("money", 5, "5.00"),
        ("money", 2.5, "2.50"),
        ("money", Decimal("NaN"), "NaN"),
        ("money", "12,50 €", "12,50 €"),  # a transformation already made it text
        ("decimal", 0.1, "0.1"),
        ("decimal", 1.0, "1.0"),
        ("text", 3.14, "3.14"),
        ("text", Decimal("2.50"), "2.50"),
        ("date", date(2024, 2, 29), "2024-02-29"),
        ("datetime", datetime(2024, 2, 29, 8, 5, 9), "2024-02-29 08:05:09"),
        ("datetime", datetime(2024, 2, 29, 8, 5, 9, 123456), "2024-02-29 08:05:09"),
        ("datetime", datetime(2024, 2, 29, 8, 5, 9, tzinfo=UTC), "2024-02-29 08:05:09"),
        ("date", datetime(2024, 2, 29, 8, 5, 9), "2024-02-29 08:05:09"),
        ("text", date(2024, 2, 29), "2024-02-29"),
        ("list", ["a", "b", "c"], "a|b|c"),
        ("list", [], ""),
        ("list", [1, Decimal("2.50"), None, True], "1|2.50||1"),
        ("text", ["x", "y"], "x|y"),
        ("object", {"color": "rouge", "size": Decimal("2.5")}, '{"color":"rouge","size":2.5}'),
        ("text", {"ü": [1, 2]}, '{"ü":[1,2]}'),
        ("integer", "N/A", "N/A"),
    ],
)
def test_rendering(tmp_path: Path, kind: ValueKind, value: Any, expected: str) -> None:
    path, _ = write_csv(tmp_path, [ColumnInfo("Value", kind)], [[value]], header=False, quoting="all")
    assert read_csv(path, "utf-8-sig") == [[expected]]


@pytest.mark.parametrize("text", ["=SUM(A1)", "+33 6 12 34 56 78", "-2", "@x", "\tlead", "\rcr"])
@pytest.mark.parametrize("kind", ["text", "integer", "money", "list"])
def test_formula_text_is_neutralised(tmp_path: Path, text: str, kind: ValueKind) -> None:
    path, _ = write_csv(tmp_path, [ColumnInfo("T", kind), ColumnInfo("L", "list")], [[text, [text, "b"]]])
    assert read_csv(path, "utf-8-sig") == [["T", "L"], ["'" + text, f"'{text}|b"]]


def test_formula_escaping_can_be_turned_off(tmp_path: Path) -> None:
    path, _ = write_csv(tmp_path, ["A", "B"], [["=1+1", "@x"]], escape_formulas=False)
    assert read_csv(path, "utf-8-sig") == [["A", "B"], ["=1+1", "@x"]]


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("integer", -2, "-2"),
        ("decimal", Decimal("-2.5"), "-2.5"),
        ("money", Decimal("-10"), "-10.00"),
        ("decimal", -1.5, "-1.5"),
        ("text", -3, "-3"),
        ("text", Decimal("-0.01"), "-0.01"),
    ],
)
def test_real_negative_numbers_are_not_touched(tmp_path: Path, kind: ValueKind, value: Any, expected: str) -> None:
    path, _ = write_csv(tmp_path, [ColumnInfo("N", kind)], [[value]])
    assert read_csv(path, "utf-8-sig") == [["N"], [expected]]


def test_headers_are_written_as_given(tmp_path: Path) -> None:
    path, _ = write_csv(tmp_path, ["Prix (€)", "Größe"], [["1", "2"]])
    assert read_csv(path, "utf-8-sig")[0] == ["Prix (€)", "Größe"]


def test_header_off(tmp_path: Path) -> None:
    path, count = write_csv(tmp_path, ["A", "B"], [["1", "2"], ["3", "4"]], header=False)
    assert count == 2
    assert read_csv(path, "utf-8-sig") == [["1", "2"], ["3", "4"]]


@pytest.mark.parametrize(("rows", "expected"), [([], []), ([["x", 1]], [["x", "1"]]), ([[None, None]], [["", ""]])])
def test_zero_one_and_empty_rows(tmp_path: Path, rows: list[list[Any]], expected: list[list[str]]) -> None:
    path, count = write_csv(tmp_path, ["A", ColumnInfo("B", "integer")], rows)
    assert count == len(rows)
    assert read_csv(path, "utf-8-sig") == [["A", "B"], *expected]


def test_no_header_and_no_rows_is_an_empty_file(tmp_path: Path) -> None:
    path, count = write_csv(tmp_path, ["A"], [], header=False)
    assert (count, path.read_bytes()) == (0, b"")


def test_lf_line_terminator_keeps_records_whole(tmp_path: Path) -> None:
    rows = [["a\r\nb", "c\rd"], ["plain", "x"]]
    path, _ = write_csv(tmp_path, ["A", "B"], rows, line_terminator="\n")
    raw = path.read_bytes()
    assert b"\r" not in raw
    assert read_csv(path, "utf-8-sig", terminator="\n") == [["A", "B"], ["a\nb", "c\nd"], ["plain", "x"]]


LATIN1_SOURCE = "Cœur — “Été” 5€ 日本 ß é…"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("transliterate", 'Coeur - "Été" 5EUR ?? ß é...'),
        ("replace", "C?ur ? ?Été? 5? ?? ß é?"),
    ],
)
def test_latin1_error_policies(tmp_path: Path, policy: str, expected: str) -> None:
    path, _ = write_csv(
        tmp_path, ["Title", "Price"], [[LATIN1_SOURCE, "ok"]], encoding="latin-1", encoding_errors=policy
    )
    raw = path.read_bytes()
    assert not raw.startswith(BOM)
    assert read_csv(path, "iso-8859-1") == [["Title", "Price"], [expected, "ok"]]


@pytest.mark.parametrize(
    ("char", "folded"),
    [("Œ", "OE"), ("–", "-"), ("‘", "'"), ("’", "'"), ("„", '"'), ("ł", "l"), ("Ǆ", "DZ"), ("ﬁ", "fi"), ("ș", "s")],
)
def test_transliteration_table(tmp_path: Path, char: str, folded: str) -> None:
    path, _ = write_csv(tmp_path, ["T"], [[f"<{char}>"]], encoding="iso-8859-1", header=False)
    assert read_csv(path, "iso-8859-1") == [[f"<{folded}>"]]


def test_latin1_strict_names_row_and_column(tmp_path: Path) -> None:
    ctx = make_ctx(
        tmp_path, ["SKU", "Title"], {"encoding": "iso-8859-1", "encoding_errors": "strict"}, writer=CsvWriter
    )
    writer = CsvWriter(ctx)
    writer.write(["A", "Café"], {})
    with pytest.raises(OutputError, match=r"product row 2, column 'Title': 'œ' cannot be written in iso-8859-1"):
        writer.write(["B", "Cœur"], {})
    writer.abort()
    assert folder_names(tmp_path) == []


def test_latin1_strict_header(tmp_path: Path) -> None:
    ctx = make_ctx(
        tmp_path, ["SKU", "Prix €"], {"encoding": "iso-8859-1", "encoding_errors": "strict"}, writer=CsvWriter
    )
    with pytest.raises(OutputError, match=r"the header row, column 'Prix €'"):
        CsvWriter(ctx)


@pytest.mark.parametrize(("policy", "expected"), [("transliterate", "a?b"), ("replace", "a?b")])
def test_lone_surrogates_in_utf8(tmp_path: Path, policy: str, expected: str) -> None:
    path, _ = write_csv(tmp_path, ["T"], [["a\udc80b"]], encoding_errors=policy, header=False)
    assert read_csv(path, "utf-8-sig") == [[expected]]


def test_lone_surrogate_strict_is_an_output_error(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, ["T"], {"encoding": "utf-8", "encoding_errors": "strict"}, writer=CsvWriter)
    writer = CsvWriter(ctx)
    with pytest.raises(OutputError, match="product row 1, column 'T'"):
        writer.write(["a\udc80b"], {})
    writer.abort()


DEFAULTS = {
    "encoding": "utf-8-sig",
    "encoding_errors": "transliterate",
    "separator": ";",
    "quoting": "minimal",
    "header": True,
    "escape_formulas": True,
    "line_terminator": "\r\n",
    "extension": "csv",
    "companion": None,
}


def test_defaults() -> None:
    assert CsvWriter.validate_options({}) == DEFAULTS
    assert CsvWriter.validate_options(DEFAULTS) == DEFAULTS
    assert CsvWriter.relations({}) == set()


@pytest.mark.parametrize(
    ("options", "extension"),
    [({}, "csv"), ({"separator": "tab"}, "tsv"), ({"separator": "\t", "extension": "txt"}, "txt")],
)
def test_extension_follows_the_separator_unless_given(options: dict, extension: str) -> None:
    assert CsvWriter.validate_options(options)["extension"] == extension
    with pytest.raises(TemplateError, match=r"options\.extension"):
        CsvWriter.validate_options({**options, "extension": "exe"})


@pytest.mark.parametrize(
    ("option", "given", "normal"),
    [
        ("encoding", "UTF-8-BOM", "utf-8-sig"),
        ("encoding", "utf8", "utf-8"),
        ("encoding", "latin-1", "iso-8859-1"),
        ("encoding", "latin1", "iso-8859-1"),
        ("encoding", "ISO-8859-1", "iso-8859-1"),
        ("line_terminator", "\n", "\n"),
        ("line_terminator", "crlf", "\r\n"),
        ("quoting", "ALL", "all"),
        ("header", "false", False),
        ("escape_formulas", "no", False),
    ],
)
def test_options_are_normalised(option: str, given: Any, normal: Any) -> None:
    options = CsvWriter.validate_options({option: given})
    assert options[option] == normal
    assert CsvWriter.validate_options(options) == options  # validation is idempotent


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"encoding": "utf-16"}, "options.encoding"),
        ({"encoding": 8}, "options.encoding"),
        ({"encoding_errors": "ignore"}, "options.encoding_errors"),
        ({"separator": "|"}, "options.separator"),
        ({"separator": ""}, "options.separator"),
        ({"quoting": "none"}, "options.quoting"),
        ({"header": "maybe"}, "options.header"),
        ({"header": 1}, "options.header"),
        ({"escape_formulas": None}, "options.escape_formulas"),
        ({"line_terminator": "\r"}, "options.line_terminator"),
        ({"delimiter": ";"}, "options.delimiter"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, Any], field: str) -> None:
    with pytest.raises(TemplateError) as caught:
        CsvWriter.validate_options(options)
    assert caught.value.field == field


def test_abort_removes_the_file(tmp_path: Path) -> None:
    writer = CsvWriter(make_ctx(tmp_path, ["A"], writer=CsvWriter))
    writer.write(["x"], {})
    assert folder_names(tmp_path) == ["export-1.csv"]
    writer.abort()
    assert folder_names(tmp_path) == []


def test_abort_after_close_removes_the_file(tmp_path: Path) -> None:
    writer = CsvWriter(make_ctx(tmp_path, ["A"], writer=CsvWriter))
    writer.close()
    writer.abort()
    assert folder_names(tmp_path) == []


def test_missing_folder_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"cannot create .*export-1\.csv"):
        CsvWriter(make_ctx(tmp_path / "missing", ["A"], writer=CsvWriter))


def test_file_name_must_stay_in_the_folder(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, ["A"], writer=CsvWriter)
    ctx.file_name = lambda part: "../escape.csv"
    with pytest.raises(OutputError, match="plain file name"):
        CsvWriter(ctx)


COMPANION = {"suffix": "-combinations", "from_column": "Variant", "rows": ["variation"]}


def test_companion_rows_go_to_a_second_file_that_resumes_byte_for_byte(tmp_path: Path) -> None:
    columns = ["Product", "Price", "Variant", "Stock"]
    options = {"encoding": "utf-8", "separator": ",", "companion": COMPANION}
    kinds = ["parent", "variation", "variation", "simple", "parent", "variation"]
    rows = [[f"P{i}", f"{i}.50", f"V{i}", i] for i in range(len(kinds))]
    records = [{"row": {"kind": kind}} for kind in kinds]

    whole = tmp_path / "whole"
    whole.mkdir()
    outputs = run_writer(CsvWriter, make_ctx(whole, columns, options, writer=CsvWriter), rows, records)
    assert [(o.path.name, o.rows, o.suffix) for o in outputs] == [
        ("export-1.csv", 3, ""),
        ("export-1-combinations.csv", 3, "-combinations"),
    ]
    assert outputs[0].path.read_bytes() == b"Product,Price\r\nP0,0.50\r\nP3,3.50\r\nP4,4.50\r\n"
    assert outputs[1].path.read_bytes() == b"Variant,Stock\r\nV1,1\r\nV2,2\r\nV5,5\r\n"

    crashed = tmp_path / "crashed"
    crashed.mkdir()
    ctx = make_ctx(crashed, columns, options, writer=CsvWriter)
    writer = CsvWriter(ctx)
    for values, record in zip(rows[:3], records[:3], strict=True):
        writer.write(values, record)
    state = writer.checkpoint()
    for values, record in zip(rows[3:], records[3:], strict=True):  # on disk after the kept checkpoint
        writer.write(values, record)
    writer.checkpoint()
    writer._file.close()  # the crash
    assert writer._companion is not None
    writer._companion._file.close()
    resumed = CsvWriter.resume(ctx, state)
    for values, record in zip(rows[3:], records[3:], strict=True):
        resumed.write(values, record)
    again = resumed.close()
    assert [o.path.read_bytes() for o in again] == [o.path.read_bytes() for o in outputs]


def test_companion_option_is_checked() -> None:
    with pytest.raises(TemplateError, match=r"options\.companion\.suffix"):
        CsvWriter.validate_options({"companion": {**COMPANION, "suffix": "combinations"}})
    with pytest.raises(TemplateError, match=r"options\.companion: must be an object"):
        CsvWriter.validate_options({"companion": {"suffix": "-x"}})


# The row renderer (converters and quoting compiled per template) against csv.writer, byte for byte

AWKWARD: list[Any] = [
    None, True, False, 0, -7, 2**70, 1.5, -0.0, float("nan"), float("inf"), 1e22,
    Decimal("12.5"), Decimal("-0.99"), Decimal("1E+3"), Decimal("1.23456789E-7"), Decimal("NaN"), Decimal(7),
    date(2026, 3, 4), datetime(2026, 3, 4, 5, 6, 7), datetime(2026, 3, 4, 5, 6, 7, 89),
    datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC), *TEXTS, "=SUM(A1)", "+33 1", "-dash", "@at", "\tlead tab", "\rcr",
    "lone\rcr", 'quote"in', '"', ";", ",", "\t", "\n", "plain", ["a", "b"], ["=x", 'q"'], [1, None, "z"], [],
    {"k": 'v"'}, ("t", "u"),
]  # fmt: skip
KINDS: list[ValueKind] = ["text", "integer", "decimal", "money", "date", "datetime", "bool", "list", "object"]


@pytest.mark.parametrize("separator", [";", ",", "\t"])
@pytest.mark.parametrize("quoting", ["minimal", "all"])
@pytest.mark.parametrize("terminator", ["\r\n", "\n"])
@pytest.mark.parametrize("escape", [True, False])
def test_the_row_renderer_writes_what_csv_writer_writes(
    separator: str, quoting: str, terminator: str, escape: bool
) -> None:
    import operator
    import random

    from engine.formats.csv import _make_converter, _row_renderer

    options = {"separator": separator, "quoting": quoting, "line_terminator": terminator, "escape_formulas": escape}
    pick = random.Random(f"{separator}{quoting}{terminator}{escape}")
    for width in (2, 3, len(KINDS)):
        kinds = [pick.choice(KINDS) for _ in range(width)] if width < len(KINDS) else KINDS
        converters = [_make_converter(kind, escape, terminator == "\n") for kind in kinds]
        render = _row_renderer(kinds, converters, options)
        assert render is not None
        expected = io.StringIO(newline="")
        writer = csv.writer(
            expected, delimiter=separator, quoting=csv.QUOTE_ALL if quoting == "all" else csv.QUOTE_MINIMAL,
            lineterminator=terminator,
        )  # fmt: skip
        lines = []
        for _ in range(400):
            values = [pick.choice(AWKWARD) for _ in kinds]
            writer.writerow(map(operator.call, converters, values))
            lines.append(render(values))
        assert "".join(lines) == expected.getvalue()
        assert render([None] * (width + 1)) is None and render([]) is None  # not one value per column


def test_a_row_of_another_width_and_a_single_column_go_through_csv_writer(tmp_path: Path) -> None:
    path, rows = write_csv(tmp_path, ["a", "b"], [["x", "y"], ["only"], ["1", "2", "extra"]], header=False)
    assert (path.read_bytes().removeprefix(BOM), rows) == (b"x;y\r\nonly\r\n1;2\r\n", 3)
    (tmp_path / "one").mkdir()
    single = make_ctx(tmp_path / "one", ["a"], {"header": False}, writer=CsvWriter)
    (out,) = run_writer(CsvWriter, single, [[""], [None], ["v"]])
    assert out.path.read_bytes().removeprefix(BOM) == b'""\r\n""\r\nv\r\n'  # a lone empty field is written ""
