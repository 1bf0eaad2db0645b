"""The file sink: a format writer in the job's work folder, then each finished file named, hashed and put into
the artifact store. Products removed since the last delta run go into the feed when the format can say so
(Amazon DELETE messages), else into a `-removed.csv` list beside the file."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from engine.formats.base import ColumnInfo, FormatWriter, OutputFile, WriterContext
from engine.formats.registry import get_writer
from engine.pipeline.naming import render_name
from engine.pipeline.select import iter_categories, iter_suppliers
from engine.pipeline.spec import ExportSpec
from engine.settings import Settings
from engine.sinks.base import Attachment, ExportFile, SinkContext
from engine.storage.base import ArtifactStore

REMOVED_COLUMNS = (ColumnInfo("id", "integer"), ColumnInfo("sku"), ColumnInfo("ean"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def format_defaults(settings: Settings) -> dict[str, dict[str, Any]]:
    """Format options whose default comes from the settings (a template's own value wins)."""
    return {"xlsx": {"max_rows": settings.xlsx_max_rows}}


class FileSink:
    name: ClassVar[str] = "file"

    def __init__(self, spec: ExportSpec, settings: Settings, store: ArtifactStore) -> None:
        self.spec = spec
        self.store = store
        self.inputs = settings.var_dir / "inputs"  # files the merchant supplies (Amazon category templates)
        self.writer_cls = get_writer(spec.format)
        defaults = format_defaults(settings).get(spec.format, {})
        self.options = self.writer_cls.validate_options({**defaults, **spec.options})
        self.extension = self.writer_cls.file_extension(self.options)
        self._writer: FormatWriter | None = None
        self._removed: OutputFile | None = None
        self._ctx: SinkContext | None = None

    @property
    def relations(self) -> set[str]:
        return set(self.writer_cls.relations(self.options))

    def open(self, ctx: SinkContext, state: Mapping[str, Any] | None = None) -> int | None:
        self._ctx = ctx
        extension = self.extension
        writer_ctx = WriterContext(
            folder=ctx.work,
            file_name=lambda part: f"part-{part:05d}.{extension}",
            columns=ctx.columns,
            options=self.options,
            iter_suppliers=iter_suppliers,
            iter_categories=iter_categories,
            created_at=ctx.started_at,
            inputs=self.inputs,
        )
        if state is None:
            self._writer = self.writer_cls(writer_ctx)
            return None
        self._writer = self.writer_cls.resume(writer_ctx, state)
        replay = state.get("replay_after_id")
        return int(replay) if replay is not None else None

    @property
    def writer(self) -> FormatWriter:
        if self._writer is None:
            raise RuntimeError("the file sink is not open")
        return self._writer

    def write(self, values: Sequence[Any], record: Mapping[str, Any]) -> None:
        self.writer.write(values, record)

    def write_removed(self, records: Iterable[Mapping[str, Any]]) -> int:
        if self.writer_cls.removals_in_feed:
            count = 0
            for record in records:
                self.writer.write_removed(record)
                count += 1
            return count
        from engine.formats.csv import CsvWriter

        assert self._ctx is not None
        folder = self._ctx.work / "removed"
        folder.mkdir(exist_ok=True)
        removed_writer = CsvWriter(
            WriterContext(
                folder=folder,
                file_name=lambda _part: "removed.csv",
                columns=REMOVED_COLUMNS,
                options=CsvWriter.validate_options({}),
            )
        )
        for record in records:
            removed_writer.write([record["id"], record["sku"], record["ean"]], record)
        (self._removed,) = removed_writer.close()
        return self._removed.rows

    def checkpoint(self) -> dict[str, Any]:
        return self.writer.checkpoint()

    def close(self, attachments: Sequence[Attachment] = ()) -> list[ExportFile]:
        outputs = self.writer.close()
        self._writer = None
        files = self._publish([o for o in outputs if not o.suffix], self.extension, fmt=self.spec.format)
        for companion in (o for o in outputs if o.suffix):
            files += self._publish([companion], self.extension, suffix=companion.suffix, fmt=self.spec.format)
        if self._removed is not None:
            files += self._publish([self._removed], "csv", suffix="-removed", fmt="removed-csv")
        for extra in attachments:
            files += self._publish([extra.output], extra.extension, suffix=extra.suffix, fmt=extra.format)
        return files

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None

    def _publish(
        self, outputs: Sequence[OutputFile], extension: str, *, fmt: str, suffix: str = ""
    ) -> list[ExportFile]:
        """Name, hash and store each finished file (hashed before it leaves this machine)."""
        assert self._ctx is not None
        files = []
        for part, output in enumerate(outputs, start=1):
            name = render_name(
                self.spec.file_name,
                template=self._ctx.template_name,
                fmt=self.spec.format,
                extension=extension,
                when=self._ctx.started_at,
                count=output.rows,
                part=part,
                parts=len(outputs),
            )
            if suffix:
                stem, _dot, ext = name.rpartition(".")
                name = f"{stem}{suffix}.{ext}"
            sha256 = sha256_of(output.path)
            stored = self.store.put(output.path, name)
            files.append(
                ExportFile(
                    name=stored.name,
                    location=stored.location,
                    rows=output.rows,
                    size=stored.size,
                    sha256=sha256,
                    content_type=output.content_type,
                    format=fmt,
                    path=self.store.local_path(stored.location),
                )
            )
        return files
