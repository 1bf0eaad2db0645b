"""ExportService through a real server and the generated client: run, watch, jobs, download, preview, templates."""

from __future__ import annotations

import hashlib
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from pm_exports_client import ExportsClient
from pm_exports_client.v1 import exports_pb2, exports_pb2_grpc

from engine.catalog.demo import seed_demo
from engine.cli import main
from engine.rpc.servicer import CHUNK_SIZE
from engine.settings import Settings
from tests.rpc_support import Engine, make_keys, rpc_error, start_engine

pytest_plugins = ["tests.rpc_fixtures"]  # fixtures: engine, engine_factory, engine_any_db


def cli_export(settings: Settings, out: Path, *args: str) -> Path:
    """Run `pm-exports export` (inline, no server) and return its one file."""
    env = {
        "DATABASE_URL": settings.effective_database_url,
        "PM_EXPORTS_VAR_DIR": str(settings.var_dir),
        "REDIS_URL": settings.redis_url,
        "PM_EXPORTS_LOG_FORMAT": "text",
    }
    result = CliRunner().invoke(main, ["export", *args, "--out", str(out), "--quiet"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (path,) = out.iterdir()
    return path


def test_small_run_export_streams_to_success_and_downloads_the_cli_file(engine_any_db: Engine, tmp_path: Path) -> None:
    api = engine_any_db.client("manager")
    events = list(api.run_export(template="Standard CSV"))
    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert events[0].status == "queued"
    assert events[-1].status == "succeeded" and events[-1].done
    assert all(not e.done for e in events[:-1])
    assert events[-1].total == 5 and events[-1].exported == 5
    processed = [e.processed for e in events]
    assert processed == sorted(processed)
    (artifact,) = events[-1].artifacts
    assert artifact.format == "csv" and artifact.content_type == "text/csv" and artifact.rows == 5

    downloaded = api.download(events[-1].job_id, tmp_path / "grpc.csv")
    expected = cli_export(engine_any_db.settings, tmp_path / "cli", "--template", "Standard CSV")
    assert downloaded.read_bytes() == expected.read_bytes()
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == artifact.sha256

    job = api.get_job(events[-1].job_id)
    assert job.status == "succeeded" and job.template == "Standard CSV" and job.requested_by == "api:test-manager"
    assert job.spec["format"] == "csv" and job.artifacts == (artifact,)


def test_overrides_reach_the_export(engine: Engine, tmp_path: Path) -> None:
    api = engine.client("manager")
    events = list(
        api.run_export(
            format="csv",
            selection={"categories": ["Bureau"]},
            columns=[
                {"header": "Ref", "source": "sku"},
                {"header": "Name", "source": "title", "transforms": [{"name": "truncate", "length": 6}, "upper"]},
                {"header": "Kind", "literal": "product"},
            ],
            options={"separator": ",", "encoding": "utf-8"},
            file_name="office-{count}",
        )
    )
    last = events[-1]
    assert last.status == "succeeded", last.message
    path = api.download(last.job_id, tmp_path)
    assert path.name == "office-2.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Ref,Name,Kind"
    assert len(lines) == 3 and lines[2].endswith(",product")


def test_fields_override_keeps_named_columns(engine: Engine) -> None:
    preview = engine.client("reader").preview("Standard CSV", fields=["sku", "Title", "price"], limit=3)
    assert preview.headers == ["SKU", "Title", "Price"]
    assert preview.rows[0] == ["CAS-001", "Casserole inox 20 cm, « Chef » édition", "49.90"]


def test_unknown_template_is_invalid_argument_naming_it(engine: Engine) -> None:
    api = engine.client("manager")
    for call in (
        lambda: api.run_export(template="Nope"),
        lambda: api.create_export("Nope"),
        lambda: api.preview("Nope"),
    ):
        error = rpc_error(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error.details().startswith("export.template: no template named 'Nope'")
    assert rpc_error(lambda: api.get_template("Nope")).code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"columns": [{"header": "Colour", "source": "colour"}]}, "column 1 ('Colour')"),
        ({"columns": [{"header": "T", "source": "title", "transforms": ["shout"]}]}, "unknown transformation 'shout'"),
        ({"fields": ["sku", "colour"]}, "unknown field 'colour'"),
        ({"format": "pdf"}, "pdf"),
        ({"selection": {"categories": ["Jardin"]}}, "selection.categories: unknown category 'Jardin'"),
        ({"options": {"separator": "|"}}, "separator"),
    ],
)
def test_bad_overrides_are_invalid_argument_naming_the_part(engine: Engine, overrides: dict, fragment: str) -> None:
    error = rpc_error(lambda: engine.client("manager").create_export("Standard CSV", **overrides))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert fragment in error.details()


