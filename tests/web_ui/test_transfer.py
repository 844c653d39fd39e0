"""Export of the current list (CSV, XLSX, formulas neutralised) and all-or-nothing import
with a per-row report and a file of the refused rows."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

#: Saved in a string field (which the service strips, so tab and CR are checked below).
FORMULAS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd"]


def test_neutralise():
    from yiti.web.ui.exports import neutralise

    for text in ["=1", "+1", "-1", "@a", "\tx", "\rx"]:
        assert neutralise(text) == "'" + text
    assert neutralise("plain") == "plain" and neutralise(-5) == -5


@pytest.fixture
def people(records):  # noqa: ANN001, ANN201
    group = records.create("contact_group", {"code": "VIP", "title": "=HYPERLINK(\"x\")"})
    out = [records.create("contact", {"full_name": name, "group": group["id"],
                                      "email": f"p{i}@example.com"})
           for i, name in enumerate(FORMULAS)]
    out.append(records.create("contact", {"full_name": "Plain Person", "active": False}))
    return out


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_export_of_the_current_filter_neutralises_formulas(client, people):
    r = client.get("/app/contact/export.csv?f.active=1&sort=full_name")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    table = read_csv(r.data)
    head, rows = table[0], table[1:]
    assert head[:3] == ["Name", "Full name", "Group"]
    assert len(rows) == len(FORMULAS)  # the inactive one is filtered out
    names = {row[1] for row in rows}
    assert names == {"'" + f for f in FORMULAS}
    # Link columns export the linked record's name; a link path its value, neutralised.
    assert {row[2] for row in rows} == {"VIP"}
    assert {row[3] for row in rows} == {"'=HYPERLINK(\"x\")"}
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_xlsx_export_neutralises_formulas(client, people):
    r = client.get("/app/contact/export.xlsx?sort=full_name")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][1] == "Full name"
    names = [row[1] for row in values[1:]]
    assert "'=1+1" in names and "Plain Person" in names
    for row in sheet.iter_rows():
        for c in row:
            assert c.data_type != "f", c.value


def test_export_in_chinese_uses_chinese_headers(client, people):
    client.post("/app/language", {"lang": "zh-CN"})
    head = read_csv(client.get("/app/contact/export.csv").data)[0]
    assert head[:3] == ["名称", "姓名", "分组"] or head[1:3] == ["姓名", "分组"]


def csv_file(rows: list[list[str]]) -> io.BytesIO:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return io.BytesIO(out.getvalue().encode("utf-8-sig"))


def upload(client, entity: str, data: io.BytesIO, name: str):  # noqa: ANN001, ANN201
    return client.post(f"/app/{entity}/import", {"file": (data, name)},
                       content_type="multipart/form-data")


def test_import_is_all_or_nothing_with_a_report(client, records):
    rows = [["code", "Title", "Kind", "In stock", "deposit"],
            ["A-1", "First", "Book", "2", "10.00"],
            ["a-2", "Bad code", "tool", "1", "5"],          # pattern
            ["A-3", "Third", "game", "-1", "5"],            # min
            ["A-4", "", "book", "1", "5"]]                  # required
    r = upload(client, "item", csv_file(rows), "items.csv")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Nothing was imported: 3 problems." in html
    report = html.split('id="import-report"', 1)[1]
    for row, field in [(3, "code"), (4, "stock"), (5, "title")]:
        assert f"<td>{row}</td><td>" in report and f"({field})" in report
    assert records.count("item").value == 0  # nothing half-imported
    link = html.split('href="/app/item/import/', 1)[1].split('"', 1)[0]
    rejected = read_csv(client.get(f"/app/item/import/{link}").data)
    assert rejected[0] == ["row", *rows[0], "errors"]
    assert [r[0] for r in rejected[1:]] == ["3", "4", "5"]
    assert "code" in rejected[1][-1]
    # Another user cannot fetch someone's rejected rows.
    anonymous = client.raw.application.test_client()
    assert anonymous.get(f"/app/item/import/{link}").status_code in (302, 404)


def test_import_csv_and_xlsx_succeed(client, records):
    r = upload(client, "item", csv_file([["Code", "名称", "deposit"], ["A-1", "One", "1.50"],
                                         ["A-2", "Two", "2"]]), "items.csv")
    assert r.status_code == 200 and "2 records imported." in r.get_data(as_text=True)
    book = Workbook()
    sheet = book.active
    sheet.append(["full_name", "group", "birthday", "active"])
    records.create("contact_group", {"code": "VIP", "title": "VIP"})
    sheet.append(["Xlsx Person", "VIP", "1990-01-02", "no"])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    r = upload(client, "contact", data, "people.xlsx")
    assert "1 records imported." in r.get_data(as_text=True)
    person = records.list("contact", filters=[("full_name", "=", "Xlsx Person")]).rows[0]
    assert person["active"] is False and person["group"] is not None


def test_import_round_trips_an_export(client, records, people):
    exported = client.get("/app/contact/export.csv").data
    table = read_csv(exported)
    keep = [i for i, h in enumerate(table[0]) if h in ("Full name", "Email")]
    rows = [[r[i] for i in keep] for r in table]
    rows = [rows[0]] + [[r[0], r[1].replace("@", "+copy@")] for r in rows[1:]]
    r = upload(client, "contact", csv_file(rows), "again.csv")
    assert "records imported" in r.get_data(as_text=True)
    assert records.count("contact", filters=[("full_name", "=", "=1+1")]).value == 2


def test_unknown_columns_are_reported(client):
    r = upload(client, "item", csv_file([["code", "titel"], ["A", "B"]]), "x.csv")
    html = r.get_data(as_text=True)
    assert "titel" in html and "did you mean &#39;title&#39;?" in html


def test_wrong_file_type(client):
    r = upload(client, "item", io.BytesIO(b"x"), "x.txt")
    assert r.status_code == 422 and "Choose a .csv or .xlsx file." in r.get_data(as_text=True)
