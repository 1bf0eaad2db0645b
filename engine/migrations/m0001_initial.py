"""Migration 1, frozen DDL: the initial schema (catalogue, schema versions, templates, jobs, artifacts)."""

from __future__ import annotations

from peewee import Database

from engine.migrations.ddl import run_frozen

VERSION = 1
DESCRIPTION = "initial schema: catalogue, templates, jobs, artifacts"

# the statements peewee emitted for this migration's tables, exactly, on each backend
SQLITE = (
    (
        'CREATE TABLE IF NOT EXISTS "export_job" ("id" INTEGER NOT NULL PRIMARY KEY, "template_name" VARCHAR(128), '
        '"template_version" INTEGER, "spec" TEXT NOT NULL, "status" VARCHAR(16) NOT NULL, '
        '"phase" VARCHAR(16) NOT NULL, "requested_by" VARCHAR(128) NOT NULL, "total" INTEGER NOT NULL, '
        '"processed" INTEGER NOT NULL, "exported" INTEGER NOT NULL, "excluded" INTEGER NOT NULL, '
        '"failed" INTEGER NOT NULL, "error" TEXT, "report" TEXT, "checkpoint" TEXT, '
        '"created_at" DATETIME NOT NULL, "started_at" DATETIME, "finished_at" DATETIME)'
    ),
    'CREATE INDEX IF NOT EXISTS "export_job_status" ON "export_job" ("status")',
    'CREATE INDEX IF NOT EXISTS "export_job_created_at" ON "export_job" ("created_at")',
    (
        'CREATE TABLE IF NOT EXISTS "artifact" ("id" INTEGER NOT NULL PRIMARY KEY, "job_id" INTEGER, '
        '"name" VARCHAR(255) NOT NULL, "format" VARCHAR(32) NOT NULL, "content_type" VARCHAR(128) NOT NULL, '
        '"rows" INTEGER NOT NULL, "size" INTEGER NOT NULL, "sha256" VARCHAR(64) NOT NULL, '
        '"location" TEXT NOT NULL, "created_at" DATETIME NOT NULL, "expires_at" DATETIME NOT NULL, '
        'FOREIGN KEY ("job_id") REFERENCES "export_job" ("id") ON DELETE CASCADE)'
    ),
    'CREATE INDEX IF NOT EXISTS "artifact_job_id" ON "artifact" ("job_id")',
    'CREATE INDEX IF NOT EXISTS "artifact_expires_at" ON "artifact" ("expires_at")',
    (
        'CREATE TABLE IF NOT EXISTS "category" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, '
        '"slug" VARCHAR(255) NOT NULL, "parent_id" INTEGER, "path" TEXT NOT NULL, "depth" INTEGER NOT NULL, '
        'FOREIGN KEY ("parent_id") REFERENCES "category" ("id") ON DELETE SET NULL)'
    ),
    'CREATE INDEX IF NOT EXISTS "category_parent_id" ON "category" ("parent_id")',
    'CREATE INDEX IF NOT EXISTS "category_path" ON "category" ("path")',
    (
        'CREATE TABLE IF NOT EXISTS "product" ("id" INTEGER NOT NULL PRIMARY KEY, "sku" VARCHAR(64), '
        '"ean" VARCHAR(14), "upc" VARCHAR(12), "gtin" VARCHAR(14), "mpn" VARCHAR(70), "asin" VARCHAR(10), '
        '"title" TEXT NOT NULL, "description" TEXT, "short_description" TEXT, "brand" VARCHAR(255), '
        '"status" VARCHAR(16) NOT NULL, "price" DECIMAL(14, 2), "compare_at_price" DECIMAL(14, 2), '
        '"sale_price" DECIMAL(14, 2), "cost_price" DECIMAL(14, 2), "currency" VARCHAR(3) NOT NULL, '
        '"tax_rate" DECIMAL(5, 2) NOT NULL, "stock" INTEGER NOT NULL, "weight" DECIMAL(10, 3), "width" DECIMAL(10, '
        '2), "height" DECIMAL(10, 2), "depth" DECIMAL(10, 2), "tags" TEXT, "attributes" TEXT, '
        '"bullet_points" TEXT, "seo_title" TEXT, "seo_description" TEXT, "category_id" INTEGER, '
        '"created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL, "completeness" INTEGER NOT NULL, '
        '"grade" VARCHAR(1) NOT NULL, FOREIGN KEY ("category_id") REFERENCES "category" ("id") ON DELETE SET NULL)'
    ),
    'CREATE UNIQUE INDEX IF NOT EXISTS "product_sku" ON "product" ("sku")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "product_ean" ON "product" ("ean")',
    'CREATE INDEX IF NOT EXISTS "product_brand" ON "product" ("brand")',
    'CREATE INDEX IF NOT EXISTS "product_status" ON "product" ("status")',
    'CREATE INDEX IF NOT EXISTS "product_category_id" ON "product" ("category_id")',
    'CREATE INDEX IF NOT EXISTS "product_updated_at" ON "product" ("updated_at")',
    'CREATE INDEX IF NOT EXISTS "product_completeness" ON "product" ("completeness")',
    (
        'CREATE TABLE IF NOT EXISTS "image" ("id" INTEGER NOT NULL PRIMARY KEY, "product_id" INTEGER NOT NULL, '
        '"position" INTEGER NOT NULL, "url" TEXT NOT NULL, "alt" TEXT, "is_primary" INTEGER NOT NULL, '
        '"file_path" TEXT, "sha256" VARCHAR(64), FOREIGN KEY ("product_id") REFERENCES "product" ("id")'
        " ON DELETE CASCADE)"
    ),
    'CREATE INDEX IF NOT EXISTS "image_product_id" ON "image" ("product_id")',
    (
        'CREATE TABLE IF NOT EXISTS "job_exclusion" ("id" INTEGER NOT NULL PRIMARY KEY, "job_id" INTEGER NOT NULL, '
        '"product_id" INTEGER NOT NULL, "sku" VARCHAR(64), "ean" VARCHAR(14), "rule" VARCHAR(64) NOT NULL, '
        '"message" TEXT NOT NULL, FOREIGN KEY ("job_id") REFERENCES "export_job" ("id") ON DELETE CASCADE)'
    ),
    'CREATE INDEX IF NOT EXISTS "job_exclusion_job_id" ON "job_exclusion" ("job_id")',
    (
        'CREATE TABLE IF NOT EXISTS "product_category" ("id" INTEGER NOT NULL PRIMARY KEY, '
        '"product_id" INTEGER NOT NULL, "category_id" INTEGER NOT NULL, '
        'FOREIGN KEY ("product_id") REFERENCES "product" ("id") ON DELETE CASCADE, '
        'FOREIGN KEY ("category_id") REFERENCES "category" ("id") ON DELETE CASCADE)'
    ),
    'CREATE INDEX IF NOT EXISTS "product_category_product_id" ON "product_category" ("product_id")',
    'CREATE INDEX IF NOT EXISTS "product_category_category_id" ON "product_category" ("category_id")',
    (
        'CREATE UNIQUE INDEX IF NOT EXISTS "product_category_product_id_category_id"'
        ' ON "product_category" ("product_id", "category_id")'
    ),
    (
        'CREATE TABLE IF NOT EXISTS "supplier" ("id" INTEGER NOT NULL PRIMARY KEY, "code" VARCHAR(64) NOT NULL, '
        '"name" VARCHAR(255) NOT NULL, "country" VARCHAR(2))'
    ),
    'CREATE UNIQUE INDEX IF NOT EXISTS "supplier_code" ON "supplier" ("code")',
    (
        'CREATE TABLE IF NOT EXISTS "product_supplier" ("id" INTEGER NOT NULL PRIMARY KEY, '
        '"product_id" INTEGER NOT NULL, "supplier_id" INTEGER NOT NULL, "position" INTEGER NOT NULL, '
        '"supplier_sku" VARCHAR(64), "cost_price" DECIMAL(14, 2), "stock" INTEGER, '
        'FOREIGN KEY ("product_id") REFERENCES "product" ("id") ON DELETE CASCADE, '
        'FOREIGN KEY ("supplier_id") REFERENCES "supplier" ("id") ON DELETE CASCADE)'
    ),
    'CREATE INDEX IF NOT EXISTS "product_supplier_product_id" ON "product_supplier" ("product_id")',
    'CREATE INDEX IF NOT EXISTS "product_supplier_supplier_id" ON "product_supplier" ("supplier_id")',
    (
        'CREATE UNIQUE INDEX IF NOT EXISTS "product_supplier_product_id_supplier_id"'
        ' ON "product_supplier" ("product_id", "supplier_id")'
    ),
    (
        'CREATE TABLE IF NOT EXISTS "schema_version" ("version" INTEGER NOT NULL PRIMARY KEY, '
        '"description" TEXT NOT NULL, "applied_at" DATETIME NOT NULL)'
    ),
    (
        'CREATE TABLE IF NOT EXISTS "template" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(128) NOT NULL, '
        '"description" TEXT NOT NULL, "format" VARCHAR(32) NOT NULL, "spec" TEXT NOT NULL, '
        '"version" INTEGER NOT NULL, "predefined" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, '
        '"updated_at" DATETIME NOT NULL)'
    ),
    'CREATE UNIQUE INDEX IF NOT EXISTS "template_name" ON "template" ("name")',
    (
        'CREATE TABLE IF NOT EXISTS "template_version" ("id" INTEGER NOT NULL PRIMARY KEY, '
        '"template_id" INTEGER NOT NULL, "version" INTEGER NOT NULL, "spec" TEXT NOT NULL, '
        '"created_at" DATETIME NOT NULL, FOREIGN KEY ("template_id") REFERENCES "template" ("id")'
        " ON DELETE CASCADE)"
    ),
    'CREATE INDEX IF NOT EXISTS "template_version_template_id" ON "template_version" ("template_id")',
    (
        'CREATE UNIQUE INDEX IF NOT EXISTS "template_version_template_id_version"'
        ' ON "template_version" ("template_id", "version")'
    ),
    (
        'CREATE TABLE IF NOT EXISTS "variant" ("id" INTEGER NOT NULL PRIMARY KEY, "product_id" INTEGER NOT NULL, '
        '"position" INTEGER NOT NULL, "sku" VARCHAR(64), "ean" VARCHAR(14), "option1_name" VARCHAR(64), '
        '"option1_value" VARCHAR(255), "option2_name" VARCHAR(64), "option2_value" VARCHAR(255), '
        '"option3_name" VARCHAR(64), "option3_value" VARCHAR(255), "price" DECIMAL(14, 2), '
        '"stock" INTEGER NOT NULL, "weight" DECIMAL(10, 3), "image_url" TEXT, '
        'FOREIGN KEY ("product_id") REFERENCES "product" ("id") ON DELETE CASCADE)'
    ),
    'CREATE INDEX IF NOT EXISTS "variant_product_id" ON "variant" ("product_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "variant_sku" ON "variant" ("sku")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "variant_ean" ON "variant" ("ean")',
)

