"""Links to a line of a document (``within``): a receipt names the purchase order line
it receives. The line must exist, belong to the order the ``within`` field names and
sit in an order the actor may read; a linked line cannot be removed, nor its order
deleted; titles name the order, the position and the line's title."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from yiti.errors import Conflict, ValidationError
from yiti.permissions.policy import Actor
from yiti.records import line_links
from yiti.site import Site
from yiti.testing import load, settings_for, write_pack

PACK = {
    "entities/purchase_order.yaml":
        "entity: purchase_order\nnaming: {series: 'PO-{YYYY}-{####}'}\nfields:\n"
        "  supplier: {type: string}\n"
        "  lines: {type: table, entity: purchase_order_line}\n",
    "entities/purchase_order_line.yaml":
        "entity: purchase_order_line\nchild: true\ntitle_field: sku\nfields:\n"
        "  sku: {type: string}\n  qty: {type: integer}\n",
    "entities/receipt.yaml":
        "entity: receipt\nlist: {columns: [name, purchase_order, po_line]}\nfields:\n"
        "  purchase_order: {type: link, entity: purchase_order}\n"
        "  po_line: {type: link, entity: purchase_order_line, within: purchase_order}\n"
        "  lines: {type: table, entity: receipt_line}\n",
    "entities/receipt_line.yaml":
        "entity: receipt_line\nchild: true\nfields:\n"
        "  po_line: {type: link, entity: purchase_order_line, within: purchase_order}\n"
        "  qty: {type: integer}\n",
    "permissions/roles.yaml":
        "roles:\n  Buyer: {}\n  Receiver: {}\n"
        "access:\n"
        "  - [Buyer, purchase_order, read create write delete]\n"
        "  - [Buyer, receipt, read create write delete]\n"
        "  - [Receiver, receipt, read create write delete]\n",
}


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    modules = tmp_path / "packs"
    write_pack(modules, "receiving", PACK)
    site = Site(settings_for(db_url, tmp_path, modules=[modules]), model=load([modules]))
    site.migrate()
    try:
        yield site
    finally:
        site.close()


@pytest.fixture
def orders(site: Site) -> list[dict[str, Any]]:
    recs = site.records(Actor("bo", frozenset({"Buyer"})))
    return [recs.create("purchase_order", {"supplier": s, "lines": [
        {"sku": f"{s}-1 Shirt", "qty": 5}, {"sku": f"{s}-2", "qty": 3}]}) for s in ("A", "B")]


def _buyer(site: Site) -> Any:
    return site.records(Actor("bo", frozenset({"Buyer"})))


def _problem(error: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str]:
    [problem] = error.value.problems
    return problem.field, problem.message


def test_a_line_of_the_document_named_is_linked_by_its_id(site: Site, orders) -> None:
    po, line = orders[0], orders[0]["lines"][1]
    made = _buyer(site).create("receipt", {"purchase_order": po["id"],
                                           "po_line": str(line["id"]),
                                           "lines": [{"po_line": {"id": line["id"]}}]})
    assert made["po_line"] == line["id"]
    assert made["lines"][0]["po_line"] == line["id"]


def test_a_line_of_another_document_is_refused_at_its_field(site: Site, orders) -> None:
    po, other = orders[0], orders[1]["lines"][0]
    with pytest.raises(ValidationError) as error:
        _buyer(site).create("receipt", {"purchase_order": po["id"], "po_line": other["id"]})
    assert _problem(error) == ("po_line", f"line {other['id']} is not a line of {po['name']}")
    with pytest.raises(ValidationError) as error:
        _buyer(site).create("receipt", {"purchase_order": po["id"],
                                        "lines": [{"po_line": other["id"]}]})
    assert _problem(error) == ("lines[0].po_line",
                               f"line {other['id']} is not a line of {po['name']}")


def test_an_update_to_a_line_of_another_document_is_refused(site: Site, orders) -> None:
    recs = _buyer(site)
    made = recs.create("receipt", {"purchase_order": orders[0]["id"],
                                   "po_line": orders[0]["lines"][0]["id"]})
    with pytest.raises(ValidationError) as error:
        recs.update("receipt", made["id"], {"purchase_order": orders[1]["id"]})
    assert _problem(error)[0] == "po_line"
    again = recs.update("receipt", made["id"], {"purchase_order": orders[1]["id"],
                                                "po_line": orders[1]["lines"][0]["id"]})
    assert again["po_line"] == orders[1]["lines"][0]["id"]


def test_a_line_without_its_document_or_given_by_lookup_is_refused(site: Site, orders) -> None:
    with pytest.raises(ValidationError) as error:
        _buyer(site).create("receipt", {"po_line": orders[0]["lines"][0]["id"]})
    assert _problem(error) == ("po_line", "choose the purchase order first")
    with pytest.raises(ValidationError) as error:
        _buyer(site).create("receipt", {"purchase_order": orders[0]["id"],
                                        "po_line": {"sku": "A-1 Shirt"}})
    assert _problem(error)[0] == "po_line"


def test_a_line_of_an_unreadable_document_is_refused_as_a_missing_one(site: Site,
                                                                     orders) -> None:
    """The receiver may not read orders: their lines are as if missing, nothing leaks."""
    receiver = site.records(Actor("rita", frozenset({"Receiver"})))
    line = orders[0]["lines"][0]
    with pytest.raises(ValidationError) as error:
        receiver.create("receipt", {"purchase_order": orders[0]["id"], "po_line": line["id"]})
    assert _problem(error) == ("po_line", f"no purchase_order_line with id {line['id']}")
    with pytest.raises(ValidationError) as error:
        receiver.create("receipt", {"purchase_order": orders[0]["id"], "po_line": 99999})
    assert _problem(error) == ("po_line", "no purchase_order_line with id 99999")
    with site.records().unit_of_work() as tx:
        assert line_links.titles(receiver, tx.conn, site.model.entities["purchase_order_line"],
                                 [line["id"]]) == {}


def test_a_saved_order_keeps_its_lines_and_a_linked_line_cannot_be_removed(site: Site,
                                                                           orders) -> None:
    recs = _buyer(site)
    po = orders[0]
    first, second = po["lines"]
    recs.create("receipt", {"purchase_order": po["id"], "lines": [{"po_line": second["id"]}]})
    kept = recs.update("purchase_order", po["id"], {"supplier": "A2", "lines": [
        {"id": first["id"], "qty": 6}, {"id": second["id"], "qty": 4}]})
    assert [line["id"] for line in kept["lines"]] == [first["id"], second["id"]]
    with pytest.raises(Conflict) as error:
        recs.update("purchase_order", po["id"], {"lines": [{"id": first["id"]}]})
    assert f"line 2 of {po['name']} (id {second['id']}) is linked from Receipt" in \
        error.value.message
    assert len(recs.get("purchase_order", po["id"])["lines"]) == 2
    with pytest.raises(Conflict) as error:
        recs.delete("purchase_order", po["id"])
    assert f"(id {second['id']}) is linked from Receipt" in error.value.message
    recs.update("purchase_order", po["id"], {"lines": [{"id": second["id"]}]})  # first goes


def test_a_line_title_names_the_order_the_position_and_the_line(site: Site, orders) -> None:
    po = orders[0]
    with site.records().unit_of_work() as tx:
        titles = line_links.titles(_buyer(site), tx.conn, site.model.entities["purchase_order_line"],
                                   [line["id"] for line in po["lines"]])
    assert titles == {po["lines"][0]["id"]: f"{po['name']} #1 · A-1 Shirt",
                      po["lines"][1]["id"]: f"{po['name']} #2 · A-2"}


def test_create_many_checks_the_lines_of_every_row(site: Site, orders) -> None:
    po, other = orders[0], orders[1]["lines"][0]
    with pytest.raises(ValidationError) as error:
        _buyer(site).create_many("receipt", [
            {"purchase_order": po["id"], "po_line": po["lines"][0]["id"]},
            {"purchase_order": po["id"], "po_line": other["id"]}])
    assert [p.field for p in error.value.problems] == ["rows[1].po_line"]