def test_empty_selection_succeeds_with_a_header_only_file(engine: Engine) -> None:
    """A job runs whatever its selection matches (a scheduled export of an empty category is not an error):
    it succeeds with no product and a file holding only the header row."""
    job = engine.client("manager").create_export("Standard CSV", selection={"skus": ["NOPE"]})
    assert job.status == "succeeded" and job.done, job.error
    assert (job.total, job.processed, job.exported, job.excluded) == (0, 0, 0, 0)
    (artifact,) = job.artifacts
    assert artifact.rows == 0 and artifact.format == "csv"


def test_download_sends_metadata_first_then_chunks_of_at_most_one_mib(
    sqlite_db: Settings, redis_url: str, tmp_path: Path
) -> None:

    seed_demo(900)
    keys = make_keys()
    server, port = start_engine(sqlite_db.with_(redis_url=redis_url))
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    metadata = (("authorization", f"Bearer {keys['reader']}"),)
    try:
        with ExportsClient(f"127.0.0.1:{port}", keys["manager"]) as api:
            job = api.create_export(format="json", options={"pretty": True, "nested": True})
        assert job.status == "succeeded", job.error
        (artifact,) = job.artifacts
        assert artifact.size > 1_500_000 > CHUNK_SIZE  # several chunks, and the offset below is inside the file
        stub = exports_pb2_grpc.ExportServiceStub(channel)
        messages = list(stub.DownloadArtifact(exports_pb2.DownloadArtifactRequest(job_id=job.id), metadata=metadata))
        first, chunks = messages[0], messages[1:]
        assert first.WhichOneof("payload") == "info"
        assert (first.info.name, first.info.size, first.info.sha256) == (artifact.name, artifact.size, artifact.sha256)
        assert first.info.content_type == "application/json"
        assert all(m.WhichOneof("payload") == "chunk" for m in chunks)
        assert max(len(m.chunk) for m in chunks) <= 1024 * 1024
        data = b"".join(m.chunk for m in chunks)
        assert len(data) == artifact.size and hashlib.sha256(data).hexdigest() == artifact.sha256

        resumed = list(
            stub.DownloadArtifact(
                exports_pb2.DownloadArtifactRequest(job_id=job.id, offset=1_500_000), metadata=metadata
            )
        )
        assert resumed[0].info.size == artifact.size
        assert b"".join(m.chunk for m in resumed[1:]) == data[1_500_000:]

        out = tmp_path / "out"
        out.mkdir()
        with ExportsClient(f"127.0.0.1:{port}", keys["reader"]) as api:
            target = api.download(job.id, out)
        assert target == out / artifact.name and target.read_bytes() == data
        assert [p.name for p in out.iterdir()] == [artifact.name]  # no temporary file left
    finally:
        channel.close()
        server.stop(0).wait(10)


