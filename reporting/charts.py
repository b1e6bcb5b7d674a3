"""Charts drawn on the server as SVG, so they need no JavaScript, print, and appear the same
in the report PDFs (WeasyPrint draws inline SVG).

Each chart is readable without its colours: every series has its own fill pattern as well as
its own colour (from the Okabe-Ito palette, which colour-blind readers tell apart), bars carry
their numbers as text, the legend names every series, and the SVG has a title and a
description. The same numbers come back as a table (``Chart.table``) that the template puts
behind the chart, for screen readers and for anyone who wants the figures.

No ``style`` attributes: presentation attributes only, so a strict Content-Security-Policy
(``style-src 'self'``) has nothing to block.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

Number = int | float | Decimal
_ids = itertools.count(1)

# (colour, pattern): dark blue solid, orange with diagonal lines, sky blue with dots,
# bluish green with cross-hatching, vermillion with horizontal lines, grey with no fill.
# Their greys differ too, so a greyscale print keeps them apart.
PALETTE = [
    ("#0b4f8a", "solid"),
    ("#e69f00", "diagonal"),
    ("#56b4e9", "dots"),
    ("#009e73", "cross"),
    ("#d55e00", "horizontal"),
    ("#6b6b6b", "solid"),
]
# Objectives' RAG: the colours people expect, told apart by pattern and by the words.
RAG_STYLES = {
    "red": ("#b51f1f", "diagonal"),
    "amber": ("#e69f00", "dots"),
    "green": ("#1e7a3c", "solid"),
    "": ("#bdbdbd", "cross"),
}


def plain(value: Number) -> str:
    if isinstance(value, float | Decimal) and value != int(value):
        return f"{value:,.1f}"
    return f"{int(value):,}"


def money(value: Number) -> str:
    return f"£{round(value):,.0f}"


@dataclass
class Series:
    name: str
    values: Sequence[Number]
    colour: str = ""
    pattern: str = ""


@dataclass
class Chart:
    title: str
    description: str
    categories: list[str]
    series: list[Series]
    svg: SafeString = field(default=SafeString(""))
    fmt: Callable[[Number], str] = plain
    total: bool = False  # a stacked chart's table adds a total column

    @property
    def table_head(self) -> list[str]:
        return [s.name for s in self.series] + (["Total"] if self.total else [])

    @property
    def table_rows(self) -> list[tuple[str, list[str]]]:
        rows = []
        for i, category in enumerate(self.categories):
            values = [s.values[i] for s in self.series]
            cells = [self.fmt(v) for v in values]
            if self.total:
                cells.append(self.fmt(sum(values)))
            rows.append((category, cells))
        return rows

    @property
    def is_empty(self) -> bool:
        return not any(v for s in self.series for v in s.values)


def _styled(series: list[Series], styles: dict | None = None) -> list[Series]:
    for s, (colour, pattern) in zip(series, itertools.cycle(PALETTE), strict=False):
        if styles is not None and s.name in styles:
            colour, pattern = styles[s.name]
        s.colour = s.colour or colour
        s.pattern = s.pattern or pattern
    return series


def _defs(prefix: str, series: list[Series]) -> str:
    parts = []
    for i, s in enumerate(series):
        if s.pattern == "solid":
            continue
        marks = {
            "diagonal": '<path d="M0,8 L8,0 M-2,2 L2,-2 M6,10 L10,6" stroke="#fff" '
            'stroke-width="1.6"/>',
            "dots": '<circle cx="4" cy="4" r="1.6" fill="#fff"/>',
            "cross": '<path d="M0,0 L8,8 M8,0 L0,8" stroke="#fff" stroke-width="1.2"/>',
            "horizontal": '<path d="M0,4 L8,4" stroke="#fff" stroke-width="1.6"/>',
        }[s.pattern]
        parts.append(
            f'<pattern id="{prefix}-p{i}" width="8" height="8" patternUnits="userSpaceOnUse">'
            f'<rect width="8" height="8" fill="{s.colour}"/>{marks}</pattern>'
        )
    return f"<defs>{''.join(parts)}</defs>" if parts else ""


def _fill(prefix: str, i: int, s: Series) -> str:
    return s.colour if s.pattern == "solid" else f"url(#{prefix}-p{i})"


def _short(label: str, limit: int = 28) -> str:
    """Long labels lose their middle, not their end: rows that differ only at the end (a
    year, a number) stay apart. The full label is the row's tooltip and in the table."""
    if len(label) <= limit:
        return label
    head = (limit - 1) // 2
    return f"{label[:head].rstrip()}…{label[-(limit - 1 - head) :].lstrip()}"


