"""`pm-exports serve` (the gRPC engine), `pm-exports apikey ...` and `pm-exports client ...` (the API through
the typed Python client: how a newcomer tries it, and a handy tool for scripts)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson

from engine.cli import AppContext, handle_errors, pass_app
from engine.formats.registry import FORMATS  # names only: the writers' modules are imported when used

if TYPE_CHECKING:
    from pm_exports_client import ExportsClient, Job, JobEvent

F = TypeVar("F", bound=Callable[..., Any])


def register(main: click.Group) -> None:
    main.add_command(serve)
    main.add_command(apikey)
    main.add_command(client)


# --- serve --------------------------------------------------------------------------------------------------


@click.command()
@click.option("--address", help="host:port to listen on (default: PM_EXPORTS_GRPC_ADDRESS, 127.0.0.1:50051).")
@click.option("--grace", default=10.0, show_default=True, help="Seconds given to running calls at shutdown.")
@pass_app
@handle_errors
def serve(app: AppContext, address: str | None, grace: float) -> None:
    """Run the gRPC engine until SIGINT or SIGTERM, then drain it."""
    from engine.rpc.server import create_server

    app.open_db()
    server, port = create_server(app.settings, address)
    server.start()
    host = (address or app.settings.grpc_address).rsplit(":", 1)[0]
    scheme = "TLS" if app.settings.tls_cert else "plaintext"
    if app.settings.tls_client_ca:
        scheme = "mutual TLS"
    click.echo(f"PM Exports gRPC engine listening on {host}:{port} ({scheme}); Ctrl-C stops it", err=True)
    done = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        click.echo(f"{signal.Signals(signum).name}: stopping (grace {grace:g} s)", err=True)
        done.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop(grace).wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("stopped", err=True)


# --- apikey -------------------------------------------------------------------------------------------------


@click.group()
def apikey() -> None:
    """API keys of the gRPC API."""


@apikey.command("create")
@click.option("--name", required=True, help="Who uses the key, e.g. erp or pim.")
@click.option("--role", type=click.Choice(["reader", "manager", "admin"]), required=True, help="What it may do.")
@pass_app
@handle_errors
def apikey_create(app: AppContext, name: str, role: str) -> None:
    """Make a key and print it (this once: only its hash is stored)."""
    from engine.services.apikeys import create_api_key

    app.open_db()
    key, row = create_api_key(name, role)
    click.echo(key)
    click.echo(f"API key {row.prefix} for {name!r} ({role}). It is shown only now: store it safely.", err=True)
    click.echo(f"  export PM_EXPORTS_API_KEY={key}", err=True)


@apikey.command("list")
@pass_app
@handle_errors
def apikey_list(app: AppContext) -> None:
    """List the keys (never their secrets)."""
    from engine.services.apikeys import list_api_keys

    app.open_db()
    for row in list_api_keys():
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        click.echo(f"{row.id:>4}  {row.prefix}  {row.role:<8} {row.name:<24} last used {used:<16}  {state}")


@apikey.command("revoke")
@click.argument("key")
@pass_app
@handle_errors
def apikey_revoke(app: AppContext, key: str) -> None:
    """Revoke a key, named by its id or prefix."""
    from engine.services.apikeys import revoke_api_key

    app.open_db()
    row = revoke_api_key(key)
    click.echo(f"API key {row.prefix} ({row.name}) revoked")


# --- client -------------------------------------------------------------------------------------------------


@dataclass
class ClientOptions:
    target: str
    api_key: str | None
    tls: bool
    ca_cert: Path | None
    client_cert: Path | None
    client_key: Path | None
    timeout: float

    def connect(self) -> ExportsClient:
        from pm_exports_client import ExportsClient

        if not self.api_key:
            raise click.UsageError(
                "no API key: pass --api-key or set PM_EXPORTS_API_KEY (see `pm-exports apikey create`)"
            )
        return ExportsClient(
            self.target,
            self.api_key,
            tls=self.tls,
            root_certificates=self.ca_cert,
            client_cert=self.client_cert,
            client_key=self.client_key,
            timeout=self.timeout,
        )


pass_client = click.make_pass_decorator(ClientOptions)
_EXIT_2 = {"INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "ALREADY_EXISTS", "OUT_OF_RANGE"}


def handle_rpc_errors(func: F) -> F:
    """gRPC errors as one line on stderr; exit 2 for a bad request, 1 otherwise."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import grpc
        from pm_exports_client import DownloadError

        try:
            return func(*args, **kwargs)
        except grpc.RpcError as exc:
            code = exc.code().name
            click.secho(f"error: {code}: {exc.details()}", fg="red", err=True)
            if code == "UNAVAILABLE":
                click.echo("  is `pm-exports serve` running at that address (--target / PM_EXPORTS_TARGET)?", err=True)
            sys.exit(2 if code in _EXIT_2 else 1)
        except DownloadError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(1)
        except ValueError as exc:  # the typed client refuses a bad argument before calling
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(2)
        except BrokenPipeError:  # stdout closed early (`| head`): engine.cli.run exits quietly
            raise
        except OSError as exc:  # writing a download or a report
            where = f" {exc.filename}" if exc.filename else ""
            click.secho(f"error: cannot write{where}: {exc.strerror or exc}", fg="red", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group()
@click.option(
    "--target",
    envvar="PM_EXPORTS_TARGET",
    default="127.0.0.1:50051",
    show_default=True,
    help="host:port of the engine (env PM_EXPORTS_TARGET).",
)
@click.option("--api-key", envvar="PM_EXPORTS_API_KEY", help="API key (env PM_EXPORTS_API_KEY).")
@click.option("--tls", is_flag=True, help="Connect with TLS (implied by the certificate options).")
@click.option(
    "--ca-cert",
    envvar="PM_EXPORTS_CA_CERT",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CA certificate (PEM) to trust (env PM_EXPORTS_CA_CERT).",
)
@click.option(
    "--client-cert",
    envvar="PM_EXPORTS_CLIENT_CERT",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Client certificate for mutual TLS.",
)
@click.option(
    "--client-key",
    envvar="PM_EXPORTS_CLIENT_KEY",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Key of the client certificate.",
)
@click.option("--timeout", default=60.0, show_default=True, help="Seconds for each non-streaming call.")
@click.pass_context
def client(ctx: click.Context, **options: Any) -> None:
    """Call a running engine through the gRPC API."""
    ctx.obj = ClientOptions(**options)


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for raw in values for v in raw.split(",") if v.strip()]


