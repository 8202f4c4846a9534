"""A local HTTP server for site mirrors (tests, the offline demo, benchmarks).

A mirror is a folder with ``routes.json`` mapping request targets to files, redirects and
statuses. Unlike ``http.server`` it speaks HTTP/1.1 with keep-alive, sends ETag and
Last-Modified and answers conditional requests with 304, and logs every request it served.
Files are read on every request, so a test can change a page between two crawls.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["MirrorServer", "ServedRequest"]


@dataclass(frozen=True, slots=True)
class ServedRequest:
    """One request the mirror answered."""

    method: str
    target: str
    status: int
    headers: dict[str, str]
    at: float


@dataclass
class _State:
    root: Path
    routes: dict[str, dict[str, Any]]
    compress: bool = False
    log: list[ServedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _load_routes(root: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((root / "routes.json").read_text(encoding="utf-8"))
    return dict(data["routes"])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "koege-mirror/1"
    state: _State

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Stay quiet; requests are kept in the server's log instead."""

    def _record(self, status: int) -> None:
        with self.state.lock:
            self.state.log.append(
                ServedRequest(self.command, self.path, status, dict(self.headers.items()), time.monotonic())
            )

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self._record(status)

    def _target(self) -> str:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        return f"{path}?{parts.query}" if parts.query else path

    def do_HEAD(self) -> None:
        """Answer like GET, without the body."""
        self.do_GET()

    def do_GET(self) -> None:
        """Serve a route: a file, a redirect or a bare status; 404 for anything else."""
        route = self.state.routes.get(self._target())
        if route is None:
            not_found = self.state.root / "404.html"
            body = not_found.read_bytes() if not_found.exists() else b"Not found"
            self._send(404, body, {"Content-Type": "text/html; charset=utf-8"})
            return
        status = int(route.get("status", 200))
        if "location" in route:
            self._send(status, b"", {"Location": route["location"]})
            return
        if "file" not in route:
            self._send(status, b"", {"Content-Type": "text/plain"})
            return
        path = self.state.root / route["file"]
        body = path.read_bytes()
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        modified = route.get("last_modified") or email.utils.formatdate(path.stat().st_mtime, usegmt=True)
        headers = {
            "Content-Type": route.get("content_type", "text/html; charset=utf-8"),
            "ETag": etag,
            "Last-Modified": modified,
        }
        headers.update(route.get("headers", {}))
        if self._not_modified(etag, modified):
            self._send(304, b"", {"ETag": etag, "Last-Modified": modified})
            return
        if self.state.compress and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(body, mtime=0)
            headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        self._send(status, body, headers)

    def do_POST(self) -> None:
        """Serve a route keyed ``POST <target>``: the file named by a field of the JSON body
        (``json_field`` and ``files``) or ``file``; 403 when a ``require_headers`` header differs."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        route = self.state.routes.get(f"POST {self._target()}")
        if route is None:
            self._send(404, b"Not found", {"Content-Type": "text/plain"})
            return
        if any(self.headers.get(k) != v for k, v in route.get("require_headers", {}).items()):
            self._send(403, b"Forbidden", {"Content-Type": "text/plain"})
            return
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            self._send(400, b"Bad request", {"Content-Type": "text/plain"})
            return
        chosen = route.get("files", {}).get(str(data.get(route.get("json_field", "")))) or route.get("file")
        if chosen is None:
            self._send(404, b"Not found", {"Content-Type": "text/plain"})
            return
        headers = {"Content-Type": route.get("content_type", "text/html; charset=utf-8")}
        self._send(int(route.get("status", 200)), (self.state.root / chosen).read_bytes(), headers)

    def _not_modified(self, etag: str, modified: str) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return etag in {t.strip() for t in if_none_match.split(",")} or if_none_match.strip() == "*"
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return email.utils.parsedate_to_datetime(modified) <= email.utils.parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a crawler opening more connections at once has
    # the rest of its SYNs dropped and retried a second later (a stall that is the mirror's, not
    # the crawl's).
    request_queue_size = 128


class MirrorServer:
    """Serves a mirror folder on 127.0.0.1 in a background thread.

    Example::

        with MirrorServer(Path("koege_spider/mirrors/koege")) as server:
            print(server.origin)  # http://127.0.0.1:41873
    """

    def __init__(self, root: Path, *, host: str = "127.0.0.1", port: int = 0, compress: bool = False) -> None:
        """Prepare the server.

        Args:
            root: the mirror folder (with ``routes.json``).
            host: the address to listen on.
            port: the port; 0 picks a free one.
            compress: gzip files for clients that accept it (as most web servers do).

        Raises:
            FileNotFoundError: when the folder has no ``routes.json``.
        """
        self._state = _State(root=root, routes=_load_routes(root), compress=compress)
        handler = type("MirrorHandler", (_Handler,), {"state": self._state})
        self._httpd = _Server((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[ServedRequest]:
        """Every request answered so far, in order."""
        with self._state.lock:
            return list(self._state.log)

    def reload_routes(self) -> None:
        """Re-read ``routes.json`` (after a test changed it)."""
        self._state.routes = _load_routes(self._state.root)

    def start(self) -> MirrorServer:
        """Start serving in a daemon thread."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="mirror", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> MirrorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
