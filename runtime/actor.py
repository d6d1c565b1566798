"""Who is acting, for the audit log: the OS user, or ``cron`` for the nightly run."""

from __future__ import annotations

import getpass
import os

ACTOR_ENV = "BHCLAIMS_ACTOR"


def current_actor() -> str:
    explicit = os.environ.get(ACTOR_ENV)
    if explicit:
        return explicit[:64]
    try:
        return getpass.getuser()[:64]
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"