def _overrides(
    fmt: str | None,
    category: tuple[str, ...],
    status: tuple[str, ...],
    sku: tuple[str, ...],
    supplier: tuple[str, ...],
    fields: str | None,
    file_name: str | None,
    option: tuple[str, ...],
) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if fmt:
        overrides["format"] = fmt
    selection: dict[str, Any] = {}
    if category:
        selection["categories"] = list(category)
    for key, values in (("statuses", status), ("skus", sku), ("suppliers", supplier)):
        if values:
            selection[key] = _split(values)
    if selection:
        overrides["selection"] = selection
    if fields:
        overrides["fields"] = [f.strip() for f in fields.split(",") if f.strip()]
    if file_name:
        overrides["file_name"] = file_name
    options: dict[str, Any] = {}
    for item in option:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r}: use NAME=VALUE", param_hint="--option")
        try:
            options[name.strip()] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            options[name.strip()] = raw  # plain text, e.g. separator=,
    if options:
        overrides["options"] = options
    return overrides


def export_options(func: F) -> F:
    for decorator in reversed(
        [
            click.option("--template", "-t", help="Template name (default: the standard template of the format)."),
            click.option("--format", "fmt", help=f"Output format: {', '.join(sorted(FORMATS))}."),
            click.option("--category", multiple=True, help="Category path or name, with sub-categories (repeatable)."),
            click.option("--status", multiple=True, help="Product statuses (repeatable or comma-separated)."),
            click.option("--sku", multiple=True, help="Only these SKUs (repeatable or comma-separated)."),
            click.option("--supplier", multiple=True, help="Supplier code or name (repeatable or comma-separated)."),
            click.option("--fields", help="Comma-separated columns to keep (headers or field paths), in this order."),
            click.option("--file-name", help="File name pattern, e.g. '{template}-{date}'."),
            click.option(
                "--option", "-o", multiple=True, help="Format option NAME=VALUE (a JSON value), e.g. -o pretty=true."
            ),
        ]
    ):
        func = decorator(func)
    return func


