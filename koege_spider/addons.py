"""SitesAddon: one download slot per site (across its alias hosts) with the profile's manners."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.settings import SETTINGS_PRIORITIES

from koege_spider.sites import load_profiles

if TYPE_CHECKING:
    from scrapy.settings import Settings

__all__ = ["SitesAddon", "slot_settings", "user_agent"]


def user_agent(version: str, contact: str) -> str:
    """The User-Agent the contract prescribes.

    Args:
        version: koege-archive's version.
        contact: a URL or e-mail address where site owners reach the archive's operator.

    Returns:
        ``Mozilla/5.0 (compatible; koege-archive/<version>; +<contact>)``.

    Raises:
        ValueError: when the contact would get the crawler blocked ("bot", "scraper").
    """
    if any(word in contact.lower() for word in ("bot", "scraper")):
        raise ValueError(
            f"KOEGE_ARCHIVE_CONTACT {contact!r} contains 'bot' or 'scraper'; municipal firewalls "
            "block such User-Agents. Use a plain URL or e-mail address."
        )
    return f"Mozilla/5.0 (compatible; koege-archive/{version}; +{contact})"


def _from_cmdline(settings: Settings, name: str) -> bool:
    return (settings.getpriority(name) or 0) >= SETTINGS_PRIORITIES["cmdline"]


def slot_settings(settings: Settings) -> dict[str, dict[str, float | int]]:
    """Build ``DOWNLOAD_SLOTS`` from every profile.

    A profile's delay and concurrency apply unless ``DOWNLOAD_DELAY`` or
    ``CONCURRENT_REQUESTS_PER_DOMAIN`` were given on the command line (``-s``): then the
    command line wins for every site, which is how ``-s DOWNLOAD_DELAY=0`` turns all delays off.

    Args:
        settings: the crawl's settings.

    Returns:
        Slot settings keyed by profile name.
    """
    delay_override = _from_cmdline(settings, "DOWNLOAD_DELAY")
    conc_override = _from_cmdline(settings, "CONCURRENT_REQUESTS_PER_DOMAIN")
    slots: dict[str, dict[str, float | int]] = {}
    for name, profile in load_profiles().items():
        pol = profile.politeness
        slots[name] = {
            "delay": settings.getfloat("DOWNLOAD_DELAY") if delay_override else pol.delay,
            "concurrency": (settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") if conc_override else pol.concurrency),
        }
    return slots


class SitesAddon:
    """Adds a ``DOWNLOAD_SLOTS`` entry per profile and the User-Agent, at addon priority
    (``-s`` still overrides both)."""

    def update_settings(self, settings: Settings) -> None:
        """Merge the profile slots under any slots already configured; set the User-Agent."""
        settings.set(
            "USER_AGENT",
            user_agent(settings.get("KOEGE_VERSION"), settings.get("KOEGE_CONTACT")),
            priority="addon",
        )
        slots = slot_settings(settings)
        slots.update(settings.getdict("DOWNLOAD_SLOTS"))
        settings.set("DOWNLOAD_SLOTS", slots, priority="addon")
