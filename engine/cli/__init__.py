"""`pm-exports` command line: a thin caller of engine.services. Errors are translated here, once."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from engine.errors import ExportsError
from engine.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class AppContext:
    """What every command gets: the settings, and the database opened (and upgraded) on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._db_open = False

    def open_db(self, *, require_schema: bool = True) -> None:
        if not self._db_open:
            from engine.db import open_database, schema_version, sqlite_path
            from engine.errors import ConfigError

            path = sqlite_path(self.settings)
            missing = path is not None and not path.exists()
            if not missing:
                open_database(self.settings)
                self._db_open = True
            if missing and not require_schema:
                open_database(self.settings)
                self._db_open = True
            if require_schema and (missing or schema_version() is None):
                raise ConfigError(
                    f"the database at {self.settings.effective_database_url} has no schema yet: run "
                    "`pm-exports db upgrade` (or point DATABASE_URL / PM_EXPORTS_VAR_DIR at the right one)"
                )


pass_app = click.make_pass_decorator(AppContext)


def handle_errors(func: F) -> F:
    """Turn engine errors into a one-line message on stderr and exit code 2 (a bad request: bad input, an unknown
    name, or an operation the object's state refuses) or 1 (a failure while doing what was asked)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ExportsError as exc:
            from engine.errors import ConfigError, EmptySelection, InvalidRequest, InvalidState, NotFound

            click.secho(f"error: {exc}", fg="red", err=True)
            bad_input = isinstance(exc, InvalidRequest | NotFound | EmptySelection | ConfigError | InvalidState)
            sys.exit(2 if bad_input else 1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pm-exports")
@click.pass_context
def main(ctx: click.Context) -> None:
    """PM Exports: export the product catalogue to files and sales channels."""
    from engine.logs import configure_logging

    try:
        settings = Settings.from_env()
    except ExportsError as exc:
        raise click.UsageError(str(exc)) from exc
    configure_logging(settings)
    ctx.obj = AppContext(settings)


@main.group()
def db() -> None:
    """Database schema and data files."""


@db.command("upgrade")
@pass_app
@handle_errors
def db_upgrade(app: AppContext) -> None:
    """Create or migrate the schema and load the predefined templates (idempotent)."""
    from engine.services.setup import upgrade

    app.open_db(require_schema=False)
    result = upgrade(app.settings)
    applied = ", ".join(map(str, result["migrations"])) or "none (up to date)"
    click.echo(f"schema version {result['schema_version']}; migrations applied: {applied}")
    for name, state in result["templates"].items():
        click.echo(f"  template {name!r}: {state}")


def run() -> None:
    """The `pm-exports` entry point: main(), exiting quietly when stdout is a pipe closed early (`| head`)."""
    try:
        try:
            main()
        finally:
            sys.stdout.flush()  # inside the try: the interpreter's own flush at exit would print a traceback
    except BrokenPipeError:
        # Python's advice (signal docs, "Note on SIGPIPE"): point stdout at devnull so nothing flushes it again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def _register_subcommands() -> None:
    from engine.cli import catalog, console, export, integrations, jobs, notifications, rpc, schedules

    catalog.register(main)
    console.register(main)
    export.register(main)
    integrations.register(main)
    jobs.register(main)
    notifications.register(main)
    rpc.register(main)
    schedules.register(main)


_register_subcommands()
