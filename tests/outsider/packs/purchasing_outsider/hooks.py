"""Rules that need other records (docs/hooks.md): only active suppliers and items may be
requested, and an approval may not take a supplier past its credit limit."""

from yiti import api


@api.hook("purchase_request", "validate")
def active_supplier_and_items(doc, ctx):
    supplier = ctx.records.get("supplier", doc["supplier"])
    if not supplier["active"]:
        raise api.ValidationError(f"supplier {supplier['name']} is not active", field="supplier")
    for i, line in enumerate(doc["lines"]):
        sku = ctx.records.get("sku", line["sku"])
        if not sku["active"]:
            raise api.ValidationError(f"item {sku['name']} is discontinued",
                                      field=f"lines[{i}].sku")


def request_approved(doc, ctx):
    """Workflow step (workflows/purchase_request.yaml, state approved): the approved
    requests of a supplier must stay within its credit limit."""
    supplier = ctx.records.get("supplier", doc["supplier"])
    limit = supplier.get("credit_limit")
    if limit is None:
        return
    approved = ctx.records.list("purchase_request", filters=[
        ("supplier", "=", supplier["id"]), ("state", "=", "approved")], limit=1000).rows
    if sum(r["total"] for r in approved) > limit:
        raise api.ValidationError(f"approving it takes {supplier['name']} past its credit "
                                  f"limit of {limit}", field="total")
