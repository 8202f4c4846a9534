"""URL identity for the archive: canonical URLs, article URL tests and mirror rebasing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

if TYPE_CHECKING:
    from koege_spider.sites import SiteProfile

__all__ = ["EXTERNAL_PREFIX", "CanonicalVotes", "SiteUrls", "canonicalize", "is_article_url", "path_and_query"]

# Where a mirror serves the pages of a profile's external hosts: /_ext/via.ritzau.dk/<path>.
EXTERNAL_PREFIX = "/_ext/"

# Parameters that identify a campaign or a click, never a page.
_TRACKING = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_hsenc|_hsmi|igshid|yclid)$",
    re.IGNORECASE,
)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _external_on_mirror(path: str, profile: SiteProfile) -> tuple[str, str] | None:
    """(host, path) of an external host's page served by a mirror under ``/_ext/<host>/``."""
    if not path.startswith(EXTERNAL_PREFIX):
        return None
    host, _, rest = path[len(EXTERNAL_PREFIX) :].partition("/")
    return (host.lower(), "/" + rest) if host.lower() in profile.external_hosts else None


def canonicalize(url: str, profile: SiteProfile, *, mirror_origin: str | None = None) -> str:
    """Return the archive key of a URL.

    The scheme and host of any of the profile's hosts (and of a mirror origin) become the
    canonical origin; fragments, tracking parameters (``utm_*``, ``fbclid`` …) and a trailing
    slash are dropped; percent-encoding and the query order are normalised. Sitecore slugs such
    as ``,-d-,`` are kept as they are. URLs on the profile's external hosts keep their own host;
    a mirror serves those under ``/_ext/<host>/``.

    Args:
        url: an absolute URL.
        profile: the site the URL belongs to.
        mirror_origin: the origin of a mirror being crawled (``http://127.0.0.1:8080``), if any.

    Returns:
        The canonical URL; a URL of another site comes back normalised but on its own host.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    scheme, netloc = parts.scheme.lower(), parts.netloc.lower()
    path = parts.path or "/"
    on_mirror = mirror_origin is not None and _origin(url) == mirror_origin
    external = _external_on_mirror(path, profile) if on_mirror else None
    if external is not None:
        scheme, (netloc, path) = "https", external
    elif host in profile.hosts or on_mirror:
        canonical = urlsplit(profile.canonical_origin)
        scheme, netloc = canonical.scheme, canonical.netloc
    ignored = profile.article.ignore_params
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k) and k not in ignored
        ]
    )
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return canonicalize_url(urlunsplit((scheme, netloc, path, query, "")), keep_blank_values=True)


def path_and_query(url: str) -> str:
    """Return ``/path?query`` of a URL (what profile patterns are matched against)."""
    parts = urlsplit(url)

    path = unquote(parts.path) or "/"
    return f"{path}?{parts.query}" if parts.query else path


def is_article_url(url: str, profile: SiteProfile) -> bool:
    """Tell whether a canonical URL is one of the site's article URLs.

    Args:
        url: a URL already passed through :func:`canonicalize`.
        profile: the site.

    Returns:
        True when the URL is on the canonical host, matches an article pattern and no exclude
        pattern, or is on an external host and matches an external pattern (a whole URL).
    """
    host = urlsplit(url).hostname or ""
    rules = profile.article
    if host in profile.external_hosts:
        target = f"{urlsplit(url).scheme}://{host}{path_and_query(url)}"
        return any(p.search(target) for p in rules.external_url_patterns)
    if host != urlsplit(profile.canonical_origin).hostname:
        return False
    target = path_and_query(url)
    return any(p.search(target) for p in rules.url_patterns) and not any(
        p.search(target) for p in rules.exclude_patterns
    )


_MEMO_SIZE = 100_000


@dataclass(frozen=True, slots=True)
class SiteUrls:
    """A site's URLs as the crawl sees them: canonical for the archive, rebased for fetching.

    With a mirror (``--base-url``) every URL of the site is fetched from the mirror origin
    while documents keep the site's canonical URLs.
    """

    profile: SiteProfile
    mirror_origin: str | None = None
    # The same URL is canonicalised several times per page (link, request, response, item, the
    # recrawl's lookups); the function is pure, so its answers are kept (bounded).
    _memo: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def for_profile(cls, profile: SiteProfile, base_url: str | None = None) -> SiteUrls:
        """Build the URL view of a profile, optionally rebased on a mirror.

        Args:
            profile: the site.
            base_url: the mirror's origin (a path part is ignored), or None for the live site.

        Returns:
            The URL view.

        Raises:
            ValueError: when ``base_url`` is not an http(s) URL with a host.
        """
        if base_url is None:
            return cls(profile)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL with a host: {base_url!r}")
        return cls(profile, _origin(base_url))

    def canonical(self, url: str) -> str:
        """Return the archive key of a fetched or linked URL."""
        found = self._memo.get(url)
        if found is None:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            found = self._memo[url] = canonicalize(url, self.profile, mirror_origin=self.mirror_origin)
        return found

    def absolute(self, path_or_url: str) -> str:
        """Resolve a profile path (``/nyheder``) against the canonical origin."""
        return urljoin(self.profile.canonical_origin + "/", path_or_url)

    def fetch_url(self, url: str) -> str:
        """Return where to fetch a URL of this site: the mirror when one is set."""
        if self.mirror_origin is None or not self.on_site(url):
            return url
        parts = urlsplit(url)
        mirror = urlsplit(self.mirror_origin)
        path = parts.path or "/"
        host = (parts.hostname or "").lower()
        if host in self.profile.external_hosts:
            path = f"{EXTERNAL_PREFIX}{host}{path}"
        return urlunsplit((mirror.scheme, mirror.netloc, path, parts.query, ""))

    def real_url(self, url: str) -> str:
        """The URL a page fetched from a mirror's ``/_ext/<host>/`` stands for (links inside it
        resolve against that); any other URL comes back unchanged."""
        if self.mirror_origin is None or _origin(url) != self.mirror_origin:
            return url
        parts = urlsplit(url)
        external = _external_on_mirror(parts.path, self.profile)
        if external is None:
            return url
        return urlunsplit(("https", external[0], external[1], parts.query, ""))

    def on_site(self, url: str) -> bool:
        """Tell whether a URL is on one of the site's hosts (or the mirror)."""
        if self.mirror_origin is not None and _origin(url) == self.mirror_origin:
            return True
        host = (urlsplit(url).hostname or "").lower()
        return host in self.profile.hosts or host in self.profile.external_hosts

    def may_be_article(self, path: str) -> bool:
        """A cheap pre-check on a raw path: False means the URL is certainly not an article."""
        rules = self.profile.article
        return bool(rules.external_url_patterns) or any(p.search(path) for p in rules.url_patterns)

    def is_article(self, url: str) -> bool:
        """Tell whether a (not necessarily canonical) URL is an article of the site."""
        return is_article_url(self.canonical(url), self.profile)

    @property
    def allowed_domains(self) -> list[str]:
        """Hostnames Scrapy's offsite filter must let through."""
        hosts = set(self.profile.hosts) | set(self.profile.external_hosts)
        if self.mirror_origin is not None:
            hosts.add(urlsplit(self.mirror_origin).hostname or "")
        return sorted(hosts)


class CanonicalVotes:
    """Decides when a page's ``rel=canonical`` may name its document, counting claims in a run.

    A declared canonical is used only when it stays on the site, is not the home page, is an
    article URL of the site, and is not claimed by more than ``max_shared`` different pages
    (templates that point every page at one URL are common).
    """

    def __init__(self, max_shared: int = 3) -> None:
        """Start a run's count.

        Args:
            max_shared: most different pages that may share one canonical target.
        """
        self.max_shared = max_shared
        self._claims: dict[str, set[str]] = {}

    def trusted(self, page_url: str, declared: str, urls: SiteUrls) -> str | None:
        """The archive key the page declares, when it can be trusted.

        Args:
            page_url: the canonical URL of the page as fetched.
            declared: the absolute URL of its ``<link rel="canonical">``.
            urls: the site.

        Returns:
            The canonical key of the declared URL, or None when it is not to be trusted.
        """
        if not urls.on_site(declared):
            return None
        target = urls.canonical(declared)
        if urlsplit(target).path in ("", "/") or not is_article_url(target, urls.profile):
            return None
        claims = self._claims.setdefault(target, set())
        claims.add(page_url)
        return target if len(claims) <= self.max_shared else None