def _legend(prefix: str, series: list[Series], y: int, width: int) -> tuple[str, int]:
    """Legend swatches in rows; returns the SVG and the height used."""
    parts, x, row = [], 0, 0
    for i, s in enumerate(series):
        item = 26 + 7 * len(s.name)
        if x and x + item > width:
            x, row = 0, row + 1
        top = y + row * 20
        parts.append(
            f'<rect x="{x}" y="{top}" width="14" height="14" fill="{_fill(prefix, i, s)}" '
            f'stroke="#333" stroke-width="0.5"/>'
            f'<text x="{x + 19}" y="{top + 11}" font-size="12" fill="#222">{escape(s.name)}</text>'
        )
        x += item
    return "".join(parts), (row + 1) * 20


def _svg(prefix: str, chart: Chart, width: int, height: int, body: str) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" '
        'role="img" aria-labelledby="{p}-t {p}-d" class="chart-svg" '
        'preserveAspectRatio="xMinYMin meet" font-family="sans-serif">'
        '<title id="{p}-t">{title}</title><desc id="{p}-d">{desc}</desc>{body}</svg>',
        w=width,
        h=height,
        p=prefix,
        title=chart.title,
        desc=chart.description,
        # Every label and number in ``body`` went through escape() above (tested).
        body=mark_safe(body),  # noqa: S308  # nosec B308 B703
    )


def bars(
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = False,
    fmt: Callable[[Number], str] = plain,
    styles: dict | None = None,
    row_styles: Sequence[tuple[str, str]] | None = None,
) -> Chart:
    """Horizontal bars, one row per category: grouped (a bar per series) or stacked.
    ``row_styles`` gives a single series' rows their own (colour, pattern), e.g. RAG."""
    chart = Chart(title, description, list(categories), _styled(list(series), styles), fmt=fmt)
    chart.total = stacked and len(chart.series) > 1
    prefix = f"c{next(_ids)}-{slugify(title)[:20]}"
    # A narrow drawing with large text: on a phone the SVG is shrunk to the screen's width.
    label_w, bar_w, value_w = 170, 270, 80
    width = label_w + bar_w + value_w
    n = len(chart.series)
    row_h = 30 if stacked or n == 1 else 14 * n + 10
    totals = [sum(s.values[i] for s in chart.series) for i in range(len(chart.categories))]
    biggest = max(totals if stacked else [v for s in chart.series for v in s.values] or [0])
    scale = bar_w / float(biggest) if biggest else 0
    body = [_defs(prefix, chart.series)]
    row_series = []
    if row_styles and n == 1:
        row_series = [Series("", [], c, p) for c, p in row_styles]
        body.append(_defs(f"{prefix}-r", row_series))
    for r, category in enumerate(chart.categories):
        top = r * row_h
        body.append(
            f'<text x="{label_w - 8}" y="{top + row_h / 2 + 5:.0f}" font-size="14" '
            f'text-anchor="end" fill="#222"><title>{escape(category)}</title>'
            f"{escape(_short(category, 20))}</text>"
        )
        x = label_w
        for i, s in enumerate(chart.series):
            value = s.values[r]
            w = float(value) * scale
            if stacked:
                y, h = top + 4, row_h - 8
            else:
                y, h = top + 5 + i * 14, 12 if n > 1 else row_h - 8
            fill = _fill(f"{prefix}-r", r, row_series[r]) if row_series else _fill(prefix, i, s)
            if w > 0:
                body.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{h}" '
                    f'fill="{fill}" stroke="#222" stroke-width="0.4">'
                    f"<title>{escape(s.name)}, {escape(category)}: {escape(fmt(value))}</title>"
                    "</rect>"
                )
            if stacked:
                x += w
            else:
                body.append(
                    f'<text x="{label_w + w + 4:.1f}" y="{y + h}" font-size="12" '
                    f'fill="#222">{escape(fmt(value))}</text>'
                )
        if stacked:
            body.append(
                f'<text x="{x + 4:.1f}" y="{top + row_h / 2 + 5:.0f}" font-size="13" '
                f'fill="#222">{escape(fmt(totals[r]))}</text>'
            )
    plot_h = max(row_h * len(chart.categories), row_h)
    body.append(
        f'<line x1="{label_w}" y1="0" x2="{label_w}" y2="{plot_h}" stroke="#444" '
        'stroke-width="1"/>'
    )
    legend_h = 0
    if n > 1:
        legend, legend_h = _legend(prefix, chart.series, plot_h + 10, width)
        body.append(legend)
    chart.svg = _svg(prefix, chart, width, plot_h + legend_h + 12, "".join(body))
    return chart


