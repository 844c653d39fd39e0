"""``required_if``: a field required while a condition over the record holds, enforced by
the record service on every save (so forms, the API, imports and scripts alike), on lines
too; and ``yiti check`` reporting bad ``required_if`` and form ``visible_if`` at their line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from yiti.cli import main
from yiti.errors import ValidationError
from yiti.site import Site
from yiti.testing import load, settings_for


def problems(error: ValidationError) -> dict[str, tuple[str, str]]:
    return {p.field: (p.message, p.code) for p in error.problems}


# -- the example pack: a returned loan needs its return time ----------------------------


def loan(contact: dict, items: list[dict], **values: object) -> dict:
    return {"contact": contact["id"], "loan_date": "2026-11-11",
            "lines": [{"item": items[0]["id"], "qty": 1}], **values}


def test_required_if_is_enforced_on_create_and_update(records, contact, items):
    with pytest.raises(ValidationError) as refused:
        records.create("loan", loan(contact, items, status="returned"))
    assert problems(refused.value) == {"returned_at": ("is required", "required")}

    lent = records.create("loan", loan(contact, items))  # open: no return time needed
    with pytest.raises(ValidationError) as refused:
        records.update("loan", lent["id"], {"status": "returned"})
    assert problems(refused.value) == {"returned_at": ("is required", "required")}

    done = records.update("loan", lent["id"], {"status": "returned",
                                               "returned_at": "2026-11-20T10:00:00"})
    assert done["status"] == "returned" and done["returned_at"] is not None


def test_create_many_names_the_row(records, contact, items):
    with pytest.raises(ValidationError) as refused:
        records.create_many("loan", [loan(contact, items),
                                     loan(contact, items, status="returned")])
    assert problems(refused.value) == {"rows[1].returned_at": ("is required", "required")}


# -- a pack of its own: conditions on lines, blank inputs, a table field ----------------

PACK = {
    "module.yaml": "name: shop\nversion: '1'\nlabel: Shop\n",
    "entities/order.yaml": (
        "entity: order\n"
        "fields:\n"
        "  kind: {type: select, options: [retail, export]}\n"
        "  customs_code: {type: string, required_if: \"kind == 'export'\"}\n"
        "  big: {type: boolean}\n"
        "  notes: {type: text, required_if: \"amount > 1000\"}\n"
        "  amount: {type: money}\n"
        "  lines: {type: table, entity: order_line, required_if: \"kind == 'export'\"}\n"),
    "entities/order_line.yaml": (
        "entity: order_line\n"
        "child: true\n"
        "fields:\n"
        "  qty: {type: integer}\n"
        "  reason:\n"
        "    type: string\n"
        "    required_if: \"qty > 10 or parent.big\"\n"),
}


def write_pack(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "shop" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def shop(tmp_path: Path, db_url: str) -> Iterator[Site]:
    packs = write_pack(tmp_path / "packs", PACK)
    site = Site(settings_for(db_url, tmp_path, modules=[packs]), model=load([packs]))
    site.migrate()
    yield site
    site.close()


def test_required_if_on_lines_names_the_line(shop):
    records = shop.records()
    with pytest.raises(ValidationError) as refused:
        records.create("order", {"kind": "retail", "lines": [
            {"qty": 1}, {"qty": 2}, {"qty": 12}, {"qty": 20, "reason": "bulk"}]})
    assert problems(refused.value) == {"lines[2].reason": ("is required", "required")}
    # The line sees its order as parent.
    with pytest.raises(ValidationError) as refused:
        records.create("order", {"big": True, "lines": [{"qty": 1, "reason": "x"}, {"qty": 1}]})
    assert problems(refused.value) == {"lines[1].reason": ("is required", "required")}


def test_a_blank_input_does_not_make_a_condition_true(shop):
    records = shop.records()
    saved = records.create("order", {"kind": "retail"})  # amount blank: notes not required
    assert saved["notes"] is None
    with pytest.raises(ValidationError) as refused:
        records.update("order", saved["id"], {"amount": "1500.00", "notes": "   "})
    assert problems(refused.value) == {"notes": ("is required", "required")}


def test_required_if_on_a_table_field_and_every_problem_at_once(shop):
    with pytest.raises(ValidationError) as refused:
        shop.records().create("order", {"kind": "export", "amount": "5000"})
    assert problems(refused.value) == {
        "customs_code": ("is required", "required"),
        "notes": ("is required", "required"),
        "lines": ("needs at least one line", "required"),
    }


# -- yiti check -------------------------------------------------------------------------


def check(root: Path) -> list[str]:
    result = CliRunner().invoke(main, ["check", "--modules", str(root)])
    assert "Traceback" not in result.output
    return result.output.splitlines()


def test_yiti_check_reports_bad_required_if_at_its_line(tmp_path: Path):
    files = dict(PACK)
    files["entities/order.yaml"] = files["entities/order.yaml"].replace(
        "kind == 'export'\"}\n  big", "kindd == 'export'\"}\n  big").replace(
        "amount > 1000", "amount >")
    lines = check(write_pack(tmp_path, files))
    assert any(line.endswith("order.yaml:4: fields.customs_code.required_if: unknown name "
                             "'kindd'; did you mean 'kind'?") for line in lines), lines
    assert any("order.yaml:6: fields.notes.required_if: syntax error" in line
               for line in lines), lines
    assert not any("order_line.yaml" in line for line in lines), lines  # parent is known


def test_yiti_check_reports_visible_if_problems_at_their_line(tmp_path: Path):
    files = dict(PACK)
    files["forms/order.yaml"] = (
        "form: order\n"
        "entity: order\n"
        "visible_if:\n"
        "  customs_code: \"kind == 'export'\"\n"
        "  customs_cod: \"True\"\n"
        "  notes: \"amount > limit\"\n"
        "  amount: \"kind ==\"\n"
        "sections:\n"
        "  - fields: [kind, customs_code, notes, amount]\n")
    lines = check(write_pack(tmp_path, files))
    assert any("order.yaml:5: visible_if.customs_cod: unknown field 'customs_cod'" in line
               and "did you mean 'customs_code'?" in line for line in lines), lines
    assert any("order.yaml:6: visible_if.notes: unknown name 'limit'" in line
               for line in lines), lines
    assert any("order.yaml:7: visible_if.amount: syntax error" in line for line in lines), lines
    assert not any("visible_if.customs_code" in line for line in lines), lines


def test_an_extension_may_set_required_if_and_is_blamed_for_it(tmp_path: Path):
    write_pack(tmp_path, PACK)
    ext = tmp_path / "shop_ext"
    (ext / "extends").mkdir(parents=True)
    (ext / "module.yaml").write_text("name: shop_ext\nversion: '1'\nlabel: X\n"
                                     "depends: [shop]\n")
    (ext / "extends" / "order.yaml").write_text(
        "extends: order\n"
        "fields:\n"
        "  amount: {required_if: \"kind == 'retail'\"}\n"
        "  big: {required_if: \"amont > 0\"}\n")
    lines = check(tmp_path)
    blamed = [line for line in lines if "required_if" in line]
    assert len(blamed) == 1, lines
    assert blamed[0].endswith("shop_ext/extends/order.yaml:4: fields.big.required_if: "
                              "unknown name 'amont'; did you mean 'amount'?"), lines
    model = load([tmp_path])
    assert model.entities["order"].fields["amount"].required_if == "kind == 'retail'"
