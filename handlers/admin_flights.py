"""Flight operations for staff with the `ops` role, and the audit log for admins."""

from __future__ import annotations

import uuid
from typing import Annotated

from aiohttp import web
from pydantic import Field, StringConstraints

from api.auth import staff_actor
from api.keys import pool_key
from api.preconditions import ETAG, IF_MATCH, IfMatchRequired, expected_versions
from api.routes import ApiRoutes
from domain.admin import flights as ops
from domain.admin.audit import AuditPage, Entity, read_audit
from domain.admin.disruptions import DisruptionList, DisruptionQuery, disrupted_flights
from domain.flights import Flight
from domain.identity.tokens import Claims
from foundation.errors import FlightNotFound
from foundation.models import StrictModel
from handlers.flights import FlightPath, flight_response

routes = ApiRoutes()

OPS = ("ops",)
TAGS = ["admin: flights"]
# Every single-flight write: the flight, a version check, and the usual input errors.
WRITE_ERRORS = [FlightNotFound, ops.StaleFlightVersion, IfMatchRequired, ops.FlightStateConflict]


@routes.post(
    "/v1/admin/flights",
    summary="Add a leg to the schedule (role: ops)",
    body=ops.NewLeg,
    response=Flight,
    status=201,
    errors=[ops.FlightExists],
    roles=OPS,
    tags=TAGS,
    response_headers=[ETAG, ("Location", "The new flight.")],
)
async def create_flight(request: web.Request, body: ops.NewLeg, user: Claims) -> web.Response:
    """The leg is announced on its boards (event `flight.created`)."""
    flight = await ops.create_leg(request.app[pool_key], staff_actor(request, user), body)
    response = flight_response(flight, status=201)
    response.headers["Location"] = f"/v1/flights/{flight.id}"
    return response


@routes.patch(
    "/v1/admin/flights/{flight_id}/schedule",
    summary="Retime a leg or change its aircraft (role: ops)",
    path_params=FlightPath,
    body=ops.ScheduleEdit,
    response=Flight,
    errors=WRITE_ERRORS,
    roles=OPS,
    tags=TAGS,
    headers=[IF_MATCH],
    response_headers=[ETAG],
)
async def reschedule_flight(
    request: web.Request, path: FlightPath, body: ops.ScheduleEdit, user: Claims
) -> web.Response:
    """Only while the flight is `scheduled`; the leg keeps its service date."""
    versions = expected_versions(request)
    flight = await ops.edit_schedule(request.app[pool_key], staff_actor(request, user),
                                     path.flight_id, versions, body)  # fmt: skip
    return flight_response(flight)


@routes.post(
    "/v1/admin/flights/{flight_id}/delay",
    summary="Announce a delay with new estimated times (role: ops)",
    path_params=FlightPath,
    body=ops.DelayNotice,
    response=Flight,
    errors=WRITE_ERRORS,
    roles=OPS,
    tags=TAGS,
    headers=[IF_MATCH],
    response_headers=[ETAG],
)
async def delay_flight(
    request: web.Request, path: FlightPath, body: ops.DelayNotice, user: Claims
) -> web.Response:
    """Before departure only (`scheduled` or `boarding`)."""
    versions = expected_versions(request)
    flight = await ops.announce_delay(request.app[pool_key], staff_actor(request, user),
                                      path.flight_id, versions, body)  # fmt: skip
    return flight_response(flight)


@routes.patch(
    "/v1/admin/flights/{flight_id}/stands",
    summary="Change terminal, gate or baggage belt (role: ops)",
    path_params=FlightPath,
    body=ops.StandChange,
    response=Flight,
    errors=WRITE_ERRORS,
    roles=OPS,
    tags=TAGS,
    headers=[IF_MATCH],
    response_headers=[ETAG],
)
async def change_flight_stands(
    request: web.Request, path: FlightPath, body: ops.StandChange, user: Claims
) -> web.Response:
    versions = expected_versions(request)
    flight = await ops.change_stands(request.app[pool_key], staff_actor(request, user),
                                     path.flight_id, versions, body)  # fmt: skip
    return flight_response(flight)


