"""Stock documents post to the ledger: entries, transfers, stocktakes; the ledger is
append-only and stock levels are never edited by hand."""

from __future__ import annotations

from typing import Any

from yiti import api

from .common import system
from .stock import Move, allocate, level, post, receive_move


@api.hook("stock_move", "before_save")
def ledger_is_append_only(doc: dict[str, Any], ctx: api.HookContext) -> None:
    if ctx.old is not None:
        raise api.ValidationError("stock moves are never changed: post a correcting "
                                  "entry instead", field="kind")


@api.hook("stock_move", "before_delete")
def ledger_keeps_rows(doc: dict[str, Any], ctx: api.HookContext) -> None:
    raise api.ValidationError("stock moves are never deleted: post a correcting entry")


@api.hook("stock_level", "before_save")
def keep_headroom(doc: dict[str, Any], ctx: api.HookContext) -> None:
    """A changed reorder level moves the low-stock headroom with it."""
    doc["headroom"] = (doc.get("available") or 0) - (doc.get("reorder_level") or 0)


def _entry_moves(doc: dict[str, Any], sign: int) -> list[Move]:
    return [receive_move(line["sku"], doc["warehouse"], sign * line["qty"], doc["kind"],
                               reference=doc["name"], unit_cost=line.get("unit_cost"),
                               note="cancelled" if sign < 0 else "")
            for line in doc["lines"]]


@api.hook("stock_entry", "on_submit")
def post_entry(doc: dict[str, Any], ctx: api.HookContext) -> None:
    """Receipts, returns and adjustments go to the ledger when submitted."""
    post(ctx.records, _entry_moves(doc, 1))
    allocate(ctx.records, doc["warehouse"], [line["sku"] for line in doc["lines"]])


@api.hook("stock_entry", "on_cancel")
def reverse_entry(doc: dict[str, Any], ctx: api.HookContext) -> None:
    """A cancelled entry is reversed by opposite moves, never erased."""
    post(ctx.records, _entry_moves(doc, -1))


def _transfer_moves(doc: dict[str, Any], sign: int) -> list[Move]:
    moves = []
    for line in doc["lines"]:
        qty = sign * line["qty"]
        moves.append(receive_move(line["sku"], doc["from_warehouse"], -qty,
                                        "transfer_out", reference=doc["name"]))
        moves.append(receive_move(line["sku"], doc["to_warehouse"], qty, "transfer_in",
                                        reference=doc["name"]))
    return moves


@api.hook("stock_transfer", "on_submit")
def post_transfer(doc: dict[str, Any], ctx: api.HookContext) -> None:
    post(ctx.records, _transfer_moves(doc, 1))


@api.hook("stock_transfer", "on_cancel")
def reverse_transfer(doc: dict[str, Any], ctx: api.HookContext) -> None:
    post(ctx.records, _transfer_moves(doc, -1))


def _book(records: api.Records, doc: dict[str, Any]) -> None:
    for line in doc["lines"]:
        row = level(system(records), line["sku"], doc["warehouse"])
        line["book_qty"] = row["on_hand"] if row else 0
        line["variance"] = line["counted_qty"] - line["book_qty"]


@api.hook("stocktake", "before_validate")
def fill_book_qty(doc: dict[str, Any], ctx: api.HookContext) -> None:
    """Show the books' quantity next to each count while the stocktake is a draft."""
    if doc.get("docstatus") in (None, "draft"):
        _book(ctx.records, doc)


@api.hook("stocktake", "on_submit")
def post_variance(doc: dict[str, Any], ctx: api.HookContext) -> None:
    """Post each line's variance against the books as they are now."""
    _book(ctx.records, doc)
    post(ctx.records, [receive_move(line["sku"], doc["warehouse"],
                                                line["variance"], "stocktake",
                                                reference=doc["name"])
                             for line in doc["lines"] if line["variance"]])


@api.hook("stocktake", "on_cancel")
def reverse_variance(doc: dict[str, Any], ctx: api.HookContext) -> None:
    post(ctx.records, [receive_move(line["sku"], doc["warehouse"],
                                                -line["variance"], "stocktake",
                                                reference=doc["name"], note="cancelled")
                             for line in doc["lines"] if line["variance"]])
