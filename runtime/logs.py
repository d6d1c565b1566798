"""structlog set-up: readable on a terminal, JSON lines under cron, PHI removed first.

Redaction is by field name: any event field that can carry a member's name, id,
date of birth or address is replaced before any renderer sees it.  Code logs ids
of *our* records (claim ids, batch ids, file names), never member data; the
processor is the safety net for the day someone forgets.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

PHI_FIELDS = frozenset(
    {
        "member_id", "subscriber_id", "subscriber", "patient", "patient_name", "subscriber_name",
        "name", "first", "last", "first_name", "last_name", "dob", "birth_date", "date_of_birth",
        "address", "address1", "street", "city", "zip", "ssn", "phone",
    }
)
REDACTED = "[redacted]"


def redact_phi(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in PHI_FIELDS:
            event_dict[key] = REDACTED
    return event_dict


def configure_logging(*, json_lines: bool | None = None, verbose: bool = False, stream: Any = None) -> None:
    """Call once at the CLI edge.  ``json_lines`` None = JSON when stderr is not a terminal."""
    out = stream or sys.stderr
    if json_lines is None:
        json_lines = not out.isatty()
    renderer: Any = structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=out.isatty())
    structlog.configure(
        processors=[
            redact_phi,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_phi,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG if verbose else logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
