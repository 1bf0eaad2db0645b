"""Python client of the PM Exports gRPC API: `ExportsClient` (typed) over the generated `pm_exports_client.v1`."""

from pm_exports_client.client import (
    Artifact,
    DownloadError,
    ExportsClient,
    Job,
    JobEvent,
    JobPage,
    Preview,
    Rejection,
    TemplateInfo,
    TemplateVersionInfo,
    UpsertSummary,
)
from pm_exports_client.schedules import FireTime, ScheduleInfo, ScheduleRunInfo

__all__ = [
    "Artifact",
    "DownloadError",
    "ExportsClient",
    "FireTime",
    "Job",
    "JobEvent",
    "JobPage",
    "Preview",
    "Rejection",
    "ScheduleInfo",
    "ScheduleRunInfo",
    "TemplateInfo",
    "TemplateVersionInfo",
    "UpsertSummary",
]
