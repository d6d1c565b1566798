"""Why an inbound file is not posted: one exception for every kind of reply file.

Raised inside the file's posting transaction, so that nothing of the file stays;
``remits.inbound`` then quarantines the file whole with ``reasons`` (in words, with
claim ids, control numbers, trace numbers and amounts, never patient data).
"""

from __future__ import annotations


class FileRefused(Exception):
    """The file must not be posted; ``reasons`` say why."""

    def __init__(self, reasons: list[str]):
        super().__init__(reasons[0] if reasons else "refused")
        self.reasons = reasons
