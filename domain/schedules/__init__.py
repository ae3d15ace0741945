"""Schedules: IATA SSIM Chapter 7 import and export, and flat flight exports."""

from __future__ import annotations

from domain.schedules.exporter import export_csv, export_jsonl, export_ssim
from domain.schedules.importer import ImportReport, ScheduleRejected, import_schedule

__all__ = [
    "ImportReport",
    "ScheduleRejected",
    "export_csv",
    "export_jsonl",
    "export_ssim",
    "import_schedule",
]
