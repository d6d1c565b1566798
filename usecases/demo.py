"""`bhclaims demo`: the whole loop on the bundled export, in a fresh folder.

The bundled export's service dates are moved (``usecases.sample.shifted_export``)
to end a few days before today, so the timely-filing rule sees a fresh day's
charges whenever the demo runs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from domain import clock
from ledger.models import Claim
from ledger.queries import claim_totals
from outbox.batches import build_batches
from outbox.fetcher import fetch_files
from outbox.files import write_private
from outbox.sender import send_batches
from remits.inbound import post_pending
from runtime.config import DEFAULT_CONFIG_NAME, load_config, starter_config
from sandbox.mailbox import process_mailbox
from usecases.app import App
from usecases.sample import DEMO_EXPORT, shifted_export
from usecases.setup import create_ledger, ingest_file


def run_demo(directory: Path | None, *, database_url: str | None = None,
             echo: Callable[[str], Any] = print, today: date | None = None) -> dict[str, Any]:
    today = today or clock.today()
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="bhclaims-demo-"))
    else:
        directory = directory.resolve()
        if directory.exists() and any(directory.iterdir()):
            raise FileExistsError(f"{directory} is not empty; choose a new folder for the demo")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    config_path = directory / DEFAULT_CONFIG_NAME
    write_private(config_path, starter_config(transport_url="file://./clearinghouse").encode())
    create_ledger(config_path, database_url)
    echo(f"demo folder: {directory}")
    app = App(load_config(config_path, database_url), today=today, actor="demo")
    try:
        export = directory / "charges.csv"
        write_private(export, shifted_export(DEMO_EXPORT, today))
        result = ingest_file(app, export)
        echo(f"ingest: {len(result['added'])} claims ready, {len(result['held'])} held, "
             f"{len(result['errors'])} row errors")
        built = build_batches(app.ledger, app.config, checker=app.check, actor=app.actor, now=app.now())
        echo(f"build: {len(built.files)} file(s), {built.claims} claims, {len(built.held)} held")
        transport = app.transport()
        sent = send_batches(app.ledger, app.config, transport, actor=app.actor)
        echo(f"send: {', '.join(sent.sent) or 'nothing'}")
        answered = process_mailbox(directory / "clearinghouse", today=today)
        echo(f"sandbox: answered {', '.join(name for name, _ in answered)}")
        fetched = fetch_files(app.ledger, app.config, transport)
        echo(f"fetch: {', '.join(fetched.fetched) or 'nothing'}")
        posted = post_pending(app.ledger, actor=app.actor, payer=app.config.payer)
        echo(f"post: {len(posted.files_posted)} file(s), {posted.payments.claims_posted} claims adjudicated")
        return ledger_summary(app)
    finally:
        app.close()


def ledger_summary(app: App) -> dict[str, Any]:
    zero = Decimal("0")
    totals: dict[str, Any] = {"claims": 0, "billed": zero, "paid": zero, "adjusted": zero, "patient_responsibility": zero,
              "denied": zero, "balance": zero}
    statuses: dict[str, int] = {}
    with app.ledger.session() as session:
        for claim in session.scalars(select(Claim)):
            t = claim_totals(session, claim)
            totals["claims"] += 1
            for key in ("billed", "paid", "adjusted", "patient_responsibility", "denied", "balance"):
                totals[key] += t[key]
            statuses[claim.status] = statuses.get(claim.status, 0) + 1
    summary: dict[str, Any] = {k: (f"{v:.2f}" if isinstance(v, Decimal) else v) for k, v in totals.items()}
    summary["statuses"] = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    return summary
