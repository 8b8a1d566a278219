"""SQL tables (SQLAlchemy 2 typed mappings). Not called `models`: that is the numerical package.

The schema is created only by the Alembic migrations; a test proves they agree with this module.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from models.columns import EVENT_FIELDS, RESPONSE, REWARD, EventField

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
Json = JSON().with_variant(JSONB(), "postgresql")
# 64-bit keys on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC; read back as an aware UTC datetime on every database
    (SQLite keeps no zone, so naive values read from it are UTC by construction)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must carry a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Project(Base):
    """A tenant: one product. Owns its events, mappings, audits and keys."""

    __tablename__ = "project"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The product's declared IANA time zone (e.g. "Europe/Berlin"): the local time of its events
    # that send no offset of their own, in every audit whose request sets no `time_zone`
    # (`models.localtime`). NULL: their local time is unknown.
    time_zone: Mapped[str | None] = mapped_column(String(64))


class ApiKey(Base):
    """A project key, stored as a SHA-256 digest (keys are 192-bit random, so a fast hash
    suffices, as for GitHub tokens); `prefix` lets an owner recognise a key without it."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index(None, "project_id"),)


def _event_column(field: EventField) -> Column[Any]:
    """The event table's column of a native event's field (`models.columns.EVENT_FIELDS`)."""
    types: dict[str, TypeEngine[Any]] = {
        "text": String(field.max_length),
        "int2": SmallInteger(),
        "int4": Integer(),
        "float8": Float(),
        "timestamptz": UtcDateTime(),
        "jsonb": Json,
    }
    # a required number that an event need not send stores its absent value
    default = None if field.optional or field.array is None else field.absent
    return Column(field.name, types[field.sql], nullable=field.optional, default=default)


class Event(Base):
    """One native event. Append-only; unique per project by `message_id`.

    Its fields are `models.columns.EVENT_FIELDS`; around them, the project, where the event
    came from (`native` or a vendor's name) and when it was stored.
    """

    __tablename__ = "event"
    __table__ = Table(
        __tablename__,
        Base.metadata,
        Column("id", BigId, primary_key=True),
        # No foreign key (a check per inserted event was a third of the database's work in
        # ingestion): `service.ingestion.store` locks the project's row once per batch, and a
        # trigger on `project` deletes its events with it (migration 0006).
        Column("project_id", Integer, nullable=False),
        *(_event_column(field) for field in EVENT_FIELDS),
        Column("source", String(16), nullable=False, default="native"),
        Column("received_at", UtcDateTime(), nullable=False),
        UniqueConstraint("project_id", "message_id"),
        # The audit reads one project's events by mechanic, user and time.
        Index("ix_event_audit_read", "project_id", "mechanic", "user_id", "ts"),
        CheckConstraint(f"kind IN ({RESPONSE}, {REWARD})", name="kind"),
    )

    if TYPE_CHECKING:  # the columns other modules name
        id: Mapped[int]
        project_id: Mapped[int]
        message_id: Mapped[str]
        user_id: Mapped[str]
        mechanic: Mapped[str]
        kind: Mapped[int]
        ts: Mapped[datetime]
        properties: Mapped[dict[str, Any] | None]
        source: Mapped[str]
        received_at: Mapped[datetime]


class RawEvent(Base):
    """A vendor event as it arrived (Segment, PostHog, …), kept so that a mapping added later
    can re-map it. Mapped ones also exist as native `Event`s with the same `message_id`."""

    __tablename__ = "raw_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(Integer)  # no foreign key: as `Event`'s
    source: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(128))
    event_name: Mapped[str] = mapped_column(String(256))
    user_id: Mapped[str] = mapped_column(String(256))
    ts: Mapped[datetime] = mapped_column(UtcDateTime())
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    mapped: Mapped[bool] = mapped_column(default=False)
    # Which rule of the project's current mapping matches it: its position, -1 for the default
    # property names, NULL for none. Kept current when the mapping is replaced, so coverage
    # is a GROUP BY.
    rule_position: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("project_id", "message_id"),
        Index(None, "project_id", "event_name"),
    )


class Mapping(Base):
    """How a vendor event becomes a native event: name and property filters → mechanic, kind
    and the properties that carry value, cost and option. Earlier `position` wins."""

    __tablename__ = "mapping"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    event_name: Mapped[str] = mapped_column(String(256))
    filters: Mapped[dict[str, Any] | None] = mapped_column(Json)
    mechanic: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    value_property: Mapped[str | None] = mapped_column(String(256))
    cost_property: Mapped[str | None] = mapped_column(String(256))
    option_property: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("project_id", "position"),)


