"""Stock: levels kept in step with an immutable ledger, reservations, allocation.

A ``stock_level`` (one per SKU and warehouse) holds counters: ``on_hand``, ``reserved``,
``available`` (= on hand - reserved), ``free`` (available that no channel's allocation
holds) and ``headroom`` (available - reorder level). A ``channel_stock`` row holds the
part of ``available`` promised to one channel. They change only here, only through
``records.adjust`` (one conditional UPDATE per row that checks every counter's ``min``:
``available`` can never go below zero, however many orders race), and every change of
``on_hand`` or ``reserved`` writes a ``stock_move`` row in the same transaction, so the
ledger always sums to the levels.

Lock order, everywhere: promotion counters, then ``channel_stock``, then ``stock_level``
(each in id order), so two transactions never wait on each other in a circle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from yiti import api

from .common import all_rows, first, system

LEVEL = "stock_level"
QUOTA = "channel_stock"


@dataclass(frozen=True)
class Move:
    """One change to a stock level, written to the ledger as one ``stock_move``."""

    sku: int
    warehouse: int
    kind: str
    on_hand: int = 0
    reserved: int = 0
    free: int = 0  # the part of the available change that is (or comes from) unallocated
    channel: int | None = None
    quota: int = 0  # change of the channel's allocation (channel_stock.available)
    quota_reserved: int = 0
    unit_cost: Decimal | None = None
    sales_order: int | None = None
    reference: str = ""
    note: str = ""

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def level(records: api.Records, sku: int, warehouse: int, *, create: bool = False
          ) -> dict | None:
    """The stock level of ``sku`` in ``warehouse`` (created, empty, if asked)."""
    sys = system(records)
    row = first(sys, LEVEL, [("sku", "=", sku), ("warehouse", "=", warehouse)])
    if row is None and create:
        row = sys.create(LEVEL, {"sku": sku, "warehouse": warehouse})
    return row


def post(records: api.Records, moves: Sequence[Move], *, field: str = "lines",
         levels: Mapping[tuple[int, int], int] | None = None) -> None:
    """Adjust the levels for ``moves`` and write them to the ledger, or refuse them all.

    In one transaction (the caller's, if any): the ledger rows are written first, then the
    counters adjusted (channel allocations, then levels, each in id order), so the level
    rows, which every order for the SKU updates, are locked last and only to the commit.
    A move that would take a counter below zero raises a ValidationError naming the SKU
    and warehouse (and ``field[i]``, the document line it came from) and nothing is kept.
    ``levels`` (level ids by (sku, warehouse), read in this transaction) saves looking
    them up when the caller has them for every move.
    """
    sys = system(records)
    with sys.unit_of_work():
        _post(sys, moves, field, levels)


def _post(sys: api.Records, moves: Sequence[Move], field: str,
          levels: Mapping[tuple[int, int], int] | None) -> None:
    quota_changes: dict[int, dict[str, int]] = {}
    level_changes: dict[int, dict[str, int]] = {}
    where: dict[int, int] = {}  # level id -> index of the move (for the message)
    if levels is None or any((m.sku, m.warehouse) not in levels for m in moves):
        levels = _levels(sys, moves)
    for i, move in enumerate(moves):
        if move.quota or move.quota_reserved:
            cs = first(sys, QUOTA, [("sku", "=", move.sku), ("warehouse", "=", move.warehouse),
                                    ("channel", "=", move.channel)])
            if cs is None:
                cs = sys.create(QUOTA, {"sku": move.sku, "warehouse": move.warehouse,
                                        "channel": move.channel})
            _add(quota_changes, cs["id"], available=move.quota, reserved=move.quota_reserved)
        ident = levels.get((move.sku, move.warehouse))
        if ident is None:
            raise _short(sys, move, f"{field}[{i}]")
        where[ident] = i
        _add(level_changes, ident, on_hand=move.on_hand, reserved=move.reserved,
             available=move.available, free=move.free, headroom=move.available)
    rows = [_ledger_row(m) for m in moves if m.on_hand or m.reserved]
    if rows:
        sys.create_many("stock_move", rows)
    for ident in sorted(quota_changes):
        if quota_changes[ident]:
            sys.adjust(QUOTA, [(ident, quota_changes[ident])])
    for ident in sorted(level_changes):
        if not level_changes[ident]:
            continue
        try:
            sys.adjust(LEVEL, [(ident, level_changes[ident])])
        except api.ValidationError:
            raise _short(sys, moves[where[ident]], f"{field}[{where[ident]}]") from None


def _levels(sys: api.Records, moves: Sequence[Move]) -> dict[tuple[int, int], int]:
    """Stock level ids by (sku, warehouse) for ``moves``, one query per warehouse; levels
    that goods arrive at are created (empty) when missing."""
    out: dict[tuple[int, int], int] = {}
    by_warehouse: dict[int, set[int]] = {}
    for move in moves:
        by_warehouse.setdefault(move.warehouse, set()).add(move.sku)
    for warehouse, skus in by_warehouse.items():
        for chunk in _chunks(sorted(skus), 500):
            for row in sys.list(LEVEL, filters=[("warehouse", "=", warehouse),
                                                ("sku", "in", chunk)],
                                fields=["id", "sku"], limit=len(chunk)).rows:
                out[(row["sku"], warehouse)] = row["id"]
    missing = sorted({(m.sku, m.warehouse) for m in moves
                      if m.on_hand > 0 and (m.sku, m.warehouse) not in out})
    if missing:
        made = sys.create_many(LEVEL, [{"sku": sku, "warehouse": wh} for sku, wh in missing])
        out.update(zip(missing, made, strict=True))
    return out


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _add(into: dict[int, dict[str, int]], ident: int, **deltas: int) -> None:
    target = into.setdefault(ident, {})
    for name, delta in deltas.items():
        if delta:
            target[name] = target.get(name, 0) + delta


def _ledger_row(move: Move) -> dict[str, Any]:
    return {"sku": move.sku, "warehouse": move.warehouse, "kind": move.kind,
            "on_hand_change": move.on_hand, "reserved_change": move.reserved,
            "unit_cost": move.unit_cost, "channel": move.channel,
            "sales_order": move.sales_order, "reference": move.reference[:140] or None,
            "note": move.note[:200] or None}


def _short(sys: api.Records, move: Move, field: str) -> api.ValidationError:
    sku = sys.get("sku", move.sku)
    warehouse = sys.get("warehouse", move.warehouse)
    row = level(sys, move.sku, move.warehouse)
    have = row["available"] if row else 0
    return api.ValidationError(api.message(
        "not enough stock of %(sku)s in %(warehouse)s: %(available)s available",
        sku=sku["code"], warehouse=warehouse["code"], available=have), field=field)


# -- reservations ------------------------------------------------------------------------

def reserve(records: api.Records, sku: int, warehouse: int, qty: int, channel: int, *,
            order: int | None, reference: str, field: str) -> str:
    """Reserve ``qty`` for an order of ``channel``: from the channel's allocation when it
    has one there and it suffices, else from unallocated stock. Returns where from
    (``channel`` or ``free``); refuses (ValidationError on ``field``) when neither can."""
    sys = system(records)
    cs = first(sys, QUOTA, [("sku", "=", sku), ("warehouse", "=", warehouse),
                            ("channel", "=", channel), ("available", ">=", qty)])
    if cs is not None:
        try:  # a failed conditional update changes nothing: safe to fall back
            sys.adjust(QUOTA, [(cs["id"], {"available": -qty, "reserved": qty})])
        except api.ValidationError:
            cs = None  # taken meanwhile by a concurrent order
    if cs is not None:
        # available = free + every channel's allocation, so this can't go below zero
        post(records, [Move(sku, warehouse, "reserve", reserved=qty, channel=channel,
                            sales_order=order, reference=reference)], field=field)
        return "channel"
    post(records, [Move(sku, warehouse, "reserve", reserved=qty, free=-qty, channel=channel,
                        sales_order=order, reference=reference)], field=field)
    return "free"


def reserve_many(records: api.Records, wanted: Sequence[tuple[int, int, int]], channel: int,
                 *, order: int | None, reference: str,
                 levels: Mapping[tuple[int, int], int] | None = None,
                 quotas: Mapping[tuple[int, int], int] | None = None,
                 field: str = "lines") -> list[str]:
    """Reserve each ``(sku, warehouse, qty)`` for an order of ``channel``, all or none, as
    :func:`reserve` does for one; returns where each came from (``channel`` or ``free``).

    ``quotas`` are the channel's allocation rows (``channel_stock`` ids by (sku,
    warehouse)) read in this transaction as probably covering their lines: each is taken
    by an atomic conditional update, and a line whose allocation was taken meanwhile, or
    that has none there, is reserved from unallocated stock. ``None`` looks them up, one
    query a line. The allocations are taken first (in id order), then every level is
    adjusted and every move written by one :func:`post`; a line that can't be covered
    raises a ValidationError on ``field[i].qty``.
    """
    sys = system(records)
    if quotas is None:
        quotas = {}
        for sku, warehouse, qty in wanted:
            cs = first(sys, QUOTA, [("sku", "=", sku), ("warehouse", "=", warehouse),
                                    ("channel", "=", channel), ("available", ">=", qty)],
                       fields=["id"])
            if cs is not None:
                quotas[(sku, warehouse)] = cs["id"]
    sources = ["free"] * len(wanted)
    for i in sorted((i for i, (sku, wh, _) in enumerate(wanted) if (sku, wh) in quotas),
                    key=lambda i: quotas[(wanted[i][0], wanted[i][1])]):
        sku, warehouse, qty = wanted[i]
        try:  # a failed conditional update changes nothing: safe to fall back
            sys.adjust(QUOTA, [(quotas[(sku, warehouse)], {"available": -qty,
                                                           "reserved": qty})])
            sources[i] = "channel"
        except api.ValidationError:
            pass  # taken meanwhile by a concurrent order
    # available = free + every channel's allocation, so a reservation from the channel's
    # allocation can't take it below zero; one from unallocated stock takes ``free``.
    moves = [Move(sku, warehouse, "reserve", reserved=qty,
                  free=0 if source == "channel" else -qty, channel=channel,
                  sales_order=order, reference=reference)
             for (sku, warehouse, qty), source in zip(wanted, sources, strict=True)]
    try:
        post(records, moves, field=field, levels=levels)
    except api.ValidationError as error:  # name the line's quantity, as reserve() does
        problem = error.problems[0] if error.problems else None
        if problem is None or not problem.field.startswith(f"{field}["):
            raise
        raise api.ValidationError(problem.message, field=f"{problem.field}.qty") from None
    return sources


def release_move(sku: int, warehouse: int, qty: int, channel: int, source: str, *,
                 order: int | None, reference: str, note: str = "") -> Move:
    """The move giving a reservation back to where it came from."""
    if source == "channel":
        return Move(sku, warehouse, "release", reserved=-qty, channel=channel, quota=qty,
                    quota_reserved=-qty, sales_order=order, reference=reference, note=note)
    return Move(sku, warehouse, "release", reserved=-qty, free=qty, channel=channel,
                sales_order=order, reference=reference, note=note)


def ship_move(sku: int, warehouse: int, qty: int, channel: int, source: str, *,
              order: int | None, reference: str) -> Move:
    """The move of reserved goods leaving the warehouse: on hand and reserved go down."""
    return Move(sku, warehouse, "sale", on_hand=-qty, reserved=-qty, channel=channel,
                quota_reserved=-qty if source == "channel" else 0, sales_order=order,
                reference=reference)


def receive_move(sku: int, warehouse: int, qty: int, kind: str, *, reference: str,
                 unit_cost: Decimal | None = None, note: str = "") -> Move:
    """Goods in (qty > 0) or out (qty < 0) that no order reserved: unallocated stock."""
    return Move(sku, warehouse, kind, on_hand=qty, free=qty, unit_cost=unit_cost,
                reference=reference, note=note)


# -- allocation ---------------------------------------------------------------------------

def allocate(records: api.Records, warehouse: int | None = None,
             skus: Iterable[int] | None = None) -> int:
    """Bring each channel's allocation to its rule's target; returns the changes made.

    A share rule promises ``share`` % of the level's available stock, a fixed rule a
    quantity; never more than the unallocated stock allows. Runs as a job
    (``commerce.allocate_stock``) and after receipts.
    """
    sys = system(records)
    filters: list[Any] = [("active", "=", True)]
    if warehouse is not None:
        filters.append(("warehouse", "=", warehouse))
    rules = all_rows(sys, "stock_allocation", filters, sort=["warehouse", "channel"])
    changes = 0
    sku_filter = list(skus) if skus is not None else None
    for rule in rules:
        level_filters: list[Any] = [("warehouse", "=", rule["warehouse"])]
        if sku_filter is not None:
            level_filters.append(("sku", "in", sku_filter))
        rows = all_rows(sys, LEVEL, level_filters)
        quotas = {row["sku"]: row for row in all_rows(sys, QUOTA, [
            ("warehouse", "=", rule["warehouse"]), ("channel", "=", rule["channel"])])}
        missing = sorted({row["sku"] for row in rows} - set(quotas))
        if missing:
            made = sys.create_many(QUOTA, [{"sku": sku, "warehouse": rule["warehouse"],
                                            "channel": rule["channel"]} for sku in missing])
            quotas.update({sku: {"id": i, "available": 0}
                           for sku, i in zip(missing, made, strict=True)})
        for row in rows:
            changes += _allocate_one(sys, rule, row, quotas[row["sku"]])
    return changes


def _allocate_one(sys: api.Records, rule: dict, row: dict, cs: dict) -> int:
    """Move stock between the unallocated pool and the channel's allocation: ``row`` and
    ``cs`` were read just before; the adjustments re-check the counters atomically."""
    have = cs["available"]
    if rule["mode"] == "fixed":
        target = int(rule["quantity"] or 0)
    else:
        target = int(Decimal(row["available"]) * Decimal(rule["share"] or 0) / 100)
    delta = min(target - have, row["free"])
    if delta == 0 or (delta < 0 and have == 0):
        return 0
    # channel_stock before stock_level, as everywhere; a step that fails changes nothing,
    # and the first step is undone (its row is still locked by us) if the second fails.
    try:
        sys.adjust(QUOTA, [(cs["id"], {"available": delta})])
    except api.ValidationError:
        return 0  # an order took the allocation meanwhile; the next run catches up
    try:
        sys.adjust(LEVEL, [(row["id"], {"free": -delta})])
    except api.ValidationError:
        sys.adjust(QUOTA, [(cs["id"], {"available": -delta})])
        return 0
    return 1
