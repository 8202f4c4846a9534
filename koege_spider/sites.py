"""Site profiles: per-site rules as data (TOML), validated into frozen dataclasses."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from parsel.csstranslator import css2xpath

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "ArticleRules",
    "DiscoveryRules",
    "Politeness",
    "ProfileError",
    "SiteProfile",
    "UnknownSiteError",
    "available_sites",
    "load_profile",
    "load_profiles",
    "parse_profile",
]


class ProfileError(ValueError):
    """A profile file is malformed (unknown key, wrong type, bad pattern)."""


class UnknownSiteError(LookupError):
    """No profile exists under the requested name."""


@dataclass(frozen=True, slots=True)
class DiscoveryRules:
    """Where a site's articles are found.

    Paths are relative to the canonical origin; absolute URLs are allowed too.
    """

    listings: tuple[str, ...] = ()
    optional_listings: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    robots_sitemaps: bool = True
    pagination_params: tuple[str, ...] = ("page",)
    max_listing_pages: int = 200


@dataclass(frozen=True, slots=True)
class ArticleRules:
    """How article pages are recognised and read.

    Selectors are optional hints (CSS with parsel's ``::attr(name)``/``::text``); generic
    signals (meta tags, JSON-LD, the page's date line) are used when they find nothing.
    """

    url_patterns: tuple[re.Pattern[str], ...] = ()
    exclude_patterns: tuple[re.Pattern[str], ...] = ()
    url_date_pattern: re.Pattern[str] | None = None
    title_suffixes: tuple[str, ...] = ()
    published_selectors: tuple[str, ...] = ()
    updated_selectors: tuple[str, ...] = ()
    lead_selectors: tuple[str, ...] = ()
    prune_xpath: tuple[str, ...] = ()
    boilerplate: tuple[re.Pattern[str], ...] = ()

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
    """Per-site crawl manners: the delay is also the floor AutoThrottle keeps."""

    delay: float = 2.0
    concurrency: int = 1


@dataclass(frozen=True, slots=True)
class SiteProfile:
    """One site's rules, loaded from ``koege_spider/profiles/<name>.toml``."""

    name: str
    title: str
    canonical_origin: str
    aliases: tuple[str, ...] = ()
    language: str = "da"
    timezone: str = "Europe/Copenhagen"
    version: int = 1
    discovery: DiscoveryRules = field(default_factory=DiscoveryRules)
    article: ArticleRules = field(default_factory=ArticleRules)
    politeness: Politeness = field(default_factory=Politeness)

    @property
    def canonical_host(self) -> str:
        """The host every document URL of this site is stored under."""
        return urlsplit(self.canonical_origin).netloc

    @property
    def hosts(self) -> frozenset[str]:
        """The canonical host and every alias host."""
        return frozenset((self.canonical_host, *self.aliases))


def _check_keys(section: str, data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ProfileError(
            f"unknown key(s) in [{section}]: {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _strings(section: str, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ProfileError(f"[{section}] {key} must be a list of strings")
    return tuple(value)


def _patterns(section: str, key: str, value: Any, flags: int = 0) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for text in _strings(section, key, value):
        try:
            compiled.append(re.compile(text, flags))
        except re.error as exc:
            raise ProfileError(f"[{section}] {key}: bad regular expression {text!r}: {exc}") from exc
    return tuple(compiled)


def _field_names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def parse_profile(data: dict[str, Any]) -> SiteProfile:
    """Validate a profile's TOML data.

    Args:
        data: the parsed TOML document.

    Returns:
        The frozen profile.

    Raises:
        ProfileError: on an unknown key, a missing required key, or a bad value.
    """
    top = {"name", "title", "canonical_origin", "aliases", "language", "timezone", "version"}
    _check_keys("profile", data, top | {"discovery", "article", "politeness"})
    for required in ("name", "title", "canonical_origin"):
        if required not in data:
            raise ProfileError(f"missing required key {required!r}")
    origin = urlsplit(data["canonical_origin"])
    if origin.scheme not in ("http", "https") or not origin.netloc or origin.path not in ("", "/"):
        raise ProfileError("canonical_origin must look like https://www.example.dk")

    disc = dict(data.get("discovery", {}))
    _check_keys("discovery", disc, _field_names(DiscoveryRules))
    for key in ("listings", "optional_listings", "sitemaps", "pagination_params"):
        if key in disc:
            disc[key] = _strings("discovery", key, disc[key])

    art = dict(data.get("article", {}))
    _check_keys("article", art, _field_names(ArticleRules))
    for key in ("url_patterns", "exclude_patterns"):
        if key in art:
            art[key] = _patterns("article", key, art[key], re.IGNORECASE)
    if "boilerplate" in art:
        art["boilerplate"] = _patterns("article", "boilerplate", art["boilerplate"])
    if "url_date_pattern" in art:
        (art["url_date_pattern"],) = _patterns("article", "url_date_pattern", [art["url_date_pattern"]])
        if not {"year", "month"} <= set(art["url_date_pattern"].groupindex):
            raise ProfileError("[article] url_date_pattern needs named groups year and month")
    for key in (
        "title_suffixes",
        "published_selectors",
        "updated_selectors",
        "lead_selectors",
        "prune_xpath",
    ):
        if key in art:
            art[key] = _strings("article", key, art[key])
    if not art.get("url_patterns"):
        raise ProfileError("[article] url_patterns must name at least one pattern")

    pol = dict(data.get("politeness", {}))
    _check_keys("politeness", pol, _field_names(Politeness))

    try:
        profile = SiteProfile(
            name=data["name"],
            title=data["title"],
            canonical_origin=f"{origin.scheme}://{origin.netloc.lower()}",
            aliases=tuple(h.lower() for h in _strings("profile", "aliases", data.get("aliases", []))),
            language=data.get("language", "da"),
            timezone=data.get("timezone", "Europe/Copenhagen"),
            version=int(data.get("version", 1)),
            discovery=DiscoveryRules(**disc),
            article=ArticleRules(**art),
            politeness=Politeness(delay=float(pol.get("delay", 2.0)), concurrency=int(pol.get("concurrency", 1))),
        )
        # Translate every selector once so that a bad one fails at load time, not mid-crawl.
        profile.article.published_xpaths  # noqa: B018
        profile.article.updated_xpaths  # noqa: B018
        profile.article.lead_xpaths  # noqa: B018
    except (TypeError, ValueError) as exc:
        raise ProfileError(str(exc)) from exc
    except Exception as exc:  # cssselect raises its own SelectorError hierarchy
        raise ProfileError(f"bad selector: {exc}") from exc
    return profile


def _profile_folder() -> Traversable:
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
    profile = parse_profile(data)
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
