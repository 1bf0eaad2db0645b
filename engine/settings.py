"""Settings read once from the environment (and an optional `.env` file), then passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from engine.errors import ConfigError

# name of the environment variable -> (attribute, default, help). The README table is checked against this.
ENV_VARS: dict[str, tuple[str, str, str]] = {
    "DATABASE_URL": (
        "database_url",
        "",
        "Database URL; empty means SQLite at `$PM_EXPORTS_VAR_DIR/pm_exports.db`",
    ),
    "REDIS_URL": ("redis_url", "redis://127.0.0.1:6379/0", "Redis for queues and job events"),
    "PM_EXPORTS_VAR_DIR": ("var_dir", "var", "Folder for the SQLite file, exports and temporary files"),
    "PM_EXPORTS_EXPORT_DIR": (
        "export_dir",
        "",
        "Where export files are written; empty means `$PM_EXPORTS_VAR_DIR/exports`",
    ),
    "PM_EXPORTS_CHUNK_SIZE": (
        "chunk_size",
        "1000",
        "Products read per database round trip (and per checkpoint)",
    ),
    "PM_EXPORTS_XLSX_MAX_ROWS": (
        "xlsx_max_rows",
        "50000",
        "Default product rows per XLSX file (at most 1048575)",
    ),
    "PM_EXPORTS_ARTIFACT_RETENTION_DAYS": ("artifact_retention_days", "30", "Days an export file is kept"),
    "PM_EXPORTS_NOTIFICATION_RETENTION_DAYS": (
        "notification_retention_days",
        "90",
        "Days a notification stays in the in-app list (1 to 3650); the daily maintenance deletes older ones",
    ),
    "PM_EXPORTS_INLINE_THRESHOLD": (
        "inline_threshold",
        "1000",
        "Exports of fewer products run at once in the engine, without a worker",
    ),
    "PM_EXPORTS_MAX_RUNNING_EXPORTS": (
        "max_running_exports",
        "3",
        "Exports running at once across all workers; the rest wait in order",
    ),
    "PM_EXPORTS_JOB_LEASE_SECONDS": (
        "job_lease_seconds",
        "30",
        "A running job whose worker has not reported for this long is resumed elsewhere",
    ),
    "PM_EXPORTS_EVENTS_MAXLEN": ("events_maxlen", "10000", "Events kept per job in its Redis stream"),
    "PM_EXPORTS_GRPC_ADDRESS": ("grpc_address", "127.0.0.1:50051", "Where `pm-exports serve` listens"),
    "PM_EXPORTS_TLS_CERT": ("tls_cert", "", "Server certificate (PEM) for TLS; empty means plaintext"),
    "PM_EXPORTS_TLS_KEY": ("tls_key", "", "Private key (PEM) of the server certificate"),
    "PM_EXPORTS_TLS_CLIENT_CA": (
        "tls_client_ca",
        "",
        "CA (PEM) that client certificates must chain to: enables mutual TLS",
    ),
    "PM_EXPORTS_IMAGES_ALLOW_PRIVATE_NETWORKS": (
        "images_allow_private_networks",
        "false",
        "Let image URLs reach loopback and private addresses (off: protection against server-side request forgery)",
    ),
    "PM_EXPORTS_SECRET_KEY": (
        "secret_key",
        "",
        "Fernet key(s) encrypting integration secrets, comma-separated (the first encrypts, all decrypt: rotation);"
        " empty means a key file `$PM_EXPORTS_VAR_DIR/secret.key` created with mode 0600",
    ),
    "PM_EXPORTS_ALLOW_PRIVATE_NETWORKS": (
        "allow_private_networks",
        "false",
        "Let deliveries (webhooks) reach loopback and private addresses (off: protection against request forgery)",
    ),
    "PM_EXPORTS_DELIVERY_TIMEOUT": ("delivery_timeout", "30", "Seconds per network operation of a delivery"),
    "PM_EXPORTS_ARTIFACT_STORE": (
        "artifact_store",
        "",
        "Where finished files are kept: empty for the export folder, or `s3://bucket/prefix` (shared by all machines)",
    ),
    "PM_EXPORTS_S3_ENDPOINT_URL": (
        "s3_endpoint_url",
        "",
        "S3 endpoint of the artifact store (MinIO, SeaweedFS...; path-style addressing); empty means AWS",
    ),
    "PM_EXPORTS_S3_REGION": ("s3_region", "us-east-1", "Region of the artifact store's bucket"),
    "PM_EXPORTS_S3_ACCESS_KEY_ID": ("s3_access_key_id", "", "Access key of the artifact store (empty: boto3's chain)"),
    "PM_EXPORTS_S3_SECRET_ACCESS_KEY": ("s3_secret_access_key", "", "Secret key of the artifact store"),
    "PM_EXPORTS_LINK_DAYS": ("link_days", "7", "Days a presigned download link stays valid (1 to 7)"),
    "PM_EXPORTS_ADMIN_ADDRESS": ("admin_address", "127.0.0.1:8080", "Where `pm-exports admin` (the console) listens"),
    "PM_EXPORTS_ADMIN_SESSION_KEY": (
        "admin_session_key",
        "",
        "Key signing the console's session cookies and CSRF tokens; empty means a key file"
        " `$PM_EXPORTS_VAR_DIR/admin-session.key` created with mode 0600",
    ),
    "PM_EXPORTS_ADMIN_SESSION_MINUTES": (
        "admin_session_minutes",
        "60",
        "A console session idle for this long ends (5 to 1440)",
    ),
    "PM_EXPORTS_ADMIN_SECURE_COOKIES": (
        "admin_secure_cookies",
        "true",
        "Send the console's cookies over HTTPS only (browsers also accept them from http://127.0.0.1 and localhost)",
    ),
    "PM_EXPORTS_ADMIN_LOCALE": (
        "admin_locale",
        "fr",
        "Language of the console until a user picks one: `fr` or `en`",
    ),
    "PM_EXPORTS_DEFAULT_TIMEZONE": (
        "default_timezone",
        "Europe/Paris",
        "IANA time zone of a schedule created without one (its times are wall-clock times there)",
    ),
    "PM_EXPORTS_LOG_LEVEL": ("log_level", "INFO", "Log level: DEBUG, INFO, WARNING, ERROR"),
    "PM_EXPORTS_LOG_FORMAT": (
        "log_format",
        "auto",
        "`json`, `text`, or `auto` (text on a terminal, JSON otherwise)",
    ),
}

_BOOL_FIELDS = {"images_allow_private_networks", "allow_private_networks", "admin_secure_cookies"}
_INT_FIELDS = {
    "chunk_size",
    "xlsx_max_rows",
    "artifact_retention_days",
    "notification_retention_days",
    "inline_threshold",
    "max_running_exports",
    "job_lease_seconds",
    "events_maxlen",
    "delivery_timeout",
    "link_days",
    "admin_session_minutes",
}
ADMIN_LOCALES = ("fr", "en")  # the console's languages (admin/translations)
XLSX_ROW_LIMIT = 1_048_576  # rows in one Excel sheet, header included


def _is_time_zone(name: str) -> bool:
    from zoneinfo import available_timezones

    return name == "UTC" or name in available_timezones()


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    var_dir: Path = Path("var")
    export_dir: Path = Path("var/exports")
    chunk_size: int = 1000
    xlsx_max_rows: int = 50_000
    artifact_retention_days: int = 30
    notification_retention_days: int = 90
    inline_threshold: int = 1000
    max_running_exports: int = 3
    job_lease_seconds: int = 30
    events_maxlen: int = 10_000
    grpc_address: str = "127.0.0.1:50051"
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""
    images_allow_private_networks: bool = False
    secret_key: str = field(default="", repr=False)
    allow_private_networks: bool = False
    delivery_timeout: int = 30
    artifact_store: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = field(default="", repr=False)
    link_days: int = 7
    admin_address: str = "127.0.0.1:8080"
    admin_session_key: str = field(default="", repr=False)
    admin_session_minutes: int = 60
    admin_secure_cookies: bool = True
    admin_locale: str = "fr"
    default_timezone: str = "Europe/Paris"
    log_level: str = "INFO"
    log_format: str = "auto"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, dotenv: str | Path | None = ".env") -> Settings:
        """Build settings from `env` (default: the process environment) over the values of a `.env` file."""
        values: dict[str, str] = {}
        if dotenv is not None and Path(dotenv).is_file():
            from dotenv import dotenv_values

            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if env is None else env)
        raw: dict[str, Any] = {}
        for var, (attr, default, _help) in ENV_VARS.items():
            raw[attr] = values.get(var, default)
        return cls.build(**raw)

    @classmethod
    def build(cls, **raw: Any) -> Settings:
        """Validate and normalise raw values (strings allowed) into a Settings."""
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        out: dict[str, Any] = {}
        for name, value in raw.items():
            if name in _BOOL_FIELDS and not isinstance(value, bool):
                text = str(value).strip().lower()
                if text not in {"1", "true", "yes", "on", "0", "false", "no", "off", ""}:
                    var = next(v for v, spec in ENV_VARS.items() if spec[0] == name)
                    raise ConfigError(f"{var} must be true or false, got {value!r}")
                out[name] = text in {"1", "true", "yes", "on"}
            elif name in _INT_FIELDS:
                try:
                    out[name] = int(value)
                except (TypeError, ValueError):
                    var = next(v for v, spec in ENV_VARS.items() if spec[0] == name)
                    raise ConfigError(f"{var} must be an integer, got {value!r}") from None
            else:
                out[name] = value
        var_dir = Path(out.get("var_dir") or "var")
        out["var_dir"] = var_dir
        out["export_dir"] = Path(out["export_dir"]) if out.get("export_dir") else var_dir / "exports"
        settings = cls(**out)
        if settings.chunk_size < 1:
            raise ConfigError("PM_EXPORTS_CHUNK_SIZE must be at least 1")
        if not 1 <= settings.xlsx_max_rows < XLSX_ROW_LIMIT:
            raise ConfigError(f"PM_EXPORTS_XLSX_MAX_ROWS must be between 1 and {XLSX_ROW_LIMIT - 1}")
        if settings.max_running_exports < 1:
            raise ConfigError("PM_EXPORTS_MAX_RUNNING_EXPORTS must be at least 1")
        if settings.job_lease_seconds < 3:
            raise ConfigError("PM_EXPORTS_JOB_LEASE_SECONDS must be at least 3")
        if bool(settings.tls_cert) != bool(settings.tls_key):
            raise ConfigError("PM_EXPORTS_TLS_CERT and PM_EXPORTS_TLS_KEY go together")
        if settings.tls_client_ca and not settings.tls_cert:
            raise ConfigError("PM_EXPORTS_TLS_CLIENT_CA (mutual TLS) needs PM_EXPORTS_TLS_CERT and PM_EXPORTS_TLS_KEY")
        if settings.artifact_store and not settings.artifact_store.startswith("s3://"):
            raise ConfigError("PM_EXPORTS_ARTIFACT_STORE must be empty (the export folder) or s3://bucket/prefix")
        if not 1 <= settings.delivery_timeout <= 3600:
            raise ConfigError("PM_EXPORTS_DELIVERY_TIMEOUT must be between 1 and 3600 seconds")
        if not 1 <= settings.notification_retention_days <= 3650:
            raise ConfigError("PM_EXPORTS_NOTIFICATION_RETENTION_DAYS must be between 1 and 3650")
        if not 1 <= settings.link_days <= 7:
            raise ConfigError("PM_EXPORTS_LINK_DAYS must be between 1 and 7 (the longest an S3 presigned link lasts)")
        if not 5 <= settings.admin_session_minutes <= 1440:
            raise ConfigError("PM_EXPORTS_ADMIN_SESSION_MINUTES must be between 5 and 1440")
        if settings.admin_locale not in ADMIN_LOCALES:
            raise ConfigError(f"PM_EXPORTS_ADMIN_LOCALE must be one of {', '.join(ADMIN_LOCALES)}")
        if not _is_time_zone(settings.default_timezone):
            raise ConfigError(f"PM_EXPORTS_DEFAULT_TIMEZONE: unknown time zone {settings.default_timezone!r}")
        if settings.log_format not in {"auto", "json", "text"}:
            raise ConfigError("PM_EXPORTS_LOG_FORMAT must be auto, json or text")
        return settings

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'pm_exports.db'}"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)
