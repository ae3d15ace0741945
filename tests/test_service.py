"""Service endpoints and the error contract that every route shares."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from foundation.settings import Settings
from server.app import create_app
from tests.problems import assert_problem


async def test_healthz_answers_ok(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_readyz_reports_every_dependency(client: TestClient) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {
        "background_tasks": True,
        "database": True,
        "change_listener": True,
        "change_listener_lag": True,
    }
    lag = body["details"]["change_listener_lag"]
    assert lag["events"] == 0
    assert lag["cursor"] == lag["released"]


async def test_unknown_route_is_problem_json(client: TestClient) -> None:
    response = await client.get("/v1/nowhere")
    body = await assert_problem(response, 404)
    assert body["instance"] == "/v1/nowhere"


async def test_wrong_method_is_problem_json_with_allow(client: TestClient) -> None:
    response = await client.delete("/healthz")
    body = await assert_problem(response, 405)
    assert "GET" in body["allowed_methods"]
    assert "GET" in response.headers["Allow"]


async def test_every_response_carries_a_request_id(client: TestClient) -> None:
    ok = await client.get("/healthz")
    missing = await client.get("/v1/nowhere")
    assert len(ok.headers["X-Request-ID"]) == 32
    assert ok.headers["X-Request-ID"] != missing.headers["X-Request-ID"]
    assert (await missing.json())["request_id"] == missing.headers["X-Request-ID"]


async def test_incoming_request_id_is_kept_only_when_plain(client: TestClient) -> None:
    kept = await client.get("/healthz", headers={"X-Request-ID": "edge-1234"})
    assert kept.headers["X-Request-ID"] == "edge-1234"
    replaced = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith tab"})
    assert replaced.headers["X-Request-ID"] != "bad id\twith tab"


async def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    await client.get("/v1/flights/999999")
    response = await client.get("/metrics")
    assert response.status == 200
    text = await response.text()
    route = 'route="/v1/flights/{flight_id}"'
    assert f'skybound_http_requests_total{{method="GET",{route},status="404"}} 1.0' in text
    assert "skybound_db_pool_max_connections 4.0" in text


async def test_openapi_documents_every_route(client: TestClient) -> None:
    response = await client.get("/openapi.json")
    spec = await response.json()
    assert spec["openapi"] == "3.1.0"
    for path in ("/v1/flights/{flight_id}", "/v1/airports/{iata}/departures", "/readyz"):
        assert path in spec["paths"]
    flight = spec["paths"]["/v1/flights/{flight_id}"]["get"]
    assert flight["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Flight"
    }
    assert "404" in flight["responses"]
    assert "Flight" in spec["components"]["schemas"]


async def test_docs_page_is_served_with_local_assets(client: TestClient) -> None:
    page = await client.get("/docs/")
    assert page.status == 200
    html = await page.text()
    assert "/openapi.json" in html
    assert "cdn" not in html.lower()
    asset = await client.get("/docs/static/swagger-ui-bundle.js")
    assert asset.status == 200


async def test_openapi_document_is_valid_openapi_3_1(client: TestClient) -> None:
    from openapi_spec_validator import validate

    spec = await (await client.get("/openapi.json")).json()
    validate(spec)  # raises on any violation of the OpenAPI 3.1 schema
    streams = spec["paths"]["/v1/streams/boards/{iata}"]["get"]
    assert "text/event-stream" in streams["responses"]["200"]["content"]


async def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/healthz", "/v1/nowhere"):
        response = await client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_cors_allows_configured_origins_only(aiohttp_client: Any, settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"cors_origins": ["https://app.skybound.test"]}))
    client = await aiohttp_client(app)
    preflight = await client.options(
        "/v1/search",
        headers={
            "Origin": "https://app.skybound.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type, Authorization",
        },
    )
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.skybound.test"
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    simple = await client.get("/healthz", headers={"Origin": "https://app.skybound.test"})
    assert simple.headers["Access-Control-Allow-Origin"] == "https://app.skybound.test"
    assert "X-Request-ID" in simple.headers["Access-Control-Expose-Headers"]
    stranger = await client.get("/healthz", headers={"Origin": "https://evil.test"})
    assert "Access-Control-Allow-Origin" not in stranger.headers
    refused = await client.options(
        "/v1/search",
        headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"},
    )
    await assert_problem(refused, 403)


async def test_cookie_writes_need_origin_and_double_submit_token(client: TestClient) -> None:
    body = {"slices": []}
    cookies = {"Cookie": "session=abc; csrf_token=t0k3n"}
    no_origin = await client.post("/v1/search", json=body, headers=cookies)
    await assert_problem(no_origin, 403)
    foreign = await client.post(
        "/v1/search", json=body, headers={**cookies, "Origin": "https://evil.test"}
    )
    await assert_problem(foreign, 403)
    origin = f"http://{client.host}:{client.port}"
    no_token = await client.post("/v1/search", json=body, headers={**cookies, "Origin": origin})
    await assert_problem(no_token, 403)
    proven = await client.post(
        "/v1/search", json=body,
        headers={**cookies, "Origin": origin, "X-CSRF-Token": "t0k3n"},
    )  # fmt: skip
    assert proven.status == 422  # past the guard, on to validation
    # Reads, and bearer requests, are not affected.
    assert (await client.get("/healthz", headers=cookies)).status == 200
    bearer = await client.post(
        "/v1/search", json=body, headers={**cookies, "Authorization": "Bearer x"}
    )
    assert bearer.status == 422


async def test_client_ip_trusts_only_the_configured_proxy_hops(
    aiohttp_client: Any, settings: Settings
) -> None:
    from aiohttp import web

    from api.middleware import client_ip

    seen: list[str] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append(client_ip(request))
        return web.Response(text="ok")

    for hops in (0, 1):
        app = create_app(settings.model_copy(update={"trusted_proxy_hops": hops}))
        app.router.add_get("/ip", echo)
        client = await aiohttp_client(app)
        # The client claims 6.6.6.6; the one proxy we trust saw it come from 203.0.113.9.
        await client.get("/ip", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    assert seen == ["127.0.0.1", "203.0.113.9"]
