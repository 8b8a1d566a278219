"""Counts of what a project has stored, kept as its events are stored, so that its stats are
read without scanning its events.

- Events, responses and rewards per mechanic, and the first and last timestamps: each stored
  batch appends what it adds (`CountDelta` rows, one per mechanic) in its own transaction, so
  concurrent batches never wait for one another on a shared counter row; a stats read folds the
  rows into the totals (`ProjectCounts`, `MechanicCounts`) with atomic upserts (`SET n = n +
  k`) once there are `FOLD_AT` of them, one read at a time. A read sums the totals and the rows
  not yet folded: O(mechanics + pending rows), where the pending rows are about `FOLD_AT`
  while stats are read, and one per batch and mechanic since the last read otherwise; never a
  scan of the events.
- Users: a distinct count cannot be kept by a counter alone. Each user has a row in
  `project_user`, inserted with `ON CONFLICT DO NOTHING` when a batch stores their events; the
  rows actually inserted are the new users, and the batch adds exactly that many. Exact, at
  the price of one index probe per user per batch.

Erasure subtracts the erased user's events and row (`forget_user`); replacing a vendor mapping,
which may add or remove many derived events, counts the project again (`recount`). Both hold
the project's row exclusively, so no batch is stored while they count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from sqlalchemy import (
    CursorResult,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from models.columns import RESPONSE
from service.storage.db import dialect_insert
from service.storage.tables import (
    CountDelta,
    Event,
    MechanicCounts,
    Project,
    ProjectCounts,
    ProjectUser,
)


class StoredEvent(Protocol):
    """What counting needs of a stored event."""

    @property
    def user_id(self) -> str: ...
    @property
    def mechanic(self) -> str: ...
    @property
    def kind(self) -> int: ...
    @property
    def ts(self) -> datetime: ...


def count_stored(session: Session, project_id: int, events: Iterable[StoredEvent]) -> None:
    """Record what events just stored (each once) add to the project's counts, in the caller's
    transaction: new users' rows, and one `CountDelta` row per mechanic of the batch."""
    per_mechanic: dict[str, list[int]] = {}
    users: set[str] = set()
    first: datetime | None = None
    last: datetime | None = None
    for event in events:
        users.add(event.user_id)
        counts = per_mechanic.setdefault(event.mechanic, [0, 0])
        counts[0 if event.kind == RESPONSE else 1] += 1
        if first is None or event.ts < first:
            first = event.ts
        if last is None or event.ts > last:
            last = event.ts
    if first is None:
        return
    new_users = _insert_users(session, project_id, sorted(users))
    session.execute(
        insert(CountDelta),
        [
            {
                "project_id": project_id,
                "mechanic": mechanic,
                "responses": counts[0],
                "rewards": counts[1],
                "users": new_users if position == 0 else 0,
                "first_ts": first,
                "last_ts": last,
            }
            for position, (mechanic, counts) in enumerate(sorted(per_mechanic.items()))
        ],
    )


# what a delta row adds, in the order `fold` and the stats read take it
_DELTA_FIELDS = (
    CountDelta.mechanic,
    CountDelta.responses,
    CountDelta.rewards,
    CountDelta.users,
    CountDelta.first_ts,
    CountDelta.last_ts,
)


def fold(session: Session, project_id: int) -> None:
    """Fold the project's `CountDelta` rows into its totals (and delete them)."""
    rows = session.execute(
        delete(CountDelta).where(CountDelta.project_id == project_id).returning(*_DELTA_FIELDS)
    ).all()
    if not rows:
        return
    per_mechanic: dict[str, list[int]] = {}
    for mechanic, responses, rewards, _users, _first, _last in rows:
        counts = per_mechanic.setdefault(mechanic, [0, 0])
        counts[0] += responses
        counts[1] += rewards
    mechanics = dialect_insert(session, MechanicCounts)
    session.execute(
        mechanics.on_conflict_do_update(
            index_elements=["project_id", "mechanic"],
            set_={
                "responses": MechanicCounts.responses + mechanics.excluded.responses,
                "rewards": MechanicCounts.rewards + mechanics.excluded.rewards,
            },
        ),
        [
            {"project_id": project_id, "mechanic": m, "responses": c[0], "rewards": c[1]}
            for m, c in sorted(per_mechanic.items())
        ],
    )
    _add_totals(
        session,
        project_id,
        events=sum(r.responses + r.rewards for r in rows),
        users=sum(r.users for r in rows),
        first=min(r.first_ts for r in rows),
        last=max(r.last_ts for r in rows),
    )


