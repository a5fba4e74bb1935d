"""The database tables: reporters and their channel identities, raw inbound messages, canonical
complaints with attachments and audit events, the outbox, agencies, users.

Timestamps are aware UTC (`UTCDateTime`); enumerations are stored as their string values so that
migrations stay plain and the tables read well in psql.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from gateway.clock import utcnow
from gateway.store.db import JSONType, UTCDateTime


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(
        default=None,
        sa_type=UTCDateTime,
        nullable=nullable,
        index=index,
    )


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSONType, nullable=False))


class Status(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    DISPOSED = "disposed"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"
    PENDING = "pending"  # waiting for the reporter
    ARCHIVED = "archived"  # irrelevant, spam
    RETURNED = "returned"  # not the regency's authority
    MERGED = "merged"  # folded into another complaint


class Category(StrEnum):
    ASPIRASI = "aspirasi"
    PERMINTAAN_INFORMASI = "permintaan_informasi"
    PENGADUAN = "pengaduan"
    PENGADUAN_BERKADAR_PENGAWASAN = "pengaduan_berkadar_pengawasan"


class Role(StrEnum):
    KOORDINATOR = "koordinator"
    LIAISON = "liaison"
    VIEWER = "viewer"


class InboundStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"
    # Signed by the provider, but the parser could not read it: kept raw for an admin
    # (`/admin/unreadable`), never processed by itself.
    UNREADABLE = "unreadable"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    DEAD = "dead"


class AttachmentStatus(StrEnum):
    STORED = "stored"
    PENDING = "pending"  # to be downloaded from the provider
    FAILED = "failed"


# --- directory and accounts ------------------------------------------------------------------


class Agency(SQLModel, table=True):
    """An OPD (perangkat daerah) complaints are disposed to."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=200)
    function_group: str = Field(default="", max_length=60)
    keywords: list[str] = _json(list)
    active: bool = True
    created_at: datetime = _created()


class Liaison(SQLModel, table=True):
    """A pejabat penghubung: told over WhatsApp when a complaint is disposed to the agency."""

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    name: str = Field(max_length=120)
    whatsapp: str = Field(max_length=32)  # E.164
    active: bool = True
    created_at: datetime = _created()


class User(SQLModel, table=True):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=80, unique=True, index=True)
    display_name: str = Field(default="", max_length=120)
    password_hash: str = Field(max_length=255)
    role: str = Field(default=Role.KOORDINATOR, max_length=20)
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    language: str = Field(default="id", max_length=5)
    # Optional: koordinators with a number get the daily digest over WhatsApp (E.164).
    whatsapp: str | None = Field(default=None, max_length=32)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = _ts()
    # Raised by logging out: every session cookie issued before is refused from then on.
    session_epoch: int = 0
    last_login_at: datetime | None = _ts()
    created_at: datetime = _created()


# --- reporters --------------------------------------------------------------------------------


class Reporter(SQLModel, table=True):
    """One person, whatever channels they write from."""

    id: int | None = Field(default=None, primary_key=True)
    display_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32, index=True)  # E.164
    email: str | None = Field(default=None, max_length=254, index=True)
    language: str = Field(default="id", max_length=5)
    consent_at: datetime | None = _ts()
    created_at: datetime = _created()


class ReporterIdentity(SQLModel, table=True):
    __tablename__ = "reporter_identity"
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_identity_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    reporter_id: int = Field(foreign_key="reporter.id", index=True)
    channel: str = Field(max_length=40)
    address: str = Field(max_length=200)
    display_name: str | None = Field(default=None, max_length=200)
    last_inbound_at: datetime | None = _ts()  # WhatsApp's 24-hour window starts here
    created_at: datetime = _created()


