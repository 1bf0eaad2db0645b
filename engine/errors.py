"""The one error hierarchy. Callers translate these in exactly one place each (CLI, worker, RPC, console)."""

from __future__ import annotations


class ExportsError(Exception):
    """Root of every error the engine raises on purpose."""


class ConfigError(ExportsError):
    """A setting is missing or malformed: the operator must fix the configuration."""


class InvalidRequest(ExportsError):
    """The caller asked for something invalid; `field` names the offending part when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


class TemplateError(InvalidRequest):
    """A template (or export override) is malformed: unknown field, transformation or bad argument."""


class NotFound(ExportsError):
    """The named object does not exist."""


class InvalidState(ExportsError):
    """The object is not in a state that allows the operation (cancel a finished job, download an expired file)."""


class Unauthenticated(ExportsError):
    """No credentials, or credentials that do not match a key."""


class PermissionDenied(ExportsError):
    """Authenticated, but the role does not allow the operation."""


class EmptySelection(ExportsError):
    """The selection matched no product."""


class OutputError(ExportsError):
    """The export could not be written (folder missing, not writable, disk full)."""


class Cancelled(ExportsError):
    """The job was cancelled; partial files have been removed."""


class RetryableError(ExportsError):
    """A transient failure (network, Redis blip, I/O, 429/5xx): retry after `seconds`."""

    def __init__(self, message: str, seconds: float = 5.0) -> None:
        super().__init__(message)
        self.seconds = seconds


class FatalError(ExportsError):
    """An outbound failure that retrying will not fix (authentication, permission, a request the remote side
    refuses): the job, or the delivery, fails at once with this message."""


class ItemRejected(ExportsError):
    """The remote side refused one item (a product, a file) and accepts the rest: the item counts as failed and
    the job ends `partial`. `item` names it (SKU, file name)."""

    def __init__(self, message: str, item: str | None = None) -> None:
        super().__init__(f"{item}: {message}" if item else message)
        self.item = item
        self.reason = message


class RowRejected(ExportsError):
    """One input row (import) or product (export) is rejected; the rest goes on."""
