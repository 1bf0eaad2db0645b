"""Templates and job reports through a real server and the generated client: create, update (versioned), copy,
delete, versions, the GetTemplate -> CreateTemplate round trip of every predefined template, DownloadReport."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest
from click.testing import CliRunner
from pm_exports_client.v1 import catalog_pb2, exports_pb2, exports_pb2_grpc

from engine.cli import main
from engine.models import ExportJob, JobExclusion, JobWarning, Template
from engine.pipeline.spec import ExportSpec
from engine.rpc.interceptors import roles_from_descriptors
from engine.rpc.servicer import CHUNK_SIZE
from engine.services.reports import report_csv
from engine.services.setup import DATA_DIR
from tests.rpc_support import Engine, rpc_error

pytest_plugins = ["tests.rpc_fixtures"]  # fixtures: engine, engine_factory, engine_any_db

SPEC: dict[str, Any] = {
    "format": "csv",
    "columns": [{"header": "SKU", "source": "sku"}, {"header": "Title", "source": "title"}],
}
# every predefined template, the platform ones included, read from the data files `db upgrade` installs
PREDEFINED = sorted(orjson.loads(p.read_bytes())["name"] for p in (DATA_DIR / "templates").glob("*.json"))


def stored_spec(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = Template.get(Template.name == name).spec
    return spec


def test_template_rpcs_declare_their_roles() -> None:
    roles = roles_from_descriptors(exports_pb2.DESCRIPTOR, catalog_pb2.DESCRIPTOR)
    service = "/pm.exports.v1.ExportService/"
    assert {name: roles[service + name] for name in ("GetTemplate", "ListTemplateVersions", "DownloadReport")} == {
        "GetTemplate": "reader",
        "ListTemplateVersions": "reader",
        "DownloadReport": "reader",
    }
    assert {name: roles[service + name] for name in ("CreateTemplate", "UpdateTemplate", "CopyTemplate")} == {
        "CreateTemplate": "manager",
        "UpdateTemplate": "manager",
        "CopyTemplate": "manager",
    }
    assert roles[service + "DeleteTemplate"] == "admin"


@pytest.mark.parametrize("name", PREDEFINED)
def test_get_then_create_saves_an_equal_spec(engine: Engine, name: str) -> None:
    """A predefined template read with GetTemplate and saved again with CreateTemplate (as the client's dict,
    and as the message itself) is the same template: same stored spec, same message, same rows."""
    reader, manager = engine.client("reader"), engine.client("manager")
    original = reader.get_template(name)
    assert original.predefined and original.spec["format"] == original.format

    from_dict = manager.create_template(f"{name} (dict)", original.spec, original.description)
    from_message = manager.create_template(f"{name} (message)", original.message.spec)

    assert stored_spec(from_dict.name) == stored_spec(name)
    assert stored_spec(from_message.name) == stored_spec(name)
    for copy in (from_dict, from_message):
        assert copy.message.spec == original.message.spec
        assert (copy.version, copy.predefined, copy.format) == (1, False, original.format)
    assert from_dict.description == original.description
    # the flat fields older clients read are the spec's too
    assert list(original.message.columns) == list(original.message.spec.columns)
    assert list(original.message.rules) == list(original.message.spec.rules)

    assert reader.preview(from_dict.name, limit=50).rows == reader.preview(name, limit=50).rows


def test_every_part_of_a_custom_spec_survives_the_round_trip(engine: Engine) -> None:
    spec = {
        "format": "csv",
        "rows": "variants",
        "selection": {"statuses": ["active", "draft"], "categories": ["Maison"], "price_min": "1.50", "has_ean": False},
        "columns": [
            {"header": "SKU", "source": "variant.sku", "on": ["variant"]},
            {"header": "Title", "source": "title", "on": "first", "transforms": [{"name": "upper"}, "trim"]},
            {"header": "Short", "source": "title", "transforms": [{"name": "truncate", "length": 12}]},
            {"header": "Zero", "literal": 0},
            {"header": "Half", "literal": 0.5},
            {"header": "Yes", "literal": True},
            {"header": "Nothing", "literal": None},
            {"header": "Text zero", "literal": "0"},
            {"header": "Label", "pattern": "{brand} - {title}"},
        ],
        "rules": [{"rule": "positive", "field": "price"}, {"rule": "max_length", "field": "title", "length": 150}],
        "options": {"separator": ",", "encoding": "utf-8"},
        "file_name": "mine-{date}",
        "delta": True,
        "images": {"mode": "url", "max_width": None, "quality": 70, "timeout": 2.5},
    }
    api = engine.client("manager")
    created = api.create_template("Every part", spec, "all of it")
    assert stored_spec("Every part") == ExportSpec.from_dict(spec).to_dict()
    got = api.get_template("Every part")
    columns = {c["header"]: c for c in got.spec["columns"]}
    assert columns["Zero"]["literal"] == 0 and isinstance(columns["Zero"]["literal"], int)
    assert columns["Yes"]["literal"] is True and columns["Nothing"]["literal"] is None
    assert columns["Text zero"]["literal"] == "0"
    assert columns["Title"]["transforms"] == [{"name": "upper"}, "trim"]
    assert columns["SKU"]["on"] == ["variant"] and columns["Title"]["on"] == "first"
    again = api.create_template("Every part again", got.spec)
    assert stored_spec(again.name) == stored_spec(created.name)


def test_template_lifecycle(engine_any_db: Engine) -> None:
    manager, reader = engine_any_db.client("manager"), engine_any_db.client("reader")
    created = manager.create_template("Mine", SPEC, "my columns")
    assert (created.name, created.version, created.predefined, created.description) == ("Mine", 1, False, "my columns")
    assert created.spec["columns"] == SPEC["columns"] and created.created_at is not None

    one_column = {**SPEC, "columns": SPEC["columns"][:1]}
    assert manager.update_template("Mine", spec=one_column).version == 2
    assert manager.update_template("Mine", spec=one_column).version == 2  # the same spec: no new version
    described = manager.update_template("Mine", description="just the SKU")
    assert (described.version, described.description) == (2, "just the SKU")
    renamed = manager.update_template("Mine", new_name="Mine v2")
    assert renamed.name == "Mine v2" and renamed.version == 2
    assert rpc_error(lambda: reader.get_template("Mine")).code() == grpc.StatusCode.NOT_FOUND

    versions = reader.template_versions("Mine v2")
    assert [(v.version, v.format, v.columns) for v in versions] == [(1, "csv", 2), (2, "csv", 1)]
    assert all(v.created_at is not None for v in versions)
    first = reader.get_template("Mine v2", version=1)
    assert (first.name, first.version, first.description) == ("Mine v2", 1, "just the SKU")
    assert [c["header"] for c in first.spec["columns"]] == ["SKU", "Title"]
    assert [c.header for c in first.message.columns] == ["SKU", "Title"]
    assert first.updated_at == versions[0].created_at
    assert [c["header"] for c in reader.get_template("Mine v2").spec["columns"]] == ["SKU"]
    error = rpc_error(lambda: reader.get_template("Mine v2", version=3))
    assert error.code() == grpc.StatusCode.NOT_FOUND and "no version 3" in error.details()
    error = rpc_error(lambda: reader.get_template("Mine v2", version=0))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("version:")

    copy = manager.copy_template("Standard CSV", "Standard CSV (mine)")
    assert copy.predefined is False and stored_spec(copy.name) == stored_spec("Standard CSV")
    assert {"Mine v2", "Standard CSV (mine)"} <= {t.name for t in reader.list_templates()}

    job = manager.create_export("Mine v2")
    assert job.status == "succeeded" and job.template_version == 2
    engine_any_db.client("admin").delete_template("Mine v2")
    assert rpc_error(lambda: reader.get_template("Mine v2")).code() == grpc.StatusCode.NOT_FOUND
    assert rpc_error(lambda: reader.template_versions("Mine v2")).code() == grpc.StatusCode.NOT_FOUND
    kept = reader.get_job(job.id)  # the job keeps the snapshot it ran with
    assert kept.template == "Mine v2" and [c["header"] for c in kept.spec["columns"]] == ["SKU"]


def test_predefined_templates_are_read_only(engine: Engine) -> None:
    admin = engine.client("admin")
    for call in (
        lambda: admin.update_template("Standard CSV", description="mine now"),
        lambda: admin.update_template("Price & Stock", spec=SPEC),
        lambda: admin.delete_template("Standard CSV"),
    ):
        error = rpc_error(call)
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "is predefined and read-only: copy it to change it" in error.details()
    assert admin.get_template("Standard CSV").description != "mine now"


def test_duplicate_names_are_invalid_arguments_naming_the_field(engine_any_db: Engine) -> None:
    api = engine_any_db.client("manager")
    api.create_template("Mine", SPEC)
    api.create_template("Other", SPEC)
    for call, field in (
        (lambda: api.create_template("Standard CSV", SPEC), "name"),
        (lambda: api.create_template("Mine", SPEC), "name"),
        (lambda: api.copy_template("Standard CSV", "Mine"), "new_name"),
        (lambda: api.update_template("Other", new_name="Mine"), "new_name"),
    ):
        error = rpc_error(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error.details().startswith(f"{field}: a template named ") and "already exists" in error.details()
    error = rpc_error(lambda: api.create_template(" ", SPEC))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("name:")
    assert [t.name for t in api.list_templates() if t.name in {"Mine", "Other"}] == ["Mine", "Other"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {**SPEC, "columns": [{"header": "Colour", "source": "colour"}]},
            "column 1 ('Colour'): unknown field 'colour'",
        ),
        (
            {**SPEC, "columns": [SPEC["columns"][0], {"header": "T", "source": "title", "transforms": ["shout"]}]},
            "column 2 ('T'): unknown transformation 'shout'",
        ),
        (
            {**SPEC, "columns": [{"header": "T", "source": "title", "transforms": [{"name": "truncate", "size": 3}]}]},
            "column 1 ('T'): truncate: unknown argument(s) size",
        ),
        ({**SPEC, "columns": [*SPEC["columns"], {"header": "sku", "source": "ean"}]}, "column 3 ('sku'): duplicate"),
        ({**SPEC, "format": "pdf"}, "format: unknown format 'pdf'"),
        ({**SPEC, "columns": []}, "columns: a template needs at least one column"),
        ({**SPEC, "rows": "pages"}, "rows: unknown row mode 'pages'"),
    ],
)
def test_a_bad_spec_is_an_invalid_argument_naming_the_part(engine: Engine, spec: dict, message: str) -> None:
    api = engine.client("manager")
    api.create_template("Good", SPEC)
    for call in (lambda: api.create_template("Bad", spec), lambda: api.update_template("Good", spec=spec)):
        error = rpc_error(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error.details().startswith(message), error.details()
    assert api.get_template("Good").version == 1
    assert rpc_error(lambda: api.get_template("Bad")).code() == grpc.StatusCode.NOT_FOUND


def test_a_create_without_a_spec_names_it(engine: Engine) -> None:
    stub = exports_pb2_grpc.ExportServiceStub(engine.channel())
    metadata = (("authorization", f"Bearer {engine.keys['manager']}"),)
    request = exports_pb2.CreateTemplateRequest(name="Empty")
    error = rpc_error(lambda: stub.CreateTemplate(request, metadata=metadata, timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("spec:")
    with pytest.raises(ValueError, match="unknown template spec key"):  # checked before sending
        engine.client("manager").create_template("Typo", {**SPEC, "column": []})


def test_roles_of_the_template_rpcs(engine: Engine) -> None:
    reader, manager = engine.client("reader"), engine.client("manager")
    assert reader.get_template("Standard CSV").version >= 1 and reader.template_versions("Standard CSV")
    for call in (
        lambda: reader.create_template("R", SPEC),
        lambda: reader.copy_template("Standard CSV", "R"),
        lambda: reader.update_template("R", description="x"),
    ):
        assert rpc_error(call).code() == grpc.StatusCode.PERMISSION_DENIED
    manager.copy_template("Standard CSV", "M")
    error = rpc_error(lambda: manager.delete_template("M"))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and "this needs admin" in error.details()
    engine.client("admin").delete_template("M")


# --- reports ------------------------------------------------------------------------------------------------


def test_report_lists_exclusions_and_the_job_counts_them(engine: Engine, tmp_path: Path) -> None:
    job = engine.client("manager").create_export("Price & Stock")
    reader = engine.client("reader")
    assert job.excluded_by_rule == {"positive:price": 1} and job.warnings == 0
    assert reader.get_job(job.id).excluded_by_rule == {"positive:price": 1}

    out = tmp_path / "out"
    out.mkdir()
    path = reader.download_report(job.id, out)
    assert path == out / f"job-{job.id}-report.csv"
    assert [p.name for p in out.iterdir()] == [path.name]  # no temporary file left
    text = path.read_bytes()
    assert text.startswith(codecs.BOM_UTF8)
    lines = text.decode("utf-8-sig").splitlines()
    assert lines[0] == "product_id,sku,ean,outcome,rule,message"
    assert len(lines) == 2 and ",EMPTY-1," in lines[1] and ",excluded,positive:price," in lines[1]

    env = {"DATABASE_URL": engine.settings.effective_database_url, "PM_EXPORTS_VAR_DIR": str(engine.settings.var_dir)}
    local = tmp_path / "local.csv"
    result = CliRunner().invoke(main, ["report", str(job.id), "--out", str(local)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == local.read_bytes()  # the same file as the local command writes

    error = rpc_error(lambda: reader.download_report(424242, tmp_path / "nope.csv"))
    assert error.code() == grpc.StatusCode.NOT_FOUND and "424242" in error.details()
    assert not (tmp_path / "nope.csv").exists()


@pytest.mark.slow
def test_report_streams_in_chunks_of_at_most_one_mib(engine_any_db: Engine) -> None:
    job = engine_any_db.client("manager").create_export("Price & Stock")
    JobExclusion.insert_many(
        [
            {"job": job.id, "product_id": 1000 + i, "sku": f"S-{i}", "rule": "positive:price", "message": "é" * 60}
            for i in range(20_000)
        ]
    ).execute()
    JobWarning.insert_many(
        [{"job": job.id, "product_id": 7, "sku": "=1+1", "kind": "image", "message": "404 for image 1"}]
    ).execute()
    ExportJob.update(report={"warnings": 1, "excluded_by_rule": {"positive:price": 20_001}}).where(
        ExportJob.id == job.id
    ).execute()
    expected = codecs.BOM_UTF8 + "".join(report_csv(job.id)).encode("utf-8")
    assert len(expected) > 2 * CHUNK_SIZE

    stub = exports_pb2_grpc.ExportServiceStub(engine_any_db.channel())
    metadata = (("authorization", f"Bearer {engine_any_db.keys['reader']}"),)
    request = exports_pb2.DownloadReportRequest(job_id=job.id)
    messages = list(stub.DownloadReport(request, metadata=metadata, timeout=30))
    first, chunks = messages[0], messages[1:]
    assert first.WhichOneof("payload") == "info"
    assert (first.info.job_id, first.info.name) == (job.id, f"job-{job.id}-report.csv")
    assert first.info.content_type == "text/csv; charset=utf-8"
    assert all(m.WhichOneof("payload") == "chunk" for m in chunks)
    assert max(len(m.chunk) for m in chunks) <= 1024 * 1024 and len(chunks) >= 3
    data = b"".join(m.chunk for m in chunks)
    assert data == expected
    lines = data.decode("utf-8-sig").splitlines()
    assert "excluded" in lines[-2] and lines[-1].startswith("7,'=1+1,,warning,image,")  # warnings come last

    shown = engine_any_db.client("reader").get_job(job.id)
    assert shown.excluded_by_rule == {"positive:price": 20_001} and shown.warnings == 1


# --- command line -------------------------------------------------------------------------------------------


def client_cli(engine: Engine, *args: str, role: str = "manager") -> Any:
    env = {
        "DATABASE_URL": engine.settings.effective_database_url,
        "PM_EXPORTS_VAR_DIR": str(engine.settings.var_dir),
        "PM_EXPORTS_LOG_FORMAT": "text",
        "PM_EXPORTS_TARGET": engine.target,
        "PM_EXPORTS_API_KEY": engine.keys[role],
    }
    return CliRunner().invoke(main, ["client", *args], env=env, catch_exceptions=False)


def test_client_template_commands(engine: Engine, tmp_path: Path) -> None:
    listed = client_cli(engine, "templates", role="reader")
    assert listed.exit_code == 0 and "Standard CSV" in listed.stdout and "predefined" in listed.stdout
    assert client_cli(engine, "templates", "list", role="reader").stdout == listed.stdout

    shown = client_cli(engine, "templates", "show", "Price & Stock", role="reader")
    assert shown.exit_code == 0, shown.output
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(shown.stdout)
    created = client_cli(engine, "templates", "create", "Mine", "--file", str(spec_file), "--description", "mine")
    assert created.exit_code == 0, created.output
    assert created.stdout.strip() == "template 'Mine' created (version 1)"
    assert stored_spec("Mine") == stored_spec("Price & Stock")

    spec_file.write_text(json.dumps({"name": "ignored", "spec": SPEC}))  # the data files' shape works too
    updated = client_cli(engine, "templates", "update", "Mine", "--file", str(spec_file), "--rename", "Mine 2")
    assert updated.exit_code == 0 and updated.stdout.strip() == "template 'Mine 2' is at version 2"
    versions = client_cli(engine, "templates", "versions", "Mine 2", role="reader").stdout.splitlines()
    assert [line.split()[0] for line in versions] == ["v1", "v2"] and versions[1].endswith("csv  2 columns")
    old = orjson.loads(client_cli(engine, "templates", "show", "Mine 2", "--version", "1", role="reader").stdout)
    assert old == orjson.loads(shown.stdout)

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**SPEC, "columns": [{"header": "Colour", "source": "colour"}]}))
    refused = client_cli(engine, "templates", "update", "Mine 2", "--file", str(bad))
    assert refused.exit_code == 2
    assert "INVALID_ARGUMENT: column 1 ('Colour'): unknown field 'colour'" in refused.stderr
    copied = client_cli(engine, "templates", "copy", "Standard CSV", "Standard copy")
    assert copied.exit_code == 0 and "'Standard copy' created" in copied.stdout
    read_only = client_cli(engine, "templates", "delete", "Standard CSV", role="admin")
    assert read_only.exit_code == 2 and "FAILED_PRECONDITION" in read_only.stderr and "read-only" in read_only.stderr
    assert client_cli(engine, "templates", "delete", "Mine 2").exit_code == 1  # a manager may not delete
    deleted = client_cli(engine, "templates", "delete", "Mine 2", role="admin")
    assert deleted.exit_code == 0 and deleted.stdout.strip() == "template 'Mine 2' deleted"


def test_client_report_command(engine: Engine, tmp_path: Path) -> None:
    job = engine.client("manager").create_export("Price & Stock")
    printed = client_cli(engine, "report", str(job.id), role="reader")
    assert printed.exit_code == 0, printed.output
    lines = printed.stdout.splitlines()
    assert lines[0] == "product_id,sku,ean,outcome,rule,message"  # no byte order mark on a terminal
    assert len(lines) == 2 and "positive:price" in lines[1]
    written = client_cli(engine, "report", str(job.id), "--out", str(tmp_path), role="reader")
    assert written.exit_code == 0 and f"job-{job.id}-report.csv" in written.stdout
    assert (tmp_path / f"job-{job.id}-report.csv").read_bytes().decode("utf-8-sig").splitlines() == lines
    assert client_cli(engine, "report", "424242", role="reader").exit_code == 2


def test_template_info_keeps_working_positionally() -> None:
    """TemplateInfo gained `spec` and `created_at` at the end, with defaults: older constructions still work."""
    from pm_exports_client import TemplateInfo

    info = TemplateInfo("n", "d", "csv", 1, False, None, exports_pb2.Template(name="n"))
    assert info.spec == {} and info.created_at is None
