"""The `local` destination: a folder on the engine's machines (a mounted share, a pick-up folder of another
program). Each file is copied to a hidden temporary name beside its target, checked against the export's SHA-256,
flushed to disk, then renamed: a reader of the folder never sees a partial file under the final name."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from engine.destinations.base import DeliveryFile, DestinationOptions, FieldSpec, ProbeResult, Receipt
from engine.destinations.transfer import HashingReader, open_local, probe_name, remote_path, setting, temporary_name
from engine.errors import FatalError, InvalidRequest, RetryableError

CHUNK = 1024 * 1024
# errors that retrying will not fix: permissions, a read-only or full file system, a quota
FATAL_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR, errno.EISDIR}


class LocalFolderDestination:
    kind: ClassVar[str] = "local"
    verifies_content: ClassVar[bool] = True  # each file is hashed as it is sent, checked before it is final
    fields: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("folder", required=True, max_length=1024, help="Absolute path of the folder the files go into"),
    )

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any]) -> None:
        """What the field's spec cannot say: the folder is an absolute path (a relative one would depend on the
        directory each worker was started in). Checked when an integration is saved, and again on use."""
        folder = str(setting(settings, cls.fields[0]))
        if not os.path.isabs(folder):
            raise InvalidRequest(f"must be an absolute path, got {folder!r}", "folder")

    def __init__(self, settings: Mapping[str, Any], secrets: Mapping[str, str], options: DestinationOptions) -> None:
        self.check_settings(settings)
        self.folder = Path(str(setting(settings, self.fields[0])))
        self.options = options

    def _error(self, exc: OSError, what: str) -> Exception:
        message = f"{what} in {self.folder}: {exc.strerror or exc}"
        return FatalError(message) if exc.errno in FATAL_ERRNOS else RetryableError(message, 30.0)

    def test(self) -> ProbeResult:
        started = time.monotonic()
        probe = self.folder / probe_name()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"PM Exports connection test: this file is deleted at once.\n")
            probe.unlink()
        except OSError as exc:
            raise self._error(exc, "cannot write a test file") from None
        latency = (time.monotonic() - started) * 1000
        return ProbeResult(latency, f"{self.folder} is writable")

    def deliver(self, files: Sequence[DeliveryFile], folder: str) -> list[Receipt]:
        return [self._deliver_one(file, folder) for file in files]

    def _deliver_one(self, file: DeliveryFile, folder: str) -> Receipt:
        relative = remote_path(folder, file.name) if folder else remote_path(file.name)
        target = self.folder / relative
        partial = self.folder / temporary_name(relative)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open_local(file) as source, partial.open("wb") as out:
                reader = HashingReader(file, source)
                while chunk := reader.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            reader.check()
            os.replace(partial, target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise self._error(exc, f"cannot write {file.name}") from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return Receipt(remote=str(target), size=file.size, checksum=file.sha256, detail=f"written to {target}")
