"""Migration 13, frozen DDL: on PostgreSQL, product.sku and product.ean indexed in the "C" collation, so that the
console's prefix searches (`key >= q AND key < q'`, engine.services.browse) compare bytewise, as SQLite does, and
use an index whatever the database's collation (the unique indexes follow it: en_US orders 'AB-1' after 'AB.').
SQLite needs nothing: its unique indexes already compare bytewise."""

from __future__ import annotations

from peewee import Database

from engine.migrations.ddl import run_frozen

VERSION = 13
DESCRIPTION = "PostgreSQL: product SKU and EAN indexed in the C collation for prefix search"

# Indexes a peewee model cannot declare (a collation that only PostgreSQL has): tests/test_migrations.py leaves
# them out when it compares the models with the migrated schema.
POSTGRES_ONLY_INDEXES = ("product_sku_c", "product_ean_c")
POSTGRES = (
    'CREATE INDEX IF NOT EXISTS "product_sku_c" ON "product" ("sku" COLLATE "C")',
    'CREATE INDEX IF NOT EXISTS "product_ean_c" ON "product" ("ean" COLLATE "C")',
)


def apply(db: Database) -> None:
    run_frozen(db, sqlite=(), postgres=POSTGRES)
