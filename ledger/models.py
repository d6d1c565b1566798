"""The ledger schema: every claim's content, its journey and its money.

One row per thing the billing office can point at — a claim revision, a batch
(one 837 file), a transmission (a file that crossed the link), an
acknowledgement, a remittance (one 835 transaction) — and an append-only event
log that says who moved a claim from which status to which, and when.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    and_,
    func,
    literal_column,
    or_,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ledger.types import Money, UtcDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ClaimStatus:
    """Claim statuses, in the order a claim normally moves through them."""

    READY = "ready"
    HELD = "held"
    BATCHED = "batched"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    DENIED = "denied"
    REPLACED = "replaced"
    VOIDED = "voided"

    ALL = (READY, HELD, BATCHED, SENT, ACCEPTED, REJECTED, PAID, PARTIALLY_PAID, DENIED, REPLACED, VOIDED)
    NOT_YET_SENT = (READY, HELD)
    NEVER_SENT = (READY, HELD, BATCHED)
    """No payer has this revision: no acknowledgement or payment may land on it (a claim put back
    to ready by a rejected 999 never reached the payer either)."""
    ADJUDICATED = (PAID, PARTIALLY_PAID, DENIED)


class Party(Base):
    """A provider (billing, rendering, supervising) or a person (subscriber, patient)."""

    __tablename__ = "parties"
    __table_args__ = (UniqueConstraint("role", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # provider, subscriber, patient
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the identifying fields
    npi: Mapped[str | None] = mapped_column(String(10))
    member_id: Mapped[str | None] = mapped_column(String(80))
    entity_type: Mapped[str | None] = mapped_column(String(1))
    last_or_org: Mapped[str] = mapped_column(String(120))
    first: Mapped[str | None] = mapped_column(String(60))
    dob: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    taxonomy: Mapped[str | None] = mapped_column(String(10))
    tax_id: Mapped[str | None] = mapped_column(String(9))
    address1: Mapped[str | None] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(60))
    state: Mapped[str | None] = mapped_column(String(2))
    zip: Mapped[str | None] = mapped_column(String(9))


STANDING_DENIAL_INDEXED = "denial_payment_id IS NOT NULL"
"""Claim revisions whose standing CLP is a denial (``ledger.kept_denials``), as the index's SQL text; an
open denial is one of them whose status is denied (read from the index too)."""
OPEN_DENIAL_INDEX = ("line_of_business", "denial_remit_date", "claim_id", "revision", "status", "denial_payment_id")
"""Its columns: what the counts and deadlines read, and the columns of the conditions (SQLite reads a
partial index as covering only when it lists them)."""
NO_COST_SHARE = ("one_care", "sco")
"""``domain.claim.NO_COST_SHARE_PLANS`` spelled out, as the partial index below is written."""
MEMBER_CHARGED = "line_of_business IN ('one_care', 'sco') AND (patient_share > 0 OR patient_responsibility > 0)"
"""SCO / One Care claim revisions whose postings put money on the member (Σ PR CAS or Σ CLP05 above
zero; those plans' members have no cost share), as the index's SQL text."""


class Claim(Base):
    """One revision of a claim: the original (1), a replacement (7) or a void (8)."""

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("claim_id", "revision"),
        # 0013: no index of status alone; the money index below leads with it
        # 0006: claim ids are one id whatever their case (payers upper-case CLP01); found by this
        Index("ix_claims_upper_claim_id", func.upper(text("claim_id"))),
        # 0011 (was 0009's status, plan, date of service): the timely-filing worklist's unsent claims by
        # plan and date of service, and status / A/R aging / headline sums read from the index alone
        Index("ix_claims_status_line_of_business_first_service_date_money", "status", "line_of_business",
              "first_service_date", "billed", "paid", "contractual", "patient_share", "denied"),
        # 0014: the SCO / One Care claims that put money on the member, counted by ``status`` from
        # this index alone (the worklist's condition, ``MEMBER_CHARGED``, word for word: the database
        # uses a partial index only for a query whose WHERE repeats the index's)
        Index("ix_claims_member_charged", "claim_id", sqlite_where=text(MEMBER_CHARGED),
              postgresql_where=text(MEMBER_CHARGED)),
        # 0014: the open whole-claim denials by plan and remittance date (``ledger.denials``), with the
        # columns of its condition and what a deadline lists, so they are read from it alone
        Index("ix_claims_open_denials", *OPEN_DENIAL_INDEX, sqlite_where=text(STANDING_DENIAL_INDEXED),
              postgresql_where=text(STANDING_DENIAL_INDEXED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(20))  # CLM01, the patient control number
    revision: Mapped[int] = mapped_column(Integer, default=0)
    frequency: Mapped[str] = mapped_column(String(1))
    status: Mapped[str] = mapped_column(String(16))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    original_claim_number: Mapped[str | None] = mapped_column(String(50))  # REF*F8
    payer_claim_number: Mapped[str | None] = mapped_column(String(50))  # CLP07 / 277CA
    line_of_business: Mapped[str] = mapped_column(String(24))
    payer_id: Mapped[str] = mapped_column(String(15))
    payer_name: Mapped[str] = mapped_column(String(60))
    relationship_code: Mapped[str] = mapped_column("relationship", String(8))
    rendering_license: Mapped[str] = mapped_column(String(12))
    prior_auth: Mapped[str | None] = mapped_column(String(50))
    diagnoses: Mapped[str] = mapped_column(String(120))  # comma-separated ICD-10-CM, principal first
    billed: Mapped[Decimal] = mapped_column(Money())
    # 0011: the postings' money, kept by ``ledger.totals`` in the writer's transaction (Σ CLP04; Σ CAS
    # contractual, denied and PR); the open balance is billed − paid − contractual − patient_share
    paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"), server_default=text("0"))
    contractual: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"), server_default=text("0"))
    denied: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"), server_default=text("0"))
    patient_share: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"), server_default=text("0"))
    # 0014: Σ CLP05, kept the same way (the member-charged worklist reads it with patient_share)
    patient_responsibility: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"),
                                                            server_default=text("0"))
    # 0014: the standing CLP when it is a denial, and its remittance's BPR16 (``ledger.kept_denials``);
    # no foreign key: the poster writes both in the transaction that posts the CLP
    denial_payment_id: Mapped[int | None] = mapped_column(Integer)
    denial_remit_date: Mapped[date | None] = mapped_column(Date)
    first_service_date: Mapped[date] = mapped_column(Date)
    billing_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    rendering_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    supervising_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    pay_to_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))  # 2010AB address only
    service_facility_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))  # 2310C
    content_hash: Mapped[str] = mapped_column(String(64))
    source_file: Mapped[str | None] = mapped_column(String(255))
    source_line: Mapped[int | None] = mapped_column(Integer)
    findings: Mapped[str | None] = mapped_column(Text)  # JSON list of rule findings when held
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    lines: Mapped[list[ServiceLine]] = relationship(
        back_populates="claim", order_by="ServiceLine.position", cascade="all, delete-orphan"
    )



def member_charged() -> ColumnElement[bool]:
    """``MEMBER_CHARGED`` on ``Claim``: with its values written in the SQL, not bound, so the database
    can answer from the partial index (it serves only a query whose WHERE repeats its condition)."""
    zero: ColumnElement[int] = literal_column("0")
    return and_(Claim.line_of_business.in_([literal_column(f"'{plan}'") for plan in NO_COST_SHARE]),
                or_(Claim.patient_share > zero, Claim.patient_responsibility > zero))

class ServiceLine(Base):
    __tablename__ = "service_lines"
    __table_args__ = (UniqueConstraint("claim_pk", "line_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # 0015: on PostgreSQL checked once per statement instead of by a foreign key
    claim_pk: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    line_id: Mapped[str] = mapped_column(String(50))  # REF*6R
    service_date: Mapped[date] = mapped_column(Date)
    procedure_code: Mapped[str] = mapped_column(String(5))
    modifiers: Mapped[str] = mapped_column(String(11), default="")  # colon-separated
    units: Mapped[str] = mapped_column(String(15))  # decimal text, exact
    charge: Mapped[Decimal] = mapped_column(Money())
    place_of_service: Mapped[str] = mapped_column(String(2))
    diagnosis_pointers: Mapped[str] = mapped_column(String(11), default="1")  # 0006: "10,11,12,9"
    source_line: Mapped[int | None] = mapped_column(Integer)

    claim: Mapped[Claim] = relationship(back_populates="lines")


class ControlCounter(Base):
    """Interchange (ISA13) and group (GS06) control numbers: advanced and committed before use."""

    __tablename__ = "control_counters"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class Batch(Base):
    """One 837P file: one interchange, one functional group, one or more transaction sets."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    interchange_control_number: Mapped[int] = mapped_column(BigInteger, unique=True)
    group_control_number: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_st_control_number: Mapped[str] = mapped_column(String(9))
    transaction_count: Mapped[int] = mapped_column(Integer)
    sender_id: Mapped[str] = mapped_column(String(15))
    receiver_id: Mapped[str] = mapped_column(String(15))
    file_name: Mapped[str | None] = mapped_column(String(128), unique=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    claim_count: Mapped[int] = mapped_column(Integer, default=0)
    total_billed: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    # allocated, built, invalid, empty, uploading, in_doubt, conflict, sent, accepted, rejected, partial
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class BatchClaim(Base):
    """Which claim went in which transaction set of which batch (a claim may be resent)."""

    __tablename__ = "batch_claims"
    __table_args__ = (UniqueConstraint("batch_id", "claim_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    claim_pk: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    st_control_number: Mapped[str] = mapped_column(String(9))


class Transmission(Base):
    """A file that crossed the clearinghouse link, in either direction."""

    __tablename__ = "transmissions"
    __table_args__ = (
        Index("ix_transmissions_direction_sha256", "direction", "sha256"),
        # an inbound file is taken in once, even by fetchers on two machines sharing the ledger
        Index("uq_transmissions_inbound_sha256", "sha256", unique=True,
              sqlite_where=text("direction = 'in'"), postgresql_where=text("direction = 'in'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # out, in
    kind: Mapped[str] = mapped_column(String(8))  # 837P, 999, TA1, 277CA, 835, unknown
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    file_name: Mapped[str] = mapped_column(String(128))  # ours, or outbox.transport.local_name of theirs
    local_path: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    # 0007: an inbound file's name at the clearinghouse, any length, control characters made visible
    remote_name: Mapped[str | None] = mapped_column(Text)
    # out: uploading, sent, in_doubt, conflict, not_delivered; in: fetched, posted, failed, quarantined
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class InboundWaiting(Base):
    """A reply at the clearinghouse that is not complete yet (no IEA, still growing, a temp name).

    Its first sighting is kept so that one that never completes is raised to a human
    after ``[transport] incomplete_reply_hours`` instead of being looked at forever; the
    row goes when the file is fetched or leaves the reply folder.
    """

    __tablename__ = "inbound_waiting"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_sha256: Mapped[str] = mapped_column(String(64), unique=True)  # of the remote name's bytes
    remote_name: Mapped[str] = mapped_column(Text)  # control characters made visible
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime())


class Acknowledgement(Base):
    """A TA1, a 999 set response, or a 277CA claim status."""

    __tablename__ = "acknowledgements"

    id: Mapped[int] = mapped_column(primary_key=True)
    transmission_id: Mapped[int | None] = mapped_column(ForeignKey("transmissions.id"))
    kind: Mapped[str] = mapped_column(String(8))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    claim_pk: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    set_control_number: Mapped[str | None] = mapped_column(String(9))
    code: Mapped[str] = mapped_column(String(8))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Remittance(Base):
    """One 835 transaction set: a payment (or a zero-pay notice) from one payer."""

    __tablename__ = "remittances"
    __table_args__ = (UniqueConstraint("payer_id", "trace_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transmission_id: Mapped[int | None] = mapped_column(ForeignKey("transmissions.id"))
    payer_id: Mapped[str] = mapped_column(String(15))
    payer_name: Mapped[str | None] = mapped_column(String(60))
    trace_number: Mapped[str] = mapped_column(String(50))  # TRN02
    total_paid: Mapped[Decimal] = mapped_column(Money())  # BPR02
    payment_method: Mapped[str | None] = mapped_column(String(3))
    payment_date: Mapped[date | None] = mapped_column(Date)
    content_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ClaimPayment(Base):
    """One CLP: the payer's adjudication of a claim (claim_pk NULL = unmatched)."""

    __tablename__ = "claim_payments"
    __table_args__ = (
        Index("ix_claim_payments_remittance_id", "remittance_id"),  # 0003
        Index("ix_claim_payments_claim_pk_paid", "claim_pk", "paid"),  # 0009: a claim's paid, from the index
        Index("ix_claim_payments_payer_claim_number", "payer_claim_number", postgresql_using="hash"),
        # 0013: the reversals only; ``reverses_id = x`` implies the condition, so lookups still use it
        Index("ix_claim_payments_reverses_id", "reverses_id", postgresql_where=text("reverses_id IS NOT NULL"),
              sqlite_where=text("reverses_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # 0015: on PostgreSQL this and claim_pk are checked once per statement instead of by foreign keys
    remittance_id: Mapped[int] = mapped_column(ForeignKey("remittances.id"))
    # 0012: not indexed alone, ix_claim_payments_claim_pk_paid leads with it
    claim_pk: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    patient_control_number: Mapped[str] = mapped_column(String(38))  # CLP01
    status_code: Mapped[str] = mapped_column(String(2))  # CLP02
    charge: Mapped[Decimal] = mapped_column(Money())
    paid: Mapped[Decimal] = mapped_column(Money())
    patient_responsibility: Mapped[Decimal] = mapped_column(Money())
    # CLP07, looked up by equality only: a hash index on PostgreSQL (0016)
    payer_claim_number: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # 0003: what the posting meant, and which earlier posting a CLP02 22 reversal cancels
    outcome: Mapped[str | None] = mapped_column(String(16))  # paid, partially_paid, denied, reversal
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("claim_payments.id"))
    remark_codes: Mapped[str | None] = mapped_column(String(200))  # MOA/MIA RARCs, comma-separated


class ServicePayment(Base):
    """One SVC: a line's adjudication (service_line_id NULL = not matched to a billed line)."""

    __tablename__ = "service_payments"
    __table_args__ = (
        # 0003; 0018: on PostgreSQL the primary key (claim_payment_id, id) instead
        Index("ix_service_payments_claim_payment_id", "claim_payment_id"),
        # 0014: the lines that paid nothing, where a denied line is looked for (``ledger.denials``)
        Index("ix_service_payments_unpaid", "claim_payment_id", sqlite_where=text("paid <= 0"),
              postgresql_where=text("paid <= 0")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # 0012: no foreign key, the poster gives it (migration 0012 says why; its parent's DELETE is refused)
    claim_payment_id: Mapped[int] = mapped_column(Integer)
    # 0009: indexed, so that deleting a service line does not read every payment to check the key
    # 0015: on PostgreSQL checked once per statement instead of by a foreign key
    service_line_id: Mapped[int | None] = mapped_column(ForeignKey("service_lines.id"), index=True)
    procedure_code: Mapped[str] = mapped_column(String(48))
    charge: Mapped[Decimal] = mapped_column(Money())
    paid: Mapped[Decimal] = mapped_column(Money())
    line_ref: Mapped[str | None] = mapped_column(String(50))  # REF*6R
    # 0003
    service_date: Mapped[date | None] = mapped_column(Date)  # DTM*472 (or 150)
    remark_codes: Mapped[str | None] = mapped_column(String(200))  # LQ*HE RARCs, comma-separated


class Adjustment(Base):
    """One CAS triple, at claim level (service_payment_id NULL) or line level."""

    __tablename__ = "adjustments"
    __table_args__ = (
        # 0009 (0012: the index on claim_payment_id alone, 0003's, dropped: this one leads with it): a claim's patient, contractual and denied sums, from the index
        # 0016: on PostgreSQL the primary key (claim_payment_id, id) INCLUDE (group_code, reason_code, amount) instead
        Index("ix_adjustments_claim_payment_id_codes_amount", "claim_payment_id", "group_code", "reason_code",
              "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # 0012: no foreign keys, the poster gives both (migration 0012 says why; their parents' DELETE is refused)
    claim_payment_id: Mapped[int] = mapped_column(Integer)
    service_payment_id: Mapped[int | None] = mapped_column(Integer)
    group_code: Mapped[str] = mapped_column(String(2))
    reason_code: Mapped[str] = mapped_column(String(5))
    amount: Mapped[Decimal] = mapped_column(Money())
    quantity: Mapped[str | None] = mapped_column(String(15))


class ProviderAdjustment(Base):
    """One PLB adjustment: interest, recoupment, forward balance, … not tied to one CLP."""

    __tablename__ = "provider_adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    remittance_id: Mapped[int] = mapped_column(ForeignKey("remittances.id"))
    provider_id: Mapped[str] = mapped_column(String(50))
    fiscal_period_date: Mapped[date | None] = mapped_column(Date)
    reason_code: Mapped[str] = mapped_column(String(2))
    reference: Mapped[str | None] = mapped_column(String(50))
    amount: Mapped[Decimal] = mapped_column(Money())
    # 0003: the claim (and the posting) PLB03-2 names, when it names one we know
    claim_pk: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), index=True)
    claim_payment_id: Mapped[int | None] = mapped_column(ForeignKey("claim_payments.id"))


class Quarantine(Base):
    """An inbound file or transaction we refused to post, kept for a human."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(primary_key=True)
    transmission_id: Mapped[int | None] = mapped_column(ForeignKey("transmissions.id"))
    reason: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ClaimEvent(Base):
    """Append-only audit log: every status change of every claim (UPDATE/DELETE refused by trigger)."""

    __tablename__ = "claim_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 0015: on PostgreSQL checked once per statement instead of by a foreign key
    claim_pk: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
