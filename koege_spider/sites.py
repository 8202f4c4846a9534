"""Site profiles: per-site rules as data (TOML), validated into frozen dataclasses.

A profile file may end in an ``[overlay]`` table: hand edits that are merged over the rest of
the file on load (tables merge key by key; any other value replaces). Generated profiles keep
their hand edits there, and ``scripts/generate_profiles.py`` never rewrites it.

Profiles are the bundled ``koege_spider/profiles/*.toml``, unless the environment variable
``KOEGE_PROFILES_DIR`` names another folder of profiles, which then replaces the bundled one
(trying a profile change on a crawl and ``koege-archive reextract`` without editing the package).
It is read here, not in the settings, because profiles are loaded by name far from any settings
(the CLI, pipelines, extraction workers).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from parsel.csstranslator import css2xpath

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "CHANNELS",
    "ArticleRules",
    "CardRules",
    "DiscoveryRules",
    "JsonListingRules",
    "Politeness",
    "PostListingRules",
    "ProfileError",
    "SiteProfile",
    "UnknownSiteError",
    "available_sites",
    "load_live_checks",
    "load_profile",
    "load_profiles",
    "merge_overlay",
    "parse_profile",
]

# How the 2026 survey found a site's news: any of them (auto), or the one that works.
CHANNELS = ("auto", "feed", "listing", "sitemap")


class ProfileError(ValueError):
    """A profile file is malformed (unknown key, wrong type, bad pattern)."""


class UnknownSiteError(LookupError):
    """No profile exists under the requested name."""


@dataclass(frozen=True, slots=True)
class DiscoveryRules:
    """Where a site's articles are found.

    Paths are relative to the canonical origin; absolute URLs are allowed too (also on an
    external host). A listing may contain ``{year}``: it is crawled for the current year and
    the ``listing_years - 1`` years before it.
    """

    listings: tuple[str, ...] = ()
    optional_listings: tuple[str, ...] = ()
    listing_years: int = 1
    feeds: tuple[str, ...] = ()
    feed_autodiscovery: bool = True
    sitemaps: tuple[str, ...] = ()
    robots_sitemaps: bool = True
    pagination_params: tuple[str, ...] = ("page",)
    max_listing_pages: int = 200


@dataclass(frozen=True, slots=True)
class CardRules:
    """Listing cards (``[listing]``): each item's link and the date it shows, as CSS.

    The link of a card must still be an article URL of the profile; the card's date is kept as
    the article's listing date (a last-resort published date).
    """

    item: str | None = None
    link: str = "a[href]"
    title: str | None = None
    date: str | None = None
    summary: str | None = None


@dataclass(frozen=True, slots=True)
class JsonListingRules:
    """A JSON API that lists articles page by page (``[json_listing]``)."""

    url: str
    params: tuple[tuple[str, str], ...] = ()
    page_param: str = "page"
    first_page: int = 1
    max_pages: int = 5
    items_field: str = "items"
    total_pages_field: str | None = None
    url_field: str = "url"
    title_field: str | None = None
    summary_field: str | None = None
    date_field: str | None = None
    id_field: str | None = None


@dataclass(frozen=True, slots=True)
class PostListingRules:
    """A listing loaded by POSTing JSON with a CSRF token taken from the listing page
    (``[post_listing]``); the answer is HTML read with the ``[listing]`` card selectors."""

    url: str
    csrf_selector: str | None = None
    csrf_header: str = "X-CSRF-Token"
    page_field: str = "page"
    first_page: int = 1
    max_pages: int = 3
    last_selector: str | None = None
    body: tuple[tuple[str, Any], ...] = ()


#: Links to files captured with an article when its profile names no ``attachment_pattern``.
_DEFAULT_ATTACHMENT_PATTERN = re.compile(r"\.pdf$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ArticleRules:
    """How article pages are recognised and read.

    Selectors are optional hints (CSS with parsel's ``::attr(name)``/``::text``); generic
    signals (meta tags, JSON-LD, the page's date line) are used when they find nothing.
    ``external_url_patterns`` are matched against whole URLs on the profile's external hosts
    (a newsroom service such as via.ritzau.dk); ``published_patterns`` are regular expressions
    over the raw HTML whose first group is the published date (a date only in a script).
    ``attachment_pattern`` (searched, case-insensitively, in the decoded path of each on-site
    link in an article's content) says which links are files to capture with the article.
    """

    url_patterns: tuple[re.Pattern[str], ...] = ()
    exclude_patterns: tuple[re.Pattern[str], ...] = ()
    external_url_patterns: tuple[re.Pattern[str], ...] = ()
    ignore_params: tuple[str, ...] = ()
    url_date_pattern: re.Pattern[str] | None = None
    title_suffixes: tuple[str, ...] = ()
    published_selectors: tuple[str, ...] = ()
    published_patterns: tuple[re.Pattern[str], ...] = ()
    updated_selectors: tuple[str, ...] = ()
    lead_selectors: tuple[str, ...] = ()
    prune_xpath: tuple[str, ...] = ()
    boilerplate: tuple[re.Pattern[str], ...] = ()
    attachment_pattern: re.Pattern[str] = _DEFAULT_ATTACHMENT_PATTERN

    @property
    def published_xpaths(self) -> tuple[str, ...]:
        """The published-date selectors translated to XPath."""
        return tuple(css2xpath(css) for css in self.published_selectors)

    @property
    def updated_xpaths(self) -> tuple[str, ...]:
        """The updated-date selectors translated to XPath."""
        return tuple(css2xpath(css) for css in self.updated_selectors)

    @property
    def lead_xpaths(self) -> tuple[str, ...]:
        """The lead selectors translated to XPath."""
        return tuple(css2xpath(css) for css in self.lead_selectors)


@dataclass(frozen=True, slots=True)
class Politeness:
    """Per-site crawl manners: the delay is also the floor AutoThrottle keeps; the budget
    (pages fetched, minutes) stops a calendar or pagination trap (None: the crawl's default)."""

    delay: float = 2.0
    concurrency: int = 1
    max_pages: int | None = None
    max_minutes: float | None = None


@dataclass(frozen=True, slots=True)
class SiteProfile:
    """One site's rules, loaded from ``koege_spider/profiles/<name>.toml``."""

    name: str
    title: str
    canonical_origin: str
    aliases: tuple[str, ...] = ()
    external_hosts: tuple[str, ...] = ()
    language: str = "da"
    timezone: str = "Europe/Copenhagen"
    version: int = 1
    platform: str | None = None
    channel: str = "auto"
    sources: str | None = None
    discovery: DiscoveryRules = field(default_factory=DiscoveryRules)
    listing: CardRules = field(default_factory=CardRules)
    json_listing: JsonListingRules | None = None
    post_listing: PostListingRules | None = None
    article: ArticleRules = field(default_factory=ArticleRules)
    politeness: Politeness = field(default_factory=Politeness)

    @property
    def canonical_host(self) -> str:
        """The host every document URL of this site is stored under."""
        return urlsplit(self.canonical_origin).netloc

    @property
    def hosts(self) -> frozenset[str]:
        """The canonical host and every alias host (their URLs collapse to the canonical host)."""
        return frozenset((self.canonical_host, *self.aliases))


def merge_overlay(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Merge hand edits over a profile's data: tables merge key by key, other values replace.

    Args:
        base: the profile's data.
        overlay: the ``[overlay]`` table.

    Returns:
        A new dict; neither argument is changed.
    """
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_overlay(merged[key], value)
        else:
            merged[key] = value
    return merged


def _check_keys(section: str, data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ProfileError(
            f"unknown key(s) in [{section}]: {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _table(section: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProfileError(f"[{section}] must be a table")
    return dict(value)


def _strings(section: str, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProfileError(f"[{section}] {key} must be a list of strings")
    return tuple(value)


def _string(section: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ProfileError(f"[{section}] {key} must be a non-empty string")
    return value


def _number(section: str, key: str, value: Any, kind: type, minimum: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ProfileError(f"[{section}] {key} must be a number ≥ {minimum}")
    if kind is int and not isinstance(value, int):
        raise ProfileError(f"[{section}] {key} must be a whole number")
    return kind(value)


def _patterns(section: str, key: str, value: Any, flags: int = 0) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for text in _strings(section, key, value):
        try:
            compiled.append(re.compile(text, flags))
        except re.error as exc:
            raise ProfileError(f"[{section}] {key}: bad regular expression {text!r}: {exc}") from exc
    return tuple(compiled)


def _css(section: str, key: str, value: Any) -> str:
    text = _string(section, key, value)
    try:
        css2xpath(text)
    except Exception as exc:  # cssselect raises its own SelectorError hierarchy
        raise ProfileError(f"[{section}] {key}: bad selector {text!r}: {exc}") from exc
    return text


def _field_names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def _url_or_path(section: str, key: str, value: str) -> str:
    if value.startswith("/"):
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProfileError(f"[{section}] {key}: {value!r} is neither a path nor an http(s) URL")
    return value


def _parse_discovery(data: Any) -> DiscoveryRules:
    disc = _table("discovery", data)
    _check_keys("discovery", disc, _field_names(DiscoveryRules))
    for key in ("listings", "optional_listings", "feeds", "sitemaps"):
        if key in disc:
            disc[key] = tuple(_url_or_path("discovery", key, v) for v in _strings("discovery", key, disc[key]))
            if any(re.search(r"\{(?!year\})", v) for v in disc[key]):
                raise ProfileError(f"[discovery] {key}: the only placeholder allowed is {{year}}")
    if "pagination_params" in disc:
        disc["pagination_params"] = _strings("discovery", "pagination_params", disc["pagination_params"])
    for key in ("listing_years", "max_listing_pages"):
        if key in disc:
            disc[key] = _number("discovery", key, disc[key], int, 1)
    for key in ("feed_autodiscovery", "robots_sitemaps"):
        if key in disc and not isinstance(disc[key], bool):
            raise ProfileError(f"[discovery] {key} must be true or false")
    return DiscoveryRules(**disc)


def _parse_cards(data: Any) -> CardRules:
    cards = _table("listing", data)
    _check_keys("listing", cards, _field_names(CardRules))
    return CardRules(**{k: _css("listing", k, v) for k, v in cards.items()})


def _parse_json_listing(data: Any) -> JsonListingRules:
    rules = _table("json_listing", data)
    _check_keys("json_listing", rules, _field_names(JsonListingRules))
    if "url" not in rules:
        raise ProfileError("[json_listing] url is required")
    rules["url"] = _url_or_path("json_listing", "url", _string("json_listing", "url", rules["url"]))
    params = _table("json_listing.params", rules.get("params", {}))
    rules["params"] = tuple(sorted((str(k), str(v)) for k, v in params.items()))
    for key in ("first_page", "max_pages"):
        if key in rules:
            rules[key] = _number("json_listing", key, rules[key], int, 0 if key == "first_page" else 1)
    for key in _field_names(JsonListingRules) - {"url", "params", "first_page", "max_pages"}:
        if key in rules:
            rules[key] = _string("json_listing", key, rules[key])
    return JsonListingRules(**rules)


def _parse_post_listing(data: Any) -> PostListingRules:
    rules = _table("post_listing", data)
    _check_keys("post_listing", rules, _field_names(PostListingRules))
    if "url" not in rules:
        raise ProfileError("[post_listing] url is required")
    rules["url"] = _url_or_path("post_listing", "url", _string("post_listing", "url", rules["url"]))
    rules["body"] = tuple(sorted(_table("post_listing.body", rules.get("body", {})).items()))
    for key in ("csrf_selector", "last_selector"):
        if key in rules:
            rules[key] = _css("post_listing", key, rules[key])
    for key in ("csrf_header", "page_field"):
        if key in rules:
            rules[key] = _string("post_listing", key, rules[key])
    for key in ("first_page", "max_pages"):
        if key in rules:
            rules[key] = _number("post_listing", key, rules[key], int, 0 if key == "first_page" else 1)
    return PostListingRules(**rules)


def _parse_article(data: Any) -> ArticleRules:
    art = _table("article", data)
    _check_keys("article", art, _field_names(ArticleRules))
    for key in ("url_patterns", "exclude_patterns", "external_url_patterns"):
        if key in art:
            art[key] = _patterns("article", key, art[key], re.IGNORECASE)
    for key in ("boilerplate", "published_patterns"):
        if key in art:
            art[key] = _patterns("article", key, art[key])
    if any(p.groups < 1 for p in art.get("published_patterns", ())):
        raise ProfileError("[article] published_patterns need a group around the date")
    if "attachment_pattern" in art:
        _string("article", "attachment_pattern", art["attachment_pattern"])
        (art["attachment_pattern"],) = _patterns(
            "article", "attachment_pattern", [art["attachment_pattern"]], re.IGNORECASE
        )
    if "url_date_pattern" in art:
        (art["url_date_pattern"],) = _patterns("article", "url_date_pattern", [art["url_date_pattern"]])
        if not {"year", "month"} <= set(art["url_date_pattern"].groupindex):
            raise ProfileError("[article] url_date_pattern needs named groups year and month")
    for key in (
        "ignore_params",
        "title_suffixes",
        "published_selectors",
        "updated_selectors",
        "lead_selectors",
        "prune_xpath",
    ):
        if key in art:
            art[key] = _strings("article", key, art[key])
    if not art.get("url_patterns") and not art.get("external_url_patterns"):
        raise ProfileError("[article] url_patterns must name at least one pattern")
    return ArticleRules(**art)


def _parse_politeness(data: Any) -> Politeness:
    pol = _table("politeness", data)
    _check_keys("politeness", pol, _field_names(Politeness))
    return Politeness(
        delay=_number("politeness", "delay", pol.get("delay", 2.0), float, 0),
        concurrency=_number("politeness", "concurrency", pol.get("concurrency", 1), int, 1),
        max_pages=_number("politeness", "max_pages", pol["max_pages"], int, 1) if "max_pages" in pol else None,
        max_minutes=(
            _number("politeness", "max_minutes", pol["max_minutes"], float, 0.01) if "max_minutes" in pol else None
        ),
    )


_TOP = {
    "name",
    "title",
    "canonical_origin",
    "aliases",
    "external_hosts",
    "language",
    "timezone",
    "version",
    "platform",
    "channel",
    "sources",
}
_SECTIONS = {"discovery", "listing", "json_listing", "post_listing", "article", "politeness"}


def parse_profile(data: dict[str, Any]) -> SiteProfile:
    """Validate a profile's TOML data (its ``[overlay]`` merged over the rest first).

    Args:
        data: the parsed TOML document.

    Returns:
        The frozen profile.

    Raises:
        ProfileError: on an unknown key, a missing required key, or a bad value.
    """
    if "overlay" in data:
        data = merge_overlay({k: v for k, v in data.items() if k != "overlay"}, _table("overlay", data["overlay"]))
    _check_keys("profile", data, _TOP | _SECTIONS)
    for required in ("name", "title", "canonical_origin"):
        if required not in data:
            raise ProfileError(f"missing required key {required!r}")
    origin = urlsplit(data["canonical_origin"])
    if origin.scheme not in ("http", "https") or not origin.netloc or origin.path not in ("", "/"):
        raise ProfileError("canonical_origin must look like https://www.example.dk")
    channel = data.get("channel", "auto")
    if channel not in CHANNELS:
        raise ProfileError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    optional = {k: _string("profile", k, data[k]) for k in ("platform", "sources") if k in data}

    try:
        profile = SiteProfile(
            name=data["name"],
            title=data["title"],
            canonical_origin=f"{origin.scheme}://{origin.netloc.lower()}",
            aliases=tuple(h.lower() for h in _strings("profile", "aliases", data.get("aliases", []))),
            external_hosts=tuple(
                h.lower() for h in _strings("profile", "external_hosts", data.get("external_hosts", []))
            ),
            language=data.get("language", "da"),
            timezone=data.get("timezone", "Europe/Copenhagen"),
            version=int(data.get("version", 1)),
            channel=channel,
            discovery=_parse_discovery(data.get("discovery", {})),
            listing=_parse_cards(data.get("listing", {})),
            json_listing=_parse_json_listing(data["json_listing"]) if "json_listing" in data else None,
            post_listing=_parse_post_listing(data["post_listing"]) if "post_listing" in data else None,
            article=_parse_article(data.get("article", {})),
            politeness=_parse_politeness(data.get("politeness", {})),
            **optional,
        )
        # Translate every selector once so that a bad one fails at load time, not mid-crawl.
        profile.article.published_xpaths  # noqa: B018
        profile.article.updated_xpaths  # noqa: B018
        profile.article.lead_xpaths  # noqa: B018
    except ProfileError:
        raise
    except (TypeError, ValueError) as exc:
        raise ProfileError(str(exc)) from exc
    except Exception as exc:  # cssselect raises its own SelectorError hierarchy
        raise ProfileError(f"bad selector: {exc}") from exc
    if set(profile.external_hosts) & profile.hosts:
        raise ProfileError("external_hosts must not repeat the canonical host or an alias")
    return profile


def _profile_folder() -> Traversable:
    override = os.environ.get("KOEGE_PROFILES_DIR")
    if override:
        return Path(override)
    return resources.files("koege_spider").joinpath("profiles")


def available_sites() -> list[str]:
    """Return the names of every bundled profile, sorted.

    Returns:
        Profile names (file stems of ``koege_spider/profiles/*.toml``).
    """
    folder = _profile_folder()
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(name: str) -> SiteProfile:
    """Load and validate one bundled profile.

    Args:
        name: the profile key, e.g. ``"koege"``.

    Returns:
        The validated profile.

    Raises:
        UnknownSiteError: when no such profile exists.
        ProfileError: when the profile is malformed.
    """
    if not re.fullmatch(r"[a-z0-9_-]+", name or ""):
        raise UnknownSiteError(name)
    resource = _profile_folder().joinpath(f"{name}.toml")
    if not resource.is_file():
        raise UnknownSiteError(name)
    try:
        data = tomllib.loads(resource.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{name}.toml: {exc}") from exc
    try:
        profile = parse_profile(data)
    except ProfileError as exc:
        raise ProfileError(f"{name}.toml: {exc}") from exc
    if profile.name != name:
        raise ProfileError(f"{name}.toml declares name = {profile.name!r}")
    return profile


def load_profiles(names: list[str] | None = None) -> dict[str, SiteProfile]:
    """Load several profiles (all bundled ones by default).

    Args:
        names: profile keys, or None for every bundled profile.

    Returns:
        Profiles by name.

    Raises:
        UnknownSiteError: when a name has no profile.
        ProfileError: when a profile is malformed.
    """
    return {n: load_profile(n) for n in (names if names is not None else available_sites())}


def load_live_checks() -> dict[str, dict[str, Any]]:
    """The results of ``scripts/check_profiles_live.py``: which profiles were checked against the
    live site, when, and what a short crawl found (``profiles/live_checks.json``).

    Returns:
        Results by profile name; empty when no profile has been checked (as offline).
    """
    resource = _profile_folder().joinpath("live_checks.json")
    if not resource.is_file():
        return {}
    try:
        data = json.loads(resource.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}