def _event_line(event: JobEvent) -> str:
    eta = f" eta {event.eta:.0f}s" if event.eta is not None else ""
    rate = f" {event.rate:,.0f}/s" if event.rate else ""
    note = f"  {event.message}" if event.message else ""
    return (
        f"#{event.seq:<4} job {event.job_id} {event.status:<9} {event.phase:<10} "
        f"{event.processed}/{event.total} exported {event.exported} excluded {event.excluded}{rate}{eta}{note}"
    )


def follow_with_progress(events: Iterator[JobEvent], quiet: bool) -> JobEvent | None:
    """Draw a progress bar on a terminal (event lines elsewhere) from a job's events; returns the last one."""
    tty = sys.stderr.isatty()
    bar: Any = None
    last: JobEvent | None = None
    try:
        for event in events:
            last = event
            if quiet:
                continue
            if not tty:
                click.echo(_event_line(event), err=True)
                continue
            if bar is None and event.total:
                bar = click.progressbar(
                    length=event.total, label=f"job {event.job_id}", show_eta=True, show_pos=True, file=sys.stderr
                )
                bar.__enter__()
            if bar is not None:
                bar.label = f"job {event.job_id} {event.phase}"
                bar.update(max(event.processed - bar.pos, 0))
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    return last


def _print_job(job: Job) -> None:
    when = f"{job.created_at:%Y-%m-%d %H:%M:%S}" if job.created_at else ""
    click.echo(
        f"{job.id:>6}  {job.status:<9} {job.phase:<10} {job.template:<24} {job.processed:>8}/{job.total:<8} "
        f"{job.requested_by:<16} {when}"
    )


def _download_all(api: ExportsClient, job_id: int, artifacts: Any, out: Path) -> None:
    from engine.cli.export import human_size

    out.mkdir(parents=True, exist_ok=True)
    for artifact in artifacts:
        path = api.download(job_id, out, artifact_id=artifact.id)
        click.echo(
            f"  {path}  {human_size(artifact.size)}  {artifact.rows} rows  sha256 {artifact.sha256[:12]}… (verified)"
        )


