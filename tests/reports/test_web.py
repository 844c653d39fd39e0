"""Reports, dashboards, exports and the builder over HTTP, signed in as real users."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient

import yiti.web.ui  # noqa: F401 - registers the saved-view table before the site is built
from yiti.definitions import build_model
from yiti.permissions.policy import SYSTEM
from yiti.permissions.rules import ADMINISTRATOR
from yiti.permissions.users import create_user
from yiti.reports import report_of, run_report
from yiti.reports.export import to_csv
from yiti.reports.spec import read
from yiti.site import Site
from yiti.testing import load, settings_for
from yiti.web.app import create_app

from .conftest import Shop, fill, make_site

PASSWORD = "correct horse battery staple"
PACKS = Path(__file__).parent / "packs"


@pytest.fixture
def web_shop(db_url: str, tmp_path: Path) -> Iterator[Shop]:
    (tmp_path / "overlay").mkdir()
    site = make_site(db_url, tmp_path, overlay=tmp_path / "overlay")
    shop = fill(site, 60)
    create_user(site, "ana", PASSWORD, roles=["Analyst"])
    create_user(site, "ann", PASSWORD, roles=["Rep"], attributes={"rep": "ann"})
    yield shop
    site.close()


def sign_in(shop: Shop, name: str) -> tuple[FlaskClient, str]:
    app = create_app(site=shop.site)
    app.config["TESTING"] = True
    client = app.test_client()

    def token(url: str) -> str:
        match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(
            as_text=True))
        assert match, url
        return match.group(1)

    response = client.post("/auth/login", data={"name": name, "password": PASSWORD,
                                                "csrf_token": token("/auth/login"),
                                                "next": "/reports"})
    assert response.status_code == 302
    return client, token("/reports/builder")


def test_report_page_table_chart_and_drill_links(web_shop: Shop) -> None:
    client, _ = sign_in(web_shop, "ana")
    assert "sales_by_channel" in client.get("/reports").get_data(as_text=True)
    page = client.get("/reports/sales_by_channel?p.channel=mall").get_data(as_text=True)
    assert "Subtotal" in page and "Total" in page
    assert "data-chart='" in page and "echarts.min.js" in page
    assert "/api/v1/sale?filters=" in page  # every number links to its records
    assert "wechat" not in re.sub(r"<option[^>]*>[^<]*</option>", "", page)


def test_json_matches_the_engine_and_the_row_rule_applies(web_shop: Shop) -> None:
    client, _ = sign_in(web_shop, "ann")
    data = client.get("/reports/sales_by_channel.json").get_json()
    total = data["rows"][-1]
    assert total["kind"] == "total"
    reps = {i + 1: c["rep"] for i, c in enumerate(web_shop.customers)}
    mine = [line for line in web_shop.lines() if reps[line["sale"]["customer"]] == "ann"]
    assert total["values"]["qty"] == sum(line["qty"] for line in mine)
    count = client.get(total["drill"] + "&count=true")
    assert count.status_code == 200


def test_exports_neutralise_formulas(web_shop: Shop, tmp_path: Path) -> None:
    web_shop.site.records().create("product", {"code": "=HYPERLINK(1)", "category": "food"})
    web_shop.site.records().create("sale", {"channel": "mall", "lines": [
        {"product": {"code": "=HYPERLINK(1)"}, "qty": 1, "amount": "-3.50"}]})
    report = read("codes", {"report": "codes", "entity": "sale_line",
                            "group_by": ["product.code"],
                            "measures": [{"agg": "sum", "field": "amount", "name": "amount"}]})
    text = to_csv(run_report(web_shop.site, SYSTEM, report, {})).decode("utf-8")
    assert text.startswith("\ufeff")
    assert "'=HYPERLINK(1),-3.50" in text  # text neutralised, a negative number kept
    client, _ = sign_in(web_shop, "ana")
    response = client.get("/reports/sales_by_channel/export.xlsx")
    assert response.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.values)
    assert rows[0][0] == "parent.channel" or rows[0][0]  # a header row
    assert rows[-1][0] == "Total"
    csv_response = client.get("/reports/sales_by_channel/export.csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"


def test_export_needs_the_export_right(web_shop: Shop) -> None:
    client, _ = sign_in(web_shop, "ann")  # Rep: read, no export
    assert client.get("/reports/sales_by_channel/export.csv").status_code == 403


def test_print_view(web_shop: Shop) -> None:
    client, _ = sign_in(web_shop, "ana")
    page = client.get("/reports/sales_by_channel/print").get_data(as_text=True)
    assert 'class="yiti-print' in page and "reports.css" in page


def test_dashboard_refreshes_its_widgets_in_place(web_shop: Shop) -> None:
    client, _ = sign_in(web_shop, "ana")
    page = client.get("/dashboards/shop").get_data(as_text=True)
    assert 'hx-trigger="load, every 30s"' in page
    kpi = client.get("/dashboards/shop/widgets/0").get_data(as_text=True)
    assert "yiti-kpi" in kpi
    chart = client.get("/dashboards/shop/widgets/1").get_data(as_text=True)
    assert "data-chart=" in chart
    assert client.get("/dashboards/shop/widgets/9").status_code == 404
    # a count is a number; a sum of money reads as lists show money
    assert re.search(r'<div class="value">[0-9,]+</div>', kpi), kpi
    money = client.get("/dashboards/shop/widgets/2").get_data(as_text=True)
    assert re.search(r'<div class="value">CN¥[0-9,]+\.[0-9]{2}</div>', money), money


def test_builder_previews_and_saves_a_report_check_accepts(web_shop: Shop,
                                                           tmp_path: Path) -> None:
    client, token = sign_in(web_shop, "ana")
    assert client.get("/reports/builder?entity=sale").status_code == 200
    form = {"csrf_token": token, "entity": "sale", "group0": "sold_on", "bucket0": "month",
            "agg0": "count", "agg1": "sum", "measure1": "lines.amount", "totals": "1",
            "chart": "line", "filter0": "channel", "op0": "=", "value0": "mall"}
    preview = client.post("/reports/builder/preview", data=form).get_data(as_text=True)
    assert "yiti-report" in preview and "data-chart=" in preview
    bad = client.post("/reports/builder/preview", data={**form, "group0": "sold_onn"})
    assert "unknown field" in bad.get_data(as_text=True)
    saved = client.post("/reports/builder/save", data={**form, "name": "mall_by_month",
                                                       "label": "Mall by month"})
    assert saved.status_code == 302
    path = tmp_path / "overlay" / "reports" / "mall_by_month.yaml"
    assert path.is_file()
    data = client.get("/reports/mall_by_month.json").get_json()
    assert data["rows"][-1]["values"]["m0"] == sum(
        1 for s in web_shop.sales if s["channel"] == "mall")
    _, problems = build_model([PACKS], overlay=tmp_path / "overlay")
    assert problems == []
    assert report_of(web_shop.site, "mall_by_month").label == {"en": "Mall by month"}


def test_only_designers_save(web_shop: Shop) -> None:
    client, token = sign_in(web_shop, "ann")
    response = client.post("/reports/builder/save", data={
        "csrf_token": token, "entity": "sale", "agg0": "count", "name": "x"})
    assert response.status_code == 403


@pytest.fixture
def library(db_url: str, tmp_path: Path) -> Iterator[Shop]:
    """The example pack (its report ``loans_by_month`` has a select parameter ``status``
    filtering the loan's status, whose options have labels) and an administrator."""
    site = Site(settings_for(db_url, tmp_path), model=load(packs=["example"]))
    site.migrate()
    create_user(site, "ana", PASSWORD, roles=[ADMINISTRATOR])
    yield Shop(site)
    site.close()


def test_a_select_parameter_shows_option_labels_and_sends_values(library: Shop) -> None:
    client, _ = sign_in(library, "ana")
    url = "/reports/loans_by_month?p.status=returned"
    page = client.get(url).get_data(as_text=True)
    options = dict(re.findall(r'<option value="(\w*)"[^>]*>([^<]*)</option>',
                              page.split('name="p.status"')[1].split("</select>")[0]))
    assert options == {"": "Any", "open": "Open", "returned": "Returned",
                       "overdue": "Overdue"}
    assert re.search(r'<option value="returned" selected>Returned</option>', page)
    chinese = client.get(url, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<option value="returned" selected>已归还</option>' in chinese
    assert "Status: Returned" in client.get(url.replace("?", "/print?")).get_data(
        as_text=True)
    assert client.get(url.replace("?", ".json?")).get_json()["params"]["status"] == "returned"


def test_the_printout_names_a_link_parameters_record(library: Shop) -> None:
    records = library.site.records()
    person = records.create("contact", {"full_name": "Ada Byron"})
    item = records.create("item", {"code": "BK-9", "title": "Notes"})
    records.create("loan", {"contact": person["id"], "lines": [{"item": item["id"]}]})
    client, _ = sign_in(library, "ana")
    page = client.get(f"/reports/loans_by_contact/print?p.contact={person['id']}").get_data(
        as_text=True)
    assert f"Contact: {person['name']} · Ada Byron" in page  # as the form's choices name it
    assert f"Contact: {person['id']} ·" not in page
    gone = client.get("/reports/loans_by_contact/print?p.contact=999999")
    assert gone.status_code in (200, 422) and "Ada Byron" not in gone.get_data(as_text=True)


SALE_TIMES = """report: sale_times
entity: sale
label: {en: Sale times}
params:
  after: {type: datetime, label: After}
filters:
  - [placed_at, ">=", ":after"]
columns: [channel, placed_at]
"""


def test_report_times_show_in_the_site_time_zone(web_shop: Shop, tmp_path: Path) -> None:
    """A sale placed 01:30 UTC reads 09:30 (Asia/Shanghai) on the page, its printout and
    its CSV; the printout names the zone of its times, the JSON keeps ISO 8601 in UTC."""
    (tmp_path / "overlay" / "reports").mkdir(exist_ok=True)
    (tmp_path / "overlay" / "reports" / "sale_times.yaml").write_text(SALE_TIMES)
    web_shop.site.records().create("sale", {"channel": "mall",
                                            "placed_at": "2027-01-01T01:30:00+00:00"})
    client, _ = sign_in(web_shop, "ana")
    query = "?p.after=2027-01-01T09:00"  # typed as the site's wall clock: 01:00 UTC

    page = client.get("/reports/sale_times" + query).get_data(as_text=True)
    assert "Jan 1, 2027, 9:30:00\u202fAM" in page and "01:30" not in page
    assert 'value="2027-01-01T09:00"' in page  # the parameter's input, as typed

    printed = client.get("/reports/sale_times/print" + query).get_data(as_text=True)
    assert "Jan 1, 2027, 9:30:00\u202fAM" in printed
    assert "After: Jan 1, 2027, 9:00:00\u202fAM GMT+08:00" in printed
    assert re.search(r"Printed \w{3} \d+, \d{4}, [\d:]+\u202f[AP]M GMT\+08:00", printed)
    assert "UTC" not in printed

    csv_text = client.get("/reports/sale_times/export.csv" + query).get_data(as_text=True)
    assert csv_text.splitlines()[1:] == ["mall,2027-01-01 09:30:00"]
    data = client.get("/reports/sale_times.json" + query).get_json()
    assert [r["values"]["placed_at"] for r in data["rows"]] == ["2027-01-01T01:30:00+00:00"]


def test_a_report_json_error_is_the_apis_problem(web_shop: Shop) -> None:
    # an outsider's client handled the API's errors and met another shape on reports
    client, _ = sign_in(web_shop, "ana")
    response = client.get("/reports/sales_by_channel.json?p.from=soon")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "validation" and body["status"] == 422
    assert body["type"] == "https://yiti.dev/problems/validation"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("p.from", "type")], body
    assert body["detail"].startswith("p.from: ")
    missing = client.get("/reports/no_such_report.json")
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
    assert missing.get_json()["code"] == "not_found"
    # the page itself still answers people with the error page
    page = client.get("/reports/sales_by_channel?p.from=soon")
    assert page.status_code == 422 and page.mimetype == "text/html"
    rep, token = sign_in(web_shop, "ann")  # no designer: refused
    refused = rep.post("/reports/builder/save.json", json={"report": "x"},
                       headers={"X-CSRFToken": token})
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "http_error"


def test_the_report_page_in_chinese_is_translated_and_shows_money_as_lists_do(
        web_shop: Shop) -> None:
    # an outsider saw Print, Run, Subtotal and Total in English, and sums as `1,100`
    from babel.numbers import format_currency

    client, token = sign_in(web_shop, "ana")
    assert client.post("/app/language", data={"lang": "zh-CN", "next": "/reports",
                                              "csrf_token": token}).status_code == 302
    page = client.get("/reports/sales_by_channel").get_data(as_text=True)
    for english, chinese in (("Print", "打印"), ("Run", "运行"), ("Subtotal", "小计"),
                             ("Total", "合计")):
        assert f">{chinese}<" in page, chinese
        assert f">{english}<" not in page, english
    total = client.get("/reports/sales_by_channel.json").get_json()["rows"][-1]["values"]
    money = format_currency(Decimal(str(total["amount"])), "CNY", locale="zh_CN")
    assert money.startswith("¥") and f">{money}</a>" in page, money  # the amount measure
    # a count is a number, not money
    assert f">{total['lines']}</a>" in page or f">{total['lines']:,}</a>" in page
