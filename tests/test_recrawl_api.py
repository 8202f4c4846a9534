"""The recrawl and duplicate modules keep small public surfaces; the archive side stays Scrapy-free."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from tests.conftest import REPO

MODULES = [
    "archive.duplicates",
    "archive.history",
    "archive.lifecycle",
    "archive.neardup",
    "archive.runs",
    "koege_spider.conditional",
    "koege_spider.recrawl",
    "koege_spider.revisit",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist_and_are_public(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__
    for public in module.__all__:
        assert not public.startswith("_") and hasattr(module, public), f"{name}.{public}"


def test_history_and_duplicates_need_no_scrapy() -> None:
    code = (
        "import archive.duplicates, archive.history, archive.lifecycle, archive.neardup, archive.runs, sys;"
        " print('scrapy' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "False"
