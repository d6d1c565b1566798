"""The log chain redacts PHI fields however they reach the event: passed, bound, or from context."""

from __future__ import annotations

import io
import json

import structlog

from runtime.logs import REDACTED, configure_logging, get_logger


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_phi_in_bound_context_and_in_the_call_is_redacted_and_a_file_is_not() -> None:
    out = io.StringIO()
    configure_logging(json_lines=True, stream=out)
    structlog.contextvars.clear_contextvars()
    try:
        structlog.contextvars.bind_contextvars(member_id="W123456789", run_id="r1")
        log = get_logger("test").bind(patient_name="Doe, Jane", batch_id=7)
        log.info("ingest.done", dob="1980-01-01", name="Jane", file="export.csv")
    finally:
        structlog.contextvars.clear_contextvars()
    (event,) = _lines(out)
    assert event["member_id"] == event["patient_name"] == event["dob"] == event["name"] == REDACTED
    assert event["file"] == "export.csv" and event["run_id"] == "r1" and event["batch_id"] == 7
    assert "W123456789" not in out.getvalue() and "Jane" not in out.getvalue()


def test_redaction_runs_once_in_the_chain() -> None:
    from runtime.logs import redact_phi

    configure_logging(json_lines=True, stream=io.StringIO())
    processors = structlog.get_config()["processors"]
    assert processors.count(redact_phi) == 1
    assert processors.index(redact_phi) > processors.index(structlog.contextvars.merge_contextvars)
