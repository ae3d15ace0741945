"""Examples for the OpenAPI document of this package's models: real answers of a server
(ids and times as it gave them)."""

from __future__ import annotations

from typing import Any

SCHEDULE_JOB: dict[str, Any] = {
    "id": "dea5893b-ff58-4f26-bd3e-571b411ad3a3",
    "status": "succeeded",
    "stage": None,
    "legs_done": 0,
    "dry_run": True,
    "cancel_missing": False,
    "file_name": "winter.ssim",
    "file_bytes": 804,
    "created_at": "2026-12-02T11:28:46.298408Z",
    "started_at": "2026-12-02T11:28:46.306881Z",
    "finished_at": "2026-12-02T11:28:46.377793Z",
    "report": {
        "legs": 1,
        "dry_run": True,
        "missing": 0,
        "records": 4,
        "seconds": 0.068533515001036,
        "updated": 0,
        "inserted": 0,
        "bulk_load": False,
        "cancelled": 0,
        "unchanged": 1,
        "stage_seconds": {"apply": 0.039, "check": 0.001, "parse": 0.0, "stage": 0.021},
        "missing_sample": [],
        "offset_mismatches": [],
        "missing_with_bookings": 0,
        "not_updated_operating": 0,
    },
    "errors": None,
}
