"""Job kinds by name: what a job does once the runner has started it (export, deliver, notify; push next).

A kind is one module with a class implementing `JobKind`; adding one is adding a module and a line in KINDS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from engine.errors import InvalidRequest
from engine.registry import resolve

if TYPE_CHECKING:
    from engine.jobs.runner import JobContext, JobOutcome

KINDS: dict[str, str] = {
    "export": "engine.jobs.kinds.export:ExportKind",
    "deliver": "engine.jobs.kinds.deliver:DeliverKind",
    "notify": "engine.jobs.kinds.notify:NotifyKind",
}


class JobKind(Protocol):
    name: ClassVar[str]
    queue: ClassVar[str]  # the RQ queue its jobs run on
    limited: ClassVar[bool]  # takes one of the running-exports slots (PM_EXPORTS_MAX_RUNNING_EXPORTS)
    retry_intervals: ClassVar[list[int]]  # seconds before each retry of a transient failure

    def resume_from(self, spec: Mapping[str, Any], checkpoint: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The checkpoint a restarted job continues from, or None to start over."""
        ...

    def run(self, ctx: JobContext) -> JobOutcome:
        """Do the job's work, reporting through `ctx`; raise an engine error to fail it (the runner translates)."""
        ...

    def finished(self, ctx: JobContext, outcome: JobOutcome) -> None:
        """After the outcome is recorded (files stored): start what follows (an export's deliveries)."""
        ...


def get_kind(name: str) -> JobKind:
    kind: JobKind = resolve(KINDS, name, what="job kind", field="kind", error=InvalidRequest)()
    return kind
