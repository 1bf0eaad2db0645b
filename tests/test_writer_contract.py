"""The contract every format writer in the registry passes, generated from `FORMATS`: a new format is checked
here without being listed anywhere (give it required options or variants below only when it needs them).

For each writer and option variant: options are validated (defaults filled, unknown ones refused by name);
written rows end up in files of `ctx.folder` with the right counts and content type; `abort()` leaves nothing;
a process that dies after a checkpoint (a forked child ending with `os._exit`, so that nothing buffered reaches
the disk, as with SIGKILL) is resumed by a fresh writer fed what the pipeline would feed it, and the files are
byte-identical to an uninterrupted run; checkpoint states survive JSON; the optional capabilities keep to the
`WriterBase` contract.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import traceback
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

import engine.formats.xlsx as xlsx_module
from engine.errors import TemplateError
from engine.formats.base import ColumnInfo, FormatWriter, OutputFile, ValueKind, WriterBase, WriterContext
from engine.formats.registry import FORMATS, get_writer
from engine.pipeline.mapping import compile_columns
from tests.formats_helpers import folder_names

TEMPLATES = Path(__file__).resolve().parents[1] / "engine" / "data" / "templates"
CREATED_AT = datetime(2024, 5, 1, 10, 30, 15, tzinfo=UTC)
PRODUCTS = 11
SUPPLIERS = [{"code": "ACME", "name": "Acme & Fils", "country": "FR", "products": 12}]
CATEGORIES = [{"id": 1, "name": "Maison", "path": "Maison", "parent_id": None, "depth": 0}]
TEXTS = ["Crème brûlée œ € — “quoted”", "日本 tea", "=SUM(A1:A9)", 'Pan; 28 cm, "pro"', "Line one\r\nline two"]
GENERIC_COLUMNS = [
    ColumnInfo("SKU"),
    ColumnInfo("Title"),
    ColumnInfo("Price", "money"),
    ColumnInfo("Stock", "integer"),
    ColumnInfo("Weight", "decimal"),
    ColumnInfo("Updated", "datetime"),
    ColumnInfo("Release", "date"),
    ColumnInfo("Active", "bool"),
    ColumnInfo("Tags", "list"),
    ColumnInfo("Shipping", "object"),
]

# options a format cannot do without (they have no default)
REQUIRED_OPTIONS: dict[str, dict[str, Any]] = {
    "amazon_json": {"seller_id": "A1PMEXPORTS", "marketplace_id": "A13V1IB3VIYZZH", "language_tag": "fr_FR"},
    "amazon_flat_file": {"category_template": "contract.txt"},
    "google_xml": {"link": "https://shop.example.com"},
}


@dataclasses.dataclass(frozen=True)
class Case:
    fmt: str
    label: str = "default"
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    variants: bool = False  # 1, 2, 3, 1, 2, 3... rows per product instead of one

    @property
    def id(self) -> str:
        return f"{self.fmt}-{self.label}"

    @property
    def writer(self) -> type[FormatWriter]:
        return get_writer(self.fmt)

    @property
    def raw_options(self) -> dict[str, Any]:
        return {**REQUIRED_OPTIONS.get(self.fmt, {}), **self.options}


# option variants worth covering beyond the defaults: other bytes on disk, or several files per export
VARIANTS: dict[str, list[Case]] = {
    "csv": [
        Case("csv", "utf8", {"encoding": "utf-8"}),
        Case("csv", "latin1-comma", {"encoding": "iso-8859-1", "separator": ","}),
        Case("csv", "all-quoted-no-header", {"quoting": "all", "header": False}),
        Case("csv", "tab-lf", {"separator": "tab", "line_terminator": "\n"}),
    ],
    "xlsx": [
        Case("xlsx", "parts", {"max_rows": 4}),
        Case("xlsx", "parts-all-sheets-no-header", {"max_rows": 4, "header": False, "sheets": {"suppliers": "S"}}),
        Case("xlsx", "variants-across-parts", {"max_rows": 5}, variants=True),
    ],
    "json": [Case("json", "pretty-nested", {"pretty": True, "nested": True}, variants=True)],
    "jsonl": [Case("jsonl", "nested", {"nested": ["images", "variants"]})],
    "amazon_json": [Case("amazon_json", "parts", {"max_messages": 4}, variants=True)],
}
CASES = [case for fmt in sorted(FORMATS) for case in [Case(fmt), *VARIANTS.get(fmt, [])]]
DEFAULT_CASES = [Case(fmt) for fmt in sorted(FORMATS)]
# (products written when the checkpoint resumed from is taken, products written after it before the crash)
CRASHES = [(0, 3), (4, 0), (6, 2), (9, 1)]

Row = tuple[list[Any], dict[str, Any]]
Product = tuple[int, list[Row]]


def _template_columns(fmt: str) -> list[ColumnInfo]:
    """The columns of the first predefined template of `fmt`, with the kinds the mapping gives them."""
    for path in sorted(TEMPLATES.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))["spec"]
        if spec.get("format") == fmt:
            return compile_columns(spec["columns"], spec.get("rows", "product")).infos
    pytest.fail(f"the {fmt} writer refuses plain headers and no predefined template shows which ones it takes")


def columns_for(fmt: str) -> list[ColumnInfo]:
    """Plain headers of every kind, or the predefined template's for formats whose headers are a contract."""
    try:
        get_writer(fmt).check_headers([c.header for c in GENERIC_COLUMNS])
    except TemplateError:
        return _template_columns(fmt)
    return GENERIC_COLUMNS


