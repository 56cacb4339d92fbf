"""`GET /api/openapi.json` (OpenAPI 3.1) and `GET /api/openapi-v2.json` (Swagger 2.0 for a
Logic Apps / Power Automate custom connector): anonymous, built from the route table on each
request (DESIGN §13)."""

import json
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from api.openapi import openapi_document
from api.routes import Access, Reply, route
from api.swagger import swagger_document

bp = df.Blueprint()


@route(bp, "GET", "openapi.json", summary="Get the OpenAPI 3.1 document",
       description="This document.", access=Access.ANYONE, visibility="internal",
       responses={200: Reply("The OpenAPI 3.1 document", document=True)})
def get_openapi(req: func.HttpRequest) -> func.HttpResponse:
    return _json(openapi_document())


@route(bp, "GET", "openapi-v2.json", summary="Get the Swagger 2.0 document",
       description="The same operations in Swagger 2.0, for a Power Platform custom "
                   "connector; host and scheme are the ones this request used.",
       access=Access.ANYONE, visibility="internal",
       responses={200: Reply("The Swagger 2.0 document", document=True)})
def get_swagger(req: func.HttpRequest) -> func.HttpResponse:
    url = urlsplit(req.url)
    return _json(swagger_document(url.netloc, url.scheme or "https"))


def _json(document: dict) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(document, ensure_ascii=False), status_code=200,
                             mimetype="application/json", charset="utf-8")
