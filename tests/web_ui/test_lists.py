"""List screens: columns from the view, filters per field type, sort, search, pages,
saved views and bulk actions."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def catalogue(records):  # noqa: ANN001, ANN201
    group = records.create("contact_group", {"code": "VIP", "title": "Very important"})
    people = [
        records.create("contact", {"full_name": "Ann Lee", "group": group["id"],
                                   "credit_limit": "10.00", "birthday": "1990-01-01"}),
        records.create("contact", {"full_name": "Bob Wu", "credit_limit": "250.50",
                                   "birthday": "1985-06-30", "active": False,
                                   "source": "import"}),
        records.create("contact", {"full_name": "Cai Xin", "group": group["id"],
                                   "email": "cai@example.cn"}),
    ]
    items = records.create_many("item", [
        {"code": f"I-{i:02d}", "title": f"Item {i}", "stock": i % 4, "deposit": f"{i}.50"}
        for i in range(45)])
    return group, people, items


def rows(html: str) -> list[str]:
    """The first cell's text of each row of the list table."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m)).strip()
            for m in re.findall(r'<td[^>]*>\s*<a href="/app/[^"]+">(.*?)</a>', body, re.S)]


def test_list_shows_the_view_columns_and_link_titles(client, catalogue):
    html = client.get("/app/contact").get_data(as_text=True)
    # Columns of views/contact.yaml, in order, with the link path's label.
    heads = re.findall(r'<th scope="col" aria-sort[^>]*>\s*(?:<a[^>]*>)?([^<▲▼]+)', html)
    assert [h.strip() for h in heads][:4] == ["Name", "Full name", "Group", "Group › Title"]
    assert "VIP · Very important" in html
    assert "3 of 3" in html


@pytest.mark.parametrize("query, expected", [
    ("f.full_name=wu", ["Bob Wu"]),                              # text: like
    ("f.active=0", ["Bob Wu"]),                                   # boolean
    ("f.source=import", ["Bob Wu"]),                              # select
    ("q=cai", ["Cai Xin"]),                                       # search
])
def test_filters(client, catalogue, query, expected):
    html = client.get(f"/app/contact?{query}&sort=full_name").get_data(as_text=True)
    names = [r for r in re.findall(r"(Ann Lee|Bob Wu|Cai Xin)", html.split("<tbody>")[1])]
    assert sorted(set(names)) == expected


def test_link_and_range_filters(client, catalogue):
    group, people, _ = catalogue
    html = client.get(f"/app/contact?f.group={group['id']}&sort=full_name").get_data(
        as_text=True)
    assert "Ann Lee" in html and "Cai Xin" in html and "Bob Wu" not in html
    html = client.get("/app/item?f.stock.from=3&f.stock.to=3&sort=code").get_data(as_text=True)
    assert rows(html) == [f"I-{i:02d}" for i in range(45) if i % 4 == 3]
    html = client.get("/app/item?f.deposit.from=40").get_data(as_text=True)
    assert sorted(rows(html)) == ["I-40", "I-41", "I-42", "I-43", "I-44"]


def test_a_bad_filter_value_says_so(client, catalogue):
    r = client.get("/app/item?f.stock.from=lots")
    assert r.status_code == 200
    assert "This filter cannot be used" in r.get_data(as_text=True)


def test_sort_by_clicking_a_header(client, catalogue):
    html = client.get("/app/item").get_data(as_text=True)
    assert rows(html)[:2] == ["I-00", "I-01"]  # the entity's default: by code
    assert 'href="/app/item?sort=-code"' in html  # clicking again reverses
    html = client.get("/app/item?sort=-code").get_data(as_text=True)
    assert rows(html)[:2] == ["I-44", "I-43"]
    assert 'aria-sort="descending"' in html


def test_keyset_pages_with_a_capped_count(client, catalogue):
    html = client.get("/app/item").get_data(as_text=True)
    assert "1–20 of 45" in html
    first = rows(html)
    next_url = re.search(r'id="next-page" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "after=" in next_url and "n=20" in next_url
    html = client.get(next_url).get_data(as_text=True)
    assert "21–40 of 45" in html
    second = rows(html)
    assert second[0] == "I-20" and not set(first) & set(second)
    html = client.get(re.search(r'id="next-page" href="([^"]+)"', html).group(1)
                      .replace("&amp;", "&")).get_data(as_text=True)
    assert "41–45 of 45" in html and 'id="next-page"' not in html


def test_count_is_capped(client, records, monkeypatch):
    from yiti.web.ui import lists

    monkeypatch.setattr(lists, "COUNT_CAP", 30)
    records.create_many("item", [{"code": f"X-{i:02d}", "title": "x"} for i in range(45)])
    html = client.get("/app/item").get_data(as_text=True)
    assert "1–20 of 30+" in html
    html = client.get(re.search(r'id="next-page" href="([^"]+)"', html).group(1)
                      .replace("&amp;", "&")).get_data(as_text=True)
    assert "21–40 of 40+" in html  # past the cap: at least what was shown


def test_htmx_requests_get_only_the_results(client, catalogue):
    r = client.get("/app/item?f.stock.from=3", headers={"HX-Request": "true",
                                                        "HX-Target": "list-results"})
    html = r.get_data(as_text=True)
    assert "<html" not in html and "<tbody>" in html
    assert 'hx-swap-oob="true"' in html  # the saved-view form learns the new filter


def test_saved_views_are_per_user(client, catalogue, site):
    r = client.post("/app/contact/views", {"name": "Inactive", "query": "f.active=0&after=x"})
    assert r.status_code == 302
    html = client.get(r.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "Bob Wu" in html and "Ann Lee" not in html.split("<tbody>")[1]
    from yiti.web.ui import saved_views

    [view] = saved_views.for_user(site, "clerk", "contact")
    assert view["query"] == "f.active=0"  # never a page position
    assert saved_views.for_user(site, "someone-else", "contact") == []
    client.post(f"/app/contact/views/{view['id']}/delete")
    assert saved_views.for_user(site, "clerk", "contact") == []


def test_bulk_delete_and_submit(client, records, catalogue):
    _, people, items = catalogue
    r = client.post("/app/item/bulk", {"action": "delete", "ids": [str(i) for i in items[:3]]})
    assert r.status_code == 302
    assert records.count("item").value == 42
    loans = [records.create("loan", {"contact": people[0]["id"],
                                     "lines": [{"item": items[10]}]}) for _ in range(2)]
    client.post("/app/loan/bulk", {"action": "submit", "ids": [str(x["id"]) for x in loans]})
    assert {records.get("loan", x["id"])["docstatus"] for x in loans} == {"submitted"}
    # A submitted loan cannot be deleted: the failure is reported, the rest still done.
    r = client.post("/app/loan/bulk", {"action": "delete", "ids": [str(loans[0]["id"])]})
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "0 deleted." in page and "cancel it first" in page
