"""structlog set-up: readable on a terminal, JSON lines under cron, PHI removed first.

Redaction is by field name: any event field that can carry a member's name, id,
date of birth or address is replaced before any renderer sees it, once, after the
fields bound to the logger and to the context have joined the event.  ``name`` is
redacted (it is a person's more often than not); a file is logged as ``file=``.  Code logs ids
of *our* records (claim ids, batch ids, file names), never member data; the
processor is the safety net for the day someone forgets.

The console renderer writes text as it is, so there every value passes through
``runtime.escaping.visible`` first (a file name from the clearinghouse cannot send
escape sequences to the clerk's terminal); JSON lines escape control characters
themselves.

Libraries log through the standard ``logging`` module, whose last-resort handler
would print their warnings — paramiko's transport thread prints a whole traceback
when a connection fails — on stderr beside our one line.  Without ``-v`` their
records are dropped (what they say reaches the user as our own one-line error);
with ``-v`` they are shown, tracebacks included.  An exception that ends one of our
threads is likewise one log line without ``-v``.

structlog (which imports rich and pygments for its console renderer) is imported when a logger is
first used, not when the CLI starts nor when a module makes its logger: a command that never logs
(``--version``, ``status``, most listings) does not pay for it, and cron and the test suite start
the CLI many times.  Code logs through ``get_logger`` for that reason.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import MutableMapping
from typing import Any, NamedTuple

from runtime.escaping import visible

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


def visible_values(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = visible(value)
    return event_dict


LIBRARY_LOGGERS = ("paramiko",)

PER_FILE_EVENTS = frozenset({
    "file.posted", "file.fetched", "file.duplicate", "batch.sent", "x12.tolerated",
    "sftp.uploaded", "sftp.downloaded", "sftp.archived", "sftp.inbound.still_growing",
})
"""Info events said once per file: the record a JSON log keeps, noise for a person at a terminal
(the command's own summary says the same), so there they are shown only with ``-v``."""


def drop_per_file_events(_logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if method == "info" and event_dict.get("event") in PER_FILE_EVENTS:
        import structlog

        raise structlog.DropEvent
    return event_dict


class _Chosen(NamedTuple):
    json_lines: bool
    verbose: bool
    out: Any


_chosen: _Chosen | None = None
"""What ``configure_logging`` chose and structlog was not yet told (it was not imported yet)."""


def configure_logging(*, json_lines: bool | None = None, verbose: bool = False, stream: Any = None) -> None:
    """Call once at the CLI edge.  ``json_lines`` None = JSON when stderr is not a terminal.

    structlog is configured now if it is already imported, else by the first ``get_logger``."""
    global _chosen
    out = stream or sys.stderr
    if json_lines is None:
        json_lines = not out.isatty()
    _chosen = _Chosen(json_lines, verbose, out)
    if "structlog" in sys.modules:
        _configure_structlog()
    _quiet_libraries(verbose, out)
    threading.excepthook = _thread_failure_verbose if verbose else _thread_failure


def _configure_structlog() -> None:
    global _chosen
    if _chosen is None:
        return
    import structlog

    json_lines, verbose, out = _chosen
    _chosen = None
    renderer: Any = structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=out.isatty())
    shown: list[Any] = [] if json_lines else [visible_values]
    if not json_lines and not verbose and out.isatty():
        shown.insert(0, drop_per_file_events)
    structlog.configure(
        processors=[
            # after the merge, so a field bound with bind_contextvars is redacted like one passed to the call
            structlog.contextvars.merge_contextvars,
            redact_phi,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *shown,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG if verbose else logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def _quiet_libraries(verbose: bool, out: Any) -> None:
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        for handler in list(library.handlers):
            library.removeHandler(handler)
        library.propagate = False
        if verbose:
            handler = logging.StreamHandler(out)
            handler.setFormatter(logging.Formatter("%(name)s: %(levelname)s: %(message)s"))
            library.addHandler(handler)
            library.setLevel(logging.WARNING)
        else:
            library.addHandler(logging.NullHandler())


def _thread_failure(args: threading.ExceptHookArgs) -> None:
    """A thread died: one line naming the thread and the kind of error (its text may carry data)."""
    name = args.thread.name if args.thread is not None else "a thread"
    get_logger("bhclaims").error("thread.failed", thread=name, error=args.exc_type.__name__)


def _thread_failure_verbose(args: threading.ExceptHookArgs) -> None:
    _thread_failure(args)
    sys.__excepthook__(args.exc_type, args.exc_value, args.exc_traceback)  # type: ignore[arg-type]


class _Logger:
    """A logger a module can make when it is imported: structlog's own is made at its first use,
    configured as ``configure_logging`` chose."""

    __slots__ = ("_name", "_logger")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, attribute: str) -> Any:
        if self._logger is None:
            import structlog

            _configure_structlog()
            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, attribute)


def get_logger(name: str) -> Any:
    return _Logger(name)
