from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from yiti.errors import Forbidden
from yiti.scripting import ScriptRunner


class FakeHost:
    """A ScriptHost over a dict, recording every call."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], dict[str, Any]] = {
            ("customer", "C-1"): {"name": "C-1", "credit_limit": Decimal("500"), "tier": "gold"},
        }
        self.calls: list[tuple[Any, ...]] = []
        self.logs: list[tuple[str, str]] = []
        self.on_create: Any = None

    def get(self, entity: str, name: Any) -> Any:
        self.calls.append(("get", entity, name))
        return self.records.get((entity, name))

    def list(self, entity: str, filters: Any, fields: Any, order_by: Any, limit: int) -> Any:
        self.calls.append(("list", entity, filters, limit))
        rows = [r for (e, _), r in self.records.items() if e == entity]
        return [r for r in rows if all(r.get(k) == v for k, v in filters.items())][:limit]

    def create(self, entity: str, values: Any) -> Any:
        self.calls.append(("create", entity, values))
        if entity == "secret":
            raise Forbidden("you may not create secret records")
        if self.on_create:
            self.on_create(entity, values)
        record = dict(values, name=f"{entity}-{len(self.records) + 1}")
        self.records[(entity, record["name"])] = record
        return record

    def update(self, entity: str, name: Any, values: Any, version: Any) -> Any:
        self.calls.append(("update", entity, name, values, version))
        self.records[(entity, name)].update(values)
        return self.records[(entity, name)]

    def notify(self, user: str, subject: str, body: str) -> None:
        self.calls.append(("notify", user, subject, body))

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))


@pytest.fixture
def host() -> FakeHost:
    return FakeHost()


@pytest.fixture(scope="session")
def runner() -> Iterator[ScriptRunner]:
    with ScriptRunner(pool_size=2, cpu_seconds=0.5, wall_seconds=2.0, memory_mb=256) as r:
        yield r
