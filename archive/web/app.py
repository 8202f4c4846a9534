"""The web application: FastAPI with Jinja2 pages and a JSON API over one archive.

Every page carries a strict Content-Security-Policy (no script at all); archived HTML is only
ever served from ``/capture/…`` with ``Content-Security-Policy: sandbox``, so nothing a
municipal page holds can run on the app's origin.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from archive.db import open_archive
from archive.fts import ensure_index
from archive.querylang import QueryError
from archive.web import api, pages

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from starlette.responses import Response

__all__ = ["PAGE_CSP", "create_app"]

HERE = Path(__file__).resolve().parent
#: The policy of every page of the app: its own CSS and images, frames only from itself, no script.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def create_app(
    db_url: str,
    *,
    export_dir: Path | None = None,
    allowed_hosts: list[str] | None = None,
    data_dir: str | Path | None = None,
) -> FastAPI:
    """Build the app for one archive.

    Args:
        db_url: the archive's SQLAlchemy URL (opened at startup, closed at shutdown).
        export_dir: where exports are written (default: a temporary folder removed at shutdown).
        allowed_hosts: Host headers to accept (guards a 127.0.0.1 server against DNS rebinding);
            None accepts any.
        data_dir: the archive's data folder (its WARC captures), when not the default.

    Returns:
        The FastAPI application.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        archive = open_archive(db_url, data_dir=data_dir)
        ensure_index(archive)
        temporary = export_dir is None
        folder = Path(tempfile.mkdtemp(prefix="koege-exports-")) if export_dir is None else Path(export_dir)
        folder.mkdir(parents=True, exist_ok=True)
        app.state.archive, app.state.export_dir = archive, folder
        try:
            yield
        finally:
            archive.close()
            if temporary:
                shutil.rmtree(folder, ignore_errors=True)

    app = FastAPI(
        title="koege-archive",
        summary="Search and export an archive of Danish municipal news.",
        description=(
            "The JSON API behind the web page. Search uses the language of `koege-archive search`: "
            'words (Danish stems), "phrases", prefix*, OR/ELLER, NOT/IKKE, -word, parentheses.'
        ),
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.exception_handler(QueryError)
    async def bad_query(request: Request, exc: QueryError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return pages.error_page(request, 400, "bad_query", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/") or exc.status_code not in (404, 400):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return pages.error_page(request, exc.status_code, "not_found" if exc.status_code == 404 else "error", "")

    return app