@routes.post(
    "/v1/admin/flights/{flight_id}/cancel",
    summary="Cancel a flight, with a reason (role: ops)",
    path_params=FlightPath,
    body=ops.Cancellation,
    response=Flight,
    errors=WRITE_ERRORS,
    roles=OPS,
    tags=TAGS,
    headers=[IF_MATCH],
    response_headers=[ETAG],
)
async def cancel_flight(
    request: web.Request, path: FlightPath, body: ops.Cancellation, user: Claims
) -> web.Response:
    """Before departure only. Travellers booked on it hear of it on their own stream."""
    versions = expected_versions(request)
    flight = await ops.cancel_flight(request.app[pool_key], staff_actor(request, user),
                                     path.flight_id, versions, body)  # fmt: skip
    return flight_response(flight)


@routes.post(
    "/v1/admin/flights/{flight_id}/divert",
    summary="Divert a flight to another airport, with a reason (role: ops)",
    path_params=FlightPath,
    body=ops.Diversion,
    response=Flight,
    errors=WRITE_ERRORS,
    roles=OPS,
    tags=TAGS,
    headers=[IF_MATCH],
    response_headers=[ETAG],
)
async def divert_flight(
    request: web.Request, path: FlightPath, body: ops.Diversion, user: Claims
) -> web.Response:
    """Until it has landed. The flight leaves the old destination's arrivals board and
    appears on the new one's."""
    versions = expected_versions(request)
    flight = await ops.divert_flight(request.app[pool_key], staff_actor(request, user),
                                     path.flight_id, versions, body)  # fmt: skip
    return flight_response(flight)


@routes.post(
    "/v1/admin/flights/bulk-delay",
    summary="Delay every departure of an airport in a window by N minutes (role: ops)",
    body=ops.BulkDelay,
    response=ops.BulkDelayResult,
    roles=OPS,
    tags=TAGS,
)
async def bulk_delay_flights(
    request: web.Request, body: ops.BulkDelay, user: Claims
) -> ops.BulkDelayResult:
    """Flights still `scheduled` or `boarding`, all in one transaction. No If-Match: the
    action is defined by the window, not by versions; each flight's new version is in the
    answer. At most 500 flights and a 24-hour window per call (422 otherwise)."""
    return await ops.bulk_delay(request.app[pool_key], staff_actor(request, user), body)


# Audit -----------------------------------------------------------------------------------


class AuditQuery(StrictModel):
    entity: Entity | None = None
    entity_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    actor: uuid.UUID | None = None
    action: Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z_]+$")] | None = None
    cursor: Annotated[str, StringConstraints(max_length=32)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50


@routes.get(
    "/v1/admin/audit",
    summary="The audit log of staff actions, newest first (role: admin)",
    query=AuditQuery,
    response=AuditPage,
    roles=("admin",),
    tags=["admin: audit"],
)
async def audit_log(request: web.Request, query: AuditQuery, user: Claims) -> AuditPage:
    """Append-only: no endpoint changes or removes an entry."""
    return await read_audit(request.app[pool_key], entity=query.entity, entity_id=query.entity_id,
                            actor=query.actor, action=query.action, cursor=query.cursor,
                            limit=query.limit)  # fmt: skip


@routes.get(
    "/v1/admin/flights/disruptions",
    summary="A day's delayed, cancelled, diverted and re-gated legs (role: ops)",
    query=DisruptionQuery,
    response=DisruptionList,
    roles=OPS,
    tags=TAGS,
)
async def flight_disruptions(
    request: web.Request, query: DisruptionQuery, user: Claims
) -> DisruptionList:
    """Legs of one service date (today in UTC unless `date` is given) that are delayed
    (estimated departure after the schedule), cancelled, diverted, or whose gate staff
    changed (from the audit log); each with its version for `If-Match`. At most 500."""
    return await disrupted_flights(request.app[pool_key], query)
