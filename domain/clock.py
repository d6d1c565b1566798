"""The product's one calendar: what "today" and "now" are.

Rules, parsers and builders never read the calendar themselves: they are handed
``today``.  The edges (CLI, ledger timestamps, the sandbox payer) ask this module,
so one setting moves every date the product sees.

``BHCLAIMS_TODAY=YYYY-MM-DD`` pins the date for tests and demos (never set it in
production: timely filing, appeal deadlines and audit timestamps follow it).
When pinned, ``now()`` is that date at the real time of day, so events recorded
in one run still sort in the order they happened.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

ENVIRONMENT_VARIABLE = "BHCLAIMS_TODAY"


class ClockError(ValueError):
    """The pinned date cannot be read."""


def pinned_today() -> date | None:
    """The date ``BHCLAIMS_TODAY`` pins, or None when the real calendar is used."""
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ClockError(f"{ENVIRONMENT_VARIABLE}={value!r} is not a date (YYYY-MM-DD)") from None


def today() -> date:
    """Today's date on this machine's calendar, or the pinned date."""
    pinned = pinned_today()
    return pinned if pinned is not None else date.today()


def now() -> datetime:
    """An aware UTC timestamp: the real time, on the pinned date when one is set."""
    real = datetime.now(UTC)
    pinned = pinned_today()
    if pinned is None:
        return real
    return real.replace(year=pinned.year, month=pinned.month, day=pinned.day)
