import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import auth_pb2 as _auth_pb2
from . import notifications_pb2 as _notifications_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    JOB_STATUS_QUEUED: _ClassVar[JobStatus]
    JOB_STATUS_RUNNING: _ClassVar[JobStatus]
    JOB_STATUS_SUCCEEDED: _ClassVar[JobStatus]
    JOB_STATUS_FAILED: _ClassVar[JobStatus]
    JOB_STATUS_CANCELLED: _ClassVar[JobStatus]
    JOB_STATUS_PARTIAL: _ClassVar[JobStatus]
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_QUEUED: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_SUCCEEDED: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_CANCELLED: JobStatus
JOB_STATUS_PARTIAL: JobStatus

class ExportDefinition(_message.Message):
    __slots__ = ("template", "format", "selection", "columns", "fields", "options", "file_name", "deliveries", "notifications")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    template: str
    format: str
    selection: Selection
    columns: _containers.RepeatedCompositeFieldContainer[Column]
    fields: _containers.RepeatedScalarFieldContainer[str]
    options: _struct_pb2.Struct
    file_name: str
    deliveries: _containers.RepeatedCompositeFieldContainer[DeliveryTarget]
    notifications: _notifications_pb2.NotificationPolicy
    def __init__(self, template: _Optional[str] = ..., format: _Optional[str] = ..., selection: _Optional[_Union[Selection, _Mapping]] = ..., columns: _Optional[_Iterable[_Union[Column, _Mapping]]] = ..., fields: _Optional[_Iterable[str]] = ..., options: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., file_name: _Optional[str] = ..., deliveries: _Optional[_Iterable[_Union[DeliveryTarget, _Mapping]]] = ..., notifications: _Optional[_Union[_notifications_pb2.NotificationPolicy, _Mapping]] = ...) -> None: ...

class DeliveryTarget(_message.Message):
    __slots__ = ("integration", "path", "gate")
    INTEGRATION_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    GATE_FIELD_NUMBER: _ClassVar[int]
    integration: str
    path: str
    gate: DeliveryGate
    def __init__(self, integration: _Optional[str] = ..., path: _Optional[str] = ..., gate: _Optional[_Union[DeliveryGate, _Mapping]] = ...) -> None: ...

