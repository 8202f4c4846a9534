"""The HTML pages: search with filters and chart, the article with its versions, exports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select

from archive.attachments import attachment_bytes, document_attachments
from archive.captures import WarcError
from archive.diff import diff_html, word_diff
from archive.export import EXTENSIONS, FORMATS, MEDIA_TYPES
from archive.models import Site
from archive.queries import capture_bytes, find_document, utc_iso
from archive.querylang import QueryError
from archive.search import SORTS, SearchFilters, filter_values, month_counts, search_page
from archive.web.chart import month_chart_svg
from archive.web.exports import make_export, stored_export
from archive.web.i18n import LANGUAGES, translator

if TYPE_CHECKING:
    from archive.queries import DocumentView

__all__ = ["CAPTURE_CSP", "error_page", "language", "router"]

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
#: Archived HTML is served in a sandbox: an opaque origin where no script runs and nothing loads.
CAPTURE_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
_INLINE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
_FILTER_KEYS = ("site", "section", "since", "until", "updated_since", "updated_until")


def language(request: Request) -> str:
    """The page language: ``?lang=``, else the ``lang`` cookie, else Danish."""
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "da"
    return lang if lang in LANGUAGES else "da"


def _render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    lang = language(request)
    context = {"lang": lang, "t": translator(lang), "link": lambda path="/", **kw: _link(request, path, **kw)}
    response = request.app.state.templates.TemplateResponse(
        request, template, {**context, **values}, status_code=status
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie("lang", lang, samesite="strict", max_age=365 * 86400)
    return response


def error_page(request: Request, status: int, title_key: str, message: str) -> HTMLResponse:
    """A page for a bad query or a missing document (never a traceback)."""
    return _render(request, "error.html", status, title_key=title_key, message=message)


def _link(request: Request, path: str = "/", **changes: Any) -> str:
    """A link to ``path`` with the current search's parameters, some changed (None drops one)."""
    params = {k: v for k, v in request.query_params.items() if k in ("q", "sort", "lang", *_FILTER_KEYS)}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    params = {k: v for k, v in params.items() if v != ""}
    return path + ("?" + urlencode(params) if params else "")


def _search_params(request: Request) -> tuple[str, SearchFilters, str, int]:
    qp = request.query_params
    filters = SearchFilters(**{k: (qp.get(k) or None) for k in _FILTER_KEYS})
    asked = qp.get("sort") or "relevance"
    sort = asked if asked in SORTS else "relevance"
    page = int(qp["page"]) if qp.get("page", "").isdigit() else 1
    return qp.get("q", ""), filters, sort, min(max(page, 1), 500)