def _insert_users(session: Session, project_id: int, users: Sequence[str]) -> int:
    """Insert the users the project does not know yet; how many were new."""
    statement = (
        dialect_insert(session, ProjectUser)
        .on_conflict_do_nothing(index_elements=["project_id", "user_id"])
        .returning(ProjectUser.user_id)
    )
    rows = [{"project_id": project_id, "user_id": user} for user in users]
    return len(session.execute(statement, rows).all())


def _add_totals(
    session: Session,
    project_id: int,
    *,
    events: int,
    users: int,
    first: datetime | None,
    last: datetime | None,
) -> None:
    statement = dialect_insert(session, ProjectCounts).values(
        project_id=project_id, events=events, users=users, first_ts=first, last_ts=last
    )
    new = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["project_id"],
            set_={
                "events": ProjectCounts.events + new.events,
                "users": ProjectCounts.users + new.users,
                "first_ts": case(
                    (ProjectCounts.first_ts.is_(None), new.first_ts),
                    (new.first_ts < ProjectCounts.first_ts, new.first_ts),
                    else_=ProjectCounts.first_ts,
                ),
                "last_ts": case(
                    (ProjectCounts.last_ts.is_(None), new.last_ts),
                    (new.last_ts > ProjectCounts.last_ts, new.last_ts),
                    else_=ProjectCounts.last_ts,
                ),
            },
        )
    )


def hold_project(session: Session, project_id: int) -> None:
    """Lock the project's row against every batch being stored (they hold it KEY SHARE) until
    the transaction ends, so that counts taken now stay true. SQLite has one writer anyway."""
    session.execute(select(Project.id).where(Project.id == project_id).with_for_update())


def forget_user(session: Session, project_id: int, user_id: str) -> None:
    """Subtract a user's stored events from the counts; call it, under `hold_project`, just
    before they are deleted."""
    fold(session, project_id)
    in_user = (Event.project_id == project_id) & (Event.user_id == user_id)
    rows = session.execute(
        select(Event.mechanic, Event.kind, func.count(), func.min(Event.ts), func.max(Event.ts))
        .where(in_user)
        .group_by(Event.mechanic, Event.kind)
        .order_by(Event.mechanic, Event.kind)
    ).all()
    removed = session.execute(
        delete(ProjectUser).where(
            ProjectUser.project_id == project_id, ProjectUser.user_id == user_id
        )
    )
    known = int(cast(CursorResult[Any], removed).rowcount)
    if not rows and not known:
        return
    events = 0
    for mechanic, kind, count, _first, _last in rows:
        events += count
        column = "responses" if kind == RESPONSE else "rewards"
        session.execute(
            update(MechanicCounts)
            .where(MechanicCounts.project_id == project_id, MechanicCounts.mechanic == mechanic)
            .values({column: getattr(MechanicCounts, column) - count})
        )
    totals = session.get(ProjectCounts, project_id, with_for_update=True)
    if totals is None:
        return
    totals.events -= events
    totals.users -= int(known)
    firsts = [t for r in rows if (t := _aware(r[3])) is not None]
    lasts = [t for r in rows if (t := _aware(r[4])) is not None]
    at_edge = bool(firsts) and (
        (totals.first_ts is not None and min(firsts) <= totals.first_ts)
        or (totals.last_ts is not None and max(lasts) >= totals.last_ts)
    )
    if at_edge:  # the erased events held a boundary: find it again among the others
        remaining = (Event.project_id == project_id) & (Event.user_id != user_id)
        first, last = session.execute(
            select(func.min(Event.ts), func.max(Event.ts)).where(remaining)
        ).one()
        totals.first_ts, totals.last_ts = _aware(first), _aware(last)
    session.flush()