POSTGRES = (
    (
        'CREATE TABLE IF NOT EXISTS "export_job" ("id" SERIAL NOT NULL PRIMARY KEY, "template_name" VARCHAR(128), '
        '"template_version" INTEGER, "spec" TEXT NOT NULL, "status" VARCHAR(16) NOT NULL, '
        '"phase" VARCHAR(16) NOT NULL, "requested_by" VARCHAR(128) NOT NULL, "total" INTEGER NOT NULL, '
        '"processed" INTEGER NOT NULL, "exported" INTEGER NOT NULL, "excluded" INTEGER NOT NULL, '
        '"failed" INTEGER NOT NULL, "error" TEXT, "report" TEXT, "checkpoint" TEXT, '
        '"created_at" TIMESTAMP NOT NULL, "started_at" TIMESTAMP, "finished_at" TIMESTAMP)'
    ),
    'CREATE INDEX IF NOT EXISTS "export_job_status" ON "export_job" ("status")',
    'CREATE INDEX IF NOT EXISTS "export_job_created_at" ON "export_job" ("created_at")',
    (
        'CREATE TABLE IF NOT EXISTS "artifact" ("id" SERIAL NOT NULL PRIMARY KEY, "job_id" INTEGER, '
        '"name" VARCHAR(255) NOT NULL, "format" VARCHAR(32) NOT NULL, "content_type" VARCHAR(128) NOT NULL, '
        '"rows" INTEGER NOT NULL, "size" BIGINT NOT NULL, "sha256" VARCHAR(64) NOT NULL, "location" TEXT NOT NULL, '
        '"created_at" TIMESTAMP NOT NULL, "expires_at" TIMESTAMP NOT NULL, '
        'FOREIGN KEY ("job_id") REFERENCES "export_job" ("id") ON DELETE CASCADE)'
    ),
    'CREATE INDEX IF NOT EXISTS "artifact_job_id" ON "artifact" ("job_id")',
    'CREATE INDEX IF NOT EXISTS "artifact_expires_at" ON "artifact" ("expires_at")',
    (
        'CREATE TABLE IF NOT EXISTS "category" ("id" SERIAL NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, '
        '"slug" VARCHAR(255) NOT NULL, "parent_id" INTEGER, "path" TEXT NOT NULL, "depth" INTEGER NOT NULL, '
        'FOREIGN KEY ("parent_id") REFERENCES "category" ("id") ON DELETE SET NULL)'
    ),
    'CREATE INDEX IF NOT EXISTS "category_parent_id" ON "category" ("parent_id")',
    'CREATE INDEX IF NOT EXISTS "category_path" ON "category" ("path")',
    (
        'CREATE TABLE IF NOT EXISTS "product" ("id" SERIAL NOT NULL PRIMARY KEY, "sku" VARCHAR(64), '
        '"ean" VARCHAR(14), "upc" VARCHAR(12), "gtin" VARCHAR(14), "mpn" VARCHAR(70), "asin" VARCHAR(10), '
        '"title" TEXT NOT NULL, "description" TEXT, "short_description" TEXT, "brand" VARCHAR(255), '
        '"status" VARCHAR(16) NOT NULL, "price" NUMERIC(14, 2), "compare_at_price" NUMERIC(14, 2), '
        '"sale_price" NUMERIC(14, 2), "cost_price" NUMERIC(14, 2), "currency" VARCHAR(3) NOT NULL, '
        '"tax_rate" NUMERIC(5, 2) NOT NULL, "stock" INTEGER NOT NULL, "weight" NUMERIC(10, 3), "width" NUMERIC(10, '
        '2), "height" NUMERIC(10, 2), "depth" NUMERIC(10, 2), "tags" TEXT, "attributes" TEXT, '
        '"bullet_points" TEXT, "seo_title" TEXT, "seo_description" TEXT, "category_id" INTEGER, '
        '"created_at" TIMESTAMP NOT NULL, "updated_at" TIMESTAMP NOT NULL, "completeness" INTEGER NOT NULL, '
        '"grade" VARCHAR(1) NOT NULL, FOREIGN KEY ("category_id") REFERENCES "category" ("id") ON DELETE SET NULL)'
    ),
    'CREATE UNIQUE INDEX IF NOT EXISTS "product_sku" ON "product" ("sku")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "product_ean" ON "product" ("ean")',
    'CREATE INDEX IF NOT EXISTS "product_brand" ON "product" ("brand")',
    'CREATE INDEX IF NOT EXISTS "product_status" ON "product" ("status")',
    'CREATE INDEX IF NOT EXISTS "product_category_id" ON "product" ("category_id")',
    'CREATE INDEX IF NOT EXISTS "product_updated_at" ON "product" ("updated_at")',
    'CREATE INDEX IF NOT EXISTS "product_completeness" ON "product" ("completeness")',
    (
        'CREATE TABLE IF NOT EXISTS "image" ("id" SERIAL NOT NULL PRIMARY KEY, "product_id" INTEGER NOT NULL, '
        '"position" INTEGER NOT NULL, "url" TEXT NOT NULL, "alt" TEXT, "is_primary" BOOLEAN NOT NULL, '
        '"file_path" TEXT, "sha256" VARCHAR(64), FOREIGN KEY ("product_id") REFERENCES "product" ("id")'
        " ON DELETE CASCADE)"
    ),
    'CREATE INDEX IF NOT EXISTS "image_product_id" ON "image" ("product_id")',
    (
        'CREATE TABLE IF NOT EXISTS "job_exclusion" ("id" SERIAL NOT NULL PRIMARY KEY, "job_id" INTEGER NOT NULL, '
        '"product_id" INTEGER NOT NULL, "sku" VARCHAR(64), "ean" VARCHAR(14), "rule" VARCHAR(64) NOT NULL, '
        '"message" TEXT NOT NULL, FOREIGN KEY ("job_id") REFERENCES "export_job" ("id") ON DELETE CASCADE)'
    ),
    'CREATE INDEX IF NOT EXISTS "job_exclusion_job_id" ON "job_exclusion" ("job_id")',
    (
        'CREATE TABLE IF NOT EXISTS "product_category" ("id" SERIAL NOT NULL PRIMARY KEY, '
        '"product_id" INTEGER NOT NULL, "category_id" INTEGER NOT NULL, '
        'FOREIGN KEY ("product_id") REFERENCES "product" ("id") ON DELETE CASCADE, '
        'FOREIGN KEY ("category_id") REFERENCES "category" ("id") ON DELETE CASCADE)'
    ),
    'CREATE INDEX IF NOT EXISTS "product_category_product_id" ON "product_category" ("product_id")',
    'CREATE INDEX IF NOT EXISTS "product_category_category_id" ON "product_category" ("category_id")',
    (
        'CREATE UNIQUE INDEX IF NOT EXISTS "product_category_product_id_category_id"'
        ' ON "product_category" ("product_id", "category_id")'
    ),
    (
        'CREATE TABLE IF NOT EXISTS "supplier" ("id" SERIAL NOT NULL PRIMARY KEY, "code" VARCHAR(64) NOT NULL, '
        '"name" VARCHAR(255) NOT NULL, "country" VARCHAR(2))'
    ),
    'CREATE UNIQUE INDEX IF NOT EXISTS "supplier_code" ON "supplier" ("code")',
    (
        'CREATE TABLE IF NOT EXISTS "product_supplier" ("id" SERIAL NOT NULL PRIMARY KEY, '
        '"product_id" INTEGER NOT NULL, "supplier_id" INTEGER NOT NULL, "position" INTEGER NOT NULL, '
        '"supplier_sku" VARCHAR(64), "cost_price" NUMERIC(14, 2), "stock" INTEGER, '
        'FOREIGN KEY ("product_id") REFERENCES "product" ("id") ON DELETE CASCADE, '
        'FOREIGN KEY ("supplier_id") REFERENCES "supplier" ("id") ON DELETE CASCADE)'
    ),
    'CREATE INDEX IF NOT EXISTS "product_supplier_product_id" ON "product_supplier" ("product_id")',
    'CREATE INDEX IF NOT EXISTS "product_supplier_supplier_id" ON "product_supplier" ("supplier_id")',
    (
        'CREATE UNIQUE INDEX IF NOT EXISTS "product_supplier_product_id_supplier_id"'
        ' ON "product_supplier" ("product_id", "supplier_id")'
    ),
    (
        'CREATE TABLE IF NOT EXISTS "schema_version" ("version" INTEGER NOT NULL PRIMARY KEY, '
        '"description" TEXT NOT NULL, "applied_at" TIMESTAMP NOT NULL)'
    ),
    (
        'CREATE TABLE IF NOT EXISTS "template" ("id" SERIAL NOT NULL PRIMARY KEY, "name" VARCHAR(128) NOT NULL, '
        '"description" TEXT NOT NULL, "format" VARCHAR(32) NOT NULL, "spec" TEXT NOT NULL, '
        '"version" INTEGER NOT NULL, "predefined" BOOLEAN NOT NULL, "created_at" TIMESTAMP NOT NULL, '
        '"updated_at" TIMESTAMP NOT NULL)'
    ),
    'CREATE UNIQUE INDEX IF NOT EXISTS "template_name" ON "template" ("name")',
    (
        'CREATE TABLE IF NOT EXISTS "template_version" ("id" SERIAL NOT NULL PRIMARY KEY, '
        '"template_id" INTEGER NOT NULL, "version" INTEGER NOT NULL, "spec" TEXT NOT NULL, '
        '"created_at" TIMESTAMP NOT NULL, FOREIGN KEY ("template_id") REFERENCES "template" ("id")'
        " ON DELETE CASCADE)"
    ),
    'CREATE INDEX IF NOT EXISTS "template_version_template_id" ON "template_version" ("template_id")',
    (
        'CREATE UNIQUE INDEX IF NOT EXISTS "template_version_template_id_version"'
        ' ON "template_version" ("template_id", "version")'
    ),
    (
        'CREATE TABLE IF NOT EXISTS "variant" ("id" SERIAL NOT NULL PRIMARY KEY, "product_id" INTEGER NOT NULL, '
        '"position" INTEGER NOT NULL, "sku" VARCHAR(64), "ean" VARCHAR(14), "option1_name" VARCHAR(64), '
        '"option1_value" VARCHAR(255), "option2_name" VARCHAR(64), "option2_value" VARCHAR(255), '
        '"option3_name" VARCHAR(64), "option3_value" VARCHAR(255), "price" NUMERIC(14, 2), '
        '"stock" INTEGER NOT NULL, "weight" NUMERIC(10, 3), "image_url" TEXT, '
        'FOREIGN KEY ("product_id") REFERENCES "product" ("id") ON DELETE CASCADE)'
    ),
    'CREATE INDEX IF NOT EXISTS "variant_product_id" ON "variant" ("product_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "variant_sku" ON "variant" ("sku")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "variant_ean" ON "variant" ("ean")',
)


def apply(db: Database) -> None:
    run_frozen(db, sqlite=SQLITE, postgres=POSTGRES)
