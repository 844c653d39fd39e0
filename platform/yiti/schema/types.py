"""Column types: what each field type of the definition language is in the database.

Two types need care to stay exact on both databases: decimals (SQLite has no exact
NUMERIC, so there they are stored as integers scaled by 10**scale, which keeps them
exact, sortable and summable in SQL) and datetimes (stored as UTC, returned aware).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Integer, Numeric, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from yiti.definitions.model import Field
from yiti.values import DECIMAL_DEFAULTS

UTC = dt.UTC

#: Primary and foreign keys: 64-bit on PostgreSQL, SQLite's rowid integer there.
KeyType = BigInteger().with_variant(Integer(), "sqlite")


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC(precision, scale) on PostgreSQL; a scaled BIGINT on SQLite."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 18, scale: int = 6) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        if dialect.name == "sqlite":
            return int(number.scaleb(self.scale).to_integral_value())
        return number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            if isinstance(value, float):  # avg() and the like return REAL
                return (Decimal(repr(value)).scaleb(-self.scale)).quantize(
                    Decimal(1).scaleb(-self.scale)
                )
            return Decimal(int(value)).scaleb(-self.scale)
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        return number.quantize(Decimal(1).scaleb(-self.scale))

    @property
    def python_type(self) -> type:
        return Decimal


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware datetime, stored as UTC and returned aware (UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError("datetimes stored by Yiti must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type:
        return dt.datetime


SELECT_LENGTH = 64


def _decimal(f: Field) -> ExactDecimal:
    precision, scale = DECIMAL_DEFAULTS[f.type]
    return ExactDecimal(f.precision or precision, scale if f.scale is None else f.scale)

ColumnTypeBuilder = Callable[[Field], TypeEngine[Any]]

COLUMN_TYPES: dict[str, ColumnTypeBuilder] = {
    "string": lambda f: String(f.max_length or 140),
    "email": lambda f: String(f.max_length or 254),
    "phone": lambda f: String(f.max_length or 32),
    "url": lambda f: String(f.max_length or 2048),
    "text": lambda f: Text(),
    "integer": lambda f: BigInteger(),
    "decimal": lambda f: _decimal(f),
    "money": lambda f: _decimal(f),
    "percent": lambda f: _decimal(f),
    "boolean": lambda f: Boolean(create_constraint=False),
    "date": lambda f: Date(),
    "datetime": lambda f: UTCDateTime(),
    "select": lambda f: String(SELECT_LENGTH),
    "link": lambda f: KeyType,
    "attachment": lambda f: KeyType,
    "json": lambda f: JSON(),
}


def column_type(field: Field) -> TypeEngine[Any]:
    return COLUMN_TYPES[field.type](field)


def signature(field: Field) -> dict[str, Any]:
    """What about a field decides its column's type: compared between migrations."""
    sig: dict[str, Any] = {"type": field.type}
    if field.type in ("string", "email", "phone", "url"):
        sig["max_length"] = column_type(field).length  # type: ignore[attr-defined]
    elif field.type in ("decimal", "money", "percent"):
        col = column_type(field)
        sig["precision"], sig["scale"] = col.precision, col.scale  # type: ignore[attr-defined]
    elif field.type in ("link",):
        sig["target"] = field.target
    return sig


_FAMILY = {
    "string": "text", "email": "text", "phone": "text", "url": "text", "text": "text",
    "select": "text", "integer": "number", "decimal": "number", "money": "number",
    "percent": "number",
}


def is_widening(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """True when every value of the old column fits the new one unchanged."""
    if old == new:
        return True
    ot, nt = old["type"], new["type"]
    if _FAMILY.get(ot) == "text" and nt == "text":
        return True
    if _FAMILY.get(ot) == "text" and _FAMILY.get(nt) == "text" and ot == nt:
        return new.get("max_length", 0) >= old.get("max_length", 0)
    if ot in ("string", "select") and nt == "string":
        return new.get("max_length", 0) >= old.get("max_length", SELECT_LENGTH)
    if ot == "integer" and nt in ("decimal", "money", "percent"):
        return new["precision"] - new["scale"] >= 19
    if ot in ("decimal", "money", "percent") and nt in ("decimal", "money", "percent"):
        return (new["scale"] >= old["scale"]
                and new["precision"] - new["scale"] >= old["precision"] - old["scale"])
    return False


def field_from_signature(name: str, sig: dict[str, Any]) -> Field:
    """A stand-in field with the column type an older definition had (to read old data)."""
    return Field(
        name=name, type=sig["type"], label={"en": name}, max_length=sig.get("max_length"),
        precision=sig.get("precision"), scale=sig.get("scale"), target=sig.get("target"),
    )
