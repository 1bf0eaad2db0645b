"""Amazon JSON_LISTINGS_FEED messages built without any file or network: nesting, defaults, DELETE, rejections."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.errors import ItemRejected, TemplateError
from engine.platforms.amazon.payload import (
    MessagePlan,
    MessageSettings,
    build_message,
    check_headers,
    delete_message,
    feed_header,
    removed_skus,
)
from tests.test_platforms import assert_valid_feed

HEADERS = [
    "sku",
    "product_type",
    "attributes.item_name",
    "attributes.bullet_point",
    "attributes.purchasable_offer.our_price.0.schedule.0.value_with_tax",
    "attributes.purchasable_offer.currency",
    "attributes.fulfillment_availability.quantity",
    "attributes.fulfillment_availability.fulfillment_channel_code",
    "operation_type",
]
SETTINGS = MessageSettings(marketplace_id="A13V1IB3VIYZZH", language_tag="fr_FR", product_type="SAUTE_FRY_PAN")
PLAN = MessagePlan(HEADERS)


def row(**cells: Any) -> list[Any]:
    values: dict[str, Any] = {
        "sku": "PAN-28",
        "product_type": None,
        "attributes.item_name": "Poêle 28 cm",
        "attributes.bullet_point": ["Inox", "", "Tous feux"],
        "attributes.purchasable_offer.our_price.0.schedule.0.value_with_tax": Decimal("39.90"),
        "attributes.purchasable_offer.currency": "EUR",
        "attributes.fulfillment_availability.quantity": 12,
        "attributes.fulfillment_availability.fulfillment_channel_code": "DEFAULT",
        "operation_type": None,
    }
    values.update({k.replace("__", "."): v for k, v in cells.items()})
    return [values[h] for h in HEADERS]


def test_a_row_becomes_a_nested_update_message() -> None:
    message = build_message(PLAN, SETTINGS, row(), 1)
    assert message == {
        "messageId": 1,
        "sku": "PAN-28",
        "operationType": "UPDATE",
        "productType": "SAUTE_FRY_PAN",
        "requirements": "LISTING",
        "attributes": {
            "item_name": [{"value": "Poêle 28 cm", "language_tag": "fr_FR", "marketplace_id": "A13V1IB3VIYZZH"}],
            "bullet_point": [
                {"value": "Inox", "language_tag": "fr_FR", "marketplace_id": "A13V1IB3VIYZZH"},
                {"value": "Tous feux", "language_tag": "fr_FR", "marketplace_id": "A13V1IB3VIYZZH"},
            ],
            "purchasable_offer": [
                {
                    "our_price": [{"schedule": [{"value_with_tax": Decimal("39.90")}]}],
                    "currency": "EUR",
                    "marketplace_id": "A13V1IB3VIYZZH",
                }
            ],
            "fulfillment_availability": [{"quantity": 12, "fulfillment_channel_code": "DEFAULT"}],
        },
    }


def test_row_values_override_the_settings_and_partial_updates_carry_no_requirements() -> None:
    message = build_message(PLAN, SETTINGS, row(product_type="COOKWARE", operation_type=" partial_update "), 4)
    assert (message["productType"], message["operationType"], "requirements" in message) == (
        "COOKWARE",
        "PARTIAL_UPDATE",
        False,
    )


def test_delete_messages_carry_only_the_sku() -> None:
    assert build_message(PLAN, SETTINGS, row(operation_type="DELETE"), 2) == {
        "messageId": 2,
        "sku": "PAN-28",
        "operationType": "DELETE",
    }
    assert delete_message("PAN-28", 3) == {"messageId": 3, "sku": "PAN-28", "operationType": "DELETE"}
    assert removed_skus({"sku": "TSH", "variant_skus": ["TSH-S", "", None, "TSH-M"]}) == ["TSH-S", "TSH-M", "TSH"]
    assert removed_skus({"sku": None}) == []


def test_a_feed_document_from_these_messages_is_valid() -> None:
    price = {"attributes__purchasable_offer__our_price__0__schedule__0__value_with_tax": 39.9}  # as JSON reads it
    messages = [build_message(PLAN, SETTINGS, row(**price), 1), delete_message("OLD-1", 2)]
    document = {**feed_header("A1PMEXPORTS", "fr_FR"), "messages": messages}
    assert_valid_feed(document)


@pytest.mark.parametrize(
    ("cells", "item", "reason"),
    [
        ({"sku": ""}, None, "message 7 has an empty sku"),
        ({"operation_type": "upsert"}, "PAN-28", "operation_type 'UPSERT' is not one of UPDATE, PARTIAL_UPDATE"),
        (
            {h.replace(".", "__"): None for h in HEADERS if h.startswith("attributes.")},
            "PAN-28",
            "every attribute is empty, and an UPDATE message needs one",
        ),
    ],
)
def test_a_message_amazon_would_refuse_is_rejected_with_its_sku(
    cells: dict[str, Any], item: str | None, reason: str
) -> None:
    with pytest.raises(ItemRejected) as rejected:
        build_message(PLAN, SETTINGS, row(**cells), 7)
    assert rejected.value.item == item and rejected.value.reason.startswith(reason)


def test_headers_are_checked_when_the_template_is_saved() -> None:
    check_headers(HEADERS)
    with pytest.raises(TemplateError, match="needs a column with the header 'sku'"):
        check_headers(["attributes.item_name"])


def test_a_product_needs_a_real_product_type_unless_the_listing_is_an_offer_on_an_existing_asin() -> None:
    untyped = MessageSettings(marketplace_id="A13V1IB3VIYZZH", language_tag="fr_FR")
    with pytest.raises(ItemRejected, match="message 3 has no product type: map the product's category"):
        build_message(PLAN, untyped, row(), 3)
    with pytest.raises(ItemRejected, match="PRODUCT type for offer-only listings only"):
        build_message(PLAN, SETTINGS, row(product_type="PRODUCT"), 3)
    plan = MessagePlan([*HEADERS, "requirements"])
    offer = build_message(plan, untyped, [*row(), "listing_offer_only"], 3)
    assert (offer["productType"], offer["requirements"]) == ("PRODUCT", "LISTING_OFFER_ONLY")
    with pytest.raises(ItemRejected, match="requirements 'LISTING_ALL' is not one of"):
        build_message(plan, untyped, [*row(), "listing_all"], 3)