@client.command("run-export")
@export_options
@click.option("--background", is_flag=True, help="Queue the job for a worker even when it is small.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to download the files.",
)
@click.option("--no-download", is_flag=True, help="Do not download the files.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@pass_client
@handle_rpc_errors
def client_run_export(
    opts: ClientOptions,
    template: str | None,
    fmt: str | None,
    background: bool,
    out_dir: Path,
    no_download: bool,
    quiet: bool,
    **selection: Any,
) -> None:
    """Start an export, follow its progress, then download its files."""
    overrides = _overrides(fmt, **selection)
    with opts.connect() as api:
        last = follow_with_progress(api.run_export(template, background=background, **overrides), quiet)
        if last is None:  # pragma: no cover - a stream always ends with a terminal event or an error
            raise click.ClickException("the engine sent no event")
        click.echo(
            f"Export #{last.job_id}: {last.status} — {last.exported} exported of {last.total}, "
            f"{last.excluded} excluded{', ' + last.message if last.message else ''}"
        )
        if last.artifacts and not no_download:
            _download_all(api, last.job_id, last.artifacts, out_dir)
    if last.status not in {"succeeded", "partial"}:
        sys.exit(1)


@client.command("jobs")
@click.option("--status", multiple=True, help="Only these statuses (repeatable or comma-separated).")
@click.option("--template", help="Only jobs of this template.")
@click.option("--limit", default=20, show_default=True, help="Jobs to show (newest first).")
@pass_client
@handle_rpc_errors
def client_jobs(opts: ClientOptions, status: tuple[str, ...], template: str | None, limit: int) -> None:
    """List export jobs, newest first."""
    with opts.connect() as api:
        jobs = api.iter_jobs(statuses=_split(status), template=template, page_size=min(limit, 200))
        for shown, job in enumerate(jobs, start=1):
            _print_job(job)
            if shown >= limit:
                break


@client.command("job")
@click.argument("job_id", type=int)
@pass_client
@handle_rpc_errors
def client_job(opts: ClientOptions, job_id: int) -> None:
    """Show one job (as JSON)."""
    import dataclasses

    with opts.connect() as api:
        job = api.get_job(job_id)
    click.echo(orjson.dumps(dataclasses.asdict(job), default=str, option=orjson.OPT_INDENT_2).decode())


@client.command("watch")
@click.argument("job_id", type=int)
@click.option("--after-seq", default=0, show_default=True, help="Only events after this seq.")
@pass_client
@handle_rpc_errors
def client_watch(opts: ClientOptions, job_id: int, after_seq: int) -> None:
    """Print the events of a job until it ends (reconnecting if the engine restarts)."""
    with opts.connect() as api:
        for event in api.watch(job_id, after_seq=after_seq):
            click.echo(_event_line(event))


@client.command("cancel")
@click.argument("job_id", type=int)
@pass_client
@handle_rpc_errors
def client_cancel(opts: ClientOptions, job_id: int) -> None:
    """Cancel a queued or running job."""
    with opts.connect() as api:
        _print_job(api.cancel(job_id))


@client.command("retry")
@click.argument("job_id", type=int)
@pass_client
@handle_rpc_errors
def client_retry(opts: ClientOptions, job_id: int) -> None:
    """Run a failed, cancelled or partial job again (as a new job)."""
    with opts.connect() as api:
        _print_job(api.retry(job_id))


@client.command("download")
@click.argument("job_id", type=int)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to write the files into.",
)
@click.option("--artifact-id", type=int, help="Only this file of the job (default: all of them).")
@pass_client
@handle_rpc_errors
def client_download(opts: ClientOptions, job_id: int, out_dir: Path, artifact_id: int | None) -> None:
    """Download the files of a job (size and SHA-256 checked)."""
    with opts.connect() as api:
        artifacts = api.get_job(job_id).artifacts
        if artifact_id is not None:
            artifacts = tuple(a for a in artifacts if a.id == artifact_id) or artifacts[:0]
        if not artifacts:
            raise click.ClickException(f"job {job_id} has no such file")
        _download_all(api, job_id, artifacts, out_dir)


