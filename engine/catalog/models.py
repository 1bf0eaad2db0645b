"""Catalogue tables (DESIGN §2). Writes go through engine.catalog.store, which keeps completeness current."""

from __future__ import annotations

import datetime as dt

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from engine.db import database_proxy
from engine.fields import FixedDecimalField, JSONTextField

PRODUCT_STATUSES = ("draft", "active", "inactive", "archived", "trash")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class Category(BaseModel):
    id = AutoField()
    name = CharField(max_length=255)
    slug = CharField(max_length=255)
    parent = ForeignKeyField("self", null=True, backref="children", on_delete="SET NULL")
    path = TextField(index=True)  # materialised: "Maison > Cuisine > Casseroles"
    depth = IntegerField(default=0)


class Supplier(BaseModel):
    id = AutoField()
    code = CharField(max_length=64, unique=True)
    name = CharField(max_length=255)
    country = CharField(max_length=2, null=True)


def money(null: bool = True) -> FixedDecimalField:
    return FixedDecimalField(max_digits=14, decimal_places=2, null=null)


class Product(BaseModel):
    id = AutoField()
    sku = CharField(max_length=64, null=True, unique=True)
    ean = CharField(max_length=14, null=True, unique=True)
    upc = CharField(max_length=12, null=True)
    gtin = CharField(max_length=14, null=True)
    mpn = CharField(max_length=70, null=True)
    asin = CharField(max_length=10, null=True)
    title = TextField()
    description = TextField(null=True)
    short_description = TextField(null=True)
    brand = CharField(max_length=255, null=True, index=True)
    status = CharField(max_length=16, default="draft", index=True)
    price = money()
    compare_at_price = money()
    sale_price = money()
    cost_price = money()
    currency = CharField(max_length=3, default="EUR")
    tax_rate = FixedDecimalField(max_digits=5, decimal_places=2, default=20)
    stock = IntegerField(default=0)
    weight = FixedDecimalField(max_digits=10, decimal_places=3, null=True)
    width = FixedDecimalField(max_digits=10, decimal_places=2, null=True)
    height = FixedDecimalField(max_digits=10, decimal_places=2, null=True)
    depth = FixedDecimalField(max_digits=10, decimal_places=2, null=True)
    tags = JSONTextField(null=True)
    attributes = JSONTextField(null=True)
    bullet_points = JSONTextField(null=True)
    seo_title = TextField(null=True)
    seo_description = TextField(null=True)
    category = ForeignKeyField(Category, null=True, backref="products", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow, index=True)
    completeness = IntegerField(default=0, index=True)
    grade = CharField(max_length=1, default="F")


class ProductCategory(BaseModel):
    """Extra categories of a product (the main one is Product.category)."""

    product = ForeignKeyField(Product, backref="extra_categories", on_delete="CASCADE")
    category = ForeignKeyField(Category, on_delete="CASCADE")

    class Meta:
        indexes = ((("product", "category"), True),)


class Variant(BaseModel):
    id = AutoField()
    product = ForeignKeyField(Product, backref="variants", on_delete="CASCADE")
    position = IntegerField(default=1)
    sku = CharField(max_length=64, null=True, unique=True)
    ean = CharField(max_length=14, null=True, unique=True)
    option1_name = CharField(max_length=64, null=True)
    option1_value = CharField(max_length=255, null=True)
    option2_name = CharField(max_length=64, null=True)
    option2_value = CharField(max_length=255, null=True)
    option3_name = CharField(max_length=64, null=True)
    option3_value = CharField(max_length=255, null=True)
    price = money()  # empty: inherit the product's
    stock = IntegerField(default=0)
    weight = FixedDecimalField(max_digits=10, decimal_places=3, null=True)
    image_url = TextField(null=True)


class ProductSupplier(BaseModel):
    product = ForeignKeyField(Product, backref="supplier_links", on_delete="CASCADE")
    supplier = ForeignKeyField(Supplier, backref="product_links", on_delete="CASCADE")
    position = IntegerField(default=1)
    supplier_sku = CharField(max_length=64, null=True)
    cost_price = money()
    stock = IntegerField(null=True)

    class Meta:
        indexes = ((("product", "supplier"), True),)


class Image(BaseModel):
    id = AutoField()
    product = ForeignKeyField(Product, backref="images", on_delete="CASCADE")
    position = IntegerField(default=1)
    url = TextField()
    alt = TextField(null=True)
    is_primary = BooleanField(default=False)
    file_path = TextField(null=True)
    sha256 = CharField(max_length=64, null=True)


CATALOG_MODELS = [Category, Supplier, Product, ProductCategory, Variant, ProductSupplier, Image]