class DeliveryGate(_message.Message):
    __slots__ = ("max_excluded_percent", "max_drop_percent")
    MAX_EXCLUDED_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MAX_DROP_PERCENT_FIELD_NUMBER: _ClassVar[int]
    max_excluded_percent: float
    max_drop_percent: float
    def __init__(self, max_excluded_percent: _Optional[float] = ..., max_drop_percent: _Optional[float] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("id", "integration", "target", "status", "attempts", "last_error", "held_reason", "receipts", "task_job_id", "gate")
    ID_FIELD_NUMBER: _ClassVar[int]
    INTEGRATION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    HELD_REASON_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    TASK_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    GATE_FIELD_NUMBER: _ClassVar[int]
    id: int
    integration: str
    target: str
    status: str
    attempts: int
    last_error: str
    held_reason: str
    receipts: _containers.RepeatedCompositeFieldContainer[DeliveryReceipt]
    task_job_id: int
    gate: DeliveryGate
    def __init__(self, id: _Optional[int] = ..., integration: _Optional[str] = ..., target: _Optional[str] = ..., status: _Optional[str] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., held_reason: _Optional[str] = ..., receipts: _Optional[_Iterable[_Union[DeliveryReceipt, _Mapping]]] = ..., task_job_id: _Optional[int] = ..., gate: _Optional[_Union[DeliveryGate, _Mapping]] = ...) -> None: ...

class DeliveryReceipt(_message.Message):
    __slots__ = ("remote", "size", "checksum", "url")
    REMOTE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    remote: str
    size: int
    checksum: str
    url: str
    def __init__(self, remote: _Optional[str] = ..., size: _Optional[int] = ..., checksum: _Optional[str] = ..., url: _Optional[str] = ...) -> None: ...

class RetryDeliveryRequest(_message.Message):
    __slots__ = ("delivery_id",)
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    delivery_id: int
    def __init__(self, delivery_id: _Optional[int] = ...) -> None: ...

class ReleaseDeliveryRequest(_message.Message):
    __slots__ = ("delivery_id",)
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    delivery_id: int
    def __init__(self, delivery_id: _Optional[int] = ...) -> None: ...

class GetArtifactLinkRequest(_message.Message):
    __slots__ = ("job_id", "artifact_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    artifact_id: int
    def __init__(self, job_id: _Optional[int] = ..., artifact_id: _Optional[int] = ...) -> None: ...

class ArtifactLink(_message.Message):
    __slots__ = ("url", "expires_at")
    URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    url: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, url: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Selection(_message.Message):
    __slots__ = ("statuses", "categories", "category_ids", "suppliers", "ids", "skus", "eans", "brands", "tags", "stock_min", "stock_max", "price_min", "price_max", "has_images", "has_price", "has_ean", "completeness_min", "updated_since")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_IDS_FIELD_NUMBER: _ClassVar[int]
    SUPPLIERS_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    SKUS_FIELD_NUMBER: _ClassVar[int]
    EANS_FIELD_NUMBER: _ClassVar[int]
    BRANDS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    STOCK_MIN_FIELD_NUMBER: _ClassVar[int]
    STOCK_MAX_FIELD_NUMBER: _ClassVar[int]
    PRICE_MIN_FIELD_NUMBER: _ClassVar[int]
    PRICE_MAX_FIELD_NUMBER: _ClassVar[int]
    HAS_IMAGES_FIELD_NUMBER: _ClassVar[int]
    HAS_PRICE_FIELD_NUMBER: _ClassVar[int]
    HAS_EAN_FIELD_NUMBER: _ClassVar[int]
    COMPLETENESS_MIN_FIELD_NUMBER: _ClassVar[int]
    UPDATED_SINCE_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[str]
    categories: _containers.RepeatedScalarFieldContainer[str]
    category_ids: _containers.RepeatedScalarFieldContainer[int]
    suppliers: _containers.RepeatedScalarFieldContainer[str]
    ids: _containers.RepeatedScalarFieldContainer[int]
    skus: _containers.RepeatedScalarFieldContainer[str]
    eans: _containers.RepeatedScalarFieldContainer[str]
    brands: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    stock_min: int
    stock_max: int
    price_min: str
    price_max: str
    has_images: bool
    has_price: bool
    has_ean: bool
    completeness_min: int
    updated_since: _timestamp_pb2.Timestamp
    def __init__(self, statuses: _Optional[_Iterable[str]] = ..., categories: _Optional[_Iterable[str]] = ..., category_ids: _Optional[_Iterable[int]] = ..., suppliers: _Optional[_Iterable[str]] = ..., ids: _Optional[_Iterable[int]] = ..., skus: _Optional[_Iterable[str]] = ..., eans: _Optional[_Iterable[str]] = ..., brands: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ..., stock_min: _Optional[int] = ..., stock_max: _Optional[int] = ..., price_min: _Optional[str] = ..., price_max: _Optional[str] = ..., has_images: _Optional[bool] = ..., has_price: _Optional[bool] = ..., has_ean: _Optional[bool] = ..., completeness_min: _Optional[int] = ..., updated_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Column(_message.Message):
    __slots__ = ("header", "source", "literal", "pattern", "literal_value", "transforms", "on")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LITERAL_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    LITERAL_VALUE_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMS_FIELD_NUMBER: _ClassVar[int]
    ON_FIELD_NUMBER: _ClassVar[int]
    header: str
    source: str
    literal: str
    pattern: str
    literal_value: _struct_pb2.Value
    transforms: _containers.RepeatedCompositeFieldContainer[Transform]
    on: _struct_pb2.Value
    def __init__(self, header: _Optional[str] = ..., source: _Optional[str] = ..., literal: _Optional[str] = ..., pattern: _Optional[str] = ..., literal_value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., transforms: _Optional[_Iterable[_Union[Transform, _Mapping]]] = ..., on: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class Transform(_message.Message):
    __slots__ = ("name", "args")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    name: str
    args: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RunExportRequest(_message.Message):
    __slots__ = ("export", "background")
    EXPORT_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_FIELD_NUMBER: _ClassVar[int]
    export: ExportDefinition
    background: bool
    def __init__(self, export: _Optional[_Union[ExportDefinition, _Mapping]] = ..., background: _Optional[bool] = ...) -> None: ...

class CreateExportRequest(_message.Message):
    __slots__ = ("export", "background")
    EXPORT_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_FIELD_NUMBER: _ClassVar[int]
    export: ExportDefinition
    background: bool
    def __init__(self, export: _Optional[_Union[ExportDefinition, _Mapping]] = ..., background: _Optional[bool] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("id", "name", "format", "content_type", "rows", "size", "sha256", "created_at", "expires_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    format: str
    content_type: str
    rows: int
    size: int
    sha256: str
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., format: _Optional[str] = ..., content_type: _Optional[str] = ..., rows: _Optional[int] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "status", "phase", "template", "template_version", "requested_by", "total", "processed", "exported", "excluded", "failed", "error", "created_at", "started_at", "finished_at", "artifacts", "report", "spec", "excluded_by_rule", "warnings", "deliveries", "schedule", "due_at")
    class ExcludedByRuleEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_FIELD_NUMBER: _ClassVar[int]
    EXPORTED_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_BY_RULE_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    status: JobStatus
    phase: str
    template: str
    template_version: int
    requested_by: str
    total: int
    processed: int
    exported: int
    excluded: int
    failed: int
    error: str
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    report: _struct_pb2.Struct
    spec: _struct_pb2.Struct
    excluded_by_rule: _containers.ScalarMap[str, int]
    warnings: int
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    schedule: str
    due_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., status: _Optional[_Union[JobStatus, str]] = ..., phase: _Optional[str] = ..., template: _Optional[str] = ..., template_version: _Optional[int] = ..., requested_by: _Optional[str] = ..., total: _Optional[int] = ..., processed: _Optional[int] = ..., exported: _Optional[int] = ..., excluded: _Optional[int] = ..., failed: _Optional[int] = ..., error: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ..., report: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., spec: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., excluded_by_rule: _Optional[_Mapping[str, int]] = ..., warnings: _Optional[int] = ..., deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ..., schedule: _Optional[str] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("seq", "job_id", "time", "status", "phase", "total", "processed", "exported", "excluded", "failed", "rate", "eta_seconds", "message", "artifacts")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_FIELD_NUMBER: _ClassVar[int]
    EXPORTED_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    seq: int
    job_id: int
    time: _timestamp_pb2.Timestamp
    status: JobStatus
    phase: str
    total: int
    processed: int
    exported: int
    excluded: int
    failed: int
    rate: float
    eta_seconds: float
    message: str
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    def __init__(self, seq: _Optional[int] = ..., job_id: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[JobStatus, str]] = ..., phase: _Optional[str] = ..., total: _Optional[int] = ..., processed: _Optional[int] = ..., exported: _Optional[int] = ..., excluded: _Optional[int] = ..., failed: _Optional[int] = ..., rate: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., message: _Optional[str] = ..., artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id", "after_seq")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    after_seq: int
    def __init__(self, job_id: _Optional[int] = ..., after_seq: _Optional[int] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    def __init__(self, job_id: _Optional[int] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("statuses", "template", "requested_by", "created_after", "created_before", "page_size", "page_token", "schedule")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[JobStatus]
    template: str
    requested_by: str
    created_after: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    schedule: str
    def __init__(self, statuses: _Optional[_Iterable[_Union[JobStatus, str]]] = ..., template: _Optional[str] = ..., requested_by: _Optional[str] = ..., created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., schedule: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    def __init__(self, job_id: _Optional[int] = ...) -> None: ...

class RetryJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    def __init__(self, job_id: _Optional[int] = ...) -> None: ...

class DownloadArtifactRequest(_message.Message):
    __slots__ = ("job_id", "artifact_id", "name", "offset")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    artifact_id: int
    name: str
    offset: int
    def __init__(self, job_id: _Optional[int] = ..., artifact_id: _Optional[int] = ..., name: _Optional[str] = ..., offset: _Optional[int] = ...) -> None: ...

class DownloadArtifactResponse(_message.Message):
    __slots__ = ("info", "chunk")
    INFO_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    info: Artifact
    chunk: bytes
    def __init__(self, info: _Optional[_Union[Artifact, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class PreviewExportRequest(_message.Message):
    __slots__ = ("export", "limit")
    EXPORT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    export: ExportDefinition
    limit: int
    def __init__(self, export: _Optional[_Union[ExportDefinition, _Mapping]] = ..., limit: _Optional[int] = ...) -> None: ...

class PreviewRow(_message.Message):
    __slots__ = ("cells",)
    CELLS_FIELD_NUMBER: _ClassVar[int]
    cells: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cells: _Optional[_Iterable[str]] = ...) -> None: ...

class Exclusion(_message.Message):
    __slots__ = ("product_id", "sku", "ean", "rule", "message")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    EAN_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    product_id: int
    sku: str
    ean: str
    rule: str
    message: str
    def __init__(self, product_id: _Optional[int] = ..., sku: _Optional[str] = ..., ean: _Optional[str] = ..., rule: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class PreviewExportResponse(_message.Message):
    __slots__ = ("template", "format", "headers", "rows", "total", "excluded", "excluded_by_rule", "incomplete")
    class ExcludedByRuleEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_BY_RULE_FIELD_NUMBER: _ClassVar[int]
    INCOMPLETE_FIELD_NUMBER: _ClassVar[int]
    template: str
    format: str
    headers: _containers.RepeatedScalarFieldContainer[str]
    rows: _containers.RepeatedCompositeFieldContainer[PreviewRow]
    total: int
    excluded: _containers.RepeatedCompositeFieldContainer[Exclusion]
    excluded_by_rule: _containers.ScalarMap[str, int]
    incomplete: str
    def __init__(self, template: _Optional[str] = ..., format: _Optional[str] = ..., headers: _Optional[_Iterable[str]] = ..., rows: _Optional[_Iterable[_Union[PreviewRow, _Mapping]]] = ..., total: _Optional[int] = ..., excluded: _Optional[_Iterable[_Union[Exclusion, _Mapping]]] = ..., excluded_by_rule: _Optional[_Mapping[str, int]] = ..., incomplete: _Optional[str] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ("page_token",)
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_token: str
    def __init__(self, page_token: _Optional[str] = ...) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates", "next_page_token")
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[Template]
    next_page_token: str
    def __init__(self, templates: _Optional[_Iterable[_Union[Template, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetTemplateRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class TemplateSpec(_message.Message):
    __slots__ = ("format", "rows", "selection", "columns", "rules", "options", "file_name", "delta", "images", "mappings", "notifications")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    format: str
    rows: str
    selection: Selection
    columns: _containers.RepeatedCompositeFieldContainer[Column]
    rules: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    options: _struct_pb2.Struct
    file_name: str
    delta: bool
    images: _struct_pb2.Struct
    mappings: _struct_pb2.Struct
    notifications: _notifications_pb2.NotificationPolicy
    def __init__(self, format: _Optional[str] = ..., rows: _Optional[str] = ..., selection: _Optional[_Union[Selection, _Mapping]] = ..., columns: _Optional[_Iterable[_Union[Column, _Mapping]]] = ..., rules: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., options: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., file_name: _Optional[str] = ..., delta: _Optional[bool] = ..., images: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., mappings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., notifications: _Optional[_Union[_notifications_pb2.NotificationPolicy, _Mapping]] = ...) -> None: ...

class ListTemplateVersionsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class TemplateVersion(_message.Message):
    __slots__ = ("version", "created_at", "format", "columns")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    version: int
    created_at: _timestamp_pb2.Timestamp
    format: str
    columns: int
    def __init__(self, version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., format: _Optional[str] = ..., columns: _Optional[int] = ...) -> None: ...

class ListTemplateVersionsResponse(_message.Message):
    __slots__ = ("versions",)
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[TemplateVersion]
    def __init__(self, versions: _Optional[_Iterable[_Union[TemplateVersion, _Mapping]]] = ...) -> None: ...

class CreateTemplateRequest(_message.Message):
    __slots__ = ("name", "description", "spec")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    spec: TemplateSpec
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., spec: _Optional[_Union[TemplateSpec, _Mapping]] = ...) -> None: ...

class UpdateTemplateRequest(_message.Message):
    __slots__ = ("name", "spec", "description", "new_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    NEW_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    spec: TemplateSpec
    description: str
    new_name: str
    def __init__(self, name: _Optional[str] = ..., spec: _Optional[_Union[TemplateSpec, _Mapping]] = ..., description: _Optional[str] = ..., new_name: _Optional[str] = ...) -> None: ...

class CopyTemplateRequest(_message.Message):
    __slots__ = ("name", "new_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NEW_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    new_name: str
    def __init__(self, name: _Optional[str] = ..., new_name: _Optional[str] = ...) -> None: ...

class DeleteTemplateRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteTemplateResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DownloadReportRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    def __init__(self, job_id: _Optional[int] = ...) -> None: ...

class ReportInfo(_message.Message):
    __slots__ = ("job_id", "name", "content_type")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    name: str
    content_type: str
    def __init__(self, job_id: _Optional[int] = ..., name: _Optional[str] = ..., content_type: _Optional[str] = ...) -> None: ...

class DownloadReportResponse(_message.Message):
    __slots__ = ("info", "chunk")
    INFO_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    info: ReportInfo
    chunk: bytes
    def __init__(self, info: _Optional[_Union[ReportInfo, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class Template(_message.Message):
    __slots__ = ("name", "description", "format", "version", "predefined", "created_at", "updated_at", "columns", "selection", "options", "rules", "file_name", "spec")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PREDEFINED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    format: str
    version: int
    predefined: bool
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    columns: _containers.RepeatedCompositeFieldContainer[Column]
    selection: Selection
    options: _struct_pb2.Struct
    rules: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    file_name: str
    spec: TemplateSpec
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., format: _Optional[str] = ..., version: _Optional[int] = ..., predefined: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., columns: _Optional[_Iterable[_Union[Column, _Mapping]]] = ..., selection: _Optional[_Union[Selection, _Mapping]] = ..., options: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., rules: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., file_name: _Optional[str] = ..., spec: _Optional[_Union[TemplateSpec, _Mapping]] = ...) -> None: ...
