"""Engine tables beside the catalogue, one module per concept; every name is re-exported here."""

from __future__ import annotations

from engine.catalog.models import CATALOG_MODELS
from engine.models.auth import API_KEY_ROLES, ApiKey
from engine.models.delta import DeltaPending, DeltaState
from engine.models.integrations import DELIVERY_STATUSES, Delivery, Integration
from engine.models.jobs import JOB_STATUSES, Artifact, ExportJob, JobExclusion, JobWarning
from engine.models.schedules import SCHEDULE_RUN_STATUSES, Schedule, ScheduleRun
from engine.models.system import Instance, SchemaVersion
from engine.models.templates import Template, TemplateVersion

ENGINE_MODELS = [
    SchemaVersion,
    Template,
    TemplateVersion,
    ExportJob,
    Artifact,
    JobExclusion,
    JobWarning,
    ApiKey,
    DeltaState,
    DeltaPending,
    Instance,
    Integration,
    Delivery,
    Schedule,
    ScheduleRun,
]
ALL_MODELS = [*CATALOG_MODELS, *ENGINE_MODELS]

__all__ = [
    "ALL_MODELS",
    "API_KEY_ROLES",
    "DELIVERY_STATUSES",
    "ENGINE_MODELS",
    "JOB_STATUSES",
    "SCHEDULE_RUN_STATUSES",
    "ApiKey",
    "Artifact",
    "Delivery",
    "DeltaPending",
    "DeltaState",
    "ExportJob",
    "Instance",
    "Integration",
    "JobExclusion",
    "JobWarning",
    "Schedule",
    "ScheduleRun",
    "SchemaVersion",
    "Template",
    "TemplateVersion",
]
