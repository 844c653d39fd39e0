"""A write that a unique index may refuse runs in a savepoint, so the transaction goes on
after the refusal; other writes go without one (two round trips saved each)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from yiti.errors import ValidationError


@pytest.fixture
def statements(site):
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_):
        seen.append(statement.split()[0].upper())

    event.listen(site.engine, "before_cursor_execute", listen)
    yield seen
    event.remove(site.engine, "before_cursor_execute", listen)


def test_a_unique_refusal_leaves_the_transaction_usable(records, contact):
    with records.unit_of_work():
        with pytest.raises(ValidationError) as error:
            records.create("contact", {"full_name": "Twin", "email": "ann@example.com"})
        assert error.value.problems[0].field == "email"
        other = records.create("contact", {"full_name": "Bo", "email": "bo@example.com"})
        with pytest.raises(ValidationError) as error:
            records.update("contact", other["id"], {"email": "ann@example.com"})
        assert error.value.problems[0].field == "email"
        records.update("contact", contact["id"], {"notes": "still here"})
    assert records.get("contact", other["id"])["email"] == "bo@example.com"
    assert records.get("contact", contact["id"])["notes"] == "still here"


def test_savepoints_only_where_a_unique_value_is_written(records, contact, statements):
    records.create("contact", {"full_name": "No unique values"})
    assert "SAVEPOINT" not in statements
    records.update("contact", contact["id"], {"notes": "email unchanged"})
    assert "SAVEPOINT" not in statements
    records.create("contact", {"full_name": "Cy", "email": "cy@example.com"})
    assert "SAVEPOINT" in statements
    statements.clear()
    records.create("item", {"code": "NEW-1", "title": "Named by its code", "stock": 1,
                            "deposit": "1.00"})
    assert "SAVEPOINT" in statements
