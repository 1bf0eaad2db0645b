"""Delta-export tables: what each delta template last sent to a destination, and what a running job saw."""

from __future__ import annotations

from peewee import CharField, ForeignKeyField, IntegerField

from engine.catalog.models import BaseModel
from engine.fields import JSONTextField
from engine.models.jobs import ExportJob


class DeltaState(BaseModel):
    """What a delta template last sent to a destination: one content hash per product."""

    scope = CharField(max_length=255)  # "<template>|<destination>"
    product_id = IntegerField()
    sku = CharField(max_length=64, null=True)
    ean = CharField(max_length=14, null=True)
    variant_skus = JSONTextField(null=True)  # so that a removed product's variants can be removed too
    content_hash = CharField(max_length=32)

    class Meta:
        indexes = ((("scope", "product_id"), True),)


class DeltaPending(BaseModel):
    """Products seen by a running delta job; becomes the DeltaState of its scope when the job succeeds."""

    job = ForeignKeyField(ExportJob, on_delete="CASCADE")
    product_id = IntegerField()
    sku = CharField(max_length=64, null=True)
    ean = CharField(max_length=14, null=True)
    variant_skus = JSONTextField(null=True)
    content_hash = CharField(max_length=32)

    class Meta:
        indexes = ((("job", "product_id"), True),)
