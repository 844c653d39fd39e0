"""The outsider's after-sales hooks (outsider report 2, findings 4 and 5)."""

from decimal import Decimal

from yiti import api


def _order_line(records, order_id, line_id):
    order = records.get("sales_order", order_id)
    for line in order["lines"]:
        if line["id"] == line_id:
            return order, line
    return order, None


@api.hook("service_request", "before_validate")
def copy_from_order_line(doc, ctx):
    """Fill sku and line amount from the order line chosen (compares ids: finding 5)."""
    if not doc.get("sales_order") or not doc.get("order_line"):
        return
    try:  # not a link: an integer field's value arrives as sent (a form sends text)
        line_id = int(doc["order_line"])
    except (TypeError, ValueError):
        return  # refused at the field by its own check
    _order, line = _order_line(ctx.records, doc["sales_order"], line_id)
    if line is not None:
        doc["sku"] = line["sku"]
        doc["line_amount"] = line["amount"]


@api.hook("service_request", "validate")
def refund_within_line(doc, ctx):
    """Refunds on one order line, over every store's requests, stay within its amount:
    an invariant, so counted with ctx.system (ctx.records sees the user's store only)."""
    refund = doc.get("refund_amount")
    if refund is None:
        return
    others = ctx.system.list(
        "service_request",
        filters=[("order_line", "=", doc["order_line"])]
        + ([("id", "!=", doc["id"])] if doc.get("id") else []),
        fields=["refund_amount"], limit=1000).rows
    already = sum((r["refund_amount"] or Decimal(0) for r in others), Decimal(0))
    amount = doc["line_amount"]
    if refund + already > amount:
        # says the total, never which other stores' requests make it up
        raise api.ValidationError(
            f"refunds on this line would come to {refund + already}, more than its "
            f"amount {amount}", field="refund_amount")


@api.job("aftersales_outsider.escalate")
def escalate(ctx):
    """Escalate every request still inspecting and tell every Service Manager
    (finding 17: api.users_with_role)."""
    rows = ctx.records.list("service_request", filters=[("status", "=", "inspecting"),
                                                        ("escalated", "=", False)]).rows
    for row in rows:
        api.act(ctx.records, "service_request", row["id"], "escalate")
    for name in api.users_with_role(ctx.site, "Service Manager"):
        api.notify(ctx.site, name, subject=f"{len(rows)} request(s) escalated")
    return {"escalated": [row["name"] for row in rows]}
