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
        seen.append(" ".join(statement.split()))

    event.listen(site.engine, "before_cursor_execute", listen)
    yield seen
    event.remove(site.engine, "before_cursor_execute", listen)


def sent(statements: list[str], word: str) -> bool:
    return any(s.upper().startswith(word) for s in statements)


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
    assert not sent(statements, "SAVEPOINT")
    records.update("contact", contact["id"], {"notes": "email unchanged"})
    assert not sent(statements, "SAVEPOINT")
    records.create("contact", {"full_name": "Cy", "email": "cy@example.com"})
    assert sent(statements, "SAVEPOINT")
    statements.clear()
    records.create("item", {"code": "NEW-1", "title": "Named by its code", "stock": 1,
                            "deposit": "1.00"})
    assert sent(statements, "SAVEPOINT")


def test_links_to_rows_this_transaction_inserted_are_not_read_back(records, statements):
    with records.unit_of_work():
        group = records.create("contact_group", {"code": "NEW", "title": "New"})
        statements.clear()
        records.create("contact", {"full_name": "Ann", "group": group["id"]})
        assert not any("contact_group" in s for s in statements)  # this transaction's own
        gone = records.create("contact_group", {"code": "GONE", "title": "Gone"})
        records.delete("contact_group", gone["id"])
        with pytest.raises(ValidationError) as error:
            records.create("contact", {"full_name": "Bo", "group": gone["id"]})
        assert error.value.problems[0].field == "group"
    statements.clear()
    records.create("contact", {"full_name": "Cy", "group": group["id"]})
    assert any(s.startswith("SELECT") and "contact_group" in s
               for s in statements)  # another transaction's row is looked for
