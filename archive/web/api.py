"""The JSON API behind the page (documented at /api/openapi.json)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel

from archive.diff import word_diff
from archive.export import FORMATS
from archive.queries import find_document, utc_iso
from archive.search import SearchFilters, filter_values, month_counts, search_page
from archive.web.exports import make_export

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["archive"])

Q = Annotated[str, Query(description='The search: words, "phrases", prefix*, OR, NOT, -word. Empty lists all.')]
Site = Annotated[str | None, Query(description="Only this site (profile key, e.g. koege).")]
Section = Annotated[str | None, Query(description="Only this section (URL folder, e.g. pressemeddelelser).")]
Day = Annotated[str | None, Query(description="A date: YYYY, YYYY-MM or YYYY-MM-DD (inclusive).")]
Sort = Annotated[Literal["relevance", "newest", "oldest"], Query(description="Order of the hits.")]


class Hit(BaseModel):
    """One search hit (the document's latest version)."""

    id: int
    version: int
    url: str
    site: str
    section: str | None
    title: str | None
    published: str | None
    updated: str | None
    snippet: str
    score: float


class SearchResponse(BaseModel):
    """A page of hits; ``total`` counts every match."""

    query: str
    filters: dict[str, str]
    sort: str
    ordered_by: str
    total: int
    offset: int
    limit: int
    hits: list[Hit]


class Month(BaseModel):
    """Documents published in one month."""

    month: str
    count: int


class MonthsResponse(BaseModel):
    """Articles per month for a search (months without articles included)."""

    months: list[Month]
    undated: int


class ExportResponse(BaseModel):
    """A finished export: where to download it and its manifest."""

    file_url: str
    manifest_url: str
    rows: int
    sha256: str
    cells_cut: int
    manifest: dict[str, Any]


def _filters(
    site: str | None,
    section: str | None,
    since: str | None,
    until: str | None,
    u_since: str | None,
    u_until: str | None,
) -> SearchFilters:
    return SearchFilters(site, section, since, until, u_since, u_until).validate()


@router.get("/search", response_model=SearchResponse, summary="Search the archive")
def api_search(
    request: Request,
    q: Q = "",
    site: Site = None,
    section: Section = None,
    since: Day = None,
    until: Day = None,
    updated_since: Day = None,
    updated_until: Day = None,
    sort: Sort = "relevance",
    limit: Annotated[int, Query(ge=1, le=100, description="Hits per page.")] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000, description="Hits to skip.")] = 0,
) -> dict[str, Any]:
    """Full-text search in Danish over the latest version of each document. A bad query gives 400."""
    filters = _filters(site, section, since, until, updated_since, updated_until)
    result = search_page(request.app.state.archive, q, filters, sort=sort, limit=limit, offset=offset)
    return {
        "query": q,
        "filters": filters.as_dict(),
        "sort": sort,
        "ordered_by": result.ordered_by,
        "total": result.total,
        "offset": offset,
        "limit": limit,
        "hits": [h.as_json() for h in result.hits],
    }


@router.get("/months", response_model=MonthsResponse, summary="Articles per month for a search")
def api_months(
    request: Request,
    q: Q = "",
    site: Site = None,
    section: Section = None,
    since: Day = None,
    until: Day = None,
    updated_since: Day = None,
    updated_until: Day = None,
) -> dict[str, Any]:
    """How many matching documents were published in each month."""
    filters = _filters(site, section, since, until, updated_since, updated_until)
    return month_counts(request.app.state.archive, q, filters)


@router.get("/filters", summary="Sites and sections with their document counts")
def api_filters(request: Request) -> dict[str, list[dict[str, Any]]]:
    """The values the site and section filters take."""
    return {
        k: [{"value": v, "documents": n} for v, n in rows]
        for k, rows in filter_values(request.app.state.archive).items()
    }


@router.get("/documents/{doc_id}", summary="One document with every version")
def api_document(request: Request, doc_id: int) -> dict[str, Any]:
    """A document, its metadata, and all its content versions (oldest first), each with its text."""
    doc = find_document(request.app.state.archive, str(doc_id))
    if doc is None:
        raise HTTPException(404, f"no document {doc_id}")
    return {
        "id": doc.id,
        "url": doc.url,
        "site": doc.site,
        "first_seen": utc_iso(doc.first_seen),
        "last_seen": utc_iso(doc.last_seen),
        "duplicate_of": doc.duplicate_of,
        "versions": doc.versions,
        "capture_urls": {v["version"]: f"/capture/{v['capture_id']}" for v in doc.versions if v["capture_id"]},
    }


@router.get("/documents/{doc_id}/diff", summary="Word changes between two versions")
def api_diff(
    request: Request,
    doc_id: int,
    a: Annotated[int, Query(ge=1, description="The earlier version.")],
    b: Annotated[int, Query(ge=1, description="The later version.")],
) -> dict[str, Any]:
    """The text of version ``a`` turned into version ``b``: pieces that are same, removed or added."""
    doc = find_document(request.app.state.archive, str(doc_id))
    if doc is None or a > len(doc.versions) or b > len(doc.versions):
        raise HTTPException(404, f"no document {doc_id} with versions {a} and {b}")
    old, new = doc.versions[a - 1]["text"], doc.versions[b - 1]["text"]
    return {"id": doc.id, "a": a, "b": b, "pieces": [{"op": p.op, "text": p.text} for p in word_diff(old, new)]}


@router.get("/export", response_model=ExportResponse, summary="Export a search, with a manifest")
def api_export(
    request: Request,
    format: Annotated[Literal["csv", "csv-excel", "jsonl", "parquet", "xlsx"], Query(description="File format.")],  # noqa: A002
    q: Q = "",
    site: Site = None,
    section: Section = None,
    since: Day = None,
    until: Day = None,
    updated_since: Day = None,
    updated_until: Day = None,
    all_versions: Annotated[bool, Query(description="One row per content version.")] = False,
) -> dict[str, Any]:
    """Write the export on the server and answer with links to the file and its manifest."""
    assert format in FORMATS
    filters = _filters(site, section, since, until, updated_since, updated_until)
    token, result = make_export(
        request.app.state.archive, request.app.state.export_dir, q, filters, format, all_versions=all_versions
    )
    return {
        "file_url": f"/eksport/{token}/{quote(result.path.name)}",
        "manifest_url": f"/eksport/{token}/{quote(result.manifest_path.name)}",
        "rows": result.rows,
        "sha256": result.sha256,
        "cells_cut": result.cells_cut,
        "manifest": result.manifest,
    }
