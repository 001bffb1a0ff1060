# -*- coding: utf8 -*-
# An API Gateway handler: GET /orders/<id> returns the order, POST /orders creates one.
import json
import logging
from decimal import Decimal

logger = logging.getLogger()
logger.setLevel(logging.INFO)

ORDERS = {
    "42": {"id": 42, "item": "coffee beans", "price": Decimal("12.50"), "tags": ["food", "fresh"]},
    "7": {"id": 7, "item": "茶叶", "price": Decimal("8.00"), "tags": ["food"]},
}


def _response(status, body):
    return {
        "isBase64Encoded": False,
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, default=str),
    }


def main_handler(event, context):
    method = event.get("httpMethod")
    path = event.get("path", "")
    logger.info("%s %s", method, path)
    if method == "GET" and path.startswith("/orders/"):
        order = ORDERS.get(path.rsplit("/", 1)[-1])
        if order is None:
            return _response(404, {"error": "no such order"})
        return _response(200, order)
    if method == "POST" and path == "/orders":
        payload = json.loads(event.get("body") or "{}")
        if "item" not in payload:
            raise ValueError('missing "item" in the request body')
        return _response(201, {"id": 43, "item": payload["item"], "created": "2019-02-21T11:49:00Z"})
    return _response(405, {"error": "method not allowed"})


def price_of(event, context):
    """A returned Decimal reaches the caller as its string (SCF's serializer, not json's)."""
    return ORDERS[str(event["id"])]["price"]


def order_with_price(event, context):
    """A Decimal nested in the returned dict is not serializable in the cloud: the call fails."""
    return {"id": event["id"], "price": ORDERS[str(event["id"])]["price"]}