class Conversation(SQLModel, table=True):
    """The bot's side of a chat with one channel identity: where the dialogue stands and the
    draft being assembled. Draft messages are the inbound rows pointing here without a
    complaint yet."""

    __table_args__ = (UniqueConstraint("channel", "address", name="uq_conversation_identity"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=40)
    address: str = Field(max_length=200)
    reporter_id: int = Field(foreign_key="reporter.id", index=True)
    state: str = Field(default="new", max_length=30, index=True)
    language: str = Field(default="id", max_length=5)
    draft_started_at: datetime | None = _ts()
    last_message_at: datetime | None = _ts(index=True)
    asked_missing: bool = False
    draft_anonim: bool = False
    draft_rahasia: bool = False
    active_complaint_id: int | None = Field(default=None, foreign_key="complaint.id")
    last_ack_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()


# --- raw inbound messages ------------------------------------------------------------------


class InboundMessage(SQLModel, table=True):
    """A provider message exactly as accepted, stored before the provider is acknowledged."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_inbound_channel_external_id"),
        Index("ix_inbound_status_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=40)
    external_id: str = Field(max_length=200)
    sender: str = Field(max_length=200)
    sender_name: str | None = Field(default=None, max_length=200)
    kind: str = Field(default="message", max_length=20)
    text: str = Field(default="", sa_type=Text)
    media: list[dict[str, Any]] = _json(list)
    latitude: float | None = None
    longitude: float | None = None
    location_label: str | None = Field(default=None, max_length=500)
    reply_to: str | None = Field(default=None, max_length=200)
    edits: str | None = Field(default=None, max_length=200)
    button_payload: str | None = Field(default=None, max_length=500)
    contact_phone: str | None = Field(default=None, max_length=32)
    language: str | None = Field(default=None, max_length=10)
    extra: dict[str, Any] = _json(dict)
    raw_payload: str = Field(default="", sa_type=Text)
    raw_content_type: str = Field(default="", max_length=100)
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: str = Field(default=InboundStatus.PENDING, max_length=20)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    processed_at: datetime | None = _ts()
    # The web form shows the tracking code at once, before the complaint exists.
    assigned_code: str | None = Field(default=None, max_length=20, unique=True)
    reporter_id: int | None = Field(default=None, foreign_key="reporter.id")
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    created_at: datetime = _created()


# --- the canonical complaint ------------------------------------------------------------------


# A complaint that is its own case's row: not following another complaint's case (a merged one
# keeps its row). Written exactly as `gateway.complaints.lifecycle.not_follower()` renders it, so
# that both engines match the partial indexes below to the inbox's queries.
CASE_ROWS = "cluster_id IS NULL OR merged_into_id IS NOT NULL"
CASE_INDEXES = {
    "received_at": ("received_at",),
    "status_received": ("status", "received_at"),
    "agency_received": ("agency_id", "received_at"),
    "agency_status": ("agency_id", "status"),
    "status_verify_due": ("status", "verify_due_at"),
    "status_answer_due": ("status", "answer_due_at"),
}


class Complaint(SQLModel, table=True):
    __table_args__ = (
        Index("ix_complaint_status_received", "status", "received_at"),
        Index("ix_complaint_agency_status", "agency_id", "status"),
        # The admin inbox: newest first with no status, one agency's complaints newest first
        # (liaison officers), and the running deadlines (overdue, due soon).
        Index("ix_complaint_received_at", "received_at"),
        Index("ix_complaint_agency_received", "agency_id", "received_at"),
        Index("ix_complaint_status_verify_due", "status", "verify_due_at"),
        Index("ix_complaint_status_answer_due", "status", "answer_due_at"),
        # The same, for cases only (an inbox row per case: complaints that follow another one's
        # case are left out, see gateway/lifecycle.not_follower and docs/clusters.md).
        *(
            Index(
                f"ix_case_{name}",
                *columns,
                sqlite_where=text(CASE_ROWS),
                postgresql_where=text(CASE_ROWS),
            )
            for name, columns in CASE_INDEXES.items()
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    tracking_code: str = Field(max_length=20, unique=True, index=True)
    reporter_id: int | None = Field(default=None, foreign_key="reporter.id", index=True)

    # Where it came from and where answers go.
    origin_channel: str = Field(max_length=40)
    reply_channel: str | None = Field(default=None, max_length=40)
    reply_address: str | None = Field(default=None, max_length=200)
    source: str | None = Field(default=None, max_length=40)  # manual entry: phone, tiktok...
    source_url: str | None = Field(default=None, max_length=1000)
    language: str = Field(default="id", max_length=5)

    # The text: the original is never edited.
    original_text: str = Field(default="", sa_type=Text)
    clean_text: str = Field(default="", sa_type=Text)
    masked_text: str = Field(default="", sa_type=Text)
    title: str = Field(default="", max_length=200)
    pii_spans: list[dict[str, Any]] = _json(list)
    dedup_signature: str = Field(default="", sa_type=Text)
    # Streets, dusun, RT/RW and landmarks the text names (normalizer.location.place_parts):
    # duplicate detection counts a difference against a merge or cluster.
    place_parts: dict[str, Any] = _json(dict)
    # The normalizer's "bukan laporan" suggestion (spam, promosi, obrolan, candaan: kind,
    # label, strength, reason, action); {} when the text reads as a report. The admin decides.
    not_report: dict[str, Any] = _json(dict)

    # Place.
    location_text: str | None = Field(default=None, max_length=500)
    latitude: float | None = None
    longitude: float | None = None
    kecamatan: str | None = Field(default=None, max_length=100)
    kelurahan: str | None = Field(default=None, max_length=100)

    # Class and agency, with the normalizer's suggestions and reasons.
    category: str | None = Field(default=None, max_length=40)
    category_suggestions: list[dict[str, Any]] = _json(list)
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    agency_suggestions: list[dict[str, Any]] = _json(list)
    place_suggestion: dict[str, Any] = _json(dict)

    anonim: bool = False
    rahasia: bool = False

    status: str = Field(default=Status.RECEIVED, max_length=20)
    status_before_pending: str | None = Field(default=None, max_length=20)
    escalated: bool = False
    escalated_at: datetime | None = _ts()

    # Duplicates: a cluster is named by its primary complaint's id.
    cluster_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    merged_into_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)

    # The SP4N-LAPOR core.
    core_ref: str | None = Field(default=None, max_length=100, index=True)
    core_status: str | None = Field(default=None, max_length=60)

    # Deadlines (working days, see workdays/).
    verify_due_at: datetime | None = _ts()
    answer_due_at: datetime | None = _ts()
    feedback_due_at: datetime | None = _ts()

    # A liaison officer said "not our agency's task": the koordinator re-disposes it.
    redisposition_requested_at: datetime | None = _ts()

    # Something went wrong delivering to the reporter (blocked bot, invalid number...).
    delivery_problem: str | None = Field(default=None, sa_type=Text)

    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    verified_at: datetime | None = _ts()
    disposed_at: datetime | None = _ts()
    in_progress_at: datetime | None = _ts()
    answered_at: datetime | None = _ts()
    closed_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()

    version: int = Field(default=1)  # optimistic locking: two admins, one wins

    # The table exists only once the class is built, hence declared_attr; SQLAlchemy's stubs
    # expect a mapped attribute from it, not the mapper's arguments.
    @declared_attr  # type: ignore[arg-type]
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    inbound_message_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    source: str = Field(default="reporter", max_length=20)  # reporter | liaison | core
    kind: str = Field(default="photo", max_length=20)  # photo | document
    content_type: str | None = Field(default=None, max_length=100)
    size: int | None = None
    sha256: str | None = Field(default=None, max_length=64)
    storage_key: str | None = Field(default=None, max_length=300)
    original_url: str | None = Field(default=None, max_length=2000)
    provider_ref: str | None = Field(default=None, max_length=300)  # e.g. a Telegram file id
    original_name: str | None = Field(default=None, max_length=255)
    status: str = Field(default=AttachmentStatus.STORED, max_length=20)
    error: str | None = Field(default=None, sa_type=Text)
    attempts: int = 0
    created_at: datetime = _created()
    # Which worker is downloading it, until when: several workers share the pending rows
    # (claimed with SELECT ... FOR UPDATE SKIP LOCKED); a crashed worker's claim simply expires.
    claimed_by: str | None = Field(default=None, max_length=120)
    claimed_until: datetime | None = _ts()


class ComplaintEvent(SQLModel, table=True):
    """The audit log: who did what, when, and what changed."""

    __tablename__ = "complaint_event"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    actor: str = Field(max_length=120)  # system | reporter | user:<id> | core
    action: str = Field(max_length=60)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str | None = Field(default=None, max_length=20)
    before: dict[str, Any] = _json(dict)
    after: dict[str, Any] = _json(dict)
    note: str | None = Field(default=None, sa_type=Text)
    public: bool = False  # shown to the reporter on the status page
    created_at: datetime = _created()


# --- the outbox -----------------------------------------------------------------------------


class OutboxItem(SQLModel, table=True):
    """Everything that leaves the gateway, written in the transaction that caused it."""

    __tablename__ = "outbox_item"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)  # reply | notify_liaison | core_submit | ...
    idempotency_key: str = Field(max_length=200, unique=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    channel: str | None = Field(default=None, max_length=40)
    recipient: str | None = Field(default=None, max_length=200)
    payload: dict[str, Any] = _json(dict)
    status: str = Field(default=OutboxStatus.PENDING, max_length=20)
    attempts: int = 0
    max_attempts: int = 8
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_type=Text)
    provider_message_id: str | None = Field(default=None, max_length=200, index=True)
    delivery_state: str | None = Field(default=None, max_length=20)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    sent_at: datetime | None = _ts()


class CoreEventLog(SQLModel, table=True):
    """Every event received from the SP4N core, once: the same event twice changes nothing."""

    __tablename__ = "core_event_log"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=200, unique=True)
    core_id: str = Field(max_length=100, index=True)
    kind: str = Field(max_length=20)
    status: str | None = Field(default=None, max_length=60)
    source: str = Field(default="poll", max_length=20)  # poll | push | manual
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    outcome: str = Field(default="", max_length=200)
    occurred_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    received_at: datetime = _created()


class DedupKey(SQLModel, table=True):
    """Candidate look-up for duplicates (`normalizer.dedup.candidate_keys`): text keys found
    wherever the complaint comes from (the whole signature, strict MinHash bands) and, with a
    known village, loose band keys scoped to it; a look-up reads a few small buckets within the
    time window instead of every open complaint."""

    __tablename__ = "dedup_key"
    __table_args__ = (Index("ix_dedup_key_key_created", "key", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    key: str = Field(max_length=120)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class GatewayState(SQLModel, table=True):
    """Small named values that must survive restarts: cursors, heartbeats, trained models."""

    __tablename__ = "gateway_state"

    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(default="", sa_type=Text)
    updated_at: datetime = _created()


class CalendarDay(SQLModel, table=True):
    """A day an admin declared off (an extra holiday) or on (a working day after all), on top of
    `config/holidays/`. Removing one keeps the row, with who removed it and why."""

    __tablename__ = "calendar_day"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    kind: str = Field(max_length=20)  # holiday | working_day
    name: str = Field(max_length=200)
    reason: str = Field(sa_type=Text)
    created_by: str = Field(max_length=120)  # user:<id>
    created_at: datetime = _created()
    removed_at: datetime | None = _ts()
    removed_by: str | None = Field(default=None, max_length=120)
    removal_reason: str | None = Field(default=None, sa_type=Text)


class Open311Key(SQLModel, table=True):
    """An API key a koordinator issued for Open311 GeoReport v2 `POST requests` (a civic app, a
    researcher's tool). Only its SHA-256 is kept: the key is shown once, when issued."""

    __tablename__ = "open311_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)  # who holds it: the app or organisation
    key_hash: str = Field(max_length=64, unique=True)
    created_by: str = Field(max_length=120)
    created_at: datetime = _created()
    revoked_at: datetime | None = _ts()
    last_used_at: datetime | None = _ts()


# --- the admin's workplace (issue 18) ---------------------------------------------------------


class ComplaintAssignment(SQLModel, table=True):
    """Who is on a case ("saya tangani"): at most one staff member per complaint. A row of its
    own, so that taking a complaint neither makes a colleague's open form stale (the complaint's
    version stays) nor rewrites the complaint table. Every change is on the audit log."""

    __tablename__ = "complaint_assignment"

    complaint_id: int = Field(foreign_key="complaint.id", primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    assigned_by: str = Field(max_length=120)  # user:<id>
    assigned_at: datetime = _created()


class ComplaintNote(SQLModel, table=True):
    """An internal note on a complaint: staff only; with `for_agency` also the liaison officers
    of the complaint's agency. Never on a public page, never to the SP4N core or a reporter."""

    __tablename__ = "complaint_note"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    author: str = Field(max_length=120)  # user:<id>, or system for notes moved from old events
    body: str = Field(sa_type=Text)
    for_agency: bool = False
    created_at: datetime = _created()


class SavedReply(SQLModel, table=True):
    """A reply koordinators keep for reuse, for one class and/or one agency (or any), in
    Indonesian and English, with variables ({kode}, {instansi}, {tenggat}, ...)."""

    __tablename__ = "saved_reply"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=120)
    body_id: str = Field(sa_type=Text)
    body_en: str = Field(default="", sa_type=Text)
    category: str | None = Field(default=None, max_length=40)
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    active: bool = True
    created_by: str = Field(max_length=120)
    created_at: datetime = _created()
    updated_by: str | None = Field(default=None, max_length=120)
    updated_at: datetime = _created()


class AuditEntry(SQLModel, table=True):
    """The audit log of what is not a complaint (users, agencies, liaison officers, saved
    replies): who changed what, when. Complaints keep theirs in `complaint_event`; the admin's
    audit page reads both (and the calendar's own records)."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=120)  # user:<id>
    area: str = Field(max_length=30, index=True)  # user | agency | liaison | saved_reply
    action: str = Field(max_length=40)  # created | changed | password | unlocked
    subject: str = Field(default="", max_length=200)  # a username, an agency code, a title
    detail: dict[str, Any] = _json(dict)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class PollerState(SQLModel, table=True):
    """One polled source (X mentions, YouTube comments, the mailbox...): its cursor, written in
    the transaction that stores the messages it produced, and its health for the operators."""

    __tablename__ = "poller_state"

    source: str = Field(primary_key=True, max_length=100)  # `Poller.name`
    channel: str = Field(default="", max_length=40)
    cursor: str | None = Field(default=None, sa_type=Text)
    last_poll_at: datetime | None = _ts()
    last_success_at: datetime | None = _ts()
    last_error_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_type=Text)
    # Until when this source is left alone: a rate limit, a quota, an error's backoff.
    next_poll_at: datetime | None = _ts()
    consecutive_errors: int = 0
    polls: int = 0
    messages: int = 0
    unreadable: int = 0
    errors: int = 0
    # The provider's accounting day and what this source spent of its daily budget on it.
    budget_day: date | None = None
    budget_used: int = 0
    updated_at: datetime = _created()


class RateLimitCounter(SQLModel, table=True):
    """The public endpoints' rate-limit windows shared by several instances on PostgreSQL
    (`RATE_LIMIT_STORAGE=database`): one row per limited key and window."""

    __tablename__ = "rate_limit_counter"

    key: str = Field(primary_key=True, max_length=255)
    count: int = 0
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
