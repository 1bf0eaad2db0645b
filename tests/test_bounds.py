"""Hostile template content is bounded: linear-time regular expressions, template and value sizes, file-name
bytes, lone braces, and a PreviewExport that cannot stall the engine (issue 8)."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import orjson
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pm_exports_client.v1 import exports_pb2, exports_pb2_grpc

from engine.catalog.store import upsert_product
from engine.errors import InvalidRequest, TemplateError
from engine.models import Template
from engine.pipeline import spec as spec_module
from engine.pipeline.mapping import compile_columns
from engine.pipeline.naming import safe_file_name
from engine.pipeline.spec import ExportSpec
from engine.pipeline.transforms import MAX_CELL_CHARS
from engine.pipeline.validate import compile_rules
from engine.rpc import servicer as servicer_module
from engine.services import jobs as job_services
from engine.services.templates import create_template
from engine.settings import Settings
from tests.rpc_support import Engine, rpc_error
from tests.small_catalog import build_small_catalog

pytest_plugins = ["tests.rpc_fixtures"]  # fixtures: engine, engine_factory

EVIL_TITLE = "a" * 34 + "b"
EVIL_COLUMN = {"header": "T", "source": "title", "transforms": [{"name": "regex_replace", "pattern": "(a+)+$"}]}


def spec(*columns: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"format": "csv", "columns": list(columns) or [{"header": "SKU", "source": "sku"}], **more}


def column(*steps: Any, source: str = "title") -> dict[str, Any]:
    return {"header": "T", "source": source, "transforms": list(steps)}


def auth(engine: Engine, role: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {engine.keys[role]}"),)


def row_of(columns: list[dict[str, Any]], record: dict[str, Any]) -> list[Any]:
    return compile_columns(columns).row(dict(record))


# --- regular expressions ----------------------------------------------------------------------------------------


def test_catastrophic_pattern_finishes_on_re2() -> None:
    assert row_of([EVIL_COLUMN], {"id": 1, "sku": "E", "title": EVIL_TITLE}) == [EVIL_TITLE]
    rules = compile_rules([{"rule": "regex", "field": "title", "pattern": "^(a+)+$"}])
    assert rules.first_failure({"title": EVIL_TITLE}) == ("regex:title", "title does not match ^(a+)+$")


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "backreferences need backtracking"),
        (r"(?P<x>a)(?P=x)", "backreferences need backtracking"),
        (r"a(?=b)", "lookahead and lookbehind are not supported"),
        (r"(?<!a)b", "lookahead and lookbehind are not supported"),
        ("a" * 1001, "longer than 1,000 characters"),
    ],
)
def test_patterns_re2_cannot_run_are_refused_with_the_reason(pattern: str, reason: str) -> None:
    with pytest.raises(TemplateError, match=reason) as caught:
        ExportSpec.from_dict(spec(column({"name": "regex_replace", "pattern": pattern})))
    assert caught.value.field == "column 1 ('T')"
    with pytest.raises(TemplateError, match=reason) as caught:
        ExportSpec.from_dict(spec(rules=[{"rule": "regex", "field": "sku", "pattern": pattern}]))
    assert caught.value.field == "rules[1]"


def test_patterns_keep_pythons_meaning() -> None:
    record = {"id": 1, "sku": "ab-1", "title": "Crème\u00a0 brûlée  ٣"}
    cases = [
        (column({"name": "regex_replace", "pattern": r"\s+", "replacement": " "}), "Crème brûlée ٣"),
        (column({"name": "regex_replace", "pattern": r"\d", "replacement": "#"}), "Crème\u00a0 brûlée  #"),
        (column({"name": "regex_replace", "pattern": r"^(\w+)\W.*$", "replacement": r"\g<1>!"}), "Crème!"),
        (column({"name": "regex_replace", "pattern": "CRÈME", "replacement": "x", "ignore_case": True}), None),
        (column({"name": "regex_replace", "pattern": r"^(\w+)-(\d)$", "replacement": r"\2-\1"}, source="sku"), "1-ab"),
        (column({"name": "regex_replace", "pattern": r"(?P<w>b\w+)", "replacement": r"[\g<w>]\n"}), None),
    ]
    got = [row_of([c], record)[0] for c, _ in cases]
    assert got[:3] == [want for _, want in cases[:3]]
    assert got[3] == "x\u00a0 brûlée  ٣"
    assert got[4] == "1-ab"
    assert got[5] == "Crème\u00a0 [brûlée]\n  ٣"


def test_replacement_group_errors_are_refused_on_save() -> None:
    with pytest.raises(TemplateError, match="refers to group 2; the pattern has 1"):
        ExportSpec.from_dict(spec(column({"name": "regex_replace", "pattern": "(a)", "replacement": r"\2"})))
    with pytest.raises(TemplateError, match=r"bad escape \\q"):
        ExportSpec.from_dict(spec(column({"name": "regex_replace", "pattern": "a", "replacement": r"\q"})))


# --- template size ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"columns": [{"header": "L", "literal": "x" * 50_000_000}]}, "columns[1].literal", "at most 10,000"),
        (
            {"columns": [column({"name": "map", "table": {str(i): "v" for i in range(1_000_000)}})]},
            "columns[1].transforms[1].table",
            "1,000,000 entries (at most 10,000)",
        ),
        (
            {"columns": [column({"name": "replace", "old": "a", "new": "x" * 1_000_000})]},
            "columns[1].transforms[1].new",
            "1,000,000 characters long",
        ),
        ({"columns": [{"header": f"H{i}", "source": "sku"} for i in range(1001)]}, "columns", "at most 1,000"),
        ({"columns": [column(*["trim"] * 51)]}, "columns[1]", "51 transformations (at most 50)"),
        ({"selection": {"skus": ["S"] * 10_001}}, "selection.skus", "at most 10,000"),
        ({"columns": [{"header": f"H{i}", "literal": "x" * 9_000} for i in range(40)]}, "template", "bytes as JSON"),
        (
            {"columns": [{**column({"name": "regex_replace", "pattern": "a"}), "header": f"H{i}"} for i in range(101)]},
            "template",
            "101 regular expressions (at most 100)",
        ),
        ({"options": {"a": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}}, "options.a", "levels deep"),
    ],
)
def test_templates_over_a_bound_are_refused_naming_the_part(changes: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)) as caught:
        ExportSpec.from_dict({**spec(), **changes})
    assert caught.value.field is not None and caught.value.field.startswith(field)


def test_request_overrides_go_through_the_same_bounds() -> None:
    base = ExportSpec.from_dict(spec())
    with pytest.raises(TemplateError, match="at most 10,000") as caught:
        base.with_overrides({"columns": [{"header": "L", "literal": "x" * 20_000}]})
    assert caught.value.field == "columns[1].literal"


def test_a_5_mib_create_template_is_refused_and_not_saved_and_list_templates_works(engine: Engine) -> None:
    huge = exports_pb2.TemplateSpec(format="csv")
    for i in range(5 * 16):
        huge.columns.add(header=f"H{i}", literal="x" * (64 * 1024))
    request = exports_pb2.CreateTemplateRequest(name="Huge", spec=huge)
    assert request.ByteSize() > 5 * 1024 * 1024
    stub = exports_pb2_grpc.ExportServiceStub(engine.channel())
    error = rpc_error(lambda: stub.CreateTemplate(request, metadata=auth(engine, "manager"), timeout=30))
    assert error.code() in {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}
    assert not Template.select().where(Template.name == "Huge").exists()
    assert "Standard CSV" in {t.name for t in engine.client("reader").list_templates()}


def test_the_biggest_template_fits_in_an_answer_and_list_templates_pages(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one-digit numbers: 2 bytes each in JSON, 11 in a protobuf Struct (the worst ratio), in the rules the
    # Template message carries twice
    numbers = {"rule": "enum", "field": "stock", "values": [1] * spec_module.MAX_ENTRIES}
    biggest = spec(rules=[numbers] * 12)
    assert len(orjson.dumps(biggest)) > spec_module.MAX_SPEC_BYTES * 0.9
    for n in range(3):
        create_template(f"Big {n}", biggest)
    api = engine.client("reader")
    one = exports_pb2_grpc.ExportServiceStub(engine.channel()).GetTemplate(
        exports_pb2.GetTemplateRequest(name="Big 0"), metadata=auth(engine, "reader"), timeout=10
    )
    assert one.ByteSize() < servicer_module.MAX_ANSWER_BYTES
    monkeypatch.setattr(servicer_module, "MAX_ANSWER_BYTES", one.ByteSize() * 2)  # two per page
    names = [t.name for t in api.list_templates()]
    assert names == sorted(names) and {"Big 0", "Big 1", "Big 2", "Standard CSV"} <= set(names)
    assert len(names) == len(set(names)) == Template.select().count()


def test_a_long_description_is_refused(sqlite_db: Settings) -> None:
    with pytest.raises(InvalidRequest, match="at most 2,000") as caught:
        create_template("Long", spec(), "d" * 2_001)
    assert caught.value.field == "description"
    assert not Template.select().where(Template.name == "Long").exists()


# --- values -------------------------------------------------------------------------------------------------------


def test_a_value_growing_past_the_cell_bound_stops_the_export_naming_column_and_product() -> None:
    steps = [{"name": "replace", "old": "a", "new": "a" * 9_000}] * 3  # 35 a's -> 315,000 -> 2.8 billion
    columns = [{"header": "SKU", "source": "sku"}, column(*steps)]
    with pytest.raises(TemplateError, match="replace would make a value of") as caught:
        row_of(columns, {"id": 7, "sku": "EVIL", "title": EVIL_TITLE})
    assert caught.value.field == "column 'T'"
    assert "for product 7 (SKU EVIL)" in str(caught.value)
    prefixes = [{"name": "suffix", "text": "x" * 10_000}] * 50
    with pytest.raises(TemplateError, match="suffix would make"):
        row_of(
            [column(*prefixes, {"name": "join"}, {"name": "suffix", "text": "y"})] * 1,
            {"id": 1, "title": "t" * (MAX_CELL_CHARS - 10)},
        )


def test_regex_and_join_and_pattern_growth_is_bounded() -> None:
    big = {"id": 1, "sku": "S", "title": "a" * (MAX_CELL_CHARS // 2), "tags": ["t" * 1000] * 2000}
    with pytest.raises(TemplateError, match="regex_replace would make"):
        row_of([column({"name": "regex_replace", "pattern": "a", "replacement": "bbb"})], big)
    with pytest.raises(TemplateError, match="join would make"):
        row_of([column({"name": "join", "separator": "-"}, source="tags")], big)
    with pytest.raises(TemplateError, match="pattern would make"):
        row_of([{"header": "P", "pattern": "{title}{title}{title}"}], big)
    assert row_of([column({"name": "regex_replace", "pattern": "a+", "replacement": "b"})], big) == ["b"]


def test_unique_is_linear_on_long_lists() -> None:
    values = [str(i % 100_000) for i in range(200_000)] + [{"k": 1}, {"k": 1}]
    (got,) = row_of([column("unique", source="tags")], {"id": 1, "tags": values})
    assert len(got) == 100_001


# --- patterns and file names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["{sku", "sku}", "{sku} {", "{{sku}}", "{sku}}"])
def test_column_patterns_with_a_lone_brace_are_refused(pattern: str) -> None:
    with pytest.raises(TemplateError, match="does not enclose a field"):
        ExportSpec.from_dict(spec({"header": "P", "pattern": pattern}))
    with pytest.raises(TemplateError, match="unknown"):
        ExportSpec.from_dict(spec({"header": "P", "pattern": "{nope}"}))


def test_a_long_multibyte_file_name_is_refused_before_the_export() -> None:
    with pytest.raises(TemplateError, match="bytes in UTF-8") as caught:
        ExportSpec.from_dict(spec(file_name="é" * 300 + "-{date}.csv"))
    assert caught.value.field == "file_name"
    with pytest.raises(TemplateError, match="does not enclose a placeholder"):
        ExportSpec.from_dict(spec(file_name="feed-{date.csv"))
    ExportSpec.from_dict(spec(file_name="é" * 85 + "-{date}.csv"))
    assert len(safe_file_name("{template}" * 100).encode()) <= 180


# --- preview ------------------------------------------------------------------------------------------------------


@pytest.fixture
def catalog(sqlite_db: Settings) -> Settings:
    build_small_catalog()
    upsert_product({"sku": "EVIL", "title": EVIL_TITLE, "status": "active", "price": "1"})
    return sqlite_db


def test_preview_stops_at_its_time_and_product_budgets(catalog: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    overrides = {"columns": [{"header": "SKU", "source": "sku"}]}
    stopped = job_services.preview_export("Standard CSV", overrides, limit=50, seconds=0)
    assert (stopped.rows, stopped.incomplete) == ([], "stopped after 0 seconds")
    assert job_services.preview_export("Standard CSV", overrides, limit=2).incomplete == ""
    monkeypatch.setattr(job_services, "PREVIEW_MAX_SCANNED", 2)
    two = job_services.preview_export("Standard CSV", overrides, limit=50)
    assert len(two.rows) == 2 and two.incomplete == "stopped after reading 2 products"
    monkeypatch.setattr(job_services, "PREVIEW_MAX_SCANNED", 100)
    monkeypatch.setattr(job_services, "PREVIEW_MAX_CHARS", 10)
    small = job_services.preview_export("Standard CSV", overrides, limit=50)
    assert 1 <= len(small.rows) < 5 and small.incomplete.startswith("stopped at 10 characters")


def test_reader_preview_with_the_evil_pattern_does_not_stall_the_engine(engine: Engine) -> None:
    upsert_product({"sku": "EVIL", "title": EVIL_TITLE, "status": "active", "price": "1"})
    reader = engine.client("reader")
    started = threading.Event()

    def preview() -> Any:
        started.set()
        return reader.preview("Standard CSV", columns=[{"header": "SKU", "source": "sku"}, EVIL_COLUMN], limit=1000)

    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(preview)
        started.wait(10)
        health = health_pb2_grpc.HealthStub(engine.channel())
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
        assert engine.client("reader").list_templates()
        result = running.result(timeout=30)
    assert ["EVIL", EVIL_TITLE] in result.rows
    assert result.incomplete == ""
