"""A pack hook called by the purchase workflow when a purchase is approved."""


CALLS: list[tuple[str, str]] = []


def purchase_approved(doc, ctx):  # noqa: ANN001, ANN201
    CALLS.append((doc["name"], ctx.user))