@router.get("/", response_class=HTMLResponse)
def search_view(request: Request) -> HTMLResponse:
    """The search page (an empty search lists the newest articles)."""
    archive = request.app.state.archive
    query, filters, sort, page = _search_params(request)
    facets = filter_values(archive)
    values: dict[str, Any] = {
        "query": query,
        "filters": filters,
        "sort": sort,
        "sorts": SORTS,
        "facets": facets,
        "formats": FORMATS,
    }
    try:
        filters = filters.validate()
        result = search_page(archive, query, filters, sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    except QueryError as exc:
        return _render(request, "search.html", 400, error=str(exc), result=None, page=page, **values)
    has_more = result.offset + len(result.hits) < result.total
    return _render(request, "search.html", result=result, page=page, has_more=has_more, error=None, **values)


@router.get("/chart.svg")
def chart_view(request: Request) -> Response:
    """The articles-per-month chart of the current search, as SVG."""
    query, filters, _sort, _page = _search_params(request)
    t = translator(language(request))
    try:
        counts = month_counts(request.app.state.archive, query, filters)
    except QueryError:
        counts = {"months": []}
    return Response(month_chart_svg(counts["months"], title=t("chart")), media_type="image/svg+xml")


def _site_name(request: Request, key: str) -> str:
    with request.app.state.archive.reading() as session:
        return session.scalar(select(Site.name).where(Site.key == key)) or key


def _full_text(version: dict[str, Any]) -> str:
    return "\n\n".join(p for p in (version["title"], version["lead"], version["text"]) if p)


@router.get("/artikel/{doc_id}", response_class=HTMLResponse)
def article_view(request: Request, doc_id: str) -> HTMLResponse:
    """One article: text, details, citation, versions and the changes between them."""
    doc: DocumentView | None = find_document(request.app.state.archive, doc_id) if doc_id.isdigit() else None
    if doc is None:
        return error_page(request, 404, "not_found", "")
    wanted = request.query_params.get("v", "")
    number = int(wanted) if wanted.isdigit() and 1 <= int(wanted) <= len(doc.versions) else len(doc.versions)
    current = doc.versions[number - 1]
    previous = doc.versions[number - 2] if number > 1 else None
    diff = diff_html(word_diff(_full_text(previous), _full_text(current))) if previous else None
    t = translator(language(request))
    citation = t(
        "cite_line",
        site=_site_name(request, doc.site),
        title=current["title"] or "",
        url=doc.url,
        published=current["published"] or "?",
        id=doc.id,
        version=current["version"],
        seen=(current["first_seen"] or "")[:10],
    )
    return _render(
        request,
        "article.html",
        doc=doc,
        current=current,
        previous=previous,
        diff=diff,
        citation=citation,
        first_seen=utc_iso(doc.first_seen),
        last_seen=utc_iso(doc.last_seen),
        paragraphs=[p for p in (current["text"] or "").split("\n") if p.strip()],
        attachments=document_attachments(request.app.state.archive, doc.id),
    )


@router.get("/capture/{capture_id}")
def capture_view(request: Request, capture_id: str) -> Response:
    """The raw archived page, sandboxed (``?download=1`` saves it instead)."""
    try:
        capture = capture_bytes(request.app.state.archive, int(capture_id)) if capture_id.isdigit() else None
    except WarcError as exc:
        return _damaged_capture_page(request, int(capture_id), exc)
    if capture is None:
        return error_page(request, 404, "not_found", translator(language(request))("no_capture"))
    kind = (capture.content_type or "application/octet-stream").split(";")[0].strip().lower()
    inline = kind in _INLINE_TYPES and request.query_params.get("download") != "1"
    headers = {
        "Content-Security-Policy": CAPTURE_CSP,
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Disposition": ("inline" if inline else "attachment") + f'; filename="capture-{capture.id}.html"',
    }
    media = f"{kind}; charset={capture.encoding or 'utf-8'}" if kind.startswith("text/") else kind
    return Response(capture.body, media_type=media if inline else "application/octet-stream", headers=headers)


@router.get("/vedhaeftning/{attachment_id}")
def attachment_view(request: Request, attachment_id: str) -> Response:
    """A file linked from an article, as captured (always a download: nothing of it runs here)."""
    try:
        found = attachment_bytes(request.app.state.archive, int(attachment_id)) if attachment_id.isdigit() else None
    except WarcError as exc:
        return error_page(request, 500, "error", str(exc))
    if found is None:
        return error_page(request, 404, "not_found", translator(language(request))("attachment_no_capture"))
    kind = (found.content_type or "application/octet-stream").split(";")[0].strip().lower()
    name = quote(found.name)
    headers = {
        "Content-Security-Policy": CAPTURE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
    }
    return Response(found.body, media_type=kind, headers=headers)


_DAMAGED = {
    "da": "Den arkiverede side kan ikke læses: {problem}. Arkivaren kan køre `koege-archive verify` og hente filen "
    "fra en sikkerhedskopi. Dokumentets tekst er ikke berørt.",
    "en": "The archived page cannot be read: {problem}. The archivist can run `koege-archive verify` and restore the "
    "file from a backup. The document's text is not affected.",
}


def _damaged_capture_page(request: Request, capture_id: int, exc: WarcError) -> HTMLResponse:
    """A 500 page naming the WARC file that is missing or damaged and the document it holds (no traceback)."""
    from archive.captures import warc_folder
    from archive.models import Capture, Document
    from archive.warc_export import capture_problem

    archive = request.app.state.archive
    problem = capture_problem(archive, capture_id) or str(exc)[:300]
    problem = problem.replace(str(warc_folder(archive)), "the archive's WARC folder")
    with archive.reading() as session:
        url = session.scalar(
            select(Document.url).join(Capture, Capture.document_id == Document.id).where(Capture.id == capture_id)
        )
    if url:
        problem += f" (capture {capture_id} of {url})"
    return error_page(request, 500, "error", _DAMAGED.get(language(request), _DAMAGED["en"]).format(problem=problem))


@router.get("/eksport", response_class=HTMLResponse)
def export_view(request: Request) -> HTMLResponse:
    """Export the current search and show where to download it and its manifest."""
    query, filters, _sort, _page = _search_params(request)
    fmt = request.query_params.get("format", "")
    if fmt not in FORMATS:
        return error_page(request, 400, "error", f"format must be one of {', '.join(FORMATS)}")
    filters = filters.validate()
    token, result = make_export(request.app.state.archive, request.app.state.export_dir, query, filters, fmt)
    return _render(request, "export.html", token=token, result=result, fmt=fmt, query=query, filters=filters)


@router.get("/eksport/{token}/{name}")
def export_file_view(request: Request, token: str, name: str) -> Response:
    """Download an export file or its manifest."""
    path = stored_export(request.app.state.export_dir, token, name)
    if path is None:
        return error_page(request, 404, "not_found", "")
    if name.endswith(".manifest.json"):
        media = "application/json"
    else:
        by_extension = {ext: fmt for fmt, ext in EXTENSIONS.items()}
        media = MEDIA_TYPES[by_extension.get("." + name.rsplit(".", 1)[-1], "csv")]
    return FileResponse(path, media_type=media, filename=name)
