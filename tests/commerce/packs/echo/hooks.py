"""Endpoints exercising every option of @api.endpoint (tests/commerce/test_pack_endpoints.py)."""

from yiti import api


@api.endpoint("notes/add")
def add(ctx):
    note = ctx.records.create("note", {"text": ctx.body_object().get("text")})
    return api.Reply({"id": note["id"], "user": ctx.user}, 201)


@api.endpoint("notes/count", methods=["GET"])
def count(ctx):
    return {"count": ctx.system.count("note").value}


@api.endpoint("staff-only", methods=["GET"], roles=["Staff"])
def staff(ctx):
    return {"ok": True}


@api.endpoint("public/ping", methods=["GET", "POST"], auth="public")
def ping(ctx):
    if ctx.method == "POST":
        ctx.system.create("note", {"text": "pinged"})
    return {"user": ctx.user, "body": ctx.body.decode()}


@api.endpoint("notes/refuse")
def refuse(ctx):
    ctx.system.create("note", {"text": "never kept"})
    return api.Reply({"refused": True}, 409)


@api.endpoint("notes/fail")
def fail(ctx):
    ctx.system.create("note", {"text": "never kept"})
    raise api.Conflict("no, thank you")
