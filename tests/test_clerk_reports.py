"""Reports: A/R aging, deposits reconciled to BPR02, top denials, and the HTML page in a real Chromium."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from clerk import reports
from clerk.html_report import BAR_COLOR
from cli import main_group
from ledger.db import Ledger
from ledger.models import Remittance
from tests.test_clerk_worklists import TRACE, Scenario, sqlite_scenario  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parent.parent


def _invoke(scenario: Scenario, *args: str) -> str:
    result = CliRunner().invoke(
        main_group, ["--config", str(scenario.config), "--db", scenario.db_url, *args]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_aging_buckets_by_days_since_service() -> None:
    assert [reports.aging_bucket(d) for d in (0, 30, 31, 60, 61, 90, 91, 400, -3)] == [
        "0-30",
        "0-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "90+",
        "90+",
        "0-30",
    ]


def test_reports_on_the_scenario_ledger(sqlite_scenario: Scenario) -> None:  # noqa: F811
    aging = {
        r["line_of_business"]: r for r in json.loads(_invoke(sqlite_scenario, "report", "ar-aging", "--json"))
    }
    # T-DENY-MCD was served 70 days ago, denied in full: its charge stays open in 61-90
    assert Decimal(aging["medicaid"]["61-90"]) >= Decimal("180.00")
    total = aging["TOTAL"]
    assert Decimal(total["total"]) == sum(Decimal(total[b]) for b in ("0-30", "31-60", "61-90", "90+"))

    remit_day = (sqlite_scenario.today - timedelta(days=50)).isoformat()
    deposits = json.loads(
        _invoke(sqlite_scenario, "report", "payments", "--from", remit_day, "--to", remit_day, "--json")
    )
    assert [(d["trace_number"], d["method"], d["reconciled"]) for d in deposits] == [(TRACE, "ACH", "yes")]
    assert Decimal(deposits[0]["deposit"]) == (
        Decimal(deposits[0]["claims_paid"]) - Decimal(deposits[0]["provider_adjustments"])
    )

    ledger = Ledger(sqlite_scenario.db_url)
    with ledger.session() as session:
        session.scalar(select(Remittance).where(Remittance.trace_number == TRACE)).total_paid += Decimal(
            "0.01"
        )
    with ledger.session() as session:
        row = next(r for r in reports.payments(session) if r["trace_number"] == TRACE)
        assert (row["reconciled"], row["difference"]) == ("NO", "0.01")
        denials = reports.denials(session)
    ledger.dispose()
    carcs = [d["carc"] for d in denials]
    assert {"CO-197", "CO-16"} <= set(carcs)
    amounts = [Decimal(d["amount"]) for d in denials]
    assert amounts == sorted(amounts, reverse=True)

    plain = _invoke(sqlite_scenario, "report", "denials").splitlines()
    assert plain[0] == "carc\treason\tclaims\tamount"


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) into rows of RGB(A) bytes."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = depth = color = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and color in (2, 6), (depth, color)
    bpp = 4 if color == 6 else 3
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, bpp, rows


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        subprocess.run(["sh", str(REPO / "scripts" / "ensure-chromium.sh")], capture_output=True, timeout=600)
        found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found


@pytest.mark.slow
def test_html_report_renders_its_charts_in_headless_chromium(
    sqlite_scenario: Scenario,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = tmp_path / "report.html"
    _invoke(sqlite_scenario, "report", "html", str(out))
    page = out.read_text()
    assert out.stat().st_mode & 0o777 == 0o600
    assert (
        page.count("<svg") == 3
        and "<script" not in page
        and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
        and "https://" not in page
    )
    assert "CO-197" in page and TRACE in page

    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium is not installed and scripts/ensure-chromium.sh could not install it")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            out.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    width, bpp, rows = _png_pixels(shot)
    bar = bytes.fromhex(BAR_COLOR[1:])

    def bar_pixels(y_from: int, y_to: int) -> int:
        return sum(
            1
            for row in rows[y_from:y_to]
            for x in range(width)
            if all(abs(row[x * bpp + k] - bar[k]) <= 8 for k in range(3))
        )

    # the first row of charts (aging bars, denial bars) sits in the top 400 px, payments below it
    assert bar_pixels(0, 400) > 2000, "the A/R aging and denial charts did not render"
    assert bar_pixels(400, 700) > 1000, "the payments chart did not render"


def test_report_help_has_examples() -> None:
    result = CliRunner().invoke(main_group, ["report", "payments", "--help"])
    assert result.exit_code == 0 and "bhclaims report payments --from" in result.output
