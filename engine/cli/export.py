"""`pm-exports export` (one-off inline export with a progress bar) and `pm-exports templates list`."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.cli import AppContext, handle_errors, pass_app
from engine.errors import Cancelled
from engine.formats.registry import FORMATS

if TYPE_CHECKING:
    from engine.jobs.runner import LocalChannel


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


SEPARATORS = {";": ";", ",": ",", "tab": "\t", "\\t": "\t", "\t": "\t", "semicolon": ";", "comma": ","}


def build_overrides(opts: dict[str, Any]) -> dict[str, Any]:
    """Translate CLI options into spec overrides."""
    overrides: dict[str, Any] = {}
    if opts["fmt"]:
        overrides["format"] = opts["fmt"]
    if opts.get("deliver"):
        gate = {
            key: opts[opt]
            for key, opt in (("max_excluded_percent", "gate_excluded"), ("max_drop_percent", "gate_drop"))
            if opts.get(opt) is not None
        }
        overrides["deliveries"] = [
            {"integration": name, **({"path": path} if path else {}), **({"gate": gate} if gate else {})}
            for name, _sep, path in (item.partition(":") for item in opts["deliver"])
        ]
    elif opts.get("gate_excluded") is not None or opts.get("gate_drop") is not None:
        raise click.BadParameter("a publish gate needs a delivery: add --deliver NAME", param_hint="--gate-*")
    selection: dict[str, Any] = {}
    for key, opt in (
        ("categories", "category"),
        ("suppliers", "supplier"),
        ("statuses", "status"),
        ("skus", "sku"),
        ("eans", "ean"),
        ("brands", "brand"),
    ):
        values = [v for raw in opts[opt] for v in raw.split(",") if v.strip()] if opt != "category" else list(opts[opt])
        if values:
            selection[key] = [v.strip() for v in values]
    if opts["updated_since"]:
        selection["updated_since"] = opts["updated_since"]
    if opts["min_completeness"] is not None:
        selection["completeness_min"] = opts["min_completeness"]
    if selection:
        overrides["selection"] = selection
    if opts["fields"]:
        overrides["fields"] = [f for f in opts["fields"].split(",") if f.strip()]
    options: dict[str, Any] = {}
    if opts["separator"] is not None:
        sep = SEPARATORS.get(opts["separator"])
        if sep is None:
            raise click.BadParameter("use ';', ',' or 'tab'", param_hint="--separator")
        options["separator"] = sep
    if opts["no_bom"]:
        options["encoding"] = "utf-8"
    if opts["encoding"]:
        options["encoding"] = opts["encoding"]
    if opts["quote_all"]:
        options["quoting"] = "all"
    if opts["no_header"]:
        options["header"] = False
    if opts["pretty"]:
        options["pretty"] = True
    if opts["nested"]:
        options["nested"] = True
    if opts["max_rows"] is not None:
        options["max_rows"] = opts["max_rows"]
    for item in opts["option"]:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--option")
        options[name.strip()] = _option_value(raw)
    if options:
        overrides["options"] = options
    if opts["file_name"]:
        overrides["file_name"] = opts["file_name"]
    if opts["delta"]:
        overrides["delta"] = True
    return overrides


def _option_value(raw: str) -> Any:
    """A format option's value from the command line: JSON when it parses (true, 12, ["a"]), else text."""
    import orjson

    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw


def register(main: click.Group) -> None:
    main.add_command(export)
    main.add_command(templates)
    main.add_command(report)


