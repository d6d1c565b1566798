"""`bhclaims report html`: one self-contained page for the practice manager.

Inline CSS and inline SVG only: no scripts, fonts or images from anywhere, so
the file opens the same from an e-mail attachment, a USB stick or a browser
with no network.  Every text that comes from the ledger is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from html import escape
from typing import Any

from clerk.worklists import WORKLIST_COLUMNS
from ledger.headline import DAYS_BILLED, HeadlineFigures

BAR_COLOR = "#e8590c"
"""One colour for every bar, so a test can find the charts in a screenshot."""

HEADLINE_COLOR = "#1971c2"
"""The headline figures' colour (used nowhere else), so a test can find them in a screenshot."""

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #212529; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
p.meta { color: #6c757d; margin: 0 0 16px; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: 13px; }
th, td { border-bottom: 1px solid #dee2e6; padding: 4px 10px; text-align: left; }
th { background: #f1f3f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; } .bad { color: #c92a2a; font-weight: bold; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; } figure { margin: 0; }
figcaption { font-size: 13px; color: #495057; margin-bottom: 4px; }
svg text { font-size: 11px; fill: #343a40; }
.headline { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 20px; }
.figure { border: 1px solid #dee2e6; border-top: 4px solid """ + HEADLINE_COLOR + """; border-radius: 6px; padding: 8px 14px; min-width: 140px; }
.figure .label { font-size: 12px; color: #6c757d; }
.figure .value { font-size: 22px; font-weight: bold; color: """ + HEADLINE_COLOR + """; }
.footnotes { font-size: 12px; color: #495057; margin-top: 28px; }
h3 { font-size: 14px; margin: 16px 0 4px; }
"""


IDENTIFIER_COLUMNS = frozenset({
    "claim_id", "trace_number", "payer_claim_number", "patient_control_number", "original_claim_number",
    "status_code", "rarc",
})
"""Columns whose digits are a number to quote, not an amount: never grouped with commas."""

WORKLIST_ROWS_SHOWN = 200
"""Rows listed under each worklist count; a longer worklist says how many more there are."""


def _num(value: Any) -> bool:
    text = str(value)
    return text.replace(".", "", 1).replace("-", "", 1).isdigit()


def grouped(value: str) -> str:
    """An amount or count with thousands separators: "12345.60" -> "12,345.60", "1200" -> "1,200"."""
    if "." in value:
        return f"{Decimal(value):,.{len(value.split('.', 1)[1])}f}"
    return f"{int(value):,}"


def html_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, empty: str) -> str:
    if not rows:
        return f"<p>{escape(empty)}</p>"
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in columns)
    body = []
    for row in rows:
        css = ' class="total"' if row.get(columns[0]) == "TOTAL" else ""
        cells = []
        for c in columns:
            value = "" if row.get(c) is None else str(row.get(c))
            amount = _num(value) and c not in IDENTIFIER_COLUMNS
            if amount:
                value = grouped(value)
            klass = "num" if amount else ("bad" if value == "NO" else "")
            cells.append(
                f'<td class="{klass}">{escape(value)}</td>' if klass else f"<td>{escape(value)}</td>"
            )
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _rate(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value * 100:,.1f}%"


HEADLINE_NOTES = (
    ("Billed", "billed charges of the claims the payer has (the live revision of each claim sent)."),
    ("Collected", "paid by the payer on those claims (reversals netted)."),
    ("Net collection rate", "collected / (billed − contractual adjustments)."),
    ("First-pass acceptance rate", "claim revisions accepted on their first submission (999/277CA acceptance "
                                   "or 835 posting, never rejected) / claim revisions submitted."),
    ("Denial rate", "denied claims / adjudicated claims (paid, partially paid or denied)."),
    ("Days in A/R", f"open A/R / (billed over the last {DAYS_BILLED} days by date of service / {DAYS_BILLED})."),
)


def headline_block(figures: HeadlineFigures) -> str:
    """The six figures the page opens with, each a labelled box (``data-figure`` names it for tests)."""
    days = figures.days_in_ar
    values = (
        ("billed", "Billed", f"${figures.billed:,.2f}"),
        ("collected", "Collected", f"${figures.collected:,.2f}"),
        ("net_collection_rate", "Net collection rate", _rate(figures.net_collection_rate)),
        ("first_pass_acceptance_rate", "First-pass acceptance rate", _rate(figures.first_pass_acceptance_rate)),
        ("denial_rate", "Denial rate", _rate(figures.denial_rate)),
        ("days_in_ar", "Days in A/R", "n/a" if days is None else f"{days:,.1f}"),
    )
    boxes = "".join(
        f'<div class="figure" data-figure="{key}"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(text)}</div></div>'
        for key, label, text in values
    )
    return f'<section class="headline" id="headline">{boxes}</section>'


def footnotes() -> str:
    items = "".join(f"<li><b>{escape(name)}</b>: {escape(words)}</li>" for name, words in HEADLINE_NOTES)
    return f'<section class="footnotes" id="footnotes"><h2>How the headline figures are counted</h2><ul>{items}</ul></section>'


def worklist_sections(worklists: dict[str, list[dict[str, Any]]]) -> str:
    """Each worklist's count, then the rows behind it."""
    parts = []
    for name, rows in worklists.items():
        title = name.replace("_", " ")
        shown = rows[:WORKLIST_ROWS_SHOWN]
        more = (f"<p>First {len(shown):,} of {len(rows):,}; `bhclaims worklist` lists them all.</p>"
                if len(rows) > len(shown) else "")
        table = html_table(shown, WORKLIST_COLUMNS[name], empty="Nothing to do.")
        parts.append(f'<section class="worklist" data-worklist="{escape(name)}">'
                     f'<h3>{escape(title)}: <span class="count">{len(rows):,}</span></h3>{table}{more}</section>')
    return "".join(parts)


def bar_chart(
    title: str, points: Sequence[tuple[str, Decimal]], *, width: int = 520, height: int = 260
) -> str:
    """Vertical bars with the value above each bar; labels below."""
    left, bottom, top = 10, 40, 24
    if not points:
        return _figure(
            title,
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60" role="img">'
            f'<text x="10" y="30">no data yet</text></svg>',
        )
    peak = max((v for _, v in points), default=Decimal("0")) or Decimal("1")
    slot = (width - 2 * left) / len(points)
    bar = min(64.0, max(6.0, slot * 0.6))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}" stroke="#adb5bd"/>',
    ]
    for index, (label, value) in enumerate(points):
        h = float(max(value, Decimal("0")) / peak) * (height - bottom - top)
        x = left + index * slot + (slot - bar) / 2
        y = height - bottom - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{BAR_COLOR}">'
            f"<title>{escape(label)}: {value:.2f}</title></rect>"
        )
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{value:,.2f}</text>')
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
            f"{escape(label[:14])}</text>"
        )
    parts.append("</svg>")
    return _figure(title, "".join(parts))


def hbar_chart(title: str, points: Sequence[tuple[str, Decimal]], *, width: int = 520) -> str:
    """Horizontal bars (long labels such as denial reasons read better sideways)."""
    if not points:
        return _figure(
            title,
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60" role="img">'
            f'<text x="10" y="30">no denials</text></svg>',
        )
    row_h, label_w, value_w = 26, 170, 80
    height = row_h * len(points) + 10
    peak = max(v for _, v in points) or Decimal("1")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    for index, (label, value) in enumerate(points):
        y = 5 + index * row_h
        w = float(max(value, Decimal("0")) / peak) * (width - label_w - value_w)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label[:28])}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{BAR_COLOR}">'
            f"<title>{escape(label)}: {value:.2f}</title></rect>"
        )
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{value:,.2f}</text>')
    parts.append("</svg>")
    return _figure(title, "".join(parts))


def _figure(title: str, svg: str) -> str:
    return f"<figure><figcaption>{escape(title)}</figcaption>{svg}</figure>"


def render_report(
    *,
    practice: str,
    today: date,
    generated: datetime,
    aging: list[dict[str, Any]],
    payments: list[dict[str, Any]],
    payments_over_time: list[tuple[str, Decimal]],
    denials: list[dict[str, Any]],
    headline: HeadlineFigures,
    worklists: dict[str, list[dict[str, Any]]],
) -> str:
    """The whole page as text (the caller writes it 0600)."""
    total = next((r for r in aging if r["line_of_business"] == "TOTAL"), None)
    aging_points = (
        [(name, Decimal(total[name])) for name in ("0-30", "31-60", "61-90", "90+")] if total else []
    )
    denial_points = [(f"{d['carc']} {d['reason']}".strip(), Decimal(d["amount"])) for d in denials[:10]]
    counts = "".join(
        f'<tr><td>{escape(k.replace("_", " "))}</td><td class="num">{len(rows):,}</td></tr>'
        for k, rows in worklists.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Billing report: {escape(practice)} ({today.isoformat()})</title>
<style>{CSS}</style></head>
<body>
<h1>Billing report: {escape(practice)}</h1>
<p class="meta">As of {today.isoformat()}; generated {
        escape(generated.strftime("%Y-%m-%d %H:%M UTC"))
    } by bhclaims.
Payer: Optum Behavioral Health (87726).</p>
{headline_block(headline)}
<div class="charts">
{bar_chart("A/R aging: open balance by days since service", aging_points)}
{hbar_chart("Denied amount by reason (CARC)", denial_points)}
{bar_chart("Payments over time (deposits by payment date)", payments_over_time)}
</div>
<h2>Worklists</h2>
<table><thead><tr><th>worklist</th><th>open items</th></tr></thead><tbody>{counts}</tbody></table>
{worklist_sections(worklists)}
<h2>A/R aging by line of business</h2>
{
        html_table(
            aging,
            ("line_of_business", "claims", "0-30", "31-60", "61-90", "90+", "total"),
            empty="No open balances.",
        )
    }
<h2>Deposits reconciled to the 835 (BPR02)</h2>
{
        html_table(
            payments,
            (
                "payment_date",
                "method",
                "trace_number",
                "payer",
                "deposit",
                "claims_paid",
                "provider_adjustments",
                "difference",
                "reconciled",
            ),
            empty="No remittances yet.",
        )
    }
<h2>Denials by reason</h2>
{html_table(denials, ("carc", "reason", "claims", "amount"), empty="No denied money.")}
{footnotes()}
</body></html>
"""
