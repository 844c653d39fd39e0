"""An endpoint whose schemas take select fields' options (x-yiti-options)."""

from yiti import api

SHIP = {
    "type": "object", "required": ["carrier"], "additionalProperties": False,
    "properties": {
        "carrier": {"type": ["string", "null"], "x-yiti-options": "parcel.carrier",
                    "description": "who carries it"},
        "speed": {"type": "string", "x-yiti-options": "parcel.speed"},
    },
}
SHIPPED = {"type": "object", "properties": {
    "carrier": {"type": ["string", "null"], "x-yiti-options": "parcel.carrier"}}}


@api.endpoint("ship", auth="public", request=SHIP, response=SHIPPED)
def ship(ctx):
    return {"carrier": ctx.body_object()["carrier"]}


@api.endpoint("rates", methods=["GET"], auth="public",
              request={"type": "object", "properties": {
                  "speed": {"type": "string", "x-yiti-options": "parcel.speed"}}})
def rates(ctx):
    return {"speed": ctx.args.get("speed")}