def cell(kind: ValueKind, i: int, row: int) -> Any:
    """A value of `kind` for product `i`'s row `row`: varied lengths, awkward text, some empty cells."""
    if kind == "integer":
        return i * 3 if i % 4 else None
    if kind == "decimal":
        return Decimal("0.125") * i
    if kind == "money":
        return Decimal(1000 + 37 * i) / 100
    if kind == "date":
        return date(2024, 5, 1 + i % 28)
    if kind == "datetime":
        return datetime(2024, 3, 1, 8, 0, i % 60)
    if kind == "bool":
        return i % 2 == 0
    if kind == "list":
        return ["new", "sale"][: i % 3]
    if kind == "object":
        return {"country": "FR", "price": Decimal("4.90") + i} if i % 2 else None
    return f"{TEXTS[i % len(TEXTS)]} {i}-{row}" + " x" * (i % 7)


# columns whose cell is one of a few words the format checks (Amazon's listing requirements)
CHOICES: dict[str, Any] = {"requirements": "LISTING"}


def catalogue(case: Case, columns: Sequence[ColumnInfo]) -> list[Product]:
    """PRODUCTS products with ids 7, 10, 13... (gaps on purpose), each with its record's relations."""
    products = []
    for i in range(PRODUCTS):
        product_id = 7 + 3 * i
        record = {
            "id": product_id,
            "sku": f"SKU-{i}",
            "images": [{"url": f"https://cdn.example.com/{product_id}.jpg", "position": 1}],
            "variants": [{"sku": f"V-{product_id}", "price": Decimal("9.90"), "released": date(2024, 1, 2)}],
            "suppliers": [{"code": "ACME", "supplier_sku": f"A{i}"}],
            "categories": [],
        }
        rows = [
            ([CHOICES.get(c.header, cell(c.kind, i, row)) for c in columns], record)
            for row in range(1 + i % 3 if case.variants else 1)
        ]
        products.append((product_id, rows))
    return products


def make_context(case: Case, folder: Path) -> WriterContext:
    folder.mkdir(parents=True, exist_ok=True)
    options = case.writer.validate_options(case.raw_options)
    extension = case.writer.file_extension(options)
    inputs = folder.parent / f"{folder.name}-inputs"  # the merchant's files (an Amazon category template)
    attributes = [c.header for c in columns_for(case.fmt)]
    inputs.mkdir(exist_ok=True)
    (inputs / "contract.txt").write_text(f"TemplateType=fptcustom\nLabels\n{chr(9).join(attributes)}\n", "utf-8")
    return WriterContext(
        inputs=inputs,
        folder=folder,
        file_name=lambda part: f"export-{part:02d}.{extension}",
        columns=columns_for(case.fmt),
        options=options,
        iter_suppliers=lambda: iter(SUPPLIERS),
        iter_categories=lambda: iter(CATEGORIES),
        created_at=CREATED_AT,
    )


def write_products(writer: FormatWriter, products: Sequence[Product]) -> None:
    for _product_id, rows in products:
        for values, record in rows:
            writer.write(values, record)