def recount(session: Session, project_id: int) -> None:
    """Count the project's stored events again from scratch (after a change to many of them)."""
    hold_project(session, project_id)
    in_project = Event.project_id == project_id
    session.execute(delete(CountDelta).where(CountDelta.project_id == project_id))
    session.execute(delete(ProjectUser).where(ProjectUser.project_id == project_id))
    session.execute(
        insert(ProjectUser).from_select(
            ["project_id", "user_id"],
            select(literal(project_id), Event.user_id).where(in_project).distinct(),
        )
    )
    session.execute(delete(MechanicCounts).where(MechanicCounts.project_id == project_id))
    responses = func.sum(case((Event.kind == RESPONSE, 1), else_=0))
    session.execute(
        insert(MechanicCounts).from_select(
            ["project_id", "mechanic", "responses", "rewards"],
            select(literal(project_id), Event.mechanic, responses, func.count() - responses)
            .where(in_project)
            .group_by(Event.mechanic),
        )
    )
    events, users, first, last = session.execute(
        select(
            func.count(), func.count(func.distinct(Event.user_id)), func.min(Event.ts),
            func.max(Event.ts),
        ).where(in_project)
    ).one()  # fmt: skip
    session.execute(delete(ProjectCounts).where(ProjectCounts.project_id == project_id))
    session.add(
        ProjectCounts(
            project_id=project_id,
            events=events,
            users=users,
            first_ts=_aware(first),
            last_ts=_aware(last),
        )
    )
    session.flush()


# A stats read folds the deltas into the totals once it finds this many (fewer are summed as
# they are), and only if no other read of the project's stats is folding them at that moment.
FOLD_AT = 100
# The first key of the advisory lock that one folding read takes (the second: the project).
_FOLD_LOCK = 0x52414354


def stats(session: Session, project_id: int) -> dict[str, Any]:
    """What has arrived: events, users, per-mechanic counts, first and last timestamps.

    The totals and the deltas not yet folded are read in one statement, so in one snapshot:
    a fold committing meanwhile is seen whole or not at all. No row is locked unless the read
    folds, so reads never queue behind one another or behind ingestion."""
    in_project = literal(project_id)
    rows: list[Any] = session.execute(  # type: ignore[assignment]
        union_all(
            select(
                literal("totals"),
                literal(""),
                ProjectCounts.events,
                literal(0),
                ProjectCounts.users,
                ProjectCounts.first_ts,
                ProjectCounts.last_ts,
            ).where(ProjectCounts.project_id == in_project),
            select(
                literal("mechanic"),
                MechanicCounts.mechanic,
                MechanicCounts.responses,
                MechanicCounts.rewards,
                literal(0),
                literal(None),
                literal(None),
            ).where(MechanicCounts.project_id == in_project),
            select(
                literal("delta"),
                *_DELTA_FIELDS,
            ).where(CountDelta.project_id == in_project),
        )
    ).all()
    events = users = 0
    first: datetime | None = None
    last: datetime | None = None
    mechanics: dict[str, list[int]] = {}
    deltas = 0
    for source, mechanic, a, b, new_users, row_first, row_last in rows:
        if source == "totals":
            events, users = events + a, users + new_users
        else:
            counts = mechanics.setdefault(mechanic, [0, 0])
            counts[0] += a
            counts[1] += b
            if source == "delta":
                deltas += 1
                events, users = events + a + b, users + new_users
        for value in (_aware(row_first), _aware(row_last)):
            if value is not None:
                first = value if first is None or value < first else first
                last = value if last is None or value > last else last
    if deltas >= FOLD_AT and _may_fold(session, project_id):
        fold(session, project_id)
    return {
        "project_id": project_id,
        "events": events,
        "users": users,
        "first": _iso(first),
        "last": _iso(last),
        "mechanics": [
            {"mechanic": name, "responses": counts[0], "rewards": counts[1]}
            for name, counts in sorted(mechanics.items())
            if counts[0] + counts[1] > 0
        ],
    }


def _may_fold(session: Session, project_id: int) -> bool:
    """Whether this transaction may fold the project's deltas now (PostgreSQL: the advisory
    lock was free; SQLite has one writer at a time anyway)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    taken = session.scalar(select(func.pg_try_advisory_xact_lock(_FOLD_LOCK, project_id)))
    return bool(taken)


def _aware(value: datetime | str | None) -> datetime | None:
    """A timestamp aggregate as an aware UTC datetime (SQLite returns aggregates as text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    aware = _aware(value)
    return None if aware is None else aware.isoformat().replace("+00:00", "Z")
