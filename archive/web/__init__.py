"""The web page and JSON API (`koege-archive serve`): FastAPI, Jinja2 templates, no script."""

from __future__ import annotations

from archive.web.app import create_app

__all__ = ["create_app"]