class Audit(Base):
    """A durable audit job: queued → running (leased to one worker) → succeeded | failed |
    empty (its scope matched no events; `reason` names the scope)."""

    __tablename__ = "audit"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]] = mapped_column(Json)
    progress: Mapped[dict[str, Any] | None] = mapped_column(Json)
    error: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index(None, "project_id", "created_at"),
        Index(None, "status", "lease_expires_at"),
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'empty')", name="status"
        ),
    )


class Report(Base):
    """The immutable result of an audit. `body` is the canonical JSON exactly as digested;
    `sequence` and `previous_digest` chain a project's reports so tampering is detectable.

    `rows_digest` covers the audit's per-user rows (`service.reports.rows_digest`; NULL for
    reports stored before rows were digested), and `signature` (made with the server key
    `signature_key_id`; NULL when no key was configured) covers the chain entry
    (`service.reports.signing`), so a chain rewritten with fresh digests no longer verifies."""

    __tablename__ = "report"

    audit_id: Mapped[str] = mapped_column(
        ForeignKey("audit.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(80))
    previous_digest: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    rows_digest: Mapped[str | None] = mapped_column(String(80))
    signature: Mapped[str | None] = mapped_column(String(100))
    signature_key_id: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("project_id", "sequence"),)


class ErasedUserRow(Base):
    """The hash of a per-user row that erasure deleted (`service.reports.rows_digest.row_hash`,
    hex): its audit's rows digest still verifies from the rows left and these hashes, and the
    hash reveals nothing of the row."""

    __tablename__ = "erased_user_row"

    audit_id: Mapped[str] = mapped_column(
        ForeignKey("audit.id", ondelete="CASCADE"), primary_key=True
    )
    row_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditUser(Base):
    """One user's results for one mechanic in one audit (fits, markers, risk tier).

    `body` is the row's record (`models.analysis.USER_RECORD`) as a compact JSON array, led by
    its format version (`service.reports.chain.USER_RECORD_FORMAT`): a third of the size of the
    nested row the API serves, which `service.reports.chain.stored_user_row` rebuilds. Plain text,
    not JSON or JSONB: rows are written in bulk and read back whole, never queried inside, and
    the database's JSON parsing of 400k bodies was a fifth of an audit's write.
    """

    __tablename__ = "audit_user"

    # No foreign key (a check per inserted row was a third of storing them): only
    # `store_report` writes rows, in the transaction that holds its audit's row lock, and a
    # trigger on `audit` deletes them with their audit (migration 0005).
    audit_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    mechanic: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    risk_tier: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index(None, "audit_id", "risk_tier", "mechanic", "user_id"),)


class ProjectCounts(Base):
    """What a project has stored, counted as it arrives (`service.projects.counts`), so its
    stats are read in O(1) rather than by scanning its events. Erasure and re-mapping adjust
    it; migration 0009 counted the events already stored."""

    __tablename__ = "project_counts"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    users: Mapped[int] = mapped_column(BigInteger, default=0)
    first_ts: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_ts: Mapped[datetime | None] = mapped_column(UtcDateTime())


class MechanicCounts(Base):
    """A project's stored responses and rewards of one mechanic, counted as they arrive."""

    __tablename__ = "mechanic_counts"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    mechanic: Mapped[str] = mapped_column(String(128), primary_key=True)
    responses: Mapped[int] = mapped_column(BigInteger, default=0)
    rewards: Mapped[int] = mapped_column(BigInteger, default=0)


class ProjectUser(Base):
    """A user with at least one stored event: inserted on the user's first event (a conflict
    says the user is known), so the project's user count grows exactly by the new rows."""

    __tablename__ = "project_user"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(256), primary_key=True)


class CountDelta(Base):
    """What one stored batch adds to a project's counts, for one mechanic. Batches append these
    rows instead of updating the shared counters, so concurrent batches of a project never wait
    for each other; reading the stats folds them into `ProjectCounts` and `MechanicCounts`.
    `users` (new users) and the timestamps are the batch's, carried by one of its rows."""

    __tablename__ = "count_delta"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    mechanic: Mapped[str] = mapped_column(String(128))
    responses: Mapped[int] = mapped_column(BigInteger)
    rewards: Mapped[int] = mapped_column(BigInteger)
    users: Mapped[int] = mapped_column(BigInteger)
    first_ts: Mapped[datetime] = mapped_column(UtcDateTime())
    last_ts: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index(None, "project_id"),)
