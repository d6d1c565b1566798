"""``report html`` as headless Chromium renders it: the DOM after rendering holds the headline
figures and a table under every worklist count that has rows, and the screenshot shows the
headline block (its colour) and is not blank.

Each check is also run on a copy of the page with the part removed, so the test is seen to fail
when a headline block or a worklist table goes missing.
"""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from clerk.html_report import HEADLINE_COLOR
from cli import main_group
from tests.test_clerk_reports import _chromium, _png_pixels
from tests.test_clerk_worklists import Scenario, sqlite_scenario  # noqa: F401  (fixture)

FIGURES = {"billed", "collected", "net_collection_rate", "first_pass_acceptance_rate", "denial_rate", "days_in_ar"}


class RenderedPage(HTMLParser):
    """What a reader sees of the report: the headline figures with their values, and per worklist
    its count and how many table rows follow it."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.worklists: dict[str, tuple[int, int]] = {}  # name -> (count shown, table rows)
        self._figure: str | None = None
        self._in_value = False
        self._worklist: str | None = None
        self._in_count = False
        self._in_tbody = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("data-figure"):
            self._figure = attributes["data-figure"]
        elif attributes.get("data-worklist"):
            self._worklist = attributes["data-worklist"]
            self.worklists[self._worklist or ""] = (-1, 0)
        self._in_value = self._figure is not None and attributes.get("class") == "value"
        self._in_count = self._worklist is not None and attributes.get("class") == "count"
        if tag == "tbody" and self._worklist:
            self._in_tbody = True
        if tag == "tr" and self._in_tbody and self._worklist:
            count, rows = self.worklists[self._worklist]
            self.worklists[self._worklist] = (count, rows + 1)

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_tbody = False
        if tag == "section":
            self._worklist = None
        if tag == "div" and self._in_value:
            self._in_value, self._figure = False, None

    def handle_data(self, data: str) -> None:
        if self._in_value and self._figure:
            self.figures[self._figure] = self.figures.get(self._figure, "") + data.strip()
        if self._in_count and self._worklist:
            _, rows = self.worklists[self._worklist]
            self.worklists[self._worklist] = (int(data.replace(",", "")), rows)
            self._in_count = False


def missing_parts(dom: str) -> list[str]:
    """The parts a reader would miss: a headline figure without a value, a worklist with rows but
    no table of them (or no worklists at all)."""
    page = RenderedPage()
    page.feed(dom)
    missing = [f"figure {name}" for name in sorted(FIGURES) if not page.figures.get(name)]
    if not page.worklists:
        missing.append("worklists")
    missing += [f"worklist {name} rows" for name, (count, rows) in page.worklists.items()
                if count != 0 and rows == 0]
    return missing


def _chromium_run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )


def _headline_pixels(shot: Path) -> tuple[int, int]:
    """(pixels of the headline colour in the top 260 px, pixels that are not white at all)."""
    width, bpp, rows = _png_pixels(shot)
    colour = bytes.fromhex(HEADLINE_COLOR[1:])
    headline = sum(1 for row in rows[:260] for x in range(width)
                   if all(abs(row[x * bpp + k] - colour[k]) <= 8 for k in range(3)))
    inked = sum(1 for row in rows for x in range(0, width, 4) if any(row[x * bpp + k] < 240 for k in range(3)))
    return headline, inked


def _without_headline(page: str) -> str:
    return re.sub(r'<section class="headline".*?</section>', "", page, count=1, flags=re.S)


def _without_worklist_tables(page: str) -> str:
    return re.sub(r'(<section class="worklist"[^>]*><h3>.*?</h3>)<table>.*?</table>', r"\1", page, flags=re.S)


@pytest.mark.slow
def test_report_in_chromium_has_its_headline_and_worklist_tables(
    sqlite_scenario: Scenario,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main_group, ["--config", str(sqlite_scenario.config), "--db", sqlite_scenario.db_url,
                                             "report", "html", str(out)])
    assert result.exit_code == 0, result.output
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium is not installed and scripts/ensure-chromium.sh could not install it")
    page = out.read_text()
    broken = {"headline": _without_headline(page), "tables": _without_worklist_tables(page)}
    for name, text in broken.items():
        (tmp_path / f"{name}.html").write_text(text)
    profile = tmp_path / "profile"

    def dom(path: Path) -> str:
        return _chromium_run(chromium, profile, "--dump-dom", path.as_uri()).stdout

    rendered = dom(out)
    assert missing_parts(rendered) == []
    parsed = RenderedPage()
    parsed.feed(rendered)
    assert sum(1 for count, _ in parsed.worklists.values() if count) >= 3, parsed.worklists
    assert all(rows == min(count, 200) for count, rows in parsed.worklists.values()), parsed.worklists
    assert missing_parts(dom(tmp_path / "headline.html")) == [f"figure {n}" for n in sorted(FIGURES)]
    assert {m for m in missing_parts(dom(tmp_path / "tables.html"))} == {
        f"worklist {n} rows" for n, (count, _) in parsed.worklists.items() if count}

    shots = {}
    for name, path in (("report", out), ("headline", tmp_path / "headline.html")):
        shot = tmp_path / f"{name}.png"
        _chromium_run(chromium, profile, f"--screenshot={shot}", "--window-size=1200,900", path.as_uri())
        shots[name] = _headline_pixels(shot)
    headline, inked = shots["report"]
    assert headline > 300, "the headline figures did not render"
    assert inked > 5000, "the screenshot is blank"
    assert shots["headline"][0] < 50  # the check sees a page without them
