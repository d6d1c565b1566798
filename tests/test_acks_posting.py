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
from ledger.db import Ledger
from ledger.ingest import ingest_claims
from ledger.models import Acknowledgement, Batch, Claim, ClaimEvent, Transmission
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
def sent(tmp_path: Path, ledger_url: str) -> Iterator[Sent]:
    path = tmp_path / "bhclaims.toml"
    path.write_text(
        starter_config(transport_url="file://./ch").replace(
            "claims_per_transaction = 5000", "claims_per_transaction = 2"
        )
    )
    config = load_config(path, ledger_url)
    ledger = Ledger(ledger_url)
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


def x277(s: Sent, claims: dict[str, tuple[tuple[str, str, str], str | None]], *, control: int = 903,
         payer: tuple[str, str] = ("OPTUM BEHAVIORAL HEALTH", "87726")) -> str:
    """A 277CA with one STC per claim: ``{claim id: ((category, status, entity), REF*1K)}``, spoken by
    ``payer`` (2100A NM1*PR name and id) through the clearinghouse."""
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
        ClaimAckParties(*payer, "HARBOR LIGHT", "HARBORLIGHT"),
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


def test_acks_for_another_submitter_with_the_same_control_numbers_are_quarantined(sent: Sent) -> None:
    report = sent.post(x999(sent, rejected=("0001", "0002"), submitter="OTHERPRACTICE"))
    assert report.failed == [("reply-1.x12", f"999 for group {sent.gs06} from {sent.config.receiver_id} to "
                              "OTHERPRACTICE: we never sent a batch with that group control number")]
    report = sent.post(ta1(sent, "R", "025", to="OTHERPRACTICE"))
    assert report.failed == [("reply-2.x12", f"TA1 for interchange {sent.isa13:09d} from "
                              f"{sent.config.receiver_id} to OTHERPRACTICE: we never sent an interchange "
                              "with that control number")]
    assert report.acks.requeued_claims == [] and report.files_posted == []
    assert sent.statuses() == dict.fromkeys(CLAIMS, "sent") and sent.batch_status() == "sent"
    with sent.ledger.session() as session:
        assert session.scalars(select(Acknowledgement)).all() == []
        inbound = select(Transmission.state).where(Transmission.direction == "in")
        assert list(session.scalars(inbound)) == ["quarantined", "quarantined"]


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


def test_a_277ca_from_another_payer_is_quarantined_and_its_claim_number_never_kept(sent: Sent) -> None:
    # MassHealth's 277CA naming our CLM01s (a secondary claim, or misrouted mail): its REF*1K would
    # otherwise become the payer claim number our replacements and voids quote in REF*F8
    report = sent.post(x277(sent, {"B1": (("A2", "20", ""), "MH-555")}, payer=("MASSHEALTH", "DMA7384")))
    assert report.failed == [("reply-1.x12", "a 277CA from another payer: MASSHEALTH (not "
                              "OPTUM BEHAVIORAL HEALTH)")]
    assert sent.statuses() == dict.fromkeys(CLAIMS, "sent")
    with sent.ledger.session() as session:
        assert session.scalar(select(Claim.payer_claim_number).where(Claim.claim_id == "B1")) is None
        assert session.scalars(select(Acknowledgement)).all() == []
    report = sent.post(x277(sent, {"B1": (("A2", "20", ""), "PCN-B1")}, control=905))
    assert report.failed == [] and sent.statuses()["B1"] == "accepted"


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


# ---- acknowledgements of things we never sent (reliability item 41) ----------------------


def _built_not_sent(s: Sent) -> Sent:
    """A second batch, built but not uploaded: what an acknowledgement may not answer."""
    ingest_claims(s.ledger, [make_claim("C1"), make_claim("C2")], checker=no_findings, actor="t")
    assert build_batches(s.ledger, s.config, checker=no_findings, actor="t", now=NOW).files
    with s.ledger.session() as session:
        batch = session.scalars(select(Batch).where(Batch.status == "built")).one()
        return replace(s, batch_id=batch.id, isa13=batch.interchange_control_number,
                       gs06=batch.group_control_number)


def _unchanged(s: Sent, unsent: Sent, report: PostReport) -> None:
    assert report.files_posted == [] and report.acks.requeued_claims == [] and report.acks.accepted_claims == 0
    assert sent_statuses(s) == {**dict.fromkeys(CLAIMS, "sent"), "C1": "batched", "C2": "batched"}
    assert s.batch_status() == "sent" and unsent.batch_status() == "built"
    with s.ledger.session() as session:
        assert session.scalars(select(Acknowledgement)).all() == []
        assert set(session.scalars(select(Transmission.state).where(Transmission.direction == "in"))) == {
            "quarantined"}


def sent_statuses(s: Sent) -> dict[str, str]:
    return s.statuses()


