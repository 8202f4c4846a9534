"""Crawl settings: the User-Agent form, per-site politeness, and `-s` overrides."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from koege_spider.addons import SitesAddon, user_agent
from koege_spider.runner import crawl_settings

if TYPE_CHECKING:
    from scrapy.settings import Settings


def _applied(overrides: dict[str, str] | None = None) -> Settings:
    settings = crawl_settings("sqlite:///unused.sqlite", overrides)
    SitesAddon().update_settings(settings)
    return settings


def test_user_agent_has_the_contract_form() -> None:
    ua = _applied()["USER_AGENT"]
    assert re.fullmatch(r"Mozilla/5\.0 \(compatible; koege-archive/[^;]+; \+\S+\)", ua), ua
    assert "bot" not in ua.lower() and "scraper" not in ua.lower()


def test_contact_is_configurable_but_never_a_bot() -> None:
    assert user_agent("1.0", "mailto:arkiv@example.org").endswith("+mailto:arkiv@example.org)")
    with pytest.raises(ValueError, match="bot"):
        user_agent("1.0", "https://example.org/robots")


def test_profile_politeness_applies_per_site() -> None:
    settings = _applied()
    assert settings.getdict("DOWNLOAD_SLOTS")["koege"] == {"delay": 2.0, "concurrency": 1}
    assert settings.getbool("ROBOTSTXT_OBEY") and settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getint("DOWNLOAD_TIMEOUT") <= 60 and settings.getint("DOWNLOAD_MAXSIZE") <= 50 * 2**20


def test_command_line_delay_turns_every_delay_off() -> None:
    settings = _applied({"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False"})
    assert settings.getdict("DOWNLOAD_SLOTS")["koege"]["delay"] == 0.0
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is False
