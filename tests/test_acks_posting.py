"""Posting TA1, 999 and 277CA into the ledger (items 16-18 of shared/domain/reliability-tests.md).

On SQLite and PostgreSQL (``db_url``).  The practice has three claims sent in one
file: A1 and A2 in transaction set 0001, B1 in set 0002.  Acknowledgements are
real X12 written by ``edi.build999`` / ``edi.build277ca`` (or by hand for a TA1)
and posted through ``remits.inbound.post_files`` as ``bhclaims post`` does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from domain.acks import ClaimStatus as ClaimStatusAck
from domain.acks import Envelope, SetAck, StatusCode
from edi.build277ca import CLAIM_ACK_VERSION, ClaimAckParties, PatientClaimAck, ProviderClaimAcks, build_277ca
from edi.build999 import acknowledge_group, build_999, reply_envelope
from edi.read837 import read_837p
from edi.tokenizer import NOTE_BOM, NOTE_PADDING
from ledger.db import Ledger, upgrade
from ledger.ingest import ingest_claims
from ledger.models import Acknowledgement, Batch, Claim, ClaimEvent
from outbox.batches import build_batches
from outbox.local import LocalDirTransport
from outbox.sender import send_batches
from remits.inbound import PostReport, post_files
from runtime.config import Config, load_config, starter_config
from tests.claim_factory import make_claim
from tests.ledger_helpers import no_findings

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
CLAIMS = ("A1", "A2", "B1")


@dataclass
class Sent:
    ledger: Ledger
    config: Config
    folder: Path
    batch_id: int
    isa13: int
    gs06: int
    counter: int = 0

    def post(self, text: str) -> PostReport:
        self.counter += 1
        path = self.folder / f"reply-{self.counter}.x12"
        path.write_text(text)
        return post_files(self.ledger, [path], actor="poster")

    def statuses(self) -> dict[str, str]:
        with self.ledger.session() as session:
            return dict(session.execute(select(Claim.claim_id, Claim.status)).all())

    def batch_status(self, batch_id: int | None = None) -> str:
        with self.ledger.session() as session:
            return session.get_one(Batch, batch_id or self.batch_id).status

    def received(self, *, submitter: str | None = None) -> Envelope:
        """The envelope of the 837 we sent, as the clearinghouse read it."""
        sender = submitter or self.config.submitter_id
        return Envelope(
            "ZZ",
            sender,
            "ZZ",
            self.config.receiver_id,
            f"{self.isa13:09d}",
            "T",
            "HC",
            sender,
            self.config.receiver_id,
            str(self.gs06),
            "005010X222A1",
        )


@pytest.fixture
def sent(tmp_path: Path, db_url: str) -> Iterator[Sent]:
    path = tmp_path / "bhclaims.toml"
    path.write_text(
        starter_config(transport_url="file://./ch").replace(
            "claims_per_transaction = 5000", "claims_per_transaction = 2"
        )
    )
    config = load_config(path, db_url)
    upgrade(db_url)
    ledger = Ledger(db_url)
    ingest_claims(ledger, [make_claim(c) for c in CLAIMS], checker=no_findings, actor="t")
    built = build_batches(ledger, config, checker=no_findings, actor="t", now=NOW)
    assert len(built.files) == 1
    assert send_batches(ledger, config, LocalDirTransport(tmp_path / "ch"), actor="t").sent
    with ledger.session() as session:
        batch = session.scalars(select(Batch)).one()
        ids = (batch.id, batch.interchange_control_number, batch.group_control_number)
    yield Sent(ledger, config, tmp_path, *ids)
    ledger.dispose()


def ta1(s: Sent, code: str, note: str, *, to: str | None = None) -> str:
    """A TA1 from the clearinghouse about our interchange (to another submitter when ``to`` is given)."""
    receiver = (to or s.config.submitter_id).ljust(15)
    sender = s.config.receiver_id.ljust(15)
    return (
        f"ISA*00*          *00*          *ZZ*{sender}*ZZ*{receiver}*261123*0930*^*00501*000000901*0*T*:~\n"
        f"TA1*{s.isa13:09d}*261123*0930*{code}*{note}~\nIEA*0*000000901~\n"
    )


def x999(
    s: Sent,
    *,
    rejected: tuple[str, ...] = (),
    submitter: str | None = None,
    codes: dict[str, str] | None = None,
    group_code: str | None = None,
) -> str:
    ack = acknowledge_group(
        s.received(submitter=submitter),
        [("837", "0001", "005010X222A1"), ("837", "0002", "005010X222A1")],
        control_number=902,
        rejected={st: () for st in rejected},
    )
    if codes:
        sets = tuple(
            SetAck(a.set_id, a.control_number, a.convention, codes[a.control_number]) for a in ack.sets
        )
        accepted = sum(1 for a in sets if not a.rejected)
        ack = replace(ack, sets=sets, accepted=accepted, code=group_code or ack.code)
    return build_999(ack, created=NOW.replace(tzinfo=None))


def x277(s: Sent, claims: dict[str, tuple[tuple[str, str, str], str | None]], *, control: int = 903) -> str:
    """A 277CA with one STC per claim: ``{claim id: ((category, status, entity), REF*1K)}``."""
    acks = tuple(
        PatientClaimAck(
            "DOE",
            "JANE",
            "M" + claim_id,
            ClaimStatusAck(
                claim_id,
                number,
                None,
                (StatusCode(*code),),
                date(2026, 11, 23),
                Decimal("150"),
                date(2026, 11, 2),
                date(2026, 11, 2),
            ),
        )
        for claim_id, (code, number) in claims.items()
    )
    envelope = reply_envelope(
        s.received(), control_number=control, functional_id="HN", version=CLAIM_ACK_VERSION
    )
    return build_277ca(
        envelope,
        ClaimAckParties("OPTUM BEHAVIORAL HEALTH", "87726", "HARBOR LIGHT", "HARBORLIGHT"),
        [ProviderClaimAcks("RIVERBEND COUNSELING GROUP", "1234567893", acks)],
        control_number="0001",
        reference=str(control),
        batch_reference="1",
        payer_trace=f"T{control}",
        created=NOW.replace(tzinfo=None),
    )


# ---- TA1 and 999 -----------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["ta1_025", "999_R"])
def test_rejected_interchange_requeues_every_claim_and_the_rebuild_gets_new_numbers_same_clm01(
    sent: Sent, answer: str
) -> None:
    text = ta1(sent, "R", "025") if answer == "ta1_025" else x999(sent, rejected=("0001", "0002"))
    report = sent.post(text)
    assert report.failed == [] and sorted(report.acks.requeued_claims) == list(CLAIMS)
    assert sent.batch_status() == "rejected"
    assert sent.statuses() == dict.fromkeys(CLAIMS, "ready")

    rebuilt = build_batches(sent.ledger, sent.config, checker=no_findings, actor="t", now=NOW)
    assert len(rebuilt.files) == 1
    with sent.ledger.session() as session:
        new = session.scalars(select(Batch).where(Batch.id != sent.batch_id)).one()
        assert new.interchange_control_number != sent.isa13 and new.group_control_number != sent.gs06
        events = [
            e.event
            for e in session.scalars(
                select(ClaimEvent)
                .join(Claim, Claim.id == ClaimEvent.claim_pk)
                .where(Claim.claim_id == "A1")
                .order_by(ClaimEvent.id)
            )
        ]
    assert events == ["ingested", "batched", "sent", "transmission_rejected", "batched"]
    claims = read_837p(Path(rebuilt.files[0]).read_text()).claims
    assert sorted(c.claim_id for c in claims) == list(CLAIMS)  # the same CLM01s


def test_ta1_accepted_moves_nothing(sent: Sent) -> None:
    report = sent.post(ta1(sent, "A", "000"))
    assert report.acks.requeued_claims == [] and report.acks.unmatched == []
    assert sent.statuses() == dict.fromkeys(CLAIMS, "sent") and sent.batch_status() == "sent"


@pytest.mark.parametrize(
    ("codes", "group", "requeued", "batch"),
    [
        ({"0001": "A", "0002": "R"}, "P", ["B1"], "partial"),
        ({"0001": "E", "0002": "R"}, "P", ["B1"], "partial"),
        ({"0001": "E", "0002": "A"}, "E", [], "accepted"),
    ],
)
def test_partly_accepted_999_requeues_only_the_rejected_sets(
    sent: Sent, codes: dict[str, str], group: str, requeued: list[str], batch: str
) -> None:
    report = sent.post(x999(sent, codes=codes, group_code=group))
    assert report.failed == [] and report.acks.requeued_claims == requeued
    expected = {c: ("ready" if c in requeued else "accepted") for c in CLAIMS}
    assert sent.statuses() == expected and sent.batch_status() == batch
    with sent.ledger.session() as session:
        rows = {a.set_control_number: a.code for a in session.scalars(select(Acknowledgement))}
    assert rows == codes


def test_acks_for_another_submitter_with_the_same_control_numbers_move_nothing(sent: Sent) -> None:
    report = sent.post(x999(sent, rejected=("0001", "0002"), submitter="OTHERPRACTICE"))
    assert report.acks.unmatched == [f"999 for group {sent.gs06} from {sent.config.receiver_id}"]
    report = sent.post(ta1(sent, "R", "025", to="OTHERPRACTICE"))
    assert report.acks.unmatched == [f"TA1 for interchange {sent.isa13:09d}"]
    assert sent.statuses() == dict.fromkeys(CLAIMS, "sent") and sent.batch_status() == "sent"
    with sent.ledger.session() as session:
        assert session.scalars(select(Acknowledgement)).all() == []


def test_999_for_a_batch_whose_upload_reply_was_lost_confirms_it_was_sent(sent: Sent) -> None:
    with sent.ledger.session() as session:  # as a kill -9 after the rename leaves it
        session.get_one(Batch, sent.batch_id).status = "uploading"
        for claim in session.scalars(select(Claim)):
            claim.status = "batched"
    sent.post(x999(sent))
    assert sent.statuses() == dict.fromkeys(CLAIMS, "accepted")
    with sent.ledger.session() as session:
        path = [
            e.to_status
            for e in session.scalars(
                select(ClaimEvent)
                .join(Claim, Claim.id == ClaimEvent.claim_pk)
                .where(Claim.claim_id == "B1")
                .order_by(ClaimEvent.id)
            )
        ]
    assert path[-2:] == ["sent", "accepted"]


# ---- 277CA -----------------------------------------------------------------------------


def test_277cas_in_any_order_only_move_claims_forward_and_keep_the_payer_number(sent: Sent) -> None:
    sent.post(
        x277(
            sent,
            {
                "A1": (("A1", "19", ""), None),  # received by the clearinghouse
                "A2": (("A7", "562", "85"), None),  # rejected
                "B1": (("A2", "20", ""), "PCN-B1"),  # accepted by the payer
            },
        )
    )
    assert sent.statuses() == {"A1": "accepted", "A2": "rejected", "B1": "accepted"}
    report = sent.post(
        x277(
            sent,
            {
                "A1": (("A2", "20", ""), "PCN-A1"),  # the payer's acceptance, after the receipt
                "A2": (("A2", "20", ""), "PCN-A2"),  # an acceptance arriving after the rejection
                "B1": (("A1", "19", ""), None),  # an older receipt arriving late
            },
            control=904,
        )
    )
    assert report.failed == []
    assert sent.statuses() == {"A1": "accepted", "A2": "rejected", "B1": "accepted"}
    with sent.ledger.session() as session:
        numbers = dict(session.execute(select(Claim.claim_id, Claim.payer_claim_number)).all())
        rows = list(
            session.execute(
                select(Claim.claim_id, Acknowledgement.code, Acknowledgement.detail)
                .join(Claim, Claim.id == Acknowledgement.claim_pk)
                .order_by(Acknowledgement.id)
            )
        )
        ignored = session.scalar(select(ClaimEvent.detail).where(ClaimEvent.event == "status_277ca_ignored"))
    assert numbers == {"A1": "PCN-A1", "A2": None, "B1": "PCN-B1"}
    assert [(c, code) for c, code, _ in rows] == [
        ("A1", "A1"),
        ("A2", "A7"),
        ("B1", "A2"),
        ("A1", "A2"),
        ("A2", "A2"),
        ("B1", "A1"),
    ]
    assert json.loads(rows[1][2]) == {"statuses": "A7:562"}
    assert ignored is not None and "after the claim was rejected" in ignored


def test_277ca_a1_a2_accept_and_a3_a6_a7_a8_reject(sent: Sent) -> None:
    for control, category in enumerate(["A1", "A2", "A3", "A6", "A7", "A8"], start=910):
        with sent.ledger.session() as session:  # the same claim, as sent, for each category
            claim = session.scalars(select(Claim).where(Claim.claim_id == "B1")).one()
            claim.status, claim.payer_claim_number = "sent", None
        accepted = category in ("A1", "A2")
        status = "20" if accepted else "21"
        report = sent.post(x277(sent, {"B1": ((category, status, ""), "PCN9")}, control=control))
        assert sent.statuses()["B1"] == ("accepted" if accepted else "rejected"), category
        assert report.acks.rejected_claims == ([] if accepted else [("B1", f"{category}:{status}")])
        with sent.ledger.session() as session:
            number = session.scalar(select(Claim.payer_claim_number).where(Claim.claim_id == "B1"))
        assert number == ("PCN9" if accepted else None), category


# ---- what the segment source forgives, per file ----------------------------------------------


def with_bom_and_padding(text: str) -> bytes:
    return b"\xef\xbb\xbf" + text.encode("ascii") + b"\x1a\x00"


def post_bytes(s: Sent, data: bytes) -> tuple[PostReport, list[dict[str, object]]]:
    s.counter += 1
    path = s.folder / f"reply-{s.counter}.x12"
    path.write_bytes(data)
    with capture_logs() as logs:
        report = post_files(s.ledger, [path], actor="poster")
    return report, [entry for entry in logs if entry["event"] == "x12.tolerated" and entry["file"] == path.name]


def test_a_999_with_a_bom_and_padding_is_posted_and_what_was_ignored_is_logged(sent: Sent) -> None:
    report, notes = post_bytes(sent, with_bom_and_padding(x999(sent, rejected=("0002",))))
    assert report.failed == [] and report.acks.requeued_claims == ["B1"]
    assert sorted(str(n["note"]) for n in notes) == sorted([NOTE_BOM, NOTE_PADDING])


def test_a_ta1_and_a_277ca_with_a_bom_are_posted(sent: Sent) -> None:
    report, notes = post_bytes(sent, b"\xef\xbb\xbf" + ta1(sent, "A", "000").encode("ascii"))
    assert report.failed == [] and report.files_posted and [n["note"] for n in notes] == [NOTE_BOM]
    report, notes = post_bytes(sent, with_bom_and_padding(x277(sent, {"A1": (("A2", "20", "PR"), "P1")})))
    assert report.failed == [] and sent.statuses()["A1"] == "accepted"
    assert len(notes) == 2


def test_a_clean_file_logs_nothing_tolerated(sent: Sent) -> None:
    report, notes = post_bytes(sent, x999(sent).encode("ascii"))
    assert report.failed == [] and notes == []
