"""A hook of the parcel workflow, in a module of the hooks package (``parcels.parcel_sent``):
it keeps what the transition told it and writes the record itself."""

from __future__ import annotations

from typing import Any

SEEN: list[dict[str, Any]] = []


def new_parcel(doc: dict[str, Any], ctx: Any) -> dict[str, Any]:
    assert "id" not in doc and ctx.transition["action"] == "create"
    return {"title": doc["title"].strip().title()}


def mark_received(doc: dict[str, Any], ctx: Any) -> dict[str, Any]:
    assert doc["state"] == "sent" and doc["received_at"] is not None  # before the write
    return {"title": f"{doc['title']} (received {ctx.transition['at']:%Y-%m-%d})"}


def parcel_sent(doc: dict[str, Any], ctx: Any) -> None:
    SEEN.append(dict(ctx.transition))
    ctx.records.update("parcel", doc["id"], {"label_printed": True}, version=doc["version"])
