"""THE Scrapy settings of koege-archive: politeness, components, and the KOEGE_* defaults.

Both doors to a crawl (`koege-archive crawl` and `scrapy crawl news`) use this module unchanged;
per-run changes go through `-s NAME=VALUE`. Environment variables are read here and nowhere else
in the crawl. Every KOEGE_* setting is documented in docs/settings.md (a test checks it).
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from archive.db import default_archive_url

BOT_NAME = "koege-archive"
SPIDER_MODULES = ["koege_spider.spiders"]
NEWSPIDER_MODULE = "koege_spider.spiders"

try:
    KOEGE_VERSION = _version("koege-archive")
except PackageNotFoundError:  # running from a checkout that was never installed
    KOEGE_VERSION = "0+unknown"

# --- Identity -------------------------------------------------------------------------------
# SitesAddon builds USER_AGENT = "Mozilla/5.0 (compatible; koege-archive/<version>; +<contact>)":
# firewalls on municipal sites block User-Agents of any other form or containing "bot" or
# "scraper" (KOEGE_SITE.md §0b). The contact is per deployment.
KOEGE_CONTACT = os.environ.get("KOEGE_ARCHIVE_CONTACT", "https://github.com/koege-archive/koege-archive")

# --- Politeness -----------------------------------------------------------------------------
# Per-site delay and concurrency come from the profiles (SitesAddon builds DOWNLOAD_SLOTS, one
# slot per site across its alias hosts); AutoThrottle adapts above that floor. robots.txt is read
# as RFC 9309 says (koege_spider.robots), its Crawl-delay and Retry-After are honoured
# (koege_spider.pacing), and each site has a run-time budget (koege_spider.budget).
ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = 1.0
# No random jitter: a delay is a floor (Scrapy's ±50 % would halve it half of the time).
DOWNLOAD_DELAY_JITTER = 0.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_TIMES = 2
COOKIES_ENABLED = False
DOWNLOAD_HANDLERS = {"file": None, "data": None, "s3": None, "ftp": None}

ADDONS = {"koege_spider.addons.SitesAddon": 0}

EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.throttle.AutoThrottle": None,
    "koege_spider.throttle.SiteAutoThrottle": 0,
    # What the archive knows about each URL: revisit decisions, observations, the idle sweep.
    "koege_spider.recrawl.Recrawl": 90,
    "koege_spider.extensions.CrawlRunRecorder": 100,
}
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

SPIDER_MIDDLEWARES = {
    # Each spider middleware wraps every callback's output, so the ones this crawl does not
    # use go: depth (profiles cap listing pages instead), URL length, the meta-copy linter.
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
    # Only article requests worth making; pagination stops where nothing new or due is left.
    "koege_spider.recrawl.RevisitMiddleware": 750,
    # Each listing's article links counted before RevisitMiddleware thins them (health figures).
    "koege_spider.quality.ListingQualityMiddleware": 800,
}

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
    # Before robots.txt (100): a mirror's requests must be rebased before anything looks at them.
    "koege_spider.middlewares.MirrorRebaseMiddleware": 50,
    # robots.txt per RFC 9309 (a 5xx means stay out) and its Crawl-delay, in place of Scrapy's.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "koege_spider.robots.RobotsPolicyMiddleware": 100,
    # Suppressed documents (takedowns) are not fetched again.
    "koege_spider.takedown.SuppressedUrlsMiddleware": 105,
    # After robots.txt, so that refused requests do not spend a site's budget.
    "koege_spider.budget.SiteBudgetMiddleware": 110,
    "koege_spider.pacing.PacingMiddleware": 120,
    # Conditional requests; 304s, identical payloads and removals observed. Below redirects
    # (600) and decompression (590), so it sees the final response and the body the archive keeps.
    "koege_spider.conditional.ConditionalRequestMiddleware": 580,
    # Every exchange into WARC as the server sent it: above decompression (590) and redirects
    # (600), so records hold the bytes on the wire and each redirect hop (TRAPS.md).
    "koege_spider.warc.WarcCaptureMiddleware": 950,
}

ITEM_PIPELINES = {
    "pipelines.extraction.ExtractionPipeline": 300,
    "pipelines.article_dates.DanishDatePipeline": 400,
    "pipelines.dedup.DedupPipeline": 500,
    "pipelines.attachments.AttachmentPipeline": 600,
    "pipelines.storage.ArchivePipeline": 900,
}

# Scrapy starts this many tasks for every response's output; ours yield one item or a few
# dozen links, and the default (100) costs more in task creation than it gains.
CONCURRENT_ITEMS = 16
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_FORMATTER = "koege_spider.logformatter.ArticleLogFormatter"
LOG_LEVEL = "INFO"

# --- koege-archive components (grouped per component; enabling flag first) -------------------
KOEGE_ARCHIVE_DB = os.environ.get("KOEGE_ARCHIVE_DB") or default_archive_url()
# WARC files and logs live in the archive's data folder: beside an SQLite file by default.
KOEGE_ARCHIVE_DATA = os.environ.get("KOEGE_ARCHIVE_DATA", "")
KOEGE_BUDGET_ENABLED = True
KOEGE_BUDGET_MAX_MINUTES = 720.0
KOEGE_BUDGET_MAX_PAGES = 25000
KOEGE_EXTRACTION_MIN_WORDS = 15
KOEGE_EXTRACTION_WORKERS = -1
KOEGE_PACING_ENABLED = True
KOEGE_PACING_CRAWL_DELAY_MAX = 60.0
KOEGE_PACING_RETRY_AFTER_MAX = 600.0
KOEGE_PROGRESS_ENABLED = False
KOEGE_STORAGE_BATCH_SIZE = 50
KOEGE_RECRAWL_ENABLED = True
KOEGE_RECRAWL_REVISIT_HOURS = 24.0
KOEGE_RECRAWL_FRESH_PAGES = 1
KOEGE_SINCE = ""
KOEGE_NEARDUP_ENABLED = True
KOEGE_NEARDUP_THRESHOLD = 0.5
KOEGE_WARC_ENABLED = True
KOEGE_WARC_MAX_MB = 1000.0
