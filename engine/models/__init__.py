"""Engine tables beside the catalogue, one module per concept; every name is re-exported here."""

from __future__ import annotations

from engine.catalog.models import CATALOG_MODELS
from engine.models.auth import API_KEY_ROLES, ROLE_RANK, ROLES, ApiKey, role_allows
from engine.models.delta import DeltaPending, DeltaState
from engine.models.integrations import DELIVERY_STATUSES, Delivery, Integration
from engine.models.jobs import JOB_STATUSES, Artifact, ExportJob, JobExclusion, JobWarning
from engine.models.notifications import NOTIFICATION_EVENTS, Notification
from engine.models.schedules import SCHEDULE_RUN_STATUSES, Schedule, ScheduleRun
from engine.models.system import Instance, SchemaVersion
from engine.models.templates import Template, TemplateVersion
from engine.models.users import AuditEntry, User

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
    Notification,
    User,
    AuditEntry,
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
    "NOTIFICATION_EVENTS",
    "ROLES",
    "ROLE_RANK",
    "SCHEDULE_RUN_STATUSES",
    "ApiKey",
    "Artifact",
    "AuditEntry",
    "Delivery",
    "DeltaPending",
    "DeltaState",
    "ExportJob",
    "Instance",
    "Integration",
    "JobExclusion",
    "JobWarning",
    "Notification",
    "Schedule",
    "ScheduleRun",
    "SchemaVersion",
    "Template",
    "TemplateVersion",
    "User",
    "role_allows",
]
