"""The route wrapper's input contract, on a small app built with the real middleware."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import BaseModel, Field

from api.keys import metrics_key, openapi_key, readiness_key, settings_key
from api.middleware import add_response_headers, problem_details, request_context
from api.openapi import build_openapi
from api.params import IataCode, ScheduleDate
from api.routes import ApiRoutes
from foundation.metrics import Metrics
from foundation.models import StrictModel
from foundation.settings import Settings
from tests.problems import assert_problem


class Slice(StrictModel):
    origin: IataCode
    destination: IataCode
    date: ScheduleDate


class TripBody(StrictModel):
    slices: Annotated[list[Slice], Field(min_length=1, max_length=6)]
    adults: Annotated[int, Field(ge=1, le=9)] = 1


class TripEcho(BaseModel):
    origins: list[str]
    first_date: date


routes = ApiRoutes()


@routes.post("/trips", summary="Echo a trip", body=TripBody, response=TripEcho, status=201)
async def create_trip(request: web.Request, body: TripBody) -> TripEcho:
    return TripEcho(origins=[s.origin for s in body.slices], first_date=body.slices[0].date)


@routes.get("/boom", summary="Fails")
async def boom(request: web.Request) -> None:
    raise RuntimeError("secret connection string postgres://user:hunter2@db")


@pytest.fixture
async def api(aiohttp_client: Any) -> TestClient:
    """A bare app with the production middleware and the routes above."""
    app = web.Application(middlewares=[request_context, problem_details], client_max_size=4096)
    app[metrics_key] = Metrics()
    app[settings_key] = Settings(max_body_bytes=4096)
    app[readiness_key] = {}
    app.on_response_prepare.append(add_response_headers)
    routes.add_to(app.router)
    app[openapi_key] = build_openapi(routes.operations, title="t", version="1", description="d")
    return await aiohttp_client(app)


def _trip(**overrides: Any) -> dict[str, Any]:
    today = date.today()
    trip: dict[str, Any] = {
        "slices": [{"origin": "jfk", "destination": "LHR", "date": today.isoformat()}]
    }
    trip.update(overrides)
    return trip


async def test_valid_body_is_parsed_and_response_serialised(api: TestClient) -> None:
    response = await api.post("/trips", json=_trip())
    assert response.status == 201
    assert (await response.json())["origins"] == ["JFK"]


async def test_malformed_json_is_400_naming_the_body(api: TestClient) -> None:
    response = await api.post(
        "/trips", data=b'{"slices": [', headers={"Content-Type": "application/json"}
    )
    body = await assert_problem(response, 400, field="body")
    assert body["type"].endswith("/malformed-body")


async def test_wrong_content_type_is_415(api: TestClient) -> None:
    response = await api.post("/trips", data="slices=1")
    await assert_problem(response, 415, field="header.Content-Type")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_trip(extra=True), "body.extra"),
        (_trip(adults="two"), "body.adults"),
        (_trip(adults=0), "body.adults"),
        (_trip(slices=[]), "body.slices"),
        (
            {"slices": [{"origin": "JFKX", "destination": "LHR", "date": "2026-12-01"}]},
            "body.slices.0.origin",
        ),
        (
            {"slices": [{"origin": "JFK", "destination": "LHR", "date": "1900-01-01"}]},
            "body.slices.0.date",
        ),
        ({"slices": [{"origin": "JFK", "destination": "LHR"}]}, "body.slices.0.date"),
        ([1, 2, 3], "body"),
    ],
)
async def test_invalid_body_is_422_naming_the_field(api: TestClient, body: Any, field: str) -> None:
    problem = await assert_problem(await api.post("/trips", json=body), 422, field=field)
    assert problem["type"].endswith("/validation-error")


async def test_oversized_body_is_413(api: TestClient) -> None:
    response = await api.post("/trips", json=_trip(padding="x" * 10_000))
    await assert_problem(response, 413)


async def test_unexpected_error_is_500_without_leaking_details(api: TestClient) -> None:
    response = await api.get("/boom")
    body = await assert_problem(response, 500)
    assert "hunter2" not in await response.text()
    assert body["detail"] == "Something went wrong on our side."


async def test_openapi_describes_body_and_its_errors(api: TestClient) -> None:
    spec = (await api.get("/openapi.json")).status  # not mounted on this bare app
    assert spec == 404
    doc = build_openapi(routes.operations, title="t", version="1", description="d")
    operation = doc["paths"]["/trips"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TripBody"
    }
    assert set(operation["responses"]) == {"201", "400", "413", "415", "422", "429", "503"}
    assert "Slice" in doc["components"]["schemas"]


def test_route_must_declare_the_inputs_its_handler_takes() -> None:
    table = ApiRoutes()
    with pytest.raises(TypeError, match="declare `query=`"):

        @table.get("/x", summary="x")
        async def handler(request: web.Request, query: TripBody) -> None:
            return None
