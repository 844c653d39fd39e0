"""A hook of the parcel workflow, in a module of the hooks package (``parcels.parcel_sent``):
it keeps what the transition told it and writes the record itself."""

from __future__ import annotations

from typing import Any

SEEN: list[dict[str, Any]] = []


def parcel_sent(doc: dict[str, Any], ctx: Any) -> None:
    SEEN.append(dict(ctx.transition))
    ctx.records.update("parcel", doc["id"], {"label_printed": True}, version=doc["version"])