@pytest.mark.parametrize("answer", ["999_A", "999_R", "ta1_R"])
def test_an_ack_for_a_batch_we_never_sent_is_quarantined_and_changes_nothing(sent: Sent, answer: str) -> None:
    unsent = _built_not_sent(sent)
    text = {"999_A": lambda: x999(unsent), "999_R": lambda: x999(unsent, rejected=("0001",)),
            "ta1_R": lambda: ta1(unsent, "R", "025")}[answer]()
    report = sent.post(text)
    what = "TA1 for interchange" if answer.startswith("ta1") else "999 for group"
    number = f"{unsent.isa13:09d}" if answer.startswith("ta1") else str(unsent.gs06)
    assert report.failed == [(f"reply-{sent.counter}.x12", f"{what} {number} answers batch "
                              f"{_file_name(unsent)}, which was never sent (it is built)")]
    _unchanged(sent, unsent, report)


def _file_name(s: Sent) -> str:
    with s.ledger.session() as session:
        return str(session.get_one(Batch, s.batch_id).file_name)


def test_a_999_naming_a_transaction_set_we_never_sent_is_quarantined(sent: Sent) -> None:
    ack = acknowledge_group(sent.received(), [("837", "0001", "005010X222A1"), ("837", "0009", "005010X222A1")],
                            control_number=902, rejected={"0009": ()})
    report = sent.post(build_999(ack, created=NOW.replace(tzinfo=None)))
    assert report.failed == [(f"reply-{sent.counter}.x12", f"999 for group {sent.gs06} answers transaction "
                              f"set(s) 0009, which batch {_file_name(sent)} never held")]
    assert sent.statuses() == dict.fromkeys(CLAIMS, "sent") and sent.batch_status() == "sent"


@pytest.mark.parametrize("claim_id", ["C1", "NOSUCH"])
def test_a_277ca_for_a_claim_we_never_sent_is_quarantined_whole(sent: Sent, claim_id: str) -> None:
    ingest_claims(sent.ledger, [make_claim("C1")], checker=no_findings, actor="t")  # ready, never sent
    report = sent.post(x277(sent, {"A1": (("A2", "20", ""), "PCN-A1"), claim_id: (("A2", "20", ""), "PCN-X")}))
    assert report.failed == [(f"reply-{sent.counter}.x12", f"277CA for claim {claim_id}, which we never sent")]
    assert sent.statuses() == {**dict.fromkeys(CLAIMS, "sent"), "C1": "ready"}  # A1 was not accepted either
    with sent.ledger.session() as session:
        assert session.scalars(select(Acknowledgement)).all() == []
        assert set(session.scalars(select(Claim.payer_claim_number))) == {None}


def test_a_277ca_answers_the_sent_revision_not_an_unsent_replacement(sent: Sent) -> None:
    with sent.ledger.session() as session:
        original = session.scalars(select(Claim).where(Claim.claim_id == "A1")).one()
        original.status, original.payer_claim_number = "paid", "PCN-A1"
        session.add(Claim(**{c.key: getattr(original, c.key) for c in Claim.__mapper__.column_attrs
                             if c.key not in ("id", "revision", "status", "frequency", "replaces_id", "created_at",
                                           "updated_at")},
                          revision=1, status="ready", frequency="7", replaces_id=original.id))
    report = sent.post(x277(sent, {"a1": (("A3", "21", ""), None)}))  # CLM01 upper- or lower-cased, as sent
    assert report.failed == []
    with sent.ledger.session() as session:
        rows = session.execute(select(Claim.revision, Claim.status).where(Claim.claim_id == "A1")
                               .order_by(Claim.revision)).all()
        (ack_claim,) = session.scalars(select(Acknowledgement.claim_pk))
        assert ack_claim == session.scalar(select(Claim.id).where(Claim.claim_id == "A1", Claim.revision == 0))
    assert [tuple(r) for r in rows] == [(0, "paid"), (1, "ready")]


@pytest.mark.parametrize("bounded_by", ["reader", "database"])
def test_a_20_digit_ta1_is_quarantined_alone_and_the_run_goes_on(
        sent: Sent, monkeypatch: pytest.MonkeyPatch, bounded_by: str) -> None:
    """A TA1 with a 20-digit control number is refused when read (no ledger column could hold it).
    With the reader's bound lifted it reaches the database, which refuses it: SQLite cannot bind it
    (OverflowError), PostgreSQL cannot compare it with a bigint (DataError, NumericValueOutOfRange).
    Either way that file alone is quarantined, and the 999 posted in the same run moves the claims."""
    import edi.ta1

    if bounded_by == "database":
        monkeypatch.setattr(edi.ta1, "CONTROL_NUMBER_DIGITS", 30)
    bad = sent.folder / "bad.ta1"
    bad.write_text(ta1(sent, "R", "025").replace(f"TA1*{sent.isa13:09d}", "TA1*" + "9" * 20))
    good = sent.folder / "good.999"
    good.write_text(x999(sent))
    report = post_files(sent.ledger, [bad, good], actor="t")
    assert report.files_posted == ["good.999"] and [name for name, _ in report.failed] == ["bad.ta1"]
    if bounded_by == "reader":
        assert "TA101 has more than the 9 digits" in report.failed[0][1]
    else:
        refusal = "OverflowError" if sent.ledger.engine.dialect.name == "sqlite" else "NumericValueOutOfRange"
        assert report.failed[0][1] == (f"the ledger cannot store a value of this file ({refusal}); "
                                       "nothing of it was posted")
    assert sent.statuses() == dict.fromkeys(CLAIMS, "accepted")
