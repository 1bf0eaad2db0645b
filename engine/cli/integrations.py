"""`pm-exports integrations ...`, `pm-exports secrets rotate` and `pm-exports jobs show|redeliver|release`.

Secrets are never taken from the command line alone: `--secret NAME` prompts for the value (hidden), or reads
it from the environment variable `PM_SECRET_<NAME>`; `--secrets-stdin` reads a JSON object from stdin.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
import orjson

from engine.cli import AppContext, handle_errors, pass_app
from engine.services.views import DeliveryView, IntegrationView

SECRET_ENV_PREFIX = "PM_SECRET_"  # noqa: S105 - a variable name prefix, not a secret
MAX_STDIN = 1024 * 1024


def register(main: click.Group) -> None:
    main.add_command(integrations)
    main.add_command(secrets)
    main.add_command(jobs)


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE", param_hint="--set")
        out[key.strip()] = value
    return out


def _secrets(names: tuple[str, ...], from_stdin: bool) -> dict[str, str]:
    """Secret values from stdin (JSON), the environment (PM_SECRET_<NAME>) or a hidden prompt; never argv."""
    values: dict[str, str] = {}
    if from_stdin:
        raw = sys.stdin.buffer.read(MAX_STDIN + 1)
        if len(raw) > MAX_STDIN:
            raise click.BadParameter("at most 1 MiB of JSON", param_hint="--secrets-stdin")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise click.BadParameter("stdin must hold a JSON object of secrets", param_hint="--secrets-stdin") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise click.BadParameter("stdin must hold a JSON object of text values", param_hint="--secrets-stdin")
        values.update({str(k): v for k, v in data.items()})
    for name in names:
        env = os.environ.get(SECRET_ENV_PREFIX + name.upper())
        values[name] = env if env is not None else click.prompt(f"{name}", hide_input=True, default="")
    return values


def _show(view: IntegrationView) -> None:
    click.echo(f"{view.name}  ({view.kind})")
    for key, value in sorted(view.settings.items()):
        click.echo(f"  {key} = {value}")
    for key, masked in view.masked_secrets().items():
        click.echo(f"  {key} = {masked} (secret)")
    if view.tested_at:
        outcome = "ok" if view.test_ok else "FAILED"
        click.echo(f"  last test {view.tested_at:%Y-%m-%d %H:%M}: {outcome} {view.test_message}")
    if view.disabled_reason:
        click.echo(f"  DISABLED: {view.disabled_reason} (a successful `integrations test` enables it again)")
    elif view.consecutive_failures:
        click.echo(f"  {view.consecutive_failures} failed delivery(ies) in a row")


@click.group()
def integrations() -> None:
    """Integrations: named connections to S3, FTP/FTPS, SFTP, SMTP and webhooks, with encrypted secrets."""


secret_options = [
    click.option("--set", "values", multiple=True, metavar="NAME=VALUE", help="A setting (repeatable)."),
    click.option("--secret", "secret_names", multiple=True, metavar="NAME",
                 help=f"A secret to prompt for, or read from ${SECRET_ENV_PREFIX}<NAME> (repeatable)."),
    click.option("--secrets-stdin", is_flag=True, help="Read the secrets as a JSON object from stdin."),
]  # fmt: skip


def with_secret_options(func: Any) -> Any:
    for option in reversed(secret_options):
        func = option(func)
    return func


@integrations.command("create")
@click.argument("name")
@click.option("--kind", required=True, help="local, s3, ftp, ftps, sftp, smtp or webhook.")
@with_secret_options
@pass_app
@handle_errors
def integrations_create(
    app: AppContext, name: str, kind: str, values: tuple[str, ...], secret_names: tuple[str, ...], secrets_stdin: bool
) -> None:
    """Create an integration."""
    from engine.services.integrations import create_integration

    app.open_db()
    view = create_integration(app.settings, name, kind, _pairs(values), _secrets(secret_names, secrets_stdin))
    _show(view)


@integrations.command("update")
@click.argument("name")
@click.option("--rename", help="A new name.")
@with_secret_options
@pass_app
@handle_errors
def integrations_update(
    app: AppContext,
    name: str,
    rename: str | None,
    values: tuple[str, ...],
    secret_names: tuple[str, ...],
    secrets_stdin: bool,
) -> None:
    """Change settings (NAME= removes one) or secrets of an integration; the others are kept."""
    from engine.services.integrations import update_integration

    app.open_db()
    secret_values = _secrets(secret_names, secrets_stdin)
    _show(update_integration(app.settings, name, _pairs(values), secret_values, rename=rename))


@integrations.command("list")
@pass_app
@handle_errors
def integrations_list(app: AppContext) -> None:
    """List the integrations (secrets masked)."""
    from engine.services.integrations import list_integrations

    app.open_db()
    for view in list_integrations(app.settings):
        tested = "never tested" if view.test_ok is None else ("test ok" if view.test_ok else "test FAILED")
        secrets = ", ".join(view.secrets_set) or "-"
        click.echo(f"{view.name:<28} {view.kind:<8} {view.status:<8} {tested:<13} secrets: {secrets}")


@integrations.command("show")
@click.argument("name")
@pass_app
@handle_errors
def integrations_show(app: AppContext, name: str) -> None:
    """Show an integration (secrets masked)."""
    from engine.services.integrations import get_integration

    app.open_db()
    _show(get_integration(app.settings, name))


@integrations.command("test")
@click.argument("name")
@click.option("--trust", is_flag=True, help="Store what the test learned (an SFTP server's host key).")
@pass_app
@handle_errors
def integrations_test(app: AppContext, name: str, trust: bool) -> None:
    """Connect, authenticate, write and delete a probe file; exit 1 when it fails."""
    from engine.services.integrations import test_integration

    app.open_db()
    probe = test_integration(app.settings, name, trust=trust)
    click.echo(f"{'ok' if probe.ok else 'FAILED'} in {probe.latency_ms:.0f} ms: {probe.message}")
    for key, value in probe.details.items():
        click.echo(f"  {key}: {value}")
    if probe.trusted:
        click.echo(f"  stored: {', '.join(probe.trusted)}")
    if not probe.ok:
        sys.exit(1)


@integrations.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
@handle_errors
def integrations_delete(app: AppContext, name: str, yes: bool) -> None:
    """Delete an integration (past deliveries keep its name)."""
    from engine.services.integrations import delete_integration

    app.open_db()
    if not yes:
        click.confirm(f"delete the integration {name!r}?", abort=True)
    delete_integration(name)
    click.echo(f"deleted {name}")


@click.group()
def secrets() -> None:
    """The key that encrypts integration secrets."""


@secrets.command("rotate")
@pass_app
@handle_errors
def secrets_rotate(app: AppContext) -> None:
    """Re-encrypt every integration's secrets with the first key of PM_EXPORTS_SECRET_KEY (the older keys, listed
    after it, must still be there to read them); then the older keys can be removed."""
    from engine.services.integrations import rotate_secrets

    app.open_db()
    click.echo(f"re-encrypted the secrets of {rotate_secrets(app.settings)} integration(s)")


@click.group()
def jobs() -> None:
    """Jobs in the local database: show one with its files and deliveries, send its files again."""


def _delivery_line(d: DeliveryView) -> str:
    where = f" → {d.target}" if d.target else ""
    error = f": {d.last_error}" if d.last_error and d.status != "succeeded" else ""
    if d.status == "held":
        error = f": {d.held_reason}"
    return f"  delivery #{d.id} {d.integration}{where}: {d.status} ({d.attempts} attempt(s)){error}"


@jobs.command("show")
@click.argument("job_id", type=int)
@pass_app
@handle_errors
def jobs_show(app: AppContext, job_id: int) -> None:
    """A job's state, files and deliveries (with their receipts)."""
    from engine.services.jobs import get_job

    app.open_db()
    job = get_job(job_id)
    click.echo(f"job #{job.id} ({job.kind}, {job.template_name}): {job.status}")
    if job.schedule:
        due = f" due {job.due_at:%Y-%m-%d %H:%M} UTC" if job.due_at else ""
        click.echo(f"  run of schedule {job.schedule}{due}")
    if job.error:
        click.echo(f"  {job.error}")
    click.echo(f"  {job.exported} exported, {job.excluded} excluded of {job.total}")
    for a in job.artifacts:
        click.echo(f"  file {a.name}  {a.size} bytes  {a.rows} rows  sha256 {a.sha256[:12]}…")
    for d in job.deliveries:
        click.echo(_delivery_line(d))
        for r in d.receipts:
            click.echo(f"    {r.get('remote')}  {r.get('size')} bytes  {r.get('checksum') or ''}")


@jobs.command("redeliver")
@click.argument("job_id", type=int)
@click.option("--to", "to", help="Send to this integration (default: the deliveries that failed).")
@click.option("--force", is_flag=True, help="Send whatever the publish gate says (held deliveries too).")
@pass_app
@handle_errors
def jobs_redeliver(app: AppContext, job_id: int, to: str | None, force: bool) -> None:
    """Send a finished job's files again, now, from this process."""
    from engine.services.deliveries import redeliver

    app.open_db()
    _report(redeliver(app.settings, job_id, to, inline=True, force=force))


@jobs.command("release")
@click.argument("job_id", type=int)
@click.option("--to", "to", help="Release only the delivery to this integration (default: every held one).")
@pass_app
@handle_errors
def jobs_release(app: AppContext, job_id: int, to: str | None) -> None:
    """Send a job's deliveries that the publish gate held, now, from this process."""
    from engine.services.deliveries import release

    app.open_db()
    _report(release(app.settings, job_id, to, inline=True))


def _report(views: list[DeliveryView]) -> None:
    """One line per delivery; exit code 1 when one failed or is held."""
    for d in views:
        click.echo(_delivery_line(d))
    if any(d.status in ("failed", "held") for d in views):
        sys.exit(1)
