"""Jobs run by the pack's schedules (schedules/*.yaml)."""

from __future__ import annotations

from typing import Any

from yiti import api

from .common import all_rows
from .orders import expire
from .stock import allocate


@api.job("commerce.expire_reservations")
def expire_reservations(ctx: Any) -> dict[str, Any]:
    """Cancel unpaid orders whose reservation ran out; their stock returns."""
    return {"expired": expire(ctx.records, ctx.now())}


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
