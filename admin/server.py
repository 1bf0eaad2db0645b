"""Serve the console with waitress (a production WSGI server), on PM_EXPORTS_ADMIN_ADDRESS."""

from __future__ import annotations

from waitress.server import create_server

from admin import create_app
from engine.errors import ConfigError
from engine.settings import Settings

THREADS = 16  # each open job page holds one for its event stream (which ends after a few minutes, then resumes)


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"PM_EXPORTS_ADMIN_ADDRESS: {address!r} is not host:port")
    return host.strip("[]"), int(port)


def serve(settings: Settings) -> None:
    """Run the console until interrupted; prints the URL once it listens."""
    host, port = split_address(settings.admin_address)
    app = create_app(settings)
    try:
        server = create_server(app, host=host, port=port, threads=THREADS, send_bytes=1, ident="pm-exports")
    except OSError as exc:
        raise ConfigError(f"cannot listen on {settings.admin_address}: {exc.strerror or exc}") from None
    print(f"console listening on http://{host}:{server.effective_port}/", flush=True)
    server.run()