def columns(
    title: str,
    description: str,
    categories: Sequence[str],
    values: Sequence[Number],
    *,
    series_name: str,
    fmt: Callable[[Number], str] = plain,
    every: int = 2,
) -> Chart:
    """Vertical columns for a time series (e.g. visits per week); every ``every``-th label."""
    chart = Chart(title, description, list(categories), _styled([Series(series_name, values)]))
    chart.fmt = fmt
    prefix = f"c{next(_ids)}-{slugify(title)[:20]}"
    left, plot_h, bottom = 40, 160, 36
    slot = 38
    width = left + slot * max(len(values), 1) + 10
    biggest = max([float(v) for v in values] or [0])
    scale = (plot_h - 16) / biggest if biggest else 0
    s = chart.series[0]
    body = [_defs(prefix, chart.series)]
    body.append(f'<line x1="{left}" y1="{plot_h}" x2="{width - 10}" y2="{plot_h}" stroke="#444"/>')
    for i, (label, value) in enumerate(zip(chart.categories, values, strict=True)):
        h = float(value) * scale
        x = left + i * slot + 5
        body.append(
            f'<rect x="{x}" y="{plot_h - h:.1f}" width="{slot - 10}" height="{h:.1f}" '
            f'fill="{_fill(prefix, 0, s)}" stroke="#222" stroke-width="0.4">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
            f'<text x="{x + (slot - 10) / 2}" y="{plot_h - h - 3:.1f}" font-size="12" '
            f'text-anchor="middle" fill="#222">{escape(fmt(value))}</text>'
        )
        if i % every == 0:
            body.append(
                f'<text x="{x + (slot - 10) / 2}" y="{plot_h + 15}" font-size="12" '
                f'text-anchor="middle" fill="#222">{escape(label)}</text>'
            )
    chart.svg = _svg(prefix, chart, width, plot_h + bottom, "".join(body))
    return chart


def report_charts(fig: dict) -> dict[str, Chart]:
    """The charts of an impact report, drawn from its figures (live or the frozen snapshot),
    for the report page and its PDF. The tables beside them hold the same numbers."""
    rag_order = [("red", "Red: off track"), ("amber", "Amber: some progress")]
    rag_order += [("green", "Green: on track"), ("", "Not yet rated")]
    counts = {key: 0 for key, _ in rag_order}
    for objective in fig.get("objectives", []):
        counts[objective.get("rag_now") or ""] = counts.get(objective.get("rag_now") or "", 0) + 1
    leaders = fig.get("days", {}).get("leaders", [])
    streams = fig.get("funding", {}).get("streams", [])
    return {
        "rag": bars(
            "Objectives by RAG rating now",
            "How many of the action plan's objectives are rated red, amber or green at the end "
            "of the period, or not yet rated.",
            [label for _, label in rag_order],
            [Series("Objectives", [counts[key] for key, _ in rag_order])],
            row_styles=[RAG_STYLES[key] for key, _ in rag_order],
        ),
        "days": bars(
            "Days allocated and used by leader",
            "Each leader's days allocated to the commission and used to the end of the period.",
            [f"{row['name']} ({row['role']})" for row in leaders],
            [
                Series("Allocated", [Decimal(str(row["allocated"])) for row in leaders]),
                Series("Used", [Decimal(str(row["used_to_date"])) for row in leaders]),
            ],
        ),
        "funding": bars(
            "Funding allocated and spent by stream",
            "Money allocated to the commission from each stream and spent to the end of the "
            "period; carry-forward from an earlier year is its own row.",
            [
                f"{row['stream']} {row['academic_year']}"
                + (" (carry-forward)" if row["carry_forward"] else "")
                for row in streams
            ],
            [
                Series("Allocated", [Decimal(str(row["allocated"])) for row in streams]),
                Series("Spent", [Decimal(str(row["spent"])) for row in streams]),
            ],
            fmt=money,
        ),
    }
