"""Small public surfaces, kept honest; the archive stays usable without Scrapy."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

MODULES = [
    "archive",
    "archive.db",
    "archive.export",
    "archive.queries",
    "archive.store",
    "archive.models",
    "pipelines",
    "pipelines.dates",
    "pipelines.extraction",
    "pipelines.article_dates",
    "koege_spider.sites",
    "koege_spider.urls",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist_and_are_public(name: str) -> None:
    module = importlib.import_module(name)
    for public in module.__all__:
        assert not public.startswith("_")
        assert hasattr(module, public), f"{name}.{public}"


def test_the_archive_library_does_not_import_scrapy() -> None:
    code = "import archive, archive.store, archive.queries, archive.export, sys; print('scrapy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "False"


def test_every_koege_setting_is_documented() -> None:
    settings = importlib.import_module("koege_spider.settings")
    docs = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    names = [n for n in vars(settings) if re.fullmatch(r"KOEGE_[A-Z_]+", n)]
    assert names
    assert [n for n in names if f"`{n}`" not in docs] == []


def test_no_site_branches_in_code() -> None:
    offenders = []
    for path in [*REPO.glob("koege_spider/**/*.py"), *REPO.glob("pipelines/*.py"), *REPO.glob("archive/**/*.py")]:
        text = path.read_text(encoding="utf-8")
        if re.search(r"""(?<![\w.])(site|site_key|spider\.name|profile\.name)\s*(==|!=)\s*["']""", text):
            offenders.append(str(path))
    assert offenders == []
