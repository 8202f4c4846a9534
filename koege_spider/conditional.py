"""ConditionalRequestMiddleware: ask for known documents with their validators, observe the answers.

A 304, a payload identical to the last capture, or a 404/410 of a known document is recorded by
the :class:`koege_spider.recrawl.Recrawl` extension without extraction: the request's meta gets
``koege_observed`` and the spider's callback yields nothing for it. Everything else is handed on
unchanged. It sits below redirects (600) and decompression (590), so it sees the final response
and the body the archive keeps.
"""

from __future__ import annotations

from hashlib import sha256
from typing import TYPE_CHECKING

from archive.lifecycle import REMOVED_STATUSES
from koege_spider.recrawl import is_article_request, recrawl_of, spider_of
from koege_spider.revisit import conditional_headers

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from archive.lifecycle import PageState
    from koege_spider.recrawl import Recrawl

__all__ = ["ConditionalRequestMiddleware"]

_CONDITIONAL = ("If-None-Match", "If-Modified-Since")


class ConditionalRequestMiddleware:
    """Conditional requests for known documents; 304s, identical payloads and removals observed."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the middleware."""
        return cls(crawler)

    def _known(self, request: Request) -> tuple[Recrawl, str, PageState] | None:
        recrawl = recrawl_of(self.crawler)
        site = request.meta.get("koege_site")
        if recrawl is None or site is None or not recrawl.policy.enabled or not is_article_request(request):
            return None
        url = spider_of(self.crawler).site_urls[site].canonical(request.url)
        known = recrawl.state(site, url)
        return None if known is None else (recrawl, site, known)

    def process_request(self, request: Request) -> None:
        """Add the validators of a known document (and drop any a redirect carried over)."""
        for name in _CONDITIONAL:
            request.headers.pop(name, None)
        added = request.meta.pop("koege_conditional", ())
        if added:
            handled = [c for c in request.meta.get("handle_httpstatus_list", []) if c not in added]
            request.meta["handle_httpstatus_list"] = handled
        found = self._known(request)
        if found is None:
            return
        _, _, known = found
        for name, value in conditional_headers(known).items():
            request.headers[name] = value
        codes = [c for c in (304, *sorted(REMOVED_STATUSES)) if c not in request.meta.get("handle_httpstatus_list", [])]
        request.meta["handle_httpstatus_list"] = [*request.meta.get("handle_httpstatus_list", []), *codes]
        request.meta["koege_conditional"] = tuple(codes)
        self.crawler.stats.inc_value("koege/recrawl/conditional")

    def process_response(self, request: Request, response: Response) -> Response:
        """Observe what needs no extraction; hand everything else on unchanged."""
        found = self._known(request)
        stats = self.crawler.stats
        outcome = None
        if found is not None:
            recrawl, site, known = found
            if response.status == 304:
                outcome = "not_modified"
            elif response.status in REMOVED_STATUSES:
                outcome = "removed" if not known.removed else "still_removed"
            elif response.status == 200 and known.payload_digest == sha256(response.body).hexdigest():
                outcome = "unchanged"
            if outcome is not None:
                stats.inc_value(f"koege/recrawl/{outcome}")
                if outcome == "still_removed":
                    outcome = "removed"
                elif known.removed and outcome != "removed":
                    stats.inc_value("koege/recrawl/restored")
                recrawl.observe(site, known, request, response, outcome)
                request.meta["koege_observed"] = outcome
                return response
        # Codes this middleware asked to see but did not observe go back to HttpError's rules.
        added = request.meta.pop("koege_conditional", ())
        if added:
            request.meta["handle_httpstatus_list"] = [
                c for c in request.meta.get("handle_httpstatus_list", []) if c not in added
            ]
        return response
