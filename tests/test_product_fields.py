"""The product field list is one list: the Product message, the catalogue's input fields and columns, and the
fields a template reads must name the same fields with compatible kinds."""

from __future__ import annotations

from pm_exports_client.convert import INPUT_FIELDS, OUTPUT_ONLY_FIELDS, PRODUCT_FIELD_KINDS

from engine.catalog import store
from engine.catalog.models import Product
from engine.pipeline.fields import PRODUCT_FIELDS
from engine.services import catalog
from tests.small_catalog import build_small_catalog


def _wire(*kinds: str) -> set[str]:
    return {name for name, kind in PRODUCT_FIELD_KINDS.items() if kind in kinds and name not in OUTPUT_ONLY_FIELDS}


def test_the_product_message_and_the_catalogue_input_have_the_same_fields() -> None:
    assert set(INPUT_FIELDS) == store.INPUT_FIELDS
    # money and measures travel as decimal text; the main category by its path
    assert _wire("text") == {*store.TEXT_FIELDS, *store.DECIMAL_FIELDS, "category"}
    assert _wire("integer") == set(store.INT_FIELDS)
    assert _wire("list", "map", "relation") == set(store.RELATION_FIELDS) - {"category"}


def test_the_output_only_fields_are_the_columns_the_catalogue_computes() -> None:
    assert set(store.COMPUTED_FIELDS) == OUTPUT_ONLY_FIELDS
    assert {name: PRODUCT_FIELD_KINDS[name] for name in sorted(OUTPUT_ONLY_FIELDS)} == {
        "completeness": "integer",
        "created_at": "timestamp",
        "grade": "text",
        "id": "integer",
        "updated_at": "timestamp",
    }


def test_every_product_column_is_an_input_or_a_computed_field() -> None:
    columns = {column.name for column in Product._meta.sorted_fields}
    json_columns = {"tags", "attributes", "bullet_points"}
    scalars = {*store.TEXT_FIELDS, *store.DECIMAL_FIELDS, *store.INT_FIELDS}
    assert columns == scalars | json_columns | {"category"} | set(store.COMPUTED_FIELDS)


def test_the_fields_a_template_reads_are_the_product_columns() -> None:
    def read_as(*kinds: str) -> set[str]:
        return {name for name, kind in PRODUCT_FIELDS.items() if kind in kinds}

    assert read_as("text") == {*store.TEXT_FIELDS, "grade"}
    assert read_as("money", "decimal") == set(store.DECIMAL_FIELDS)
    assert read_as("integer") == {*store.INT_FIELDS, "id", "completeness"}
    assert read_as("datetime") == {"created_at", "updated_at"}
    assert read_as("list", "object") == {"tags", "bullet_points", "attributes"}
    assert set(PRODUCT_FIELDS) == {c.name for c in Product._meta.sorted_fields} - {"category"}


def test_a_product_read_back_has_every_field_of_the_message(db) -> None:
    build_small_catalog()
    product = catalog.get_product(sku="CAS-001")
    assert set(product) == set(PRODUCT_FIELD_KINDS)
