"""records.create_many: the same checks, audit and results as create, written in batches.

60 rows is above bulk.COPY_THRESHOLD, so on PostgreSQL these go through COPY, and on
SQLite through one executemany of converted tuples (yiti.records.bulk.write_rows).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from yiti.errors import FieldProblem, ValidationError
from yiti.permissions import Actor

N = 60


def problems(error: ValidationError) -> dict[str, str]:
    return {p.field: p.message for p in error.problems}


def contact_values(i: int, group: int, photo: int) -> dict:
    return {
        "full_name": f"陈小明 {i}", "group": group, "email": f"c{i}@example.cn",
        "phone": "+86 138 0000 0000", "website": "https://shop.example.cn/x?a=1",
        "birthday": "1990-02-28", "active": i % 2 == 0, "source": "import",
        "external_id": f"E-{i}", "credit_limit": "99999999.99", "photo": photo,
        "notes": "line 1\nline 2 ✓\ttab \\ backslash",
        "preferences": {"tags": ["tea", "书"], "n": i, "price": Decimal("1.10")},
    }


def test_create_many_stores_what_create_stores(records):
    group = records.create("contact_group", {"code": "VIP", "title": "VIPs"})["id"]
    photo = records.store_file("me.png", "image/png", b"\x89PNG fake")
    single = records.create("contact", contact_values(0, group, photo))
    ids = records.create_many("contact", [contact_values(i, group, photo)
                                          for i in range(1, N + 1)])
    assert len(ids) == N and len(set(ids)) == N
    # The ids come back in the rows' order.
    for i in (1, 2, N // 2, N):
        got = records.get("contact", ids[i - 1])
        assert got["external_id"] == f"E-{i}"
    got = records.get("contact", ids[0])
    for key, value in single.items():
        if key in ("id", "name", "full_name", "email", "external_id", "active",
                   "preferences", "created_at", "modified_at"):
            continue
        assert got[key] == value, key
    assert got["credit_limit"] == Decimal("99999999.99")
    assert got["preferences"] == {"tags": ["tea", "书"], "n": 1, "price": "1.10"}
    assert got["active"] is False and records.get("contact", ids[1])["active"] is True
    assert got["notes"] == "line 1\nline 2 ✓\ttab \\ backslash"
    assert got["created_at"].tzinfo is not None and got["created_by"] == "system"
    assert got["name"].startswith("C-")  # the naming series, as for create


def test_create_many_with_lines_formulas_rules_and_conditions(records, contact, items):
    seen = dt.datetime(2026, 11, 11, 20, 0, 0, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))

    def loan(**changes: object) -> dict:
        return {"contact": contact["id"], "loan_date": "2026-11-11", "status": "returned",
                "returned_at": seen,
                "lines": [{"item": items[0]["id"], "qty": 2, "deposit": "20.00"},
                          {"item": items[1]["id"], "deposit": "150.00"}], **changes}

    ids = records.create_many("loan", [loan() for _ in range(N)])
    got = records.get("loan", ids[-1])
    assert got["total_deposit"] == Decimal("190.00")
    assert [line["line_deposit"] for line in got["lines"]] == [Decimal("40.00"),
                                                               Decimal("150.00")]
    assert got["returned_at"] == seen and got["returned_at"].tzinfo is not None
    names = {records.get("loan", i)["name"] for i in ids}
    assert len(names) == N and all(n.startswith("LN-") for n in names)
    rows = [loan() for _ in range(N)]
    rows[7]["returned_at"] = None
    rows[8]["due_date"] = "2026-11-01"
    rows[9]["lines"] = [{"item": items[0]["id"], "qty": 0}]
    rows[10]["lines"] = [{"item": 999_999}]
    with pytest.raises(ValidationError) as error:
        records.create_many("loan", rows)
    assert problems(error.value) == {
        "rows[7].returned_at": "is required",
        "rows[8].due_date": "The due date cannot be before the loan date",
        "rows[9].lines[0].qty": "must be at least 1",
        "rows[10].lines[0].item": "no item with id 999999",
    }
    assert records.count("loan").value == N


def test_create_many_audits_every_record(records, site):
    ids = records.create_many("contact", [{"full_name": f"P{i}", "email": f"p{i}@x.cn"}
                                          for i in range(N)])
    audit = site.tables["yiti_audit"]
    with site.engine.connect() as conn:
        n = conn.execute(select(func.count()).where(audit.c.entity == "contact",
                                                    audit.c.action == "create")).scalar_one()
    assert n == N
    history = records.history("contact", ids[7])
    assert [h["action"] for h in history] == ["create"]
    assert history[0]["changes"]["email"] == [None, "p7@x.cn"]
    assert history[0]["user"] == "system" and history[0]["version"] == 1


def test_create_many_names_row_field_and_reason_and_saves_nothing(records):
    rows = [{"code": f"A-{i}", "title": f"A{i}", "stock": i} for i in range(N)]
    rows[3]["stock"] = -1
    rows[17]["code"] = "lower case"
    rows[42]["title"] = ""
    rows[50]["deposit"] = "1.005"
    with pytest.raises(ValidationError) as error:
        records.create_many("item", rows)
    assert problems(error.value) == {
        "rows[3].stock": "must be at least 0",
        "rows[17].code": "must match the pattern ^[A-Z0-9-]+$",
        "rows[42].title": "is required",
        "rows[50].deposit": "has more than 2 decimal places",
    }
    assert records.count("item").value == 0


def test_create_many_refuses_values_the_actor_may_not_set_by_row(site, records):
    clerk = site.records(Actor("clerk", frozenset({"Administrator"})))
    rows = [{"code": f"B-{i}", "title": "b"} for i in range(N)]
    rows[5]["created_by"] = "someone else"
    rows[9]["colour"] = "red"
    with pytest.raises(ValidationError) as error:
        clerk.create_many("item", rows)
    found = problems(error.value)
    assert found["rows[5].created_by"] == "is set by the system"
    assert found["rows[9].colour"].startswith("item has no field 'colour'")
    assert set(found) == {"rows[5].created_by", "rows[9].colour"}
    assert records.count("item").value == 0


def test_create_many_unique_and_links_are_checked(records):
    rows = [{"full_name": f"U{i}", "email": f"u{i}@x.cn"} for i in range(N)]
    rows[-1]["email"] = "u0@x.cn"  # the same address twice in one batch
    with pytest.raises(ValidationError) as error:
        records.create_many("contact", rows)
    assert problems(error.value) == {f"rows[{N - 1}].email": "is already used by another record"}
    assert records.count("contact").value == 0
    records.create("contact", {"full_name": "Taken", "email": "taken@x.cn",
                               "source": "import", "external_id": "X-1"})
    rows = [{"full_name": f"V{i}", "email": f"v{i}@x.cn"} for i in range(N)]
    rows[30]["email"] = "taken@x.cn"  # already in the table
    rows[31].update(source="import", external_id="X-1")  # a unique combination, taken
    with pytest.raises(ValidationError) as error:
        records.create_many("contact", rows)
    assert problems(error.value) == {  # both, though the database names only one
        "rows[30].email": "is already used by another record",
        "rows[31].source": "the combination of source, external_id is already used"}
    assert records.count("contact").value == 1
    rows = [{"full_name": f"L{i}", "group": 999_999 if i == 12 else None} for i in range(N)]
    with pytest.raises(ValidationError) as error:
        records.create_many("contact", rows)
    assert problems(error.value) == {"rows[12].group": "no contact_group with id 999999"}
    assert records.count("contact").value == 1


def test_create_many_runs_the_hooks_of_each_record(site, records):
    seen: list[tuple[str, str]] = []

    def hook(event: str):  # noqa: ANN202
        def run(doc, ctx):  # noqa: ANN001, ANN202
            seen.append((event, doc["code"]))
            if event == "before_validate":
                doc["title"] = doc["title"].upper()
        return run

    for event in ("before_validate", "validate", "before_save", "after_save"):
        site.hooks.add("item", event, hook(event))
    ids = records.create_many("item", [{"code": f"H-{i}", "title": f"h{i}"} for i in range(N)])
    assert records.get("item", ids[4])["title"] == "H4"
    for event in ("before_validate", "validate", "before_save", "after_save"):
        assert [code for e, code in seen if e == event] == [f"H-{i}" for i in range(N)]


def test_create_many_finds_the_problems_create_finds(site, records, contact, items):
    """create_many checks records in batches (prepare_many); create one by one
    (prepare): the same steps, so the same problems for the same record."""
    def refuse_drills(doc, ctx):  # noqa: ANN001, ANN202
        if any(line.get("item") == items[1]["id"] for line in doc.get("lines") or []):
            raise ValidationError([FieldProblem("lines", "no drills on loan", "rule")])

    site.hooks.add("loan", "validate", refuse_drills)
    good = {"contact": contact["id"], "loan_date": "2026-11-11",
            "lines": [{"item": items[0]["id"], "qty": 1}]}
    bad = [
        {**good, "status": "returned"},  # required_if
        {**good, "due_date": "2026-11-01"},  # a rule
        {**good, "lines": []},  # required table
        {**good, "contact": 999_999},  # a link
        {**good, "contact": {"full_name": "Nobody"}},  # a lookup that finds nothing
        {**good, "contact": {"full_name": "Ann Lee"}, "lines": [{"item": 999_999}]},
        {**good, "lines": [{"item": items[1]["id"]}]},  # the validate hook
        {**good, "late_fee_rate": "abc", "loan_date": "never"},  # two fields at once
        {**good, "lines": [{"item": items[0]["id"], "qty": "x", "colour": "red"}]},
    ]
    for values in bad:
        with pytest.raises(ValidationError) as one:
            records.create("loan", values)
        with pytest.raises(ValidationError) as many:
            records.create_many("loan", [good, values])
        expected = [(f"rows[1].{p.field}", p.message, p.code) for p in one.value.problems]
        assert [(p.field, p.message, p.code) for p in many.value.problems] == expected
    assert records.count("loan").value == 0
    assert len(records.create_many("loan", [good, {**good, "contact": {"full_name": "Ann Lee"}}])) == 2