@contextlib.contextmanager
def cancel_on_signals() -> Iterator[LocalChannel]:
    """SIGINT and SIGTERM cancel the inline job (it stops within one chunk and removes its partial files) instead
    of killing the process mid-write; the previous handlers come back afterwards."""
    from engine.jobs.runner import LocalChannel

    channel = LocalChannel()
    previous = {sig: signal.signal(sig, channel.on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield channel
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command()
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), help="Output format.")
@click.option("--template", "-t", help="Template name (default: the standard template of the format).")
@click.option("--category", multiple=True, help="Category path, name or id, with its sub-categories (repeatable).")
@click.option("--supplier", multiple=True, help="Supplier code or name (repeatable, or comma-separated).")
@click.option(
    "--status",
    multiple=True,
    help="Product status, repeatable or comma-separated (default: the template's own selection, e.g. Standard CSV: "
    "active; Full catalogue XLSX: active, inactive, draft; `templates list` shows each template's).",
)
@click.option("--sku", multiple=True, help="Only these SKUs (repeatable or comma-separated).")
@click.option("--ean", multiple=True, help="Only these EANs (repeatable or comma-separated).")
@click.option("--brand", multiple=True, help="Only these brands (repeatable or comma-separated).")
@click.option("--updated-since", help="Only products updated since this ISO date/time.")
@click.option("--min-completeness", type=click.IntRange(0, 100), help="Only products with at least this score.")
@click.option("--fields", help="Comma-separated columns to keep (headers or field paths), in this order.")
@click.option("--separator", help="CSV separator: ';' (default), ',' or 'tab'.")
@click.option("--no-bom", is_flag=True, help="CSV: UTF-8 without BOM.")
@click.option("--encoding", type=click.Choice(["utf-8-sig", "utf-8", "iso-8859-1"]), help="CSV encoding.")
@click.option("--quote-all", is_flag=True, help="CSV: quote every field.")
@click.option("--no-header", is_flag=True, help="CSV: no header row.")
@click.option("--pretty", is_flag=True, help="JSON: indented.")
@click.option("--nested", is_flag=True, help="JSON: include suppliers, categories, variants and images.")
@click.option("--max-rows", type=int, help="XLSX: product rows per file (then numbered files).")
@click.option(
    "--option",
    "-o",
    multiple=True,
    metavar="NAME=VALUE",
    help="A format option, e.g. -o seller_id=A1SELLER (Amazon feed) or -o escape_formulas=false.",
)
@click.option("--file-name", help="File name pattern: {template} {date} {datetime} {timestamp} {format} {count}.")
@click.option("--delta", is_flag=True, help="Only products changed since the last delta run of this template.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option(
    "--deliver",
    multiple=True,
    metavar="NAME[:PATH]",
    help="Deliver the files to this integration, into PATH (a pattern like the file name; repeatable).",
)
@click.option(
    "--gate-excluded",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help="Publish gate of the --deliver deliveries: hold them when more than PERCENT of the selection is excluded.",
)
@click.option(
    "--gate-drop",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help="Publish gate: hold them when the rows fall by more than PERCENT against the last delivery there.",
)
@pass_app
@handle_errors
def export(app: AppContext, template: str | None, out_dir: Path | None, quiet: bool, **opts: Any) -> None:
    """Export the catalogue now, in this process (no Redis needed)."""
    from engine.services.exports import resolve_request, run_inline

    app.open_db()
    request = resolve_request(template, build_overrides(opts))
    bar: Any = None
    show_bar = not quiet and sys.stderr.isatty()

    def on_progress(p: Any) -> None:
        nonlocal bar
        if not show_bar:
            return
        if bar is None and p.total:
            bar = click.progressbar(
                length=p.total,
                label=f"{request.template_name} → {request.spec.format}",
                show_eta=True,
                show_pos=True,
                file=sys.stderr,
            )
            bar.__enter__()
        if bar is not None:
            bar.update(p.processed - bar.pos)

    with cancel_on_signals() as channel:
        try:
            job, result = run_inline(request, app.settings, out_dir=out_dir, on_progress=on_progress, channel=channel)
        except Cancelled:
            if channel.signal_number is None:
                raise
            if bar is not None:
                bar.__exit__(None, None, None)
                bar = None
            name = signal.Signals(channel.signal_number).name
            click.secho(f"{name}: the export was cancelled and its partial files removed", fg="yellow", err=True)
            sys.exit(128 + channel.signal_number)
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
    rate = result.total / result.seconds if result.seconds > 0 else 0
    click.echo(
        f"Export #{job.id} ({request.template_name}, {request.spec.format}): {plural(result.exported, 'product')} "
        f"exported of {result.total} selected in {result.seconds:.1f} s ({rate:,.0f} products/s)"
    )
    for f in result.files:
        click.echo(f"  {f.path or f.location}  {human_size(f.size)}  {plural(f.rows, 'row')}  sha256 {f.sha256[:12]}…")
    if request.spec.delta:
        click.echo(f"delta: {result.unchanged} unchanged since the last run (not exported), {result.removed} removed")
    if result.warnings:
        click.echo(
            f"{result.warnings} warning(s) (e.g. images that could not be fetched): `pm-exports report {job.id}`"
        )
    for delivery in job.deliveries:
        where = f" → {delivery.target}" if delivery.target else ""
        reason = delivery.held_reason if delivery.status == "held" else delivery.last_error
        outcome = delivery.status if delivery.status == "succeeded" else f"{delivery.status}: {reason}"
        click.echo(f"delivery to {delivery.integration}{where}: {outcome}")
    if result.excluded:
        click.echo(f"{result.excluded} product(s) excluded:")
        for rule, count in sorted(result.excluded_by_rule.items(), key=lambda kv: -kv[1]):
            click.echo(f"  {count:>7}  {rule}")
        for sample in result.samples[:5]:
            click.echo(f"    e.g. product {sample.product_id} ({sample.sku or sample.ean}): {sample.message}")
    if any(d.status in ("failed", "held") for d in job.deliveries):
        sys.exit(1)  # the files are written, a delivery failed or is held: `pm-exports jobs redeliver|release`


