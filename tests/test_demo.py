"""The demo catalogue: deterministic, realistic, complete in its incompleteness (SQLite + PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from click.testing import CliRunner
from peewee import fn

from engine.catalog import completeness, demo
from engine.catalog.gtin import is_valid_gtin
from engine.catalog.models import (
    CATALOG_MODELS,
    Category,
    Image,
    Product,
    ProductCategory,
    ProductSupplier,
    Supplier,
    Variant,
)
from engine.catalog.store import upsert_product
from engine.cli import main
from engine.db import current_database, database_proxy, open_database
from engine.errors import ConfigError, InvalidRequest
from engine.services.setup import upgrade
from engine.settings import Settings

N = 300
FORMULA_PREFIXES = ("=", "+", "-", "@")


def catalogue_hash() -> str:
    """SHA-256 of every catalogue row in id order, values normalised so SQLite and PostgreSQL compare equal."""
    digest = hashlib.sha256()
    for model in CATALOG_MODELS:
        for row in model.select().order_by(model._meta.primary_key).tuples().iterator():
            normalised = tuple(v.normalize() if isinstance(v, Decimal) else v for v in row)
            digest.update(repr((model.__name__, normalised)).encode())
    return digest.hexdigest()


@contextmanager
def other_sqlite_database(settings: Settings) -> Iterator[None]:
    """Bind the models to a second, fresh SQLite database for a while, then back to the test's database."""
    previous = current_database()
    db = open_database(settings)
    try:
        upgrade(settings)
        yield
    finally:
        db.close()
        database_proxy.initialize(previous)


@pytest.fixture
def seeded(db):
    summary = demo.seed_demo(N)
    return summary


def test_same_n_and_seed_give_identical_rows_in_two_databases(db, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "CHUNK_SIZE", 64)  # chunking must not change the rows
    steps: list[int] = []
    first = demo.seed_demo(N, seed=7, progress=steps.append)
    assert steps == [64, 64, 64, 64, 44]
    first_hash = catalogue_hash()
    monkeypatch.undo()

    with other_sqlite_database(Settings.build(var_dir=str(tmp_path / "second"))):
        second = demo.seed_demo(N, seed=7)
        assert catalogue_hash() == first_hash
    with other_sqlite_database(Settings.build(var_dir=str(tmp_path / "third"))):
        demo.seed_demo(N, seed=8)
        assert catalogue_hash() != first_hash
    assert (first.products, first.variants, first.images) == (second.products, second.variants, second.images)


def test_ids_start_at_one_and_new_rows_continue_after_them(seeded):
    assert list(Product.select(fn.MIN(Product.id), fn.MAX(Product.id)).tuples()) == [(1, N)]
    product, created = upsert_product({"sku": "AFTER-DEMO", "title": "Ajouté après la démo"})
    assert created and product.id == N + 1
    assert Category.create(name="Nouvelle", slug="nouvelle", path="Nouvelle").id == seeded.categories + 1
    assert Supplier.create(code="NEW", name="Nouveau").id == seeded.suppliers + 1


def test_summary_counts_match_the_tables(seeded):
    assert seeded.products == Product.select().count() == N
    assert seeded.variants == Variant.select().count()
    assert seeded.images == Image.select().count()
    assert seeded.supplier_links == ProductSupplier.select().count()
    assert seeded.extra_categories == ProductCategory.select().count()
    assert seeded.categories == Category.select().count()
    assert seeded.suppliers == Supplier.select().count() == 40


def test_category_tree_brands_and_suppliers(seeded):
    assert 150 <= seeded.categories <= 300
    depths = Counter(c.depth for c in Category.select())
    assert sorted(depths) == [0, 1, 2, 3]  # 4 levels
    assert Category.get(Category.path == "Maison > Cuisine > Casseroles").parent.path == "Maison > Cuisine"
    for category in Category.select().where(Category.parent.is_null(False)):
        assert category.path == f"{category.parent.path} > {category.name}"
        assert category.depth == category.parent.depth + 1
    assert Category.select().where(Category.name.contains("É")).exists()
    brands = {p.brand for p in Product.select(Product.brand).where(Product.brand.is_null(False))}
    assert len(brands) >= 45 and len(demo.BRANDS) == 60
    codes = [(s.code, s.country) for s in Supplier.select()]
    assert len({c for c, _ in codes}) == 40 and all(len(country) == 2 for _, country in codes)


