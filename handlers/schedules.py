"""Schedule administration: SSIM uploads run as jobs, and schedule exports streamed."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from aiohttp import BodyPartReader, web
from pydantic import Field

from api.keys import pool_key, schedule_jobs_key
from api.routes import ApiRoutes
from domain.identity.tokens import Claims
from domain.schedules import export_csv, export_jsonl, export_ssim
from domain.schedules.jobs import MAX_FILE_BYTES, ScheduleJob, ScheduleJobNotFound
from foundation.errors import FieldError, TooLarge, UnsupportedFormat, ValidationFailed
from foundation.models import StrictModel
from handlers import examples

routes = ApiRoutes()

OPS_ROLES = ("ops", "admin")
# The longest range one export may cover.
MAX_EXPORT_DAYS = 400
_CONTENT_TYPES = {
    "ssim": "text/plain; charset=us-ascii",
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
}
_READ_CHUNK = 1 << 16


class ScheduleFileTooLarge(TooLarge):
    slug = "schedule-file-too-large"
    title = "Schedule file too large"

    def __init__(self) -> None:
        super().__init__(f"A schedule file may be at most {MAX_FILE_BYTES} bytes.",
                         limit=MAX_FILE_BYTES)  # fmt: skip


class NotMultipart(UnsupportedFormat):
    slug = "multipart-required"
    title = "Send the file as multipart/form-data"

    def __init__(self, content_type: str) -> None:
        super().__init__(
            f"Upload the SSIM file as multipart/form-data, not '{content_type or 'nothing'}'.",
            errors=[{"field": "header.Content-Type", "message": "Must be multipart/form-data."}],
        )


class ImportOptions(StrictModel):
    dry_run: bool = Field(default=False, description="Check and report; apply nothing.")
    cancel_missing: bool = Field(
        default=False,
        description="Cancel legs of the file's carriers and periods that the file no longer "
        "has (legs are never deleted).",
    )


class JobPath(StrictModel):
    job_id: uuid.UUID


class ExportQuery(StrictModel):
    carrier: Annotated[
        str | None, Field(pattern=r"^[A-Z0-9]{2}$", description="IATA airline code.")
    ] = None
    first: Annotated[date, Field(alias="from", description="First service date.")]
    last: Annotated[date, Field(alias="to", description="Last service date.")]
    format: Literal["ssim", "csv", "jsonl"] = Field(
        default="ssim", description="SSIM Chapter 7 (default), CSV or JSON Lines."
    )


_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "The SSIM Chapter 7 file (200-byte records).",
                    }
                },
            }
        }
    },
}


async def _uploaded_file(request: web.Request) -> tuple[bytes, str | None]:
    if request.content_type != "multipart/form-data":
        raise NotMultipart(request.content_type)
    if (request.content_length or 0) > MAX_FILE_BYTES + (1 << 16):
        raise ScheduleFileTooLarge()
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name != "file":
            continue
        data = bytearray()
        while chunk := await part.read_chunk(_READ_CHUNK):
            data += chunk
            if len(data) > MAX_FILE_BYTES:
                raise ScheduleFileTooLarge()
        if data:
            return bytes(data), part.filename
        break
    raise ValidationFailed([FieldError("body.file", "Attach the SSIM file as the part 'file'.",
                                       "missing")])  # fmt: skip


@routes.get(
    "/v1/admin/schedules/export",
    summary="Export flights of a date range: SSIM, CSV or JSON Lines (streamed)",
    query=ExportQuery,
    response=str,
    response_content_type="text/plain",
    examples={200: examples.SSIM_EXPORT},
    roles=OPS_ROLES,
    tags=["admin"],
)
async def export_schedule(
    request: web.Request, query: ExportQuery, user: Claims
) -> web.StreamResponse:
    """The legs of the range (cancelled legs are not exported), streamed as they are read.
    SSIM states them as periods with days of operation, in local time with UTC
    variations; CSV and JSON Lines give one leg per row with instants in UTC."""
    if query.last < query.first:
        raise ValidationFailed([FieldError("query.to", "Must not be before 'from'.", "range")])
    if (query.last - query.first).days >= MAX_EXPORT_DAYS:
        raise ValidationFailed([FieldError(
            "query.to", f"Export at most {MAX_EXPORT_DAYS} days at a time.", "range")])  # fmt: skip
    response = web.StreamResponse(
        headers={
            "Content-Type": _CONTENT_TYPES[query.format],
            "Content-Disposition": f'attachment; filename="schedule-{query.first}-{query.last}'
            f'.{query.format}"',
        }
    )
    async with request.app[pool_key].acquire() as conn:
        if query.format == "ssim":
            chunks = export_ssim(conn, carrier=query.carrier, first=query.first, last=query.last)
        elif query.format == "csv":
            chunks = export_csv(conn, first=query.first, last=query.last, carrier=query.carrier)
        else:
            chunks = export_jsonl(conn, first=query.first, last=query.last, carrier=query.carrier)
        await response.prepare(request)
        async for chunk in chunks:
            await response.write(chunk.encode())
    await response.write_eof()
    return response


@routes.post(
    "/v1/admin/schedules",
    summary="Import an SSIM schedule (asynchronous: answers with the job)",
    query=ImportOptions,
    response=ScheduleJob,
    status=202,
    roles=OPS_ROLES,
    request_body=_UPLOAD_BODY,
    examples={"request": examples.SSIM_UPLOAD},
    errors=[ScheduleFileTooLarge, NotMultipart],
    tags=["admin"],
)
async def import_schedule_file(
    request: web.Request, query: ImportOptions, user: Claims
) -> web.Response:
    """The file is queued and imported by one worker of the fleet at a time; poll the job
    (`Location`) for its stage and legs done, then its report or its errors by record
    number and SSIM field. Nothing is applied unless all of the file is."""
    data, name = await _uploaded_file(request)
    job = await request.app[schedule_jobs_key].submit(
        data, file_name=name, requested_by=user.user_id, dry_run=query.dry_run,
        cancel_missing=query.cancel_missing,
    )  # fmt: skip
    return web.Response(
        body=job.__pydantic_serializer__.to_json(job),
        status=202,
        content_type="application/json",
        headers={"Location": f"/v1/admin/schedules/{job.id}"},
    )


@routes.get(
    "/v1/admin/schedules/{job_id}",
    summary="A schedule import: its progress, then its report or errors",
    path_params=JobPath,
    response=ScheduleJob,
    roles=OPS_ROLES,
    errors=[ScheduleJobNotFound],
    tags=["admin"],
)
async def schedule_import_job(request: web.Request, path: JobPath, user: Claims) -> ScheduleJob:
    return await request.app[schedule_jobs_key].get(path.job_id)
