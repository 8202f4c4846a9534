"""End to end in headless Chromium (Debian's chromium, driven by Playwright) against `koege-archive serve`.

Search, open an article, see its versions and their changes, download an export; hostile
queries and an archived page full of script, shown without running any of it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.archive.corpus import build_corpus
from tests.conftest import CLI, REPO, REQUIRE_SERVICES, crawl_mirror

if TYPE_CHECKING:
    from collections.abc import Iterator

    from koege_spider.mirror import MirrorServer

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason}, but KOEGE_REQUIRE_SERVICES=1 (.ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        _unavailable("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(
    koege_mirror: MirrorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, int]]]:
    folder = tmp_path_factory.mktemp("e2e")
    db_url = f"sqlite:///{folder / 'archive.sqlite'}"
    crawled = crawl_mirror(koege_mirror, db_url)
    assert crawled.returncode == 0, crawled.stderr
    ids = build_corpus(db_url)
    proc = subprocess.Popen(
        [CLI, "serve", "--port", "0", "--db", db_url, "--export-dir", str(folder / "exports")],
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stderr is not None
    base = None
    for line in proc.stderr:
        if line.startswith("Serving the archive at "):
            base = line.split(" at ")[1].split()[0].rstrip("/")
            break
    assert base, "the server did not start"
    try:
        yield base, ids
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def page(browser, server):
    context = browser.new_context(accept_downloads=True, locale="da-DK")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def test_search_open_article_versions_and_export(page, server, tmp_path: Path) -> None:
    base, ids = server
    page.goto(base + "/")
    page.fill("#q", "affald*")
    page.click("button[type=submit]")
    assert "artikler" in page.inner_text("#count")
    assert page.locator(".hit mark").count() > 0
    assert page.locator(".hit time").first.inner_text()[:2] in ("20", "19")
    first_title = page.locator(".hit a.title").first.inner_text()
    page.locator(".hit a.title").first.click()
    assert page.inner_text("#title") == first_title
    assert "Versioner" in page.inner_text("#versions")
    assert "https://www.koege.dk/" in page.get_attribute("#original", "href")

    # An article with two versions: the changes, then the older text.
    page.goto(base + "/")
    page.fill("#q", "daginstitutioner")
    page.click("button[type=submit]")
    page.locator(".hit a.title").first.click()
    assert "14" in page.locator("#diff ins").first.inner_text()
    assert f"dokument {ids['budget']}, version 2" in page.inner_text("#citation")
    page.click("#versions a:text('Version 1')")
    assert "12 millioner" in page.inner_text("#text")

    # Export the search as XLSX and open the download in openpyxl.
    page.goto(base + "/?q=haveaffald")
    page.click("#exports a[data-format=xlsx]")
    rows = int(page.inner_text("#export-rows"))
    with page.expect_download() as info:
        page.click("#download")
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    from openpyxl import load_workbook

    sheet = load_workbook(target, read_only=True)["Artikler"]
    assert len(list(sheet.values)) == rows + 1 == 3
    assert page.dialogs == []


def test_english_is_one_click_away(page, server) -> None:
    base, _ids = server
    page.goto(base + "/?q=vækst")
    page.click("#lang-switch")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "articles" in page.inner_text("#count")


def test_hostile_queries_in_the_search_box(page, server) -> None:
    base, _ids = server
    for query in ["x' OR 1=1; DROP TABLE documents;--", '"><script>alert(1)</script>', "NEAR(", "ø" * 10_000]:
        page.goto(base + "/")
        page.fill("#q", query)
        page.click("button[type=submit]")
        assert page.locator("#count").count() == 1 or "at most" in page.inner_text("#error")
    page.goto(base + "/")
    page.fill("#q", "delegation")
    page.click("button[type=submit]")
    assert int(page.inner_text("#count").split()[0]) >= 1  # the archive still answers
    assert page.dialogs == []


def test_an_archived_page_with_script_runs_nothing(page, server) -> None:
    base, ids = server
    page.goto(f"{base}/artikel/{ids['hostile']}")
    assert "<script>" in page.inner_text("#title")  # shown as text
    page.click("details.capture summary")
    frame = page.frame_locator("iframe")
    assert frame.locator("h1").inner_text() == "Arkiveret side"
    # Had any script run (the title's, the text's, or the capture's), the title would have changed.
    assert page.title().startswith('<script>document.title="pwned-title"</script> Farlig')
    capture = page.get_attribute("#capture", "href")
    page.goto(base + capture)  # the raw capture opened on its own: still sandboxed
    assert page.locator("h1").inner_text() == "Arkiveret side"
    assert page.title() == "Arkiveret"  # its script would have renamed it
    assert page.dialogs == []
