#!/usr/bin/env python3
"""Generate one site profile per municipality from data/municipalities.tsv.

Each profile is written to koege_spider/profiles/<key>.toml in two parts: the generated rules
(rewritten on every run) and, after the marker line, an ``[overlay]`` table of hand edits that
is kept verbatim. ``parse_profile`` merges the overlay over the generated rules on load (tables
key by key; any other value replaces), so a hand edit survives every regeneration.

A file without the marker is hand-written and never overwritten. Rows that left the table are
reported, their files left in place.

Usage:
    .venv/bin/python scripts/generate_profiles.py            # regenerate
    .venv/bin/python scripts/generate_profiles.py --check    # exit 1 if a profile is out of date
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
TABLE = REPO / "data" / "municipalities.tsv"
PROFILES = REPO / "koege_spider" / "profiles"
MARKER = "# ---- hand edits: the [overlay] table below survives regeneration (scripts/generate_profiles.py) ----"
COLUMNS = (
    "key",
    "name",
    "site_url",
    "news_url",
    "press_url",
    "channel",
    "source_type",
    "url_prefixes",
    "platform",
    "published_date",
    "listing_urls",
    "sitemap_url",
    "feed_url",
    "listing_item",
    "listing_title",
    "listing_link",
    "listing_date",
    "listing_summary",
    "listing_years",
    "json_listing",
    "html_post_listing",
)
# Newsroom services municipalities publish press releases through (KOEGE_SITE.md §0c, §2):
# where their articles live, which query parameters do not identify a release, and their cards.
NEWSROOMS: dict[str, dict[str, Any]] = {
    "via.ritzau.dk": {
        "article": r"^https://via\.ritzau\.dk/pressemeddelelse/\d+/",
        "ignore_params": ["publisherId"],
        "cards": {
            "item": "article",
            "link": "a[href*='/pressemeddelelse/']",
            "title": "h2",
            "date": "h2 > small",
            "summary": "[data-cypress='grid-card-content']",
        },
    },
}
# Paths below a listing that are never articles: year/month archives, pagination, feeds.
GENERIC_EXCLUDES = (
    r"/\d{4}(/[a-zæøå]{3,9})?/?$",
    r"/(page|side)/\d+/?$",
    r"/(arkiv|archive|rss|feed)/?$",
)
DELAY = 2.0


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _domain(host: str) -> str:
    return ".".join(host.split(".")[-2:])


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _path(url: str) -> str:
    path = urlsplit(url).path.rstrip("/") or "/"
    return path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "")


def _escape(text: str) -> str:
    """Escape regular-expression syntax only (re.escape also escapes "-", which hurts reading)."""
    return re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", text)


def _prefix_pattern(prefix: str) -> str:
    return "^" + _escape(prefix.rstrip("/")) + "/[^?]+$"


def _selector(value: str) -> tuple[list[str], list[str]]:
    """A verified date selector from the table as (CSS hints, regex hints)."""
    if value.startswith("regex "):
        return [], [value[len("regex ") :]]
    css, _, attr = value.partition(" @")
    return [f"{css.strip()}::attr({attr.strip()})" if attr else css.strip()], []


def _json_cell(row: dict[str, str], column: str) -> Any:
    try:
        return json.loads(row[column]) if row[column] else None
    except ValueError as exc:
        raise SystemExit(f"{row['key']}: column {column} is not JSON: {exc}") from exc


def profile_data(row: dict[str, str]) -> dict[str, Any]:
    """Turn one table row into profile data (every column is used).

    Args:
        row: the row, keyed by column name.

    Returns:
        The profile as nested dicts, ready to be written as TOML.
    """
    site_host = _host(row["site_url"])
    news_host = _host(row["news_url"])
    own_domain = _domain(site_host)
    origin = _origin(row["news_url"]) if _domain(news_host) == own_domain else _origin(row["site_url"])
    canonical_host = _host(origin)
    aliases = sorted(
        {canonical_host.removeprefix("www.") if canonical_host.startswith("www.") else f"www.{canonical_host}"}
        | ({site_host} - {canonical_host})
    )
    own_hosts = {canonical_host, *aliases}

    def place(url: str) -> str:
        return _path(url) if _host(url) in own_hosts else url

    listing_urls = _json_cell(row, "listing_urls") or []
    listings = [row["news_url"], *([row["press_url"]] if row["press_url"] else []), *listing_urls]
    listings = list(dict.fromkeys(place(u) for u in listings))
    feeds = [place(row["feed_url"])] if row["feed_url"] else []
    sitemaps = [place(row["sitemap_url"])] if row["sitemap_url"] else []
    external = sorted(
        {_host(u) for u in [*listings, *feeds, *sitemaps] if u.startswith("http") and _host(u) not in own_hosts}
    )

    prefixes = [p for p in row["url_prefixes"].split() if p.startswith("/")]
    prefixes += [re.sub(r"/\{year\}.*$", "", p.split("?")[0]) for p in listings if p.startswith("/")]
    prefixes = sorted({p.rstrip("/") for p in prefixes if p.rstrip("/")})
    prefixes = [p for p in prefixes if not any(p.startswith(q + "/") for q in prefixes)]
    listing_paths = [p.split("?")[0] for p in listings if p.startswith("/") and "{year}" not in p]
    excludes = [*GENERIC_EXCLUDES, *("^" + _escape(p) + "/?$" for p in sorted(set(listing_paths)))]

    external_patterns: list[str] = []
    ignore_params: list[str] = []
    cards: dict[str, str] = {}
    for host in external:
        service = NEWSROOMS.get(host)
        if service is not None:
            external_patterns.append(service["article"])
            ignore_params += service["ignore_params"]
            cards = cards or dict(service["cards"])
        else:  # an unknown newsroom: articles below the listing's path
            for url in [*listings, *feeds]:
                if _host(url) == host:
                    external_patterns.append("^" + _escape(f"https://{host}{urlsplit(url).path.rstrip('/')}/"))
    for column in ("item", "title", "link", "date", "summary"):
        if row[f"listing_{column}"]:
            cards[column] = row[f"listing_{column}"]

    title = f"{row['name']} Kommune"
    css, regexes = _selector(row["published_date"]) if row["published_date"] else ([], [])
    discovery: dict[str, Any] = {}
    key = "optional_listings" if row["channel"] in ("feed", "sitemap") else "listings"
    discovery[key] = listings
    if row["listing_years"]:
        discovery["listing_years"] = int(row["listing_years"])
    if feeds:
        discovery["feeds"] = feeds
    if sitemaps:
        discovery["sitemaps"] = sitemaps
    discovery["robots_sitemaps"] = True
    discovery["pagination_params"] = ["page", "side"]

    article: dict[str, Any] = {}
    if prefixes:
        article["url_patterns"] = [_prefix_pattern(p) for p in prefixes]
        article["exclude_patterns"] = excludes
    if external_patterns:
        article["external_url_patterns"] = sorted(set(external_patterns))
    if ignore_params:
        article["ignore_params"] = sorted(set(ignore_params))
    article["title_suffixes"] = [f" - {title}", f" | {title}"]
    if css:
        article["published_selectors"] = css
    if regexes:
        article["published_patterns"] = regexes

    data: dict[str, Any] = {
        "name": row["key"],
        "title": title,
        "canonical_origin": origin,
        "aliases": aliases,
    }
    if external:
        data["external_hosts"] = external
    if row["platform"]:
        data["platform"] = row["platform"]
    data["channel"] = row["channel"] or "auto"
    if row["source_type"]:
        data["sources"] = row["source_type"]
    data["discovery"] = discovery
    if cards:
        data["listing"] = cards
    json_listing = _json_cell(row, "json_listing")
    if json_listing:
        data["json_listing"] = json_listing
    post_listing = _json_cell(row, "html_post_listing")
    if post_listing:
        data["post_listing"] = post_listing
    data["article"] = article
    data["politeness"] = {"delay": DELAY, "concurrency": 1}
    return data


# --- a small, deterministic TOML writer (strings, numbers, booleans, lists, tables) --------------
def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        if "\\" in value and "'" not in value and "\n" not in value:
            return f"'{value}'"  # a literal string keeps regular expressions readable
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        items = [_value(v) for v in value]
        one_line = "[" + ", ".join(items) + "]"
        if len(one_line) <= 90:
            return one_line
        return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Write nested dicts as TOML, scalars before sub-tables, keys in the given order.

    Args:
        data: the document or table.
        prefix: the dotted name of the table being written ("" for the document).

    Returns:
        TOML text.
    """
    lines = [f"{_key(k)} = {_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, v in data.items():
        if isinstance(v, dict):
            name = f"{prefix}.{_key(k)}" if prefix else _key(k)
            out += f"\n[{name}]\n" + to_toml(v, name)
    return out


def render(row: dict[str, str], overlay: str | None) -> str:
    """The whole profile file: header, generated rules, marker, the kept overlay.

    Args:
        row: the table row.
        overlay: the text after the marker in the existing file, or None for a new file.

    Returns:
        The file's text.
    """
    header = (
        f"# {row['name']} Kommune. Generated by scripts/generate_profiles.py from data/municipalities.tsv\n"
        "# (a 2026 survey; facts in ../shared/KOEGE_SITE.md §0c). Do not edit above the marker: change\n"
        "# the table and regenerate, or put hand edits in [overlay] at the end (merged over the rules\n"
        "# above on load: tables key by key, any other value replaces).\n"
    )
    kept = overlay if overlay is not None else "\n[overlay]\n"
    return header + to_toml(profile_data(row)) + "\n" + MARKER + kept


def read_table(path: Path) -> list[dict[str, str]]:
    """Read the municipalities table, refusing unexpected columns.

    Args:
        path: the TSV file.

    Returns:
        The rows, sorted by key.
    """
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise SystemExit(f"{path}: expected the columns {', '.join(COLUMNS)}; got {reader.fieldnames}")
        rows = [{k: (v or "").strip() for k, v in row.items()} for row in reader]
    return sorted(rows, key=lambda r: r["key"])


def generate(table: Path, folder: Path, *, check: bool = False) -> int:
    """Write (or, with ``check``, compare) every profile of the table.

    Args:
        table: the municipalities table.
        folder: where the profiles live.
        check: only report profiles that differ from what the table gives.

    Returns:
        The exit code: 0 when everything is (or was made) up to date.
    """
    rows = read_table(table)
    status = 0
    changed = 0
    for row in rows:
        path = folder / f"{row['key']}.toml"
        old = path.read_text(encoding="utf-8") if path.exists() else None
        overlay = None
        if old is not None:
            if MARKER not in old:
                print(f"{path.name}: hand-written (no overlay marker); not overwritten", file=sys.stderr)
                status = 1
                continue
            overlay = old[old.index(MARKER) + len(MARKER) :]
        new = render(row, overlay)
        if new == old:
            continue
        changed += 1
        if check:
            print(f"{path.name}: out of date with {table.name}", file=sys.stderr)
            status = 1
        else:
            path.write_text(new, encoding="utf-8")
    keys = {r["key"] for r in rows}
    for path in sorted(folder.glob("*.toml")):
        if path.stem not in keys and MARKER in path.read_text(encoding="utf-8"):
            print(f"{path.name}: no longer in {table.name}; left in place", file=sys.stderr)
    verb = "would change" if check else "written"
    print(f"{len(rows)} profiles from {table.name}; {changed} {verb}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=Path, default=TABLE, help="the municipalities table (TSV)")
    parser.add_argument("--profiles", type=Path, default=PROFILES, help="the profile folder")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a profile is out of date")
    args = parser.parse_args(argv)
    return generate(args.table, args.profiles, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
