"""The articles-per-month chart, drawn as a plain SVG image (no script, no external library)."""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["month_chart_svg"]


def month_chart_svg(months: list[dict[str, Any]], *, title: str, width: int = 760, height: int = 180) -> str:
    """Draw bars of articles per month.

    Args:
        months: ``[{"month": "2019-03", "count": 4}, …]`` in order, gaps included.
        title: the chart's accessible title.
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        An SVG document.
    """
    left, bottom, top = 36, 22, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max((m["count"] for m in months), default=0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        '<g font-family="sans-serif" font-size="11" fill="#444">',
        f'<line stroke="#999" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    if months and peak:
        step = plot_w / len(months)
        bar_w = max(1.0, step * 0.8)
        years_seen: set[str] = set()
        label_every = max(1, len({m["month"][:4] for m in months}) // 12 + 1)
        for i, m in enumerate(months):
            x = left + i * step
            h = plot_h * m["count"] / peak
            label = f"{m['month']}: {m['count']}"
            parts.append(
                f'<rect fill="#1f5f8b" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
                f"<title>{escape(label)}</title></rect>"
            )
            year = m["month"][:4]
            if year not in years_seen:
                years_seen.add(year)
                if (len(years_seen) - 1) % label_every == 0:
                    parts.append(f'<text x="{x:.1f}" y="{height - 6}">{escape(year)}</text>')
    parts.append("</g></svg>")
    return "".join(parts)