@client.command("preview")
@export_options
@click.option("--limit", default=10, show_default=True, help="Rows to show.")
@pass_client
@handle_rpc_errors
def client_preview(opts: ClientOptions, template: str | None, fmt: str | None, limit: int, **selection: Any) -> None:
    """Show the first rows an export would write, and what it would exclude."""
    with opts.connect() as api:
        preview = api.preview(template, limit=limit, **_overrides(fmt, **selection))
    click.echo(f"{preview.template} ({preview.format}): {preview.total} product(s) selected")
    click.echo("\t".join(preview.headers))
    for row in preview.rows:
        click.echo("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in row))
    for rule, count in sorted(preview.excluded_by_rule.items(), key=lambda kv: -kv[1]):
        click.echo(f"excluded by {rule}: {count}")
    if preview.incomplete:
        click.echo(f"incomplete: {preview.incomplete}")


@client.group("templates", invoke_without_command=True)
@click.pass_context
def client_templates(ctx: click.Context) -> None:
    """Export templates (alone: list them)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(client_templates_list)


@client_templates.command("list")
@pass_client
@handle_rpc_errors
def client_templates_list(opts: ClientOptions) -> None:
    """List the export templates."""
    with opts.connect() as api:
        for tpl in api.list_templates():
            kind = "predefined" if tpl.predefined else "custom"
            click.echo(f"{tpl.name:<28} {tpl.format:<6} v{tpl.version:<3} {kind:<10} {tpl.description}")


@client_templates.command("show")
@click.argument("name")
@click.option("--version", "version", type=int, help="A saved version (default: the current one).")
@pass_client
@handle_rpc_errors
def client_templates_show(opts: ClientOptions, name: str, version: int | None) -> None:
    """Print a template's spec as JSON (a file `templates create --file` takes back)."""
    with opts.connect() as api:
        spec = api.get_template(name, version).spec
    click.echo(orjson.dumps(spec, option=orjson.OPT_INDENT_2).decode())


def _spec_file(path: Path) -> dict[str, Any]:
    """A template file: the spec itself, or {name, description, spec} like the data files (as the local
    `pm-exports templates create` reads it)."""
    from engine.cli.export import _read_spec

    return _read_spec(path)


_SPEC_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@client_templates.command("create")
@click.argument("name")
@click.option(
    "--file", "file", type=_SPEC_FILE, required=True, help="JSON file with the spec (as `templates show` prints it)."
)
@click.option("--description", default="", help="What it is for.")
@pass_client
@handle_rpc_errors
def client_templates_create(opts: ClientOptions, name: str, file: Path, description: str) -> None:
    """Create a template from a JSON file (checked by the engine: errors name the column)."""
    with opts.connect() as api:
        tpl = api.create_template(name, _spec_file(file), description)
    click.echo(f"template {tpl.name!r} created (version {tpl.version})")


@client_templates.command("update")
@click.argument("name")
@click.option("--file", "file", type=_SPEC_FILE, help="JSON file with the new spec (a new version if it differs).")
@click.option("--description", help="New description.")
@click.option("--rename", "new_name", help="New name.")
@pass_client
@handle_rpc_errors
def client_templates_update(
    opts: ClientOptions, name: str, file: Path | None, description: str | None, new_name: str | None
) -> None:
    """Update a custom template; a changed spec becomes a new version."""
    spec = _spec_file(file) if file else None
    with opts.connect() as api:
        tpl = api.update_template(name, spec=spec, description=description, new_name=new_name)
    click.echo(f"template {tpl.name!r} is at version {tpl.version}")


@client_templates.command("copy")
@click.argument("name")
@click.argument("new_name")
@pass_client
@handle_rpc_errors
def client_templates_copy(opts: ClientOptions, name: str, new_name: str) -> None:
    """Copy a template (predefined ones are read-only: copy them to adapt them)."""
    with opts.connect() as api:
        click.echo(f"template {api.copy_template(name, new_name).name!r} created")


@client_templates.command("delete")
@click.argument("name")
@pass_client
@handle_rpc_errors
def client_templates_delete(opts: ClientOptions, name: str) -> None:
    """Delete a custom template (needs an admin key; past jobs keep their snapshot)."""
    with opts.connect() as api:
        api.delete_template(name)
    click.echo(f"template {name!r} deleted")


@client_templates.command("versions")
@click.argument("name")
@pass_client
@handle_rpc_errors
def client_templates_versions(opts: ClientOptions, name: str) -> None:
    """List a template's saved versions."""
    with opts.connect() as api:
        for v in api.template_versions(name):
            when = f"{v.created_at:%Y-%m-%d %H:%M:%S}" if v.created_at else ""
            click.echo(f"v{v.version}  {when}  {v.format}  {v.columns} columns")


@client.command("report")
@click.argument("job_id", type=int)
@click.option(
    "--out",
    "out_path",
    type=click.Path(),
    help="Write it to this file (its folder must exist), or into this folder as job-N-report.csv when the path is "
    "an existing folder or ends with '/', instead of printing it.",
)
@pass_client
@handle_rpc_errors
def client_report(opts: ClientOptions, job_id: int, out_path: str | None) -> None:
    """A job's report as CSV: each excluded product with the rule it broke, then the warnings."""
    import codecs

    target = None if out_path is None else _report_target(out_path)
    with opts.connect() as api:
        if target is not None:
            written = api.download_report(job_id, target)
            where = f"into the folder {target} as {written.name}" if target.is_dir() else f"to the file {written}"
            click.echo(f"report of job {job_id} written {where}")
            return
        decoder = codecs.getincrementaldecoder("utf-8-sig")()  # the byte order mark is for spreadsheets
        for chunk in api.iter_report(job_id):
            click.echo(decoder.decode(chunk), nl=False)
        click.echo(decoder.decode(b"", final=True), nl=False)


def _report_target(out_path: str) -> Path:
    """--out as a folder (an existing one, or one ending with '/', created) or as a file whose folder exists."""
    target = Path(out_path)
    if out_path.endswith(("/", os.sep)) or target.is_dir():
        if target.exists() and not target.is_dir():
            raise click.BadParameter(f"{out_path} is a file, not a folder", param_hint="--out")
        target.mkdir(parents=True, exist_ok=True)
        return target
    if not target.parent.is_dir():
        raise click.BadParameter(
            f"the folder {target.parent} does not exist (end the path with '/' to write into a new folder)",
            param_hint="--out",
        )
    return target


@client.command("upsert")
@click.argument("file", type=click.File("rb"))
@pass_client
@handle_rpc_errors
def client_upsert(opts: ClientOptions, file: Any) -> None:
    """Create or update the products of a JSON Lines file (one product object per line)."""
    bad_lines: list[tuple[int, str]] = []
    line_of: list[int] = []  # line number of each product sent

    def products() -> Iterator[dict[str, Any]]:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                data = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                bad_lines.append((number, f"not JSON: {exc}"))
                continue
            if not isinstance(data, dict):
                bad_lines.append((number, "not a JSON object"))
                continue
            line_of.append(number)
            yield data

    with opts.connect() as api:
        summary = api.upsert_products(products())
    click.echo(
        f"{summary.received + len(bad_lines)} product(s) read: {summary.created} created, "
        f"{summary.updated} updated, {summary.rejected + len(bad_lines)} rejected"
    )
    problems = [(line_of[r.index], f"{r.sku or r.ean or ''}: {r.reason}".lstrip(": ")) for r in summary.rejections]
    for number, reason in sorted([*problems, *bad_lines]):
        click.echo(f"  line {number}: {reason}")
    if summary.rejections_truncated:
        click.echo("  (more rejections not listed)")
    if summary.rejected or bad_lines:
        sys.exit(1)


@client.command("product")
@click.option("--id", "product_id", type=int, help="By id.")
@click.option("--sku", help="By SKU.")
@click.option("--ean", help="By EAN.")
@pass_client
@handle_rpc_errors
def client_product(opts: ClientOptions, product_id: int | None, sku: str | None, ean: str | None) -> None:
    """Show one product (as JSON)."""
    if sum(v is not None for v in (product_id, sku, ean)) != 1:
        raise click.UsageError("give exactly one of --id, --sku or --ean")
    with opts.connect() as api:
        data = api.get_product(id=product_id, sku=sku, ean=ean)
    click.echo(orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2).decode())


@client.command("delete")
@click.option("--id", "ids", multiple=True, type=int, help="Product id (repeatable).")
@click.option("--sku", "skus", multiple=True, help="SKU (repeatable or comma-separated).")
@click.option("--ean", "eans", multiple=True, help="EAN (repeatable or comma-separated).")
@pass_client
@handle_rpc_errors
def client_delete(opts: ClientOptions, ids: tuple[int, ...], skus: tuple[str, ...], eans: tuple[str, ...]) -> None:
    """Delete products by id, SKU or EAN."""
    with opts.connect() as api:
        deleted = api.delete_products(ids=ids, skus=_split(skus), eans=_split(eans))
    click.echo(f"{deleted} product(s) deleted")