def test_download_errors(engine: Engine) -> None:
    api = engine.client("reader")
    assert rpc_error(lambda: api.download(999, "x")).code() == grpc.StatusCode.NOT_FOUND
    job = engine.client("manager").create_export("Price & Stock")
    error = rpc_error(lambda: api.download(job.id, "x", artifact_id=123456))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    (artifact,) = job.artifacts
    Path(engine.settings.export_dir, artifact.name).unlink()
    error = rpc_error(lambda: api.download(job.id, "x"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "no longer stored" in error.details()


def test_list_jobs_paginates_and_filters(engine: Engine) -> None:
    manager = engine.client("manager")
    made = [manager.create_export("Price & Stock" if i % 2 else "Standard CSV").id for i in range(5)]
    reader = engine.client("reader")
    page1 = reader.list_jobs(page_size=2)
    page2 = reader.list_jobs(page_size=2, page_token=page1.next_page_token)
    page3 = reader.list_jobs(page_size=2, page_token=page2.next_page_token)
    assert [j.id for j in page1.jobs + page2.jobs + page3.jobs] == made[::-1]
    assert page3.next_page_token == ""
    assert [j.id for j in reader.iter_jobs(template="Price & Stock", page_size=1)] == [made[3], made[1]]
    assert len(reader.list_jobs(statuses=["succeeded"]).jobs) == 5
    assert reader.list_jobs(statuses=["failed"]).jobs == []
    assert len(reader.list_jobs(requested_by="api:test-manager").jobs) == 5
    assert reader.list_jobs(created_before=page3.jobs[0].created_at).jobs == []
    assert len(reader.list_jobs(created_after=page3.jobs[0].created_at).jobs) == 5
    error = rpc_error(lambda: reader.list_jobs(page_size=500))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("page_size:")
    error = rpc_error(lambda: reader.list_jobs(page_token="garbage"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in error.details()


def test_get_job_of_unknown_id_is_not_found(engine: Engine) -> None:
    error = rpc_error(lambda: engine.client("reader").get_job(424242))
    assert error.code() == grpc.StatusCode.NOT_FOUND and "424242" in error.details()


def test_cancel_a_queued_job_then_retry_it(engine_factory) -> None:
    engine = engine_factory(inline_threshold=0)  # every job is queued: no worker runs in this test
    api = engine.client("manager")
    job = api.create_export("Standard CSV")
    assert job.status == "queued"
    cancelled = api.cancel(job.id)
    assert cancelled.status == "cancelled"
    assert [e.status for e in api.watch(job.id)] == ["queued", "cancelled"]
    error = rpc_error(lambda: api.cancel(job.id))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "already cancelled" in error.details()
    again = api.retry(job.id)
    assert again.id != job.id and again.status == "queued" and again.report == {"retry_of": job.id}
    error = rpc_error(lambda: api.retry(again.id))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_background_flag_queues_a_small_export(engine: Engine) -> None:
    api = engine.client("manager")
    job = api.create_export("Standard CSV", background=True)
    assert job.status == "queued"


def test_watch_resumes_after_a_seq_without_repeats(engine: Engine) -> None:
    api = engine.client("manager")
    events = list(api.run_export(template="Price & Stock"))
    job_id = events[-1].job_id
    assert [e.seq for e in api.watch(job_id, after_seq=2)] == [e.seq for e in events[2:]]
    assert [e.seq for e in api.watch(job_id, after_seq=0)] == [e.seq for e in events]
    error = rpc_error(lambda: api.watch(job_id, after_seq=-1))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("after_seq:")


def test_preview_returns_rows_and_exclusions_without_a_job(engine: Engine) -> None:
    api = engine.client("reader")
    preview = api.preview("Price & Stock", limit=10)
    assert preview.template == "Price & Stock" and preview.format == "csv"
    assert preview.headers == ["SKU", "EAN", "Price", "Sale price", "Currency", "Stock"]
    assert len(preview.rows) == 4 and preview.rows[0][:3] == ["CAS-001", "3760001000016", "49.90"]
    assert preview.total == 5
    assert preview.excluded_by_rule == {"positive:price": 1}
    assert preview.excluded[0]["sku"] == "EMPTY-1" and preview.excluded[0]["rule"] == "positive:price"
    assert api.list_jobs().jobs == []
    error = rpc_error(lambda: api.preview("Standard CSV", limit=5000))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("limit:")


def test_templates_describe_their_spec(engine: Engine) -> None:
    api = engine.client("reader")
    names = [t.name for t in api.list_templates()]
    assert names == sorted(names) and "Standard CSV" in names
    tpl = api.get_template("Price & Stock").message
    assert tpl.format == "csv" and tpl.predefined and tpl.version >= 1
    assert [c.header for c in tpl.columns][:3] == ["SKU", "EAN", "Price"]
    assert list(tpl.selection.statuses) == ["active"]
    assert tpl.rules[0]["rule"] == "positive"
    assert tpl.options["separator"] == ";"
    tags = next(c for c in api.get_template("Standard CSV").message.columns if c.header == "Tags")
    assert tags.source == "tags" and tags.transforms[0].name == "join" and tags.transforms[0].args["separator"] == "|"
