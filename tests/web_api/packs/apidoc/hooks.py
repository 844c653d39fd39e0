"""Endpoints for tests/web_api/test_openapi_more.py: declared schemas, public, GET."""

from yiti import api

NOTE = {"type": "object", "required": ["title"], "additionalProperties": False,
        "properties": {"title": {"type": "string", "minLength": 1, "maxLength": 40},
                       "stars": {"type": "integer", "minimum": 1, "maximum": 5}}}
ANSWER = {"type": "object", "required": ["title", "stars"],
          "properties": {"title": {"type": "string"}, "stars": {"type": "integer"}}}


@api.endpoint("notes/echo", request=NOTE, response=ANSWER, summary="Echo a note")
def echo(ctx: api.EndpointContext) -> dict:
    body = ctx.body_object()
    return {"title": body["title"], "stars": body.get("stars", 3)}


@api.endpoint("notes/search", methods=["GET"],
              request={"type": "object", "properties": {"q": {"type": "string"}}},
              response={"type": "object", "properties": {"q": {"type": ["string", "null"]}}})
def search(ctx: api.EndpointContext) -> dict:
    """Search notes (the docstring's first line is the summary).

    More words for the description.
    """
    return {"q": ctx.args.get("q")}


@api.endpoint("ping", methods=["GET", "POST"], auth="public")
def ping(ctx: api.EndpointContext) -> api.Reply:
    """Anyone may ping."""
    return api.Reply({"pong": True}, 201 if ctx.method == "POST" else 200)
