import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import auth_pb2 as _auth_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProductMatch(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRODUCT_MATCH_UNSPECIFIED: _ClassVar[ProductMatch]
    PRODUCT_MATCH_SKU: _ClassVar[ProductMatch]
    PRODUCT_MATCH_EAN: _ClassVar[ProductMatch]
PRODUCT_MATCH_UNSPECIFIED: ProductMatch
PRODUCT_MATCH_SKU: ProductMatch
PRODUCT_MATCH_EAN: ProductMatch

class Product(_message.Message):
    __slots__ = ("id", "sku", "ean", "upc", "gtin", "mpn", "asin", "title", "description", "short_description", "brand", "status", "price", "compare_at_price", "sale_price", "cost_price", "currency", "tax_rate", "stock", "weight", "width", "height", "depth", "tags", "attributes", "bullet_points", "seo_title", "seo_description", "category", "extra_categories", "images", "suppliers", "variants", "completeness", "grade", "created_at", "updated_at")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    EAN_FIELD_NUMBER: _ClassVar[int]
    UPC_FIELD_NUMBER: _ClassVar[int]
    GTIN_FIELD_NUMBER: _ClassVar[int]
    MPN_FIELD_NUMBER: _ClassVar[int]
    ASIN_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SHORT_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    COMPARE_AT_PRICE_FIELD_NUMBER: _ClassVar[int]
    SALE_PRICE_FIELD_NUMBER: _ClassVar[int]
    COST_PRICE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    TAX_RATE_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    BULLET_POINTS_FIELD_NUMBER: _ClassVar[int]
    SEO_TITLE_FIELD_NUMBER: _ClassVar[int]
    SEO_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    EXTRA_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    SUPPLIERS_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    COMPLETENESS_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    sku: str
    ean: str
    upc: str
    gtin: str
    mpn: str
    asin: str
    title: str
    description: str
    short_description: str
    brand: str
    status: str
    price: str
    compare_at_price: str
    sale_price: str
    cost_price: str
    currency: str
    tax_rate: str
    stock: int
    weight: str
    width: str
    height: str
    depth: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    attributes: _containers.ScalarMap[str, str]
    bullet_points: _containers.RepeatedScalarFieldContainer[str]
    seo_title: str
    seo_description: str
    category: str
    extra_categories: _containers.RepeatedScalarFieldContainer[str]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    suppliers: _containers.RepeatedCompositeFieldContainer[SupplierLink]
    variants: _containers.RepeatedCompositeFieldContainer[Variant]
    completeness: int
    grade: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., sku: _Optional[str] = ..., ean: _Optional[str] = ..., upc: _Optional[str] = ..., gtin: _Optional[str] = ..., mpn: _Optional[str] = ..., asin: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., short_description: _Optional[str] = ..., brand: _Optional[str] = ..., status: _Optional[str] = ..., price: _Optional[str] = ..., compare_at_price: _Optional[str] = ..., sale_price: _Optional[str] = ..., cost_price: _Optional[str] = ..., currency: _Optional[str] = ..., tax_rate: _Optional[str] = ..., stock: _Optional[int] = ..., weight: _Optional[str] = ..., width: _Optional[str] = ..., height: _Optional[str] = ..., depth: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., attributes: _Optional[_Mapping[str, str]] = ..., bullet_points: _Optional[_Iterable[str]] = ..., seo_title: _Optional[str] = ..., seo_description: _Optional[str] = ..., category: _Optional[str] = ..., extra_categories: _Optional[_Iterable[str]] = ..., images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ..., suppliers: _Optional[_Iterable[_Union[SupplierLink, _Mapping]]] = ..., variants: _Optional[_Iterable[_Union[Variant, _Mapping]]] = ..., completeness: _Optional[int] = ..., grade: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("url", "alt")
    URL_FIELD_NUMBER: _ClassVar[int]
    ALT_FIELD_NUMBER: _ClassVar[int]
    url: str
    alt: str
    def __init__(self, url: _Optional[str] = ..., alt: _Optional[str] = ...) -> None: ...

class SupplierLink(_message.Message):
    __slots__ = ("code", "supplier_sku", "cost_price", "stock")
    CODE_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_SKU_FIELD_NUMBER: _ClassVar[int]
    COST_PRICE_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    code: str
    supplier_sku: str
    cost_price: str
    stock: int
    def __init__(self, code: _Optional[str] = ..., supplier_sku: _Optional[str] = ..., cost_price: _Optional[str] = ..., stock: _Optional[int] = ...) -> None: ...

class Variant(_message.Message):
    __slots__ = ("sku", "ean", "options", "price", "stock", "weight", "image_url")
    SKU_FIELD_NUMBER: _ClassVar[int]
    EAN_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    sku: str
    ean: str
    options: _containers.RepeatedCompositeFieldContainer[VariantOption]
    price: str
    stock: int
    weight: str
    image_url: str
    def __init__(self, sku: _Optional[str] = ..., ean: _Optional[str] = ..., options: _Optional[_Iterable[_Union[VariantOption, _Mapping]]] = ..., price: _Optional[str] = ..., stock: _Optional[int] = ..., weight: _Optional[str] = ..., image_url: _Optional[str] = ...) -> None: ...

class VariantOption(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class UpsertProductsRequest(_message.Message):
    __slots__ = ("product", "update_mask", "match_by")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    MATCH_BY_FIELD_NUMBER: _ClassVar[int]
    product: Product
    update_mask: _field_mask_pb2.FieldMask
    match_by: ProductMatch
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., match_by: _Optional[_Union[ProductMatch, str]] = ...) -> None: ...

class Rejection(_message.Message):
    __slots__ = ("index", "sku", "ean", "reason")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    EAN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    index: int
    sku: str
    ean: str
    reason: str
    def __init__(self, index: _Optional[int] = ..., sku: _Optional[str] = ..., ean: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UpsertProductsResponse(_message.Message):
    __slots__ = ("received", "created", "updated", "rejected", "rejections", "rejections_truncated")
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    received: int
    created: int
    updated: int
    rejected: int
    rejections: _containers.RepeatedCompositeFieldContainer[Rejection]
    rejections_truncated: bool
    def __init__(self, received: _Optional[int] = ..., created: _Optional[int] = ..., updated: _Optional[int] = ..., rejected: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[Rejection, _Mapping]]] = ..., rejections_truncated: _Optional[bool] = ...) -> None: ...

class DeleteProductsRequest(_message.Message):
    __slots__ = ("ids", "skus", "eans")
    IDS_FIELD_NUMBER: _ClassVar[int]
    SKUS_FIELD_NUMBER: _ClassVar[int]
    EANS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[int]
    skus: _containers.RepeatedScalarFieldContainer[str]
    eans: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[int]] = ..., skus: _Optional[_Iterable[str]] = ..., eans: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteProductsResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class GetProductRequest(_message.Message):
    __slots__ = ("id", "sku", "ean")
    ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    EAN_FIELD_NUMBER: _ClassVar[int]
    id: int
    sku: str
    ean: str
    def __init__(self, id: _Optional[int] = ..., sku: _Optional[str] = ..., ean: _Optional[str] = ...) -> None: ...