def test_shares_of_variants_statuses_and_incomplete_products(seeded):
    with_variants = Variant.select(Variant.product).distinct().count()
    assert 0.12 * N <= with_variants <= 0.28 * N
    per_product = Counter(v.product_id for v in Variant.select(Variant.product))
    assert set(per_product.values()) <= {2, 3, 4, 5, 6}
    statuses = Counter(p.status for p in Product.select(Product.status))
    assert set(statuses) == {"active", "draft", "inactive", "archived", "trash"}
    assert 0.65 * N <= statuses["active"] <= 0.85 * N
    no_image = Product.select().where(~fn.EXISTS(Image.select().where(Image.product == Product.id))).count()
    assert 0.04 * N <= no_image <= 0.18 * N
    assert 0.03 * N <= Product.select().where(Product.ean.is_null()).count() <= 0.14 * N
    assert 0.01 * N <= Product.select().where(Product.price.is_null()).count() <= 0.1 * N
    assert Product.select().where(Product.brand.is_null()).exists()
    assert Product.select().where(Product.description.is_null()).exists()
    assert Product.select().where(Product.sku.is_null()).count() < 0.05 * N
    assert not Product.select().where(Product.sku.is_null() & Product.ean.is_null()).exists()
    assert Product.select().where(Product.seo_title.is_null(False)).exists()
    grades = Counter(p.grade for p in Product.select(Product.grade))
    assert len(grades) >= 3


def test_identifiers_are_valid_and_unique_but_for_the_bad_eans_on_purpose(seeded):
    products = list(Product.select(Product.id, Product.ean).where(Product.ean.is_null(False)))
    variant_eans = [v.ean for v in Variant.select(Variant.ean).where(Variant.ean.is_null(False))]
    eans = [p.ean for p in products] + variant_eans
    bad = {p.id for p in products if not is_valid_gtin(p.ean)}
    assert bad and bad == {p.id for p in products if p.id % demo.BAD_EAN_EVERY == 0}  # so the gtin rules fire
    assert all(len(e) == 13 for e in eans) and all(is_valid_gtin(e) for e in variant_eans)
    assert len(set(eans)) == len(eans)
    skus = [p.sku for p in Product.select(Product.sku).where(Product.sku.is_null(False))]
    variant_skus = [v.sku for v in Variant.select(Variant.sku)]
    assert len(set(skus)) == len(skus) and len(set(variant_skus)) == len(variant_skus)


def test_text_is_french_and_english_with_html_accents_and_awkward_characters(seeded):
    titles = [p.title for p in Product.select(Product.title)]
    assert any(ch in t for t in titles for ch in "éèçœàü")
    assert any("," in t for t in titles)
    assert any('"' in t for t in titles)
    assert any("\n" in t for t in titles)
    descriptions = [
        p.description for p in Product.select(Product.description).where(Product.description.is_null(False))
    ]
    assert all(d.startswith("<p>") for d in descriptions)
    joined = "".join(descriptions)
    for fragment in ("<ul><li>", "<strong>", "&amp;", "œ", "ç", "à", "Designed for everyday use"):
        assert fragment in joined, fragment
    assert any("Œko-Tex" in d or "cœur" in d for d in descriptions)


def test_formula_injection_material_exists(seeded):
    def starts_with_formula(value) -> bool:
        return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)

    rows = list(Product.select(Product.title, Product.short_description, Product.brand, Product.tags).tuples())
    titles = sum(starts_with_formula(t) for t, _, _, _ in rows)
    shorts = sum(starts_with_formula(s) for _, s, _, _ in rows)
    brands = sum(starts_with_formula(b) for _, _, b, _ in rows)
    tags = sum(any(starts_with_formula(t) for t in tags or []) for _, _, _, tags in rows)
    assert titles and shorts and brands and tags
    assert titles + shorts + brands + tags < 0.12 * N


def test_relations_look_real(seeded):
    per_product = Counter(i.product_id for i in Image.select(Image.product))
    assert set(per_product.values()) <= {1, 2, 3, 4, 5}
    for image in Image.select():
        assert image.url.startswith("https://cdn.example.com/products/")
        assert image.is_primary == (image.position == 1)
    links = list(ProductSupplier.select())
    assert all(link.supplier_sku and link.cost_price > 0 for link in links)
    assert set(Counter(link.product_id for link in links).values()) <= {1, 2}
    options = {v.option1_name for v in Variant.select()} | {v.option2_name for v in Variant.select()}
    assert "Couleur" in options and options & {"Taille", "Pointure", "Contenance", "Dimensions", "Finition"}
    prices = [v.price for v in Variant.select(Variant.price)]
    assert any(p is None for p in prices) and any(p is not None for p in prices)
    attributes = [p.attributes for p in Product.select(Product.attributes) if p.attributes]
    assert all({"color", "material"} <= set(a) for a in attributes)
    assert any(p.tags for p in Product.select(Product.tags)) and any(
        p.bullet_points for p in Product.select(Product.bullet_points)
    )


