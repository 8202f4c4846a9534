"""Spiders (one: news)."""
