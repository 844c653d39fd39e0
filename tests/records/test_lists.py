"""Lists: filters, sort, search, offset and keyset pagination, capped counts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yiti.errors import ValidationError


@pytest.fixture
def catalogue(records):  # noqa: ANN001, ANN201
    group = records.create("contact_group", {"code": "BOOKWORMS", "title": "Bookworms"})
    people = [
        records.create("contact", {"full_name": "Ann Lee", "group": group["id"],
                                   "credit_limit": "10.00", "birthday": "1990-01-01"}),
        records.create("contact", {"full_name": "Bob Wu", "credit_limit": "250.50",
                                   "birthday": "1985-06-30", "active": False}),
        records.create("contact", {"full_name": "Cai Xin", "group": group["id"],
                                   "email": "cai@example.cn"}),
    ]
    items = [records.create("item", {"code": f"I-{i:02d}", "title": f"Item {i}",
                                     "stock": i % 4, "deposit": f"{i}.50"}) for i in range(25)]
    records.create("loan", {"contact": people[0]["id"], "lines": [{"item": items[3]["id"]}]})
    records.create("loan", {"contact": people[1]["id"], "lines": [{"item": items[7]["id"]},
                                                                  {"item": items[3]["id"]}]})
    return people, items


def names(page) -> list[str]:  # noqa: ANN001
    return [row.get("full_name") or row.get("code") for row in page.rows]


@pytest.mark.parametrize("filters, expected", [
    ([("full_name", "=", "Bob Wu")], ["Bob Wu"]),
    ([("full_name", "!=", "Bob Wu")], ["Ann Lee", "Cai Xin"]),
    ([("credit_limit", ">", "10")], ["Bob Wu"]),
    ([("credit_limit", ">=", "10")], ["Ann Lee", "Bob Wu"]),
    ([("credit_limit", "<", "100")], ["Ann Lee"]),
    ([("credit_limit", "<=", "250.50")], ["Ann Lee", "Bob Wu"]),
    ([("full_name", "in", ["Ann Lee", "Cai Xin", "Nobody"])], ["Ann Lee", "Cai Xin"]),
    ([("full_name", "not in", ["Ann Lee"])], ["Bob Wu", "Cai Xin"]),
    ([("full_name", "like", "%wu%")], ["Bob Wu"]),
    ([("full_name", "not like", "%a%")], ["Bob Wu"]),
    ([("birthday", "between", ["1980-01-01", "1989-12-31"])], ["Bob Wu"]),
    ([("email", "is null", None)], ["Ann Lee", "Bob Wu"]),
    ([("email", "is not null", None)], ["Cai Xin"]),
    ([("active", "=", False)], ["Bob Wu"]),
    ([("group.code", "=", "BOOKWORMS")], ["Ann Lee", "Cai Xin"]),
    ([("group.title", "like", "book%"), ("credit_limit", "is null", None)], ["Cai Xin"]),
    ({"full_name": "Ann Lee"}, ["Ann Lee"]),
    ([{"field": "credit_limit", "op": ">", "value": 100}], ["Bob Wu"]),
])
def test_filters(records, catalogue, filters, expected):
    page = records.list("contact", filters=filters, sort=["full_name"])
    assert names(page) == expected
    assert records.count("contact", filters=filters).value == len(expected)


def test_filter_on_child_lines_and_link_of_child(records, catalogue):
    people, items = catalogue
    page = records.list("loan", filters=[("lines.item", "=", items[3]["id"])], sort=["id"])
    assert [r["contact"] for r in page.rows] == [people[0]["id"], people[1]["id"]]
    page = records.list("loan", filters=[("lines.item.code", "=", "I-07")])
    assert [r["contact"] for r in page.rows] == [people[1]["id"]]


def test_link_columns_in_lists(records, catalogue):
    page = records.list("contact", fields=["full_name", "group.title"], sort=["full_name"])
    assert [(r["full_name"], r["group.title"]) for r in page.rows] == [
        ("Ann Lee", "Bookworms"), ("Bob Wu", None), ("Cai Xin", "Bookworms")]


@pytest.mark.parametrize("filters, field, message", [
    ([("credit", ">", 1)], "filters[0]", "unknown field 'credit'; did you mean 'credit_limit'?"),
    ([("full_name", "~", "x")], "filters[0]", "unknown operator '~'"),
    ([("credit_limit", ">", "lots")], "filters[0]", "credit_limit must be a number"),
    ([("full_name.x", "=", 1)], "filters[0]", "'full_name' is not a link"),
    ([("full_name", "in", "Ann")], "filters[0]", "in needs a list"),
    ([("birthday", "between", ["2020-01-01"])], "filters[0]", "between needs two values"),
    (["nonsense"], "filters[0]", "must be [field, operator, value]"),
])
def test_bad_filters_name_the_filter_and_the_reason(records, catalogue, filters, field, message):
    with pytest.raises(ValidationError) as error:
        records.list("contact", filters=filters)
    assert error.value.problems[0].field == field
    assert message in error.value.problems[0].message


def test_sort_offset_and_keyset_pagination_see_every_row_once(records, catalogue):
    _, items = catalogue
    by_stock = sorted(items, key=lambda i: (-i["stock"], -i["id"]))
    seen, cursor = [], None
    while True:
        page = records.list("item", sort=["-stock"], limit=7, after_cursor=cursor)
        seen += [r["id"] for r in page.rows]
        cursor = page.next
        if not page.has_more:
            break
    assert seen == [i["id"] for i in by_stock]
    offset_page = records.list("item", sort=["-stock"], limit=7, offset=7)
    assert [r["id"] for r in offset_page.rows] == seen[7:14]
    asc = records.list("item", sort=["deposit"], limit=3)
    assert [r["deposit"] for r in asc.rows] == [Decimal("0.50"), Decimal("1.50"),
                                                Decimal("2.50")]


def test_keyset_pagination_over_nulls(site, records, catalogue):
    seen, cursor = [], None
    for _ in range(10):
        page = records.list("contact", sort=["email"], limit=1, after_cursor=cursor)
        seen += [r["full_name"] for r in page.rows]
        cursor = page.next
        if not cursor:
            break
    assert sorted(seen) == ["Ann Lee", "Bob Wu", "Cai Xin"] and len(seen) == 3
    # Nulls sort as each database's indexes order them: last on PostgreSQL, first on SQLite.
    with_email = 0 if site.engine.dialect.name == "postgresql" else -1
    assert seen[with_email] == "Cai Xin"


def test_a_forged_cursor_is_refused(records, catalogue):
    with pytest.raises(ValidationError, match="not a cursor"):
        records.list("item", after_cursor="bm9wZQ")


def test_search_uses_search_fields(records, catalogue):
    assert names(records.list("contact", search="cai@")) == ["Cai Xin"]
    assert names(records.list("contact", search="LEE")) == ["Ann Lee"]
    assert names(records.list("contact", search="100%")) == []


def test_counts_are_capped(records, catalogue):
    count = records.count("item", cap=10)
    assert (count.value, count.exact) == (10, False)
    count = records.count("item", filters=[("stock", "=", 0)], cap=10)
    assert (count.value, count.exact) == (7, True)


def test_limits_are_bounded(records, catalogue):
    with pytest.raises(ValidationError, match="limit"):
        records.list("item", limit=100000)


def test_search_on_a_link_field_matches_the_linked_records_title(records, catalogue):
    people, _ = catalogue
    # loan's search field is its contact link: "Bob" finds Bob's loan by his name.
    page = records.list("loan", search="bob")
    assert [r["contact"] for r in page.rows] == [people[1]["id"]]


def test_a_list_of_the_same_shape_takes_each_calls_values(site, records, catalogue):
    """The statement of a shape of filters is built once (see yiti.records.lists.kept_shape): the
    next call's values, a None, an empty list or a bad value still count."""
    for name in ("Ann Lee", "Bob Wu", "Cai Xin"):
        assert names(records.list("contact", filters=[("full_name", "=", name)])) == [name]
    for wanted in (["Bob Wu"], ["Ann Lee", "Cai Xin"], ["Ann Lee", "Bob Wu", "Cai Xin"], []):
        page = records.list("contact", filters=[("full_name", "in", wanted)],
                            sort=["full_name"])
        assert names(page) == wanted
    assert names(records.list("contact", filters=[("email", "=", None)],
                              sort=["full_name"])) == ["Ann Lee", "Bob Wu"]
    assert names(records.list("contact", filters=[("email", "=", "cai@example.cn")])) == [
        "Cai Xin"]
    for low, high, expected in (("1980-01-01", "1989-12-31", ["Bob Wu"]),
                                ("1989-01-01", "1999-12-31", ["Ann Lee"])):
        page = records.list("contact", filters=[("birthday", "between", [low, high])])
        assert names(page) == expected
    for code, expected in (("BOOKWORMS", ["Ann Lee", "Cai Xin"]), ("NONE", [])):
        page = records.list("contact", filters=[("group.code", "=", code)],
                            sort=["full_name"], fields=["full_name", "group.code"])
        assert names(page) == expected
    for item, expected in ((3, 2), (7, 1), (1, 0)):
        page = records.list("loan", filters=[("lines.item.code", "=", f"I-{item:02d}")])
        assert len(page.rows) == expected
    with pytest.raises(ValidationError) as error:
        records.list("contact", filters=[("credit_limit", ">", "lots")])
    assert "credit_limit" in str(error.value.to_dict())
    for limit in (1, 2, 5):
        page = records.list("item", filters=[("stock", ">=", 0)], sort=["code"], limit=limit)
        assert len(page.rows) == limit and page.has_more and page.next
    # in / not in on decimals, dates and a link's field, lists of any length (on
    # PostgreSQL one array parameter, its items converted as the column's type)
    for op, values, expected in (
            ("in", ["10", "250.5"], ["Ann Lee", "Bob Wu"]),
            ("in", ["250.50"], ["Bob Wu"]),
            ("not in", ["10.00"], ["Bob Wu"])):
        page = records.list("contact", filters=[("credit_limit", op, values)],
                            sort=["full_name"])
        assert names(page) == expected
    for days, expected in ((["1990-01-01", "1985-06-30"], ["Ann Lee", "Bob Wu"]),
                           (["1985-06-30"], ["Bob Wu"])):
        page = records.list("contact", filters=[("birthday", "in", days)], sort=["full_name"])
        assert names(page) == expected
    for codes, expected in ((["BOOKWORMS", "OTHER"], ["Ann Lee", "Cai Xin"]), (["OTHER"], [])):
        page = records.list("contact", filters=[("group.code", "in", codes)],
                            sort=["full_name"])
        assert names(page) == expected
    kept = site.tables["contact"].info["yiti_list_shapes"]
    assert 0 < len(kept) <= 16


def test_an_in_list_compares_whole_values(site, records, catalogue):
    """A text column has a width (``code``: 40 characters); a value in an ``in`` list is
    compared whole (on PostgreSQL the list is one array parameter, cast without the
    column's width), and one longer than the column is refused, never cut down to a
    prefix that could match. (A select field's filter takes only its options.)"""
    from sqlalchemy import update

    from yiti.errors import ValidationError

    _, items = catalogue
    full = "K" * 40
    with site.engine.begin() as conn:  # a value of full width
        t = site.tables["item"]
        conn.execute(update(t).where(t.c.id == items[0]["id"]).values(code=full))
    for codes, expected in (([full], 1), ([full[:-1]], 0), ([full[:-1], full], 1)):
        page = records.list("item", filters=[("code", "in", codes)])
        assert len(page.rows) == expected, codes
    with pytest.raises(ValidationError) as refused:
        records.list("item", filters=[("code", "in", [full + "ZZZ"])])
    assert "longer than 40 characters" in str(refused.value)