def test_timestamps_are_fixed_not_now(seeded):
    for created, updated in Product.select(Product.created_at, Product.updated_at).tuples():
        assert demo.BASE_DATE <= created <= updated < dt.datetime(2025, 6, 1)


def test_completeness_equals_a_recomputation(seeded):
    images = dict(Image.select(Image.product, fn.COUNT(Image.id)).group_by(Image.product).tuples())
    links = dict(
        ProductSupplier.select(ProductSupplier.product, fn.COUNT(ProductSupplier.id))
        .group_by(ProductSupplier.product)
        .tuples()
    )
    for row in Product.select().dicts().iterator():
        expected = completeness.score(row, image_count=images.get(row["id"], 0), supplier_count=links.get(row["id"], 0))
        assert (row["completeness"], row["grade"]) == expected, row["id"]


def test_a_non_empty_catalogue_is_refused(db):
    upsert_product({"sku": "EXISTING", "title": "Déjà là"})
    with pytest.raises(InvalidRequest, match=r"not empty \(1 products\).*empty database"):
        demo.seed_demo(10)
    assert Product.select().count() == 1


def test_a_database_without_schema_is_refused(sqlite_db, tmp_path):
    previous = current_database()
    bare = open_database(Settings.build(var_dir=str(tmp_path / "bare")))  # opened, never upgraded
    try:
        with pytest.raises(ConfigError, match=r"no schema yet: run `pm-exports db upgrade` first"):
            demo.seed_demo(5)
    finally:
        bare.close()
        database_proxy.initialize(previous)


def test_singular_product_nouns():
    assert [demo._singular(p) for p in ("Casseroles", "Vins rouges", "Sacs à dos", "Couteaux", "Souris",
                                        "Huiles d'olive", "Clés USB", "Jeux de stratégie", "Tuyaux d'arrosage")] == [
        "Casserole", "Vin rouge", "Sac à dos", "Couteau", "Souris", "Huile d'olive", "Clé USB", "Jeu de stratégie",
        "Tuyau d'arrosage",
    ]  # fmt: skip


# --- the command line -------------------------------------------------------------------------------------


@pytest.fixture
def cli(db: Settings):
    """Invoke `pm-exports` against the test database; restore the models' binding and logging afterwards."""
    env = {
        "DATABASE_URL": db.database_url,
        "PM_EXPORTS_VAR_DIR": str(db.var_dir),
        "PM_EXPORTS_LOG_FORMAT": "text",
    }

    def invoke(*args: str):
        previous, handlers = current_database(), logging.getLogger().handlers[:]
        try:
            return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        finally:
            opened = database_proxy.obj
            if opened is not previous:
                opened.close()
                database_proxy.initialize(previous)
            logging.getLogger().handlers[:] = handlers

    return invoke


def test_cli_seeds_then_refuses_a_second_time(cli):
    result = cli("demo", "seed", "--products", "120", "--seed", "3")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "products: 120"
    assert lines[1] == f"variants: {Variant.select().count()}"
    assert lines[2] == f"images: {Image.select().count()}"
    assert f"categories: {Category.select().count()}" in lines
    assert "suppliers: 40" in lines
    assert lines[-1].startswith("time: ") and lines[-1].endswith(" s")
    assert Product.select().count() == 120

    again = cli("demo", "seed", "--products", "10")
    assert again.exit_code == 2
    assert "error: the catalogue is not empty (120 products" in again.stderr
    assert Product.select().count() == 120

    skipped = cli("demo", "seed", "--products", "10", "--if-empty")
    assert skipped.exit_code == 0, skipped.output
    assert skipped.stdout == "the catalogue already has 120 products: demo seed skipped\n"


def test_cli_rejects_a_bad_count(cli):
    result = cli("demo", "seed", "--products", "0")
    assert result.exit_code == 2
    assert "--products" in result.output


def test_overlong_titles_and_apparel_attributes_are_there_for_the_platform_rules(seeded):
    long_titles = {p.id for p in Product.select(Product.id, Product.title) if len(p.title) > 200}
    assert long_titles and all(pid % demo.LONG_TITLE_EVERY == 0 for pid in long_titles)
    apparel = [
        p.attributes
        for p in Product.select(Product.attributes, Category.path)
        .join(Category)
        .where(Category.path.startswith("Mode"), Product.attributes.is_null(False))
    ]
    assert apparel and all(a["gender"] in {"femme", "homme", "mixte"} for a in apparel)
    assert {a["age_group"] for a in apparel} == {"adulte", "enfant"}