def uninterrupted(case: Case, folder: Path) -> list[OutputFile]:
    ctx = make_context(case, folder)
    writer = case.writer(ctx)
    write_products(writer, catalogue(case, ctx.columns))
    return writer.close()


def defines(writer: type[FormatWriter], member: str) -> bool:
    """Whether the writer replaces `WriterBase`'s default of `member` with its own."""
    return any(member in vars(cls) for cls in writer.__mro__ if cls not in (WriterBase, object))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_and_die(case: Case, folder: Path, crash_at: int, extra: int) -> tuple[dict[str, Any], int]:
    """In a forked child: write with a checkpoint every 2 products, keep the state taken after `crash_at`
    products, write `extra` more (on disk) and one more (still in buffers), then die without any cleanup.
    Returns the kept state, round-tripped through JSON as the job stores it, and its last product id."""
    ctx = make_context(case, folder)
    products = catalogue(case, ctx.columns)
    reader, sender = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process; it never returns
        try:
            os.close(reader)
            writer = case.writer(ctx)
            saved, last_id = (writer.checkpoint(), 0) if crash_at == 0 else (None, 0)
            for done, (product_id, rows) in enumerate(products[: crash_at + extra], start=1):
                write_products(writer, [(product_id, rows)])
                if done % 2 == 0 or done == crash_at:
                    state = writer.checkpoint()
                    if done == crash_at:
                        saved, last_id = state, product_id
            writer.checkpoint()  # what was written after the kept state is on disk
            write_products(writer, products[crash_at + extra : crash_at + extra + 1])
            message = orjson.dumps({"state": saved, "last_id": last_id})
        except BaseException:
            message = orjson.dumps({"error": traceback.format_exc()})
        with os.fdopen(sender, "wb") as pipe:
            pipe.write(message)
        os._exit(0)
    os.close(sender)
    with os.fdopen(reader, "rb") as pipe:
        message = pipe.read()
    os.waitpid(child, 0)
    result = orjson.loads(message)
    assert "error" not in result, result.get("error")
    return result["state"], result["last_id"]


@pytest.fixture(autouse=True)
def _small_xlsx_width_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    # XLSX column widths come from the first rows: stop sampling within the second file, so a resumed part
    # must start again from the widths its first row saw
    monkeypatch.setattr(xlsx_module, "WIDTH_SAMPLE_ROWS", 6)


def test_every_registered_format_is_a_writer_base() -> None:
    for fmt in sorted(FORMATS):
        writer = get_writer(fmt)
        assert issubclass(writer, WriterBase), fmt
        assert writer.name == fmt


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda case: case.fmt)
def test_validate_options_fills_defaults_and_names_an_unknown_option(case: Case) -> None:
    given = case.raw_options
    options = case.writer.validate_options(given)
    assert set(given) < set(options)  # every default is filled in
    assert case.writer.validate_options(options) == options  # writers validate the validated options again
    with pytest.raises(TemplateError) as refused:
        case.writer.validate_options({**given, "no_such_option": 1})
    assert refused.value.field == "options.no_such_option"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_written_rows_are_counted_in_files_of_the_folder(case: Case, tmp_path: Path) -> None:
    ctx = make_context(case, tmp_path)
    writer = case.writer(ctx)
    write_products(writer, catalogue(case, ctx.columns))
    outputs = writer.close()
    assert outputs, "no file"
    assert writer.close() == outputs  # closing again changes nothing
    main = [o for o in outputs if not o.suffix]  # a companion file (suffix) is named after a main file
    assert [o.path for o in main] == [tmp_path / ctx.file_name(part) for part in range(1, len(main) + 1)]
    stems = {o.path.name.rpartition(".")[0] for o in main}
    assert all(o.path.name.rpartition(".")[0].removesuffix(o.suffix) in stems for o in outputs if o.suffix)
    assert all(o.path.stat().st_size > 0 and o.content_type == case.writer.content_type for o in outputs)
    assert sum(o.rows for o in main) == sum(len(rows) for _, rows in catalogue(case, ctx.columns))
    assert folder_names(tmp_path) == sorted(o.path.name for o in outputs)  # no temp file left behind


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_abort_removes_every_file(case: Case, tmp_path: Path) -> None:
    ctx = make_context(case, tmp_path)
    products = catalogue(case, ctx.columns)
    writer = case.writer(ctx)
    write_products(writer, products[:5])
    writer.checkpoint()
    write_products(writer, products[5:])
    writer.abort()
    assert folder_names(tmp_path) == []


