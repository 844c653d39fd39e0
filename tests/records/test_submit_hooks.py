"""The hooks of a submit and a cancel, in the order docs/hooks.md gives: the checks and
``validate`` first, then ``on_submit``/``on_cancel``, then ``before_save``, the write and
``after_save``; every hook of it sees the new docstatus in ``doc`` and the former one in
``ctx.old``, so a hook can tell a submit from an ordinary save (an outsider's receipt
checked its quantity against the stock its own ``on_submit`` had just posted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from yiti.errors import ValidationError
from yiti.site import Site
from yiti.testing import load, settings_for, write_pack

HOOKS = """
from yiti import api

SEEN = []

def _note(event):
    def hook(doc, ctx):
        SEEN.append((event, doc.get("docstatus"), ctx.old["docstatus"] if ctx.old else None))
    return hook

for _event in ("before_validate", "validate", "before_save", "after_save", "on_submit",
               "on_cancel"):
    globals()["note_" + _event] = api.hook("receipt", _event)(_note(_event))


@api.hook("receipt", "validate")
def not_more_than_left(doc, ctx):
    stock = ctx.records.get("stock", doc["stock"])
    if doc.get("docstatus") == "submitted" and doc["qty"] > 100 - stock["received"]:
        raise api.ValidationError(f"only {100 - stock['received']} left", field="qty")


@api.hook("receipt", "on_submit")
def post(doc, ctx):
    stock = ctx.records.get("stock", doc["stock"])
    ctx.records.update("stock", stock["id"], {"received": stock["received"] + doc["qty"]})
"""


@pytest.fixture
def site(tmp_path: Path, db_url: str):  # noqa: ANN201
    modules = tmp_path / "packs"
    write_pack(modules, "receiving", {
        "entities/stock.yaml": "entity: stock\nfields:\n  received: {type: integer, default: 0}\n",
        "entities/receipt.yaml": "entity: receipt\nsubmittable: true\nfields:\n"
                                 "  stock: {type: link, entity: stock, required: true}\n"
                                 "  qty: {type: integer, required: true}\n",
        "hooks.py": HOOKS})
    site = Site(settings_for(db_url, tmp_path, modules=[modules]), model=load([modules]))
    site.migrate()
    try:
        yield site
    finally:
        site.close()


def _seen() -> list[tuple[str, str, str | None]]:
    import sys

    return sys.modules["yiti_packs.receiving.hooks"].SEEN


def test_submit_runs_validate_then_on_submit_and_every_hook_sees_the_new_docstatus(site):
    r = site.records()
    stock = r.create("stock", {})
    receipt = r.create("receipt", {"stock": stock["id"], "qty": 50})
    _seen().clear()
    submitted = r.submit("receipt", receipt["id"])
    assert submitted["docstatus"] == "submitted"
    assert _seen() == [("before_validate", "submitted", "draft"),
                       ("validate", "submitted", "draft"),
                       ("on_submit", "submitted", "draft"),
                       ("before_save", "submitted", "draft"),
                       ("after_save", "submitted", "draft")]
    # validate saw the stock before on_submit posted it: 50 of 100 is accepted
    assert r.get("stock", stock["id"])["received"] == 50
    _seen().clear()
    r.cancel("receipt", receipt["id"])
    assert [s for s in _seen() if s[0] in ("validate", "on_cancel", "before_save")] == [
        ("validate", "cancelled", "submitted"), ("on_cancel", "cancelled", "submitted"),
        ("before_save", "cancelled", "submitted")]


def test_a_submit_refused_by_validate_runs_no_on_submit(site):
    r = site.records()
    stock = r.create("stock", {"received": 80})
    receipt = r.create("receipt", {"stock": stock["id"], "qty": 30})  # a draft: not checked
    _seen().clear()
    with pytest.raises(ValidationError) as refused:
        r.submit("receipt", receipt["id"])
    assert [(p.field, p.message) for p in refused.value.problems] == [("qty", "only 20 left")]
    assert "on_submit" not in [s[0] for s in _seen()]
    assert r.get("stock", stock["id"])["received"] == 80
    assert r.get("receipt", receipt["id"])["docstatus"] == "draft"
