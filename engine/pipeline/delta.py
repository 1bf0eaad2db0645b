"""Delta exports: send only products whose mapped content changed since the last successful run of the same
template to the same destination, and list the products removed since then.

A product's fingerprint is a hash of its mapped rows. A run stages the fingerprint of every product it sees
(DeltaPending, per job, so memory stays flat and a resumed job keeps what it staged); when it succeeds, the
staged set becomes the scope's state (DeltaState). Products in the old state that the run did not see —
deleted, no longer selected, or now excluded by a rule — are the removed ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from peewee import Value

from engine.db import current_database
from engine.models import DeltaPending, DeltaState

STAGE_BATCH = 500


@dataclass(frozen=True)
class Seen:
    """A product as a delta run saw it."""

    product_id: int
    sku: str | None
    ean: str | None
    variant_skus: list[str]
    content_hash: str


def fingerprint(rows: Sequence[Sequence[Any]]) -> str:
    data = orjson.dumps(rows, default=str, option=orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def scope_key(template: str, destination: str) -> str:
    return f"{template}|{destination}"


class DeltaTracker:
    def __init__(self, scope: str, job_id: int) -> None:
        self.scope = scope
        self.job_id = job_id

    def previous(self, product_ids: Sequence[int]) -> dict[int, str]:
        """Fingerprints last sent for these products."""
        query = DeltaState.select(DeltaState.product_id, DeltaState.content_hash).where(
            (DeltaState.scope == self.scope) & DeltaState.product_id.in_(list(product_ids))
        )
        return dict(query.tuples())

    def stage(self, seen: Sequence[Seen]) -> None:
        """Record what this run saw of each product (idempotent on resume)."""
        rows = [
            {
                "job": self.job_id,
                "product_id": s.product_id,
                "sku": s.sku,
                "ean": s.ean,
                "variant_skus": s.variant_skus or None,
                "content_hash": s.content_hash,
            }
            for s in seen
        ]
        for start in range(0, len(rows), STAGE_BATCH):
            DeltaPending.insert_many(rows[start : start + STAGE_BATCH]).on_conflict_ignore().execute()

    def removed(self) -> Iterator[dict[str, Any]]:
        """Products of the previous state that this run did not see."""
        seen = DeltaPending.select(DeltaPending.product_id).where(DeltaPending.job == self.job_id)
        query = (
            DeltaState.select(
                DeltaState.product_id.alias("id"), DeltaState.sku, DeltaState.ean, DeltaState.variant_skus
            )
            .where((DeltaState.scope == self.scope) & DeltaState.product_id.not_in(seen))
            .order_by(DeltaState.product_id)
        )
        yield from query.dicts().iterator()

    def commit(self) -> None:
        """The staged set becomes the scope's state (one INSERT ... SELECT: nothing held in memory)."""
        with current_database().atomic():
            DeltaState.delete().where(DeltaState.scope == self.scope).execute()
            staged = DeltaPending.select(
                Value(self.scope),
                DeltaPending.product_id,
                DeltaPending.sku,
                DeltaPending.ean,
                DeltaPending.content_hash,
            ).where(DeltaPending.job == self.job_id)
            fields = [DeltaState.scope, DeltaState.product_id, DeltaState.sku, DeltaState.ean, DeltaState.content_hash]
            DeltaState.insert_from(staged, fields).execute()
            DeltaPending.delete().where(DeltaPending.job == self.job_id).execute()

    def discard(self) -> None:
        DeltaPending.delete().where(DeltaPending.job == self.job_id).execute()
