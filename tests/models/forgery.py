"""Forged events: one event an attacker holding an ingest key could send, added to a product's
log, and the findings and figures of the audit with and without it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.analysis import Analysis, AnalysisConfig, analyse
from models.columns import OFFSET_UNKNOWN, RESPONSE, REWARD, EventColumns
from models.rules import DEFAULT_TABLE

FORGED_USER = "zz-forged-user"
YEAR_S = 365.0 * 86400.0


def _decoded(c: EventColumns) -> dict[str, Any]:
    """The fields of `from_arrays`, names decoded (None where a text field is absent)."""

    def names(table: tuple[str, ...], codes: Any) -> Any:
        out = np.array([*table, ""], dtype=object)[codes]
        return np.where(codes >= 0, out, None)

    return {
        "user_id": np.array(c.user_ids, dtype=object)[c.user],
        "mechanic": np.array(c.mechanics, dtype=object)[c.mechanic],
        "kind": c.kind,
        "t": c.t,
        "value": c.value,
        "cost": c.cost,
        "option": names(c.options, c.option),
        "session_id": np.where(c.session >= 0, c.session.astype(str).astype(object), None),
        "utc_offset_s": c.utc_offset_s,
        "delay_s": c.delay_s,
    }


def with_event(c: EventColumns, **event: Any) -> EventColumns:
    """The log with one more event (fields as `EventColumns.from_arrays` names them)."""
    fields = _decoded(c)
    blank = {"option": None, "session_id": None, "utc_offset_s": OFFSET_UNKNOWN, "delay_s": np.nan}
    one = blank | {"value": 0.0, "cost": 0.0} | event
    out = {
        k: np.concatenate([np.asarray(v), np.array([one[k]], dtype=np.asarray(v).dtype)])
        for k, v in fields.items()
    }
    return EventColumns.from_arrays(**out)


@dataclass(frozen=True)
class Target:
    """Where a forged event lands: a mechanic, one of its users and one of that user's paid
    (or any) responses to sit beside."""

    mechanic: str
    user: str
    t: float
    cost: float
    offset: int


def target(c: EventColumns, mechanic: str) -> Target:
    """The mechanic's busiest user, at the response in the middle of their history."""
    m = c.mechanics.index(mechanic)
    rows = np.flatnonzero((c.mechanic == m) & (c.kind == RESPONSE))
    users, counts = np.unique(c.user[rows], return_counts=True)
    user = int(users[np.argmax(counts)])
    mine = rows[c.user[rows] == user]
    i = int(mine[np.argsort(c.t[mine], kind="stable")][mine.shape[0] // 2])
    return Target(
        mechanic, c.user_ids[user], float(c.t[i]), float(c.cost[i]), int(c.utc_offset_s[i])
    )


def _night_offset(t: float) -> int:
    """A UTC offset within ±12 h that puts `t` at 03:00 local."""
    offset = (3 * 3600 - int(t) % 86400) % 86400
    return offset - 86400 if offset > 12 * 3600 else offset


def _after_a_loss(c: EventColumns, tg: Target) -> dict[str, Any]:
    """A raise to ten times the stake, one second after the user's latest unrewarded response."""
    m, u = c.mechanics.index(tg.mechanic), c.user_ids.index(tg.user)
    mine = np.flatnonzero((c.mechanic == m) & (c.user == u))
    resp = mine[c.kind[mine] == RESPONSE]
    rewarded = {float(x) for x in c.t[mine[c.kind[mine] == REWARD]]}
    lost = [i for i in resp if float(c.t[i]) not in rewarded and c.t[i] <= tg.t]
    i = lost[-1] if lost else int(resp[0])
    stake = float(c.cost[i]) if c.cost[i] > 0 else 1.0
    return {"kind": RESPONSE, "t": float(c.t[i]) + 1.0, "cost": 10.0 * stake}


Forge = Callable[[EventColumns, Target], dict[str, Any]]

# name → the forged event, given the log and the target
FORGERIES: dict[str, Forge] = {
    "cost 1e300": lambda c, tg: {"kind": RESPONSE, "t": tg.t + 1.0, "cost": 1e300},
    "cost 1e308": lambda c, tg: {"kind": RESPONSE, "t": tg.t + 1.0, "cost": 1e308},
    "cost 1e9": lambda c, tg: {"kind": RESPONSE, "t": tg.t + 1.0, "cost": 1e9},
    "cost inf": lambda c, tg: {"kind": RESPONSE, "t": tg.t + 1.0, "cost": math.inf},
    "cost NaN": lambda c, tg: {"kind": RESPONSE, "t": tg.t + 1.0, "cost": math.nan},
    "cost -1e9": lambda c, tg: {"kind": RESPONSE, "t": tg.t + 1.0, "cost": -1e9},
    "value 1e9": lambda c, tg: {"kind": REWARD, "t": tg.t, "value": 1e9},
    "value -1e9": lambda c, tg: {"kind": REWARD, "t": tg.t, "value": -1e9},
    "value 1e300": lambda c, tg: {"kind": REWARD, "t": tg.t, "value": 1e300},
    "value -inf": lambda c, tg: {"kind": REWARD, "t": tg.t, "value": -math.inf},
    "new user, cost 1e9": lambda c, tg: {
        "user_id": FORGED_USER, "kind": RESPONSE, "t": tg.t, "cost": 1e9,
    },
    "new user, cost 1e308 at 03:00": lambda c, tg: {
        "user_id": FORGED_USER, "kind": RESPONSE, "t": tg.t, "cost": 1e308,
        "utc_offset_s": _night_offset(tg.t),
    },
    "response at 03:00 local": lambda c, tg: {
        "kind": RESPONSE, "t": tg.t + 1.0, "cost": tg.cost, "utc_offset_s": _night_offset(tg.t),
    },
    "stake x10 right after a loss": _after_a_loss,
    "response 50 years ahead": lambda c, tg: {
        "kind": RESPONSE, "t": tg.t + 50 * YEAR_S, "cost": tg.cost,
    },
    "response 50 years back": lambda c, tg: {
        "kind": RESPONSE, "t": tg.t - 50 * YEAR_S, "cost": tg.cost,
    },
    "new mechanic, value 1e9": lambda c, tg: {
        "mechanic": "zz-forged-mechanic", "kind": RESPONSE, "t": tg.t, "cost": 1e9,
    },
}  # fmt: skip


def forged(c: EventColumns, name: str, mechanic: str) -> EventColumns:
    tg = target(c, mechanic)
    return with_event(c, **({"user_id": tg.user, "mechanic": tg.mechanic} | FORGERIES[name](c, tg)))


def audit(c: EventColumns) -> Analysis:
    """The audit as the service runs it by default: the window ends at the latest event."""
    return analyse(c, config=AnalysisConfig(), table=DEFAULT_TABLE)


def findings(a: Analysis) -> set[tuple[str, str, str]]:
    return {(f.rule_id, f.mechanic, f.severity) for f in a.findings}


def nulls(x: Any, path: str = "") -> Iterator[str]:
    """Where a report (as written: NaN and infinities become None) holds no number."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        yield path
    elif isinstance(x, dict):
        for k, v in x.items():
            yield from nulls(v, f"{path}.{k}")
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            yield from nulls(v, f"{path}[{i}]")


def report_nulls(a: Analysis) -> set[str]:
    """The paths of the report and of its per-user rows (keyed by user and mechanic) that
    hold no number."""
    report = a.as_dict()
    report["mechanics"] = {m["mechanic"]: m for m in report["mechanics"]}
    out = set(nulls(report, "report"))
    for row in a.user_rows():
        out |= set(nulls(row, f"user[{row['user_id']}/{row['mechanic']}]"))
    return out
