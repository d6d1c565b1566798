"""The process-wide settings are the application's, made once at start-up by its entry points."""

from __future__ import annotations

import gc

import pytest

from runtime.process import OLDER_GENERATION_THRESHOLDS, YOUNG_GENERATION_THRESHOLD, configure_process


@pytest.fixture
def default_thresholds():  # type: ignore[no-untyped-def]
    previous = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*previous)


def test_the_cli_configures_the_process_once_when_it_starts(default_thresholds) -> None:  # type: ignore[no-untyped-def]
    import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code in (0, None)
    assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, *OLDER_GENERATION_THRESHOLDS)
    assert gc.isenabled()


def test_configuring_twice_changes_nothing(default_thresholds) -> None:  # type: ignore[no-untyped-def]
    configure_process()
    first = gc.get_threshold()
    configure_process()
    assert gc.get_threshold() == first == (YOUNG_GENERATION_THRESHOLD, *OLDER_GENERATION_THRESHOLDS)
