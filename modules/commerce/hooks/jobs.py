"""Jobs run by the pack's schedules (schedules/*.yaml)."""

from __future__ import annotations

from typing import Any

from yiti import api

from .common import all_rows
from .orders import expire
from .stock import allocate


# Not one transaction for the run: each order is cancelled in its own (orders.expire), so
# an order paid or cancelled meanwhile is skipped without undoing the others, and each
# cancel commits (its row lock released) at once. A run cut short is harmless: the next
# one lists what is still pending.
@api.job("commerce.expire_reservations", transactional=False)
def expire_reservations(ctx: Any) -> dict[str, Any]:
    """Cancel unpaid orders whose reservation ran out; their stock returns. The result
    names the orders ``expired``, ``skipped`` (paid or cancelled since they were listed)
    and ``failed``; an order that failed fails the attempt (retried), after the others
    were done."""
    done = expire(ctx.records, ctx.now())
    if done["failed"]:
        raise RuntimeError(f"{len(done['failed'])} expired order(s) could not be cancelled "
                           f"({len(done['expired'])} cancelled, {len(done['skipped'])} "
                           f"skipped): " + "; ".join(done["failed"]))
    return done


@api.job("commerce.allocate_stock")
def allocate_stock(ctx: Any) -> dict[str, Any]:
    """Bring every channel's stock allocation to its rule."""
    return {"changes": allocate(ctx.records)}


@api.job("commerce.low_stock_alerts")
def low_stock_alerts(ctx: Any) -> dict[str, Any]:
    """Tell each warehouse's manager which SKUs fell below their reorder level."""
    sys = ctx.records
    low = all_rows(sys, "stock_level", [("headroom", "<", 0), ("reorder_level", ">", 0)],
                   fields=["sku.code", "sku.title", "warehouse", "available", "reorder_level"])
    managers = {w["id"]: w for w in all_rows(sys, "warehouse")}
    sent = 0
    for row in low:
        warehouse = managers[row["warehouse"]]
        if warehouse.get("manager"):
            api.notify(ctx.site, warehouse["manager"], template="commerce_low_stock", context={
                "sku": row["sku.code"], "title": row["sku.title"] or "",
                "warehouse": warehouse["title"], "qty": row["available"],
                "reorder_level": row["reorder_level"]})
            sent += 1
    return {"low": len(low), "notified": sent}
