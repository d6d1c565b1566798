"""How many examples a property runs: the count it names under the default ``ci`` Hypothesis
profile, ten times that under ``thorough`` (``HYPOTHESIS_PROFILE=thorough make test``).

A property that names its own ``max_examples`` overrides the profile's, so the profile alone could
not make it more thorough; ``scaled`` keeps both the test's own judgement and the switch.
"""

from __future__ import annotations

import os

THOROUGH_FACTOR = 10


def thorough() -> bool:
    """Whether this run asked for the thorough profile (more examples, more dates)."""
    return os.environ.get("HYPOTHESIS_PROFILE") == "thorough"


def scaled(count: int) -> int:
    if thorough():
        return count * THOROUGH_FACTOR
    return count