@pytest.mark.parametrize(("crash_at", "extra"), CRASHES, ids=[f"at{c}+{e}" for c, e in CRASHES])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_resume_after_a_crash_gives_the_same_bytes(case: Case, crash_at: int, extra: int, tmp_path: Path) -> None:
    reference = uninterrupted(case, tmp_path / "reference")
    folder = tmp_path / "resumed"
    state, last_id = run_and_die(case, folder, crash_at, extra)

    # what the pipeline does: a fresh writer on the same folder, fed every product after the checkpoint's last
    # one, or after `replay_after_id` when the writer must rebuild its current file
    ctx = make_context(case, folder)
    writer = case.writer.resume(ctx, state)
    after = min(last_id, int(state.get("replay_after_id", last_id)))
    write_products(writer, [p for p in catalogue(case, ctx.columns) if p[0] > after])
    resumed = writer.close()

    assert [(o.path.name, o.rows, o.content_type) for o in resumed] == [
        (o.path.name, o.rows, o.content_type) for o in reference
    ]
    assert [sha256(o.path) for o in resumed] == [sha256(o.path) for o in reference]
    assert folder_names(folder) == sorted(o.path.name for o in resumed)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_checkpoint_states_survive_json(case: Case, tmp_path: Path) -> None:
    ctx = make_context(case, tmp_path)
    writer = case.writer(ctx)
    states = [writer.checkpoint()]
    for product in catalogue(case, ctx.columns):
        write_products(writer, [product])
        states.append(writer.checkpoint())
    writer.abort()
    for state in states:
        assert orjson.loads(orjson.dumps(state)) == state


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda case: case.fmt)
def test_check_headers_agrees_with_the_writer(case: Case, tmp_path: Path) -> None:
    columns = columns_for(case.fmt)
    assert case.writer.check_headers([c.header for c in columns]) is None
    if not defines(case.writer, "check_headers"):
        case.writer.check_headers(["any text", "=1+1", ""])  # the default accepts every header
        return
    bad = [*columns, ColumnInfo("not a header !")]
    with pytest.raises(TemplateError, match="not a header !"):
        case.writer.check_headers([c.header for c in bad])
    with pytest.raises(TemplateError, match="not a header !"):
        case.writer(dataclasses.replace(make_context(case, tmp_path), columns=bad))
    assert folder_names(tmp_path) == []


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_file_extension_is_a_plain_suffix(case: Case) -> None:
    options = case.writer.validate_options(case.raw_options)
    extension = case.writer.file_extension(options)
    assert extension.isalnum() and extension == extension.lower()
    if not defines(case.writer, "file_extension"):
        assert extension == case.writer.extension


@pytest.mark.parametrize(
    ("options", "extension"),
    [({}, "csv"), ({"separator": "tab"}, "tsv"), ({"separator": "tab", "extension": "txt"}, "txt")],
)
def test_csv_extension_follows_its_option(options: dict[str, Any], extension: str) -> None:
    writer = get_writer("csv")
    assert writer.file_extension(options) == extension
    assert writer.file_extension(writer.validate_options(options)) == extension


def removed_records() -> Iterator[dict[str, Any]]:
    yield {"id": 100, "sku": "GONE-1", "ean": "3760123456781", "variant_skus": ["GONE-1-S", "GONE-1-M"]}
    yield {"id": 101, "sku": "GONE-2", "ean": None, "variant_skus": []}


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda case: case.fmt)
def test_removals_are_written_in_the_feed_only_by_formats_that_say_so(case: Case, tmp_path: Path) -> None:
    ctx = make_context(case, tmp_path)
    products = catalogue(case, ctx.columns)
    writer = case.writer(ctx)
    write_products(writer, products)
    if not case.writer.removals_in_feed:
        with pytest.raises(NotImplementedError):
            writer.write_removed(next(removed_records()))
        writer.abort()
        return
    assert defines(case.writer, "write_removed")
    for record in removed_records():
        writer.write_removed(record)
    outputs = writer.close()
    assert sum(o.rows for o in outputs) > len(products)