@click.group()
def templates() -> None:
    """Export templates."""


@templates.command("list")
@pass_app
@handle_errors
def templates_list(app: AppContext) -> None:
    """List the templates: name, format, version, kind, the product statuses it selects, description."""
    from engine.pipeline.spec import DEFAULT_STATUSES
    from engine.services.templates import list_templates

    app.open_db()
    for tpl in list_templates():
        kind = "predefined" if tpl.predefined else "custom"
        statuses = ",".join((tpl.spec.get("selection") or {}).get("statuses") or DEFAULT_STATUSES)
        click.echo(f"{tpl.name:<28} {tpl.format:<11} v{tpl.version:<3} {kind:<10} {statuses:<21} {tpl.description}")


def _read_spec(path: Path) -> dict[str, Any]:
    """A template file: either the spec itself or {name, description, spec} like the data files."""
    import orjson

    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise click.BadParameter(f"cannot read a JSON template from {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path} must hold a JSON object")
    spec = data.get("spec", data)
    return dict(spec)


@templates.command("show")
@click.argument("name")
@click.option("--version", "version", type=int, help="A saved version (default: the current one).")
@pass_app
@handle_errors
def templates_show(app: AppContext, name: str, version: int | None) -> None:
    """Print a template's spec as JSON."""
    import orjson

    from engine.services.templates import get_template, template_version

    app.open_db()
    spec = template_version(name, version) if version else get_template(name).spec
    click.echo(orjson.dumps(spec, option=orjson.OPT_INDENT_2).decode())


@templates.command("create")
@click.argument("name")
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="JSON file with the spec (format, selection, columns, rules, options, file_name).",
)
@click.option("--description", default="")
@pass_app
@handle_errors
def templates_create(app: AppContext, name: str, file: Path, description: str) -> None:
    """Create a template from a JSON file (validated: errors name the column)."""
    from engine.services.templates import create_template

    app.open_db()
    template = create_template(name, _read_spec(file), description)
    click.echo(f"template {template.name!r} created (version {template.version})")


@templates.command("update")
@click.argument("name")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--description")
@click.option("--rename", "new_name")
@pass_app
@handle_errors
def templates_update(
    app: AppContext, name: str, file: Path | None, description: str | None, new_name: str | None
) -> None:
    """Update a custom template; a changed spec becomes a new version."""
    from engine.services.templates import update_template

    app.open_db()
    template = update_template(
        name, spec=_read_spec(file) if file else None, description=description, new_name=new_name
    )
    click.echo(f"template {template.name!r} is at version {template.version}")


@templates.command("copy")
@click.argument("name")
@click.argument("new_name")
@pass_app
@handle_errors
def templates_copy(app: AppContext, name: str, new_name: str) -> None:
    """Copy a template (predefined ones are read-only: copy them to adapt them)."""
    from engine.services.templates import copy_template

    app.open_db()
    click.echo(f"template {copy_template(name, new_name).name!r} created")


@templates.command("delete")
@click.argument("name")
@pass_app
@handle_errors
def templates_delete(app: AppContext, name: str) -> None:
    """Delete a custom template (past jobs keep their snapshot)."""
    from engine.services.templates import delete_template

    app.open_db()
    delete_template(name)
    click.echo(f"template {name!r} deleted")


@templates.command("versions")
@click.argument("name")
@pass_app
@handle_errors
def templates_versions(app: AppContext, name: str) -> None:
    """List a template's saved versions."""
    from engine.services.templates import template_versions

    app.open_db()
    for v in template_versions(name):
        click.echo(
            f"v{v.version}  {v.created_at:%Y-%m-%d %H:%M:%S}  {v.spec['format']}  {len(v.spec['columns'])} columns"
        )


@click.command()
@click.argument("job_id", type=int)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@pass_app
@handle_errors
def report(app: AppContext, job_id: int, out_file: Path | None) -> None:
    """A job's report as CSV: each excluded product with the rule it broke, then the warnings."""
    from engine.services.jobs import get_job
    from engine.services.reports import report_csv

    app.open_db()
    get_job(job_id)
    if out_file is None:
        for line in report_csv(job_id):
            click.echo(line, nl=False)
        return
    try:
        with out_file.open("w", encoding="utf-8-sig", newline="") as fh:
            fh.writelines(report_csv(job_id))
    except OSError as exc:
        raise click.ClickException(f"cannot write {out_file}: {exc.strerror or exc}") from exc
    click.echo(f"report of job {job_id} written to {out_file}")
