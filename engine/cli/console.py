"""`pm-exports admin` (the console) and `pm-exports users` (the console's users)."""

from __future__ import annotations

import sys

import click

from engine.cli import AppContext, handle_errors, pass_app
from engine.models.auth import ROLES


def register(main: click.Group) -> None:
    main.add_command(admin)
    main.add_command(users)


@click.command()
@pass_app
@handle_errors
def admin(app: AppContext) -> None:
    """Serve the admin console (PM_EXPORTS_ADMIN_ADDRESS, default 127.0.0.1:8080) with waitress."""
    from admin.server import serve

    app.open_db()
    serve(app.settings)


@click.group()
def users() -> None:
    """Users of the admin console."""


@users.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="reader", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (default: generate one).")
@pass_app
@handle_errors
def users_create(app: AppContext, username: str, role: str, password_stdin: bool) -> None:
    """Create a user; a generated password is printed once."""
    from engine.services.audit import record
    from engine.services.users import create_user

    app.open_db()
    given = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    password, user = create_user(username, role, given)
    record("cli", "create", "user", user.username, after={"username": user.username, "role": user.role})
    click.echo(f"user {user.username!r} created with the role {user.role}")
    if given is None:
        click.echo(f"password (shown once): {password}")


@users.command("list")
@pass_app
@handle_errors
def users_list(app: AppContext) -> None:
    """List the users."""
    from engine.services.users import list_users

    app.open_db()
    for user in list_users():
        state = "disabled" if user.disabled_at else ("locked" if user.locked_until else "active")
        last = f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never"
        click.echo(f"{user.username}\t{user.role}\t{state}\tlast login {last}")


@users.command("reset-password")
@click.argument("username")
@pass_app
@handle_errors
def users_reset_password(app: AppContext, username: str) -> None:
    """Give a user a new generated password (printed once) and lift a lockout."""
    from engine.services.audit import record
    from engine.services.users import set_password

    app.open_db()
    password, user = set_password(username)
    record("cli", "update", "user", user.username, message="password reset")
    click.echo(f"new password of {user.username!r} (shown once): {password}")
