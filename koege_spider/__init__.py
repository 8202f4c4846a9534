"""Scrapy project: settings, site profiles, spiders and crawl-side components."""
