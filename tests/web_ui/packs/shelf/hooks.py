"""Pages of a tiny pack, for tests/web_ui/test_pack_pages.py."""

from yiti import api


@api.page("", cache_seconds=5)
def home(ctx: api.PageContext) -> api.Rendered:
    rows = ctx.records.list("gadget", sort=["code"]).rows
    return api.render("shelf/home.html", gadgets=rows, actor=ctx.records.actor.name)


@api.page("gadget/<code>", cache_seconds=5)
def gadget(ctx: api.PageContext) -> api.Rendered:
    rows = ctx.records.list("gadget", filters=[("code", "=", ctx.params["code"])]).rows
    if not rows:
        raise api.NotFound(f"no gadget {ctx.params['code']!r}")
    return api.render("shelf/gadget.html", gadget=rows[0], fields=sorted(rows[0]))


@api.page("fresh")
def fresh(ctx: api.PageContext) -> api.Rendered:
    return api.render("shelf/home.html", gadgets=[], actor=ctx.records.actor.name)


@api.page("mine", auth="user", roles=["Shopper"])
def mine(ctx: api.PageContext) -> api.Rendered:
    return api.render("shelf/mine.html", user=ctx.user)


@api.page("leaky", cache_seconds=5)
def leaky(ctx: api.PageContext) -> api.Rendered:
    return api.render("shelf/mine.html", user="nobody")
