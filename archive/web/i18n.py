"""The web page's words in Danish (the default) and English."""

from __future__ import annotations

__all__ = ["LANGUAGES", "translator"]

LANGUAGES = ("da", "en")

_STRINGS: dict[str, tuple[str, str]] = {
    # key: (Danish, English)
    "title": ("Kommunale nyheder – arkiv", "Municipal news archive"),
    "search": ("Søg", "Search"),
    "search_label": ("Søg i arkivet", "Search the archive"),
    "placeholder": ('fx affald* eller "grøn vækst"', 'e.g. affald* or "grøn vækst"'),
    "help": (
        'Ord søges med dansk bøjning (vækstområdet finder vækstområder). "Citationstegn" søger en frase, '
        "affald* finder ord der begynder med affald, OR/ELLER giver flere, NOT/IKKE eller -ord udelukker.",
        'Words match their Danish inflections (vækstområdet finds vækstområder). "Quotes" search a phrase, '
        "affald* finds words starting with affald, OR/ELLER widens, NOT/IKKE or -word excludes.",
    ),
    "filters": ("Filtre", "Filters"),
    "site": ("Kommune", "Site"),
    "section": ("Sektion", "Section"),
    "all": ("Alle", "All"),
    "published_from": ("Offentliggjort fra", "Published from"),
    "published_to": ("til", "to"),
    "updated_from": ("Opdateret fra", "Updated from"),
    "updated_to": ("til", "to"),
    "date_hint": ("ÅÅÅÅ, ÅÅÅÅ-MM eller ÅÅÅÅ-MM-DD", "YYYY, YYYY-MM or YYYY-MM-DD"),
    "sort": ("Sortering", "Sort"),
    "relevance": ("Bedste match", "Best match"),
    "newest": ("Nyeste først", "Newest first"),
    "oldest": ("Ældste først", "Oldest first"),
    "results": ("{n} artikler", "{n} articles"),
    "showing": ("viser {a}–{b}", "showing {a}–{b}"),
    "no_results": ("Ingen artikler passer på søgningen.", "No articles match the search."),
    "archive_holds": ("Arkivet rummer {n} artikler.", "The archive holds {n} articles."),
    "previous": ("← Forrige", "← Previous"),
    "next": ("Næste →", "Next →"),
    "published": ("Offentliggjort", "Published"),
    "updated": ("Opdateret", "Updated"),
    "undated": ("uden dato", "undated"),
    "export": ("Eksportér søgningen", "Export this search"),
    "export_note": (
        "Hver eksport får et manifest med søgning, filtre, antal rækker og SHA-256, så datasættet kan citeres.",
        "Every export comes with a manifest (query, filters, row count, SHA-256) so the dataset can be cited.",
    ),
    "chart": ("Artikler pr. måned", "Articles per month"),
    "chart_alt": (
        "Søjlediagram: antal artikler pr. måned for søgningen",
        "Bar chart: articles per month for the search",
    ),
    "chart_data": ("tallene som JSON", "the numbers as JSON"),
    "article": ("Artikel", "Article"),
    "metadata": ("Oplysninger", "Details"),
    "document": ("Dokument", "Document"),
    "version": ("Version", "Version"),
    "of": ("af", "of"),
    "original": ("Original adresse", "Original URL"),
    "raw_capture": ("Rå arkiveret side", "Raw archived page"),
    "raw_note": (
        "Vises i en sandkasse: ingen scripts fra siden kører.",
        "Shown in a sandbox: no script from the page runs.",
    ),
    "show_capture": ("Vis den arkiverede side", "Show the archived page"),
    "download_capture": ("hent", "download"),
    "no_capture": ("Den rå side er ikke gemt.", "The raw page was not kept."),
    "source": ("kilde", "source"),
    "updated_by": ("Opdateret af", "Updated by"),
    "contact": ("Kontakt", "Contact"),
    "language": ("Sprog", "Language"),
    "first_seen": ("Først set", "First seen"),
    "last_seen": ("Sidst set", "Last seen"),
    "content_hash": ("Tekstens SHA-256", "Text SHA-256"),
    "duplicate_of": ("Kopi af", "Duplicate of"),
    "cite": ("Citér", "Cite"),
    "cite_line": (
        "{site}: »{title}«, {url} (offentliggjort {published}). Arkiveret som dokument {id}, version {version}, "
        "set {seen}.",
        "{site}: “{title}”, {url} (published {published}). Archived as document {id}, version {version}, seen {seen}.",
    ),
    "versions": ("Versioner", "Versions"),
    "changes": ("Ændringer fra version {a} til {b}", "Changes from version {a} to {b}"),
    "only_version": ("Der er kun én version.", "There is only one version."),
    "showing_version": ("Viser version {v}", "Showing version {v}"),
    "not_found": ("Ikke fundet", "Not found"),
    "not_found_text": ("Der er intet dokument med det nummer.", "There is no document with that number."),
    "bad_query": ("Søgningen kan ikke køres", "The search cannot be run"),
    "back": ("Tilbage til søgningen", "Back to the search"),
    "export_ready": ("Eksporten er klar", "The export is ready"),
    "download": ("Hent filen", "Download the file"),
    "download_manifest": ("Hent manifestet", "Download the manifest"),
    "rows": ("Rækker", "Rows"),
    "file": ("Fil", "File"),
    "size": ("Størrelse", "Size"),
    "cells_cut": (
        "{n} tekster var længere end Excels grænse på 32.767 tegn pr. celle og er afkortet med en synlig markering; "
        "hele teksterne findes i CSV, JSONL og Parquet.",
        "{n} texts were longer than Excel's limit of 32,767 characters per cell and are cut with a visible marker; "
        "CSV, JSONL and Parquet hold them whole.",
    ),
    "common_words": (
        "Ordene står i de fleste artikler, så de kan ikke rangeres: viser nyeste først.",
        "The words are in most articles, so they cannot be ranked: newest first.",
    ),
    "api": ("JSON-API (OpenAPI)", "JSON API (OpenAPI)"),
    "other_language": ("English", "Dansk"),
    "query": ("Søgning", "Query"),
    "error": ("Fejl", "Error"),
    "attachments": ("Vedhæftede filer", "Attachments"),
    "attachment_pages": ("{n} sider", "{n} pages"),
    "attachment_capture": ("arkiveret kopi", "archived copy"),
    "attachment_no_capture": ("filen er ikke gemt", "the file was not kept"),
    "attachment_no_text": ("ingen tekst læst ({why})", "no text read ({why})"),
    "found_in_attachment": ("Fundet i vedhæftet fil: {name}", "Found in an attachment: {name}"),
}


def translator(lang: str):  # noqa: ANN201  (returns a plain callable for templates)
    """A function ``t(key, **values)`` giving the text in ``lang`` (Danish when unknown)."""
    index = 1 if lang == "en" else 0

    def t(key: str, **values: object) -> str:
        text = _STRINGS[key][index]
        return text.format(**values) if values else text

    return t
