"""The `serve` command: the web page and JSON API on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import click

from archive.cli.common import cli, cli_archive, data_dir, db_option, echo_err


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cli.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (127.0.0.1: this machine only)."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port to listen on; 0 picks a free one (printed).",
)
@click.option(
    "--export-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep exports made on the page in this folder (default: a temporary folder removed on exit).",
)
@db_option
def serve(host: str, port: int, export_dir: Path | None, db_url: str) -> None:
    """Serve the archive as a web page (Danish, English available) with a JSON API.

    Search with filters and a chart of articles per month, article pages with versions and
    their changes, citation lines, and exports of any search. The API is described at
    /api/openapi.json. Archived pages are shown sandboxed: no script from them runs.

    \b
    Examples:
      koege-archive serve                     # then open http://127.0.0.1:8080/
      koege-archive serve --port 0 --db sqlite:///koege-demo/archive.sqlite
    """
    import uvicorn

    from archive.fts import ensure_index
    from archive.web import create_app

    with cli_archive(db_url) as archive:
        ensure_index(archive, notify=echo_err)
    if not _is_loopback(host):
        echo_err(f"Warning: listening on {host}: anyone who can reach this address can read and export the archive.")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror}; pick another with --port (0 finds a free one)"
        ) from exc
    sock.listen(128)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    hosts = ["127.0.0.1", "localhost", "[::1]", "::1", f"{shown}:{bound}", host] if _is_loopback(host) else None
    app = create_app(db_url, export_dir=export_dir, allowed_hosts=hosts, data_dir=data_dir())
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    echo_err(f"Serving the archive at http://{shown}:{bound}/ (Ctrl-C stops)")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
