"""`pm-exports notifications`: the in-app notifications (jobs ended, deliveries failed), newest first."""

from __future__ import annotations

import click
import orjson

from engine.cli import AppContext, handle_errors, pass_app
from engine.services.views import NotificationView


def register(main: click.Group) -> None:
    main.add_command(notifications)


def _line(view: NotificationView) -> str:
    mark = " " if view.read else "*"
    return f"{mark} {view.id:>6}  {view.created_at:%Y-%m-%d %H:%M}  job {view.job_id or '-':<6} {view.title}"


@click.command()
@click.option("--unread", is_flag=True, help="Only the unread ones.")
@click.option("--read-all", is_flag=True, help="Mark every notification read (after listing them).")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True, help="How many to list.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, with the full summary.")
@pass_app
@handle_errors
def notifications(app: AppContext, unread: bool, read_all: bool, limit: int, as_json: bool) -> None:
    """List the in-app notifications, newest first (* marks the unread ones)."""
    from engine.services.notifications import list_notifications, mark_read, unread_count

    app.open_db()
    found, _next = list_notifications(unread_only=unread, page_size=limit)
    for view in found:
        click.echo(orjson.dumps(view.to_dict()).decode() if as_json else _line(view))
    if read_all:
        marked = mark_read(everything=True)
        if not as_json:
            click.echo(f"{marked} notification(s) marked read")
    elif not as_json:
        click.echo(f"{unread_count()} unread" if found else "no notifications")
