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

BAR_COLOR = "#e8590c"
"""One colour for every bar, so a test can find the charts in a screenshot."""

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
"""


def _num(value: Any) -> bool:
    text = str(value)
    return text.replace(".", "", 1).replace("-", "", 1).isdigit()


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
            klass = "num" if _num(value) else ("bad" if value == "NO" else "")
            cells.append(
                f'<td class="{klass}">{escape(value)}</td>' if klass else f"<td>{escape(value)}</td>"
            )
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


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
    worklist_counts: dict[str, int],
) -> str:
    """The whole page as text (the caller writes it 0600)."""
    total = next((r for r in aging if r["line_of_business"] == "TOTAL"), None)
    aging_points = (
        [(name, Decimal(total[name])) for name in ("0-30", "31-60", "61-90", "90+")] if total else []
    )
    denial_points = [(f"{d['carc']} {d['reason']}".strip(), Decimal(d["amount"])) for d in denials[:10]]
    counts = "".join(
        f'<tr><td>{escape(k.replace("_", " "))}</td><td class="num">{v}</td></tr>'
        for k, v in worklist_counts.items()
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
<div class="charts">
{bar_chart("A/R aging: open balance by days since service", aging_points)}
{hbar_chart("Denied amount by reason (CARC)", denial_points)}
{bar_chart("Payments over time (deposits by payment date)", payments_over_time)}
</div>
<h2>Worklists</h2>
<table><thead><tr><th>worklist</th><th>open items</th></tr></thead><tbody>{counts}</tbody></table>
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
</body></html>
"""
