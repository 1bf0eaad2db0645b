"""Custom peewee fields shared by the models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from peewee import DecimalField, TextField


class JSONTextField(TextField):
    """JSON stored as text, portable across SQLite and PostgreSQL."""

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return orjson.dumps(value).decode()

    def python_value(self, value: Any) -> Any:
        if value is None or value == "":
            return None
        return orjson.loads(value)


class FixedDecimalField(DecimalField):
    """A decimal read back with exactly `decimal_places` digits, whatever the backend stored
    (SQLite keeps 49.9 for 49.90; PostgreSQL's numeric keeps the scale)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_round", True)
        super().__init__(*args, **kwargs)
        self._quantum = Decimal(1).scaleb(-self.decimal_places)

    def python_value(self, value: Any) -> Decimal | None:
        if value is None:
            return None
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        return number.quantize(self._quantum)
