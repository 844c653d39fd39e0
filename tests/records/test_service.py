"""The record service through its Python API, on the example packs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from yiti.errors import Conflict, NotFound, ValidationError


def problems(error: ValidationError) -> dict[str, str]:
    return {p.field: p.message for p in error.problems}


# -- every field type round-trips exactly --------------------------------------------


def test_every_field_type_round_trips(records, site):
    group = records.create("contact_group", {"code": "VIP", "title": "VIPs", "discount": "12.5"})
    photo = records.store_file("me.png", "image/png", b"\x89PNG fake")
    seen = dt.datetime(2026, 11, 11, 20, 0, 0, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    created = records.create("contact", {
        "full_name": "陈小明", "group": group["id"], "email": "xm@example.cn",
        "phone": "+86 138 0000 0000", "website": "https://shop.example.cn/x?a=1",
        "birthday": "1990-02-28", "active": False, "source": "wechat", "external_id": "E-1",
        "credit_limit": "99999999.99", "photo": photo, "notes": "line 1\nline 2 ✓",
        "preferences": {"tags": ["tea", "书"], "n": 1, "price": Decimal("1.10")},
        "wechat_id": "wx_abc",
    })
    got = records.get("contact", created["id"])
    assert got == created
    assert got["credit_limit"] == Decimal("99999999.99")
    assert isinstance(got["credit_limit"], Decimal)
    assert got["birthday"] == dt.date(1990, 2, 28)
    assert got["active"] is False
    assert got["group"] == group["id"] and got["photo"] == photo
    assert got["preferences"] == {"tags": ["tea", "书"], "n": 1, "price": "1.10"}
    assert got["notes"] == "line 1\nline 2 ✓"
    assert records.get("contact_group", group["id"])["discount"] == Decimal("12.5000")

    loan = records.create("loan", {
        "contact": got["id"], "loan_date": "2026-11-11", "late_fee_rate": "0.0125",
        "lines": [{"item": records.create("item", {"code": "X-1", "title": "X"})["id"],
                   "qty": 2, "deposit": "0.10"}],
    })
    stored = records.update("loan", loan["id"], {"returned_at": seen})
    assert stored["returned_at"] == seen  # the same instant...
    assert stored["returned_at"].tzinfo is not None  # ...and aware
    assert stored["late_fee_rate"] == Decimal("0.0125")
    assert stored["lines"][0]["deposit"] == Decimal("0.10")


def test_decimals_never_pass_through_float(records, items):
    # 0.1 + 0.2 in binary floating point is 0.30000000000000004; Decimal keeps cents exact.
    item = records.create("item", {"code": "F-1", "title": "Float", "deposit": "0.1"})
    records.update("item", item["id"], {"deposit": Decimal("0.1") + Decimal("0.2")})
    assert records.get("item", item["id"])["deposit"] == Decimal("0.30")
    rows = records.list("item", filters=[("deposit", "=", "0.30")]).rows
    assert [r["code"] for r in rows] == ["F-1"]


# -- validation errors name the field and the reason -----------------------------------


@pytest.mark.parametrize("values, field, message", [
    ({"email": "a@b.cn"}, "full_name", "is required"),
    ({"full_name": "x" * 141}, "full_name", "is longer than 140 characters"),
    ({"full_name": "A", "email": "not-an-email"}, "email", "is not an e-mail address"),
    ({"full_name": "A", "website": "ftp://x"}, "website", "is not an http(s) address"),
    ({"full_name": "A", "source": "fax"}, "source", "'fax' is not an option"),
    ({"full_name": "A", "credit_limit": "1.234"}, "credit_limit", "more than 2 decimal places"),
    ({"full_name": "A", "credit_limit": "-1"}, "credit_limit", "must be at least 0"),
    ({"full_name": "A", "credit_limit": "abc"}, "credit_limit", "must be a number"),
    ({"full_name": "A", "birthday": "31/12/1990"}, "birthday", "must be a date"),
    ({"full_name": "A", "active": "maybe"}, "active", "must be true or false"),
    ({"full_name": "A", "group": 999}, "group", "no contact_group with id 999"),
    ({"full_name": "A", "fullname": "B"}, "fullname", "did you mean 'full_name'?"),
    ({"full_name": "A", "photo": 12345}, "photo", "no file with id 12345"),
])
def test_validation_errors_name_the_field(records, values, field, message):
    with pytest.raises(ValidationError) as error:
        records.create("contact", values)
    assert field in problems(error.value)
    assert message in problems(error.value)[field]


def test_pattern_integer_and_line_errors(records, contact, items):
    with pytest.raises(ValidationError) as error:
        records.create("item", {"code": "lower case", "title": "T", "stock": "1.5"})
    assert problems(error.value) == {
        "code": "must match the pattern ^[A-Z0-9-]+$", "stock": "must be a whole number"}
    with pytest.raises(ValidationError) as error:
        records.create("loan", {"contact": contact["id"], "lines": [
            {"item": items[0]["id"], "qty": 1}, {"item": items[1]["id"], "qty": 0},
            {"qty": 1}]})
    assert problems(error.value) == {"lines[1].qty": "must be at least 1",
                                     "lines[2].item": "is required"}
    with pytest.raises(ValidationError) as error:
        records.create("loan", {"contact": contact["id"], "lines": []})
    assert problems(error.value) == {"lines": "needs at least one line"}


def test_a_failed_lookup_is_named_with_every_other_problem(records, contact, items):
    with pytest.raises(ValidationError) as error:
        records.create("loan", {"contact": {"email": "nobody@example.com"}, "lines": [
            {"item": {"code": "NOPE"}, "qty": 0}, {"item": {"code": "BK-1"}, "qty": 1}]})
    assert problems(error.value) == {
        "contact": "no contact with email='nobody@example.com'",
        "lines[0].item": "no item with code='NOPE'",
        "lines[0].qty": "must be at least 1"}
    rows = [{"contact": {"email": "ann@example.com"}, "lines": [{"item": {"code": "X"}}]}]
    with pytest.raises(ValidationError) as error:
        records.create_many("loan", rows)
    assert problems(error.value) == {"rows[0].lines[0].item": "no item with code='X'"}


def test_unique_fields_and_keys(records, contact):
    with pytest.raises(ValidationError) as error:
        records.create("contact", {"full_name": "Other", "email": "ann@example.com"})
    assert problems(error.value) == {"email": "is already used by another record"}
    records.create("contact", {"full_name": "P", "source": "import", "external_id": "9"})
    with pytest.raises(ValidationError) as error:
        records.create("contact", {"full_name": "Q", "source": "import", "external_id": "9"})
    assert "source" in problems(error.value)


def test_read_only_and_system_fields_are_refused_not_dropped(site, records, contact, items):
    from yiti.permissions import Actor

    clerk = site.records(Actor("clerk", frozenset({"Administrator"})))
    with pytest.raises(ValidationError) as error:
        clerk.create("loan", {"contact": contact["id"], "total_deposit": "5",
                              "lines": [{"item": items[0]["id"]}]})
    assert problems(error.value) == {"total_deposit": "is read-only"}
    with pytest.raises(ValidationError) as error:
        clerk.update("contact", contact["id"], {"created_by": "someone else"})
    assert problems(error.value) == {"created_by": "is set by the system"}
    # Sending back what was read, unchanged, is fine.
    same = clerk.update("contact", contact["id"], dict(contact, notes="hello"))
    assert same["notes"] == "hello" and same["created_by"] == "system"


# -- naming series ------------------------------------------------------------------------


def test_naming_series_and_names_from_fields(records, contact, items):
    assert contact["name"] == "C-00001"
    assert records.create("contact", {"full_name": "Bo"})["name"] == "C-00002"
    assert items[0]["name"] == "BK-1"
    year = dt.datetime.now(ZoneInfo("Asia/Shanghai")).year
    loan = records.create("loan", {"contact": contact["id"], "lines": [{"item": items[0]["id"]}]})
    assert loan["name"] == f"LN-{year}-00001"
    assert loan["loan_date"] == dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert records.get("loan", loan["name"])["id"] == loan["id"]


def test_a_rolled_back_gapless_number_is_reused(records, contact, items):
    with pytest.raises(ValidationError):
        with records.unit_of_work():
            records.create("loan", {"contact": contact["id"], "lines": [{"item": items[0]["id"]}]})
            records.create("contact", {"email": "missing name"})
    loan = records.create("loan", {"contact": contact["id"], "lines": [{"item": items[0]["id"]}]})
    assert loan["name"].endswith("-00001")


# -- optimistic locking, lifecycle --------------------------------------------------------


def test_stale_update_is_a_conflict(records, contact):
    first = records.update("contact", contact["id"], {"phone": "123456"}, version=1)
    assert first["version"] == 2
    with pytest.raises(Conflict, match="changed by someone else"):
        records.update("contact", contact["id"], {"phone": "999999"}, version=1)
    assert records.get("contact", contact["id"])["phone"] == "123456"
    with pytest.raises(Conflict):
        records.delete("contact", contact["id"], version=1)


def test_submit_cancel_amend(records, contact, items):
    loan = records.create("loan", {"contact": contact["id"], "lines": [{"item": items[0]["id"]}]})
    submitted = records.submit("loan", loan["id"], version=loan["version"])
    assert submitted["docstatus"] == "submitted"
    with pytest.raises(Conflict, match="cancel and amend"):
        records.update("loan", loan["id"], {"notes": "changed"})
    with pytest.raises(Conflict, match="cancel it first"):
        records.delete("loan", loan["id"])
    with pytest.raises(Conflict, match="only a draft record can be submitted"):
        records.submit("loan", loan["id"])
    with pytest.raises(Conflict, match="only a cancelled record can be amended"):
        records.amend("loan", loan["id"])
    cancelled = records.cancel("loan", loan["id"])
    assert cancelled["docstatus"] == "cancelled"
    amended = records.amend("loan", loan["id"])
    assert amended["docstatus"] == "draft"
    assert amended["amended_from"] == loan["id"]
    assert amended["name"] == loan["name"] + "-1"
    assert [line["item"] for line in amended["lines"]] == [items[0]["id"]]
    assert amended["lines"][0]["id"] != loan["lines"][0]["id"]


# -- child lines and the audit trail ------------------------------------------------------


def test_lines_are_saved_with_their_parent_in_order_and_audited(records, contact, items):
    loan = records.create("loan", {"contact": contact["id"], "lines": [
        {"item": items[0]["id"], "qty": 1}, {"item": items[1]["id"], "qty": 2}]})
    first, second = loan["lines"]
    assert [line["idx"] for line in loan["lines"]] == [1, 2]
    updated = records.update("loan", loan["id"], {"lines": [
        dict(second, qty=3), {"item": items[0]["id"], "qty": 5}]})
    assert [(line["id"], line["qty"], line["idx"]) for line in updated["lines"]] == [
        (second["id"], 3, 1), (updated["lines"][1]["id"], 5, 2)]
    history = records.history("loan", loan["id"])
    assert [h["action"] for h in history] == ["create", "update"]
    assert history[0]["user"] == "system"
    change = history[1]["changes"]["lines"]
    assert change["removed"][0]["id"] == first["id"]
    assert change["added"][0]["qty"] == 5
    assert change["changed"] == [{"id": second["id"], "changes": {"qty": [2, 3]}}]
    with pytest.raises(ValidationError, match="not a line of this record"):
        records.update("loan", loan["id"], {"lines": [{"id": 424242, "item": items[0]["id"]}]})


def test_a_kept_line_sent_back_in_part_keeps_its_other_fields(records, contact, items):
    loan = records.create("loan", {"contact": contact["id"], "lines": [
        {"item": items[0]["id"], "qty": 2, "deposit": "20.00"}]})
    line = loan["lines"][0]
    updated = records.update("loan", loan["id"], {"lines": [{"id": line["id"], "qty": 3}]})
    kept = updated["lines"][0]
    assert (kept["id"], kept["item"], kept["qty"], kept["deposit"], kept["line_deposit"]) == (
        line["id"], items[0]["id"], 3, Decimal("20.00"), Decimal("60.00"))


def test_read_only_line_fields_are_refused_by_name_unless_sent_back_unchanged(
        site, records, contact, items):
    from yiti.permissions.policy import Actor

    clerk = site.records(Actor("clerk", frozenset({"Administrator"})))
    loan = clerk.create("loan", {"contact": contact["id"], "lines": [
        {"item": items[0]["id"], "qty": 2, "deposit": "20.00"}]})
    line = loan["lines"][0]
    with pytest.raises(ValidationError) as error:
        clerk.create("loan", {"contact": contact["id"], "lines": [
            {"item": items[0]["id"], "line_deposit": "1.00"}]})
    assert problems(error.value) == {"lines[0].line_deposit": "is read-only"}
    with pytest.raises(ValidationError) as error:
        clerk.update("loan", loan["id"], {"lines": [dict(line, line_deposit="1.00")]})
    assert problems(error.value) == {"lines[0].line_deposit": "is read-only"}
    assert clerk.get("loan", loan["id"])["lines"][0]["line_deposit"] == Decimal("40.00")
    # What was read, sent back as a JSON client would (decimals as text), passes.
    same = clerk.update("loan", loan["id"], {"lines": [dict(line, qty=1, line_deposit="40.00")]})
    assert same["lines"][0]["line_deposit"] == Decimal("20.00")
    # The system (pack rules, imports) may set them.
    records.create("loan", {"contact": contact["id"], "lines": [
        {"item": items[0]["id"], "line_deposit": "1.00"}]})


def test_field_changes_are_audited_with_before_and_after(records, contact):
    records.update("contact", contact["id"], {"credit_limit": "100.50", "phone": "12345"})
    last = records.history("contact", contact["id"])[-1]
    assert last["changes"] == {"credit_limit": [None, "100.50"], "phone": [None, "12345"]}
    assert last["at"].tzinfo is not None
    records.delete("contact", contact["id"])
    with pytest.raises(NotFound):
        records.get("contact", contact["id"])


def test_a_unit_of_work_audits_each_of_its_writes(records, contact, items):
    """The audit rows of one transaction go out together, in one statement."""
    with records.unit_of_work():
        records.update("contact", contact["id"], {"phone": "555"})
        new = records.create("contact", {"full_name": "Dee", "email": "dee@example.com"})
        records.adjust("item", [(items[1]["id"], {"stock": 2})])
    assert records.history("contact", contact["id"])[-1]["changes"] == {"phone": [None, "555"]}
    created = records.history("contact", new["id"])
    assert [(h["action"], h["changes"]["email"]) for h in created] == [
        ("create", [None, "dee@example.com"])]
    adjusted = records.history("item", items[1]["id"])[-1]
    assert (adjusted["action"], adjusted["changes"]) == ("adjust", {"stock": [1, 3]})
    assert adjusted["at"].tzinfo is not None and adjusted["user"] == "system"


def test_links_are_real_foreign_keys(site, records, contact, items):
    records.create("loan", {"contact": contact["id"], "lines": [{"item": items[0]["id"]}]})
    with pytest.raises(Conflict, match="still used by other records"):
        records.delete("contact", contact["id"])
    loans = site.tables["loan"]
    with pytest.raises(Exception, match="(?i)foreign key"):
        with site.engine.begin() as conn:  # behind the service's back, the database refuses
            conn.execute(delete(site.tables["contact"]).where(
                site.tables["contact"].c.id == contact["id"]))
    with site.engine.connect() as conn:
        assert conn.execute(select(loans.c.contact)).scalar_one() == contact["id"]


# -- hooks and units of work --------------------------------------------------------------


def test_hooks_run_in_order_and_can_refuse(site, records, contact, items):
    calls: list[str] = []

    def before_validate(doc, ctx):  # noqa: ANN001
        calls.append("before_validate")
        doc["notes"] = (doc.get("notes") or "") + " checked"

    def validate(doc, ctx):  # noqa: ANN001
        calls.append("validate")
        if sum(line["qty"] for line in doc["lines"]) > 3:
            raise ValidationError("at most 3 items per loan", field="lines")

    def after_save(doc, ctx):  # noqa: ANN001
        calls.append(f"after_save:{ctx.old is None}")
        ctx.after_commit(lambda: calls.append("committed"))

    site.hooks.add("loan", "before_validate", before_validate)
    site.hooks.add("loan", "validate", validate)
    site.hooks.add("loan", "after_save", after_save)
    loan = records.create("loan", {"contact": contact["id"], "lines": [{"item": items[0]["id"]}]})
    assert loan["notes"] == " checked"
    assert calls == ["before_validate", "validate", "after_save:True", "committed"]
    calls.clear()
    with pytest.raises(ValidationError) as error:
        records.update("loan", loan["id"], {"lines": [{"item": items[0]["id"], "qty": 4}]})
    assert problems(error.value) == {"lines": "at most 3 items per loan"}
    assert "committed" not in calls
    assert len(records.get("loan", loan["id"])["lines"]) == 1


def test_unit_of_work_saves_all_or_nothing(records, items):
    with pytest.raises(ValidationError):
        with records.unit_of_work():
            records.create("contact", {"full_name": "One"})
            records.update("item", items[0]["id"], {"stock": 0})
            records.create("contact", {"full_name": ""})
    assert records.count("contact").value == 0
    assert records.get("item", items[0]["id"])["stock"] == 3
    with records.unit_of_work():
        records.create("contact", {"full_name": "One"})
        records.create("contact", {"full_name": "Two"})
    assert records.count("contact").value == 2


def test_create_many_names_the_failing_row(records):
    with pytest.raises(ValidationError) as error:
        records.create_many("item", [{"code": "A-1", "title": "A"}, {"code": "B-1"},
                                     {"code": "C-1", "title": "C"}])
    assert problems(error.value) == {"rows[1].title": "is required"}
    assert records.count("item").value == 0
    ids = records.create_many("item", [{"code": f"N-{i}", "title": f"n{i}"} for i in range(5)])
    assert len(ids) == 5 and records.count("item").value == 5


def test_pack_hooks_are_loaded_from_hooks_py(tmp_path, db_url):
    from yiti.site import Site
    from yiti.testing import load, settings_for

    pack = tmp_path / "packs" / "hooked"
    (pack / "entities").mkdir(parents=True)
    (pack / "module.yaml").write_text("name: hooked\nversion: '1'\nlabel: Hooked\n")
    (pack / "entities" / "note.yaml").write_text(
        "entity: note\nfields:\n  body: {type: text}\n  words: {type: integer, read_only: true}\n")
    (pack / "hooks.py").write_text(
        "from yiti import api\n\n"
        "@api.hook('note', 'before_save')\n"
        "def count_words(doc, ctx):\n"
        "    doc['words'] = len((doc.get('body') or '').split())\n")
    site = Site(settings_for(db_url, tmp_path), model=load([tmp_path / "packs"]))
    site.migrate()
    note = site.records().create("note", {"body": "one two three"})
    assert note["words"] == 3
    site.close()



@pytest.mark.parametrize("layout", ["module", "package"])
def test_pack_hooks_import_the_packs_other_modules(tmp_path, db_url, layout):
    from yiti.site import Site
    from yiti.testing import load, settings_for

    name = f"split_{layout}"
    pack = tmp_path / "packs" / name
    (pack / "entities").mkdir(parents=True)
    (pack / "module.yaml").write_text(f"name: {name}\nversion: '1'\nlabel: Split\n")
    (pack / "entities" / "memo.yaml").write_text(
        "entity: memo\nfields:\n  body: {type: text}\n  shout: {type: text, read_only: true}\n")
    code = ("from yiti import api\nfrom . import rules\n\n"
            "@api.hook('memo', 'before_save')\n"
            "def shout(doc, ctx):\n    doc['shout'] = rules.loud(doc.get('body') or '')\n")
    helper = "def loud(text):\n    return text.upper() + '!'\n"
    if layout == "module":
        (pack / "hooks.py").write_text(code)
        (pack / "rules.py").write_text(helper)
    else:
        (pack / "hooks").mkdir()
        (pack / "hooks" / "__init__.py").write_text(code)
        (pack / "hooks" / "rules.py").write_text(helper)
    site = Site(settings_for(db_url, tmp_path), model=load([tmp_path / "packs"]))
    site.migrate()
    assert site.records().create("memo", {"body": "hi"})["shout"] == "HI!"
    site.close()

# -- formulas and rules (the scripting sandbox) ------------------------------------------


def test_formulas_compute_lines_then_totals(records, contact, items):
    loan = records.create("loan", {"contact": contact["id"], "lines": [
        {"item": items[0]["id"], "qty": 3, "deposit": "20.00"},
        {"item": items[1]["id"], "qty": 1, "deposit": "150.55"},
        {"item": items[1]["id"], "qty": 2}]})
    assert [line["line_deposit"] for line in loan["lines"]] == [
        Decimal("60.00"), Decimal("150.55"), None]  # a blank input gives a blank result
    assert loan["total_deposit"] == Decimal("210.55")
    updated = records.update("loan", loan["id"], {"lines": loan["lines"][:1]})
    assert updated["total_deposit"] == Decimal("60.00")


def test_rules_blame_their_field_with_their_message(records, contact, items):
    with pytest.raises(ValidationError) as error:
        records.create("loan", {"contact": contact["id"], "loan_date": "2026-11-11",
                                "due_date": "2026-11-01", "lines": [{"item": items[0]["id"]}]})
    assert problems(error.value) == {
        "due_date": "The due date cannot be before the loan date"}


def test_rule_messages_follow_the_users_language(site, contact, items):
    from yiti.permissions import Actor

    records = site.records(Actor("li", frozenset({"Administrator"}),
                                 attributes={"language": "zh-CN"}))
    with pytest.raises(ValidationError) as error:
        records.create("loan", {"contact": contact["id"], "loan_date": "2026-11-11",
                                "due_date": "2026-11-01", "lines": [{"item": items[0]["id"]}]})
    assert problems(error.value) == {"due_date": "应还日期不能早于借出日期"}


# -- atomic counters ----------------------------------------------------------------------


def test_adjust_changes_counters_within_their_bounds(records, items):
    book, drill = items
    changed = records.adjust("item", [(drill["id"], {"stock": 4}), (book["id"], {"stock": -3})])
    assert [(r["id"], r["stock"]) for r in changed] == [(book["id"], 0), (drill["id"], 5)]
    with pytest.raises(ValidationError) as error:
        records.adjust("item", [(book["id"], {"stock": -1})])
    assert problems(error.value) == {"stock": "Item BK-1 has 0; -1 would take it below 0"}
    with pytest.raises(ValidationError):  # all or nothing in a unit of work
        with records.unit_of_work():
            records.adjust("item", [(drill["id"], {"stock": -5})])
            records.adjust("item", [(book["id"], {"stock": -1})])
    assert records.get("item", drill["id"])["stock"] == 5
    last = records.history("item", drill["id"])[-1]
    assert (last["action"], last["changes"]) == ("adjust", {"stock": [1, 5]})
    with pytest.raises(ValidationError, match="not a number field"):
        records.adjust("item", [(book["id"], {"title": 1})])


def test_get_many_gives_what_get_gives_in_a_fixed_number_of_queries(site, records, contact,
                                                                    items):
    from sqlalchemy import event

    loans = [records.create("loan", {"contact": contact["id"], "lines": [
        {"item": items[0]["id"], "qty": n}, {"item": items[1]["id"], "qty": 1}]})
        for n in (1, 2, 3)]
    statements = []
    event.listen(site.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    got = records.get_many("loan", [loan["id"] for loan in loans] + [424242])
    assert [s.split()[0] for s in statements if s != "BEGIN"] == ["SELECT", "SELECT"]  # loans, lines
    assert got == {loan["id"]: records.get("loan", loan["id"]) for loan in loans}
    assert [line["qty"] for line in got[loans[2]["id"]]["lines"]] == [3, 1]
    assert records.get_many("loan", []) == {}


def test_a_formula_sees_the_formulas_before_it_and_lines_see_their_parent(tmp_path, db_url):
    from yiti.site import Site
    from yiti.testing import load, settings_for, write_pack

    write_pack(tmp_path / "packs", "chain", {
        "entities/quote_sheet.yaml":
            "entity: quote_sheet\nfields:\n"
            "  rate: {type: decimal, scale: 2}\n"
            "  lines: {type: table, entity: quote_sheet_line}\n"
            "  net: {type: decimal, scale: 2, formula: \"sum_of(lines, 'amount')\"}\n"
            "  doubled: {type: decimal, scale: 2, formula: \"net * 2\"}\n"
            "  label: {type: string, formula: \"'big' if doubled > 100 else 'small'\"}\n",
        "entities/quote_sheet_line.yaml":
            "entity: quote_sheet_line\nchild: true\nfields:\n"
            "  qty: {type: integer}\n"
            "  amount: {type: decimal, scale: 2, formula: \"qty * parent.rate\"}\n"})
    site = Site(settings_for(db_url, tmp_path), model=load([tmp_path / "packs"]))
    site.migrate()
    records = site.records()
    sheet = records.create("quote_sheet", {"rate": "12.50", "lines": [{"qty": 2}, {"qty": 3}]})
    assert [line["amount"] for line in sheet["lines"]] == [Decimal("25.00"), Decimal("37.50")]
    assert (sheet["net"], sheet["doubled"], sheet["label"]) == (
        Decimal("62.50"), Decimal("125.00"), "big")
    sheet = records.update("quote_sheet", sheet["id"], {"rate": "1.00"})
    assert (sheet["net"], sheet["doubled"], sheet["label"]) == (
        Decimal("5.00"), Decimal("10.00"), "small")
    site.close()
